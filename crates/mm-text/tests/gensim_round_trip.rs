//! Word vectors cross between mm and gensim in both word2vec formats, and mm's evaluator gives gensim's numbers.
//!
//! gensim → mm: the fixtures were written by gensim 4.4's `KeyedVectors.save_word2vec_format`
//! (tests/fixtures/make_gensim_vectors.py); mm must read exactly the values the script put in.
//! mm → gensim: mm writes both formats and gensim reads them back, through a Python with gensim (MM_PYTHON, else
//! ~/.cache/mm/pyref). Without one the second test says so and passes, except under CI, where .ci/run provides it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use mm_text::vectors::WordVectors;

fn expected() -> WordVectors {
    let words = ["the", "café", "naïve", "x"].map(String::from).to_vec();
    let data = (0..4).flat_map(|i| (0..5).map(move |j| (5 * i + j) as f32 / 8.0 - 1.5)).collect();
    WordVectors::new(words, 5, data)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn reads_what_gensim_wrote() {
    assert_eq!(WordVectors::read_text(fixture("gensim_vectors.txt")).unwrap(), expected());
    assert_eq!(WordVectors::read_binary(fixture("gensim_vectors.bin")).unwrap(), expected());
}

/// A Python with gensim, or None with a note (a test then passes without comparing), except under CI.
fn python_with_gensim() -> Option<PathBuf> {
    let candidates = std::env::var_os("MM_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/mm/pyref/bin/python")));
    let found = candidates.into_iter().find(|python| Command::new(python).args(["-c", "import gensim"]).output().is_ok_and(|output| output.status.success()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must provide a Python with gensim (MM_PYTHON)");
        let _ = writeln!(std::io::stderr(), "{}: skipped: no Python with gensim (set MM_PYTHON)", std::thread::current().name().unwrap_or("test"));
    }
    found
}

#[test]
fn gensim_reads_what_mm_wrote() {
    let Some(python) = python_with_gensim() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (text, binary) = (dir.path().join("mm.txt"), dir.path().join("mm.bin"));
    expected().write_text(&text).unwrap();
    expected().write_binary(&binary).unwrap();
    let script = r#"
import json, sys
from gensim.models import KeyedVectors
out = {}
for path, binary in ((sys.argv[1], False), (sys.argv[2], True)):
    kv = KeyedVectors.load_word2vec_format(path, binary=binary)
    out[path] = {"words": list(kv.index_to_key), "vectors": kv.vectors.astype(float).ravel().tolist()}
print(json.dumps(out))
"#;
    let output = Command::new(&python).args(["-c", script]).arg(&text).arg(&binary).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for path in [&text, &binary] {
        let entry = &read[path.to_str().unwrap()];
        let words: Vec<String> = serde_json::from_value(entry["words"].clone()).unwrap();
        let vectors: Vec<f32> = serde_json::from_value::<Vec<f64>>(entry["vectors"].clone()).unwrap().iter().map(|&v| v as f32).collect();
        assert_eq!(WordVectors::new(words, 5, vectors), expected(), "{}", path.display());
    }
}

/// mm's evaluator gives gensim's numbers on the same vectors: `evaluate_word_analogies` (3CosAdd over the 30,000
/// most frequent words, case-insensitive) and `evaluate_word_pairs` (Spearman ρ on the covered pairs). The
/// vectors are mm's skip-gram trained briefly on the Lee corpus, so that some analogies are right, most wrong, and
/// many pairs are out of vocabulary: every part of both evaluators is exercised.
#[test]
fn the_evaluator_gives_gensims_numbers() {
    let Some(python) = python_with_gensim() else { return };
    let text_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/text");
    if !text_dir.exists() {
        assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", text_dir.display());
        return;
    }
    let corpus = mm_text::Corpus::open(text_dir.join("lee_background.cor")).unwrap();
    let config = mm_text::word2vec::SkipGramConfig { dim: 50, epochs: 20, threads: 1, min_count: 2, sample: 0.0, ..Default::default() };
    let vectors = mm_text::word2vec::train(&corpus, &config, |_| {}).unwrap().vectors();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lee.bin");
    vectors.write_binary(&path).unwrap();
    let ours = mm_text::evaluate::Benchmarks::load(&text_dir).unwrap().evaluate(&vectors, 30_000);

    let script = r#"
import json, sys
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
accuracy, sections = kv.evaluate_word_analogies(sys.argv[2] + "/questions-words.txt", restrict_vocab=30000)
answered = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections if s["section"] != "Total accuracy")
out = {"analogy": accuracy, "answered": answered}
for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
    pearson, spearman, oov = kv.evaluate_word_pairs(sys.argv[2] + "/" + file)
    out[name] = spearman.statistic
    out[name + "_oov_percent"] = oov
print(json.dumps(out))
"#;
    let output = Command::new(&python).args(["-c", script]).arg(&path).arg(&text_dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let gensim: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let number = |key: &str| gensim[key].as_f64().unwrap_or_else(|| panic!("gensim gave no {key}: {gensim}"));
    let answered: usize = ours.analogies.sections.iter().map(|s| s.answered).sum();
    assert!(answered > 100 && ours.analogies.accuracy > 0.0, "too few analogies to compare: {answered}, {}", ours.analogies.accuracy);
    assert_eq!(answered as f64, number("answered"), "analogies answered");
    assert!((ours.analogies.accuracy - number("analogy")).abs() < 1e-12, "analogy accuracy {} vs gensim {}", ours.analogies.accuracy, number("analogy"));
    for (name, score) in [("wordsim353", &ours.wordsim353), ("simlex999", &ours.simlex999)] {
        assert!((score.spearman - number(name)).abs() < 1e-9, "{name}: ρ {} vs gensim {}", score.spearman, number(name));
        let oov_percent = 100.0 * (score.total - score.covered) as f64 / score.total as f64;
        assert!((oov_percent - number(&format!("{name}_oov_percent"))).abs() < 1e-9, "{name}: {oov_percent}% out of vocabulary");
    }
    println!("analogies {answered} answered, accuracy {:.4}; ρ {:.4} / {:.4}", ours.analogies.accuracy, ours.wordsim353.spearman, ours.simlex999.spearman);
}
