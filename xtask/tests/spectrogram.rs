//! `cargo xtask spectrogram` end to end: a readable PNG and an .npy equal to the library's output, `[bins, frames]`.

use std::path::Path;
use std::process::Command;

use mm_audio::Audio;
use mm_audio::signal::{LogMel, LogMelConfig, Stft, StftConfig, magnitude};
use ndarray::Array2;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

fn chirp(path: &Path) -> Audio {
    let audio = Audio::new((0..22050).map(|i| (i as f32 * i as f32 * 2e-6).sin() * 0.5).collect(), 22050);
    mm_audio::write_wav(path, &audio).unwrap();
    mm_audio::read_wav(path).unwrap()
}

#[test]
fn log_mel_png_and_npy() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("chirp.wav");
    let audio = chirp(&wav);
    let out = dir.path().join("chirp");
    let run = xtask(&["spectrogram", wav.to_str().unwrap(), "-o", out.to_str().unwrap(), "--mels", "40", "--n-fft", "400", "--hop", "100"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let png = image::open(out.with_extension("png")).unwrap();
    assert_eq!((png.width(), png.height()), (1000, 450));
    let saved: Array2<f32> = ndarray_npy::read_npy(out.with_extension("npy")).unwrap();
    let expected = LogMel::new(LogMelConfig::new(22050, 400, 100, 40)).unwrap().process(&audio.samples).unwrap();
    assert_eq!(saved.dim(), (40, 1 + 22050 / 100));
    assert_eq!(saved, expected.t());
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
