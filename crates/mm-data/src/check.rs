//! `cargo xtask data check`: for each data set, found or missing, its counts, and the integrity checks that its
//! documentation promises (checksums, file counts, decodable headers, consistent indexes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::Serialize;

use super::{DataRoot, Dataset};

/// Whether a data set is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Found, and every check passed.
    Ok,
    /// Not found in any data root.
    Missing,
    /// Found, but at least one check failed.
    Wrong,
}

/// The outcome of checking one data set.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetReport {
    /// The data set.
    pub dataset: Dataset,
    /// Where it was found.
    pub path: Option<PathBuf>,
    /// Verdict.
    pub status: Status,
    /// What was counted (files, images, tokens …).
    pub counts: BTreeMap<String, u64>,
    /// Every failed check, or why it is missing.
    pub problems: Vec<String>,
}

/// Collects counts and failed expectations for one data set.
struct Recorder {
    counts: BTreeMap<String, u64>,
    problems: Vec<String>,
}

impl Recorder {
    fn count(&mut self, name: &str, value: u64) {
        self.counts.insert(name.to_string(), value);
    }

    /// Records `value` and a problem if it differs from `expected`.
    fn expect(&mut self, name: &str, value: u64, expected: u64) {
        self.count(name, value);
        if value != expected {
            self.problems.push(format!("{name}: found {value}, expected {expected}"));
        }
    }

    fn problem(&mut self, problem: impl ToString) {
        self.problems.push(problem.to_string());
    }
}

/// Checks every data set. With `deep`, every audio file is decoded, not just its header read.
pub fn check_all(root: &DataRoot, deep: bool) -> Vec<DatasetReport> {
    Dataset::ALL.iter().map(|&dataset| check(root, dataset, deep)).collect()
}

/// Checks one data set.
pub fn check(root: &DataRoot, dataset: Dataset, deep: bool) -> DatasetReport {
    let dir = match root.dataset(dataset) {
        Ok(dir) => dir,
        Err(missing) => {
            return DatasetReport { dataset, path: None, status: Status::Missing, counts: BTreeMap::new(), problems: vec![missing.to_string()] };
        }
    };
    let mut recorder = Recorder { counts: BTreeMap::new(), problems: Vec::new() };
    let outcome = match dataset {
        Dataset::Mnist => check_mnist(&dir, &mut recorder),
        Dataset::Fsdd => check_fsdd(&dir, deep, &mut recorder),
        Dataset::Esc10 => check_esc10(&dir, deep, &mut recorder),
        Dataset::CocoMini => check_coco(&dir, &mut recorder),
        Dataset::Text => check_text(&dir, &mut recorder),
        Dataset::Obama => check_obama(&dir, &mut recorder),
    };
    if let Err(fatal) = outcome {
        recorder.problem(fatal);
    }
    let status = if recorder.problems.is_empty() { Status::Ok } else { Status::Wrong };
    DatasetReport { dataset, path: Some(dir), status, counts: recorder.counts, problems: recorder.problems }
}

type Fatal = Box<dyn std::error::Error>;

const MNIST_MD5: [(&str, bool, mm_vision::mnist::MnistPart, &str); 4] = {
    use mm_vision::mnist::MnistPart::{Test, Train};
    [
        ("train images", true, Train, "6bbc9ace898e44ae57da46a324031adb"),
        ("train labels", false, Train, "a25bea736e30d166cdddb491f175f624"),
        ("test images", true, Test, "2646ac647ad5339dbf082846283269ea"),
        ("test labels", false, Test, "27ae3e4e09519cfbb04c329615203637"),
    ]
};

fn check_mnist(dir: &Path, r: &mut Recorder) -> Result<(), Fatal> {
    use mm_vision::mnist::{MnistPart, find_mnist_file, read_maybe_gzipped, read_mnist};
    for (name, images, part, expected) in MNIST_MD5 {
        let path = find_mnist_file(dir, part, images)?;
        let digest = format!("{:x}", Md5::digest(read_maybe_gzipped(&path)?));
        if digest != expected {
            r.problem(format!("{}: MD5 after gunzip is {digest}, expected {expected} ({name})", path.display()));
        }
    }
    r.expect("train images", read_mnist(dir, MnistPart::Train)?.len() as u64, 60_000);
    r.expect("test images", read_mnist(dir, MnistPart::Test)?.len() as u64, 10_000);
    Ok(())
}

fn check_fsdd(dir: &Path, deep: bool, r: &mut Recorder) -> Result<(), Fatal> {
    use mm_audio::datasets::{Fsdd, FsddSplit};
    let fsdd = Fsdd::open(dir)?;
    r.expect("recordings", fsdd.recordings.len() as u64, 3_000);
    r.expect("speakers", fsdd.speakers().len() as u64, 6);
    r.expect("test recordings (takes 0-4)", fsdd.split(FsddSplit::Test).count() as u64, 300);
    for digit in 0..10u8 {
        let count = fsdd.recordings.iter().filter(|rec| rec.digit == digit).count() as u64;
        if count != 300 {
            r.problem(format!("digit {digit}: {count} recordings, expected 300"));
        }
    }
    let mut samples = 0u64;
    for recording in &fsdd.recordings {
        let info = mm_audio::WavInfo::read(&recording.path)?;
        if (info.channels, info.sample_rate, info.bits_per_sample) != (1, 8000, 16) {
            r.problem(format!("{}: {info:?}, expected mono 16-bit 8 kHz", recording.path.display()));
        }
        samples += info.frames as u64;
        if deep {
            recording.load()?;
        }
    }
    r.count("samples", samples);
    Ok(())
}

