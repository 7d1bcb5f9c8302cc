//! Per-epoch metrics, appended to `metrics.jsonl` (one JSON object per line).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::run_dir::write_atomically;
use super::RunError;

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Training accuracy (exact match for multi-label tasks), measured on the fly while the model changes.
    pub train_accuracy: f64,
    /// Validation loss.
    pub valid_loss: f64,
    /// Validation accuracy.
    pub valid_accuracy: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Wall time of the epoch in seconds (training and validation).
    pub seconds: f64,
}

/// Appends one line to `path`.
pub(crate) fn append(path: &Path, metrics: &EpochMetrics) -> Result<(), RunError> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| RunError::io(path, e))?;
    let line = serde_json::to_string(metrics).expect("metrics serialise");
    writeln!(file, "{line}").map_err(|e| RunError::io(path, e))
}

/// Rewrites `path` with exactly `history` (used on resume, so that epochs after the checkpoint, written before
/// an interruption, are not counted twice).
pub(crate) fn rewrite(path: &Path, history: &[EpochMetrics]) -> Result<(), RunError> {
    let mut text = String::new();
    for metrics in history {
        text.push_str(&serde_json::to_string(metrics).expect("metrics serialise"));
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())
}

/// Reads a `metrics.jsonl`.
pub fn read(path: &Path) -> Result<Vec<EpochMetrics>, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| RunError::invalid(path, format!("line {}: {e}", i + 1))))
        .collect()
}
