//! The matching systems on the command line: `train tagging|recipe|soundnet` (each followed by its report),
//! `eval tagging|recipe|soundnet`, `tag IMAGE` and `search-images WORD`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mm_tasks::DeviceKind;
use mm_tasks::data::DataRoot;
use mm_tasks::matching::recipe::{Recipe, evaluate_recipe};
use mm_tasks::matching::soundnet::{ChosenLayer, ProbeScore, SoundNet, probe_student, summarise};
use mm_tasks::matching::tagging::{Tagging, TaggingReport, evaluate_tagging, search_images, tag_image, train_zero_shot};
use mm_tasks::runner::{Spread, load_run_config};
use serde::Serialize;

use crate::Failure;
use crate::train::{EvalArgs, RunArgs, train_run};

/// `cargo xtask train tagging`.
#[derive(Args, Clone)]
pub struct TaggingArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Train five runs, each with one pair of digits held out — (0,1), (2,3), (4,5), (6,7), (8,9) — and report
    /// zero-shot tagging of the held-out pairs.
    #[arg(long)]
    zero_shot: bool,
}

fn device(flag: Option<DeviceKind>) -> Result<burn::tensor::Device, Failure> {
    Ok(DeviceKind::resolve(flag)?.device()?)
}

fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn eval_args(args: &RunArgs, run: &Path) -> EvalArgs {
    EvalArgs { run: Some(run.to_path_buf()), data: args.data.clone(), split: "test".into(), device: args.device }
}

pub fn train_tagging(args: &TaggingArgs) -> Result<ExitCode, Failure> {
    if !args.zero_shot {
        return match train_run::<Tagging>(&args.run)? {
            Some(run) => report_tagging(&run, &eval_args(&args.run, &run)),
            None => Ok(ExitCode::SUCCESS),
        };
    }
    let (config, parent, resume) = args.run.prepare::<Tagging>()?;
    let root = DataRoot::from_flag(args.run.data.as_deref());
    let Some(summary) = train_zero_shot(&config, &root, &parent, resume, args.run.stop_after, &device(args.run.device)?)? else {
        println!("stopped early; continue with --resume {}", parent.path().display());
        return Ok(ExitCode::SUCCESS);
    };
    let encoders =
        if summary.encoder_per_split { "an encoder per split, trained without its held-out digits" } else { "the shared encoder (trained on all ten digits)" };
    println!("zero-shot over five splits × {} seeds ({encoders}); mean ± 95% interval:", summary.seeds);
    let show = |s: &mm_tasks::runner::Spread| format!("{:.4} ± {:.4}", s.mean, s.interval_95);
    for split in &summary.per_split {
        println!(
            "  held out {:?}: by name {}, by description {}, generalised {}, AUSUC {}",
            split.digits,
            show(&split.by_name),
            show(&split.by_description),
            show(&split.generalised_by_description),
            show(&split.ausuc)
        );
    }
    println!(
        "  all: by name {}, by description {} (chance {:.2}); generalised {} (chance {:.2}); calibrated stacking AUSUC {}",
        show(&summary.by_name),
        show(&summary.by_description),
        summary.chance,
        show(&summary.generalised_by_description),
        summary.generalised_chance,
        show(&summary.ausuc)
    );
    println!("  {}", parent.path().join("zero-shot.json").display());
    print_json(&summary)?;
    Ok(ExitCode::SUCCESS)
}

fn print_tagging(report: &TaggingReport) {
    let m = &report.image_to_tag;
    println!(
        "tagging ({:?}, {} test pictures): image → tag R@1 {:.4} R@5 {:.4} medR {}; top tag correct {:.4}; tag → image P@10 {:.4}",
        report.world, report.images, m.recall_at_1, m.recall_at_5, m.median_rank, report.top_tag_correct, report.tag_to_image_precision_at_10
    );
    let b = &report.baseline;
    println!(
        "  baseline (always {:?}, the most frequent training tag; random ranking): top tag correct {:.4}; tag → image P@10 {:.4}",
        b.most_frequent_tag, b.top_tag_correct, b.tag_to_image_precision_at_10
    );
    if let Some(z) = &report.zero_shot {
        println!(
            "  zero-shot, digits {:?} ({} pictures): by name {:.4}, by description {:.4} (chance {:.2}); among all ten {:.4} (chance 0.10)",
            z.digits, z.images, z.by_name, z.by_description, z.chance, z.generalised_by_description
        );
        let [seen, unseen, harmonic] = z.calibrated.uncalibrated;
        println!(
            "  calibrated stacking: AUSUC {:.4}; uncalibrated seen {seen:.4}, held out {unseen:.4}, H {harmonic:.4}; best H on the curve {:.4}",
            z.calibrated.ausuc, z.calibrated.best_harmonic_mean
        );
    }
    if let Some(a) = &report.arithmetic {
        println!(
            "  arithmetic: picture(a) − word(a) + word(b) lands on a b in {:.4} of {} queries (picture alone {:.4}, word alone {:.4})",
            a.hits, a.queries, a.image_alone, a.word_alone
        );
    }
}

pub fn report_tagging(run: &Path, args: &EvalArgs) -> Result<ExitCode, Failure> {
    let report = evaluate_tagging(run, &DataRoot::from_flag(args.data.as_deref()), &device(args.device)?)?;
    print_tagging(&report);
    println!("  {}", run.join("retrieval.png").display());
    println!("  {}", run.join("joint-space.png").display());
    print_json(&report)?;
    Ok(ExitCode::SUCCESS)
}

