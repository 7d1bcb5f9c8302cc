//! The pairs of the recipe task: the instruction language, and pictures of digits in a row with their
//! instructions — independent pairs for training, groups of reorderings for testing.

use mm_vision::mnist::{MnistPart, read_mnist};
use mm_vision::transforms::Normalize;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{DataRoot, Dataset, data_error};
use crate::encoders::mnist::VALIDATION_SEED;
use crate::runner::{RunError, Split, carve_part};

/// The instruction language's words; a token is its index + 1 (0 pads).
pub const WORDS: [&str; 19] = [
    "write", "then", "first", "next", "followed", "by", "start", "with", "and", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
/// Tokens per instruction, padded ("start with a and then b and then c and then d" is the longest).
pub const TEXT_LEN: usize = 12;
/// Digits per picture at most; pictures are `28 × 28·SLOTS`, shorter sequences leave the right end blank.
pub const SLOTS: usize = 4;

/// An instruction for `digits` in one of four phrasings.
pub fn instruction(digits: &[u8], phrasing: usize) -> String {
    let names: Vec<&str> = digits.iter().map(|&d| WORDS[9 + d as usize]).collect();
    let (start, joiner) = match phrasing % 4 {
        0 => ("write", "then"),
        1 => ("first", "next"),
        2 => ("", "followed by"),
        _ => ("start with", "and then"),
    };
    let body = names.join(&format!(" {joiner} "));
    if start.is_empty() { body } else { format!("{start} {body}") }
}

/// The tokens of an instruction, padded to [`TEXT_LEN`].
pub fn tokens(text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = text.split_whitespace().map(|w| (WORDS.iter().position(|&k| k == w).expect("a word of the language") + 1) as i64).collect();
    ids.resize(TEXT_LEN, 0);
    ids
}

/// The category of a sequence for semantic regularisation: its length and first digit (20 classes) — the
/// magnitude of the number it writes, a property of the whole ordered sequence.
pub fn category(digits: &[u8]) -> u32 {
    (digits.len() as u32 - 3) * 10 + digits[0] as u32
}

/// A set of (picture, instruction) pairs.
#[derive(Debug, Clone)]
pub struct RecipePairs {
    /// Each pair's digits, in order.
    pub sequences: Vec<Vec<u8>>,
    /// Its instruction.
    pub texts: Vec<String>,
    /// The same digits in another order, in the same phrasing (a hard negative for training).
    pub reordered: Vec<String>,
    /// The pictures, `[N, 28·28·SLOTS]`, MNIST-normalised.
    pub pictures: Vec<f32>,
}

/// Random different digits, 3 or 4 of them.
fn random_digits(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut digits: Vec<u8> = (0..10).collect();
    digits.shuffle(rng);
    digits.truncate(rng.random_range(3..=4));
    digits
}

/// Another order of the same digits.
fn another_order(digits: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    loop {
        let mut other = digits.to_vec();
        other.shuffle(rng);
        if other != digits {
            return other;
        }
    }
}

/// Generates pairs from MNIST `part`: training pairs are independent; test pairs come in groups of
/// `orders_per_group` with the same digits in different orders (each with its own pictures and phrasing), each
/// group with digits no other group has. An error when more test groups are asked for than there are sets of
/// digits.
pub fn generate_pairs(root: &DataRoot, source: Split, validation: usize, pairs: usize, orders_per_group: usize, seed: u64) -> Result<RecipePairs, RunError> {
    let dir = root.dataset(Dataset::Mnist).map_err(data_error)?;
    let part = if source == Split::Test { MnistPart::Test } else { MnistPart::Train };
    let images = read_mnist(&dir, part).map_err(data_error)?;
    // Training pairs use the encoder's training pictures, validation pairs its validation pictures (neither
    // the encoder nor this model learnt from those), test pairs MNIST's test pictures.
    let allowed = if source == Split::Test { (0..images.len()).collect() } else { carve_part(images.len(), validation, VALIDATION_SEED, source) };
    let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
    allowed.iter().for_each(|&i| by_digit[images.labels[i] as usize].push(i));
    let groups = pairs.div_ceil(orders_per_group.max(1));
    if source != Split::Train && groups > 330 {
        return Err(RunError::Config(format!("recipe: {groups} test groups, but only 330 sets of 3 or 4 different digits")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sequences = Vec::with_capacity(pairs);
    // Each test group has its own set of digits, so that every instruction of a test set is unique: a picture
    // then has exactly one right instruction (there are 330 sets of 3 or 4 different digits).
    let mut used = std::collections::HashSet::new();
    while sequences.len() < pairs {
        let digits = random_digits(&mut rng);
        if source == Split::Train {
            sequences.push(digits);
            continue;
        }
        let mut set = digits.clone();
        set.sort_unstable();
        if !used.insert(set) {
            continue;
        }
        let mut orders = vec![digits.clone()];
        while orders.len() < orders_per_group {
            let other = another_order(&digits, &mut rng);
            if !orders.contains(&other) {
                orders.push(other);
            }
        }
        sequences.extend(orders);
    }
    sequences.truncate(pairs);
    let normalize = Normalize::mnist();
    let background = (0.0 - normalize.mean[0]) / normalize.std[0];
    let width = 28 * SLOTS;
    let mut pictures = vec![background; pairs * 28 * width];
    let (mut texts, mut reordered) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for (n, digits) in sequences.iter().enumerate() {
        for (slot, &d) in digits.iter().enumerate() {
            let source = by_digit[d as usize][rng.random_range(0..by_digit[d as usize].len())];
            for y in 0..28 {
                for x in 0..28 {
                    let value = images.pixels[source * 784 + y * 28 + x] as f32 / 255.0;
                    pictures[n * 28 * width + y * width + slot * 28 + x] = (value - normalize.mean[0]) / normalize.std[0];
                }
            }
        }
        let phrasing = rng.random_range(0..4);
        texts.push(instruction(digits, phrasing));
        reordered.push(instruction(&another_order(digits, &mut rng), phrasing));
    }
    Ok(RecipePairs { sequences, texts, reordered, pictures })
}
