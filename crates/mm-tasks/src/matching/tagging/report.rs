//! What a trained tagging model can do, measured and drawn: tagging accuracy, search by word, zero-shot
//! tagging of held-out digits, arithmetic in the joint space, and the pictures (retrieval grid, joint space).

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use mm_joint::retrieval::{CosineIndex, RetrievalMetrics};
use mm_joint::tagging::TaggingModel;
use mm_text::vectors::WordVectors;
use mm_vision::transforms::Normalize;
use serde::Serialize;

use super::{DIGIT_WORDS, TagWorld, Tagging, TaggingConfig, WorldFeatures, load_vectors, split_words, word_rows, world_features};
use crate::data::DataRoot;
use crate::data::shapes::Colour;
use crate::data_error;
use crate::encoders::Readout;
use crate::matching::joint_plot::draw_joint_space;
use crate::matching::pretrained::encode_images;
use crate::runner::{RunError, Split, load_model, load_pretrained};

/// Zero-shot tagging of the held-out digits, whose pictures and names training never saw.
#[derive(Debug, Clone, Serialize)]
pub struct ZeroShot {
    /// The held-out digits.
    pub digits: Vec<u8>,
    /// Their test pictures.
    pub images: usize,
    /// Accuracy choosing among the held-out digits by the name's word vector alone (DeViSE's zero-shot).
    pub by_name: f64,
    /// … by the name and its describing words (the mean of their embeddings): attribute-based zero-shot.
    pub by_description: f64,
    /// Chance among the held-out digits.
    pub chance: f64,
    /// Accuracy choosing among all ten descriptions (generalised zero-shot: seen digits compete too).
    pub generalised_by_description: f64,
    /// Chance among ten.
    pub generalised_chance: f64,
    /// Generalised zero-shot with calibrated stacking (Chao et al. 2016) over every test picture, seen digits'
    /// included: the seen digits' scores lowered by γ, swept over all values.
    pub calibrated: CalibratedStacking,
}

/// The seen–unseen accuracy curve of calibrated stacking: predict `argmax_c score(x, c) − γ·[c seen]` among all
/// ten descriptions; as γ goes from −∞ to +∞ the accuracy on seen digits' pictures falls from its best to 0 while
/// the held-out digits' rises from 0 to its best. No γ is chosen, so nothing is tuned on the held-out classes.
#[derive(Debug, Clone, Serialize)]
pub struct CalibratedStacking {
    /// Area under the curve (held-out accuracy on x, seen accuracy on y): 1 for a perfect model.
    pub ausuc: f64,
    /// Seen and held-out accuracy and their harmonic mean at γ = 0 (no calibration).
    pub uncalibrated: [f64; 3],
    /// The best harmonic mean along the curve: what an oracle γ would give, an upper bound, not a result.
    pub best_harmonic_mean: f64,
}

/// The curve from each picture's margin (best seen score − best held-out score) and whether its best seen and
/// best held-out descriptions are right.
fn calibrated_stacking(pictures: &[(f32, bool, bool, bool)]) -> CalibratedStacking {
    // (margin, seen picture?, best seen right?, best held-out right?)
    let (seen_total, unseen_total) = pictures.iter().fold((0usize, 0usize), |(s, u), p| if p.1 { (s + 1, u) } else { (s, u + 1) });
    let accuracy = |gamma: f32| {
        let (mut seen, mut unseen) = (0, 0);
        for &(margin, is_seen, seen_right, unseen_right) in pictures {
            let predicts_seen = margin > gamma;
            match is_seen {
                true => seen += (predicts_seen && seen_right) as usize,
                false => unseen += (!predicts_seen && unseen_right) as usize,
            }
        }
        (seen as f64 / seen_total.max(1) as f64, unseen as f64 / unseen_total.max(1) as f64)
    };
    let harmonic = |(s, u): (f64, f64)| if s + u > 0.0 { 2.0 * s * u / (s + u) } else { 0.0 };
    let mut gammas: Vec<f32> = pictures.iter().map(|p| p.0).collect();
    gammas.sort_by(f32::total_cmp);
    // Just below the smallest margin (everything predicted seen), at every margin, and at the largest.
    let mut points = vec![accuracy(gammas.first().copied().unwrap_or(0.0) - 1.0)];
    points.extend(gammas.iter().map(|&g| accuracy(g)));
    let area = points.windows(2).map(|w| (w[1].1 - w[0].1) * (w[1].0 + w[0].0) / 2.0).sum::<f64>();
    let at_zero = accuracy(0.0);
    CalibratedStacking {
        ausuc: area,
        uncalibrated: [at_zero.0, at_zero.1, harmonic(at_zero)],
        best_harmonic_mean: points.iter().copied().map(harmonic).fold(0.0, f64::max),
    }
}

