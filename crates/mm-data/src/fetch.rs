//! `cargo xtask data fetch`: downloads the public data sets from their official sources with `curl` and `tar`.
//!
//! Two of the six cannot be fetched as they are used here: the Wikipedia corpus is derived (see the data
//! README; text8 is the classic equivalent) and the ObamaNet arrays exist only as Python pickles. For those the
//! plan says what to do instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Dataset;

/// One step of fetching a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Download `url` to `destination` (relative to the data root).
    File {
        /// Source.
        url: String,
        /// Target path under the data root.
        destination: &'static str,
    },
    /// Download a `.tar.gz` and copy the folders `members` (paths inside the archive's top folder) into
    /// `destination`.
    Archive {
        /// Source.
        url: String,
        /// Folders to keep, relative to the archive's single top-level folder ("." for everything).
        members: &'static [&'static str],
        /// Target folder under the data root.
        destination: &'static str,
    },
    /// Cannot be downloaded as is: what to do instead.
    Manual(&'static str),
}

/// How to get `dataset`.
pub fn plan(dataset: Dataset) -> Vec<Step> {
    const MNIST: &str = "https://ossci-datasets.s3.amazonaws.com/mnist";
    const GENSIM: &str = "https://raw.githubusercontent.com/piskvorky/gensim/4.3.3/gensim/test/test_data";
    match dataset {
        Dataset::Mnist => vec![
            Step::File { url: format!("{MNIST}/train-images-idx3-ubyte.gz"), destination: "mnist/train-images-idx3-ubyte.gz" },
            Step::File { url: format!("{MNIST}/train-labels-idx1-ubyte.gz"), destination: "mnist/train-labels-idx1-ubyte.gz" },
            Step::File { url: format!("{MNIST}/t10k-images-idx3-ubyte.gz"), destination: "mnist/t10k-images-idx3-ubyte.gz" },
            Step::File { url: format!("{MNIST}/t10k-labels-idx1-ubyte.gz"), destination: "mnist/t10k-labels-idx1-ubyte.gz" },
        ],
        Dataset::Fsdd => vec![Step::Archive {
            url: "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/26eb9aaf76e81b692f806f9140c2d2777410d7a1.tar.gz".into(),
            members: &["recordings"],
            destination: "fsdd",
        }],
        Dataset::Esc10 => vec![Step::Archive {
            url: "https://github.com/karolpiczak/ESC-10/archive/553c8f1743b9dba6b282e1323c3ca8fa76923448.tar.gz".into(),
            members: &[
                "001 - Dog bark",
                "002 - Rain",
                "003 - Sea waves",
                "004 - Baby cry",
                "005 - Clock tick",
                "006 - Person sneeze",
                "007 - Helicopter",
                "008 - Chainsaw",
                "009 - Rooster",
                "010 - Fire crackling",
            ],
            destination: "esc10",
        }],
        Dataset::CocoMini => vec![Step::Archive {
            url: "https://github.com/Obmutescence/COCO-MINI/archive/644f29e7c1d2eefd9c4412d39bc5b0ee6fd0afd4.tar.gz".into(),
            members: &["annotations", "train2017", "val2017"],
            destination: "coco_mini",
        }],
        Dataset::Text => vec![
            Step::File { url: format!("{GENSIM}/questions-words.txt"), destination: "text/questions-words.txt" },
            Step::File { url: format!("{GENSIM}/wordsim353.tsv"), destination: "text/wordsim353.tsv" },
            Step::File { url: format!("{GENSIM}/simlex999.txt"), destination: "text/simlex999.txt" },
            Step::Manual(
                "text/corpus.txt.gz is derived from a 2015 Wikipedia extract (shared/data/README.md, section 6) and has \
                 no download; text8 (http://mattmahoney.net/dc/text8.zip) is the classic corpus of the same size: unzip \
                 it and pass it with --corpus",
            ),
        ],
        Dataset::Obama => vec![Step::Manual(
            "the ObamaNet arrays exist only as Python pickles in the history of github.com/tdubnov/obamanet \
             (commit 0a424f3); see shared/data/README.md, section 7, for how they were converted",
        )],
    }
}

/// Carries out the steps for `dataset` under `root`, or with `dry_run` only describes them.
/// Returns one line per step saying what was (or would be) done.
pub fn fetch(root: &Path, dataset: Dataset, dry_run: bool) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    for step in plan(dataset) {
        match step {
            Step::Manual(note) => report.push(format!("{dataset}: not downloadable: {note}")),
            Step::File { url, destination } => {
                let target = root.join(destination);
                report.push(format!("{dataset}: {url} -> {}", target.display()));
                if !dry_run {
                    download(&url, &target)?;
                }
            }
            Step::Archive { url, members, destination } => {
                let target = root.join(destination);
                report.push(format!("{dataset}: {url} [{}] -> {}", members.join(", "), target.display()));
                if !dry_run {
                    unpack(&url, members, &target)?;
                }
            }
        }
    }
    Ok(report)
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("cannot run {:?}: {e} (is it installed?)", command.get_program()))?;
    status.success().then_some(()).ok_or_else(|| format!("{command:?} failed with {status}"))
}

fn download(url: &str, target: &Path) -> Result<(), String> {
    let parent = target.parent().expect("targets are under the data root");
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let mut partial = target.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    run(Command::new("curl").args(["--fail", "--location", "--retry", "3", "--output"]).arg(&partial).arg(url))?;
    std::fs::rename(&partial, target).map_err(|e| format!("{}: {e}", target.display()))
}

fn unpack(url: &str, members: &[&str], target: &Path) -> Result<(), String> {
    let work = target.with_extension("download");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let archive = work.join("archive.tar.gz");
    download(url, &archive)?;
    run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&work))?;
    let top = std::fs::read_dir(&work)
        .map_err(|e| format!("{}: {e}", work.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .ok_or_else(|| format!("{url}: the archive has no top-level folder"))?;
    std::fs::create_dir_all(target).map_err(|e| format!("{}: {e}", target.display()))?;
    for member in members {
        let source = top.join(member);
        let destination = target.join(member);
        if destination.exists() {
            return Err(format!("{} already exists; remove it to fetch again", destination.display()));
        }
        std::fs::rename(&source, &destination).map_err(|e| format!("{} -> {}: {e}", source.display(), destination.display()))?;
    }
    std::fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_describes_every_data_set_without_touching_the_disk() {
        let root = Path::new("/nonexistent/mm-data");
        for dataset in Dataset::ALL {
            let lines = fetch(root, dataset, true).unwrap();
            assert!(!lines.is_empty());
            assert!(lines.iter().all(|l| l.starts_with(dataset.folder())));
        }
        assert!(!root.exists());
    }
}
