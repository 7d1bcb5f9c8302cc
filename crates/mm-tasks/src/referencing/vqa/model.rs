//! The VQA networks over a pretrained encoder's map: Antol et al.'s "deeper LSTM Q + norm I" (a two-layer LSTM's
//! cell and hidden states as the question, the L2-normalised pooled image feature, each through dropout, a
//! linear layer and tanh to a common width, multiplied point-wise, then a K-way classifier), the field's
//! baselines built from the same parts (bag-of-words question, question only, image only), and stacked
//! attention (Yang et al. 2016): the question vector queries the map's places, one or more times.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::{softmax, tanh};
use burn::tensor::{Device, Int, Tensor};
use mm_text::lstm_cell::{LstmCell, LstmCellConfig, run_masked};
use serde::{Deserialize, Serialize};

use crate::encoders::Readout;
use crate::runner::{RunError, check_widths};

/// Which network answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VqaVariant {
    /// Deeper LSTM Q + norm I (Antol et al. 2015), the lecture's model.
    LstmNormI,
    /// Bag-of-words question (the sum of its word embeddings) times the normalised image.
    BowNormI,
    /// The LSTM question stream alone (the image unseen): how much the question gives away.
    QuestionOnly,
    /// The normalised image stream alone (the question unseen).
    ImageOnly,
    /// Stacked attention networks (Yang et al. 2016) with the LSTM question: `hops` rounds of attention over the
    /// map's places, each adding its attended feature to the query.
    StackedAttention {
        /// Rounds of attention (the paper uses 1 or 2).
        hops: usize,
    },
}

impl VqaVariant {
    /// A short name for tables.
    pub fn name(&self) -> String {
        match self {
            VqaVariant::LstmNormI => "LSTM Q + norm I".into(),
            VqaVariant::BowNormI => "BoW Q + norm I".into(),
            VqaVariant::QuestionOnly => "LSTM Q only".into(),
            VqaVariant::ImageOnly => "norm I only".into(),
            VqaVariant::StackedAttention { hops } => format!("SAN, {hops} hop{}", if *hops == 1 { "" } else { "s" }),
        }
    }

    fn reads_question(&self) -> bool {
        !matches!(self, VqaVariant::ImageOnly)
    }

    fn reads_image(&self) -> bool {
        !matches!(self, VqaVariant::QuestionOnly)
    }

    fn recurrent(&self) -> bool {
        matches!(self, VqaVariant::LstmNormI | VqaVariant::QuestionOnly | VqaVariant::StackedAttention { .. })
    }
}

/// A VQA network's sizes.
#[derive(Config, Debug)]
pub struct VqaNetConfig {
    /// Question vocabulary: rows of the word embedding.
    pub vocab_size: usize,
    /// Answer classes K.
    pub answers: usize,
    /// Channels of the image encoder's map (the pooled feature's width).
    pub image_channels: usize,
    /// `[H, W]` of the image encoder's map (what a flattened feature reads).
    pub map_size: [usize; 2],
    /// Which network. Default deeper LSTM Q + norm I.
    #[config(default = "VqaVariant::LstmNormI")]
    pub variant: VqaVariant,
    /// What the pooled-image variants read of the map (stacked attention reads every place). Default
    /// `flatten`, the whole map `[C · H · W]`, as a network's fully connected layers read it: the reference's
    /// image is VGG's fc7, computed by such layers from the last convolutional map; a network without them (the
    /// shapes encoder) gives the same access through this, the linear layer to the common width playing their
    /// part. `average` is ResNet's pool5: what is there, not where, and not which colour goes with which shape
    /// when the map codes them apart.
    #[config(default = "Readout::Flatten")]
    pub image_feature: Readout,
    /// Word-embedding width. Default 64 (the reference's 200 is for VQA's vocabulary; the shapes questions have
    /// 33 tokens).
    #[config(default = 64)]
    pub d_embed: usize,
    /// Each LSTM layer's width; the question vector is 4× this (cell and hidden of both layers). Default 128
    /// (the reference's 512 is for VQA).
    #[config(default = 128)]
    pub d_hidden: usize,
    /// The common width the streams are mapped to. Default 256 (the reference's 1024 is for VQA).
    #[config(default = 256)]
    pub d_common: usize,
    /// Stacked attention's hidden width. Default 128 (the reference's 512 is for VQA).
    #[config(default = 128)]
    pub d_attention: usize,
    /// Dropout before each linear layer. Default 0 (the reference uses 0.5 on VQA).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Stacked attention only: append each place's centre (x and y from −1 to 1) to its feature, so that where
    /// a place is can reach the answer. Not in the paper (as Show, Attend and Tell's `place_coordinates`).
    /// Default false.
    #[config(default = false)]
    pub place_coordinates: bool,
}

