//! MNIST with text: sentences that describe each digit ("seven", "the digit seven", "a handwritten 7", "an odd
//! digit with no loop", "one more than six" …), each made from a template applied to every digit. Whole
//! templates were set aside before any run was trained: the validation templates' sentences choose the epochs
//! (of the text encoder and of the GAN), the test templates' are read by the test only. No part of the system
//! sees a validation or test sentence before, so the test texts are new phrasings made of known words (every
//! word of them is in training sentences), as the test pictures are new pictures. The description ("an even
//! digit with one loop") fits several digits (0 and 6), so it is a training sentence of each digit it fits.

use serde::{Deserialize, Serialize};

use crate::data::DIGIT_NAMES;
use crate::runner::Split;

/// Which split may read a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextRole {
    /// The text encoder and the GAN learn from it.
    Training,
    /// Only validation reads it: it chooses the epochs.
    Validation,
    /// Only the test reads it.
    Test,
}

impl TextRole {
    /// The role of the texts that come with `split`'s pictures.
    pub fn of(split: Split) -> Self {
        match split {
            Split::Train => TextRole::Training,
            Split::Valid => TextRole::Validation,
            Split::Test => TextRole::Test,
        }
    }
}

/// One sentence about one digit.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitCaption {
    /// The digit it describes.
    pub digit: u8,
    /// The sentence.
    pub text: String,
    /// Its template, as [`TEMPLATES`] writes it.
    pub template: &'static str,
    /// Which split may read it.
    pub role: TextRole,
}

/// The templates and their split, fixed before training. `{name}` is the digit's name, `{numeral}` its numeral,
/// `{previous}` and `{next}` the names of the digits one below and one above (the template is skipped where
/// there is none), `{parity}` "an even" or "an odd", `{loops}` its usual handwritten loops.
pub const TEMPLATES: [(&str, TextRole); 19] = [
    ("{name}", TextRole::Training),
    ("the digit {name}", TextRole::Training),
    ("the digit {numeral}", TextRole::Training),
    ("the number {name}", TextRole::Training),
    ("the number {numeral}", TextRole::Training),
    ("a handwritten {name}", TextRole::Training),
    ("a handwritten {numeral}", TextRole::Training),
    ("a picture of a {name}", TextRole::Training),
    ("a drawing of the number {numeral}", TextRole::Training),
    ("{parity} digit with {loops}", TextRole::Training),
    ("one more than {previous}", TextRole::Training),
    ("one less than {next}", TextRole::Training),
    ("a drawing of a {name}", TextRole::Validation),
    ("a picture of the digit {numeral}", TextRole::Validation),
    ("one less than the number {next}", TextRole::Validation),
    ("a drawing of the digit {name}", TextRole::Test),
    ("the handwritten number {numeral}", TextRole::Test),
    ("a picture of the number {name}", TextRole::Test),
    ("one more than the digit {previous}", TextRole::Test),
];

/// Loops in the digit's usual handwritten shape.
fn loops(digit: u8) -> &'static str {
    match digit {
        8 => "two loops",
        0 | 6 | 9 => "one loop",
        _ => "no loop",
    }
}

/// `template` said of `digit`, if the template can say it (no "one more than" of zero).
fn sentence(template: &str, digit: u8) -> Option<String> {
    let name_of = |d: Option<u8>| d.filter(|&d| d < 10).map(|d| DIGIT_NAMES[d as usize]);
    let mut text = template.to_string();
    let slots: [(&str, Option<&str>); 6] = [
        ("{name}", name_of(Some(digit))),
        ("{numeral}", Some(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"][digit as usize])),
        ("{previous}", name_of(digit.checked_sub(1))),
        ("{next}", name_of(Some(digit + 1))),
        ("{parity}", Some(if digit.is_multiple_of(2) { "an even" } else { "an odd" })),
        ("{loops}", Some(loops(digit))),
    ];
    for (slot, word) in slots {
        if text.contains(slot) {
            text = text.replace(slot, word?);
        }
    }
    Some(text)
}

/// Every sentence about every digit, in a fixed order (digit, then template).
pub fn digit_captions() -> Vec<DigitCaption> {
    (0..10u8)
        .flat_map(|digit| {
            TEMPLATES.iter().filter_map(move |&(template, role)| sentence(template, digit).map(|text| DigitCaption { digit, text, template, role }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn validation_and_test_sentences_are_new_but_their_words_are_not() {
        let captions = digit_captions();
        let training_words: BTreeSet<&str> = captions.iter().filter(|c| c.role == TextRole::Training).flat_map(|c| c.text.split(' ')).collect();
        for digit in 0..10 {
            let of = |role: TextRole| captions.iter().filter(|c| c.digit == digit && c.role == role).count();
            assert!(of(TextRole::Test) >= 3 && of(TextRole::Validation) >= 2 && of(TextRole::Training) >= 10, "digit {digit}");
        }
        assert_eq!(captions.iter().find(|c| c.digit == 7 && c.role == TextRole::Test).map(|c| c.text.as_str()), Some("a drawing of the digit seven"));
        assert!(captions.iter().any(|c| c.text == "one more than the digit six" && c.digit == 7 && c.role == TextRole::Test));
        assert!(!captions.iter().any(|c| c.text.contains('{')));
        for caption in captions.iter().filter(|c| c.role != TextRole::Training) {
            assert!(caption.text.split(' ').all(|w| training_words.contains(w)), "{:?} has a word no training sentence has", caption.text);
            assert!(!captions.iter().any(|c| c.role != caption.role && c.text == caption.text), "{:?} is in two splits", caption.text);
        }
        // A template belongs to one split whole.
        for (template, role) in TEMPLATES {
            assert!(captions.iter().filter(|c| c.template == template).all(|c| c.role == role));
        }
    }
}
