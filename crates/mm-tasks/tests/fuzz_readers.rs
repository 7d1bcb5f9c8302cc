//! Property tests for every reader of user files and for config parsing: a valid file, damaged by random byte
//! changes, insertions and truncation, must give `Ok` or a typed error that names the file — never a panic, an
//! abort or a runaway allocation.
//!
//! Each property runs `MM_FUZZ_CASES` cases (default 2,000: a fixed budget, about 2 s for all nine on the
//! development machine; CI runs the default). proptest keeps every failing input it finds in `tests/fuzz_readers.proptest-regressions`
//! and replays it first on every later run, so a crash once found stays a regression test.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mm_audio::Audio;
use mm_tasks::data::Dataset;
use mm_tasks::encoders::fsdd::{FsddConfig, FsddDigits};
use mm_tasks::runner::{Task, load_config};
use mm_text::Corpus;
use mm_text::tokenizer::{TextTokenizer, TokenizerConfig};
use mm_text::vectors::WordVectors;
use mm_vision::coco::CocoCaptions;
use mm_vision::mnist::IdxArray;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("MM_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2_000);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

/// One damage to a file: overwrite a byte, insert bytes, or cut the file short. Positions are taken modulo the
/// length; a third of them fall in the first 64 bytes, where headers live.
#[derive(Debug, Clone)]
enum Damage {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let position = prop_oneof![0usize..64, any::<usize>()];
    prop_oneof![
        6 => (position.clone(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        2 => (position.clone(), proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Damage::Insert(i, b)),
        1 => position.prop_map(Damage::Truncate),
    ]
}

fn damaged(seed: &[u8], damages: &[Damage]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for d in damages {
        let len = bytes.len().max(1);
        match d {
            Damage::Set(i, b) if !bytes.is_empty() => bytes[i % len] = *b,
            Damage::Insert(i, b) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Damage::Truncate(i) => bytes.truncate(i % len),
            _ => {}
        }
    }
    bytes
}

fn damages() -> impl Strategy<Value = Vec<Damage>> {
    proptest::collection::vec(damage(), 1..6)
}

/// Writes `bytes` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A typed error must say which file it is about.
fn names_the_file<T, E: std::fmt::Display>(result: Result<T, E>, path: &Path) -> Result<(), TestCaseError> {
    if let Err(error) = result {
        let message = error.to_string();
        let name = path.file_name().unwrap().to_string_lossy();
        prop_assert!(message.contains(name.as_ref()), "the error does not name {name}: {message}");
    }
    Ok(())
}

/// A file of the project's data, read once: `None` (the property then has nothing to damage) where the data is
/// absent outside CI; `common::shared_data` fails the test in CI.
fn shared_seed(cell: &'static OnceLock<Option<Vec<u8>>>, dataset: Dataset, relative: &str) -> Option<&'static [u8]> {
    cell.get_or_init(|| {
        let path = common::shared_data()?.dataset(dataset).ok()?.join(relative);
        Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    })
    .as_deref()
}

/// A small mono 16-bit WAV written by mm, made once.
fn wav_seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.wav");
        let samples: Vec<f32> = (0..400).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        mm_audio::write_wav(&path, &Audio::new(samples, 8000)).unwrap();
        std::fs::read(path).unwrap()
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn wav_reader(damages in damages()) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "damaged.wav", &damaged(wav_seed(), &damages));
        names_the_file(mm_audio::read_wav(&path), &path)?;
    }

    #[test]
    fn ogg_reader(damages in damages()) {
        // The smallest ESC-10 clip (13.6 kB).
        static SEED: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        let Some(seed) = shared_seed(&SEED, Dataset::Esc10, "001 - Dog bark/1-100032-A.ogg") else { return Ok(()) };
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "damaged.ogg", &damaged(seed, &damages));
        names_the_file(mm_audio::read_audio(&path), &path)?;
    }

    #[test]
    fn idx_reader(damages in damages()) {
        let mut seed = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
        seed.extend(0..18u8);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "damaged-idx3-ubyte", &damaged(&seed, &damages));
        names_the_file(IdxArray::read(&path), &path)?;
    }

    #[test]
    fn gzipped_idx_reader(damages in damages()) {
        static SEED: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        let Some(seed) = shared_seed(&SEED, Dataset::Mnist, "t10k-labels-idx1-ubyte.gz") else { return Ok(()) };
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "damaged-idx1-ubyte.gz", &damaged(seed, &damages));
        names_the_file(IdxArray::read(&path), &path)?;
    }

    #[test]
    fn coco_captions_reader(damages in damages()) {
        let seed = br#"{"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}, {"id": 2, "file_name": "b.jpg", "width": 3, "height": 4}], "annotations": [{"id": 7, "image_id": 1, "caption": "A cat on a mat."}, {"id": 8, "image_id": 2, "caption": " two  dogs "}]}"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("annotations")).unwrap();
        let path = write(&dir.path().join("annotations"), "captions_val2017.json", &damaged(seed, &damages));
        names_the_file(CocoCaptions::open(dir.path(), "val2017"), &path)?;
    }

    #[test]
    fn corpus_reader(damages in damages()) {
        let seed = b"the cat sat on the mat\nthe dog sat on the log\n\nanother line of words here\n";
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "damaged.txt", &damaged(seed, &damages));
        let result = Corpus::open(&path).and_then(|corpus| corpus.for_each_token(|_| {}));
        names_the_file(result, &path)?;
    }

    #[test]
    fn word_vector_readers(damages in damages()) {
        let vectors = WordVectors::new(vec!["cat".into(), "dog".into(), "mat".into()], 2, vec![0.5, -1.0, 2.0, 0.25, 1e-3, 3.0]);
        let dir = tempfile::tempdir().unwrap();
        type Write = fn(&WordVectors, &Path) -> mm_text::Result<()>;
        type Read = fn(&Path) -> mm_text::Result<WordVectors>;
        let formats: [(&str, Write, Read); 3] = [
            ("vectors.txt", |v, p| v.write_text(p), |p| WordVectors::read_text(p)),
            ("vectors.bin", |v, p| v.write_binary(p), |p| WordVectors::read_binary(p)),
            ("vectors.safetensors", |v, p| v.write_safetensors(p), |p| WordVectors::read_safetensors(p)),
        ];
        for (name, write_seed, read) in formats {
            let seed_path = dir.path().join(format!("seed-{name}"));
            write_seed(&vectors, &seed_path).unwrap();
            let path = write(dir.path(), name, &damaged(&std::fs::read(&seed_path).unwrap(), &damages));
            names_the_file(read(&path), &path)?;
        }
    }

    #[test]
    fn tokenizer_reader(damages in damages()) {
        let dir = tempfile::tempdir().unwrap();
        let seed_path = dir.path().join("seed-tokenizer.json");
        let texts = ["a red circle above a blue square", "two green triangles"];
        TextTokenizer::train(&TokenizerConfig::default(), texts.iter()).unwrap().save(&seed_path).unwrap();
        let path = write(dir.path(), "tokenizer.json", &damaged(&std::fs::read(&seed_path).unwrap(), &damages));
        let loaded = TextTokenizer::load(&path);
        if let Ok(tokenizer) = &loaded {
            // A tokenizer that loads must also encode and decode without panicking.
            let ids = tokenizer.encode("a red square").unwrap_or_default();
            let _ = tokenizer.decode(&ids);
        }
        names_the_file(loaded, &path)?;
    }

    #[test]
    fn task_config_parsing(damages in damages()) {
        let seed = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/fsdd-waveform.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "fsdd.toml", &damaged(&seed, &damages));
        let parsed = load_config::<FsddConfig>(&path);
        if let Ok(config) = &parsed {
            // A config that parses must build its model or say why not, whatever numbers the damage left.
            let _ = FsddDigits::model(config, &burn::tensor::Device::flex());
        }
        names_the_file(parsed, &path)?;
    }
}
