//! word2vec skip-gram: the input matrix W (its rows are the word vectors) and the output matrix W′, trained so
//! that each word's W row predicts its neighbours through W′.
//!
//! [`sgns`] is the fast trainer: negative sampling, frequent-word sub-sampling, a dynamic window, a linearly
//! decaying learning rate and lock-free multithreaded SGD (Hogwild) over plain f32 buffers, as word2vec.c does.

pub mod sgns;

pub use sgns::{train, Progress, SkipGramConfig, SkipGramModel};
