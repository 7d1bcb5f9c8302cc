//! VQA end to end on tiny settings: a small shapes encoder, then deeper LSTM Q + norm I, a baseline and stacked
//! attention train through the runner, resume to the same result, report the per-type table with the prior and
//! the compositional test, draw the attention, and answer a new picture. The VQA v2 path runs on a fixture in
//! VQA's own format over the real coco_mini pictures (questions made from COCO's instance annotations, ten
//! "human" answers each, not all agreeing). Bad files are refused by name. What the models reach at full size is
//! measured by `cargo xtask train vqa` (docs/RESULTS.md).

mod common;

use std::path::Path;

use mm_tasks::data::DataRoot;
use mm_tasks::data::shapes::{Colour, SceneSplits, Shape, ShapesConfig, ShapesWorld, render};
use mm_tasks::encoders::pretrained_image::PretrainedImageEncoder;
use mm_tasks::referencing::vqa::report::{ATTENTION_FILE, REPORT_FILE, VqaReport};
use mm_tasks::referencing::vqa::vqa_v2::{VqaV2Files, VqaV2Split};
use mm_tasks::referencing::vqa::{Combination, ShapesQuestions, Vqa, VqaSource, VqaTaskConfig, VqaVariant, answer_question};
use mm_tasks::runner::{RunDir, RunError, Span, TrainConfig, train_task};
use serde_json::json;

fn tiny(encoder: &Path, variant: VqaVariant, held_out: Vec<Combination>, epochs: usize) -> VqaTaskConfig {
    let mut train = TrainConfig { epochs, batch_size: 8, lr: 3e-3, ..TrainConfig::default() };
    train.module_lr.insert("encoder".into(), 0.0);
    VqaTaskConfig {
        source: VqaSource::Shapes(ShapesQuestions {
            scenes: SceneSplits { train_scenes: 1024, valid_scenes: 32, test_scenes: 48, train_seed: 40, valid_seed: 42, test_seed: 41 },
            held_out,
        }),
        encoder: PretrainedImageEncoder::Shapes { run: encoder.into() },
        net: VqaTaskConfig::default().net.with_variant(variant).with_d_embed(16).with_d_hidden(32).with_d_common(32).with_d_attention(16),
        train,
        ..Default::default()
    }
}

fn report(run: &Path) -> VqaReport {
    serde_json::from_slice(&std::fs::read(run.join(REPORT_FILE)).unwrap()).unwrap()
}

