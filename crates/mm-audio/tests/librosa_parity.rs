//! Parity with librosa 0.11 on `shared/bench/stft_signal.wav` (60 s, 16 kHz): n_fft 512, hop 128, periodic Hann,
//! centred with reflect padding. Expected values come from `reference/make_librosa_reference.py`.

use std::io::Write as _;
use std::path::PathBuf;

use mm_audio::signal::{Istft, LogMel, LogMelConfig, MelConfig, MelFilterbank, MelNorm, MelScale, Mfcc, Stft, StftConfig, magnitude};
use ndarray::{Array1, Array2};
use ndarray_npy::read_npy;

fn reference<T: ndarray_npy::ReadableElement, D: ndarray::Dimension>(name: &str) -> ndarray::Array<T, D> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference").join(format!("{name}.npy"));
    read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The benchmark signal, or None (with a note) where `shared/` is not beside the checkout. CI always has it.
fn bench_signal() -> Option<Vec<f32>> {
    let path = std::env::var_os("MM_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench"))
        .join("stft_signal.wav");
    if !path.exists() {
        assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", path.display());
        let _ = writeln!(std::io::stderr(), "{}: skipping: {} not found (set MM_BENCH_DIR)", std::thread::current().name().unwrap_or("test"), path.display());
        return None;
    }
    let audio = mm_audio::read_wav(&path).unwrap();
    assert_eq!((audio.samples.len(), audio.sample_rate), (960_000, 16_000));
    Some(audio.samples)
}

fn config() -> StftConfig {
    StftConfig::new(512).with_hop_length(128)
}

fn log_mel_config() -> LogMelConfig {
    let mut config = LogMelConfig::new(16000, 512, 128, 80);
    config.mel = config.mel.with_fmax(8000.0);
    config
}

fn selected_rows(full: &Array2<f32>, frames: &Array1<i64>) -> Array2<f32> {
    full.select(ndarray::Axis(0), &frames.iter().map(|&f| f as usize).collect::<Vec<_>>())
}

#[test]
fn magnitude_matches_librosa_to_1e_4_of_the_peak() {
    let Some(signal) = bench_signal() else { return };
    let full = magnitude(&mut Stft::new(config()).unwrap(), &signal).unwrap();
    assert_eq!(full.dim(), (7501, 257));
    let frames: Array1<i64> = reference("frames");
    let expected: Array2<f32> = reference("magnitude");
    let got = selected_rows(&full, &frames);
    let peak = expected.iter().copied().fold(0.0, f32::max);
    let worst = (&got - &expected).iter().map(|d| d.abs()).fold(0.0, f32::max);
    assert!(worst <= 1e-4 * peak, "max |difference| {worst} vs peak {peak}");
    println!("magnitude: max |difference| / peak = {:.2e}", worst / peak);
}

#[test]
fn log_mel_matches_librosa_to_1e_3_db() {
    let Some(signal) = bench_signal() else { return };
    let full = LogMel::new(log_mel_config()).unwrap().process(&signal).unwrap();
    let frames: Array1<i64> = reference("frames");
    let expected: Array2<f32> = reference("log_mel");
    let worst = (&selected_rows(&full, &frames) - &expected).iter().map(|d| d.abs()).fold(0.0, f32::max);
    assert!(worst <= 1e-3, "max |difference| {worst} dB");
    println!("log-mel: max |difference| = {worst:.2e} dB");
}

#[test]
fn mfcc_matches_librosa() {
    let Some(signal) = bench_signal() else { return };
    let full = Mfcc::new(log_mel_config(), 20).unwrap().process(&signal).unwrap();
    let frames: Array1<i64> = reference("frames");
    let expected: Array2<f32> = reference("mfcc");
    let worst = (&selected_rows(&full, &frames) - &expected).iter().map(|d| d.abs()).fold(0.0, f32::max);
    assert!(worst <= 5e-3, "max |difference| {worst}");
}

#[test]
fn mel_filterbanks_match_librosa() {
    for (config, name) in [
        (MelConfig::new(16000, 512).with_n_mels(80).with_fmax(8000.0), "mel_basis_slaney"),
        (MelConfig::new(16000, 512).with_n_mels(40).with_scale(MelScale::Htk).with_norm(MelNorm::None), "mel_basis_htk"),
    ] {
        let expected: Array2<f32> = reference(name);
        let dense = MelFilterbank::new(config).unwrap().to_dense();
        let worst = (&dense - &expected).iter().map(|d| d.abs()).fold(0.0, f32::max);
        assert!(worst <= 1e-6, "{name}: max |difference| {worst}");
    }
}

#[test]
fn inverse_stft_reconstructs_the_signal_to_1e_5() {
    let Some(signal) = bench_signal() else { return };
    let spectrum = Stft::new(config()).unwrap().process(&signal).unwrap();
    let rebuilt = Istft::new(config()).unwrap().process(spectrum.view(), Some(signal.len())).unwrap();
    let worst = signal.iter().zip(&rebuilt).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= 1e-5, "max |difference| {worst}");
    println!("istft: max |difference| = {worst:.2e}");
}
