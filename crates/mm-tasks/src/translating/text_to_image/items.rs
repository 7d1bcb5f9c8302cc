//! What the GAN trains on: pictures with their text embedding and a mismatched one, from the source's texts as
//! the frozen text encoder embedded them once (`prepared/texts.json`).

use std::collections::HashMap;
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::sources::{SourceText, TextRole, scene_picture, text_group};
use crate::data::shapes::{ShapesWorld, caption};
use crate::encoders::mnist::MnistItems;
use crate::runner::{Batcher, Context, Dataset, DatasetError, RunError};

/// The caption embeddings a run conditions on, in its `prepared/` folder.
pub const TEXTS_FILE: &str = "texts.json";

/// Every text of the source with its embedding by the run's text encoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaptionEmbeddings {
    /// The texts.
    pub texts: Vec<SourceText>,
    /// Their embeddings, in the same order.
    pub embeddings: Vec<Vec<f32>>,
    #[serde(skip)]
    index: HashMap<(String, TextRole), usize>,
}

impl CaptionEmbeddings {
    /// A table of `texts` and their `embeddings`.
    pub fn new(texts: Vec<SourceText>, embeddings: Vec<Vec<f32>>) -> Self {
        let mut table = Self { texts, embeddings, index: HashMap::new() };
        table.index = table.texts.iter().enumerate().map(|(i, t)| ((t.text.clone(), t.role), i)).collect();
        table
    }

    /// Reads `prepared/texts.json`.
    pub fn load(context: &Context) -> Result<Self, RunError> {
        let path = context.prepared().join(TEXTS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| RunError::io(&path, e))?;
        let table: CaptionEmbeddings = serde_json::from_str(&text).map_err(|e| RunError::invalid(&path, e))?;
        Ok(Self::new(table.texts, table.embeddings))
    }

    /// The embeddings of `group`'s texts of `role`.
    pub fn of(&self, group: i64, role: TextRole) -> Vec<&[f32]> {
        self.texts.iter().zip(&self.embeddings).filter(|(t, _)| t.group == group && t.role == role).map(|(_, e)| e.as_slice()).collect()
    }

    /// The mean embedding of `group`'s texts of `role`: a digit's text.
    pub fn mean(&self, group: i64, role: TextRole) -> Vec<f32> {
        mean_of(&self.of(group, role))
    }

    /// The embedding of `text` as listed for `role`, if it is.
    pub fn embedding(&self, text: &str, role: TextRole) -> Option<&[f32]> {
        self.index.get(&(text.to_string(), role)).map(|&i| self.embeddings[i].as_slice())
    }

    /// The rows of the texts of `role`, in order.
    pub fn rows(&self, role: TextRole) -> Vec<usize> {
        (0..self.texts.len()).filter(|&i| self.texts[i].role == role).collect()
    }
}

/// The mean of equally long rows.
pub fn mean_of(rows: &[&[f32]]) -> Vec<f32> {
    let width = rows.first().map_or(0, |r| r.len());
    let mut mean = vec![0.0f32; width];
    rows.iter().for_each(|r| mean.iter_mut().zip(*r).for_each(|(m, v)| *m += v / rows.len() as f32));
    mean
}

/// A picture with its text and a wrong text.
#[derive(Debug, Clone)]
pub struct GanItem {
    /// `[channels · side · side]` in [-1, 1], channels first.
    pub picture: Vec<f32>,
    /// Its group (MNIST: the digit; shapes: its caption's).
    pub group: i64,
    /// Its caption (shapes) or its digit's name (MNIST).
    pub caption: String,
    /// Its text embedding.
    pub text: Vec<f32>,
    /// The embedding of a training text of another group (the matching-aware term's mismatch).
    pub wrong: Vec<f32>,
    pub(super) texts: Arc<CaptionEmbeddings>,
    pub(super) training: Arc<Vec<usize>>,
}

impl GanItem {
    /// Draws the text (the mean of `averaged` of the group's training texts) and a wrong text (a training text
    /// of another group).
    pub(super) fn draw(&mut self, averaged: usize, rng: &mut ChaCha8Rng) {
        let own = self.texts.of(self.group, TextRole::Training);
        if !own.is_empty() {
            let drawn: Vec<&[f32]> = (0..averaged).map(|_| own[rng.random_range(0..own.len())]).collect();
            self.text = mean_of(&drawn);
        }
        for _ in 0..100 {
            let row = self.training[rng.random_range(0..self.training.len())];
            if self.texts.texts[row].group != self.group {
                self.wrong = self.texts.embeddings[row].clone();
                return;
            }
        }
    }
}

