//! The test report of a VQA run (`vqa.json`): the official accuracy overall and per answer type (and per question
//! type), beside the trivial prior — the most frequent training answer of each question type — on the test
//! questions and, with held-out combinations, on the compositional test, and apart on the questions whose text
//! no training question has; and for stacked attention, its maps over
//! the first test pictures (`attention.png`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use burn::tensor::Device;
use image::RgbImage;
use mm_vision::picture::{attention_overlay, captioned_grid};
use serde::{Deserialize, Serialize};

use super::accuracy::vqa_accuracy;
use super::items::{VqaBatch, VqaBatcher, VqaItem, VqaItems};
use super::questions::{AnswerVocabulary, QuestionSet, QuestionSplit};
use super::{VqaModel, VqaOutput, VqaTaskConfig, VqaVariant};
use crate::data_error;
use crate::runner::{Context, Dataset, Loader, RunError, Scores, Split, limited};

/// Where the report goes in the run folder.
pub const REPORT_FILE: &str = "vqa.json";
/// Stacked attention's picture of the first test questions.
pub const ATTENTION_FILE: &str = "attention.png";

/// The accuracy over a group of questions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TypeScore {
    /// Questions in the group.
    pub questions: usize,
    /// Mean VQA accuracy.
    pub accuracy: f64,
}

/// One answerer's scores on a split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Over every question.
    pub overall: f64,
    /// Half-width of its 95% interval over the pictures (the independent unit: a picture's questions share it),
    /// each picture's mean accuracy.
    #[serde(default)]
    pub interval: f64,
    /// By answer type (VQA's yes/no, number, other; the shapes world's question kinds).
    pub by_answer_type: BTreeMap<String, TypeScore>,
    /// By question type (VQA's question prefixes; the shapes world's kinds again).
    pub by_question_type: BTreeMap<String, TypeScore>,
}

/// One answered question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    /// The picture's row in the split.
    pub picture: usize,
    /// The question.
    pub question: String,
    /// The humans' (multiple-choice) answer.
    pub truth: String,
    /// The model's answer.
    pub answer: String,
    /// Its VQA accuracy.
    pub accuracy: f64,
}

/// The scores on one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    /// "test" or "compositional test".
    pub split: String,
    /// Pictures.
    pub pictures: usize,
    /// Questions.
    pub questions: usize,
    /// The model.
    pub model: Scored,
    /// The most frequent training answer of the question's type.
    pub prior: Scored,
    /// Questions whose text no training question has (a grammar repeats its sentences; these are the new ones).
    #[serde(default)]
    pub novel_questions: usize,
    /// The model's accuracy on them (0 when there are none).
    #[serde(default)]
    pub novel_accuracy: f64,
    /// The prior's accuracy on them.
    #[serde(default)]
    pub novel_prior_accuracy: f64,
    /// The first questions, answered.
    pub examples: Vec<Answered>,
}

/// A run's `vqa.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VqaReport {
    /// The network, as tables name it.
    pub variant: String,
    /// The test split, then the compositional test when there is one.
    pub splits: Vec<SplitReport>,
}

/// Running sums of accuracy per group.
#[derive(Default)]
struct Sums {
    total: f64,
    count: usize,
    by_answer: BTreeMap<String, (f64, usize)>,
    by_question: BTreeMap<String, (f64, usize)>,
    by_picture: BTreeMap<usize, (f64, usize)>,
}

impl Sums {
    fn add(&mut self, picture: usize, answer_type: &str, question_type: &str, accuracy: f64) {
        self.total += accuracy;
        self.count += 1;
        let entry = self.by_picture.entry(picture).or_default();
        entry.0 += accuracy;
        entry.1 += 1;
        for (map, key) in [(&mut self.by_answer, answer_type), (&mut self.by_question, question_type)] {
            let entry = map.entry(key.to_string()).or_default();
            entry.0 += accuracy;
            entry.1 += 1;
        }
    }

    fn scored(&self) -> Scored {
        let table =
            |map: &BTreeMap<String, (f64, usize)>| map.iter().map(|(k, &(sum, n))| (k.clone(), TypeScore { questions: n, accuracy: sum / n as f64 })).collect();
        let per_picture: Vec<f64> = self.by_picture.values().map(|&(sum, n)| sum / n as f64).collect();
        Scored {
            overall: self.total / self.count.max(1) as f64,
            interval: crate::runner::interval_95_or_zero(&per_picture),
            by_answer_type: table(&self.by_answer),
            by_question_type: table(&self.by_question),
        }
    }
}

/// Each question's top class, in the order of `loader`'s batches: `(picture row, question number, class)`.
fn predictions(model: &VqaModel, loader: &Loader<VqaItem, VqaBatch>, device: &Device) -> Result<Vec<(usize, usize, usize)>, RunError> {
    let mut out = Vec::new();
    for (_, batch) in loader.batches((0..loader.len()).collect(), 32, 0, None, device) {
        let batch = batch?;
        let [q, _] = batch.tokens.dims();
        let top = model.answer(&batch).logits.argmax(1).reshape([q]).into_data().convert::<i64>();
        let classes: Vec<i64> = top.try_into_vec::<i64>()?;
        out.extend(batch.rows.iter().zip(classes).map(|(&(picture, number), class)| (picture, number, class as usize)));
    }
    Ok(out)
}

