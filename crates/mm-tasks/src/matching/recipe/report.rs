//! The recipe task's report: retrieval in both directions on independent test sets of two families — digit sets
//! training also draws from, and held-out digit sets whose instructions never occur in training — and the choice
//! of the right order among a picture's reordered instructions.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::Device;
use mm_joint::recipe::TextEncoderKind;
use mm_joint::retrieval::{CosineIndex, PairedRetrieval, RetrievalMetrics, paired_retrieval};
use serde::Serialize;

use image::RgbImage;

use super::{Recipe, RecipeBatcher, RecipePairs, SLOTS, TestDigitSets, embed_all, generate_test_sets, items, picture_rows, test_seed};
use crate::data::DataRoot;
use crate::data_error;
use crate::matching::joint_plot::draw_joint_space;
use crate::runner::{InMemDataset, Loader, RunError, interval_95, load_model};

/// One test set's results.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeTestSet {
    /// Both directions of retrieval among the set's pairs.
    pub retrieval: PairedRetrieval,
    /// The picture's own instruction is the most similar among its group's reorderings.
    pub order_accuracy: f64,
}

/// One family of test sets (seen or held-out digit sets): means, 95% intervals and every set.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeTestFamily {
    /// Which digit sets.
    pub digit_sets: TestDigitSets,
    /// Pairs per set, and the median rank a random ranking would give among them, `(n + 1) / 2`.
    pub pairs_per_set: usize,
    /// … the chance median rank.
    pub chance_median_rank: f64,
    /// Means over the sets: image → text medR, R@1, R@5, R@10.
    pub image_to_text: [f64; 4],
    /// … text → image.
    pub text_to_image: [f64; 4],
    /// Half-widths of the 95% intervals (Student's t over the sets) of image → text medR and R@1.
    pub image_to_text_interval: [f64; 2],
    /// … of text → image medR and R@1.
    pub text_to_image_interval: [f64; 2],
    /// Mean order accuracy (chance: 1 / orders per group).
    pub order_accuracy: f64,
    /// Every set.
    pub test_sets: Vec<RecipeTestSet>,
}

/// The evaluation of a recipe run, as written to `recipe.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeReport {
    /// lstm or bag-of-words.
    pub text_encoder: TextEncoderKind,
    /// Semantic-regularisation weight it was trained with.
    pub semantic_weight: f32,
    /// Test sets of the digit sets training also draws from (new pictures, instructions possibly seen).
    pub seen: RecipeTestFamily,
    /// Test sets of the held-out digit sets (no instruction occurs in training).
    pub held_out: RecipeTestFamily,
    /// 1 / orders_per_group.
    pub order_chance: f64,
}

