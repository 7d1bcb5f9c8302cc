//! Mixtures made from clean recordings, as Looking to Listen makes its training data: clean sources summed at
//! random gains, so that every source of a mixture is known exactly.
//!
//! - [`SpeechMixtures`]: ObamaNet's speaker, whose visual stream is his mouth's coefficients, against another
//!   voice (FSDD speakers reading digits one after another), environmental noise (ESC-10) or another stretch of his
//!   own speech, where only the visual stream can say which voice to keep. The segments, speakers and clips are
//!   split into train, validation and test before anything is mixed: the test segments (the data set's own
//!   `test` split, 00002-052 … 064) are heard against a speaker (theo) and ESC-10 clips (fold 5) that no
//!   training mixture holds, and against other test segments.
//! - [`ShapesMixtures`]: two objects of a shapes-world scene, each seen as a crop of the picture; separate both.
//!
//! Training mixtures are drawn afresh every epoch (target window, interferer, gain) from the runner's
//! per-(epoch, batch) generator; validation and test mixtures are fixed, at 0 dB.

use std::sync::Arc;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::SignalSettings;
use crate::data::obama::{VIDEO_FPS, obama_segments};
use crate::data::shapes::{Object, ShapesConfig, ShapesWorld};
use crate::data::{DataRoot, Dataset as DataSet};
use crate::data_error;
use crate::runner::{RunError, Split};

/// What a separation task's mixtures are made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SeparationSource {
    /// ObamaNet's speaker against another voice, noise or himself.
    Speech(SpeechMixtures),
    /// Two shapes-world objects' notes.
    Shapes(ShapesMixtures),
}

impl Default for SeparationSource {
    fn default() -> Self {
        SeparationSource::Speech(SpeechMixtures::default())
    }
}

/// What interferes with the target speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MixtureKind {
    /// Another speaker (FSDD).
    Voice,
    /// Environmental sound (ESC-10).
    Noise,
    /// Another segment of the same speaker.
    SameSpeaker,
    /// Two shapes-world objects.
    Objects,
}

impl MixtureKind {
    /// A short name for tables and files.
    pub fn name(self) -> &'static str {
        match self {
            MixtureKind::Voice => "voice",
            MixtureKind::Noise => "noise",
            MixtureKind::SameSpeaker => "same-speaker",
            MixtureKind::Objects => "objects",
        }
    }
}

/// The speech mixtures' settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechMixtures {
    /// The interferers drawn from, each equally often. Default: voice, noise, same speaker.
    pub interferers: Vec<MixtureKind>,
    /// The last N segments of the data set's training split are the validation segments. Default 6.
    pub validation_segments: usize,
    /// Target-to-interferer ratio of training mixtures, drawn uniformly in this range (dB). Default [-5, 5].
    pub train_snr_db: [f32; 2],
    /// Training mixtures per epoch. Default 1,500.
    pub train_mixtures: usize,
    /// Validation and test mixtures per window of a segment and interferer kind. Default 2.
    pub draws: usize,
    /// FSDD speakers heard in training, validation and test mixtures. Default: george, jackson, lucas and
    /// nicolas; yweweler; theo.
    pub speakers: [Vec<String>; 3],
    /// ESC-10 folds of training, validation and test noise. Default 1–3; 4; 5.
    pub folds: [Vec<u8>; 3],
    /// Standard deviation of the Gaussian noise added to the standardised mouth coefficients of training
    /// mixtures (with the visual stream's dropout, against recalling training targets from the mouth). Default 0.3.
    pub visual_noise: f32,
    /// The seed the test mixtures' interferers, offsets and ratios are drawn from (`eval --test-seed`). Default
    /// none: the split's own fixed seed.
    pub test_seed: Option<u64>,
}

impl Default for SpeechMixtures {
    fn default() -> Self {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Self {
            interferers: vec![MixtureKind::Voice, MixtureKind::Noise, MixtureKind::SameSpeaker],
            validation_segments: 6,
            train_snr_db: [-5.0, 5.0],
            train_mixtures: 1500,
            draws: 2,
            speakers: [names(&["george", "jackson", "lucas", "nicolas"]), names(&["yweweler"]), names(&["theo"])],
            folds: [vec![1, 2, 3], vec![4], vec![5]],
            visual_noise: 0.3,
            test_seed: None,
        }
    }
}