/// Stacked attention's maps as numbers, one `[places]` per hop (empty for the other variants).
pub fn attention_values(output: &VqaOutput) -> Vec<Vec<f32>> {
    output.attention.iter().map(|a| a.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()).collect()
}

/// Scores `model` on `loader`'s questions (of `set`) beside the per-type prior.
///
/// `seen` holds the training questions' texts: the questions outside it are also scored apart.
pub fn score_split(
    name: &str,
    model: &VqaModel,
    set: &QuestionSet,
    loader: &Loader<VqaItem, VqaBatch>,
    vocabulary: &AnswerVocabulary,
    seen: &HashSet<String>,
    device: &Device,
) -> Result<SplitReport, RunError> {
    let (mut ours, mut prior) = (Sums::default(), Sums::default());
    let (mut novel, mut novel_ours, mut novel_prior) = (0usize, 0.0, 0.0);
    let mut examples = Vec::new();
    let answered = predictions(model, loader, device)?;
    for &(picture, number, class) in &answered {
        let record = &set.pictures[picture].questions[number];
        let answer = vocabulary.answers.get(class).cloned().unwrap_or_default();
        let accuracy = vqa_accuracy(&answer, &record.humans);
        let prior_accuracy = vqa_accuracy(vocabulary.prior_answer(&record.question_type), &record.humans);
        ours.add(picture, &record.answer_type, &record.question_type, accuracy);
        prior.add(picture, &record.answer_type, &record.question_type, prior_accuracy);
        if !seen.contains(&record.text) {
            novel += 1;
            novel_ours += accuracy;
            novel_prior += prior_accuracy;
        }
        if examples.len() < 16 {
            examples.push(Answered { picture, question: record.text.clone(), truth: record.multiple_choice.clone(), answer, accuracy });
        }
    }
    let pictures = answered.iter().map(|a| a.0).collect::<std::collections::BTreeSet<_>>().len();
    let share = |sum: f64| if novel == 0 { 0.0 } else { sum / novel as f64 };
    Ok(SplitReport {
        split: name.into(),
        pictures,
        questions: answered.len(),
        model: ours.scored(),
        prior: prior.scored(),
        novel_questions: novel,
        novel_accuracy: share(novel_ours),
        novel_prior_accuracy: share(novel_prior),
        examples,
    })
}

fn put(scores: &mut Scores, prefix: &str, scored: &Scored) {
    scores.insert(format!("{prefix}accuracy"), scored.overall);
    scores.insert(format!("{prefix}accuracy_interval"), scored.interval);
    for (kind, score) in &scored.by_answer_type {
        scores.insert(format!("{prefix}accuracy/{kind}"), score.accuracy);
    }
}

