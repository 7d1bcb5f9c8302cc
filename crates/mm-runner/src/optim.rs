//! Optimisers and learning-rate schedules, chosen in the config from burn-optim's, and the named set of them a
//! training step uses ([`Optimizers`]): one for most models, two for a GAN.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, OptimizerRecord, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

use super::RunError;

/// Which of burn-optim's optimisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay (Loshchilov & Hutter).
    AdamW,
    /// Adam; `weight_decay` is an L2 penalty added to the gradient. DCGAN-style GANs use `beta1 = 0.5`.
    Adam,
    /// Stochastic gradient descent, with momentum when `momentum` is above zero.
    Sgd,
    /// RMSprop.
    RmsProp,
}

/// How the learning rate moves over the run (after the warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    /// The peak rate throughout.
    Constant,
    /// Half a cosine from the peak rate to zero at the last step.
    Cosine,
    /// The rate times `gamma` every `every` steps.
    Step {
        /// Steps between decays.
        every: usize,
        /// Factor per decay.
        gamma: f64,
    },
}

/// One optimiser's settings. Fields an optimiser has no use for (momentum for Adam) are refused when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerSettings {
    /// adamw, adam, sgd or rmsprop. Default adamw.
    pub kind: OptimizerKind,
    /// Adam's first-moment decay. Default 0.9.
    pub beta1: f32,
    /// Adam's second-moment decay. Default 0.999.
    pub beta2: f32,
    /// RMSprop's smoothing constant. Default 0.99.
    pub alpha: f32,
    /// SGD's or RMSprop's momentum. Default 0.
    pub momentum: f64,
    /// Nesterov momentum (SGD). Default false.
    pub nesterov: bool,
    /// Weight decay: decoupled for AdamW, an L2 penalty for the others. Default 1e-4.
    pub weight_decay: f32,
    /// The schedule. Default cosine.
    pub schedule: Schedule,
    /// Steps of linear warm-up from zero to the peak rate. Default 0.
    pub warmup_steps: usize,
    /// Clip each parameter's gradient to this L2 norm (burn-optim's clipping is per parameter tensor, not over
    /// the whole model). Default: no clipping.
    pub clip_norm: Option<f32>,
}

impl Default for OptimizerSettings {
    fn default() -> Self {
        Self {
            kind: OptimizerKind::AdamW,
            beta1: 0.9,
            beta2: 0.999,
            alpha: 0.99,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 1e-4,
            schedule: Schedule::Cosine,
            warmup_steps: 0,
            clip_norm: None,
        }
    }
}

impl OptimizerSettings {
    /// Refuses settings that cannot train, naming `section`.
    pub fn check(&self, section: &str) -> Result<(), RunError> {
        let unit = |v: f64| (0.0..1.0).contains(&v);
        let bad_schedule = matches!(self.schedule, Schedule::Step { every, gamma } if every == 0 || !(gamma > 0.0 && gamma.is_finite()));
        let unused_momentum = self.momentum != 0.0 && matches!(self.kind, OptimizerKind::AdamW | OptimizerKind::Adam);
        let in_range = [self.beta1 as f64, self.beta2 as f64, self.alpha as f64, self.momentum].into_iter().all(unit);
        let decay_ok = self.weight_decay >= 0.0 && self.weight_decay.is_finite();
        let clip_ok = self.clip_norm.is_none_or(|c| c > 0.0 && c.is_finite());
        if !(in_range && decay_ok && clip_ok) || bad_schedule || unused_momentum {
            return Err(RunError::bad_setting(
                section,
                format!("{self:?}"),
                "betas, alpha and momentum must lie in [0, 1) (momentum only for sgd and rmsprop), weight decay be 0 or more, \
                 clipping and step decay positive, all finite",
            ));
        }
        Ok(())
    }

    /// The burn optimiser these settings describe.
    pub fn init(&self) -> ModuleOptimizer {
        let clip = self.clip_norm.map(GradientClippingConfig::Norm);
        let decay = (self.weight_decay > 0.0).then_some(WeightDecayConfig { penalty: self.weight_decay });
        match self.kind {
            OptimizerKind::AdamW => {
                AdamWConfig::new().with_beta_1(self.beta1).with_beta_2(self.beta2).with_weight_decay(self.weight_decay).with_grad_clipping(clip).init()
            }
            OptimizerKind::Adam => AdamConfig::new().with_beta_1(self.beta1).with_beta_2(self.beta2).with_weight_decay(decay).with_grad_clipping(clip).init(),
            OptimizerKind::Sgd => SgdConfig::new()
                .with_momentum((self.momentum > 0.0).then_some(MomentumConfig { momentum: self.momentum, dampening: 0.0, nesterov: self.nesterov }))
                .with_weight_decay(decay)
                .with_gradient_clipping(clip)
                .init(),
            OptimizerKind::RmsProp => {
                RmsPropConfig::new().with_alpha(self.alpha).with_momentum(self.momentum as f32).with_weight_decay(decay).with_grad_clipping(clip).init()
            }
        }
    }

