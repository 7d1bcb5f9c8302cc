//! The VQA accuracy as the official evaluation computes it (Antol et al. 2015; `vqaEval.py` of the VQA API):
//! an answer is right to the degree that humans gave it, `min(#humans who gave it / 3, 1)`, averaged over the
//! ten leave-one-out subsets of the ten human answers, after the official normalisation of the answer
//! (punctuation, number words, articles, contractions).
//!
//! The normalisation follows the reference tool to the letter, quirks included: the predicted answer is always
//! normalised in full; the human answers only have their punctuation processed, and only when they disagree (the
//! annotations were normalised when they were collected); a period is dropped unless a digit follows it, and at
//! most 32 of them (the reference passes `re.UNICODE` where `re.sub` takes its count).

/// Punctuation the reference removes (or replaces by a space).
const PUNCTUATION: [char; 21] = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];

/// Number words the reference turns into digits.
const NUMBER_WORDS: [(&str, &str); 12] = [
    ("none", "0"),
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
];

const ARTICLES: [&str; 3] = ["a", "an", "the"];

/// Contractions written without their apostrophes, and how the reference restores them.
const CONTRACTIONS: &[(&str, &str)] = &[
    ("aint", "ain't"),
    ("arent", "aren't"),
    ("cant", "can't"),
    ("couldve", "could've"),
    ("couldnt", "couldn't"),
    ("couldn'tve", "couldn't've"),
    ("couldnt've", "couldn't've"),
    ("didnt", "didn't"),
    ("doesnt", "doesn't"),
    ("dont", "don't"),
    ("hadnt", "hadn't"),
    ("hadnt've", "hadn't've"),
    ("hadn'tve", "hadn't've"),
    ("hasnt", "hasn't"),
    ("havent", "haven't"),
    ("hed", "he'd"),
    ("hed've", "he'd've"),
    ("he'dve", "he'd've"),
    ("hes", "he's"),
    ("howd", "how'd"),
    ("howll", "how'll"),
    ("hows", "how's"),
    ("Id've", "I'd've"),
    ("I'dve", "I'd've"),
    ("Im", "I'm"),
    ("Ive", "I've"),
    ("isnt", "isn't"),
    ("itd", "it'd"),
    ("itd've", "it'd've"),
    ("it'dve", "it'd've"),
    ("itll", "it'll"),
    ("let's", "let's"),
    ("maam", "ma'am"),
    ("mightnt", "mightn't"),
    ("mightnt've", "mightn't've"),
    ("mightn'tve", "mightn't've"),
    ("mightve", "might've"),
    ("mustnt", "mustn't"),
    ("mustve", "must've"),
    ("neednt", "needn't"),
    ("notve", "not've"),
    ("oclock", "o'clock"),
    ("oughtnt", "oughtn't"),
    ("ow's'at", "'ow's'at"),
    ("'ows'at", "'ow's'at"),
    ("'ow'sat", "'ow's'at"),
    ("shant", "shan't"),
    ("shed've", "she'd've"),
    ("she'dve", "she'd've"),
    ("she's", "she's"),
    ("shouldve", "should've"),
    ("shouldnt", "shouldn't"),
    ("shouldnt've", "shouldn't've"),
    ("shouldn'tve", "shouldn't've"),
    ("somebody'd", "somebodyd"),
    ("somebodyd've", "somebody'd've"),
    ("somebody'dve", "somebody'd've"),
    ("somebodyll", "somebody'll"),
    ("somebodys", "somebody's"),
    ("someoned", "someone'd"),
    ("someoned've", "someone'd've"),
    ("someone'dve", "someone'd've"),
    ("someonell", "someone'll"),
    ("someones", "someone's"),
    ("somethingd", "something'd"),
    ("somethingd've", "something'd've"),
    ("something'dve", "something'd've"),
    ("somethingll", "something'll"),
    ("thats", "that's"),
    ("thered", "there'd"),
    ("thered've", "there'd've"),
    ("there'dve", "there'd've"),
    ("therere", "there're"),
    ("theres", "there's"),
    ("theyd", "they'd"),
    ("theyd've", "they'd've"),
    ("they'dve", "they'd've"),
    ("theyll", "they'll"),
    ("theyre", "they're"),
    ("theyve", "they've"),
    ("twas", "'twas"),
    ("wasnt", "wasn't"),
    ("wed've", "we'd've"),
    ("we'dve", "we'd've"),
    ("weve", "we've"),
    ("werent", "weren't"),
    ("whatll", "what'll"),
    ("whatre", "what're"),
    ("whats", "what's"),
    ("whatve", "what've"),
    ("whens", "when's"),
    ("whered", "where'd"),
    ("wheres", "where's"),
    ("whereve", "where've"),
    ("whod", "who'd"),
    ("whod've", "who'd've"),
    ("who'dve", "who'd've"),
    ("wholl", "who'll"),
    ("whos", "who's"),
    ("whove", "who've"),
    ("whyll", "why'll"),
    ("whyre", "why're"),
    ("whys", "why's"),
    ("wont", "won't"),
    ("wouldve", "would've"),
    ("wouldnt", "wouldn't"),
    ("wouldnt've", "wouldn't've"),
    ("wouldn'tve", "wouldn't've"),
    ("yall", "y'all"),
    ("yall'll", "y'all'll"),
    ("y'allll", "y'all'll"),
    ("yall'd've", "y'all'd've"),
    ("y'alld've", "y'all'd've"),
    ("y'all'dve", "y'all'd've"),
    ("youd", "you'd"),
    ("youd've", "you'd've"),
    ("you'dve", "you'd've"),
    ("youll", "you'll"),
    ("youre", "you're"),
    ("youve", "you've"),
];

