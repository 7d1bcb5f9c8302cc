//! What a user keeps stays what it was: a run reads the pretrained run it was trained from however
//! `runs/TASK/latest` moves (new runs by the resolved folder in their config, older runs by their pins); weights
//! are refused with a config edited since, or when they are not all finite; a start that fails leaves `latest` on
//! the last good run; a resumed run without checkpoints is re-tested, never retrained in place.

mod common;

use std::path::{Path, PathBuf};

use mm_tasks::data::DataRoot;
use mm_tasks::encoders::shapes::{Shapes, ShapesTaskConfig};
use mm_tasks::matching::tagging::{TagWorld, Tagging, TaggingConfig, evaluate_tagging, evaluate_tagging_on};
use mm_tasks::runner::{CONFIG_FILE, EVALUATION_FILE, METRICS_FILE, MODEL_FILE, Reading, RunDir, Span, Split, eval_run, load_model, save_model, train_task};
use mm_text::vectors::WordVectors;

/// Tagging in the shapes world from `encoder` (a shapes run), with deterministic word vectors for its tags: its
/// test features are computed from the encoder run whenever it is evaluated.
fn tagging(dir: &Path, encoder: &Path) -> TaggingConfig {
    let mut config = TaggingConfig { world: TagWorld::Shapes, encoder_run: Some(encoder.into()), vectors: dir.join("vectors.txt"), ..Default::default() };
    let tags = config.tags();
    let data = (0..tags.len() * 16).map(|i| (((i * 7919) % 97) as f32 / 48.5) - 1.0).collect();
    WordVectors::new(tags, 16, data).save(&config.vectors).unwrap();
    config.train.epochs = 2;
    config.train.lr = 1e-2;
    config
}

fn latest(runs: &Path, task: &str) -> PathBuf {
    std::fs::canonicalize(runs.join(task).join("latest")).unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_run_keeps_reading_the_pretrained_run_it_was_trained_from() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let device = burn::tensor::Device::flex();
    let first = common::tiny_shapes_encoder(dir.path(), &root, 256, 1);
    let run = RunDir::create(dir.path(), "tagging", 0).unwrap();
    let scores = train_task::<Tagging>(&tagging(dir.path(), &dir.path().join("shapes/latest")), &root, &run, Span::WHOLE).unwrap().evaluation.unwrap();
    let report = serde_json::to_value(evaluate_tagging(run.path(), &root, &device).unwrap()).unwrap();
    let written = json(&run.path().join(CONFIG_FILE));
    assert_eq!(written["config"]["encoder_run"], serde_json::json!(first), "config.json names the folder `latest` pointed at");

    // Another shapes run moves `latest`; tagging still reads the first one.
    let mut other = ShapesTaskConfig { train_scenes: 256, valid_scenes: 32, test_scenes: 32, ..Default::default() };
    other.encoder = other.encoder.with_stages(vec![8, 16, 32]);
    other.train.epochs = 1;
    other.train.seed = 7;
    let second = RunDir::create(dir.path(), "shapes", 7).unwrap();
    train_task::<Shapes>(&other, &root, &second, Span::WHOLE).unwrap();
    assert_eq!(latest(dir.path(), "shapes"), std::fs::canonicalize(second.path()).unwrap());
    assert_eq!(eval_run::<Tagging>(run.path(), &root, Reading::of(Split::Test)).unwrap(), scores, "the same numbers after `latest` moved");
    assert_eq!(serde_json::to_value(evaluate_tagging(run.path(), &root, &device).unwrap()).unwrap(), report, "the same report");
    // Fresh test scenes of the shapes world: another report in test-seed-N/, the run's own untouched.
    let fresh = evaluate_tagging_on(run.path(), &root, &device, Some(6_007)).unwrap();
    assert!(run.path().join("test-seed-6007/tagging.json").exists() && serde_json::to_value(&fresh).unwrap() != report);
    assert_eq!(json(&run.path().join("tagging.json")), report);

    // A run written before pretrained runs were resolved names `…/latest`, pins it, and carries no digest: its
    // pins lead back to the first run.
    let (_, model) = load_model::<Tagging>(run.path(), &device).unwrap();
    save_model(&model, &run.path().join(MODEL_FILE)).unwrap();
    let mut older = written.clone();
    older["config"]["encoder_run"] = serde_json::json!(dir.path().join("shapes/latest"));
    for pin in older["inputs"].as_array_mut().unwrap().iter_mut().filter(|pin| pin["path"].as_str().unwrap().starts_with(first.to_str().unwrap())) {
        let file = Path::new(pin["path"].as_str().unwrap()).file_name().unwrap().to_owned();
        pin["path"] = serde_json::json!(dir.path().join("shapes/latest").join(file));
    }
    std::fs::write(run.path().join(CONFIG_FILE), serde_json::to_vec_pretty(&older).unwrap()).unwrap();
    assert_eq!(eval_run::<Tagging>(run.path(), &root, Reading::of(Split::Test)).unwrap(), scores, "an older run follows its pins");
    assert_eq!(serde_json::to_value(evaluate_tagging(run.path(), &root, &device).unwrap()).unwrap(), report);
}

