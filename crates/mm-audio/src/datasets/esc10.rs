//! ESC-10: `{NNN} - {Class name}/{fold}-{freesound id}-{take}.ogg`, 44.1 kHz mono Ogg Vorbis, five folds.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::sorted_entries;
use crate::{Audio, Error, Result, read_ogg};

/// One clip, described by its folder and file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Esc10Clip {
    /// The Ogg file.
    pub path: PathBuf,
    /// Class index 0–9 (the folder's number minus one).
    pub class: u8,
    /// Class name from the folder, e.g. "Dog bark".
    pub class_name: String,
    /// Cross-validation fold, 1–5.
    pub fold: u8,
    /// Freesound id of the source recording.
    pub freesound_id: u64,
    /// Take letter(s).
    pub take: String,
}

impl Esc10Clip {
    /// Parses `…/{NNN} - {Class}/{fold}-{id}-{take}.ogg`.
    pub fn from_path(path: &Path) -> Result<Self> {
        let bad = |what: &str| Error::invalid(path, format!("not an ESC-10 clip path: {what}"));
        let folder = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).ok_or_else(|| bad("no class folder"))?;
        let (number, class_name) = folder.split_once(" - ").ok_or_else(|| bad("the folder is not named 'NNN - Class'"))?;
        let class: u8 = number.parse().ok().filter(|n| (1..=10).contains(n)).ok_or_else(|| bad("class number not in 001–010"))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).ok_or_else(|| bad("no file name"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let [fold, id, take] = parts[..] else {
            return Err(bad("the file is not named '{fold}-{freesound id}-{take}.ogg'"));
        };
        let fold: u8 = fold.parse().ok().filter(|f| (1..=5).contains(f)).ok_or_else(|| bad("fold not in 1–5"))?;
        let freesound_id: u64 = id.parse().map_err(|_| bad("the Freesound id is not a number"))?;
        Ok(Self { path: path.to_path_buf(), class: class - 1, class_name: class_name.to_string(), fold, freesound_id, take: take.to_string() })
    }

    /// Decodes the clip.
    pub fn load(&self) -> Result<Audio> {
        read_ogg(&self.path)
    }
}

/// The clips of an ESC-10 folder, sorted by path.
#[derive(Debug, Clone)]
pub struct Esc10 {
    /// Every clip.
    pub clips: Vec<Esc10Clip>,
}

impl Esc10 {
    /// ESC-10's sample rate.
    pub const SAMPLE_RATE: u32 = 44100;
    /// The nominal clip length in seconds; clips are padded or cut to it.
    pub const CLIP_SECONDS: f32 = 5.0;

    /// Lists the `.ogg` files in the class folders of `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut clips = Vec::new();
        for folder in sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()) {
            for file in sorted_entries(&folder)? {
                if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("ogg")) {
                    clips.push(Esc10Clip::from_path(&file)?);
                }
            }
        }
        if clips.is_empty() {
            return Err(Error::invalid(dir, "no ESC-10 clips (NNN - Class/*.ogg) here"));
        }
        Ok(Self { clips })
    }

    /// The class names, indexed by class.
    pub fn class_names(&self) -> Vec<String> {
        let mut names = vec![String::new(); 10];
        for clip in &self.clips {
            names[clip.class as usize].clone_from(&clip.class_name);
        }
        names
    }

    /// Training and test clips for cross-validation fold `fold` (1–5): the test set is that fold.
    pub fn fold_split(&self, fold: u8) -> (Vec<&Esc10Clip>, Vec<&Esc10Clip>) {
        self.clips.iter().partition(|c| c.fold != fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folder_and_file_names() {
        let clip = Esc10Clip::from_path(Path::new("esc10/009 - Rooster/1-40730-A.ogg")).unwrap();
        assert_eq!((clip.class, clip.class_name.as_str(), clip.fold, clip.freesound_id), (8, "Rooster", 1, 40730));
        for bad in ["esc10/Rooster/1-2-A.ogg", "esc10/011 - X/1-2-A.ogg", "esc10/001 - Dog bark/6-2-A.ogg", "esc10/001 - Dog bark/1-2.ogg"] {
            assert!(Esc10Clip::from_path(Path::new(bad)).unwrap_err().to_string().contains(bad));
        }
    }

    #[test]
    fn a_corrupt_ogg_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.ogg");
        std::fs::write(&path, b"OggS but not really").unwrap();
        let message = read_ogg(&path).unwrap_err().to_string();
        assert!(message.contains("broken.ogg") && message.contains("Vorbis"), "{message}");
    }
}
