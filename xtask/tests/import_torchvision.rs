//! `cargo xtask import-torchvision`: a torchvision state dict (made by torchvision itself, through a Python with
//! torch and torchvision: MM_PYTHON, else ~/.cache/mm/pyref) is checked and written as safetensors, the last
//! line JSON; a file that is not one is refused with its name and status 1. Without such a Python the first
//! test says so and passes, except under CI, where .ci/run provides it.

use std::path::Path;
use std::process::Command;

include!("../../crates/mm-vision/tests/support/python.rs");

fn xtask(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_torchvision_state_dict_is_imported() {
    let Some(python) = python_with_torchvision() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/mm-vision/tests/reference/torchvision_reference.py");
    let made = Command::new(&python).arg(&script).arg(dir.path()).arg("resnet18:32").output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let pth = dir.path().join("resnet18.pth");
    let (ok, stdout, stderr) = xtask(&["import-torchvision", pth.to_str().unwrap()]);
    assert!(ok, "{stdout}{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["architecture"], "resnet18");
    assert_eq!(summary["map"], serde_json::json!([512, 7, 7]));
    assert!(dir.path().join("resnet18.safetensors").is_file());
}

#[test]
fn what_is_not_a_state_dict_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"\x00\x01 not a checkpoint").unwrap();
    for path in [junk, dir.path().join("absent.pth")] {
        let (ok, _, stderr) = xtask(&["import-torchvision", path.to_str().unwrap()]);
        assert!(!ok && stderr.contains(path.file_name().unwrap().to_str().unwrap()), "{stderr}");
    }
    let (ok, _, stderr) = xtask(&["import-torchvision", "a.pth", "--out", "a.pth"]);
    assert!(!ok && stderr.contains("--out"), "{stderr}");
    assert!(!dir.path().join("junk.safetensors").exists(), "nothing is written for a refused file");
}
