//! `cargo xtask bench word2vec`: mm's skip-gram trainer against gensim (`reference/word2vec_reference.py`) and
//! the original word2vec.c on one corpus, same hyper-parameters and threads, in one run; every trainer's vectors
//! scored by mm's evaluator.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mm_text::Corpus;
use mm_text::evaluate::{Benchmarks, Report};
use mm_text::vectors::WordVectors;
use mm_text::word2vec::{SkipGramConfig, train};
use serde::Deserialize;

use crate::harness::{BenchError, python_with, reference_output, reference_script};

/// The corpus the bench trains on, when none is given (relative to the workspace).
pub const CORPUS: &str = "../shared/data/text/corpus.txt.gz";

/// What to train and against what.
#[derive(Debug, Clone)]
pub struct Word2vecOptions {
    /// The corpus.
    pub corpus: PathBuf,
    /// The folder with questions-words.txt, wordsim353.tsv and simlex999.txt.
    pub eval_dir: PathBuf,
    /// Every trainer's hyper-parameters.
    pub config: SkipGramConfig,
    /// Python with gensim (`None`: MM_PYTHON, else ~/.cache/mm/pyref).
    pub python: Option<PathBuf>,
    /// Train mm only.
    pub no_reference: bool,
    /// Leave out word2vec.c.
    pub no_c: bool,
}

#[derive(Deserialize)]
struct GensimResult {
    version: String,
    wall_s: f64,
    words_per_s: f64,
    analogy: f64,
    wordsim353: f64,
    simlex999: f64,
}

/// One trainer's row.
pub struct TrainerRow {
    /// The trainer and its version.
    pub trainer: String,
    /// Wall time, s.
    pub wall_s: f64,
    /// Training speed.
    pub words_per_s: f64,
    /// Analogy accuracy (by mm's evaluator).
    pub analogy: f64,
    /// WordSim353's Spearman ρ.
    pub wordsim353: f64,
    /// SimLex-999's Spearman ρ.
    pub simlex999: f64,
}

impl TrainerRow {
    fn scored(trainer: String, wall_s: f64, words: f64, report: &Report) -> Self {
        Self {
            trainer,
            wall_s,
            words_per_s: words / wall_s,
            analogy: report.analogies.accuracy,
            wordsim353: report.wordsim353.spearman,
            simlex999: report.simlex999.spearman,
        }
    }
}

/// The trainers compared: mm first.
pub struct Word2vecComparison {
    /// The options they were trained with.
    pub options: Word2vecOptions,
    /// The corpus's tokens.
    pub tokens: u64,
    /// One row per trainer.
    pub rows: Vec<TrainerRow>,
    /// Pairs mm's vectors cover: WordSim353's and SimLex-999's (covered, total).
    pub coverage: [(usize, usize); 2],
    /// gensim's own evaluator on gensim's vectors: analogy, WordSim353 ρ, SimLex-999 ρ.
    pub gensim_own: Option<[f64; 3]>,
}

