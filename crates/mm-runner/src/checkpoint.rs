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
use super::run_dir::{partial_folder, sync_dir, sync_tree};
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

/// `NAME.old` beside the folder `target`: where a folder being replaced waits until its successor is in place.
fn old_folder(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".old");
    PathBuf::from(name)
}

/// Writes the folder `target` whole or not at all: into `NAME.partial/`, fsynced; then an existing `target` is
/// renamed aside to `NAME.old/`, the new folder renamed into place, and the old one removed. A kill at any moment
/// leaves `target` whole, or (between the two renames) no `target` beside a complete `NAME.partial/`, which
/// [`recover_folder`] puts in place.
fn write_folder(target: &Path, write: impl FnOnce(&Path) -> Result<(), RunError>) -> Result<(), RunError> {
    recover_folder(target)?;
    let partial = partial_folder(target);
    let old = old_folder(target);
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| RunError::io(&partial, e))?;
    write(&partial)?;
    sync_tree(&partial)?;
    let parent = target.parent().expect("a checkpoint has a folder");
    if target.exists() {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(target, &old).map_err(|e| RunError::io(target, e))?;
    }
    std::fs::rename(&partial, target).map_err(|e| RunError::io(target, e))?;
    sync_dir(parent)?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
    }
    Ok(())
}

/// Finishes a replacement that a kill interrupted between its two renames: with `NAME.old/` set aside and no
/// `target`, the complete `NAME.partial/` (written and fsynced before anything was set aside) takes its place;
/// without one, the old folder goes back.
fn recover_folder(target: &Path) -> Result<(), RunError> {
    let old = old_folder(target);
    if target.exists() || !old.exists() {
        return Ok(());
    }
    let partial = partial_folder(target);
    let source = if partial.exists() { &partial } else { &old };
    eprintln!("warning: {} was being replaced when its writer stopped; restoring it from {}", target.display(), source.display());
    std::fs::rename(source, target).map_err(|e| RunError::io(target, e))?;
    sync_dir(target.parent().expect("a checkpoint has a folder"))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
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

/// Whether `run` has a checkpoint to continue from.
pub(crate) fn has_any(run: &Path) -> bool {
    !list(run).is_empty()
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
    recover_folder(&best_folder(run))?;
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
    recover_folder(&best_folder(run))?;
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

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    use super::*;

    fn weights(model: &Linear) -> Vec<f32> {
        model.weight.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    /// The folder states a kill can leave while `checkpoints/best/` is replaced, made by hand: the next start
    /// finds whole best weights in each, the new ones once they were complete.
    #[test]
    fn best_weights_survive_a_kill_between_the_renames() {
        let device = Device::flex();
        let run = tempfile::tempdir().unwrap();
        let (old, new) = (LinearConfig::new(3, 2).init(&device), LinearConfig::new(3, 2).init(&device));
        let state = Checkpoint::default();
        save_best(run.path(), &old, &state).unwrap();
        let best = best_folder(run.path());

        // Killed after the old best was set aside, the new one complete beside it.
        write_folder(&partial_folder(&best), |dir| write_model(dir, &new).and_then(|()| write_state(dir, &state))).unwrap();
        std::fs::rename(&best, old_folder(&best)).unwrap();
        let loaded = load_best(run.path(), LinearConfig::new(3, 2).init(&device)).unwrap();
        assert_eq!(weights(&loaded), weights(&new));
        assert!(!old_folder(&best).exists() && !partial_folder(&best).exists());

        // Killed after the old best was set aside with no complete successor: the old one comes back.
        std::fs::rename(&best, old_folder(&best)).unwrap();
        let loaded = load_best(run.path(), LinearConfig::new(3, 2).init(&device)).unwrap();
        assert_eq!(weights(&loaded), weights(&new));

        // A replacement in one go leaves only the new folder.
        save_best(run.path(), &old, &state).unwrap();
        assert_eq!(weights(&load_best(run.path(), LinearConfig::new(3, 2).init(&device)).unwrap()), weights(&old));
        let names: Vec<String> = std::fs::read_dir(checkpoints(run.path())).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, ["best"]);
    }
}
