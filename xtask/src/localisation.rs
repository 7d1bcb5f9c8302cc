//! Sound-source localisation on the command line: `train localisation` (followed by its table), `eval
//! localisation [--compare RUN …]` (one table for several runs, the baselines beside them), and `localise
//! PICTURE SOUND -o heat.png`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mm_tasks::DeviceKind;
use mm_tasks::referencing::localisation::Localisation;
use mm_tasks::referencing::localisation::metrics::LocalisationSummary;
use mm_tasks::referencing::localisation::report::{LocalisationReport, REPORT_FILE, localise, save_localised};

use crate::Failure;
use crate::train::{CompareEvalArgs, RunArgs, eval_with_report, train_run};

fn read_report(run: &Path) -> Result<LocalisationReport, Failure> {
    let path = run.join(REPORT_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (evaluate the run first: cargo xtask eval localisation --run {})", path.display(), run.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn row(name: &str, s: &LocalisationSummary) -> String {
    format!("  {name:<34} {:>8.4} {:>8.4} {:>9.4} {:>10.4} {:>8.4} {:>9.4}", s.success, s.auc, s.mean_ciou, s.success_median, s.auc_median, s.pointing)
}

/// Prints one table: each run's maps, then the first run's baselines (each source its own block).
pub fn print_table(runs: &[PathBuf]) -> Result<(), Failure> {
    let reports = runs.iter().map(|r| read_report(r)).collect::<Result<Vec<_>, _>>()?;
    let mut sources: Vec<&str> = reports.iter().map(|r| r.source.as_str()).collect();
    sources.dedup();
    for source in sources {
        let block: Vec<(&LocalisationReport, &PathBuf)> = reports.iter().zip(runs).filter(|(r, _)| r.source == source).collect();
        let first = block[0].0;
        println!("{source}, {} test pictures; cIoU at normalised map ≥ {} and by LVS's median rule:", first.model.examples, first.threshold);
        println!("  {:<34} {:>8} {:>8} {:>9} {:>10} {:>8} {:>9}", "maps", "cIoU≥.5", "AUC", "mean cIoU", "med cIoU≥.5", "med AUC", "pointing");
        for (report, run) in &block {
            let labels = if report.labelled_fraction > 0.0 { format!(" ({:.0}% labels)", 100.0 * report.labelled_fraction) } else { String::new() };
            println!("{}  [{}]", row(&format!("{}{labels}", report.supervision), &report.model), run.display());
        }
        println!("{}", row("centre prior", &first.centre_prior));
        println!("{}", row("uniform map", &first.uniform));
    }
    Ok(())
}

/// `cargo xtask train localisation`.
pub fn train_localisation(args: &RunArgs) -> Result<ExitCode, Failure> {
    if let Some(run) = train_run::<Localisation>(args)? {
        print_table(&[run])?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask eval localisation`.
pub fn eval_localisation(args: &CompareEvalArgs) -> Result<ExitCode, Failure> {
    eval_with_report::<Localisation>(args, "the localisation report", print_table)
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
