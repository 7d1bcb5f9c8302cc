//! Bad inputs to the real commands, each a case a user met: every one ends in a typed error that names the file
//! or the flag (exit status 1, never a panic's 101 or an abort's signal), or in the right result.

use std::io::Write as _;
mod support;

use std::path::Path;
use std::process::{Command, Output};

use hound::{SampleFormat, WavSpec, WavWriter};
use support::{text, xtask};

/// The command failed with a message (exit status 1) that contains every one of `words`.
#[track_caller]
fn refused(output: &Output, words: &[&str]) {
    let said = text(output);
    assert_eq!(output.status.code(), Some(1), "an error, not a panic or an abort: {said}");
    for word in words {
        assert!(said.contains(word), "{word:?} is not named: {said}");
    }
}

fn float_wav(path: &Path, rate: u32, samples: impl IntoIterator<Item = f32>) {
    let spec = WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 32, sample_format: SampleFormat::Float };
    let mut writer = WavWriter::create(path, spec).unwrap();
    samples.into_iter().for_each(|s| writer.write_sample(s).unwrap());
    writer.finalize().unwrap();
}

#[test]
fn spectrogram_refuses_samples_and_rates_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();

    for (name, bad) in [("nan.wav", f32::NAN), ("infinite.wav", f32::INFINITY)] {
        let path = dir.path().join(name);
        float_wav(&path, 16000, (0..4000).map(|i| if i == 100 { bad } else { 0.1 }));
        refused(&xtask(&["spectrogram", path.to_str().unwrap(), "-o", out]), &[name, "sample 100", "finite"]);
    }
    // Samples whose power overflows f32.
    let loud = dir.path().join("loud.wav");
    float_wav(&loud, 16000, (0..4000).map(|i| if i % 2 == 0 { 1e30 } else { -1e30 }));
    refused(&xtask(&["spectrogram", loud.to_str().unwrap(), "-o", out]), &["loud.wav", "scaled to [-1, 1]"]);
    // A header declaring 1 Hz: resampling it would ask for 13 GB.
    let slow = dir.path().join("one-hertz.wav");
    float_wav(&slow, 1, (0..200_000).map(|i| (i as f32 * 0.01).sin() * 0.5));
    refused(&xtask(&["spectrogram", slow.to_str().unwrap(), "-o", out, "--sample-rate", "16000"]), &["--sample-rate", "1 Hz", "sample rate right"]);
    // A clip of exactly 1.024 s at 16 kHz (whole resampler chunks) resamples.
    let whole = dir.path().join("whole-chunks.wav");
    float_wav(&whole, 16000, (0..16_384).map(|i| (i as f32 * 0.05).sin() * 0.5));
    let output = xtask(&["spectrogram", whole.to_str().unwrap(), "-o", out, "--sample-rate", "8000"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(dir.path().join("out.png").is_file() && dir.path().join("out.npy").is_file());
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.contains("partial")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn shapes_refuses_an_index_past_the_end_of_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask(&["shapes", "--start", "18446744073709551615", "-n", "2", "-o", dir.path().to_str().unwrap()]);
    refused(&output, &["--start", "overflows"]);
    let output = xtask(&["shapes", "--start", "18446744073709551614", "-n", "1", "-o", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "the last index is a scene like any other: {}", text(&output));
    assert!(dir.path().join("scenes.json").is_file());
}

#[test]
fn configs_that_cannot_be_allocated_or_belong_to_another_task_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let runs = runs.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let huge_picture = write("huge.toml", "image_size = 100000\n");
    refused(&xtask(&["train", "shapes", "--config", &huge_picture, "--runs", runs]), &["image_size = 100000", "cannot be drawn"]);
    let huge_prefetch = write("prefetch.toml", "[train]\nprefetch = 1000000000000\n");
    refused(&xtask(&["train", "shapes", "--config", &huge_prefetch, "--runs", runs]), &["train.prefetch", "more than"]);
    assert!(!Path::new(runs).join("shapes/latest").exists(), "no failed start became the latest run");

    // Another task's config, and another task's run.
    let shapes_config = write("shapes.toml", "train_scenes = 64\nvalid_scenes = 16\ntest_scenes = 16\nimage_size = 16\n[train]\nepochs = 1\nbatch_size = 16\n");
    refused(&xtask(&["train", "mnist", "--config", &shapes_config, "--runs", runs]), &["shapes.toml", "a shapes config, not a mnist config"]);
    let output = xtask(&["train", "shapes", "--config", &shapes_config, "--runs", runs]);
    assert!(output.status.success(), "{}", text(&output));
    let run = std::fs::canonicalize(Path::new(runs).join("shapes/latest")).unwrap();
    let run_config = run.join("config.json");
    refused(&xtask(&["train", "mnist", "--config", run_config.to_str().unwrap(), "--runs", runs]), &["a shapes run, not a mnist run"]);
    refused(&xtask(&["eval", "mnist", "--run", run.to_str().unwrap()]), &["config.json", "a shapes run, not a mnist run"]);
}

/// A state dict whose classifier weight is a 0-d tensor, made by torch itself (MM_PYTHON, else
/// ~/.cache/mm/pyref); without such a Python the test says so and passes, except under CI.
#[test]
fn import_torchvision_refuses_a_classifier_that_is_not_a_matrix() {
    let python = std::env::var("MM_PYTHON").unwrap_or_else(|_| format!("{}/.cache/mm/pyref/bin/python", std::env::var("HOME").unwrap_or_default()));
    let dir = tempfile::tempdir().unwrap();
    let pth = dir.path().join("scalar.pth");
    let made =
        Command::new(&python).args(["-c", "import sys, torch; torch.save({'fc.weight': torch.tensor(1.0)}, sys.argv[1])", pth.to_str().unwrap()]).output();
    match made {
        Ok(made) if made.status.success() => {}
        other => {
            assert!(std::env::var_os("CI").is_none(), "CI has torch in MM_PYTHON ({python}): {other:?}");
            let _ = writeln!(std::io::stderr(), "{}: skipping: {python} has no torch", std::thread::current().name().unwrap_or("test"));
            return;
        }
    }
    refused(&xtask(&["import-torchvision", pth.to_str().unwrap()]), &["scalar.pth", "fc.weight", "[classes, features]"]);
    assert!(!dir.path().join("scalar.safetensors").exists());
}

/// Every command that reads a trained run names the run when it is not there, whatever else it is given.
#[test]
fn commands_name_a_run_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("picture.png");
    image::RgbImage::from_pixel(32, 32, image::Rgb([200, 30, 30])).save(&picture).unwrap();
    let sound = dir.path().join("sound.wav");
    float_wav(&sound, 16000, (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.5));
    let mouth = dir.path().join("mouth.npy");
    ndarray_npy::write_npy(&mouth, &ndarray::Array2::<f32>::zeros((30, 8))).unwrap();
    let run = dir.path().join("no-such-run");
    let (picture, sound, mouth, run) = (picture.to_str().unwrap(), sound.to_str().unwrap(), mouth.to_str().unwrap(), run.to_str().unwrap());
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let commands: [&[&str]; 8] = [
        &["tag", picture, "--run", run],
        &["search-images", "loop", "-o", out, "--run", run],
        &["caption", picture, "--run", run],
        &["ask", picture, "what colour is the circle?", "--run", run],
        &["localise", picture, sound, "-o", out, "--run", run],
        &["separate", sound, "--visual", mouth, "-o", out, "--run", run],
        &["generate", "the digit seven", "-o", out, "--run", run],
        &["eval", "vqa", "--run", run],
    ];
    for command in commands {
        refused(&xtask(command), &["no-such-run"]);
    }
    // The count is checked before anything is loaded.
    refused(&xtask(&["generate", "the digit seven", "-n", "200000", "-o", out, "--run", run]), &["--count = 200000", "pictures at a time"]);
}
