//! `cargo xtask spectrogram IN -o OUT`: OUT.png (a picture) and OUT.npy (the array, `[bins, frames]` like librosa).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mm_audio::Audio;
use mm_audio::picture::{FrequencyAxis, SpectrogramPicture};
use mm_audio::signal::{self, DecibelConfig, LogMel, LogMelConfig, MelConfig, Stft, StftConfig, Window};
use mm_tasks::data::shapes::{ShapesConfig, ShapesWorld};

use crate::Failure;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// |STFT|
    Magnitude,
    /// |STFT|²
    Power,
    /// 10·log10 of mel-band power
    Logmel,
}

#[derive(Args)]
pub struct SpectrogramArgs {
    /// Input audio (WAV of any layout, or Ogg Vorbis). Without it, the sound of a scene of the shapes world.
    input: Option<PathBuf>,
    /// Scene of the shapes world to use when no input is given.
    #[arg(long, default_value_t = 0)]
    scene: u64,
    /// Seed of the shapes world to use when no input is given.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output path without extension: writes OUT.png and OUT.npy.
    #[arg(short, long)]
    output: PathBuf,
    /// What to compute.
    #[arg(long, value_enum, default_value_t = Kind::Logmel)]
    kind: Kind,
    /// FFT length (any size).
    #[arg(long, default_value_t = 512)]
    n_fft: usize,
    /// Hop between frames in samples (default n_fft / 4).
    #[arg(long)]
    hop: Option<usize>,
    /// Window (hann, hamming, blackman, rectangular).
    #[arg(long, default_value = "hann")]
    window: Window,
    /// Mel bands (log-mel only).
    #[arg(long, default_value_t = 80)]
    mels: usize,
    /// Lowest mel band edge in Hz (log-mel only).
    #[arg(long, default_value_t = 0.0)]
    fmin: f32,
    /// Highest mel band edge in Hz (log-mel only; default: Nyquist).
    #[arg(long)]
    fmax: Option<f32>,
    /// Resample to this rate first (default: keep the file's rate).
    #[arg(long)]
    sample_rate: Option<u32>,
    /// Dynamic range of the picture's colours, in dB below the maximum.
    #[arg(long, default_value_t = 80.0, value_parser = crate::flags::positive_finite)]
    range_db: f32,
}

pub fn run(args: SpectrogramArgs) -> Result<ExitCode, Failure> {
    let (mut audio, name) = match &args.input {
        Some(path) => (mm_audio::read_audio(path)?, path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())),
        None => {
            let scene = ShapesWorld::new(ShapesConfig::default(), args.seed).scene(args.scene);
            let name = format!("shapes scene {} (seed {}: {})", args.scene, args.seed, scene.caption);
            (Audio::new(scene.sound.mix, scene.sound.sample_rate), name)
        }
    };
    if let Some(rate) = args.sample_rate {
        audio = audio.resample(rate).map_err(|e| format!("--sample-rate {rate}: {e}"))?;
    }
    let rate = audio.sample_rate;
    let stft_config = StftConfig::new(args.n_fft).with_hop_length(args.hop.unwrap_or(args.n_fft / 4)).with_window(args.window);
    let params = format!("n_fft {}, hop {}, {:?}", args.n_fft, stft_config.hop_length, args.window).to_lowercase();

    // `values` is [frames, rows] as computed; the picture shows decibels.
    let (values, shown, frequency, title) = match args.kind {
        Kind::Magnitude | Kind::Power => {
            let mut stft = Stft::new(stft_config)?;
            let power = args.kind == Kind::Power;
            let values = if power { signal::power(&mut stft, &audio.samples)? } else { signal::magnitude(&mut stft, &audio.samples)? };
            let mut shown = values.mapv(|v| if power { v } else { v * v });
            DecibelConfig::default().apply(shown.as_slice_mut().expect("contiguous"));
            let label = if power { "power" } else { "magnitude" };
            let frequency = FrequencyAxis::Linear { hz_per_bin: rate as f32 / args.n_fft as f32 };
            (values, shown, frequency, format!("{label} spectrogram of {name} ({params}, {rate} Hz)"))
        }
        Kind::Logmel => {
            let mut mel = MelConfig::new(rate, args.n_fft).with_n_mels(args.mels).with_fmin(args.fmin);
            mel.fmax = args.fmax;
            let config = LogMelConfig { stft: stft_config, mel, ..LogMelConfig::new(rate, args.n_fft, stft_config.hop_length, args.mels) };
            let mut log_mel = LogMel::new(config)?;
            let values = log_mel.process(&audio.samples)?;
            let frequency = FrequencyAxis::Bands { centres_hz: log_mel.filterbank().centres_hz() };
            let title = format!("log-mel spectrogram of {name} ({params}, {} mels, {rate} Hz)", args.mels);
            (values.clone(), values, frequency, title)
        }
    };

    if let Some(value) = values.iter().find(|v| !v.is_finite()) {
        return Err(format!("{name}: its spectrogram holds {value}, beyond f32's range (are the samples scaled to [-1, 1]?)").into());
    }
    let stem = strip_extension(&args.output);
    if let Some(parent) = stem.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("--output {}: cannot make the folder {}: {e}", args.output.display(), parent.display()))?;
    }
    let npy = stem.with_extension("npy");
    let png = stem.with_extension("png");
    mm_audio::write_npy(&npy, values.t().as_standard_layout().view())?;
    let picture = SpectrogramPicture {
        title,
        seconds_per_frame: stft_config.hop_length as f32 / rate as f32,
        frequency,
        value_label: "dB".into(),
        dynamic_range: args.range_db,
        size: (1000, 450),
    };
    picture.save(shown.view(), &png)?;
    let (frames, rows) = values.dim();
    println!("wrote {} and {} ([{rows}, {frames}] float32)", png.display(), npy.display());
    Ok(ExitCode::SUCCESS)
}

/// `out.png` and `out` both mean the stem `out`.
fn strip_extension(path: &Path) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png" | "npy") => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}
