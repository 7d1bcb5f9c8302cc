//! Pairs made by digit: each FSDD recording is paired with a random MNIST picture of the recording's own digit,
//! so the pairs carry the label. The teacher is the pretrained MNIST network with two heads — objects (the
//! digit) and scenes (a coarser grouping of digits by how they are drawn).

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{SoundNetConfig, SoundNetItem, one_hot};
use crate::data::DataRoot;
use crate::encoders::ImageClassifier;
use crate::encoders::Readout;
use crate::encoders::fsdd::fsdd_recordings;
use crate::encoders::mnist::{Mnist, mnist_split};
use crate::encoders::sound::SoundInput;
use crate::matching::pretrained::{cached_rows, encode_images};
use crate::matching::probe::{LinearProbe, ProbeSettings};
use crate::runner::{Classifier, Context, Dataset, RunError, Split, argmax, load_pretrained, load_run_config};

/// A scene: a name and the digits that belong to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneGroup {
    /// What the scene is called.
    pub name: String,
    /// Its digits.
    pub digits: Vec<u8>,
}

/// The digit-paired setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitPairing {
    /// The finished mnist run that teaches. Default `runs/mnist/latest`.
    pub teacher_run: Option<PathBuf>,
    /// The scene teacher's classes. Default: round {0, 6, 8, 9}, straight {1, 4, 7}, curved {2, 3, 5}.
    pub scenes: Vec<SceneGroup>,
    /// Training examples per FSDD training recording, each paired with another random picture. Default 2.
    pub pairs_per_recording: usize,
}

impl Default for DigitPairing {
    fn default() -> Self {
        let group = |name: &str, digits: &[u8]| SceneGroup { name: name.into(), digits: digits.to_vec() };
        Self {
            teacher_run: None,
            scenes: vec![group("round", &[0, 6, 8, 9]), group("straight", &[1, 4, 7]), group("curved", &[2, 3, 5])],
            pairs_per_recording: 2,
        }
    }
}

impl DigitPairing {
    pub(super) fn teacher_run(&self) -> PathBuf {
        self.teacher_run.clone().unwrap_or_else(|| PathBuf::from("runs/mnist/latest"))
    }

    /// The scene of each digit (and a check of the settings).
    pub(super) fn scene_of(&self) -> Result<[u32; 10], RunError> {
        let mut scene = [u32::MAX; 10];
        for (s, group) in self.scenes.iter().enumerate() {
            for &d in &group.digits {
                if d > 9 || scene[d as usize] != u32::MAX {
                    return Err(RunError::setting("pairing", format!("the scenes must share out the digits 0–9, each once ({d} in {:?})", group.name)));
                }
                scene[d as usize] = s as u32;
            }
        }
        if scene.contains(&u32::MAX) || self.scenes.len() < 2 {
            return Err(RunError::setting("pairing", "the scenes must cover every digit 0–9 in two groups or more"));
        }
        Ok(scene)
    }
}

/// The teacher: the MNIST network's digit head, and a scene head fitted on its encoder's features.
struct DigitTeacher {
    classifier: ImageClassifier,
    scene_head: LinearProbe,
    device: Device,
}

impl DigitTeacher {
    fn new(pairing: &DigitPairing, probe: &ProbeSettings, root: &DataRoot, device: &Device) -> Result<Self, RunError> {
        let (mnist_config, classifier) = load_pretrained::<Mnist>(&pairing.teacher_run(), device)?;
        let scene_of = pairing.scene_of()?;
        // The scene head learns from MNIST's labelled training pictures (the visual side is supervised, as
        // Places was).
        let pictures = mnist_split(root, mnist_config.validation, Split::Train)?;
        let count = 10_000.min(pictures.len());
        let images: Vec<f32> = (0..count).flat_map(|i| pictures.picture(i)).collect();
        let features = encode_images(&classifier.encoder, &images, [1, 28, 28], Readout::AverageAndMax, device);
        let labels: Vec<u32> = (0..count).map(|i| scene_of[pictures.digit(i) as usize]).collect();
        let dim = features.len() / count;
        let scene_head = LinearProbe::fit(&features, dim, &labels, pairing.scenes.len(), probe, device);
        Ok(Self { classifier, scene_head, device: device.clone() })
    }

    /// Both distributions for pictures `[N, 784]`, softened by `temperature`: (`[N, 10]`, `[N, scenes]`).
    fn teach(&self, pictures: &[f32], temperature: f32) -> (Vec<f32>, Vec<f32>) {
        let n = pictures.len() / 784;
        let x = Tensor::<2>::from_data(TensorData::new(pictures.to_vec(), [n, 784]), &self.device);
        let objects = burn::tensor::activation::softmax(self.classifier.logits(x) / temperature, 1);
        let objects = objects.into_data().convert::<f32>().try_into_vec::<f32>().expect("float");
        let features = encode_images(&self.classifier.encoder, pictures, [1, 28, 28], Readout::AverageAndMax, &self.device);
        (objects, self.scene_head.probabilities(&features, temperature))
    }
}

/// FSDD recordings (training and validation carved from FSDD's training takes), each paired with a random MNIST
/// picture of its digit from the teacher's own split (training, validation or test pictures). The teacher's
/// distributions are computed once per run (`prepared/`). The student is counted against the teacher's likeliest
/// digit in training (no audio label is read), the recording's true digit in validation and test.
pub(super) fn digit_items(pairing: &DigitPairing, config: &SoundNetConfig, context: &Context, split: Split) -> Result<Vec<SoundNetItem>, RunError> {
    pairing.scene_of()?;
    let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
    let recordings = fsdd_recordings(&context.root, config.validation, split)?;
    let waveforms = config.features.examples(SoundInput::Waveform, recordings.iter().map(|r| r.load()))?;
    let digits: Vec<u8> = recordings.iter().map(|r| r.digit).collect();
    let (copies, seed) = match split {
        Split::Train => (pairing.pairs_per_recording.max(1), config.train.seed),
        Split::Valid => (1, 0x0A11D),
        Split::Test => (1, 0x7E57),
    };
    let path = context.prepared().join(format!("{}-teacher.npy", split.name()));
    let taught = cached_rows(&path, || {
        let validation = load_run_config::<Mnist>(&pairing.teacher_run())?.validation;
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
        let (objects, scenes) = DigitTeacher::new(pairing, &config.probe, &context.root, &device)?.teach(&paired, config.temperature);
        Ok(objects.into_iter().chain(scenes).collect())
    })?;
    let (s, n, samples) = (pairing.scenes.len(), digits.len() * copies, config.features.samples());
    let (objects, scenes) = taught.split_at(n * 10);
    Ok((0..n)
        .map(|k| {
            let recording = k % digits.len();
            let objects = objects[k * 10..(k + 1) * 10].to_vec();
            let counted = if split == Split::Train { argmax(&objects) } else { digits[recording] as usize };
            SoundNetItem {
                waveform: waveforms[recording * samples..(recording + 1) * samples].to_vec(),
                objects,
                scenes: scenes[k * s..(k + 1) * s].to_vec(),
                right: one_hot(counted, 10),
            }
        })
        .collect())
}
