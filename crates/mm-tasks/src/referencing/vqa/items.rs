//! What the VQA model trains on: one picture with all its questions as an item (so that the encoder sees each
//! picture once per batch), each question's words, its target class and the VQA accuracy every class would
//! score, and the padded batches.

use std::collections::HashMap;
use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_text::tokenizer::TextTokenizer;

use super::accuracy::{accuracy_against, normalise_answer, reference_answers};
use super::questions::{AnswerVocabulary, QuestionSet};
use crate::data_error;
use crate::inputs::picture_input;
use crate::runner::{Batcher, Dataset, DatasetError, RunError};

/// One question as the model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedQuestion {
    /// The question's word ids (no start or end token), at least one.
    pub tokens: Vec<u32>,
    /// The class of its multiple-choice answer, when the vocabulary has it.
    pub target: Option<u32>,
    /// The VQA accuracy each class would score, for the classes that score above 0.
    pub credit: Vec<(u32, f32)>,
    /// The question's number among its picture's questions.
    pub number: usize,
}

/// One picture with its questions.
#[derive(Debug, Clone, PartialEq)]
pub struct VqaItem {
    /// `[3 · side · side]`, channels first, in [-1, 1].
    pub picture: Vec<f32>,
    /// Its questions.
    pub questions: Vec<EncodedQuestion>,
    /// The picture's row in its split.
    pub index: usize,
}

/// The items of one split: pictures drawn or read, questions encoded, when a batch asks for them.
#[derive(Clone)]
pub struct VqaItems {
    set: Arc<QuestionSet>,
    /// Picture rows, and for each the questions it serves (in training only those whose answer is a class).
    rows: Vec<(usize, Vec<usize>)>,
    tokenizer: TextTokenizer,
    classes: Arc<HashMap<String, u32>>,
    side: u32,
    max_len: usize,
}

impl VqaItems {
    /// The items of `set`; `training` keeps only the questions whose answer is among `vocabulary`'s (and the
    /// pictures with any), as the reference implementation trains.
    pub fn new(set: QuestionSet, vocabulary: &AnswerVocabulary, tokenizer: TextTokenizer, side: u32, max_len: usize, training: bool) -> Self {
        let classes: HashMap<String, u32> = vocabulary.answers.iter().enumerate().map(|(k, a)| (a.clone(), k as u32)).collect();
        let rows = set
            .pictures
            .iter()
            .enumerate()
            .map(|(p, picture)| {
                let kept =
                    (0..picture.questions.len()).filter(|&q| !training || classes.contains_key(&normalise_answer(&picture.questions[q].multiple_choice)));
                (p, kept.collect::<Vec<_>>())
            })
            .filter(|(_, questions)| !questions.is_empty())
            .collect();
        Self { set: Arc::new(set), rows, tokenizer, classes: Arc::new(classes), side, max_len }
    }

    /// The questions and pictures.
    pub fn set(&self) -> &QuestionSet {
        &self.set
    }

    /// `question`'s word ids, cut to the longest allowed (an empty question reads as one unknown word).
    pub fn encode_question(&self, question: &str) -> Result<Vec<u32>, RunError> {
        encode_question(&self.tokenizer, question, self.max_len)
    }
}

/// `question`'s word ids without the start and end tokens, at most `max_len`, at least one.
pub fn encode_question(tokenizer: &TextTokenizer, question: &str, max_len: usize) -> Result<Vec<u32>, RunError> {
    let ids = tokenizer.encode(question).map_err(data_error)?;
    let mut words: Vec<u32> = ids.into_iter().filter(|&t| t != TextTokenizer::START_ID && t != TextTokenizer::END_ID).collect();
    words.truncate(max_len.max(1));
    if words.is_empty() {
        words.push(TextTokenizer::UNKNOWN_ID);
    }
    Ok(words)
}