/// The shapes mixtures' settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapesMixtures {
    /// World seeds of the training, validation and test scenes. Default 60, 62, 61.
    pub seeds: [u64; 3],
    /// Training mixtures per epoch (new scenes every epoch). Default 3,000.
    pub train_mixtures: usize,
    /// Validation scenes. Default 300.
    pub validation_scenes: usize,
    /// Test scenes. Default 500.
    pub test_scenes: usize,
    /// Side of each object's crop, in pixels. Default 16.
    pub crop_side: usize,
    /// Ratio of the first object's note to the second's in training mixtures, uniform in this range (dB).
    /// Default [-5, 5].
    pub train_snr_db: [f32; 2],
}

impl Default for ShapesMixtures {
    fn default() -> Self {
        Self { seeds: [60, 62, 61], train_mixtures: 3000, validation_scenes: 300, test_scenes: 500, crop_side: 16, train_snr_db: [-5.0, 5.0] }
    }
}

/// One source's visual input.
#[derive(Debug, Clone)]
pub enum ItemVisual {
    /// Standardised mouth coefficients per video frame, `[frames, 8]`.
    Frames(Array2<f32>),
    /// An RGB crop in [0, 1], channel-major `[3, side, side]`.
    Crop(Vec<f32>),
}

/// One mixture with its clean sources.
#[derive(Debug, Clone)]
pub struct SeparationItem {
    /// The mixture: the sum of `sources`.
    pub mixture: Vec<f32>,
    /// The clean sources, as they are in the mixture; the first is the target speaker (speech) or the first
    /// object (shapes).
    pub sources: Vec<Vec<f32>>,
    /// The visual input of the first `visual.len()` sources.
    pub visual: Vec<ItemVisual>,
    /// For each STFT frame, the video frame of `visual` that covers it (frames only).
    pub frame_of_step: Vec<i64>,
    /// What the mixture is made of.
    pub kind: MixtureKind,
    /// Where the mixture comes from, for reports and file names.
    pub name: String,
    pub(super) redraw: Option<(Arc<Pool>, usize)>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pool::Speech(pool) => write!(f, "Pool::Speech({} targets)", pool.targets.len()),
            Pool::Shapes(pool) => write!(f, "Pool::Shapes(seed {})", pool.world.seed()),
        }
    }
}

impl SeparationItem {
    /// Replaces a training mixture by a fresh draw from `rng` (validation and test mixtures stay as they are).
    pub fn redraw(&mut self, rng: &mut ChaCha8Rng) {
        if let Some((pool, index)) = self.redraw.take() {
            *self = pool.draw(index, rng, true);
            self.redraw = Some((pool, index));
        }
    }
}

/// A target segment: its speech at the task's rate and its standardised mouth coefficients.
struct Target {
    name: String,
    audio: Vec<f32>,
    mouth: Array2<f32>,
}

pub(crate) struct SpeechPool {
    targets: Vec<Target>,
    voices: Vec<(String, Vec<Vec<f32>>)>,
    noises: Vec<(String, Vec<f32>)>,
    settings: SignalSettings,
    mixtures: SpeechMixtures,
}

pub(crate) struct ShapesPool {
    world: ShapesWorld,
    settings: SignalSettings,
    mixtures: ShapesMixtures,
}

/// Where a split's mixtures are drawn from.
pub(crate) enum Pool {
    Speech(SpeechPool),
    Shapes(ShapesPool),
}

/// The per-dimension mean and standard deviation of the mouth coefficients over the training segments' frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisualNormaliser {
    /// Means.
    pub mean: Vec<f32>,
    /// Standard deviations.
    pub std: Vec<f32>,
}

impl VisualNormaliser {
    /// Standardises `[frames, width]` in place.
    pub fn apply(&self, frames: &mut Array2<f32>) {
        for mut row in frames.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s.max(1e-6);
            }
        }
    }
}