pub fn train_recipe(args: &RunArgs) -> Result<ExitCode, Failure> {
    match train_run::<Recipe>(args)? {
        Some(run) => report_recipe(&run, &eval_args(args, &run)),
        None => Ok(ExitCode::SUCCESS),
    }
}

pub fn report_recipe(run: &Path, args: &EvalArgs) -> Result<ExitCode, Failure> {
    let report = evaluate_recipe(run, &DataRoot::from_flag(args.data.as_deref()), &device(args.device)?)?;
    println!("recipe ({:?}, semantic weight {}):", report.text_encoder, report.semantic_weight);
    for (name, family) in [("seen digit sets (new pictures)", &report.seen), ("held-out digit sets (instructions never in training)", &report.held_out)] {
        let ([m, r1, r5, r10], [tm, tr1, tr5, tr10]) = (family.image_to_text, family.text_to_image);
        let ([dm, dr1], [dtm, dtr1]) = (family.image_to_text_interval, family.text_to_image_interval);
        println!(
            "  {name}: mean ± 95% interval of {} independent test sets of {} pairs (chance medR {:.1})",
            family.test_sets.len(),
            family.pairs_per_set,
            family.chance_median_rank
        );
        println!("    image → text: medR {m:.1} ± {dm:.1}  R@1 {r1:.4} ± {dr1:.4}  R@5 {r5:.4}  R@10 {r10:.4}");
        println!("    text → image: medR {tm:.1} ± {dtm:.1}  R@1 {tr1:.4} ± {dtr1:.4}  R@5 {tr5:.4}  R@10 {tr10:.4}");
        println!("    right order among the reordered instructions: {:.4} (chance {:.2})", family.order_accuracy, report.order_chance);
    }
    print_json(&report)?;
    Ok(ExitCode::SUCCESS)
}

pub fn train_soundnet(args: &RunArgs) -> Result<ExitCode, Failure> {
    match train_run::<SoundNet>(args)? {
        Some(run) => report_soundnet(&run, &eval_args(args, &run)),
        None => Ok(ExitCode::SUCCESS),
    }
}

pub fn report_soundnet(run: &Path, args: &EvalArgs) -> Result<ExitCode, Failure> {
    let report = probe_student(run, &DataRoot::from_flag(args.data.as_deref()), &device(args.device)?)?;
    println!("soundnet ({})", report.pairing);
    println!(
        "  the student's object head on its test pairs: {:.4} (no audio label in training; always the most frequent answer: {:.4})",
        report.student_accuracy, report.student_baseline
    );
    println!("  linear probes, validation / test accuracy:");
    println!("  layer  channels  FSDD            (untrained)      ESC-10          (untrained)");
    for p in &report.layers {
        let pair = |s: ProbeScore| format!("{:.4} / {:.4}", s.valid, s.test);
        println!("  conv{}  {:>8}  {}  ({})  {}  ({})", p.layer, p.channels, pair(p.fsdd), pair(p.fsdd_untrained), pair(p.esc10), pair(p.esc10_untrained));
    }
    let chosen = |c: ChosenLayer| format!("conv{} {:.4}", c.layer, c.test);
    println!(
        "  chosen on validation, test accuracy: FSDD {} (untrained {}), ESC-10 {} (untrained {})",
        chosen(report.fsdd),
        chosen(report.fsdd_untrained),
        chosen(report.esc10),
        chosen(report.esc10_untrained)
    );
    println!(
        "  log-mel statistics: FSDD {:.4}, ESC-10 {:.4}; majority class: FSDD {:.4}, ESC-10 {:.4}",
        report.log_mel_fsdd.test, report.log_mel_esc10.test, report.majority_fsdd, report.majority_esc10
    );
    println!("  {}", run.join("probes.png").display());
    print_json(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask eval soundnet`.
#[derive(Args)]
pub struct SoundNetEvalArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Instead of probing one run, summarise the saved reports of these runs (seeds of the same settings, each
    /// probed already): mean ± 95% interval of each chosen layer's test accuracy.
    #[arg(long, num_args = 1.., value_name = "RUN")]
    pub summarise: Vec<PathBuf>,
}

pub fn summarise_soundnet(runs: &[PathBuf]) -> Result<ExitCode, Failure> {
    let summary = summarise(runs)?;
    let show = |s: &Spread| format!("{:.4} ± {:.4}", s.mean, s.interval_95);
    println!("soundnet over {} runs ({}); mean ± 95% interval:", runs.len(), summary.pairing);
    println!("  student on its test pairs {} (baseline {})", show(&summary.student_accuracy), show(&summary.student_baseline));
    println!("  FSDD probe, layer chosen on validation: {} (untrained {})", show(&summary.fsdd), show(&summary.fsdd_untrained));
    println!("  ESC-10 probe, layer chosen on validation: {} (untrained {})", show(&summary.esc10), show(&summary.esc10_untrained));
    println!("  gain over the untrained twin, paired by seed: FSDD {}, ESC-10 {}", show(&summary.fsdd_gain), show(&summary.esc10_gain));
    println!("  chosen layers per run [FSDD, untrained, ESC-10, untrained]: {:?}", summary.chosen_layers);
    print_json(&summary)?;
    Ok(ExitCode::SUCCESS)
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
