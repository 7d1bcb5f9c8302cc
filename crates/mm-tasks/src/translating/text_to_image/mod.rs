//! `text-to-image`: GAN-INT-CLS (Reed et al. 2016) and its ablations on MNIST with text or on shapes-world
//! scenes (`sources`), trained with the runner's two-optimiser step (the discriminator's, then the generator's,
//! each with its own Adam) on text embeddings from a finished `text-embedding` run (frozen, embedded once into
//! `prepared/texts.json`: `items`), and measured with the project's own trained networks: the mnist classifier
//! (`report`) or the shapes scene describer (`shapes_report`). `generate` draws any text.

pub mod captions;
pub mod generate;
pub mod items;
pub mod report;
pub mod shapes_report;
pub mod sources;
pub mod table;
pub mod text_embedding;

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};
use mm_generate::text_to_image::{TextToImageGan, TextToImageGanConfig, interpolated_texts};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::encoders::mnist::mnist_split;
use crate::runner::{
    Batcher, CONFIG_FILE, Context, Dataset, Learner, Loader, MODEL_FILE, OptimizerKind, OptimizerSettings, Optimizers, RunError, Schedule, Scores, Selection,
    Split, StepOutput, Task, TrainConfig, load_run_config, write_atomically,
};
pub use items::{CaptionEmbeddings, GanBatch, GanItem, TEXTS_FILE, canvas};
use items::{GanBatcher, GanItems, GanPictures};
use sources::{CaptionSource, TextRole};
use text_embedding::{TextEmbedding, embed_sentences, load_text_embedding};

/// The task.
pub struct TextToImage;

/// `table` with its test texts replaced by those of the config's test split: the same rows when the run reads
/// the test scenes it prepared; test scenes drawn from another seed (`eval --test-seed`) have their captions
/// embedded now by the run's frozen text encoder.
fn with_current_test_texts(config: &TextToImageConfig, table: CaptionEmbeddings) -> Result<CaptionEmbeddings, RunError> {
    let current: Vec<sources::SourceText> = config.source.texts(config.gan.image_size as u32)?.into_iter().filter(|t| t.role == TextRole::Test).collect();
    if current.iter().all(|t| table.embedding(&t.text, TextRole::Test).is_some()) {
        return Ok(table);
    }
    let device = Device::flex();
    let (encoder_config, model, tokenizer) = load_text_embedding(&config.text_encoder, &device)?;
    let strings: Vec<&str> = current.iter().map(|t| t.text.as_str()).collect();
    let embeddings = embed_sentences(&model, &tokenizer, &strings, encoder_config.max_len, &device)?;
    let kept = table.texts.iter().zip(&table.embeddings).filter(|(t, _)| t.role != TextRole::Test);
    let (mut texts, mut rows): (Vec<_>, Vec<_>) = kept.map(|(t, e)| (t.clone(), e.clone())).unzip();
    texts.extend(current);
    rows.extend(embeddings);
    Ok(CaptionEmbeddings::new(texts, rows))
}

