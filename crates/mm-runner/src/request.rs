//! What a command line asks of the runner, and the policy that turns it into a run: a `train` request becomes
//! a config (file, then flags) and a run folder, new or resumed; an `eval` request names a finished run.

use std::path::{Path, PathBuf};

use mm_data::{DataRoot, Split};

use super::run_file::{RunFile, load_run_config};
use super::{DeviceKind, Overrides, Reading, RunDir, RunError, Span, Task, load_config};

/// A `train` command: the config file (none: the defaults), the flags over it, where the data and the run
/// folders are, and whether to resume.
#[derive(Debug, Clone, Default)]
pub struct TrainRequest {
    /// `--config`: a task config (JSON or TOML; fields left out keep their defaults) or a run's `config.json`.
    pub config: Option<PathBuf>,
    /// The flags that override the config.
    pub overrides: Overrides,
    /// `--data`: the data root (none: `MM_DATA_DIR`, else `./data`, else `../shared/data`).
    pub data: Option<PathBuf>,
    /// `--runs`: where run folders go.
    pub runs: PathBuf,
    /// `--resume [RUN]`: continue the given run folder, or `runs/TASK/latest`.
    pub resume: Option<Option<PathBuf>>,
    /// Stop after this many epochs, as if interrupted.
    pub stop_after: Option<usize>,
    /// Which tasks read a config file, so that a config given to the wrong task says whose it is (none: the
    /// config's own error only).
    pub config_owners: Option<ConfigOwners>,
}

/// Which tasks read a config file. The runner knows no task; the registry that does passes this.
pub type ConfigOwners = fn(&Path) -> Vec<&'static str>;

impl TrainRequest {
    /// The data root the request names.
    pub fn root(&self) -> DataRoot {
        DataRoot::from_flag(self.data.as_deref())
    }

    /// The config (file, then flags), the run folder (a new one, or the one to resume with the config it was
    /// started with: flags that would change it are refused, naming them), and the span to train.
    pub fn prepare<T: Task>(&self) -> Result<(T::Config, RunDir, Span), RunError> {
        if let Some(resume) = &self.resume {
            let mut refused = self.overrides.given();
            if self.config.is_some() {
                refused.insert(0, "--config");
            }
            if !refused.is_empty() {
                return Err(RunError::bad_setting(
                    "--resume",
                    refused.join(", "),
                    format!("continues a run with the settings it was started with; {} cannot change on resume (start a new run instead)", refused.join(", ")),
                ));
            }
            let dir = resume.clone().unwrap_or_else(|| self.runs.join(T::NAME).join("latest"));
            let run = RunDir::open(&dir).map_err(|e| RunError::bad_setting("--resume", dir.display(), e.to_string()))?;
            let config = load_run_config::<T>(run.path())?;
            return Ok((config, run, Span { resume: true, stop_after: self.stop_after }));
        }
        let mut config = match &self.config {
            Some(path) => load_task_config::<T>(path, self.config_owners)?,
            None => T::Config::default(),
        };
        self.overrides.apply(T::train_config_mut(&mut config));
        T::train_config(&config).check()?;
        let run = RunDir::create(&self.runs, T::NAME, T::train_config(&config).seed)?;
        Ok((config, run, Span { resume: false, stop_after: self.stop_after }))
    }
}

/// A task config, or a run's `config.json` (to start a new run with the settings of an old one). A run of
/// another task says whose it is; so does a config that only another task's settings read.
pub fn load_task_config<T: Task>(path: &Path, owners: Option<ConfigOwners>) -> Result<T::Config, RunError> {
    if let Ok(run) = load_config::<RunFile<serde::de::IgnoredAny>>(path) {
        if run.task != T::NAME {
            return Err(RunError::invalid(path, format!("the config of a {} run, not a {} run", run.task, T::NAME)));
        }
        return Ok(load_config::<RunFile<T::Config>>(path)?.config);
    }
    load_config::<T::Config>(path).map_err(|error| {
        let others: Vec<&str> = owners.map(|owners| owners(path)).unwrap_or_default().into_iter().filter(|name| *name != T::NAME).collect();
        match others.as_slice() {
            [] => error,
            others => RunError::invalid(path, format!("a {} config, not a {} config ({error})", others.join(" or "), T::NAME)),
        }
    })
}

/// Whether the file at `path` reads as `T`'s config.
pub fn reads_as<T: Task>(path: &Path) -> bool {
    load_config::<T::Config>(path).is_ok()
}

/// An `eval` command: which run (none: `runs/TASK/latest`), on which split and device, with which data, and
/// other finished runs whose saved reports join the table.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// `--run`.
    pub run: Option<PathBuf>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--split`.
    pub split: Split,
    /// `--device`.
    pub device: Option<DeviceKind>,
    /// `--compare`: other finished runs of the task, read from their saved reports (not evaluated again; with
    /// `--test-seed`, each is read on that seed too).
    pub compare: Vec<PathBuf>,
    /// `--test-seed`: read the run on test data drawn from this seed instead of its own (a seed no command has
    /// printed), for the tasks whose test data is generated.
    pub test_seed: Option<u64>,
}

impl EvalRequest {
    /// The run folder of task `T` the request names.
    pub fn run_of<T: Task>(&self) -> PathBuf {
        self.run.clone().unwrap_or_else(|| Path::new("runs").join(T::NAME).join("latest"))
    }

    /// The data root the request names.
    pub fn root(&self) -> DataRoot {
        DataRoot::from_flag(self.data.as_deref())
    }

    /// The run folder and every `--compare` run after it.
    pub fn runs_of<T: Task>(&self) -> Vec<PathBuf> {
        std::iter::once(self.run_of::<T>()).chain(self.compare.iter().cloned()).collect()
    }

    /// What the request reads of each run.
    pub fn reading(&self) -> Reading {
        Reading { split: self.split, device: self.device, test_seed: self.test_seed }
    }

    /// Refuses `--test-seed` for a run whose test split no seed redraws ([`Task::with_test_seed`] of its config is
    /// `None`), before any evaluation of the task's own reads that split.
    pub fn check_test_seed<T: Task>(&self) -> Result<(), RunError> {
        let Some(seed) = self.test_seed else { return Ok(()) };
        let config = load_run_config::<T>(&self.run_of::<T>())?;
        match T::with_test_seed(&config, seed) {
            Some(_) => Ok(()),
            None => Err(RunError::bad_setting("--test-seed", seed, super::commands::fixed_test_split(T::NAME))),
        }
    }

    /// Refuses any split but test, for a report that reads the test split; `report` names it.
    pub fn test_only<T: Task>(&self, report: &str) -> Result<(), RunError> {
        if self.split == Split::Test {
            return Ok(());
        }
        let why = format!("{report} reads the test split (validation scores are in {}/metrics.jsonl)", self.run_of::<T>().display());
        Err(RunError::bad_setting("--split", self.split.name(), why))
    }
}
