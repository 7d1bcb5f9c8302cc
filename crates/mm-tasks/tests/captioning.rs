//! The two captioners end to end on tiny settings (no data files: the shapes world): a small shapes encoder, then
//! Show and Tell and Show, Attend and Tell train, resume to the same result, evaluate (BLEU, CIDEr-D,
//! truthfulness, grounding, attention pictures), caption a picture, and refuse bad settings with typed errors.
//! COCO's path runs on the real coco_mini beside the checkout, in its own layout and by a Karpathy split file.
//! What they reach at full size is measured by `cargo xtask train show-and-tell|show-attend-tell`
//! (docs/RESULTS.md).

mod common;

use std::path::Path;

use mm_generate::decoding::BeamSearchConfig;
use mm_tasks::data::shapes::SceneSplits;
use mm_tasks::data::shapes::{ShapesConfig, ShapesWorld, render};
use mm_tasks::data::{DataError, DataRoot};
use mm_tasks::runner::{RunDir, RunError, Span, TrainConfig, load_model, train_task};
use mm_tasks::translating::captions::{CaptionReport, CaptionSettings, CaptionSource, CocoSplits, PretrainedImageEncoder, REPORT_FILE, caption_picture};
use mm_tasks::translating::show_and_tell::{ShowAndTellTask, ShowAndTellTaskConfig};
use mm_tasks::translating::show_attend_tell::{ShowAttendTellTask, ShowAttendTellTaskConfig};

fn settings(encoder: &Path) -> CaptionSettings {
    CaptionSettings {
        encoder: PretrainedImageEncoder::Shapes { run: encoder.into() },
        source: CaptionSource::Shapes(SceneSplits { train_scenes: 768, valid_scenes: 32, test_scenes: 48, train_seed: 30, valid_seed: 32, test_seed: 31 }),
        beam: BeamSearchConfig { width: 2, max_len: 32, length_normalisation: 0.0 },
        ..Default::default()
    }
}

fn train(epochs: usize) -> TrainConfig {
    let mut train = TrainConfig { epochs, batch_size: 32, lr: 1e-2, ..TrainConfig::default() };
    train.module_lr.insert("encoder".into(), 0.0);
    train
}

fn report(run: &Path) -> CaptionReport {
    serde_json::from_slice(&std::fs::read(run.join(REPORT_FILE)).unwrap()).unwrap()
}

