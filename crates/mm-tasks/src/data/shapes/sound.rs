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

/// One object's note: `len` samples, silent before `onset` samples, then a 10 ms attack and an exponential decay.
pub fn object_track(object: &Object, sample_rate: u32, len: usize, onset: usize, amplitude: f32) -> Vec<f32> {
    let rate = sample_rate as f32;
    let attack = (0.01 * rate) as usize;
    let partials = harmonics(object.shape);
    let norm: f32 = partials.iter().map(|(_, a)| a.abs()).sum();
    let fundamental = object.colour.pitch_hz();
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
