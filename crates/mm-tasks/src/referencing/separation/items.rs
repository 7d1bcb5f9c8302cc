//! A split's mixtures as a data set, and the batcher that turns them into compressed spectrograms.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_audio::signal::{Complex32, Stft};

use super::SignalSettings;
use super::model::VisualBatch;
use super::sources::{ItemVisual, MixtureKind, Pool, SeparationItem};
use crate::runner::{Batcher, Dataset, DatasetError, Split};

/// The mixtures of one split.
pub struct SeparationItems {
    pool: Arc<Pool>,
    split: Split,
}

impl SeparationItems {
    pub(crate) fn new(pool: Pool, split: Split) -> Self {
        Self { pool: Arc::new(pool), split }
    }
}

impl Dataset<SeparationItem> for SeparationItems {
    fn get(&self, index: usize) -> Result<SeparationItem, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(std::io::Error::other(format!("mixture {index} of {}", self.len()))));
        }
        Ok(self.pool.item(index, self.split))
    }

    fn len(&self) -> usize {
        self.pool.len(self.split)
    }
}

/// A batch: the compressed spectrograms of the mixtures and of every source, the queried sources' visual streams,
/// and the waveforms the report compares with.
#[derive(Debug, Clone)]
pub struct SeparationBatch {
    /// `[B, 2, T, F]`: the mixtures' compressed STFT (real, imaginary).
    pub mixture: Tensor<4>,
    /// `[B, S, 2, T, F]`: every source's compressed STFT.
    pub targets: Tensor<5>,
    /// The queried sources' visual streams (the first `Q` sources), if the items have them.
    pub visual: Option<VisualBatch>,
    /// The mixtures' waveforms.
    pub mixtures: Vec<Vec<f32>>,
    /// The sources' waveforms, per mixture.
    pub sources: Vec<Vec<Vec<f32>>>,
    /// What each mixture is made of.
    pub kinds: Vec<MixtureKind>,
    /// Where each mixture comes from.
    pub names: Vec<String>,
}

/// Makes [`SeparationBatch`]es.
pub struct SeparationBatcher {
    settings: SignalSettings,
}

impl SeparationBatcher {
    /// A batcher for the task's signal settings.
    pub fn new(settings: SignalSettings) -> Self {
        Self { settings }
    }
}

/// `z · |z|^(p − 1)`: the power-law compression of a complex STFT value that keeps its phase.
pub fn compress(z: Complex32, power: f32) -> Complex32 {
    let magnitude = z.norm();
    if magnitude > 1e-12 { z * magnitude.powf(power - 1.0) } else { Complex32::new(0.0, 0.0) }
}

/// Appends a signal's compressed STFT as `[2, T, F]` (all real parts, then all imaginary parts).
pub(crate) fn push_compressed(stft: &mut Stft, signal: &[f32], power: f32, out: &mut Vec<f32>) {
    let spectrum = stft.process(signal).expect("the window is long enough for the STFT (checked with the settings)");
    let compressed: Vec<Complex32> = spectrum.iter().map(|&z| compress(z, power)).collect();
    out.extend(compressed.iter().map(|z| z.re));
    out.extend(compressed.iter().map(|z| z.im));
}

impl Batcher<SeparationItem, SeparationBatch> for SeparationBatcher {
    fn batch(&self, items: Vec<SeparationItem>, device: &Device) -> SeparationBatch {
        let b = items.len();
        let config = self.settings.stft_config();
        let mut stft = Stft::new(config).expect("STFT settings are checked before a batcher is made");
        let t = config.n_frames(items[0].mixture.len());
        let f = config.n_bins();
        let s = items[0].sources.len();
        let power = self.settings.power;
        let (mut mixture, mut targets) = (Vec::with_capacity(b * 2 * t * f), Vec::with_capacity(b * s * 2 * t * f));
        for item in &items {
            push_compressed(&mut stft, &item.mixture, power, &mut mixture);
            for source in &item.sources {
                push_compressed(&mut stft, source, power, &mut targets);
            }
        }
        let visual = visual_batch(&items, t, device);
        SeparationBatch {
            mixture: Tensor::from_data(TensorData::new(mixture, [b, 2, t, f]), device),
            targets: Tensor::from_data(TensorData::new(targets, [b, s, 2, t, f]), device),
            visual,
            mixtures: items.iter().map(|i| i.mixture.clone()).collect(),
            sources: items.iter().map(|i| i.sources.clone()).collect(),
            kinds: items.iter().map(|i| i.kind).collect(),
            names: items.iter().map(|i| i.name.clone()).collect(),
        }
    }
}

/// The items' visual streams as one batch (`None` when the items have none).
pub(crate) fn visual_batch(items: &[SeparationItem], steps: usize, device: &Device) -> Option<VisualBatch> {
    let b = items.len();
    let q = items[0].visual.len();
    match items[0].visual.first()? {
        ItemVisual::Frames(first) => {
            let (frames, width) = first.dim();
            let mut features = Vec::with_capacity(b * q * width * frames);
            let mut steps_out = Vec::with_capacity(b * steps);
            for item in items {
                for visual in &item.visual {
                    let ItemVisual::Frames(rows) = visual else { unreachable!("a batch's items have one kind of visual input") };
                    // [frames, width] → [width, frames]: channels first for the temporal convolutions.
                    features.extend(rows.t().iter().copied());
                }
                steps_out.extend(item.frame_of_step.iter().copied());
            }
            Some(VisualBatch::Frames {
                features: Tensor::from_data(TensorData::new(features, [b, q, width, frames]), device),
                frame_of_step: Tensor::<2, Int>::from_data(TensorData::new(steps_out, [b, steps]), device),
            })
        }
        ItemVisual::Crop(first) => {
            let side = ((first.len() / 3) as f64).sqrt() as usize;
            let pixels: Vec<f32> = items
                .iter()
                .flat_map(|item| item.visual.iter())
                .flat_map(|v| match v {
                    ItemVisual::Crop(p) => p.iter().copied(),
                    ItemVisual::Frames(_) => unreachable!("a batch's items have one kind of visual input"),
                })
                .collect();
            Some(VisualBatch::Crops(Tensor::from_data(TensorData::new(pixels, [b, q, 3, side, side]), device)))
        }
    }
}
