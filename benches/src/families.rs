//! The model families `cargo xtask bench devices` times: for each, one training step (forward, loss, backward,
//! optimiser) and one inference batch, built on any burn device with random inputs of the real shapes.
//! `benches/reference/families_reference.py` builds the same networks, batches, losses and optimisers in
//! PyTorch; the two must change together.
//!
//! ```
//! use burn::tensor::Device;
//! use mm_benches::families::{Family, Workload};
//!
//! let mut workload = Workload::new(Family::SoundNet, &Device::flex(), 2).unwrap();
//! assert!(workload.train_step().is_finite());
//! assert!(workload.infer().is_finite());
//! ```

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use mm_audio::encoders::{WaveformCnn, WaveformCnnConfig};
use mm_generate::show_and_tell::{ShowAndTell, ShowAndTellConfig};
use mm_generate::text_to_image::{TextToImageGan, TextToImageGanConfig, interpolated_texts};
use mm_tasks::encoders::mnist::{Mnist, MnistConfig};
use mm_tasks::encoders::{ImageClassifier, ImageClassifierConfig, Readout};
use mm_tasks::referencing::separation::{Separator, SeparatorConfig, Streams, apply_masks, pit_loss};
use mm_tasks::runner::{Classifier, Task};
use mm_vision::encoders::{ImageEncoderConfig, ImageEncoderKind};

/// A model family and the batch it is timed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// mm's default mnist CNN: VGG stages 32/64/128 of one conv–BN–ReLU block, max-pooling, global average,
    /// dropout 0.2, linear; 28 × 28 grey pictures, cross-entropy, AdamW.
    MnistCnn,
    /// The ResNet-style encoder: stem and three stages (16/32/64) of two basic blocks, global average, linear;
    /// 32 × 32 RGB pictures, cross-entropy, AdamW.
    ResNet,
    /// SoundNet's five waveform layers (16–256 channels, kernels 64–4, stride 2, pooling 8/8/1/1/4), global
    /// average, linear; one second at 8 kHz, cross-entropy, AdamW.
    SoundNet,
    /// Show and Tell: picture feature (64) projected as the first input of a 512-wide LSTM over 256-wide
    /// embeddings of 16 tokens, dropout 0.3, a 1,000-word output layer; cross-entropy, AdamW.
    Captioner,
    /// GAN-INT-CLS on 32 × 32 RGB pictures with 128-wide text: a discriminator step (real, mismatched and
    /// generated pairs) and a generator step (generated and interpolated texts), each Adam(β1 0.5).
    Gan,
    /// The audio-only separation network (Looking to Listen's, CPU-sized): 1 s at 8 kHz as a 101 × 129 compressed
    /// STFT, two masks, the spectrogram loss under permutation-invariant training, Adam.
    Separator,
}

impl Family {
    /// Every family, in table order.
    pub const ALL: [Family; 6] = [Family::MnistCnn, Family::ResNet, Family::SoundNet, Family::Captioner, Family::Gan, Family::Separator];

    /// The name used on the command line, in the table and by the PyTorch reference.
    pub fn name(self) -> &'static str {
        match self {
            Family::MnistCnn => "mnist-cnn",
            Family::ResNet => "resnet",
            Family::SoundNet => "soundnet",
            Family::Captioner => "captioner",
            Family::Gan => "gan",
            Family::Separator => "separator",
        }
    }

    /// The batch each family is timed with by default: what its task trains with.
    pub fn default_batch(self) -> usize {
        match self {
            Family::Separator => 16,
            _ => 64,
        }
    }
}

impl std::str::FromStr for Family {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Family::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
            format!("unknown family {name:?}: expected one of {}", names.join(", "))
        })
    }
}

/// A family's network, inputs and optimisers on one device; each call runs to completion on the device (its
/// result is read back), as PyTorch's `loss.item()` does.
pub struct Workload {
    train: Box<dyn FnMut() -> f32>,
    infer: Box<dyn FnMut() -> f32>,
}

impl Workload {
    /// `family` on `device` (a plain device; training runs on its autodiff twin) with `batch` examples.
    pub fn new(family: Family, device: &Device, batch: usize) -> Result<Self, String> {
        if batch < 2 {
            return Err(format!("{}: a batch needs at least 2 examples (batch norm and the GAN's mismatched texts), not {batch}", family.name()));
        }
        device.seed(0);
        let train_device = device.clone().autodiff();
        Ok(match family {
            Family::MnistCnn => {
                let model = Mnist::model(&MnistConfig::default(), &train_device).map_err(|e| e.to_string())?;
                classifier(model, [1, 28, 28], 10, batch, device)
            }
            Family::ResNet => classifier(resnet(&train_device), [3, 32, 32], 10, batch, device),
            Family::SoundNet => soundnet(batch, device),
            Family::Captioner => captioner(batch, device),
            Family::Gan => gan(batch, device)?,
            Family::Separator => separator(batch, device)?,
        })
    }