/// "Picture of a minus word a plus word b lands on pictures of b": how often, and the baselines.
#[derive(Debug, Clone, Serialize)]
pub struct Arithmetic {
    /// Queries: 10 test pictures for each ordered pair of different seen digits.
    pub queries: usize,
    /// Nearest other test picture to `image(a) − word(a) + word(b)` shows b.
    pub hits: f64,
    /// … to `image(a)` alone (how often the picture itself already lands on b).
    pub image_alone: f64,
    /// … to `word(b)` alone.
    pub word_alone: f64,
    /// Among the hits, how often the found picture is the word-alone nearest picture (1: the picture's own
    /// contribution changed nothing).
    pub same_as_word_alone: f64,
}

/// The evaluation of a tagging run, as written to `tagging.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TaggingReport {
    /// Which pictures.
    pub world: TagWorld,
    /// Test pictures evaluated (seen classes).
    pub images: usize,
    /// Image → tag: MNIST, the rank of the picture's digit name among the trained digit names; shapes, the
    /// rank of the best present tag among all tags (R@1 = the top tag is right).
    pub image_to_tag: RetrievalMetrics,
    /// The top tag among all trained tags applies to the picture.
    pub top_tag_correct: f64,
    /// Tag → image: the fraction of each tag's 10 nearest test pictures it applies to, averaged over tags.
    pub tag_to_image_precision_at_10: f64,
    /// What the most frequent tags score on the same test pictures.
    pub baseline: TagBaseline,
    /// Held-out digits (MNIST runs with `held_out`).
    pub zero_shot: Option<ZeroShot>,
    /// Joint-space arithmetic (MNIST).
    pub arithmetic: Option<Arithmetic>,
}

/// The trivial strategy beside every tagging number: always answer the tag most frequent in training, and rank
/// pictures for a tag at random.
#[derive(Debug, Clone, Serialize)]
pub struct TagBaseline {
    /// The training split's most frequent tag (MNIST: digit name) among the evaluated ones.
    pub most_frequent_tag: String,
    /// How often that tag applies to a test picture: the image → tag R@1 and top-tag score of always answering it.
    pub top_tag_correct: f64,
    /// Tag → image precision@10 of a random ranking: the mean over tags of the fraction of test pictures a tag
    /// applies to.
    pub tag_to_image_precision_at_10: f64,
}

impl TagBaseline {
    /// From the training pictures' words and the evaluated test pictures' words.
    pub fn new(tags: &[String], train: &[Vec<String>], test: &[&Vec<String>]) -> Self {
        let frequency = |pictures: &mut dyn Iterator<Item = &Vec<String>>, tag: &String| pictures.filter(|words| words.contains(tag)).count();
        let most_frequent = tags.iter().max_by_key(|tag| frequency(&mut train.iter(), tag)).cloned().unwrap_or_default();
        let share = |tag: &String| frequency(&mut test.iter().copied(), tag) as f64 / test.len().max(1) as f64;
        Self {
            top_tag_correct: share(&most_frequent),
            tag_to_image_precision_at_10: tags.iter().map(share).sum::<f64>() / tags.len().max(1) as f64,
            most_frequent_tag: most_frequent,
        }
    }
}

/// Host rows `[N, D]` of a model's image embeddings, in batches.
fn image_embeddings(model: &TaggingModel, world: &WorldFeatures, device: &Device) -> Vec<f32> {
    let mut out = Vec::with_capacity(world.features.len());
    for chunk in world.features.chunks(1024 * world.dim) {
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [chunk.len() / world.dim, world.dim]), device);
        out.extend(model.embed_images(x).into_data().convert::<f32>().try_into_vec::<f32>().expect("float"));
    }
    out
}

