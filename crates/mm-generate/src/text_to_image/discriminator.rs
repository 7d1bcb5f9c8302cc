//! GAN-INT-CLS's discriminator: strided convolutions with batch norm and leaky ReLU down to a 4 × 4 map; the
//! text embedding, compressed, replicated over that map and concatenated with it; a 1 × 1 convolution; then a
//! 4 × 4 convolution to one logit: does this picture match this text?
//!
//! That last convolution covers its whole 4 × 4 input, so it is the same function as a linear layer over the
//! flattened map, and it is computed as one: on burn 0.22.1's wgpu backend an optimiser step on the weight of a
//! convolution whose output is a single pixel applies its (correct) gradient to the wrong elements (a
//! reproducer is in docs/RESULTS.md, text to image).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};

use super::generator::{DCGAN_INIT, LEAK, SizeError, doublings};

/// The discriminator's sizes.
#[derive(Config, Debug)]
pub struct DiscriminatorConfig {
    /// Width of the text embedding.
    pub d_text: usize,
    /// Channels of the pictures.
    pub channels: usize,
    /// Side of the square pictures: a power of two, 8 or more. Default 32.
    #[config(default = 32)]
    pub image_size: usize,
    /// Width the text is compressed to before it is replicated over the 4 × 4 map. Default 128 (the paper's).
    #[config(default = 128)]
    pub d_compressed: usize,
    /// Channels of the first convolution (DCGAN's ndf); each further one doubles them. Default 64.
    #[config(default = 64)]
    pub width: usize,
}

impl DiscriminatorConfig {
    /// A freshly initialised discriminator (an error names a size that cannot work).
    pub fn init(&self, device: &Device) -> Result<Discriminator, SizeError> {
        let downs = doublings(self.image_size)?;
        if let Some((setting, value)) = [("width", self.width), ("d_compressed", self.d_compressed)].into_iter().find(|(_, v)| *v == 0) {
            return Err(SizeError { setting, value, why: "must be positive" });
        }
        let down = |from: usize, to: usize| {
            Conv2dConfig::new([from, to], [4, 4]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).with_initializer(DCGAN_INIT)
        };
        // DCGAN: no batch norm on the first layer, which sees the pictures themselves.
        let first = down(self.channels, self.width).init(device);
        let layers = (1..downs)
            .map(|i| {
                let (from, to) = (self.width << (i - 1), self.width << i);
                DownLayer { conv: down(from, to).with_bias(false).init(device), norm: BatchNormConfig::new(to).init(device) }
            })
            .collect();
        let top = self.width << (downs - 1);
        Ok(Discriminator {
            first,
            layers,
            compress: LinearConfig::new(self.d_text, self.d_compressed).with_initializer(DCGAN_INIT).init(device),
            joint: DownLayer {
                conv: Conv2dConfig::new([top + self.d_compressed, top], [1, 1]).with_bias(false).with_initializer(DCGAN_INIT).init(device),
                norm: BatchNormConfig::new(top).init(device),
            },
            output: LinearConfig::new(top * 16, 1).with_initializer(DCGAN_INIT).init(device),
            d_text: self.d_text,
            image: [self.channels, self.image_size],
        })
    }
}

/// A convolution, batch norm and leaky ReLU.
#[derive(Module, Debug)]
struct DownLayer {
    conv: Conv2d,
    norm: BatchNorm,
}

impl DownLayer {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        leaky_relu(self.norm.forward(self.conv.forward(x)), LEAK)
    }
}

/// See [`DiscriminatorConfig`].
#[derive(Module, Debug)]
pub struct Discriminator {
    first: Conv2d,
    layers: Vec<DownLayer>,
    compress: Linear,
    joint: DownLayer,
    /// The 4 × 4 convolution to one logit, as the linear layer it equals.
    output: Linear,
    d_text: usize,
    image: [usize; 2],
}

impl Discriminator {
    /// Logits `[B]` (real and matching, as opposed to fake or mismatched) of pictures `[B, channels,
    /// image_size, image_size]` with text embeddings `[B, d_text]`.
    ///
    /// # Panics
    /// When the shapes are not the configured ones or the batch sizes differ.
    pub fn forward(&self, pictures: Tensor<4>, text: Tensor<2>) -> Tensor<1> {
        let ([batch, channels, height, width], [rows, d_text]) = (pictures.dims(), text.dims());
        let [c, side] = self.image;
        assert!(
            channels == c && height == side && width == side && d_text == self.d_text && batch == rows,
            "Discriminator: pictures {:?} and text {:?}, expected [B, {c}, {side}, {side}] and [B, {}]",
            pictures.dims(),
            text.dims(),
            self.d_text
        );
        let mut x = leaky_relu(self.first.forward(pictures), LEAK);
        for layer in &self.layers {
            x = layer.forward(x);
        }
        let compressed = leaky_relu(self.compress.forward(text), LEAK);
        let [_, _, h, w] = x.dims();
        let replicated = compressed.unsqueeze_dims::<4>(&[2, 3]).repeat_dim(2, h).repeat_dim(3, w);
        let joint = self.joint.forward(Tensor::cat(vec![x, replicated], 1));
        let c4 = joint.dims()[1];
        self.output.forward(joint.reshape([batch, c4 * 16])).reshape([batch])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_logit_per_picture_at_every_size() {
        let device = Device::flex();
        for size in [8, 32, 64] {
            let d = DiscriminatorConfig::new(10, 3).with_image_size(size).with_width(4).with_d_compressed(6).init(&device).unwrap();
            assert_eq!(d.forward(Tensor::zeros([2, 3, size, size], &device), Tensor::ones([2, 10], &device)).dims(), [2]);
        }
    }
}
