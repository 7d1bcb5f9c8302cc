//! A burn-only reproducer for upstream: one 3 × 3 convolution layer of mm's mnist CNN (batch 64, 32 → 64 channels,
//! 14 × 14, padding 1, no bias) on flex — forward alone, forward + backward, and the two gradients as burn's default
//! backward computes them (the input's as a transposed convolution; the weight's as a convolution of the
//! batch-swapped input with the batch-swapped output gradient as a 14 × 14 kernel, burn-backend's
//! `conv2d_weight_grad_no_groups`) — median ms of 30 calls. PyTorch's figures for the same layer come from
//! `benches/reference/conv_step_reference.py`.
//!
//! ```sh
//! cargo run -p mm-benches --example flex_conv_step
//! ```

use std::time::Instant;

use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
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
    let plain = Device::flex();
    let (x, w) = (input.clone().detach().inner(), weight.clone().detach().inner());
    let grad = Tensor::<4>::random([64, 64, 14, 14], Distribution::Normal(0.0, 1.0), &plain);
    let input_grad =
        median_ms(|| conv_transpose2d(grad.clone(), w.clone(), None, ConvTransposeOptions::new([1, 1], [1, 1], [0, 0], [1, 1], 1)).sum().into_scalar());
    let weight_grad = median_ms(|| conv2d(x.clone().swap_dims(0, 1), grad.clone().swap_dims(0, 1), None, options()).swap_dims(0, 1).sum().into_scalar());
    println!(
        "burn 0.22.1 flex, conv2d [64, 32, 14, 14] * [64, 32, 3, 3], padding 1: forward {forward:.2} ms, forward + backward {both:.2} ms; \
         input gradient (transposed convolution) {input_grad:.2} ms, weight gradient (batch-swapped convolution) {weight_grad:.2} ms"
    );
}