/// Trains mm, gensim and word2vec.c (as asked) on the corpus and scores each one's vectors.
pub fn compare_trainers(options: Word2vecOptions) -> Result<Word2vecComparison, BenchError> {
    let config = &options.config;
    config.validate()?;
    let corpus = Corpus::open(&options.corpus)?;
    let benchmarks = Benchmarks::load(&options.eval_dir)?;
    let mut rows = Vec::new();
    let mut gensim_own = None;

    let start = Instant::now();
    let model = train(&corpus, config, |_| {})?;
    let wall = start.elapsed().as_secs_f64();
    let tokens = model.vocabulary.corpus_tokens();
    let words = tokens as f64 * config.epochs as f64;
    let report = benchmarks.evaluate(&model.vectors(), 30_000);
    rows.push(TrainerRow::scored(format!("mm {}", env!("CARGO_PKG_VERSION")), wall, words, &report));
    let coverage = [(report.wordsim353.covered, report.wordsim353.total), (report.simlex999.covered, report.simlex999.total)];

    if !options.no_reference {
        let python = python_with(options.python.clone(), "gensim", &["gensim"])?;
        let gensim_vectors = std::env::temp_dir().join(format!("mm-bench-gensim-{}.bin", std::process::id()));
        let r = run_gensim(&python, &options.corpus, &options.eval_dir, config, &gensim_vectors)?;
        // gensim's vectors are scored by mm's evaluator like every other row; gensim's own scores of them are
        // kept beside (they agree: crates/mm-text/tests/gensim_round_trip.rs).
        let vectors = WordVectors::read_binary(&gensim_vectors);
        let _ = std::fs::remove_file(&gensim_vectors);
        let report = benchmarks.evaluate(&vectors?, 30_000);
        let mut row = TrainerRow::scored(format!("gensim {}", r.version), r.wall_s, 1.0, &report);
        row.words_per_s = r.words_per_s;
        gensim_own = Some([r.analogy, r.wordsim353, r.simlex999]);
        rows.push(row);
        if !options.no_c {
            let (wall, vectors) = word2vec_c(&python, &corpus, config)?;
            rows.push(TrainerRow::scored("word2vec.c (PyPI word2vec 0.11.1)".into(), wall, words, &benchmarks.evaluate(&vectors, 30_000)));
        }
    }
    Ok(Word2vecComparison { options, tokens, rows, coverage, gensim_own })
}

/// The settings, the table (speed relative to mm, scores) and the coverage.
impl fmt::Display for Word2vecComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.options.config;
        writeln!(
            f,
            "skip-gram, negative sampling on {} ({} tokens): dim {}, window {}, negative {}, min_count {}, sample {}, \
             alpha {}, {} epoch(s), {} threads, seed {}; analogies over the 30,000 most frequent words",
            self.options.corpus.display(),
            self.tokens,
            c.dim,
            c.window,
            c.negative,
            c.min_count,
            c.sample,
            c.alpha,
            c.epochs,
            c.threads,
            c.seed
        )?;
        writeln!(f)?;
        writeln!(f, "| trainer | wall (s) | words/s | mm faster by | analogy | WordSim353 ρ | SimLex-999 ρ |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for row in &self.rows {
            writeln!(
                f,
                "| {} | {:.1} | {:.0} | {:.2}× | {:.4} | {:.4} | {:.4} |",
                row.trainer,
                row.wall_s,
                row.words_per_s,
                self.rows[0].words_per_s / row.words_per_s,
                row.analogy,
                row.wordsim353,
                row.simlex999
            )?;
        }
        writeln!(f)?;
        let [(ws, ws_total), (sl, sl_total)] = self.coverage;
        writeln!(f, "pair coverage (mm): WordSim353 {ws}/{ws_total}, SimLex-999 {sl}/{sl_total}")?;
        if let Some([analogy, wordsim353, simlex999]) = self.gensim_own {
            writeln!(
                f,
                "every row is scored by mm's evaluator; gensim's own evaluator on gensim's vectors: analogy {analogy:.4}, WordSim353 ρ {wordsim353:.4}, SimLex-999 ρ {simlex999:.4}"
            )?;
        }
        Ok(())
    }
}

/// Trains gensim with `config` by `reference/word2vec_reference.py`, saving its vectors to `vectors`.
fn run_gensim(python: &Path, corpus: &Path, eval_dir: &Path, config: &SkipGramConfig, vectors: &Path) -> Result<GensimResult, BenchError> {
    let script = reference_script("word2vec_reference.py");
    let c = config;
    reference_output(
        &script,
        Command::new(python)
            .arg(&script)
            .arg(corpus)
            .arg(eval_dir)
            .args([c.threads, c.dim, c.window, c.negative, c.min_count as usize].map(|v| v.to_string()))
            .args([c.sample.to_string(), c.alpha.to_string(), c.epochs.to_string(), c.seed.to_string()])
            .arg(vectors)
            .env("OMP_NUM_THREADS", "1"),
    )
}

