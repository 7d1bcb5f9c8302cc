//! The same computations on wgpu and on flex must agree: tensor operations, the device log-mel, and every model
//! family (image, log-mel and waveform encoders, torchvision's ResNets, the LSTM and bag-of-words text encoders with their projection
//! heads, the two captioners' decoders, every loss) through forward, backward and one SGD step from the same
//! weights. CI installs a software Vulkan device (Mesa's llvmpipe), so this runs everywhere; where no adapter
//! exists outside CI the test says so and passes. `-- --nocapture` prints each comparison's largest difference.

use std::io::Write as _;
use std::sync::{Mutex, MutexGuard};

use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::device::DeviceLogMel;
use mm_audio::signal::LogMelConfig;
use mm_tasks::device::{DeviceKind, agreement_check};

/// The wgpu device, held by one test at a time. Tests sharing the device from two threads failed once in a run
/// of `.ci/run`, with a panic re-raised from the device's runner thread (its message lost, see
/// `report_every_panic`); the tests are about agreement, not concurrency, and take no longer one at a time on
/// two cores.
fn wgpu() -> Option<(Device, MutexGuard<'static, ()>)> {
    static TURN: Mutex<()> = Mutex::new(());
    report_every_panic();
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match DeviceKind::Wgpu.device() {
        Ok(device) => Some((device, turn)),
        Err(error) if std::env::var_os("CI").is_none() => {
            let _ = writeln!(std::io::stderr(), "{}: skipping: {error}", std::thread::current().name().unwrap_or("test"));
            None
        }
        Err(error) => panic!("CI must have a wgpu device: {error}"),
    }
}

/// Writes every panic straight to the process's stderr as well. The test harness captures a panic's message
/// for the test whose thread spawned the panicking one: a worker thread of flex's pool or of wgpu belongs to
/// whichever test started it first, and its panic reaches a later test only as a payload re-raised without a
/// message. Then CI's log still names the thread and the cause.
fn report_every_panic() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            let line = format!("panic on thread '{thread}': {info}\n{}\n", std::backtrace::Backtrace::force_capture());
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            default(info);
        }));
    });
}

#[test]
fn tensor_operations_agree() {
    let Some((device, _turn)) = wgpu() else { return };
    let difference = agreement_check(&device).unwrap();
    assert!(difference < 1e-4, "wgpu differs from flex by {difference}");
}

#[test]
fn log_mel_on_the_device_agrees() {
    let Some((device, _turn)) = wgpu() else { return };
    // Tones over a noise floor about 40 dB down, as in real recordings: in a band with no energy at all, dB
    // values only compare rounding noise.
    let mut state = 12345u32;
    let signal: Vec<f32> = (0..2 * 8000)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            ((i as f32 * 0.031).sin() + ((i * 13) % 7) as f32 * 0.05 + noise * 0.02) * 0.3
        })
        .collect();
    let config = LogMelConfig::new(16000, 256, 64, 32);
    let run = |device: &Device| -> Vec<f32> {
        let batch = Tensor::<2>::from_data(TensorData::new(signal.clone(), [2, 8000]), device);
        DeviceLogMel::new(config, device).unwrap().forward(batch).unwrap().into_data().try_to_vec().unwrap()
    };
    let (gpu, cpu) = (run(&device), run(&Device::flex()));
    assert_eq!(gpu.len(), cpu.len(), "log-mel values on wgpu and on flex");
    let worst = gpu.iter().zip(&cpu).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-2, "wgpu log-mel differs from flex by {worst} dB");
}

// ---- Every model family: forward, backward and one optimiser step on both devices from the same weights. ----

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::LinearConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::Int;
use burn::tensor::activation::softmax;
use mm_audio::encoders::{LogMelCnnConfig, WaveformCnnConfig, WaveformLayerConfig};
use mm_joint::losses::{Negatives, contrastive_loss, cosine_embedding_loss, distillation_kl, info_nce, triplet_loss};
use mm_joint::recipe::{RecipeModel, RecipeModelConfig, TextEncoderKind};
use mm_tasks::runner::{ClassBatch, class_loss};
use mm_vision::encoders::{ImageEncoderConfig, ImageEncoderKind};