/// Whether `text` holds a digit, a comma and a digit in a row (the reference's `commaStrip`).
fn has_digit_comma_digit(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(3).any(|w| w[0].is_ascii_digit() && w[1] == ',' && w[2].is_ascii_digit())
}

/// The reference's `processPunctuation`: each punctuation mark is removed where it touches a space (or anywhere,
/// when the text holds a number written with a thousands comma) and replaced by a space otherwise; then periods
/// not followed by a digit are removed.
pub fn process_punctuation(text: &str) -> String {
    let numeric = has_digit_comma_digit(text);
    let mut out = text.to_string();
    for p in PUNCTUATION {
        let touches_space = text.contains(&format!("{p} ")) || text.contains(&format!(" {p}"));
        out = out.replace(p, if touches_space || numeric { "" } else { " " });
    }
    let chars: Vec<char> = out.chars().collect();
    let mut removed = 0;
    let mut kept = String::with_capacity(out.len());
    for (i, &c) in chars.iter().enumerate() {
        let before_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c == '.' && !before_digit && removed < 32 {
            removed += 1;
            continue;
        }
        kept.push(c);
    }
    kept
}

/// The reference's `processDigitArticle`: lower case, number words to digits, articles dropped, contractions
/// restored, words joined by single spaces.
pub fn process_digit_article(text: &str) -> String {
    let lower = text.to_lowercase();
    let words = lower
        .split_whitespace()
        .map(|word| NUMBER_WORDS.iter().find(|(w, _)| *w == word).map_or(word, |(_, digit)| *digit))
        .filter(|word| !ARTICLES.contains(word))
        .map(|word| CONTRACTIONS.iter().find(|(w, _)| *w == word).map_or(word, |(_, full)| *full));
    words.collect::<Vec<_>>().join(" ")
}

/// A predicted answer as the evaluation reads it: tabs and newlines to spaces, trimmed, punctuation, number
/// words, articles and contractions processed.
pub fn normalise_answer(answer: &str) -> String {
    let answer = answer.replace(['\n', '\t'], " ");
    process_digit_article(&process_punctuation(answer.trim()))
}

/// The human answers as the evaluation compares them: whitespace-trimmed, and with their punctuation processed
/// when they are not all the same.
pub fn reference_answers(humans: &[String]) -> Vec<String> {
    let trimmed: Vec<String> = humans.iter().map(|a| a.replace(['\n', '\t'], " ").trim().to_string()).collect();
    let all_same = trimmed.windows(2).all(|w| w[0] == w[1]);
    if all_same { trimmed } else { trimmed.iter().map(|a| process_punctuation(a)).collect() }
}

/// The accuracy of `predicted` against `references` as [`reference_answers`] prepared them: the mean, over
/// leaving out each human in turn, of min(#other humans who gave the answer / 3, 1). No humans: 0.
pub fn accuracy_against(predicted_normalised: &str, references: &[String]) -> f64 {
    if references.is_empty() {
        return 0.0;
    }
    let matching = references.iter().filter(|a| *a == predicted_normalised).count();
    let total: f64 = references
        .iter()
        .map(|a| {
            let others = matching - usize::from(a == predicted_normalised);
            (others as f64 / 3.0).min(1.0)
        })
        .sum();
    total / references.len() as f64
}