impl VqaNetConfig {
    /// The network, randomly initialised; an error names an impossible setting.
    pub fn init(&self, device: &Device) -> Result<VqaNet, RunError> {
        if let VqaVariant::StackedAttention { hops } = self.variant
            && hops == 0
        {
            return Err(RunError::bad_setting("variant.hops", hops, "stacked attention needs at least one hop"));
        }
        if self.place_coordinates && !matches!(self.variant, VqaVariant::StackedAttention { .. }) {
            return Err(RunError::setting("place_coordinates", "needs stacked attention (the other variants read the pooled feature)"));
        }
        check_widths(&[
            ("vocab_size", self.vocab_size),
            ("answers", self.answers),
            ("image_channels", self.image_channels),
            ("d_embed", self.d_embed),
            ("d_hidden", self.d_hidden),
            ("d_common", self.d_common),
            ("d_attention", self.d_attention),
        ])?;
        let [map_height, map_width] = self.map_size;
        let variant = self.variant;
        let image_width = match variant {
            VqaVariant::StackedAttention { .. } => self.image_channels + 2 * self.place_coordinates as usize,
            _ => self.image_feature.width([self.image_channels, map_height, map_width]),
        };
        if image_width == 0 && variant.reads_image() {
            return Err(RunError::setting("image_feature", format!("reads nothing of an encoder map of {map_height}×{map_width} places")));
        }
        let question_width = if variant.recurrent() { 4 * self.d_hidden } else { self.d_embed };
        let hops = match variant {
            VqaVariant::StackedAttention { hops } => (0..hops).map(|_| AttentionHopConfig::new(self.d_common, self.d_attention).init(device)).collect(),
            _ => Vec::new(),
        };
        Ok(VqaNet {
            embedding: variant.reads_question().then(|| EmbeddingConfig::new(self.vocab_size, self.d_embed).init(device)),
            lstm: if variant.recurrent() {
                vec![LstmCellConfig::new(self.d_embed, self.d_hidden).init(device), LstmCellConfig::new(self.d_hidden, self.d_hidden).init(device)]
            } else {
                Vec::new()
            },
            question: variant.reads_question().then(|| LinearConfig::new(question_width, self.d_common).init(device)),
            image: variant.reads_image().then(|| LinearConfig::new(image_width, self.d_common).init(device)),
            hops,
            classifier: LinearConfig::new(self.d_common, self.answers).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            variant,
            image_channels: self.image_channels,
            place_coordinates: self.place_coordinates,
            image_feature: self.image_feature,
            map_size: self.map_size,
        })
    }
}

/// One round of stacked attention's sizes.
#[derive(Config, Debug)]
pub struct AttentionHopConfig {
    /// Width of the places' features and of the query.
    pub d_common: usize,
    /// Hidden width of the attention.
    pub d_attention: usize,
}

impl AttentionHopConfig {
    /// The hop, randomly initialised.
    pub fn init(&self, device: &Device) -> AttentionHop {
        AttentionHop {
            places: LinearConfig::new(self.d_common, self.d_attention).with_bias(false).init(device),
            query: LinearConfig::new(self.d_common, self.d_attention).init(device),
            score: LinearConfig::new(self.d_attention, 1).init(device),
        }
    }
}

/// One round of stacked attention: `h = tanh(W_I v ⊕ W_Q u)`, `p = softmax(w_P h)`, `u' = Σ p v + u`.
#[derive(Module, Debug)]
pub struct AttentionHop {
    places: Linear,
    query: Linear,
    score: Linear,
}

impl AttentionHop {
    /// The places' part of the attention, `[P, N, d]` → `[P, N, d_attention]`: it does not depend on the
    /// question, so it is computed once per picture.
    pub fn project_places(&self, places: Tensor<3>) -> Tensor<3> {
        self.places.forward(places)
    }

    /// Each question's places `[Q, N, d]`, their projection by [`Self::project_places`] `[Q, N, d_attention]`
    /// and the query `[Q, d]` → the new query `[Q, d]` and the attention `[Q, N]`.
    pub fn forward(&self, places: Tensor<3>, projected: Tensor<3>, query: Tensor<2>, dropout: &Dropout) -> (Tensor<2>, Tensor<2>) {
        let [q, n, d] = places.dims();
        let hidden = tanh(projected + self.query.forward(query.clone()).unsqueeze_dim::<3>(1));
        let attention = softmax(self.score.forward(dropout.forward(hidden)).reshape([q, n]), 1);
        let attended = attention.clone().unsqueeze_dim::<3>(1).matmul(places).reshape([q, d]);
        (attended + query, attention)
    }
}