/// The segments of `split`: the data set's test segments, the last `validation` of its training ones, the rest.
fn speech_segments(root: &DataRoot, split: Split, validation: usize) -> Result<Vec<crate::data::obama::ObamaSegment>, RunError> {
    let dir = root.dataset(DataSet::Obama).map_err(data_error)?;
    let all = obama_segments(&dir)?;
    let (train, test): (Vec<_>, Vec<_>) = all.into_iter().partition(|s| s.split == "train");
    if validation == 0 || validation >= train.len() {
        return Err(RunError::bad_setting("source.validation_segments", validation, format!("must be in 1..{}", train.len())));
    }
    let cut = train.len() - validation;
    Ok(match split {
        Split::Train => train[..cut].to_vec(),
        Split::Valid => train[cut..].to_vec(),
        Split::Test => test,
    })
}

/// The mouth normaliser of the training segments.
pub(crate) fn fit_visual_normaliser(root: &DataRoot, mixtures: &SpeechMixtures) -> Result<VisualNormaliser, RunError> {
    let mut frames = Vec::new();
    for segment in speech_segments(root, Split::Train, mixtures.validation_segments)? {
        frames.push(segment.load_mouth_frames()?);
    }
    let rows: usize = frames.iter().map(|f| f.nrows()).sum();
    let width = frames[0].ncols();
    let mut mean = vec![0.0f64; width];
    let mut square = vec![0.0f64; width];
    for f in &frames {
        for row in f.rows() {
            for (j, &v) in row.iter().enumerate() {
                mean[j] += v as f64;
                square[j] += (v as f64).powi(2);
            }
        }
    }
    let n = rows as f64;
    let mean: Vec<f64> = mean.iter().map(|m| m / n).collect();
    let std = square.iter().zip(&mean).map(|(s, m)| ((s / n - m * m).max(0.0)).sqrt() as f32).collect();
    Ok(VisualNormaliser { mean: mean.into_iter().map(|m| m as f32).collect(), std })
}

impl Pool {
    /// The pool of `split`.
    pub(crate) fn open(
        source: &SeparationSource,
        settings: SignalSettings,
        root: &DataRoot,
        split: Split,
        normaliser: Option<&VisualNormaliser>,
    ) -> Result<Self, RunError> {
        let part = match split {
            Split::Train => 0,
            Split::Valid => 1,
            Split::Test => 2,
        };
        match source {
            SeparationSource::Speech(mixtures) => {
                let normaliser =
                    normaliser.ok_or_else(|| RunError::Contract { task: "separation", problem: "the speech mixtures need the mouth normaliser".into() })?;
                let rate = settings.sample_rate;
                let mut targets = Vec::new();
                for segment in speech_segments(root, split, mixtures.validation_segments)? {
                    let audio = segment.load_audio()?.resample(rate).map_err(data_error)?.samples;
                    let mut mouth = segment.load_mouth_frames()?;
                    normaliser.apply(&mut mouth);
                    targets.push(Target { name: segment.name.clone(), audio, mouth });
                }
                let wants = |kind| mixtures.interferers.contains(&kind);
                let mut voices = Vec::new();
                if wants(MixtureKind::Voice) {
                    let fsdd = mm_audio::datasets::Fsdd::open(root.dataset(DataSet::Fsdd).map_err(data_error)?).map_err(data_error)?;
                    for speaker in &mixtures.speakers[part] {
                        let mut recordings = Vec::new();
                        for recording in fsdd.recordings.iter().filter(|r| &r.speaker == speaker) {
                            recordings.push(recording.load().and_then(|a| a.resample(rate)).map_err(data_error)?.samples);
                        }
                        if recordings.is_empty() {
                            return Err(RunError::bad_setting("source.speakers", speaker, "FSDD has no such speaker"));
                        }
                        voices.push((speaker.clone(), recordings));
                    }
                }
                let mut noises = Vec::new();
                if wants(MixtureKind::Noise) {
                    let esc = mm_audio::datasets::Esc10::open(root.dataset(DataSet::Esc10).map_err(data_error)?).map_err(data_error)?;
                    for clip in esc.clips.iter().filter(|c| mixtures.folds[part].contains(&c.fold)) {
                        let name = clip.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                        noises.push((format!("{} {name}", clip.class_name), clip.load().and_then(|a| a.resample(rate)).map_err(data_error)?.samples));
                    }
                    if noises.is_empty() {
                        return Err(RunError::setting("source.folds", format!("no ESC-10 clip in folds {:?}", mixtures.folds[part])));
                    }
                }
                if !(mixtures.visual_noise >= 0.0 && mixtures.visual_noise.is_finite()) {
                    return Err(RunError::bad_setting("source.visual_noise", mixtures.visual_noise, "must be finite and at least 0"));
                }
                if mixtures.interferers.is_empty() {
                    return Err(RunError::setting("source.interferers", "speech mixtures need at least one interferer kind"));
                }
                if wants(MixtureKind::Objects) {
                    return Err(RunError::setting("source.interferers", "'objects' is not an interferer of speech"));
                }
                if wants(MixtureKind::SameSpeaker) && targets.len() < 2 {
                    return Err(RunError::setting("source", "same-speaker mixtures need two segments in every split"));
                }
                Ok(Pool::Speech(SpeechPool { targets, voices, noises, settings, mixtures: mixtures.clone() }))
            }
            SeparationSource::Shapes(mixtures) => {
                if mixtures.crop_side < 4 {
                    return Err(RunError::bad_setting("source.crop_side", mixtures.crop_side, "must be at least 4"));
                }
                let config = ShapesConfig {
                    min_objects: 2,
                    max_objects: 2,
                    sample_rate: settings.sample_rate,
                    sound_seconds: settings.seconds,
                    ..ShapesConfig::default()
                };
                Ok(Pool::Shapes(ShapesPool { world: ShapesWorld::new(config, mixtures.seeds[part]), settings, mixtures: mixtures.clone() }))
            }
        }
    }