    /// The learning rate at optimiser step `step` (0-based) of `total`, for peak rate `peak`.
    pub fn lr_at(&self, peak: f64, step: usize, total: usize) -> f64 {
        if step < self.warmup_steps {
            return peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let (step, span) = (step - self.warmup_steps, total.saturating_sub(self.warmup_steps).max(1));
        match self.schedule {
            Schedule::Constant => peak,
            Schedule::Cosine => peak * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / span as f64).cos()),
            Schedule::Step { every, gamma } => peak * gamma.powi((step / every.max(1)) as i32),
        }
    }
}

/// One named optimiser with its peak rate and schedule.
#[derive(Clone)]
struct Named {
    name: String,
    settings: OptimizerSettings,
    peak: f64,
    optimizer: ModuleOptimizer,
}

/// The optimisers of a run, by name, and the step count their schedules follow. A training step asks for one by
/// name ([`Optimizers::step`]); checkpoints save each.
#[derive(Clone)]
pub struct Optimizers {
    named: Vec<Named>,
    module_lr: BTreeMap<String, f64>,
    /// Optimiser steps taken so far (the schedule's clock).
    pub(crate) step: usize,
    /// Steps the run will take.
    pub(crate) total_steps: usize,
}

impl std::fmt::Debug for Optimizers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimizers").field("names", &self.names()).field("step", &self.step).finish()
    }
}

impl Optimizers {
    /// Optimisers `(name, settings, peak rate)`; `module_lr` scales the rate of named sub-modules (0 freezes).
    pub fn new(named: Vec<(String, OptimizerSettings, f64)>, module_lr: BTreeMap<String, f64>, total_steps: usize) -> Self {
        let named = named.into_iter().map(|(name, settings, peak)| Named { optimizer: settings.init(), name, settings, peak }).collect();
        Self { named, module_lr, step: 0, total_steps }
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.named.iter().map(|n| n.name.as_str()).collect()
    }

    fn get(&mut self, name: &str) -> &mut Named {
        let names = self.names().join(", ");
        self.named.iter_mut().find(|n| n.name == name).unwrap_or_else(|| panic!("no optimiser {name:?} (the run has {names})"))
    }

    /// The learning rate optimiser `name` uses at the current step.
    pub fn lr(&self, name: &str) -> f64 {
        let named = self.named.iter().find(|n| n.name == name).expect("a known optimiser");
        named.settings.lr_at(named.peak, self.step, self.total_steps)
    }

    /// The current rate of the first optimiser (the model's, in a one-optimiser run): `lr` in `metrics.jsonl`.
    pub fn first_lr(&self) -> f64 {
        self.named.first().map_or(0.0, |n| n.settings.lr_at(n.peak, self.step, self.total_steps))
    }

    /// The rate multiplier of sub-module `module` (1 unless the config says otherwise).
    pub fn module_scale(&self, module: &str) -> f64 {
        self.module_lr.get(module).copied().unwrap_or(1.0)
    }

    /// Updates `module` by `grads` with optimiser `name` at its current rate times `scale` (0: left as it is).
    pub fn step<M: Module>(&mut self, name: &str, module: M, grads: GradientsParams, scale: f64) -> M {
        let step = self.step;
        let total = self.total_steps;
        let named = self.get(name);
        if scale == 0.0 {
            return module;
        }
        let lr = named.settings.lr_at(named.peak, step, total) * scale;
        named.optimizer.step(lr, module, grads)
    }

    /// Advances every schedule by one step (the runner calls it after each training step).
    pub(crate) fn tick(&mut self) {
        self.step += 1;
    }

    /// Writes each optimiser's state as `dir/optimizer-NAME.bpk`.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), RunError> {
        for named in &self.named {
            let path = dir.join(format!("optimizer-{}.bpk", named.name));
            named.optimizer.to_record().save(&path).map_err(|e| RunError::invalid(&path, e))?;
        }
        Ok(())
    }

    /// Reads what [`Optimizers::save`] wrote.
    pub(crate) fn load(mut self, dir: &Path) -> Result<Self, RunError> {
        for named in &mut self.named {
            let path = dir.join(format!("optimizer-{}.bpk", named.name));
            let record = OptimizerRecord::load(&path).map_err(|e| RunError::invalid(&path, e))?;
            named.optimizer = named.optimizer.clone().load_record(record);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_definitions() {
        let mut settings = OptimizerSettings { warmup_steps: 10, ..Default::default() };
        assert_eq!(settings.lr_at(1.0, 0, 110), 0.1);
        assert_eq!(settings.lr_at(1.0, 9, 110), 1.0);
        assert_eq!(settings.lr_at(1.0, 10, 110), 1.0);
        assert!((settings.lr_at(1.0, 60, 110) - 0.5).abs() < 1e-12);
        settings.schedule = Schedule::Step { every: 20, gamma: 0.5 };
        assert_eq!(settings.lr_at(2.0, 10 + 45, 110), 0.5);
        settings.schedule = Schedule::Constant;
        assert_eq!(settings.lr_at(2.0, 100, 110), 2.0);
        let bad = OptimizerSettings { kind: OptimizerKind::Sgd, momentum: 1.5, ..Default::default() };
        assert!(bad.check("train.optimizer").unwrap_err().to_string().contains("train.optimizer"));
    }
}
