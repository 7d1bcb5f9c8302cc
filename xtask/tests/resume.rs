//! Crash-safe runs from the outside: `cargo xtask train` killed with SIGKILL in the middle of an epoch resumes
//! with `--resume` (no value, as the README writes it) and ends with exactly the metrics and test scores of a
//! run never interrupted, retraining nothing before its newest checkpoint; flags that cannot change on resume
//! are refused; and TensorBoard's own event reader reads the run's event file (its scalars and pictures).

use std::io::Write as _;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{text, xtask};

const CONFIG: &str = r#"
train_scenes = 4096
valid_scenes = 64
test_scenes = 64
image_size = 24

[encoder]
kind = "Vgg"
channels_in = 3
stages = [8, 16]
blocks_per_stage = 1

[train]
epochs = 2
batch_size = 8
checkpoint_every = 16
keep_checkpoints = 2
"#;

/// The run folder `runs/shapes/latest` points at.
fn latest(runs: &Path) -> PathBuf {
    std::fs::canonicalize(runs.join("shapes/latest")).unwrap()
}

/// metrics.jsonl without the wall times, and evaluation.json's scores.
fn results(run: &Path) -> (Vec<serde_json::Value>, serde_json::Value) {
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines = metrics
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("seconds");
            value
        })
        .collect();
    let evaluation: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("evaluation.json")).unwrap()).unwrap();
    (lines, evaluation["scores"].clone())
}

/// The newest complete step checkpoint of a run.
fn newest_checkpoint(run: &Path) -> Option<usize> {
    std::fs::read_dir(run.join("checkpoints"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.ends_with(".partial"))
        .filter_map(|n| n.strip_prefix("step-")?.parse().ok())
        .max()
}

#[test]
fn a_run_killed_mid_epoch_resumes_to_exactly_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (whole_runs, killed_runs) = (dir.path().join("whole"), dir.path().join("killed"));
    let config_arg = config.to_str().unwrap();

    let whole = xtask(&["train", "shapes", "--config", config_arg, "--runs", whole_runs.to_str().unwrap()]);
    assert!(whole.status.success(), "{}", text(&whole));
    let steps = 2 * 4096 / 8;
    assert!(text(&whole).contains(&format!("trained steps 0..{steps} in this process")), "{}", text(&whole));

    // The same run, killed once a checkpoint inside the second epoch exists.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["train", "shapes", "--config", config_arg, "--runs", killed_runs.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let run = loop {
        if let Ok(run) = std::fs::canonicalize(killed_runs.join("shapes/latest"))
            && newest_checkpoint(&run).is_some_and(|s| s > steps / 2 + 20)
        {
            break run;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(300), "no checkpoint in the second epoch after 5 minutes");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!run.join("model.safetensors").exists(), "the killed run did not finish");
    let checkpoint = newest_checkpoint(&run).unwrap();
    assert!(checkpoint < steps, "killed before the end: newest checkpoint at step {checkpoint}");

    // Flags that cannot change on resume are refused, naming them.
    let refused = xtask(&["train", "shapes", "--resume", "--runs", killed_runs.to_str().unwrap(), "--epochs", "5", "--lr", "0.1"]);
    assert!(!refused.status.success() && text(&refused).contains("--epochs, --lr cannot change on resume"), "{}", text(&refused));

    let resumed = xtask(&["train", "shapes", "--resume", "--runs", killed_runs.to_str().unwrap()]);
    let said = text(&resumed);
    assert!(resumed.status.success(), "{said}");
    assert!(
        said.contains(&format!("trained steps {checkpoint}..{steps} in this process")),
        "the resumed process trains from its newest checkpoint (step {checkpoint}) on, nothing before: {said}"
    );
    assert_eq!(latest(&killed_runs), run);
    assert_eq!(results(&run), results(&latest(&whole_runs)), "the resumed run ends exactly where the uninterrupted one does");
    // The killed process's lock died with it (the resume above was not refused); the resumed one released its own.
    assert_eq!(std::fs::read_to_string(run.join("run.lock")).unwrap(), "", "the lock is released and names no holder");

    tensorboard_reads(&latest(&whole_runs));
}

/// TensorBoard's event reader finds every epoch's values and the curves picture.
fn tensorboard_reads(run: &Path) {
    let python = std::env::var("MM_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
acc.Reload()
tags = acc.Tags()
print(json.dumps({
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
    "images": {t: [[e.step, e.width, e.height] for e in acc.Images(t)] for t in tags["images"]},
}))
"#;
    let output = match Command::new(&python).args(["-c", script, run.to_str().unwrap()]).output() {
        Ok(output) if output.status.success() => output,
        other => {
            assert!(std::env::var_os("CI").is_none(), "CI has tensorboard in MM_PYTHON ({python}): {other:?}");
            let _ = writeln!(
                std::io::stderr(),
                "{}: skipping the TensorBoard read-back: {python} has no tensorboard",
                std::thread::current().name().unwrap_or("test")
            );
            return;
        }
    };
    let events: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let (metrics, _) = results(run);
    for (epoch, line) in metrics.iter().enumerate() {
        let step = line["step"].as_f64().unwrap();
        for tag in ["train_loss", "valid_loss", "valid_accuracy", "lr"] {
            let (logged, read) = (line[tag].as_f64().unwrap(), &events["scalars"][tag][epoch]);
            assert_eq!(read[0].as_f64().unwrap(), step, "{tag} at epoch {}", epoch + 1);
            assert!((read[1].as_f64().unwrap() - logged).abs() <= 1e-6 * logged.abs().max(1.0), "{tag}: {read} against {logged}");
        }
    }
    let curves = events["images"]["curves"].as_array().unwrap().last().unwrap();
    assert!(curves[1].as_u64().unwrap() > 100 && curves[2].as_u64().unwrap() > 100, "{curves}");
}
