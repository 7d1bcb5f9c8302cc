//! The matching systems end to end on tiny settings and the real data beside the checkout: a small MNIST encoder
//! is trained first, then tagging (with zero-shot), ordered-text retrieval and SoundNet (paired by digit, and from a
//! small shapes teacher by co-occurrence) run through the runner and their reports. What they must reach at full size is measured by `cargo xtask train …` (docs/RESULTS.md);
//! here the point is that every piece runs, writes what it promises, and fails with a typed error on bad input.

mod common;

use std::path::{Path, PathBuf};

use common::shared_data;
use mm_joint::recipe::TextEncoderKind;
use mm_tasks::data::shapes::{SceneSplits, ShapesConfig, ShapesWorld};
use mm_tasks::data::{DataError, DataRoot};
use mm_tasks::encoders::shapes::{Shapes, ShapesTaskConfig, label_of};
use mm_tasks::matching::probe::ProbeSettings;
use mm_tasks::matching::recipe::{Recipe, RecipeConfig, TEXT_LEN, evaluate_recipe, generate_pairs, instruction, tokens};
use mm_tasks::matching::soundnet::{DigitPairing, LayerProbe, Pairing, SceneGroup, ScenePairing, SoundNet, SoundNetConfig, probe_student, summarise};
use mm_tasks::matching::tagging::{DIGIT_WORDS, Tagging, TaggingConfig, evaluate_tagging, search_images, tag_image};
use mm_tasks::runner::{Context, Dataset, RunDir, RunError, Span, Split, Task, train_task};
use mm_text::vectors::WordVectors;

/// A small MNIST encoder, trained for one epoch on 8,192 pictures.
fn tiny_encoder(runs: &Path, root: &DataRoot) -> PathBuf {
    common::tiny_mnist_encoder(runs, root)
}

/// Word vectors for every tag word and one more, 32-dimensional (enough for the 26 words to be independent),
/// deterministic.
fn tiny_vectors(path: &Path, leave_out: &str) {
    let mut words: Vec<String> = Vec::new();
    for (name, describing) in DIGIT_WORDS {
        for word in std::iter::once(name).chain(describing.iter().copied()) {
            if word != leave_out && !words.iter().any(|w| w == word) {
                words.push(word.to_string());
            }
        }
    }
    words.push("circle".into());
    let data = (0..words.len() * 32).map(|i| (((i * 7919) % 97) as f32 / 48.5) - 1.0).collect();
    WordVectors::new(words, 32, data).save(path).unwrap();
}

#[test]
fn matching_systems_train_report_and_reject_bad_input() {
    let Some(root) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path(), &root);
    tagging(dir.path(), &root, &encoder);
    recipe_protocol(&root);
    recipe(dir.path(), &root, &encoder);
    let digit_paired = soundnet(dir.path(), &root, &encoder);
    soundnet_scenes(dir.path(), &root, &digit_paired);
}

