//! MNIST with text: sentences that describe each digit ("seven", "the digit seven", "a handwritten 7", "an odd
//! digit with no loop", "one more than six" …). A third of the sentences that name one digit are held out for
//! the test — never seen by the text encoder or the GAN — so the test texts are new sentences made of known
//! words, as the test pictures are new pictures. The descriptions ("an even digit with one loop") fit several
//! digits (0 and 6), so they are training sentences of each digit they fit and never test sentences: a picture
//! of either answers them.

use crate::data::DIGIT_NAMES;

/// One sentence about one digit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DigitCaption {
    /// The digit it describes.
    pub digit: u8,
    /// The sentence.
    pub text: String,
    /// Whether it is a test sentence (held out of all training).
    pub held_out: bool,
}

/// Loops in the digit's usual handwritten shape.
fn loops(digit: u8) -> &'static str {
    match digit {
        8 => "two loops",
        0 | 6 | 9 => "one loop",
        _ => "no loop",
    }
}

/// The template index of the description, which can fit several digits.
const DESCRIPTION: usize = 7;

/// Every sentence about every digit, in a fixed order (digit, then template).
pub fn digit_captions() -> Vec<DigitCaption> {
    let mut captions = Vec::new();
    for digit in 0..10u8 {
        let (name, numeral) = (DIGIT_NAMES[digit as usize], digit.to_string());
        let parity = if digit % 2 == 0 { "an even" } else { "an odd" };
        let mut sentences = vec![
            name.to_string(),
            format!("the digit {name}"),
            format!("a handwritten {numeral}"),
            format!("the digit {numeral}"),
            format!("the number {name}"),
            format!("a picture of a {name}"),
            format!("a handwritten {name}"),
            format!("{parity} digit with {}", loops(digit)),
        ];
        if digit > 0 {
            sentences.push(format!("one more than {}", DIGIT_NAMES[digit as usize - 1]));
        }
        if digit < 9 {
            sentences.push(format!("one less than {}", DIGIT_NAMES[digit as usize + 1]));
        }
        // Every word of a held-out sentence is in training sentences: its template with other digits, its digit
        // with other templates (the two templates with the numeral are never held out together).
        captions.extend(sentences.into_iter().enumerate().map(|(t, text)| DigitCaption {
            digit,
            text,
            held_out: t != DESCRIPTION && (t + digit as usize).is_multiple_of(3),
        }));
    }
    captions
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn held_out_sentences_are_new_but_their_words_are_not() {
        let captions = digit_captions();
        let training_words: BTreeSet<&str> = captions.iter().filter(|c| !c.held_out).flat_map(|c| c.text.split(' ')).collect();
        for digit in 0..10 {
            let of = |held_out: bool| captions.iter().filter(|c| c.digit == digit && c.held_out == held_out).count();
            assert!(of(true) >= 2 && of(false) >= 5, "digit {digit}: {} test and {} training sentences", of(true), of(false));
            let description = captions.iter().find(|c| c.digit == digit && c.text.contains("digit with")).unwrap();
            assert!(!description.held_out, "{:?} fits several digits", description.text);
        }
        for caption in captions.iter().filter(|c| c.held_out) {
            assert!(caption.text.split(' ').all(|w| training_words.contains(w)), "{:?} has a word no training sentence has", caption.text);
            assert!(!captions.iter().any(|c| !c.held_out && c.text == caption.text));
        }
    }
}