/// Evaluates `run` on both families of test sets and writes `recipe.json` in it, and two pictures of the first
/// held-out test set: `retrieval.png` (the pictures of its first two groups with their best instruction) and
/// `joint-space.png`.
pub fn evaluate_recipe(run: &Path, root: &DataRoot, device: &Device) -> Result<RecipeReport, RunError> {
    let (config, matcher) = load_model::<Recipe>(run, device)?;
    let mut families = Vec::new();
    for (digit_sets, pairs) in [(TestDigitSets::Seen, config.test_pairs), (TestDigitSets::HeldOut, config.held_out_test_pairs)] {
        let mut sets = Vec::new();
        for (s, pairs) in generate_test_sets(root, digit_sets, config.test_sets, pairs, config.orders_per_group, test_seed(0))?.iter().enumerate() {
            let features = picture_rows(&config, pairs, device)?;
            let loader = Loader::new(Arc::new(InMemDataset::new(items(pairs, &features))), Arc::new(RecipeBatcher), 0, 1);
            let (images, texts) = embed_all(&matcher, &loader, device)?;
            let (dim, group) = (config.model.d_joint, config.orders_per_group);
            let right = (0..pairs.texts.len())
                .filter(|&i| {
                    let start = i / group * group;
                    CosineIndex::new(&texts[start * dim..(start + group) * dim], dim).rank(&images[i * dim..(i + 1) * dim], i - start) == 1
                })
                .count();
            if s == 0 && digit_sets == TestDigitSets::HeldOut {
                draw_pictures(run, pairs, &images, &texts, dim)?;
            }
            sets.push(RecipeTestSet { retrieval: paired_retrieval(&images, &texts, dim), order_accuracy: right as f64 / pairs.texts.len() as f64 });
        }
        families.push(summarise(digit_sets, pairs, sets));
    }
    let held_out = families.pop().expect("two families");
    let report = RecipeReport {
        text_encoder: config.model.text_encoder,
        semantic_weight: config.semantic_weight,
        seen: families.pop().expect("two families"),
        held_out,
        order_chance: 1.0 / config.orders_per_group as f64,
    };
    crate::runner::write_atomically(&run.join("recipe.json"), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    crate::runner::refresh_events(run)?;
    Ok(report)
}

fn summarise(digit_sets: TestDigitSets, pairs_per_set: usize, sets: Vec<RecipeTestSet>) -> RecipeTestFamily {
    let n = sets.len() as f64;
    let summary = |m: &RetrievalMetrics| [m.median_rank as f64, m.recall_at_1, m.recall_at_5, m.recall_at_10];
    let mean = |pick: &dyn Fn(&RecipeTestSet) -> [f64; 4]| -> [f64; 4] {
        let mut sum = [0.0; 4];
        sets.iter().for_each(|s| pick(s).iter().enumerate().for_each(|(k, v)| sum[k] += v / n));
        sum
    };
    let interval =
        |pick: &dyn Fn(&RecipeTestSet) -> [f64; 4]| -> [f64; 2] { [0, 1].map(|k| interval_95(&sets.iter().map(|s| pick(s)[k]).collect::<Vec<_>>())) };
    let image_to_text = |s: &RecipeTestSet| summary(&s.retrieval.a_to_b);
    let text_to_image = |s: &RecipeTestSet| summary(&s.retrieval.b_to_a);
    RecipeTestFamily {
        digit_sets,
        pairs_per_set,
        chance_median_rank: (pairs_per_set as f64 + 1.0) / 2.0,
        image_to_text: mean(&image_to_text),
        text_to_image: mean(&text_to_image),
        image_to_text_interval: interval(&image_to_text),
        text_to_image_interval: interval(&text_to_image),
        order_accuracy: sets.iter().map(|s| s.order_accuracy).sum::<f64>() / n,
        test_sets: sets,
    }
}

/// The pictures of test set 0.
fn draw_pictures(run: &Path, pairs: &RecipePairs, images: &[f32], texts: &[f32], dim: usize) -> Result<(), RunError> {
    let index = CosineIndex::new(texts, dim);
    let mut items = Vec::new();
    for i in 0..8.min(pairs.texts.len()) {
        let best = index.top_k(&images[i * dim..(i + 1) * dim], 1)[0].0;
        let caption =
            if best == i { format!("best: {} (right)", pairs.texts[best]) } else { format!("best: {} (wrong; true: {})", pairs.texts[best], pairs.texts[i]) };
        items.push((strip_picture(pairs, i), caption));
    }
    mm_vision::picture::captioned_grid(&items, 2, 3, &run.join("retrieval.png")).map_err(data_error)?;
    let groups: Vec<usize> = pairs.sequences.iter().map(|s| s[0] as usize).collect();
    let names: Vec<String> = (0..10).map(|d| format!("starts with {d}")).collect();
    let labels: Vec<(String, Vec<f32>)> = (0..12.min(pairs.texts.len()))
        .map(|i| {
            let digits: Vec<String> = pairs.sequences[i].iter().map(u8::to_string).collect();
            (format!("\"{}\"", digits.join("-")), texts[i * dim..(i + 1) * dim].to_vec())
        })
        .collect();
    let title = "recipe: test pictures (colour: first digit) and instructions (quoted) in the joint space";
    draw_joint_space(images, dim, &groups, &names, &[], &labels, title, &run.join("joint-space.png"))
}

/// Pair `i`'s picture as an RGB image.
fn strip_picture(pairs: &RecipePairs, i: usize) -> RgbImage {
    let (width, height) = (28 * SLOTS, 28);
    mm_vision::transforms::Normalize::mnist().to_rgb(&pairs.pictures[i * width * height..(i + 1) * width * height], height, width)
}

impl std::fmt::Display for RecipeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "recipe ({:?}, semantic weight {}):", self.text_encoder, self.semantic_weight)?;
        for (name, family) in [("seen digit sets (new pictures)", &self.seen), ("held-out digit sets (instructions never in training)", &self.held_out)] {
            let ([m, r1, r5, r10], [tm, tr1, tr5, tr10]) = (family.image_to_text, family.text_to_image);
            let ([dm, dr1], [dtm, dtr1]) = (family.image_to_text_interval, family.text_to_image_interval);
            write!(
                f,
                "\n  {name}: mean ± 95% interval of {} independent test sets of {} pairs (chance medR {:.1})",
                family.test_sets.len(),
                family.pairs_per_set,
                family.chance_median_rank
            )?;
            write!(f, "\n    image → text: medR {m:.1} ± {dm:.1}  R@1 {r1:.4} ± {dr1:.4}  R@5 {r5:.4}  R@10 {r10:.4}")?;
            write!(f, "\n    text → image: medR {tm:.1} ± {dtm:.1}  R@1 {tr1:.4} ± {dtr1:.4}  R@5 {tr5:.4}  R@10 {tr10:.4}")?;
            write!(f, "\n    right order among the reordered instructions: {:.4} (chance {:.2})", family.order_accuracy, self.order_chance)?;
        }
        Ok(())
    }
}

impl crate::systems::Report for RecipeReport {
    fn json(&self) -> String {
        crate::systems::json_line(self)
    }
}

/// After training and at `eval`: retrieval on independent test sets, both directions (recipe.json).
impl crate::systems::System for super::Recipe {
    fn after_training(run: &Path, request: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        Ok(Some(Box::new(evaluate_recipe(run, &request.root(), &crate::systems::device_of(request.overrides.device)?)?)))
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        Ok(Box::new(evaluate_recipe(&request.run_of::<Self>(), &request.root(), &crate::systems::device_of(request.device)?)?))
    }
}
