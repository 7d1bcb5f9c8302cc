//! Measuring what the GAN made. There is no ground truth for a generated picture, so three things are measured
//! with the project's own trained networks, and said so:
//!
//! - consistency: the share of pictures generated from a test sentence (one the system never saw) that the
//!   judge — an mnist classifier trained apart from the text encoder's anchor — classifies as its digit;
//! - quality: the Fréchet distance between generated and real test pictures in the pooled features of the text
//!   encoder's image encoder (an FID whose feature network is mm's mnist encoder, not Inception), beside the
//!   distance between real training and real test pictures (the floor) and an untrained generator's (the
//!   baseline);
//! - diversity: the mean pairwise feature distance among pictures of one text with different z, against real
//!   test pictures of that digit (a collapsed generator scores near 0).
//!
//! Every run also draws `samples.png` (rows: texts; each cell its own z), `style.png` (the same z down each
//! column while the text changes) and `interpolation.png` (z fixed along each row, the text moving from one
//! sentence's embedding to another's).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use mm_generate::frechet::FeatureStatistics;
use mm_generate::text_to_image::Generator;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::captions::{TEMPLATES, digit_captions};
use super::sources::TextRole;
use super::{CaptionEmbeddings, GanBatch, GanItem, TextToImageConfig, TextToImageModel, canvas};
use crate::encoders::ImageClassifier;
use crate::encoders::mnist::{Mnist, mnist_split};
use crate::runner::{Context, Dataset, Loader, RunError, Scores, Split, interval_95_or_zero, load_pretrained, write_atomically};

/// The test report's file in the run folder.
pub const REPORT_FILE: &str = "text_to_image.json";

/// Pictures per digit the diversity is measured on (pairs: n(n − 1)/2).
const DIVERSITY_PICTURES: usize = 100;

/// Pictures generated from each digit's training sentences.
const PER_DIGIT_TRAINING: usize = 100;

/// The seed of the untrained generator whose FID and consistency are the baselines.
const UNTRAINED_SEED: u64 = 20;

/// The judge (an mnist classifier trained apart) and the feature network (the text encoder's image encoder).
pub struct Judge {
    classifier: ImageClassifier,
    features: ImageClassifier,
    /// The run the feature network is from.
    pub feature_run: PathBuf,
    device: Device,
}

/// What the two networks say about pictures: the feature network's pooled features `[N · width]` and the
/// digit the judge reads in each.
pub struct Judged {
    /// Row-major features.
    pub features: Vec<f32>,
    /// Width of a feature row.
    pub width: usize,
    /// The classified digit of each picture.
    pub digits: Vec<u8>,
}

impl Judge {
    /// The judge of `config` and its feature network (refused when they are the same run).
    pub fn load(config: &TextToImageConfig, device: &Device) -> Result<Self, RunError> {
        let feature_run = config.feature_run()?;
        let features = load_pretrained::<Mnist>(&feature_run, device)?.1;
        Ok(Self { classifier: load_pretrained::<Mnist>(&config.judge, device)?.1, features, feature_run, device: device.clone() })
    }

    /// Reads pictures `[N, side · side]` in [-1, 1] (MNIST centred on the canvas), 256 at a time.
    pub fn read(&self, pictures: &[f32], side: usize) -> Judged {
        let offset = (side - 28) / 2;
        let normalize = mm_vision::transforms::Normalize::mnist();
        let (mean, std) = (normalize.mean[0], normalize.std[0]);
        let (mut features, mut digits, mut width) = (Vec::new(), Vec::new(), 0);
        for chunk in pictures.chunks(256 * side * side) {
            let n = chunk.len() / (side * side);
            let batch = Tensor::<4>::from_data(TensorData::new(chunk.to_vec(), [n, 1, side, side]), &self.device);
            let input = ((batch.narrow(2, offset, 28).narrow(3, offset, 28) + 1.0) / 2.0 - mean) / std;
            let (pooled, _) = self.features.features_and_logits(input.clone());
            let (_, logits) = self.classifier.features_and_logits(input);
            width = pooled.dims()[1];
            features.extend(pooled.into_data().convert::<f32>().try_into_vec::<f32>().expect("float features"));
            digits.extend(logits.argmax(1).into_data().convert::<i64>().try_into_vec::<i64>().expect("int classes").into_iter().map(|d| d as u8));
        }
        Judged { features, width, digits }
    }
}

/// Standard normal draws from `rng` (Box–Muller), so noise is the same on every device.
fn normal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect()
}

