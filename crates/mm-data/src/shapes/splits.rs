//! Train, validation and test scenes of the world: each split its own seed, so that held-out scenes are new.

use serde::{Deserialize, Serialize};

use crate::{DataError, Split};

/// How many scenes each split holds and the seed it draws them from (scene indices 0.. of that seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneSplits {
    /// Training scenes.
    pub train_scenes: usize,
    /// Validation scenes.
    pub valid_scenes: usize,
    /// Test scenes.
    pub test_scenes: usize,
    /// The world's seed for training scenes.
    pub train_seed: u64,
    /// … validation scenes.
    pub valid_seed: u64,
    /// … test scenes.
    pub test_seed: u64,
}

impl SceneSplits {
    /// The seed and scene count of `split`; `task` names the settings in errors. The three seeds must differ and
    /// every split must hold a scene.
    pub fn split(&self, split: Split, task: &str) -> Result<(u64, usize), DataError> {
        let seeds = [self.train_seed, self.valid_seed, self.test_seed];
        if seeds.iter().enumerate().any(|(i, s)| seeds[..i].contains(s)) {
            return Err(DataError::BadSetting {
                name: format!("{task}.train_seed, valid_seed, test_seed"),
                value: format!("{seeds:?}"),
                why: "the three must differ, or held-out scenes are training scenes".into(),
            });
        }
        let (seed, count) = match split {
            Split::Train => (self.train_seed, self.train_scenes),
            Split::Valid => (self.valid_seed, self.valid_scenes),
            Split::Test => (self.test_seed, self.test_scenes),
        };
        if count == 0 {
            return Err(DataError::BadSetting {
                name: format!("{task}.{}_scenes", split.name()),
                value: "0".into(),
                why: "every split must hold a scene".into(),
            });
        }
        Ok((seed, count))
    }
}
