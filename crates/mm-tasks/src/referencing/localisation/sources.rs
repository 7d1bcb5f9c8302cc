//! Pictures with a sound whose source in them is known, two kinds:
//!
//! - digit grids: a 2 × 2 or 3 × 3 grid of MNIST test digits (each in a 32 × 32 cell) heard with an FSDD
//!   recording of one of them; the truth is every cell holding the spoken digit. The pictures of train,
//!   validation and test come from disjoint parts of MNIST's test set (which the mnist encoder never saw), the
//!   recordings from the fsdd run's own new-speakers split, so the test speaker is new to the sound encoder too;
//! - shapes scenes: a shapes-world scene of 1 to 4 objects heard with one object's note (pitch from its colour,
//!   timbre from its shape); the truth is that object's mask. Train, validation and test scenes come from three
//!   seeds that neither the shapes encoder nor the SoundNet student was trained on.
//!
//! An example is made from its split and index alone (seeded), so every epoch and every run sees the same one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::{Rgb, RgbImage};
use mm_audio::Audio;
use mm_audio::datasets::FsddRecording;
use mm_vision::transforms::Normalize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::encoders::SoundReading;
use crate::data::DataRoot;
use crate::data::shapes::{SceneSplits, ShapesConfig, ShapesWorld, object_mask};
use crate::encoders::fsdd::{FsddDigits, FsddProtocol};
use crate::encoders::mnist::MnistItems;
use crate::encoders::shapes::Shapes;
use crate::inputs::picture_input;
use crate::runner::{Dataset, RunError, Split, load_run_config};
use mm_vision::mnist::MnistPart;

/// Side of a digit grid's cell: an MNIST digit (28 × 28) with a 2-pixel margin, so that a VGG map of stride 8
/// gives each cell 4 × 4 places.
pub const CELL: usize = 32;

/// Where the examples come from (`source` in the config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LocalisationSource {
    /// Grids of MNIST digits heard with a spoken digit.
    DigitGrids(DigitGrids),
    /// Shapes-world scenes heard with one object's note.
    Shapes(ShapesSounds),
}

impl Default for LocalisationSource {
    fn default() -> Self {
        LocalisationSource::DigitGrids(DigitGrids::default())
    }
}

/// The digit-grid setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitGrids {
    /// Cells per side, 2 or 3. Default 3.
    pub cells: usize,
    /// The finished mnist run whose encoder reads the grid. Default `runs/mnist/latest`.
    pub mnist_run: PathBuf,
    /// The finished fsdd run whose encoder hears the digit; it must have been trained under the new-speakers
    /// protocol (`configs/fsdd-new-speakers.toml`), whose speakers this source's splits then follow. Default
    /// `runs/fsdd/latest`.
    pub fsdd_run: PathBuf,
    /// Grids per split: train, validation, test. Default 8,000, 1,000, 2,000.
    pub items: [usize; 3],
    /// The seed the test grids are drawn from (`eval --test-seed`): which pictures stand in which cells, and
    /// which cell sounds. Default none: the split's own fixed seed.
    pub test_seed: Option<u64>,
}

impl Default for DigitGrids {
    fn default() -> Self {
        Self { cells: 3, mnist_run: "runs/mnist/latest".into(), fsdd_run: "runs/fsdd/latest".into(), items: [8000, 1000, 2000], test_seed: None }
    }
}

/// The shapes setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapesSounds {
    /// The finished shapes run whose encoder reads the scene. Default `runs/shapes/latest`.
    pub shapes_run: PathBuf,
    /// The finished soundnet run (trained on shapes scenes) whose student hears the note. Default
    /// `runs/soundnet/latest`.
    pub soundnet_run: PathBuf,
    /// Scenes and seeds. Default 8,000 training scenes (seed 20), 500 validation (22), 1,000 test (21).
    pub scenes: SceneSplits,
}

impl Default for ShapesSounds {
    fn default() -> Self {
        Self {
            shapes_run: "runs/shapes/latest".into(),
            soundnet_run: "runs/soundnet/latest".into(),
            scenes: SceneSplits { train_scenes: 8000, valid_scenes: 500, test_scenes: 1000, train_seed: 20, valid_seed: 22, test_seed: 21 },
        }
    }
}

