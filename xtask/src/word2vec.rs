//! `cargo xtask train word2vec` and `cargo xtask eval word2vec`: flags, the progress bar and printing; the flow is
//! mm-tasks' `word2vec`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mm_tasks::data::DataRoot;
use mm_tasks::word2vec::{Word2vecRequest, eval_word2vec, train_word2vec};
use mm_text::word2vec::SkipGramConfig;

use crate::Failure;
use crate::train::print;

/// Every hyper-parameter of the skip-gram trainer; the defaults are word2vec.c's text8 recipe.
#[derive(Args, Debug, Clone)]
pub struct SkipGramArgs {
    /// Vector dimension.
    #[arg(long, default_value_t = SkipGramConfig::default().dim)]
    pub dim: usize,
    /// Largest distance to a predicted neighbour (each word draws its window in 1..=window).
    #[arg(long, default_value_t = SkipGramConfig::default().window)]
    pub window: usize,
    /// Negative samples per positive pair.
    #[arg(long, default_value_t = SkipGramConfig::default().negative)]
    pub negative: usize,
    /// Drop words seen fewer times.
    #[arg(long, default_value_t = SkipGramConfig::default().min_count)]
    pub min_count: u64,
    /// Keep at most this many of the most frequent words.
    #[arg(long)]
    pub max_vocab: Option<usize>,
    /// Sub-sampling threshold for frequent words (0: off).
    #[arg(long, default_value_t = SkipGramConfig::default().sample)]
    pub sample: f64,
    /// Starting learning rate (decays linearly to alpha·1e-4).
    #[arg(long, default_value_t = SkipGramConfig::default().alpha)]
    pub alpha: f32,
    /// Passes over the corpus.
    #[arg(long, default_value_t = SkipGramConfig::default().epochs)]
    pub epochs: usize,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the initial vectors and all sampling.
    #[arg(long, default_value_t = SkipGramConfig::default().seed)]
    pub seed: u64,
}

impl SkipGramArgs {
    /// The trainer's configuration.
    pub fn config(&self) -> SkipGramConfig {
        let defaults = SkipGramConfig::default();
        SkipGramConfig {
            dim: self.dim,
            window: self.window,
            negative: self.negative,
            min_count: self.min_count,
            max_vocab: self.max_vocab,
            sample: self.sample,
            alpha: self.alpha,
            epochs: self.epochs,
            threads: self.threads.unwrap_or(defaults.threads),
            seed: self.seed,
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
    /// Corpus: plain or gzipped text, one sentence or document per line (default: the data root's
    /// text/corpus.txt.gz).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Where the vectors go; the extension picks the format: .bin (word2vec binary), .txt or .vec (word2vec
    /// text), .safetensors. The evaluation is written beside it as NAME.eval.json.
    #[arg(long, short, default_value = "runs/word2vec/vectors.bin")]
    out: PathBuf,
    /// Data root, for the corpus and the evaluation sets (default: MM_DATA_DIR, else ./data, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Analogies search this many most frequent words.
    #[arg(long, default_value_t = 30_000)]
    restrict: usize,
    #[command(flatten)]
    hyper: SkipGramArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Vectors in word2vec binary (.bin or any other extension), text (.txt, .vec) or .safetensors format.
    #[arg(long)]
    vectors: PathBuf,
    /// Data root with text/questions-words.txt, wordsim353.tsv and simlex999.txt.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Analogies search this many most frequent words.
    #[arg(long, default_value_t = 30_000)]
    restrict: usize,
    /// Also print the nearest neighbours of these words.
    #[arg(long, num_args = 1.., default_values_t = ["king", "france", "computer", "river"].map(String::from))]
    neighbours: Vec<String>,
}

pub fn train_command(args: &TrainArgs) -> Result<ExitCode, Failure> {
    let request = Word2vecRequest {
        corpus: args.corpus.clone(),
        out: args.out.clone(),
        data: DataRoot::from_flag(args.data.as_deref()),
        restrict: args.restrict,
        config: args.hyper.config(),
    };
    eprintln!("counting words in {} …", request.corpus.as_deref().map_or("the data root's text/corpus.txt.gz".into(), |c| c.display().to_string()));
    let bar = ProgressBar::new(1).with_style(ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} ETA {eta}").expect("a valid template"));
    let trained = train_word2vec(&request, |p| {
        bar.set_length(p.words_total);
        bar.set_position(p.words_done);
        bar.set_message(format!("{:.0} words/s, alpha {:.5}", p.words_per_second, p.alpha));
    });
    bar.finish_and_clear();
    print(&trained?)
}

pub fn eval_command(args: &EvalArgs) -> Result<ExitCode, Failure> {
    print(&eval_word2vec(&args.vectors, &DataRoot::from_flag(args.data.as_deref()), args.restrict, &args.neighbours)?)
}
