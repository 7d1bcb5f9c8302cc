//! CIDEr-D as coco-caption's `cider_scorer.py` computes it: each n-gram weighted by its frequency in the caption
//! times log(pictures / pictures whose references hold it), the candidate's counts clipped at the reference's,
//! cosine similarity per n, a Gaussian penalty (σ = 6) on the length difference, averaged over n and references,
//! × 10. As in the reference code, the "length" of a caption is its number of bigrams.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::ngrams::{MAX_N, counts};

const SIGMA: f64 = 6.0;

/// CIDEr-D over a set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CiderD {
    /// The mean over the pictures: the reported CIDEr-D.
    pub mean: f64,
    /// Each picture's.
    pub per_caption: Vec<f64>,
}

/// A caption's tf-idf vector per n, its norms and its length (bigrams).
struct Weighted<'a> {
    /// Ordered: the similarity sums over it.
    weights: [BTreeMap<&'a [String], f64>; MAX_N],
    norms: [f64; MAX_N],
    length: f64,
}

impl<'a> Weighted<'a> {
    fn new(words: &'a [String], document_frequency: &HashMap<&[String], f64>, log_pictures: f64) -> Self {
        let mut weights: [BTreeMap<&[String], f64>; MAX_N] = Default::default();
        let mut norms = [0.0; MAX_N];
        let mut length = 0.0;
        for (gram, count) in counts(words) {
            let n = gram.len() - 1;
            let df = document_frequency.get(gram).copied().unwrap_or(0.0).max(1.0).ln();
            let weight = count as f64 * (log_pictures - df);
            weights[n].insert(gram, weight);
            norms[n] += weight * weight;
            if n == 1 {
                length += count as f64;
            }
        }
        norms.iter_mut().for_each(|n| *n = n.sqrt());
        Self { weights, norms, length }
    }

    /// Per n: the clipped cosine similarity with `reference`, times the length penalty.
    fn similarity(&self, reference: &Weighted) -> [f64; MAX_N] {
        let delta = self.length - reference.length;
        let mut values = [0.0; MAX_N];
        for (n, value) in values.iter_mut().enumerate() {
            for (gram, &weight) in &self.weights[n] {
                let theirs = reference.weights[n].get(gram).copied().unwrap_or(0.0);
                *value += weight.min(theirs) * theirs;
            }
            if self.norms[n] != 0.0 && reference.norms[n] != 0.0 {
                *value /= self.norms[n] * reference.norms[n];
            }
            *value *= std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
        }
        values
    }
}

pub(super) fn cider_d(candidates: &[Vec<String>], references: &[Vec<Vec<String>>]) -> CiderD {
    if candidates.is_empty() {
        return CiderD { mean: 0.0, per_caption: Vec::new() };
    }
    // In how many pictures' references each n-gram occurs.
    let mut document_frequency: HashMap<&[String], f64> = HashMap::new();
    for refs in references {
        let grams: HashSet<&[String]> = refs.iter().flat_map(|r| counts(r).into_keys()).collect();
        grams.into_iter().for_each(|g| *document_frequency.entry(g).or_insert(0.0) += 1.0);
    }
    let log_pictures = (references.len() as f64).ln();
    let per_caption: Vec<f64> = candidates
        .iter()
        .zip(references)
        .map(|(candidate, refs)| {
            let candidate = Weighted::new(candidate, &document_frequency, log_pictures);
            let mut sum = [0.0; MAX_N];
            for reference in refs {
                let similarity = candidate.similarity(&Weighted::new(reference, &document_frequency, log_pictures));
                sum.iter_mut().zip(similarity).for_each(|(s, v)| *s += v);
            }
            sum.iter().sum::<f64>() / MAX_N as f64 / refs.len() as f64 * 10.0
        })
        .collect();
    CiderD { mean: per_caption.iter().sum::<f64>() / per_caption.len() as f64, per_caption }
}
