//! What a question set is made of, whichever source it comes from (the shapes world, VQA v2's files): a picture
//! and its questions, each with what the humans answered.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One question with what the humans answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionRecord {
    /// The question.
    pub text: String,
    /// The human answers (ten in VQA; the shapes world's one answer ten times).
    pub humans: Vec<String>,
    /// The answer the humans agree on most (the training target).
    pub multiple_choice: String,
    /// The question's type: VQA's question prefix ("what color is the"), the shapes world's kind ("count").
    /// The per-type prior baseline answers by it.
    pub question_type: String,
    /// The answer's type: VQA's "yes/no", "number" or "other", the shapes world's kind. The report's table
    /// groups by it.
    pub answer_type: String,
}

/// Where a picture comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PictureSource {
    /// Scene `i` of the split's shapes world.
    Scene(u64),
    /// A picture file.
    File(PathBuf),
}

/// A picture and its questions.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureQuestions {
    /// The picture.
    pub picture: PictureSource,
    /// Its questions.
    pub questions: Vec<QuestionRecord>,
}
