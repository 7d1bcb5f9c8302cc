//! `cargo xtask bench …`: mm timed beside the reference tools in the same run, with ratios.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Subcommand;
use mm_audio::signal::{LogMel, LogMelConfig, Stft, StftConfig};
use serde::Deserialize;

use crate::Failure;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Complex STFT and log-mel of a 60 s, 16 kHz signal on one thread: mm against librosa, scipy and torch.
    Signal {
        /// Input (default ../shared/bench/stft_signal.wav).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Timed calls per measurement; the median is reported.
        #[arg(long, default_value_t = 20, value_parser = crate::flags::at_least_one)]
        repeats: usize,
        /// Python with librosa, scipy, torch and torchaudio (default: MM_PYTHON, else a virtual environment in
        /// ~/.cache/mm/pyref, created and filled with pip when missing).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Time mm only.
        #[arg(long)]
        no_reference: bool,
    },
    /// word2vec skip-gram on a corpus: mm against gensim and word2vec.c, same hyper-parameters and threads, one
    /// run; prints training speed, analogy accuracy and similarity correlations.
    Word2vec(crate::bench_word2vec::BenchWord2vecArgs),
    /// One training step of the mnist CNN (batch 64, AdamW) on flex against PyTorch, same run.
    TrainStep(crate::bench_train::TrainStepArgs),
    /// Every model family's training step and inference batch on each mm device (flex, wgpu) beside PyTorch on
    /// the CPU (same threads) and CUDA (where present), plus the STFT, log-mel and word2vec, in one table.
    Devices(crate::bench_devices::DevicesArgs),
}

/// The thread count to give the references: `flag` when given, else flex's (rayon's pool: RAYON_NUM_THREADS,
/// else every core).
pub fn flex_threads(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| {
        std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Median wall time of `repeats` calls in milliseconds, after two warm-up calls.
pub fn median_ms<T>(repeats: usize, mut call: impl FnMut() -> T) -> f64 {
    for _ in 0..2 {
        std::hint::black_box(call());
    }
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(call());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The signal references' times (ms) and versions, by tool.
#[derive(Deserialize)]
pub struct Reference {
    /// STFT.
    pub stft_ms: std::collections::BTreeMap<String, f64>,
    /// Log-mel.
    pub logmel_ms: std::collections::BTreeMap<String, f64>,
    /// Versions.
    pub versions: std::collections::BTreeMap<String, String>,
}

pub fn run(command: BenchCommand) -> Result<ExitCode, Failure> {
    match command {
        BenchCommand::Signal { input, repeats, python, no_reference } => signal(input, repeats, python, no_reference),
        BenchCommand::Word2vec(args) => crate::bench_word2vec::run(args),
        BenchCommand::TrainStep(args) => crate::bench_train::run(args),
        BenchCommand::Devices(args) => crate::bench_devices::run(args),
    }
}

/// The signal bench's input, when none is given.
pub const SIGNAL_INPUT: &str = "../shared/bench/stft_signal.wav";

/// mm's STFT and log-mel of `input` on one thread (median ms of `repeats` calls), and the references' when asked.
pub struct SignalTimes {
    /// The input as read.
    pub audio: mm_audio::Audio,
    /// mm's complex STFT, ms.
    pub stft_ms: f64,
    /// mm's log-mel, ms.
    pub logmel_ms: f64,
    /// The references' times and versions.
    pub reference: Option<Reference>,
}

/// Times mm's STFT (n_fft 512, hop 128) and 80-band log-mel of `input`, and the references' unless `no_reference`.
pub fn time_signal(input: &Path, repeats: usize, python: Option<PathBuf>, no_reference: bool) -> Result<SignalTimes, Failure> {
    let audio = mm_audio::read_wav(input)?;
    let mut stft = Stft::new(StftConfig::new(512).with_hop_length(128))?;
    let mut config = LogMelConfig::new(audio.sample_rate, 512, 128, 80);
    config.mel = config.mel.with_fmax(8000.0);
    let mut log_mel = LogMel::new(config)?;
    let stft_ms = median_ms(repeats, || stft.process(&audio.samples).map(|s| s.len()));
    let logmel_ms = median_ms(repeats, || log_mel.process(&audio.samples).map(|s| s.len()));
    let reference = if no_reference { None } else { Some(run_reference(input, repeats, python)?) };
    Ok(SignalTimes { audio, stft_ms, logmel_ms, reference })
}

fn signal(input: Option<PathBuf>, repeats: usize, python: Option<PathBuf>, no_reference: bool) -> Result<ExitCode, Failure> {
    let input = input.unwrap_or_else(|| SIGNAL_INPUT.into());
    let SignalTimes { audio, stft_ms: mm_stft, logmel_ms: mm_logmel, reference } = time_signal(&input, repeats, python, no_reference)?;
    println!(
        "{:.1} s at {} Hz, n_fft 512, hop 128, periodic Hann, centred (reflect); log-mel 80 Slaney bands, fmax 8000, power 2; \
         one thread; median of {repeats} calls, ms",
        audio.duration_s(),
        audio.sample_rate
    );
    println!();
    println!("| library | STFT | log-mel | STFT: mm faster by | log-mel: mm faster by |");
    println!("|---|---|---|---|---|");
    println!("| mm {} | {mm_stft:.2} | {mm_logmel:.2} | — | — |", env!("CARGO_PKG_VERSION"));
    if let Some(reference) = reference {
        for (tool, version) in &reference.versions {
            let (Some(s), Some(l)) = (reference.stft_ms.get(tool), reference.logmel_ms.get(tool)) else { continue };
            println!("| {tool} {version} | {s:.2} | {l:.2} | {:.2}× | {:.2}× |", s / mm_stft, l / mm_logmel);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A Python that imports `modules`: `explicit`, else MM_PYTHON, else a virtual environment in ~/.cache/mm/pyref
/// (created, and filled with `packages` by pip, when it cannot import them).
pub fn python_with(explicit: Option<PathBuf>, modules: &str, packages: &[&str]) -> Result<PathBuf, Failure> {
    if let Some(python) = explicit.or_else(|| std::env::var_os("MM_PYTHON").map(PathBuf::from)) {
        return Ok(python);
    }
    let home = std::env::var_os("HOME").ok_or("HOME is not set: pass --python")?;
    let venv = Path::new(&home).join(".cache/mm/pyref");
    let python = venv.join("bin/python");
    let ready = python.exists() && Command::new(&python).args(["-c", &format!("import {modules}")]).status()?.success();
    if !ready {
        eprintln!("installing {} with pip into {} (once) …", packages.join(", "), venv.display());
        let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status()?;
        if !status.success() {
            return Err("python3 -m venv failed (apt-get install python3-venv?)".into());
        }
        if !Command::new(&python).args(["-m", "pip", "install", "--quiet"]).args(packages).status()?.success() {
            return Err("pip install of the reference tools failed".into());
        }
    }
    Ok(python)
}

fn run_reference(input: &Path, repeats: usize, python: Option<PathBuf>) -> Result<Reference, Failure> {
    let packages = ["librosa==0.11.0", "scipy", "torch", "torchaudio", "soundfile"];
    let python = python_with(python, "librosa, scipy, torch, torchaudio, soundfile", &packages)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reference/signal_reference.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(input)
        .arg(repeats.to_string())
        // One thread for numpy's BLAS and torch's pools, as for mm; and numpy's own OpenBLAS kernel selection.
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .output()?;
    if !output.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}
