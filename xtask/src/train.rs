//! `cargo xtask train [TASK]` and `cargo xtask eval TASK`: the tasks of mm-tasks through the runner.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mm_tasks::data::DataRoot;
use mm_tasks::encoders::esc10::{Esc10Sounds, eval_folds, train_folds};
use mm_tasks::encoders::fsdd::FsddDigits;
use mm_tasks::encoders::mnist::Mnist;
use mm_tasks::encoders::shapes::Shapes;
use mm_tasks::runner::{
    CONFIG_FILE, CURVES_FILE, EVALUATION_FILE, EVENTS_FILE, METRICS_FILE, MODEL_FILE, Overrides, RunDir, RunFile, Scores, Split, Task, eval_run, load_config,
    load_run_config, train_task,
};
use mm_tasks::{DeviceKind, Replica};

use crate::Failure;

#[derive(Subcommand)]
pub enum TrainTask {
    /// word2vec skip-gram with negative sampling on a text corpus; saves the vectors and their evaluation.
    Word2vec(crate::word2vec::TrainArgs),
    /// Digit classifier on MNIST (the image encoder). Goal: test accuracy ≥ 99.3%.
    Mnist(RunArgs),
    /// Spoken-digit classifier on FSDD's official split, from log-mel (or `input = "waveform"` in a config).
    Fsdd(RunArgs),
    /// Environmental-sound classifier on ESC-10, one model per fold of the 5-fold protocol.
    Esc10(RunArgs),
    /// Multi-label description of shapes-world scenes (the default task: no data needed, minutes on a CPU).
    Shapes(RunArgs),
    /// mnist, fsdd, esc10 and shapes in sequence, with their default configs.
    Encoders(RunArgs),
    /// Image tagging: the mnist (or shapes) encoder and mm's word vectors in one space; then tagging accuracy,
    /// zero-shot, arithmetic and pictures. `--zero-shot` trains the five held-out-pair splits.
    Tagging(crate::matching::TaggingArgs),
    /// Ordered-text retrieval: digit strips ↔ "write seven then two then nine", medR and R@K on 1k test sets.
    Recipe(RunArgs),
    /// SoundNet: a waveform CNN taught by the shapes network through each scene's picture and sound (or, with
    /// configs/soundnet-digits.toml, by the MNIST network through pairs made by digit); then layer probes.
    Soundnet(RunArgs),
    /// Show and Tell: the shapes encoder's pooled feature, then an LSTM decoder; BLEU, CIDEr-D and
    /// truthfulness on new scenes, greedy and beam search.
    ShowAndTell(RunArgs),
    /// Show, Attend and Tell: soft attention over the shapes encoder's map at every word; the same report, and
    /// where the attention falls (grounding.json, attention/).
    ShowAttendTell(RunArgs),
    /// VQA: deeper LSTM Q + norm I (or a baseline, or stacked attention with configs/vqa-attention.toml) on the
    /// shapes world's questions; the official accuracy per question type beside the per-type prior.
    Vqa(RunArgs),
    /// Sound-source localisation: a spoken digit's place in a grid of MNIST digits (or a note's object in a
    /// shapes scene), unsupervised, supervised or semi-supervised; cIoU, AUC and the pointing game beside a
    /// centre prior and a uniform map, and heat-maps.
    Localisation(RunArgs),
    /// Audio-visual speech separation (Looking to Listen): the speaker against another voice, noise or himself
    /// (or two shapes-world objects, configs/separation-shapes.toml); SI-SDRi, SDRi and STOI beside the mixture
    /// and the ideal masks, WAVs and spectrograms.
    Separation(RunArgs),
    /// The caption encoder of text-to-image: an LSTM matched to the mnist encoder's pictures (InfoNCE over
    /// captions of each digit), then frozen.
    TextEmbedding(RunArgs),
    /// GAN-INT-CLS (or an ablation: configs/text-to-image-*.toml) on MNIST with text; consistency, FID and
    /// diversity by the mnist classifier, and pictures.
    TextToImage(RunArgs),
}

