//! Edge padding for centred frames, with numpy's `np.pad` semantics.

use serde::{Deserialize, Serialize};

/// How a centred STFT extends the signal beyond its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PadMode {
    /// Mirror about the edge sample, which is not repeated (`[c b | a b c]`): torch's default and librosa's before 0.10.
    #[default]
    Reflect,
    /// Zeros: librosa's default since 0.10.
    Constant,
    /// Repeat the edge sample (`[a a | a b c]`).
    Edge,
}

impl std::str::FromStr for PadMode {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "reflect" => Ok(Self::Reflect),
            "constant" | "zeros" => Ok(Self::Constant),
            "edge" | "replicate" => Ok(Self::Edge),
            other => Err(format!("unknown pad mode {other:?}: expected reflect, constant or edge")),
        }
    }
}

impl PadMode {
    /// The sample at `index` (which may lie outside `0..signal.len()`) of the padded signal.
    ///
    /// Reflection repeats as numpy does when the padding is longer than the signal.
    #[inline]
    pub fn sample(self, signal: &[f32], index: isize) -> f32 {
        let len = signal.len() as isize;
        if (0..len).contains(&index) {
            return signal[index as usize];
        }
        match self {
            PadMode::Constant => 0.0,
            PadMode::Edge => signal[index.clamp(0, len - 1) as usize],
            PadMode::Reflect => {
                if len == 1 {
                    return signal[0];
                }
                let period = 2 * (len - 1);
                let folded = index.rem_euclid(period);
                signal[(if folded < len { folded } else { period - folded }) as usize]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(mode: PadMode, signal: &[f32], amount: isize) -> Vec<f32> {
        (-amount..signal.len() as isize + amount).map(|i| mode.sample(signal, i)).collect()
    }

    #[test]
    fn matches_numpy_pad() {
        let x = [1.0, 2.0, 3.0, 4.0];
        // np.pad([1,2,3,4], 2, mode=…)
        assert_eq!(pad(PadMode::Reflect, &x, 2), [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
        assert_eq!(pad(PadMode::Edge, &x, 2), [1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0]);
        assert_eq!(pad(PadMode::Constant, &x, 1), [0.0, 1.0, 2.0, 3.0, 4.0, 0.0]);
        // np.pad([1,2,3], 5, mode='reflect') reflects repeatedly.
        assert_eq!(pad(PadMode::Reflect, &[1.0, 2.0, 3.0], 5), [2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    }
}
