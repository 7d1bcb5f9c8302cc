//! The sound of a scene: each object plays a note (pitch from its colour, timbre from its shape, loudness from its
//! size) with its own onset; the mixture is the exact sum of the tracks.

use rand::Rng;

use super::{Object, Shape, ShapesConfig, Size};

/// A scene's sound.
#[derive(Debug, Clone)]
pub struct SceneSound {
    /// The mixture, the sample-wise sum of `tracks`, within [-1, 1].
    pub mix: Vec<f32>,
    /// One track per object, in the order of the scene's objects.
    pub tracks: Vec<Vec<f32>>,
    /// Samples per second.
    pub sample_rate: u32,
}

/// Harmonic amplitudes (1-based harmonic, amplitude) of each shape's timbre: a circle is a pure tone, a square a
/// band-limited square wave, a triangle a triangle wave, a diamond a sawtooth.
fn harmonics(shape: Shape) -> &'static [(u32, f32)] {
    match shape {
        Shape::Circle => &[(1, 1.0)],
        Shape::Square => &[(1, 1.0), (3, 1.0 / 3.0), (5, 1.0 / 5.0), (7, 1.0 / 7.0), (9, 1.0 / 9.0)],
        Shape::Triangle => &[(1, 1.0), (3, -1.0 / 9.0), (5, 1.0 / 25.0), (7, -1.0 / 49.0)],
        Shape::Diamond => &[(1, 1.0), (2, 0.5), (3, 1.0 / 3.0), (4, 0.25), (5, 0.2), (6, 1.0 / 6.0), (7, 1.0 / 7.0), (8, 0.125)],
    }
}

/// One object's note: `len` samples, silent before `onset` samples, then a 10 ms attack and an exponential decay;
/// only the harmonics below Nyquist sound.
pub fn object_track(object: &Object, sample_rate: u32, len: usize, onset: usize, amplitude: f32) -> Vec<f32> {
    let rate = sample_rate as f32;
    let attack = (0.01 * rate) as usize;
    let fundamental = object.colour.pitch_hz();
    let all = harmonics(object.shape);
    // The loudness is the full timbre's; the partials at or above Nyquist are left out (band-limited synthesis),
    // as a recording would have filtered them rather than fold them back as aliases. At 16 kHz none is.
    let norm: f32 = all.iter().map(|(_, a)| a.abs()).sum();
    let partials: Vec<(u32, f32)> = all.iter().copied().filter(|&(k, _)| fundamental * (k as f32) < rate / 2.0).collect();
    let mut track = vec![0.0; len];
    for (i, sample) in track.iter_mut().enumerate().skip(onset) {
        let t = (i - onset) as f32 / rate;
        let envelope = ((i - onset) as f32 / attack as f32).min(1.0) * (-4.0 * t).exp();
        let wave: f32 = partials.iter().map(|&(k, a)| a * (std::f32::consts::TAU * fundamental * k as f32 * t).sin()).sum();
        *sample = amplitude * envelope * wave / norm;
    }
    track
}

impl SceneSound {
    /// Synthesises the tracks of the objects and their mixture.
    pub(super) fn synthesise(objects: &[Object], config: &ShapesConfig, rng: &mut impl Rng) -> Self {
        let len = (config.sound_seconds * config.sample_rate as f32) as usize;
        // Loudness shares keep the sum of all tracks within [-1, 1].
        let share = 0.9 / objects.len().max(1) as f32;
        let tracks: Vec<Vec<f32>> = objects
            .iter()
            .map(|object| {
                let onset = rng.random_range(0..=len / 4);
                let loudness = match object.size {
                    Size::Large => 1.0,
                    Size::Small => 0.6,
                };
                object_track(object, config.sample_rate, len, onset, share * loudness)
            })
            .collect();
        let mix = (0..len).map(|i| tracks.iter().map(|track| track[i]).sum()).collect();
        Self { mix, tracks, sample_rate: config.sample_rate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::Colour;

    /// |Σ x[n] e^{-2πi f n / rate}|: the track's content at `hz`.
    fn content(track: &[f32], hz: f32, rate: f32) -> f32 {
        let (re, im) = track.iter().enumerate().fold((0.0f64, 0.0f64), |(re, im), (n, &x)| {
            let phase = std::f64::consts::TAU * hz as f64 * n as f64 / rate as f64;
            (re + x as f64 * phase.cos(), im - x as f64 * phase.sin())
        });
        (re * re + im * im).sqrt() as f32
    }

    #[test]
    fn partials_above_nyquist_are_left_out_not_folded_back() {
        // A purple diamond: C5 (523.25 Hz) with eight harmonics; the eighth, 4186 Hz, is above 8 kHz's Nyquist and
        // would alias to 3814 Hz. The seventh (3662.75 Hz) is below it and sounds.
        let object = Object { shape: Shape::Diamond, colour: Colour::Purple, size: Size::Large, x: 0.0, y: 0.0, radius: 1.0 };
        let track = object_track(&object, 8000, 8000, 0, 1.0);
        let (seventh, alias) = (content(&track, 7.0 * 523.25, 8000.0), content(&track, 8000.0 - 8.0 * 523.25, 8000.0));
        assert!(alias < 0.01 * seventh, "alias {alias} vs seventh harmonic {seventh}");
        // At 16 kHz the eighth harmonic sounds, with 7/8 of the seventh's amplitude.
        let track = object_track(&object, 16_000, 16_000, 0, 1.0);
        let ratio = content(&track, 8.0 * 523.25, 16_000.0) / content(&track, 7.0 * 523.25, 16_000.0);
        assert!((ratio - 7.0 / 8.0).abs() < 0.02, "eighth / seventh {ratio}");
    }
}
