//! Checkpoints: `checkpoints/step-NNNNNNNN/` with the model's weights (`model.bpk`, burnpack, parameter ids kept
//! so the optimiser state matches them), each optimiser's state (`optimizer-NAME.bpk`) and the runner's state
//! (`state.json`: where in which epoch, the epoch's running sums, the metrics so far, the best score). One is
//! written every `checkpoint_every` steps and at each epoch's end, into `step-N.partial/`, fsynced, then renamed
//! whole: an interrupted write never leaves a checkpoint that looks complete. The best epoch's weights by the
//! task's validation score are kept in `checkpoints/best/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use super::optim::Optimizers;
use super::run_dir::{partial, sync_dir, sync_tree};
use super::step::TallySnapshot;
use super::{EpochMetrics, RunError};

/// The best epoch so far by the task's validation score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Its epoch (1-based).
    pub epoch: usize,
    /// Its score.
    pub score: f64,
}

/// The runner's part of a checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Epochs completed.
    pub epoch: usize,
    /// Batches completed of the epoch under way (0 at an epoch's end).
    pub batch: usize,
    /// Optimiser steps taken.
    pub step: usize,
    /// Metrics of the completed epochs.
    pub history: Vec<EpochMetrics>,
    /// The running sums of the epoch under way.
    pub tally: TallySnapshot,
    /// Seconds spent so far in the epoch under way.
    pub epoch_seconds: f64,
    /// The best epoch so far.
    pub best: Option<Best>,
}

/// `state.json`: the state, plus each float's exact bits. serde_json parses floats fast but not always to the
/// nearest double, and a resumed run must carry on with exactly the numbers an uninterrupted one holds.
#[derive(Serialize, Deserialize)]
struct StateFile {
    #[serde(flatten)]
    state: Checkpoint,
    exact_history: Vec<(u64, BTreeMap<String, u64>)>,
    exact_seconds: u64,
    exact_best: Option<u64>,
}

impl StateFile {
    fn new(state: &Checkpoint) -> Self {
        Self {
            state: state.clone(),
            exact_history: state.history.iter().map(EpochMetrics::exact).collect(),
            exact_seconds: state.epoch_seconds.to_bits(),
            exact_best: state.best.map(|b| b.score.to_bits()),
        }
    }

    fn into_state(mut self, path: &Path) -> Result<Checkpoint, RunError> {
        if self.exact_history.len() != self.state.history.len() {
            return Err(RunError::invalid(path, "history and exact metrics differ in length"));
        }
        for (m, (seconds, values)) in self.state.history.iter_mut().zip(&self.exact_history) {
            m.set_exact(*seconds, values);
        }
        self.state.epoch_seconds = f64::from_bits(self.exact_seconds);
        if let (Some(best), Some(bits)) = (&mut self.state.best, self.exact_best) {
            best.score = f64::from_bits(bits);
        }
        Ok(self.state)
    }
}

const MODEL: &str = "model.bpk";
const STATE: &str = "state.json";

fn checkpoints(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

/// The folder of the best epoch's weights.
pub(crate) fn best_folder(run: &Path) -> PathBuf {
    checkpoints(run).join("best")
}

fn write_folder(target: &Path, write: impl FnOnce(&Path) -> Result<(), RunError>) -> Result<(), RunError> {
    let partial = partial(target);
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| RunError::io(&partial, e))?;
    write(&partial)?;
    sync_tree(&partial)?;
    let _ = std::fs::remove_dir_all(target);
    std::fs::rename(&partial, target).map_err(|e| RunError::io(target, e))?;
    sync_dir(target.parent().expect("a checkpoint has a folder"))
}

fn write_state(dir: &Path, state: &Checkpoint) -> Result<(), RunError> {
    let path = dir.join(STATE);
    std::fs::write(&path, serde_json::to_vec_pretty(&StateFile::new(state)).expect("state serialises")).map_err(|e| RunError::io(&path, e))
}