impl Dataset<VqaItem> for VqaItems {
    fn get(&self, index: usize) -> Result<VqaItem, DatasetError> {
        let (row, questions) = &self.rows[index];
        let image = self.set.picture(*row, self.side).map_err(DatasetError::new)?;
        let records = &self.set.pictures[*row].questions;
        let questions = questions
            .iter()
            .map(|&q| {
                let record = &records[q];
                let references = reference_answers(&record.humans);
                let mut credit: Vec<(u32, f32)> = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                for answer in &references {
                    let answer = normalise_answer(answer);
                    if let Some(&class) = self.classes.get(&answer)
                        && seen.insert(class)
                    {
                        let score = accuracy_against(&answer, &references);
                        if score > 0.0 {
                            credit.push((class, score as f32));
                        }
                    }
                }
                Ok(EncodedQuestion {
                    tokens: self.encode_question(&record.text).map_err(DatasetError::new)?,
                    target: self.classes.get(&normalise_answer(&record.multiple_choice)).copied(),
                    credit,
                    number: q,
                })
            })
            .collect::<Result<Vec<_>, DatasetError>>()?;
        Ok(VqaItem { picture: picture_input(&image), questions, index: *row })
    }

    fn len(&self) -> usize {
        self.rows.len()
    }
}

/// A batch: `P` pictures and the `Q` questions about them.
#[derive(Debug, Clone)]
pub struct VqaBatch {
    /// `[P, 3, side, side]`.
    pub pictures: Tensor<4>,
    /// `[Q, T]` word ids, padded with 0 after each question's end.
    pub tokens: Tensor<2, Int>,
    /// `[Q, T]`: 1 on a question's words, 0 on padding.
    pub mask: Tensor<2>,
    /// `[Q]`: the picture row (0..P) each question is about.
    pub owner: Tensor<1, Int>,
    /// `[Q]`: the class of each question's answer (0 where it has none; see `has_target`).
    pub targets: Tensor<1, Int>,
    /// `[Q]`: 1 where the answer is a class.
    pub has_target: Tensor<1>,
    /// `[Q, K]`: the VQA accuracy each class would score.
    pub credit: Tensor<2>,
    /// Each question's (picture row in the split, question number in the picture).
    pub rows: Vec<(usize, usize)>,
}

/// Stacks [`VqaItem`]s.
#[derive(Debug, Clone, Copy)]
pub struct VqaBatcher {
    /// Picture side.
    pub side: usize,
    /// Answer classes K.
    pub classes: usize,
}

impl Batcher<VqaItem, VqaBatch> for VqaBatcher {
    fn batch(&self, items: Vec<VqaItem>, device: &Device) -> VqaBatch {
        let questions: Vec<(usize, usize, &EncodedQuestion)> =
            items.iter().enumerate().flat_map(|(p, item)| item.questions.iter().map(move |q| (p, q.number, q))).collect();
        let (q, k) = (questions.len(), self.classes);
        let steps = questions.iter().map(|(_, _, e)| e.tokens.len()).max().unwrap_or(1).max(1);
        let (mut tokens, mut mask) = (vec![0i64; q * steps], vec![0f32; q * steps]);
        let (mut targets, mut has_target, mut credit) = (vec![0i64; q], vec![0f32; q], vec![0f32; q * k]);
        for (row, (_, _, question)) in questions.iter().enumerate() {
            for (t, &token) in question.tokens.iter().enumerate() {
                tokens[row * steps + t] = token as i64;
                mask[row * steps + t] = 1.0;
            }
            if let Some(target) = question.target {
                targets[row] = target as i64;
                has_target[row] = 1.0;
            }
            for &(class, score) in &question.credit {
                if (class as usize) < k {
                    credit[row * k + class as usize] = score;
                }
            }
        }
        let owner: Vec<i64> = questions.iter().map(|(p, _, _)| *p as i64).collect();
        let pictures: Vec<f32> = items.iter().flat_map(|i| i.picture.iter().copied()).collect();
        VqaBatch {
            pictures: Tensor::from_data(TensorData::new(pictures, [items.len(), 3, self.side, self.side]), device),
            tokens: Tensor::from_data(TensorData::new(tokens, [q, steps]), device),
            mask: Tensor::from_data(TensorData::new(mask, [q, steps]), device),
            owner: Tensor::from_data(TensorData::new(owner, [q]), device),
            targets: Tensor::from_data(TensorData::new(targets, [q]), device),
            has_target: Tensor::from_data(TensorData::new(has_target, [q]), device),
            credit: Tensor::from_data(TensorData::new(credit, [q, k]), device),
            rows: questions.iter().map(|&(p, n, _)| (items[p].index, n)).collect(),
        }
    }
}