/// MNIST's 28 × 28 bytes centred on a `side` × `side` canvas in [-1, 1] (black, -1, around it).
pub fn canvas(pixels: &[u8], side: usize) -> Vec<f32> {
    let mut out = vec![-1.0f32; side * side];
    let offset = side.saturating_sub(28) / 2;
    for (r, row) in pixels.chunks(28).enumerate().take(side) {
        for (c, &p) in row.iter().enumerate().take(side) {
            out[(r + offset) * side + c + offset] = p as f32 / 127.5 - 1.0;
        }
    }
    out
}

/// The pictures of a split.
pub(super) enum GanPictures {
    /// MNIST on a canvas of `side`.
    Mnist { pictures: MnistItems, side: usize },
    /// Shapes-world scenes drawn at `side`.
    Shapes { world: ShapesWorld, count: usize, side: u32 },
}

/// A split's items.
pub(super) struct GanItems {
    pub pictures: GanPictures,
    /// The role of the split's texts: which of the table's listings a picture's text is.
    pub role: TextRole,
    pub texts: Arc<CaptionEmbeddings>,
    pub training: Arc<Vec<usize>>,
}

impl Dataset<GanItem> for GanItems {
    /// Without augmentation (validation, test) a picture's text is its group's in the split's role (MNIST: the
    /// mean of the digit's sentences of that role), the wrong one a fixed training text of another group.
    fn get(&self, index: usize) -> Result<GanItem, DatasetError> {
        let (picture, group, caption, text) = match &self.pictures {
            GanPictures::Mnist { pictures, side } => {
                let digit = pictures.digit(index) as i64;
                (canvas(pictures.pixels(index), *side), digit, crate::data::DIGIT_NAMES[digit as usize].to_string(), self.texts.mean(digit, self.role))
            }
            GanPictures::Shapes { world, side, .. } => {
                let text = caption(&world.objects(index as u64));
                let embedding = self.texts.embedding(&text, self.role).ok_or_else(|| DatasetError::new(MissingText(text.clone())))?.to_vec();
                (scene_picture(world, index, *side), text_group(&text), text, embedding)
            }
        };
        let wrong_row = (0..self.training.len()).map(|k| self.training[(index * 7919 + k) % self.training.len()]).find(|&r| self.texts.texts[r].group != group);
        let wrong = wrong_row.map_or_else(|| text.clone(), |r| self.texts.embeddings[r].clone());
        Ok(GanItem { picture, group, caption, text, wrong, texts: self.texts.clone(), training: self.training.clone() })
    }

    fn len(&self) -> usize {
        match &self.pictures {
            GanPictures::Mnist { pictures, .. } => pictures.len(),
            GanPictures::Shapes { count, .. } => *count,
        }
    }
}

/// A caption the prepared table does not list (the table and the scenes disagree).
#[derive(Debug, thiserror::Error)]
#[error("the caption {0:?} is not in prepared/texts.json: the run's preparation is not of these scenes")]
struct MissingText(String);

/// A batch: pictures `[B, C, S, S]`, their texts and wrong texts `[B, d_text]`.
#[derive(Debug, Clone)]
pub struct GanBatch {
    /// Real pictures.
    pub pictures: Tensor<4>,
    /// Their texts.
    pub text: Tensor<2>,
    /// Texts of other groups.
    pub wrong: Tensor<2>,
    /// The pictures' groups (read by the reports only).
    pub groups: Vec<i64>,
    /// The pictures' captions (read by the reports only).
    pub captions: Vec<String>,
}

/// Makes [`GanBatch`]es of pictures `[channels, side, side]`.
pub(super) struct GanBatcher {
    pub channels: usize,
    pub side: usize,
}

impl Batcher<GanItem, GanBatch> for GanBatcher {
    fn batch(&self, items: Vec<GanItem>, device: &Device) -> GanBatch {
        let (n, d) = (items.len(), items.first().map_or(0, |i| i.text.len()));
        let rows = |f: &dyn Fn(&GanItem) -> &[f32], shape: Vec<usize>| -> TensorData {
            TensorData::new(items.iter().flat_map(|i| f(i).to_vec()).collect::<Vec<f32>>(), shape)
        };
        GanBatch {
            pictures: Tensor::from_data(rows(&|i| &i.picture, vec![n, self.channels, self.side, self.side]), device),
            text: Tensor::from_data(rows(&|i| &i.text, vec![n, d]), device),
            wrong: Tensor::from_data(rows(&|i| &i.wrong, vec![n, d]), device),
            groups: items.iter().map(|i| i.group).collect(),
            captions: items.iter().map(|i| i.caption.clone()).collect(),
        }
    }
}