/// The official VQA accuracy of `predicted` for a question whose humans answered `humans` (ten in VQA).
pub fn vqa_accuracy(predicted: &str, humans: &[String]) -> f64 {
    accuracy_against(&normalise_answer(predicted), &reference_answers(humans))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn humans(answers: &[(&str, usize)]) -> Vec<String> {
        answers.iter().flat_map(|&(a, n)| std::iter::repeat_n(a.to_string(), n)).collect()
    }

    /// Cases worked by hand from the official definition.
    #[test]
    fn the_accuracy_follows_the_official_definition() {
        // Ten humans agree: right is 1, wrong is 0.
        assert_eq!(vqa_accuracy("yes", &humans(&[("yes", 10)])), 1.0);
        assert_eq!(vqa_accuracy("no", &humans(&[("yes", 10)])), 0.0);
        // Three of ten gave it: leaving out one of the three leaves 2 (2/3), leaving out another leaves 3 (1).
        // (3 · 2/3 + 7 · 1) / 10 = 0.9.
        assert!((vqa_accuracy("red", &humans(&[("red", 3), ("blue", 7)])) - 0.9).abs() < 1e-12);
        // Two of ten: (2 · 1/3 + 8 · 2/3) / 10 = 0.6.
        assert!((vqa_accuracy("red", &humans(&[("red", 2), ("blue", 8)])) - 0.6).abs() < 1e-12);
        // One of ten: (1 · 0 + 9 · 1/3) / 10 = 0.3.
        assert!((vqa_accuracy("red", &humans(&[("red", 1), ("blue", 9)])) - 0.3).abs() < 1e-12);
        // Four or more of ten: every subset keeps at least three.
        assert_eq!(vqa_accuracy("red", &humans(&[("red", 4), ("blue", 6)])), 1.0);
        // Number words become digits and articles go, in the prediction; the humans' answers were normalised
        // when collected.
        assert_eq!(vqa_accuracy("Two", &humans(&[("2", 10)])), 1.0);
        assert_eq!(vqa_accuracy("the dog", &humans(&[("dog", 10)])), 1.0);
        assert_eq!(vqa_accuracy("a dog.", &humans(&[("dog", 10)])), 1.0);
        assert_eq!(vqa_accuracy("dont know", &humans(&[("don't know", 10)])), 1.0);
        assert_eq!(vqa_accuracy("  yes\n", &humans(&[("yes", 10)])), 1.0);
        // Disagreeing humans have their punctuation processed: "yes." counts as "yes", while "yes!" becomes
        // "yes " (a mark inside or at the end of a word turns into a space) and does not.
        assert!((vqa_accuracy("yes", &humans(&[("yes.", 2), ("yes", 1), ("no", 7)])) - 0.9).abs() < 1e-12);
        assert!((vqa_accuracy("yes", &humans(&[("yes!", 2), ("yes", 1), ("no", 7)])) - 0.3).abs() < 1e-12);
        // Agreeing humans are compared as written.
        assert_eq!(vqa_accuracy("yes", &humans(&[("yes.", 10)])), 0.0);
        assert_eq!(vqa_accuracy("yes", &[]), 0.0);
    }

    #[test]
    fn punctuation_is_processed_as_the_reference_does() {
        // A mark touching a space is removed, one inside a word becomes a space.
        assert_eq!(process_punctuation("black-and-white"), "black and white");
        assert_eq!(process_punctuation("yes , it is"), "yes  it is");
        // With a thousands comma, every mark is removed.
        assert_eq!(process_punctuation("1,000-2"), "10002");
        // Periods go unless a digit follows.
        assert_eq!(process_punctuation("3.5 m."), "3.5 m");
        assert_eq!(process_punctuation("a.b.c"), "abc");
        assert_eq!(process_punctuation(&".".repeat(40)), "........");
        assert_eq!(process_digit_article("The  Three  cats"), "3 cats");
        assert_eq!(process_digit_article("an isnt none"), "isn't 0");
        assert_eq!(normalise_answer("\tTwo dogs!"), "2 dogs");
    }
}
