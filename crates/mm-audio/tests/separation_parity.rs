//! mm's separation metrics against the field's reference tools (PyPI): SI-SDR against fast-bss-eval, BSS-eval SDR
//! against mir_eval's `bss_eval_sources`, STOI against pystoi — on real speech from `shared/data` (an Obama
//! segment at 16 kHz, FSDD digits at 8 kHz, one resampled to STOI's own 10 kHz) mixed with another voice, noise or
//! an echo, at several levels. The references run through a Python with those packages (MM_PYTHON, else
//! ~/.cache/mm/pyref); without one the test says so and passes, except under CI, where .ci/run provides it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use mm_audio::separation::{Stoi, bss_sdr, si_sdr};
use serde_json::{Value, json};

fn python_with_references() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mm/pyref/bin/python"));
    let found = std::env::var_os("MM_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(home)
        .find(|python| Command::new(python).args(["-c", "import fast_bss_eval, mir_eval, pystoi"]).output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must provide a Python with fast-bss-eval, mir_eval and pystoi (MM_PYTHON)");
        let _ = writeln!(
            std::io::stderr(),
            "{}: skipped: no Python with fast-bss-eval, mir_eval and pystoi (set MM_PYTHON)",
            std::thread::current().name().unwrap_or("test")
        );
    }
    found
}

fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", dir.display());
    let _ = writeln!(std::io::stderr(), "{}: skipped: {} not found", std::thread::current().name().unwrap_or("test"), dir.display());
    None
}

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f32 / (1u64 << 53) as f32 - 0.5) * 0.2
        })
        .collect()
}

fn mix(a: &[f32], b: &[f32], gain: f32) -> Vec<f32> {
    a.iter().zip(b.iter().cycle()).map(|(x, y)| x + gain * y).collect()
}

struct Case {
    rate: u32,
    reference: Vec<f32>,
    estimate: Vec<f32>,
    other: Vec<f32>,
}

fn cases(data: &std::path::Path) -> Vec<Case> {
    let read = |path: &str| mm_audio::read_audio(data.join(path)).unwrap_or_else(|e| panic!("{e}"));
    let obama = read("obama/audio/00002-010.wav");
    let other_obama = read("obama/audio/00002-030.wav");
    let digit = read("fsdd/recordings/3_jackson_12.wav");
    let other_digit = read("fsdd/recordings/8_theo_4.wav");
    let n = obama.samples.len().min(other_obama.samples.len());
    let (speech, voice) = (&obama.samples[..n], &other_obama.samples[..n]);
    let echo: Vec<f32> = (0..n).map(|t| speech[t] + if t >= 40 { 0.6 * speech[t - 40] } else { 0.0 }).collect();
    let m = digit.samples.len();
    let voice8: Vec<f32> = other_digit.samples.iter().cycle().take(m).copied().collect();
    let digit10 = digit.resample(10_000).unwrap().samples;
    let noise10 = noise(digit10.len(), 9);
    vec![
        Case { rate: 16_000, reference: speech.to_vec(), estimate: mix(speech, voice, 1.0), other: voice.to_vec() },
        Case { rate: 16_000, reference: speech.to_vec(), estimate: mix(speech, voice, 0.1), other: voice.to_vec() },
        Case { rate: 16_000, reference: speech.to_vec(), estimate: mix(&echo, &noise(n, 3), 0.5), other: voice.to_vec() },
        Case { rate: 16_000, reference: speech.to_vec(), estimate: mix(speech, &noise(n, 4), 3.0), other: noise(n, 5) },
        Case { rate: 8_000, reference: digit.samples.clone(), estimate: mix(&digit.samples, &voice8, 0.7), other: voice8.clone() },
        Case { rate: 8_000, reference: digit.samples.clone(), estimate: mix(&digit.samples, &noise(m, 6), 0.3), other: noise(m, 7) },
        Case { rate: 10_000, reference: digit10.clone(), estimate: mix(&digit10, &noise10, 1.0), other: noise(digit10.len(), 8) },
    ]
}

#[test]
fn si_sdr_sdr_and_stoi_equal_the_python_references() {
    let (Some(python), Some(data)) = (python_with_references(), shared_data()) else { return };
    let cases = cases(&data);
    let input = tempfile::NamedTempFile::new().unwrap();
    let json_cases: Vec<Value> = cases.iter().map(|c| json!({"rate": c.rate, "reference": c.reference, "estimate": c.estimate, "other": c.other})).collect();
    std::fs::write(input.path(), serde_json::to_string(&json_cases).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/separation_metrics.py");
    let output = Command::new(&python).arg(&script).arg(input.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let mut stoi = Stoi::new();
    for (i, (case, want)) in cases.iter().zip(&expected).enumerate() {
        let si = si_sdr(&case.reference, &case.estimate).unwrap();
        let sdr = bss_sdr(&case.reference, &case.estimate).unwrap();
        let intelligibility = stoi.score(&case.reference, &case.estimate, case.rate).unwrap();
        let (want_si, want_sdr, want_stoi) = (want["si_sdr"].as_f64().unwrap(), want["sdr"].as_f64().unwrap(), want["stoi"].as_f64().unwrap());
        eprintln!("case {i} ({} Hz): SI-SDR {si:.6} / {want_si:.6}, SDR {sdr:.6} / {want_sdr:.6}, STOI {intelligibility:.8} / {want_stoi:.8}", case.rate);
        assert!((si - want_si).abs() < 1e-5, "case {i}: SI-SDR {si} vs fast-bss-eval {want_si}");
        assert!((sdr - want_sdr).abs() < 1e-4, "case {i}: SDR {sdr} vs mir_eval {want_sdr}");
        assert!((intelligibility - want_stoi).abs() < 1e-6, "case {i}: STOI {intelligibility} vs pystoi {want_stoi}");
    }
}
