//! Validation carved from training data, and views of a data set by index.

use std::sync::Arc;

use super::Split;
use burn::data::dataset::{Dataset, DatasetError};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Splits `0..n` into (training, validation) indices: `valid` of them drawn at random by `seed`, the rest kept
/// in their order. The same `(n, valid, seed)` always gives the same split.
pub fn carve(n: usize, valid: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut all: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0005_711D_A7E5);
    all.shuffle(&mut rng);
    let mut held: Vec<usize> = all[..valid.min(n)].to_vec();
    held.sort_unstable();
    let mut is_held = vec![false; n];
    held.iter().for_each(|&i| is_held[i] = true);
    ((0..n).filter(|&i| !is_held[i]).collect(), held)
}

/// The training or validation part of a carve: `Train` → the kept indices, `Valid` → the held ones.
pub fn carve_part(n: usize, valid: usize, seed: u64, split: Split) -> Vec<usize> {
    let (train, held) = carve(n, valid, seed);
    if split == Split::Valid { held } else { train }
}

/// The items of a data set at some indices, in that order (burn's `Dataset`).
pub struct Subset<I> {
    inner: Arc<dyn Dataset<I>>,
    indices: Vec<usize>,
}

impl<I> Subset<I> {
    /// `inner`'s items at `indices`.
    pub fn new(inner: Arc<dyn Dataset<I>>, indices: Vec<usize>) -> Self {
        Self { inner, indices }
    }

    /// The first `n` items (or all).
    pub fn first(inner: Arc<dyn Dataset<I>>, n: usize) -> Self {
        let n = n.min(inner.len());
        Self { inner, indices: (0..n).collect() }
    }
}

impl<I: Send + Sync> Dataset<I> for Subset<I> {
    fn get(&self, index: usize) -> Result<I, DatasetError> {
        self.inner.get(self.indices[index])
    }

    fn len(&self) -> usize {
        self.indices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carving_is_seeded_disjoint_and_complete() {
        let (train, valid) = carve(100, 10, 3);
        assert_eq!((train.len(), valid.len()), (90, 10));
        let mut all: Vec<usize> = train.iter().chain(&valid).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(carve(100, 10, 3), (train, valid.clone()));
        assert_ne!(carve(100, 10, 4).1, valid);
    }
}
