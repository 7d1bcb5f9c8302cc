//! Separating a user's recording with a trained run (`cargo xtask separate`), and a shapes-world test scene.

use std::path::Path;

use burn::tensor::Device;
use mm_audio::Audio;

use super::items::SeparationBatcher;
use super::report::estimate_waveforms;
use super::sources::{ItemVisual, MixtureKind, SeparationItem, SeparationSource};
use super::{Network, Separation, SeparationTaskConfig, read_normaliser};
use crate::data::obama::{VIDEO_FPS, mouth_frames};
use crate::runner::{Batcher, Context, Dataset, RunError, Split, load_model};

/// The RMS the training mixtures are scaled to; a recording is brought to it before separation and back after.
const MIXTURE_RMS: f32 = 0.05;

/// The speaker whose mouth coefficients are in `mouth` (the data set's layout: `[4 × frames, 8]` at 29.97 video
/// frames per second, starting with the recording), separated from `mixture` by the audio-visual speech run `run`:
/// at the mixture's rate and length.
pub fn separate_speech(run: &Path, mixture: &Audio, mouth: &Path, device: &Device) -> Result<Audio, RunError> {
    let (config, model) = load_model::<Separation>(run, device)?;
    if !matches!(config.source, SeparationSource::Speech(_)) || config.network != Network::AudioVisual {
        return Err(RunError::invalid(run, "not an audio-visual speech separation run (its config's source must be speech, its network audio-visual)"));
    }
    let settings = config.signal;
    let audio = mixture.resample(settings.sample_rate).map_err(crate::data_error)?;
    let len = audio.samples.len();
    if len < settings.n_fft {
        return Err(RunError::setting("mixture", format!("{len} samples at {} Hz, fewer than one STFT window", settings.sample_rate)));
    }
    let mut frames = mouth_frames(mouth)?;
    let (seconds, covered) = (len as f64 / settings.sample_rate as f64, frames.nrows() as f64 / VIDEO_FPS);
    if (seconds - covered).abs() > 0.5 {
        return Err(RunError::invalid(mouth, format!("{} video frames cover {covered:.2} s, but the mixture lasts {seconds:.2} s", frames.nrows())));
    }
    read_normaliser(&run.join("prepared"))?.apply(&mut frames);
    let steps = settings.stft_config().n_frames(len);
    let frame_of_step = (0..steps)
        .map(|t| (((t * settings.hop_length) as f64 * VIDEO_FPS / settings.sample_rate as f64).floor() as usize).min(frames.nrows() - 1) as i64)
        .collect();
    let rms = (audio.samples.iter().map(|v| v * v).sum::<f32>() / len as f32).sqrt();
    let gain = if rms > 0.0 { MIXTURE_RMS / rms } else { 1.0 };
    let scaled: Vec<f32> = audio.samples.iter().map(|v| v * gain).collect();
    let item = SeparationItem {
        sources: vec![scaled.clone()],
        mixture: scaled,
        visual: vec![ItemVisual::Frames(frames)],
        frame_of_step,
        kind: MixtureKind::Voice,
        name: "input".into(),
        redraw: None,
    };
    let batch = SeparationBatcher::new(settings).batch(vec![item], device);
    let estimate: Vec<f32> = estimate_waveforms(settings, &model, &batch).remove(0).remove(0).into_iter().map(|v| v / gain).collect();
    let mut out = Audio::new(estimate, settings.sample_rate).resample(mixture.sample_rate).map_err(crate::data_error)?;
    out.fit_to(mixture.samples.len());
    Ok(out)
}

/// A shapes-world test scene separated by the shapes run `run`: the mixture, its two objects' estimates (in the
/// order the run's outputs give them) and the clean notes, with the scene's description.
pub struct SeparatedScene {
    /// The mixture.
    pub mixture: Vec<f32>,
    /// One estimate per object.
    pub estimates: Vec<Vec<f32>>,
    /// The clean notes.
    pub sources: Vec<Vec<f32>>,
    /// Which scene and objects.
    pub name: String,
    /// Samples per second.
    pub sample_rate: u32,
}

/// Separates test scene `index` of a shapes separation run.
pub fn separate_scene(run: &Path, index: usize, context: &Context, device: &Device) -> Result<SeparatedScene, RunError> {
    let (config, model): (SeparationTaskConfig, _) = load_model::<Separation>(run, device)?;
    if !matches!(config.source, SeparationSource::Shapes(_)) {
        return Err(RunError::invalid(run, "not a shapes-world separation run"));
    }
    let items = config.items(context, Split::Test)?;
    let item = items.get(index).map_err(|_| RunError::bad_setting("--scene", index, format!("the run's test split has {} scenes", items.len())))?;
    let (name, sources) = (item.name.clone(), item.sources.clone());
    let batch = SeparationBatcher::new(config.signal).batch(vec![item], device);
    let estimates = estimate_waveforms(config.signal, &model, &batch).remove(0);
    Ok(SeparatedScene { mixture: batch.mixtures[0].clone(), estimates, sources, name, sample_rate: config.signal.sample_rate })
}
