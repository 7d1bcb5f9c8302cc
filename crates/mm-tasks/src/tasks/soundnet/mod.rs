//! `soundnet`: SoundNet's transfer from vision to sound, on digits. The teacher is the pretrained MNIST network
//! with two heads — objects (the digit) and scenes (a coarser grouping of digits by how they are drawn); the
//! "synchronised video" of a recording is a random MNIST picture of the same digit. The student, a raw-waveform
//! 1-D CNN, learns by KL divergence to the teacher's two distributions and never sees an audio label; its
//! layers are then probed by linear classifiers on FSDD and ESC-10 ([`probe_student`]).

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::datasets::{Fsdd, FsddSplit};
use mm_audio::encoders::{WaveformCnnConfig, WaveformLayerConfig};
use mm_joint::soundnet::{SoundNetStudent, SoundNetStudentConfig};
use mm_vision::mnist::{read_mnist, MnistPart};
use mm_vision::transforms::Normalize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data_error;
use super::mnist::Mnist;
use super::pretrained::{encode_images, load_pretrained, MapReadout};
use super::probe::{LinearProbe, ProbeSettings};
use super::spectrogram::{random_time_shift, SoundFeatures, SoundInput};
use crate::data::{DataRoot, Dataset};
use crate::runner::{argmax, BatchTargets, Classifier, Examples, RunError, Split, Targets, Task, TrainConfig};

mod probes;

pub use probes::{probe_student, LayerProbe, SoundNetReport};

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
    classifier: super::ImageClassifier,
    scene_head: LinearProbe,
    device: Device,
}

impl Teacher {
    fn new(config: &SoundNetConfig, root: &DataRoot, device: &Device) -> Result<Self, RunError> {
        let (_, classifier) = load_pretrained::<Mnist>(&config.teacher_run(), device)?;
        let scene_of = config.scene_of()?;
        // The scene head learns from MNIST's labelled pictures (the visual side is supervised, as Places was).
        let images = mnist_pictures(root, MnistPart::Train)?;
        let count = 10_000.min(images.1.len());
        let features = encode_images(&classifier.encoder, &images.0[..count * 784], [1, 28, 28], MapReadout::AverageAndMax, device);
        let labels: Vec<u32> = images.1[..count].iter().map(|&d| scene_of[d as usize]).collect();
        let dim = features.len() / count;
        let scene_head = LinearProbe::fit(&features, dim, &labels, config.scenes.len(), &config.probe, device);
        Ok(Self { classifier, scene_head, device: device.clone() })
    }

    /// Both distributions for pictures `[N, 784]`, softened by `temperature`: (`[N, 10]`, `[N, scenes]`).
    fn teach(&self, pictures: &[f32], temperature: f32) -> (Vec<f32>, Vec<f32>) {
        let n = pictures.len() / 784;
        let x = Tensor::<2>::from_data(TensorData::new(pictures.to_vec(), [n, 784]), &self.device);
        let objects = burn::tensor::activation::softmax(self.classifier.logits(x) / temperature, 1);
        let objects = objects.into_data().convert::<f32>().try_to_vec::<f32>().expect("float");
        let features = encode_images(&self.classifier.encoder, pictures, [1, 28, 28], MapReadout::AverageAndMax, &self.device);
        (objects, self.scene_head.probabilities(&features, temperature))
    }
}

/// MNIST pictures of a part, normalised, and their digits.
fn mnist_pictures(root: &DataRoot, part: MnistPart) -> Result<(Vec<f32>, Vec<u8>), RunError> {
    let images = read_mnist(&root.dataset(Dataset::Mnist).map_err(data_error)?, part).map_err(data_error)?;
    let mut pixels: Vec<f32> = images.pixels.iter().map(|&p| p as f32 / 255.0).collect();
    Normalize::mnist().apply_to_each(&mut pixels, 784);
    Ok((pixels, images.labels))
}

/// The examples (waveforms or log-mels) of an FSDD split and their digits.
pub(crate) fn fsdd_examples(features: &SoundFeatures, input: SoundInput, root: &DataRoot, split: FsddSplit) -> Result<(Vec<f32>, Vec<u8>), RunError> {
    let fsdd = Fsdd::open(root.dataset(Dataset::Fsdd).map_err(data_error)?).map_err(data_error)?;
    let recordings: Vec<_> = fsdd.split(split).collect();
    let examples = features.examples(input, recordings.iter().map(|r| r.load()))?;
    Ok((examples, recordings.iter().map(|r| r.digit).collect()))
}

