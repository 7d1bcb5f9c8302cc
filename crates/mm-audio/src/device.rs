//! Batched spectrograms on a burn [`Device`] (CPU or GPU), for training pipelines: the STFT is
//! `burn::tensor::signal::stft`, the mel filters a matrix product, all on the device that holds the batch.

use burn::tensor::signal::{StftOptions, stft};
use burn::tensor::{Device, Tensor, TensorData};

use crate::signal::{LogMelConfig, MelFilterbank, PadMode, StftConfig};
use crate::{Error, Result};

fn burn_options(config: &StftConfig) -> Result<StftOptions> {
    config.validate()?;
    if !config.n_fft.is_power_of_two() {
        return Err(Error::parameter(format!(
            "the device STFT needs a power-of-two n_fft (burn's FFT), got {}; use the CPU `Stft` for other sizes",
            config.n_fft
        )));
    }
    if config.center && config.pad_mode != PadMode::Reflect {
        return Err(Error::parameter("the device STFT pads centred frames by reflection only"));
    }
    Ok(StftOptions { n_fft: config.n_fft, hop_length: config.hop_length, win_length: Some(config.win_length), center: config.center, onesided: true })
}

fn check_batch(config: &StftConfig, signal: &Tensor<2>) -> Result<()> {
    let [_, len] = signal.dims();
    let needed = if config.center { config.n_fft / 2 + 1 } else { config.n_fft };
    if len < needed {
        return Err(Error::parameter(format!("the device STFT needs signals of at least {needed} samples, got {len}")));
    }
    Ok(())
}

/// The complex STFT of a batch: `[batch, samples]` → `[batch, frames, bins, 2]` (real, imaginary), the same
/// values as [`crate::signal::Stft`] with the same configuration.
pub fn device_stft(signal: Tensor<2>, config: &StftConfig) -> Result<Tensor<4>> {
    let options = burn_options(config)?;
    check_batch(config, &signal)?;
    let window = Tensor::<1>::from_data(TensorData::new(config.window.coefficients(config.win_length, config.symmetry), [config.win_length]), &signal.device());
    Ok(stft(signal, Some(window), options))
}

/// A log-mel front end that lives on a device: its window and filters are uploaded once.
#[derive(Debug, Clone)]
pub struct DeviceLogMel {
    config: LogMelConfig,
    options: StftOptions,
    window: Tensor<1>,
    /// `[bins, n_mels]`, the transposed filterbank, so that `power.matmul(filters)` gives band energies.
    filters: Tensor<2>,
}

impl DeviceLogMel {
    /// Builds the filters and uploads them to `device`.
    pub fn new(config: LogMelConfig, device: &Device) -> Result<Self> {
        let options = burn_options(&config.stft)?;
        let bank = MelFilterbank::new(config.mel)?;
        if bank.n_bins() != config.stft.n_bins() {
            return Err(Error::parameter("the mel filterbank and the STFT disagree on n_fft"));
        }
        let dense = bank.to_dense().reversed_axes().as_standard_layout().to_owned();
        let (bins, mels) = dense.dim();
        let filters = Tensor::<2>::from_data(TensorData::new(dense.into_raw_vec_and_offset().0, [bins, mels]), device);
        let stft = &config.stft;
        let window = Tensor::<1>::from_data(TensorData::new(stft.window.coefficients(stft.win_length, stft.symmetry), [stft.win_length]), device);
        Ok(Self { config, options, window, filters })
    }

    /// The configuration.
    pub fn config(&self) -> &LogMelConfig {
        &self.config
    }

    /// Log-mel spectrograms of a batch: `[batch, samples]` → `[batch, frames, n_mels]` in decibels.
    pub fn forward(&self, signal: Tensor<2>) -> Result<Tensor<3>> {
        check_batch(&self.config.stft, &signal)?;
        let spectrum = stft(signal, Some(self.window.clone()), self.options);
        let [batch, frames, bins, _] = spectrum.dims();
        let squared = spectrum.square().sum_dim(3).reshape([batch * frames, bins]);
        let power = self.config.power;
        let powered = if power == 2.0 { squared } else { squared.powf_scalar(power / 2.0) };
        let mels = powered.matmul(self.filters.clone());
        let db = &self.config.decibels;
        let offset = 10.0 * db.reference.max(db.amin).log10();
        let decibels = mels.clamp_min(db.amin).log().mul_scalar(10.0 / std::f32::consts::LN_10).sub_scalar(offset);
        let n_mels = self.config.mel.n_mels;
        let decibels = decibels.reshape([batch, frames, n_mels]);
        Ok(match db.top_db {
            // The floor is per example, as librosa applies it per call.
            Some(top_db) => {
                let peak = decibels.clone().max_dim(2).max_dim(1);
                decibels.max_pair(peak.sub_scalar(top_db).expand([batch, frames, n_mels]))
            }
            None => decibels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{LogMel, Stft};

    fn batch() -> Vec<Vec<f32>> {
        (0..3).map(|b| (0..4000).map(|i| ((i as f32 * (0.01 + b as f32 * 0.013)).sin() * 0.4) + ((i * 31 + b) % 17) as f32 * 0.002).collect()).collect()
    }

    fn upload(signals: &[Vec<f32>], device: &Device) -> Tensor<2> {
        let flat: Vec<f32> = signals.concat();
        Tensor::from_data(TensorData::new(flat, [signals.len(), signals[0].len()]), device)
    }

    #[test]
    fn device_stft_matches_the_cpu_stft() {
        let device = Device::flex();
        let config = StftConfig::new(256).with_hop_length(64).with_win_length(200);
        let signals = batch();
        let on_device = device_stft(upload(&signals, &device), &config).unwrap();
        let values: Vec<f32> = on_device.into_data().try_to_vec().unwrap();
        let (frames, bins) = (config.n_frames(4000), config.n_bins());
        let mut stft = Stft::new(config).unwrap();
        for (b, signal) in signals.iter().enumerate() {
            let cpu = stft.process(signal).unwrap();
            for t in [0, frames / 2, frames - 1] {
                for k in 0..bins {
                    let at = ((b * frames + t) * bins + k) * 2;
                    let (re, im) = (values[at], values[at + 1]);
                    assert!((re - cpu[(t, k)].re).abs() < 2e-3 && (im - cpu[(t, k)].im).abs() < 2e-3, "b{b} t{t} k{k}");
                }
            }
        }
    }

    #[test]
    fn device_log_mel_matches_the_cpu_log_mel() {
        let device = Device::flex();
        let mut config = LogMelConfig::new(16000, 512, 160, 40);
        config.decibels.top_db = Some(80.0);
        let signals = batch();
        let values: Vec<f32> = DeviceLogMel::new(config, &device).unwrap().forward(upload(&signals, &device)).unwrap().into_data().try_to_vec().unwrap();
        let mut cpu = LogMel::new(config).unwrap();
        for (b, signal) in signals.iter().enumerate() {
            let expected = cpu.process(signal).unwrap();
            let got = &values[b * expected.len()..(b + 1) * expected.len()];
            let worst = expected.iter().zip(got).map(|(e, g)| (e - g).abs()).fold(0.0, f32::max);
            assert!(worst < 1e-2, "example {b}: max difference {worst} dB");
        }
    }

    #[test]
    fn refuses_what_burn_cannot_do() {
        let device = Device::flex();
        assert!(DeviceLogMel::new(LogMelConfig::new(16000, 400, 160, 40), &device).is_err());
        let short = Tensor::<2>::zeros([1, 100], &device);
        assert!(device_stft(short, &StftConfig::new(512)).is_err());
    }
}
