//! The registry of the catalogue's trainable systems: each registers its name, how it trains, how a finished run
//! is evaluated, and the report each returns. `cargo xtask train NAME` and `cargo xtask eval NAME` look the name
//! up here and print what comes back: its text ([`Report`] is `Display`), then its JSON on the last line.
//!
//! Adding a system is its model folder, its system folder (a [`Task`] and its [`System`] impl, which says what
//! its commands report beyond the runner's scores) and one line in [`SYSTEMS`].

mod registry;

pub use registry::{Registered, SYSTEMS, config_owners, system};

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::runner::{
    CONFIG_FILE, CURVES_FILE, EVALUATION_FILE, EVENTS_FILE, EvalRequest, METRICS_FILE, MODEL_FILE, RunError, Scores, Task, TrainRequest, eval_run, train_task,
};

/// What a system's command returns: text for people, JSON for programs.
pub trait Report: fmt::Display {
    /// The report as one line of JSON.
    fn json(&self) -> String;
}

/// `value` as one line of JSON.
pub(crate) fn json_line(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("a report serialises to JSON")
}

/// The JSON of a run made of parts (folds, splits): its summary, or, when `stop_after` stopped it before the
/// end, that it stopped and where.
pub(crate) fn json_or_stopped(summary: Option<&impl Serialize>, run: &Path) -> String {
    match summary {
        Some(summary) => json_line(summary),
        None => json_line(&serde_json::json!({ "stopped": true, "run": run })),
    }
}

/// What `train` leaves: the run's summary, and the system's report when the run finished.
pub struct Trained {
    /// The run folder, its files, the steps trained and the test scores.
    pub summary: RunSummary,
    /// The system's own report of the finished run (none when it has no more than the scores, or stopped early).
    pub report: Option<Box<dyn Report>>,
}

impl fmt::Display for Trained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary)?;
        if let Some(report) = &self.report {
            write!(f, "\n{report}")?;
        }
        Ok(())
    }
}

impl Report for Trained {
    fn json(&self) -> String {
        self.report.as_ref().map_or_else(|| self.summary.json(), |report| report.json())
    }
}

/// A training run as the runner left it.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The task.
    pub task: &'static str,
    /// Its folder.
    pub run: PathBuf,
    /// The steps this process trained (a resumed run starts past 0).
    pub steps: std::ops::Range<usize>,
    /// The epochs recorded so far.
    pub epochs: usize,
    /// The epoch whose weights were kept (the best by validation).
    pub best_epoch: Option<usize>,
    /// The test split's scores (none when the run stopped early).
    pub test: Option<Scores>,
}

impl RunSummary {
    /// Whether the run trained to its end.
    pub fn finished(&self) -> bool {
        self.test.is_some()
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: run folder {}", self.task, self.run.display())?;
        for file in [CONFIG_FILE, METRICS_FILE, CURVES_FILE, EVENTS_FILE, MODEL_FILE, EVALUATION_FILE] {
            if self.run.join(file).exists() {
                writeln!(f, "  {}", self.run.join(file).display())?;
            }
        }
        write!(f, "trained steps {}..{} in this process", self.steps.start, self.steps.end)?;
        match &self.test {
            Some(scores) => {
                write!(f, "\ntest split (the weights of epoch {}, the best by validation): {}", self.best_epoch.unwrap_or(0), headline(scores))
            }
            None => write!(f, "\nstopped after epoch {}; continue with --resume {}", self.epochs, self.run.display()),
        }
    }
}

impl Report for RunSummary {
    fn json(&self) -> String {
        match &self.test {
            Some(scores) => json_line(scores),
            None => json_line(&serde_json::json!({ "stopped_after_epoch": self.epochs, "run": self.run })),
        }
    }
}

/// A finished run's scores on one split, as `eval` reads them again.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The task.
    pub task: &'static str,
    /// The run folder.
    pub run: PathBuf,
    /// The split.
    pub split: crate::runner::Split,
    /// The fresh seed the test data was drawn from, if not the run's own.
    pub test_seed: Option<u64>,
    /// Its scores.
    pub scores: Scores,
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seed = self.test_seed.map(|seed| format!(" drawn from seed {seed}")).unwrap_or_default();
        write!(f, "{} ({}), {} split{seed}: {}", self.task, self.run.display(), self.split.name(), headline(&self.scores))?;
        for (name, value) in self.scores.iter().filter(|(k, _)| k.contains('/')) {
            write!(f, "\n  {name}: {value:.4}")?;
        }
        Ok(())
    }
}

impl Report for Evaluation {
    fn json(&self) -> String {
        json_line(&self.scores)
    }
}

/// A report printed beside the scores it was evaluated with: its text, the scores' JSON.
pub struct WithScores {
    /// The report (a table of this run and the `--compare` runs).
    pub report: Box<dyn fmt::Display>,
    /// The run's scores on the split evaluated.
    pub scores: Scores,
}

impl fmt::Display for WithScores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.report)
    }
}

impl Report for WithScores {
    fn json(&self) -> String {
        json_line(&self.scores)
    }
}

/// The scores without their per-class parts, as `name value` pairs.
pub fn headline(scores: &Scores) -> String {
    scores.iter().filter(|(k, _)| !k.contains('/')).map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ")
}

/// A system of the catalogue: a [`Task`] with what its commands report beyond the runner's scores.
pub trait System: Task + Sized {
    /// `train`: by default the runner's training, then [`System::after_training`] when the run finished.
    fn train(request: &TrainRequest) -> Result<Box<dyn Report>, RunError> {
        let summary = train_run::<Self>(request)?;
        let report = if summary.finished() { Self::after_training(&summary.run, request)? } else { None };
        Ok(Box::new(Trained { summary, report }))
    }

