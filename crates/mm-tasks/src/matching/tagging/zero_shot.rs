//! The zero-shot protocol: five runs, each with one pair of digits held out entirely — (0,1), (2,3), (4,5),
//! (6,7), (8,9) — each reported on the test pictures, and the mean over the five. A run of several parts: each
//! split is a sub-run (`held-out-AB/`), and a resumed protocol keeps the splits that finished.

use std::path::Path;

use burn::tensor::Device;
use serde::Serialize;

use super::{Tagging, TaggingConfig, TaggingReport, ZeroShot, evaluate_tagging};
use crate::data::DataRoot;
use crate::runner::{CONFIG_FILE, MODEL_FILE, RunDir, RunError, start_run_of_parts, train_task, write_atomically};

/// The held-out pairs.
pub const HELD_OUT_PAIRS: [[u8; 2]; 5] = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]];

/// Zero-shot accuracy averaged over the held-out splits, as written to `zero-shot.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ZeroShotSummary {
    /// Mean accuracy among the held-out pair by the digit's name.
    pub by_name: f64,
    /// … by name and describing words.
    pub by_description: f64,
    /// Chance among the pair.
    pub chance: f64,
    /// Mean generalised accuracy (among all ten digits).
    pub generalised_by_description: f64,
    /// Chance among ten.
    pub generalised_chance: f64,
    /// Each split's report.
    pub splits: Vec<TaggingReport>,
}

impl ZeroShotSummary {
    /// The means over `splits`.
    pub fn new(splits: Vec<TaggingReport>) -> Self {
        let zero: Vec<&ZeroShot> = splits.iter().filter_map(|s| s.zero_shot.as_ref()).collect();
        let mean = |pick: fn(&ZeroShot) -> f64| zero.iter().map(|z| pick(z)).sum::<f64>() / zero.len().max(1) as f64;
        Self {
            by_name: mean(|z| z.by_name),
            by_description: mean(|z| z.by_description),
            chance: mean(|z| z.chance),
            generalised_by_description: mean(|z| z.generalised_by_description),
            generalised_chance: 0.1,
            splits,
        }
    }
}

/// Trains the five splits in `run/held-out-AB/` and reports each; writes `run/zero-shot.json`. With `resume`,
/// finished splits are reported again from their saved models and an interrupted one continues. `None` when
/// `stop_after` stopped a split early.
pub fn train_zero_shot(
    config: &TaggingConfig,
    root: &DataRoot,
    run: &RunDir,
    resume: bool,
    stop_after: Option<usize>,
    device: &Device,
) -> Result<Option<ZeroShotSummary>, RunError> {
    let _lock = start_run_of_parts::<Tagging>(config, run)?;
    let mut splits = Vec::new();
    for pair in HELD_OUT_PAIRS {
        let child = run.child(&format!("held-out-{}{}", pair[0], pair[1]))?;
        if !(resume && child.path().join(MODEL_FILE).exists()) {
            let split_config = TaggingConfig { held_out: pair.to_vec(), ..config.clone() };
            let started = child.path().join(CONFIG_FILE).exists();
            if train_task::<Tagging>(&split_config, root, &child, resume && started, stop_after)?.evaluation.is_none() {
                return Ok(None);
            }
        }
        splits.push(evaluate_tagging(child.path(), root, device)?);
    }
    let summary = ZeroShotSummary::new(splits);
    write_atomically(&run.path().join("zero-shot.json"), &serde_json::to_vec_pretty(&summary).expect("serialises"))?;
    Ok(Some(summary))
}

/// Whether `run` is a zero-shot protocol (it has split sub-runs).
pub fn is_zero_shot(run: &Path) -> bool {
    run.join(format!("held-out-{}{}", HELD_OUT_PAIRS[0][0], HELD_OUT_PAIRS[0][1])).is_dir()
}
