//! Caption metrics as coco-caption (pycocoevalcap) computes them: corpus BLEU-1 … 4 and CIDEr-D, on lower-cased
//! tokens with punctuation removed. The numbers equal the reference package's to 1e-6
//! (`tests/caption_metrics_parity.rs`, fixtures made by `tests/reference/make_caption_metrics_reference.py`).
//!
//! ```
//! use mm_generate::caption_metrics::{CaptionSet, tokenize};
//!
//! let mut set = CaptionSet::new();
//! set.push(tokenize("A red circle."), vec![tokenize("a red circle"), tokenize("one red circle")]).unwrap();
//! set.push(tokenize("two blue squares"), vec![tokenize("two blue squares"), tokenize("two squares, both blue")]).unwrap();
//! let bleu = set.bleu(); // BLEU-1 … BLEU-4
//! let cider = set.cider_d();
//! // Every candidate word and pair is in a reference of the same length.
//! assert!((bleu[0] - 1.0).abs() < 1e-6 && (bleu[1] - 1.0).abs() < 1e-6);
//! assert!(cider.mean > 1.0 && cider.per_caption.len() == 2);
//! ```

mod bleu;
mod cider;
mod ngrams;

pub use cider::CiderD;

use thiserror::Error;

/// What can be wrong with a caption set.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MetricError {
    /// An item with no reference caption.
    #[error("caption {index} has no reference captions")]
    NoReferences {
        /// The item's position.
        index: usize,
    },
}

/// coco-caption's punctuation tokens (PTBTokenizer's), removed before scoring.
const PUNCTUATION: [&str; 17] = ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"];

/// A caption as the metrics read it: lower-cased, split into words and punctuation (as the Penn Treebank tokenizer
/// splits a sentence's common cases: trailing punctuation, brackets, quotes, "'s" and "n't"), punctuation dropped.
pub fn tokenize(caption: &str) -> Vec<String> {
    let lower = caption.to_lowercase();
    let mut spaced = String::with_capacity(lower.len() + 16);
    let chars: Vec<char> = lower.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '.' | ',' | '?' | '!' | ';' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '"' => {
                // A point or comma between digits (3.5, 1,000) stays in its number.
                let inside_number = matches!(c, '.' | ',') && i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if inside_number {
                    spaced.push(c);
                } else {
                    spaced.push(' ');
                    spaced.push(c);
                    spaced.push(' ');
                }
            }
            '\'' => {
                // "dog's" → "dog 's", "don't" → "do n't"; other apostrophes stand alone.
                let next = chars.get(i + 1).copied();
                if i > 0 && chars[i - 1] == 'n' && next == Some('t') {
                    spaced.pop();
                    spaced.push_str(" n'");
                } else if i > 0 && chars[i - 1].is_alphanumeric() && next.is_some_and(|n| n.is_alphabetic()) {
                    spaced.push_str(" '");
                } else {
                    spaced.push_str(" ' ");
                }
            }
            _ => spaced.push(c),
        }
    }
    spaced
        .split_whitespace()
        .filter(|token| !PUNCTUATION.contains(token) && !matches!(*token, "(" | ")" | "[" | "]" | "{" | "}" | "\""))
        .map(str::to_string)
        .collect()
}

/// Candidate captions, one per picture, each with its reference captions: what the corpus metrics score.
#[derive(Debug, Clone, Default)]
pub struct CaptionSet {
    candidates: Vec<Vec<String>>,
    references: Vec<Vec<Vec<String>>>,
}

impl CaptionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one picture's candidate (tokens) and its references (at least one).
    pub fn push(&mut self, candidate: Vec<String>, references: Vec<Vec<String>>) -> Result<(), MetricError> {
        if references.is_empty() {
            return Err(MetricError::NoReferences { index: self.candidates.len() });
        }
        self.candidates.push(candidate);
        self.references.push(references);
        Ok(())
    }

    /// How many pictures.
    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// Corpus BLEU-1 … BLEU-4 (coco-caption's `Bleu(4)`: clipped n-gram counts summed over the set, the closest
    /// reference length, one brevity penalty for the set). All zeros for an empty set.
    pub fn bleu(&self) -> [f64; 4] {
        bleu::corpus_bleu(&self.candidates, &self.references)
    }

    /// CIDEr-D (coco-caption's `Cider`: tf-idf over this set's references, σ = 6 length penalty, clipped counts,
    /// × 10), the mean and each picture's.
    pub fn cider_d(&self) -> CiderD {
        cider::cider_d(&self.candidates, &self.references)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn tokens_are_lower_case_without_punctuation() {
        assert_eq!(tokenize("A Dog's ball, on the grass."), words("a dog 's ball on the grass"));
        assert_eq!(tokenize("It isn't (really) 3.5 metres!"), words("it is n't really 3.5 metres"));
        assert_eq!(tokenize("  \"Two\" cats; one dog - ok?"), words("two cats one dog ok"));
        assert!(tokenize("...").is_empty());
    }

    #[test]
    fn a_picture_without_references_is_refused() {
        let mut set = CaptionSet::new();
        set.push(words("a cat"), vec![words("a cat")]).unwrap();
        assert_eq!(set.push(words("a dog"), vec![]), Err(MetricError::NoReferences { index: 1 }));
        assert_eq!(set.len(), 1);
    }
}
