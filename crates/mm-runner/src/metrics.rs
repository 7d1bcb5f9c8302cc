//! Per-epoch metrics, appended to `metrics.jsonl` (one JSON object per line): the step, the learning rate and
//! every named value the task declares, for training (`train_…`) and validation (`valid_…`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunError;
use super::run_dir::write_atomically;

/// Named scores of one split (`loss`, `accuracy`, `bleu4` …).
pub type Scores = BTreeMap<String, f64>;

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Optimiser steps taken by the end of the epoch.
    pub step: usize,
    /// Wall time of the epoch in seconds (training and validation; of this process's part, for a resumed epoch).
    pub seconds: f64,
    /// `train_NAME` (means over the epoch's batches, measured while the model changes), `valid_NAME`, and
    /// `lr` (the model's learning rate at the end of the epoch). A value that is not a number (a diverged loss)
    /// is written as `null` and read back as NaN, so the file stays readable.
    #[serde(flatten, with = "nullable")]
    pub values: BTreeMap<String, f64>,
}

/// JSON has no NaN or infinity: such values go out as `null` and come back as NaN.
mod nullable {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &BTreeMap<String, f64>, serializer: S) -> Result<S::Ok, S::Error> {
        values.iter().map(|(k, v)| (k, v.is_finite().then_some(*v))).collect::<BTreeMap<_, _>>().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let values = BTreeMap::<String, Option<f64>>::deserialize(deserializer)?;
        Ok(values.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
    }
}

impl EpochMetrics {
    /// A value by name (`valid_accuracy` …), if the task reports it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }

    /// The same numbers with their exact bits, for checkpoints (JSON text does not always round-trip a double).
    pub(crate) fn exact(&self) -> (u64, BTreeMap<String, u64>) {
        (self.seconds.to_bits(), self.values.iter().map(|(k, v)| (k.clone(), v.to_bits())).collect())
    }

    /// Restores what [`EpochMetrics::exact`] kept.
    pub(crate) fn set_exact(&mut self, seconds: u64, values: &BTreeMap<String, u64>) {
        self.seconds = f64::from_bits(seconds);
        for (name, bits) in values {
            self.values.insert(name.clone(), f64::from_bits(*bits));
        }
    }
}

/// Appends one line to `path`.
pub(crate) fn append(path: &Path, metrics: &EpochMetrics) -> Result<(), RunError> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| RunError::io(path, e))?;
    let line = serde_json::to_string(metrics).expect("metrics serialise");
    writeln!(file, "{line}").map_err(|e| RunError::io(path, e))?;
    file.sync_data().map_err(|e| RunError::io(path, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_is_not_a_number_keeps_the_file_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(super::super::METRICS_FILE);
        let values = [("train_loss".to_string(), f64::NAN), ("valid_loss".to_string(), f64::INFINITY), ("lr".to_string(), 0.5)].into_iter().collect();
        append(&path, &EpochMetrics { epoch: 1, step: 10, seconds: 1.0, values }).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"train_loss\":null"));
        let back = read(&path).unwrap();
        assert!(back[0].get("train_loss").unwrap().is_nan() && back[0].get("valid_loss").unwrap().is_nan());
        assert_eq!((back[0].epoch, back[0].step, back[0].get("lr")), (1, 10, Some(0.5)));
    }
}
