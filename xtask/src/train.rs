//! `cargo xtask train [TASK]` and `cargo xtask eval TASK`: the tasks of mm-tasks through the runner.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mm_tasks::runner::{EvalRequest, Overrides, TrainRequest};
use mm_tasks::systems::{Report, config_owners, system};
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
    Tagging(TaggingArgs),
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
    Soundnet(SoundNetEvalArgs),
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
    /// Read the test split drawn from this seed instead of the run's own (for the systems whose test data is
    /// generated); the reports go to RUN/test-seed-N/. Use a seed no command has printed.
    #[arg(long)]
    pub test_seed: Option<u64>,
}

impl RunArgs {
    /// The request these flags make.
    pub fn request(&self) -> TrainRequest {
        TrainRequest {
            config: self.config.clone(),
            overrides: Overrides {
                device: self.device,
                devices: (!self.devices.is_empty()).then(|| self.devices.clone()),
                epochs: self.epochs,
                batch_size: self.batch_size,
                lr: self.lr,
                seed: self.seed,
                limit: self.limit,
            },
            data: self.data.clone(),
            runs: self.runs.clone(),
            resume: self.resume.clone(),
            stop_after: self.stop_after,
            config_owners: Some(config_owners),
        }
    }
}

impl EvalArgs {
    /// The request these flags make, with `compare` runs beside the run.
    pub fn request(&self, compare: &[PathBuf]) -> Result<EvalRequest, Failure> {
        Ok(EvalRequest {
            run: self.run.clone(),
            data: self.data.clone(),
            split: self.split.parse()?,
            device: self.device,
            compare: compare.to_vec(),
            test_seed: self.test_seed,
        })
    }
}

/// Prints a report: its text, then its JSON on the last line.
pub fn print(report: &dyn Report) -> Result<ExitCode, Failure> {
    println!("{report}");
    println!("{}", report.json());
    Ok(ExitCode::SUCCESS)
}

pub fn train(task: Option<TrainTask>) -> Result<ExitCode, Failure> {
    let task = task.unwrap_or(TrainTask::Shapes(RunArgs { runs: "runs".into(), ..Default::default() }));
    let (name, args) = match &task {
        TrainTask::Word2vec(args) => return crate::word2vec::train_command(args),
        TrainTask::Tagging(args) if args.zero_shot => return print(&*mm_tasks::matching::tagging::zero_shot_command(&args.run.request())?),
        TrainTask::Encoders(args) => {
            for name in ["mnist", "fsdd", "esc10", "shapes"] {
                print(&*(system(name)?.train)(&args.request())?)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        TrainTask::Mnist(args) => ("mnist", args),
        TrainTask::Fsdd(args) => ("fsdd", args),
        TrainTask::Esc10(args) => ("esc10", args),
        TrainTask::Shapes(args) => ("shapes", args),
        TrainTask::Tagging(args) => ("tagging", &args.run),
        TrainTask::Recipe(args) => ("recipe", args),
        TrainTask::Soundnet(args) => ("soundnet", args),
        TrainTask::ShowAndTell(args) => ("show-and-tell", args),
        TrainTask::ShowAttendTell(args) => ("show-attend-tell", args),
        TrainTask::Vqa(args) => ("vqa", args),
        TrainTask::Localisation(args) => ("localisation", args),
        TrainTask::Separation(args) => ("separation", args),
        TrainTask::TextEmbedding(args) => ("text-embedding", args),
        TrainTask::TextToImage(args) => ("text-to-image", args),
    };
    print(&*(system(name)?.train)(&args.request())?)
}

pub fn eval(task: EvalTask) -> Result<ExitCode, Failure> {
    let (name, args, compare): (&str, &EvalArgs, &[PathBuf]) = match &task {
        EvalTask::Word2vec(args) => return crate::word2vec::eval_command(args),
        EvalTask::Soundnet(args) if !args.summarise.is_empty() => return print(&mm_tasks::matching::soundnet::summarise(&args.summarise)?),
        EvalTask::Mnist(args) => ("mnist", args, &[]),
        EvalTask::Fsdd(args) => ("fsdd", args, &[]),
        EvalTask::Esc10(args) => ("esc10", args, &[]),
        EvalTask::Shapes(args) => ("shapes", args, &[]),
        EvalTask::Tagging(args) => ("tagging", args, &[]),
        EvalTask::Recipe(args) => ("recipe", args, &[]),
        EvalTask::Soundnet(args) => ("soundnet", &args.eval, &[]),
        EvalTask::ShowAndTell(args) => ("show-and-tell", args, &[]),
        EvalTask::ShowAttendTell(args) => ("show-attend-tell", args, &[]),
        EvalTask::TextEmbedding(args) => ("text-embedding", args, &[]),
        EvalTask::Vqa(args) => ("vqa", &args.eval, &args.compare),
        EvalTask::Localisation(args) => ("localisation", &args.eval, &args.compare),
        EvalTask::Separation(args) => ("separation", &args.eval, &args.compare),
        EvalTask::TextToImage(args) => ("text-to-image", &args.eval, &args.compare),
    };
    print(&*(system(name)?.eval)(&args.request(compare)?)?)
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
