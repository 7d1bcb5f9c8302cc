//! The runner's settings, config files, and command-line overrides.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::RunError;
use super::optim::OptimizerSettings;
use crate::{DeviceKind, Replica};

/// Settings every training run has. Each task's config embeds one as `train`, with that task's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training set. Default 10.
    pub epochs: usize,
    /// Examples per step. Default 64.
    pub batch_size: usize,
    /// Peak learning rate of the model's optimiser (shorthand for `optimizer.lr`). Default 1e-3.
    pub lr: f64,
    /// The optimiser, its schedule and gradient clipping. Default: AdamW (weight decay 1e-4), cosine to zero.
    pub optimizer: OptimizerSettings,
    /// Learning-rate multipliers for the model's named sub-modules (e.g. `encoder = 0.1` fine-tunes a pretrained
    /// encoder ten times slower; `0` freezes it). Default: none, every parameter at the full rate.
    pub module_lr: BTreeMap<String, f64>,
    /// Seed of the initial weights, the batch order, the validation carve and every augmentation. Default 0.
    pub seed: u64,
    /// Train on the first N training examples and validate on at most N (quick runs). Default: all.
    pub limit: Option<usize>,
    /// Epoch checkpoints kept in the run folder (besides the best one). Default 2.
    pub keep_checkpoints: usize,
    /// Also checkpoint every N optimiser steps inside an epoch, so that a crash loses at most N steps.
    /// Default 200; 0 checkpoints at epoch ends only.
    pub checkpoint_every: usize,
    /// Threads that load and augment batches ahead of the step. Default 2.
    pub workers: usize,
    /// Batches prepared ahead of the step (memory use is about this many batches). Default 4.
    pub prefetch: usize,
    /// The device (flex or wgpu). Default: MM_DEVICE, else flex.
    pub device: Option<DeviceKind>,
    /// Data-parallel training: the devices that share every batch, e.g. `["wgpu:0", "wgpu:1"]` (the first holds
    /// the weights and the optimiser). Default: none, one device (`device`).
    pub devices: Vec<Replica>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            lr: 1e-3,
            optimizer: OptimizerSettings::default(),
            module_lr: BTreeMap::new(),
            seed: 0,
            limit: None,
            keep_checkpoints: 2,
            checkpoint_every: 200,
            workers: 2,
            prefetch: 4,
            device: None,
            devices: Vec::new(),
        }
    }
}

/// Command-line flags that override the config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--device`.
    pub device: Option<DeviceKind>,
    /// `--devices`.
    pub devices: Option<Vec<Replica>>,
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
        if let Some(devices) = &self.devices {
            config.devices = devices.clone();
        }
        config.epochs = self.epochs.unwrap_or(config.epochs);
        config.batch_size = self.batch_size.unwrap_or(config.batch_size);
        config.lr = self.lr.unwrap_or(config.lr);
        config.seed = self.seed.unwrap_or(config.seed);
        config.limit = self.limit.or(config.limit);
    }

    /// The flags given, by name (`--epochs` …): a resumed run refuses them, since it continues with the settings
    /// it was started with.
    pub fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--device", self.device.is_some()),
            ("--devices", self.devices.is_some()),
            ("--epochs", self.epochs.is_some()),
            ("--batch-size", self.batch_size.is_some()),
            ("--lr", self.lr.is_some()),
            ("--seed", self.seed.is_some()),
            ("--limit", self.limit.is_some()),
        ];
        flags.into_iter().filter(|(_, given)| *given).map(|(flag, _)| flag).collect()
    }
}

/// The most loader threads (`train.workers`).
pub const MAX_WORKERS: usize = 256;
/// The most batches prepared ahead (`train.prefetch`).
pub const MAX_PREFETCH: usize = 1024;
/// The largest batch (`train.batch_size`).
pub const MAX_BATCH: usize = 1 << 20;