#[derive(Subcommand)]
pub enum EvalTask {
    /// Word vectors: analogies per section, WordSim353 and SimLex-999, nearest neighbours; the last line is JSON.
    Word2vec(crate::word2vec::EvalArgs),
    /// A saved mnist run.
    Mnist(EvalArgs),
    /// A saved fsdd run.
    Fsdd(EvalArgs),
    /// A saved esc10 run (all five folds).
    Esc10(EvalArgs),
    /// A saved shapes run.
    Shapes(EvalArgs),
    /// A saved tagging run: its full report (tagging.json, retrieval.png, joint-space.png).
    Tagging(EvalArgs),
    /// A saved recipe run: retrieval on its test sets (recipe.json).
    Recipe(EvalArgs),
    /// A saved soundnet run: the student's accuracy and the layer probes (soundnet.json, probes.png); or several
    /// runs' reports summarised (--summarise).
    Soundnet(crate::matching::SoundNetEvalArgs),
    /// A saved show-and-tell run: BLEU-1..4, CIDEr-D and truthfulness (the test split rewrites captions.json).
    ShowAndTell(EvalArgs),
    /// A saved show-attend-tell run: the same, and where the attention falls.
    ShowAttendTell(EvalArgs),
    /// A saved vqa run: the per-type table (vqa.json rewritten); --compare adds other runs' saved tables.
    Vqa(CompareEvalArgs),
    /// A saved localisation run: cIoU, AUC and pointing (localisation.json, heatmaps.png rewritten); --compare
    /// adds other runs' saved reports.
    Localisation(CompareEvalArgs),
    /// A saved separation run: SI-SDRi, SDRi, STOI per kind of mixture (separation.json and examples/ rewritten);
    /// --compare adds other runs' saved reports.
    Separation(CompareEvalArgs),
    /// A saved text-embedding run: classification by held-out sentences, both directions.
    TextEmbedding(EvalArgs),
    /// A saved text-to-image run: its report (text_to_image.json and the pictures rewritten); --compare adds
    /// other runs' saved reports (the ablation table).
    TextToImage(CompareEvalArgs),
}

/// What every runner task takes on the command line; flags override the config file.
#[derive(Args, Clone, Default)]
pub struct RunArgs {
    /// Task config, JSON (.json) or TOML; fields left out keep their defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// flex (CPU) or wgpu (GPU). Default: MM_DEVICE, else flex.
    #[arg(long)]
    pub device: Option<DeviceKind>,
    /// Data-parallel training: devices that share every batch, comma-separated (`wgpu:0,wgpu:1`; `flex,flex`
    /// runs two replicas on the CPU). The first holds the weights.
    #[arg(long, value_delimiter = ',')]
    devices: Vec<Replica>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Use only the first N training (and validation and test) examples: a quick run.
    #[arg(long)]
    limit: Option<usize>,
    /// Data root (default: MM_DATA_DIR, else ./data, else ../shared/data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// Continue an interrupted run from its newest checkpoint: the given run folder, or runs/TASK/latest.
    #[arg(long, num_args = 0..=1, value_name = "RUN")]
    resume: Option<Option<PathBuf>>,
    /// Stop after this many epochs, as if interrupted (resume later with --resume).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Run folder (default: runs/TASK/latest).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Data root (default: MM_DATA_DIR, else ./data, else ../shared/data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// train, valid or test.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// flex or wgpu.
    #[arg(long)]
    pub device: Option<DeviceKind>,
}

impl RunArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            device: self.device,
            devices: (!self.devices.is_empty()).then(|| self.devices.clone()),
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            seed: self.seed,
            limit: self.limit,
        }
    }

    /// The config (file, then flags) and the run folder: a new one, or the one to resume with its saved config.
    pub fn prepare<T: Task>(&self) -> Result<(T::Config, RunDir, bool), Failure> {
        if let Some(resume) = &self.resume {
            let mut refused = self.overrides().given();
            if self.config.is_some() {
                refused.insert(0, "--config");
            }
            if !refused.is_empty() {
                return Err(format!(
                    "--resume continues a run with the settings it was started with; {} cannot change on resume (start a new run instead)",
                    refused.join(", ")
                )
                .into());
            }
            let dir = resume.clone().unwrap_or_else(|| self.runs.join(T::NAME).join("latest"));
            let run = RunDir::open(&dir).map_err(|e| format!("--resume {}: {e}", dir.display()))?;
            let config = load_run_config::<T>(run.path())?;
            return Ok((config, run, true));
        }
        let mut config = match &self.config {
            Some(path) => load_task_config::<T>(path)?,
            None => T::Config::default(),
        };
        self.overrides().apply(T::train_config_mut(&mut config));
        T::train_config(&config).check()?;
        let run = RunDir::create(&self.runs, T::NAME, T::train_config(&config).seed)?;
        Ok((config, run, false))
    }
}

