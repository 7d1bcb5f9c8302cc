//! mm's benchmarks: criterion benches of the signal stack live in `benches/`; [`families`] holds the model
//! workloads `cargo xtask bench devices` times on every device beside PyTorch.

pub mod families;

/// The README's example, compiled as a doctest so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