/// The test report (`vqa.json`, and `attention.png` for stacked attention) and its scores: `accuracy`,
/// `accuracy/TYPE`, `prior_accuracy…`, and with held-out combinations `compositional_accuracy…`.
pub fn evaluate(config: &VqaTaskConfig, context: &Context, model: &VqaModel, loader: &Loader<VqaItem, VqaBatch>, device: &Device) -> Result<Scores, RunError> {
    let vocabulary = AnswerVocabulary::load(&context.prepared())?;
    let test = config.items(context, QuestionSplit::Runner(Split::Test))?;
    let seen: HashSet<String> = config.question_set(QuestionSplit::Runner(Split::Train))?.questions().map(|(_, q)| q.text.clone()).collect();
    let mut splits = vec![score_split("test", model, test.set(), loader, &vocabulary, &seen, device)?];
    if config.compositional() {
        let items = config.items(context, QuestionSplit::Compositional)?;
        let compositional = Loader::new(
            limited(Arc::new(items.clone()), config.train.limit),
            Arc::new(VqaBatcher { side: config.encoder.side()?, classes: config.net.answers }),
            0,
            2,
        );
        splits.push(score_split("compositional test", model, items.set(), &compositional, &vocabulary, &seen, device)?);
    }
    if matches!(model.net.variant(), VqaVariant::StackedAttention { .. }) {
        draw_attention(config, model, &test, &vocabulary, &context.reports.join(ATTENTION_FILE), device)?;
    }
    let mut scores = Scores::new();
    for (split, prefix) in splits.iter().zip(["", "compositional_"]) {
        put(&mut scores, prefix, &split.model);
        put(&mut scores, &format!("{prefix}prior_"), &split.prior);
        if split.novel_questions > 0 {
            scores.insert(format!("{prefix}novel_question_accuracy"), split.novel_accuracy);
        }
    }
    let report = VqaReport { variant: config.net.variant.name(), splits };
    crate::runner::write_atomically(&context.reports.join(REPORT_FILE), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    Ok(scores)
}

/// The panels of one answered question: the picture under the question, then each hop's attention, the last
/// with the answer.
pub fn attention_panels(picture: &RgbImage, question: &str, answer: &str, maps: &[Vec<f32>], grid: [usize; 2]) -> Vec<(RgbImage, String)> {
    let mut panels = vec![(picture.clone(), question.to_string())];
    for (hop, alpha) in maps.iter().enumerate() {
        let label = if hop + 1 == maps.len() { format!("hop {} → {answer}", hop + 1) } else { format!("hop {}", hop + 1) };
        panels.push((attention_overlay(picture, alpha, grid[0], grid[1]), label));
    }
    panels
}

/// Stacked attention over the first eight test pictures, one question each (a relation or position question
/// where the picture has one), a row per picture.
fn draw_attention(
    config: &VqaTaskConfig,
    model: &VqaModel,
    test: &VqaItems,
    vocabulary: &AnswerVocabulary,
    path: &std::path::Path,
    device: &Device,
) -> Result<(), RunError> {
    let side = config.encoder.side()?;
    let grid = config.encoder.map_grid()?;
    let batcher = VqaBatcher { side, classes: config.net.answers };
    let mut panels = Vec::new();
    let mut columns = 1;
    for index in 0..test.len().min(8) {
        let mut item = test.get(index)?;
        let records = &test.set().pictures[item.index].questions;
        let pick = ["relation", "position", "colour", "shape"]
            .iter()
            .find_map(|kind| item.questions.iter().position(|q| records[q.number].question_type == *kind))
            .unwrap_or(0);
        item.questions = vec![item.questions.swap_remove(pick)];
        let record = &records[item.questions[0].number];
        let batch = burn::data::dataloader::batcher::Batcher::batch(&batcher, vec![item.clone()], device);
        let output = model.answer(&batch);
        let maps = attention_values(&output);
        let class: i64 = output.logits.argmax(1).into_scalar();
        let answer = vocabulary.answers.get(class as usize).cloned().unwrap_or_default();
        let picture = test.set().picture(item.index, side as u32)?;
        let row = attention_panels(&picture, &format!("{} ({})", record.text, record.multiple_choice), &answer, &maps, grid);
        columns = row.len();
        panels.extend(row);
    }
    let zoom = (160 / side.max(1) as u32).max(1);
    captioned_grid(&panels, columns, zoom, path).map_err(data_error)
}

/// The VQA reports of several runs, one table per split: each run's model, then the first run's per-type prior.
pub type VqaTable = crate::systems::SavedReports<VqaReport>;

impl crate::systems::SavedReport for VqaReport {
    const FILE: &'static str = REPORT_FILE;
    const WHAT: &'static str = "the VQA report";
}

fn table_row(name: &str, scored: &Scored, types: &[String]) -> String {
    let cells: Vec<String> = types
        .iter()
        .map(|t| scored.by_answer_type.get(t).map_or("–".into(), |s| format!("{:.4}", s.accuracy)))
        .zip(types)
        .map(|(cell, t)| format!("{cell:<width$}", width = t.len().max(6)))
        .collect();
    format!("  {name:<28} {:<15}  {}", format!("{:.4} ± {:.3}", scored.overall, scored.interval), cells.join("  "))
}

impl std::fmt::Display for VqaTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = &self.reports[0];
        let mut lines = Vec::new();
        for (s, split) in first.splits.iter().enumerate() {
            let types: Vec<String> = split.model.by_answer_type.keys().cloned().collect();
            lines.push(format!(
                "{} ({} questions on {} pictures; official VQA accuracy; the interval over pictures):",
                split.split, split.questions, split.pictures
            ));
            let header: Vec<String> = types.iter().map(|t| format!("{t:<width$}", width = t.len().max(6))).collect();
            lines.push(format!("  {:<28} {:<15}  {}", "answerer", "all (± 95%)", header.join("  ")));
            for (report, run) in self.reports.iter().zip(&self.runs) {
                match report.splits.get(s).filter(|other| other.split == split.split) {
                    Some(other) => lines.push(table_row(&report.variant, &other.model, &types)),
                    None => lines.push(format!("  {:<28} (no {} in {})", report.variant, split.split, run.display())),
                }
            }
            lines.push(table_row("prior (per question type)", &split.prior, &types));
            for (report, run) in self.reports.iter().zip(&self.runs) {
                if let Some(other) = report.splits.get(s).filter(|other| other.split == split.split) {
                    let scores = if other.novel_questions > 0 {
                        format!(": accuracy {:.4} (prior {:.4})", other.novel_accuracy, other.novel_prior_accuracy)
                    } else {
                        String::new()
                    };
                    lines.push(format!(
                        "  {}: {} of the questions are sentences no training question has{scores} [{}]",
                        report.variant,
                        other.novel_questions,
                        run.display()
                    ));
                }
            }
        }
        write!(f, "{}", lines.join("\n"))
    }
}

/// After training: the table of the run; `eval`: the run evaluated on the test split again (its report
/// rewritten), in one table with the `--compare` runs' saved reports.
impl crate::systems::System for super::Vqa {
    fn after_training(run: &std::path::Path, _: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        crate::systems::table_of_run::<Self, VqaReport>(run)
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        crate::systems::eval_with_table::<Self, VqaReport>(request)
    }
}