/// A VQA network (see [`VqaVariant`]).
#[derive(Module, Debug)]
pub struct VqaNet {
    embedding: Option<Embedding>,
    lstm: Vec<LstmCell>,
    question: Option<Linear>,
    image: Option<Linear>,
    hops: Vec<AttentionHop>,
    classifier: Linear,
    dropout: Dropout,
    #[module(skip)]
    variant: VqaVariant,
    image_channels: usize,
    place_coordinates: bool,
    #[module(skip)]
    image_feature: Readout,
    map_size: [usize; 2],
}

/// What the network says about a batch of questions.
#[derive(Debug, Clone)]
pub struct VqaOutput {
    /// `[Q, K]` answer logits.
    pub logits: Tensor<2>,
    /// Stacked attention's maps, one `[Q, N]` per hop (places row-major); empty for the other variants.
    pub attention: Vec<Tensor<2>>,
}

impl VqaNet {
    /// Which network this is.
    pub fn variant(&self) -> VqaVariant {
        self.variant
    }

    /// Channels of the map it reads.
    pub fn image_channels(&self) -> usize {
        self.image_channels
    }

    /// The word embedding's rows, to start them from word vectors.
    pub fn embedding_mut(&mut self) -> Option<&mut Embedding> {
        self.embedding.as_mut()
    }

    /// The question vector `[Q, 4·d_hidden]` (LSTM: cell and hidden state of both layers after each question's
    /// last word) or `[Q, d_embed]` (bag of words: the sum of the word embeddings). `tokens` and `mask` `[Q, T]`.
    fn question_vector(&self, embedding: &Embedding, tokens: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let [q, _] = tokens.dims();
        let words = embedding.forward(tokens);
        if self.lstm.is_empty() {
            let d = words.dims()[2];
            return (words * mask.unsqueeze_dim::<3>(2)).sum_dim(1).reshape([q, d]);
        }
        // The reference squashes the embedding with tanh and drops it out before the LSTM.
        let words = self.dropout.forward(tanh(words));
        // Each question keeps its state once its words end: padding never moves it.
        let states = run_masked(&self.lstm, words, mask);
        Tensor::cat(states.into_iter().flat_map(|state| [state.cell, state.hidden]).collect(), 1)
    }