/// The model's word side, with the word vectors read once.
struct WordSide<'a> {
    model: &'a TaggingModel,
    vectors: WordVectors,
    file: &'a Path,
    device: &'a Device,
}

impl<'a> WordSide<'a> {
    fn new(model: &'a TaggingModel, config: &'a TaggingConfig, device: &'a Device) -> Result<Self, RunError> {
        Ok(Self { model, vectors: load_vectors(config)?, file: &config.vectors, device })
    }

    /// Host rows of the joint-space embeddings of `words`.
    fn embed(&self, words: &[String]) -> Result<Vec<f32>, RunError> {
        let rows = word_rows(&self.vectors, words, self.file)?;
        let x = Tensor::<2>::from_data(TensorData::new(rows, [words.len(), self.vectors.dim()]), self.device);
        Ok(self.model.embed_words(x).into_data().convert::<f32>().try_into_vec::<f32>().expect("float"))
    }
}

fn unit_norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12)
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.into_iter().map(|x| x / norm).collect()
}

fn row(rows: &[f32], dim: usize, i: usize) -> &[f32] {
    &rows[i * dim..(i + 1) * dim]
}

/// A picture of the world as an RGB image.
fn picture(world: &WorldFeatures, i: usize) -> RgbImage {
    let [c, h, w] = world.shape;
    let pixels = &world.pictures[i * c * h * w..(i + 1) * c * h * w];
    // MNIST pictures carry MNIST's normalisation; shapes pictures are scaled to [-1, 1].
    let normalize = if c == 1 { Normalize::mnist() } else { Normalize { mean: vec![0.5], std: vec![0.5] } };
    normalize.to_rgb(pixels, h, w)
}

/// Loads the run, embeds the test pictures, measures everything and draws `retrieval.png` and
/// `joint-space.png` in the run folder; writes `tagging.json` there.
pub fn evaluate_tagging(run: &Path, root: &DataRoot, device: &Device) -> Result<TaggingReport, RunError> {
    evaluate_tagging_on(run, root, device, None)
}

/// Where a reading of `run`'s test split leaves its report: the run, or its `test-seed-N/` for a fresh seed.
fn report_folder(run: &Path, test_seed: Option<u64>) -> std::path::PathBuf {
    crate::runner::Reading { test_seed, ..crate::runner::Reading::of(Split::Test) }.reports_of(run)
}

