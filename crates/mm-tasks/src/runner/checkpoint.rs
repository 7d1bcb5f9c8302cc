//! Checkpoints: `checkpoints/epoch-NNNN/` with the model's weights (`model.bpk`, burnpack, parameter ids
//! kept so the optimiser state matches them), the optimiser's state (`optimizer.bpk`) and the runner's state
//! (`state.json`: the epoch and the metrics so far). Each is written into `epoch-NNNN.partial/` and renamed
//! whole, so an interrupted write never leaves a checkpoint that looks complete.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use super::{EpochMetrics, RunError};

/// The runner's part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: usize,
    /// Metrics of those epochs.
    pub history: Vec<EpochMetrics>,
}

/// `state.json`: the state, plus each metric's exact bits. serde_json parses floats fast but not always to the
/// nearest double, and a resumed run must carry on with exactly the numbers an uninterrupted one holds.
#[derive(Serialize, Deserialize)]
struct StateFile {
    #[serde(flatten)]
    state: Checkpoint,
    /// Per epoch: train loss, train accuracy, valid loss, valid accuracy, lr, seconds, as `f64::to_bits`.
    exact: Vec<[u64; 6]>,
}

impl StateFile {
    fn new(state: &Checkpoint) -> Self {
        let exact = state
            .history
            .iter()
            .map(|m| [m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.lr, m.seconds].map(f64::to_bits))
            .collect();
        Self { state: state.clone(), exact }
    }

    fn into_state(mut self, path: &Path) -> Result<Checkpoint, RunError> {
        if self.exact.len() != self.state.history.len() {
            return Err(RunError::invalid(path, "history and exact metrics differ in length"));
        }
        for (m, bits) in self.state.history.iter_mut().zip(&self.exact) {
            let [a, b, c, d, e, f] = bits.map(f64::from_bits);
            (m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.lr, m.seconds) = (a, b, c, d, e, f);
        }
        Ok(self.state)
    }
}

const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";

fn folder(run: &Path, epoch: usize) -> PathBuf {
    run.join("checkpoints").join(format!("epoch-{epoch:04}"))
}

/// Saves a checkpoint of `epoch` and deletes all but the newest `keep`.
pub(crate) fn save<M: Module>(run: &Path, model: &M, optimizer: &ModuleOptimizer, state: &Checkpoint, keep: usize) -> Result<(), RunError> {
    let target = folder(run, state.epoch);
    let partial = super::run_dir::partial(&target);
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| RunError::io(&partial, e))?;
    let model_path = partial.join(MODEL);
    model.clone().into_record().save(&model_path).map_err(|e| RunError::invalid(&model_path, e))?;
    let optimizer_path = partial.join(OPTIMIZER);
    optimizer.to_record().save(&optimizer_path).map_err(|e| RunError::invalid(&optimizer_path, e))?;
    let state_path = partial.join(STATE);
    std::fs::write(&state_path, serde_json::to_vec_pretty(&StateFile::new(state)).expect("state serialises")).map_err(|e| RunError::io(&state_path, e))?;
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&partial, &target).map_err(|e| RunError::io(&target, e))?;
    for old in list(run)?.into_iter().rev().skip(keep) {
        std::fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
    }
    Ok(())
}

/// Complete checkpoints of a run, oldest first.
fn list(run: &Path) -> Result<Vec<PathBuf>, RunError> {
    let dir = run.join("checkpoints");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("epoch-") && !n.ends_with(".partial")))
        .collect();
    found.sort();
    Ok(found)
}

/// Loads the newest checkpoint of `run` into `model` and `optimizer`; `None` if the run has none.
pub(crate) fn load_latest<M: Module>(run: &Path, model: M, optimizer: ModuleOptimizer) -> Result<Option<(M, ModuleOptimizer, Checkpoint)>, RunError> {
    let Some(latest) = list(run)?.pop() else { return Ok(None) };
    let state_path = latest.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| RunError::io(&state_path, e))?;
    let file: StateFile = serde_json::from_str(&text).map_err(|e| RunError::invalid(&state_path, e))?;
    let state = file.into_state(&state_path)?;
    let model_path = latest.join(MODEL);
    let record = ModuleRecord::load(&model_path).map_err(|e| RunError::invalid(&model_path, e))?;
    let model = model.try_load_record(record).map_err(|e| RunError::invalid(&model_path, e))?;
    let optimizer_path = latest.join(OPTIMIZER);
    let record = OptimizerRecord::load(&optimizer_path).map_err(|e| RunError::invalid(&optimizer_path, e))?;
    Ok(Some((model, optimizer.load_record(record), state)))
}