impl TrainConfig {
    /// Refuses settings that cannot train.
    pub fn check(&self) -> Result<(), RunError> {
        // An infinite rate would also be written to config.json as `null`, leaving the run unreadable.
        if self.epochs == 0 || self.batch_size == 0 || !(self.lr > 0.0 && self.lr.is_finite()) || self.keep_checkpoints == 0 {
            return Err(RunError::bad_setting(
                "train.epochs, batch_size, lr, keep_checkpoints",
                format!("{}, {}, {}, {}", self.epochs, self.batch_size, self.lr, self.keep_checkpoints),
                "each must be positive and finite",
            ));
        }
        // Each is a count of threads, queued batches or examples that is allocated up front.
        for (name, value, most) in
            [("workers", self.workers, MAX_WORKERS), ("prefetch", self.prefetch, MAX_PREFETCH), ("batch_size", self.batch_size, MAX_BATCH)]
        {
            if value > most {
                return Err(RunError::bad_setting(format!("train.{name}"), value, format!("more than mm allows ({most})")));
            }
        }
        if self.device.is_some() && !self.devices.is_empty() {
            let devices = format!("{:?} and {:?}", self.device, self.devices);
            return Err(RunError::bad_setting("train.device and train.devices (--device and --devices)", devices, "both given: give one"));
        }
        if let Some((name, scale)) = self.module_lr.iter().find(|(_, s)| !(**s >= 0.0 && s.is_finite())) {
            return Err(RunError::bad_setting(format!("train.module_lr.{name}"), scale, "not a rate multiplier (0 or more)"));
        }
        self.optimizer.check("train.optimizer")
    }
}

/// A dropout rate must lie in [0, 1): burn's dropout panics on 1 (everything dropped) and above.
pub fn check_dropout(setting: &str, p: f64) -> Result<(), RunError> {
    if (0.0..1.0).contains(&p) { Ok(()) } else { Err(RunError::bad_setting(setting, p, "not a dropout rate (0 or more, below 1)")) }
}

/// Every width (or size) of a network must be at least 1: the first that is not is refused by name.
pub fn check_widths(widths: &[(&str, usize)]) -> Result<(), RunError> {
    match widths.iter().find(|(_, width)| *width == 0) {
        Some((name, width)) => Err(RunError::bad_setting(*name, width, "every width must be at least 1")),
        None => Ok(()),
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
        std::fs::write(&toml_path, "width = 3\n[train]\nepochs = 4\n[train.optimizer]\nkind = \"sgd\"\nmomentum = 0.9\n").unwrap();
        let mut config: Example = load_config(&toml_path).unwrap();
        assert_eq!((config.width, config.train.epochs, config.train.batch_size), (3, 4, 64));
        assert_eq!((config.train.optimizer.kind, config.train.optimizer.momentum), (super::super::optim::OptimizerKind::Sgd, 0.9));
        let flags = Overrides { epochs: Some(7), lr: Some(0.5), ..Default::default() };
        flags.apply(&mut config.train);
        assert_eq!((config.train.epochs, config.train.lr, config.train.seed), (7, 0.5, 0));
        assert_eq!(flags.given(), ["--epochs", "--lr"]);

        for lr in [f64::INFINITY, f64::NAN, -1.0] {
            let message = TrainConfig { lr, ..TrainConfig::default() }.check().unwrap_err().to_string();
            assert!(message.contains("lr") && message.contains("finite"), "{message}");
        }
        for (name, config) in [
            ("train.prefetch", TrainConfig { prefetch: 1_000_000_000_000, ..TrainConfig::default() }),
            ("train.workers", TrainConfig { workers: 100_000, ..TrainConfig::default() }),
            ("train.batch_size", TrainConfig { batch_size: usize::MAX, ..TrainConfig::default() }),
        ] {
            let message = config.check().unwrap_err().to_string();
            assert!(message.contains(name) && message.contains("more than"), "{message}");
        }
        let infinite_decay = TrainConfig { optimizer: OptimizerSettings { weight_decay: f32::INFINITY, ..Default::default() }, ..TrainConfig::default() };
        assert!(infinite_decay.check().unwrap_err().to_string().contains("train.optimizer"));

        let json_path = dir.path().join("task.json");
        std::fs::write(&json_path, r#"{"train": {"epochs": 2, "batchsize": 9}}"#).unwrap();
        let message = load_config::<Example>(&json_path).unwrap_err().to_string();
        assert!(message.contains("task.json") && message.contains("batchsize"), "{message}");
    }
}
