//! Vocabularies counted from a corpus: frequency order, `min_count` and size limits, Mikolov's frequent-word
//! sub-sampling and the unigram^0.75 distribution that negative sampling draws from.

use std::collections::HashMap;

use crate::{Corpus, Error, Result};

/// Words of a corpus with their counts, most frequent first (ties broken alphabetically, so the order is stable).
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    words: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, u32>,
    /// Tokens in the corpus, including those of words that were dropped.
    corpus_tokens: u64,
}

impl Vocabulary {
    /// Counts every whitespace token of `corpus`, keeps words seen at least `min_count` times and, with
    /// `max_size`, only that many of the most frequent.
    pub fn build(corpus: &Corpus, min_count: u64, max_size: Option<usize>) -> Result<Self> {
        let mut counts: HashMap<String, u64> = HashMap::new();
        let corpus_tokens = corpus.for_each_token(|token| match counts.get_mut(token) {
            Some(count) => *count += 1,
            None => {
                counts.insert(token.to_string(), 1);
            }
        })?;
        let vocabulary = Self::from_counts(counts, min_count, max_size, corpus_tokens);
        if vocabulary.is_empty() {
            return Err(Error::Invalid { path: corpus.path().into(), problem: format!("no word occurs at least {min_count} times (min_count)") });
        }
        Ok(vocabulary)
    }

    /// A vocabulary from word counts.
    pub fn from_counts(counts: HashMap<String, u64>, min_count: u64, max_size: Option<usize>, corpus_tokens: u64) -> Self {
        let mut entries: Vec<(String, u64)> = counts.into_iter().filter(|(_, c)| *c >= min_count).collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(max) = max_size {
            entries.truncate(max);
        }
        let index = entries.iter().enumerate().map(|(i, (w, _))| (w.clone(), i as u32)).collect();
        let (words, counts) = entries.into_iter().unzip();
        Self { words, counts, index, corpus_tokens }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no word was kept.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, most frequent first.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Count of each word, in the same order.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The index of `word`, if kept.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// Tokens of the kept words.
    pub fn retained_tokens(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Tokens in the corpus, kept or not.
    pub fn corpus_tokens(&self) -> u64 {
        self.corpus_tokens
    }

    /// The probability of keeping each occurrence of each word under frequent-word sub-sampling with threshold
    /// `sample` (Mikolov et al. 2013, as word2vec.c and gensim compute it):
    /// `p = (sqrt(c / (sample·T)) + 1) · (sample·T) / c`, capped at 1, where `c` is the word's count and `T` the
    /// kept tokens. `sample = 0` keeps everything.
    pub fn keep_probabilities(&self, sample: f64) -> Vec<f32> {
        let threshold = sample * self.retained_tokens() as f64;
        self.counts
            .iter()
            .map(|&count| {
                if sample <= 0.0 {
                    return 1.0;
                }
                let c = count as f64;
                (((c / threshold).sqrt() + 1.0) * threshold / c).min(1.0) as f32
            })
            .collect()
    }

    /// A sampler of word ids with probability proportional to `count^power` (0.75 for word2vec's negatives).
    pub fn unigram_sampler(&self, power: f64) -> AliasSampler {
        AliasSampler::new(&self.counts.iter().map(|&c| (c as f64).powf(power)).collect::<Vec<_>>())
    }
}

/// Walker's alias method: draws from a discrete distribution in O(1) with one random bucket and one coin, so a
/// draw touches one 8-byte entry. (A binary search over the cumulative table, as gensim does, makes ~17
/// dependent loads per draw; in the skip-gram trainer that was a fifth of the time.)
#[derive(Debug, Clone)]
pub struct AliasSampler {
    entries: Vec<AliasEntry>,
}

#[derive(Debug, Clone, Copy)]
struct AliasEntry {
    /// Keep the bucket when the coin is below this (the bucket's own share, scaled to u32); else take `alias`.
    threshold: u32,
    alias: u32,
}

impl AliasSampler {
    /// Builds the table for non-negative `weights` (Vose's construction). All-zero weights draw uniformly.
    pub fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|&w| if total > 0.0 { w * n as f64 / total } else { 1.0 }).collect();
        let mut entries = vec![AliasEntry { threshold: u32::MAX, alias: 0 }; n];
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            entries[s] = AliasEntry { threshold: (scaled[s] * u32::MAX as f64) as u32, alias: l as u32 };
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left has a share of 1 up to rounding: it always keeps its bucket.
        for i in small.into_iter().chain(large) {
            entries[i] = AliasEntry { threshold: u32::MAX, alias: i as u32 };
        }
        Self { entries }
    }

