//! Where the captioned pictures come from: MNIST with text ([`super::captions`]) or shapes-world scenes of one or
//! two objects with the world's caption ("a large red circle", "a small blue square left of a large green
//! triangle"). Both the text encoder and the GAN read the same source.

use serde::{Deserialize, Serialize};

pub use super::captions::TextRole;
use super::captions::digit_captions;
use crate::data::shapes::{SceneSplits, ShapesConfig, ShapesWorld, caption};
use crate::runner::{RunError, Split};

/// The captioned pictures.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CaptionSource {
    /// MNIST with text: each digit's sentences, whole templates set aside for validation and for the test.
    #[default]
    Mnist,
    /// Shapes-world scenes with their caption.
    Shapes(ShapesCaptions),
}

/// Shapes-world scenes of a fixed number of objects, each split from its own seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapesCaptions {
    /// Objects per scene: 1 ("a large red circle") or 2 (two objects and how they stand). Default 1.
    pub objects: usize,
    /// Training scenes. Default 10,000.
    pub train_scenes: usize,
    /// Validation scenes. Default 500.
    pub valid_scenes: usize,
    /// Test scenes. Default 1,000.
    pub test_scenes: usize,
    /// Seeds of the three splits. Defaults 60, 62, 61 (no other task draws from them).
    pub train_seed: u64,
    /// See `train_seed`.
    pub valid_seed: u64,
    /// See `train_seed`.
    pub test_seed: u64,
}

impl Default for ShapesCaptions {
    fn default() -> Self {
        Self { objects: 1, train_scenes: 10_000, valid_scenes: 500, test_scenes: 1000, train_seed: 60, valid_seed: 62, test_seed: 61 }
    }
}

impl ShapesCaptions {
    /// The world of `split` at `image_size` and its scene count.
    pub fn scenes(&self, split: Split, image_size: u32) -> Result<(ShapesWorld, usize), RunError> {
        if !(1..=2).contains(&self.objects) {
            return Err(RunError::bad_setting("source.objects", self.objects, "the captions describe scenes of 1 or 2 objects"));
        }
        let splits = SceneSplits {
            train_scenes: self.train_scenes,
            valid_scenes: self.valid_scenes,
            test_scenes: self.test_scenes,
            train_seed: self.train_seed,
            valid_seed: self.valid_seed,
            test_seed: self.test_seed,
        };
        let (seed, count) = splits.split(split, "source")?;
        let config = ShapesConfig { image_size, min_objects: self.objects, max_objects: self.objects, ..ShapesConfig::default() };
        Ok((ShapesWorld::new(config, seed), count))
    }

    /// The caption of every scene of `split` in the world drawn at `image_size` (positions are drawn in
    /// pixels, so a world's layout depends on its size), in order.
    pub fn captions(&self, split: Split, image_size: u32) -> Result<Vec<String>, RunError> {
        let (world, count) = self.scenes(split, image_size)?;
        Ok((0..count as u64).map(|i| caption(&world.objects(i))).collect())
    }
}

/// A text's group: texts of one group describe the same thing (a digit's sentences; one caption's copies).
pub fn text_group(text: &str) -> i64 {
    // FNV-1a, kept to 31 bits: a non-negative integer every backend's int tensors hold (flex's are 32-bit).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    (hash >> 33) as i64
}

/// One text of a source with its group and the split that may read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SourceTextFile")]
pub struct SourceText {
    /// The sentence.
    pub text: String,
    /// Its group (MNIST: the digit; shapes: the caption itself).
    pub group: i64,
    /// Which split may read it: MNIST's sentences by their template; the shapes world's captions by the split
    /// of their scene (a caption of scenes of several splits is listed once for each).
    pub role: TextRole,
}

/// [`SourceText`] as written: runs prepared before validation texts existed say `held_out` (test or training).
#[derive(Deserialize)]
struct SourceTextFile {
    text: String,
    group: i64,
    role: Option<TextRole>,
    #[serde(default)]
    held_out: bool,
}

impl From<SourceTextFile> for SourceText {
    fn from(file: SourceTextFile) -> Self {
        let role = file.role.unwrap_or(if file.held_out { TextRole::Test } else { TextRole::Training });
        Self { text: file.text, group: file.group, role }
    }
}

impl CaptionSource {
    /// The texts: MNIST's sentences; the distinct captions of the shapes world's (drawn at `image_size`)
    /// training scenes, then those of its validation and its test scenes (a caption of several splits is listed
    /// once for each).
    pub fn texts(&self, image_size: u32) -> Result<Vec<SourceText>, RunError> {
        match self {
            CaptionSource::Mnist => Ok(digit_captions().into_iter().map(|c| SourceText { text: c.text, group: c.digit as i64, role: c.role }).collect()),
            CaptionSource::Shapes(scenes) => {
                let mut texts: Vec<SourceText> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for split in [Split::Train, Split::Valid, Split::Test] {
                    let role = TextRole::of(split);
                    for text in scenes.captions(split, image_size)? {
                        if seen.insert((text.clone(), role)) {
                            texts.push(SourceText { group: text_group(&text), text, role });
                        }
                    }
                }
                Ok(texts)
            }
        }
    }

    /// The texts the tokenizer and the encoder may learn from: MNIST's training sentences; the captions of the
    /// shapes world's training scenes (drawn at `image_size`).
    pub fn training_texts(&self, image_size: u32) -> Result<Vec<String>, RunError> {
        match self {
            CaptionSource::Mnist => Ok(digit_captions().into_iter().filter(|c| c.role == TextRole::Training).map(|c| c.text).collect()),
            CaptionSource::Shapes(scenes) => scenes.captions(Split::Train, image_size),
        }
    }

    /// The source with its test scenes drawn from `seed` (shapes); MNIST's test sentences and pictures are fixed.
    pub fn with_test_seed(&self, seed: u64) -> Option<Self> {
        match self {
            CaptionSource::Shapes(scenes) => Some(CaptionSource::Shapes(ShapesCaptions { test_seed: seed, ..*scenes })),
            CaptionSource::Mnist => None,
        }
    }

    /// Channels of the pictures.
    pub fn channels(&self) -> usize {
        match self {
            CaptionSource::Mnist => 1,
            CaptionSource::Shapes(_) => 3,
        }
    }
}

/// A rendered scene as `[3 · side · side]`, channels first, in [-1, 1].
pub fn scene_picture(world: &ShapesWorld, index: usize, side: u32) -> Vec<f32> {
    crate::inputs::picture_input(&crate::data::shapes::render(&world.objects(index as u64), side))
}
