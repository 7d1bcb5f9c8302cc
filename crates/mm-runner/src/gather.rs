//! Negatives from the global batch under data-parallel training, as OpenCLIP gathers them.
//!
//! With the batch split over replicas, a contrastive loss computed on one replica's rows would only see that
//! shard's negatives. The runner instead runs each replica's objective twice: first to record every replica's
//! embeddings ([`Phase::Record`]), then to compute the loss on all of them ([`Phase::Use`]), where [`gather_rows`]
//! puts the other replicas' rows (recorded, without gradient) around this replica's own (with gradient). Each
//! replica's gradient is then the global-batch loss's gradient through its own rows, and their sum over replicas
//! is the global-batch loss's gradient: OpenCLIP's `gather_with_grad = False` with the local rows kept
//! differentiable, and its note that DDP's gradient averaging must become a sum. [`global_loss`] undoes the
//! runner's weighting of each replica's loss by its share of the batch in the gradient of such losses.
//!
//! Outside data-parallel training (no gathering set up on this thread) both functions return their input.

use std::cell::RefCell;

use burn::tensor::Tensor;

/// Which pass of a replica's objective is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Record this replica's rows for the others.
    Record,
    /// Compute the loss over every replica's rows.
    Use,
}

struct Gathering {
    phase: Phase,
    replica: usize,
    /// This replica's share of the global batch.
    share: f32,
    /// `recorded[call][replica]`: the rows each gathering call saw on each replica.
    recorded: Vec<Vec<Option<Tensor<2>>>>,
    replicas: usize,
    call: usize,
}

thread_local! {
    static GATHERING: RefCell<Option<Gathering>> = const { RefCell::new(None) };
}

/// Sets up gathering over `replicas` replicas on this thread (the runner, before a data-parallel step).
pub fn begin(replicas: usize) {
    GATHERING.with(|g| *g.borrow_mut() = Some(Gathering { phase: Phase::Record, replica: 0, share: 1.0, recorded: Vec::new(), replicas, call: 0 }));
}

/// The next objective call is `replica`'s, in `phase`, with `share` of the global batch's examples.
pub fn enter(replica: usize, phase: Phase, share: f32) {
    GATHERING.with(|g| {
        if let Some(gathering) = g.borrow_mut().as_mut() {
            (gathering.replica, gathering.phase, gathering.share, gathering.call) = (replica, phase, share, 0);
        }
    });
}

/// Ends gathering on this thread; returns whether any objective gathered rows.
pub fn end() -> bool {
    GATHERING.with(|g| g.borrow_mut().take().is_some_and(|gathering| !gathering.recorded.is_empty()))
}

/// `rows` `[n, d]` of this replica; under data-parallel training, every replica's rows `[N, d]` in replica order
/// (the others' without gradient), else `rows` itself.
pub fn gather_rows(rows: Tensor<2>) -> Tensor<2> {
    GATHERING.with(|g| {
        let mut guard = g.borrow_mut();
        let Some(gathering) = guard.as_mut() else { return rows.clone() };
        let call = gathering.call;
        gathering.call += 1;
        match gathering.phase {
            Phase::Record => {
                if gathering.recorded.len() <= call {
                    gathering.recorded.push(vec![None; gathering.replicas]);
                }
                gathering.recorded[call][gathering.replica] = Some(rows.clone().detach());
                rows
            }
            Phase::Use => {
                let device = rows.device();
                let parts: Vec<Tensor<2>> = (0..gathering.replicas)
                    .filter_map(|r| {
                        if r == gathering.replica {
                            Some(rows.clone())
                        } else {
                            gathering.recorded.get(call).and_then(|calls| calls[r].clone()).map(|other| other.to_device(&device))
                        }
                    })
                    .collect();
                Tensor::cat(parts, 0)
            }
        }
    })
}

/// A loss over gathered rows, `[1]`. Under data-parallel training the runner weights each replica's loss by its
/// share of the batch, which is right for a mean over the replica's own examples but not for a loss already over
/// the global batch: here the loss keeps its value (so that the weighted sum over replicas reports it once) while
/// its gradient is divided by the share (so that each replica's weighted gradient is the whole loss's gradient
/// through its own rows). Outside data-parallel training, the loss itself.
pub fn global_loss(loss: Tensor<1>) -> Tensor<1> {
    GATHERING.with(|g| match g.borrow().as_ref() {
        Some(gathering) if gathering.phase == Phase::Use => {
            let value = loss.clone().detach();
            value.clone() + (loss - value) / gathering.share
        }
        _ => loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn rows_come_back_in_replica_order_and_only_under_gathering() {
        let device = Device::flex();
        let rows = |v: f32| Tensor::<2>::full([1, 2], v, &device);
        assert_eq!(gather_rows(rows(1.0)).dims(), [1, 2], "no gathering: the rows themselves");
        begin(3);
        for (r, v) in [1.0, 2.0, 3.0].into_iter().enumerate() {
            enter(r, Phase::Record, 1.0 / 3.0);
            gather_rows(rows(v));
        }
        enter(1, Phase::Use, 1.0 / 3.0);
        let all: Vec<f32> = gather_rows(rows(2.0)).into_data().try_to_vec().unwrap();
        assert_eq!(all, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        let loss: f32 = global_loss(Tensor::from_floats([1.0], &device)).into_scalar();
        assert!((loss - 1.0).abs() < 1e-6, "the value is kept; the gradient is scaled (tests/data_parallel.rs)");
        assert!(end());
        assert!(!end(), "ended");
    }
}