#[test]
fn the_models_train_resume_report_and_answer() {
    let _turn = common::turn();
    let root = DataRoot::at(std::env::temp_dir());
    let dir = tempfile::tempdir().unwrap();
    let encoder = common::tiny_shapes_encoder(dir.path(), &root, 1024, 3);
    let held_out = vec![Combination { colour: Colour::Red, shape: Shape::Circle }, Combination { colour: Colour::Blue, shape: Shape::Square }];

    // Deeper LSTM Q + norm I with a compositional split: a few epochs learn well beyond the per-type prior.
    let config = tiny(&encoder, VqaVariant::LstmNormI, held_out.clone(), 4);
    let run = RunDir::create(dir.path(), "vqa", 0).unwrap();
    let scores = train_task::<Vqa>(&config, &root, &run, Span::WHOLE).unwrap().evaluation.unwrap();
    let lstm = report(run.path());
    let lstm_run = run.clone();
    assert_eq!(lstm.splits.iter().map(|s| s.split.as_str()).collect::<Vec<_>>(), ["test", "compositional test"]);
    let test = &lstm.splits[0];
    assert_eq!(test.pictures, 48);
    assert!(test.model.overall > test.prior.overall, "{} vs the prior's {}", test.model.overall, test.prior.overall);
    assert!((scores["accuracy"] - test.model.overall).abs() < 1e-12);
    assert!((scores["compositional_accuracy"] - lstm.splits[1].model.overall).abs() < 1e-12);
    assert_eq!(test.model.by_answer_type.values().map(|t| t.questions).sum::<usize>(), test.questions);
    // The grammar repeats its sentences: most test questions were asked in training too.
    assert!(test.novel_questions < test.questions / 2, "{} of {}", test.novel_questions, test.questions);
    for kind in ["colour", "count", "existence", "shape"] {
        assert!(test.model.by_answer_type.contains_key(kind), "{kind} missing: {:?}", test.model.by_answer_type.keys());
    }
    // The runner's device-side accuracy (the credit of the top class) is the official one computed afterwards.
    let metrics = std::fs::read_to_string(run.path().join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("valid_accuracy"), "{metrics}");

    // Training and validation scenes hold none of the held-out combinations; every compositional scene does.
    let ShapesQuestions { scenes, .. } = match &config.source {
        VqaSource::Shapes(s) => s.clone(),
        VqaSource::VqaV2(_) => unreachable!(),
    };
    let set = config.question_set(mm_tasks::referencing::vqa::QuestionSplit::Runner(mm_tasks::runner::Split::Train)).unwrap();
    let compositional = config.question_set(mm_tasks::referencing::vqa::QuestionSplit::Compositional).unwrap();
    assert_eq!((set.pictures.len(), compositional.pictures.len()), (scenes.train_scenes, scenes.test_scenes));
    let held = |objects: Vec<mm_tasks::data::shapes::Object>| objects.iter().any(|o| held_out.iter().any(|c| c.colour == o.colour && c.shape == o.shape));
    assert!((0..set.pictures.len()).all(|p| !held(set.objects(p).unwrap())));
    assert!((0..compositional.pictures.len()).all(|p| held(compositional.objects(p).unwrap())));

    // Interrupted after one epoch and resumed: the same report as the uninterrupted run.
    let resumed = RunDir::create(dir.path(), "vqa", 1).unwrap();
    assert!(train_task::<Vqa>(&config, &root, &resumed, Span::first(1)).unwrap().evaluation.is_none());
    let resumed = RunDir::open(resumed.path()).unwrap();
    train_task::<Vqa>(&config, &root, &resumed, Span::REST).unwrap();
    assert_eq!(report(resumed.path()), lstm);

    // Fine-tuned, the encoder's weights move; frozen (`train.module_lr.encoder` 0), they stay.
    let device = burn::tensor::Device::flex();
    let drift = common::drift_from_shapes_run(&encoder);
    let moved = |run: &Path| -> f32 { drift(&mm_tasks::runner::load_model::<Vqa>(run, &device).unwrap().1.encoder) };
    assert!(moved(run.path()) < 1e-6, "the frozen encoder moved by {}", moved(run.path()));
    let mut tuned = tiny(&encoder, VqaVariant::LstmNormI, Vec::new(), 1);
    tuned.train.module_lr.insert("encoder".into(), 1.0);
    tuned.train.limit = Some(64);
    let tuned_run = RunDir::create(dir.path(), "vqa", 4).unwrap();
    train_task::<Vqa>(&tuned, &root, &tuned_run, Span::WHOLE).unwrap();
    assert!(moved(tuned_run.path()) > 1e-3, "the fine-tuned encoder stayed at {}", moved(tuned_run.path()));

    // Question only: the same LSTM without the picture cannot tell colours apart, nor count.
    let config = tiny(&encoder, VqaVariant::QuestionOnly, Vec::new(), 4);
    let run = RunDir::create(dir.path(), "vqa", 2).unwrap();
    train_task::<Vqa>(&config, &root, &run, Span::WHOLE).unwrap();
    let blind = report(run.path());
    let colour = |r: &VqaReport| r.splits[0].model.by_answer_type["colour"].accuracy;
    assert!(colour(&blind) < 0.4, "question-only colour accuracy {}", colour(&blind));
    // The picture moves the answers of the model that reads it, and not those of the one that does not.
    let world = ShapesWorld::new(ShapesConfig::default(), 778);
    let pictures = [render(&world.objects(0), 64), render(&world.objects(1), 64)];
    let spread = |run: &Path| -> f64 {
        let answers: Vec<Vec<(String, f64)>> =
            pictures.iter().map(|p| answer_question(run, p, "how many objects are there?", 5, &device).unwrap().0.ranked).collect();
        let probability = |ranked: &[(String, f64)], answer: &str| ranked.iter().find(|(a, _)| a == answer).map_or(0.0, |(_, p)| *p);
        answers[0].iter().map(|(a, p)| (p - probability(&answers[1], a)).abs()).fold(0.0, f64::max)
    };
    assert!(spread(run.path()) < 1e-6, "question-only answers moved with the picture by {}", spread(run.path()));
    assert!(spread(lstm_run.path()) > 1e-3, "LSTM Q + norm I's answers did not move with the picture ({})", spread(lstm_run.path()));
    assert!(!run.path().join(ATTENTION_FILE).exists());

    // Word vectors start the embedding where they have a word; vectors of another width are refused by file.
    let vectors = dir.path().join("vectors.txt");
    let words = ["what", "colour", "is", "the", "circle", "how", "many"];
    let rows: Vec<f32> = (0..words.len() * 16).map(|i| (i % 7) as f32 / 7.0).collect();
    mm_text::vectors::WordVectors::new(words.map(String::from).to_vec(), 16, rows).write_text(&vectors).unwrap();
    let mut started = tiny(&encoder, VqaVariant::LstmNormI, Vec::new(), 1);
    started.word_vectors = Some(vectors.clone());
    started.train.limit = Some(32);
    train_task::<Vqa>(&started, &root, &RunDir::create(dir.path(), "vqa", 5).unwrap(), Span::WHOLE).unwrap();
    started.net.d_embed = 8;
    match train_task::<Vqa>(&started, &root, &RunDir::create(dir.path(), "vqa", 6).unwrap(), Span::WHOLE) {
        Err(RunError::Invalid { path, problem }) => assert!(path == vectors && problem.contains("d_embed"), "{problem}"),
        other => panic!("vectors of the wrong width: {:?}", other.map(|_| ())),
    }

    // Stacked attention, two hops: trains, draws its maps, and answers a picture from outside the data set.
    let config = tiny(&encoder, VqaVariant::StackedAttention { hops: 2 }, Vec::new(), 4);
    let run = RunDir::create(dir.path(), "vqa", 3).unwrap();
    train_task::<Vqa>(&config, &root, &run, Span::WHOLE).unwrap();
    let san = report(run.path());
    assert!(san.splits[0].model.overall > san.splits[0].prior.overall, "{:?}", san.splits[0].model);
    assert!(run.path().join(ATTENTION_FILE).exists());
    let scene = ShapesWorld::new(ShapesConfig::default(), 777).scene(0);
    let (sheet, _, scaled) = answer_question(run.path(), &render(&scene.objects, 64), "how many objects are there?", 3, &device).unwrap();
    assert_eq!((sheet.ranked.len(), sheet.attention.len(), scaled.dimensions()), (3, 2, (32, 32)));
    assert_eq!(sheet.answer, sheet.ranked[0].0);
    assert!(sheet.ranked.windows(2).all(|w| w[0].1 >= w[1].1));
    assert!(sheet.attention.iter().all(|a| a.len() == sheet.grid[0] * sheet.grid[1] && (a.iter().sum::<f32>() - 1.0).abs() < 1e-4));
}

