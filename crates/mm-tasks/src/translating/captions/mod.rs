//! What the captioners share: captioned pictures as items (the shapes world's scenes and their grammar captions,
//! drawn on demand, or COCO's photographs read from disk: [`CaptionSource`]), the tokenizer trained on the
//! training captions and kept in the run, padded batches, the masked next-word loss, and the evaluation
//! ([`caption_scores`]: BLEU, CIDEr-D and, on the shapes world, truthfulness under greedy and beam decoding).

mod attention;
mod evaluate;
mod picture;
mod source;

pub use crate::encoders::pretrained_image::{PretrainedImageEncoder, feature_map, fine_tunes, prepared_encoder};
pub use attention::attention_panels;
pub(crate) use evaluate::eval_captioner;
pub use evaluate::{
    CaptionReport, CaptionScores, Captioner, DecodingReport, Example, GroupScores, REPORT_FILE, SavedCaptions, caption_scores, captioner_scores, decode_all,
    report, saved_captions,
};
pub use picture::{CaptionTask, PictureCaption, caption_picture, picture_tensor};
pub use source::{CaptionSource, CocoSplits};

use std::path::PathBuf;
use std::sync::Arc;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_generate::decoding::BeamSearchConfig;
use mm_text::tokenizer::{TextTokenizer, TokenizerConfig};
use mm_vision::encoders::ImageEncoder;
use serde::{Deserialize, Serialize};

use crate::data::shapes::Object;
use crate::data_error;
use crate::inputs::{TOKENIZER_FILE, load_tokenizer, picture_input};
use crate::runner::{Batcher, Context, Dataset, DatasetError, RunError, Split};
use source::Pictures;

/// What the captioners of a run share in their configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionSettings {
    /// The image encoder. Default: the finished shapes run `runs/shapes/latest`.
    pub encoder: PretrainedImageEncoder,
    /// The captioned pictures. Default: the shapes world, 8,000 scenes of seed 30 train, 300 of seed 32 validate,
    /// 1,000 of seed 31 test (a seed used nowhere else; the encoder trained on seeds 0 and 2).
    pub source: CaptionSource,
    /// The tokenizer, trained on the training captions. Default: word-level, lower-case.
    pub tokenizer: TokenizerConfig,
    /// The model's vocabulary width: at least the trained tokenizer's size (checked). Default 40 (the shapes
    /// grammar has 33 tokens with the four special ones).
    pub vocab_size: usize,
    /// Longest caption in tokens, the end token not counted; longer ones are cut. Default 32.
    pub max_len: usize,
    /// Beam search at test time and in `caption` (validation decodes greedily). Default: width 3, no length
    /// normalisation.
    pub beam: BeamSearchConfig,
}

impl Default for CaptionSettings {
    fn default() -> Self {
        Self {
            encoder: PretrainedImageEncoder::default(),
            source: CaptionSource::default(),
            tokenizer: TokenizerConfig { vocab_size: 40, ..TokenizerConfig::default() },
            vocab_size: 40,
            max_len: 32,
            beam: BeamSearchConfig { width: 3, max_len: 32, length_normalisation: 0.0 },
        }
    }
}

impl CaptionSettings {
    /// The pretrained image encoder and the channels of its map.
    pub fn encoder(&self, device: &Device) -> Result<(ImageEncoder, usize), RunError> {
        self.encoder.load(device)
    }

    /// The files a captioner starts from: the encoder's.
    pub fn inputs(&self) -> Vec<PathBuf> {
        self.encoder.inputs()
    }

    /// The picture side the encoder takes.
    pub fn side(&self) -> Result<usize, RunError> {
        self.encoder.side()
    }

    /// Trains the tokenizer on every training caption and saves it in `prepared/`
    /// ([`crate::runner::Task::prepare`]).
    pub fn prepare(&self, context: &Context) -> Result<(), RunError> {
        let pictures = Pictures::open(&self.source, &context.root, Split::Train, self.side()? as u32)?;
        let captions = (0..pictures.len()).flat_map(|i| pictures.captions(i));
        let tokenizer = TextTokenizer::train(&self.tokenizer, captions).map_err(data_error)?;
        if tokenizer.vocab_size() > self.vocab_size {
            return Err(RunError::bad_setting(
                "captions.vocab_size",
                self.vocab_size,
                format!("the tokenizer has {} tokens, more than that", tokenizer.vocab_size()),
            ));
        }
        tokenizer.save(context.prepared().join(TOKENIZER_FILE)).map_err(data_error)
    }

    /// The captioned pictures of a split: in training one item per caption, in validation and test one per
    /// picture (its first caption for the loss, all of them as references).
    pub fn items(&self, context: &Context, split: Split) -> Result<CaptionItems, RunError> {
        let side = self.side()? as u32;
        let pictures = Pictures::open(&self.source, &context.root, split, side)?;
        let rows = match split {
            Split::Train => (0..pictures.len()).flat_map(|p| (0..pictures.captions(p).len()).map(move |k| (p, k))).collect(),
            Split::Valid | Split::Test => (0..pictures.len()).map(|p| (p, 0)).collect(),
        };
        Ok(CaptionItems { pictures, rows, tokenizer: load_tokenizer(&context.prepared())?, max_len: self.max_len, side })
    }
}

