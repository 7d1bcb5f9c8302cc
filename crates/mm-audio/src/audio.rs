//! A mono clip of samples at a known rate: what every reader returns and every feature consumes.

use rubato::{FftFixedIn, Resampler};

use crate::{Error, Result};

/// The highest sample rate mm accepts, in Hz: eight times 192 kHz. A header or flag asking for more (a 4 GHz
/// "rate") is an error rather than a resampler that tries to allocate gigabytes.
pub const MAX_SAMPLE_RATE: u32 = 1_536_000;

/// The most samples a clip may have after resampling: 2^28 (about 4.7 hours at 16 kHz, 1 GiB of f32). A clip
/// whose header declares a rate far below its real one (a 1 Hz "recording") would otherwise ask for gigabytes.
pub const MAX_SAMPLES: usize = 1 << 28;

/// Checks that a sample rate is in 1..=[`MAX_SAMPLE_RATE`]; `what` names where it came from.
pub fn check_sample_rate(rate: u32, what: &str) -> Result<()> {
    if (1..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(Error::parameter(format!("{what}: sample rate {rate} Hz is outside 1..={MAX_SAMPLE_RATE}")))
    }
}

/// Mono audio as f32 samples in [-1, 1] at `sample_rate` hertz.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// The samples.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// Wraps samples.
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> Self {
        Self { samples, sample_rate }
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }

    /// The clip at another sample rate, by rubato's FFT resampler (band-limited, linear phase), with its delay
    /// removed so that sample `i` still falls at time `i / rate`. Returns `ceil(len * to / from)` samples.
    pub fn resample(&self, to: u32) -> Result<Audio> {
        let from = self.sample_rate;
        if from == to {
            return Ok(self.clone());
        }
        let error = |message: String| Error::Resample { from, to, message };
        if !(1..=MAX_SAMPLE_RATE).contains(&from) || !(1..=MAX_SAMPLE_RATE).contains(&to) {
            return Err(error(format!("sample rates must be in 1..={MAX_SAMPLE_RATE} Hz")));
        }
        let wanted = (self.samples.len() as u64 * to as u64).div_ceil(from as u64);
        if wanted > MAX_SAMPLES as u64 {
            return Err(error(format!(
                "{} samples at {from} Hz would become {wanted} at {to} Hz, more than mm resamples ({MAX_SAMPLES}); is the file's sample rate right?",
                self.samples.len()
            )));
        }
        let wanted = wanted as usize;
        let mut resampler = FftFixedIn::<f32>::new(from as usize, to as usize, 1024, 2, 1).map_err(|e| error(e.to_string()))?;
        let delay = resampler.output_delay();
        let mut out = Vec::with_capacity(wanted + delay + resampler.output_frames_max());
        let mut buffer = resampler.output_buffer_allocate(true);
        let mut position = 0;
        while position + resampler.input_frames_next() <= self.samples.len() {
            let chunk = &self.samples[position..position + resampler.input_frames_next()];
            let (read, written) = resampler.process_into_buffer(&[chunk], &mut buffer, None).map_err(|e| error(e.to_string()))?;
            out.extend_from_slice(&buffer[0][..written]);
            position += read;
        }
        let rest = &self.samples[position..];
        // A clip whose length is a whole number of chunks has no rest: rubato refuses an empty partial chunk.
        if !rest.is_empty() {
            let (_, written) = resampler.process_partial_into_buffer(Some(&[rest]), &mut buffer, None).map_err(|e| error(e.to_string()))?;
            out.extend_from_slice(&buffer[0][..written]);
        }
        while out.len() < wanted + delay {
            let (_, written) = resampler.process_partial_into_buffer(None::<&[&[f32]]>, &mut buffer, None).map_err(|e| error(e.to_string()))?;
            out.extend_from_slice(&buffer[0][..written]);
        }
        out.drain(..delay);
        out.truncate(wanted);
        Ok(Audio::new(out, to))
    }

    /// Cuts or zero-pads to exactly `len` samples (the start is kept).
    pub fn fit_to(&mut self, len: usize) {
        self.samples.resize(len, 0.0);
    }

    /// Scales so that the largest absolute sample is `peak` (silence is left as it is).
    pub fn normalise_peak(&mut self, peak: f32) {
        let max = self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        if max > 0.0 {
            let gain = peak / max;
            self.samples.iter_mut().for_each(|s| *s *= gain);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_a_tone_in_phase_and_at_its_frequency() {
        let tone = |rate: u32, len: usize| -> Vec<f32> { (0..len).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin()).collect() };
        let clip = Audio::new(tone(8000, 8000), 8000);
        let up = clip.resample(16000).unwrap();
        assert_eq!((up.samples.len(), up.sample_rate), (16000, 16000));
        let expected = tone(16000, 16000);
        // Away from the edges the resampled tone is the tone at the new rate, sample for sample.
        let worst = up.samples[2000..14000].iter().zip(&expected[2000..14000]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-2, "max deviation {worst}");
        let down = Audio::new(tone(44100, 44100), 44100).resample(16000).unwrap();
        assert_eq!(down.samples.len(), 16000);
        assert!(Audio::new(vec![0.0; 10], 0).resample(8000).is_err());
    }

    #[test]
    fn clips_of_whole_chunks_resample() {
        // 1.024 s at 16 kHz is exactly 16 chunks of 1024 samples.
        for len in [1024, 16_384, 2048 * 3] {
            let out = Audio::new(vec![0.25; len], 16000).resample(22050).unwrap();
            assert_eq!(out.samples.len(), (len * 22050).div_ceil(16000), "{len} samples");
        }
    }

    #[test]
    fn a_rate_that_would_ask_for_gigabytes_is_refused_before_allocating() {
        let message = Audio::new(vec![0.0; 200_000], 1).resample(16000).unwrap_err().to_string();
        assert!(message.contains("200000 samples at 1 Hz") && message.contains("sample rate right"), "{message}");
    }
}
