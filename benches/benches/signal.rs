//! Criterion benches of the signal stack on the 60 s benchmark signal (`../shared/bench/stft_signal.wav`, or
//! `MM_BENCH_DIR`; where neither has it, the same signal synthesised). Run with `cargo bench -p mm-benches --profile dev` to reuse the test build; the comparison
//! with librosa and torch is `cargo xtask bench signal`.

use criterion::{Criterion, criterion_group, criterion_main};
use mm_audio::signal::{Istft, LogMel, LogMelConfig, Stft, StftConfig};

fn signal() -> Vec<f32> {
    let dir = std::env::var("MM_BENCH_DIR").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/bench").into());
    mm_benches::signal::bench_signal(std::path::Path::new(&dir)).unwrap_or_else(|e| panic!("{e} (set MM_BENCH_DIR)"))
}

fn bench_signal(c: &mut Criterion) {
    let samples = signal();
    let config = StftConfig::new(512).with_hop_length(128);
    let mut group = c.benchmark_group("60s_16kHz");
    group.sample_size(20);
    let mut stft = Stft::new(config).unwrap();
    group.bench_function("stft_512_128", |b| b.iter(|| stft.process(&samples).unwrap()));
    let spectrum = stft.process(&samples).unwrap();
    let mut istft = Istft::new(config).unwrap();
    group.bench_function("istft_512_128", |b| b.iter(|| istft.process(spectrum.view(), Some(samples.len())).unwrap()));
    let mut log_mel_config = LogMelConfig::new(16000, 512, 128, 80);
    log_mel_config.mel = log_mel_config.mel.with_fmax(8000.0);
    let mut log_mel = LogMel::new(log_mel_config).unwrap();
    group.bench_function("logmel_80", |b| b.iter(|| log_mel.process(&samples).unwrap()));
    let mut odd = Stft::new(StftConfig::new(400).with_hop_length(160)).unwrap();
    group.bench_function("stft_400_160", |b| b.iter(|| odd.process(&samples).unwrap()));
    group.finish();
}

criterion_group!(benches, bench_signal);
criterion_main!(benches);
