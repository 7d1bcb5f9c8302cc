//! The zero-shot protocol: one pair of digits held out entirely — (0,1), (2,3), (4,5), (6,7), (8,9) — per split,
//! several seeds per split. By default each split and seed trains its own MNIST encoder without the held-out
//! digits (so no part of the system has seen them), then the tagging model on it; each is reported on the test
//! pictures, and the means come with 95% intervals. A run of several parts: each split and seed is a sub-run
//! (`held-out-AB/seed-S/`, with `encoder/` and `tagging/` inside), and a resumed protocol keeps the parts that
//! finished.

use std::path::Path;

use burn::tensor::Device;
use serde::Serialize;

use super::{Tagging, TaggingConfig, TaggingReport, ZeroShot, ZeroShotEncoder, evaluate_tagging};
use crate::data::DataRoot;
use crate::encoders::mnist::{Mnist, MnistConfig};
use crate::runner::{RunDir, RunError, Span, Spread, start_run_of_parts, train_part, write_atomically};

/// The held-out pairs.
pub const HELD_OUT_PAIRS: [[u8; 2]; 5] = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]];

/// One split's results over its seeds.
#[derive(Debug, Clone, Serialize)]
pub struct SplitSummary {
    /// The held-out digits.
    pub digits: Vec<u8>,
    /// Accuracy among the held-out pair by name, over the seeds.
    pub by_name: Spread,
    /// … by description.
    pub by_description: Spread,
    /// Generalised (among all ten, uncalibrated), over the seeds.
    pub generalised_by_description: Spread,
    /// Calibrated stacking's area under the seen–unseen curve, over the seeds.
    pub ausuc: Spread,
}

/// The zero-shot protocol's results, as written to `zero-shot.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ZeroShotSummary {
    /// Whether each split's encoder was trained without its held-out digits (otherwise: the seen-class leak).
    pub encoder_per_split: bool,
    /// Seeds per split.
    pub seeds: usize,
    /// Over every split and seed: by name.
    pub by_name: Spread,
    /// … by description.
    pub by_description: Spread,
    /// Chance among the pair.
    pub chance: f64,
    /// … generalised, uncalibrated.
    pub generalised_by_description: Spread,
    /// Chance among ten.
    pub generalised_chance: f64,
    /// … calibrated stacking's AUSUC.
    pub ausuc: Spread,
    /// Per split.
    pub per_split: Vec<SplitSummary>,
    /// Each split and seed's report, split by split.
    pub splits: Vec<TaggingReport>,
}

impl ZeroShotSummary {
    /// The spreads of `splits` (`seeds` consecutive reports per split).
    pub fn new(splits: Vec<TaggingReport>, seeds: usize, encoder_per_split: bool) -> Self {
        let zero: Vec<&ZeroShot> = splits.iter().filter_map(|s| s.zero_shot.as_ref()).collect();
        let spread = |runs: &[&ZeroShot], pick: fn(&ZeroShot) -> f64| Spread::new(runs.iter().map(|z| pick(z)).collect());
        let per_split = zero
            .chunks(seeds.max(1))
            .map(|runs| SplitSummary {
                digits: runs[0].digits.clone(),
                by_name: spread(runs, |z| z.by_name),
                by_description: spread(runs, |z| z.by_description),
                generalised_by_description: spread(runs, |z| z.generalised_by_description),
                ausuc: spread(runs, |z| z.calibrated.ausuc),
            })
            .collect();
        Self {
            encoder_per_split,
            seeds,
            by_name: spread(&zero, |z| z.by_name),
            by_description: spread(&zero, |z| z.by_description),
            chance: zero.first().map_or(0.5, |z| z.chance),
            generalised_by_description: spread(&zero, |z| z.generalised_by_description),
            generalised_chance: 0.1,
            ausuc: spread(&zero, |z| z.calibrated.ausuc),
            per_split,
            splits,
        }
    }
}