/// A VQA v2 split over coco_mini's pictures of `folder`, written in VQA's layout: per picture "how many X are
/// there?" for its most frequent category and "is there a Y?" for a category it lacks or has; the humans'
/// answers disagree a little.
fn write_fixture(coco: &Path, folder: &str, pictures: std::ops::Range<usize>, out: &Path, name: &str) -> VqaV2Split {
    let instances: serde_json::Value = serde_json::from_slice(&std::fs::read(coco.join(format!("annotations/instances_{folder}.json"))).unwrap()).unwrap();
    let names: std::collections::BTreeMap<u64, String> =
        instances["categories"].as_array().unwrap().iter().map(|c| (c["id"].as_u64().unwrap(), c["name"].as_str().unwrap().to_string())).collect();
    let (mut questions, mut annotations) = (Vec::new(), Vec::new());
    let mut images: Vec<u64> = instances["images"].as_array().unwrap().iter().map(|i| i["id"].as_u64().unwrap()).collect();
    images.sort();
    for (n, &image) in images[pictures].iter().enumerate() {
        let mut counts: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
        for a in instances["annotations"].as_array().unwrap().iter().filter(|a| a["image_id"].as_u64() == Some(image)) {
            *counts.entry(a["category_id"].as_u64().unwrap()).or_default() += 1;
        }
        let Some((&top, &count)) = counts.iter().max_by_key(|(_, c)| **c) else { continue };
        let asked = *names.keys().nth((n * 7) % names.len()).unwrap();
        let present = if counts.contains_key(&asked) { "yes" } else { "no" };
        for (k, (question, answer, question_type, answer_type)) in [
            (format!("How many {}s are there?", names[&top]), count.to_string(), "how many", "number"),
            (format!("Is there a {} in the picture?", names[&asked]), present.to_string(), "is there a", "yes/no"),
        ]
        .into_iter()
        .enumerate()
        {
            let id = image * 10 + k as u64;
            let mut humans = vec![answer.clone(); 7];
            humans.extend(std::iter::repeat_n(if answer_type == "number" { (count + 1).to_string() } else { "yes".into() }, 3));
            questions.push(json!({"image_id": image, "question": question, "question_id": id}));
            annotations.push(json!({
                "question_id": id, "image_id": image, "question_type": question_type, "answer_type": answer_type,
                "multiple_choice_answer": answer,
                "answers": humans.iter().enumerate().map(|(i, a)| json!({"answer": a, "answer_confidence": "yes", "answer_id": i + 1})).collect::<Vec<_>>(),
            }));
        }
    }
    let split = VqaV2Split {
        questions: out.join(format!("{name}_questions.json")),
        annotations: out.join(format!("{name}_annotations.json")),
        images: coco.join(folder),
    };
    std::fs::write(&split.questions, json!({"data_subtype": folder, "questions": questions}).to_string()).unwrap();
    std::fs::write(&split.annotations, json!({"data_subtype": folder, "annotations": annotations}).to_string()).unwrap();
    split
}

