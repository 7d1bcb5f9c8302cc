//! WAV through hound: any channel count, integer (8–32 bit) or float samples, any rate; mixed to mono f32.

use std::path::Path;

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};

use crate::{Audio, Error, Result};

/// What a WAV header declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// Channels.
    pub channels: u16,
    /// Samples per second.
    pub sample_rate: u32,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// Whether the samples are floats.
    pub float: bool,
    /// Frames (samples per channel).
    pub frames: u32,
}

impl WavInfo {
    /// Reads only the header.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let reader = WavReader::open(path).map_err(|source| wav_error(path, source))?;
        let spec = reader.spec();
        Ok(Self {
            channels: spec.channels,
            sample_rate: spec.sample_rate,
            bits_per_sample: spec.bits_per_sample,
            float: spec.sample_format == SampleFormat::Float,
            frames: reader.duration(),
        })
    }
}

fn wav_error(path: &Path, source: hound::Error) -> Error {
    match source {
        hound::Error::IoError(source) => Error::io(path, source),
        source => Error::Wav { path: path.into(), source },
    }
}

/// Reads a WAV file and averages its channels into mono f32 in [-1, 1].
///
/// A file whose data ends before the length its header declares is an error, not a shorter clip; so is a
/// float sample that is not a finite number (NaN or infinite), which no transform downstream could use.
pub fn read_wav(path: impl AsRef<Path>) -> Result<Audio> {
    let path = path.as_ref();
    let mut reader = WavReader::open(path).map_err(|source| wav_error(path, source))?;
    let spec = reader.spec();
    if spec.channels == 0 || !(1..=crate::MAX_SAMPLE_RATE).contains(&spec.sample_rate) {
        return Err(Error::invalid(
            path,
            format!("the header declares {} channels at {} Hz (mm reads 1..={} Hz)", spec.channels, spec.sample_rate, crate::MAX_SAMPLE_RATE),
        ));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>(),
        SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader.samples::<i32>().map(|s| s.map(|s| s as f32 * scale)).collect::<Result<_, _>>()
        }
    }
    .map_err(|source| wav_error(path, source))?;
    if let Some(at) = interleaved.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid(path, format!("sample {at} is {} (a WAV's float samples must be finite numbers)", interleaved[at])));
    }
    let channels = spec.channels as usize;
    if !interleaved.len().is_multiple_of(channels) {
        return Err(Error::invalid(path, "the data ends in the middle of a frame"));
    }
    let samples =
        if channels == 1 { interleaved } else { interleaved.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect() };
    Ok(Audio::new(samples, spec.sample_rate))
}

/// Writes mono 16-bit PCM (samples are clipped to [-1, 1]), through a temporary file fsynced and renamed into place.
pub fn write_wav(path: impl AsRef<Path>, audio: &Audio) -> Result<()> {
    let path = path.as_ref();
    let spec = WavSpec { channels: 1, sample_rate: audio.sample_rate, bits_per_sample: 16, sample_format: SampleFormat::Int };
    let partial = mm_files::Partial::new(path);
    let write = || -> Result<(), hound::Error> {
        let mut writer = WavWriter::create(partial.path(), spec)?;
        for &s in &audio.samples {
            writer.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16)?;
        }
        writer.finalize()
    };
    write().map_err(|source| wav_error(path, source))?;
    partial.commit().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stereo_float_and_integer_files_as_mono() {
        let dir = tempfile::tempdir().unwrap();
        let stereo = dir.path().join("stereo.wav");
        let spec = WavSpec { channels: 2, sample_rate: 22050, bits_per_sample: 32, sample_format: SampleFormat::Float };
        let mut writer = WavWriter::create(&stereo, spec).unwrap();
        for (l, r) in [(0.5f32, -0.5f32), (1.0, 0.0)] {
            writer.write_sample(l).unwrap();
            writer.write_sample(r).unwrap();
        }
        writer.finalize().unwrap();
        let audio = read_wav(&stereo).unwrap();
        assert_eq!((audio.samples, audio.sample_rate), (vec![0.0, 0.5], 22050));

        let pcm8 = dir.path().join("pcm8.wav");
        let spec = WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 8, sample_format: SampleFormat::Int };
        let mut writer = WavWriter::create(&pcm8, spec).unwrap();
        writer.write_sample(64i8).unwrap();
        writer.finalize().unwrap();
        assert_eq!(read_wav(&pcm8).unwrap().samples, vec![0.5]);
    }

    #[test]
    fn float_samples_that_are_not_numbers_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bad) in [("nan.wav", f32::NAN), ("inf.wav", f32::INFINITY), ("neg.wav", f32::NEG_INFINITY)] {
            let path = dir.path().join(name);
            let spec = WavSpec { channels: 1, sample_rate: 16000, bits_per_sample: 32, sample_format: SampleFormat::Float };
            let mut writer = WavWriter::create(&path, spec).unwrap();
            for s in [0.1, bad, 0.2] {
                writer.write_sample(s).unwrap();
            }
            writer.finalize().unwrap();
            let message = read_wav(&path).unwrap_err().to_string();
            assert!(message.contains(name) && message.contains("sample 1") && message.contains("finite"), "{message}");
        }
    }

    #[test]
    fn round_trips_through_16_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wav");
        let audio = Audio::new(vec![0.0, 0.25, -0.5, 0.999], 16000);
        write_wav(&path, &audio).unwrap();
        let back = read_wav(&path).unwrap();
        assert_eq!(back.sample_rate, 16000);
        for (a, b) in audio.samples.iter().zip(&back.samples) {
            assert!((a - b).abs() < 1.0 / 16384.0);
        }
        assert_eq!(WavInfo::read(&path).unwrap().frames, 4);
    }

    #[test]
    fn truncated_and_garbage_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        write_wav(&path, &Audio::new(vec![0.1; 1000], 8000)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 501]).unwrap();
        let message = read_wav(&path).unwrap_err().to_string();
        assert!(message.contains("cut.wav"), "{message}");

        let garbage = dir.path().join("garbage.wav");
        std::fs::write(&garbage, b"not a wav file at all").unwrap();
        let message = read_wav(&garbage).unwrap_err().to_string();
        assert!(message.contains("garbage.wav") && message.contains("WAV"), "{message}");
        assert!(read_wav(dir.path().join("missing.wav")).unwrap_err().to_string().contains("missing.wav"));
    }
}
