//! `localisation`: where in the picture the sound comes from (Senocak et al., CVPR 2018). A frozen image
//! encoder's map and a frozen sound encoder's vector meet in [`SoundLocaliser`] (`model`): the softmax over places
//! of their cosine similarity is the localisation map. Three ways to train it ([`Supervision`]): unsupervised, by
//! the triplet loss between the attended visual embedding, its own sound and the batch's other sounds (the pairs
//! are what was heard with what; no location is read); supervised, by the cross-entropy between the true map and
//! the attention; semi-supervised, both, the second on the labelled share of the examples only. The data
//! ([`sources`]) are digit grids heard with a spoken digit and shapes-world scenes heard with one object's note;
//! the report ([`report`]) scores the maps as LVS's evaluation code does ([`metrics`]) beside a centre prior and
//! a uniform map, and draws them over the pictures.
//!
//! One departure from Senocak et al., measured before it was made: their negative is compared with the picture
//! as the positive sound attended it, and in digit grids — where the other example's digit is often in the
//! picture too — that loss is met without localising (validation pointing game at chance, 0.17–0.24, after one
//! to three epochs, with a plain, a residual and a zero-started residual head). Here every sound of the batch
//! attends the picture itself and the hinge triplet compares each with what it found
//! ([`SoundLocaliser::pair_scores`]), as the later multiple-instance formulations (LVS, EZ-VSL) score pairs.

mod encoders;
mod items;
pub mod metrics;
mod model;
pub mod report;
pub mod sources;

pub use encoders::{SoundReading, SoundVector, mnist_encoder};
pub use items::{LocalisationBatch, LocalisationBatcher, LocalisationItem, LocalisationItems, is_labelled, pool_to_grid};
pub use model::{Localised, SoundLocaliser, SoundLocaliserConfig};
pub use sources::{DigitGrids, Example, Examples, LocalisationSource, ShapesSounds};

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use mm_joint::losses::{Negatives, triplet_loss_of_scores};
use mm_vision::encoders::ImageEncoder;
use serde::{Deserialize, Serialize};

use crate::encoders::mnist::Mnist;
use crate::encoders::pretrained_image::{PretrainedImageEncoder, prepared_encoder};
use crate::runner::{
    Batcher, CONFIG_FILE, Context, Dataset, Learner, Loader, MODEL_FILE, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig, load_run_config,
};

/// The task.
pub struct Localisation;

/// How the network learns where the sound is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Supervision {
    /// The triplet loss only: a picture and the sound heard with it against the batch's other sounds, each
    /// attending the picture.
    Unsupervised,
    /// The cross-entropy between the true map and the attention, on the labelled examples (with
    /// `labelled_fraction` below 1 the run trains on that share of the examples alone).
    Supervised,
    /// `L = L_U + λ(x) L_S`: the triplet loss on every example, the cross-entropy weighted by `lambda` on the
    /// labelled ones (λ(x) = 0 elsewhere; the cross-entropy is averaged over the batch's labelled examples).
    SemiSupervised {
        /// The supervised loss's weight on a labelled example.
        lambda: f64,
    },
}

impl Supervision {
    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Supervision::Unsupervised => "unsupervised",
            Supervision::Supervised => "supervised",
            Supervision::SemiSupervised { .. } => "semi-supervised",
        }
    }

    /// The weights of the triplet and the cross-entropy.
    fn weights(&self) -> (f64, f64) {
        match *self {
            Supervision::Unsupervised => (1.0, 0.0),
            Supervision::Supervised => (0.0, 1.0),
            Supervision::SemiSupervised { lambda } => (1.0, lambda),
        }
    }
}

