//! The multi-modal systems' view of a picture (captioners, VQA): a pretrained encoder's last map, frozen unless
//! `train.module_lr.encoder` gives it a rate. The encoder is the shapes task's (the shapes world's default) or an ImageNet-pretrained
//! torchvision network (for photographs), loaded from a torchvision `.pth` or an imported `.safetensors`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use mm_vision::encoders::ImageEncoder;
use mm_vision::torchvision::{TorchvisionArchitecture, TorchvisionConfig, load_weights};
use mm_vision::transforms::Normalize;
use serde::{Deserialize, Serialize};

use crate::encoders::shapes::Shapes;
use crate::runner::{CONFIG_FILE, MODEL_FILE, RunError, load_pretrained, load_run_config};

/// Where a system's pretrained image encoder comes from (`encoder` in its config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PretrainedImageEncoder {
    /// A finished `shapes` run's encoder, at that run's picture size.
    Shapes {
        /// The run. Default `runs/shapes/latest`.
        #[serde(default = "default_shapes_run")]
        run: PathBuf,
    },
    /// A torchvision network with ImageNet weights (`cargo xtask import-torchvision` checks and converts them).
    Torchvision {
        /// Which network (`resnet18`, `resnet50`, `vgg16` …).
        architecture: TorchvisionArchitecture,
        /// Its weights: torchvision's `.pth` state dict (as `torchvision.models` downloads it) or the
        /// `.safetensors` file `import-torchvision` writes.
        weights: PathBuf,
        /// The side pictures are scaled to. Default 224 (ImageNet's; ResNet's map is then 7 × 7, VGG's 14 × 14).
        #[serde(default = "default_torchvision_side")]
        side: usize,
    },
}

fn default_shapes_run() -> PathBuf {
    PathBuf::from("runs/shapes/latest")
}

fn default_torchvision_side() -> usize {
    224
}

impl Default for PretrainedImageEncoder {
    fn default() -> Self {
        PretrainedImageEncoder::Shapes { run: default_shapes_run() }
    }
}

impl PretrainedImageEncoder {
    /// The pretrained encoder and the channels of its map.
    pub fn load(&self, device: &Device) -> Result<(ImageEncoder, usize), RunError> {
        match self {
            PretrainedImageEncoder::Shapes { run } => {
                let (config, describer) = load_pretrained::<Shapes>(run, device)?;
                Ok((describer.encoder, config.encoder.output_dim()))
            }
            PretrainedImageEncoder::Torchvision { architecture, weights, .. } => {
                let mut net = TorchvisionConfig::new(*architecture).init(device);
                load_weights(&mut net, weights).map_err(crate::data_error)?;
                Ok((ImageEncoder::Torchvision(net), architecture.map_channels()))
            }
        }
    }

    /// The finished run the encoder comes from, to resolve it when a run starts (none for torchvision weights,
    /// a file pinned by content).
    pub fn runs_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            PretrainedImageEncoder::Shapes { run } => vec![run],
            PretrainedImageEncoder::Torchvision { .. } => Vec::new(),
        }
    }

    /// The files the encoder is read from (pinned in the run's config).
    pub fn inputs(&self) -> Vec<PathBuf> {
        match self {
            PretrainedImageEncoder::Shapes { run } => vec![run.join(CONFIG_FILE), run.join(MODEL_FILE)],
            PretrainedImageEncoder::Torchvision { weights, .. } => vec![weights.clone()],
        }
    }

    /// The encoder's map of a picture at [`Self::side`], `[rows, columns]` of places, from its settings.
    pub fn map_grid(&self) -> Result<[usize; 2], RunError> {
        match self {
            PretrainedImageEncoder::Shapes { run } => {
                let config = load_run_config::<Shapes>(run)?;
                Ok(config.encoder.map_size(config.image_size as usize, config.image_size as usize))
            }
            PretrainedImageEncoder::Torchvision { architecture, .. } => {
                let side = architecture.map_side(self.side()?);
                Ok([side, side])
            }
        }
    }

    /// The picture side the encoder takes.
    pub fn side(&self) -> Result<usize, RunError> {
        match self {
            PretrainedImageEncoder::Shapes { run } => Ok(load_run_config::<Shapes>(run)?.image_size as usize),
            PretrainedImageEncoder::Torchvision { architecture, side, .. } => match architecture.map_side(*side) {
                0 => Err(RunError::bad_setting("encoder.side", side, format!("{architecture} leaves no map of pictures this small (use 32 or more)"))),
                _ => Ok(*side),
            },
        }
    }
}

/// Whether `module_lr` lets the encoder learn (a missing entry is the full rate, as the runner reads it).
pub fn fine_tunes(module_lr: &BTreeMap<String, f64>) -> bool {
    module_lr.get("encoder").copied().unwrap_or(1.0) > 0.0
}

/// The encoder, frozen (no gradients, batch norm on its running statistics) unless it is fine-tuned. A
/// pretrained encoder arrives as its run saved it, a validation snapshot: fine-tuning puts it back on the
/// training device with gradients, its batch norm still on the pretrained running statistics (as detection
/// and captioning fine-tune; batch statistics would drift from the ones validation normalises with).
pub fn prepared_encoder(encoder: ImageEncoder, fine_tune: bool) -> ImageEncoder {
    if fine_tune { encoder.train().freeze().set_require_grad(true) } else { encoder.freeze() }
}

/// The encoder's map `[B, C, H, W]` of pictures `[B, 3, side, side]` in [-1, 1] (a torchvision network reads
/// them normalised with ImageNet's statistics), cut from the graph when the encoder is frozen.
pub fn feature_map(encoder: &ImageEncoder, pictures: Tensor<4>, fine_tune: bool) -> Tensor<4> {
    let pictures = match encoder {
        ImageEncoder::Torchvision(_) => Normalize::imagenet().forward((pictures + 1.0) / 2.0),
        _ => pictures,
    };
    let map = encoder.forward(pictures).features;
    if fine_tune { map } else { map.detach() }
}
