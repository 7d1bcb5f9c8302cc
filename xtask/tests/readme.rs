//! The README's commands run as written. Each line of the block after `<!-- readme:commands -->` is run in
//! order in one fresh folder (so `--resume` and `eval` find the run the line before made), with `MM_DATA_DIR`
//! at the project's data, except the lines that train for long or need a long run first, listed in [`LONG`].
//! A line that is neither run nor listed fails the test, so a new command cannot slip past it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands (as the README writes them, up to their comment) that take minutes or more, or start from a run
/// that does: measured by the commands in docs/RESULTS.md instead.
const LONG: &[&str] = &[
    "cargo xtask train",
    "cargo xtask train mnist",
    "cargo xtask train encoders",
    "cargo xtask train fsdd --config configs/fsdd-waveform.toml",
    "cargo xtask train esc10 --resume",
    "cargo xtask train word2vec --out runs/word2vec/vectors.bin",
    "cargo xtask eval word2vec --vectors runs/word2vec/vectors.bin",
    "cargo xtask train tagging",
    "cargo xtask train tagging --zero-shot",
    "cargo xtask tag PICTURE.png -k 5",
    "cargo xtask search-images loop -o grid.png",
    "cargo xtask train recipe",
    "cargo xtask train soundnet",
    "cargo xtask eval recipe --run runs/recipe/latest",
    "cargo xtask train show-and-tell",
    "cargo xtask train show-attend-tell",
    "cargo xtask caption PICTURE.png --beam 3 --attention words.png",
    "cargo xtask train vqa",
    "cargo xtask train vqa --config configs/vqa-attention.toml",
    "cargo xtask eval vqa --compare runs/vqa-baselines/vqa/*/",
    "cargo xtask eval vqa --test-seed N --compare runs/vqa-baselines/vqa/*/",
    "cargo xtask ask PICTURE.png \"what colour is the circle?\" --attention hops.png",
    "cargo xtask train text-embedding",
    "cargo xtask train mnist --seed 1 --runs runs/judge",
    "cargo xtask train text-to-image",
    "cargo xtask eval text-to-image --compare runs/text-to-image-ablations/text-to-image/*/",
    "cargo xtask generate \"the digit seven\" -n 16 -o grid.png",
    "cargo xtask train localisation",
    "cargo xtask train localisation --config configs/localisation-supervised.toml",
    "cargo xtask eval localisation --compare runs/localisation-modes/*/localisation/latest",
    "cargo xtask localise PICTURE.png SOUND.wav -o heat.png",
    "cargo xtask train separation",
    "cargo xtask train separation --config configs/separation-audio-only.toml",
    "cargo xtask eval separation --compare runs/separation-ao/separation/latest",
    "cargo xtask separate MIX.wav --visual MOUTH.npy -o out/",
    "cargo xtask separate --scene 3 -o out/ --run runs/separation-shapes/separation/latest",
    "cargo xtask import-torchvision resnet50.pth",
    "cargo xtask bench signal",
    "cargo xtask bench word2vec",
    "cargo xtask bench train-step",
    "cargo xtask bench devices",
    "cargo xtask train mnist --devices wgpu:0,wgpu:1",
];

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", dir.display());
    None
}

/// The README's command lines, comments removed.
fn commands() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let block = readme.split("<!-- readme:commands -->").nth(1).expect("README.md marks its commands");
    let body = block.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    body.lines().map(|line| line.split(" # ").next().unwrap().trim().to_string()).filter(|line| !line.is_empty()).collect()
}

#[test]
fn every_readme_command_runs_as_written_or_is_listed_as_long() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = data.join("fsdd/recordings/7_jackson_32.wav");
    let ogg = std::fs::read_dir(data.join("esc10")).unwrap().filter_map(|e| e.ok()).find(|e| e.path().is_dir()).unwrap().path();
    let ogg = std::fs::read_dir(ogg).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).find(|p| p.extension().is_some_and(|e| e == "ogg")).unwrap();
    let mut ran = 0;
    for line in commands() {
        if LONG.contains(&line.as_str()) {
            continue;
        }
        let words: Vec<String> = line
            .split_whitespace()
            .map(|w| match w {
                "IN.wav" => wav.display().to_string(),
                "IN.ogg" => ogg.display().to_string(),
                other => other.to_string(),
            })
            .collect();
        assert_eq!(words[..2], ["cargo", "xtask"], "{line}: a README command is a cargo xtask command");
        if words[2] == "device" && !Path::new("/usr/share/vulkan/icd.d").is_dir() {
            assert!(std::env::var_os("CI").is_none(), "CI installs a Vulkan device");
            let _ = writeln!(std::io::stderr(), "{}: skipping without a Vulkan device: {line}", std::thread::current().name().unwrap_or("test"));
            continue;
        }
        let output = Command::new(env!("CARGO_BIN_EXE_xtask")).args(&words[2..]).current_dir(dir.path()).env("MM_DATA_DIR", &data).output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "`{line}` failed as the README writes it:\n{said}");
        ran += 1;
    }
    assert!(ran >= 9, "ran {ran} commands");
    assert!(dir.path().join("runs/mnist/latest/evaluation.json").exists());
}
