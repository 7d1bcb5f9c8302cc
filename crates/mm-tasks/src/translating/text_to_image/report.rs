//! Measuring what the GAN made. There is no ground truth for a generated picture, so three things are measured
//! with the project's own trained mnist classifier (the "judge", named in the config) and said so:
//!
//! - consistency: the share of pictures generated from a digit's text that the judge classifies as that digit;
//! - quality: the Fréchet distance between generated and real test pictures in the judge encoder's pooled
//!   features (an FID whose feature network is mm's mnist encoder, not Inception), beside the distance between
//!   real training and real test pictures, the floor;
//! - diversity: the mean pairwise feature distance among pictures of one text with different z, against real
//!   test pictures of that digit (a collapsed generator scores near 0).
//!
//! Every run also draws `samples.png` (rows: texts; each cell its own z), `style.png` (the same z down each
//! column while the text changes) and `interpolation.png` (z fixed along each row, the text moving from one
//! sentence's embedding to another's).

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use mm_generate::frechet::FeatureStatistics;
use mm_generate::text_to_image::Generator;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{CaptionEmbeddings, GanBatch, GanItem, TextToImageConfig, TextToImageModel, canvas};
use crate::encoders::ImageClassifier;
use crate::encoders::mnist::{Mnist, mnist_split};
use crate::runner::{Context, Dataset, Loader, RunError, Scores, Split, load_pretrained, write_atomically};

/// The test report's file in the run folder.
pub const REPORT_FILE: &str = "text_to_image.json";

/// Pictures per digit the diversity is measured on (pairs: n(n − 1)/2).
const DIVERSITY_PICTURES: usize = 100;

/// Pictures generated from each single held-out sentence, and from each digit's training sentences.
const PER_SENTENCE: usize = 100;

/// The mnist classifier that judges pictures, and the feature space FID is measured in.
pub struct Judge {
    classifier: ImageClassifier,
    device: Device,
}

/// What the judge says about pictures: its pooled features `[N · width]` and the digit it reads in each.
pub struct Judged {
    /// Row-major features.
    pub features: Vec<f32>,
    /// Width of a feature row.
    pub width: usize,
    /// The classified digit of each picture.
    pub digits: Vec<u8>,
}

impl Judge {
    /// The classifier of the finished mnist run `run`.
    pub fn load(run: &Path, device: &Device) -> Result<Self, RunError> {
        Ok(Self { classifier: load_pretrained::<Mnist>(run, device)?.1, device: device.clone() })
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
            let crop = batch.narrow(2, offset, 28).narrow(3, offset, 28);
            let (pooled, logits) = self.classifier.features_and_logits(((crop + 1.0) / 2.0 - mean) / std);
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

/// Consistency and FID on the validation pictures, from each digit's training sentences (fixed noise).
pub fn validation_scores(
    config: &TextToImageConfig,
    context: &Context,
    model: &TextToImageModel,
    loader: &Loader<GanItem, GanBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let texts = CaptionEmbeddings::load(context)?;
    let digits: Vec<u8> = (0..10u8).flat_map(|d| std::iter::repeat_n(d, config.validation_samples)).collect();
    let rows: Vec<Vec<f32>> = digits.iter().map(|&d| texts.mean(d as i64, false)).collect();
    let judge = Judge::load(&config.judge, device)?;
    let fake = judge.read(&generate_seeded(&model.gan.generator, &rows, 0, device), config.gan.image_size);
    let real = judge.read(&real_pictures(loader, device)?.pictures, config.gan.image_size);
    Ok(Scores::from([("fid".to_string(), statistics(&fake).frechet_distance(&statistics(&real))), ("consistency".to_string(), consistency(&fake, &digits))]))
}

/// One sentence's score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentenceScore {
    /// The sentence.
    pub text: String,
    /// Its digit.
    pub digit: u8,
    /// Share of its pictures classified as its digit.
    pub consistency: f64,
}

/// Diversity of one digit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diversity {
    /// The digit.
    pub digit: u8,
    /// Mean pairwise feature distance among generated pictures of the digit's text (different z).
    pub generated: f64,
    /// The same among real test pictures of the digit.
    pub real: f64,
}

