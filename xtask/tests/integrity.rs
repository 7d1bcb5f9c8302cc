//! Nothing a user keeps is lost, tried on the real command: `import-torchvision` never writes over its input or
//! an existing file unasked; processes racing for one run are refused but one; `--resume` on a run whose
//! checkpoints are gone re-tests the finished run instead of retraining it, and refuses an unfinished one.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{text, xtask, xtask_in};

/// Long enough that the two epochs left after the first outlast the start of every racing process (seconds).
const CONFIG: &str = r#"
train_scenes = 2048
valid_scenes = 32
test_scenes = 32
image_size = 24

[encoder]
kind = "Vgg"
channels_in = 3
stages = [8, 16]
blocks_per_stage = 1

[train]
epochs = 3
batch_size = 8
"#;

/// A shapes run of [`CONFIG`] under `runs`, stopped after `stop_after` epochs (or finished).
fn shapes_run(dir: &Path, runs: &Path, stop_after: Option<usize>) -> PathBuf {
    let config = dir.join("tiny.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut args = vec!["train", "shapes", "--config", config.to_str().unwrap(), "--runs", runs.to_str().unwrap()];
    let stop = stop_after.map(|n| n.to_string());
    if let Some(stop) = &stop {
        args.extend(["--stop-after", stop]);
    }
    let output = xtask(&args);
    assert!(output.status.success(), "{}", text(&output));
    std::fs::canonicalize(runs.join("shapes/latest")).unwrap()
}

#[test]
fn import_torchvision_never_writes_over_its_input_or_an_existing_file_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.pth");
    std::fs::write(&keep, b"the user's only copy").unwrap();
    std::os::unix::fs::symlink(&keep, dir.path().join("link.pth")).unwrap();
    for out in ["./keep.pth", "link.pth", "sub/../keep.pth"] {
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        let output = xtask_in(dir.path(), &["import-torchvision", "keep.pth", "--out", out, "--force"]);
        assert!(!output.status.success() && text(&output).contains("--out") && text(&output).contains("input file itself"), "{out}: {}", text(&output));
        assert_eq!(std::fs::read(&keep).unwrap(), b"the user's only copy", "{out}");
    }
    let existing = dir.path().join("existing.safetensors");
    std::fs::write(&existing, b"kept").unwrap();
    let output = xtask(&["import-torchvision", keep.to_str().unwrap(), "--out", existing.to_str().unwrap()]);
    assert!(!output.status.success() && text(&output).contains("exists; give --force"), "{}", text(&output));
    assert_eq!(std::fs::read(&existing).unwrap(), b"kept");
}

#[test]
fn processes_racing_for_one_run_are_refused_but_one() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let run = shapes_run(dir.path(), &runs, Some(1));
    // A lock file left by a process that died names it but holds nothing.
    std::fs::write(run.join("run.lock"), "pid 4000000000 on nowhere").unwrap();
    let racers: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(["train", "shapes", "--resume", run.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = racers.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let finished = outputs.iter().filter(|o| o.status.success()).count();
    let refused: Vec<String> = outputs.iter().filter(|o| !o.status.success()).map(text).collect();
    assert_eq!(finished, 1, "one process trains the run: {refused:?}");
    for message in &refused {
        assert!(message.contains("run.lock") && message.contains("the run is in use by"), "{message}");
    }
    assert!(run.join("model.safetensors").is_file());
    assert_eq!(std::fs::read_to_string(run.join("run.lock")).unwrap(), "", "released: the file names no holder");
}

#[test]
fn resume_without_checkpoints_retests_a_finished_run_and_refuses_an_unfinished_one() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let run = shapes_run(dir.path(), &runs, None);
    let (metrics, model, evaluation) = (
        std::fs::read(run.join("metrics.jsonl")).unwrap(),
        std::fs::read(run.join("model.safetensors")).unwrap(),
        std::fs::read(run.join("evaluation.json")).unwrap(),
    );
    std::fs::remove_dir_all(run.join("checkpoints")).unwrap();
    let output = xtask(&["train", "shapes", "--resume", "--runs", runs.to_str().unwrap()]);
    assert!(output.status.success() && text(&output).contains("re-testing its model.safetensors"), "{}", text(&output));
    assert!(text(&output).contains("trained steps 0..0"), "{}", text(&output));
    assert_eq!(std::fs::read(run.join("metrics.jsonl")).unwrap(), metrics);
    assert_eq!(std::fs::read(run.join("model.safetensors")).unwrap(), model);
    assert_eq!(std::fs::read(run.join("evaluation.json")).unwrap(), evaluation);

    let unfinished = shapes_run(dir.path(), &dir.path().join("other"), Some(1));
    std::fs::remove_dir_all(unfinished.join("checkpoints")).unwrap();
    let metrics = std::fs::read(unfinished.join("metrics.jsonl")).unwrap();
    let output = xtask(&["train", "shapes", "--resume", unfinished.to_str().unwrap()]);
    assert!(!output.status.success() && text(&output).contains("no checkpoint is left"), "{}", text(&output));
    assert_eq!(std::fs::read(unfinished.join("metrics.jsonl")).unwrap(), metrics, "metrics.jsonl is kept");
    assert!(!unfinished.join("model.safetensors").exists());
}

