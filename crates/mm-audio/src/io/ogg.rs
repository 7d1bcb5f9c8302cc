//! Ogg Vorbis through lewton, mixed to mono f32.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use lewton::inside_ogg::OggStreamReader;

use crate::{Audio, Error, Result};

/// Channels and sample rate from an Ogg Vorbis file's identification header, without decoding the audio.
pub fn ogg_info(path: impl AsRef<Path>) -> Result<(u8, u32)> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = OggStreamReader::new(BufReader::new(file)).map_err(|source| Error::Vorbis { path: path.into(), source })?;
    Ok((reader.ident_hdr.audio_channels, reader.ident_hdr.audio_sample_rate))
}

/// Decodes an Ogg Vorbis file into mono f32 in [-1, 1].
pub fn read_ogg(path: impl AsRef<Path>) -> Result<Audio> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let vorbis_error = |source| Error::Vorbis { path: path.into(), source };
    let mut reader = OggStreamReader::new(BufReader::new(file)).map_err(vorbis_error)?;
    let channels = reader.ident_hdr.audio_channels as usize;
    let sample_rate = reader.ident_hdr.audio_sample_rate;
    if channels == 0 || !(1..=crate::MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(Error::invalid(
            path,
            format!("the Vorbis header declares {channels} channels at {sample_rate} Hz (mm reads 1..={} Hz)", crate::MAX_SAMPLE_RATE),
        ));
    }
    let mut samples = Vec::new();
    while let Some(packet) = reader.read_dec_packet_itl().map_err(vorbis_error)? {
        samples.extend(packet.chunks_exact(channels).map(|frame| frame.iter().map(|&s| s as f32).sum::<f32>() / (channels as f32 * 32768.0)));
    }
    if samples.is_empty() {
        return Err(Error::invalid(path, "the stream holds no audio"));
    }
    Ok(Audio::new(samples, sample_rate))
}
