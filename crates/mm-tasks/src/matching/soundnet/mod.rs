//! `soundnet`: SoundNet's transfer from vision to sound, on digits. The teacher is the pretrained MNIST network
//! with two heads — objects (the digit) and scenes (a coarser grouping of digits by how they are drawn); the
//! "synchronised video" of a recording is a random MNIST picture of the same digit. The student, a raw-waveform
//! 1-D CNN, learns by KL divergence to the teacher's two distributions and never sees an audio label; its
//! layers are then probed by linear classifiers on FSDD and ESC-10 ([`probe_student`]).

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_audio::datasets::{Fsdd, FsddSplit};
use mm_audio::encoders::{WaveformCnnConfig, WaveformLayerConfig};
use mm_joint::soundnet::{SoundNetStudent, SoundNetStudentConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::pretrained::{MapReadout, cached_rows, encode_images, load_pretrained};
use super::probe::{LinearProbe, ProbeSettings};
use crate::data::{DataRoot, Dataset, data_error};
use crate::encoders::ImageClassifier;
use crate::encoders::fsdd::fsdd_recordings;
use crate::encoders::mnist::{Mnist, mnist_split};
use crate::encoders::sound::{SoundFeatures, SoundInput, random_time_shift};
use crate::runner::{
    Batcher, Classifier, Context, Dataset as Items, InMemDataset, Learner, RunError, Selection, Split, StepOutput, Task, TrainConfig, argmax, load_run_config,
};

mod probes;

pub use probes::{LayerProbe, SoundNetReport, probe_student};

/// The task.
pub struct SoundNet;

/// A scene: a name and the digits that belong to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneGroup {
    /// What the scene is called.
    pub name: String,
    /// Its digits.
    pub digits: Vec<u8>,
}

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoundNetConfig {
    /// The finished mnist run that teaches. Default `runs/mnist/latest`.
    pub teacher_run: Option<PathBuf>,
    /// Recordings → waveforms. Default 8 kHz, 1 s (FSDD's rate).
    pub features: SoundFeatures,
    /// The student's CNN. Default: the five layers of `configs/fsdd-waveform.toml` (SoundNet's conv1–conv5 at
    /// 16–256 channels).
    pub cnn: WaveformCnnConfig,
    /// The scene teacher's classes. Default: round {0, 6, 8, 9}, straight {1, 4, 7}, curved {2, 3, 5}.
    pub scenes: Vec<SceneGroup>,
    /// Softening temperature of both teachers and the student. Default 2.
    pub temperature: f32,
    /// Training examples per FSDD training recording, each paired with another random picture. Default 2.
    pub pairs_per_recording: usize,
    /// Random time shift of training waveforms, in samples. Default 400 (50 ms).
    pub max_shift: usize,
    /// The linear probes. Default: 300 full-batch Adam steps, lr 0.01, weight decay 1e-3.
    pub probe: ProbeSettings,
    /// FSDD training recordings held out for validation. Default 270.
    pub validation: usize,
    /// The runner's settings. Defaults: 15 epochs, batch 32, lr 2e-3.
    pub train: TrainConfig,
}

impl Default for SoundNetConfig {
    fn default() -> Self {
        let layer = |channels, kernel, pool| WaveformLayerConfig { channels, kernel, stride: 2, pool };
        let group = |name: &str, digits: &[u8]| SceneGroup { name: name.into(), digits: digits.to_vec() };
        Self {
            teacher_run: None,
            features: SoundFeatures { sample_rate: 8000, seconds: 1.0, n_fft: 256, hop: 80, mels: 40 },
            cnn: WaveformCnnConfig::new().with_layers(vec![layer(16, 64, 8), layer(32, 32, 8), layer(64, 16, 1), layer(128, 8, 1), layer(256, 4, 4)]),
            scenes: vec![group("round", &[0, 6, 8, 9]), group("straight", &[1, 4, 7]), group("curved", &[2, 3, 5])],
            temperature: 2.0,
            pairs_per_recording: 2,
            max_shift: 400,
            probe: ProbeSettings::default(),
            validation: 270,
            train: TrainConfig { epochs: 15, batch_size: 32, lr: 2e-3, ..TrainConfig::default() },
        }
    }
}

impl SoundNetConfig {
    fn teacher_run(&self) -> PathBuf {
        self.teacher_run.clone().unwrap_or_else(|| PathBuf::from("runs/mnist/latest"))
    }