    /// The fixed mixtures of a validation or test split: (item index → draw), or the number of training mixtures.
    pub(crate) fn len(&self, split: Split) -> usize {
        match (self, split) {
            (Pool::Speech(pool), Split::Train) => pool.mixtures.train_mixtures,
            (Pool::Speech(pool), _) => pool.windows().len() * pool.mixtures.interferers.len() * pool.mixtures.draws,
            (Pool::Shapes(pool), Split::Train) => pool.mixtures.train_mixtures,
            (Pool::Shapes(pool), Split::Valid) => pool.mixtures.validation_scenes,
            (Pool::Shapes(pool), Split::Test) => pool.mixtures.test_scenes,
        }
    }

    /// Mixture `index`: a training one (redrawn each epoch) or a fixed one.
    pub(crate) fn item(self: &Arc<Self>, index: usize, split: Split) -> SeparationItem {
        let training = split == Split::Train;
        let seed = match (self.as_ref(), split) {
            (Pool::Speech(pool), Split::Test) => pool.mixtures.test_seed,
            _ => None,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed.unwrap_or(0x5e9a_u64 ^ (split as u64) << 32));
        rng.set_stream(index as u64);
        let mut item = self.draw(index, &mut rng, training);
        if training {
            item.redraw = Some((self.clone(), index));
        }
        item
    }

    fn draw(&self, index: usize, rng: &mut ChaCha8Rng, training: bool) -> SeparationItem {
        match self {
            Pool::Speech(pool) => pool.draw(index, rng, training),
            Pool::Shapes(pool) => pool.draw(index, rng, training),
        }
    }
}

impl SpeechPool {
    /// The fixed windows `(target, start)` of a validation or test split: each segment cut into whole windows.
    fn windows(&self) -> Vec<(usize, usize)> {
        let len = self.settings.window();
        self.targets.iter().enumerate().flat_map(|(t, target)| (0..(target.audio.len() / len).max(1)).map(move |w| (t, w * len))).collect()
    }

