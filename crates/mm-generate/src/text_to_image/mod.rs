//! Text to image: GAN-INT-CLS (Reed, Akata, Yan, Logeswaran, Schiele and Lee, ICML 2016). A DCGAN whose
//! generator and discriminator are both conditioned on a text embedding (see [`generator`] and
//! [`discriminator`]), trained with two ideas the paper ablates:
//!
//! - **CLS**, the matching-aware discriminator: besides (real picture, right text) → real and (generated
//!   picture, right text) → fake, it sees (real picture, wrong text) → fake, so it must judge whether picture and
//!   text match, not only whether the picture looks real; the last two terms weigh half each.
//! - **INT**, interpolation: the generator also learns to fool the discriminator on the mean of two of the
//!   batch's text embeddings, filling the space between captions.
//!
//! The text encoder the embeddings come from ([`text_encoder`]) is trained beforehand by matching captions to
//! pictures and then frozen.

pub mod discriminator;
pub mod generator;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use discriminator::{Discriminator, DiscriminatorConfig};
pub use generator::{Generator, GeneratorConfig, SizeError};

/// The four networks of the paper's ablation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GanVariant {
    /// A conditional GAN: real pairs against generated ones.
    Gan,
    /// With the matching-aware discriminator (real picture, wrong text → fake).
    GanCls,
    /// With interpolated text embeddings for the generator.
    GanInt,
    /// Both: the paper's model.
    #[default]
    GanIntCls,
}

impl GanVariant {
    /// All four, in the paper's order.
    pub const ALL: [GanVariant; 4] = [GanVariant::Gan, GanVariant::GanCls, GanVariant::GanInt, GanVariant::GanIntCls];

    /// Whether the discriminator sees real pictures with wrong texts.
    pub fn matching_aware(self) -> bool {
        matches!(self, GanVariant::GanCls | GanVariant::GanIntCls)
    }

    /// Whether the generator trains on interpolated texts.
    pub fn interpolates(self) -> bool {
        matches!(self, GanVariant::GanInt | GanVariant::GanIntCls)
    }

    /// The paper's name.
    pub fn label(self) -> &'static str {
        match self {
            GanVariant::Gan => "GAN",
            GanVariant::GanCls => "GAN-CLS",
            GanVariant::GanInt => "GAN-INT",
            GanVariant::GanIntCls => "GAN-INT-CLS",
        }
    }
}

/// Both networks' sizes and the variant.
#[derive(Config, Debug)]
pub struct TextToImageGanConfig {
    /// Width of the text embedding.
    pub d_text: usize,
    /// Channels of the pictures.
    pub channels: usize,
    /// Side of the square pictures (a power of two, 8 or more). Default 32.
    #[config(default = 32)]
    pub image_size: usize,
    /// Width the text is compressed to in both networks. Default 128.
    #[config(default = 128)]
    pub d_compressed: usize,
    /// Noise dimensions. Default 100.
    #[config(default = 100)]
    pub d_noise: usize,
    /// The generator's ngf. Default 32 (DCGAN's 64 is more than MNIST's and the shapes world's pictures need).
    #[config(default = 32)]
    pub generator_width: usize,
    /// The discriminator's ndf. Default 32.
    #[config(default = 32)]
    pub discriminator_width: usize,
    /// Which of the ablation's networks. Default GAN-INT-CLS.
    #[config(default = "GanVariant::GanIntCls")]
    pub variant: GanVariant,
}

impl TextToImageGanConfig {
    /// Both networks, freshly initialised (an error names this config's field that cannot work).
    pub fn init(&self, device: &Device) -> Result<TextToImageGan, SizeError> {
        let named = |width: &'static str| move |e: SizeError| SizeError { setting: if e.setting == "width" { width } else { e.setting }, ..e };
        let generator = GeneratorConfig::new(self.d_text, self.channels)
            .with_image_size(self.image_size)
            .with_d_compressed(self.d_compressed)
            .with_d_noise(self.d_noise)
            .with_width(self.generator_width)
            .init(device)
            .map_err(named("generator_width"))?;
        let discriminator = DiscriminatorConfig::new(self.d_text, self.channels)
            .with_image_size(self.image_size)
            .with_d_compressed(self.d_compressed)
            .with_width(self.discriminator_width)
            .init(device)
            .map_err(named("discriminator_width"))?;
        Ok(TextToImageGan { generator, discriminator, variant: self.variant })
    }
}

/// The generator and the discriminator.
#[derive(Module, Debug)]
pub struct TextToImageGan {
    /// G.
    pub generator: Generator,
    /// D.
    pub discriminator: Discriminator,
    #[module(skip)]
    variant: GanVariant,
}

/// The discriminator's loss and its scores (probabilities, `[B]` each) on the pairs it saw.
#[derive(Debug, Clone)]
pub struct DiscriminatorLoss {
    /// `[1]`.
    pub loss: Tensor<1>,
    /// D(real picture, right text).
    pub real: Tensor<1>,
    /// D(real picture, wrong text); `None` without the matching-aware term.
    pub wrong: Option<Tensor<1>>,
    /// D(generated picture, right text).
    pub fake: Tensor<1>,
}

