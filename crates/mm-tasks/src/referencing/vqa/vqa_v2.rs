//! The VQA v2 format (Goyal et al. 2017; the same files as VQA v1): a questions file
//! (`v2_OpenEnded_mscoco_{subtype}_questions.json`: `data_subtype` and `questions` of `image_id`, `question`,
//! `question_id`) and an annotations file (`v2_mscoco_{subtype}_annotations.json`: for each `question_id` its
//! `question_type`, `answer_type`, `multiple_choice_answer` and the ten human `answers`), over COCO pictures.
//! Pictures are found under the images folder by COCO 2014's name (`COCO_{subtype}_{id:012}.jpg`) or 2017's
//! (`{id:012}.jpg`) and read from disk when a batch asks for them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::records::{PictureQuestions, PictureSource, QuestionRecord};
use crate::runner::RunError;

/// The three files of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VqaV2Split {
    /// The questions JSON.
    pub questions: PathBuf,
    /// The annotations JSON (with the human answers).
    pub annotations: PathBuf,
    /// The folder of the COCO pictures the questions are about.
    pub images: PathBuf,
}

/// VQA v2's files for training, validation and test. VQA's own test answers are not public: the usual protocol
/// trains on part of train2014, validates on the rest and tests on val2014, each split its own pictures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VqaV2Files {
    /// Training questions.
    pub train: VqaV2Split,
    /// Validation questions.
    pub valid: VqaV2Split,
    /// Test questions.
    pub test: VqaV2Split,
}

#[derive(Deserialize)]
struct QuestionsFile {
    #[serde(default)]
    data_subtype: String,
    questions: Vec<QuestionEntry>,
}

#[derive(Deserialize)]
struct QuestionEntry {
    image_id: u64,
    question: String,
    question_id: u64,
}

#[derive(Deserialize)]
struct AnnotationsFile {
    annotations: Vec<Annotation>,
}

#[derive(Deserialize)]
struct Annotation {
    question_id: u64,
    image_id: u64,
    question_type: String,
    answer_type: String,
    multiple_choice_answer: String,
    answers: Vec<HumanAnswer>,
}

#[derive(Deserialize)]
struct HumanAnswer {
    answer: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RunError> {
    let file = std::fs::File::open(path).map_err(|e| RunError::io(path, e))?;
    serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| RunError::invalid(path, format!("not a VQA file: {e}")))
}

/// Where picture `id` of `subtype` lies under `images`, by COCO 2014's or 2017's naming.
fn picture_path(images: &Path, subtype: &str, id: u64) -> Option<PathBuf> {
    [images.join(format!("COCO_{subtype}_{id:012}.jpg")), images.join(format!("{id:012}.jpg"))].into_iter().find(|p| p.exists())
}

/// The questions of one split, grouped by picture (in order of first appearance). Every question must have its
/// annotation with at least one human answer, and every picture its file.
pub fn read_split(split: &VqaV2Split) -> Result<Vec<PictureQuestions>, RunError> {
    let questions: QuestionsFile = read_json(&split.questions)?;
    let annotations: AnnotationsFile = read_json(&split.annotations)?;
    let mut by_question: BTreeMap<u64, Annotation> = annotations.annotations.into_iter().map(|a| (a.question_id, a)).collect();
    let mut pictures: Vec<PictureQuestions> = Vec::new();
    let mut row_of: BTreeMap<u64, usize> = BTreeMap::new();
    for entry in questions.questions {
        let annotation = by_question
            .remove(&entry.question_id)
            .ok_or_else(|| RunError::invalid(&split.annotations, format!("no annotation for question {}", entry.question_id)))?;
        if annotation.image_id != entry.image_id {
            return Err(RunError::invalid(
                &split.annotations,
                format!("question {} is about image {}, not {}", entry.question_id, entry.image_id, annotation.image_id),
            ));
        }
        if annotation.answers.is_empty() {
            return Err(RunError::invalid(&split.annotations, format!("question {} has no human answer", entry.question_id)));
        }
        let row = match row_of.get(&entry.image_id) {
            Some(&row) => row,
            None => {
                let path = picture_path(&split.images, &questions.data_subtype, entry.image_id).ok_or_else(|| {
                    RunError::invalid(
                        &split.images,
                        format!(
                            "no picture for image {} (COCO_{}_{:012}.jpg or {:012}.jpg)",
                            entry.image_id, questions.data_subtype, entry.image_id, entry.image_id
                        ),
                    )
                })?;
                pictures.push(PictureQuestions { picture: PictureSource::File(path), questions: Vec::new() });
                row_of.insert(entry.image_id, pictures.len() - 1);
                pictures.len() - 1
            }
        };
        pictures[row].questions.push(QuestionRecord {
            text: entry.question,
            humans: annotation.answers.into_iter().map(|a| a.answer).collect(),
            multiple_choice: annotation.multiple_choice_answer,
            question_type: annotation.question_type,
            answer_type: annotation.answer_type,
        });
    }
    if pictures.is_empty() {
        return Err(RunError::invalid(&split.questions, "no questions"));
    }
    Ok(pictures)
}
