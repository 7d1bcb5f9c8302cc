//! What the integration tests share.

use std::path::PathBuf;

use mm_tasks::data::DataRoot;

// One definition for every crate's tests: the data layer's tests include the same file.
#[path = "../../../mm-data/tests/shared/mod.rs"]
mod shared;
#[allow(unused_imports)]
pub use shared::shared_data;

/// One test at a time, where a file's tests draw from the device's process-wide random generator outside a run
/// (a network's initial weights, a random probe), which would shift another test's run.
#[allow(dead_code)]
pub fn turn() -> std::sync::MutexGuard<'static, ()> {
    static ONE_TEST_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_TEST_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How far an image encoder has moved from the one of the shapes run `encoder_run`: the largest difference between
/// their maps of two random 32 × 32 pictures (0 for an encoder kept frozen, batch norm included).
#[allow(dead_code)]
pub fn drift_from_shapes_run(encoder_run: &std::path::Path) -> impl Fn(&mm_vision::encoders::ImageEncoder) -> f32 {
    use burn::tensor::{Device, Distribution, Tensor};
    let device = Device::flex();
    let pictures = Tensor::<4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let (_, describer) = mm_tasks::runner::load_model::<mm_tasks::encoders::shapes::Shapes>(encoder_run, &device).unwrap();
    let original = describer.encoder.forward(pictures.clone()).features;
    move |encoder| (encoder.forward(pictures.clone()).features - original.clone()).abs().max().into_scalar()
}

/// A small shapes encoder (8-16-32 channels) trained for `epochs` on `scenes` scenes, in a run under `runs`.
#[allow(dead_code)]
pub fn tiny_shapes_encoder(runs: &std::path::Path, root: &DataRoot, scenes: usize, epochs: usize) -> PathBuf {
    tiny_shapes_encoder_of_seed(runs, root, scenes, epochs, 0)
}

/// [`tiny_shapes_encoder`] from the training seed `seed` (other initial weights and batch order).
#[allow(dead_code)]
pub fn tiny_shapes_encoder_of_seed(runs: &std::path::Path, root: &DataRoot, scenes: usize, epochs: usize, seed: u64) -> PathBuf {
    use mm_tasks::encoders::shapes::{Shapes, ShapesTaskConfig};
    let mut config = ShapesTaskConfig { train_scenes: scenes, valid_scenes: 32, test_scenes: 32, ..Default::default() };
    config.encoder = config.encoder.with_stages(vec![8, 16, 32]);
    config.train.epochs = epochs;
    config.train.seed = seed;
    let run = mm_tasks::runner::RunDir::create(runs, "shapes", seed).unwrap();
    mm_tasks::runner::train_task::<Shapes>(&config, root, &run, mm_tasks::runner::Span::WHOLE).unwrap();
    run.path().to_path_buf()
}

/// A small MNIST encoder (8-16-32 channels), trained for one epoch on 8,192 pictures, in a run under `runs`.
#[allow(dead_code)]
pub fn tiny_mnist_encoder(runs: &std::path::Path, root: &DataRoot) -> PathBuf {
    tiny_mnist_encoder_of_seed(runs, root, 0)
}

/// [`tiny_mnist_encoder`] from the training seed `seed` (other initial weights and batch order).
#[allow(dead_code)]
pub fn tiny_mnist_encoder_of_seed(runs: &std::path::Path, root: &DataRoot, seed: u64) -> PathBuf {
    use mm_tasks::encoders::mnist::{Mnist, MnistConfig};
    let mut config =
        MnistConfig { encoder: mm_vision::encoders::ImageEncoderConfig::new().with_stages(vec![8, 16, 32]).with_blocks_per_stage(1), ..Default::default() };
    config.train.epochs = 1;
    config.train.limit = Some(8192);
    config.train.batch_size = 64;
    config.train.seed = seed;
    let run = mm_tasks::runner::RunDir::create(runs, "mnist", seed).unwrap();
    mm_tasks::runner::train_task::<Mnist>(&config, root, &run, mm_tasks::runner::Span::WHOLE).unwrap();
    run.path().to_path_buf()
}