#[test]
fn weights_refuse_an_edited_config_and_values_that_are_not_finite() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let run = common::tiny_shapes_encoder(dir.path(), &root, 128, 1);
    let device = burn::tensor::Device::flex();
    let before = std::fs::read(run.join(EVALUATION_FILE)).unwrap();

    // An edited setting: the test scenes' seed.
    let original = std::fs::read(run.join(CONFIG_FILE)).unwrap();
    let mut edited: serde_json::Value = serde_json::from_slice(&original).unwrap();
    edited["config"]["test_seed"] = serde_json::json!(99);
    std::fs::write(run.join(CONFIG_FILE), serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    let message = eval_run::<Shapes>(&run, &root, Reading::of(Split::Test)).unwrap_err().to_string();
    assert!(message.contains(CONFIG_FILE) && message.contains("edited"), "{message}");
    // Laid out otherwise but with the same settings, it still reads.
    let same: serde_json::Value = serde_json::from_slice(&original).unwrap();
    std::fs::write(run.join(CONFIG_FILE), serde_json::to_vec(&same).unwrap()).unwrap();
    load_model::<Shapes>(&run, &device).unwrap();
    // Written before a setting existed (it reads with its default, which the weights were trained with), it
    // still reads; naming that setting with another value is an edit.
    let mut older = same.clone();
    assert_eq!(older["config"]["train"]["keep_checkpoints"], 2, "the default");
    older["config"]["train"].as_object_mut().unwrap().remove("keep_checkpoints");
    std::fs::write(run.join(CONFIG_FILE), serde_json::to_vec(&older).unwrap()).unwrap();
    load_model::<Shapes>(&run, &device).unwrap();
    older["config"]["train"]["keep_checkpoints"] = serde_json::json!(3);
    std::fs::write(run.join(CONFIG_FILE), serde_json::to_vec(&older).unwrap()).unwrap();
    assert!(load_model::<Shapes>(&run, &device).unwrap_err().to_string().contains("edited"));
    std::fs::write(run.join(CONFIG_FILE), &original).unwrap();

    // Weights with a NaN.
    let bytes = std::fs::read(run.join(MODEL_FILE)).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (name, view) = tensors.iter().find(|(_, v)| v.dtype() == safetensors::Dtype::F32).unwrap();
    let offset = view.data().as_ptr() as usize - bytes.as_ptr() as usize;
    let mut poisoned = bytes.clone();
    poisoned[offset..offset + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(run.join(MODEL_FILE), &poisoned).unwrap();
    let message = load_model::<Shapes>(&run, &device).unwrap_err().to_string();
    assert!(message.contains(MODEL_FILE) && message.contains(name) && message.contains("not finite"), "{message}");
    assert_eq!(std::fs::read(run.join(EVALUATION_FILE)).unwrap(), before, "nothing was rewritten");
}

#[test]
fn a_start_that_fails_leaves_latest_on_the_last_good_run() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let good = common::tiny_shapes_encoder(dir.path(), &root, 128, 1);
    let broken = ShapesTaskConfig { image_size: 100_000, ..Default::default() };
    let run = RunDir::create(dir.path(), "shapes", 1).unwrap();
    let message = train_task::<Shapes>(&broken, &root, &run, Span::WHOLE).unwrap_err().to_string();
    assert!(message.contains("image_size = 100000"), "{message}");
    assert_eq!(latest(dir.path(), "shapes"), good, "latest stays on the run that trained");
}

