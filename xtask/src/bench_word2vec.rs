//! `cargo xtask bench word2vec`: mm's skip-gram trainer against gensim on one corpus, in one run.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use mm_text::eval_sets::{read_analogies, read_similarity_pairs};
use mm_text::evaluate::{analogies, similarity};
use mm_text::word2vec::{train, SkipGramConfig};
use mm_text::Corpus;
use serde::Deserialize;

use crate::bench::python_with;
use crate::Failure;

#[derive(Deserialize)]
struct Reference {
    version: String,
    wall_s: f64,
    words_per_s: f64,
    analogy: f64,
    wordsim353: f64,
    simlex999: f64,
}

pub fn run(
    corpus: Option<PathBuf>,
    eval_dir: Option<PathBuf>,
    threads: usize,
    python: Option<PathBuf>,
    no_reference: bool,
) -> Result<ExitCode, Failure> {
    let corpus_path = corpus.unwrap_or_else(|| "../shared/data/text/corpus.txt.gz".into());
    let eval_dir = eval_dir.unwrap_or_else(|| corpus_path.parent().unwrap_or(Path::new(".")).to_path_buf());
    let config = SkipGramConfig { threads, ..Default::default() };
    let corpus = Corpus::open(&corpus_path)?;
    let sections = read_analogies(eval_dir.join("questions-words.txt"))?;
    let wordsim = read_similarity_pairs(eval_dir.join("wordsim353.tsv"))?;
    let simlex = read_similarity_pairs(eval_dir.join("simlex999.txt"))?;

    let start = Instant::now();
    let model = train(&corpus, &config, |_| {})?;
    let wall = start.elapsed().as_secs_f64();
    let words = model.vocabulary.corpus_tokens() as f64 * config.epochs as f64;
    let vectors = model.vectors();
    let analogy = analogies(&vectors, &sections, 30_000);
    let (ws, sl) = (similarity(&vectors, &wordsim), similarity(&vectors, &simlex));

    let reference = if no_reference {
        None
    } else {
        let python = python_with(python, "gensim", &["gensim"])?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reference/word2vec_reference.py");
        let c = &config;
        let output = Command::new(&python)
            .arg(&script)
            .arg(&corpus_path)
            .arg(&eval_dir)
            .args([c.threads, c.dim, c.window, c.negative, c.min_count as usize].map(|v| v.to_string()))
            .args([c.sample.to_string(), c.alpha.to_string(), c.epochs.to_string()])
            .env("OMP_NUM_THREADS", "1")
            .output()?;
        if !output.status.success() {
            return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr)).into());
        }
        Some(serde_json::from_slice::<Reference>(&output.stdout)?)
    };

    println!(
        "skip-gram, negative sampling on {} ({} tokens): dim {}, window {}, negative {}, min_count {}, sample {}, \
         alpha {}, {} epoch(s), {threads} threads; analogies over the 30,000 most frequent words",
        corpus_path.display(),
        model.vocabulary.corpus_tokens(),
        config.dim,
        config.window,
        config.negative,
        config.min_count,
        config.sample,
        config.alpha,
        config.epochs
    );
    println!();
    println!("| trainer | wall (s) | words/s | analogy | WordSim353 ρ | SimLex-999 ρ |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| mm {} | {wall:.1} | {:.0} | {:.4} | {:.4} | {:.4} |",
        env!("CARGO_PKG_VERSION"),
        words / wall,
        analogy.accuracy,
        ws.spearman,
        sl.spearman
    );
    if let Some(r) = reference {
        println!(
            "| gensim {} | {:.1} | {:.0} | {:.4} | {:.4} | {:.4} |",
            r.version, r.wall_s, r.words_per_s, r.analogy, r.wordsim353, r.simlex999
        );
        println!();
        println!("mm / gensim words per second: {:.2}×", words / wall / r.words_per_s);
    }
    println!("pair coverage: WordSim353 {}/{}, SimLex-999 {}/{}; analogy coverage {:.3}", ws.covered, ws.total, sl.covered, sl.total, analogy.coverage);
    Ok(ExitCode::SUCCESS)
}
