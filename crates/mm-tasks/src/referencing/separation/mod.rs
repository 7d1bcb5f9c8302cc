//! `separation`: audio-visual speech separation (Ephrat et al., "Looking to Listen at the Cocktail Party",
//! SIGGRAPH 2018). The network ([`Separator`], `model`) reads a mixture's power-law-compressed complex STFT and
//! one visual stream per source it is asked for, and gives that source's complex ratio mask; the masked STFT,
//! decompressed, goes through the inverse STFT back to a waveform. It is trained on mixtures made from clean
//! recordings ([`sources`]) with the paper's loss (squared error between the compressed clean and enhanced
//! spectrograms); the audio-only twin ([`Network::AudioOnly`]) gives one mask per source and is trained with
//! permutation-invariant training. Validation separates the validation mixtures through the inverse STFT and
//! keeps the epoch of the best SI-SDR improvement; the test report ([`report`]) measures SI-SDR(i), BSS-eval
//! SDR(i) and STOI (mm-audio's, equal to fast-bss-eval's, mir_eval's and pystoi's) beside the mixture and the
//! ideal ratio and complex masks, and writes WAVs and spectrogram pictures.

mod items;
mod model;
pub mod report;
mod separate;
pub mod sources;

pub use items::{SeparationBatch, SeparationBatcher, SeparationItems, compress};
pub use model::{Separator, SeparatorConfig, Streams, VisualBatch, VisualKind, apply_masks, permutations, pit_loss, spectrogram_loss};
pub use separate::{SeparatedScene, separate_scene, separate_speech};
pub use sources::{ItemVisual, MixtureKind, SeparationItem, SeparationSource, ShapesMixtures, SpeechMixtures, VisualNormaliser};

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use mm_audio::signal::StftConfig;
use serde::{Deserialize, Serialize};

use crate::data::obama::VIDEO_FPS;
use crate::runner::{Batcher, Context, Dataset, Learner, Loader, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig};
use sources::{Pool, fit_visual_normaliser};

/// The task.
pub struct Separation;

/// The file in `prepared/` that holds the mouth coefficients' standardisation (speech mixtures).
pub const VISUAL_NORMALISER_FILE: &str = "visual_normaliser.json";

/// Which network is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// Audio and one visual stream per queried source; one mask each.
    AudioVisual,
    /// The audio stream alone, one mask per source, permutation-invariant training.
    AudioOnly,
}

/// The signal path: sample rate, window, STFT and compression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalSettings {
    /// Sample rate of every mixture (sources are resampled to it). Default 8,000 Hz, as WSJ0-2mix's separation
    /// benchmarks; the paper works at 16 kHz.
    pub sample_rate: u32,
    /// Seconds per mixture (the paper's 3). Default 1.
    pub seconds: f32,
    /// FFT length. Default 256 (32 ms at 8 kHz).
    pub n_fft: usize,
    /// Hop: 10 ms as in the paper. Default 80.
    pub hop_length: usize,
    /// Hann window length: 25 ms as in the paper. Default 200.
    pub win_length: usize,
    /// The power-law compression's exponent. Default 0.3 (the paper's).
    pub power: f32,
}

impl Default for SignalSettings {
    fn default() -> Self {
        Self { sample_rate: 8000, seconds: 1.0, n_fft: 256, hop_length: 80, win_length: 200, power: 0.3 }
    }
}

impl SignalSettings {
    /// The STFT (Hann, centred, reflect padding).
    pub fn stft_config(&self) -> StftConfig {
        StftConfig::new(self.n_fft).with_hop_length(self.hop_length).with_win_length(self.win_length)
    }

    /// Samples per mixture.
    pub fn window(&self) -> usize {
        (self.seconds * self.sample_rate as f32).round() as usize
    }

    /// STFT frames per mixture.
    pub fn steps(&self) -> usize {
        self.stft_config().n_frames(self.window())
    }

    /// Video frames that cover a mixture (one more than its length in frames, for the one it starts inside).
    pub fn video_frames(&self) -> usize {
        (self.seconds as f64 * VIDEO_FPS).ceil() as usize + 1
    }