#[test]
fn both_captioners_train_resume_evaluate_and_caption() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let encoder = common::tiny_shapes_encoder(dir.path(), &root, 512, 2);

    // Show and Tell: three epochs learn the grammar's shape well beyond the constant caption.
    let config = ShowAndTellTaskConfig {
        captions: settings(&encoder),
        decoder: ShowAndTellTaskConfig::default().decoder.with_d_embed(32).with_d_hidden(64),
        train: train(3),
    };
    let run = RunDir::create(dir.path(), "show-and-tell", 0).unwrap();
    let trained = train_task::<ShowAndTellTask>(&config, &root, &run, Span::WHOLE).unwrap();
    let scores = trained.evaluation.unwrap();
    let tell = report(run.path());
    assert_eq!(tell.greedy.all.scenes, 48);
    assert!(
        tell.greedy.all.bleu[0] > tell.baseline.all.bleu[0] + 0.2,
        "BLEU-1 {:?} vs the constant caption's {:?}",
        tell.greedy.all.bleu,
        tell.baseline.all.bleu
    );
    assert!(tell.beam.all.parsed.unwrap() > 0.3, "beam captions mostly follow the grammar: {:?}", tell.beam.all.parsed);
    assert!((scores["beam_bleu4"] - tell.beam.all.bleu[3]).abs() < 1e-12);
    assert_eq!(tell.greedy.by_objects.values().map(|g| g.scenes).sum::<usize>(), 48);

    // Interrupted after one epoch and resumed: the same weights and report as the uninterrupted run.
    let resumed = RunDir::create(dir.path(), "show-and-tell", 1).unwrap();
    assert!(train_task::<ShowAndTellTask>(&config, &root, &resumed, Span::first(1)).unwrap().evaluation.is_none());
    let resumed = RunDir::open(resumed.path()).unwrap();
    train_task::<ShowAndTellTask>(&config, &root, &resumed, Span::REST).unwrap();
    assert_eq!(
        report(resumed.path()).beam.examples.iter().map(|e| e.caption.clone()).collect::<Vec<_>>(),
        tell.beam.examples.iter().map(|e| e.caption.clone()).collect::<Vec<_>>()
    );
    let scores_of = |run: &Path| std::fs::read_to_string(run.join("evaluation.json")).unwrap();
    assert_eq!(scores_of(resumed.path()), scores_of(run.path()));

    // The encoder stayed frozen: it maps a picture exactly as the shapes run's does (batch norm included).
    let device = burn::tensor::Device::flex();
    let (_, captioner) = load_model::<ShowAndTellTask>(run.path(), &device).unwrap();
    let gap = common::drift_from_shapes_run(&encoder)(&captioner.encoder);
    assert!(gap < 1e-6, "the frozen encoder moved by {gap}");

    // A picture from outside the data set: the caption of a fresh scene.
    let scene = ShapesWorld::new(ShapesConfig::default(), 777).scene(0);
    let picture = render(&scene.objects, 64);
    let (caption, _, scaled) = caption_picture::<ShowAndTellTask>(run.path(), &picture, &BeamSearchConfig::greedy(32), &device).unwrap();
    assert!(!caption.caption.is_empty() && caption.words.len() == caption.tokens.len());
    assert_eq!(scaled.dimensions(), (32, 32));

    // Show, Attend and Tell: the same report, and where its attention falls.
    let config = ShowAttendTellTaskConfig {
        captions: settings(&encoder),
        decoder: ShowAttendTellTaskConfig::default().decoder.with_d_embed(32).with_d_hidden(64).with_d_attention(32),
        train: train(3),
        ..Default::default()
    };
    let run = RunDir::create(dir.path(), "show-attend-tell", 0).unwrap();
    let scores = train_task::<ShowAttendTellTask>(&config, &root, &run, Span::WHOLE).unwrap().evaluation.unwrap();
    let attend = report(run.path());
    assert!(attend.greedy.all.bleu[0] > attend.baseline.all.bleu[0] + 0.2, "BLEU-1 {:?} vs {:?}", attend.greedy.all.bleu, attend.baseline.all.bleu);
    let grounding: serde_json::Value = serde_json::from_slice(&std::fs::read(run.path().join("grounding.json")).unwrap()).unwrap();
    assert!((grounding["grounded"].as_f64().unwrap() - scores["grounded"]).abs() < 1e-12);
    assert!(grounding["chance"].as_f64().unwrap() < 0.2 || grounding["words"] == 0, "{grounding}");
    for i in 0..4 {
        assert!(run.path().join(format!("attention/scene-{i}.png")).exists());
    }

    // Typed errors: a vocabulary narrower than the tokenizer's, a test seed reused for training, no encoder run.
    let narrow = ShowAndTellTaskConfig { captions: CaptionSettings { vocab_size: 10, ..settings(&encoder) }, train: train(1), ..Default::default() };
    assert!(matches!(
        train_task::<ShowAndTellTask>(&narrow, &root, &RunDir::create(dir.path(), "show-and-tell", 7).unwrap(), Span::WHOLE),
        Err(RunError::BadSetting { name, .. }) if name == "captions.vocab_size"
    ));
    let mut reused = settings(&encoder);
    reused.source = CaptionSource::Shapes(SceneSplits { train_scenes: 8, valid_scenes: 8, test_scenes: 8, train_seed: 1, valid_seed: 2, test_seed: 1 });
    let reused = ShowAndTellTaskConfig { captions: reused, train: train(1), ..Default::default() };
    assert!(matches!(
        train_task::<ShowAndTellTask>(&reused, &root, &RunDir::create(dir.path(), "show-and-tell", 8).unwrap(), Span::WHOLE),
        Err(RunError::Data(DataError::BadSetting { .. }))
    ));
    let missing = ShowAndTellTaskConfig { captions: settings(&dir.path().join("no-such-run")), train: train(1), ..Default::default() };
    let error = train_task::<ShowAndTellTask>(&missing, &root, &RunDir::create(dir.path(), "show-and-tell", 9).unwrap(), Span::WHOLE).unwrap_err();
    assert!(error.to_string().contains("no-such-run"), "{error}");
}