crate::runner::model_settings!(
    /// Both networks' settings in the task's config; the text embedding's width and the pictures' channels come
    /// from the data.
    gan_settings: TextToImageGanConfig = TextToImageGanConfig::new(0, 0), from_data: ["d_text", "channels"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TextToImageConfig {
    /// The captioned pictures. Default MNIST with text (the text encoder must have been trained on the same
    /// source).
    pub source: CaptionSource,
    /// The finished text-embedding run whose frozen encoder embeds the captions. Default
    /// `runs/text-embedding/latest`.
    pub text_encoder: PathBuf,
    /// The finished run whose network judges the generated pictures (consistency): an mnist run for MNIST, a
    /// shapes run (the scene describer) for the shapes world. It must be trained apart from the text encoder's
    /// image encoder, the network that anchors the text space and whose pooled features FID and diversity are
    /// measured in (the same run is refused), so that consistency is not graded by the network the texts were
    /// fitted to. Default `runs/judge/mnist/latest` (`cargo xtask train mnist --seed 1 --runs runs/judge`).
    pub judge: PathBuf,
    /// Both networks (`variant`, `image_size`, `d_compressed`, `d_noise`, `generator_width`,
    /// `discriminator_width`, beside the task's settings in a file): defaults in [`TextToImageGanConfig`].
    /// `image_size` is also the side of the data's pictures: MNIST's 28 × 28 are centred on a black canvas of this
    /// side; shapes scenes are drawn at it (the world's own pictures are 64).
    #[serde(flatten, with = "gan_settings")]
    pub gan: TextToImageGanConfig,
    /// A training picture's text: the mean of this many of its group's training texts, drawn afresh each epoch
    /// (the paper averages a few captions of a picture; a shapes scene has one). Default 1.
    pub captions_averaged: usize,
    /// Training pictures held out for validation (the mnist task's draw). Default 5,000.
    pub validation: usize,
    /// MNIST: pictures generated from each validation sentence alone to validate each epoch (shapes: one per
    /// validation scene). Default 100.
    pub validation_samples: usize,
    /// Pictures generated for the test report from each test sentence alone (MNIST) or per test scene (shapes).
    /// Default 1,000.
    pub test_samples: usize,
    /// The runner's settings. Defaults: 4 epochs, batch 64, lr 2e-4, Adam with β₁ 0.5 and no weight decay at a
    /// constant rate (the paper's), for both networks.
    pub train: TrainConfig,
}

impl Default for TextToImageConfig {
    fn default() -> Self {
        let optimizer =
            OptimizerSettings { kind: OptimizerKind::Adam, beta1: 0.5, weight_decay: 0.0, schedule: Schedule::Constant, ..OptimizerSettings::default() };
        Self {
            source: CaptionSource::Mnist,
            text_encoder: PathBuf::from("runs/text-embedding/latest"),
            judge: PathBuf::from("runs/judge/mnist/latest"),
            gan: gan_settings::defaults(),
            captions_averaged: 1,
            validation: 5000,
            validation_samples: 100,
            test_samples: 1000,
            train: TrainConfig { epochs: 4, batch_size: 64, lr: 2e-4, optimizer, ..TrainConfig::default() },
        }
    }
}

impl TextToImageConfig {
    /// Both networks' config, for text embeddings of width `d_text`.
    pub fn gan(&self, d_text: usize) -> TextToImageGanConfig {
        TextToImageGanConfig { d_text, channels: self.source.channels(), ..self.gan.clone() }
    }

    /// The width of the text encoder's embedding.
    pub fn d_text(&self) -> Result<usize, RunError> {
        Ok(load_run_config::<TextEmbedding>(&self.text_encoder)?.text.d_text)
    }

    /// The run whose encoder gives the feature space of FID and diversity: the text encoder's image encoder.
    /// Refuses a judge that is that same run (the same folder, or the same weights elsewhere).
    pub fn feature_run(&self) -> Result<PathBuf, RunError> {
        let anchor = load_run_config::<TextEmbedding>(&self.text_encoder)?.image_encoder;
        let same_folder = match (std::fs::canonicalize(&anchor), std::fs::canonicalize(&self.judge)) {
            (Ok(a), Ok(j)) => a == j,
            _ => false,
        };
        let weights = |run: &std::path::Path| std::fs::read(run.join(MODEL_FILE)).ok();
        if same_folder || weights(&anchor).is_some_and(|a| weights(&self.judge).is_some_and(|j| a == j)) {
            return Err(RunError::bad_setting(
                "judge",
                self.judge.display(),
                format!(
                    "it is the text encoder's image encoder ({}), which gives FID's features and anchors the texts; \
                     judge with a network trained apart (`cargo xtask train mnist --seed 1 --runs runs/judge`, or `shapes` for scenes)",
                    anchor.display()
                ),
            ));
        }
        Ok(anchor)
    }
}

/// The GAN as the runner trains it.
#[derive(Module, Debug)]
pub struct TextToImageModel {
    /// Generator and discriminator.
    pub gan: TextToImageGan,
}

impl TextToImageModel {
    fn noise(&self, batch: usize, device: &Device) -> Tensor<2> {
        Tensor::random([batch, self.gan.generator.d_noise()], Distribution::Normal(0.0, 1.0), device)
    }

    /// The step's outputs: the loss is D's plus G's; `d_loss`, `g_loss` and D's mean probabilities on real,
    /// wrong (matching-aware variants) and generated pairs are metrics.
    fn output(&self, batch: &GanBatch, d: mm_generate::text_to_image::DiscriminatorLoss, g_loss: Tensor<1>) -> StepOutput {
        let [n, _, _, _] = batch.pictures.dims();
        let mut out = StepOutput::loss(d.loss.clone().detach() + g_loss.clone().detach(), n)
            .with_metric("d_loss", d.loss.detach() * n as f32)
            .with_metric("g_loss", g_loss.detach() * n as f32)
            .with_metric("d_real", d.real.detach().sum())
            .with_metric("d_fake", d.fake.detach().sum());
        if let Some(wrong) = d.wrong {
            out = out.with_metric("d_wrong", wrong.detach().sum());
        }
        out
    }

    fn interpolated(&self, batch: &GanBatch) -> Option<(Tensor<4>, Tensor<2>)> {
        self.gan.variant().interpolates().then(|| {
            let texts = interpolated_texts(batch.text.clone());
            let [n, _] = texts.dims();
            (self.gan.generator.forward(texts.clone(), self.noise(n, &texts.device())), texts)
        })
    }
}

impl Learner for TextToImageModel {
    type Batch = GanBatch;

    /// The GAN alternates two optimisers in its own step, which data-parallel training does not split.
    fn data_parallel() -> bool {
        false
    }

    /// Both losses without a step (noise from the device's generator).
    fn objective(&self, batch: &GanBatch) -> StepOutput {
        let [n, _, _, _] = batch.pictures.dims();
        let fake = self.gan.generator.forward(batch.text.clone(), self.noise(n, &batch.text.device()));
        let d = self.gan.discriminator_loss(batch.pictures.clone(), batch.text.clone(), batch.wrong.clone(), fake.clone().detach());
        let g_loss = self.gan.generator_loss(fake, batch.text.clone(), self.interpolated(batch));
        self.output(batch, d, g_loss)
    }

    fn optimizer_names() -> &'static [&'static str] {
        &["generator", "discriminator"]
    }

    /// One discriminator step on real, wrong and generated pairs, then one generator step against the updated
    /// discriminator, on the same generated pictures (and, with INT, pictures of interpolated texts).
    fn train_step(mut self, batch: &GanBatch, optimizers: &mut Optimizers) -> (Self, StepOutput) {
        let [n, _, _, _] = batch.pictures.dims();
        let fake = self.gan.generator.forward(batch.text.clone(), self.noise(n, &batch.text.device()));
        let d = self.gan.discriminator_loss(batch.pictures.clone(), batch.text.clone(), batch.wrong.clone(), fake.clone().detach());
        let grads = GradientsParams::from_grads(d.loss.backward(), &self.gan.discriminator);
        self.gan.discriminator = optimizers.step("discriminator", self.gan.discriminator, grads, 1.0);
        let g_loss = self.gan.generator_loss(fake, batch.text.clone(), self.interpolated(batch));
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.gan.generator);
        self.gan.generator = optimizers.step("generator", self.gan.generator, grads, 1.0);
        let output = self.output(batch, d, g_loss);
        (self, output)
    }
}

