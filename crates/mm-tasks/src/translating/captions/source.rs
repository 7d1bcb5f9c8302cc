//! Where captioned pictures come from: the shapes world's scenes (drawn on demand, one grammar caption each), or
//! COCO in its own layout (`annotations/captions_{split}.json` and the JPEGs; Karpathy's split when its
//! `dataset_coco.json` is given), pictures read from disk when a batch asks for them, so that memory stays bounded
//! by the annotations however many pictures there are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbImage;
use image::imageops::FilterType;
use mm_vision::coco::{CocoCaptions, CocoImage};
use serde::{Deserialize, Serialize};

use crate::data::shapes::{Object, SceneSplits, ShapesConfig, ShapesWorld, caption, render};
use crate::data::{DataRoot, Dataset};
use crate::data_error;
use crate::runner::{RunError, Split};

/// COCO's splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CocoSplits {
    /// COCO's folder (`annotations/`, `train2017/`, `val2017/`). Default: the data root's `coco_mini`; a full COCO
    /// in the same layout works the same.
    pub dir: Option<PathBuf>,
    /// Karpathy's split file (`dataset_coco.json`): its train and restval pictures train, val validates, test
    /// tests; a picture is `dir/filepath/filename`. Default: none — train2017 trains, and val2017 is cut in two:
    /// its first `valid_images` (by image id) validate, the rest test.
    pub karpathy: Option<PathBuf>,
    /// Without a Karpathy file: val2017 pictures that validate. Default 40.
    pub valid_images: usize,
}

impl Default for CocoSplits {
    fn default() -> Self {
        Self { dir: None, karpathy: None, valid_images: 40 }
    }
}

/// The captioned pictures a run learns from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CaptionSource {
    /// The shapes world's scenes and their grammar captions (no files needed).
    Shapes(SceneSplits),
    /// COCO's photographs and their five captions each.
    Coco(CocoSplits),
}

impl Default for CaptionSource {
    /// 8,000 scenes of seed 30 train, 300 of seed 32 validate, 1,000 of seed 31 test (a seed used nowhere else;
    /// the shapes encoder trained on seeds 0 and 2).
    fn default() -> Self {
        CaptionSource::Shapes(SceneSplits { train_scenes: 8000, valid_scenes: 300, test_scenes: 1000, train_seed: 30, valid_seed: 32, test_seed: 31 })
    }
}

impl CaptionSource {
    /// Draws the test scenes from `seed`; `None` for COCO, whose test photographs are fixed.
    pub fn with_test_seed(&mut self, seed: u64) -> Option<()> {
        let CaptionSource::Shapes(scenes) = self else { return None };
        scenes.test_seed = seed;
        Some(())
    }
}

#[derive(Deserialize)]
struct KarpathyFile {
    images: Vec<KarpathyImage>,
}

#[derive(Deserialize)]
struct KarpathyImage {
    filepath: String,
    filename: String,
    split: String,
    sentences: Vec<KarpathySentence>,
    #[serde(default)]
    cocoid: u64,
}

#[derive(Deserialize)]
struct KarpathySentence {
    raw: String,
}

