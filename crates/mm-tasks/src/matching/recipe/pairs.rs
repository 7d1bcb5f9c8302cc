//! The pairs of the recipe task: the instruction language, and pictures of digits in a row with their
//! instructions — independent pairs for training, groups of reorderings for testing.

use mm_vision::mnist::{MnistPart, read_mnist};
use mm_vision::transforms::Normalize;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{DataRoot, Dataset};
use crate::data_error;
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

/// The 330 sets of 3 or 4 different digits, each sorted, in a fixed random order. The first [`HELD_OUT_SETS`]
/// never appear in training or validation pairs, in any order (nor as their reordered negatives): the held-out
/// test sets are made of them, so none of their instructions occurs in training.
pub fn digit_sets() -> Vec<Vec<u8>> {
    let mut sets = Vec::new();
    for mask in 0u16..1024 {
        if (3..=4).contains(&mask.count_ones()) {
            sets.push((0..10u8).filter(|d| mask & (1 << d) != 0).collect::<Vec<u8>>());
        }
    }
    sets.sort();
    sets.shuffle(&mut ChaCha8Rng::seed_from_u64(0x5E75));
    sets
}

/// How many of [`digit_sets`] are held out of training: a third.
pub const HELD_OUT_SETS: usize = 110;

/// Whether the set of `digits` (any order) is held out of training.
pub fn is_held_out(digits: &[u8]) -> bool {
    static HELD_OUT: std::sync::OnceLock<std::collections::HashSet<Vec<u8>>> = std::sync::OnceLock::new();
    let mut set = digits.to_vec();
    set.sort_unstable();
    HELD_OUT.get_or_init(|| digit_sets().into_iter().take(HELD_OUT_SETS).collect()).contains(&set)
}

/// Which digit sets a family of test sets is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestDigitSets {
    /// The 220 sets training also draws from: the pictures are new, the instructions may have been seen.
    Seen,
    /// The 110 held-out sets: no instruction of these test sets occurs in training.
    HeldOut,
}

impl TestDigitSets {
    fn pool(self) -> Vec<Vec<u8>> {
        let sets = digit_sets();
        match self {
            Self::Seen => sets[HELD_OUT_SETS..].to_vec(),
            Self::HeldOut => sets[..HELD_OUT_SETS].to_vec(),
        }
    }
}

/// `count` independent test sets of `pairs` pairs each from MNIST's test pictures, drawn from the `digit_sets`
/// family: groups of `orders_per_group` reorderings of one digit set, no digit set in two groups of any of the
/// sets, and no picture used twice across them. An error when the family has too few digit sets.
pub fn generate_test_sets(
    root: &DataRoot,
    digit_sets: TestDigitSets,
    count: usize,
    pairs: usize,
    orders_per_group: usize,
    seed: u64,
) -> Result<Vec<RecipePairs>, RunError> {
    let mut pool = digit_sets.pool();
    let groups = pairs.div_ceil(orders_per_group.max(1));
    if groups * count > pool.len() {
        return Err(RunError::setting(
            "test_sets, test_pairs",
            format!(
                "{count} independent test sets of {groups} groups need {} digit sets, but the {digit_sets:?} family has {}; lower them",
                groups * count,
                pool.len()
            ),
        ));
    }
    let dir = root.dataset(Dataset::Mnist).map_err(data_error)?;
    let images = read_mnist(&dir, MnistPart::Test).map_err(data_error)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    pool.shuffle(&mut rng);
    // Each digit's test pictures in a random order, handed out once each.
    let mut unused: Vec<Vec<usize>> = vec![Vec::new(); 10];
    (0..images.len()).for_each(|i| unused[images.labels[i] as usize].push(i));
    unused.iter_mut().for_each(|pictures| pictures.shuffle(&mut rng));
    let mut sets = Vec::with_capacity(count);
    for chunk in pool.chunks(groups).take(count) {
        let mut sequences = Vec::with_capacity(pairs);
        for set in chunk {
            let mut first = set.clone();
            first.shuffle(&mut rng);
            sequences.extend(reorderings(&first, orders_per_group, &mut rng));
        }
        sequences.truncate(pairs);
        let pick = |d: u8, _: &mut ChaCha8Rng| {
            unused[d as usize].pop().ok_or_else(|| RunError::setting("test_sets, test_pairs", format!("MNIST's test pictures of {d} are used up")))
        };
        sets.push(assemble(sequences, &images, pick, &mut rng)?);
    }
    Ok(sets)
}

