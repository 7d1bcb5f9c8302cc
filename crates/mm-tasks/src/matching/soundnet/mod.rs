//! `soundnet`: SoundNet's transfer from vision to sound. A visual teacher with two heads — objects and a coarser
//! scene distribution — looks at the picture of each pair; a raw-waveform 1-D CNN student hears the pair's sound
//! and learns by KL divergence to both distributions, never seeing an audio label. Its layers are then probed by
//! linear classifiers on FSDD and ESC-10 ([`probe_student`]).
//!
//! Two ways of making pairs, a [`Pairing`]: the shapes world's scenes, whose picture and soundtrack are generated
//! together (co-occurrence, SoundNet's setting; the default), or FSDD recordings given an MNIST picture of their
//! own digit (pairs made by reading the label).

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::encoders::{WaveformCnnConfig, WaveformLayerConfig};
use mm_joint::soundnet::{SoundNetStudent, SoundNetStudentConfig};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::probe::ProbeSettings;
use crate::encoders::shapes::label_names;
use crate::encoders::sound::{SoundFeatures, random_time_shift};
use crate::runner::{Batcher, Context, Dataset as Items, InMemDataset, Learner, RunError, Selection, Split, StepOutput, Task, TrainConfig};

mod digits;
mod probes;
mod scenes;

pub use digits::{DigitPairing, SceneGroup};
pub use probes::{ChosenLayer, LayerProbe, ProbeScore, SoundNetReport, SoundNetSummary, probe_student, summarise};
pub use scenes::{PALETTES, SceneItems, ScenePairing, palette};

/// The task.
pub struct SoundNet;

/// Where the pairs of pictures and sounds come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Pairing {
    /// A shapes-world scene's picture and its soundtrack, generated together: no label is read to pair them.
    ShapesScenes(ScenePairing),
    /// An FSDD recording and a random MNIST picture of the same digit: pairs made by reading the digit label.
    ByDigit(DigitPairing),
}

impl Pairing {
    /// How the report names it.
    pub fn description(&self) -> &'static str {
        match self {
            Pairing::ShapesScenes(_) => "co-occurrence: each shapes-world scene's picture and soundtrack (no label read to pair them)",
            Pairing::ByDigit(_) => "pairs made by digit: an FSDD recording and a random MNIST picture of its digit label",
        }
    }

    /// The teacher's object and scene classes.
    fn classes(&self) -> Result<(usize, usize), RunError> {
        match self {
            Pairing::ShapesScenes(_) => Ok((label_names().len(), PALETTES.len())),
            Pairing::ByDigit(digits) => digits.scene_of().map(|_| (10, digits.scenes.len())),
        }
    }

    fn teacher_run(&self) -> PathBuf {
        match self {
            Pairing::ShapesScenes(scenes) => scenes.teacher_run(),
            Pairing::ByDigit(digits) => digits.teacher_run(),
        }
    }

    /// The teacher's run field, filled in with its default where the config leaves it out.
    fn teacher_run_mut(&mut self) -> &mut PathBuf {
        let default = self.teacher_run();
        match self {
            Pairing::ShapesScenes(scenes) => scenes.teacher_run.get_or_insert(default),
            Pairing::ByDigit(digits) => digits.teacher_run.get_or_insert(default),
        }
    }
}

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoundNetConfig {
    /// Where the pairs come from. Default: the shapes world's scenes, taught by `runs/shapes/latest`.
    pub pairing: Pairing,
    /// Sounds → waveforms. Default 8 kHz (FSDD's rate), 1 s.
    pub features: SoundFeatures,
    /// The student's CNN. Default: the five layers of `configs/fsdd-waveform.toml` (SoundNet's conv1–conv5 at
    /// 16–256 channels).
    pub cnn: WaveformCnnConfig,
    /// Softening temperature of both teachers and the student. Default 2.
    pub temperature: f32,
    /// Random time shift of training waveforms, in samples. Default 400 (50 ms).
    pub max_shift: usize,
    /// The linear probes (and the teachers' scene heads). Default: 300 full-batch Adam steps, lr 0.01, weight
    /// decay 1e-3.
    pub probe: ProbeSettings,
    /// FSDD training recordings held out for validation: the digit-paired student's validation, and where the
    /// FSDD probes choose their layer. Default 270.
    pub validation: usize,
    /// The runner's settings. Defaults: 15 epochs, batch 32, lr 2e-3.
    pub train: TrainConfig,
}

impl Default for SoundNetConfig {
    fn default() -> Self {
        let layer = |channels, kernel, pool| WaveformLayerConfig { channels, kernel, stride: 2, pool };
        Self {
            pairing: Pairing::ShapesScenes(ScenePairing::default()),
            features: SoundFeatures { sample_rate: 8000, seconds: 1.0, n_fft: 256, hop: 80, mels: 40 },
            cnn: WaveformCnnConfig::new().with_layers(vec![layer(16, 64, 8), layer(32, 32, 8), layer(64, 16, 1), layer(128, 8, 1), layer(256, 4, 4)]),
            temperature: 2.0,
            max_shift: 400,
            probe: ProbeSettings::default(),
            validation: 270,
            train: TrainConfig { epochs: 15, batch_size: 32, lr: 2e-3, ..TrainConfig::default() },
        }
    }
}

impl SoundNetConfig {
    /// The teacher's classes, after a check of the settings.
    fn classes(&self) -> Result<(usize, usize), RunError> {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(RunError::bad_setting("temperature", self.temperature, "must be positive and finite"));
        }
        self.pairing.classes()
    }
}

