//! `cargo xtask shapes`: look at the embedded world — pictures, captions, questions, sounds and their spectrograms.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mm_audio::Audio;
use mm_audio::picture::{FrequencyAxis, SpectrogramPicture};
use mm_audio::signal::{LogMel, LogMelConfig};
use mm_tasks::data::shapes::{ShapesConfig, ShapesWorld};

use crate::Failure;

/// The most scenes drawn on the contact sheet (every scene still gets its own files).
const MAX_SHEET: usize = 64;

#[derive(Args)]
pub struct ShapesArgs {
    /// How many scenes.
    #[arg(short = 'n', long, default_value_t = 12)]
    count: u64,
    /// Seed of the world.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First scene index.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Output folder.
    #[arg(short, long, default_value = "runs/shapes-preview")]
    output: PathBuf,
}

pub fn run(args: ShapesArgs) -> Result<ExitCode, Failure> {
    let end = args.start.checked_add(args.count).ok_or_else(|| format!("--start {} with -n {}: the last scene's index overflows", args.start, args.count))?;
    let world = ShapesWorld::new(ShapesConfig::default(), args.seed);
    std::fs::create_dir_all(&args.output).map_err(|e| format!("--output {}: {e}", args.output.display()))?;
    let config = world.config();
    let mut log_mel = LogMel::new(LogMelConfig::new(config.sample_rate, 512, 128, 64))?;
    let mut records = Vec::new();
    let mut sheet = Vec::new();
    for index in args.start..end {
        let scene = world.scene(index);
        let stem = args.output.join(format!("scene_{index:05}"));
        mm_vision::save_png(stem.with_extension("png"), &scene.image)?;
        let audio = Audio::new(scene.sound.mix.clone(), scene.sound.sample_rate);
        mm_audio::write_wav(stem.with_extension("wav"), &audio)?;
        let spectrogram = log_mel.process(&audio.samples)?;
        SpectrogramPicture {
            title: format!("scene {index} (seed {}): log-mel of the mixture of its {} objects", args.seed, scene.objects.len()),
            seconds_per_frame: 128.0 / config.sample_rate as f32,
            frequency: FrequencyAxis::Bands { centres_hz: log_mel.filterbank().centres_hz() },
            value_label: "dB".into(),
            dynamic_range: 80.0,
            size: (900, 360),
        }
        .save(spectrogram.view(), &args.output.join(format!("scene_{index:05}_logmel.png")))?;
        records.push(serde_json::json!({
            "index": index,
            "caption": scene.caption,
            "objects": scene.objects,
            "questions": scene.questions,
        }));
        if sheet.len() < MAX_SHEET {
            sheet.push((scene.image, scene.caption));
        }
    }
    let json = args.output.join("scenes.json");
    let text = serde_json::to_string_pretty(&serde_json::json!({ "seed": args.seed, "scenes": records }))?;
    mm_files::write_bytes(&json, text.as_bytes()).map_err(|e| format!("{}: {e}", json.display()))?;
    let sheet_path = args.output.join("sheet.png");
    mm_vision::picture::captioned_grid(&sheet, 4, 3, &sheet_path)?;
    println!(
        "wrote {} scenes (seed {}) to {}: sheet.png (the first {}), scenes.json, and per scene .png, .wav and _logmel.png",
        args.count,
        args.seed,
        args.output.display(),
        sheet.len()
    );
    Ok(ExitCode::SUCCESS)
}