    fn draw(&self, index: usize, rng: &mut ChaCha8Rng, training: bool) -> SeparationItem {
        let len = self.settings.window();
        let kinds = &self.mixtures.interferers;
        let (target, start, kind, snr) = if training {
            let target = index % self.targets.len();
            let start = loud_window(&self.targets[target].audio, len, rng);
            let [lo, hi] = self.mixtures.train_snr_db;
            (target, start, kinds[rng.random_range(0..kinds.len())], if hi > lo { rng.random_range(lo..hi) } else { lo })
        } else {
            let windows = self.windows();
            let per_window = kinds.len() * self.mixtures.draws;
            let (target, start) = windows[(index / per_window) % windows.len()];
            (target, start, kinds[(index % per_window) / self.mixtures.draws], 0.0)
        };
        let clean = crop(&self.targets[target].audio, start, len);
        let (interferer, name) = match kind {
            MixtureKind::Voice => {
                let (speaker, recordings) = &self.voices[rng.random_range(0..self.voices.len())];
                (spoken_digits(recordings, len, self.settings.sample_rate, rng), speaker.clone())
            }
            MixtureKind::Noise => {
                let (clip, samples) = &self.noises[rng.random_range(0..self.noises.len())];
                let at = loud_window(samples, len, rng);
                (crop(samples, at, len), clip.clone())
            }
            _ => {
                let other = (target + 1 + rng.random_range(0..self.targets.len() - 1)) % self.targets.len();
                let audio = &self.targets[other].audio;
                let at = loud_window(audio, len, rng);
                (crop(audio, at, len), format!("{}@{:.2}s", self.targets[other].name, at as f32 / self.settings.sample_rate as f32))
            }
        };
        let (mixture, sources) = mix_at(clean, interferer, snr);
        // The video frames that cover the window, and for each STFT frame the one that covers its centre.
        let fps = VIDEO_FPS / self.settings.sample_rate as f64;
        let mouth = &self.targets[target].mouth;
        let first = ((start as f64 * fps).floor() as usize).min(mouth.nrows() - 1);
        let frames = self.settings.video_frames();
        let mut visual = Array2::from_shape_fn((frames, mouth.ncols()), |(k, j)| mouth[[(first + k).min(mouth.nrows() - 1), j]]);
        if training && self.mixtures.visual_noise > 0.0 {
            let deviation = self.mixtures.visual_noise;
            visual.mapv_inplace(|v| v + deviation * standard_normal(rng));
        }
        let frame_of_step = self.settings.frame_of_step(start, first);
        SeparationItem {
            mixture,
            sources,
            visual: vec![ItemVisual::Frames(visual)],
            frame_of_step,
            kind,
            name: format!("{}@{:.2}s+{}", self.targets[target].name, start as f32 / self.settings.sample_rate as f32, name),
            redraw: None,
        }
    }
}

impl ShapesPool {
    fn draw(&self, index: usize, rng: &mut ChaCha8Rng, training: bool) -> SeparationItem {
        let (scene_index, snr) = if training {
            let [lo, hi] = self.mixtures.train_snr_db;
            (rng.random_range(0..1_000_000_000u64), if hi > lo { rng.random_range(lo..hi) } else { lo })
        } else {
            (index as u64, 0.0)
        };
        let scene = self.world.scene(scene_index);
        let len = self.settings.window();
        let mut tracks = scene.sound.tracks.into_iter().map(|t| crop(&t, 0, len));
        let (first, second) = (tracks.next().expect("two objects"), tracks.next().expect("two objects"));
        let (mixture, sources) = mix_at(first, second, snr);
        let visual = scene.objects.iter().map(|o| ItemVisual::Crop(object_crop(&scene.image, o, self.mixtures.crop_side))).collect();
        let describe = |o: &Object| format!("{}-{}-{}", o.size.name(), o.colour.name(), o.shape.name());
        SeparationItem {
            mixture,
            sources,
            visual,
            frame_of_step: Vec::new(),
            kind: MixtureKind::Objects,
            name: format!("scene{scene_index}-{}+{}", describe(&scene.objects[0]), describe(&scene.objects[1])),
            redraw: None,
        }
    }
}

/// A draw from N(0, 1) (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    let (u, v): (f32, f32) = (rng.random::<f32>().max(f32::MIN_POSITIVE), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