/// Pictures `[N, side · side]` in [-1, 1] from one text embedding per picture and the noise `noise` (`[N ·
/// d_noise]`), 256 at a time.
pub fn generate(generator: &Generator, texts: &[Vec<f32>], noise: &[f32], device: &Device) -> Vec<f32> {
    let (d_text, d_noise) = (generator.d_text(), generator.d_noise());
    let mut out = Vec::new();
    for (texts, noise) in texts.chunks(256).zip(noise.chunks(256 * d_noise)) {
        let n = texts.len();
        let text = Tensor::<2>::from_data(TensorData::new(texts.concat(), [n, d_text]), device);
        let z = Tensor::<2>::from_data(TensorData::new(noise.to_vec(), [n, d_noise]), device);
        out.extend(generator.forward(text, z).into_data().convert::<f32>().try_into_vec::<f32>().expect("float pictures"));
    }
    out
}

/// [`generate`] with noise drawn from `seed`.
pub fn generate_seeded(generator: &Generator, texts: &[Vec<f32>], seed: u64, device: &Device) -> Vec<f32> {
    let noise = normal(&mut ChaCha8Rng::seed_from_u64(seed), texts.len() * generator.d_noise());
    generate(generator, texts, &noise, device)
}

/// A loader's pictures `[N, C · side · side]` and their groups.
struct RealPictures {
    pictures: Vec<f32>,
    groups: Vec<i64>,
}

fn real_pictures(loader: &Loader<GanItem, GanBatch>, device: &Device) -> Result<RealPictures, RunError> {
    let (mut pictures, mut groups) = (Vec::new(), Vec::new());
    for (_, batch) in loader.batches((0..loader.len()).collect(), 256, 0, None, device) {
        let batch = batch?;
        pictures.extend(batch.pictures.into_data().convert::<f32>().try_into_vec::<f32>().expect("float pictures"));
        groups.extend(batch.groups);
    }
    Ok(RealPictures { pictures, groups })
}

fn consistency(judged: &Judged, digits: &[u8]) -> f64 {
    judged.digits.iter().zip(digits).filter(|(a, b)| a == b).count() as f64 / digits.len().max(1) as f64
}

fn statistics(judged: &Judged) -> FeatureStatistics {
    FeatureStatistics::of(&judged.features, judged.width).expect("two or more pictures")
}

/// Mean Euclidean distance over all pairs of `rows`.
pub fn mean_pairwise_distance(rows: &[&[f32]]) -> f64 {
    let (mut sum, mut pairs) = (0.0f64, 0usize);
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            sum += a.iter().zip(*b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>().sqrt();
            pairs += 1;
        }
    }
    sum / pairs.max(1) as f64
}

/// The first `n` feature rows of each digit (by `digits`).
fn rows_of_digit<'a>(judged: &'a Judged, digits: &[u8], digit: u8, n: usize) -> Vec<&'a [f32]> {
    judged.features.chunks(judged.width).zip(digits).filter(|(_, d)| **d == digit).map(|(r, _)| r).take(n).collect()
}

/// Pictures from each text of `role` alone, `per_text` each (noise from `seed`), as the judge reads them, with
/// each picture's text row and digit.
struct FromSentences {
    judged: Judged,
    rows: Vec<usize>,
    digits: Vec<u8>,
}

fn from_sentences(
    texts: &CaptionEmbeddings,
    role: TextRole,
    per_text: usize,
    generator: &Generator,
    judge: &Judge,
    side: usize,
    seed: u64,
    device: &Device,
) -> FromSentences {
    let rows: Vec<usize> = texts.rows(role).into_iter().flat_map(|i| std::iter::repeat_n(i, per_text)).collect();
    let embeddings: Vec<Vec<f32>> = rows.iter().map(|&i| texts.embeddings[i].clone()).collect();
    let digits = rows.iter().map(|&i| texts.texts[i].group as u8).collect();
    FromSentences { judged: judge.read(&generate_seeded(generator, &embeddings, seed, device), side), rows, digits }
}