    /// One training step; returns the loss.
    pub fn train_step(&mut self) -> f32 {
        (self.train)()
    }

    /// One inference batch; returns the outputs' sum.
    pub fn infer(&mut self) -> f32 {
        (self.infer)()
    }
}

fn normal<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

fn classes(batch: usize, count: usize, device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new((0..batch as i64).map(|i| i % count as i64).collect(), [batch]), device)
}

fn read(tensor: Tensor<1>) -> f32 {
    tensor.sum().into_scalar()
}

/// AdamW as mm's runner configures it (weight decay 1e-4, ε 1e-5), at rate 1e-3.
fn adamw() -> ModuleOptimizer {
    AdamWConfig::new().with_weight_decay(1e-4).with_epsilon(1e-5).init()
}

/// A training closure: `loss(model)` differentiated and applied by `optimizer`.
fn trainer<M: Module + 'static>(model: M, mut optimizer: ModuleOptimizer, loss: impl Fn(&M) -> Tensor<1> + 'static) -> Box<dyn FnMut() -> f32> {
    let mut model = Some(model);
    Box::new(move || {
        let current = model.take().expect("the model is put back after every step");
        let value = loss(&current);
        let grads = GradientsParams::from_grads(value.backward(), &current);
        model = Some(optimizer.step(1e-3, current, grads));
        value.into_scalar()
    })
}

fn resnet(device: &Device) -> ImageClassifier {
    let encoder = ImageEncoderConfig::new().with_kind(ImageEncoderKind::ResNet).with_channels_in(3).with_stages(vec![16, 32, 64]).with_blocks_per_stage(2);
    ImageClassifierConfig::new(encoder, [3, 32, 32], 10).with_pooling(Readout::Average).init(device)
}

fn classifier(model: ImageClassifier, shape: [usize; 3], count: usize, batch: usize, device: &Device) -> Workload {
    let train_device = device.clone().autodiff();
    let width = shape.iter().product();
    let (inputs, labels) = (normal([batch, width], &train_device), classes(batch, count, &train_device));
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let plain = model.valid();
    let test = normal([batch, width], device);
    let train = trainer(model, adamw(), move |m: &ImageClassifier| loss_fn.forward(m.logits(inputs.clone()), labels.clone()));
    Workload { train, infer: Box::new(move || read(plain.logits(test.clone()).flatten(0, 1))) }
}

/// SoundNet's waveform layers with a linear head.
#[derive(Module, Debug)]
struct SoundNetClassifier {
    encoder: WaveformCnn,
    head: Linear,
}

impl SoundNetClassifier {
    fn logits(&self, samples: Tensor<3>) -> Tensor<2> {
        self.head.forward(self.encoder.forward(samples).pooled)
    }
}

fn soundnet(batch: usize, device: &Device) -> Workload {
    let train_device = device.clone().autodiff();
    let config = WaveformCnnConfig::new();
    let model = SoundNetClassifier { encoder: config.init(&train_device), head: LinearConfig::new(config.output_dim(), 10).init(&train_device) };
    let (samples, labels) = (normal([batch, 1, 8000], &train_device), classes(batch, 10, &train_device));
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let plain = model.valid();
    let test = normal([batch, 1, 8000], device);
    let train = trainer(model, adamw(), move |m: &SoundNetClassifier| loss_fn.forward(m.logits(samples.clone()), labels.clone()));
    Workload { train, infer: Box::new(move || read(plain.logits(test.clone()).flatten(0, 1))) }
}

const CAPTION_VOCAB: usize = 1000;
const CAPTION_STEPS: usize = 16;
const CAPTION_IMAGE: usize = 64;

fn captioner(batch: usize, device: &Device) -> Workload {
    let train_device = device.clone().autodiff();
    // The reference's sizes (the paper's), pinned: the model's defaults are the shapes world's.
    let model = ShowAndTellConfig::new(CAPTION_IMAGE, CAPTION_VOCAB).with_d_embed(256).with_d_hidden(512).with_dropout(0.3).init(&train_device);
    let tokens = |device: &Device| {
        let values: Vec<i64> = (0..batch * CAPTION_STEPS).map(|i| ((i * 7919) % CAPTION_VOCAB) as i64).collect();
        Tensor::<2, Int>::from_data(TensorData::new(values, [batch, CAPTION_STEPS]), device)
    };
    let (features, inputs) = (normal([batch, CAPTION_IMAGE], &train_device), tokens(&train_device));
    let targets = inputs.clone().reshape([batch * CAPTION_STEPS]);
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let plain: ShowAndTell = model.valid();
    let (test_features, test_inputs) = (normal([batch, CAPTION_IMAGE], device), tokens(device));
    let train = trainer(model, adamw(), move |m: &ShowAndTell| {
        let logits = m.forward(features.clone(), inputs.clone()).reshape([batch * CAPTION_STEPS, CAPTION_VOCAB]);
        loss_fn.forward(logits, targets.clone())
    });
    Workload { train, infer: Box::new(move || read(plain.forward(test_features.clone(), test_inputs.clone()).flatten(0, 2))) }
}

