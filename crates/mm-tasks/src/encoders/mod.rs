//! The unimodal encoders' tasks: the image and sound encoders that the multi-modal systems start from.
//!
//! - [`mnist`]: digit classifier on MNIST (image encoder).
//! - [`fsdd`]: spoken-digit classifier on FSDD, from log-mel or raw waveform (sound encoders).
//! - [`esc10`]: environmental-sound classifier on ESC-10, 5-fold cross-validation.
//! - [`shapes`]: multi-label scene description of the embedded shapes world.
//! - [`pretrained_image`]: how a multi-modal system names and loads the image encoder it starts from.
//! - [`readout`]: how an encoder's feature map becomes one vector, for every system that reads one.

pub mod esc10;
pub mod fsdd;
mod image_classifier;
pub mod mnist;
pub mod pretrained_image;
pub mod readout;
pub mod shapes;
pub mod sound;

pub use image_classifier::{ImageClassifier, ImageClassifierConfig};
pub use readout::Readout;

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::{esc10, fsdd, mnist, shapes};
    use crate::runner::{RunError, Task};

    fn config_error<T: Task>(config: &T::Config) -> String {
        match T::model(config, &Device::flex()) {
            Err(error @ (RunError::Setting { .. } | RunError::BadSetting { .. })) => error.to_string(),
            Err(other) => panic!("not a config error: {other}"),
            Ok(_) => panic!("{} built a model from an impossible config", T::NAME),
        }
    }

    #[test]
    fn impossible_model_settings_are_config_errors_naming_the_setting() {
        let mnist = mnist::MnistConfig { dropout: 1.0, ..Default::default() };
        assert!(config_error::<mnist::Mnist>(&mnist).contains("mnist: dropout"));
        let mut deep = mnist::MnistConfig::default();
        deep.encoder.stages = vec![8; 5];
        assert!(config_error::<mnist::Mnist>(&deep).contains("5 stages"));
        let mut grey = shapes::ShapesTaskConfig::default();
        grey.encoder.channels_in = 1;
        assert!(config_error::<shapes::Shapes>(&grey).contains("encoder: channels_in is 1"));
        let mut fsdd = fsdd::FsddConfig::default();
        fsdd.model.log_mel_cnn.stages = vec![8; 7];
        assert!(config_error::<fsdd::FsddDigits>(&fsdd).contains("model.log_mel_cnn: 7 stages"));
        let mut esc = esc10::Esc10Config::default();
        esc.model.dropout = -0.5;
        assert!(config_error::<esc10::Esc10Sounds>(&esc).contains("esc10: model.dropout"));
    }
}