impl LocalisationSource {
    /// The pretrained runs the source reads (pinned in the run's config).
    pub fn runs(&self) -> [&Path; 2] {
        match self {
            LocalisationSource::DigitGrids(grids) => [&grids.mnist_run, &grids.fsdd_run],
            LocalisationSource::Shapes(shapes) => [&shapes.shapes_run, &shapes.soundnet_run],
        }
    }

    /// The same fields, to resolve them when a run starts.
    pub fn runs_mut(&mut self) -> [&mut PathBuf; 2] {
        match self {
            LocalisationSource::DigitGrids(grids) => [&mut grids.mnist_run, &mut grids.fsdd_run],
            LocalisationSource::Shapes(shapes) => [&mut shapes.shapes_run, &mut shapes.soundnet_run],
        }
    }

    /// The picture's `[channels, side]`.
    pub fn picture_shape(&self) -> Result<[usize; 2], RunError> {
        match self {
            LocalisationSource::DigitGrids(grids) => {
                if !(2..=3).contains(&grids.cells) {
                    return Err(RunError::bad_setting("source.cells", grids.cells, "must be 2 or 3"));
                }
                Ok([1, CELL * grids.cells])
            }
            LocalisationSource::Shapes(shapes) => Ok([3, load_run_config::<Shapes>(&shapes.shapes_run)?.image_size as usize]),
        }
    }

    /// How sounds are read for the source's sound encoder.
    pub fn sound_reading(&self) -> Result<SoundReading, RunError> {
        match self {
            LocalisationSource::DigitGrids(grids) => SoundReading::of_fsdd(&grids.fsdd_run),
            LocalisationSource::Shapes(shapes) => SoundReading::of_soundnet(&shapes.soundnet_run),
        }
    }

    /// The examples of `split`.
    pub fn open(&self, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        let reading = self.sound_reading()?;
        match self {
            LocalisationSource::DigitGrids(grids) => Ok(Examples::Grids(GridExamples::open(grids, root, split, reading)?)),
            LocalisationSource::Shapes(shapes) => {
                let (seed, count) = shapes.scenes.split(split, "localisation: source.scenes")?;
                let side = self.picture_shape()?[1] as u32;
                let world = ShapesWorld::new(ShapesConfig { image_size: side, ..ShapesConfig::default() }, seed);
                Ok(Examples::Scenes(SceneExamples { world, count, reading }))
            }
        }
    }
}

/// One picture with its sound and the truth.
#[derive(Debug, Clone)]
pub struct Example {
    /// `[channels · side · side]`, as the image encoder reads it.
    pub picture: Vec<f32>,
    /// The sound encoder's input row.
    pub sound: Vec<f32>,
    /// `[side · side]`: 1 where the sound comes from.
    pub truth: Vec<f32>,
    /// The picture as a person sees it.
    pub display: RgbImage,
    /// What sounds ("digit 7", "small red circle").
    pub description: String,
}

/// The examples of one split.
#[derive(Clone)]
pub enum Examples {
    /// Digit grids.
    Grids(GridExamples),
    /// Shapes scenes.
    Scenes(SceneExamples),
}

