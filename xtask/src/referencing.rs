//! VQA on the command line: `train vqa` (followed by its table), `eval vqa [--compare RUN …]` (one table for
//! several runs, the prior beside them), and `ask PICTURE QUESTION`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mm_tasks::DeviceKind;
use mm_tasks::referencing::vqa::report::{REPORT_FILE, Scored, VqaReport, attention_panels};
use mm_tasks::referencing::vqa::{Vqa, answer_question};

use crate::Failure;
use crate::train::{CompareEvalArgs, RunArgs, eval_with_report, train_run};

fn read_report(run: &Path) -> Result<VqaReport, Failure> {
    let path = run.join(REPORT_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (evaluate the run first: cargo xtask eval vqa --run {})", path.display(), run.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn row(name: &str, scored: &Scored, types: &[String]) -> String {
    let cells: Vec<String> = types
        .iter()
        .map(|t| scored.by_answer_type.get(t).map_or("–".into(), |s| format!("{:.4}", s.accuracy)))
        .zip(types)
        .map(|(cell, t)| format!("{cell:<width$}", width = t.len().max(6)))
        .collect();
    format!("  {name:<28} {:<6}  {}", format!("{:.4}", scored.overall), cells.join("  "))
}

/// Prints one table per split: each run's model, then the per-type prior of the first run.
pub fn print_table(runs: &[PathBuf]) -> Result<(), Failure> {
    let reports = runs.iter().map(|r| read_report(r)).collect::<Result<Vec<_>, _>>()?;
    let first = &reports[0];
    for (s, split) in first.splits.iter().enumerate() {
        let types: Vec<String> = split.model.by_answer_type.keys().cloned().collect();
        println!("{} ({} questions on {} pictures; official VQA accuracy):", split.split, split.questions, split.pictures);
        println!("  {:<28} {:<6}  {}", "answerer", "all", types.iter().map(|t| format!("{t:<width$}", width = t.len().max(6))).collect::<Vec<_>>().join("  "));
        for (report, run) in reports.iter().zip(runs) {
            match report.splits.get(s).filter(|other| other.split == split.split) {
                Some(other) => println!("{}", row(&report.variant, &other.model, &types)),
                None => println!("  {:<28} (no {} in {})", report.variant, split.split, run.display()),
            }
        }
        println!("{}", row("prior (per question type)", &split.prior, &types));
        for (report, run) in reports.iter().zip(runs) {
            if let Some(other) = report.splits.get(s).filter(|other| other.split == split.split) {
                let scores = if other.novel_questions > 0 {
                    format!(": accuracy {:.4} (prior {:.4})", other.novel_accuracy, other.novel_prior_accuracy)
                } else {
                    String::new()
                };
                println!("  {}: {} of the questions are sentences no training question has{scores} [{}]", report.variant, other.novel_questions, run.display());
            }
        }
    }
    Ok(())
}

/// `cargo xtask train vqa`.
pub fn train_vqa(args: &RunArgs) -> Result<ExitCode, Failure> {
    if let Some(run) = train_run::<Vqa>(args)? {
        print_table(&[run])?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask eval vqa`.
pub fn eval_vqa(args: &CompareEvalArgs) -> Result<ExitCode, Failure> {
    eval_with_report::<Vqa>(args, "the VQA report", print_table)
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
        let panels = attention_panels(&scaled, &sheet.question, &sheet.answer, &sheet.attention, sheet.grid);
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
