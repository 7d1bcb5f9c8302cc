//! The commands that use a trained model: `tag`, `search-images` (tagging), `caption` (the captioners), `ask`
//! (VQA), `localise` (sound-source localisation), `separate` (audio-visual separation) and `generate`
//! (text-to-image). Flags and printing; the work is the systems' own, in mm-tasks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mm_audio::{Audio, write_wav};
use mm_generate::decoding::BeamSearchConfig;
use mm_tasks::DeviceKind;
use mm_tasks::data::DataRoot;
use mm_tasks::matching::tagging::{Tagging, search_images, tag_image};
use mm_tasks::referencing::localisation::report::{localise, save_localised};
use mm_tasks::referencing::separation::report::spectrogram_panel;
use mm_tasks::referencing::separation::{SignalSettings, separate_scene, separate_speech};
use mm_tasks::referencing::vqa::answer_question;
use mm_tasks::runner::{CONFIG_FILE, Context, RunFile, load_config, load_run_config};
use mm_tasks::translating::captions::caption_picture;
use mm_tasks::translating::show_and_tell::ShowAndTellTask;
use mm_tasks::translating::show_attend_tell::{ShowAttendTellTask, attention_maps};
use mm_tasks::translating::text_to_image::generate::{pictures_of_text, save_pictures};
use serde::Serialize;

use crate::Failure;

fn device(flag: Option<DeviceKind>) -> Result<burn::tensor::Device, Failure> {
    Ok(DeviceKind::resolve(flag)?.device()?)
}

fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// `cargo xtask tag IMAGE`.
#[derive(Args)]
pub struct TagArgs {
    /// The picture (PNG, JPEG …): a digit, light on dark or dark on light, for an MNIST run.
    image: PathBuf,
    /// Tagging run (default runs/tagging/latest).
    #[arg(long, default_value = "runs/tagging/latest")]
    run: PathBuf,
    /// How many tags.
    #[arg(short, default_value_t = 5)]
    k: usize,
    /// More candidate words, beyond the training tags (any word of the vector file), comma-separated.
    #[arg(long, value_delimiter = ',')]
    words: Vec<String>,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn tag(args: TagArgs) -> Result<ExitCode, Failure> {
    let tags = tag_image(&args.run, &args.image, &args.words, args.k, &device(args.device)?)?;
    for (word, p) in &tags {
        println!("{word:<12} {p:.3}");
    }
    print_json(&tags)?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask search-images WORD`.
#[derive(Args)]
pub struct SearchArgs {
    /// Any word of the run's vector file.
    word: String,
    /// Where the grid goes.
    #[arg(short, long, default_value = "search.png")]
    out: PathBuf,
    /// How many pictures.
    #[arg(short, default_value_t = 16)]
    k: usize,
    /// Tagging run (default runs/tagging/latest).
    #[arg(long, default_value = "runs/tagging/latest")]
    run: PathBuf,
    /// Data root (default: MM_DATA_DIR, else ./data, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn search(args: SearchArgs) -> Result<ExitCode, Failure> {
    let found = search_images(&args.run, &DataRoot::from_flag(args.data.as_deref()), &args.word, args.k, &args.out, &device(args.device)?)?;
    let config = load_run_config::<Tagging>(&args.run)?;
    println!("{} test pictures nearest to {:?} ({:?} world): {}", found.len(), args.word, config.world, args.out.display());
    print_json(&found)?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask caption PICTURE`.
#[derive(Args)]
pub struct CaptionArgs {
    /// The picture (PNG, JPEG …); it is scaled to the encoder's side.
    picture: PathBuf,
    /// A show-and-tell or show-attend-tell run (default runs/show-attend-tell/latest).
    #[arg(long, default_value = "runs/show-attend-tell/latest")]
    run: PathBuf,
    /// Beam width (1: greedy).
    #[arg(long, default_value_t = 3, value_parser = crate::flags::at_least_one)]
    beam: usize,
    /// Longest caption, in tokens.
    #[arg(long, default_value_t = 32, value_parser = crate::flags::at_least_one)]
    max_len: usize,
    /// Write the attention of every word here (PNG; show-attend-tell runs only).
    #[arg(long)]
    attention: Option<PathBuf>,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn caption(args: CaptionArgs) -> Result<ExitCode, Failure> {
    let device = DeviceKind::resolve(args.device)?.device()?;
    let picture = mm_vision::load_rgb(&args.picture)?;
    let search = BeamSearchConfig { width: args.beam, max_len: args.max_len, length_normalisation: 0.0 };
    let task = load_config::<RunFile<serde_json::Value>>(&args.run.join(CONFIG_FILE))?.task;
    let result = match task.as_str() {
        "show-and-tell" => {
            if args.attention.is_some() {
                return Err(format!("--attention: {} is a show-and-tell run, which does not attend; use a show-attend-tell run", args.run.display()).into());
            }
            caption_picture::<ShowAndTellTask>(&args.run, &picture, &search, &device)?.0
        }
        "show-attend-tell" => {
            let (result, model, scaled) = caption_picture::<ShowAttendTellTask>(&args.run, &picture, &search, &device)?;
            if let Some(out) = &args.attention {
                let side = scaled.width() as usize;
                let tensor = mm_tasks::translating::captions::picture_tensor(&scaled, side, &device).1;
                let (maps, grid) = attention_maps(&model, tensor, std::slice::from_ref(&result.tokens));
                let mut words = result.words.clone();
                words.push("<end>".into());
                mm_tasks::translating::captions::attention_panels(&scaled, &words, &maps[0], grid, out)?;
                println!("attention: {}", out.display());
            }
            result
        }
        other => return Err(format!("--run {}: a {other} run, not a captioner (show-and-tell or show-attend-tell)", args.run.display()).into()),
    };
    println!("{}", result.caption);
    println!("{}", serde_json::to_string(&result)?);
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask ask PICTURE QUESTION`.
#[derive(Args)]
pub struct AskArgs {
    /// The picture (PNG, JPEG …); it is scaled to the encoder's side.
    picture: PathBuf,
    /// The question, e.g. "what colour is the circle?".
    question: String,
    /// A vqa run (default runs/vqa/latest).
    #[arg(long, default_value = "runs/vqa/latest")]
    run: PathBuf,
    /// How many answers to print.
    #[arg(long, default_value_t = 5, value_parser = crate::flags::at_least_one)]
    top: usize,
    /// Write stacked attention's map of each hop here (PNG; stacked-attention runs only).
    #[arg(long)]
    attention: Option<PathBuf>,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn ask(args: AskArgs) -> Result<ExitCode, Failure> {
    let device = DeviceKind::resolve(args.device)?.device()?;
    let picture = mm_vision::load_rgb(&args.picture)?;
    let (sheet, model, scaled) = answer_question(&args.run, &picture, &args.question, args.top, &device)?;
    if let Some(out) = &args.attention {
        if sheet.attention.is_empty() {
            return Err(format!(
                "--attention: {} is a {} run, which does not attend; use a stacked-attention run",
                args.run.display(),
                model.net.variant().name()
            )
            .into());
        }
        let panels = mm_tasks::referencing::vqa::report::attention_panels(&scaled, &sheet.question, &sheet.answer, &sheet.attention, sheet.grid);
        let zoom = (160 / scaled.width().max(1)).max(1);
        mm_vision::picture::captioned_grid(&panels, panels.len(), zoom, out)?;
        println!("attention: {}", out.display());
    }
    for (answer, p) in &sheet.ranked {
        println!("  {p:.4}  {answer}");
    }
    println!("{}", serde_json::to_string(&sheet)?);
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask localise PICTURE SOUND -o heat.png`.
#[derive(Args)]
pub struct LocaliseArgs {
    /// The picture (PNG, JPEG …); the encoder reads it scaled to the run's side, the map is drawn at its size.
    picture: PathBuf,
    /// The sound (WAV or Ogg); resampled and cut or padded as the run's sound encoder hears it.
    sound: PathBuf,
    /// The picture lit by the map (PNG); the map itself goes beside it as .npy, `[H, W]` float32.
    #[arg(short, long)]
    output: PathBuf,
    /// A localisation run (default runs/localisation/latest).
    #[arg(long, default_value = "runs/localisation/latest")]
    run: PathBuf,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn localise_command(args: LocaliseArgs) -> Result<ExitCode, Failure> {
    let device = DeviceKind::resolve(args.device)?.device()?;
    let picture = mm_vision::load_rgb(&args.picture)?;
    let audio = mm_audio::read_audio(&args.sound)?;
    let (heat, lit) = localise(&args.run, &picture, audio, &device)?;
    let npy = save_localised(&args.output, &lit, &heat)?;
    let (width, height) = picture.dimensions();
    let peak = heat.iter().enumerate().fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best });
    let (x, y) = (peak.0 % width as usize, peak.0 / width as usize);
    println!("heat-map: {} (map {})", args.output.display(), npy.display());
    println!("{}", serde_json::json!({ "heatmap": args.output, "map": npy, "peak": [x, y], "height": height, "width": width }));
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask separate`.
#[derive(Args)]
pub struct SeparateArgs {
    /// The mixture (WAV or Ogg, any rate); with --visual, an audio-visual speech run keeps the speaker it shows.
    mixture: Option<PathBuf>,
    /// The kept speaker's mouth coefficients, `.npy` in the ObamaNet data set's layout (`[4 × frames, 8]`,
    /// 29.97 frames per second from the mixture's start).
    #[arg(long, requires = "mixture")]
    visual: Option<PathBuf>,
    /// Instead of a recording: a test scene of a shapes separation run, by index; every object is separated.
    #[arg(long, conflicts_with_all = ["mixture", "visual"])]
    scene: Option<usize>,
    /// The folder written: estimate.wav (at the mixture's rate and length) and a spectrogram picture; for a scene,
    /// the mixture, each object's estimate and clean note.
    #[arg(short, long)]
    output: PathBuf,
    /// A separation run (default runs/separation/latest).
    #[arg(long, default_value = "runs/separation/latest")]
    run: PathBuf,
    /// The data folder (a shapes scene needs none).
    #[arg(long)]
    data: Option<PathBuf>,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn separate_command(args: SeparateArgs) -> Result<ExitCode, Failure> {
    let device = DeviceKind::resolve(args.device)?.device()?;
    std::fs::create_dir_all(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let picture = args.output.join("spectrograms.png");
    if let Some(index) = args.scene {
        let context = Context::of(DataRoot::from_flag(args.data.as_deref()), &args.run);
        let scene = separate_scene(&args.run, index, &context, &device)?;
        let rate = scene.sample_rate;
        write_wav(args.output.join("mixture.wav"), &Audio::new(scene.mixture.clone(), rate))?;
        let mut files = vec![args.output.join("mixture.wav")];
        for (k, (estimate, clean)) in scene.estimates.iter().zip(&scene.sources).enumerate() {
            for (name, samples) in [(format!("estimate-{k}.wav"), estimate), (format!("clean-{k}.wav"), clean)] {
                write_wav(args.output.join(&name), &Audio::new(samples.clone(), rate))?;
                files.push(args.output.join(name));
            }
        }
        let settings = SignalSettings { sample_rate: rate, ..SignalSettings::default() };
        let signals: Vec<&[f32]> = std::iter::once(scene.mixture.as_slice()).chain(scene.estimates.iter().map(Vec::as_slice)).collect();
        spectrogram_panel(&picture, &format!("{}: mixture | estimate of each object", scene.name), settings, &signals)?;
        println!("{}: {} objects separated into {}", scene.name, scene.estimates.len(), args.output.display());
        println!("{}", serde_json::json!({ "scene": scene.name, "files": files, "picture": picture }));
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(mixture_path), Some(visual)) = (&args.mixture, &args.visual) else {
        return Err("give a mixture with --visual MOUTH.npy, or --scene N for a shapes run".into());
    };
    let mixture = mm_audio::read_audio(mixture_path)?;
    let estimate = separate_speech(&args.run, &mixture, visual, &device)?;
    let out = args.output.join("estimate.wav");
    write_wav(&out, &estimate)?;
    let settings = SignalSettings {
        sample_rate: mixture.sample_rate,
        n_fft: 512,
        hop_length: mixture.sample_rate as usize / 100,
        win_length: 400,
        ..SignalSettings::default()
    };
    spectrogram_panel(&picture, "mixture | estimate", settings, &[&mixture.samples, &estimate.samples])?;
    println!("estimate: {} ({} samples at {} Hz), picture {}", out.display(), estimate.samples.len(), estimate.sample_rate, picture.display());
    println!("{}", serde_json::json!({ "estimate": out, "picture": picture, "sample_rate": estimate.sample_rate, "samples": estimate.samples.len() }));
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask generate TEXT`.
#[derive(Args)]
pub struct GenerateArgs {
    /// What to draw, e.g. "the digit seven" or "an odd digit with one loop".
    text: String,
    /// How many pictures (different noise), at most 100,000; the grid shows the first 256.
    #[arg(short = 'n', long = "count", default_value_t = 16, value_parser = crate::flags::at_least_one)]
    count: usize,
    /// The grid (PNG); the pictures themselves go beside it as .npy, [N, C, H, W] float32 in [0, 1].
    #[arg(short, long, default_value = "grid.png")]
    output: PathBuf,
    /// A text-to-image run (default runs/text-to-image/latest).
    #[arg(long, default_value = "runs/text-to-image/latest")]
    run: PathBuf,
    /// The noise's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn generate(args: GenerateArgs) -> Result<ExitCode, Failure> {
    let device = DeviceKind::resolve(args.device)?.device()?;
    let (pictures, config) = pictures_of_text(&args.run, &args.text, args.count, args.seed, &device)?;
    let shown = save_pictures(&pictures, config.source.channels(), config.gan.image_size, &args.output)?;
    println!(
        "{} pictures of {:?}: {} (the first {shown}) and {} (all)",
        args.count,
        args.text,
        args.output.display(),
        args.output.with_extension("npy").display()
    );
    println!("{}", serde_json::json!({ "text": args.text, "count": args.count, "grid": args.output, "pictures": args.output.with_extension("npy") }));
    Ok(ExitCode::SUCCESS)
}