/// Consistency and FID on the validation pictures, from each validation sentence alone (fixed noise).
pub fn validation_scores(
    config: &TextToImageConfig,
    context: &Context,
    model: &TextToImageModel,
    loader: &Loader<GanItem, GanBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let texts = CaptionEmbeddings::load(context)?;
    let judge = Judge::load(config, device)?;
    let fake = from_sentences(&texts, TextRole::Validation, config.validation_samples, &model.gan.generator, &judge, config.gan.image_size, 0, device);
    let real = judge.read(&real_pictures(loader, device)?.pictures, config.gan.image_size);
    Ok(Scores::from([
        ("fid".to_string(), statistics(&fake.judged).frechet_distance(&statistics(&real))),
        ("consistency".to_string(), consistency(&fake.judged, &fake.digits)),
    ]))
}

/// One test sentence's score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentenceScore {
    /// The sentence.
    pub text: String,
    /// Its digit.
    pub digit: u8,
    /// Share of its pictures classified as its digit.
    pub consistency: f64,
}

/// One test template's score over its sentences.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateScore {
    /// The template.
    pub template: String,
    /// Share of its sentences' pictures classified as their digit.
    pub consistency: f64,
}

/// Diversity of one digit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diversity {
    /// The digit.
    pub digit: u8,
    /// Mean pairwise feature distance among pictures generated from the digit's first test sentence (different
    /// z).
    pub generated: f64,
    /// The same among real test pictures of the digit.
    pub real: f64,
}

/// `text_to_image.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextToImageReport {
    /// The network.
    pub variant: String,
    /// The judge run (its classifier reads the digits).
    pub judge: String,
    /// The run whose encoder gives the feature space of FID and diversity (the text encoder's image encoder).
    #[serde(default)]
    pub features: String,
    /// Pictures generated from each test sentence alone (reports before issue 29: per digit, from the mean of
    /// its held-out sentences).
    #[serde(alias = "samples_per_digit")]
    pub samples_per_sentence: usize,
    /// The headline: the share of the test sentences' pictures the judge classifies as their digit (each
    /// sentence alone, all of them weighing the same).
    pub consistency: f64,
    /// Half-width of its 95% interval over the test sentences.
    #[serde(default)]
    pub consistency_interval: f64,
    /// The judge's accuracy on the real test pictures: the ceiling of consistency.
    pub judge_on_real: f64,
    /// The same per digit.
    pub consistency_by_digit: Vec<f64>,
    /// The same per test template.
    #[serde(default)]
    pub consistency_by_template: Vec<TemplateScore>,
    /// From the mean of each digit's training sentences instead (100 per digit).
    pub consistency_training_sentences: f64,
    /// Each test sentence's.
    pub sentences: Vec<SentenceScore>,
    /// FID against the test pictures, in the feature network's features.
    pub fid: f64,
    /// FID of real training pictures (as many as the test has) against the test pictures: the floor.
    pub fid_real_floor: f64,
    /// FID of an untrained generator's pictures from the same texts: the baseline.
    #[serde(default)]
    pub fid_untrained: f64,
    /// The untrained generator's consistency: the baseline of the headline.
    #[serde(default)]
    pub consistency_untrained: f64,
    /// Per digit.
    pub diversity: Vec<Diversity>,
    /// Mean generated diversity over mean real diversity (1: as varied as real pictures; near 0: collapse).
    pub diversity_ratio: f64,
    /// The chance level of consistency.
    pub chance: f64,
}

