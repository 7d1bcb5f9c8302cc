//! The runner's settings, config files, and command-line overrides.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::RunError;
use crate::DeviceKind;

/// Settings every training run has. Each task's config embeds one as `train`, with that task's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training set. Default 10.
    pub epochs: usize,
    /// Examples per step. Default 64.
    pub batch_size: usize,
    /// Peak learning rate of AdamW; it follows a cosine from this to zero over the run. Default 1e-3.
    pub lr: f64,
    /// AdamW's decoupled weight decay. Default 1e-4.
    pub weight_decay: f64,
    /// Seed of the initial weights, the batch order and every augmentation. Default 0.
    pub seed: u64,
    /// Train on the first N training examples and validate on at most N (quick runs). Default: all.
    pub limit: Option<usize>,
    /// Checkpoints kept in the run folder. Default 2.
    pub keep_checkpoints: usize,
    /// The device (flex or wgpu). Default: MM_DEVICE, else flex.
    pub device: Option<DeviceKind>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { epochs: 10, batch_size: 64, lr: 1e-3, weight_decay: 1e-4, seed: 0, limit: None, keep_checkpoints: 2, device: None }
    }
}

/// Command-line flags that override the config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--device`.
    pub device: Option<DeviceKind>,
    /// `--epochs`.
    pub epochs: Option<usize>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--lr`.
    pub lr: Option<f64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--limit`.
    pub limit: Option<usize>,
}

impl Overrides {
    /// Applies every flag that was given.
    pub fn apply(&self, config: &mut TrainConfig) {
        config.device = self.device.or(config.device);
        config.epochs = self.epochs.unwrap_or(config.epochs);
        config.batch_size = self.batch_size.unwrap_or(config.batch_size);
        config.lr = self.lr.unwrap_or(config.lr);
        config.seed = self.seed.unwrap_or(config.seed);
        config.limit = self.limit.or(config.limit);
    }
}

impl TrainConfig {
    /// Refuses settings that cannot train.
    pub fn check(&self) -> Result<(), RunError> {
        if self.epochs == 0 || self.batch_size == 0 || !(self.lr > 0.0) || self.keep_checkpoints == 0 {
            return Err(RunError::Config(format!(
                "epochs, batch_size, lr and keep_checkpoints must be positive (got {}, {}, {}, {})",
                self.epochs, self.batch_size, self.lr, self.keep_checkpoints
            )));
        }
        Ok(())
    }
}

/// Reads a task config from JSON (`.json`) or TOML (anything else); fields left out keep their defaults.
pub fn load_config<C: DeserializeOwned>(path: &Path) -> Result<C, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| RunError::invalid(path, e))
    } else {
        toml::from_str(&text).map_err(|e| RunError::invalid(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Example {
        width: usize,
        train: TrainConfig,
    }

    #[test]
    fn files_keep_defaults_for_what_they_leave_out_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("task.toml");
        std::fs::write(&toml_path, "width = 3\n[train]\nepochs = 4\n").unwrap();
        let mut config: Example = load_config(&toml_path).unwrap();
        assert_eq!((config.width, config.train.epochs, config.train.batch_size), (3, 4, 64));
        Overrides { epochs: Some(7), lr: Some(0.5), ..Default::default() }.apply(&mut config.train);
        assert_eq!((config.train.epochs, config.train.lr, config.train.seed), (7, 0.5, 0));

        let json_path = dir.path().join("task.json");
        std::fs::write(&json_path, r#"{"train": {"epochs": 2, "batchsize": 9}}"#).unwrap();
        let message = load_config::<Example>(&json_path).unwrap_err().to_string();
        assert!(message.contains("task.json") && message.contains("batchsize"), "{message}");
    }
}