/// [`evaluate_tagging`], with the shapes world's test scenes drawn from `test_seed` when given (`eval
/// --test-seed`): the report and the pictures then go to the run's `test-seed-N/`.
pub fn evaluate_tagging_on(run: &Path, root: &DataRoot, device: &Device, test_seed: Option<u64>) -> Result<TaggingReport, RunError> {
    let (mut config, model) = load_model::<Tagging>(run, device)?;
    let out = report_folder(run, test_seed);
    if let Some(seed) = test_seed {
        config = <Tagging as crate::runner::Task>::with_test_seed(&config, seed)
            .ok_or_else(|| RunError::bad_setting("--test-seed", seed, crate::runner::fixed_test_split("tagging")))?;
        std::fs::create_dir_all(&out).map_err(|e| RunError::io(&out, e))?;
    }
    let world = world_features(&config, root, Split::Test, device, None)?;
    let dim = model.d_joint();
    let images = image_embeddings(&model, &world, device);
    let tags = config.tags();
    let word_side = WordSide::new(&model, &config, device)?;
    let tag_rows = word_side.embed(&tags)?;
    let seen: Vec<usize> = (0..world.words.len()).filter(|&i| world.digits.get(i).is_none_or(|d| !config.held_out.contains(d))).collect();

    // Image → tag.
    let tag_index = CosineIndex::new(&tag_rows, dim);
    let names: Vec<String> = config.seen_digits().iter().map(|&d| DIGIT_WORDS[d as usize].0.to_string()).collect();
    let name_index = CosineIndex::new(&tag_rows[..names.len() * dim], dim);
    let mut ranks = Vec::new();
    let mut top_right = 0;
    for &i in &seen {
        let query = row(&images, dim, i);
        let rank = match config.world {
            TagWorld::Mnist => {
                let name = DIGIT_WORDS[world.digits[i] as usize].0;
                name_index.rank(query, names.iter().position(|n| n == name).expect("a seen digit"))
            }
            TagWorld::Shapes => {
                let order = tag_index.top_k(query, tags.len());
                1 + order.iter().position(|(t, _)| world.words[i].contains(&tags[*t])).unwrap_or(tags.len())
            }
        };
        ranks.push(rank);
        let top = tag_index.top_k(query, 1)[0].0;
        top_right += world.words[i].contains(&tags[top]) as usize;
    }
    let seen_images: Vec<f32> = seen.iter().flat_map(|&i| row(&images, dim, i).to_vec()).collect();
    let image_index = CosineIndex::new(&seen_images, dim);
    let precision: f64 = (0..tags.len())
        .map(|t| {
            let found = image_index.top_k(row(&tag_rows, dim, t), 10);
            found.iter().filter(|(j, _)| world.words[seen[*j]].contains(&tags[t])).count() as f64 / 10.0
        })
        .sum::<f64>()
        / tags.len() as f64;

    let evaluated_tags = match config.world {
        TagWorld::Mnist => names.clone(),
        TagWorld::Shapes => tags.clone(),
    };
    let test_words: Vec<&Vec<String>> = seen.iter().map(|&i| &world.words[i]).collect();
    let baseline = TagBaseline::new(&evaluated_tags, &split_words(&config, root, Split::Train)?, &test_words);
    let zero_shot = if config.held_out.is_empty() { None } else { Some(zero_shot(&word_side, &config, &world, &images)?) };
    let arithmetic = if config.world == TagWorld::Mnist { Some(arithmetic(&word_side, &config, &world, &images, &seen)?) } else { None };
    let report = TaggingReport {
        world: config.world,
        images: seen.len(),
        image_to_tag: RetrievalMetrics::from_ranks(&ranks),
        top_tag_correct: top_right as f64 / seen.len().max(1) as f64,
        tag_to_image_precision_at_10: precision,
        baseline,
        zero_shot,
        arithmetic,
    };

    // Pictures: each tag's top 8 test pictures; the joint space with the tags in it.
    let mut items = Vec::new();
    for (t, tag) in tags.iter().enumerate() {
        for (j, similarity) in image_index.top_k(row(&tag_rows, dim, t), 8) {
            items.push((picture(&world, seen[j]), format!("{tag} {similarity:.2}")));
        }
    }
    mm_vision::picture::captioned_grid(&items, 8, if config.world == TagWorld::Mnist { 2 } else { 3 }, &out.join("retrieval.png")).map_err(data_error)?;
    let shown: Vec<usize> = seen.iter().copied().take(2000).collect();
    let points: Vec<f32> = shown.iter().flat_map(|&i| row(&images, dim, i).to_vec()).collect();
    let (groups, group_names, group_colours): (Vec<usize>, Vec<String>, Vec<[u8; 3]>) = match config.world {
        TagWorld::Mnist => (shown.iter().map(|&i| world.digits[i] as usize).collect(), DIGIT_WORDS.iter().map(|d| d.0.to_string()).collect(), Vec::new()),
        TagWorld::Shapes => {
            // Each scene drawn in the first of the world's colours it holds, in that colour.
            let first = |i: usize| Colour::ALL.iter().position(|c| world.words[i].iter().any(|w| w == c.name())).unwrap_or(0);
            let names = Colour::ALL.iter().map(|c| format!("has {}", c.name())).collect();
            (shown.iter().map(|&i| first(i)).collect(), names, Colour::ALL.iter().map(|c| c.rgb()).collect())
        }
    };
    let words: Vec<(String, Vec<f32>)> = tags.iter().enumerate().map(|(t, tag)| (tag.clone(), row(&tag_rows, dim, t).to_vec())).collect();
    let title = format!("tagging ({:?}): test pictures and tags in the joint space", config.world);
    draw_joint_space(&points, dim, &groups, &group_names, &group_colours, &words, &title, &out.join("joint-space.png"))?;
    let json = serde_json::to_vec_pretty(&report).expect("serialises");
    crate::runner::write_atomically(&out.join("tagging.json"), &json)?;
    if test_seed.is_none() {
        crate::runner::refresh_events(run)?;
    }
    Ok(report)
}

