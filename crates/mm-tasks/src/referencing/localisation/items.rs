//! What the localisation model trains on: a picture, its sound, the truth, and whether the truth may be read
//! (the labelled share of a semi-supervised run); and the batches, with the truth pooled to the encoder's places.

use burn::tensor::{Device, Tensor, TensorData};

use super::sources::Examples;
use crate::runner::{Batcher, Dataset, DatasetError};

/// One example as the runner carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalisationItem {
    /// `[channels · side · side]`.
    pub picture: Vec<f32>,
    /// The sound encoder's input row.
    pub sound: Vec<f32>,
    /// `[side · side]`: 1 where the sound comes from.
    pub truth: Vec<f32>,
    /// Whether a loss may read `truth`.
    pub labelled: bool,
    /// The example's index in its split.
    pub index: usize,
}

/// Whether example `index` is among the labelled `fraction` of a split: a fixed pseudo-random choice by index,
/// so a run with 10% of the labels reads the same 10% in every epoch and on resume.
pub fn is_labelled(index: usize, fraction: f64) -> bool {
    let hash = (index as u64 ^ 0x1ABE_11ED).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((hash >> 11) as f64 / (1u64 << 53) as f64) < fraction
}

/// The examples of one split, labelled at `fraction`; `only_labelled` keeps just those (supervised training on
/// a share of the labels).
#[derive(Clone)]
pub struct LocalisationItems {
    examples: Examples,
    rows: Vec<usize>,
    fraction: f64,
}

impl LocalisationItems {
    /// The items of `examples`.
    pub fn new(examples: Examples, fraction: f64, only_labelled: bool) -> Self {
        let rows = (0..examples.len()).filter(|&i| !only_labelled || is_labelled(i, fraction)).collect();
        Self { examples, rows, fraction }
    }
}

impl Dataset<LocalisationItem> for LocalisationItems {
    fn get(&self, index: usize) -> Result<LocalisationItem, DatasetError> {
        let row = self.rows[index];
        let example = self.examples.example(row).map_err(DatasetError::new)?;
        Ok(LocalisationItem { picture: example.picture, sound: example.sound, truth: example.truth, labelled: is_labelled(row, self.fraction), index: row })
    }

    fn len(&self) -> usize {
        self.rows.len()
    }
}

/// A batch of `B` examples over an encoder map of `N` places.
#[derive(Debug, Clone)]
pub struct LocalisationBatch {
    /// `[B, channels, side, side]`.
    pub pictures: Tensor<4>,
    /// `[B, L]`: the sound encoder's input rows.
    pub sounds: Tensor<2>,
    /// `[B, N]`: the truth averaged over each place's pixels, each row scaled to sum to 1.
    pub targets: Tensor<2>,
    /// `[B, N]`: 1 at the places that hold any truth.
    pub inside: Tensor<2>,
    /// `[B]`: 1 where the loss may read the truth.
    pub labelled: Tensor<1>,
    /// Each example's index in its split.
    pub indices: Vec<usize>,
    /// Each example's truth at the picture's size (for the report's scores, which are computed there).
    pub truths: Vec<Vec<f32>>,
}

/// Stacks [`LocalisationItem`]s.
#[derive(Debug, Clone, Copy)]
pub struct LocalisationBatcher {
    /// Picture channels.
    pub channels: usize,
    /// Picture side.
    pub side: usize,
    /// The encoder map's `[rows, columns]`.
    pub grid: [usize; 2],
}

/// `truth` (`[side · side]`) averaged over each of the `grid`'s places.
pub fn pool_to_grid(truth: &[f32], side: usize, grid: [usize; 2]) -> Vec<f32> {
    let [rows, columns] = grid;
    let span = |i: usize, n: usize| (i * side / n)..((i + 1) * side / n).max(i * side / n + 1);
    let mut pooled = Vec::with_capacity(rows * columns);
    for r in 0..rows {
        for c in 0..columns {
            let (ys, xs) = (span(r, rows), span(c, columns));
            let area = (ys.len() * xs.len()) as f32;
            pooled.push(ys.flat_map(|y| xs.clone().map(move |x| truth[y * side + x])).sum::<f32>() / area);
        }
    }
    pooled
}

impl Batcher<LocalisationItem, LocalisationBatch> for LocalisationBatcher {
    fn batch(&self, items: Vec<LocalisationItem>, device: &Device) -> LocalisationBatch {
        let (b, places, len) = (items.len(), self.grid[0] * self.grid[1], items[0].sound.len());
        let (mut targets, mut inside) = (Vec::with_capacity(b * places), Vec::with_capacity(b * places));
        for item in &items {
            let pooled = pool_to_grid(&item.truth, self.side, self.grid);
            let total = pooled.iter().sum::<f32>().max(1e-12);
            targets.extend(pooled.iter().map(|v| v / total));
            inside.extend(pooled.iter().map(|&v| (v > 0.0) as u8 as f32));
        }
        let pictures: Vec<f32> = items.iter().flat_map(|i| i.picture.iter().copied()).collect();
        let sounds: Vec<f32> = items.iter().flat_map(|i| i.sound.iter().copied()).collect();
        let labelled: Vec<f32> = items.iter().map(|i| i.labelled as u8 as f32).collect();
        LocalisationBatch {
            pictures: Tensor::from_data(TensorData::new(pictures, [b, self.channels, self.side, self.side]), device),
            sounds: Tensor::from_data(TensorData::new(sounds, [b, len]), device),
            targets: Tensor::from_data(TensorData::new(targets, [b, places]), device),
            inside: Tensor::from_data(TensorData::new(inside, [b, places]), device),
            labelled: Tensor::from_data(TensorData::new(labelled, [b]), device),
            indices: items.iter().map(|i| i.index).collect(),
            truths: items.into_iter().map(|i| i.truth).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_truth_pools_to_the_places_it_covers_and_labels_take_their_share() {
        // A 4 × 4 truth on its top-left quarter, pooled to 2 × 2 places and to 4 × 4.
        let truth: Vec<f32> = (0..16).map(|i| ((i % 4) < 2 && (i / 4) < 2) as u8 as f32).collect();
        assert_eq!(pool_to_grid(&truth, 4, [2, 2]), vec![1.0, 0.0, 0.0, 0.0]);
        assert_eq!(pool_to_grid(&truth, 4, [4, 4]), truth);
        let labelled = (0..10_000).filter(|&i| is_labelled(i, 0.1)).count();
        assert!((900..1100).contains(&labelled), "{labelled}");
        assert!((0..100).all(|i| is_labelled(i, 1.0)) && (0..100).all(|i| !is_labelled(i, 0.0)));
    }
}
