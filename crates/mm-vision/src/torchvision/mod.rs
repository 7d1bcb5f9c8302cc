//! torchvision's ImageNet classifiers, with torchvision's parameter names, so that a torchvision `.pth` state
//! dict loads into them unchanged ([`load_weights`]): ResNet-18/34/50/101/152 (He et al. 2016, torchvision's
//! "v1.5", stride on the 3×3 convolution of a bottleneck) and VGG-11/13/16/19 without batch norm (Simonyan &
//! Zisserman 2015).
//!
//! They take pictures normalised with ImageNet's statistics ([`crate::transforms::Normalize::imagenet`]) and
//! give the class logits ([`TorchvisionNet::forward`]) or, as an image encoder, the last convolutional map and its
//! average ([`TorchvisionNet::encode`]): ResNet's `layer4` (`[B, 512 or 2048, H/32, W/32]`) and VGG's last
//! convolution after its ReLU, before the last pooling (`[B, 512, H/16, W/16]`, the map Show, Attend and Tell
//! attends over).

mod resnet;
mod vgg;
mod weights;

pub use resnet::{Bottleneck, ResNet, ResNetBasicBlock, ResidualBlock};
pub use vgg::Vgg;
pub use weights::{detect_architecture, import_pth, load_weights, save_weights};

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::encoder_output::EncoderOutput;

/// A torchvision architecture, named as `torchvision.models` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TorchvisionArchitecture {
    /// `resnet18`: basic blocks [2, 2, 2, 2].
    ResNet18,
    /// `resnet34`: basic blocks [3, 4, 6, 3].
    ResNet34,
    /// `resnet50`: bottlenecks [3, 4, 6, 3].
    ResNet50,
    /// `resnet101`: bottlenecks [3, 4, 23, 3].
    ResNet101,
    /// `resnet152`: bottlenecks [3, 8, 36, 3].
    ResNet152,
    /// `vgg11`: configuration A.
    Vgg11,
    /// `vgg13`: configuration B.
    Vgg13,
    /// `vgg16`: configuration D.
    Vgg16,
    /// `vgg19`: configuration E.
    Vgg19,
}

impl TorchvisionArchitecture {
    /// Every architecture, in torchvision's order.
    pub const ALL: [TorchvisionArchitecture; 9] =
        [Self::ResNet18, Self::ResNet34, Self::ResNet50, Self::ResNet101, Self::ResNet152, Self::Vgg11, Self::Vgg13, Self::Vgg16, Self::Vgg19];

    /// torchvision's name (`resnet50`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ResNet18 => "resnet18",
            Self::ResNet34 => "resnet34",
            Self::ResNet50 => "resnet50",
            Self::ResNet101 => "resnet101",
            Self::ResNet152 => "resnet152",
            Self::Vgg11 => "vgg11",
            Self::Vgg13 => "vgg13",
            Self::Vgg16 => "vgg16",
            Self::Vgg19 => "vgg19",
        }
    }

    /// Channels of the map [`TorchvisionNet::encode`] returns.
    pub fn map_channels(self) -> usize {
        match self {
            Self::ResNet18 | Self::ResNet34 | Self::Vgg11 | Self::Vgg13 | Self::Vgg16 | Self::Vgg19 => 512,
            Self::ResNet50 | Self::ResNet101 | Self::ResNet152 => 2048,
        }
    }

    /// The side of that map for pictures of side `side`: ResNet divides by 32, VGG (before its last pooling)
    /// by 16, each halving rounding as the network does.
    pub fn map_side(self, side: usize) -> usize {
        match self {
            // Stem conv (7×7, stride 2, padding 3) and max pool (3×3, stride 2, padding 1) each give ⌊(s − 1)/2⌋ + 1,
            // as do the three strided 3×3 (or 1×1) convolutions.
            Self::ResNet18 | Self::ResNet34 | Self::ResNet50 | Self::ResNet101 | Self::ResNet152 => (0..5).fold(side, |s, _| s.saturating_sub(1) / 2 + 1),
            _ => side >> 4,
        }
    }
}

impl fmt::Display for TorchvisionArchitecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TorchvisionArchitecture {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
            format!("unknown torchvision architecture {name:?} (known: {})", names.join(", "))
        })
    }
}