fn tagging(dir: &Path, root: &DataRoot, encoder: &Path) {
    let vectors = dir.join("vectors.txt");
    tiny_vectors(&vectors, "");
    let mut config = TaggingConfig { encoder_run: Some(encoder.into()), vectors: vectors.clone(), held_out: vec![8, 9], ..Default::default() };
    config.train.epochs = 6;
    config.train.lr = 1e-2;
    config.train.limit = Some(4096);
    let run = RunDir::create(dir, "tagging", 0).unwrap();
    let trained = train_task::<Tagging>(&config, root, &run, Span::WHOLE).unwrap();
    assert!(trained.evaluation.is_some());
    let device = burn::tensor::Device::flex();
    let report = evaluate_tagging(run.path(), root, &device).unwrap();
    // Eight seen digits: chance for image → digit name is 1/8.
    assert!(report.image_to_tag.recall_at_1 > 0.3, "{:?}", report.image_to_tag);
    assert_eq!(report.images, 10_000 - 974 - 1009, "test pictures of the seen digits");
    let zero = report.zero_shot.as_ref().expect("held-out digits are reported");
    assert_eq!((zero.digits.clone(), zero.images, zero.chance), (vec![8, 9], 974 + 1009, 0.5));
    assert!(report.arithmetic.as_ref().unwrap().queries == 8 * 7 * 10);
    for file in ["tagging.json", "retrieval.png", "joint-space.png"] {
        assert!(run.path().join(file).exists(), "{file}");
    }
    let events = std::fs::read(run.path().join(mm_tasks::runner::EVENTS_FILE)).unwrap();
    assert!(events.windows(b"joint-space".len()).any(|w| w == b"joint-space"), "the report's pictures are in the event file");

    // A dark-on-light vertical stroke, tagged among the training tags and one extra word.
    let picture = dir.join("stroke.png");
    let image = image::RgbImage::from_fn(56, 56, |x, _| if (24..32).contains(&x) { image::Rgb([0, 0, 0]) } else { image::Rgb([255, 255, 255]) });
    image.save(&picture).unwrap();
    let tags = tag_image(run.path(), &picture, &["circle".to_string()], 5, &device).unwrap();
    assert_eq!(tags.len(), 5);
    assert!(tags.windows(2).all(|w| w[0].1 >= w[1].1) && tags.iter().all(|t| (0.0..=1.0).contains(&t.1)));
    let grid = dir.join("search.png");
    let found = search_images(run.path(), root, "loop", 6, &grid, &device).unwrap();
    assert_eq!(found.len(), 6);
    assert!(grid.exists() && found.windows(2).all(|w| w[0].1 >= w[1].1));

    // Bad input: a word without a vector, a missing vector file, an unreadable picture.
    let missing = search_images(run.path(), root, "zebra", 6, &grid, &device).unwrap_err().to_string();
    assert!(missing.contains("zebra") && missing.contains("vectors.txt"), "{missing}");
    let short = dir.join("short.txt");
    tiny_vectors(&short, "oval");
    let error = train_task::<Tagging>(&TaggingConfig { vectors: short, ..config.clone() }, root, &RunDir::create(dir, "tagging", 1).unwrap(), Span::WHOLE)
        .unwrap_err()
        .to_string();
    assert!(error.contains("oval") && error.contains("short.txt"), "{error}");
    let absent = TaggingConfig { vectors: dir.join("absent.bin"), ..config };
    let error = train_task::<Tagging>(&absent, root, &RunDir::create(dir, "tagging", 2).unwrap(), Span::WHOLE).unwrap_err();
    assert!(matches!(error, RunError::MissingInput { ref path, .. } if path.ends_with("absent.bin")), "{error}");
    assert!(tag_image(run.path(), &dir.join("nothing.png"), &[], 3, &device).unwrap_err().to_string().contains("nothing.png"));
}

