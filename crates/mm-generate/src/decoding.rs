//! Decoding a caption token by token: greedy and beam search over any model that scores the next token
//! ([`StepDecoder`]), for many pictures at once (every live beam of every picture is one row of a step).
//!
//! Beam search keeps, per picture, the `width` best partial captions; each step extends every one of them by every
//! token and keeps the `width` best extensions overall, moving those that end (the end token) to the finished
//! list, as Show and Tell's im2txt does. A picture is done when no partial caption is left or `max_len` tokens
//! have been generated. Finished captions are ranked by log P / length^α ([`BeamSearchConfig::length_normalisation`]).
//! Width 1 is greedy decoding.

use serde::{Deserialize, Serialize};

/// A model that, given the last token of each row and its state, scores every next token.
pub trait StepDecoder {
    /// What the model carries from step to step, for a batch of rows (an LSTM's h and c …).
    type State;

    /// Log-probabilities of the next token, `[rows × vocabulary]` row-major, and the state after `tokens` (one per
    /// row of `state`).
    fn step(&self, tokens: &[u32], state: &Self::State) -> (Vec<f32>, Self::State);

    /// The state of rows `rows` of `state`, in that order (rows may repeat).
    fn select(&self, state: &Self::State, rows: &[usize]) -> Self::State;
}

/// How captions are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeamSearchConfig {
    /// Partial captions kept per picture. Default 3; 1 is greedy decoding.
    pub width: usize,
    /// The longest caption, in tokens (the end token not counted). Default 30.
    pub max_len: usize,
    /// α of the ranking score log P / length^α: 0 ranks by probability (favouring short captions), 1 by the mean
    /// log-probability per token. Default 0 (im2txt's default).
    pub length_normalisation: f64,
}

impl Default for BeamSearchConfig {
    fn default() -> Self {
        Self { width: 3, max_len: 30, length_normalisation: 0.0 }
    }
}

impl BeamSearchConfig {
    /// Greedy decoding: one partial caption per picture.
    pub fn greedy(max_len: usize) -> Self {
        Self { width: 1, max_len, length_normalisation: 0.0 }
    }
}

/// A decoded caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Its tokens, without the start and end tokens.
    pub tokens: Vec<u32>,
    /// Its log-probability (the end token's included when it ended).
    pub log_prob: f64,
    /// Whether it ended with the end token (rather than at `max_len`).
    pub ended: bool,
}

struct Beam {
    tokens: Vec<u32>,
    log_prob: f64,
}

