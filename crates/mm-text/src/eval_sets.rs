//! Word-vector evaluation sets: Google's analogy questions and word-similarity judgements (WordSim353, SimLex-999).

use std::path::Path;

use crate::corpus::read_small_text;
use crate::{Error, Result};

/// One analogy `a : b :: c : d`, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analogy {
    /// The four words.
    pub words: [String; 4],
}

/// A named section of analogy questions (e.g. `capital-common-countries`, `gram1-adjective-to-adverb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalogySection {
    /// Section name without the leading `: `.
    pub name: String,
    /// Its questions.
    pub questions: Vec<Analogy>,
}

impl AnalogySection {
    /// Semantic sections are the ones not prefixed `gram`, as in word2vec's `compute-accuracy`.
    pub fn is_semantic(&self) -> bool {
        !self.name.starts_with("gram")
    }
}

/// Reads `questions-words.txt`: `: section` headers, then lines of four words.
pub fn read_analogies(path: impl AsRef<Path>) -> Result<Vec<AnalogySection>> {
    let path = path.as_ref();
    let mut sections: Vec<AnalogySection> = Vec::new();
    for (i, line) in read_small_text(path)?.iter().enumerate() {
        let bad = |problem: &str| Error::Line { path: path.into(), line: i + 1, problem: problem.into() };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix(':') {
            sections.push(AnalogySection { name: name.trim().to_string(), questions: Vec::new() });
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_lowercase).collect();
        let words: [String; 4] = words.try_into().map_err(|_| bad("expected four words"))?;
        sections.last_mut().ok_or_else(|| bad("a question before the first ': section' header"))?.questions.push(Analogy { words });
    }
    if sections.is_empty() {
        return Err(Error::Invalid { path: path.into(), problem: "no analogy sections".into() });
    }
    Ok(sections)
}

/// A pair of words with a human similarity score.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarityPair {
    /// First word, lowercased.
    pub first: String,
    /// Second word, lowercased.
    pub second: String,
    /// The human judgement (0–10 in WordSim353 and SimLex-999).
    pub score: f32,
}

/// Reads a word-similarity file: `#` comment lines, then `word1<TAB>word2<TAB>score`.
pub fn read_similarity_pairs(path: impl AsRef<Path>) -> Result<Vec<SimilarityPair>> {
    let path = path.as_ref();
    let mut pairs = Vec::new();
    for (i, line) in read_small_text(path)?.iter().enumerate() {
        let bad = |problem: String| Error::Line { path: path.into(), line: i + 1, problem };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [first, second, score] = fields[..] else {
            return Err(bad(format!("expected word<TAB>word<TAB>score, got {} fields", fields.len())));
        };
        let score: f32 = score.trim().parse().map_err(|_| bad(format!("score {score:?} is not a number")))?;
        pairs.push(SimilarityPair { first: first.trim().to_lowercase(), second: second.trim().to_lowercase(), score });
    }
    if pairs.is_empty() {
        return Err(Error::Invalid { path: path.into(), problem: "no word pairs".into() });
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_pairs_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let questions = dir.path().join("q.txt");
        std::fs::write(&questions, ": capital-common-countries\nAthens Greece Baghdad Iraq\n: gram1-x\na b c d\n").unwrap();
        let sections = read_analogies(&questions).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].questions[0].words[0], "athens");
        assert!(sections[0].is_semantic() && !sections[1].is_semantic());
        std::fs::write(&questions, ": s\na b c\n").unwrap();
        assert!(read_analogies(&questions).unwrap_err().to_string().contains("q.txt:2"));

        let pairs = dir.path().join("ws.tsv");
        std::fs::write(&pairs, "# comment\n# more\nTiger\tcat\t7.35\n").unwrap();
        assert_eq!(read_similarity_pairs(&pairs).unwrap()[0], SimilarityPair { first: "tiger".into(), second: "cat".into(), score: 7.35 });
        std::fs::write(&pairs, "tiger\tcat\tmany\n").unwrap();
        assert!(read_similarity_pairs(&pairs).unwrap_err().to_string().contains("ws.tsv:1"));
    }
}