/// `len` samples from `start`, zero-padded past the end.
fn crop(samples: &[f32], start: usize, len: usize) -> Vec<f32> {
    let mut out: Vec<f32> = samples.iter().skip(start).take(len).copied().collect();
    out.resize(len, 0.0);
    out
}

fn energy(samples: &[f32]) -> f64 {
    samples.iter().map(|&v| (v as f64).powi(2)).sum()
}

/// A random window start whose energy is at least a quarter of the clip's mean over windows of that length
/// (the best of eight tries), so that a mixture's target or noise is not silence.
fn loud_window(samples: &[f32], len: usize, rng: &mut ChaCha8Rng) -> usize {
    if samples.len() <= len {
        return 0;
    }
    let wanted = energy(samples) * len as f64 / samples.len() as f64 / 4.0;
    let mut best = (0, -1.0);
    for _ in 0..8 {
        let start = rng.random_range(0..=samples.len() - len);
        let e = energy(&samples[start..start + len]);
        if e >= wanted {
            return start;
        }
        if e > best.1 {
            best = (start, e);
        }
    }
    best.0
}

/// One speaker's digits one after another (random takes, 0–100 ms apart), `len` samples from a random point.
fn spoken_digits(recordings: &[Vec<f32>], len: usize, rate: u32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(2 * len);
    while out.len() < 2 * len {
        out.extend_from_slice(&recordings[rng.random_range(0..recordings.len())]);
        out.extend(std::iter::repeat_n(0.0, rng.random_range(0..=rate as usize / 10)));
    }
    let start = rng.random_range(0..len);
    crop(&out, start, len)
}

/// The mixture of `target` and `interferer` with the interferer scaled to `snr_db` below the target, and both
/// sources as they are in it; the whole scaled to an RMS of 0.05 (peaks kept within ±0.99).
fn mix_at(target: Vec<f32>, interferer: Vec<f32>, snr_db: f32) -> (Vec<f32>, Vec<Vec<f32>>) {
    let (et, ei) = (energy(&target), energy(&interferer));
    let gain = if ei > 0.0 && et > 0.0 { (et / (ei * 10f64.powf(snr_db as f64 / 10.0))).sqrt() as f32 } else { 1.0 };
    let interferer: Vec<f32> = interferer.iter().map(|v| v * gain).collect();
    let mixture: Vec<f32> = target.iter().zip(&interferer).map(|(a, b)| a + b).collect();
    let rms = (energy(&mixture) / mixture.len() as f64).sqrt() as f32;
    let peak = mixture.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = if rms > 0.0 { (0.05 / rms).min(0.99 / peak) } else { 1.0 };
    let scaled = |v: &[f32]| v.iter().map(|x| x * scale).collect::<Vec<f32>>();
    (scaled(&mixture), vec![scaled(&target), scaled(&interferer)])
}

/// The square around an object (1.25 × its radius on each side), resized to `side` × `side`, channel-major in
/// [0, 1].
fn object_crop(picture: &image::RgbImage, object: &Object, side: usize) -> Vec<f32> {
    let half = (object.radius * 1.25).max(2.0);
    let (w, h) = picture.dimensions();
    let x0 = (object.x - half).floor().clamp(0.0, w as f32 - 1.0) as u32;
    let y0 = (object.y - half).floor().clamp(0.0, h as f32 - 1.0) as u32;
    let x1 = ((object.x + half).ceil() as u32).clamp(x0 + 1, w);
    let y1 = ((object.y + half).ceil() as u32).clamp(y0 + 1, h);
    let region = image::imageops::crop_imm(picture, x0, y0, x1 - x0, y1 - y0).to_image();
    let resized = image::imageops::resize(&region, side as u32, side as u32, image::imageops::FilterType::Triangle);
    let mut out = vec![0.0f32; 3 * side * side];
    for (x, y, pixel) in resized.enumerate_pixels() {
        for c in 0..3 {
            out[c * side * side + y as usize * side + x as usize] = pixel.0[c] as f32 / 255.0;
        }
    }
    out
}