/// Every float parameter of a module, or its gradient, flattened in visit order; gradients a parameter lacks
/// are counted, so that both devices must lack the same ones.
struct Flatten<'a> {
    gradients: Option<&'a GradientsParams>,
    values: Vec<f32>,
    missing: usize,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = match self.gradients {
            None => Some(param.val()),
            Some(gradients) => gradients.get::<D>(param.id),
        };
        match tensor {
            Some(tensor) => self.values.extend(tensor.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()),
            None => self.missing += 1,
        }
    }
}

fn flatten<M: Module>(module: &M, gradients: Option<&GradientsParams>) -> (Vec<f32>, usize) {
    let mut visitor = Flatten { gradients, values: Vec::new(), missing: 0 };
    module.visit(&mut visitor);
    (visitor.values, visitor.missing)
}

/// What one device computed: the family's outputs, the loss, the gradients and the parameters after one step.
struct Outcome {
    outputs: Vec<f32>,
    loss: Vec<f32>,
    gradients: (Vec<f32>, usize),
    updated: Vec<f32>,
}

/// `run` returns the family's outputs (flattened) and its scalar loss `[1]`.
fn one_step<M: Module>(model: M, device: &Device, run: &impl Fn(&M, &Device) -> (Tensor<1>, Tensor<1>)) -> Outcome {
    let (outputs, loss) = run(&model, device);
    let outputs = outputs.into_data().try_into_vec::<f32>().unwrap();
    let loss_value = loss.clone().into_data().try_into_vec::<f32>().unwrap();
    let gradients = GradientsParams::from_grads(loss.backward(), &model);
    let flat_gradients = flatten(&model, Some(&gradients));
    // Plain SGD: the updated parameters are `p - 0.1·g`, so they compare the step itself; Adam's first step is
    // lr·sign(g), which turns a rounding difference in a near-zero gradient into a full-size one.
    let updated = SgdConfig::new().init().step(0.1, model, gradients);
    Outcome { outputs, loss: loss_value, gradients: flat_gradients, updated: flatten(&updated, None).0 }
}

/// `a` and `b` have the same length and differ by at most `tolerance` times the largest |b| (or 1e-6).
fn close(family: &str, what: &str, a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len(), "{family}, {what}: {} values on wgpu, {} on flex", a.len(), b.len());
    assert!(!a.is_empty(), "{family}, {what}: nothing to compare");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(worst.is_finite() && worst <= tolerance * scale, "{family}, {what}: wgpu differs from flex by {worst:.2e} (largest |value| {scale:.2e})");
    println!("{family}, {what}: {} values, largest difference {:.1e} of the largest value", a.len(), worst / scale);
}

/// Builds the family's model on flex, copies the same weights to wgpu, runs `one_step` on each and compares
/// outputs and loss (1e-4 of their largest value), gradients (1e-3) and updated parameters (1e-4).
fn families_agree<M: Module + Clone>(family: &str, make: impl Fn(&Device) -> M, run: impl Fn(&M, &Device) -> (Tensor<1>, Tensor<1>)) {
    let Some((gpu, _turn)) = wgpu() else { return };
    let (flex, gpu) = (Device::flex().autodiff(), gpu.autodiff());
    let model = make(&flex);
    // Parameters initialise lazily; reading them fixes the weights before the copy.
    let _ = flatten(&model, None);
    // Through a record, not `clone().fork()`: a clone shares batch norm's running statistics (an Arc), so the
    // fork would move the flex model's statistics to wgpu too.
    let copy = make(&gpu).load_record(model.clone().into_record()).fork(&gpu);
    let on_gpu = one_step(copy, &gpu, &run);
    let on_flex = one_step(model, &flex, &run);
    close(family, "outputs", &on_gpu.outputs, &on_flex.outputs, 1e-4);
    close(family, "loss", &on_gpu.loss, &on_flex.loss, 1e-4);
    assert_eq!(on_gpu.gradients.1, on_flex.gradients.1, "{family}: parameters without a gradient");
    close(family, "gradients", &on_gpu.gradients.0, &on_flex.gradients.0, 1e-3);
    close(family, "updated parameters", &on_gpu.updated, &on_flex.updated, 1e-4);
}

