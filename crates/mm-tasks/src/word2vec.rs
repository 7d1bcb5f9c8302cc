//! word2vec as a system: skip-gram trained on the data root's corpus (or any), the vectors saved, and their
//! evaluation (analogies per section, WordSim353, SimLex-999) saved beside them; `eval` evaluates any vectors
//! again, with nearest neighbours. The trainer itself is mm-text's; word2vec does not go through the runner (it
//! is plain SGD over f32 buffers on every core, not a burn model).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mm_text::Corpus;
use mm_text::evaluate::{Benchmarks, Report, nearest, unit_rows};
use mm_text::vectors::WordVectors;
use mm_text::word2vec::{Progress, SkipGramConfig, train};
use serde::Serialize;

use crate::data::{DataRoot, Dataset};
use crate::data_error;
use crate::runner::{RunError, write_atomically};

/// What `train word2vec` asks for.
#[derive(Debug, Clone)]
pub struct Word2vecRequest {
    /// The corpus (none: the data root's `text/corpus.txt.gz`): plain or gzipped, one sentence or document a line.
    pub corpus: Option<PathBuf>,
    /// Where the vectors go; the extension picks the format (`.bin`, `.txt`/`.vec`, `.safetensors`). The
    /// evaluation goes beside it as `NAME.eval.json`.
    pub out: PathBuf,
    /// The data root, for the corpus and the evaluation sets.
    pub data: DataRoot,
    /// Analogies search this many most frequent words.
    pub restrict: usize,
    /// The trainer's settings.
    pub config: SkipGramConfig,
}

/// What `train word2vec` saves beside the vectors, and returns.
#[derive(Debug, Clone, Serialize)]
pub struct Word2vecTrained {
    /// The corpus.
    pub corpus: PathBuf,
    /// The trainer's settings.
    pub config: SkipGramConfig,
    /// Words kept.
    pub vocabulary: usize,
    /// Tokens in the corpus.
    pub corpus_tokens: u64,
    /// Training time.
    pub wall_s: f64,
    /// Corpus tokens × epochs per second.
    pub words_per_s: f64,
    /// The vectors' evaluation.
    pub evaluation: Report,
    /// The vectors.
    #[serde(skip)]
    pub vectors: PathBuf,
    /// The evaluation's file.
    #[serde(skip)]
    pub record: PathBuf,
}

/// Trains the vectors, saves them and their evaluation (both atomically); `progress` hears the trainer.
pub fn train_word2vec(request: &Word2vecRequest, progress: impl Fn(Progress) + Sync) -> Result<Word2vecTrained, RunError> {
    let text = request.data.dataset(Dataset::Text).map_err(data_error)?;
    let corpus_path = request.corpus.clone().unwrap_or_else(|| text.join("corpus.txt.gz"));
    let benchmarks = Benchmarks::load(&text).map_err(data_error)?;
    let corpus = Corpus::open(&corpus_path).map_err(data_error)?;
    let started = Instant::now();
    let model = train(&corpus, &request.config, progress).map_err(data_error)?;
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(parent) = request.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| RunError::io(parent, e))?;
    }
    let vectors = model.vectors();
    vectors.save(&request.out).map_err(data_error)?;
    let record = request.out.with_extension("eval.json");
    let trained = Word2vecTrained {
        corpus: corpus_path,
        config: request.config,
        vocabulary: vectors.len(),
        corpus_tokens: model.vocabulary.corpus_tokens(),
        wall_s,
        words_per_s: model.vocabulary.corpus_tokens() as f64 * request.config.epochs as f64 / wall_s,
        evaluation: benchmarks.evaluate(&vectors, request.restrict),
        vectors: request.out.clone(),
        record,
    };
    write_atomically(&trained.record, &serde_json::to_vec_pretty(&trained).expect("a record serialises"))?;
    Ok(trained)
}

impl fmt::Display for Word2vecTrained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "trained {} words × {} dims on {} tokens in {:.1} s ({:.0} words/s, {} threads)",
            self.vocabulary, self.config.dim, self.corpus_tokens, self.wall_s, self.words_per_s, self.config.threads
        )?;
        writeln!(f, "{}", self.evaluation)?;
        write!(f, "vectors: {}\nevaluation: {}", self.vectors.display(), self.record.display())
    }
}

impl crate::systems::Report for Word2vecTrained {
    fn json(&self) -> String {
        crate::systems::json_line(self)
    }
}

/// A word's nearest neighbours with their cosine, nearest first.
pub type Neighbours = Vec<(String, f32)>;

/// Vectors evaluated again: their size, the nearest neighbours of some words, the benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct Word2vecEvaluation {
    /// The vectors' file.
    #[serde(skip)]
    pub vectors: PathBuf,
    /// Words and dimensions.
    #[serde(skip)]
    pub shape: (usize, usize),
    /// Each asked word's eight nearest neighbours with their cosine (none: not in the vocabulary).
    #[serde(skip)]
    pub neighbours: Vec<(String, Option<Neighbours>)>,
    /// The benchmarks.
    #[serde(flatten)]
    pub report: Report,
}

/// Evaluates the vectors in `path` on the data root's benchmarks, with the nearest neighbours of `words`.
pub fn eval_word2vec(path: &Path, data: &DataRoot, restrict: usize, words: &[String]) -> Result<Word2vecEvaluation, RunError> {
    let benchmarks = Benchmarks::load(data.dataset(Dataset::Text).map_err(data_error)?).map_err(data_error)?;
    let vectors = WordVectors::load(path).map_err(data_error)?;
    let unit = unit_rows(&vectors);
    let neighbours = words.iter().map(|word| (word.clone(), nearest(&vectors, unit.view(), word, 8))).collect();
    let report = benchmarks.evaluate(&vectors, restrict);
    Ok(Word2vecEvaluation { vectors: path.to_path_buf(), shape: (vectors.len(), vectors.dim()), neighbours, report })
}

impl fmt::Display for Word2vecEvaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} words × {} dims", self.vectors.display(), self.shape.0, self.shape.1)?;
        for (word, near) in &self.neighbours {
            match near {
                Some(near) => {
                    let list: Vec<String> = near.iter().map(|(w, s)| format!("{w} {s:.2}")).collect();
                    write!(f, "\n  {word}: {}", list.join(", "))?;
                }
                None => write!(f, "\n  {word}: not in the vocabulary")?,
            }
        }
        write!(f, "\n{}", self.report)
    }
}

impl crate::systems::Report for Word2vecEvaluation {
    fn json(&self) -> String {
        crate::systems::json_line(&self.report)
    }
}