/// A torchvision network to build.
#[derive(Config, Debug)]
pub struct TorchvisionConfig {
    /// Which network.
    pub architecture: TorchvisionArchitecture,
    /// Classes of the last layer. Default 1000 (ImageNet's).
    #[config(default = 1000)]
    pub num_classes: usize,
}

impl TorchvisionConfig {
    /// The network with burn's default initialisers (load torchvision's weights over it with [`load_weights`]).
    pub fn init(&self, device: &Device) -> TorchvisionNet {
        use TorchvisionArchitecture::*;
        match self.architecture {
            ResNet18 => TorchvisionNet::ResNet(ResNet::basic([2, 2, 2, 2], self.num_classes, device)),
            ResNet34 => TorchvisionNet::ResNet(ResNet::basic([3, 4, 6, 3], self.num_classes, device)),
            ResNet50 => TorchvisionNet::ResNet(ResNet::bottleneck([3, 4, 6, 3], self.num_classes, device)),
            ResNet101 => TorchvisionNet::ResNet(ResNet::bottleneck([3, 4, 23, 3], self.num_classes, device)),
            ResNet152 => TorchvisionNet::ResNet(ResNet::bottleneck([3, 8, 36, 3], self.num_classes, device)),
            Vgg11 => TorchvisionNet::Vgg(Vgg::new(&[1, 1, 2, 2, 2], self.num_classes, device)),
            Vgg13 => TorchvisionNet::Vgg(Vgg::new(&[2, 2, 2, 2, 2], self.num_classes, device)),
            Vgg16 => TorchvisionNet::Vgg(Vgg::new(&[2, 2, 3, 3, 3], self.num_classes, device)),
            Vgg19 => TorchvisionNet::Vgg(Vgg::new(&[2, 2, 4, 4, 4], self.num_classes, device)),
        }
    }
}

/// A torchvision ResNet or VGG.
// A model holds one network: the size difference between the variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TorchvisionNet {
    /// ResNet-18 … 152.
    ResNet(ResNet),
    /// VGG-11 … 19.
    Vgg(Vgg),
}

impl TorchvisionNet {
    /// ImageNet-normalised pictures `[B, 3, H, W]` → class logits `[B, num_classes]`, as torchvision's
    /// `model(x)` in eval mode.
    ///
    /// # Panics
    /// If the pictures do not have 3 channels.
    pub fn forward(&self, pictures: Tensor<4>) -> Tensor<2> {
        match self {
            Self::ResNet(net) => net.forward(pictures),
            Self::Vgg(net) => net.forward(pictures),
        }
    }

    /// ImageNet-normalised pictures `[B, 3, H, W]` → the last convolutional map `[B, C, H', W']` and its
    /// average `[B, C]` (see the module doc for which map).
    pub fn encode(&self, pictures: Tensor<4>) -> EncoderOutput {
        match self {
            Self::ResNet(net) => EncoderOutput::from_features(net.features(pictures)),
            Self::Vgg(net) => EncoderOutput::from_features(net.features(pictures)),
        }
    }
}

/// Checks that `pictures` are RGB: torchvision's first convolution takes 3 channels.
fn check_rgb(pictures: &Tensor<4>) {
    let [_, channels, _, _] = pictures.dims();
    assert_eq!(channels, 3, "torchvision networks take RGB pictures [B, 3, H, W], got {channels} channels");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for architecture in TorchvisionArchitecture::ALL {
            assert_eq!(architecture.name().parse::<TorchvisionArchitecture>(), Ok(architecture));
            let json = serde_json::to_string(&architecture).unwrap();
            assert_eq!(json, format!("\"{}\"", architecture.name()));
        }
        let error = "resnet19".parse::<TorchvisionArchitecture>().unwrap_err();
        assert!(error.contains("resnet19") && error.contains("vgg16"), "{error}");
    }

    #[test]
    fn map_sides_are_what_the_networks_give() {
        let device = Device::flex();
        for (architecture, side) in [(TorchvisionArchitecture::ResNet18, 70), (TorchvisionArchitecture::Vgg11, 64)] {
            let net = TorchvisionConfig::new(architecture).with_num_classes(7).init(&device);
            let pictures = Tensor::<4>::zeros([1, 3, side, side], &device);
            let out = net.encode(pictures.clone());
            let map_side = architecture.map_side(side);
            assert_eq!(out.features.dims(), [1, architecture.map_channels(), map_side, map_side], "{architecture}");
            assert_eq!(net.forward(pictures).dims(), [1, 7]);
        }
    }
}
