//! Sound-source localisation's network (Senocak et al., CVPR 2018): a sound vector queries a picture's map. The
//! map passes two 3 × 3 convolutions and the sound two linear layers, to one width; the attention is the softmax over places of
//! their cosine similarity divided by a temperature, and is the localisation map; the attention-weighted sum of
//! the places goes through a small residual head to the attended visual embedding, which the unsupervised loss
//! compares with sounds ([`SoundLocaliser::pair_scores`], [`mm_joint::losses::triplet_loss_of_scores`]). The
//! supervised loss is the cross-entropy between a ground-truth map and the attention
//! ([`SoundLocaliser::attention_cross_entropy`]).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use mm_tasks::referencing::localisation::SoundLocaliserConfig;
//!
//! let device = Device::flex();
//! let net = SoundLocaliserConfig::new(64, 256).init(&device).unwrap();
//! let localised = net.forward(Tensor::zeros([2, 64, 8, 8], &device), Tensor::ones([2, 256], &device));
//! assert_eq!(localised.attention.dims(), [2, 64]);
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::{Device, Tensor};

use mm_joint::losses::l2_normalize;

use crate::runner::{RunError, check_widths};

/// The network's sizes.
#[derive(Config, Debug)]
pub struct SoundLocaliserConfig {
    /// Channels of the image encoder's map.
    pub visual_channels: usize,
    /// Width of the sound encoder's vector.
    pub sound_width: usize,
    /// The common width of places, sound and attended embedding. Default 128.
    #[config(default = 128)]
    pub d_embed: usize,
    /// The softmax temperature over the places' cosines (cosines lie in [−1, 1]; 0.05 lets the attention
    /// reach a single place). Default 0.05.
    #[config(default = 0.05)]
    pub temperature: f64,
}

impl SoundLocaliserConfig {
    /// The network, randomly initialised; an error names an impossible setting.
    pub fn init(&self, device: &Device) -> Result<SoundLocaliser, RunError> {
        check_widths(&[("visual_channels", self.visual_channels), ("sound_width", self.sound_width), ("d_embed", self.d_embed)])?;
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(RunError::bad_setting("temperature", self.temperature, "must be positive and finite"));
        }
        let linear = |from, to| LinearConfig::new(from, to).init(device);
        Ok(SoundLocaliser {
            // Two 3 × 3 convolutions: each place's feature also reads its neighbours', so that every place of an
            // object (its edges and its blank inside as well as its strokes) can know what the object is.
            places: [self.visual_channels, self.d_embed]
                .map(|from| Conv2dConfig::new([from, self.d_embed], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device)),
            sound_hidden: linear(self.sound_width, self.d_embed),
            sound_out: linear(self.d_embed, self.d_embed),
            head_hidden: linear(self.d_embed, self.d_embed),
            // The residual branch starts at zero, so the attended embedding starts as the attended feature.
            head_out: LinearConfig::new(self.d_embed, self.d_embed).with_initializer(Initializer::Zeros).init(device),
            temperature: self.temperature,
        })
    }
}

/// The sound-queried attention over a picture's places.
#[derive(Module, Debug)]
pub struct SoundLocaliser {
    places: [Conv2d; 2],
    sound_hidden: Linear,
    sound_out: Linear,
    head_hidden: Linear,
    head_out: Linear,
    temperature: f64,
}

/// What the network says about a batch.
#[derive(Debug, Clone)]
pub struct Localised {
    /// `[B, N]`: the cosines over the temperature, before the softmax (for the supervised loss).
    pub logits: Tensor<2>,
    /// `[B, N]`: the localisation map, row-major over the encoder's places; each row sums to 1.
    pub attention: Tensor<2>,
    /// `[B, d]`: the attended visual embedding (the head applied to the attention-weighted places).
    pub attended: Tensor<2>,
    /// `[B, d]`: the sound's embedding.
    pub sound: Tensor<2>,
}

impl SoundLocaliser {
    /// The embedding of sound vectors `[B, S]` → `[B, d]`.
    pub fn embed_sound(&self, sound: Tensor<2>) -> Tensor<2> {
        self.sound_out.forward(relu(self.sound_hidden.forward(sound)))
    }

    /// The places' features `[B, N, d]` of a map `[B, C, H, W]` (`N = H · W`, row-major).
    pub fn embed_places(&self, map: Tensor<4>) -> Tensor<3> {
        let [batch, _, height, width] = map.dims();
        let features = self.places[1].forward(relu(self.places[0].forward(map)));
        let d = features.dims()[1];
        features.reshape([batch, d, height * width]).swap_dims(1, 2)
    }

    /// - `map`: `[B, C, H, W]`, the image encoder's last map
    /// - `sound`: `[B, S]`, the sound encoder's vector of the sound heard with the picture
    /// - returns the attention over the `N = H · W` places and both embeddings ([`Localised`]).
    pub fn forward(&self, map: Tensor<4>, sound: Tensor<2>) -> Localised {
        let [batch, _, _, _] = map.dims();
        let [sound_batch, _] = sound.dims();
        assert_eq!(batch, sound_batch, "SoundLocaliser: {batch} pictures, {sound_batch} sounds");
        self.attend(self.embed_places(map), self.embed_sound(sound))
    }

