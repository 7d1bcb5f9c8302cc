//! word2vec skip-gram: the input matrix W (its rows are the word vectors) and the output matrix W′, trained so
//! that each word's W row predicts its neighbours through W′.
//!
//! - [`sgns`] is the fast trainer: negative sampling, frequent-word sub-sampling, a dynamic window, a linearly
//!   decaying learning rate and lock-free multithreaded SGD (Hogwild) over plain f32 buffers, as word2vec.c does.
//! - [`softmax`] is the exact model as a burn module (one-hot → W → W′ → softmax over the vocabulary), for small
//!   vocabularies and for teaching; both find the same structure (tested below).

pub mod sgns;
pub mod softmax;

pub use sgns::{Progress, SkipGramConfig, SkipGramModel, train};
pub use softmax::{SoftmaxRun, SoftmaxSkipGram, SoftmaxSkipGramConfig, SoftmaxTrainingConfig, train_softmax};

#[cfg(test)]
pub(crate) mod test_corpus {
    use crate::Corpus;

    /// The words of the two topics of [`topical_corpus`].
    pub const ANIMALS: [&str; 6] = ["cat", "dog", "horse", "cow", "sheep", "goat"];
    /// The other topic.
    pub const TOOLS: [&str; 6] = ["hammer", "saw", "drill", "wrench", "chisel", "pliers"];

    /// 1,500 lines of 12 words, each line from one topic: words of different topics never share a line.
    pub fn topical_corpus(dir: &std::path::Path) -> Corpus {
        let mut state = 7u64;
        let mut text = String::new();
        for line in 0..1500 {
            let topic = if line % 2 == 0 { &ANIMALS } else { &TOOLS };
            for _ in 0..12 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                text.push_str(topic[(state >> 33) as usize % topic.len()]);
                text.push(' ');
            }
            text.push('\n');
        }
        let path = dir.join("topics.txt");
        std::fs::write(&path, text).unwrap();
        Corpus::open(path).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_corpus::{ANIMALS, TOOLS, topical_corpus};
    use super::*;
    use crate::evaluate::{nearest, spearman, unit_rows};
    use crate::vectors::WordVectors;

    /// Cosine similarity of every pair of `words`, in a fixed order.
    fn similarities(vectors: &WordVectors, words: &[&str]) -> Vec<f64> {
        let unit = unit_rows(vectors);
        let mut out = Vec::new();
        for (i, a) in words.iter().enumerate() {
            for b in &words[i + 1..] {
                let (a, b) = (vectors.id(a).unwrap(), vectors.id(b).unwrap());
                out.push(unit.row(a).dot(&unit.row(b)) as f64);
            }
        }
        out
    }

    #[test]
    fn the_softmax_model_and_negative_sampling_find_the_same_structure() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = topical_corpus(dir.path());
        let sgns =
            train(&corpus, &SkipGramConfig { dim: 16, epochs: 3, threads: 1, sample: 0.0, min_count: 1, ..Default::default() }, |_| {}).unwrap().vectors();
        let config = SoftmaxTrainingConfig::new().with_dim(16).with_epochs(3);
        let run = train_softmax(&corpus, &config, &burn::tensor::Device::flex().autodiff()).unwrap();
        assert!(run.epoch_losses.last() < run.epoch_losses.first(), "the loss falls: {:?}", run.epoch_losses);
        // Each context is uniform over the 6 words of the topic: the best possible loss is ln 6.
        assert!(*run.epoch_losses.last().unwrap() < 6f32.ln() + 0.1, "{:?}", run.epoch_losses);
        let softmax = run.model.vectors(&run.vocabulary);

        for vectors in [&sgns, &softmax] {
            let unit = unit_rows(vectors);
            for word in ANIMALS.iter().chain(&TOOLS) {
                let near = nearest(vectors, unit.view(), word, 3).unwrap();
                let same_topic = near.iter().all(|(w, _)| ANIMALS.contains(&w.as_str()) == ANIMALS.contains(word));
                assert!(same_topic, "{word}: {near:?}");
            }
        }
        let words: Vec<&str> = ANIMALS.iter().chain(&TOOLS).copied().collect();
        let agreement = spearman(&similarities(&sgns, &words), &similarities(&softmax, &words));
        assert!(agreement > 0.6, "rank correlation of the two models' pairwise similarities: {agreement}");
    }
}