crate::runner::model_settings!(
    /// The network's settings in the task's config; the image map's channels and the sound vector's width come
    /// from the pretrained encoders.
    net_settings: SoundLocaliserConfig = SoundLocaliserConfig::new(0, 0), from_data: ["visual_channels", "sound_width"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalisationTaskConfig {
    /// The examples. Default: 3 × 3 digit grids heard with a spoken digit.
    pub source: LocalisationSource,
    /// How the network learns. Default unsupervised.
    pub supervision: Supervision,
    /// The share of training examples whose truth a loss may read (supervised and semi-supervised). Default 1.
    pub labelled_fraction: f64,
    /// The network (`d_embed`, `temperature`, beside the task's settings in a file): defaults in
    /// [`SoundLocaliserConfig`].
    #[serde(flatten, with = "net_settings")]
    pub net: SoundLocaliserConfig,
    /// The unsupervised triplet loss's margin on cosines. Default 0.2.
    pub margin: f32,
    /// The fixed threshold on the normalised map for the report's cIoU (LVS's median rule is reported beside
    /// it). Default 0.5.
    pub threshold: f32,
    /// The runner's settings. Defaults: 6 epochs, batch 32, lr 1e-3.
    pub train: TrainConfig,
}

impl Default for LocalisationTaskConfig {
    fn default() -> Self {
        Self {
            source: LocalisationSource::default(),
            supervision: Supervision::Unsupervised,
            labelled_fraction: 1.0,
            net: net_settings::defaults(),
            margin: 0.2,
            threshold: 0.5,
            train: TrainConfig { epochs: 6, batch_size: 32, lr: 1e-3, ..TrainConfig::default() },
        }
    }
}

impl LocalisationTaskConfig {
    /// Checks the settings that no encoder has to be read for.
    fn check(&self) -> Result<(), RunError> {
        if !(self.labelled_fraction > 0.0 && self.labelled_fraction <= 1.0) {
            return Err(RunError::bad_setting("labelled_fraction", self.labelled_fraction, "must be in (0, 1]"));
        }
        if let Supervision::SemiSupervised { lambda } = self.supervision
            && !(lambda >= 0.0 && lambda.is_finite())
        {
            return Err(RunError::bad_setting("supervision.lambda", lambda, "must be finite and at least 0"));
        }
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            return Err(RunError::bad_setting("margin", self.margin, "must be finite and at least 0"));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(RunError::bad_setting("threshold", self.threshold, "must be in [0, 1]"));
        }
        self.source.picture_shape().map(|_| ())
    }

    /// The image encoder's map `[rows, columns]` over the source's pictures.
    pub fn grid(&self) -> Result<[usize; 2], RunError> {
        match &self.source {
            LocalisationSource::DigitGrids(grids) => {
                let side = self.source.picture_shape()?[1];
                Ok(load_run_config::<Mnist>(&grids.mnist_run)?.encoder.map_size(side, side))
            }
            LocalisationSource::Shapes(shapes) => PretrainedImageEncoder::Shapes { run: shapes.shapes_run.clone() }.map_grid(),
        }
    }

    /// The items of `split`: in supervised training with a share of the labels, only the labelled ones.
    pub fn items(&self, context: &Context, split: Split) -> Result<LocalisationItems, RunError> {
        self.check()?;
        let examples = self.source.open(&context.root, split)?;
        let training = split == Split::Train;
        let fraction = if training && self.supervision != Supervision::Unsupervised { self.labelled_fraction } else { 1.0 };
        Ok(LocalisationItems::new(examples, fraction, training && self.supervision == Supervision::Supervised))
    }
}

/// The frozen encoders and the localisation network.
#[derive(Module, Debug)]
pub struct LocalisationModel {
    /// The image encoder (frozen).
    pub image: ImageEncoder,
    /// The sound encoder (frozen).
    pub sound: SoundVector,
    /// The attention and its heads.
    pub net: SoundLocaliser,
    unsupervised: f64,
    supervised: f64,
    margin: f32,
}

impl LocalisationModel {
    /// The network's attention and embeddings for a batch.
    pub fn localise(&self, batch: &LocalisationBatch) -> Localised {
        let (places, sounds) = self.embed(batch);
        self.net.attend(places, sounds)
    }

    /// The places' embeddings `[B, N, d]` and the sounds' `[B, d]` of a batch.
    fn embed(&self, batch: &LocalisationBatch) -> (Tensor<3>, Tensor<2>) {
        let map = self.image.forward(batch.pictures.clone()).features.detach();
        (self.net.embed_places(map), self.net.embed_sound(self.sound.forward(batch.sounds.clone())))
    }
}

impl Learner for LocalisationModel {
    type Batch = LocalisationBatch;

    /// The mode's loss; `pointing` counts the examples whose most attended place holds some truth.
    fn objective(&self, batch: &LocalisationBatch) -> StepOutput {
        let [b, _] = batch.targets.dims();
        let (places, sounds) = self.embed(batch);
        let out = self.net.attend(places.clone(), sounds.clone());
        let device = out.logits.device();
        let mut loss = Tensor::<1>::zeros([1], &device);
        if self.unsupervised > 0.0 && b > 1 {
            // The other examples' sounds are the negatives; each attends the picture too, so that what it finds
            // there is what is compared with it.
            let scores = self.net.pair_scores(places, sounds);
            loss = loss + triplet_loss_of_scores(scores, self.margin, Negatives::All) * self.unsupervised;
        }
        if self.supervised > 0.0 {
            loss = loss + SoundLocaliser::attention_cross_entropy(out.logits.clone(), batch.targets.clone(), batch.labelled.clone()) * self.supervised;
        }
        let peak = out.logits.detach().argmax(1);
        let pointing = batch.inside.clone().gather(1, peak).sum();
        StepOutput::loss(loss, b).with_metric("pointing", pointing)
    }
}

impl Task for Localisation {
    const NAME: &'static str = "localisation";
    type Config = LocalisationTaskConfig;
    type Item = LocalisationItem;
    type Model = LocalisationModel;

    fn train_config(config: &LocalisationTaskConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut LocalisationTaskConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// Test scenes, or test grids, drawn from `seed`: the grids arrange the same held-out MNIST pictures and
    /// test speakers' recordings anew.
    fn with_test_seed(config: &LocalisationTaskConfig, seed: u64) -> Option<LocalisationTaskConfig> {
        let mut config = config.clone();
        match &mut config.source {
            LocalisationSource::DigitGrids(grids) => grids.test_seed = Some(seed),
            LocalisationSource::Shapes(shapes) => shapes.scenes.test_seed = seed,
        }
        Some(config)
    }

    fn pretrained_runs(config: &mut LocalisationTaskConfig) -> Vec<&mut PathBuf> {
        config.source.runs_mut().into()
    }

    fn inputs(config: &LocalisationTaskConfig) -> Vec<PathBuf> {
        config.source.runs().iter().flat_map(|run| [run.join(CONFIG_FILE), run.join(MODEL_FILE)]).collect()
    }

    fn dataset(config: &LocalisationTaskConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<LocalisationItem>>, RunError> {
        Ok(Arc::new(config.items(context, split)?))
    }

    fn batcher(config: &LocalisationTaskConfig) -> Arc<dyn Batcher<LocalisationItem, LocalisationBatch>> {
        let [channels, side] = config.source.picture_shape().unwrap_or([1, 96]);
        Arc::new(LocalisationBatcher { channels, side, grid: config.grid().unwrap_or([1, 1]) })
    }

    fn model(config: &LocalisationTaskConfig, device: &Device) -> Result<LocalisationModel, RunError> {
        config.check()?;
        let ((image, channels), sound) = match &config.source {
            LocalisationSource::DigitGrids(grids) => (mnist_encoder(&grids.mnist_run, device)?, SoundVector::fsdd(&grids.fsdd_run, device)?),
            LocalisationSource::Shapes(shapes) => {
                (PretrainedImageEncoder::Shapes { run: shapes.shapes_run.clone() }.load(device)?, SoundVector::soundnet(&shapes.soundnet_run, device)?)
            }
        };
        let net = SoundLocaliserConfig { visual_channels: channels, sound_width: sound.width(device), ..config.net.clone() }.init(device)?;
        let (unsupervised, supervised) = config.supervision.weights();
        Ok(LocalisationModel { image: prepared_encoder(image, false), sound, net, unsupervised, supervised, margin: config.margin })
    }

    /// Every mode keeps the epoch of the best pointing game on the validation maps: the validation truth is read
    /// for that choice, never by a loss (an unsupervised run's validation loss, over sounds of a speaker it never
    /// heard, hardly moves while its maps improve).
    fn selection(_config: &LocalisationTaskConfig) -> Selection {
        Selection::highest("pointing")
    }

    /// The test report (`localisation.json`) beside the centre prior and the uniform map, and the heat-maps of
    /// right and wrong cases (`heatmaps.png`).
    fn evaluate(
        config: &LocalisationTaskConfig,
        context: &Context,
        model: &LocalisationModel,
        loader: &Loader<LocalisationItem, LocalisationBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        report::evaluate(config, context, model, loader, device)
    }
}
