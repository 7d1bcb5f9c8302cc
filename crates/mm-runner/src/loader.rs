//! Batches made ahead of the step on worker threads, in a fixed order.
//!
//! Items come from a burn [`Dataset`] and become tensors through a burn [`Batcher`], as in burn's own data
//! loader. The loop is mm's because of exact resume: burn's multi-threaded loader gives each worker a slice of
//! the data set and yields batches in whatever order the workers finish them, so neither which items share a
//! batch nor the order of batches can be repeated after a crash. Here batch `b` of an epoch is always the items
//! `order[b·size ..]`, augmented with a generator seeded by `(epoch, b)`; worker `w` makes the batches
//! `b ≡ w (mod workers)` and the consumer takes them in turn, so the stream is the same for any number of
//! workers, and it can start at any batch. Each worker holds at most `prefetch / workers + 1` finished batches:
//! memory is bounded by the batch, not by the data set.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;

use super::RunError;

/// Changes a batch's items before batching (augmentation); `batch` is the batch's index in the epoch.
pub type Prepare<I> = Arc<dyn Fn(usize, &mut [I]) + Send + Sync>;

/// What makes an epoch's batches.
pub struct Loader<I, B> {
    dataset: Arc<dyn Dataset<I>>,
    batcher: Arc<dyn Batcher<I, B>>,
    workers: usize,
    prefetch: usize,
}

impl<I, B> Clone for Loader<I, B> {
    fn clone(&self) -> Self {
        Self { dataset: self.dataset.clone(), batcher: self.batcher.clone(), workers: self.workers, prefetch: self.prefetch }
    }
}

impl<I: Send + Sync + 'static, B: Send + 'static> Loader<I, B> {
    /// A loader over `dataset` with `workers` threads (0: on the caller's thread) and about `prefetch` batches
    /// made ahead.
    pub fn new(dataset: Arc<dyn Dataset<I>>, batcher: Arc<dyn Batcher<I, B>>, workers: usize, prefetch: usize) -> Self {
        Self { dataset, batcher, workers, prefetch: prefetch.max(1) }
    }

    /// Items in the data set.
    pub fn len(&self) -> usize {
        self.dataset.len()
    }

    /// True when the data set is empty.
    pub fn is_empty(&self) -> bool {
        self.dataset.len() == 0
    }

    /// The batches of `order` cut into `batch_size` pieces, from batch `first` on, each passed through
    /// `prepare` and batched on `device`.
    pub fn batches(&self, order: Vec<usize>, batch_size: usize, first: usize, prepare: Option<Prepare<I>>, device: &Device) -> Batches<I, B> {
        let order = Arc::new(order);
        let count = order.len().div_ceil(batch_size.max(1));
        let job = Job { dataset: self.dataset.clone(), batcher: self.batcher.clone(), order, batch_size: batch_size.max(1), prepare, device: device.clone() };
        if self.workers == 0 {
            return Batches { next: first, count, source: Source::Inline(job), handles: Vec::new() };
        }
        let workers = self.workers.min(count.saturating_sub(first)).max(1);
        let depth = self.prefetch / workers + 1;
        let (mut receivers, mut handles) = (Vec::new(), Vec::new());
        for w in 0..workers {
            let (sender, receiver) = sync_channel(depth);
            let job = job.clone();
            handles.push(std::thread::spawn(move || {
                for b in (first + w..count).step_by(workers) {
                    if sender.send(job.make(b)).is_err() {
                        return;
                    }
                }
            }));
            receivers.push(receiver);
        }
        Batches { next: first, count, source: Source::Workers { receivers, first }, handles }
    }
}

struct Job<I, B> {
    dataset: Arc<dyn Dataset<I>>,
    batcher: Arc<dyn Batcher<I, B>>,
    order: Arc<Vec<usize>>,
    batch_size: usize,
    prepare: Option<Prepare<I>>,
    device: Device,
}

impl<I, B> Clone for Job<I, B> {
    fn clone(&self) -> Self {
        Self {
            dataset: self.dataset.clone(),
            batcher: self.batcher.clone(),
            order: self.order.clone(),
            batch_size: self.batch_size,
            prepare: self.prepare.clone(),
            device: self.device.clone(),
        }
    }
}

impl<I, B> Job<I, B> {
    fn make(&self, b: usize) -> Result<B, RunError> {
        let indices = &self.order[b * self.batch_size..((b + 1) * self.batch_size).min(self.order.len())];
        let mut items = Vec::with_capacity(indices.len());
        for &i in indices {
            items.push(self.dataset.get(i).map_err(|e| RunError::Other(format!("item {i}: {e}").into()))?);
        }
        if let Some(prepare) = &self.prepare {
            prepare(b, &mut items);
        }
        Ok(self.batcher.batch(items, &self.device))
    }
}

enum Source<I, B> {
    Inline(Job<I, B>),
    Workers { receivers: Vec<Receiver<Result<B, RunError>>>, first: usize },
}

/// An epoch's batches, in order; each is `(index in the epoch, batch)`.
pub struct Batches<I, B> {
    next: usize,
    count: usize,
    source: Source<I, B>,
    handles: Vec<JoinHandle<()>>,
}

impl<I, B> Iterator for Batches<I, B> {
    type Item = (usize, Result<B, RunError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.count {
            return None;
        }
        let b = self.next;
        self.next += 1;
        let batch = match &self.source {
            Source::Inline(job) => job.make(b),
            Source::Workers { receivers, first } => {
                receivers[(b - first) % receivers.len()].recv().unwrap_or_else(|_| Err(RunError::WorkerStopped { batch: b }))
            }
        };
        Some((b, batch))
    }
}

impl<I, B> Drop for Batches<I, B> {
    fn drop(&mut self) {
        // Closing the channels ends the workers at their next send.
        if let Source::Workers { receivers, .. } = &mut self.source {
            receivers.clear();
        }
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataset::InMemDataset;

    struct Sum;
    impl Batcher<u32, Vec<u32>> for Sum {
        fn batch(&self, items: Vec<u32>, _device: &Device) -> Vec<u32> {
            items
        }
    }

    #[test]
    fn batches_come_in_order_for_any_number_of_workers_and_from_any_start() {
        let dataset: Arc<dyn Dataset<u32>> = Arc::new(InMemDataset::new((0..23).collect()));
        let order: Vec<usize> = (0..23).rev().collect();
        let prepare: Prepare<u32> = Arc::new(|b, items: &mut [u32]| items.iter_mut().for_each(|i| *i += 100 * b as u32));
        let device = Device::flex();
        let all = |workers, first| -> Vec<(usize, Vec<u32>)> {
            Loader::new(dataset.clone(), Arc::new(Sum), workers, 3)
                .batches(order.clone(), 5, first, Some(prepare.clone()), &device)
                .map(|(b, batch)| (b, batch.unwrap()))
                .collect()
        };
        let inline = all(0, 0);
        assert_eq!(inline.len(), 5);
        assert_eq!(inline[0], (0, vec![22, 21, 20, 19, 18]));
        assert_eq!(inline[4], (4, vec![402, 401, 400]));
        assert_eq!(all(3, 0), inline);
        assert_eq!(all(2, 3), inline[3..].to_vec());
        // Stopping early ends the workers.
        let mut batches = Loader::new(dataset.clone(), Arc::new(Sum), 2, 2).batches(order.clone(), 1, 0, None, &device);
        assert_eq!(batches.next().unwrap().1.unwrap(), vec![22]);
        drop(batches);
    }
}