const GAN_TEXT: usize = 128;

fn gan(batch: usize, device: &Device) -> Result<Workload, String> {
    let train_device = device.clone().autodiff();
    // The reference's widths (DCGAN's 64), pinned: the model's defaults are MNIST's.
    let config = TextToImageGanConfig::new(GAN_TEXT, 3).with_generator_width(64).with_discriminator_width(64);
    let model = config.init(&train_device).map_err(|e| e.to_string())?;
    let plain = model.valid();
    let adam = || AdamConfig::new().with_beta_1(0.5).init();
    let (mut discriminator_optimizer, mut generator_optimizer) = (adam(), adam());
    let real = normal([batch, 3, 32, 32], &train_device).tanh();
    let text = normal([batch, GAN_TEXT], &train_device);
    let wrong = Tensor::cat(vec![text.clone().narrow(0, 1, batch - 1), text.clone().narrow(0, 0, 1)], 0);
    let d_noise = config.d_noise;
    let noise = move |device: &Device| normal([batch, d_noise], device);
    let mut model = Some(model);
    let train = Box::new(move || {
        let mut gan: TextToImageGan = model.take().expect("put back after every step");
        // D: real pictures with their texts and with mismatched ones, and G's pictures (detached).
        let fake = gan.generator.forward(text.clone(), noise(&train_device)).detach();
        let d_loss = gan.discriminator_loss(real.clone(), text.clone(), wrong.clone(), fake).loss;
        let mut grads = d_loss.backward();
        let d_grads = GradientsParams::from_module(&mut grads, &gan.discriminator);
        gan.discriminator = discriminator_optimizer.step(2e-4, gan.discriminator, d_grads);
        // G: its pictures for the texts and for interpolated texts should pass as real.
        let interpolated = interpolated_texts(text.clone());
        let fake = gan.generator.forward(text.clone(), noise(&train_device));
        let between = gan.generator.forward(interpolated.clone(), noise(&train_device));
        let g_loss = gan.generator_loss(fake, text.clone(), Some((between, interpolated)));
        let mut grads = g_loss.backward();
        let g_grads = GradientsParams::from_module(&mut grads, &gan.generator);
        gan.generator = generator_optimizer.step(2e-4, gan.generator, g_grads);
        model = Some(gan);
        d_loss.into_scalar::<f32>() + g_loss.into_scalar::<f32>()
    });
    let test_text = normal([batch, GAN_TEXT], device);
    let test_noise = normal([batch, config.d_noise], device);
    Ok(Workload { train, infer: Box::new(move || read(plain.generator.forward(test_text.clone(), test_noise.clone()).flatten(0, 3))) })
}

const SEPARATOR_FRAMES: usize = 101;
const SEPARATOR_BINS: usize = 129;

fn separator(batch: usize, device: &Device) -> Result<Workload, String> {
    let train_device = device.clone().autodiff();
    let model = SeparatorConfig::new(SEPARATOR_BINS, Streams::AudioOnly { sources: 2 }).init(&train_device).map_err(|e| e.to_string())?;
    let plain: Separator = model.valid();
    let mixture = normal([batch, 2, SEPARATOR_FRAMES, SEPARATOR_BINS], &train_device);
    let targets = normal([batch, 2, 2, SEPARATOR_FRAMES, SEPARATOR_BINS], &train_device);
    let train = trainer(model, AdamConfig::new().init(), move |m: &Separator| {
        let estimates = apply_masks(m.masks(mixture.clone(), None), mixture.clone());
        pit_loss(estimates, targets.clone()).0
    });
    let test = normal([batch, 2, SEPARATOR_FRAMES, SEPARATOR_BINS], device);
    Ok(Workload { train, infer: Box::new(move || read(plain.masks(test.clone(), None).flatten(0, 4))) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_trains_and_infers_on_flex_and_names_round_trip() {
        for family in Family::ALL {
            let mut workload = Workload::new(family, &Device::flex(), 2).unwrap();
            let first = workload.train_step();
            assert!(first.is_finite() && workload.train_step().is_finite(), "{family:?}");
            assert!(workload.infer().is_finite(), "{family:?}");
            assert_eq!(family.name().parse::<Family>().unwrap(), family);
        }
        assert!("vgg".parse::<Family>().unwrap_err().contains("mnist-cnn"));
        assert!(Workload::new(Family::Gan, &Device::flex(), 1).is_err());
    }
}