/// A run of parts (ESC-10's five folds) whose data is missing fails at its first part's start, and `latest`
/// stays where it was.
#[test]
fn a_run_of_parts_that_cannot_start_leaves_latest_alone() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path(), "esc10", 0).unwrap();
    let config = mm_tasks::encoders::esc10::Esc10Config::default();
    let message = mm_tasks::encoders::esc10::train_folds(&config, &DataRoot::at(empty.path()), &run, Span::WHOLE).unwrap_err().to_string();
    assert!(message.contains("esc10"), "{message}");
    assert!(!dir.path().join("esc10/latest").exists(), "no run that never started becomes the latest");
}

#[test]
fn a_resumed_run_without_checkpoints_is_retested_or_refused_never_retrained() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let path = common::tiny_shapes_encoder(dir.path(), &root, 128, 2);
    let config = mm_tasks::runner::load_run_config::<Shapes>(&path).unwrap();
    let run = RunDir::open(&path).unwrap();
    let (metrics, model) = (std::fs::read(path.join(METRICS_FILE)).unwrap(), std::fs::read(path.join(MODEL_FILE)).unwrap());
    let evaluation = json(&path.join(EVALUATION_FILE));
    std::fs::remove_dir_all(path.join("checkpoints")).unwrap();

    let retested = train_task::<Shapes>(&config, &root, &run, Span::REST).unwrap();
    assert_eq!(retested.outcome.steps_trained, 0..0, "nothing is trained again");
    assert_eq!(serde_json::to_value(retested.evaluation.unwrap()).unwrap(), evaluation["scores"]);
    assert_eq!(std::fs::read(path.join(METRICS_FILE)).unwrap(), metrics, "metrics.jsonl is kept");
    assert_eq!(std::fs::read(path.join(MODEL_FILE)).unwrap(), model, "the model is kept");
    assert_eq!(json(&path.join(EVALUATION_FILE)), evaluation, "the same report, the same best epoch");

    std::fs::remove_file(path.join(MODEL_FILE)).unwrap();
    let message = train_task::<Shapes>(&config, &root, &run, Span::REST).unwrap_err().to_string();
    assert!(message.contains("checkpoints") && message.contains("2 epochs") && message.contains("new run"), "{message}");
    assert_eq!(std::fs::read(path.join(METRICS_FILE)).unwrap(), metrics, "metrics.jsonl is kept");
}

#[test]
fn a_fresh_test_seed_reads_new_scenes_beside_the_runs_own_report() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let path = common::tiny_shapes_encoder(dir.path(), &root, 128, 1);
    let evaluation = std::fs::read(path.join(EVALUATION_FILE)).unwrap();
    let own = eval_run::<Shapes>(&path, &root, Reading::of(Split::Test)).unwrap();
    let fresh = Reading { test_seed: Some(8_191), ..Reading::of(Split::Test) };
    let scores = eval_run::<Shapes>(&path, &root, fresh).unwrap();
    assert_ne!(scores, own, "other scenes, other numbers");
    assert_eq!(eval_run::<Shapes>(&path, &root, fresh).unwrap(), scores, "the seed draws the same scenes again");
    let written = json(&path.join("test-seed-8191").join(EVALUATION_FILE));
    assert_eq!(written["test_seed"].as_u64(), Some(8_191));
    assert!((written["scores"]["loss"].as_f64().unwrap() - scores["loss"]).abs() < 1e-12, "{written}");
    assert_eq!(std::fs::read(path.join(EVALUATION_FILE)).unwrap(), evaluation, "the run's own evaluation is untouched");
    // The test seed draws the test split and no other.
    let message = eval_run::<Shapes>(&path, &root, Reading { split: Split::Valid, ..fresh }).unwrap_err().to_string();
    assert!(message.contains("--test-seed") && message.contains("valid"), "{message}");
}