impl Examples {
    /// How many.
    pub fn len(&self) -> usize {
        match self {
            Examples::Grids(grids) => grids.count,
            Examples::Scenes(scenes) => scenes.count,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Example `index`.
    pub fn example(&self, index: usize) -> Result<Example, RunError> {
        match self {
            Examples::Grids(grids) => Ok(grids.example(index)),
            Examples::Scenes(scenes) => scenes.example(index),
        }
    }
}

/// Digit grids of one split: the split's MNIST pictures by digit and its recordings' input rows, made once.
#[derive(Clone)]
pub struct GridExamples {
    pictures: Arc<MnistItems>,
    by_digit: Arc<Vec<Vec<usize>>>,
    recordings: Arc<Vec<(u8, String)>>,
    sounds: Arc<Vec<Vec<f32>>>,
    cells: usize,
    count: usize,
    seed: u64,
}

/// The MNIST test pictures of each split: 6,000 train, 1,000 validate, 3,000 test.
fn mnist_test_range(split: Split) -> std::ops::Range<usize> {
    match split {
        Split::Train => 0..6000,
        Split::Valid => 6000..7000,
        Split::Test => 7000..10_000,
    }
}

impl GridExamples {
    fn open(grids: &DigitGrids, root: &DataRoot, split: Split, reading: SoundReading) -> Result<Self, RunError> {
        let fsdd = load_run_config::<FsddDigits>(&grids.fsdd_run)?;
        let FsddProtocol::NewSpeakers { .. } = &fsdd.protocol else {
            return Err(RunError::setting(
                "source.fsdd_run",
                format!(
                    "{} was trained on FSDD's official split, so it heard every speaker the test would use; train one with `cargo xtask train fsdd --config configs/fsdd-new-speakers.toml` and name it",
                    grids.fsdd_run.display()
                ),
            ));
        };
        let recordings: Vec<FsddRecording> = fsdd.protocol.recordings(root, fsdd.validation, split)?;
        let sounds = recordings.iter().map(|r| reading.row(r.load().map_err(crate::data_error)?)).collect::<Result<Vec<_>, _>>()?;
        let pictures = MnistItems::open(root, MnistPart::Test, Some(mnist_test_range(split).collect()))?;
        let mut by_digit = vec![Vec::new(); 10];
        (0..pictures.len()).for_each(|i| by_digit[pictures.digit(i) as usize].push(i));
        let count = grids.items[match split {
            Split::Train => 0,
            Split::Valid => 1,
            Split::Test => 2,
        }];
        if count == 0 || recordings.is_empty() {
            return Err(RunError::setting("source", format!("the {} split has no grids or no recordings", split.name())));
        }
        Ok(Self {
            pictures: Arc::new(pictures),
            by_digit: Arc::new(by_digit),
            recordings: Arc::new(recordings.iter().map(|r| (r.digit, r.speaker.clone())).collect()),
            sounds: Arc::new(sounds),
            cells: grids.cells,
            count,
            seed: match (split, grids.test_seed) {
                (Split::Test, Some(seed)) => seed,
                _ => 0x6121D ^ split as u64,
            },
        })
    }

    fn example(&self, index: usize) -> Example {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(index as u64);
        let recording = index % self.recordings.len();
        let (digit, speaker) = &self.recordings[recording];
        let cells = self.cells * self.cells;
        let sounding = rng.random_range(0..cells);
        let chosen: Vec<usize> = (0..cells)
            .map(|cell| {
                let pool = if cell == sounding { &self.by_digit[*digit as usize] } else { &self.by_digit[rng.random_range(0..10)] };
                pool[rng.random_range(0..pool.len())]
            })
            .collect();
        let side = CELL * self.cells;
        let (mut bytes, mut truth) = (vec![0u8; side * side], vec![0.0f32; side * side]);
        for (cell, &picture) in chosen.iter().enumerate() {
            let (top, left) = ((cell / self.cells) * CELL, (cell % self.cells) * CELL);
            let holds = self.pictures.digit(picture) == *digit;
            for (row, line) in self.pictures.pixels(picture).chunks(28).enumerate() {
                let start = (top + 2 + row) * side + left + 2;
                bytes[start..start + 28].copy_from_slice(line);
            }
            if holds {
                for row in top..top + CELL {
                    truth[row * side + left..row * side + left + CELL].fill(1.0);
                }
            }
        }
        let mut picture: Vec<f32> = bytes.iter().map(|&b| b as f32 / 255.0).collect();
        Normalize::mnist().apply_to(&mut picture);
        let display = RgbImage::from_fn(side as u32, side as u32, |x, y| {
            let v = bytes[y as usize * side + x as usize];
            Rgb([v, v, v])
        });
        Example { picture, sound: self.sounds[recording].clone(), truth, display, description: format!("\"{digit}\" said by {speaker}") }
    }
}

/// Shapes scenes of one split.
#[derive(Clone)]
pub struct SceneExamples {
    world: ShapesWorld,
    count: usize,
    reading: SoundReading,
}

impl SceneExamples {
    fn example(&self, index: usize) -> Result<Example, RunError> {
        let scene = self.world.scene(index as u64);
        // Which object sounds: drawn from the scene's index alone, apart from the world's own stream.
        let mut rng = ChaCha8Rng::seed_from_u64(self.world.seed() ^ 0x50_0CE5);
        rng.set_stream(index as u64);
        let k = rng.random_range(0..scene.objects.len());
        let audio = Audio::new(scene.sound.tracks[k].clone(), scene.sound.sample_rate);
        let object = &scene.objects[k];
        Ok(Example {
            picture: picture_input(&scene.image),
            sound: self.reading.row(audio)?,
            truth: object_mask(object, self.world.config().image_size),
            description: object.description(),
            display: scene.image,
        })
    }
}
