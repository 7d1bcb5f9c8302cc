//! Text to image on the command line: `train text-embedding`, `train text-to-image` (followed by its report),
//! `eval text-to-image [--compare RUN …]` (the ablation table), and `generate TEXT -n N -o grid.png`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mm_tasks::DeviceKind;
use mm_tasks::translating::text_to_image::TextToImage;
use mm_tasks::translating::text_to_image::generate::{pictures_of_text, save_pictures};
use mm_tasks::translating::text_to_image::report::{REPORT_FILE, TextToImageReport};
use mm_tasks::translating::text_to_image::shapes_report::ShapesTextToImageReport;

use crate::Failure;
use crate::train::{CompareEvalArgs, RunArgs, eval_with_report, train_run};

/// A run's saved report: MNIST's or the shapes world's.
enum Report {
    Mnist(TextToImageReport),
    Shapes(ShapesTextToImageReport),
}

fn read_report(run: &Path) -> Result<Report, Failure> {
    let path = run.join(REPORT_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (evaluate the run first: cargo xtask eval text-to-image --run {})", path.display(), run.display()))?;
    if let Ok(report) = serde_json::from_str::<ShapesTextToImageReport>(&text) {
        return Ok(Report::Shapes(report));
    }
    Ok(Report::Mnist(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?))
}

/// One row per run: consistency, FID beside the real floor, diversity (MNIST and shapes runs in their own tables).
pub fn print_table(runs: &[PathBuf]) -> Result<(), Failure> {
    let reports = runs.iter().map(|r| read_report(r).map(|report| (r, report))).collect::<Result<Vec<_>, _>>()?;
    let mnist: Vec<_> = reports.iter().filter_map(|(r, report)| if let Report::Mnist(m) = report { Some((r, m)) } else { None }).collect();
    if !mnist.is_empty() {
        println!("MNIST: consistency = share of pictures from each digit's held-out sentences the judge reads as that digit (chance 0.1)");
        println!("{:<12} {:>12} {:>10} {:>9} {:>9} {:>10} {:>10}  run", "network", "consistency", "(training)", "(judge)", "FID", "FID floor", "diversity");
        for (run, r) in mnist {
            println!(
                "{:<12} {:>12.4} {:>10.4} {:>9.4} {:>9.3} {:>10.3} {:>10.3}  {}",
                r.variant,
                r.consistency,
                r.consistency_training_sentences,
                r.judge_on_real,
                r.fid,
                r.fid_real_floor,
                r.diversity_ratio,
                run.display()
            );
        }
    }
    let shapes: Vec<_> = reports.iter().filter_map(|(r, report)| if let Report::Shapes(s) = report { Some((r, s)) } else { None }).collect();
    if !shapes.is_empty() {
        println!("shapes: share of generated pictures whose objects have the caption's colour, shape, size; the caption true (relation included)");
        println!(
            "{:<12} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>10}  run",
            "network", "objects", "colour", "shape", "size", "caption", "(judge)", "FID", "FID floor", "diversity"
        );
        for (run, r) in shapes {
            let diversity = r.diversity_ratio.map_or("–".to_string(), |d| format!("{d:.3}"));
            println!(
                "{:<12} {:>7} {:>7.4} {:>7.4} {:>7.4} {:>8.4} {:>8.4} {:>8.3} {:>9.3} {:>10}  {}",
                r.variant,
                r.objects,
                r.generated.colour,
                r.generated.shape,
                r.generated.size,
                r.generated.caption,
                r.judge_on_real.caption,
                r.fid,
                r.fid_real_floor,
                diversity,
                run.display()
            );
        }
    }
    println!(
        "(FID and diversity in the judge encoder's pooled features; diversity: generated over real mean pairwise distance; (judge): the judge on real test pictures)"
    );
    Ok(())
}

/// `cargo xtask train text-to-image`.
pub fn train(args: &RunArgs) -> Result<ExitCode, Failure> {
    if let Some(run) = train_run::<TextToImage>(args)? {
        print_table(&[run])?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask eval text-to-image`.
pub fn eval(args: &CompareEvalArgs) -> Result<ExitCode, Failure> {
    eval_with_report::<TextToImage>(args, "the report", print_table)
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
    let shown = save_pictures(&pictures, config.source.channels(), config.image_size, &args.output)?;
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