/// A captioner trained from `runs/shapes/latest` (relative, as the default config says) keeps captioning and
/// evaluating with that shapes run after another shapes run moves `latest`, and from any folder.
#[test]
fn a_run_reads_the_pretrained_run_it_was_trained_from_wherever_it_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let here = |args: &[&str]| {
        let output = xtask_in(dir.path(), args);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        output
    };
    std::fs::write(dir.path().join("shapes.toml"), "train_scenes = 256\nvalid_scenes = 32\ntest_scenes = 32\nimage_size = 24\n[encoder]\nkind = \"Vgg\"\nchannels_in = 3\nstages = [8, 16]\nblocks_per_stage = 1\n[train]\nepochs = 1\nbatch_size = 16\n").unwrap();
    std::fs::write(
        dir.path().join("captions.toml"),
        "d_embed = 16\nd_hidden = 32\n[captions.source]\nkind = \"shapes\"\ntrain_scenes = 256\nvalid_scenes = 32\ntest_scenes = 32\ntrain_seed = 30\nvalid_seed = 32\ntest_seed = 31\n[captions.beam]\nwidth = 2\nmax_len = 16\nlength_normalisation = 0.0\n[train]\nepochs = 1\nbatch_size = 32\n",
    )
    .unwrap();
    here(&["train", "shapes", "--config", "shapes.toml"]);
    let first = std::fs::canonicalize(dir.path().join("runs/shapes/latest")).unwrap();
    here(&["train", "show-and-tell", "--config", "captions.toml"]);
    let captioner = std::fs::canonicalize(dir.path().join("runs/show-and-tell/latest")).unwrap();
    let picture = dir.path().join("picture.png");
    image::RgbImage::from_fn(
        24,
        24,
        |x, y| if (x as i32 - 12).pow(2) + (y as i32 - 12).pow(2) < 40 { image::Rgb([220, 40, 40]) } else { image::Rgb([0, 0, 0]) },
    )
    .save(&picture)
    .unwrap();
    let caption = |cwd: &Path| {
        let output = xtask_in(cwd, &["caption", picture.to_str().unwrap(), "--run", captioner.to_str().unwrap()]);
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap().to_string()
    };
    let before = caption(dir.path());
    here(&["train", "shapes", "--config", "shapes.toml", "--seed", "7"]);
    assert_ne!(std::fs::canonicalize(dir.path().join("runs/shapes/latest")).unwrap(), first, "latest moved");
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(caption(elsewhere.path()), before, "the same caption from another folder, after latest moved");
    let evaluation: serde_json::Value = serde_json::from_slice(&std::fs::read(captioner.join("evaluation.json")).unwrap()).unwrap();
    let output = xtask_in(elsewhere.path(), &["eval", "show-and-tell", "--run", captioner.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    let scores: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&output.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(scores, evaluation["scores"], "eval reads the same encoder and gives the same numbers");
}