/// The best caption of each picture. `state` holds one row per picture (its state before the start token);
/// decoding starts from `start` and stops at `end`.
pub fn beam_search<D: StepDecoder>(decoder: &D, state: D::State, pictures: usize, start: u32, end: u32, config: &BeamSearchConfig) -> Vec<Decoded> {
    let width = config.width.max(1);
    let score = |d: &Decoded| d.log_prob / ((d.tokens.len() + d.ended as usize).max(1) as f64).powf(config.length_normalisation);
    // Per picture: its live beams (each one row of `state`, in order) and its finished captions.
    let mut live: Vec<Vec<Beam>> = (0..pictures).map(|_| vec![Beam { tokens: Vec::new(), log_prob: 0.0 }]).collect();
    let mut finished: Vec<Vec<Decoded>> = (0..pictures).map(|_| Vec::new()).collect();
    let mut state = state;
    for step in 0..=config.max_len {
        let last: Vec<u32> = live.iter().flatten().map(|b| b.tokens.last().copied().unwrap_or(start)).collect();
        if last.is_empty() {
            break;
        }
        let (log_probs, next) = decoder.step(&last, &state);
        let vocabulary = log_probs.len() / last.len();
        let mut parents = Vec::new();
        let mut row = 0;
        for (beams, done) in live.iter_mut().zip(finished.iter_mut()) {
            // Every extension of every live beam, best first.
            let mut extensions: Vec<(f64, usize, u32)> = Vec::with_capacity(beams.len() * vocabulary);
            for (b, beam) in beams.iter().enumerate() {
                let scores = &log_probs[(row + b) * vocabulary..(row + b + 1) * vocabulary];
                extensions.extend(scores.iter().enumerate().map(|(t, &lp)| (beam.log_prob + lp as f64, b, t as u32)));
            }
            let keep = width.min(extensions.len());
            if keep > 0 {
                extensions.select_nth_unstable_by(keep - 1, |x, y| y.0.total_cmp(&x.0));
            }
            extensions.truncate(keep);
            extensions.sort_by(|x, y| y.0.total_cmp(&x.0));
            let mut kept = Vec::new();
            for (log_prob, b, token) in extensions {
                let tokens = beams[b].tokens.clone();
                if token == end {
                    done.push(Decoded { tokens, log_prob, ended: true });
                } else if step == config.max_len {
                    // Out of length: the partial caption ends here, unterminated.
                    done.push(Decoded { tokens: beams[b].tokens.clone(), log_prob: beams[b].log_prob, ended: false });
                } else {
                    let mut tokens = tokens;
                    tokens.push(token);
                    parents.push(row + b);
                    kept.push(Beam { tokens, log_prob });
                }
            }
            row += beams.len();
            *beams = kept;
        }
        state = decoder.select(&next, &parents);
    }
    finished
        .into_iter()
        .map(|done| {
            done.into_iter().max_by(|a, b| score(a).total_cmp(&score(b))).unwrap_or(Decoded { tokens: Vec::new(), log_prob: f64::NEG_INFINITY, ended: false })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bigram model over tokens 0 (start), 1 (end), 2, 3: the state is unused; the scores depend on the last
    /// token only. From the start, 2 is likelier than 3, but 3 leads to a sure end while 2 leads to a coin toss:
    /// greedy takes 2 (P = 0.6 · 0.5 = 0.30 at best), beam search finds 3 then end (P = 0.4 · 0.9 = 0.36).
    struct Bigram;

    impl StepDecoder for Bigram {
        type State = usize;

        fn step(&self, tokens: &[u32], _state: &usize) -> (Vec<f32>, usize) {
            let table: [[f32; 4]; 4] = [[0.0, 0.0, 0.6, 0.4], [0.0, 1.0, 0.0, 0.0], [0.0, 0.5, 0.25, 0.25], [0.0, 0.9, 0.05, 0.05]];
            (tokens.iter().flat_map(|&t| table[t as usize].map(|p| p.ln())).collect(), tokens.len())
        }

        fn select(&self, _state: &usize, rows: &[usize]) -> usize {
            rows.len()
        }
    }

    #[test]
    fn beam_search_finds_what_greedy_misses() {
        let greedy = beam_search(&Bigram, 2, 2, 0, 1, &BeamSearchConfig::greedy(10));
        assert_eq!(greedy.len(), 2);
        assert_eq!(greedy[0].tokens, vec![2]);
        assert!((greedy[0].log_prob - (0.6f64 * 0.5).ln()).abs() < 1e-6);
        let beam = beam_search(&Bigram, 2, 2, 0, 1, &BeamSearchConfig { width: 2, ..Default::default() });
        assert_eq!((beam[1].tokens.clone(), beam[1].ended), (vec![3], true));
        assert!((beam[1].log_prob - (0.4f64 * 0.9).ln()).abs() < 1e-6);
    }

    #[test]
    fn captions_stop_at_the_longest_length() {
        // From token 2, a model that never ends.
        struct Loop;
        impl StepDecoder for Loop {
            type State = ();
            fn step(&self, tokens: &[u32], _: &()) -> (Vec<f32>, ()) {
                (tokens.iter().flat_map(|_| [f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0]).collect(), ())
            }
            fn select(&self, _: &(), _: &[usize]) {}
        }
        let decoded = beam_search(&Loop, (), 1, 0, 1, &BeamSearchConfig { width: 3, max_len: 5, length_normalisation: 1.0 });
        assert_eq!((decoded[0].tokens.clone(), decoded[0].ended), (vec![2; 5], false));
    }
}
