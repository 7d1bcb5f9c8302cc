//! A burn-only reproducer for upstream: one 3 × 3 convolution layer of mm's mnist CNN (batch 64, 32 → 64 channels,
//! 14 × 14, padding 1, no bias) on flex, forward alone and forward + backward, median ms of 30 calls. PyTorch's
//! figures for the same layer come from `benches/reference/conv_step_reference.py`.
//!
//! ```sh
//! cargo run -p mm-benches --example flex_conv_step
//! ```

use std::time::Instant;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};

fn median_ms(mut call: impl FnMut() -> f32) -> f64 {
    for _ in 0..5 {
        std::hint::black_box(call());
    }
    let mut times: Vec<f64> = (0..30)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(call());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let device = Device::flex().autodiff();
    let input = Tensor::<4>::random([64, 32, 14, 14], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let weight = Tensor::<4>::random([64, 32, 3, 3], Distribution::Normal(0.0, 0.1), &device).require_grad();
    let options = || ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let forward = median_ms(|| conv2d(input.clone().detach(), weight.clone().detach(), None, options()).sum().into_scalar());
    let both = median_ms(|| {
        let out = conv2d(input.clone(), weight.clone(), None, options()).sum();
        let grads = out.backward();
        weight.grad(&grads).expect("weight gradient").sum().into_scalar::<f32>() + input.grad(&grads).expect("input gradient").sum().into_scalar::<f32>()
    });
    println!("burn 0.22.1 flex, conv2d [64, 32, 14, 14] * [64, 32, 3, 3], padding 1: forward {forward:.2} ms, forward + backward {both:.2} ms");
}
