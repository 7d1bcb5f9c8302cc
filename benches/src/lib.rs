//! Criterion benches for mm live in `benches/`; this library is empty.
