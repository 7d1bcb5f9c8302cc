//! Skip-gram with negative sampling, trained the way word2vec.c trains it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::vectors::WordVectors;
use crate::vocab::{AliasSampler, Vocabulary};
use crate::{Corpus, Error, Result};

/// Hyper-parameters. The defaults are the classic text8 recipe of word2vec.c.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkipGramConfig {
    /// Vector dimension. Default 100.
    pub dim: usize,
    /// Largest distance between a word and a neighbour it predicts; each word uses a random window in 1..=window.
    /// Default 5.
    pub window: usize,
    /// Negative samples per positive pair. Default 5.
    pub negative: usize,
    /// Words seen fewer times are dropped. Default 5.
    pub min_count: u64,
    /// Keep only this many of the most frequent words (default: all).
    pub max_vocab: Option<usize>,
    /// Sub-sampling threshold for frequent words (0 turns it off). Default 1e-3.
    pub sample: f64,
    /// Starting learning rate, decayed linearly to `alpha * 1e-4` over training. Default 0.025.
    pub alpha: f32,
    /// Passes over the corpus. Default 1.
    pub epochs: usize,
    /// Worker threads (default: the number of cores).
    pub threads: usize,
    /// Seed of the initial vectors and of all sampling. Default 1.
    pub seed: u64,
}

impl Default for SkipGramConfig {
    fn default() -> Self {
        Self {
            dim: 100,
            window: 5,
            negative: 5,
            min_count: 5,
            max_vocab: None,
            sample: 1e-3,
            alpha: 0.025,
            epochs: 1,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seed: 1,
        }
    }
}

impl SkipGramConfig {
    /// Checks every setting against the range in which training works: a window or thread count in the
    /// billions would overflow the sentence arithmetic or exhaust the machine's threads, a non-finite rate would
    /// make every vector NaN.
    pub fn validate(&self) -> Result<()> {
        let in_range = |setting: &'static str, value: usize, max: usize| {
            if (1..=max).contains(&value) { Ok(()) } else { Err(Error::Setting { setting, problem: format!("must be in 1..={max}, got {value}") }) }
        };
        in_range("dim", self.dim, 100_000)?;
        // word2vec.c cuts sentences at 1,000 words, so no window needs to be wider.
        in_range("window", self.window, 1_000)?;
        in_range("epochs", self.epochs, 100_000)?;
        in_range("threads", self.threads, 1_024)?;
        if self.negative > 1_000 {
            return Err(Error::Setting { setting: "negative", problem: format!("must be at most 1000, got {}", self.negative) });
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::Setting { setting: "alpha", problem: format!("must be positive and finite, got {}", self.alpha) });
        }
        if !(self.sample.is_finite() && self.sample >= 0.0) {
            return Err(Error::Setting { setting: "sample", problem: format!("must be zero or positive and finite, got {}", self.sample) });
        }
        Ok(())
    }
}

/// A trained model: the vocabulary and both matrices.
#[derive(Debug, Clone)]
pub struct SkipGramModel {
    /// The words, most frequent first.
    pub vocabulary: Vocabulary,
    /// W, `[words, dim]` row-major: the word vectors.
    pub input: Vec<f32>,
    /// W′, `[words, dim]` row-major: the output (context) vectors.
    pub output: Vec<f32>,
    /// Dimension.
    pub dim: usize,
}

impl SkipGramModel {
    /// The word vectors (rows of W).
    pub fn vectors(&self) -> WordVectors {
        WordVectors::new(self.vocabulary.words().to_vec(), self.dim, self.input.clone())
    }
}

/// What the trainer reports as it goes.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Corpus words read so far, over all epochs (before sub-sampling).
    pub words_done: u64,
    /// Corpus words to read in all.
    pub words_total: u64,
    /// The current learning rate.
    pub alpha: f32,
    /// Words per second so far.
    pub words_per_second: f64,
}

/// Sentences longer than this many known words are split (gensim's limit; word2vec.c's is 1,000). Every split
/// costs the pairs whose window crosses it.
const MAX_SENTENCE: usize = 10_000;
/// A job handed to a worker ends with the first line that brings it to this many corpus words: lines are never
/// split between jobs.
const JOB_WORDS: usize = 10_000;
/// The sigmoid is tabulated over [-MAX_EXP, MAX_EXP], as in word2vec.c.
const MAX_EXP: f32 = 6.0;
const EXP_TABLE: usize = 1000;

