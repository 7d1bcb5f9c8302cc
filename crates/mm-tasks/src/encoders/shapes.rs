//! `shapes`: multi-label description of a shapes-world scene — which (size, colour, shape) objects it holds —
//! from its picture. Trained on scenes of one seed, validated on a second and tested on a third; scenes are
//! drawn when a batch asks for them.

use std::sync::Arc;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Device, Gradients, Tensor};
use mm_vision::encoders::{ImageEncoder, ImageEncoderConfig, ImageEncoderKind};
use serde::{Deserialize, Serialize};

use crate::data::shapes::{Colour, Object, SceneSplits, Shape, ShapesConfig, ShapesWorld, Size, render};
use crate::runner::{
    Batcher, ClassBatch, ClassBatcher, ClassItem, Classifier, Context, Dataset, DatasetError, Loader, RunError, Scores, Split, Target, TargetKind, Task,
    TrainConfig, classification_scores,
};

/// The task.
pub struct Shapes;

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapesTaskConfig {
    /// Scenes to train on (scene indices 0.. of `train_seed`). Default 4,000.
    pub train_scenes: usize,
    /// Scenes to validate on (of `valid_seed`). Default 500.
    pub valid_scenes: usize,
    /// Scenes to test on (of `test_seed`). Default 1,000.
    pub test_scenes: usize,
    /// The world's seed for training scenes. Default 0.
    pub train_seed: u64,
    /// The world's seed for validation scenes. Default 2.
    pub valid_seed: u64,
    /// The world's seed for test scenes: a different seed, so the test scenes are new. Default 1.
    pub test_seed: u64,
    /// Picture side in pixels. Default 32 (the world's pictures are 64; 32 keeps every object recognisable and
    /// costs a quarter).
    pub image_size: u32,
    /// The encoder. Default: ResNet-style, stages [16, 32, 64], one residual block each (32×32 → 8×8 × 64).
    pub encoder: ImageEncoderConfig,
    /// The runner's settings. Defaults: 4 epochs, batch 32, lr 3e-3.
    pub train: TrainConfig,
}

impl Default for ShapesTaskConfig {
    fn default() -> Self {
        Self {
            train_scenes: 4000,
            valid_scenes: 500,
            test_scenes: 1000,
            train_seed: 0,
            valid_seed: 2,
            test_seed: 1,
            image_size: 32,
            encoder: ImageEncoderConfig::new().with_kind(ImageEncoderKind::ResNet).with_channels_in(3).with_stages(vec![16, 32, 64]).with_blocks_per_stage(1),
            train: TrainConfig { epochs: 4, batch_size: 32, lr: 3e-3, ..TrainConfig::default() },
        }
    }
}

/// The labels, in order: one per (size, colour, shape), e.g. "small red circle".
pub fn label_names() -> Vec<String> {
    let mut names = Vec::new();
    for size in [Size::Small, Size::Large] {
        for colour in Colour::ALL {
            for shape in Shape::ALL {
                names.push(format!("{} {} {}", size.name(), colour.name(), shape.name()));
            }
        }
    }
    names
}

/// Objectness, 6 colours, 4 shapes, 2 sizes: what the model says about each place of the feature map.
const ATTRIBUTES: usize = 1 + 6 + 4 + 2;

/// The largest picture side the shapes task draws (a 100,000-pixel side would ask for 120 GB a batch).
pub const MAX_IMAGE_SIZE: u32 = 1024;

/// An image encoder whose feature map says, at each place, how likely an object is there and what its colour,
/// shape and size are; a label "size colour shape" is as likely as the best place for it:
/// `P(label) = max_p P(object at p) · P(colour | p) · P(shape | p) · P(size | p)`.
/// Factorising the 48 conjunctions into 13 attributes per place is what lets a small model learn them from a few
/// thousand scenes; the maximum over places is trained from scene-level labels alone (no positions given).
#[derive(Module, Debug)]
pub struct SceneDescriber {
    /// The image encoder (reusable by later tasks).
    pub encoder: ImageEncoder,
    attributes: Conv2d,
    side: usize,
}

/// A [`SceneDescriber`]'s settings.
#[derive(Config, Debug)]
pub struct SceneDescriberConfig {
    /// The encoder; its last map is what the attributes are read from.
    pub encoder: ImageEncoderConfig,
    /// Picture side in pixels (pictures are `[3, side, side]`).
    pub side: usize,
}

impl SceneDescriberConfig {
    /// The model these settings describe.
    pub fn init(&self, device: &Device) -> SceneDescriber {
        SceneDescriber {
            encoder: self.encoder.init(device),
            attributes: Conv2dConfig::new([self.encoder.output_dim(), ATTRIBUTES], [1, 1]).init(device),
            side: self.side,
        }
    }
}

impl SceneDescriber {
    /// The side of the pictures it reads.
    pub fn side(&self) -> usize {
        self.side
    }

