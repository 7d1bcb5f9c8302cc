//! Pairs made by co-occurrence: a shapes-world scene's picture and its soundtrack are generated together, as a
//! video's frames and its sound are, so pairing them reads no label. The teacher is the shapes task's network:
//! objects (its 48 "size colour shape" labels, as a distribution over what is in the picture) and scenes (a
//! coarser palette head fitted on its encoder's features: warm, cool or mixed colours). The student hears only
//! the scene's mixture.

use std::path::PathBuf;

use burn::tensor::activation::{log_sigmoid, softmax};
use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::Audio;
use serde::{Deserialize, Serialize};

use super::{SoundNetConfig, SoundNetItem, one_hot};
use crate::data::shapes::{Object, SceneSplits, ShapesConfig, ShapesWorld};
use crate::encoders::Readout;
use crate::encoders::shapes::{SceneDescriber, Shapes, ShapesItems, label_names, label_of};
use crate::encoders::sound::SoundFeatures;
use crate::matching::pretrained::{cached_rows, encode_images};
use crate::matching::probe::{LinearProbe, ProbeSettings};
use crate::runner::{Classifier, Context, Dataset, DatasetError, RunError, Split, argmax, load_pretrained, load_run_config};

/// The scene teacher's classes: a scene whose objects are all warm (red, orange, yellow: the low notes), all cool,
/// or both.
pub const PALETTES: [&str; 3] = ["warm", "cool", "mixed"];

/// The palette of a scene, an index into [`PALETTES`].
pub fn palette(objects: &[Object]) -> usize {
    match (objects.iter().all(|o| o.colour.is_warm()), objects.iter().all(|o| !o.colour.is_warm())) {
        (true, _) => 0,
        (_, true) => 1,
        _ => 2,
    }
}

/// The co-occurrence setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "PairingLayout")]
pub struct ScenePairing {
    /// The finished shapes run that teaches. Default `runs/shapes/latest`.
    pub teacher_run: Option<PathBuf>,
    /// The student's scenes. Default: 5,000 of seed 10 train, 500 of seed 12 validate, 1,000 of seed 11 test
    /// (the teacher trained on other seeds' scenes).
    pub scenes: SceneSplits,
}

impl Default for ScenePairing {
    fn default() -> Self {
        let scenes = SceneSplits { train_scenes: 5000, valid_scenes: 500, test_scenes: 1000, train_seed: 10, valid_seed: 12, test_seed: 11 };
        Self { teacher_run: None, scenes }
    }
}

/// How a config writes [`ScenePairing`]: the splits as one table, or, in runs saved before they were one, their
/// six fields beside `teacher_run` (so that those runs' students still load).
#[derive(Deserialize)]
#[serde(untagged)]
enum PairingLayout {
    Nested(NestedPairing),
    Flat(FlatPairing),
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NestedPairing {
    teacher_run: Option<PathBuf>,
    scenes: SceneSplits,
}

impl Default for NestedPairing {
    fn default() -> Self {
        let ScenePairing { teacher_run, scenes } = ScenePairing::default();
        Self { teacher_run, scenes }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatPairing {
    #[serde(default)]
    teacher_run: Option<PathBuf>,
    #[serde(flatten)]
    scenes: SceneSplits,
}

impl From<PairingLayout> for ScenePairing {
    fn from(layout: PairingLayout) -> Self {
        match layout {
            PairingLayout::Nested(NestedPairing { teacher_run, scenes }) | PairingLayout::Flat(FlatPairing { teacher_run, scenes }) => {
                Self { teacher_run, scenes }
            }
        }
    }
}

impl ScenePairing {
    pub(super) fn teacher_run(&self) -> PathBuf {
        self.teacher_run.clone().unwrap_or_else(|| PathBuf::from("runs/shapes/latest"))
    }
}

/// The teacher: the shapes network's labels as an object distribution, and a palette head on its encoder.
struct SceneTeacher {
    describer: SceneDescriber,
    palette_head: LinearProbe,
    side: usize,
    device: Device,
}

impl SceneTeacher {
    fn new(pairing: &ScenePairing, probe: &ProbeSettings, device: &Device) -> Result<Self, RunError> {
        let (shapes_config, describer) = load_pretrained::<Shapes>(&pairing.teacher_run(), device)?;
        let side = shapes_config.image_size as usize;
        // The palette head learns from the teacher's own labelled training scenes (the visual side is
        // supervised, as Places was).
        let scenes = shapes_config.items(Split::Train)?;
        let count = scenes.len().min(4000);
        let pictures = pictures(&scenes, count)?;
        let features = encode_images(&describer.encoder, &pictures, [3, side, side], Readout::AverageAndMax, device);
        let labels: Vec<u32> = (0..count).map(|i| palette(&scenes.objects(i)) as u32).collect();
        let palette_head = LinearProbe::fit(&features, features.len() / count, &labels, PALETTES.len(), probe, device);
        Ok(Self { describer, palette_head, side, device: device.clone() })
    }

    /// Both distributions for pictures `[N, 3·side·side]`, softened by `temperature`: objects `[N, 48]` (each
    /// label's probability to the power 1/T, normalised) and palettes `[N, 3]`.
    fn teach(&self, pictures: &[f32], temperature: f32) -> (Vec<f32>, Vec<f32>) {
        let len = 3 * self.side * self.side;
        let mut objects = Vec::with_capacity(pictures.len() / len * 48);
        for chunk in pictures.chunks(256 * len) {
            let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [chunk.len() / len, len]), &self.device);
            let distribution = softmax(log_sigmoid(self.describer.logits(x)) / temperature, 1);
            objects.extend(distribution.into_data().convert::<f32>().try_into_vec::<f32>().expect("float"));
        }
        let features = encode_images(&self.describer.encoder, pictures, [3, self.side, self.side], Readout::AverageAndMax, &self.device);
        (objects, self.palette_head.probabilities(&features, temperature))
    }
}

/// The first `count` pictures of `scenes`, as the teacher reads them.
fn pictures(scenes: &ShapesItems, count: usize) -> Result<Vec<f32>, RunError> {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend(scenes.get(i)?.input);
    }
    Ok(out)
}