    /// The report of a run that just finished training (default: none beyond the run's summary).
    fn after_training(_run: &Path, _request: &TrainRequest) -> Result<Option<Box<dyn Report>>, RunError> {
        Ok(None)
    }

    /// `eval`: by default the run's scores on the request's split.
    fn eval(request: &EvalRequest) -> Result<Box<dyn Report>, RunError> {
        evaluation::<Self>(request)
    }
}

/// A finished run's scores on the request's split.
pub fn evaluation<T: Task>(request: &EvalRequest) -> Result<Box<dyn Report>, RunError> {
    let run = request.run_of::<T>();
    let scores = eval_run::<T>(&run, &request.root(), request.reading())?;
    Ok(Box::new(Evaluation { task: T::NAME, run, split: request.split, test_seed: request.test_seed, scores }))
}

/// Trains `T` as `request` asks; returns the run's summary (its test scores when it finished).
pub fn train_run<T: Task>(request: &TrainRequest) -> Result<RunSummary, RunError> {
    let (config, run, span) = request.prepare::<T>()?;
    let trained = train_task::<T>(&config, &request.root(), &run, span)?;
    Ok(RunSummary {
        task: T::NAME,
        run: trained.run.path().to_path_buf(),
        steps: trained.outcome.steps_trained.clone(),
        epochs: trained.outcome.history.len(),
        best_epoch: trained.outcome.best.map(|b| b.epoch),
        test: trained.evaluation,
    })
}

/// A report a run saved as `file` (by its test evaluation), read back; a missing one says how to make it.
pub(crate) fn read_saved<R: serde::de::DeserializeOwned>(run: &Path, file: &str, task: &str) -> Result<R, RunError> {
    let path = run.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| RunError::invalid(&path, format!("{e} (evaluate the run first: cargo xtask eval {task} --run {})", run.display())))?;
    serde_json::from_str(&text).map_err(|e| RunError::invalid(&path, e))
}

/// A system's saved report (its test evaluation writes it), read back by the system's table.
pub trait SavedReport: serde::de::DeserializeOwned + Serialize + 'static {
    /// Its file in the run folder.
    const FILE: &'static str;
    /// What it is called when `eval` is asked for another split than test (`"the VQA report"`).
    const WHAT: &'static str;
}

/// The saved reports of several runs of one system (the run, then the `--compare` runs), for the system's table:
/// each system prints `SavedReports` of its report its own way (`Display`); the JSON is the reports.
pub struct SavedReports<R> {
    /// The run folders.
    pub(crate) runs: Vec<PathBuf>,
    /// Their reports, in the same order.
    pub(crate) reports: Vec<R>,
}

impl<R: SavedReport> SavedReports<R> {
    /// Reads the saved report of each run of `task`; a missing one says how to make it.
    pub fn read(task: &str, runs: &[PathBuf]) -> Result<Self, RunError> {
        let reports = runs.iter().map(|run| read_saved(run, R::FILE, task)).collect::<Result<_, _>>()?;
        Ok(Self { runs: runs.to_vec(), reports })
    }
}

impl<R: SavedReport> Report for SavedReports<R>
where
    Self: fmt::Display,
{
    fn json(&self) -> String {
        json_line(&self.reports)
    }
}

/// `after_training` of a system whose report is a table of runs: the table of the run.
pub(crate) fn table_of_run<T: Task, R: SavedReport>(run: &Path) -> Result<Option<Box<dyn Report>>, RunError>
where
    SavedReports<R>: fmt::Display,
{
    Ok(Some(Box::new(SavedReports::<R>::read(T::NAME, &[run.to_path_buf()])?)))
}

/// `eval` of a system whose report is a table of runs: the run is evaluated on the test split again (its report
/// rewritten), then the table reads it and the `--compare` runs' saved reports; the JSON is the run's scores.
pub(crate) fn eval_with_table<T: Task, R: SavedReport>(request: &EvalRequest) -> Result<Box<dyn Report>, RunError>
where
    SavedReports<R>: fmt::Display,
{
    request.test_only::<T>(R::WHAT)?;
    let (run, reading) = (request.run_of::<T>(), request.reading());
    let scores = eval_run::<T>(&run, &request.root(), reading)?;
    // On a fresh test seed every run of the table is read on it; otherwise the others' saved reports are read.
    if reading.test_seed.is_some() {
        for other in &request.compare {
            eval_run::<T>(other, &request.root(), reading)?;
        }
    }
    let reports: Vec<PathBuf> = request.runs_of::<T>().iter().map(|run| reading.reports_of(run)).collect();
    Ok(Box::new(WithScores { report: Box::new(SavedReports::<R>::read(T::NAME, &reports)?), scores }))
}

/// A report with the files it wrote listed after it.
pub struct WithFiles<R> {
    /// The report.
    pub report: R,
    /// The files, one per line after it.
    pub files: Vec<PathBuf>,
}

impl<R: fmt::Display> fmt::Display for WithFiles<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.report)?;
        self.files.iter().try_for_each(|file| write!(f, "\n  {}", file.display()))
    }
}

impl<R: fmt::Display + Serialize> Report for WithFiles<R> {
    fn json(&self) -> String {
        json_line(&self.report)
    }
}

/// The device a flag names (none: `MM_DEVICE`, else flex).
pub(crate) fn device_of(flag: Option<crate::DeviceKind>) -> Result<burn::tensor::Device, RunError> {
    Ok(crate::DeviceKind::resolve(flag)?.device()?)
}
