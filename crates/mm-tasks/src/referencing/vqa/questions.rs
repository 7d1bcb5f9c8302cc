//! Questions about pictures, as the VQA task reads them: the shapes world's generated questions (train,
//! validation and test from different seeds, optionally with colour-shape combinations held out of training for
//! a compositional test, in the spirit of CLEVR-CoGenT) or VQA v2's files; and the answer vocabulary (the K most
//! frequent training answers) with the per-type prior.

use std::collections::BTreeMap;
use std::path::Path;

use image::RgbImage;
use image::imageops::FilterType;
use serde::{Deserialize, Serialize};

use super::accuracy::normalise_answer;
pub use super::records::{PictureQuestions, PictureSource, QuestionRecord};
use super::vqa_v2::{VqaV2Files, read_split};
use crate::data::shapes::{Colour, Object, SceneSplits, Shape, ShapesConfig, ShapesWorld, render};
use crate::data_error;
use crate::runner::{RunError, Split};

/// The file in a run's `prepared/` that holds the answer vocabulary and the per-type priors.
pub const ANSWERS_FILE: &str = "answers.json";

/// A colour-shape combination ("red circle").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Combination {
    /// The colour.
    pub colour: Colour,
    /// The shape.
    pub shape: Shape,
}

impl Combination {
    fn holds(&self, object: &Object) -> bool {
        object.colour == self.colour && object.shape == self.shape
    }
}

/// The shapes world's questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapesQuestions {
    /// Scenes per split and their seeds.
    pub scenes: SceneSplits,
    /// Colour-shape combinations that no training or validation scene holds (CoGenT-style). With any, the test
    /// split is the test seed's scenes without them too, and the test report adds the compositional test: test
    /// seed scenes each holding at least one of them. Default none.
    #[serde(default)]
    pub held_out: Vec<Combination>,
}

/// Where the questions come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum VqaSource {
    /// The shapes world (no files needed).
    Shapes(ShapesQuestions),
    /// VQA v2's questions and annotations over COCO pictures.
    VqaV2(VqaV2Files),
}

impl Default for VqaSource {
    /// 10,000 scenes of seed 40 train, 500 of seed 42 validate, 1,000 of seed 41 test (seeds used by no other
    /// task; the shapes encoder trained on seeds 0 and 2).
    fn default() -> Self {
        VqaSource::Shapes(ShapesQuestions {
            scenes: SceneSplits { train_scenes: 10_000, valid_scenes: 500, test_scenes: 1_000, train_seed: 40, valid_seed: 42, test_seed: 41 },
            held_out: Vec::new(),
        })
    }
}

/// Which questions a report reads: a runner split, or the compositional test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionSplit {
    /// Train, validation or test.
    Runner(Split),
    /// Test-seed scenes holding a held-out combination (shapes world with `held_out` only).
    Compositional,
}

/// The pictures and questions of one split.
#[derive(Debug, Clone)]
pub struct QuestionSet {
    world: Option<ShapesWorld>,
    /// The pictures, each with its questions.
    pub pictures: Vec<PictureQuestions>,
}