/// The student with the layout of its input rows and its objective.
#[derive(Module, Debug)]
pub struct SoundNetLearner {
    /// The CNN and its two heads.
    pub student: SoundNetStudent,
    samples: usize,
    objects: usize,
    scenes: usize,
    temperature: f32,
}

impl SoundNetLearner {
    fn waveforms(&self, inputs: Tensor<2>) -> Tensor<3> {
        let [batch, _] = inputs.dims();
        inputs.narrow(1, 0, self.samples).reshape([batch, 1, self.samples])
    }
}

impl Classifier for SoundNetLearner {
    /// Rows `[waveform | teachers]` → the object head's logits `[B, 10]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        self.student.forward(self.waveforms(inputs)).objects
    }

    /// KL to both teachers, read from the rows; the labels are only counted against.
    fn objective(&self, inputs: Tensor<2>, _targets: &BatchTargets) -> (Tensor<1>, Tensor<2>) {
        let objects = inputs.clone().narrow(1, self.samples, self.objects);
        let scenes = inputs.clone().narrow(1, self.samples + self.objects, self.scenes);
        let output = self.student.forward(self.waveforms(inputs));
        (SoundNetStudent::loss(&output, objects, scenes, self.temperature), output.objects)
    }
}

impl Task for SoundNet {
    const NAME: &'static str = "soundnet";
    type Config = SoundNetConfig;
    type Model = SoundNetLearner;

    fn train_config(config: &SoundNetConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut SoundNetConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// Rows `[waveform | teacher's digit distribution | teacher's scene distribution]` of FSDD recordings, each
    /// paired with a random MNIST picture of its digit (training pictures for training, test for test). The
    /// class of a training row is the teacher's most likely digit — no audio label; of a test row, the true
    /// digit, against which the student is judged.
    fn data(config: &SoundNetConfig, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
        let teacher = Teacher::new(config, root, &device)?;
        let (fsdd_split, mnist_part, copies, seed) = match split {
            Split::Train => (FsddSplit::Train, MnistPart::Train, config.pairs_per_recording.max(1), config.train.seed),
            Split::Test => (FsddSplit::Test, MnistPart::Test, 1, 0x7E57),
        };
        let (waveforms, digits) = fsdd_examples(&config.features, SoundInput::Waveform, root, fsdd_split)?;
        let (pictures, picture_digits) = mnist_pictures(root, mnist_part)?;
        let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
        picture_digits.iter().enumerate().for_each(|(i, &d)| by_digit[d as usize].push(i));
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x50D4_D7E7);
        let samples = config.features.samples();
        let mut paired = Vec::with_capacity(digits.len() * copies * 784);
        for _ in 0..copies {
            for &d in &digits {
                let i = by_digit[d as usize][rng.random_range(0..by_digit[d as usize].len())];
                paired.extend_from_slice(&pictures[i * 784..(i + 1) * 784]);
            }
        }
        let (objects, scenes) = teacher.teach(&paired, config.temperature);
        let s = config.scenes.len();
        let mut inputs = Vec::with_capacity(digits.len() * copies * (samples + 10 + s));
        let mut labels = Vec::with_capacity(digits.len() * copies);
        for n in 0..digits.len() * copies {
            let recording = n % digits.len();
            inputs.extend_from_slice(&waveforms[recording * samples..(recording + 1) * samples]);
            inputs.extend_from_slice(&objects[n * 10..(n + 1) * 10]);
            inputs.extend_from_slice(&scenes[n * s..(n + 1) * s]);
            labels.push(match split {
                Split::Train => argmax(&objects[n * 10..(n + 1) * 10]) as u32,
                Split::Test => digits[recording] as u32,
            });
        }
        let names = super::tagging::DIGIT_WORDS.iter().map(|d| d.0.to_string()).collect();
        Ok(Examples { inputs, example_len: samples + 10 + s, targets: Targets::Classes { labels, names } })
    }

    fn model(config: &SoundNetConfig, device: &Device) -> Result<SoundNetLearner, RunError> {
        config.scene_of()?;
        let student = SoundNetStudentConfig::new(config.cnn.clone(), 10, config.scenes.len()).init(device);
        Ok(SoundNetLearner { student, samples: config.features.samples(), objects: 10, scenes: config.scenes.len(), temperature: config.temperature })
    }

    fn augment(config: &SoundNetConfig, example: &mut [f32], rng: &mut ChaCha8Rng) {
        random_time_shift(&mut example[..config.features.samples()], 1, config.max_shift, rng);
    }
}