/// Deterministic inputs in [-scale/2, scale/2).
fn values(n: usize, scale: f32, salt: usize) -> Vec<f32> {
    (0..n).map(|i| (((i + salt) * 7919 % 101) as f32 / 101.0 - 0.5) * scale).collect()
}

fn input<const D: usize>(shape: [usize; D], salt: usize, device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values(shape.iter().product(), 2.0, salt), shape), device)
}

fn image_encoder(kind: ImageEncoderKind) -> impl Fn(&Device) -> mm_vision::encoders::ImageEncoder {
    move |device| ImageEncoderConfig::new().with_kind(kind).with_channels_in(3).with_stages(vec![8, 16]).with_blocks_per_stage(1).init(device)
}

#[test]
fn vgg_image_encoder_agrees() {
    families_agree("VGG encoder", image_encoder(ImageEncoderKind::Vgg), |model, device| {
        let out = model.forward(input([2, 3, 16, 16], 0, device));
        (out.features.clone().flatten(0, 3), out.features.powf_scalar(2.0).mean())
    });
}

#[test]
fn resnet_image_encoder_agrees() {
    families_agree("ResNet encoder (batch norm in training mode)", image_encoder(ImageEncoderKind::ResNet), |model, device| {
        let out = model.forward(input([2, 3, 16, 16], 1, device));
        (out.features.clone().flatten(0, 3), out.features.powf_scalar(2.0).mean())
    });
}

/// torchvision's ResNets as a captioner uses them: frozen, batch norm on its running statistics, forward only.
#[test]
fn torchvision_resnets_agree() {
    use mm_vision::torchvision::{TorchvisionArchitecture, TorchvisionConfig};
    let Some((gpu, _turn)) = wgpu() else { return };
    let flex = Device::flex();
    for architecture in [TorchvisionArchitecture::ResNet18, TorchvisionArchitecture::ResNet50] {
        let net = TorchvisionConfig::new(architecture).init(&flex);
        let _ = flatten(&net, None);
        let copy = TorchvisionConfig::new(architecture).init(&gpu).load_record(net.clone().into_record());
        let run = |net: &mm_vision::torchvision::TorchvisionNet, device: &Device| {
            let pictures = input([2, 3, 32, 32], 5, device);
            let map = net.encode(pictures.clone()).features.flatten::<1>(0, 3);
            (net.forward(pictures).flatten::<1>(0, 1).into_data().try_into_vec::<f32>().unwrap(), map.into_data().try_into_vec::<f32>().unwrap())
        };
        let ((gpu_logits, gpu_map), (flex_logits, flex_map)) = (run(&copy, &gpu), run(&net, &flex));
        close(&format!("torchvision {architecture}"), "logits", &gpu_logits, &flex_logits, 1e-4);
        close(&format!("torchvision {architecture}"), "layer4 map", &gpu_map, &flex_map, 1e-4);
    }
}

#[test]
fn log_mel_cnn_agrees() {
    families_agree(
        "log-mel CNN",
        |d| LogMelCnnConfig::new().with_stages(vec![8, 16]).with_convs_per_stage(1).init(d),
        |model, device| {
            let (pooled, _) = model.forward(input([2, 1, 16, 20], 2, device));
            (pooled.clone().flatten(0, 1), pooled.powf_scalar(2.0).mean())
        },
    );
}

