//! The captioners' view of a picture: the pretrained shapes encoder's last map, frozen unless
//! `train.module_lr.encoder` gives it a rate.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::Tensor;
use mm_vision::encoders::ImageEncoder;

/// Whether `module_lr` lets the encoder learn (a missing entry is the full rate, as the runner reads it).
pub fn fine_tunes(module_lr: &BTreeMap<String, f64>) -> bool {
    module_lr.get("encoder").copied().unwrap_or(1.0) > 0.0
}

/// The encoder, frozen (no gradients, batch norm on its running statistics) unless it is fine-tuned.
pub fn prepared_encoder(encoder: ImageEncoder, fine_tune: bool) -> ImageEncoder {
    if fine_tune { encoder } else { encoder.freeze() }
}

/// The encoder's map `[B, C, H, W]` of pictures `[B, 3, side, side]`, cut from the graph when it is frozen.
pub fn feature_map(encoder: &ImageEncoder, pictures: Tensor<4>, fine_tune: bool) -> Tensor<4> {
    let map = encoder.forward(pictures).features;
    if fine_tune { map } else { map.detach() }
}