/// The test report, the pictures, and the headline scores.
pub fn evaluate(
    config: &TextToImageConfig,
    context: &Context,
    model: &TextToImageModel,
    loader: &Loader<GanItem, GanBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let texts = CaptionEmbeddings::load(context)?;
    let judge = Judge::load(config, device)?;
    let generator = &model.gan.generator;
    let side = config.gan.image_size;
    let real_test = real_pictures(loader, device)?;
    let real_digits: Vec<u8> = real_test.groups.iter().map(|&g| g as u8).collect();
    let real = judge.read(&real_test.pictures, side);

    let fake = from_sentences(&texts, TextRole::Test, config.test_samples, generator, &judge, side, 1, device);
    let share_of = |keep: &dyn Fn(usize) -> bool| {
        let (right, all) = (0..fake.rows.len()).filter(|&k| keep(k)).fold((0, 0), |(r, a), k| (r + (fake.judged.digits[k] == fake.digits[k]) as usize, a + 1));
        right as f64 / all.max(1) as f64
    };
    let consistency_by_digit: Vec<f64> = (0..10u8).map(|d| share_of(&|k| fake.digits[k] == d)).collect();
    let test_rows = texts.rows(TextRole::Test);
    let sentences: Vec<SentenceScore> = test_rows
        .iter()
        .map(|&i| SentenceScore { text: texts.texts[i].text.clone(), digit: texts.texts[i].group as u8, consistency: share_of(&|k| fake.rows[k] == i) })
        .collect();
    // Each test row's template, looked up once.
    let captions = digit_captions();
    let template_of_row: HashMap<usize, &str> = test_rows
        .iter()
        .filter_map(|&i| captions.iter().find(|c| c.text == texts.texts[i].text && c.role == TextRole::Test).map(|c| (i, c.template)))
        .collect();
    let consistency_by_template = TEMPLATES
        .iter()
        .filter(|(_, role)| *role == TextRole::Test)
        .map(|&(t, _)| TemplateScore { template: t.to_string(), consistency: share_of(&|k| template_of_row.get(&fake.rows[k]) == Some(&t)) })
        .collect();
    let per_sentence: Vec<f64> = sentences.iter().map(|s| s.consistency).collect();

    let seen_digits: Vec<u8> = (0..10u8).flat_map(|d| std::iter::repeat_n(d, PER_DIGIT_TRAINING)).collect();
    let seen_rows: Vec<Vec<f32>> = seen_digits.iter().map(|&d| texts.mean(d as i64, TextRole::Training)).collect();
    let seen = judge.read(&generate_seeded(generator, &seen_rows, 2, device), side);

    let training = mnist_split(&context.root, config.validation, Split::Train)?;
    let floor_pictures: Vec<f32> = (0..training.len().min(real_digits.len())).flat_map(|i| canvas(training.pixels(i), side)).collect();
    let floor = judge.read(&floor_pictures, side);
    device.seed(UNTRAINED_SEED);
    let untrained = config.gan(generator.d_text()).init(device).map_err(|e| RunError::bad_setting(e.setting, e.value, e.why))?;
    let untrained = from_sentences(&texts, TextRole::Test, config.test_samples, &untrained.generator, &judge, side, 1, device);

    let diversity: Vec<Diversity> = (0..10u8)
        .map(|d| {
            let first = test_rows.iter().copied().find(|&i| texts.texts[i].group == d as i64);
            let generated: Vec<&[f32]> = fake
                .judged
                .features
                .chunks(fake.judged.width)
                .zip(&fake.rows)
                .filter(|(_, r)| Some(**r) == first)
                .map(|(f, _)| f)
                .take(DIVERSITY_PICTURES)
                .collect();
            Diversity {
                digit: d,
                generated: mean_pairwise_distance(&generated),
                real: mean_pairwise_distance(&rows_of_digit(&real, &real_digits, d, DIVERSITY_PICTURES)),
            }
        })
        .collect();
    let mean = |f: &dyn Fn(&Diversity) -> f64| diversity.iter().map(f).sum::<f64>() / diversity.len() as f64;
    let report = TextToImageReport {
        variant: model.gan.variant().label().into(),
        judge: config.judge.display().to_string(),
        features: judge.feature_run.display().to_string(),
        samples_per_sentence: config.test_samples,
        consistency: per_sentence.iter().sum::<f64>() / per_sentence.len().max(1) as f64,
        consistency_interval: interval_95_or_zero(&per_sentence),
        judge_on_real: consistency(&real, &real_digits),
        consistency_by_digit,
        consistency_by_template,
        consistency_training_sentences: consistency(&seen, &seen_digits),
        sentences,
        fid: statistics(&fake.judged).frechet_distance(&statistics(&real)),
        fid_real_floor: statistics(&floor).frechet_distance(&statistics(&real)),
        fid_untrained: statistics(&untrained.judged).frechet_distance(&statistics(&real)),
        consistency_untrained: consistency(&untrained.judged, &untrained.digits),
        diversity_ratio: mean(&|d| d.generated) / mean(&|d| d.real).max(f64::MIN_POSITIVE),
        diversity,
        chance: 0.1,
    };
    write_atomically(&context.reports.join(REPORT_FILE), serde_json::to_string_pretty(&report).expect("a report").as_bytes())?;
    draw_digits(&texts, generator, side, &context.reports, device)?;
    Ok(Scores::from([
        ("consistency".to_string(), report.consistency),
        ("consistency_interval".to_string(), report.consistency_interval),
        ("fid".to_string(), report.fid),
        ("fid_real_floor".to_string(), report.fid_real_floor),
        ("fid_untrained".to_string(), report.fid_untrained),
        ("consistency_untrained".to_string(), report.consistency_untrained),
        ("diversity_ratio".to_string(), report.diversity_ratio),
    ]))
}