/// `[classes]`: 1 at `class`.
fn one_hot(class: usize, classes: usize) -> Vec<f32> {
    let mut row = vec![0.0; classes];
    row[class] = 1.0;
    row
}

/// One sound with the teacher's two distributions for the picture it was paired with.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundNetItem {
    /// `[samples]`, peak-normalised.
    pub waveform: Vec<f32>,
    /// `[objects]` the teacher's softened object distribution.
    pub objects: Vec<f32>,
    /// `[scenes]` its softened scene distribution.
    pub scenes: Vec<f32>,
    /// `[objects]`: 1 for each object the student's likeliest one is counted right at — in training the
    /// teacher's likeliest (no label is read), in validation and test what the pair truly shows.
    pub right: Vec<f32>,
}

/// A batch of [`SoundNetItem`]s.
#[derive(Debug, Clone)]
pub struct SoundNetBatch {
    /// `[B, 1, samples]`.
    pub waveforms: Tensor<3>,
    /// `[B, objects]`.
    pub objects: Tensor<2>,
    /// `[B, scenes]`.
    pub scenes: Tensor<2>,
    /// `[B, objects]`.
    pub right: Tensor<2>,
}

/// Stacks [`SoundNetItem`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoundNetBatcher;

impl Batcher<SoundNetItem, SoundNetBatch> for SoundNetBatcher {
    fn batch(&self, items: Vec<SoundNetItem>, device: &Device) -> SoundNetBatch {
        let n = items.len();
        let (samples, objects, scenes) = (items[0].waveform.len(), items[0].objects.len(), items[0].scenes.len());
        let rows = |pick: fn(&SoundNetItem) -> &Vec<f32>| items.iter().flat_map(|i| pick(i).iter().copied()).collect::<Vec<f32>>();
        SoundNetBatch {
            waveforms: Tensor::from_data(TensorData::new(rows(|i| &i.waveform), [n, 1, samples]), device),
            objects: Tensor::from_data(TensorData::new(rows(|i| &i.objects), [n, objects]), device),
            scenes: Tensor::from_data(TensorData::new(rows(|i| &i.scenes), [n, scenes]), device),
            right: Tensor::from_data(TensorData::new(rows(|i| &i.right), [n, objects]), device),
        }
    }
}

/// The student and its objective.
#[derive(Module, Debug)]
pub struct SoundNetLearner {
    /// The CNN and its two heads.
    pub student: SoundNetStudent,
    temperature: f32,
}

impl Learner for SoundNetLearner {
    type Batch = SoundNetBatch;

    /// KL to both teachers; `accuracy` counts the batch's items whose object head's arg-max is marked right.
    fn objective(&self, batch: &SoundNetBatch) -> StepOutput {
        let [n, _, _] = batch.waveforms.dims();
        let output = self.student.forward(batch.waveforms.clone());
        let loss = SoundNetStudent::loss(&output, batch.objects.clone(), batch.scenes.clone(), self.temperature);
        let top = output.objects.detach().argmax(1);
        let right = batch.right.clone().gather(1, top).sum();
        StepOutput::loss(loss, n).with_metric("accuracy", right)
    }
}

impl Task for SoundNet {
    const NAME: &'static str = "soundnet";
    type Config = SoundNetConfig;
    type Item = SoundNetItem;
    type Model = SoundNetLearner;

    fn train_config(config: &SoundNetConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut SoundNetConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn pretrained_runs(config: &mut SoundNetConfig) -> Vec<&mut PathBuf> {
        vec![config.pairing.teacher_run_mut()]
    }

    fn inputs(config: &SoundNetConfig) -> Vec<PathBuf> {
        let run = config.pairing.teacher_run();
        vec![run.join(crate::runner::CONFIG_FILE), run.join(crate::runner::MODEL_FILE)]
    }

    /// The pairs of [`SoundNetConfig::pairing`]; the teacher's distributions are computed once per run
    /// (`prepared/`).
    fn dataset(config: &SoundNetConfig, context: &Context, split: Split) -> Result<Arc<dyn Items<SoundNetItem>>, RunError> {
        config.classes()?;
        match &config.pairing {
            Pairing::ShapesScenes(scenes) => Ok(Arc::new(SceneItems::new(scenes, config, context, split)?)),
            Pairing::ByDigit(digits) => Ok(Arc::new(InMemDataset::new(digits::digit_items(digits, config, context, split)?))),
        }
    }

    fn batcher(_config: &SoundNetConfig) -> Arc<dyn Batcher<SoundNetItem, SoundNetBatch>> {
        Arc::new(SoundNetBatcher)
    }

    fn model(config: &SoundNetConfig, device: &Device) -> Result<SoundNetLearner, RunError> {
        config.features.check()?;
        let (objects, scenes) = config.classes()?;
        if config.cnn.layers.is_empty() {
            return Err(RunError::setting("cnn.layers", "none: the student needs at least one"));
        }
        let student = SoundNetStudentConfig::new(config.cnn.clone(), objects, scenes).init(device);
        Ok(SoundNetLearner { student, temperature: config.temperature })
    }

    fn augment(config: &SoundNetConfig, item: &mut SoundNetItem, rng: &mut ChaCha8Rng) {
        random_time_shift(&mut item.waveform, 1, config.max_shift, rng);
    }

    /// The distillation loss on the validation pairs (the teachers' outputs on the validation pictures): the
    /// checkpoint is chosen without reading what a validation scene truly holds.
    fn selection(_config: &SoundNetConfig) -> Selection {
        Selection::lowest("loss")
    }
}
