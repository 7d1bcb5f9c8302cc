//! GAN-INT-CLS's generator: the text embedding compressed by a linear layer and a leaky ReLU, beside the noise
//! z, then DCGAN's stack of transposed convolutions with batch norm up to the picture.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::{leaky_relu, relu, tanh};
use burn::tensor::{Device, Tensor};

/// DCGAN's initialisation: weights from N(0, 0.02).
pub(crate) const DCGAN_INIT: Initializer = Initializer::Normal { mean: 0.0, std: 0.02 };

/// The slope of the leaky ReLUs.
pub(crate) const LEAK: f64 = 0.2;

/// A size a network of the GAN cannot be built with: the config's field, its value, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} = {value}: {why}")]
pub struct SizeError {
    /// The config's field.
    pub setting: &'static str,
    /// Its value.
    pub value: usize,
    /// Why it cannot work.
    pub why: &'static str,
}

/// The number of doublings from a 4 × 4 map to `image_size`, or the problem with it.
pub(crate) fn doublings(image_size: usize) -> Result<usize, SizeError> {
    if image_size < 8 || !image_size.is_power_of_two() {
        return Err(SizeError { setting: "image_size", value: image_size, why: "the DCGAN stacks need a power of two, 8 or more" });
    }
    Ok(image_size.trailing_zeros() as usize - 2)
}

/// The generator's sizes.
#[derive(Config, Debug)]
pub struct GeneratorConfig {
    /// Width of the text embedding it is conditioned on.
    pub d_text: usize,
    /// Channels of the pictures (1 for MNIST, 3 for the shapes world).
    pub channels: usize,
    /// Side of the square pictures: a power of two, 8 or more. Default 32.
    #[config(default = 32)]
    pub image_size: usize,
    /// Width the text is compressed to. Default 128 (the paper's).
    #[config(default = 128)]
    pub d_compressed: usize,
    /// Dimensions of the noise z ~ N(0, I). Default 100 (the paper's).
    #[config(default = 100)]
    pub d_noise: usize,
    /// Channels of the last hidden map (DCGAN's ngf); each layer nearer the 4 × 4 start has twice as many.
    /// Default 64.
    #[config(default = 64)]
    pub width: usize,
}

impl GeneratorConfig {
    /// A freshly initialised generator (an error names a size that cannot work).
    pub fn init(&self, device: &Device) -> Result<Generator, SizeError> {
        let ups = doublings(self.image_size)?;
        if let Some((setting, value)) =
            [("width", self.width), ("d_noise", self.d_noise), ("d_compressed", self.d_compressed)].into_iter().find(|(_, v)| *v == 0)
        {
            return Err(SizeError { setting, value, why: "must be positive" });
        }
        let up = |from: usize, to: usize| ConvTranspose2dConfig::new([from, to], [4, 4]).with_stride([2, 2]).with_padding([1, 1]).with_initializer(DCGAN_INIT);
        let start_channels = self.width << (ups - 1);
        let start = ConvTranspose2dConfig::new([self.d_compressed + self.d_noise, start_channels], [4, 4]).with_bias(false).with_initializer(DCGAN_INIT);
        let mut layers = vec![UpLayer { conv: start.init(device), norm: BatchNormConfig::new(start_channels).init(device) }];
        for i in 1..ups {
            let (from, to) = (start_channels >> (i - 1), start_channels >> i);
            layers.push(UpLayer { conv: up(from, to).with_bias(false).init(device), norm: BatchNormConfig::new(to).init(device) });
        }
        Ok(Generator {
            compress: LinearConfig::new(self.d_text, self.d_compressed).with_initializer(DCGAN_INIT).init(device),
            layers,
            output: up(self.width, self.channels).init(device),
            d_text: self.d_text,
            d_noise: self.d_noise,
        })
    }
}

/// A transposed convolution, batch norm and ReLU.
#[derive(Module, Debug)]
struct UpLayer {
    conv: ConvTranspose2d,
    norm: BatchNorm,
}

/// See [`GeneratorConfig`].
#[derive(Module, Debug)]
pub struct Generator {
    compress: Linear,
    layers: Vec<UpLayer>,
    output: ConvTranspose2d,
    d_text: usize,
    d_noise: usize,
}

impl Generator {
    /// Pictures `[B, channels, image_size, image_size]` in [-1, 1] from text embeddings `[B, d_text]` and noise
    /// `[B, d_noise]`.
    ///
    /// # Panics
    /// When the widths are not the configured ones or the batch sizes differ.
    pub fn forward(&self, text: Tensor<2>, noise: Tensor<2>) -> Tensor<4> {
        let ([batch, d_text], [rows, d_noise]) = (text.dims(), noise.dims());
        assert!(
            d_text == self.d_text && d_noise == self.d_noise && batch == rows,
            "Generator: text {:?} and noise {:?}, expected [B, {}] and [B, {}]",
            text.dims(),
            noise.dims(),
            self.d_text,
            self.d_noise
        );
        let compressed = leaky_relu(self.compress.forward(text), LEAK);
        let mut x = Tensor::cat(vec![compressed, noise], 1).unsqueeze_dims::<4>(&[2, 3]);
        for layer in &self.layers {
            x = relu(layer.norm.forward(layer.conv.forward(x)));
        }
        tanh(self.output.forward(x))
    }

    /// Width of the noise.
    pub fn d_noise(&self) -> usize {
        self.d_noise
    }

    /// Width of the text embedding.
    pub fn d_text(&self) -> usize {
        self.d_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_have_the_configured_size_and_range() {
        let device = Device::flex();
        for size in [8, 32, 64] {
            let generator = GeneratorConfig::new(10, 3).with_image_size(size).with_width(4).with_d_compressed(6).with_d_noise(5).init(&device).unwrap();
            let pictures = generator.forward(Tensor::ones([2, 10], &device), Tensor::zeros([2, 5], &device));
            assert_eq!(pictures.dims(), [2, 3, size, size]);
            let (low, high): (f32, f32) = (pictures.clone().min().into_scalar(), pictures.max().into_scalar());
            assert!((-1.0..=1.0).contains(&low) && (-1.0..=1.0).contains(&high));
        }
        assert!(GeneratorConfig::new(10, 1).with_image_size(28).init(&device).unwrap_err().to_string().contains("image_size = 28"));
    }
}