    /// The index drawn for two independent uniform `u32`s: `bucket` picks the entry, `coin` decides between it
    /// and its alias.
    #[inline]
    pub fn draw(&self, bucket: u32, coin: u32) -> u32 {
        let index = ((bucket as u64 * self.entries.len() as u64) >> 32) as usize;
        let entry = self.entries[index];
        if coin <= entry.threshold { index as u32 } else { entry.alias }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let counts = [("the", 100u64), ("cat", 10), ("sat", 10), ("mat", 3), ("rare", 1)];
        Vocabulary::from_counts(counts.iter().map(|(w, c)| (w.to_string(), *c)).collect(), 2, None, 124)
    }

    #[test]
    fn orders_by_frequency_and_applies_limits() {
        let v = vocabulary();
        assert_eq!(v.words(), ["the", "cat", "sat", "mat"]);
        assert_eq!((v.id("sat"), v.id("rare"), v.retained_tokens(), v.corpus_tokens()), (Some(2), None, 123, 124));
        let counts: HashMap<String, u64> = [("a".to_string(), 5), ("b".to_string(), 7)].into();
        assert_eq!(Vocabulary::from_counts(counts, 1, Some(1), 12).words(), ["b"]);
    }

    #[test]
    fn sub_sampling_follows_mikolovs_formula() {
        let v = vocabulary();
        let keep = v.keep_probabilities(1e-2);
        // threshold = 0.01 * 123 = 1.23; for "the": (sqrt(100/1.23) + 1) * 1.23 / 100 = 0.1232…
        assert!((keep[0] - ((100.0f64 / 1.23).sqrt() + 1.0) as f32 * 1.23 / 100.0).abs() < 1e-6);
        assert_eq!(keep[3], 1.0, "rare words are always kept");
        assert!(v.keep_probabilities(0.0).iter().all(|&p| p == 1.0));
    }

    #[test]
    fn unigram_draws_follow_count_to_the_three_quarters() {
        let v = vocabulary();
        let sampler = v.unigram_sampler(0.75);
        let mut hits = [0u32; 4];
        let mut state = 1u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 32) as u32
        };
        let draws = 400_000;
        for _ in 0..draws {
            hits[sampler.draw(next(), next()) as usize] += 1;
        }
        let weights: Vec<f64> = v.counts().iter().map(|&c| (c as f64).powf(0.75)).collect();
        let total: f64 = weights.iter().sum();
        for (h, w) in hits.iter().zip(&weights) {
            assert!((*h as f64 / draws as f64 - w / total).abs() < 3e-3, "{hits:?}");
        }
    }

    #[test]
    fn alias_sampler_is_exact_on_a_grid() {
        // Every (bucket, coin) on a fine grid: each index's share equals its weight's share.
        let weights = [5.0, 0.0, 1.0, 2.0, 0.5];
        let sampler = AliasSampler::new(&weights);
        let mut hits = [0f64; 5];
        let steps = 2000u64;
        for b in 0..steps {
            for c in 0..steps {
                let (bucket, coin) = ((b * u32::MAX as u64 / steps) as u32, (c * u32::MAX as u64 / steps) as u32);
                hits[sampler.draw(bucket, coin) as usize] += 1.0 / (steps * steps) as f64;
            }
        }
        for (h, w) in hits.iter().zip(weights) {
            assert!((h - w / 8.5).abs() < 1e-3, "{hits:?}");
        }
    }

    #[test]
    fn a_corpus_with_nothing_frequent_enough_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.txt");
        std::fs::write(&path, "one two three\n").unwrap();
        let message = Vocabulary::build(&Corpus::open(&path).unwrap(), 5, None).unwrap_err().to_string();
        assert!(message.contains("tiny.txt") && message.contains("min_count"), "{message}");
        let v = Vocabulary::build(&Corpus::open(&path).unwrap(), 1, None).unwrap();
        assert_eq!((v.len(), v.corpus_tokens()), (3, 3));
    }
}
