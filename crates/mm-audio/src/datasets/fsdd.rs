//! The Free Spoken Digit Dataset: `recordings/{digit}_{speaker}_{index}.wav`, 8 kHz mono.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::sorted_entries;
use crate::{Audio, Error, Result, read_wav};

/// FSDD's official split: takes 0–4 of every speaker and digit are the test set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsddSplit {
    /// Takes 5–49 (2,700 files).
    Train,
    /// Takes 0–4 (300 files).
    Test,
}

/// One recording, described by its file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FsddRecording {
    /// The WAV file.
    pub path: PathBuf,
    /// The spoken digit, 0–9 (the label).
    pub digit: u8,
    /// The speaker's name.
    pub speaker: String,
    /// The take, 0–49.
    pub index: u32,
}

impl FsddRecording {
    /// Parses `{digit}_{speaker}_{index}.wav`.
    pub fn from_path(path: &Path) -> Result<Self> {
        let bad = || Error::invalid(path, "not an FSDD file name: expected {digit}_{speaker}_{index}.wav, e.g. 7_jackson_32.wav");
        let stem = path.file_stem().and_then(|s| s.to_str()).ok_or_else(bad)?;
        let mut parts = stem.split('_');
        let (Some(digit), Some(speaker), Some(index), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let digit: u8 = digit.parse().ok().filter(|d| *d <= 9).ok_or_else(bad)?;
        let index: u32 = index.parse().map_err(|_| bad())?;
        if speaker.is_empty() {
            return Err(bad());
        }
        Ok(Self { path: path.to_path_buf(), digit, speaker: speaker.to_string(), index })
    }

    /// The official split of this take.
    pub fn split(&self) -> FsddSplit {
        if self.index < 5 { FsddSplit::Test } else { FsddSplit::Train }
    }

    /// Decodes the recording.
    pub fn load(&self) -> Result<Audio> {
        read_wav(&self.path)
    }
}

/// The recordings of an FSDD folder, sorted by file name.
#[derive(Debug, Clone)]
pub struct Fsdd {
    /// Every recording.
    pub recordings: Vec<FsddRecording>,
}

impl Fsdd {
    /// FSDD's sample rate.
    pub const SAMPLE_RATE: u32 = 8000;

    /// Lists `dir/recordings/*.wav` (or `dir/*.wav` if there is no `recordings` folder).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let recordings_dir = if dir.join("recordings").is_dir() { dir.join("recordings") } else { dir.to_path_buf() };
        let recordings = sorted_entries(&recordings_dir)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
            .map(|p| FsddRecording::from_path(&p))
            .collect::<Result<Vec<_>>>()?;
        if recordings.is_empty() {
            return Err(Error::invalid(recordings_dir, "no FSDD recordings (*.wav) here"));
        }
        Ok(Self { recordings })
    }

    /// The recordings of one split.
    pub fn split(&self, split: FsddSplit) -> impl Iterator<Item = &FsddRecording> {
        self.recordings.iter().filter(move |r| r.split() == split)
    }

    /// The distinct speakers, sorted.
    pub fn speakers(&self) -> Vec<&str> {
        let mut speakers: Vec<&str> = self.recordings.iter().map(|r| r.speaker.as_str()).collect();
        speakers.sort_unstable();
        speakers.dedup();
        speakers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_the_official_split() {
        let r = FsddRecording::from_path(Path::new("x/7_jackson_32.wav")).unwrap();
        assert_eq!((r.digit, r.speaker.as_str(), r.index, r.split()), (7, "jackson", 32, FsddSplit::Train));
        assert_eq!(FsddRecording::from_path(Path::new("0_theo_4.wav")).unwrap().split(), FsddSplit::Test);
        for bad in ["12_theo_1.wav", "7_jackson.wav", "a_b_c.wav", "7__3.wav", "1_a_2_3.wav"] {
            let message = FsddRecording::from_path(Path::new(bad)).unwrap_err().to_string();
            assert!(message.contains(bad), "{message}");
        }
    }
}
