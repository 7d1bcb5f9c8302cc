//! Tokenizers for captions, questions and instructions: Hugging Face `tokenizers` models (word-level or BPE)
//! trained here on a corpus or on captions, saved and loaded as `tokenizer.json`, with the special tokens the
//! sequence models need.
//!
//! The four special tokens get the first ids, in this order: padding 0, unknown 1, start 2, end 3.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::decoders::bpe::BPEDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainer};
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::normalizers::{Lowercase, NFD, Sequence, StripAccents};
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, NormalizerWrapper, Tokenizer};

use crate::{Corpus, Error, Result};

/// Which model splits words into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenizerKind {
    /// One token per word; words outside the vocabulary become the unknown token.
    WordLevel,
    /// Byte-pair encoding over characters: rare words are split into known pieces, so nothing is unknown
    /// unless it has characters never seen in training.
    Bpe,
}

/// How to train a tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenizerConfig {
    /// Word-level or BPE. Default word-level.
    pub kind: TokenizerKind,
    /// Largest vocabulary, special tokens included. Default 10,000.
    pub vocab_size: usize,
    /// Words (word-level) or pairs (BPE) seen fewer times are not added. Default 1.
    pub min_frequency: u64,
    /// Lower-case and strip accents before splitting. Default true.
    pub lowercase: bool,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self { kind: TokenizerKind::WordLevel, vocab_size: 10_000, min_frequency: 1, lowercase: true }
    }
}

/// The special tokens, in id order.
pub const PAD: &str = "<pad>";
/// Stands for a word (or character) the vocabulary lacks.
pub const UNKNOWN: &str = "<unk>";
/// Starts every encoded sequence.
pub const START: &str = "<s>";
/// Ends every encoded sequence.
pub const END: &str = "</s>";
const SPECIAL: [&str; 4] = [PAD, UNKNOWN, START, END];
/// BPE marks the last piece of each word, so that decoding knows where the spaces go.
const END_OF_WORD: &str = "</w>";

/// A trained tokenizer.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer").field("vocab_size", &self.vocab_size()).finish()
    }
}

impl TextTokenizer {
    /// Id of the padding token.
    pub const PAD_ID: u32 = 0;
    /// Id of the unknown token.
    pub const UNKNOWN_ID: u32 = 1;
    /// Id of the start token.
    pub const START_ID: u32 = 2;
    /// Id of the end token.
    pub const END_ID: u32 = 3;

    /// Trains on `texts` (captions, sentences, lines of a corpus).
    pub fn train<S: AsRef<str> + Send>(config: &TokenizerConfig, texts: impl Iterator<Item = S> + Send) -> Result<Self> {
        let special: Vec<AddedToken> = SPECIAL.iter().map(|t| AddedToken::from(*t, true)).collect();
        let (model, mut trainer): (tokenizers::models::ModelWrapper, TrainerWrapper) = match config.kind {
            TokenizerKind::WordLevel => (
                WordLevel::builder().unk_token(UNKNOWN.into()).build().map_err(problem)?.into(),
                WordLevelTrainer::builder()
                    .vocab_size(config.vocab_size)
                    .min_frequency(config.min_frequency)
                    .special_tokens(special)
                    .show_progress(false)
                    .build()
                    .map_err(|e| Error::Tokenizer { problem: e.to_string() })?
                    .into(),
            ),
            TokenizerKind::Bpe => (
                BPE::builder().unk_token(UNKNOWN.into()).end_of_word_suffix(END_OF_WORD.into()).build().map_err(problem)?.into(),
                BpeTrainer::builder()
                    .vocab_size(config.vocab_size)
                    .min_frequency(config.min_frequency)
                    .special_tokens(special)
                    .end_of_word_suffix(END_OF_WORD.into())
                    .show_progress(false)
                    .build()
                    .into(),
            ),
        };
        let mut inner = Tokenizer::new(model);
        if config.lowercase {
            let steps: Vec<NormalizerWrapper> = vec![NFD.into(), StripAccents.into(), Lowercase.into()];
            inner.with_normalizer(Some(Sequence::new(steps)));
        }
        inner.with_pre_tokenizer(Some(Whitespace {}));
        if config.kind == TokenizerKind::Bpe {
            inner.with_decoder(Some(BPEDecoder::new(END_OF_WORD.into())));
        }
        inner.train(&mut trainer, texts).map_err(problem)?;
        let bounds = TemplateProcessing::builder()
            .try_single(format!("{START} $A {END}"))
            .map_err(|e| Error::Tokenizer { problem: e.to_string() })?
            .special_tokens(vec![(START, Self::START_ID), (END, Self::END_ID)])
            .build()
            .map_err(|e| Error::Tokenizer { problem: e.to_string() })?;
        inner.with_post_processor(Some(bounds));
        let tokenizer = Self { inner };
        tokenizer.check_special_ids(Path::new("<trained>"))?;
        Ok(tokenizer)
    }

