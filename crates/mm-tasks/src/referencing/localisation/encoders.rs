//! The pretrained encoders localisation starts from, both frozen: an image encoder whose last map it attends
//! over (the mnist run's for digit grids, the shapes run's for scenes) and a sound encoder whose vector queries
//! it (the fsdd run's log-mel or waveform CNN for spoken digits, SoundNet's student for the scenes' notes).

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use mm_audio::Audio;
use mm_vision::encoders::ImageEncoder;

use crate::encoders::Readout;
use crate::encoders::fsdd::FsddDigits;
use crate::encoders::mnist::Mnist;
use crate::encoders::sound::{SoundEncoder, SoundFeatures, SoundInput};
use crate::matching::soundnet::SoundNet;
use crate::runner::{RunError, load_pretrained, load_run_config};

/// How a sound becomes the sound encoder's input row, as the encoder's own run made it.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundReading {
    /// Rate, length and log-mel settings.
    pub features: SoundFeatures,
    /// Log-mel or waveform.
    pub input: SoundInput,
    /// How the log-mel CNN's map becomes the vector (the classifier's own readout; waveforms average).
    pub readout: Readout,
}

impl SoundReading {
    /// `[rows, columns]` of an input row.
    pub fn shape(&self) -> [usize; 2] {
        self.features.shape(self.input)
    }

    /// The input row of one recording (any rate; resampled, peak-normalised, cut or padded).
    pub fn row(&self, audio: Audio) -> Result<Vec<f32>, RunError> {
        self.features.examples(self.input, std::iter::once(Ok(audio)))
    }

    /// The reading of a finished fsdd run.
    pub fn of_fsdd(run: &Path) -> Result<Self, RunError> {
        let config = load_run_config::<FsddDigits>(run)?;
        Ok(Self { features: config.features, input: config.model.input, readout: config.model.readout })
    }

    /// The reading of a finished soundnet run (waveforms).
    pub fn of_soundnet(run: &Path) -> Result<Self, RunError> {
        let config = load_run_config::<SoundNet>(run)?;
        Ok(Self { features: config.features, input: SoundInput::Waveform, readout: Readout::Average })
    }
}

/// A frozen sound encoder and how its vector is read.
#[derive(Module, Debug)]
pub struct SoundVector {
    encoder: SoundEncoder,
    shape: [usize; 2],
    #[module(skip)]
    readout: Readout,
}

impl SoundVector {
    /// The encoder of a finished fsdd run.
    pub fn fsdd(run: &Path, device: &Device) -> Result<Self, RunError> {
        let reading = SoundReading::of_fsdd(run)?;
        let (_, classifier) = load_pretrained::<FsddDigits>(run, device)?;
        Ok(Self { encoder: classifier.encoder, shape: reading.shape(), readout: reading.readout }.freeze())
    }

    /// The student's CNN of a finished soundnet run.
    pub fn soundnet(run: &Path, device: &Device) -> Result<Self, RunError> {
        let reading = SoundReading::of_soundnet(run)?;
        let (_, learner) = load_pretrained::<SoundNet>(run, device)?;
        Ok(Self { encoder: SoundEncoder::Waveform(learner.student.cnn), shape: reading.shape(), readout: Readout::Average }.freeze())
    }

    /// Input rows `[B, rows · columns]` → vectors `[B, S]`, cut from the graph (the encoder is frozen).
    pub fn forward(&self, rows: Tensor<2>) -> Tensor<2> {
        self.encoder.vector(rows, self.shape, self.readout).detach()
    }

    /// The vector's width.
    pub fn width(&self, device: &Device) -> usize {
        self.forward(Tensor::zeros([1, self.shape[0] * self.shape[1]], device)).dims()[1]
    }
}

/// The mnist run's encoder and its map's channels.
pub fn mnist_encoder(run: &Path, device: &Device) -> Result<(ImageEncoder, usize), RunError> {
    let (config, classifier) = load_pretrained::<Mnist>(run, device)?;
    Ok((classifier.encoder, config.encoder.output_dim()))
}
