//! mm's Fréchet distance against pytorch-fid's `calculate_frechet_distance` (PyPI), on seeded feature sets: equal
//! and shifted sets, correlated features, a rank-deficient covariance (fewer rows than dimensions, as a small
//! sample gives), and widths of 2 to 64. The reference runs through a Python with pytorch-fid (MM_PYTHON, else
//! ~/.cache/mm/pyref); without one the test says so and passes, except under CI, where .ci/run provides it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use mm_generate::frechet::FeatureStatistics;
use serde_json::{Value, json};

fn python_with_pytorch_fid() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mm/pyref/bin/python"));
    let found = std::env::var_os("MM_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(home)
        .find(|python| Command::new(python).args(["-c", "import pytorch_fid.fid_score"]).output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must provide a Python with pytorch-fid (MM_PYTHON)");
        let _ = writeln!(std::io::stderr(), "{}: skipped: no Python with pytorch-fid (set MM_PYTHON)", std::thread::current().name().unwrap_or("test"));
    }
    found
}

/// `rows` × `width` features: seeded uniform noise mixed across dimensions (so features correlate), scaled and
/// shifted.
fn features(rows: usize, width: usize, seed: u64, scale: f32, shift: f32) -> Vec<Vec<f32>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    (0..rows)
        .map(|_| {
            let raw: Vec<f32> = (0..width).map(|_| next()).collect();
            (0..width).map(|j| (raw[j] + 0.5 * raw[(j + 1) % width]) * scale + shift * (j % 3) as f32).collect()
        })
        .collect()
}

#[test]
fn frechet_distance_equals_pytorch_fid() {
    let Some(python) = python_with_pytorch_fid() else { return };
    type Rows = Vec<Vec<f32>>;
    let cases: Vec<(Rows, Rows)> = vec![
        (features(50, 2, 1, 1.0, 0.0), features(50, 2, 1, 1.0, 0.0)),
        (features(200, 8, 2, 1.0, 0.0), features(300, 8, 3, 1.0, 0.5)),
        (features(400, 16, 4, 1.0, 0.0), features(400, 16, 5, 3.0, -1.0)),
        (features(40, 64, 6, 1.0, 0.0), features(1000, 64, 7, 0.5, 0.2)),
        (features(1000, 64, 8, 2.0, 1.0), features(1000, 64, 9, 2.0, 1.0)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pairs.json");
    let pairs: Vec<Value> = cases.iter().map(|(a, b)| json!({ "a": a, "b": b })).collect();
    std::fs::write(&input, serde_json::to_vec(&pairs).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/frechet_distance.py");
    let output = Command::new(&python).arg(script).arg(&input).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<f64> = serde_json::from_slice(&output.stdout).unwrap();
    for (i, ((a, b), reference)) in cases.iter().zip(&expected).enumerate() {
        let stats = |rows: &Vec<Vec<f32>>| FeatureStatistics::of(&rows.concat(), rows[0].len()).unwrap();
        let mine = stats(a).frechet_distance(&stats(b));
        assert!((mine - reference).abs() <= 1e-6 * reference.abs().max(1.0), "case {i}: mm {mine} vs pytorch-fid {reference}");
    }
    assert!(expected[0].abs() < 1e-6 && expected[2] > 1.0, "{expected:?}");
}