/// A task config, or a run's config.json (to start a new run with the settings of an old one). A run of
/// another task says whose it is; so does a config that only another task's settings read.
fn load_task_config<T: Task>(path: &Path) -> Result<T::Config, Failure> {
    if let Ok(run) = load_config::<RunFile<serde::de::IgnoredAny>>(path) {
        if run.task != T::NAME {
            return Err(format!("--config {}: the config of a {} run, not a {} run", path.display(), run.task, T::NAME).into());
        }
        return Ok(load_config::<RunFile<T::Config>>(path)?.config);
    }
    load_config::<T::Config>(path).map_err(|error| {
        let owners: Vec<&str> = TASK_CONFIGS.iter().filter(|(name, reads)| *name != T::NAME && reads(path)).map(|(name, _)| *name).collect();
        match owners.as_slice() {
            [] => error.into(),
            owners => format!("--config {}: a {} config, not a {} config ({error})", path.display(), owners.join(" or "), T::NAME).into(),
        }
    })
}

/// Whether a file reads as `T`'s config.
fn reads_as<T: Task>(path: &Path) -> bool {
    load_config::<T::Config>(path).is_ok()
}

/// Whether a file reads as one task's config.
type ReadsAs = fn(&Path) -> bool;

/// Every runner task by name, with whether a file reads as its config.
const TASK_CONFIGS: &[(&str, ReadsAs)] = &[
    (Mnist::NAME, reads_as::<Mnist>),
    (FsddDigits::NAME, reads_as::<FsddDigits>),
    (Esc10Sounds::NAME, reads_as::<Esc10Sounds>),
    (Shapes::NAME, reads_as::<Shapes>),
    (mm_tasks::matching::tagging::Tagging::NAME, reads_as::<mm_tasks::matching::tagging::Tagging>),
    (mm_tasks::matching::recipe::Recipe::NAME, reads_as::<mm_tasks::matching::recipe::Recipe>),
    (mm_tasks::matching::soundnet::SoundNet::NAME, reads_as::<mm_tasks::matching::soundnet::SoundNet>),
    (mm_tasks::translating::show_and_tell::ShowAndTellTask::NAME, reads_as::<mm_tasks::translating::show_and_tell::ShowAndTellTask>),
    (mm_tasks::translating::show_attend_tell::ShowAttendTellTask::NAME, reads_as::<mm_tasks::translating::show_attend_tell::ShowAttendTellTask>),
    (mm_tasks::referencing::vqa::Vqa::NAME, reads_as::<mm_tasks::referencing::vqa::Vqa>),
    (mm_tasks::referencing::localisation::Localisation::NAME, reads_as::<mm_tasks::referencing::localisation::Localisation>),
    (mm_tasks::referencing::separation::Separation::NAME, reads_as::<mm_tasks::referencing::separation::Separation>),
    (
        mm_tasks::translating::text_to_image::text_embedding::TextEmbedding::NAME,
        reads_as::<mm_tasks::translating::text_to_image::text_embedding::TextEmbedding>,
    ),
    (mm_tasks::translating::text_to_image::TextToImage::NAME, reads_as::<mm_tasks::translating::text_to_image::TextToImage>),
];

