//! N-gram counts of a caption, 1- to 4-grams, as both metrics count them.

use std::collections::BTreeMap;

/// The longest n-gram the metrics count.
pub(super) const MAX_N: usize = 4;

/// Counts of each n-gram (1 ≤ n ≤ 4) of `words`, keyed by the n-gram's words. Ordered, so that the float sums
/// over them run in the same order every time and a score is the same to the last bit on every run.
pub(super) fn counts(words: &[String]) -> BTreeMap<&[String], u32> {
    let mut counts = BTreeMap::new();
    for n in 1..=MAX_N {
        for gram in words.windows(n) {
            *counts.entry(gram).or_insert(0) += 1;
        }
    }
    counts
}