/// One picture `[channels · side · side]` in [-1, 1] (channels first; 1 or 3) as an RGB image.
pub fn to_rgb(picture: &[f32], channels: usize, side: usize) -> RgbImage {
    let plane = side * side;
    RgbImage::from_fn(side as u32, side as u32, |x, y| {
        let at = |c: usize| ((picture[c.min(channels - 1) * plane + y as usize * side + x as usize] + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
        image::Rgb([at(0), at(1), at(2)])
    })
}

/// A grid: one row per text (its label under the first cell), `columns` pictures each.
pub fn labelled_grid(pictures: &[f32], channels: usize, side: usize, labels: &[String], columns: usize, path: &Path) -> Result<(), RunError> {
    let cells: Vec<(RgbImage, String)> = pictures
        .chunks(channels * side * side)
        .enumerate()
        .map(|(i, p)| (to_rgb(p, channels, side), if i % columns == 0 { labels[i / columns].clone() } else { String::new() }))
        .collect();
    mm_vision::picture::captioned_grid(&cells, columns, 3, path).map_err(|e| RunError::invalid(path, e))
}

const COLUMNS: usize = 8;

/// The three pictures every run draws: `samples.png` (a row per text of `rows`, each cell its own z),
/// `style.png` (the same, one z per column) and `interpolation.png` (per pair, z fixed along the row while the
/// text moves from the first embedding to the second).
pub fn draw_pictures(
    generator: &Generator,
    rows: &[(String, Vec<f32>)],
    pairs: &[(String, Vec<f32>, Vec<f32>)],
    channels: usize,
    side: usize,
    run: &Path,
    device: &Device,
) -> Result<(), RunError> {
    let labels: Vec<String> = rows.iter().map(|(l, _)| l.clone()).collect();
    let texts: Vec<Vec<f32>> = rows.iter().flat_map(|(_, t)| std::iter::repeat_n(t.clone(), COLUMNS)).collect();
    labelled_grid(&generate_seeded(generator, &texts, 7, device), channels, side, &labels, COLUMNS, &run.join("samples.png"))?;
    let d_noise = generator.d_noise();
    let column_noise = normal(&mut ChaCha8Rng::seed_from_u64(8), COLUMNS * d_noise);
    let noise: Vec<f32> = (0..rows.len()).flat_map(|_| column_noise.iter().copied()).collect();
    labelled_grid(&generate(generator, &texts, &noise, device), channels, side, &labels, COLUMNS, &run.join("style.png"))?;
    let mut texts = Vec::new();
    for (_, a, b) in pairs {
        for k in 0..COLUMNS {
            let t = k as f32 / (COLUMNS - 1) as f32;
            texts.push(a.iter().zip(b).map(|(x, y)| (1.0 - t) * x + t * y).collect());
        }
    }
    let row_noise = normal(&mut ChaCha8Rng::seed_from_u64(9), pairs.len() * d_noise);
    let noise: Vec<f32> = row_noise.chunks(d_noise).flat_map(|z| std::iter::repeat_n(z.to_vec(), COLUMNS).flatten()).collect();
    let labels: Vec<String> = pairs.iter().map(|(l, _, _)| l.clone()).collect();
    labelled_grid(&generate(generator, &texts, &noise, device), channels, side, &labels, COLUMNS, &run.join("interpolation.png"))
}

/// MNIST's rows: one test sentence per digit and one description; its pairs: digits' test means.
fn draw_digits(texts: &CaptionEmbeddings, generator: &Generator, side: usize, run: &Path, device: &Device) -> Result<(), RunError> {
    let mut chosen: Vec<usize> = (0..10i64).filter_map(|d| texts.texts.iter().position(|t| t.group == d && t.role == TextRole::Test)).collect();
    chosen.extend(texts.texts.iter().position(|t| t.text == "an even digit with one loop"));
    let rows: Vec<(String, Vec<f32>)> = chosen.iter().map(|&i| (texts.texts[i].text.clone(), texts.embeddings[i].clone())).collect();
    let pairs: Vec<(String, Vec<f32>, Vec<f32>)> = [(1i64, 7i64), (3, 8), (0, 6), (4, 9)]
        .iter()
        .map(|&(a, b)| (format!("{a} → {b}"), texts.mean(a, TextRole::Test), texts.mean(b, TextRole::Test)))
        .collect();
    draw_pictures(generator, &rows, &pairs, 1, side, run, device)
}