    /// For each STFT frame of a window starting at sample `start`, the video frame (counted from `first`) that
    /// covers its centre, within the window's video frames.
    pub fn frame_of_step(&self, start: usize, first: usize) -> Vec<i64> {
        let last = self.video_frames() - 1;
        (0..self.steps())
            .map(|t| {
                let frame = (((start + t * self.hop_length) as f64) * VIDEO_FPS / self.sample_rate as f64).floor() as usize;
                frame.saturating_sub(first).min(last) as i64
            })
            .collect()
    }

    /// Checks the settings.
    pub fn check(&self) -> Result<(), RunError> {
        mm_audio::check_sample_rate(self.sample_rate, "separation: signal.sample_rate").map_err(crate::data_error)?;
        self.stft_config().validate().map_err(crate::data_error)?;
        if !(self.seconds > 0.0 && self.seconds <= 60.0) || self.window() < self.n_fft {
            return Err(RunError::bad_setting("signal.seconds", self.seconds, "must give at least n_fft samples and at most 60 s"));
        }
        if !(self.power > 0.0 && self.power <= 1.0) {
            return Err(RunError::bad_setting("signal.power", self.power, "must be in (0, 1]"));
        }
        Ok(())
    }
}

crate::runner::model_settings!(
    /// The network's settings in the task's config (its `[sizes]`); the frequency bins come from the signal
    /// settings and the streams from `network` and the source.
    sizes_settings: SeparatorConfig = SeparatorConfig::new(0, Streams::AudioOnly { sources: 2 }), from_data: ["bins", "streams"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeparationTaskConfig {
    /// The mixtures. Default: the speaker against a voice, noise or himself.
    pub source: SeparationSource,
    /// Audio-visual (default) or audio-only.
    pub network: Network,
    /// The signal path.
    pub signal: SignalSettings,
    /// The network's sizes (`[sizes]` in a file: any field of [`SeparatorConfig`] but `bins` and `streams`, which
    /// come from the signal settings and `network`); defaults there.
    #[serde(with = "sizes_settings")]
    pub sizes: SeparatorConfig,
    /// The runner's settings. Defaults: 8 epochs, batch 16, lr 1e-3, gradients clipped at norm 5.
    pub train: TrainConfig,
}

impl Default for SeparationTaskConfig {
    fn default() -> Self {
        let mut train = TrainConfig { epochs: 8, batch_size: 16, lr: 1e-3, checkpoint_every: 100, ..TrainConfig::default() };
        train.optimizer.clip_norm = Some(5.0);
        Self { source: SeparationSource::default(), network: Network::AudioVisual, signal: SignalSettings::default(), sizes: sizes_settings::defaults(), train }
    }
}

impl SeparationTaskConfig {
    /// The network's config for these mixtures.
    pub fn separator(&self) -> SeparatorConfig {
        let streams = match (self.network, &self.source) {
            (Network::AudioOnly, _) => Streams::AudioOnly { sources: 2 },
            (Network::AudioVisual, SeparationSource::Speech(_)) => {
                Streams::AudioVisual { visual: VisualKind::Frames { width: crate::data::obama::MOUTH_COEFFICIENTS } }
            }
            (Network::AudioVisual, SeparationSource::Shapes(shapes)) => Streams::AudioVisual { visual: VisualKind::Crop { side: shapes.crop_side } },
        };
        SeparatorConfig { bins: self.signal.n_fft / 2 + 1, streams, ..self.sizes.clone() }
    }

    /// The mixtures of `split`.
    pub fn items(&self, context: &Context, split: Split) -> Result<SeparationItems, RunError> {
        self.signal.check()?;
        let normaliser = match &self.source {
            SeparationSource::Speech(_) => Some(read_normaliser(&context.prepared())?),
            SeparationSource::Shapes(_) => None,
        };
        Ok(SeparationItems::new(Pool::open(&self.source, self.signal, &context.root, split, normaliser.as_ref())?, split))
    }
}

/// Reads the mouth standardisation a run prepared.
pub fn read_normaliser(prepared: &std::path::Path) -> Result<VisualNormaliser, RunError> {
    let path = prepared.join(VISUAL_NORMALISER_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| RunError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| RunError::invalid(&path, e))
}

/// The separation network as the runner trains it.
#[derive(Module, Debug)]
pub struct SeparationModel {
    /// The network.
    pub net: Separator,
}

impl SeparationModel {
    /// The compressed estimates `[B, S, 2, T, F]` of a batch: the masks applied to the mixture.
    pub fn estimates(&self, batch: &SeparationBatch) -> burn::tensor::Tensor<5> {
        let masks = self.net.masks(batch.mixture.clone(), batch.visual.as_ref());
        apply_masks(masks, batch.mixture.clone())
    }
}

impl Learner for SeparationModel {
    type Batch = SeparationBatch;

    /// The paper's spectrogram loss on the queried sources (audio-visual), or its permutation-invariant form over
    /// every source (audio-only).
    fn objective(&self, batch: &SeparationBatch) -> StepOutput {
        let estimates = self.estimates(batch);
        let [b, s, ..] = estimates.dims();
        let loss = if self.net.is_audio_visual() {
            spectrogram_loss(estimates, batch.targets.clone().narrow(1, 0, s))
        } else {
            pit_loss(estimates, batch.targets.clone()).0
        };
        StepOutput::loss(loss, b)
    }
}

impl Task for Separation {
    const NAME: &'static str = "separation";
    type Config = SeparationTaskConfig;
    type Item = SeparationItem;
    type Model = SeparationModel;

    fn train_config(config: &SeparationTaskConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut SeparationTaskConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// Test mixtures drawn from `seed`: the shapes world's test scenes, or for speech new interferers, offsets
    /// and ratios for the same test speakers' windows.
    fn with_test_seed(config: &SeparationTaskConfig, seed: u64) -> Option<SeparationTaskConfig> {
        let mut config = config.clone();
        match &mut config.source {
            SeparationSource::Speech(speech) => speech.test_seed = Some(seed),
            SeparationSource::Shapes(shapes) => shapes.seeds[2] = seed,
        }
        Some(config)
    }

    /// Speech mixtures: the mouth coefficients' mean and deviation over the training segments.
    fn prepare(config: &SeparationTaskConfig, context: &Context) -> Result<(), RunError> {
        config.signal.check()?;
        if let SeparationSource::Speech(speech) = &config.source {
            let normaliser = fit_visual_normaliser(&context.root, speech)?;
            let dir = context.prepared();
            std::fs::create_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
            crate::runner::write_atomically(&dir.join(VISUAL_NORMALISER_FILE), &serde_json::to_vec_pretty(&normaliser).expect("serialises"))?;
        }
        Ok(())
    }

    fn dataset(config: &SeparationTaskConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<SeparationItem>>, RunError> {
        Ok(Arc::new(config.items(context, split)?))
    }

    fn batcher(config: &SeparationTaskConfig) -> Arc<dyn Batcher<SeparationItem, SeparationBatch>> {
        Arc::new(SeparationBatcher::new(config.signal))
    }

    fn model(config: &SeparationTaskConfig, device: &Device) -> Result<SeparationModel, RunError> {
        config.signal.check()?;
        let net = config.separator().init(device)?;
        Ok(SeparationModel { net })
    }

    /// A fresh mixture every epoch: target window, interferer and gain drawn from the (epoch, batch) generator.
    fn augment(_config: &SeparationTaskConfig, item: &mut SeparationItem, rng: &mut rand_chacha::ChaCha8Rng) {
        item.redraw(rng);
    }

    /// The validation mixtures separated through the inverse STFT: the mean SI-SDR improvement, and the loss.
    fn validate(
        config: &SeparationTaskConfig,
        _context: &Context,
        model: &SeparationModel,
        loader: &Loader<SeparationItem, SeparationBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        report::validation_scores(config, model, loader, device)
    }

    fn evaluate(
        config: &SeparationTaskConfig,
        context: &Context,
        model: &SeparationModel,
        loader: &Loader<SeparationItem, SeparationBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        report::evaluate(config, context, model, loader, device)
    }

    fn selection(_config: &SeparationTaskConfig) -> Selection {
        Selection::highest("si_sdri")
    }
}