/// Training speed in words/s of mm and (unless `no_reference`) gensim with its version, on the default corpus
/// with the text8 recipe and `threads` threads.
pub fn speeds(threads: usize, python: Option<PathBuf>, no_reference: bool) -> Result<(f64, Option<(String, f64)>), BenchError> {
    let corpus_path = PathBuf::from(CORPUS);
    let config = SkipGramConfig { threads, ..SkipGramConfig::default() };
    config.validate()?;
    let corpus = Corpus::open(&corpus_path)?;
    let start = Instant::now();
    let model = train(&corpus, &config, |_| {})?;
    let mm = model.vocabulary.corpus_tokens() as f64 * config.epochs as f64 / start.elapsed().as_secs_f64();
    if no_reference {
        return Ok((mm, None));
    }
    let python = python_with(python, "gensim", &["gensim"])?;
    let vectors = std::env::temp_dir().join(format!("mm-bench-gensim-{}.bin", std::process::id()));
    let eval_dir = corpus_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let r = run_gensim(&python, &corpus_path, &eval_dir, &config, &vectors);
    let _ = std::fs::remove_file(&vectors);
    let r = r?;
    Ok((mm, Some((format!("gensim {}", r.version), r.words_per_s))))
}

/// Builds the original word2vec.c (from the sdist of the PyPI package `word2vec`, which ships Mikolov's
/// source) once into ~/.cache/mm/word2vec-c, trains it on the decompressed corpus and returns its wall time
/// and vectors.
fn word2vec_c(python: &Path, corpus: &Corpus, config: &SkipGramConfig) -> Result<(f64, WordVectors), BenchError> {
    let home = std::env::var_os("HOME").ok_or_else(|| BenchError::Setup("HOME is not set".into()))?;
    let dir = Path::new(&home).join(".cache/mm/word2vec-c");
    let binary = dir.join("word2vec");
    if !binary.exists() {
        std::fs::create_dir_all(&dir)?;
        let download = Command::new(python)
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "word2vec==0.11.1", "-d"])
            .arg(&dir)
            .status()?;
        if !download.success() {
            return Err(BenchError::Setup("pip download of the word2vec sdist failed".into()));
        }
        let untar = Command::new("tar").arg("xzf").arg(dir.join("word2vec-0.11.1.tar.gz")).arg("-C").arg(&dir).status()?;
        let source = dir.join("word2vec-0.11.1/word2vec/includes/word2vec.c");
        // The flags of the original makefile.
        let built = untar.success()
            && Command::new("cc")
                .args(["-O3", "-march=native", "-funroll-loops", "-pthread", "-Wno-unused-result", "-o"])
                .arg(&binary)
                .arg(&source)
                .arg("-lm")
                .status()?
                .success();
        if !built {
            return Err(BenchError::Setup(format!("could not build {} with cc (apt-get install gcc?)", source.display())));
        }
    }
    // word2vec.c reads plain text: decompress first (not timed).
    let plain = dir.join("corpus.txt");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&plain)?);
        let mut lines = corpus.lines()?;
        while let Some(line) = lines.next_line()? {
            use std::io::Write;
            writeln!(out, "{line}")?;
        }
    }
    let output = dir.join("vectors.bin");
    let c = config;
    let start = Instant::now();
    let status = Command::new(&binary)
        .arg("-train")
        .arg(&plain)
        .arg("-output")
        .arg(&output)
        .args(["-cbow", "0", "-hs", "0", "-binary", "1"])
        .args(["-size", &c.dim.to_string(), "-window", &c.window.to_string(), "-negative", &c.negative.to_string()])
        .args(["-sample", &c.sample.to_string(), "-alpha", &c.alpha.to_string(), "-iter", &c.epochs.to_string()])
        .args(["-min-count", &c.min_count.to_string(), "-threads", &c.threads.to_string()])
        .stdout(std::process::Stdio::null())
        .status()?;
    let wall = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(BenchError::Setup(format!("{} failed", binary.display())));
    }
    let vectors = WordVectors::read_binary(&output)?;
    std::fs::remove_file(&plain)?;
    Ok((wall, vectors))
}
