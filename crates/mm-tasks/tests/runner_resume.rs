//! The runner on a tiny shapes task: a run interrupted after one epoch and resumed ends with exactly the metrics
//! of a run never interrupted; the saved model reloads and gives the same test numbers; the run folder holds
//! everything a user is promised.

use mm_tasks::data::DataRoot;
use mm_tasks::runner::{eval_run, read_metrics, train_task, RunDir, Split, CONFIG_FILE, CURVES_FILE, METRICS_FILE, MODEL_FILE};
use mm_tasks::tasks::shapes::{Shapes, ShapesTaskConfig};
use mm_vision::encoders::ImageEncoderConfig;

fn tiny() -> ShapesTaskConfig {
    let mut config = ShapesTaskConfig {
        train_scenes: 48,
        test_scenes: 16,
        image_size: 32,
        encoder: ImageEncoderConfig::new().with_channels_in(3).with_stages(vec![4, 8]).with_blocks_per_stage(1),
        ..Default::default()
    };
    config.train.epochs = 3;
    config.train.batch_size = 16;
    config
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let runs = tempfile::tempdir().unwrap();
    let root = DataRoot::at(runs.path());
    let config = tiny();

    let whole_run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let whole = train_task::<Shapes>(&config, &root, &whole_run, false, None).unwrap();
    assert!(whole.outcome.finished);
    assert_eq!(whole.outcome.history.len(), 3);

    let split_run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let first = train_task::<Shapes>(&config, &root, &split_run, false, Some(1)).unwrap();
    assert!(!first.outcome.finished && first.evaluation.is_none());
    assert!(!split_run.path().join(MODEL_FILE).exists(), "no final model before the run ends");
    let resumed = train_task::<Shapes>(&config, &root, &split_run, true, None).unwrap();

    let strip = |history: &[mm_tasks::runner::EpochMetrics]| -> Vec<_> {
        history.iter().map(|m| (m.epoch, m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.lr)).collect()
    };
    assert_eq!(strip(&resumed.outcome.history), strip(&whole.outcome.history));
    assert_eq!(resumed.evaluation, whole.evaluation);
    let on_disk = read_metrics(&split_run.path().join(METRICS_FILE)).unwrap();
    let uninterrupted_on_disk = read_metrics(&whole_run.path().join(METRICS_FILE)).unwrap();
    assert_eq!(strip(&on_disk), strip(&uninterrupted_on_disk), "metrics.jsonl has each epoch once, with the same numbers");

    for file in [CONFIG_FILE, METRICS_FILE, CURVES_FILE, MODEL_FILE, "evaluation.json"] {
        assert!(whole_run.path().join(file).exists(), "{file}");
    }
    let kept = std::fs::read_dir(whole_run.path().join("checkpoints")).unwrap().count();
    assert_eq!(kept, 2, "the last two checkpoints are kept");
    let latest = RunDir::open(&runs.path().join("shapes/latest")).unwrap();
    assert_eq!(latest.path(), std::fs::canonicalize(split_run.path()).unwrap());

    let reloaded = eval_run::<Shapes>(whole_run.path(), &root, Split::Test, None).unwrap();
    assert_eq!(Some(reloaded), whole.evaluation, "the saved model gives the numbers the run reported");
}

#[test]
fn a_missing_model_or_config_is_an_error_naming_the_file() {
    let runs = tempfile::tempdir().unwrap();
    let run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let message = eval_run::<Shapes>(run.path(), &DataRoot::at(runs.path()), Split::Test, None).unwrap_err().to_string();
    assert!(message.contains(CONFIG_FILE), "{message}");
    std::fs::write(run.path().join(CONFIG_FILE), "{}").unwrap();
    let message = eval_run::<Shapes>(run.path(), &DataRoot::at(runs.path()), Split::Test, None).unwrap_err().to_string();
    assert!(message.contains(MODEL_FILE) && message.contains("--resume"), "{message}");
}
