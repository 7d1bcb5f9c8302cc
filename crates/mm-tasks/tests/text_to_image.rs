//! Text to image end to end on tiny settings and the real MNIST beside the checkout: a small mnist encoder, then
//! the text encoder matched to it, then GAN-INT-CLS through the runner's two-optimiser step, judged by a second
//! mnist encoder trained apart (the anchor itself is refused as judge). A run interrupted after one epoch and
//! resumed ends with exactly the weights of an uninterrupted one (both networks, both Adam states and the noise
//! stream come back); the report and the pictures are written; `generate`'s library call draws any text; bad
//! settings are typed errors; a GAN trained a little longer draws the digits of test sentences it never saw
//! well above chance, at an FID far below an untrained generator's. What the GAN reaches at full size is in
//! docs/RESULTS.md.

mod common;

use std::path::Path;

use common::{shared_data, tiny_mnist_encoder, tiny_mnist_encoder_of_seed};
use mm_generate::text_to_image::GanVariant;
use mm_tasks::data::DataRoot;
use mm_tasks::runner::{MODEL_FILE, Reading, RunDir, Span, Split, Task, eval_run, train_task};
use mm_tasks::translating::text_to_image::generate::{pictures_of_text, save_pictures};
use mm_tasks::translating::text_to_image::report::{REPORT_FILE, TextToImageReport};
use mm_tasks::translating::text_to_image::text_embedding::{TextEmbedding, TextEmbeddingConfig};
use mm_tasks::translating::text_to_image::{TextToImage, TextToImageConfig};

fn text_encoder(runs: &Path, root: &DataRoot, mnist: &Path) -> std::path::PathBuf {
    let mut config = TextEmbeddingConfig {
        image_encoder: mnist.to_path_buf(),
        text: TextEmbeddingConfig::default().text.with_d_embed(8).with_d_hidden(16).with_d_text(16),
        ..Default::default()
    };
    config.train.epochs = 3;
    config.train.limit = Some(8192);
    let run = RunDir::create(runs, TextEmbedding::NAME, 0).unwrap();
    let trained = train_task::<TextEmbedding>(&config, root, &run, Span::WHOLE).unwrap();
    let scores = trained.evaluation.unwrap();
    assert!((0.0..=1.0).contains(&scores["picture_to_text_r1"]) && (0.05..0.2).contains(&scores["picture_to_text_chance"]), "{scores:?}");
    run.path().to_path_buf()
}

/// Every parameter and running statistic of a finished run's networks, in visit order (the file's own byte
/// order is not fixed: safetensors' header lists the tensors in hash-map order).
fn weights(run: &Path) -> Vec<f32> {
    use burn::module::{Module, ModuleVisitor, Param};
    struct Values(Vec<f32>);
    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<burn::tensor::Tensor<D>>) {
            self.0.extend(param.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap());
        }
    }
    let (_, model) = mm_tasks::runner::load_model::<TextToImage>(run, &burn::tensor::Device::flex()).unwrap();
    let mut values = Values(Vec::new());
    model.visit(&mut values);
    assert!(run.join(MODEL_FILE).exists() && !values.0.is_empty());
    values.0
}

fn tiny_gan(text_encoder: &Path, judge: &Path) -> TextToImageConfig {
    let mut config = TextToImageConfig {
        text_encoder: text_encoder.to_path_buf(),
        judge: judge.to_path_buf(),
        gan: TextToImageConfig::default().gan.with_d_compressed(8).with_d_noise(8).with_generator_width(4).with_discriminator_width(4),
        captions_averaged: 2,
        validation_samples: 4,
        test_samples: 6,
        ..Default::default()
    };
    config.train.epochs = 2;
    config.train.batch_size = 32;
    config.train.limit = Some(128);
    config.train.checkpoint_every = 3;
    config
}