/// word2vec.c's linear congruential generator: fast, and what makes one thread with one seed reproducible.
#[derive(Clone, Copy)]
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    #[inline]
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(25_214_903_917).wrapping_add(11);
        self.0
    }
}

/// W and W′ shared by the workers without locks: Hogwild (Recht et al. 2011), as word2vec.c and gensim train.
/// Concurrent updates to the same row may interleave and lose a little of one update; on a sparse problem like
/// this one that costs no accuracy and is what makes the training scale with threads.
struct Shared {
    input: *mut f32,
    output: *mut f32,
    dim: usize,
}

// SAFETY: the pointers come from two Vecs that outlive every worker (they are joined inside a scope), and every
// row index is < vocabulary size, so each access is in bounds. Writes race by design (Hogwild, see above): the
// values are plain f32 with no invariants, so a torn or lost update only perturbs the optimisation.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    #[inline]
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, base: *mut f32, i: u32) -> &mut [f32] {
        // SAFETY: see the impl comment.
        unsafe { std::slice::from_raw_parts_mut(base.add(i as usize * self.dim), self.dim) }
    }
}

/// Trains skip-gram with negative sampling on `corpus`, calling `progress` about once per job.
pub fn train(corpus: &Corpus, config: &SkipGramConfig, progress: impl Fn(Progress) + Sync) -> Result<SkipGramModel> {
    config.validate()?;
    let vocabulary = Vocabulary::build(corpus, config.min_count, config.max_vocab)?;
    let (words, dim) = (vocabulary.len(), config.dim);
    let mut rng = Lcg(config.seed);
    // W uniform in [-1, 1) / dim (gensim's range; word2vec.c draws from half of it), W′ zero. On the Wikipedia
    // corpus the wider start gave better analogies in every seed tried (docs/RESULTS.md).
    let mut input: Vec<f32> = (0..words * dim).map(|_| ((rng.next() & 0xFFFF) as f32 / 65536.0 * 2.0 - 1.0) / dim as f32).collect();
    let mut output = vec![0f32; words * dim];
    let keep: Vec<u32> = vocabulary.keep_probabilities(config.sample).iter().map(|&p| (p as f64 * u32::MAX as f64) as u32).collect();
    let sampler = vocabulary.unigram_sampler(0.75);
    let sigmoid: Vec<f32> = (0..EXP_TABLE)
        .map(|i| {
            let x = ((i as f32 / EXP_TABLE as f32) * 2.0 - 1.0) * MAX_EXP;
            1.0 / (1.0 + (-x).exp())
        })
        .collect();
    let words_total = vocabulary.corpus_tokens() * config.epochs as u64;
    let done = AtomicU64::new(0);
    let started = Instant::now();
    let shared = Shared { input: input.as_mut_ptr(), output: output.as_mut_ptr(), dim };
    let (sender, receiver) = mpsc::sync_channel::<(u64, Vec<Vec<u32>>, u64)>(config.threads * 2);
    let receiver = Mutex::new(receiver);

    let reader_result = std::thread::scope(|scope| {
        for _ in 0..config.threads {
            scope.spawn(|| {
                let mut scratch = Scratch {
                    neu1e: vec![0f32; dim],
                    kept: Vec::with_capacity(MAX_SENTENCE),
                    negatives: Vec::with_capacity(config.negative),
                    upcoming: Vec::with_capacity(config.negative),
                };
                loop {
                    let job = receiver.lock().expect("no worker panics while holding the lock").recv();
                    let Ok((index, sentences, corpus_words)) = job else { break };
                    let progress_before = done.load(Ordering::Relaxed);
                    let alpha = (config.alpha * (1.0 - progress_before as f32 / (words_total + 1) as f32)).max(config.alpha * 1e-4);
                    let mut rng = Lcg(config.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    for sentence in &sentences {
                        train_sentence(sentence, &shared, config, alpha, &keep, &sampler, &sigmoid, &mut rng, &mut scratch);
                    }
                    let now = done.fetch_add(corpus_words, Ordering::Relaxed) + corpus_words;
                    let seconds = started.elapsed().as_secs_f64().max(1e-9);
                    progress(Progress { words_done: now, words_total, alpha, words_per_second: now as f64 / seconds });
                }
            });
        }
        // The reader: streams the corpus once per epoch into jobs of about JOB_WORDS words.
        let read = || -> Result<()> {
            let mut index = 0u64;
            for _ in 0..config.epochs {
                let mut lines = corpus.lines()?;
                let (mut job, mut job_words) = (Vec::new(), 0u64);
                // Hands the job over once it is big enough; called only where a sentence ends.
                let mut hand_over = |job: &mut Vec<Vec<u32>>, job_words: &mut u64| -> bool {
                    if (*job_words as usize) < JOB_WORDS {
                        return true;
                    }
                    let sent = sender.send((index, std::mem::take(job), *job_words)).is_ok();
                    index += 1;
                    *job_words = 0;
                    sent
                };
                while let Some(line) = lines.next_line()? {
                    let mut sentence = Vec::new();
                    for token in line.split_ascii_whitespace() {
                        job_words += 1;
                        if let Some(id) = vocabulary.id(token) {
                            sentence.push(id);
                            if sentence.len() == MAX_SENTENCE {
                                job.push(std::mem::take(&mut sentence));
                                if !hand_over(&mut job, &mut job_words) {
                                    return Ok(());
                                }
                            }
                        }
                    }
                    job.push(sentence);
                    if !hand_over(&mut job, &mut job_words) {
                        return Ok(());
                    }
                }
                if job_words > 0 {
                    let _ = sender.send((index, job, job_words));
                    index += 1;
                }
            }
            Ok(())
        };
        let outcome = read();
        // Closing the channel lets the workers finish the queued jobs and stop.
        drop(sender);
        outcome
    });
    reader_result?;
    Ok(SkipGramModel { vocabulary, input, output, dim })
}

/// A worker's buffers, reused for every sentence.
struct Scratch {
    /// The error gradient accumulated for the current W row.
    neu1e: Vec<f32>,
    /// The sentence after sub-sampling.
    kept: Vec<u32>,
    /// The negative words of the current (word, context) pair.
    negatives: Vec<u32>,
    /// The negative words of the next pair, drawn one pair ahead so that their W′ rows are already being
    /// fetched from memory while the current pair computes: those rows are random and mostly not in cache, and
    /// waiting for them was a third of the time.
    upcoming: Vec<u32>,
}

impl Scratch {
    fn draw_upcoming(&mut self, count: usize, sampler: &AliasSampler, shared: &Shared, rng: &mut Lcg) {
        self.upcoming.clear();
        for _ in 0..count {
            let negative = sampler.draw((rng.next() >> 32) as u32, (rng.next() >> 16) as u32);
            // SAFETY: sampled ids are < vocabulary size; see `Shared`.
            prefetch(unsafe { shared.row(shared.output, negative) });
            self.upcoming.push(negative);
        }
    }
}

/// Asks the CPU to start loading `row` into cache (a hint; no effect on results).
#[inline(always)]
fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // One hint per 64-byte line, and the last element for a row that straddles one more line.
        for line in row.chunks(16).map(|c| c.as_ptr()).chain(row.last().map(|l| l as *const f32)) {
            // SAFETY: prefetching is a hint that cannot fault, and `line` points into `row` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// One sentence: sub-sample it, then for each word and each neighbour in its random window, update the
/// neighbour's W row and the W′ rows of the word and of `negative` sampled words.
#[allow(clippy::too_many_arguments)]
#[inline]
fn train_sentence(
    sentence: &[u32],
    shared: &Shared,
    config: &SkipGramConfig,
    alpha: f32,
    keep: &[u32],
    sampler: &AliasSampler,
    sigmoid: &[f32],
    rng: &mut Lcg,
    scratch: &mut Scratch,
) {
    scratch.kept.clear();
    // keep[w] is the keep probability scaled to u32, so a word that is always kept has u32::MAX and always passes.
    scratch.kept.extend(sentence.iter().copied().filter(|&w| (rng.next() >> 16) as u32 <= keep[w as usize]));
    scratch.draw_upcoming(config.negative, sampler, shared, rng);
    for position in 0..scratch.kept.len() {
        let word = scratch.kept[position];
        let reduced = (rng.next() % config.window as u64) as usize;
        let span = config.window - reduced;
        let start = position.saturating_sub(span);
        let end = (position + span + 1).min(scratch.kept.len());
        for context_position in start..end {
            if context_position == position {
                continue;
            }
            std::mem::swap(&mut scratch.negatives, &mut scratch.upcoming);
            scratch.draw_upcoming(config.negative, sampler, shared, rng);
            let Scratch { neu1e, kept, negatives, .. } = &mut *scratch;
            // SAFETY: ids are < vocabulary size; see `Shared`.
            let hidden = unsafe { shared.row(shared.input, kept[context_position]) };
            neu1e.iter_mut().for_each(|e| *e = 0.0);
            let targets = std::iter::once((word, 1.0)).chain(negatives.iter().filter(|&&n| n != word).map(|&n| (n, 0.0)));
            for (target, label) in targets {
                // SAFETY: as above.
                let out = unsafe { shared.row(shared.output, target) };
                let f = dot(hidden, out);
                let g = if f > MAX_EXP {
                    (label - 1.0) * alpha
                } else if f < -MAX_EXP {
                    label * alpha
                } else {
                    let slot = ((f + MAX_EXP) * (EXP_TABLE as f32 / MAX_EXP / 2.0)) as usize;
                    (label - sigmoid[slot.min(EXP_TABLE - 1)]) * alpha
                };
                for ((e, o), h) in neu1e.iter_mut().zip(out.iter_mut()).zip(hidden.iter()) {
                    *e += g * *o;
                    *o += g * h;
                }
            }
            for (h, e) in hidden.iter_mut().zip(neu1e.iter()) {
                *h += e;
            }
        }
    }
}

/// A dot product with eight independent partial sums: a plain `sum()` is one serial chain of dependent float
/// additions (the compiler may not reorder them), which made it the trainer's bottleneck.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::word2vec::test_corpus::{ANIMALS, topical_corpus};

    #[test]
    fn learns_topics_and_one_thread_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = topical_corpus(dir.path());
        let config = SkipGramConfig { dim: 16, epochs: 3, threads: 1, sample: 0.0, min_count: 1, ..Default::default() };
        let model = train(&corpus, &config, |_| {}).unwrap();
        let again = train(&corpus, &config, |_| {}).unwrap();
        assert_eq!(model.input, again.input, "one thread and one seed must give the same vectors");
        // Each word's three nearest neighbours share its topic (animals or tools).
        let learns_topics = |model: &SkipGramModel, label: &str| {
            let vectors = model.vectors();
            let unit = crate::evaluate::unit_rows(&vectors);
            for word in ["cat", "hammer", "sheep", "drill"] {
                let nearest = crate::evaluate::nearest(&vectors, unit.view(), word, 3).unwrap();
                let same = nearest.iter().all(|(w, _)| ANIMALS.contains(&w.as_str()) == ANIMALS.contains(&word));
                assert!(same, "{label}, {word}: {nearest:?}");
            }
        };
        learns_topics(&model, "one thread");
        for (setting, bad) in [
            ("window", SkipGramConfig { window: usize::MAX / 2, ..config }),
            ("threads", SkipGramConfig { threads: 1 << 40, ..config }),
            ("alpha", SkipGramConfig { alpha: f32::NAN, ..config }),
            ("sample", SkipGramConfig { sample: f64::INFINITY, ..config }),
            ("dim", SkipGramConfig { dim: 0, ..config }),
        ] {
            let message = train(&corpus, &bad, |_| {}).unwrap_err().to_string();
            assert!(message.starts_with(&format!("{setting}: ")), "{message}");
        }
        // Two threads race on the shared rows (Hogwild), so their vectors differ from one thread's, but they must
        // learn the same topics, and not merely leave vectors of the right length.
        let two_threads = train(&corpus, &SkipGramConfig { threads: 2, ..config }, |_| {}).unwrap();
        assert_eq!((two_threads.input.len(), two_threads.vocabulary.len()), (model.input.len(), model.vocabulary.len()));
        assert_ne!(two_threads.input, model.input, "two threads split the corpus differently from one");
        learns_topics(&two_threads, "two threads");
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        for n in [0, 3, 8, 100, 301] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "n {n}");
        }
    }

    #[test]
    fn rejects_impossible_settings() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = topical_corpus(dir.path());
        assert!(train(&corpus, &SkipGramConfig { dim: 0, ..Default::default() }, |_| {}).is_err());
    }
}