fn write_model<M: Module>(dir: &Path, model: &M) -> Result<(), RunError> {
    let path = dir.join(MODEL);
    model.clone().into_record().save(&path).map_err(|e| RunError::invalid(&path, e))
}

/// Saves a checkpoint at `state.step` and deletes all but the newest `keep`.
pub(crate) fn save<M: Module>(run: &Path, model: &M, optimizers: &Optimizers, state: &Checkpoint, keep: usize) -> Result<(), RunError> {
    let target = checkpoints(run).join(format!("step-{:08}", state.step));
    // burn keeps a running statistic's newest update (batch norm's mean and variance) aside until it is read
    // for validation; a record taken mid-epoch would miss it. `valid` folds it in, in place.
    let _ = model.valid();
    write_folder(&target, |dir| {
        write_model(dir, model)?;
        optimizers.save(dir)?;
        write_state(dir, state)
    })?;
    for old in list(run).into_iter().rev().skip(keep) {
        std::fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
    }
    Ok(())
}

/// The newest checkpoint folder of `run`, if any.
pub(crate) fn newest(run: &Path) -> Option<PathBuf> {
    list(run).pop()
}

/// Saves `model` as the best so far.
pub(crate) fn save_best<M: Module>(run: &Path, model: &M, state: &Checkpoint) -> Result<(), RunError> {
    write_folder(&best_folder(run), |dir| {
        write_model(dir, model)?;
        write_state(dir, state)
    })
}

/// Loads the best epoch's weights into `model`.
pub(crate) fn load_best<M: Module>(run: &Path, model: M) -> Result<M, RunError> {
    let path = best_folder(run).join(MODEL);
    let record = ModuleRecord::load(&path).map_err(|e| RunError::invalid(&path, e))?;
    model.try_load_record(record).map_err(|e| RunError::invalid(&path, e))
}

/// Complete checkpoints of a run, oldest first (by step number, not by name: a run past 99,999,999 steps
/// still sorts right).
fn list(run: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(checkpoints(run)) else { return Vec::new() };
    let step = |p: &PathBuf| p.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("step-")).and_then(|n| n.parse::<u64>().ok());
    let mut found: Vec<(u64, PathBuf)> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).filter_map(|p| Some((step(&p)?, p))).collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

fn load<M: Module>(dir: &Path, model: M, optimizers: Optimizers) -> Result<(M, Optimizers, Checkpoint), RunError> {
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| RunError::io(&state_path, e))?;
    let file: StateFile = serde_json::from_str(&text).map_err(|e| RunError::invalid(&state_path, e))?;
    let state = file.into_state(&state_path)?;
    let model_path = dir.join(MODEL);
    let record = ModuleRecord::load(&model_path).map_err(|e| RunError::invalid(&model_path, e))?;
    let model = model.try_load_record(record).map_err(|e| RunError::invalid(&model_path, e))?;
    Ok((model, optimizers.load(dir)?, state))
}

/// Loads the newest checkpoint of `run` that reads back whole into `model` and `optimizers`, warning about any
/// newer one that is damaged; `None` if the run has none.
pub(crate) fn load_latest<M: Module>(run: &Path, model: M, optimizers: Optimizers) -> Result<Option<(M, Optimizers, Checkpoint)>, RunError> {
    let found = list(run);
    let mut problems = Vec::new();
    for dir in found.iter().rev() {
        match load(dir, model.clone(), optimizers.clone()) {
            Ok(loaded) => return Ok(Some(loaded)),
            Err(error) => {
                eprintln!("warning: checkpoint {} is damaged ({error}); falling back to the one before", dir.display());
                problems.push(error.to_string());
            }
        }
    }
    if found.is_empty() { Ok(None) } else { Err(RunError::invalid(&checkpoints(run), format!("no checkpoint reads back: {}", problems.join("; ")))) }
}
