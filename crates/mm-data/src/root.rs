//! Where the real data lives: `MM_DATA_DIR`, else `./data`, else `../shared/data`.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The real data sets mm knows, each a folder under the data root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    /// MNIST digits (IDX).
    Mnist,
    /// Free Spoken Digit Dataset (WAV).
    Fsdd,
    /// ESC-10 environmental sounds (Ogg Vorbis).
    Esc10,
    /// 159 COCO-2017 images with captions.
    CocoMini,
    /// Word-analogy and similarity sets and the Wikipedia corpus.
    Text,
    /// ObamaNet speech with mouth-shape coefficients.
    Obama,
}

impl Dataset {
    /// Every data set, in the order reports list them.
    pub const ALL: [Dataset; 6] = [Dataset::Mnist, Dataset::Fsdd, Dataset::Esc10, Dataset::CocoMini, Dataset::Text, Dataset::Obama];

    /// The folder name under the data root.
    pub fn folder(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::Fsdd => "fsdd",
            Dataset::Esc10 => "esc10",
            Dataset::CocoMini => "coco_mini",
            Dataset::Text => "text",
            Dataset::Obama => "obama",
        }
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.folder())
    }
}

impl std::str::FromStr for Dataset {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Dataset::ALL.into_iter().find(|d| d.folder() == name).ok_or_else(|| {
            let names: Vec<&str> = Dataset::ALL.iter().map(|d| d.folder()).collect();
            format!("unknown data set {name:?}: expected one of {}", names.join(", "))
        })
    }
}

/// A data set that is in none of the places looked at.
#[derive(Debug, thiserror::Error)]
#[error(
    "data set '{dataset}' not found; looked in {tried}. Download it with `cargo xtask data fetch {dataset}`, \
     or set MM_DATA_DIR (or pass --data) to a folder that holds {dataset}/",
    tried = tried.iter().map(|(p, why)| format!("{} ({why})", p.display())).collect::<Vec<_>>().join(", ")
)]
pub struct MissingDataset {
    /// The data set.
    pub dataset: Dataset,
    /// Each folder tried, with where it came from.
    pub tried: Vec<(PathBuf, &'static str)>,
}

/// The folders searched for data, in order.
#[derive(Debug, Clone)]
pub struct DataRoot {
    candidates: Vec<(PathBuf, &'static str)>,
}

impl DataRoot {
    /// An explicit folder (`--data DIR`): only it is searched.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { candidates: vec![(dir.into(), "--data")] }
    }

    /// `MM_DATA_DIR` if set (then only it), else `./data` and `../shared/data` relative to the working directory.
    pub fn from_env() -> Self {
        match std::env::var_os("MM_DATA_DIR") {
            Some(dir) => Self { candidates: vec![(PathBuf::from(dir), "MM_DATA_DIR")] },
            None => Self { candidates: vec![(PathBuf::from("data"), "default"), (PathBuf::from("../shared/data"), "default")] },
        }
    }

    /// `--data DIR` when given, else [`DataRoot::from_env`].
    pub fn from_flag(dir: Option<&Path>) -> Self {
        dir.map_or_else(Self::from_env, Self::at)
    }

    /// The folder of `dataset`: the first candidate root that holds it.
    pub fn dataset(&self, dataset: Dataset) -> Result<PathBuf, MissingDataset> {
        let tried: Vec<(PathBuf, &'static str)> = self.candidates.iter().map(|(root, why)| (root.join(dataset.folder()), *why)).collect();
        tried.iter().find(|(dir, _)| dir.is_dir()).map(|(dir, _)| dir.clone()).ok_or(MissingDataset { dataset, tried })
    }

    /// Where `data fetch` writes: the first candidate.
    pub fn primary(&self) -> &Path {
        &self.candidates[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_root_holding_the_data_set_and_names_all_tried() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        std::fs::create_dir(second.path().join("fsdd")).unwrap();
        let root = DataRoot { candidates: vec![(first.path().into(), "a"), (second.path().into(), "b")] };
        assert_eq!(root.dataset(Dataset::Fsdd).unwrap(), second.path().join("fsdd"));
        let message = root.dataset(Dataset::Mnist).unwrap_err().to_string();
        assert!(message.contains(&first.path().join("mnist").display().to_string()), "{message}");
        assert!(message.contains(&second.path().join("mnist").display().to_string()), "{message}");
        assert!(message.contains("cargo xtask data fetch mnist"), "{message}");
    }
}