#[test]
fn waveform_cnn_agrees() {
    let make = |d: &Device| {
        let layers = [(8, 16, 2, 4), (16, 8, 2, 2)].map(|(channels, kernel, stride, pool)| WaveformLayerConfig { channels, kernel, stride, pool }).to_vec();
        WaveformCnnConfig::new().with_layers(layers).init(d)
    };
    families_agree("waveform CNN", make, |model, device| {
        let out = model.forward(input([2, 1, 1024], 3, device));
        (out.pooled.clone().flatten(0, 1), out.pooled.powf_scalar(2.0).mean())
    });
}

fn recipe_model(kind: TextEncoderKind, device: &Device) -> RecipeModel {
    RecipeModelConfig::new(12, 20, 3).with_text_encoder(kind).with_d_word(8).with_d_hidden(16).with_d_joint(8).with_dropout(0.0).init(device)
}

/// Texts of different lengths (0 pads), pictures' features, both through their projection heads into the joint
/// space, and the recipe's triplet loss between them.
fn recipe_step(model: &RecipeModel, device: &Device) -> (Tensor<1>, Tensor<1>) {
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(vec![3i64, 5, 7, 2, 0, 4, 4, 9, 0, 0, 11, 1, 6, 8, 19], [3, 5]), device);
    let (texts, pictures) = (model.embed_texts(tokens), model.embed_images(input([3, 12], 4, device)));
    let outputs = Tensor::cat(vec![texts.clone(), pictures.clone()], 0).flatten(0, 1);
    (outputs, triplet_loss(pictures, texts, 0.2, Negatives::Hardest))
}

#[test]
fn lstm_text_encoder_and_projection_heads_agree() {
    families_agree("LSTM text encoder + projection heads", |d| recipe_model(TextEncoderKind::Lstm, d), recipe_step);
}

#[test]
fn bag_of_words_text_encoder_agrees() {
    families_agree("bag-of-words text encoder", |d| recipe_model(TextEncoderKind::BagOfWords, d), recipe_step);
}

/// Each loss behind a linear layer, so that it has parameters to step: `a = W x`, `b = W y`.
fn loss_family(name: &str, loss: impl Fn(Tensor<2>, Tensor<2>, &Device) -> Tensor<1>) {
    families_agree(
        name,
        |d| LinearConfig::new(6, 5).init(d),
        |linear, device| {
            let (a, b) = (linear.forward(input([4, 6], 5, device)), linear.forward(input([4, 6], 6, device)));
            (Tensor::cat(vec![a.clone(), b.clone()], 0).flatten(0, 1), loss(a, b, device))
        },
    );
}

#[test]
fn every_loss_agrees() {
    let temperature = |d: &Device| Tensor::<1>::from_data(TensorData::new(vec![0.1f32], [1]), d);
    let signs = |d: &Device| Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -1.0, 1.0, -1.0], [4]), d);
    let same = |d: &Device| Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [4]), d);
    loss_family("InfoNCE", |a, b, d| info_nce(a, b, temperature(d)));
    loss_family("triplet, hardest negative", |a, b, _| triplet_loss(a, b, 0.2, Negatives::Hardest));
    loss_family("triplet, all negatives", |a, b, _| triplet_loss(a, b, 0.2, Negatives::All));
    loss_family("cosine embedding", |a, b, d| cosine_embedding_loss(a, b, signs(d), 0.1));
    loss_family("distillation KL", |a, b, _| distillation_kl(a, softmax(b, 1), 2.0));
    loss_family("contrastive", |a, b, d| contrastive_loss(a, b, same(d), 1.0));
    loss_family("cross-entropy (class_loss)", |a, b, d| {
        let classes = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 3, 1, 4], [4]), d);
        class_loss(a + b, &ClassBatch { inputs: Tensor::zeros([4, 1], d), classes: Some(classes), labels: None }).0
    });
    loss_family("binary cross-entropy (class_loss, labels)", |a, b, d| {
        let labels = Tensor::<2>::from_data(TensorData::new(values(20, 1.0, 7).iter().map(|v| f32::from(*v > 0.0)).collect::<Vec<_>>(), [4, 5]), d);
        class_loss(a - b, &ClassBatch { inputs: Tensor::zeros([4, 1], d), classes: None, labels: Some(labels) }).0
    });
}

