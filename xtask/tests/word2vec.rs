//! `cargo xtask train word2vec` and `cargo xtask eval word2vec` end to end on a small corpus: the vectors load,
//! the evaluation JSON is written beside them, and eval's last line is the same evaluation as JSON.

use std::path::Path;
use std::process::Command;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

/// A data root with a two-topic corpus and tiny evaluation sets over its words.
fn data_root(dir: &Path) {
    let text = dir.join("text");
    std::fs::create_dir_all(&text).unwrap();
    let topics = [["cat", "dog", "horse", "cow"], ["hammer", "saw", "drill", "wrench"]];
    let mut corpus = String::new();
    let mut state = 11u64;
    for line in 0..800 {
        for _ in 0..10 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            corpus.push_str(topics[line % 2][(state >> 33) as usize % 4]);
            corpus.push(' ');
        }
        corpus.push('\n');
    }
    std::fs::write(text.join("corpus.txt"), corpus).unwrap();
    std::fs::write(text.join("questions-words.txt"), ": family\ncat dog hammer saw\n: gram1-x\ncow horse drill wrench\n").unwrap();
    // Same-topic pairs score 9, cross-topic pairs 1: with these ties, ranking every same-topic pair above every
    // cross-topic pair gives Spearman ρ = 0.866.
    let pairs = "# w1\tw2\tscore\ncat\tdog\t9\ncat\thammer\t1\nsaw\tdrill\t9\nhorse\twrench\t1\ncow\tdog\t9\n";
    std::fs::write(text.join("wordsim353.tsv"), pairs).unwrap();
    std::fs::write(text.join("simlex999.txt"), pairs).unwrap();
}

#[test]
fn trains_saves_evaluates_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    data_root(dir.path());
    let (data, corpus) = (dir.path().to_str().unwrap(), dir.path().join("text/corpus.txt"));
    let out = dir.path().join("out/vectors.txt");
    let args = ["train", "word2vec", "--data", data, "--corpus", corpus.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let run = xtask(&[&args[..], &["--dim", "12", "--min-count", "1", "--sample", "0", "--epochs", "3", "--threads", "1"]].concat());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let vectors = mm_text::vectors::WordVectors::load(&out).unwrap();
    assert_eq!((vectors.len(), vectors.dim()), (8, 12));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(out.with_extension("eval.json")).unwrap()).unwrap();
    assert_eq!(record["config"]["dim"], 12);
    let trained_spearman = record["evaluation"]["wordsim353"]["spearman"].as_f64().unwrap();
    assert!(trained_spearman > 0.8, "same-topic pairs are rated similar: {trained_spearman}");

    let eval = xtask(&["eval", "word2vec", "--vectors", out.to_str().unwrap(), "--data", data, "--neighbours", "cat"]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let stdout = String::from_utf8(eval.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last, record["evaluation"], "eval reproduces the numbers saved at training");
    assert!(stdout.contains("cat: "), "{stdout}");

    let missing = xtask(&["eval", "word2vec", "--vectors", "/nonexistent/v.bin", "--data", data]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/v.bin"));
}