/// Trains every split and seed in `run/held-out-AB/seed-S/` — its encoder first when the protocol asks for one
/// per split — and reports each, over `span`; writes `run/zero-shot.json`. Resumed, finished parts are reported
/// again from their saved models and an interrupted one continues. `None` when the span stopped a part early.
pub fn train_zero_shot(config: &TaggingConfig, root: &DataRoot, run: &RunDir, span: Span, device: &Device) -> Result<Option<ZeroShotSummary>, RunError> {
    let (_lock, config) = start_run_of_parts::<Tagging>(config, run)?;
    let config = &config;
    let seeds = config.zero_shot.seeds.max(1);
    let mut splits = Vec::new();
    for pair in HELD_OUT_PAIRS {
        for seed in 0..seeds as u64 {
            let part = run.child(&format!("held-out-{}{}", pair[0], pair[1]))?.child(&format!("seed-{seed}"))?;
            let encoder_run = match &config.zero_shot.encoder {
                ZeroShotEncoder::Shared => None,
                ZeroShotEncoder::PerSplit { mnist } => {
                    let mut mnist = MnistConfig { exclude_digits: pair.to_vec(), ..mnist.clone() };
                    mnist.train.seed = seed;
                    let child = part.child("encoder")?;
                    if train_part::<Mnist>(&mnist, root, &child, span)?.is_none() {
                        return Ok(None);
                    }
                    Some(child.path().to_path_buf())
                }
            };
            let mut split_config = TaggingConfig { held_out: pair.to_vec(), encoder_run: encoder_run.or(config.encoder_run.clone()), ..config.clone() };
            split_config.train.seed = seed;
            let child = part.child("tagging")?;
            if train_part::<Tagging>(&split_config, root, &child, span)?.is_none() {
                return Ok(None);
            }
            splits.push(evaluate_tagging(child.path(), root, device)?);
        }
    }
    let summary = ZeroShotSummary::new(splits, seeds, matches!(config.zero_shot.encoder, ZeroShotEncoder::PerSplit { .. }));
    write_atomically(&run.path().join("zero-shot.json"), &serde_json::to_vec_pretty(&summary).expect("serialises"))?;
    Ok(Some(summary))
}

/// Whether `run` is a zero-shot protocol (it has split sub-runs).
pub fn is_zero_shot(run: &Path) -> bool {
    run.join(format!("held-out-{}{}", HELD_OUT_PAIRS[0][0], HELD_OUT_PAIRS[0][1])).is_dir()
}

/// `train tagging --zero-shot`: every split and seed trained and reported, as [`train_zero_shot`] does.
pub fn zero_shot_command(request: &crate::runner::TrainRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
    let (config, run, span) = request.prepare::<Tagging>()?;
    let device = crate::systems::device_of(request.overrides.device)?;
    let summary = train_zero_shot(&config, &request.root(), &run, span, &device)?;
    Ok(Box::new(ZeroShotTrained { run: run.path().to_path_buf(), summary }))
}

/// What `train tagging --zero-shot` leaves.
struct ZeroShotTrained {
    run: std::path::PathBuf,
    summary: Option<ZeroShotSummary>,
}

impl std::fmt::Display for ZeroShotTrained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(summary) = &self.summary else { return write!(f, "stopped early; continue with --resume {}", self.run.display()) };
        write!(f, "{summary}\n  {}", self.run.join("zero-shot.json").display())
    }
}

impl crate::systems::Report for ZeroShotTrained {
    fn json(&self) -> String {
        crate::systems::json_or_stopped(self.summary.as_ref(), &self.run)
    }
}

impl std::fmt::Display for ZeroShotSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let encoders =
            if self.encoder_per_split { "an encoder per split, trained without its held-out digits" } else { "the shared encoder (trained on all ten digits)" };
        write!(f, "zero-shot over five splits × {} seeds ({encoders}); mean ± 95% interval:", self.seeds)?;
        let show = |s: &Spread| format!("{:.4} ± {:.4}", s.mean, s.interval_95);
        for split in &self.per_split {
            write!(
                f,
                "\n  held out {:?}: by name {}, by description {}, generalised {}, AUSUC {}",
                split.digits,
                show(&split.by_name),
                show(&split.by_description),
                show(&split.generalised_by_description),
                show(&split.ausuc)
            )?;
        }
        write!(
            f,
            "\n  all: by name {}, by description {} (chance {:.2}); generalised {} (chance {:.2}); calibrated stacking AUSUC {}",
            show(&self.by_name),
            show(&self.by_description),
            self.chance,
            show(&self.generalised_by_description),
            self.generalised_chance,
            show(&self.ausuc)
        )
    }
}
