//! The captioners on the command line: `train show-and-tell|show-attend-tell` (each followed by its report),
//! `eval show-and-tell|show-attend-tell`, and `caption PICTURE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mm_generate::decoding::BeamSearchConfig;
use mm_tasks::DeviceKind;
use mm_tasks::runner::{CONFIG_FILE, RunFile, load_config};
use mm_tasks::translating::captions::{CaptionReport, CaptionTask, DecodingReport, REPORT_FILE, attention_panels, caption_picture};
use mm_tasks::translating::show_and_tell::ShowAndTellTask;
use mm_tasks::translating::show_attend_tell::{ShowAttendTellTask, attention_maps};

use crate::Failure;
use crate::train::{RunArgs, train_run};

fn print_decoding(report: &DecodingReport) {
    let b = report.all.bleu;
    let share = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
    println!(
        "  {:<32} BLEU-1..4 {:.4} {:.4} {:.4} {:.4}  CIDEr-D {:.4}  parsed {}  truthful {}",
        report.decoding,
        b[0],
        b[1],
        b[2],
        b[3],
        report.all.cider_d,
        share(report.all.parsed),
        share(report.all.truthful)
    );
    for (objects, group) in &report.by_objects {
        let truthful = share(group.truthful);
        println!("    {objects} object(s), {:>4} scenes: BLEU-4 {:.4}  CIDEr-D {:.4}  truthful {truthful}", group.scenes, group.bleu[3], group.cider_d);
    }
}

/// Prints a run's `captions.json` (written by its test evaluation).
pub fn print_report(run: &Path) -> Result<(), Failure> {
    let path = run.join(REPORT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let report: CaptionReport = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("test scenes ({}):", path.display());
    for decoding in [&report.greedy, &report.beam, &report.baseline] {
        print_decoding(decoding);
    }
    for example in report.beam.examples.iter().take(4) {
        let verdict = example.truthful.map_or("", |t| if t { " [true]" } else { " [false]" });
        println!("    picture {}: {}{verdict}", example.index, example.caption);
    }
    let grounding = run.join("grounding.json");
    if grounding.exists() {
        println!("  where the attention falls: {}", std::fs::read_to_string(&grounding)?.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    Ok(())
}

/// `cargo xtask train show-and-tell|show-attend-tell`.
pub fn train_captioner<T: CaptionTask>(args: &RunArgs) -> Result<ExitCode, Failure> {
    if let Some(run) = train_run::<T>(args)? {
        print_report(&run)?;
    }
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
                attention_panels(&scaled, &words, &maps[0], grid, out)?;
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
