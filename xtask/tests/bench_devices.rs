//! `cargo xtask bench devices` prints its table as JSON that a machine can read: one row per family and
//! operation, one value per device column, and names a bad family or device on the command line.

use std::process::Command;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

#[test]
fn the_table_is_json_with_a_row_per_family_and_operation() {
    let output = xtask(&[
        "bench",
        "devices",
        "--families",
        "mnist-cnn,gan",
        "--devices",
        "flex",
        "--batch",
        "2",
        "--repeats",
        "1",
        "--models-only",
        "--no-reference",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(table["columns"], serde_json::json!(["mm flex"]));
    let rows = table["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["workload"].as_str().unwrap()).collect();
    assert_eq!(names, ["mnist-cnn training step", "mnist-cnn inference batch", "gan training step", "gan inference batch"]);
    assert!(rows.iter().all(|r| r["values"][0].as_f64().is_some_and(|ms| ms > 0.0) && r["batch"] == 2));

    let bad = xtask(&["bench", "devices", "--families", "vgg"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("mnist-cnn"));
    let bad = xtask(&["bench", "devices", "--devices", "tpu"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("tpu"));
}
