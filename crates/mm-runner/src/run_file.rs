//! A run's `config.json`: the task, its whole config and the inputs it starts from pinned by content; read back
//! (task first, pins checked) by `eval`, `--resume` and every command that loads the run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pins::{Pin, pin_all};
use super::run_dir::{CONFIG_FILE, write_atomically};
use super::{RunError, Task};

/// `config.json`: the task, its whole config, and the inputs it started from, pinned by content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFile<C> {
    /// The task's name.
    pub task: String,
    /// The config the run trains with.
    pub config: C,
    /// Files it starts from.
    pub inputs: Vec<Pin>,
}

/// Reads a run's config, refusing when it belongs to another task or an input has changed since it started.
/// The task is read first, so that another task's run says so rather than failing on a field this task lacks.
pub fn load_run_config<T: Task>(run: &Path) -> Result<T::Config, RunError> {
    let path = run.join(CONFIG_FILE);
    let head: RunFile<serde::de::IgnoredAny> = super::load_config(&path)?;
    if head.task != T::NAME {
        return Err(RunError::invalid(&path, format!("a {} run, not a {} run", head.task, T::NAME)));
    }
    let file: RunFile<T::Config> = super::load_config(&path)?;
    for pin in &file.inputs {
        pin.verify()?;
    }
    let mut config = file.config;
    follow_pinned_runs::<T>(&mut config, &file.inputs);
    Ok(config)
}

/// A run started before pretrained runs were resolved at the start names them as it was given them
/// (`runs/mnist/latest`), and its pins record the folder each was then: each such field is set to its pinned
/// folder, so that an older run too keeps reading the run it was trained from. A resolved field is its pin's
/// folder already.
fn follow_pinned_runs<T: Task>(config: &mut T::Config, pins: &[Pin]) {
    for run in T::pretrained_runs(config) {
        let pinned = pins.iter().find(|pin| pin.path == run.join(CONFIG_FILE)).and_then(|pin| pin.resolved.parent());
        if let Some(folder) = pinned {
            *run = folder.to_path_buf();
        }
    }
}

/// Resolves the task's pretrained runs ([`Task::pretrained_runs`]) once, as a run starts: each becomes the
/// folder it names now, links (`latest`) followed, as an absolute path.
pub fn resolve_pretrained_runs<T: Task>(config: &mut T::Config) -> Result<(), RunError> {
    for run in T::pretrained_runs(config) {
        *run = std::fs::canonicalize(&*run).map_err(|e| RunError::MissingRun { looked_in: run.clone(), problem: e.to_string(), train_with: None })?;
    }
    Ok(())
}

/// Writes `config.json`: the task, `config`, and its inputs pinned as they are now.
pub(super) fn write_run_file<T: Task>(config: &T::Config, path: &Path) -> Result<(), RunError> {
    let file = RunFile { task: T::NAME.to_string(), config: config.clone(), inputs: pin_all(&T::inputs(config))? };
    write_atomically(path, &serde_json::to_vec_pretty(&file).expect("configs serialise"))
}