/// A torchvision encoder (a ResNet-18 here with burn's initial weights, saved as `import-torchvision` saves an
/// imported one): the captioner reads its weights file, feeds it ImageNet-normalised pictures of its side, keeps
/// it frozen, and attends over its map.
#[test]
fn a_torchvision_encoder_sees_the_pictures() {
    let _turn = common::turn();
    use mm_vision::torchvision::{TorchvisionArchitecture, TorchvisionConfig, save_weights};
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let device = burn::tensor::Device::flex();
    let weights = dir.path().join("resnet18.safetensors");
    save_weights(&TorchvisionConfig::new(TorchvisionArchitecture::ResNet18).init(&device), &weights).unwrap();
    let encoder = PretrainedImageEncoder::Torchvision { architecture: TorchvisionArchitecture::ResNet18, weights: weights.clone(), side: 64 };
    let captions = CaptionSettings {
        encoder,
        source: CaptionSource::Shapes(SceneSplits { train_scenes: 64, valid_scenes: 8, test_scenes: 8, train_seed: 30, valid_seed: 32, test_seed: 31 }),
        beam: BeamSearchConfig { width: 2, max_len: 32, length_normalisation: 0.0 },
        ..Default::default()
    };
    let config = ShowAttendTellTaskConfig {
        captions: captions.clone(),
        decoder: ShowAttendTellTaskConfig::default().decoder.with_d_embed(16).with_d_hidden(32).with_d_attention(16),
        train: train(1),
        ..Default::default()
    };
    let run = RunDir::create(dir.path(), "show-attend-tell", 0).unwrap();
    train_task::<ShowAttendTellTask>(&config, &root, &run, Span::WHOLE).unwrap();
    assert!(report(run.path()).beam.all.bleu[0].is_finite());

    let (_, captioner) = load_model::<ShowAttendTellTask>(run.path(), &device).unwrap();
    let mut original = TorchvisionConfig::new(TorchvisionArchitecture::ResNet18).init(&device);
    mm_vision::torchvision::load_weights(&mut original, &weights).unwrap();
    let x = burn::tensor::Tensor::<4>::random([1, 3, 64, 64], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let gap: f32 = (captioner.encoder.forward(x.clone()).features - original.encode(x.clone()).features).abs().max().into_scalar();
    assert!(gap < 1e-6, "the frozen torchvision encoder moved by {gap}");
    assert_eq!(captioner.annotations(x).1, [2, 2], "ResNet-18 maps a 64-pixel picture to 2 × 2 places");
    let picture = render(&ShapesWorld::new(ShapesConfig::default(), 777).scene(0).objects, 100);
    let (_, _, scaled) = caption_picture::<ShowAttendTellTask>(run.path(), &picture, &BeamSearchConfig::greedy(32), &device).unwrap();
    assert_eq!(scaled.dimensions(), (64, 64));

    // Weights of another network are a typed error naming the file.
    let wrong =
        CaptionSettings { encoder: PretrainedImageEncoder::Torchvision { architecture: TorchvisionArchitecture::ResNet50, weights, side: 64 }, ..captions };
    let config = ShowAttendTellTaskConfig { captions: wrong, train: train(1), ..Default::default() };
    let error = train_task::<ShowAttendTellTask>(&config, &root, &RunDir::create(dir.path(), "show-attend-tell", 1).unwrap(), Span::WHOLE).unwrap_err();
    assert!(error.to_string().contains("resnet18.safetensors"), "{error}");
}

/// COCO in its own layout (coco_mini: train2017 trains, val2017 is cut into validation and test) and by a
/// Karpathy split file: pictures streamed from disk, five references each, no truthfulness (photographs have no
/// grammar).
#[test]
fn captioners_train_on_coco_in_its_own_layout() {
    let _turn = common::turn();
    let Some(root) = common::shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let encoder = common::tiny_shapes_encoder(dir.path(), &root, 512, 2);
    let coco = |splits: CocoSplits| CaptionSettings {
        encoder: PretrainedImageEncoder::Shapes { run: encoder.clone() },
        source: CaptionSource::Coco(splits),
        tokenizer: mm_text::tokenizer::TokenizerConfig { vocab_size: 1500, ..Default::default() },
        vocab_size: 1500,
        max_len: 24,
        beam: BeamSearchConfig { width: 2, max_len: 24, length_normalisation: 0.0 },
    };
    let config = ShowAndTellTaskConfig {
        captions: coco(CocoSplits::default()),
        decoder: ShowAndTellTaskConfig::default().decoder.with_d_embed(16).with_d_hidden(32),
        train: train(1),
    };
    let run = RunDir::create(dir.path(), "show-and-tell", 0).unwrap();
    let trained = train_task::<ShowAndTellTask>(&config, &root, &run, Span::WHOLE).unwrap();
    assert!(trained.evaluation.unwrap()["bleu4"].is_finite());
    let coco_report = report(run.path());
    // 79 val2017 pictures: the first 40 validate, 39 test; each scored against its five references.
    assert_eq!(coco_report.greedy.all.scenes, 39);
    assert!(coco_report.greedy.by_objects.is_empty() && coco_report.greedy.all.truthful.is_none());
    assert!(coco_report.baseline.all.bleu[0] > 0.0, "the most frequent training caption shares words with the references");

    // The same pictures by a Karpathy split file: train and restval train, val validates, test tests.
    let images = mm_vision::coco::CocoCaptions::open(root.dataset(mm_tasks::data::Dataset::CocoMini).unwrap(), "val2017").unwrap().images;
    let entry = |i: usize, split: &str| {
        let image = &images[i];
        let sentences: Vec<_> = image.captions.iter().map(|c| serde_json::json!({ "raw": c })).collect();
        serde_json::json!({ "filepath": "val2017", "filename": image.path.file_name().unwrap().to_str().unwrap(), "split": split, "sentences": sentences, "cocoid": image.id })
    };
    let splits = ["train", "restval", "train", "val", "val", "test", "test", "test"];
    let karpathy = dir.path().join("dataset_coco.json");
    std::fs::write(
        &karpathy,
        serde_json::to_vec(&serde_json::json!({ "images": splits.iter().enumerate().map(|(i, s)| entry(i, s)).collect::<Vec<_>>() })).unwrap(),
    )
    .unwrap();
    let config = ShowAndTellTaskConfig {
        captions: coco(CocoSplits { karpathy: Some(karpathy.clone()), ..Default::default() }),
        decoder: ShowAndTellTaskConfig::default().decoder.with_d_embed(16).with_d_hidden(32),
        train: train(1),
    };
    let run = RunDir::create(dir.path(), "show-and-tell", 1).unwrap();
    train_task::<ShowAndTellTask>(&config, &root, &run, Span::WHOLE).unwrap();
    assert_eq!(report(run.path()).greedy.all.scenes, 3);
    // A split file whose test pictures are missing fails before the first step, not after the whole training.
    let mut listed: Vec<serde_json::Value> = splits.iter().enumerate().map(|(i, s)| entry(i, s)).collect();
    for image in listed.iter_mut().filter(|image| image["split"] == "test") {
        image["filename"] = serde_json::json!("missing-test.jpg");
    }
    std::fs::write(&karpathy, serde_json::to_vec(&serde_json::json!({ "images": listed })).unwrap()).unwrap();
    let late = RunDir::create(dir.path(), "show-and-tell", 3).unwrap();
    let error = train_task::<ShowAndTellTask>(&config, &root, &late, Span::WHOLE).unwrap_err();
    assert!(error.to_string().contains("missing-test.jpg"), "{error}");
    assert!(!late.path().join("checkpoints").exists() && !late.path().join(mm_tasks::runner::METRICS_FILE).exists(), "nothing was trained");
    // A split file that names a missing picture is an error naming the picture.
    std::fs::write(&karpathy, r#"{"images":[{"filepath":"val2017","filename":"nope.jpg","split":"train","sentences":[{"raw":"a"}]},{"filepath":"val2017","filename":"nope.jpg","split":"val","sentences":[{"raw":"a"}]},{"filepath":"val2017","filename":"nope.jpg","split":"test","sentences":[{"raw":"a"}]}]}"#).unwrap();
    let error = train_task::<ShowAndTellTask>(&config, &root, &RunDir::create(dir.path(), "show-and-tell", 2).unwrap(), Span::WHOLE).unwrap_err();
    assert!(error.to_string().contains("nope.jpg"), "{error}");
}

/// Every captioning config in configs/ parses as its task's config (a misspelt key is an error, not a default).
#[test]
fn the_captioning_configs_parse() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("show-attend-tell") {
            mm_tasks::runner::load_config::<ShowAttendTellTaskConfig>(&path).unwrap_or_else(|e| panic!("{e}"));
        } else if name.starts_with("show-and-tell") {
            mm_tasks::runner::load_config::<ShowAndTellTaskConfig>(&path).unwrap_or_else(|e| panic!("{e}"));
        } else {
            continue;
        }
        seen += 1;
    }
    assert!(seen >= 5, "{seen} captioning configs");
    let resnet: ShowAttendTellTaskConfig = mm_tasks::runner::load_config(&configs.join("show-attend-tell-coco-resnet50.toml")).unwrap();
    assert!(matches!(resnet.captions.encoder, PretrainedImageEncoder::Torchvision { side: 224, .. }));
}