fn zero_shot(word_side: &WordSide, config: &TaggingConfig, world: &WorldFeatures, images: &[f32]) -> Result<ZeroShot, RunError> {
    let dim = word_side.model.d_joint();
    let all_names: Vec<String> = DIGIT_WORDS.iter().map(|d| d.0.to_string()).collect();
    let name_rows = word_side.embed(&all_names)?;
    let mut descriptions = Vec::with_capacity(10 * dim);
    for (d, (_, words)) in DIGIT_WORDS.iter().enumerate() {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let rows = word_side.embed(&words)?;
        let mut sum = row(&name_rows, dim, d).to_vec();
        rows.chunks(dim).for_each(|r| sum.iter_mut().zip(r).for_each(|(s, v)| *s += v));
        descriptions.extend(unit(sum));
    }
    let held = &config.held_out;
    let pick = |rows: &[f32], among: &[u8], query: &[f32]| -> u8 {
        let candidates: Vec<f32> = among.iter().flat_map(|&d| row(rows, dim, d as usize).to_vec()).collect();
        among[CosineIndex::new(&candidates, dim).top_k(query, 1)[0].0]
    };
    let all: Vec<u8> = (0..10).collect();
    let (mut by_name, mut by_description, mut generalised, mut n) = (0, 0, 0, 0);
    for (i, &digit) in world.digits.iter().enumerate().filter(|(_, d)| held.contains(d)) {
        let query = row(images, dim, i);
        by_name += (pick(&name_rows, held, query) == digit) as usize;
        by_description += (pick(&descriptions, held, query) == digit) as usize;
        generalised += (pick(&descriptions, &all, query) == digit) as usize;
        n += 1;
    }
    let n_f = n.max(1) as f64;
    let seen_digits = config.seen_digits();
    // The best description among `among` and its cosine (descriptions are unit rows; `norm` is the query's).
    let best = |among: &[u8], query: &[f32], norm: f32| -> (u8, f32) {
        among
            .iter()
            .map(|&d| (d, row(&descriptions, dim, d as usize).iter().zip(query).map(|(a, b)| a * b).sum::<f32>() / norm))
            .fold((0, f32::NEG_INFINITY), |m, x| if x.1 > m.1 { x } else { m })
    };
    let margins: Vec<(f32, bool, bool, bool)> = world
        .digits
        .iter()
        .enumerate()
        .map(|(i, &digit)| {
            let (query, norm) = (row(images, dim, i), unit_norm(row(images, dim, i)));
            let ((seen_best, seen_score), (held_best, held_score)) = (best(&seen_digits, query, norm), best(held, query, norm));
            (seen_score - held_score, !held.contains(&digit), seen_best == digit, held_best == digit)
        })
        .collect();
    Ok(ZeroShot {
        calibrated: calibrated_stacking(&margins),
        digits: held.clone(),
        images: n,
        by_name: by_name as f64 / n_f,
        by_description: by_description as f64 / n_f,
        chance: 1.0 / held.len() as f64,
        generalised_by_description: generalised as f64 / n_f,
        generalised_chance: 0.1,
    })
}

fn arithmetic(word_side: &WordSide, config: &TaggingConfig, world: &WorldFeatures, images: &[f32], seen: &[usize]) -> Result<Arithmetic, RunError> {
    let dim = word_side.model.d_joint();
    let all_names: Vec<String> = DIGIT_WORDS.iter().map(|d| d.0.to_string()).collect();
    let names = word_side.embed(&all_names)?;
    let gallery: Vec<f32> = seen.iter().flat_map(|&i| row(images, dim, i).to_vec()).collect();
    let index = CosineIndex::new(&gallery, dim);
    // The nearest gallery picture other than the query itself.
    let nearest =
        |query: &[f32], own: usize| -> usize { index.top_k(query, 2).into_iter().map(|(j, _)| j).find(|&j| seen[j] != own).expect("two pictures or more") };
    let digits = config.seen_digits();
    let (mut queries, mut hits, mut alone, mut word_alone, mut same) = (0, 0, 0, 0, 0);
    for &a in &digits {
        let examples: Vec<usize> = seen.iter().copied().filter(|&i| world.digits[i] == a).take(10).collect();
        for &b in digits.iter().filter(|&&b| b != a) {
            let word_b = row(&names, dim, b as usize);
            let word_pick = world.digits[seen[index.top_k(word_b, 1)[0].0]];
            for &i in &examples {
                let query: Vec<f32> = (0..dim).map(|k| images[i * dim + k] - names[a as usize * dim + k] + word_b[k]).collect();
                let found = nearest(&query, i);
                let hit = world.digits[seen[found]] == b;
                hits += hit as usize;
                same += (hit && found == index.top_k(word_b, 1)[0].0) as usize;
                alone += (world.digits[seen[nearest(row(images, dim, i), i)]] == b) as usize;
                word_alone += (word_pick == b) as usize;
                queries += 1;
            }
        }
    }
    let q = queries.max(1) as f64;
    Ok(Arithmetic {
        queries,
        hits: hits as f64 / q,
        image_alone: alone as f64 / q,
        word_alone: word_alone as f64 / q,
        same_as_word_alone: same as f64 / hits.max(1) as f64,
    })
}