pub fn train(task: Option<TrainTask>) -> Result<ExitCode, Failure> {
    match task.unwrap_or(TrainTask::Shapes(RunArgs { runs: "runs".into(), ..Default::default() })) {
        TrainTask::Word2vec(args) => crate::word2vec::train_command(args),
        TrainTask::Mnist(args) => train_one::<Mnist>(&args),
        TrainTask::Fsdd(args) => train_one::<FsddDigits>(&args),
        TrainTask::Shapes(args) => train_one::<Shapes>(&args),
        TrainTask::Tagging(args) => crate::matching::train_tagging(&args),
        TrainTask::Recipe(args) => crate::matching::train_recipe(&args),
        TrainTask::Soundnet(args) => crate::matching::train_soundnet(&args),
        TrainTask::ShowAndTell(args) => crate::translating::train_captioner::<mm_tasks::translating::show_and_tell::ShowAndTellTask>(&args),
        TrainTask::ShowAttendTell(args) => crate::translating::train_captioner::<mm_tasks::translating::show_attend_tell::ShowAttendTellTask>(&args),
        TrainTask::Vqa(args) => crate::referencing::train_vqa(&args),
        TrainTask::Localisation(args) => crate::localisation::train_localisation(&args),
        TrainTask::Separation(args) => crate::separation::train_separation(&args),
        TrainTask::TextEmbedding(args) => train_one::<mm_tasks::translating::text_to_image::text_embedding::TextEmbedding>(&args),
        TrainTask::TextToImage(args) => crate::text_to_image::train(&args),
        TrainTask::Esc10(args) => train_esc10(&args),
        TrainTask::Encoders(args) => {
            for step in [train_one::<Mnist>, train_one::<FsddDigits>, train_esc10, train_one::<Shapes>] {
                step(&args)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn train_one<T: Task>(args: &RunArgs) -> Result<ExitCode, Failure> {
    train_run::<T>(args)?;
    Ok(ExitCode::SUCCESS)
}

/// Trains `T` as the flags say and prints what it saved; returns the run folder when the run finished.
pub fn train_run<T: Task>(args: &RunArgs) -> Result<Option<PathBuf>, Failure> {
    let (config, run, resume) = args.prepare::<T>()?;
    train_prepared::<T>(&config, &run, resume, args)
}

/// Trains `T` with `config` in `run` and prints what it saved; returns the run folder when the run finished.
fn train_prepared<T: Task>(config: &T::Config, run: &RunDir, resume: bool, args: &RunArgs) -> Result<Option<PathBuf>, Failure> {
    let root = DataRoot::from_flag(args.data.as_deref());
    let trained = train_task::<T>(config, &root, run, resume, args.stop_after)?;
    let dir = trained.run.path();
    println!("{}: run folder {}", T::NAME, dir.display());
    for file in [CONFIG_FILE, METRICS_FILE, CURVES_FILE, EVENTS_FILE, MODEL_FILE, EVALUATION_FILE] {
        if dir.join(file).exists() {
            println!("  {}", dir.join(file).display());
        }
    }
    let steps = &trained.outcome.steps_trained;
    println!("trained steps {}..{} in this process", steps.start, steps.end);
    match trained.evaluation {
        Some(scores) => {
            let best = trained.outcome.best.map_or(0, |b| b.epoch);
            println!("test split (the weights of epoch {best}, the best by validation): {}", headline(&scores));
            println!("{}", serde_json::to_string(&scores)?);
            Ok(Some(dir.to_path_buf()))
        }
        None => {
            println!("stopped after epoch {}; continue with --resume {}", trained.outcome.history.len(), dir.display());
            Ok(None)
        }
    }
}

fn train_esc10(args: &RunArgs) -> Result<ExitCode, Failure> {
    let (config, run, resume) = args.prepare::<Esc10Sounds>()?;
    let root = DataRoot::from_flag(args.data.as_deref());
    match train_folds(&config, &root, &run, resume, args.stop_after)? {
        Some(summary) => {
            println!("esc10: run folder {} (one sub-folder per fold)", run.path().display());
            for fold in &summary.folds {
                println!("  fold {}: accuracy {:.4}", fold.fold, fold.accuracy);
            }
            println!("mean accuracy {:.4} ± {:.4}", summary.mean_accuracy, summary.std_accuracy);
            println!("{}", serde_json::to_string(&summary)?);
        }
        None => println!("stopped early; continue with --resume {}", run.path().display()),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval(task: EvalTask) -> Result<ExitCode, Failure> {
    match task {
        EvalTask::Word2vec(args) => crate::word2vec::eval_command(args),
        EvalTask::Mnist(args) => eval_one::<Mnist>(&args),
        EvalTask::Fsdd(args) => eval_one::<FsddDigits>(&args),
        EvalTask::Shapes(args) => eval_one::<Shapes>(&args),
        EvalTask::Tagging(args) => crate::matching::report_tagging(&run_folder::<mm_tasks::matching::tagging::Tagging>(&args), &args),
        EvalTask::Recipe(args) => crate::matching::report_recipe(&run_folder::<mm_tasks::matching::recipe::Recipe>(&args), &args),
        EvalTask::Soundnet(args) if !args.summarise.is_empty() => crate::matching::summarise_soundnet(&args.summarise),
        EvalTask::Soundnet(args) => crate::matching::report_soundnet(&run_folder::<mm_tasks::matching::soundnet::SoundNet>(&args.eval), &args.eval),
        EvalTask::ShowAndTell(args) => eval_captioner::<mm_tasks::translating::show_and_tell::ShowAndTellTask>(&args),
        EvalTask::ShowAttendTell(args) => eval_captioner::<mm_tasks::translating::show_attend_tell::ShowAttendTellTask>(&args),
        EvalTask::Vqa(args) => crate::referencing::eval_vqa(&args),
        EvalTask::Localisation(args) => crate::localisation::eval_localisation(&args),
        EvalTask::Separation(args) => crate::separation::eval_separation(&args),
        EvalTask::TextEmbedding(args) => eval_one::<mm_tasks::translating::text_to_image::text_embedding::TextEmbedding>(&args),
        EvalTask::TextToImage(args) => crate::text_to_image::eval(&args),
        EvalTask::Esc10(args) => {
            let run = run_folder::<Esc10Sounds>(&args);
            let summary = eval_folds(&run, &DataRoot::from_flag(args.data.as_deref()), args.device)?;
            for fold in &summary.folds {
                println!("fold {}: accuracy {:.4}", fold.fold, fold.accuracy);
            }
            println!("mean accuracy {:.4} ± {:.4}", summary.mean_accuracy, summary.std_accuracy);
            println!("{}", serde_json::to_string(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `eval` of a task whose test report other runs' saved reports can join (`--compare`).
#[derive(Args)]
pub struct CompareEvalArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Other finished runs of the task whose saved reports join the table (not evaluated again).
    #[arg(long, num_args = 1..)]
    pub compare: Vec<PathBuf>,
}

/// Evaluates the run on the test split (its report rewritten), then prints `print`'s table of it and the
/// `--compare` runs, and the scores as JSON; `report` names the report in the error for another split.
pub fn eval_with_report<T: Task>(args: &CompareEvalArgs, report: &str, print: fn(&[PathBuf]) -> Result<(), Failure>) -> Result<ExitCode, Failure> {
    let run = run_folder::<T>(&args.eval);
    let split: Split = args.eval.split.parse()?;
    if split != Split::Test {
        return Err(format!("--split {}: {report} reads the test split (validation scores are in {}/metrics.jsonl)", split.name(), run.display()).into());
    }
    let scores = eval_run::<T>(&run, &DataRoot::from_flag(args.eval.data.as_deref()), split, args.eval.device)?;
    let mut runs = vec![run];
    runs.extend(args.compare.iter().cloned());
    print(&runs)?;
    println!("{}", serde_json::to_string(&scores)?);
    Ok(ExitCode::SUCCESS)
}

pub fn run_folder<T: Task>(args: &EvalArgs) -> PathBuf {
    args.run.clone().unwrap_or_else(|| Path::new("runs").join(T::NAME).join("latest"))
}

/// The scores without their per-class parts, as `name value` pairs.
fn headline(scores: &Scores) -> String {
    scores.iter().filter(|(k, _)| !k.contains('/')).map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ")
}

/// `eval` of a captioner: the scores, then (for the test split) the report it rewrote.
fn eval_captioner<T: Task>(args: &EvalArgs) -> Result<ExitCode, Failure> {
    let run = run_folder::<T>(args);
    if args.split == "test" {
        let scores = eval_run::<T>(&run, &DataRoot::from_flag(args.data.as_deref()), Split::Test, args.device)?;
        crate::translating::print_report(&run)?;
        println!("{}", serde_json::to_string(&scores)?);
        return Ok(ExitCode::SUCCESS);
    }
    eval_one::<T>(args)
}

fn eval_one<T: Task>(args: &EvalArgs) -> Result<ExitCode, Failure> {
    let run = run_folder::<T>(args);
    let split: Split = args.split.parse()?;
    let scores = eval_run::<T>(&run, &DataRoot::from_flag(args.data.as_deref()), split, args.device)?;
    println!("{} ({}), {} split: {}", T::NAME, run.display(), split.name(), headline(&scores));
    for (name, value) in scores.iter().filter(|(k, _)| k.contains('/')) {
        println!("  {name}: {value:.4}");
    }
    println!("{}", serde_json::to_string(&scores)?);
    Ok(ExitCode::SUCCESS)
}