    /// The attention of embedded sounds `[B, d]` over embedded places `[B, N, d]` ([`Self::embed_places`],
    /// [`Self::embed_sound`]): one picture's places can be attended by several sounds without embedding them again.
    pub fn attend(&self, features: Tensor<3>, sound: Tensor<2>) -> Localised {
        let [batch, places, d] = features.dims();
        let unit_places = unit_places(features.clone());
        let unit_sound = l2_normalize(sound.clone()).reshape([batch, d, 1]);
        let logits = unit_places.matmul(unit_sound).reshape([batch, places]) / self.temperature;
        let attention = softmax(logits.clone(), 1);
        let pooled = attention.clone().reshape([batch, 1, places]).matmul(features).reshape([batch, d]);
        let attended = self.head(pooled);
        Localised { logits, attention, attended, sound }
    }

    /// The attended embedding of attended features `[M, d]`: a residual head, so that the embedding starts as the
    /// feature itself and matching it to the sound also pulls the places the attention reads towards the sound.
    fn head(&self, pooled: Tensor<2>) -> Tensor<2> {
        pooled.clone() + self.head_out.forward(relu(self.head_hidden.forward(pooled)))
    }

    /// Every picture attended by every sound: `[B, B]`, entry `(i, j)` the cosine between picture `i`'s places
    /// `[B, N, d]` as sound `j` (`[B, d]`) attends them, through the head, and sound `j`'s embedding — the scores
    /// of the unsupervised triplet loss ([`mm_joint::losses::triplet_loss_of_scores`]), true pairs on the diagonal.
    pub fn pair_scores(&self, features: Tensor<3>, sound: Tensor<2>) -> Tensor<2> {
        let [batch, _, d] = features.dims();
        let unit_places = unit_places(features.clone());
        let unit_sound = l2_normalize(sound.clone());
        // [B, N, d] · [d, B] → [B, N, B] → [B (picture), B (sound), N]
        let logits = unit_places.matmul(unit_sound.clone().transpose().reshape([1, d, batch])).swap_dims(1, 2) / self.temperature;
        let pooled = softmax(logits, 2).matmul(features).reshape([batch * batch, d]);
        let attended = l2_normalize(self.head(pooled)).reshape([batch, batch, d]);
        (attended * unit_sound.reshape([1, batch, d])).sum_dim(2).reshape([batch, batch])
    }

    /// The supervised loss: `−Σ_i t_i log α_i` per example against `target` `[B, N]` (each labelled row a
    /// distribution over places), weighted by `labelled` `[B]` (1 where the example's map may be read) and
    /// averaged over the labelled examples (0 when there are none); returns `[1]`.
    pub fn attention_cross_entropy(logits: Tensor<2>, target: Tensor<2>, labelled: Tensor<1>) -> Tensor<1> {
        let [batch, _] = logits.dims();
        let per_example = (log_softmax(logits, 1) * target).sum_dim(1).reshape([batch]).neg();
        (per_example * labelled.clone()).sum() / labelled.sum().clamp_min(1.0)
    }
}

/// Each place's feature `[B, N, d]` scaled to unit length.
fn unit_places(features: Tensor<3>) -> Tensor<3> {
    features.clone() / features.powf_scalar(2.0).sum_dim(2).sqrt().clamp_min(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn the_attention_is_a_distribution_that_prefers_the_place_most_like_the_sound() {
        let device = Device::flex();
        let net = SoundLocaliserConfig::new(3, 3).init(&device).unwrap();
        let map = Tensor::<4>::random([2, 3, 2, 2], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let out = net.forward(map, Tensor::random([2, 3], burn::tensor::Distribution::Normal(0.0, 1.0), &device));
        let sums: Vec<f32> = out.attention.clone().sum_dim(1).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
        // The arg-max of the attention is the arg-max of the logits.
        let a: Vec<i64> = out.attention.argmax(1).into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
        let l: Vec<i64> = out.logits.argmax(1).into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
        assert_eq!(a, l);
    }

    #[test]
    fn pair_scores_hold_each_sound_attending_each_picture_with_the_true_pairs_on_the_diagonal() {
        let device = Device::flex();
        let net = SoundLocaliserConfig::new(3, 4).with_d_embed(5).init(&device).unwrap();
        let normal = burn::tensor::Distribution::Normal(0.0, 1.0);
        let places = net.embed_places(Tensor::<4>::random([3, 3, 2, 2], normal, &device));
        let embedded = net.embed_sound(Tensor::<2>::random([3, 4], normal, &device));
        let scores: Vec<f32> = net.pair_scores(places.clone(), embedded.clone()).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        for j in 0..3 {
            // Sound j attending every picture: column j of the scores.
            let repeated = embedded.clone().slice(j..j + 1).repeat_dim(0, 3);
            let out = net.attend(places.clone(), repeated.clone());
            let cosines: Vec<f32> =
                (l2_normalize(out.attended) * l2_normalize(repeated)).sum_dim(1).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            for i in 0..3 {
                assert!((scores[i * 3 + j] - cosines[i]).abs() < 1e-5, "({i}, {j}): {} vs {}", scores[i * 3 + j], cosines[i]);
            }
        }
    }

    #[test]
    fn the_cross_entropy_reads_only_labelled_rows() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 5.0, 0.0], [2, 2]), &device);
        let target = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [2, 2]), &device);
        let first_only: f32 = SoundLocaliser::attention_cross_entropy(logits.clone(), target.clone(), Tensor::from_floats([1.0, 0.0], &device)).into_scalar();
        assert!((first_only - std::f32::consts::LN_2).abs() < 1e-5, "{first_only}");
        let none: f32 = SoundLocaliser::attention_cross_entropy(logits, target, Tensor::zeros([2], &device)).into_scalar();
        assert_eq!(none, 0.0);
    }
}