#[test]
fn text_to_image_trains_resumes_reports_and_draws() {
    let Some(root) = shared_data() else { return };
    let _turn = common::turn();
    let dir = tempfile::tempdir().unwrap();
    let mnist = tiny_mnist_encoder(dir.path(), &root);
    let encoder = text_encoder(dir.path(), &root, &mnist);
    let judge = tiny_mnist_encoder_of_seed(&dir.path().join("judge"), &root, 1);
    let config = tiny_gan(&encoder, &judge);

    // The text encoder's own image encoder gives FID's features and anchors the texts: it may not judge.
    let anchored = RunDir::create(&dir.path().join("anchored"), TextToImage::NAME, 0).unwrap();
    let error = train_task::<TextToImage>(&tiny_gan(&encoder, &mnist), &root, &anchored, Span::WHOLE).unwrap_err().to_string();
    assert!(error.contains("judge") && error.contains("image encoder"), "{error}");

    let whole = RunDir::create(&dir.path().join("whole"), TextToImage::NAME, 0).unwrap();
    let trained = train_task::<TextToImage>(&config, &root, &whole, Span::WHOLE).unwrap();
    let scores = trained.evaluation.unwrap();
    for key in ["consistency", "consistency_interval", "fid", "fid_real_floor", "fid_untrained", "diversity_ratio"] {
        assert!(scores[key].is_finite(), "{key}: {scores:?}");
    }
    let history = &trained.outcome.history;
    for key in ["train_d_loss", "train_g_loss", "train_d_real", "train_d_wrong", "train_d_fake", "valid_fid", "valid_consistency"] {
        assert!(history.iter().all(|m| m.get(key).is_some_and(f64::is_finite)), "{key} in {history:?}");
    }
    let report: TextToImageReport = serde_json::from_str(&std::fs::read_to_string(whole.path().join(REPORT_FILE)).unwrap()).unwrap();
    assert_eq!((report.variant.as_str(), report.consistency_by_digit.len(), report.diversity.len()), ("GAN-INT-CLS", 10, 10));
    // The test sentences are the four test templates' (no "one more than the digit" of zero).
    assert_eq!((report.sentences.len(), report.consistency_by_template.len()), (39, 4));
    assert!(report.fid_real_floor >= 0.0 && report.features == mnist.display().to_string());
    for picture in ["samples.png", "style.png", "interpolation.png", "curves.png"] {
        assert!(whole.path().join(picture).exists(), "{picture}");
    }

    // Stopped after one epoch, then resumed: the same weights, byte for byte.
    let parts = RunDir::create(&dir.path().join("parts"), TextToImage::NAME, 0).unwrap();
    assert!(train_task::<TextToImage>(&config, &root, &parts, Span::first(1)).unwrap().evaluation.is_none());
    train_task::<TextToImage>(&config, &root, &parts, Span::REST).unwrap();
    assert!(weights(whole.path()) == weights(parts.path()), "a resumed GAN must end with the uninterrupted run's weights");

    // MNIST's test pictures and sentences are fixed: no seed redraws them.
    let fresh = Reading { test_seed: Some(4_099), ..Reading::of(Split::Test) };
    assert!(eval_run::<TextToImage>(whole.path(), &root, fresh).unwrap_err().to_string().contains("--test-seed"));

    // Any text; the grid and the pictures beside it.
    let device = burn::tensor::Device::flex();
    let (pictures, run_config) = pictures_of_text(whole.path(), "an odd digit with one loop", 5, 3, &device).unwrap();
    assert_eq!(pictures.len(), 5 * 32 * 32);
    assert!(pictures.iter().all(|v| (-1.0..=1.0).contains(v)));
    let grid = dir.path().join("grid.png");
    assert_eq!(save_pictures(&pictures, 1, run_config.gan.image_size, &grid).unwrap(), 5);
    let saved: ndarray::Array4<f32> = ndarray_npy::read_npy(grid.with_extension("npy")).unwrap();
    assert_eq!(saved.shape(), &[5, 1, 32, 32]);
    assert!(image::open(&grid).is_ok());
    assert!(pictures_of_text(whole.path(), "  ", 1, 0, &device).unwrap_err().to_string().contains("empty"));
    assert!(pictures_of_text(whole.path(), "seven", 200_000, 0, &device).unwrap_err().to_string().contains("--count = 200000"));
    // Many pictures: the grid is capped, the .npy keeps every one (and a grid without an extension is a PNG).
    let many = vec![0.5f32; 300 * 8 * 8];
    let bare = dir.path().join("many");
    assert_eq!(save_pictures(&many, 1, 8, &bare).unwrap(), 256);
    let saved: ndarray::Array4<f32> = ndarray_npy::read_npy(bare.with_extension("npy")).unwrap();
    assert_eq!(saved.shape(), &[300, 1, 8, 8]);
    assert!(
        image::open(&bare).is_err_and(|e| e.to_string().contains("format"))
            || image::ImageReader::open(&bare).unwrap().with_guessed_format().unwrap().format() == Some(image::ImageFormat::Png)
    );

    // Settings that cannot work are refused by name.
    let device = burn::tensor::Device::flex();
    let mut small = tiny_gan(&encoder, &judge);
    small.gan.image_size = 16;
    assert!(TextToImage::model(&small, &device).unwrap_err().to_string().contains("image_size"));
    let mut odd = tiny_gan(&encoder, &judge);
    (odd.gan.image_size, odd.gan.variant) = (48, GanVariant::Gan);
    assert!(TextToImage::model(&odd, &device).unwrap_err().to_string().contains("power of two"));
    let missing = TextToImageConfig { text_encoder: dir.path().join("nowhere"), ..tiny_gan(&encoder, &judge) };
    assert!(TextToImage::model(&missing, &device).unwrap_err().to_string().contains("nowhere"));

    // Learning: a wider GAN on more pictures draws the digits of test sentences (new templates) well above
    // chance (0.1) and an untrained generator, and far nearer the real pictures; a network that stops learning
    // stays at chance (the two-epoch GAN above: 0.10).
    let mut learning = TextToImageConfig { validation_samples: 8, test_samples: 40, ..tiny_gan(&encoder, &judge) };
    learning.gan = learning.gan.with_d_compressed(16).with_d_noise(16).with_generator_width(16).with_discriminator_width(16);
    (learning.train.epochs, learning.train.limit, learning.train.batch_size, learning.train.lr) = (6, Some(6400), 64, 1e-3);
    let run = RunDir::create(&dir.path().join("learning"), TextToImage::NAME, 0).unwrap();
    let scores = train_task::<TextToImage>(&learning, &root, &run, Span::WHOLE).unwrap().evaluation.unwrap();
    eprintln!("learning: {scores:?}");
    assert!(scores["consistency"] > 0.2 && scores["consistency"] > scores["consistency_untrained"] + 0.1, "{scores:?}");
    assert!(scores["fid"] < 0.5 * scores["fid_untrained"], "{scores:?}");
}

