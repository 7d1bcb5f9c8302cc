//! `cargo xtask spectrogram` end to end: a readable PNG and an .npy equal to the library's output, `[bins, frames]`.

use std::path::Path;
use std::process::Command;

use mm_audio::Audio;
use mm_audio::signal::{Stft, StftConfig, magnitude};
use ndarray::Array2;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

fn chirp(path: &Path) -> Audio {
    let audio = Audio::new((0..22050).map(|i| (i as f32 * i as f32 * 2e-6).sin() * 0.5).collect(), 22050);
    mm_audio::write_wav(path, &audio).unwrap();
    mm_audio::read_wav(path).unwrap()
}

/// The command's .npy against librosa, not against the library call it makes: the 22.05 kHz noise of
/// `mm-audio/tests/reference/dynamic_range` (levels spanning 110 dB), written as a float WAV, must give librosa's
/// float64 log-mel (n_fft 1024, hop 256, 64 Slaney mels up to Nyquist) to 2e-5 dB in every bin.
#[test]
fn log_mel_png_and_npy_match_librosa() {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/mm-audio/tests/reference/dynamic_range");
    let signal: ndarray::Array1<f32> = ndarray_npy::read_npy(reference.join("tilted_noise_22050_signal.npy")).unwrap();
    let truth: Array2<f64> = ndarray_npy::read_npy(reference.join("tilted_noise_22050_float64.npy")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("noise.wav");
    let spec = hound::WavSpec { channels: 1, sample_rate: 22050, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
    let mut writer = hound::WavWriter::create(&wav, spec).unwrap();
    signal.iter().for_each(|&s| writer.write_sample(s).unwrap());
    writer.finalize().unwrap();
    let out = dir.path().join("noise");
    let run = xtask(&["spectrogram", wav.to_str().unwrap(), "-o", out.to_str().unwrap(), "--mels", "64", "--n-fft", "1024", "--hop", "256"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let png = image::open(out.with_extension("png")).unwrap();
    assert_eq!((png.width(), png.height()), (1000, 450));
    let saved: Array2<f32> = ndarray_npy::read_npy(out.with_extension("npy")).unwrap();
    assert_eq!(saved.dim(), (64, truth.nrows()), "[mels, frames]");
    let worst = saved.t().iter().zip(&truth).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max);
    assert!(worst < 2e-5, "max |difference| from librosa {worst:.2e} dB");
}

#[test]
fn range_db_must_be_positive_and_finite() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("chirp.wav");
    chirp(&wav);
    for bad in ["-3", "nan", "0"] {
        let run = xtask(&["spectrogram", wav.to_str().unwrap(), "-o", dir.path().join("x").to_str().unwrap(), &format!("--range-db={bad}")]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success() && stderr.contains("--range-db") && !stderr.contains("panicked"), "{bad}: {stderr}");
    }
}

#[test]
fn magnitude_of_an_fsdd_recording() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fsdd/recordings/7_jackson_32.wav");
    if !file.exists() {
        assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", file.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seven.png");
    let run = xtask(&["spectrogram", file.to_str().unwrap(), "-o", out.to_str().unwrap(), "--kind", "magnitude", "--n-fft", "256"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let saved: Array2<f32> = ndarray_npy::read_npy(dir.path().join("seven.npy")).unwrap();
    let audio = mm_audio::read_wav(&file).unwrap();
    let expected = magnitude(&mut Stft::new(StftConfig::new(256)).unwrap(), &audio.samples).unwrap();
    assert_eq!(saved, expected.t());
    // The library call itself against a direct DFT of one frame away from the edges (frame 4: samples 384..640).
    let window = mm_audio::signal::Window::Hann.coefficients_f64(256, mm_audio::signal::Symmetry::Periodic);
    for k in [0, 10, 64, 128] {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, w) in window.iter().enumerate() {
            let x = f64::from(audio.samples[4 * 64 - 128 + i]) * w;
            let phase = -2.0 * std::f64::consts::PI * (k * i) as f64 / 256.0;
            (re, im) = (re + x * phase.cos(), im + x * phase.sin());
        }
        let direct = (re * re + im * im).sqrt();
        assert!((f64::from(saved[[k, 4]]) - direct).abs() <= 1e-6 * direct.max(1e-3), "bin {k}: {} vs {direct}", saved[[k, 4]]);
    }
    assert!(image::open(&out).is_ok());
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.wav");
    std::fs::write(&bogus, b"RIFF0000WAVEjunk").unwrap();
    let run = xtask(&["spectrogram", bogus.to_str().unwrap(), "-o", dir.path().join("x").to_str().unwrap()]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("bogus.wav") && !stderr.contains("panicked"), "{stderr}");
}
