//! The runner on a tiny shapes task: a run interrupted after one epoch and resumed ends with exactly the metrics
//! of a run never interrupted; the saved model reloads and gives the same test numbers; the run folder holds
//! everything a user is promised.

use mm_tasks::data::DataRoot;
use mm_tasks::encoders::shapes::{Shapes, ShapesTaskConfig};
use mm_tasks::runner::{
    CONFIG_FILE, CURVES_FILE, EVALUATION_FILE, EVENTS_FILE, METRICS_FILE, MODEL_FILE, Reading, RunDir, Span, Split, eval_run, read_metrics, train_task,
};
use mm_vision::encoders::ImageEncoderConfig;

fn tiny() -> ShapesTaskConfig {
    let mut config = ShapesTaskConfig {
        train_scenes: 48,
        valid_scenes: 16,
        test_scenes: 16,
        image_size: 32,
        encoder: ImageEncoderConfig::new().with_channels_in(3).with_stages(vec![4, 8]).with_blocks_per_stage(1),
        ..Default::default()
    };
    config.train.epochs = 3;
    config.train.batch_size = 16;
    config.train.checkpoint_every = 2;
    config
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let runs = tempfile::tempdir().unwrap();
    let root = DataRoot::at(runs.path());
    let config = tiny();

    let whole_run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    assert!(!runs.path().join("shapes/latest").exists(), "latest moves only once a run has its config");
    let whole = train_task::<Shapes>(&config, &root, &whole_run, Span::WHOLE).unwrap();
    assert!(whole.outcome.finished);
    assert_eq!(whole.outcome.history.len(), 3);

    let split_run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let first = train_task::<Shapes>(&config, &root, &split_run, Span::first(1)).unwrap();
    assert!(!first.outcome.finished && first.evaluation.is_none());
    assert!(!split_run.path().join(MODEL_FILE).exists(), "no final model before the run ends");
    let resumed = train_task::<Shapes>(&config, &root, &split_run, Span::REST).unwrap();

    let strip = |history: &[mm_tasks::runner::EpochMetrics]| -> Vec<_> { history.iter().map(|m| (m.epoch, m.step, m.values.clone())).collect() };
    assert!(whole.outcome.history[2].get("valid_accuracy").is_some() && whole.outcome.history[2].get("train_loss").is_some());
    assert_eq!(strip(&resumed.outcome.history), strip(&whole.outcome.history));
    assert_eq!(resumed.evaluation, whole.evaluation);
    let on_disk = read_metrics(&split_run.path().join(METRICS_FILE)).unwrap();
    let uninterrupted_on_disk = read_metrics(&whole_run.path().join(METRICS_FILE)).unwrap();
    assert_eq!(strip(&on_disk), strip(&uninterrupted_on_disk), "metrics.jsonl has each epoch once, with the same numbers");

    for file in [CONFIG_FILE, METRICS_FILE, CURVES_FILE, EVENTS_FILE, MODEL_FILE, EVALUATION_FILE] {
        assert!(whole_run.path().join(file).exists(), "{file}");
    }
    let kept: Vec<_> = std::fs::read_dir(whole_run.path().join("checkpoints")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(kept.len(), 3, "the last two checkpoints and the best are kept: {kept:?}");
    assert!(kept.contains(&"best".to_string()));
    let latest = RunDir::open(&runs.path().join("shapes/latest")).unwrap();
    assert_eq!(latest.path(), std::fs::canonicalize(split_run.path()).unwrap());

    let reloaded = eval_run::<Shapes>(whole_run.path(), &root, Reading::of(Split::Test)).unwrap();
    assert_eq!(Some(reloaded), whole.evaluation, "the saved model gives the numbers the run reported");
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_one_before() {
    let runs = tempfile::tempdir().unwrap();
    let root = DataRoot::at(runs.path());
    let config = tiny();
    let whole_run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let whole = train_task::<Shapes>(&config, &root, &whole_run, Span::WHOLE).unwrap();

    let run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    train_task::<Shapes>(&config, &root, &run, Span::first(2)).unwrap();
    let mut checkpoints: Vec<_> =
        std::fs::read_dir(run.path().join("checkpoints")).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.ends_with("best")).collect();
    checkpoints.sort();
    std::fs::write(checkpoints.last().unwrap().join("model.bpk"), b"not a checkpoint").unwrap();
    let resumed = train_task::<Shapes>(&config, &root, &run, Span::REST).unwrap();
    assert!(resumed.outcome.steps_trained.start < 6, "resumed before the damaged step: {:?}", resumed.outcome.steps_trained);
    let strip = |history: &[mm_tasks::runner::EpochMetrics]| -> Vec<_> { history.iter().map(|m| (m.epoch, m.step, m.values.clone())).collect() };
    assert_eq!(strip(&resumed.outcome.history), strip(&whole.outcome.history));
}

#[test]
fn a_missing_model_or_config_is_an_error_naming_the_file() {
    let runs = tempfile::tempdir().unwrap();
    let run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let message = eval_run::<Shapes>(run.path(), &DataRoot::at(runs.path()), Reading::of(Split::Test)).unwrap_err().to_string();
    assert!(message.contains(CONFIG_FILE), "{message}");
    std::fs::write(run.path().join(CONFIG_FILE), r#"{"task": "shapes", "config": {}, "inputs": []}"#).unwrap();
    let message = eval_run::<Shapes>(run.path(), &DataRoot::at(runs.path()), Reading::of(Split::Test)).unwrap_err().to_string();
    assert!(message.contains(MODEL_FILE) && message.contains("--resume"), "{message}");
}

/// Every trainable weight of a module below `prefix` (batch norm's running statistics left out), by path.
fn weights(module: &impl burn::module::Module, prefix: &str) -> Vec<(String, Vec<f32>)> {
    struct Collect<'a> {
        path: Vec<String>,
        prefix: &'a str,
        out: Vec<(String, Vec<f32>)>,
    }
    impl burn::module::ModuleVisitor for Collect<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            let path = self.path.join(".");
            if path.starts_with(self.prefix) && !path.contains("running") {
                self.out.push((path, param.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap()));
            }
        }
    }
    let mut collect = Collect { path: Vec::new(), prefix, out: Vec::new() };
    module.visit(&mut collect);
    collect.out
}