    /// Trains on the lines of a corpus (plain or gzipped), streamed; a read error ends training with that error.
    pub fn train_on_corpus(config: &TokenizerConfig, corpus: &Corpus) -> Result<Self> {
        let mut lines = corpus.lines()?;
        let mut failure = None;
        let texts = std::iter::from_fn(|| match lines.next_line() {
            Ok(line) => line.map(str::to_owned),
            Err(error) => {
                failure = Some(error);
                None
            }
        });
        let trained = Self::train(config, texts);
        match failure {
            Some(error) => Err(error),
            None => trained,
        }
    }

    /// Saves as `tokenizer.json` (any name), through a temporary file flushed to the disk and renamed.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json = self.inner.to_string(true).map_err(|e| Error::Invalid { path: path.into(), problem: e.to_string() })?;
        crate::vectors::write_atomically(path, |out| std::io::Write::write_all(out, json.as_bytes()))
    }

    /// Loads a tokenizer saved by [`TextTokenizer::save`]; any `tokenizer.json` whose first four tokens are
    /// mm's special tokens works.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
        // JSON syntax first: tokenizers' own deserialiser panics on some malformed JSON (its decoder helper
        // `expect`s), and skips checks its builder makes (see `check_template`).
        check_template(&text).map_err(|problem| Error::Invalid { path: path.into(), problem })?;
        let inner: Tokenizer = text.parse().map_err(|e: tokenizers::Error| Error::Invalid { path: path.into(), problem: e.to_string() })?;
        let tokenizer = Self { inner };
        tokenizer.check_special_ids(path)?;
        Ok(tokenizer)
    }

    fn check_special_ids(&self, path: &Path) -> Result<()> {
        for (id, token) in SPECIAL.iter().enumerate() {
            if self.inner.token_to_id(token) != Some(id as u32) {
                return Err(Error::Invalid {
                    path: path.into(),
                    problem: format!("expected the special token {token} with id {id}, found {:?}", self.inner.token_to_id(token)),
                });
            }
        }
        Ok(())
    }

    /// Tokens in the vocabulary, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The token ids of `text` between the start and end tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.inner.encode(text, true).map_err(problem)?.get_ids().to_vec())
    }

    /// The ids of `text` as a row of exactly `length` (≥ 2): start, tokens, end, then padding. A text too long
    /// is cut and still ends with the end token. Returns the row and the number of ids before the padding.
    pub fn encode_padded(&self, text: &str, length: usize) -> Result<(Vec<u32>, usize)> {
        let mut ids = self.encode(text)?;
        let length = length.max(2);
        if ids.len() > length {
            ids.truncate(length);
            ids[length - 1] = Self::END_ID;
        }
        let used = ids.len();
        ids.resize(length, Self::PAD_ID);
        Ok((ids, used))
    }

    /// The text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(problem)
    }

    /// The token of one id.
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The id of one token.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The underlying Hugging Face tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

fn problem(error: tokenizers::Error) -> Error {
    Error::Tokenizer { problem: error.to_string() }
}

