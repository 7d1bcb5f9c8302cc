//! Corpus BLEU as coco-caption's `bleu_scorer.py` computes it (option "closest"), including its guards against
//! zero counts (1e-15 added to matches, 1e-9 to totals), so that the numbers agree to the last digits.

use std::collections::HashMap;

use super::ngrams::{MAX_N, counts};

const TINY: f64 = 1e-15;
const SMALL: f64 = 1e-9;

/// BLEU-1 … 4 of `candidates` against `references` (one list per candidate).
pub(super) fn corpus_bleu(candidates: &[Vec<String>], references: &[Vec<Vec<String>>]) -> [f64; 4] {
    let (mut guesses, mut correct) = ([0u64; MAX_N], [0u64; MAX_N]);
    let (mut candidate_len, mut reference_len) = (0u64, 0u64);
    for (candidate, refs) in candidates.iter().zip(references) {
        // Each n-gram's largest count in any one reference clips the candidate's count.
        let mut clip: HashMap<&[String], u32> = HashMap::new();
        for reference in refs {
            for (gram, count) in counts(reference) {
                let best = clip.entry(gram).or_insert(0);
                *best = (*best).max(count);
            }
        }
        for (gram, count) in counts(candidate) {
            correct[gram.len() - 1] += count.min(clip.get(gram).copied().unwrap_or(0)) as u64;
        }
        let len = candidate.len();
        for (n, guess) in guesses.iter_mut().enumerate() {
            *guess += (len + 1).saturating_sub(n + 1) as u64;
        }
        candidate_len += len as u64;
        // The closest reference length, the shorter one on a tie.
        reference_len += refs.iter().map(|r| r.len()).min_by_key(|&l| (l.abs_diff(len), l)).unwrap_or(0) as u64;
    }
    let mut scores = [0.0; 4];
    let mut product = 1.0f64;
    for n in 0..MAX_N {
        product *= (correct[n] as f64 + TINY) / (guesses[n] as f64 + SMALL);
        scores[n] = product.powf(1.0 / (n + 1) as f64);
    }
    let ratio = (candidate_len as f64 + TINY) / (reference_len as f64 + SMALL);
    if ratio < 1.0 {
        scores.iter_mut().for_each(|s| *s *= (1.0 - 1.0 / ratio).exp());
    }
    scores
}