#[test]
fn a_sub_module_at_rate_zero_stays_frozen_while_the_rest_learns() {
    let runs = tempfile::tempdir().unwrap();
    let mut config = tiny();
    config.train.module_lr.insert("encoder".into(), 0.0);
    let root = DataRoot::at(runs.path());
    let run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let early = train_task::<Shapes>(&config, &root, &run, Span::first(1)).unwrap().outcome.model;
    let trained = train_task::<Shapes>(&config, &root, &run, Span::REST).unwrap().outcome.model;
    let (before, after) = (weights(&early, "encoder"), weights(&trained, "encoder"));
    assert!(!before.is_empty() && before.len() == after.len());
    assert!(before.iter().any(|(path, _)| path.ends_with("conv.weight")), "{:?}", before.iter().map(|w| &w.0).collect::<Vec<_>>());
    assert_eq!(before, after, "the encoder's weights did not move between epoch 1 and epoch 3");
    assert_ne!(weights(&early, "attributes"), weights(&trained, "attributes"), "the head learnt");

    config.train.module_lr.insert("decoder".into(), 0.5);
    let message =
        train_task::<Shapes>(&config, &DataRoot::at(runs.path()), &RunDir::create(runs.path(), "shapes", 1).unwrap(), Span::WHOLE).unwrap_err().to_string();
    assert!(message.contains("train.module_lr.decoder") && message.contains("encoder"), "{message}");
}

#[test]
fn a_diverged_run_stops_naming_the_step_and_the_last_good_checkpoint() {
    let runs = tempfile::tempdir().unwrap();
    let root = DataRoot::at(runs.path());
    let mut config = tiny();
    config.train.lr = 1e12;
    config.train.optimizer.kind = mm_tasks::runner::OptimizerKind::Sgd;
    let run = RunDir::create(runs.path(), "shapes", 0).unwrap();
    let error = train_task::<Shapes>(&config, &root, &run, Span::WHOLE).unwrap_err().to_string();
    assert!(error.contains("training diverged") && error.contains("at step"), "{error}");
    // Every checkpoint on disk was written while the run was still finite, and the message names the newest.
    let checkpoints = run.path().join("checkpoints");
    if let Some(newest) = std::fs::read_dir(&checkpoints).ok().and_then(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| !p.ends_with("best")).max()) {
        assert!(error.contains(&newest.display().to_string()), "{error} should name {}", newest.display());
    } else {
        assert!(error.contains("no checkpoint"), "{error}");
    }
    assert!(read_metrics(&run.path().join(METRICS_FILE)).is_ok());
}