/// `digits` and `orders - 1` other orders of them.
fn reorderings(digits: &[u8], orders: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<u8>> {
    let mut all = vec![digits.to_vec()];
    while all.len() < orders {
        let other = another_order(digits, rng);
        if !all.contains(&other) {
            all.push(other);
        }
    }
    all
}

/// Generates training or validation pairs from the encoder's training or validation pictures (neither the
/// encoder nor this model learnt from the validation ones), never with a held-out digit set. Training pairs are
/// independent; validation pairs come in groups of `orders_per_group` reorderings like a test set, each group
/// with digits no other group has. Test pairs come from [`generate_test_sets`].
pub fn generate_pairs(root: &DataRoot, source: Split, validation: usize, pairs: usize, orders_per_group: usize, seed: u64) -> Result<RecipePairs, RunError> {
    if source == Split::Test {
        let mut sets = generate_test_sets(root, TestDigitSets::Seen, 1, pairs, orders_per_group, seed)?;
        return Ok(sets.remove(0));
    }
    let dir = root.dataset(Dataset::Mnist).map_err(data_error)?;
    let images = read_mnist(&dir, MnistPart::Train).map_err(data_error)?;
    let allowed = carve_part(images.len(), validation, VALIDATION_SEED, source);
    let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
    allowed.iter().for_each(|&i| by_digit[images.labels[i] as usize].push(i));
    let groups = pairs.div_ceil(orders_per_group.max(1));
    let shared = digit_sets().len() - HELD_OUT_SETS;
    if source == Split::Valid && groups > shared {
        return Err(RunError::setting("valid_pairs", format!("{groups} validation groups, but only {shared} digit sets are not held out")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sequences = Vec::with_capacity(pairs);
    let mut used = std::collections::HashSet::new();
    while sequences.len() < pairs {
        let digits = random_digits(&mut rng);
        if is_held_out(&digits) {
            continue;
        }
        if source == Split::Train {
            sequences.push(digits);
            continue;
        }
        let mut set = digits.clone();
        set.sort_unstable();
        if used.insert(set) {
            sequences.extend(reorderings(&digits, orders_per_group, &mut rng));
        }
    }
    sequences.truncate(pairs);
    let pick = |d: u8, rng: &mut ChaCha8Rng| Ok(by_digit[d as usize][rng.random_range(0..by_digit[d as usize].len())]);
    assemble(sequences, &images, pick, &mut rng)
}

/// The pictures (each digit's picture from `pick`) and instructions of `sequences`.
fn assemble(
    sequences: Vec<Vec<u8>>,
    images: &mm_vision::mnist::MnistSplit,
    mut pick: impl FnMut(u8, &mut ChaCha8Rng) -> Result<usize, RunError>,
    rng: &mut ChaCha8Rng,
) -> Result<RecipePairs, RunError> {
    let pairs = sequences.len();
    let normalize = Normalize::mnist();
    let background = (0.0 - normalize.mean[0]) / normalize.std[0];
    let width = 28 * SLOTS;
    let mut pictures = vec![background; pairs * 28 * width];
    let (mut texts, mut reordered) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for (n, digits) in sequences.iter().enumerate() {
        for (slot, &d) in digits.iter().enumerate() {
            let source = pick(d, rng)?;
            for y in 0..28 {
                for x in 0..28 {
                    let value = images.pixels[source * 784 + y * 28 + x] as f32 / 255.0;
                    pictures[n * 28 * width + y * width + slot * 28 + x] = (value - normalize.mean[0]) / normalize.std[0];
                }
            }
        }
        let phrasing = rng.random_range(0..4);
        texts.push(instruction(digits, phrasing));
        reordered.push(instruction(&another_order(digits, rng), phrasing));
    }
    Ok(RecipePairs { sequences, texts, reordered, pictures })
}