/// The top `k` tags of a picture file (PNG, JPEG …): among the training tags and `extra` words of the vector
/// file, with the probability the model gives each (sigmoid of its logit).
pub fn tag_image(run: &Path, picture: &Path, extra: &[String], k: usize, device: &Device) -> Result<Vec<(String, f32)>, RunError> {
    let (config, model) = load_model::<Tagging>(run, device)?;
    let image = mm_vision::load_rgb(picture).map_err(data_error)?;
    let features = match config.world {
        TagWorld::Mnist => {
            let (_, classifier) = load_pretrained::<crate::encoders::mnist::Mnist>(&config.encoder_run(), device)?;
            let gray = image::imageops::grayscale(&image::imageops::resize(&image, 28, 28, image::imageops::FilterType::Triangle));
            let mut values: Vec<f32> = gray.pixels().map(|p| p.0[0] as f32 / 255.0).collect();
            // MNIST digits are light on dark: invert pictures drawn dark on light.
            if values.iter().sum::<f32>() / values.len() as f32 > 0.5 {
                values.iter_mut().for_each(|v| *v = 1.0 - *v);
            }
            Normalize::mnist().apply_to_each(&mut values, 28 * 28);
            encode_images(&classifier.encoder, &values, [1, 28, 28], Readout::AverageAndMax, device)
        }
        TagWorld::Shapes => {
            let (shapes_config, describer) = load_pretrained::<crate::encoders::shapes::Shapes>(&config.encoder_run(), device)?;
            let side = shapes_config.image_size;
            let resized = image::imageops::resize(&image, side, side, image::imageops::FilterType::Triangle);
            let values = crate::inputs::picture_input(&resized);
            encode_images(&describer.encoder, &values, [3, side as usize, side as usize], Readout::AverageAndMax, device)
        }
    };
    let x = Tensor::<2>::from_data(TensorData::new(features.clone(), [1, features.len()]), device);
    let mut words = config.tags();
    words.extend(extra.iter().cloned());
    let vectors = load_vectors(&config)?;
    let rows = word_rows(&vectors, &words, &config.vectors)?;
    let word_vectors = Tensor::<2>::from_data(TensorData::new(rows, [words.len(), vectors.dim()]), device);
    let logits: Vec<f32> = model.score_words(x, word_vectors).into_data().convert::<f32>().try_into_vec::<f32>().expect("float");
    let mut scored: Vec<(String, f32)> = words.into_iter().zip(logits).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    Ok(scored.into_iter().map(|(w, logit)| (w, 1.0 / (1.0 + (-logit).exp()))).collect())
}

/// The `k` test pictures nearest to `word` in the joint space, drawn as a captioned grid at `out`; returns
/// (test index, cosine similarity), best first.
pub fn search_images(run: &Path, root: &DataRoot, word: &str, k: usize, out: &Path, device: &Device) -> Result<Vec<(usize, f32)>, RunError> {
    let (config, model) = load_model::<Tagging>(run, device)?;
    let world = world_features(&config, root, Split::Test, device, None)?;
    let images = image_embeddings(&model, &world, device);
    let query = WordSide::new(&model, &config, device)?.embed(&[word.to_string()])?;
    let found = CosineIndex::new(&images, model.d_joint()).top_k(&query, k);
    let items: Vec<(RgbImage, String)> = found.iter().map(|&(i, s)| (picture(&world, i), format!("#{i} {s:.2}"))).collect();
    mm_vision::picture::captioned_grid(&items, 8.min(k.max(1)), 3, out).map_err(data_error)?;
    Ok(found)
}

