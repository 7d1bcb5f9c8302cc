//! Features from the encoders of earlier runs: the "pretrained unimodal encoders" the matching systems start
//! from, computed once in batches (no gradients) and kept frozen.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use mm_vision::encoders::ImageEncoder;

use crate::encoders::Readout;
use crate::runner::RunError;

/// Encodes `images` (`[N, C·H·W]` row-major, `shape` = `[C, H, W]`) in batches of 256 and reads out each map.
pub fn encode_images(encoder: &ImageEncoder, images: &[f32], shape: [usize; 3], readout: Readout, device: &Device) -> Vec<f32> {
    let len = shape.iter().product::<usize>();
    let mut out = Vec::new();
    for chunk in images.chunks(256 * len) {
        let batch = chunk.len() / len;
        let input = Tensor::<4>::from_data(TensorData::new(chunk.to_vec(), [batch, shape[0], shape[1], shape[2]]), device);
        let rows = readout.read(encoder.forward(input).features);
        out.extend(rows.into_data().convert::<f32>().try_into_vec::<f32>().expect("float features"));
    }
    out
}

/// Rows computed once per run: read from `path` (a 1-D float32 `.npy`) when an earlier part of the run saved
/// them, else computed by `compute` and saved there atomically.
pub fn cached_rows(path: &Path, compute: impl FnOnce() -> Result<Vec<f32>, RunError>) -> Result<Vec<f32>, RunError> {
    use ndarray_npy::WriteNpyExt;
    if path.exists() {
        let rows: ndarray::Array1<f32> = ndarray_npy::read_npy(path).map_err(|e| RunError::invalid(path, e))?;
        return Ok(rows.to_vec());
    }
    let rows = compute()?;
    let mut bytes = Vec::new();
    ndarray::ArrayView1::from(&rows[..]).write_npy(&mut bytes).map_err(|e| RunError::invalid(path, e))?;
    crate::runner::write_atomically(path, &bytes)?;
    Ok(rows)
}