/// The record of a shapes question: its answer given by ten "humans", normalised as VQA's annotations are.
fn shapes_record(question: crate::data::shapes::Question) -> QuestionRecord {
    let kind = serde_json::to_value(question.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let answer = normalise_answer(&question.answer);
    QuestionRecord { text: question.text, humans: vec![answer.clone(); 10], multiple_choice: answer, question_type: kind.clone(), answer_type: kind }
}

impl QuestionSet {
    /// The questions of `split` of `source`, with pictures at `side` pixels.
    pub fn open(source: &VqaSource, split: QuestionSplit, side: u32) -> Result<Self, RunError> {
        match source {
            VqaSource::Shapes(settings) => Self::shapes(settings, split, side),
            VqaSource::VqaV2(files) => {
                let files = match split {
                    QuestionSplit::Runner(Split::Train) => &files.train,
                    QuestionSplit::Runner(Split::Valid) => &files.valid,
                    QuestionSplit::Runner(Split::Test) => &files.test,
                    QuestionSplit::Compositional => return Err(RunError::setting("source", "the compositional test needs the shapes world's held_out")),
                };
                Ok(Self { world: None, pictures: read_split(files)? })
            }
        }
    }

    fn shapes(settings: &ShapesQuestions, split: QuestionSplit, side: u32) -> Result<Self, RunError> {
        let runner_split = match split {
            QuestionSplit::Runner(s) => s,
            QuestionSplit::Compositional => Split::Test,
        };
        let (seed, count) = settings.scenes.split(runner_split, "vqa.source.scenes")?;
        if split == QuestionSplit::Compositional && settings.held_out.is_empty() {
            return Err(RunError::setting("source.held_out", "the compositional test needs held-out combinations"));
        }
        let world = ShapesWorld::new(ShapesConfig { image_size: side, ..ShapesConfig::default() }, seed);
        let holds_held_out = |objects: &[Object]| objects.iter().any(|o| settings.held_out.iter().any(|c| c.holds(o)));
        let wanted = |objects: &[Object]| match split {
            QuestionSplit::Compositional => holds_held_out(objects),
            QuestionSplit::Runner(_) => !holds_held_out(objects),
        };
        let mut pictures = Vec::with_capacity(count);
        let mut index = 0u64;
        while pictures.len() < count {
            if index >= 1000 * count as u64 {
                return Err(RunError::setting(
                    "source.held_out",
                    format!("leaves too few {} scenes (found {} in {index})", runner_split.name(), pictures.len()),
                ));
            }
            if wanted(&world.objects(index)) {
                let questions = world.questions(index).into_iter().map(shapes_record).collect();
                pictures.push(PictureQuestions { picture: PictureSource::Scene(index), questions });
            }
            index += 1;
        }
        Ok(Self { world: Some(world), pictures })
    }

    /// Every question, with its picture's row.
    pub fn questions(&self) -> impl Iterator<Item = (usize, &QuestionRecord)> {
        self.pictures.iter().enumerate().flat_map(|(p, picture)| picture.questions.iter().map(move |q| (p, q)))
    }

    /// Picture `row` at `side` × `side` (a photograph is scaled, its aspect not kept).
    pub fn picture(&self, row: usize, side: u32) -> Result<RgbImage, RunError> {
        match (&self.pictures[row].picture, &self.world) {
            (PictureSource::Scene(index), Some(world)) => Ok(render(&world.objects(*index), side)),
            (PictureSource::File(path), _) => {
                let image = mm_vision::load_rgb(path).map_err(data_error)?;
                Ok(image::imageops::resize(&image, side, side, FilterType::Triangle))
            }
            (PictureSource::Scene(_), None) => Err(RunError::Contract { task: "vqa", problem: "a scene without its world".into() }),
        }
    }

    /// The objects of picture `row`, for a shapes scene.
    pub fn objects(&self, row: usize) -> Option<Vec<Object>> {
        match (&self.pictures[row].picture, &self.world) {
            (PictureSource::Scene(index), Some(world)) => Some(world.objects(*index)),
            _ => None,
        }
    }
}

/// The answers the model chooses among, and the trivial baselines' answers, from the training questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerVocabulary {
    /// The K most frequent training answers (normalised), most frequent first; class `k` is `answers[k]`.
    pub answers: Vec<String>,
    /// The most frequent training answer of each question type (the per-type prior baseline).
    pub prior: BTreeMap<String, String>,
    /// The most frequent training answer overall.
    pub most_frequent: String,
}

/// The most frequent key (ties: the first in order).
fn most_frequent(counts: &BTreeMap<String, usize>) -> String {
    counts.iter().max_by_key(|(answer, n)| (**n, std::cmp::Reverse((*answer).clone()))).map(|(a, _)| a.clone()).unwrap_or_default()
}

impl AnswerVocabulary {
    /// The `k` most frequent multiple-choice answers of `training` (ties broken alphabetically), and the priors.
    pub fn count(training: &QuestionSet, k: usize) -> Self {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_type: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (_, q) in training.questions() {
            let answer = normalise_answer(&q.multiple_choice);
            *counts.entry(answer.clone()).or_default() += 1;
            *by_type.entry(q.question_type.clone()).or_default().entry(answer).or_default() += 1;
        }
        let mut ranked: Vec<(&String, &usize)> = counts.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        Self {
            answers: ranked.into_iter().take(k).map(|(a, _)| a.clone()).collect(),
            prior: by_type.iter().map(|(t, c)| (t.clone(), most_frequent(c))).collect(),
            most_frequent: most_frequent(&counts),
        }
    }

    /// Reads `prepared/answers.json`.
    pub fn load(prepared: &Path) -> Result<Self, RunError> {
        let path = prepared.join(ANSWERS_FILE);
        let bytes = std::fs::read(&path).map_err(|e| RunError::io(&path, e))?;
        let vocabulary: Self = serde_json::from_slice(&bytes).map_err(|e| RunError::invalid(&path, e))?;
        if vocabulary.answers.is_empty() {
            return Err(RunError::invalid(&path, "the answer list is empty: the run has no answer to give"));
        }
        Ok(vocabulary)
    }

    /// Writes it there (atomically).
    pub fn save(&self, prepared: &Path) -> Result<(), RunError> {
        crate::runner::write_atomically(&prepared.join(ANSWERS_FILE), &serde_json::to_vec_pretty(self).expect("serialises"))
    }

    /// The prior baseline's answer to a question of `question_type` (the overall most frequent for a type
    /// training never saw).
    pub fn prior_answer(&self, question_type: &str) -> &str {
        self.prior.get(question_type).unwrap_or(&self.most_frequent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_answer_list_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let empty = AnswerVocabulary { answers: Vec::new(), prior: BTreeMap::new(), most_frequent: String::new() };
        empty.save(dir.path()).unwrap();
        let message = AnswerVocabulary::load(dir.path()).unwrap_err().to_string();
        assert!(message.contains(ANSWERS_FILE) && message.contains("empty"), "{message}");
        let one = AnswerVocabulary { answers: vec!["red".into()], prior: BTreeMap::new(), most_frequent: "red".into() };
        one.save(dir.path()).unwrap();
        assert_eq!(AnswerVocabulary::load(dir.path()).unwrap(), one);
    }
}