fn recipe(dir: &Path, root: &DataRoot, encoder: &Path) {
    assert_eq!(instruction(&[7, 2, 9], 0), "write seven then two then nine");
    assert_eq!(instruction(&[1, 2, 3, 4], 3), "start with one and then two and then three and then four");
    assert_eq!(tokens(&instruction(&[1, 2, 3, 4], 3)).len(), TEXT_LEN);
    // Test pairs come in groups of the same digits in different orders; every instruction is unique.
    let pairs = generate_pairs(root, Split::Test, 5000, 400, 4, 5).unwrap();
    let mut unique = pairs.sequences.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 400);
    assert!(matches!(generate_pairs(root, Split::Test, 5000, 4 * 331, 4, 5), Err(RunError::Setting { .. })));
    for group in pairs.sequences.chunks(4) {
        let mut sorted: Vec<Vec<u8>> = group
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.sort();
                s
            })
            .collect();
        sorted.dedup();
        assert_eq!(sorted.len(), 1, "{group:?}");
        let mut orders = group.to_vec();
        orders.dedup();
        assert_eq!(orders.len(), 4, "{group:?}");
    }

    let mut results = Vec::new();
    // The bag of words learns slowly from 1,024 pairs (image-to-text medR 90 to 94 over three seeds after four
    // epochs, against chance 100.5) but its epochs are cheap: 4,096 pairs for six epochs give 40 to 44 in 5 s.
    for (encoder_kind, train_pairs, epochs) in [(TextEncoderKind::Lstm, 1024, 4), (TextEncoderKind::BagOfWords, 4096, 6)] {
        let mut config = RecipeConfig {
            encoder_run: Some(encoder.into()),
            train_pairs,
            valid_pairs: 200,
            test_pairs: 200,
            held_out_test_pairs: 100,
            test_sets: 2,
            model: RecipeConfig::default().model.with_text_encoder(encoder_kind),
            ..Default::default()
        };
        config.train.epochs = epochs;
        let run = RunDir::create(dir, "recipe", 0).unwrap();
        train_task::<Recipe>(&config, root, &run, Span::WHOLE).unwrap();
        let report = evaluate_recipe(run.path(), root, &burn::tensor::Device::flex()).unwrap();
        assert_eq!((report.seen.test_sets.len(), report.held_out.test_sets.len(), report.order_chance), (2, 2, 0.25));
        assert_eq!((report.seen.chance_median_rank, report.held_out.chance_median_rank), (100.5, 50.5));
        // Chance is a median rank of 100.5 among 200 test pairs, and a random ranking's medR spreads by about 7
        // (half the range over √200): below 70 it would land about one time in 100,000. This run: about 50.
        let [image_to_text, text_to_image] = [report.seen.image_to_text[0], report.seen.text_to_image[0]];
        println!("recipe, {encoder_kind:?}: test medR {image_to_text} image to text, {text_to_image} text to image");
        assert!(image_to_text < 70.0 && text_to_image < 70.0, "{encoder_kind:?}: medR {image_to_text} and {text_to_image}, chance 100.5");
        assert!(report.seen.image_to_text_interval[0].is_finite(), "an interval over two sets");
        for file in ["recipe.json", "retrieval.png", "joint-space.png"] {
            assert!(run.path().join(file).exists(), "{file}");
        }
        results.push(report);
    }
    // The bag of words cannot tell reorderings apart; ties count against it.
    assert!(results[1].seen.order_accuracy < 0.4, "bag of words: {}", results[1].seen.order_accuracy);
    let bad = RecipeConfig { orders_per_group: 7, encoder_run: Some(encoder.into()), ..Default::default() };
    match train_task::<Recipe>(&bad, root, &RunDir::create(dir, "recipe", 1).unwrap(), Span::WHOLE) {
        Err(RunError::BadSetting { name, .. }) => assert_eq!(name, "orders_per_group"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
    // Ten independent sets of 44 groups need 440 of the 220 seen digit sets: refused before training starts.
    let too_many = RecipeConfig { test_sets: 10, encoder_run: Some(encoder.into()), ..Default::default() };
    match train_task::<Recipe>(&too_many, root, &RunDir::create(dir, "recipe", 2).unwrap(), Span::WHOLE) {
        Err(RunError::Setting { name, why }) => assert!(name.contains("test_sets"), "{name}: {why}"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
}

/// The recipe protocol: held-out digit sets never reach training or validation, in any order or as a reordered
/// negative, and the test sets of a family share no digit set.
fn recipe_protocol(root: &DataRoot) {
    use mm_tasks::matching::recipe::{HELD_OUT_SETS, TestDigitSets, digit_sets, generate_pairs, generate_test_sets, is_held_out};
    use mm_tasks::runner::Split;
    let sets = digit_sets();
    assert_eq!((sets.len(), sets.iter().filter(|s| is_held_out(s)).count()), (330, HELD_OUT_SETS));
    let training = generate_pairs(root, Split::Train, 5000, 4000, 4, 0).unwrap();
    let sorted = |digits: &Vec<u8>| {
        let mut d = digits.clone();
        d.sort();
        d
    };
    assert!(training.sequences.iter().all(|s| !is_held_out(s)));
    let training_sets: std::collections::HashSet<Vec<u8>> = training.sequences.iter().map(sorted).collect();
    let seen_texts: std::collections::HashSet<&String> = training.texts.iter().chain(&training.reordered).collect();
    for family in [TestDigitSets::Seen, TestDigitSets::HeldOut] {
        let test_sets = generate_test_sets(root, family, 3, 88, 4, 7).unwrap();
        let mut digit_sets_used = std::collections::HashSet::new();
        for set in &test_sets {
            for group in set.sequences.chunks(4) {
                let digits = sorted(&group[0]);
                assert!(group.iter().all(|s| sorted(s) == digits), "a group reorders one digit set");
                assert_eq!(training_sets.contains(&digits), family == TestDigitSets::Seen, "{family:?}: {digits:?} in training");
                assert!(digit_sets_used.insert(digits), "a digit set in two groups");
            }
            if family == TestDigitSets::HeldOut {
                assert!(set.texts.iter().all(|t| !seen_texts.contains(t)), "a held-out instruction occurs in training");
            }
        }
    }
    assert!(
        matches!(generate_test_sets(root, TestDigitSets::HeldOut, 6, 88, 4, 7), Err(RunError::Setting { .. })),
        "110 held-out digit sets fill five sets of 22 groups, not six"
    );
}

/// SoundNet paired by digit; its run folder.
fn soundnet(dir: &Path, root: &DataRoot, encoder: &Path) -> PathBuf {
    let pairing = DigitPairing { teacher_run: Some(encoder.into()), pairs_per_recording: 1, ..Default::default() };
    let mut config =
        SoundNetConfig { pairing: Pairing::ByDigit(pairing.clone()), probe: ProbeSettings { steps: 20, ..Default::default() }, ..Default::default() };
    config.train.epochs = 5;
    config.train.limit = Some(768);
    let run = RunDir::create(dir, "soundnet", 0).unwrap();
    train_task::<SoundNet>(&config, root, &run, Span::WHOLE).unwrap();
    let report = probe_student(run.path(), root, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(report.layers.len(), 5);
    println!("digit-paired student: test accuracy {} (baseline {})", report.student_accuracy, report.student_baseline);
    // Five short epochs without one audio label: the student's digit head is well above its baseline (the most
    // frequent digit, 0.10; 0.30 when written, where three epochs gave 0.27), and its layers already carry more
    // about the digit than the same layers untrained.
    assert!(report.student_accuracy > report.student_baseline + 0.1, "student accuracy {} (baseline {})", report.student_accuracy, report.student_baseline);
    assert!((report.student_baseline - 0.1).abs() < 0.02, "FSDD's test split has 30 of each digit: {}", report.student_baseline);
    let best = |pick: fn(&LayerProbe) -> f64| report.layers.iter().map(pick).fold(0.0, f64::max);
    assert!(best(|p| p.fsdd.test) > best(|p| p.fsdd_untrained.test) + 0.05, "FSDD probes: {:?}", report.layers);
    // ESC-10's layer is chosen in each of the five rounds on that round's own validation fold (nested), and the
    // test figure is the mean of each round's test accuracy at its own choice.
    assert_eq!((report.layers[0].esc10.rounds.len(), report.esc10.rounds.len()), (5, 5));
    let mut test = 0.0;
    for (r, &layer) in report.esc10.rounds.iter().enumerate() {
        let best_valid = report.layers.iter().map(|p| p.esc10.rounds[r][0]).fold(0.0, f64::max);
        assert_eq!(report.layers[layer - 1].esc10.rounds[r][0], best_valid, "round {r}");
        test += report.layers[layer - 1].esc10.rounds[r][1] / 5.0;
    }
    assert!((test - report.esc10.test).abs() < 1e-12, "{test} against {:?}", report.esc10);
    assert!(report.log_mel_fsdd.test > 0.3, "log-mel statistics carry the digit: {:?}", report.log_mel_fsdd);
    assert_eq!((report.majority_fsdd, report.majority_esc10), (0.1, 0.1), "both are balanced");
    assert!(run.path().join("soundnet.json").exists() && run.path().join("probes.png").exists());
    let cold = SoundNetConfig { temperature: 0.0, ..config.clone() };
    assert!(
        matches!(train_task::<SoundNet>(&cold, root, &RunDir::create(dir, "soundnet", 2).unwrap(), Span::WHOLE), Err(RunError::BadSetting { name, .. }) if name == "temperature")
    );
    let overlapping = DigitPairing { scenes: vec![SceneGroup { name: "all".into(), digits: (0..10).collect() }], ..pairing };
    let overlapping = SoundNetConfig { pairing: Pairing::ByDigit(overlapping), ..config };
    assert!(
        matches!(train_task::<SoundNet>(&overlapping, root, &RunDir::create(dir, "soundnet", 1).unwrap(), Span::WHOLE), Err(RunError::Setting { name, .. }) if name == "pairing")
    );
    run.path().to_path_buf()
}

/// SoundNet from co-occurrence: a small shapes teacher, then a student that hears each scene's soundtrack.
fn soundnet_scenes(dir: &Path, root: &DataRoot, digit_paired: &Path) {
    let mut shapes = ShapesTaskConfig { train_scenes: 1024, valid_scenes: 64, test_scenes: 64, ..Default::default() };
    shapes.encoder = shapes.encoder.with_stages(vec![8, 16, 32]);
    shapes.train.epochs = 10;
    let teacher = RunDir::create(dir, "shapes", 0).unwrap();
    train_task::<Shapes>(&shapes, root, &teacher, Span::WHOLE).unwrap();
    let scenes = SceneSplits { train_scenes: 512, valid_scenes: 64, test_scenes: 200, ..ScenePairing::default().scenes };
    let pairing = ScenePairing { teacher_run: Some(teacher.path().into()), scenes };
    let mut config =
        SoundNetConfig { pairing: Pairing::ShapesScenes(pairing.clone()), probe: ProbeSettings { steps: 20, ..Default::default() }, ..Default::default() };
    config.train.epochs = 8;
    let run = RunDir::create(dir, "soundnet", 3).unwrap();
    train_task::<SoundNet>(&config, root, &run, Span::WHOLE).unwrap();

    // A pair is one scene: its sound is that scene's own soundtrack, its teacher outputs come from that scene's
    // picture (the teacher's likeliest object is mostly one the scene holds), and only validation and test
    // count against what the scene truly holds.
    let context = Context::of(root.clone(), run.path());
    let world = |seed| ShapesWorld::new(ShapesConfig { image_size: 32, sample_rate: 8000, ..Default::default() }, seed);
    let holds = |world: &ShapesWorld, i: usize, label: usize| world.objects(i as u64).iter().any(|o| label_of(o) == label);
    let train = SoundNet::dataset(&config, &context, Split::Train).unwrap();
    let (train_world, test_world) = (world(scenes.train_seed), world(scenes.test_seed));
    let mut teacher_right = 0;
    for i in 0..train.len() {
        let item = train.get(i).unwrap();
        let top = item.right.iter().position(|&r| r == 1.0).unwrap();
        assert_eq!(item.right.iter().sum::<f32>(), 1.0, "training counts the teacher's answer only");
        teacher_right += holds(&train_world, i, top) as usize;
        assert!((item.objects.iter().sum::<f32>() - 1.0).abs() < 1e-4 && (item.scenes.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    // Chance, pairing a sound with another scene's picture: about 0.06.
    assert!(teacher_right * 3 > train.len(), "the teacher's top object is in the scene for {teacher_right} of {}", train.len());
    let test = SoundNet::dataset(&config, &context, Split::Test).unwrap();
    for i in [0, 17, 199] {
        let item = test.get(i).unwrap();
        let sound = test_world.sound(i as u64);
        assert_eq!(item.waveform, config.features.waveform(mm_audio::Audio::new(sound.mix, sound.sample_rate)).unwrap().samples);
        let expected: Vec<usize> = (0..48).filter(|&l| holds(&test_world, i, l)).collect();
        assert_eq!((0..48).filter(|&l| item.right[l] == 1.0).collect::<Vec<_>>(), expected);
    }

    // The student starts to hear what the teacher sees: after eight short epochs (from a teacher of ten) its
    // likeliest object is in the scene about four times as often as the most frequent object is (0.235 against
    // 0.055 when written; four epochs from a teacher of six were too few to be sure of beating it).
    let report = probe_student(run.path(), root, &burn::tensor::Device::flex()).unwrap();
    println!("co-occurrence student: test accuracy {} (baseline {})", report.student_accuracy, report.student_baseline);
    assert!(report.student_accuracy > report.student_baseline + 0.04, "student {} vs baseline {}", report.student_accuracy, report.student_baseline);
    assert!(report.pairing.starts_with("co-occurrence"));
    // Other seeds' reports summarise into intervals; a run paired otherwise is refused.
    let summary = summarise(&[run.path().into(), run.path().into()]).unwrap();
    assert_eq!(summary.esc10.values, vec![report.esc10.test; 2]);
    assert_eq!(summary.esc10.interval_95, 0.0);
    assert!(matches!(summarise(&[run.path().into(), digit_paired.into()]), Err(RunError::Invalid { .. })));
    let same_seeds = ScenePairing { scenes: SceneSplits { valid_seed: scenes.train_seed, ..scenes }, ..pairing };
    let same_seeds = SoundNetConfig { pairing: Pairing::ShapesScenes(same_seeds), ..config };
    assert!(matches!(
        train_task::<SoundNet>(&same_seeds, root, &RunDir::create(dir, "soundnet", 4).unwrap(), Span::WHOLE),
        Err(RunError::Data(DataError::BadSetting { .. }))
    ));
}
