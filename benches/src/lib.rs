//! mm's benchmarks: criterion benches of the signal stack live in `benches/`; [`families`] holds the model
//! workloads `cargo xtask bench devices` times on every device beside PyTorch.

pub mod families;
