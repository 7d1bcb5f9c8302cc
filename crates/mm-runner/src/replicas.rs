//! Data-parallel training over several devices (`train.devices`, `--devices flex,flex` or `wgpu:0,wgpu:1`), made
//! of burn's own pieces as burn-train's multi-device strategy is: the model is forked to each replica's device
//! ([`Module::fork`]), each replica computes its shard's loss and gradients, the gradients come to the first device
//! ([`GradientsParams::to_device`]), are summed there ([`GradientsAccumulator`]) and applied once by the runner's
//! optimisers. It lives inside the runner's loop so that exact resume, checkpoints, schedules and module rates
//! stay the runner's.
//!
//! Each replica's loss is weighted by its share of the global batch, so the summed gradient is the global batch's
//! mean gradient, as on one device. Contrastive losses gather every replica's embeddings
//! ([`crate::gather`]): models that say so ([`Learner::gathers`]) run their objective twice per replica, once
//! to record the embeddings and once to compute the loss over all of them. Batch norm normalises each shard by its
//! own statistics, as PyTorch's DDP does without SyncBatchNorm.
//!
//! Why not burn's all-reduce (`burn::tensor::distributed`, burn-train's DDP strategy): in burn 0.22 the collective
//! is implemented by the CUDA runtime only (NCCL); flex has none and wgpu answers `NoDeviceTransport`, so it can
//! neither run nor be tested on the backends mm builds with.

use std::sync::Arc;

use crate::gather::{self, Phase};
use burn::data::dataloader::batcher::Batcher;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Device, Tensor};

use super::optim::Optimizers;
use super::step::{Learner, StepOutput, apply_gradients};

/// Cuts each batch's items into one contiguous shard per device, in device order, and batches each shard on its
/// device; shards left empty (a last batch smaller than the number of devices) are dropped from the end.
pub struct ShardBatcher<I, B> {
    inner: Arc<dyn Batcher<I, B>>,
    devices: Vec<Device>,
}

impl<I, B> ShardBatcher<I, B> {
    /// Shards for `devices`, batched by `inner`.
    pub fn new(inner: Arc<dyn Batcher<I, B>>, devices: Vec<Device>) -> Self {
        Self { inner, devices }
    }
}

impl<I: Send + Sync, B: Send> Batcher<I, Vec<B>> for ShardBatcher<I, B> {
    fn batch(&self, items: Vec<I>, _device: &Device) -> Vec<B> {
        let n = self.devices.len();
        // The first `total mod n` shards take one item more; empty shards (fewer items than devices) come last.
        let (base, extra) = (items.len() / n, items.len() % n);
        let mut items = items.into_iter();
        let mut shards = Vec::with_capacity(n);
        for (r, device) in self.devices.iter().enumerate() {
            let shard: Vec<I> = items.by_ref().take(base + usize::from(r < extra)).collect();
            if shard.is_empty() {
                break;
            }
            shards.push(self.inner.batch(shard, device));
        }
        shards
    }
}

/// One data-parallel step: shard `r` of `shards` on `devices[r]` (autodiff devices, the first the model's), each
/// seeded with `seed + r` before its objective; the gradients summed on the first device and applied with the
/// `model` optimiser, each named sub-module at its rate. Returns the updated model and the global batch's output
/// (its loss the examples-weighted mean, its metrics the sums).
pub fn replicated_step<M: Learner>(model: M, shards: &[M::Batch], devices: &[Device], seed: u64, optimizers: &mut Optimizers) -> (M, StepOutput) {
    assert!(!shards.is_empty() && shards.len() <= devices.len(), "{} shards for {} devices", shards.len(), devices.len());
    let main = &devices[0];
    let replicas: Vec<M> = (0..shards.len()).map(|r| if r == 0 { model.clone() } else { model.clone().fork(&devices[r]) }).collect();
    let objective = |r: usize, phase: Option<(Phase, f32)>| {
        if let Some((phase, share)) = phase {
            gather::enter(r, phase, share);
        }
        devices[r].seed(seed.wrapping_add(r as u64));
        replicas[r].objective(&shards[r])
    };
    let outputs: Vec<StepOutput> = if M::gathers() {
        gather::begin(shards.len());
        let recorded: Vec<usize> = (0..shards.len()).map(|r| objective(r, Some((Phase::Record, 1.0))).examples).collect();
        let total = recorded.iter().sum::<usize>() as f32;
        let outputs = (0..shards.len()).map(|r| objective(r, Some((Phase::Use, recorded[r] as f32 / total)))).collect();
        gather::end();
        outputs
    } else {
        (0..shards.len()).map(|r| objective(r, None)).collect()
    };
    let total: usize = outputs.iter().map(|o| o.examples).sum();

    // Every replica's backward pass is queued before any gradient is read back, so that GPUs work together.
    let mut gradients = Vec::with_capacity(outputs.len());
    for (replica, output) in replicas.iter().zip(&outputs) {
        let share = output.examples as f32 / total.max(1) as f32;
        let mut grads = (output.loss.clone() * share).backward();
        let groups = replica.split_gradients(&mut grads);
        gradients.push((GradientsParams::from_grads(grads, replica), groups));
    }
    let mut rest = GradientsAccumulator::<M>::new();
    let mut named: Vec<(&'static str, GradientsAccumulator<M>)> = Vec::new();
    for ((grads, groups), replica) in gradients.into_iter().zip(&replicas) {
        rest.accumulate(&model, grads.to_device(main, replica));
        for (name, group) in groups {
            let position = named.iter().position(|(n, _)| *n == name).unwrap_or_else(|| {
                named.push((name, GradientsAccumulator::new()));
                named.len() - 1
            });
            named[position].1.accumulate(&model, group.to_device(main, replica));
        }
    }
    let groups = named.into_iter().map(|(name, mut accumulator)| (name, accumulator.grads())).collect();
    let model = apply_gradients(model, rest.grads(), groups, optimizers, "model");
    (model, merge(outputs, total, main))
}

/// The global batch's output from the replicas': loss weighted by examples, metric sums added, on `device`.
fn merge(outputs: Vec<StepOutput>, total: usize, device: &Device) -> StepOutput {
    let mut merged: Option<StepOutput> = None;
    for output in outputs {
        let weight = output.examples as f32 / total.max(1) as f32;
        let loss = output.loss.detach().to_device(device) * weight;
        let metrics: Vec<(&'static str, Tensor<1>)> = output.metrics.into_iter().map(|(name, sum)| (name, sum.detach().to_device(device))).collect();
        merged = Some(match merged {
            None => StepOutput { loss, examples: output.examples, metrics },
            Some(sum) => StepOutput {
                loss: sum.loss + loss,
                examples: sum.examples + output.examples,
                metrics: sum.metrics.into_iter().zip(metrics).map(|((name, a), (_, b))| (name, a + b)).collect(),
            },
        });
    }
    merged.expect("at least one replica")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Identity;
    impl Batcher<u32, Vec<u32>> for Identity {
        fn batch(&self, items: Vec<u32>, _device: &Device) -> Vec<u32> {
            items
        }
    }

    #[test]
    fn shards_are_contiguous_and_nearly_equal_and_empty_ones_are_dropped() {
        let batcher = ShardBatcher::new(Arc::new(Identity), vec![Device::flex(); 3]);
        assert_eq!(batcher.batch((0..7).collect(), &Device::flex()), vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]);
        assert_eq!(batcher.batch(vec![9, 8], &Device::flex()), vec![vec![9], vec![8]]);
    }
}
