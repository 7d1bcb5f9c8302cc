//! Phase reconstruction from a magnitude spectrogram: the fast Griffin-Lim algorithm (Perraudin et al. 2013),
//! as `librosa.griffinlim`.

use ndarray::{Array2, ArrayView2, Zip};
use rand::{Rng, SeedableRng};
use realfft::num_complex::Complex32;
use serde::{Deserialize, Serialize};

use super::{Istft, Stft, StftConfig};
use crate::{Error, Result};

/// Parameters of Griffin-Lim. Defaults follow librosa: 32 iterations, momentum 0.99, random initial phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GriffinLimConfig {
    /// Iterations of project-to-consistent-spectrogram and restore-magnitude.
    pub n_iter: usize,
    /// Momentum of the fast variant; 0 gives the original algorithm.
    pub momentum: f32,
    /// Seed of the random initial phases, or None to start from zero phase.
    pub seed: Option<u64>,
}

impl Default for GriffinLimConfig {
    fn default() -> Self {
        Self { n_iter: 32, momentum: 0.99, seed: Some(0) }
    }
}

/// Estimates a signal whose STFT magnitude is `magnitude` (`[frames, bins]`), using the STFT `stft_config`.
/// `length` fixes the output length (pass the original signal's length when known).
pub fn griffin_lim(magnitude: ArrayView2<f32>, stft_config: StftConfig, length: Option<usize>, config: &GriffinLimConfig) -> Result<Vec<f32>> {
    if !(0.0..1.0).contains(&config.momentum) {
        return Err(Error::parameter(format!("momentum must be in [0, 1), got {}", config.momentum)));
    }
    let mut stft = Stft::new(stft_config)?;
    let mut istft = Istft::new(stft_config)?;
    let mut angles: Array2<Complex32> = match config.seed {
        Some(seed) => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            magnitude.map(|_| Complex32::from_polar(1.0, rng.random_range(0.0..std::f32::consts::TAU)))
        }
        None => magnitude.map(|_| Complex32::new(1.0, 0.0)),
    };
    let mut previous: Array2<Complex32> = Array2::zeros(magnitude.dim());
    let mut estimate = Array2::zeros(magnitude.dim());
    let accel = config.momentum / (1.0 + config.momentum);
    for _ in 0..config.n_iter {
        Zip::from(&mut estimate).and(&magnitude).and(&angles).for_each(|e, &m, &a| *e = a * m);
        let signal = istft.process(estimate.view(), length)?;
        let rebuilt = stft.process(&signal)?;
        if rebuilt.dim() != magnitude.dim() {
            return Err(Error::parameter(format!(
                "the spectrogram {:?} is not what the STFT gives for {} samples: {:?}",
                magnitude.dim(),
                signal.len(),
                rebuilt.dim()
            )));
        }
        Zip::from(&mut angles).and(&rebuilt).and(&previous).for_each(|a, &r, &p| {
            let next = r - p * accel;
            *a = next / (next.norm() + 1e-16);
        });
        previous = rebuilt;
    }
    Zip::from(&mut estimate).and(&magnitude).and(&angles).for_each(|e, &m, &a| *e = a * m);
    istft.process(estimate.view(), length)
}

/// Spectral convergence `‖|STFT(y)| - M‖_F / ‖M‖_F`: how far a signal's magnitude is from the target.
pub fn spectral_convergence(signal: &[f32], magnitude: ArrayView2<f32>, stft_config: StftConfig) -> Result<f32> {
    let rebuilt = super::magnitude(&mut Stft::new(stft_config)?, signal)?;
    if rebuilt.dim() != magnitude.dim() {
        return Err(Error::parameter("the signal's spectrogram and the target differ in shape"));
    }
    let error: f32 = Zip::from(&rebuilt).and(&magnitude).fold(0.0, |acc, r, m| acc + (r - m) * (r - m));
    let total: f32 = magnitude.iter().map(|m| m * m).sum();
    Ok((error / total).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_consistent_signal_from_its_magnitude() {
        let rate = 8000.0;
        let signal: Vec<f32> = (0..8000)
            .map(|i| {
                let t = i as f32 / rate;
                (2.0 * std::f32::consts::PI * (300.0 + 400.0 * t) * t).sin() * 0.5
            })
            .collect();
        let config = StftConfig::new(256).with_hop_length(64);
        let target = super::super::magnitude(&mut Stft::new(config).unwrap(), &signal).unwrap();
        let few = GriffinLimConfig { n_iter: 2, ..Default::default() };
        let many = GriffinLimConfig { n_iter: 60, ..Default::default() };
        let rough = griffin_lim(target.view(), config, Some(signal.len()), &few).unwrap();
        let good = griffin_lim(target.view(), config, Some(signal.len()), &many).unwrap();
        let rough_error = spectral_convergence(&rough, target.view(), config).unwrap();
        let good_error = spectral_convergence(&good, target.view(), config).unwrap();
        assert!(good_error < rough_error, "{good_error} vs {rough_error}");
        assert!(good_error < 0.1, "spectral convergence {good_error}");
    }
}