    /// Reads `count` objects in each picture `[B, 3, side, side]`: the most object-like places, each far enough
    /// from the ones already taken not to be the same object (1.5 places for a small one, 2.5 for a large one),
    /// read as their most likely colour, shape and size at the place's centre (in pixels of a picture of
    /// `side`); sorted left to right, as the world sorts a scene's objects. Also returns the pooled features
    /// `[B · C]` row-major, and `C`.
    pub fn detect(&self, pictures: Tensor<4>, count: usize) -> (Vec<Vec<Object>>, Vec<f32>, usize) {
        let [batch, _, _, _] = pictures.dims();
        let encoded = self.encoder.forward(pictures);
        let [_, channels, h, w] = encoded.features.dims();
        let scores: Vec<f32> = self.attributes.forward(encoded.features).into_data().convert::<f32>().try_into_vec::<f32>().expect("float scores");
        let pooled = encoded.pooled.into_data().convert::<f32>().try_into_vec::<f32>().expect("float features");
        let places = h * w;
        let cell = self.side as f32 / w as f32;
        let detected = (0..batch)
            .map(|b| {
                let at = |attribute: usize, place: usize| scores[(b * ATTRIBUTES + attribute) * places + place];
                let best = |from: usize, n: usize, place: usize| (0..n).max_by(|&i, &j| at(from + i, place).total_cmp(&at(from + j, place))).unwrap_or(0);
                let mut order: Vec<usize> = (0..places).collect();
                order.sort_by(|&i, &j| at(0, j).total_cmp(&at(0, i)));
                let mut objects: Vec<(usize, Object)> = Vec::new();
                for place in order {
                    if objects.len() == count {
                        break;
                    }
                    let (row, column) = ((place / w) as f32, (place % w) as f32);
                    let far = objects.iter().all(|(p, o)| {
                        let reach = if o.size == Size::Large { 2.5 } else { 1.5 };
                        ((p / w) as f32 - row).hypot((p % w) as f32 - column) >= reach
                    });
                    if far {
                        let size = [Size::Small, Size::Large][best(11, 2, place)];
                        let object = Object {
                            shape: Shape::ALL[best(7, 4, place)],
                            colour: Colour::ALL[best(1, 6, place)],
                            size,
                            x: (column + 0.5) * cell,
                            y: (row + 0.5) * cell,
                            radius: cell,
                        };
                        objects.push((place, object));
                    }
                }
                let mut objects: Vec<Object> = objects.into_iter().map(|(_, o)| o).collect();
                objects.sort_by(|a, b| a.x.total_cmp(&b.x));
                objects
            })
            .collect();
        (detected, pooled, channels)
    }
}

impl Classifier for SceneDescriber {
    /// `encoder`, which `train.module_lr.encoder` can fine-tune slower or freeze.
    fn module_names() -> &'static [&'static str] {
        &["encoder"]
    }

    fn split_gradients(&self, grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        vec![("encoder", GradientsParams::from_module(grads, &self.encoder))]
    }

    /// `[B, 3·side·side]` → logits `[B, 48]` in [`label_names`] order (log-odds of each label's probability).
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        let [batch, width] = inputs.dims();
        debug_assert_eq!(width, 3 * self.side * self.side, "SceneDescriber: rows of {width} values, pictures of 3×{0}×{0}", self.side);
        let map = self.encoder.forward(inputs.reshape([batch, 3, self.side, self.side])).features;
        let [_, _, h, w] = map.dims();
        let places = h * w;
        let scores = self.attributes.forward(map).reshape([batch, ATTRIBUTES, places]);
        let object = log_sigmoid(scores.clone().narrow(1, 0, 1)).reshape([batch, 1, 1, 1, places]);
        let colour = log_softmax(scores.clone().narrow(1, 1, 6), 1).reshape([batch, 1, 6, 1, places]);
        let shape = log_softmax(scores.clone().narrow(1, 7, 4), 1).reshape([batch, 1, 1, 4, places]);
        let size = log_softmax(scores.narrow(1, 11, 2), 1).reshape([batch, 2, 1, 1, places]);
        // Broadcast to [B, size, colour, shape, places]: label_names' order, then the best place.
        let log_p = (object + colour + shape + size).reshape([batch, 48, places]).max_dim(2).reshape([batch, 48]);
        // log-odds = log p − log(1 − p); p never reaches 1 exactly in f32 sums of logs, the clamp guards anyway.
        let log_not = (log_p.clone().exp().neg() + 1.0).clamp_min(1e-7).log();
        log_p - log_not
    }
}

/// The label index of an object, in [`label_names`] order.
pub fn label_of(object: &Object) -> usize {
    let size = if object.size == Size::Small { 0 } else { 1 };
    let colour = Colour::ALL.iter().position(|&c| c == object.colour).expect("a known colour");
    let shape = Shape::ALL.iter().position(|&s| s == object.shape).expect("a known shape");
    (size * Colour::ALL.len() + colour) * Shape::ALL.len() + shape
}