/// The checks tokenizers' builder makes but its deserialiser skips: every special token a `TemplateProcessing`
/// post-processor's templates name must be in its `special_tokens` map with as many ids as tokens. A file that
/// breaks this loads, then panics inside tokenizers at the first `encode` (found by `fuzz_readers`).
fn check_template(json: &str) -> std::result::Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let Some(processor) = value.get("post_processor").filter(|p| p.get("type").and_then(|t| t.as_str()) == Some("TemplateProcessing")) else {
        return Ok(());
    };
    let specials = processor.get("special_tokens").and_then(|s| s.as_object()).ok_or("post_processor: special_tokens is missing")?;
    for (key, token) in specials {
        let count = |field: &str| token.get(field).and_then(|f| f.as_array()).map(|a| a.len());
        if count("ids").is_none() || count("ids") != count("tokens") {
            return Err(format!("post_processor: special token {key:?} needs as many ids as tokens"));
        }
    }
    for template in ["single", "pair"] {
        for piece in processor.get(template).and_then(|t| t.as_array()).into_iter().flatten() {
            if let Some(id) = piece.get("SpecialToken").and_then(|t| t.get("id")).and_then(|id| id.as_str())
                && !specials.contains_key(id)
            {
                return Err(format!("post_processor: the {template} template names the special token {id:?}, which special_tokens lacks"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTIONS: [&str; 6] = [
        "A red circle above a blue square.",
        "Two green triangles next to a red circle.",
        "A blue square left of a yellow star.",
        "The red circles are small.",
        "A small blue square.",
        "Café au lait",
    ];

    #[test]
    fn word_level_trains_encodes_saves_and_reloads() {
        let tokenizer = TextTokenizer::train(&TokenizerConfig::default(), CAPTIONS.iter()).unwrap();
        let ids = tokenizer.encode("A red square. Purple").unwrap();
        assert_eq!(ids.first(), Some(&TextTokenizer::START_ID));
        assert_eq!(ids.last(), Some(&TextTokenizer::END_ID));
        assert_eq!(ids.len(), 7, "start, a, red, square, '.', purple, end: {ids:?}");
        assert_eq!(ids[5], TextTokenizer::UNKNOWN_ID, "'purple' was never seen");
        assert_eq!(tokenizer.decode(&ids).unwrap(), "a red square .", "special tokens are left out");
        assert_eq!(tokenizer.encode("CAFÉ").unwrap(), tokenizer.encode("cafe").unwrap(), "lower-cased, accents stripped");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        tokenizer.save(&path).unwrap();
        let loaded = TextTokenizer::load(&path).unwrap();
        assert_eq!(loaded.encode("A red square. Purple").unwrap(), ids);
        assert_eq!(loaded.vocab_size(), tokenizer.vocab_size());

        let (row, used) = tokenizer.encode_padded("a red circle", 8).unwrap();
        assert_eq!((row.len(), used, row[used - 1], row[7]), (8, 5, TextTokenizer::END_ID, TextTokenizer::PAD_ID));
        let (cut, used) = tokenizer.encode_padded("a red circle above a blue square", 4).unwrap();
        assert_eq!((cut.len(), used, cut[3]), (4, 4, TextTokenizer::END_ID));
    }

    #[test]
    fn bpe_splits_unseen_words_into_known_pieces() {
        let config = TokenizerConfig { kind: TokenizerKind::Bpe, vocab_size: 60, ..Default::default() };
        let tokenizer = TextTokenizer::train(&config, CAPTIONS.iter()).unwrap();
        assert!(tokenizer.vocab_size() <= 60);
        let ids = tokenizer.encode("squares circle").unwrap();
        assert!(!ids.contains(&TextTokenizer::UNKNOWN_ID), "{ids:?}");
        assert_eq!(tokenizer.decode(&ids).unwrap(), "squares circle");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpe.json");
        tokenizer.save(&path).unwrap();
        assert_eq!(TextTokenizer::load(&path).unwrap().encode("squares circle").unwrap(), ids);
    }

    #[test]
    fn trains_on_a_gzipped_corpus_and_reports_its_errors() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.txt.gz");
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        for caption in CAPTIONS {
            writeln!(gz, "{caption}").unwrap();
        }
        gz.finish().unwrap();
        let tokenizer = TextTokenizer::train_on_corpus(&TokenizerConfig::default(), &Corpus::open(&path).unwrap()).unwrap();
        assert!(tokenizer.id("triangles").is_some() && tokenizer.id("lait").is_some());
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, b"fine line\n\xff\xfe broken\n").unwrap();
        let message = TextTokenizer::train_on_corpus(&TokenizerConfig::default(), &Corpus::open(&bad).unwrap()).unwrap_err().to_string();
        assert!(message.contains("bad.txt:2"), "{message}");
    }

    #[test]
    fn a_broken_or_foreign_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, "{ not json").unwrap();
        assert!(TextTokenizer::load(&path).unwrap_err().to_string().contains("tokenizer.json"));
        let config = TokenizerConfig { lowercase: false, ..Default::default() };
        let tokenizer = TextTokenizer::train(&config, CAPTIONS.iter()).unwrap();
        let json = tokenizer.inner().to_string(false).unwrap().replace("\"<pad>\"", "\"[PAD]\"");
        std::fs::write(&path, json).unwrap();
        let message = TextTokenizer::load(&path).unwrap_err().to_string();
        assert!(message.contains("tokenizer.json") && message.contains("<pad>"), "{message}");
    }
}