/// The pictures of one COCO split, with their captions.
fn coco_images(splits: &CocoSplits, root: &DataRoot, split: Split) -> Result<Vec<CocoImage>, RunError> {
    let dir = match &splits.dir {
        Some(dir) => dir.clone(),
        None => root.dataset(Dataset::CocoMini).map_err(data_error)?,
    };
    if let Some(path) = &splits.karpathy {
        let text = std::fs::read(path).map_err(|e| RunError::Io { path: path.clone(), source: e })?;
        let file: KarpathyFile = serde_json::from_slice(&text).map_err(|e| RunError::invalid(path, e))?;
        let wanted: &[&str] = match split {
            Split::Train => &["train", "restval"],
            Split::Valid => &["val"],
            Split::Test => &["test"],
        };
        let images: Vec<CocoImage> = file
            .images
            .into_iter()
            .filter(|i| wanted.contains(&i.split.as_str()))
            .map(|i| CocoImage {
                id: i.cocoid,
                path: dir.join(&i.filepath).join(&i.filename),
                width: 0,
                height: 0,
                captions: i.sentences.into_iter().map(|s| s.raw.split_whitespace().collect::<Vec<_>>().join(" ")).collect(),
            })
            .collect();
        return check_images(images, path, split);
    }
    let (name, images) = match split {
        Split::Train => ("train2017", CocoCaptions::open(&dir, "train2017").map_err(data_error)?.images),
        Split::Valid | Split::Test => {
            let mut images = CocoCaptions::open(&dir, "val2017").map_err(data_error)?.images;
            if splits.valid_images == 0 || splits.valid_images >= images.len() {
                return Err(RunError::bad_setting("valid_images", splits.valid_images, format!("must leave val2017's {} pictures both parts", images.len())));
            }
            let test = images.split_off(splits.valid_images);
            ("val2017", if split == Split::Valid { images } else { test })
        }
    };
    check_images(images, &dir.join("annotations").join(format!("captions_{name}.json")), split)
}

fn check_images(images: Vec<CocoImage>, source: &Path, split: Split) -> Result<Vec<CocoImage>, RunError> {
    if images.is_empty() {
        return Err(RunError::invalid(source, format!("no {} pictures", split.name())));
    }
    if let Some(image) = images.iter().find(|i| i.captions.is_empty()) {
        return Err(RunError::invalid(source, format!("{} has no caption", image.path.display())));
    }
    // Pictures are read when a batch asks for them: a missing one is found here, before any training.
    if let Some(image) = images.iter().find(|i| !i.path.is_file()) {
        return Err(RunError::invalid(source, format!("{} picture {} is missing", split.name(), image.path.display())));
    }
    Ok(images)
}

/// The pictures of one split.
#[derive(Clone)]
pub(super) enum Pictures {
    /// Scenes `0..count` of one seed.
    Shapes { world: ShapesWorld, count: usize },
    /// COCO pictures, read when asked for.
    Coco(Arc<Vec<CocoImage>>),
}

impl Pictures {
    /// The pictures of `split` of `source`, drawn or read at `side` pixels.
    pub(super) fn open(source: &CaptionSource, root: &DataRoot, split: Split, side: u32) -> Result<Self, RunError> {
        match source {
            CaptionSource::Shapes(splits) => {
                let (seed, count) = splits.split(split, "captions")?;
                Ok(Pictures::Shapes { world: ShapesWorld::new(ShapesConfig { image_size: side, ..ShapesConfig::default() }, seed), count })
            }
            CaptionSource::Coco(splits) => Ok(Pictures::Coco(Arc::new(coco_images(splits, root, split)?))),
        }
    }

    /// How many.
    pub(super) fn len(&self) -> usize {
        match self {
            Pictures::Shapes { count, .. } => *count,
            Pictures::Coco(images) => images.len(),
        }
    }

    /// Picture `index`'s captions (one for a scene, five or so for a photograph).
    pub(super) fn captions(&self, index: usize) -> Vec<String> {
        match self {
            Pictures::Shapes { world, .. } => vec![caption(&world.objects(index as u64))],
            Pictures::Coco(images) => images[index].captions.clone(),
        }
    }

    /// A scene's objects (for truthfulness); `None` for a photograph.
    pub(super) fn objects(&self, index: usize) -> Option<Vec<Object>> {
        match self {
            Pictures::Shapes { world, .. } => Some(world.objects(index as u64)),
            Pictures::Coco(_) => None,
        }
    }

    /// Picture `index` at `side` × `side` pixels (a photograph is scaled, its aspect not kept).
    pub(super) fn picture(&self, index: usize, side: u32) -> Result<RgbImage, RunError> {
        match self {
            Pictures::Shapes { world, .. } => Ok(render(&world.objects(index as u64), side)),
            Pictures::Coco(images) => {
                let image = mm_vision::load_rgb(&images[index].path).map_err(data_error)?;
                Ok(image::imageops::resize(&image, side, side, FilterType::Triangle))
            }
        }
    }
}
