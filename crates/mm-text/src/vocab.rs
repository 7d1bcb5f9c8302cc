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
            return Err(Error::Invalid {
                path: corpus.path().into(),
                problem: format!("no word occurs at least {min_count} times (min_count)"),
            });
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

    /// The cumulative distribution of `count^power` (0.75 for word2vec's negatives), scaled to `u32`: draw a
    /// uniform `r < table.last()` and take the first index whose entry exceeds it.
    pub fn unigram_table(&self, power: f64) -> Vec<u32> {
        let weights: Vec<f64> = self.counts.iter().map(|&c| (c as f64).powf(power)).collect();
        let total: f64 = weights.iter().sum();
        let mut running = 0.0;
        weights
            .iter()
            .map(|w| {
                running += w;
                (running / total * u32::MAX as f64).round() as u32
            })
            .collect()
    }
}

/// Draws the index for the uniform value `r` from a cumulative table made by [`Vocabulary::unigram_table`].
#[inline]
pub fn draw(table: &[u32], r: u32) -> usize {
    table.partition_point(|&edge| edge <= r).min(table.len() - 1)
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
        let table = v.unigram_table(0.75);
        assert_eq!(*table.last().unwrap(), u32::MAX);
        let mut hits = [0u32; 4];
        let draws = 200_000u64;
        for i in 0..draws {
            hits[draw(&table, ((i * u32::MAX as u64) / draws) as u32)] += 1;
        }
        let weights: Vec<f64> = v.counts().iter().map(|&c| (c as f64).powf(0.75)).collect();
        let total: f64 = weights.iter().sum();
        for (h, w) in hits.iter().zip(&weights) {
            assert!((*h as f64 / draws as f64 - w / total).abs() < 1e-3);
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