impl Task for TextToImage {
    const NAME: &'static str = "text-to-image";
    type Config = TextToImageConfig;
    type Item = GanItem;
    type Model = TextToImageModel;

    fn train_config(config: &TextToImageConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut TextToImageConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// Shapes scenes: the test scenes drawn from `seed` (their captions embedded by the run's text encoder when
    /// the test is read); MNIST's test pictures and sentences are fixed.
    fn with_test_seed(config: &TextToImageConfig, seed: u64) -> Option<TextToImageConfig> {
        config.source.with_test_seed(seed).map(|source| TextToImageConfig { source, ..config.clone() })
    }

    fn pretrained_runs(config: &mut TextToImageConfig) -> Vec<&mut PathBuf> {
        vec![&mut config.text_encoder, &mut config.judge]
    }

    fn inputs(config: &TextToImageConfig) -> Vec<PathBuf> {
        [&config.text_encoder, &config.judge].iter().flat_map(|run| [run.join(CONFIG_FILE), run.join(MODEL_FILE)]).collect()
    }

    /// Embeds every text of the source with the frozen text encoder (`prepared/texts.json`), after checking
    /// that the judge is not the text encoder's image encoder.
    fn prepare(config: &TextToImageConfig, context: &Context) -> Result<(), RunError> {
        config.feature_run()?;
        let device = Device::flex();
        let (encoder_config, model, tokenizer) = load_text_embedding(&config.text_encoder, &device)?;
        if encoder_config.source != config.source {
            return Err(RunError::setting(
                "text_encoder",
                format!("{}: trained on {:?}, this run's source is {:?}", config.text_encoder.display(), encoder_config.source, config.source),
            ));
        }
        let texts = config.source.texts(config.gan.image_size as u32)?;
        let strings: Vec<&str> = texts.iter().map(|t| t.text.as_str()).collect();
        let embeddings = embed_sentences(&model, &tokenizer, &strings, encoder_config.max_len, &device)?;
        let table = CaptionEmbeddings::new(texts, embeddings);
        write_atomically(&context.prepared().join(TEXTS_FILE), serde_json::to_string(&table).expect("embeddings").as_bytes())
    }

    fn dataset(config: &TextToImageConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<GanItem>>, RunError> {
        let mut texts = CaptionEmbeddings::load(context)?;
        if split == Split::Test {
            texts = with_current_test_texts(config, texts)?;
        }
        let texts = Arc::new(texts);
        let pictures = match &config.source {
            CaptionSource::Mnist => GanPictures::Mnist { pictures: mnist_split(&context.root, config.validation, split)?, side: config.gan.image_size },
            CaptionSource::Shapes(scenes) => {
                let (world, count) = scenes.scenes(split, config.gan.image_size as u32)?;
                GanPictures::Shapes { world, count, side: config.gan.image_size as u32 }
            }
        };
        Ok(Arc::new(GanItems { pictures, role: TextRole::of(split), training: Arc::new(texts.rows(TextRole::Training)), texts }))
    }

    fn batcher(config: &TextToImageConfig) -> Arc<dyn Batcher<GanItem, GanBatch>> {
        Arc::new(GanBatcher { channels: config.source.channels(), side: config.gan.image_size })
    }

    fn model(config: &TextToImageConfig, device: &Device) -> Result<TextToImageModel, RunError> {
        let too_small = config.source == CaptionSource::Mnist && config.gan.image_size < 28;
        if too_small || config.captions_averaged == 0 || config.validation_samples == 0 || config.test_samples < 2 {
            return Err(RunError::setting(
                "image_size, captions_averaged, validation_samples, test_samples",
                format!(
                    "image_size {} must hold MNIST's 28 × 28, captions_averaged {} and validation_samples {} be positive, test_samples {} at least 2",
                    config.gan.image_size, config.captions_averaged, config.validation_samples, config.test_samples
                ),
            ));
        }
        let gan = config.gan(config.d_text()?).init(device).map_err(|e| RunError::bad_setting(e.setting, e.value, e.why))?;
        Ok(TextToImageModel { gan })
    }

    fn optimizers(config: &TextToImageConfig) -> Vec<(String, OptimizerSettings, f64)> {
        ["generator", "discriminator"].iter().map(|name| (name.to_string(), config.train.optimizer.clone(), config.train.lr)).collect()
    }

    /// A training picture's text: the mean of `captions_averaged` of its group's training texts; the wrong
    /// text: a training text of another group.
    fn augment(config: &TextToImageConfig, item: &mut GanItem, rng: &mut ChaCha8Rng) {
        item.draw(config.captions_averaged, rng);
    }

    fn selection(_config: &TextToImageConfig) -> Selection {
        Selection::lowest("fid")
    }

    /// Consistency and FID of generated pictures against the validation pictures: MNIST from each validation
    /// sentence (the validation templates'); shapes from each validation scene's caption.
    fn validate(
        config: &TextToImageConfig,
        context: &Context,
        model: &TextToImageModel,
        loader: &Loader<GanItem, GanBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        match config.source {
            CaptionSource::Mnist => report::validation_scores(config, context, model, loader, device),
            CaptionSource::Shapes(_) => shapes_report::validation_scores(config, model, loader, device),
        }
    }

    /// The test report (`text_to_image.json`) and the pictures.
    fn evaluate(
        config: &TextToImageConfig,
        context: &Context,
        model: &TextToImageModel,
        loader: &Loader<GanItem, GanBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        match config.source {
            CaptionSource::Mnist => report::evaluate(config, context, model, loader, device),
            CaptionSource::Shapes(_) => shapes_report::evaluate(config, context, model, loader, device),
        }
    }
}
