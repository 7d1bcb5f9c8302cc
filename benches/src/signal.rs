//! `cargo xtask bench signal`: mm's complex STFT and log-mel of a 60 s, 16 kHz signal on one thread against
//! librosa, scipy and torch (`reference/signal_reference.py`), in one run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mm_audio::signal::{LogMel, LogMelConfig, Stft, StftConfig};
use serde::Deserialize;

use crate::harness::{BenchError, median_ms, python_with, reference_output, reference_script};

/// The signal bench's input, when none is given (relative to the workspace).
pub const SIGNAL_INPUT: &str = "../shared/bench/stft_signal.wav";

/// The benchmark signal's rate and length: 60 s at 16 kHz.
pub const SIGNAL_RATE: u32 = 16_000;
const SIGNAL_SECONDS: usize = 60;

/// The benchmark signal synthesised as `../shared/bench/stft_signal.wav` was (its README): 60 s at 16 kHz, a
/// linear chirp from 100 Hz to 7,000 Hz at amplitude 0.3, plus a 440 Hz sine at 0.2, plus white Gaussian noise
/// at 0.05. The noise comes from mm's generator (ChaCha8, seed 0), not numpy's, so the samples differ from the
/// file's; the work a transform does on them is the same.
pub fn synthetic_signal() -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let rate = SIGNAL_RATE as f64;
    let duration = SIGNAL_SECONDS as f64;
    let (low, high) = (100.0, 7_000.0);
    let tau = std::f64::consts::TAU;
    (0..SIGNAL_SECONDS * SIGNAL_RATE as usize)
        .map(|n| {
            let t = n as f64 / rate;
            // A linear chirp's phase is the integral of its frequency low + (high − low)·t/duration.
            let chirp = (tau * (low * t + (high - low) * t * t / (2.0 * duration))).sin();
            let sine = (tau * 440.0 * t).sin();
            // Box–Muller: one standard normal draw from two uniform ones.
            let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
            let noise = (-2.0 * u.ln()).sqrt() * (tau * v).cos();
            (0.3 * chirp + 0.2 * sine + 0.05 * noise) as f32
        })
        .collect()
}

/// The signal the benches time: the file `stft_signal.wav` in `dir` where it is there (the figures in
/// docs/BENCHMARKS.md were measured on it), else [`synthetic_signal`], which it says on stderr.
pub fn bench_signal(dir: &Path) -> Result<Vec<f32>, BenchError> {
    let path = dir.join("stft_signal.wav");
    if !path.exists() {
        eprintln!("{} not found: timing the same signal synthesised here (its noise drawn by another generator)", path.display());
        return Ok(synthetic_signal());
    }
    Ok(mm_audio::read_wav(&path)?.samples)
}

/// The signal references' times (ms) and versions, by tool.
#[derive(Debug, Deserialize)]
pub struct Reference {
    /// STFT.
    pub stft_ms: BTreeMap<String, f64>,
    /// Log-mel.
    pub logmel_ms: BTreeMap<String, f64>,
    /// Versions.
    pub versions: BTreeMap<String, String>,
}

/// mm's STFT and log-mel of an input on one thread (median ms of `repeats` calls), and the references' when asked.
pub struct SignalTimes {
    /// The input as read.
    pub audio: mm_audio::Audio,
    /// Timed calls per measurement.
    pub repeats: usize,
    /// mm's complex STFT, ms.
    pub stft_ms: f64,
    /// mm's log-mel, ms.
    pub logmel_ms: f64,
    /// The references' times and versions.
    pub reference: Option<Reference>,
}

/// Times mm's STFT (n_fft 512, hop 128) and 80-band log-mel of `input`, and the references' unless `no_reference`.
pub fn time_signal(input: &Path, repeats: usize, python: Option<PathBuf>, no_reference: bool) -> Result<SignalTimes, BenchError> {
    let audio = mm_audio::read_wav(input)?;
    let mut stft = Stft::new(StftConfig::new(512).with_hop_length(128))?;
    let mut config = LogMelConfig::new(audio.sample_rate, 512, 128, 80);
    config.mel = config.mel.with_fmax(8000.0);
    let mut log_mel = LogMel::new(config)?;
    let stft_ms = median_ms(repeats, || stft.process(&audio.samples).map(|s| s.len()));
    let logmel_ms = median_ms(repeats, || log_mel.process(&audio.samples).map(|s| s.len()));
    let reference = if no_reference { None } else { Some(run_reference(input, repeats, python)?) };
    Ok(SignalTimes { audio, repeats, stft_ms, logmel_ms, reference })
}

/// The table: one row per library, with how much faster mm is.
impl fmt::Display for SignalTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:.1} s at {} Hz, n_fft 512, hop 128, periodic Hann, centred (reflect); log-mel 80 Slaney bands, fmax 8000, power 2; \
             one thread; median of {} calls, ms",
            self.audio.duration_s(),
            self.audio.sample_rate,
            self.repeats
        )?;
        writeln!(f)?;
        writeln!(f, "| library | STFT | log-mel | STFT: mm faster by | log-mel: mm faster by |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        writeln!(f, "| mm {} | {:.2} | {:.2} | — | — |", env!("CARGO_PKG_VERSION"), self.stft_ms, self.logmel_ms)?;
        if let Some(reference) = &self.reference {
            for (tool, version) in &reference.versions {
                let (Some(s), Some(l)) = (reference.stft_ms.get(tool), reference.logmel_ms.get(tool)) else { continue };
                writeln!(f, "| {tool} {version} | {s:.2} | {l:.2} | {:.2}× | {:.2}× |", s / self.stft_ms, l / self.logmel_ms)?;
            }
        }
        Ok(())
    }
}

fn run_reference(input: &Path, repeats: usize, python: Option<PathBuf>) -> Result<Reference, BenchError> {
    let packages = ["librosa==0.11.0", "scipy", "torch", "torchaudio", "soundfile"];
    let python = python_with(python, "librosa, scipy, torch, torchaudio, soundfile", &packages)?;
    let script = reference_script("signal_reference.py");
    reference_output(
        &script,
        Command::new(&python)
            .arg(&script)
            .arg(input)
            .arg(repeats.to_string())
            // One thread for numpy's BLAS and torch's pools, as for mm; and numpy's own OpenBLAS kernel selection.
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .env_remove("OPENBLAS_CORETYPE")
            .env_remove("OPENBLAS_L2_SIZE"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_signal_is_the_shared_files_recipe() {
        let signal = synthetic_signal();
        assert_eq!(signal.len(), 960_000);
        let rms = |x: &[f32]| (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        // Chirp 0.3 and sine 0.2 are uncorrelated over a minute: power 0.3²/2 + 0.2²/2 + 0.05².
        let expected = (0.09f64 / 2.0 + 0.04 / 2.0 + 0.0025).sqrt();
        assert!((rms(&signal) - expected).abs() < 0.002, "rms {} against {expected}", rms(&signal));
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(SIGNAL_INPUT);
        if let Ok(audio) = mm_audio::read_wav(&shared) {
            assert_eq!((audio.samples.len(), audio.sample_rate), (signal.len(), SIGNAL_RATE));
            assert!((rms(&audio.samples) - rms(&signal)).abs() < 0.002, "the file's rms {}, the synthetic's {}", rms(&audio.samples), rms(&signal));
        }
    }
}
