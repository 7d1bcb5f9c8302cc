//! `cargo xtask train word2vec` and `cargo xtask eval word2vec`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mm_tasks::data::{DataRoot, Dataset};
use mm_text::Corpus;
use mm_text::evaluate::{Benchmarks, Report, nearest, unit_rows};
use mm_text::vectors::WordVectors;
use mm_text::word2vec::{SkipGramConfig, train};
use serde::Serialize;

use crate::Failure;

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

/// What `train word2vec` saves beside the vectors.
#[derive(Serialize)]
struct TrainingRecord<'a> {
    corpus: &'a Path,
    config: SkipGramConfig,
    vocabulary: usize,
    corpus_tokens: u64,
    wall_s: f64,
    words_per_s: f64,
    evaluation: &'a Report,
}

pub fn train_command(args: TrainArgs) -> Result<ExitCode, Failure> {
    let root = DataRoot::from_flag(args.data.as_deref());
    let corpus_path = match args.corpus {
        Some(path) => path,
        None => root.dataset(Dataset::Text)?.join("corpus.txt.gz"),
    };
    let benchmarks = Benchmarks::load(root.dataset(Dataset::Text)?)?;
    let config = args.hyper.config();
    let corpus = Corpus::open(&corpus_path)?;
    eprintln!("counting words in {} …", corpus_path.display());

    let bar = ProgressBar::new(1).with_style(ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} ETA {eta}").expect("a valid template"));
    let started = Instant::now();
    let model = train(&corpus, &config, |p| {
        bar.set_length(p.words_total);
        bar.set_position(p.words_done);
        bar.set_message(format!("{:.0} words/s, alpha {:.5}", p.words_per_second, p.alpha));
    })?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let words_per_s = model.vocabulary.corpus_tokens() as f64 * config.epochs as f64 / wall;
    println!(
        "trained {} words × {} dims on {} tokens in {wall:.1} s ({words_per_s:.0} words/s, {} threads)",
        model.vocabulary.len(),
        config.dim,
        model.vocabulary.corpus_tokens(),
        config.threads
    );

    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let vectors = model.vectors();
    vectors.save(&args.out)?;
    let report = benchmarks.evaluate(&vectors, args.restrict);
    print_report(&report);
    let record = TrainingRecord {
        corpus: &corpus_path,
        config,
        vocabulary: vectors.len(),
        corpus_tokens: model.vocabulary.corpus_tokens(),
        wall_s: wall,
        words_per_s,
        evaluation: &report,
    };
    let json_path = args.out.with_extension("eval.json");
    mm_files::write_bytes(&json_path, &serde_json::to_vec_pretty(&record)?).map_err(|e| format!("{}: {e}", json_path.display()))?;
    println!("vectors: {}\nevaluation: {}", args.out.display(), json_path.display());
    Ok(ExitCode::SUCCESS)
}

pub fn eval_command(args: EvalArgs) -> Result<ExitCode, Failure> {
    let root = DataRoot::from_flag(args.data.as_deref());
    let benchmarks = Benchmarks::load(root.dataset(Dataset::Text)?)?;
    let vectors = WordVectors::load(&args.vectors)?;
    println!("{}: {} words × {} dims", args.vectors.display(), vectors.len(), vectors.dim());
    let unit = unit_rows(&vectors);
    for word in &args.neighbours {
        match nearest(&vectors, unit.view(), word, 8) {
            Some(near) => {
                let list: Vec<String> = near.iter().map(|(w, s)| format!("{w} {s:.2}")).collect();
                println!("  {word}: {}", list.join(", "));
            }
            None => println!("  {word}: not in the vocabulary"),
        }
    }
    let report = benchmarks.evaluate(&vectors, args.restrict);
    print_report(&report);
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &Report) {
    let a = &report.analogies;
    println!("analogies (3CosAdd over the {} most frequent words), coverage {:.3}:", a.restrict_vocab, a.coverage);
    for section in &a.sections {
        let accuracy = section.correct as f64 / section.answered.max(1) as f64;
        println!("  {:<28} {:>5}/{:<5} {accuracy:.4}", section.name, section.correct, section.answered);
    }
    println!("  semantic {:.4}, syntactic {:.4}, all {:.4}", a.semantic_accuracy, a.syntactic_accuracy, a.accuracy);
    for (name, score) in [("WordSim353", &report.wordsim353), ("SimLex-999", &report.simlex999)] {
        println!("{name}: Spearman {:.4} over {}/{} pairs", score.spearman, score.covered, score.total);
    }
}