impl std::fmt::Display for TaggingReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.image_to_tag;
        write!(
            f,
            "tagging ({:?}, {} test pictures): image → tag R@1 {:.4} R@5 {:.4} medR {}; top tag correct {:.4}; tag → image P@10 {:.4}",
            self.world, self.images, m.recall_at_1, m.recall_at_5, m.median_rank, self.top_tag_correct, self.tag_to_image_precision_at_10
        )?;
        let b = &self.baseline;
        write!(
            f,
            "\n  baseline (always {:?}, the most frequent training tag; random ranking): top tag correct {:.4}; tag → image P@10 {:.4}",
            b.most_frequent_tag, b.top_tag_correct, b.tag_to_image_precision_at_10
        )?;
        if let Some(z) = &self.zero_shot {
            write!(
                f,
                "\n  zero-shot, digits {:?} ({} pictures): by name {:.4}, by description {:.4} (chance {:.2}); among all ten {:.4} (chance 0.10)",
                z.digits, z.images, z.by_name, z.by_description, z.chance, z.generalised_by_description
            )?;
            let [seen, unseen, harmonic] = z.calibrated.uncalibrated;
            write!(
                f,
                "\n  calibrated stacking: AUSUC {:.4}; uncalibrated seen {seen:.4}, held out {unseen:.4}, H {harmonic:.4}; best H on the curve {:.4}",
                z.calibrated.ausuc, z.calibrated.best_harmonic_mean
            )?;
        }
        if let Some(a) = &self.arithmetic {
            write!(
                f,
                "\n  arithmetic: picture(a) − word(a) + word(b) lands on a b in {:.4} of {} queries (picture alone {:.4}, word alone {:.4})",
                a.hits, a.queries, a.image_alone, a.word_alone
            )?;
        }
        Ok(())
    }
}

/// The full report of a tagging run, evaluated now (on the test scenes of `test_seed`, if given), with the
/// pictures it drew.
fn report_of(run: &Path, data: &DataRoot, device: Option<crate::DeviceKind>, test_seed: Option<u64>) -> Result<Box<dyn crate::systems::Report>, RunError> {
    let report = evaluate_tagging_on(run, data, &crate::systems::device_of(device)?, test_seed)?;
    let out = report_folder(run, test_seed);
    Ok(Box::new(crate::systems::WithFiles { report, files: vec![out.join("retrieval.png"), out.join("joint-space.png"), out.join("tagging.json")] }))
}

/// After training and at `eval`: tagging, zero-shot, arithmetic and pictures (tagging.json, retrieval.png,
/// joint-space.png).
impl crate::systems::System for super::Tagging {
    fn after_training(run: &Path, request: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        report_of(run, &request.root(), request.overrides.device, None).map(Some)
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        request.test_only::<Self>("the tagging report")?;
        report_of(&request.run_of::<Self>(), &request.root(), request.device, request.test_seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two seen pictures (margins 1 and −1, their best seen description right) and two held-out ones (margins
    /// 0.5 and −0.5, their best held-out description right), worked by hand: the curve goes (1, 0), (0.5, 0),
    /// (0.5, 0.5), (0.5, 1), (0, 1) as (seen, held-out) accuracy, so the area is 0.5.
    #[test]
    fn calibrated_stacking_sweeps_the_curve() {
        let pictures = [(1.0, true, true, false), (-1.0, true, true, false), (0.5, false, false, true), (-0.5, false, false, true)];
        let curve = calibrated_stacking(&pictures);
        assert!((curve.ausuc - 0.5).abs() < 1e-12, "{curve:?}");
        assert_eq!(curve.uncalibrated, [0.5, 0.5, 0.5]);
        assert!((curve.best_harmonic_mean - 2.0 / 3.0).abs() < 1e-12);
        // A perfect model: every seen picture's margin above every held-out one's, all right: area 1.
        let perfect = calibrated_stacking(&[(2.0, true, true, false), (1.0, true, true, false), (-1.0, false, false, true)]);
        assert!((perfect.ausuc - 1.0).abs() < 1e-12, "{perfect:?}");
    }
}