/// The binary cross-entropy of logits `[B]` against all-ones (`real`) or all-zeros, stable for large logits:
/// softplus(∓x) = max(∓x, 0) + log(1 + e^−|x|). Returns `[1]`.
pub fn binary_cross_entropy(logits: Tensor<1>, real: bool) -> Tensor<1> {
    let signed = if real { logits.neg() } else { logits };
    (signed.clone().clamp_min(0.0) + signed.abs().neg().exp().log1p()).mean()
}

/// The text embeddings `[B, d]` each averaged with the next row's (the last with the first): INT's pairs.
pub fn interpolated_texts(text: Tensor<2>) -> Tensor<2> {
    let [batch, _] = text.dims();
    if batch < 2 {
        return text;
    }
    let next = Tensor::cat(vec![text.clone().narrow(0, 1, batch - 1), text.clone().narrow(0, 0, 1)], 0);
    (text + next) / 2.0
}

impl TextToImageGan {
    /// The variant.
    pub fn variant(&self) -> GanVariant {
        self.variant
    }

    /// D's loss on real pictures `[B, C, S, S]` with their texts `[B, d_text]` and with `wrong` texts `[B,
    /// d_text]` (describing something else; read only by the matching-aware variants), and on generated
    /// pictures `fake` `[B, C, S, S]` made from the right texts (detached from G by the caller).
    pub fn discriminator_loss(&self, real: Tensor<4>, text: Tensor<2>, wrong: Tensor<2>, fake: Tensor<4>) -> DiscriminatorLoss {
        let real_logits = self.discriminator.forward(real.clone(), text.clone());
        let fake_logits = self.discriminator.forward(fake, text);
        let real_loss = binary_cross_entropy(real_logits.clone(), true);
        let fake_loss = binary_cross_entropy(fake_logits.clone(), false);
        let (loss, wrong) = if self.variant.matching_aware() {
            let wrong_logits = self.discriminator.forward(real, wrong);
            let wrong_loss = binary_cross_entropy(wrong_logits.clone(), false);
            (real_loss + (wrong_loss + fake_loss) * 0.5, Some(sigmoid(wrong_logits)))
        } else {
            (real_loss + fake_loss, None)
        };
        DiscriminatorLoss { loss, real: sigmoid(real_logits), wrong, fake: sigmoid(fake_logits) }
    }

    /// G's loss `[1]`: D should call the generated pictures `fake` `[B, C, S, S]` real with their texts `[B,
    /// d_text]`; with interpolation, also pictures generated from the interpolated texts (both given).
    pub fn generator_loss(&self, fake: Tensor<4>, text: Tensor<2>, interpolated: Option<(Tensor<4>, Tensor<2>)>) -> Tensor<1> {
        let loss = binary_cross_entropy(self.discriminator.forward(fake, text), true);
        match interpolated {
            Some((pictures, texts)) => loss + binary_cross_entropy(self.discriminator.forward(pictures, texts), true),
            None => loss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_cross_entropy_is_softplus_and_stays_finite() {
        let device = Device::flex();
        let logits = Tensor::<1>::from_floats([0.0, 2.0, -3.0], &device);
        let real: f32 = binary_cross_entropy(logits.clone(), true).into_scalar();
        let fake: f32 = binary_cross_entropy(logits, false).into_scalar();
        let softplus = |x: f32| (1.0 + x.exp()).ln();
        assert!((real - (softplus(0.0) + softplus(-2.0) + softplus(3.0)) / 3.0).abs() < 1e-6);
        assert!((fake - (softplus(0.0) + softplus(2.0) + softplus(-3.0)) / 3.0).abs() < 1e-6);
        let huge: f32 = binary_cross_entropy(Tensor::from_floats([200.0, -200.0], &device), true).into_scalar();
        assert!((huge - 100.0).abs() < 1e-3);
    }

    #[test]
    fn interpolation_averages_neighbouring_rows() {
        let device = Device::flex();
        let mixed = interpolated_texts(Tensor::<2>::from_floats([[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]], &device));
        assert_eq!(mixed.into_data().try_to_vec::<f32>().unwrap(), vec![2.0, 4.0, 6.0, 8.0, 4.0, 6.0]);
    }

    #[test]
    fn only_the_matching_aware_variants_score_wrong_texts() {
        let device = Device::flex();
        for variant in GanVariant::ALL {
            let gan = TextToImageGanConfig::new(6, 1)
                .with_image_size(8)
                .with_d_compressed(4)
                .with_d_noise(3)
                .with_generator_width(4)
                .with_discriminator_width(4)
                .with_variant(variant)
                .init(&device)
                .unwrap();
            let text = Tensor::<2>::ones([2, 6], &device);
            let fake = gan.generator.forward(text.clone(), Tensor::zeros([2, 3], &device));
            let out = gan.discriminator_loss(Tensor::zeros([2, 1, 8, 8], &device), text.clone(), text.clone().neg(), fake.clone());
            assert_eq!(out.wrong.is_some(), variant.matching_aware(), "{variant:?}");
            let loss: f32 = gan.generator_loss(fake, text, None).into_scalar();
            assert!(loss.is_finite());
        }
    }
}