    /// Answers questions about pictures: `map` `[P, C, H, W]` is the encoder's map of the `P` pictures, `tokens`
    /// and `mask` `[Q, T]` the questions, `owner` `[Q]` each question's picture (0..P). Returns logits `[Q, K]`.
    ///
    /// # Panics
    /// When the map's channels are not the configured `image_channels` or the question tensors disagree.
    pub fn forward(&self, map: Tensor<4>, tokens: Tensor<2, Int>, mask: Tensor<2>, owner: Tensor<1, Int>) -> VqaOutput {
        let [p, c, h, w] = map.dims();
        let [q, steps] = tokens.dims();
        assert_eq!(c, self.image_channels, "VqaNet: the map has {c} channels, the network reads {}", self.image_channels);
        assert!(mask.dims() == [q, steps] && owner.dims() == [q], "VqaNet: tokens {:?}, mask {:?}, owner {:?}", tokens.dims(), mask.dims(), owner.dims());
        let question = self.embedding.as_ref().map(|embedding| {
            let vector = self.question_vector(embedding, tokens, mask);
            tanh(self.question.as_ref().expect("a question layer").forward(self.dropout.forward(vector)))
        });
        let image = || self.image.as_ref().expect("every variant but question-only reads the image");
        let mut attention = Vec::new();
        let fused = match (self.variant, question) {
            (VqaVariant::QuestionOnly, Some(question)) => question,
            (VqaVariant::StackedAttention { .. }, Some(question)) => {
                let mut places = map.reshape([p, c, h * w]).swap_dims(1, 2);
                if self.place_coordinates {
                    let centre = |i: usize, n: usize| (2 * i + 1) as f32 / n as f32 - 1.0;
                    let xy: Vec<f32> = (0..h * w).flat_map(|i| [centre(i % w, w), centre(i / w, h)]).collect();
                    let xy = Tensor::<2>::from_data(burn::tensor::TensorData::new(xy, [h * w, 2]), &places.device());
                    places = Tensor::cat(vec![places, xy.unsqueeze::<3>().expand([p, h * w, 2])], 2);
                }
                // Everything that depends on the picture alone is computed per picture, then given to its questions.
                let places = tanh(image().forward(self.dropout.forward(places)));
                let asked = places.clone().select(0, owner.clone());
                let mut query = question;
                for hop in &self.hops {
                    let projected = hop.project_places(places.clone()).select(0, owner.clone());
                    let (next, alpha) = hop.forward(asked.clone(), projected, query, &self.dropout);
                    query = next;
                    attention.push(alpha);
                }
                query
            }
            (_, question) => {
                let [height, width] = self.map_size;
                let expected = self.image_feature.width([c, height, width]);
                assert_eq!(self.image_feature.width([c, h, w]), expected, "VqaNet: the map has {h}×{w} places, the network reads {height}×{width}");
                let feature = self.image_feature.read(map);
                let pooled = mm_joint::losses::l2_normalize(feature).select(0, owner);
                let picture = tanh(image().forward(self.dropout.forward(pooled)));
                // Image only has no question stream; the others multiply the two.
                match question {
                    Some(question) => question * picture,
                    None => picture,
                }
            }
        };
        VqaOutput { logits: self.classifier.forward(self.dropout.forward(fused)), attention }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    fn config(variant: VqaVariant) -> VqaNetConfig {
        VqaNetConfig::new(12, 5, 6, [3, 3]).with_variant(variant).with_d_embed(4).with_d_hidden(3).with_d_common(8).with_d_attention(7).with_dropout(0.0)
    }

    #[test]
    fn every_variant_answers_with_the_stated_shapes() {
        let device = Device::flex();
        let map = Tensor::<4>::random([2, 6, 3, 3], Distribution::Normal(0.0, 1.0), &device);
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(vec![4i64, 5, 6, 7, 8, 0, 9, 0, 0], [3, 3]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(vec![1f32, 1., 1., 1., 1., 0., 1., 0., 0.], [3, 3]), &device);
        let owner = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 1], [3]), &device);
        for variant in [VqaVariant::LstmNormI, VqaVariant::BowNormI, VqaVariant::QuestionOnly, VqaVariant::ImageOnly, VqaVariant::StackedAttention { hops: 2 }]
        {
            let net = config(variant).init(&device).unwrap();
            let out = net.forward(map.clone(), tokens.clone(), mask.clone(), owner.clone());
            assert_eq!(out.logits.dims(), [3, 5], "{variant:?}");
            let hops = if let VqaVariant::StackedAttention { hops } = variant { hops } else { 0 };
            assert_eq!(out.attention.len(), hops);
            for alpha in out.attention {
                let sums: Vec<f32> = alpha.sum_dim(1).into_data().convert::<f32>().try_into_vec().unwrap();
                assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
            }
        }
        assert!(config(VqaVariant::StackedAttention { hops: 0 }).init(&device).is_err());
        assert!(config(VqaVariant::LstmNormI).with_place_coordinates(true).init(&device).is_err());
        let pooled = config(VqaVariant::LstmNormI).with_image_feature(Readout::Average).init(&device).unwrap();
        assert_eq!(pooled.forward(map.clone(), tokens.clone(), mask.clone(), owner.clone()).logits.dims(), [3, 5]);
        let placed = config(VqaVariant::StackedAttention { hops: 1 }).with_place_coordinates(true).init(&device).unwrap();
        assert_eq!(placed.forward(map, tokens, mask, owner).logits.dims(), [3, 5]);
    }

    /// Padding after a question's last word leaves its vector as it was, and the image stream only moves the
    /// variants that read it.
    #[test]
    fn padding_does_not_move_the_question_and_question_only_ignores_the_picture() {
        let device = Device::flex();
        let net = config(VqaVariant::QuestionOnly).init(&device).unwrap();
        let map = Tensor::<4>::random([1, 6, 2, 2], Distribution::Normal(0.0, 1.0), &device);
        let other = Tensor::<4>::random([1, 6, 2, 2], Distribution::Normal(0.0, 1.0), &device);
        let owner = Tensor::<1, Int>::zeros([1], &device);
        let short = Tensor::<2, Int>::from_data(TensorData::new(vec![4i64, 5], [1, 2]), &device);
        let padded = Tensor::<2, Int>::from_data(TensorData::new(vec![4i64, 5, 0, 0], [1, 4]), &device);
        let ones = Tensor::<2>::ones([1, 2], &device);
        let half = Tensor::<2>::from_data(TensorData::new(vec![1f32, 1., 0., 0.], [1, 4]), &device);
        let a = net.forward(map.clone(), short, ones, owner.clone()).logits;
        let b = net.forward(other, padded.clone(), half.clone(), owner.clone()).logits;
        let gap: f32 = (a - b).abs().max().into_scalar();
        assert!(gap < 1e-6, "{gap}");
        let with_image = config(VqaVariant::LstmNormI).with_image_feature(Readout::Average).init(&device).unwrap();
        let c = with_image.forward(map.clone(), padded.clone(), half.clone(), owner.clone()).logits;
        let d = with_image.forward(map * -1.0, padded, half, owner).logits;
        let moved: f32 = (c - d).abs().max().into_scalar();
        assert!(moved > 1e-4, "{moved}");
    }
}
