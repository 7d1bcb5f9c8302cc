//! `cargo xtask bench …`: the flags of mm-benches' benches, each timed beside its reference in the same run;
//! prints the table each returns.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mm_benches::devices::{DevicesOptions, time_devices};
use mm_benches::families::Family;
use mm_benches::signal::{SIGNAL_INPUT, time_signal};
use mm_benches::train_step::{TrainStepOptions, time_train_steps};
use mm_benches::word2vec::{CORPUS, Word2vecOptions, compare_trainers};
use mm_tasks::DeviceKind;

use crate::Failure;
use crate::word2vec::SkipGramArgs;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Complex STFT and log-mel of a 60 s, 16 kHz signal on one thread: mm against librosa, scipy and torch.
    Signal {
        /// Input (default ../shared/bench/stft_signal.wav).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Timed calls per measurement; the median is reported.
        #[arg(long, default_value_t = 20, value_parser = crate::flags::at_least_one)]
        repeats: usize,
        /// Python with librosa, scipy, torch and torchaudio (default: MM_PYTHON, else a virtual environment in
        /// ~/.cache/mm/pyref, created and filled with pip when missing).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Time mm only.
        #[arg(long)]
        no_reference: bool,
    },
    /// word2vec skip-gram on a corpus: mm against gensim and word2vec.c, same hyper-parameters and threads, one
    /// run; prints training speed, analogy accuracy and similarity correlations.
    Word2vec(BenchWord2vecArgs),
    /// One training step of the mnist CNN (batch 64, AdamW) on flex against PyTorch, same run.
    TrainStep(TrainStepArgs),
    /// Every model family's training step and inference batch on each mm device (flex, wgpu) beside PyTorch on
    /// the CPU (same threads) and CUDA (where present), plus the STFT, log-mel and word2vec, in one table.
    Devices(DevicesArgs),
}

#[derive(Args)]
pub struct BenchWord2vecArgs {
    /// Corpus (default ../shared/data/text/corpus.txt.gz).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Folder with questions-words.txt, wordsim353.tsv and simlex999.txt (default: the corpus's folder).
    #[arg(long)]
    eval_dir: Option<PathBuf>,
    /// Python with gensim (default: MM_PYTHON, else ~/.cache/mm/pyref, filled by pip when missing).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Train mm only.
    #[arg(long)]
    no_reference: bool,
    /// Leave out word2vec.c (its source comes from the `word2vec` package on PyPI and is compiled with cc).
    #[arg(long)]
    no_c: bool,
    #[command(flatten)]
    hyper: SkipGramArgs,
}

#[derive(Args)]
pub struct TrainStepArgs {
    /// Examples per step.
    #[arg(long, default_value_t = 64, value_parser = crate::flags::at_least_one)]
    batch: usize,
    /// Timed steps; the median is reported.
    #[arg(long, default_value_t = 30, value_parser = crate::flags::at_least_one)]
    repeats: usize,
    /// Threads for PyTorch (flex uses rayon's pool: RAYON_NUM_THREADS, else every core).
    #[arg(long, value_parser = crate::flags::threads)]
    threads: Option<usize>,
    /// Also time wgpu (a software Vulkan device here, whose timings mean nothing).
    #[arg(long)]
    wgpu: bool,
    /// Python with torch (default: MM_PYTHON, else ~/.cache/mm/pyref).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Time mm only.
    #[arg(long)]
    no_reference: bool,
}

#[derive(Args)]
pub struct DevicesArgs {
    /// Families to time, comma-separated (default: all): mnist-cnn, resnet, soundnet, captioner, gan, separator.
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// mm devices, comma-separated (default: flex, and wgpu when an adapter answers).
    #[arg(long, value_delimiter = ',')]
    devices: Vec<DeviceKind>,
    /// Examples per batch for every family (default: each family's own, 64 or 16).
    #[arg(long, value_parser = crate::flags::at_least_one)]
    batch: Option<usize>,
    /// Timed calls per measurement, after five warm-up calls; the median is reported.
    #[arg(long, default_value_t = 10, value_parser = crate::flags::at_least_one)]
    repeats: usize,
    /// PyTorch's CPU threads and word2vec's (flex uses rayon's pool: RAYON_NUM_THREADS, else every core).
    #[arg(long, value_parser = crate::flags::threads)]
    threads: Option<usize>,
    /// Python with torch (default: MM_PYTHON, else ~/.cache/mm/pyref).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Time mm only.
    #[arg(long)]
    no_reference: bool,
    /// Leave out the STFT/log-mel and word2vec rows (word2vec trains on 17 M tokens, about a minute per trainer).
    #[arg(long)]
    models_only: bool,
    /// Print the table as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub fn run(command: BenchCommand) -> Result<ExitCode, Failure> {
    match command {
        BenchCommand::Signal { input, repeats, python, no_reference } => {
            let input = input.unwrap_or_else(|| SIGNAL_INPUT.into());
            print!("{}", time_signal(&input, repeats, python, no_reference)?);
        }
        BenchCommand::Word2vec(args) => {
            let corpus = args.corpus.unwrap_or_else(|| CORPUS.into());
            let eval_dir = args.eval_dir.unwrap_or_else(|| corpus.parent().unwrap_or(Path::new(".")).to_path_buf());
            let options =
                Word2vecOptions { corpus, eval_dir, config: args.hyper.config(), python: args.python, no_reference: args.no_reference, no_c: args.no_c };
            print!("{}", compare_trainers(options)?);
        }
        BenchCommand::TrainStep(args) => {
            let TrainStepArgs { batch, repeats, threads, wgpu, python, no_reference } = args;
            print!("{}", time_train_steps(TrainStepOptions { batch, repeats, threads, wgpu, python, no_reference, allocator: crate::ALLOCATOR })?);
        }
        BenchCommand::Devices(args) => {
            let DevicesArgs { families, devices, batch, repeats, threads, python, no_reference, models_only, json } = args;
            let options = DevicesOptions { families, devices, batch, repeats, threads, python, no_reference, models_only, allocator: crate::ALLOCATOR };
            let table = time_devices(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&table)?);
            } else {
                print!("{table}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