/// `text_to_image.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextToImageReport {
    /// The network.
    pub variant: String,
    /// The judge run (its classifier and its encoder's feature space).
    pub judge: String,
    /// Pictures generated per digit from the mean of its held-out sentences.
    pub samples_per_digit: usize,
    /// Share of them the judge classifies as their digit.
    pub consistency: f64,
    /// The judge's accuracy on the real test pictures: the ceiling of consistency.
    pub judge_on_real: f64,
    /// The same per digit.
    pub consistency_by_digit: Vec<f64>,
    /// From each digit's training sentences instead (100 per digit).
    pub consistency_training_sentences: f64,
    /// From each held-out sentence alone (100 each).
    pub sentences: Vec<SentenceScore>,
    /// FID against the test pictures, in the judge's features.
    pub fid: f64,
    /// FID of real training pictures (as many as the test has) against the test pictures: the floor.
    pub fid_real_floor: f64,
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
    let judge = Judge::load(&config.judge, device)?;
    let generator = &model.gan.generator;
    let side = config.gan.image_size;
    let real_test = real_pictures(loader, device)?;
    let real_digits: Vec<u8> = real_test.groups.iter().map(|&g| g as u8).collect();
    let real = judge.read(&real_test.pictures, side);

    let digits: Vec<u8> = (0..10u8).flat_map(|d| std::iter::repeat_n(d, config.test_samples)).collect();
    let rows: Vec<Vec<f32>> = digits.iter().map(|&d| texts.mean(d as i64, true)).collect();
    let fake = judge.read(&generate_seeded(generator, &rows, 1, device), side);
    let consistency_by_digit: Vec<f64> = (0..10u8)
        .map(|d| {
            let (right, all) = fake.digits.iter().zip(&digits).filter(|(_, t)| **t == d).fold((0, 0), |(r, a), (p, t)| (r + (p == t) as usize, a + 1));
            right as f64 / all.max(1) as f64
        })
        .collect();

    let seen_digits: Vec<u8> = (0..10u8).flat_map(|d| std::iter::repeat_n(d, PER_SENTENCE)).collect();
    let seen_rows: Vec<Vec<f32>> = seen_digits.iter().map(|&d| texts.mean(d as i64, false)).collect();
    let seen = judge.read(&generate_seeded(generator, &seen_rows, 2, device), side);

    let held_out: Vec<usize> = (0..texts.texts.len()).filter(|&i| texts.texts[i].held_out).collect();
    let mut sentences = Vec::new();
    for (k, &i) in held_out.iter().enumerate() {
        let rows = vec![texts.embeddings[i].clone(); PER_SENTENCE];
        let judged = judge.read(&generate_seeded(generator, &rows, 100 + k as u64, device), side);
        let digit = texts.texts[i].group as u8;
        sentences.push(SentenceScore { text: texts.texts[i].text.clone(), digit, consistency: consistency(&judged, &[digit; PER_SENTENCE]) });
    }

    let training = mnist_split(&context.root, config.validation, Split::Train)?;
    let floor_pictures: Vec<f32> = (0..training.len().min(real_digits.len())).flat_map(|i| canvas(training.pixels(i), side)).collect();
    let floor = judge.read(&floor_pictures, side);

    let diversity: Vec<Diversity> = (0..10u8)
        .map(|d| Diversity {
            digit: d,
            generated: mean_pairwise_distance(&rows_of_digit(&fake, &digits, d, DIVERSITY_PICTURES)),
            real: mean_pairwise_distance(&rows_of_digit(&real, &real_digits, d, DIVERSITY_PICTURES)),
        })
        .collect();
    let mean = |f: &dyn Fn(&Diversity) -> f64| diversity.iter().map(f).sum::<f64>() / diversity.len() as f64;
    let report = TextToImageReport {
        variant: model.gan.variant().label().into(),
        judge: config.judge.display().to_string(),
        samples_per_digit: config.test_samples,
        consistency: consistency(&fake, &digits),
        judge_on_real: consistency(&real, &real_digits),
        consistency_by_digit,
        consistency_training_sentences: consistency(&seen, &seen_digits),
        sentences,
        fid: statistics(&fake).frechet_distance(&statistics(&real)),
        fid_real_floor: statistics(&floor).frechet_distance(&statistics(&real)),
        diversity_ratio: mean(&|d| d.generated) / mean(&|d| d.real).max(f64::MIN_POSITIVE),
        diversity,
        chance: 0.1,
    };
    write_atomically(&context.reports.join(REPORT_FILE), serde_json::to_string_pretty(&report).expect("a report").as_bytes())?;
    draw_digits(&texts, generator, side, &context.reports, device)?;
    Ok(Scores::from([
        ("consistency".to_string(), report.consistency),
        ("fid".to_string(), report.fid),
        ("fid_real_floor".to_string(), report.fid_real_floor),
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

/// MNIST's rows: one held-out sentence per digit and one description; its pairs: digits' held-out means.
fn draw_digits(texts: &CaptionEmbeddings, generator: &Generator, side: usize, run: &Path, device: &Device) -> Result<(), RunError> {
    let mut chosen: Vec<usize> = (0..10i64).filter_map(|d| texts.texts.iter().position(|t| t.group == d && t.held_out)).collect();
    chosen.extend(texts.texts.iter().position(|t| t.text == "an even digit with one loop"));
    let rows: Vec<(String, Vec<f32>)> = chosen.iter().map(|&i| (texts.texts[i].text.clone(), texts.embeddings[i].clone())).collect();
    let pairs: Vec<(String, Vec<f32>, Vec<f32>)> =
        [(1i64, 7i64), (3, 8), (0, 6), (4, 9)].iter().map(|&(a, b)| (format!("{a} → {b}"), texts.mean(a, true), texts.mean(b, true))).collect();
    draw_pictures(generator, &rows, &pairs, 1, side, run, device)
}