    /// The scene of each digit (and a check of the settings).
    fn scene_of(&self) -> Result<[u32; 10], RunError> {
        if !(self.temperature > 0.0) {
            return Err(RunError::Config(format!("soundnet: temperature must be positive, not {}", self.temperature)));
        }
        let mut scene = [u32::MAX; 10];
        for (s, group) in self.scenes.iter().enumerate() {
            for &d in &group.digits {
                if d > 9 || scene[d as usize] != u32::MAX {
                    return Err(RunError::Config(format!("soundnet: scenes must share out the digits 0–9, each once ({d} in {:?})", group.name)));
                }
                scene[d as usize] = s as u32;
            }
        }
        if scene.contains(&u32::MAX) || self.scenes.len() < 2 {
            return Err(RunError::Config("soundnet: scenes must cover every digit 0–9 in two groups or more".into()));
        }
        Ok(scene)
    }
}

/// The teacher: the MNIST network's digit head, and a scene head fitted on its encoder's features.
struct Teacher {
    classifier: ImageClassifier,
    scene_head: LinearProbe,
    device: Device,
}

impl Teacher {
    fn new(config: &SoundNetConfig, root: &DataRoot, device: &Device) -> Result<Self, RunError> {
        let (mnist_config, classifier) = load_pretrained::<Mnist>(&config.teacher_run(), device)?;
        let scene_of = config.scene_of()?;
        // The scene head learns from MNIST's labelled training pictures (the visual side is supervised, as
        // Places was).
        let pictures = mnist_split(root, mnist_config.validation, Split::Train)?;
        let count = 10_000.min(pictures.len());
        let images: Vec<f32> = (0..count).flat_map(|i| pictures.picture(i)).collect();
        let features = encode_images(&classifier.encoder, &images, [1, 28, 28], MapReadout::AverageAndMax, device);
        let labels: Vec<u32> = (0..count).map(|i| scene_of[pictures.digit(i) as usize]).collect();
        let dim = features.len() / count;
        let scene_head = LinearProbe::fit(&features, dim, &labels, config.scenes.len(), &config.probe, device);
        Ok(Self { classifier, scene_head, device: device.clone() })
    }

    /// Both distributions for pictures `[N, 784]`, softened by `temperature`: (`[N, 10]`, `[N, scenes]`).
    fn teach(&self, pictures: &[f32], temperature: f32) -> (Vec<f32>, Vec<f32>) {
        let n = pictures.len() / 784;
        let x = Tensor::<2>::from_data(TensorData::new(pictures.to_vec(), [n, 784]), &self.device);
        let objects = burn::tensor::activation::softmax(self.classifier.logits(x) / temperature, 1);
        let objects = objects.into_data().convert::<f32>().try_into_vec::<f32>().expect("float");
        let features = encode_images(&self.classifier.encoder, pictures, [1, 28, 28], MapReadout::AverageAndMax, &self.device);
        (objects, self.scene_head.probabilities(&features, temperature))
    }
}

/// The examples (waveforms or log-mels) of an FSDD split and their digits.
pub(crate) fn fsdd_examples(features: &SoundFeatures, input: SoundInput, root: &DataRoot, split: FsddSplit) -> Result<(Vec<f32>, Vec<u8>), RunError> {
    let fsdd = Fsdd::open(root.dataset(Dataset::Fsdd).map_err(data_error)?).map_err(data_error)?;
    let recordings: Vec<_> = fsdd.split(split).collect();
    let examples = features.examples(input, recordings.iter().map(|r| r.load()))?;
    Ok((examples, recordings.iter().map(|r| r.digit).collect()))
}

/// One recording with the teacher's two distributions for the picture it was paired with.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundNetItem {
    /// `[samples]`, peak-normalised.
    pub waveform: Vec<f32>,
    /// `[10]` the teacher's softened digit distribution.
    pub objects: Vec<f32>,
    /// `[scenes]` its softened scene distribution.
    pub scenes: Vec<f32>,
    /// What the student is counted against: the teacher's likeliest digit in training (no audio label is read),
    /// the recording's true digit in validation and test.
    pub class: u32,
}

/// A batch of [`SoundNetItem`]s.
#[derive(Debug, Clone)]
pub struct SoundNetBatch {
    /// `[B, 1, samples]`.
    pub waveforms: Tensor<3>,
    /// `[B, 10]`.
    pub objects: Tensor<2>,
    /// `[B, scenes]`.
    pub scenes: Tensor<2>,
    /// `[B]`.
    pub classes: Tensor<1, Int>,
}

/// Stacks [`SoundNetItem`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoundNetBatcher;

