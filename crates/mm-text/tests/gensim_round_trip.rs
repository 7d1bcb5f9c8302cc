//! Word vectors cross between mm and gensim in both word2vec formats.
//!
//! gensim → mm: the fixtures were written by gensim 4.4's `KeyedVectors.save_word2vec_format`
//! (tests/fixtures/make_gensim_vectors.py); mm must read exactly the values the script put in.
//! mm → gensim: mm writes both formats and gensim reads them back, through a Python with gensim (MM_PYTHON, else
//! ~/.cache/mm/pyref). Without one the second test says so and passes, except under CI, where .ci/run provides it.

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

fn python_with_gensim() -> Option<PathBuf> {
    let candidates = std::env::var_os("MM_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/mm/pyref/bin/python")));
    candidates.into_iter().find(|python| Command::new(python).args(["-c", "import gensim"]).output().is_ok_and(|output| output.status.success()))
}

#[test]
fn gensim_reads_what_mm_wrote() {
    let Some(python) = python_with_gensim() else {
        assert!(std::env::var_os("CI").is_none(), "CI must provide a Python with gensim (MM_PYTHON)");
        eprintln!("skipped: no Python with gensim (set MM_PYTHON)");
        return;
    };
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