#[test]
fn the_vqa_v2_format_runs_on_coco_pictures_and_bad_files_are_named() {
    let Some(shared) = common::shared_data() else { return };
    let _turn = common::turn();
    let coco = shared.dataset(mm_tasks::data::Dataset::CocoMini).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let encoder = common::tiny_shapes_encoder(dir.path(), &shared, 1024, 3);
    let files = VqaV2Files {
        train: write_fixture(&coco, "train2017", 0..60, dir.path(), "train"),
        valid: write_fixture(&coco, "train2017", 60..80, dir.path(), "valid"),
        test: write_fixture(&coco, "val2017", 0..79, dir.path(), "test"),
    };
    let mut config = tiny(&encoder, VqaVariant::LstmNormI, Vec::new(), 2);
    config.source = VqaSource::VqaV2(files.clone());
    config.net.vocab_size = 256;
    config.tokenizer.vocab_size = 256;
    config.net.answers = 16;
    let run = RunDir::create(dir.path(), "vqa", 0).unwrap();
    let scores = train_task::<Vqa>(&config, &shared, &run, Span::WHOLE).unwrap().evaluation.unwrap();
    let test = &report(run.path()).splits[0];
    assert_eq!(test.model.by_answer_type.keys().collect::<Vec<_>>(), ["number", "yes/no"]);
    assert_eq!(test.prior.by_question_type.keys().collect::<Vec<_>>(), ["how many", "is there a"]);
    assert!(test.questions > 100 && (0.0..=1.0).contains(&scores["accuracy"]), "{scores:?}");
    // Seven of ten humans said "no": the prior's "no" scores 1, and "yes" would score 0.9 (three humans).
    assert!(test.prior.by_answer_type["yes/no"].accuracy > 0.5, "{:?}", test.prior);

    // A question without its annotation, and a picture that is not there, are refused by file.
    let mut broken = files.clone();
    let text = std::fs::read_to_string(&files.test.annotations).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["annotations"].as_array_mut().unwrap().remove(0);
    broken.test.annotations = dir.path().join("broken_annotations.json");
    std::fs::write(&broken.test.annotations, value.to_string()).unwrap();
    config.source = VqaSource::VqaV2(broken.clone());
    let error = config.question_set(mm_tasks::referencing::vqa::QuestionSplit::Runner(mm_tasks::runner::Split::Test)).unwrap_err().to_string();
    assert!(error.contains("broken_annotations.json") && error.contains("no annotation"), "{error}");
    broken.test = files.test.clone();
    broken.test.images = dir.path().to_path_buf();
    config.source = VqaSource::VqaV2(broken);
    let error = config.question_set(mm_tasks::referencing::vqa::QuestionSplit::Runner(mm_tasks::runner::Split::Test)).unwrap_err();
    assert!(matches!(&error, RunError::Invalid { problem, .. } if problem.contains("no picture")), "{error}");
}

/// Every VQA config in configs/ parses (a misspelt key is an error, not a default) and names the network its
/// comment says.
#[test]
fn the_vqa_configs_parse() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let load = |name: &str| -> VqaTaskConfig { mm_tasks::runner::load_config(&configs.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")) };
    assert_eq!(load("vqa-attention.toml").net.variant, VqaVariant::StackedAttention { hops: 2 });
    assert_eq!(load("vqa-question-only.toml").net.variant, VqaVariant::QuestionOnly);
    assert_eq!(load("vqa-image-only.toml").net.variant, VqaVariant::ImageOnly);
    assert_eq!(load("vqa-bow.toml").net.variant, VqaVariant::BowNormI);
    assert_eq!(load("vqa-fine-tuned.toml").train.module_lr["encoder"], 0.2);
    assert_eq!(load("vqa-dropout.toml").net.dropout, 0.5);
    let placed = load("vqa-attention-placed.toml");
    assert!(placed.net.place_coordinates && placed.net.variant == VqaVariant::StackedAttention { hops: 2 });
    for name in ["vqa-compositional.toml", "vqa-attention-compositional.toml"] {
        let config = load(name);
        assert!(config.compositional(), "{name}");
        match config.source {
            VqaSource::Shapes(s) => assert_eq!(s.held_out.len(), 4),
            VqaSource::VqaV2(_) => panic!("{name}"),
        }
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("vqa") {
            load(&name);
            seen += 1;
        }
    }
    assert_eq!(seen, 9);
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "variant = { kind = \"stacked-attention\", hop = 2 }\n").unwrap();
    let error = mm_tasks::runner::load_config::<VqaTaskConfig>(&typo).unwrap_err().to_string();
    assert!(error.contains("typo.toml"), "{error}");
}