#[test]
fn a_captioner_fine_tunes_its_encoder_when_asked_and_keeps_it_frozen_otherwise() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let encoder = common::tiny_shapes_encoder(dir.path(), &root, 256, 1);
    let drift = common::drift_from_shapes_run(&encoder);
    let mut moved = Vec::new();
    for (seed, rate) in [(0, 0.0), (1, 1.0)] {
        let mut train = train(1);
        train.limit = Some(128);
        train.module_lr.insert("encoder".into(), rate);
        let config = ShowAttendTellTaskConfig {
            captions: settings(&encoder),
            decoder: ShowAttendTellTaskConfig::default().decoder.with_d_embed(16).with_d_hidden(32).with_d_attention(16),
            train,
            ..Default::default()
        };
        let run = RunDir::create(dir.path(), "show-attend-tell", seed).unwrap();
        train_task::<ShowAttendTellTask>(&config, &root, &run, Span::WHOLE).unwrap();
        let (_, model) = load_model::<ShowAttendTellTask>(run.path(), &burn::tensor::Device::flex()).unwrap();
        moved.push(drift(&model.encoder));
    }
    assert!(moved[0] < 1e-6, "the frozen encoder moved by {}", moved[0]);
    assert!(moved[1] > 1e-3, "the fine-tuned encoder stayed at {}", moved[1]);
}