impl Batcher<SoundNetItem, SoundNetBatch> for SoundNetBatcher {
    fn batch(&self, items: Vec<SoundNetItem>, device: &Device) -> SoundNetBatch {
        let n = items.len();
        let (samples, scenes) = (items[0].waveform.len(), items[0].scenes.len());
        let rows = |pick: fn(&SoundNetItem) -> &Vec<f32>| items.iter().flat_map(|i| pick(i).iter().copied()).collect::<Vec<f32>>();
        SoundNetBatch {
            waveforms: Tensor::from_data(TensorData::new(rows(|i| &i.waveform), [n, 1, samples]), device),
            objects: Tensor::from_data(TensorData::new(rows(|i| &i.objects), [n, 10]), device),
            scenes: Tensor::from_data(TensorData::new(rows(|i| &i.scenes), [n, scenes]), device),
            classes: Tensor::from_data(TensorData::new(items.iter().map(|i| i.class as i64).collect::<Vec<_>>(), [n]), device),
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

    /// KL to both teachers; `accuracy` counts the object head's arg-max against the batch's classes.
    fn objective(&self, batch: &SoundNetBatch) -> StepOutput {
        let [n, _, _] = batch.waveforms.dims();
        let output = self.student.forward(batch.waveforms.clone());
        let loss = SoundNetStudent::loss(&output, batch.objects.clone(), batch.scenes.clone(), self.temperature);
        let right = output.objects.detach().argmax(1).flatten::<1>(0, 1).equal(batch.classes.clone()).int().sum().float();
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

    fn inputs(config: &SoundNetConfig) -> Vec<PathBuf> {
        let run = config.teacher_run();
        vec![run.join(crate::runner::CONFIG_FILE), run.join(crate::runner::MODEL_FILE)]
    }

    /// FSDD recordings (training and validation carved from FSDD's training takes), each paired with a random
    /// MNIST picture of its digit from the teacher's own split (training, validation or test pictures). The
    /// teacher's distributions are computed once per run (`prepared/`).
    fn dataset(config: &SoundNetConfig, context: &Context, split: Split) -> Result<Arc<dyn Items<SoundNetItem>>, RunError> {
        config.scene_of()?;
        let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
        let recordings = fsdd_recordings(&context.root, config.validation, split)?;
        let waveforms = config.features.examples(SoundInput::Waveform, recordings.iter().map(|r| r.load()))?;
        let digits: Vec<u8> = recordings.iter().map(|r| r.digit).collect();
        let (copies, seed) = match split {
            Split::Train => (config.pairs_per_recording.max(1), config.train.seed),
            Split::Valid => (1, 0x0A11D),
            Split::Test => (1, 0x7E57),
        };
        let s = config.scenes.len();
        let prepared = context.prepared();
        let teach = |kind: &str| -> Result<Vec<f32>, RunError> {
            let path = prepared.join(format!("{}-{kind}.npy", split.name()));
            cached_rows(&path, || {
                let validation = load_run_config::<Mnist>(&config.teacher_run())?.validation;
                let pictures = mnist_split(&context.root, validation, split)?;
                let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
                (0..pictures.len()).for_each(|i| by_digit[pictures.digit(i) as usize].push(i));
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x50D4_D7E7);
                let mut paired = Vec::with_capacity(digits.len() * copies * 784);
                for _ in 0..copies {
                    for &d in &digits {
                        let i = by_digit[d as usize][rng.random_range(0..by_digit[d as usize].len())];
                        paired.extend(pictures.picture(i));
                    }
                }
                let (objects, scenes) = Teacher::new(config, &context.root, &device)?.teach(&paired, config.temperature);
                Ok(objects.into_iter().chain(scenes).collect())
            })
        };
        let taught = teach("teacher")?;
        let n = digits.len() * copies;
        let (objects, scenes) = taught.split_at(n * 10);
        let samples = config.features.samples();
        let items = (0..n)
            .map(|k| {
                let recording = k % digits.len();
                let objects = objects[k * 10..(k + 1) * 10].to_vec();
                let class = if split == Split::Train { argmax(&objects) as u32 } else { digits[recording] as u32 };
                SoundNetItem {
                    waveform: waveforms[recording * samples..(recording + 1) * samples].to_vec(),
                    objects,
                    scenes: scenes[k * s..(k + 1) * s].to_vec(),
                    class,
                }
            })
            .collect();
        Ok(Arc::new(InMemDataset::new(items)))
    }

    fn batcher(_config: &SoundNetConfig) -> Arc<dyn Batcher<SoundNetItem, SoundNetBatch>> {
        Arc::new(SoundNetBatcher)
    }

    fn model(config: &SoundNetConfig, device: &Device) -> Result<SoundNetLearner, RunError> {
        config.features.check()?;
        config.scene_of()?;
        let student = SoundNetStudentConfig::new(config.cnn.clone(), 10, config.scenes.len()).init(device);
        Ok(SoundNetLearner { student, temperature: config.temperature })
    }

    fn augment(config: &SoundNetConfig, item: &mut SoundNetItem, rng: &mut ChaCha8Rng) {
        random_time_shift(&mut item.waveform, 1, config.max_shift, rng);
    }

    fn selection(_config: &SoundNetConfig) -> Selection {
        Selection::highest("accuracy")
    }
}