fn check_esc10(dir: &Path, deep: bool, r: &mut Recorder) -> Result<(), Fatal> {
    let esc10 = mm_audio::datasets::Esc10::open(dir)?;
    r.expect("clips", esc10.clips.len() as u64, 400);
    for class in 0..10u8 {
        let count = esc10.clips.iter().filter(|c| c.class == class).count();
        if count != 40 {
            r.problem(format!("class {class}: {count} clips, expected 40"));
        }
    }
    for fold in 1..=5u8 {
        let count = esc10.clips.iter().filter(|c| c.fold == fold).count();
        if count != 80 {
            r.problem(format!("fold {fold}: {count} clips, expected 80"));
        }
    }
    r.count("classes", esc10.class_names().iter().filter(|n| !n.is_empty()).count() as u64);
    for clip in &esc10.clips {
        if deep {
            let audio = clip.load()?;
            if audio.sample_rate != 44_100 {
                r.problem(format!("{}: {} Hz, expected 44100", clip.path.display(), audio.sample_rate));
            }
        } else {
            let header = mm_audio::ogg_info(&clip.path)?;
            if header != (1, 44_100) {
                r.problem(format!("{}: (channels, rate) = {header:?}, expected (1, 44100)", clip.path.display()));
            }
        }
    }
    Ok(())
}

fn check_coco(dir: &Path, r: &mut Recorder) -> Result<(), Fatal> {
    let (mut images, mut captions) = (0u64, 0u64);
    for split in ["train2017", "val2017"] {
        let coco = mm_vision::coco::CocoCaptions::open(dir, split)?;
        images += coco.images.len() as u64;
        captions += coco.caption_count() as u64;
        for image in &coco.images {
            match mm_vision::image_dimensions(&image.path) {
                Ok(size) if size == (image.width, image.height) => {}
                Ok(size) => r.problem(format!("{}: {size:?} but the annotations say {:?}", image.path.display(), (image.width, image.height))),
                Err(e) => r.problem(e),
            }
        }
    }
    r.expect("images", images, 159);
    r.expect("captions", captions, 795);
    Ok(())
}

fn check_text(dir: &Path, r: &mut Recorder) -> Result<(), Fatal> {
    use mm_text::eval_sets::{read_analogies, read_similarity_pairs};
    let sections = read_analogies(dir.join("questions-words.txt"))?;
    r.expect("analogy sections", sections.len() as u64, 14);
    r.expect("analogy questions", sections.iter().map(|s| s.questions.len() as u64).sum(), 19_544);
    r.expect("wordsim353 pairs", read_similarity_pairs(dir.join("wordsim353.tsv"))?.len() as u64, 353);
    r.expect("simlex999 pairs", read_similarity_pairs(dir.join("simlex999.txt"))?.len() as u64, 999);
    let corpus = mm_text::Corpus::open(dir.join("corpus.txt.gz"))?;
    let mut lines = corpus.lines()?;
    let (mut articles, mut tokens) = (0u64, 0u64);
    while let Some(line) = lines.next_line()? {
        articles += 1;
        tokens += line.split_ascii_whitespace().count() as u64;
    }
    r.expect("corpus articles", articles, 6_376);
    r.expect("corpus tokens", tokens, 17_000_880);
    Ok(())
}

fn check_obama(dir: &Path, r: &mut Recorder) -> Result<(), Fatal> {
    use ndarray::{Array1, Array2};
    use ndarray_npy::read_npy;
    let index_path = dir.join("segments.tsv");
    let index = std::fs::read_to_string(&index_path).map_err(|e| format!("{}: {e}", index_path.display()))?;
    let mut segments = 0u64;
    let mut frames = 0u64;
    for (i, line) in index.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let parse = |k: usize| -> Result<u64, String> {
            fields.get(k).and_then(|v| v.parse().ok()).ok_or_else(|| format!("{}:{}: bad column {k}", index_path.display(), i + 1))
        };
        let (name, samples, video_frames, pca_rows) = (fields[0], parse(1)?, parse(3)?, parse(4)?);
        segments += 1;
        frames += video_frames;
        let wav = dir.join("audio").join(format!("{name}.wav"));
        let info = mm_audio::WavInfo::read(&wav)?;
        if (info.channels, info.sample_rate, info.frames as u64) != (1, 16_000, samples) {
            r.problem(format!("{}: {info:?}, expected mono 16 kHz with {samples} samples", wav.display()));
        }
        let npy = dir.join("mouth_pca").join(format!("{name}.npy"));
        let rows: Array2<f64> = read_npy(&npy).map_err(|e| format!("{}: {e}", npy.display()))?;
        if rows.dim() != (pca_rows as usize, 8) {
            r.problem(format!("{}: shape {:?}, expected ({pca_rows}, 8)", npy.display(), rows.dim()));
        }
    }
    r.expect("segments", segments, 65);
    r.expect("video frames", frames, 4_830);
    let mean: Array1<f64> = read_npy(dir.join("pca/mean.npy")).map_err(|e| format!("pca/mean.npy: {e}"))?;
    let components: Array2<f64> = read_npy(dir.join("pca/components.npy")).map_err(|e| format!("pca/components.npy: {e}"))?;
    if (mean.len(), components.dim()) != (40, (8, 40)) {
        r.problem(format!("pca: mean {} and components {:?}, expected 40 and (8, 40)", mean.len(), components.dim()));
    }
    Ok(())
}