/// One captioned picture.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionItem {
    /// `[3 · side · side]`, channels first, in [-1, 1].
    pub picture: Vec<f32>,
    /// The caption's tokens: start, words, end.
    pub tokens: Vec<u32>,
    /// The picture's index in its split.
    pub index: usize,
}

/// The captioned pictures of one split, drawn or read when asked for.
#[derive(Clone)]
pub struct CaptionItems {
    pictures: Pictures,
    /// (picture, caption) of each item.
    rows: Vec<(usize, usize)>,
    tokenizer: TextTokenizer,
    max_len: usize,
    side: u32,
}

impl CaptionItems {
    /// Picture `index`'s objects, for a shapes scene; `None` for a photograph.
    pub fn objects(&self, index: usize) -> Option<Vec<Object>> {
        self.pictures.objects(index)
    }

    /// Picture `index`'s reference captions.
    pub fn references(&self, index: usize) -> Vec<String> {
        self.pictures.captions(index)
    }

    /// Picture `index` as the encoder sees it.
    pub fn picture(&self, index: usize) -> Result<image::RgbImage, RunError> {
        self.pictures.picture(index, self.side)
    }

    /// How many pictures the split holds (training has an item per caption, so more items).
    pub fn picture_count(&self) -> usize {
        self.pictures.len()
    }

    /// Only the first `count` items.
    pub fn first(mut self, count: usize) -> Self {
        self.rows.truncate(count);
        self
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }
}

impl Dataset<CaptionItem> for CaptionItems {
    fn get(&self, index: usize) -> Result<CaptionItem, DatasetError> {
        let (picture, caption) = self.rows[index];
        let image = self.pictures.picture(picture, self.side).map_err(DatasetError::new)?;
        let mut tokens = self.tokenizer.encode(&self.pictures.captions(picture)[caption]).map_err(DatasetError::new)?;
        if tokens.len() > self.max_len + 2 {
            tokens.truncate(self.max_len + 1);
            tokens.push(TextTokenizer::END_ID);
        }
        Ok(CaptionItem { picture: picture_input(&image), tokens, index: picture })
    }

    fn len(&self) -> usize {
        self.rows.len()
    }
}

/// A batch of captioned pictures, captions padded to the longest.
#[derive(Debug, Clone)]
pub struct CaptionBatch {
    /// `[B, 3, side, side]`.
    pub pictures: Tensor<4>,
    /// `[B, T]`: the start token and every token but the last.
    pub inputs: Tensor<2, Int>,
    /// `[B, T]`: the tokens to predict (the words and the end token), padding after.
    pub targets: Tensor<2, Int>,
    /// `[B, T]`: 1 where `targets` is a real token, 0 on padding.
    pub mask: Tensor<2>,
    /// Each item's picture index.
    pub indices: Vec<usize>,
}

/// Stacks [`CaptionItem`]s.
#[derive(Debug, Clone, Copy)]
pub struct CaptionBatcher {
    /// Picture side.
    pub side: usize,
}

impl Batcher<CaptionItem, CaptionBatch> for CaptionBatcher {
    fn batch(&self, items: Vec<CaptionItem>, device: &Device) -> CaptionBatch {
        let n = items.len();
        let steps = items.iter().map(|i| i.tokens.len() - 1).max().unwrap_or(1).max(1);
        let (mut inputs, mut targets, mut mask) = (vec![0i64; n * steps], vec![0i64; n * steps], vec![0f32; n * steps]);
        for (row, item) in items.iter().enumerate() {
            for t in 0..item.tokens.len() - 1 {
                inputs[row * steps + t] = item.tokens[t] as i64;
                targets[row * steps + t] = item.tokens[t + 1] as i64;
                mask[row * steps + t] = 1.0;
            }
        }
        let pictures: Vec<f32> = items.iter().flat_map(|i| i.picture.iter().copied()).collect();
        CaptionBatch {
            pictures: Tensor::from_data(TensorData::new(pictures, [n, 3, self.side, self.side]), device),
            inputs: Tensor::from_data(TensorData::new(inputs, [n, steps]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n, steps]), device),
            mask: Tensor::from_data(TensorData::new(mask, [n, steps]), device),
            indices: items.iter().map(|i| i.index).collect(),
        }
    }
}

/// The mean negative log-likelihood `[1]` of the real tokens: `logits` `[B, T, V]`, `targets` and `mask` `[B, T]`.
pub fn caption_loss(logits: Tensor<3>, targets: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<1> {
    let [b, t, v] = logits.dims();
    let log_p = log_softmax(logits.reshape([b * t, v]), 1).gather(1, targets.reshape([b * t, 1])).reshape([b * t]);
    let mask = mask.reshape([b * t]);
    (log_p * mask.clone()).sum().neg() / mask.sum().clamp_min(1.0)
}

/// The items of a split for the runner.
pub(crate) fn dataset(settings: &CaptionSettings, context: &Context, split: Split) -> Result<Arc<dyn Dataset<CaptionItem>>, RunError> {
    Ok(Arc::new(settings.items(context, split)?))
}
