//! Data-parallel training on two devices (two flex replicas: the arithmetic is the same on any backend) gives what
//! one device gives on the same global batch: exactly for a per-example loss, and for a contrastive loss only
//! because every replica sees the global batch's negatives. Then the runner trains through `train.devices`.

mod common;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Distribution, Tensor};
use mm_joint::losses::info_nce;
use mm_tasks::encoders::mnist::{Mnist, MnistConfig};
use mm_tasks::runner::{Learner, OptimizerSettings, Optimizers, RunDir, RunError, Span, StepOutput, TrainConfig, replicated_step, train_task};
use mm_tasks::{DeviceKind, Replica};

/// Two linear towers matched by InfoNCE (gathering negatives when `GATHERS`), plus a per-example squared term.
#[derive(Module, Debug)]
struct Towers {
    left: Linear,
    right: Linear,
}

/// The towers' batch: paired rows `[B, 6]` and `[B, 5]`.
#[derive(Clone, Debug)]
struct Pairs {
    left: Tensor<2>,
    right: Tensor<2>,
}

impl Towers {
    fn loss(&self, batch: &Pairs) -> StepOutput {
        let [n, _] = batch.left.dims();
        let (a, b) = (self.left.forward(batch.left.clone()), self.right.forward(batch.right.clone()));
        let temperature = Tensor::from_floats([0.5], &a.device());
        let contrastive = info_nce(a.clone(), b.clone(), temperature);
        let per_example = (a - b).powi_scalar(2).mean();
        StepOutput::loss(contrastive + per_example, n)
    }
}

impl Learner for Towers {
    type Batch = Pairs;
    fn objective(&self, batch: &Pairs) -> StepOutput {
        self.loss(batch)
    }
    fn gathers() -> bool {
        true
    }
}

/// The same towers, but telling the runner they do not gather: each replica's InfoNCE sees its shard only.
#[derive(Module, Debug)]
struct LocalTowers {
    towers: Towers,
}

impl Learner for LocalTowers {
    type Batch = Pairs;
    fn objective(&self, batch: &Pairs) -> StepOutput {
        self.towers.loss(batch)
    }
}

fn weights<M: Module>(model: &M) -> Vec<f32> {
    use burn::module::ModuleVisitor;
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            self.0.extend(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn optimizers() -> Optimizers {
    Optimizers::new(vec![("model".into(), OptimizerSettings::default(), 1e-2)], Default::default(), 100)
}

/// Three steps on one device with batches of 12, and on two with the same batches cut 6 + 6 (and 7 + 5).
fn one_and_two_devices<M: Learner<Batch = Pairs>>(model: M, shards_at: usize) -> (Vec<f32>, Vec<f32>) {
    let device = Device::flex().autodiff();
    device.seed(3);
    let batches: Vec<Pairs> = (0..3)
        .map(|_| Pairs {
            left: Tensor::random([12, 6], Distribution::Normal(0.0, 1.0), &device),
            right: Tensor::random([12, 5], Distribution::Normal(0.0, 1.0), &device),
        })
        .collect();
    let (mut one, mut opt_one) = (model.clone(), optimizers());
    let (mut two, mut opt_two) = (model, optimizers());
    let devices = vec![device.clone(), device.clone()];
    for batch in &batches {
        let one_output;
        (one, one_output) = one.train_step(batch, &mut opt_one);
        let cut = |t: &Tensor<2>| [t.clone().narrow(0, 0, shards_at), t.clone().narrow(0, shards_at, 12 - shards_at)];
        let ([l0, l1], [r0, r1]) = (cut(&batch.left), cut(&batch.right));
        let shards = [Pairs { left: l0, right: r0 }, Pairs { left: l1, right: r1 }];
        let output;
        (two, output) = replicated_step(two, &shards, &devices, 0, &mut opt_two);
        assert_eq!(output.examples, 12);
        let [a, b]: [f32; 2] = [one_output.loss.into_scalar(), output.loss.into_scalar()];
        if M::gathers() {
            assert!((a - b).abs() < 1e-5, "the reported loss is the global batch's: {a} on one device, {b} on two");
        }
    }
    (weights(&one), weights(&two))
}

#[test]
fn two_devices_match_one_with_the_same_global_batch() {
    let _turn = common::turn();
    let device = Device::flex().autodiff();
    device.seed(1);
    let towers = Towers { left: LinearConfig::new(6, 4).init(&device), right: LinearConfig::new(5, 4).init(&device) };
    let before = weights(&towers);
    for shards_at in [6, 7] {
        let (one, two) = one_and_two_devices(towers.clone(), shards_at);
        assert!(largest_difference(&one, &before) > 1e-3, "the steps changed the weights");
        // Stated tolerance: float32 sums in another order, three Adam steps.
        assert!(largest_difference(&one, &two) < 1e-5, "cut {shards_at}: two devices differ from one by {}", largest_difference(&one, &two));
    }
    // Without gathering, each replica's InfoNCE sees 6 negatives instead of 12: visibly another gradient.
    let (one, two) = one_and_two_devices(LocalTowers { towers }, 6);
    assert!(largest_difference(&one, &two) > 1e-4, "gathering must matter: {}", largest_difference(&one, &two));
}

#[test]
fn the_runner_trains_on_two_devices_and_refuses_what_it_cannot_split() {
    let Some(root) = common::shared_data() else { return };
    let _turn = common::turn();
    let dir = tempfile::tempdir().unwrap();
    let flex = Replica { kind: DeviceKind::Flex, index: None };
    let mut config = MnistConfig {
        encoder: mm_vision::encoders::ImageEncoderConfig::new().with_stages(vec![8, 16]).with_blocks_per_stage(1),
        dropout: 0.0,
        ..Default::default()
    };
    config.train = TrainConfig { epochs: 2, limit: Some(4096), batch_size: 64, lr: 3e-3, ..config.train };
    let single = train_task::<Mnist>(&config, &root, &RunDir::create(&dir.path().join("one"), "mnist", 0).unwrap(), Span::WHOLE).unwrap();
    config.train.devices = vec![flex, flex];
    let double = train_task::<Mnist>(&config, &root, &RunDir::create(&dir.path().join("two"), "mnist", 0).unwrap(), Span::WHOLE).unwrap();
    let accuracy = |run: &mm_tasks::runner::TrainedRun<_>| run.outcome.history[1].values["valid_accuracy"];
    // Batch norm normalises each 32-picture shard by its own statistics, so the runs are close, not equal.
    // (0.3611 against 0.3628 on one device when written; chance is 0.1.)
    assert!(accuracy(&double) > 0.25, "two replicas learn: {}", accuracy(&double));
    assert!((accuracy(&double) - accuracy(&single)).abs() < 0.03, "{} against {}", accuracy(&double), accuracy(&single));
    // `device` and `devices` together are refused.
    let both = TrainConfig { device: Some(DeviceKind::Flex), ..config.train.clone() };
    let error = both.check().unwrap_err();
    assert!(matches!(error, RunError::BadSetting { ref name, .. } if name.contains("train.devices")), "{error}");
}
