//! Log-mel precision over the whole dynamic range: on signals whose levels span more than 100 dB (in time, in
//! frequency, or both), at several rates, odd and even FFT lengths that are not all powers of two, and several mel
//! settings, mm must be at least as close to librosa's float64 result as librosa's own float32 path is, at every
//! level. Expected values and the cases come from `reference/make_dynamic_range_reference.py`.

use std::path::{Path, PathBuf};

use mm_audio::signal::{LogMel, LogMelConfig, MelNorm, MelScale};
use ndarray::{Array1, Array2};
use ndarray_npy::read_npy;
use serde::Deserialize;

/// One case of `dynamic_range/cases.json`, with librosa's parameter names.
#[derive(Deserialize)]
struct Case {
    sr: u32,
    n_fft: usize,
    hop: usize,
    n_mels: usize,
    fmin: f32,
    fmax: Option<f32>,
    htk: bool,
    norm: Option<String>,
    power: f32,
}

impl Case {
    fn config(&self) -> LogMelConfig {
        let mut config = LogMelConfig::new(self.sr, self.n_fft, self.hop, self.n_mels);
        config.mel = config.mel.with_fmin(self.fmin).with_scale(if self.htk { MelScale::Htk } else { MelScale::Slaney });
        config.mel.fmax = self.fmax;
        config.mel.norm = match self.norm.as_deref() {
            Some("slaney") => MelNorm::Slaney,
            None => MelNorm::None,
            Some(other) => panic!("cases.json: norm {other:?} is not one mm has"),
        };
        config.power = self.power;
        config
    }
}

fn directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/dynamic_range")
}

fn array<T: ndarray_npy::ReadableElement, D: ndarray::Dimension>(path: &Path) -> ndarray::Array<T, D> {
    read_npy(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The largest |error| in each 10 dB band of the true level, from -100 dB up: `(band floor, worst error)`.
fn worst_error_by_level(got: &Array2<f64>, truth: &Array2<f64>) -> Vec<(f64, f64)> {
    assert_eq!(got.dim(), truth.dim(), "shapes differ");
    let mut worst = std::collections::BTreeMap::<i64, f64>::new();
    for (g, t) in got.iter().zip(truth) {
        let band = (t / 10.0).floor() as i64;
        let entry = worst.entry(band).or_insert(0.0);
        *entry = entry.max((g - t).abs());
    }
    worst.into_iter().map(|(band, error)| (band as f64 * 10.0, error)).collect()
}

#[test]
fn log_mel_is_as_precise_as_librosa_float32_at_every_level() {
    let cases: std::collections::BTreeMap<String, Case> = serde_json::from_str(&std::fs::read_to_string(directory().join("cases.json")).unwrap()).unwrap();
    assert_eq!(cases.len(), 5, "the script writes five cases");
    for (name, case) in &cases {
        let signal: Array1<f32> = array(&directory().join(format!("{name}_signal.npy")));
        let truth: Array2<f64> = array(&directory().join(format!("{name}_float64.npy")));
        let librosa_single: Array2<f32> = array(&directory().join(format!("{name}_float32.npy")));
        let mm = LogMel::new(case.config()).unwrap().process(signal.as_slice().unwrap()).unwrap();
        let span = truth.iter().copied().fold(f64::NEG_INFINITY, f64::max) - truth.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(span > 85.0, "{name}: the levels span only {span:.0} dB");
        let ours = worst_error_by_level(&mm.mapv(f64::from), &truth);
        let theirs = worst_error_by_level(&librosa_single.mapv(f64::from), &truth);
        for ((level, mm_error), (_, librosa_error)) in ours.iter().zip(&theirs) {
            println!("{name}: [{level:>5} dB, +10): mm {mm_error:.2e}, librosa float32 {librosa_error:.2e}");
            // 2e-6 dB: the spacing of float32 numbers near -100, the rounding of either result.
            assert!(
                *mm_error <= librosa_error + 2e-6,
                "{name}, levels [{level}, {}) dB: mm is off by {mm_error:.2e} dB, librosa float32 by {librosa_error:.2e}",
                level + 10.0
            );
        }
    }
}