/// Scenes of one seed as items: drawn when asked for (pixels scaled to [-1, 1], channels first) with one yes/no
/// label per (size, colour, shape).
pub struct ShapesItems {
    world: ShapesWorld,
    count: usize,
    image_size: u32,
}

impl ShapesItems {
    /// Scenes `0..count` of `seed`, drawn at `image_size` pixels.
    pub fn new(seed: u64, count: usize, image_size: u32) -> Self {
        Self { world: ShapesWorld::new(ShapesConfig { image_size, ..ShapesConfig::default() }, seed), count, image_size }
    }

    /// The objects of scene `index`.
    pub fn objects(&self, index: usize) -> Vec<Object> {
        self.world.objects(index as u64)
    }
}

impl Dataset<ClassItem> for ShapesItems {
    fn get(&self, index: usize) -> Result<ClassItem, DatasetError> {
        let objects = self.objects(index);
        let input = crate::inputs::picture_input(&render(&objects, self.image_size));
        let mut labels = vec![0f32; 48];
        objects.iter().for_each(|o| labels[label_of(o)] = 1.0);
        Ok(ClassItem { input, target: Target::Labels(labels) })
    }

    fn len(&self) -> usize {
        self.count
    }
}

impl ShapesTaskConfig {
    /// The scenes of a split (and a check of the settings).
    pub fn items(&self, split: Split) -> Result<ShapesItems, RunError> {
        if !(16..=MAX_IMAGE_SIZE).contains(&self.image_size) {
            return Err(RunError::bad_setting("image_size", self.image_size, format!("cannot be drawn (16 to {MAX_IMAGE_SIZE} pixels a side)")));
        }
        let splits = SceneSplits {
            train_scenes: self.train_scenes,
            valid_scenes: self.valid_scenes,
            test_scenes: self.test_scenes,
            train_seed: self.train_seed,
            valid_seed: self.valid_seed,
            test_seed: self.test_seed,
        };
        let (seed, count) = splits.split(split, "shapes")?;
        Ok(ShapesItems::new(seed, count, self.image_size))
    }
}

impl Task for Shapes {
    const NAME: &'static str = "shapes";
    type Config = ShapesTaskConfig;
    type Item = ClassItem;
    type Model = SceneDescriber;

    fn train_config(config: &ShapesTaskConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut ShapesTaskConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The test scenes of the world drawn from `seed`.
    fn with_test_seed(config: &ShapesTaskConfig, seed: u64) -> Option<ShapesTaskConfig> {
        Some(ShapesTaskConfig { test_seed: seed, ..config.clone() })
    }

    /// Draws the scenes (no data folder needed).
    fn dataset(config: &ShapesTaskConfig, _context: &Context, split: Split) -> Result<Arc<dyn Dataset<ClassItem>>, RunError> {
        Ok(Arc::new(config.items(split)?))
    }

    fn batcher(_config: &ShapesTaskConfig) -> Arc<dyn Batcher<ClassItem, ClassBatch>> {
        Arc::new(ClassBatcher)
    }

    fn model(config: &ShapesTaskConfig, device: &Device) -> Result<SceneDescriber, RunError> {
        let side = config.image_size as usize;
        if let Some(problem) = config.encoder.problem([3, side, side]) {
            return Err(RunError::setting("encoder", problem));
        }
        Ok(SceneDescriberConfig::new(config.encoder.clone(), config.image_size as usize).init(device))
    }

    fn evaluate(
        config: &ShapesTaskConfig,
        _context: &Context,
        model: &SceneDescriber,
        loader: &Loader<ClassItem, ClassBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        classification_scores(model, loader, &TargetKind::Labels(label_names()), config.train.batch_size, device)
    }
}

impl crate::systems::System for Shapes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cover_every_object_kind_once() {
        let names = label_names();
        assert_eq!(names.len(), 48);
        let config = ShapesTaskConfig { train_scenes: 20, test_scenes: 5, ..Default::default() };
        let items = config.items(Split::Train).unwrap();
        assert_eq!(items.len(), 20);
        let world = ShapesWorld::new(ShapesConfig { image_size: 32, ..ShapesConfig::default() }, 0);
        for i in 0..20 {
            let item = items.get(i).unwrap();
            assert_eq!(item.input.len(), 3 * 32 * 32);
            let Target::Labels(row) = item.target else { panic!("multi-label") };
            let objects = world.objects(i as u64);
            for object in &objects {
                assert_eq!(row[label_of(object)], 1.0, "{}", names[label_of(object)]);
            }
            let distinct: std::collections::HashSet<usize> = objects.iter().map(label_of).collect();
            assert_eq!(row.iter().filter(|&&v| v == 1.0).count(), distinct.len());
        }
    }
}