#[test]
fn shapes_scenes_train_and_report_with_the_describer_as_judge() {
    use mm_tasks::translating::text_to_image::shapes_report::ShapesTextToImageReport;
    use mm_tasks::translating::text_to_image::sources::{CaptionSource, ShapesCaptions};
    let _turn = common::turn();
    let dir = tempfile::tempdir().unwrap();
    let root = DataRoot::at(dir.path());
    let describer = common::tiny_shapes_encoder(dir.path(), &root, 64, 1);
    let judge = common::tiny_shapes_encoder_of_seed(&dir.path().join("judge"), &root, 64, 1, 1);
    // The configs name the source as a user writes it.
    let source: CaptionSource =
        toml::from_str::<toml::Table>("source = { kind = \"shapes\", objects = 2, train_scenes = 96, valid_scenes = 16, test_scenes = 24 }").unwrap()["source"]
            .clone()
            .try_into()
            .unwrap();
    assert_eq!(source, CaptionSource::Shapes(ShapesCaptions { objects: 2, train_scenes: 96, valid_scenes: 16, test_scenes: 24, ..Default::default() }));

    let mut embedding = TextEmbeddingConfig {
        source: source.clone(),
        image_encoder: describer.clone(),
        text: TextEmbeddingConfig::default().text.with_d_embed(8).with_d_hidden(16).with_d_text(16),
        ..Default::default()
    };
    embedding.train.epochs = 1;
    embedding.train.batch_size = 32;
    let run = RunDir::create(dir.path(), TextEmbedding::NAME, 0).unwrap();
    let scores = train_task::<TextEmbedding>(&embedding, &root, &run, Span::WHOLE).unwrap().evaluation.unwrap();
    assert!(scores["picture_to_text_chance"] < 0.2 && scores["picture_to_text_r1"].is_finite(), "{scores:?}");

    let mut config = TextToImageConfig { source, test_samples: 2, ..tiny_gan(run.path(), &judge) };
    config.gan.image_size = 64;
    config.train.limit = None;
    config.train.epochs = 1;
    let gan = RunDir::create(&dir.path().join("gan"), TextToImage::NAME, 0).unwrap();
    let scores = train_task::<TextToImage>(&config, &root, &gan, Span::WHOLE).unwrap().evaluation.unwrap();
    for key in ["consistency", "colour", "shape", "size", "judge_on_real", "fid", "fid_real_floor"] {
        assert!(scores[key].is_finite(), "{key}: {scores:?}");
    }
    let report: ShapesTextToImageReport = serde_json::from_str(&std::fs::read_to_string(gan.path().join(REPORT_FILE)).unwrap()).unwrap();
    assert_eq!((report.objects, report.scenes, report.samples_per_scene), (2, 24, 2));
    assert!(report.diversity_ratio.is_none() || report.diversity.iter().all(|d| d.real_scenes >= 5));
    assert!(gan.path().join("samples.png").exists() && gan.path().join("interpolation.png").exists());
    // Fresh test scenes: their captions, which the run never prepared, are embedded when the test is read.
    let fresh = Reading { test_seed: Some(4_099), ..Reading::of(Split::Test) };
    let again = eval_run::<TextToImage>(gan.path(), &root, fresh).unwrap();
    let redrawn: ShapesTextToImageReport =
        serde_json::from_str(&std::fs::read_to_string(gan.path().join("test-seed-4099").join(REPORT_FILE)).unwrap()).unwrap();
    assert!(again["consistency"].is_finite() && redrawn.scenes == 24, "{again:?}");
    let (pictures, _) = pictures_of_text(gan.path(), "a large red circle left of a small blue square", 2, 0, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(pictures.len(), 2 * 3 * 64 * 64);

    // A text encoder of another source is refused by name.
    let mnist_source = TextToImageConfig { source: CaptionSource::Mnist, ..config.clone() };
    let elsewhere = RunDir::create(&dir.path().join("other"), TextToImage::NAME, 0).unwrap();
    let error = train_task::<TextToImage>(&mnist_source, &root, &elsewhere, Span::WHOLE).unwrap_err().to_string();
    assert!(error.contains("text_encoder") && error.contains("source"), "{error}");
}

#[test]
fn the_text_to_image_configs_parse() {
    use mm_tasks::translating::text_to_image::sources::CaptionSource;
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let gan = |name: &str| -> TextToImageConfig { mm_tasks::runner::load_config(&configs.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")) };
    let text = |name: &str| -> TextEmbeddingConfig { mm_tasks::runner::load_config(&configs.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")) };
    for (name, variant) in
        [("text-to-image-gan.toml", GanVariant::Gan), ("text-to-image-gan-cls.toml", GanVariant::GanCls), ("text-to-image-gan-int.toml", GanVariant::GanInt)]
    {
        assert_eq!(gan(name).gan.variant, variant, "{name}");
    }
    for (gan_name, text_name, objects) in
        [("text-to-image-shapes.toml", "text-embedding-shapes.toml", 1), ("text-to-image-shapes-two.toml", "text-embedding-shapes-two.toml", 2)]
    {
        let (g, t) = (gan(gan_name), text(text_name));
        assert_eq!(g.source, t.source, "{gan_name} and {text_name} read the same scenes");
        assert!(matches!(g.source, CaptionSource::Shapes(s) if s.objects == objects) && g.gan.image_size == 64 && g.gan.variant == GanVariant::GanIntCls);
    }
}
