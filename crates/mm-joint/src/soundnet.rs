//! SoundNet (Aytar, Vondrick and Torralba 2016): a raw-waveform 1-D CNN taught by a visual network through
//! synchronised video, without any audio labels. The student has one head per teacher — "objects" and
//! "scenes" — and learns to match the teachers' distributions by KL divergence.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use mm_audio::encoders::{WaveformCnn, WaveformCnnConfig};

use crate::losses::distillation_kl;

/// The student's shape.
#[derive(Config, Debug)]
pub struct SoundNetStudentConfig {
    /// The waveform CNN (conv1 … conv5 of SoundNet by default).
    pub cnn: WaveformCnnConfig,
    /// Classes of the object teacher.
    pub objects: usize,
    /// Classes of the scene teacher.
    pub scenes: usize,
}

impl SoundNetStudentConfig {
    /// A freshly initialised student.
    pub fn init(&self, device: &Device) -> SoundNetStudent {
        let width = self.cnn.output_dim();
        SoundNetStudent {
            cnn: self.cnn.init(device),
            objects: LinearConfig::new(width, self.objects).init(device),
            scenes: LinearConfig::new(width, self.scenes).init(device),
        }
    }
}

/// The waveform CNN with an object head and a scene head on its time-pooled last layer.
#[derive(Module, Debug)]
pub struct SoundNetStudent {
    /// The encoder whose layers are probed afterwards.
    pub cnn: WaveformCnn,
    objects: Linear,
    scenes: Linear,
}

/// What the student says about a batch.
#[derive(Debug, Clone)]
pub struct StudentOutput {
    /// Object logits `[B, objects]`.
    pub objects: Tensor<2>,
    /// Scene logits `[B, scenes]`.
    pub scenes: Tensor<2>,
}

impl SoundNetStudent {
    /// Waveforms `[B, 1, samples]` → both heads' logits.
    pub fn forward(&self, waveforms: Tensor<3>) -> StudentOutput {
        let pooled = self.cnn.forward(waveforms).pooled;
        StudentOutput { objects: self.objects.forward(pooled.clone()), scenes: self.scenes.forward(pooled) }
    }

    /// The distillation loss `[1]`: KL from each teacher's distribution (`[B, objects]`, `[B, scenes]`) to the
    /// matching head's, at `temperature`, summed over the two heads.
    pub fn loss(output: &StudentOutput, object_teacher: Tensor<2>, scene_teacher: Tensor<2>, temperature: f32) -> Tensor<1> {
        distillation_kl(output.objects.clone(), object_teacher, temperature) + distillation_kl(output.scenes.clone(), scene_teacher, temperature)
    }
}