// ---- The captioners' decoders, with their losses: teacher forcing over a padded batch. ----

use mm_generate::show_and_tell::{ShowAndTell, ShowAndTellConfig};
use mm_generate::show_attend_tell::{ShowAttendTell, ShowAttendTellConfig};
use mm_tasks::translating::captions::caption_loss;

/// Two captions of 4 and 2 tokens (0 pads): inputs, targets and the mask of real targets.
fn caption_batch(device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2>) {
    let inputs = Tensor::from_data(TensorData::new(vec![2i64, 5, 6, 7, 2, 8, 0, 0], [2, 4]), device);
    let targets = Tensor::from_data(TensorData::new(vec![5i64, 6, 7, 3, 8, 3, 0, 0], [2, 4]), device);
    let mask = Tensor::from_data(TensorData::new(vec![1.0f32, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [2, 4]), device);
    (inputs, targets, mask)
}

#[test]
fn show_and_tell_decoder_agrees() {
    let make = |d: &Device| -> ShowAndTell { ShowAndTellConfig::new(6, 10).with_d_embed(8).with_d_hidden(12).with_dropout(0.0).init(d) };
    families_agree("Show and Tell decoder + caption loss", make, |model, device| {
        let (inputs, targets, mask) = caption_batch(device);
        let logits = model.forward(input([2, 6], 7, device), inputs);
        (logits.clone().flatten(0, 2), caption_loss(logits, targets, mask))
    });
}

#[test]
fn show_attend_tell_decoder_agrees() {
    let make =
        |d: &Device| -> ShowAttendTell { ShowAttendTellConfig::new(6, 10).with_d_embed(8).with_d_hidden(12).with_d_attention(5).with_dropout(0.0).init(d) };
    families_agree("Show, Attend and Tell decoder + caption loss + doubly stochastic", make, |model, device| {
        let (inputs, targets, mask) = caption_batch(device);
        let (logits, alphas) = model.forward(input([2, 9, 6], 8, device), inputs);
        let outputs = Tensor::cat(vec![logits.clone().flatten(0, 2), alphas.clone().flatten(0, 2)], 0);
        (outputs, caption_loss(logits, targets, mask.clone()) + ShowAttendTell::doubly_stochastic(alphas, mask))
    });
}

fn tiny_gan(device: &Device) -> mm_generate::text_to_image::TextToImageGan {
    mm_generate::text_to_image::TextToImageGanConfig::new(6, 1)
        .with_image_size(8)
        .with_d_compressed(4)
        .with_d_noise(3)
        .with_generator_width(4)
        .with_discriminator_width(4)
        .init(device)
        .unwrap()
}

/// GAN-INT-CLS's two steps (batch norm in training mode): the discriminator's matching-aware loss on real,
/// wrong and generated pairs, and the generator's loss with interpolated texts.
#[test]
fn text_to_image_gan_steps_agree() {
    families_agree("GAN-INT-CLS discriminator step", tiny_gan, |gan, device| {
        let text = input([4, 6], 20, device);
        let fake = gan.generator.forward(text.clone(), input([4, 3], 21, device)).detach();
        let d = gan.discriminator_loss(input([4, 1, 8, 8], 22, device), text, input([4, 6], 23, device), fake);
        (Tensor::cat(vec![d.real, d.wrong.unwrap(), d.fake], 0), d.loss)
    });
    families_agree("GAN-INT-CLS generator step", tiny_gan, |gan, device| {
        let text = input([4, 6], 24, device);
        let fake = gan.generator.forward(text.clone(), input([4, 3], 25, device));
        let mixed = mm_generate::text_to_image::interpolated_texts(text.clone());
        let interpolated = gan.generator.forward(mixed.clone(), input([4, 3], 26, device));
        (fake.clone().flatten(0, 3), gan.generator_loss(fake, text, Some((interpolated, mixed))))
    });
}