/// The scenes of one split as student items: the teacher's distributions of each picture, computed once per run
/// (`prepared/`), and the scene's sound, synthesised when a batch asks for it.
pub struct SceneItems {
    world: ShapesWorld,
    features: SoundFeatures,
    /// `[N, 48]` then `[N, 3]`.
    taught: Vec<f32>,
    count: usize,
    split: Split,
}

impl SceneItems {
    /// The items of `split`; the teacher runs on the pictures the first time a run asks.
    pub(super) fn new(pairing: &ScenePairing, config: &SoundNetConfig, context: &Context, split: Split) -> Result<Self, RunError> {
        config.features.check()?;
        let (seed, count) = pairing.scenes.split(split, "soundnet")?;
        let image_size = load_run_config::<Shapes>(&pairing.teacher_run())?.image_size;
        let path = context.prepared().join(format!("{}-teacher.npy", split.name()));
        let taught = cached_rows(&path, || {
            let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
            let teacher = SceneTeacher::new(pairing, &config.probe, &device)?;
            let (objects, scenes) = teacher.teach(&pictures(&ShapesItems::new(seed, count, image_size), count)?, config.temperature);
            Ok(objects.into_iter().chain(scenes).collect())
        })?;
        if taught.len() != count * (label_names().len() + PALETTES.len()) {
            return Err(RunError::Invalid { path, problem: format!("holds {} values, not the teacher's outputs for {count} scenes", taught.len()) });
        }
        // The same layout as the teacher's pictures (objects are placed in pixels of `image_size`), its sound
        // recorded at the student's rate and length.
        let world_config =
            ShapesConfig { image_size, sample_rate: config.features.sample_rate, sound_seconds: config.features.seconds, ..ShapesConfig::default() };
        Ok(Self { world: ShapesWorld::new(world_config, seed), features: config.features.clone(), taught, count, split })
    }
}

impl Dataset<SoundNetItem> for SceneItems {
    /// The student is counted against the teacher's likeliest label in training (no label is read), and right
    /// in validation and test when its likeliest label is one of the scene's objects.
    fn get(&self, index: usize) -> Result<SoundNetItem, DatasetError> {
        let labels = label_names().len();
        let objects = self.taught[index * labels..(index + 1) * labels].to_vec();
        let scenes_at = self.count * labels + index * PALETTES.len();
        let scenes = self.taught[scenes_at..scenes_at + PALETTES.len()].to_vec();
        let right = if self.split == Split::Train {
            one_hot(argmax(&objects), labels)
        } else {
            let mut right = vec![0.0; labels];
            self.world.objects(index as u64).iter().for_each(|o| right[label_of(o)] = 1.0);
            right
        };
        let sound = self.world.sound(index as u64);
        let audio = self.features.waveform(Audio::new(sound.mix, sound.sample_rate)).map_err(DatasetError::new)?;
        Ok(SoundNetItem { waveform: audio.samples, objects, scenes, right })
    }

    fn len(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{Colour, Shape, Size};

    #[test]
    fn a_palette_is_warm_cool_or_mixed() {
        let object = |colour| Object { shape: Shape::Circle, colour, size: Size::Small, x: 0.0, y: 0.0, radius: 1.0 };
        assert_eq!(palette(&[object(Colour::Red), object(Colour::Yellow)]), 0);
        assert_eq!(palette(&[object(Colour::Blue), object(Colour::Green), object(Colour::Purple)]), 1);
        assert_eq!(palette(&[object(Colour::Orange), object(Colour::Blue)]), 2);
        assert_eq!(PALETTES[palette(&[object(Colour::Purple)])], "cool");
    }

    #[test]
    fn the_pairing_reads_its_splits_as_one_table_or_as_the_flat_fields_of_older_runs() {
        use super::super::Pairing;
        let splits = SceneSplits { train_scenes: 50, valid_scenes: 5, test_scenes: 10, train_seed: 10, valid_seed: 12, test_seed: 11 };
        let expected = Pairing::ShapesScenes(ScenePairing { teacher_run: None, scenes: splits });
        let flat = r#"{"kind": "shapes-scenes", "teacher_run": null, "train_scenes": 50, "valid_scenes": 5, "test_scenes": 10, "train_seed": 10, "valid_seed": 12, "test_seed": 11}"#;
        assert_eq!(serde_json::from_str::<Pairing>(flat).unwrap(), expected);
        let nested = serde_json::to_string(&expected).unwrap();
        assert!(nested.contains(r#""scenes":{"#), "{nested}");
        assert_eq!(serde_json::from_str::<Pairing>(&nested).unwrap(), expected);
        assert_eq!(serde_json::from_str::<Pairing>(r#"{"kind": "shapes-scenes"}"#).unwrap(), Pairing::ShapesScenes(ScenePairing::default()));
        assert!(serde_json::from_str::<Pairing>(r#"{"kind": "shapes-scenes", "train_scenez": 3}"#).is_err());
    }
}
