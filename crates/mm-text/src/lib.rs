//! # mm-text
//!
//! Text for mm: streaming corpora (plain or gzipped), word-vector evaluation sets, and — as the catalogue grows —
//! vocabularies, tokenizers, word2vec, and the LSTM cell and LSTM text encoder the text and sequence models of mm
//! share.
//!
//! ```no_run
//! let corpus = mm_text::Corpus::open("data/text/corpus.txt.gz")?;
//! let tokens = corpus.for_each_token(|_word| {})?;
//! println!("{tokens} tokens");
//! # Ok::<(), mm_text::Error>(())
//! ```

mod corpus;
mod error;
pub mod eval_sets;
pub mod evaluate;
pub mod lstm_cell;
pub mod text_encoder;
pub mod tokenizer;
pub mod vectors;
pub mod vocab;
pub mod word2vec;

pub use corpus::{Corpus, Lines};
pub use error::{Error, Result};
