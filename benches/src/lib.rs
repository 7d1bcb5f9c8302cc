//! mm's benchmarks, each timed beside its reference in the same run: criterion benches of the signal stack live
//! in `benches/`; this library holds what `cargo xtask bench …` runs — the model workloads ([`families`]) and the
//! device table ([`devices`]), the signal bench ([`signal`]), the runner's training step ([`train_step`]) and
//! the word2vec trainers ([`word2vec`]) — each returning a table that prints itself; the reference scripts are
//! in `reference/`.

pub mod devices;
pub mod families;
pub mod harness;
pub mod signal;
pub mod train_step;
pub mod word2vec;

pub use harness::BenchError;

/// The README's example, compiled as a doctest so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
