//! Separation measured as the field measures it: each estimate decompressed and taken back to a waveform by the
//! inverse STFT, then SI-SDR and its improvement over the mixture, BSS-eval SDR improvement and (speech) STOI,
//! beside the mixture itself, the ideal ratio mask (Wang's, on the mixture's STFT) and the ideal complex mask within
//! the network's bound; for the audio-visual network on speech, how often the estimate is nearer the target than
//! the interferer. The audio-only network is read two ways: its outputs assigned to the sources as validation
//! assigns them most often (a fixed readout, what a user gets), and by the oracle assignment of each mixture
//! (an upper bound that reads the truth).

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Device;
use mm_audio::separation::{Stoi, bss_sdr, si_sdr};
use mm_audio::signal::{Complex32, Istft, Stft};
use mm_audio::{Audio, write_wav};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Deserializer, Serialize};

use super::items::{SeparationBatch, compress};
use super::model::permutations;
use super::sources::{MixtureKind, SeparationItem, SeparationSource};
use super::{Network, SeparationModel, SeparationTaskConfig, SignalSettings};
use crate::runner::{Context, Learner, Loader, RunError, Scores, Split, Tally, interval_95, write_atomically};

/// The test report's file in the run folder.
pub const REPORT_FILE: &str = "separation.json";
/// Test examples per mixture kind written as WAVs and pictures.
const EXAMPLES_PER_KIND: usize = 2;

/// Takes compressed spectrograms back to waveforms: decompression, then the inverse STFT.
pub struct Reconstructor {
    settings: SignalSettings,
    istft: Istft,
}

impl Reconstructor {
    /// Plans the inverse STFT.
    pub fn new(settings: SignalSettings) -> Self {
        Self { istft: Istft::new(settings.stft_config()).expect("STFT settings are checked before use"), settings }
    }

    /// The waveform of `len` samples whose compressed STFT is `spectrum` (`[2, T, F]`: real parts, then imaginary).
    pub fn waveform(&mut self, spectrum: &[f32], steps: usize, len: usize) -> Vec<f32> {
        let bins = spectrum.len() / (2 * steps);
        let inverse = 1.0 / self.settings.power;
        let (re, im) = spectrum.split_at(steps * bins);
        let values: Vec<Complex32> = re.iter().zip(im).map(|(&r, &i)| compress(Complex32::new(r, i), inverse)).collect();
        self.linear(Array2::from_shape_vec((steps, bins), values).expect("T × F values").view(), len)
    }

    /// The waveform of a linear (uncompressed) STFT `[T, F]`.
    pub fn linear(&mut self, spectrum: ArrayView2<Complex32>, len: usize) -> Vec<f32> {
        self.istft.process(spectrum, Some(len)).expect("the spectrum has the planned number of bins")
    }
}

/// The estimates of a batch as waveforms, `[B][S][samples]`.
pub fn estimate_waveforms(settings: SignalSettings, model: &SeparationModel, batch: &SeparationBatch) -> Vec<Vec<Vec<f32>>> {
    let estimates = model.estimates(batch);
    let [b, s, two, t, f] = estimates.dims();
    let values: Vec<f32> = estimates.into_data().convert::<f32>().try_into_vec::<f32>().expect("float estimates");
    let mut reconstructor = Reconstructor::new(settings);
    let per = two * t * f;
    (0..b).map(|i| (0..s).map(|j| reconstructor.waveform(&values[(i * s + j) * per..(i * s + j + 1) * per], t, batch.mixtures[i].len())).collect()).collect()
}

/// SI-SDR, or −100 dB where it is undefined (a silent source).
fn si(reference: &[f32], estimate: &[f32]) -> f64 {
    si_sdr(reference, estimate).unwrap_or(-100.0)
}

/// The assignment (index into [`permutations`]) of outputs to sources with the highest summed SI-SDR.
fn best_assignment(estimates: &[Vec<f32>], sources: &[Vec<f32>]) -> usize {
    let score = |p: &Vec<usize>| -> f64 { p.iter().enumerate().map(|(j, &o)| si(&sources[j], &estimates[o])).sum() };
    let all = permutations(sources.len());
    (0..all.len()).max_by(|&a, &b| score(&all[a]).total_cmp(&score(&all[b]))).unwrap_or(0)
}

/// The sources a mixture is scored on, with the output that estimates each: the queried sources (audio-visual),
/// or every source under `assignment` (audio-only).
fn scored(network: Network, queried: usize, sources: usize, assignment: usize) -> Vec<(usize, usize)> {
    match network {
        Network::AudioVisual => (0..queried).map(|q| (q, q)).collect(),
        Network::AudioOnly => permutations(sources)[assignment].iter().enumerate().map(|(j, &o)| (j, o)).collect(),
    }
}

/// Validation: the mean loss and the mean SI-SDR improvement of the scored sources (audio-only: under each
/// mixture's best assignment, as permutation-invariant training scores itself).
pub fn validation_scores(
    config: &SeparationTaskConfig,
    model: &SeparationModel,
    loader: &Loader<SeparationItem, SeparationBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let mut tally = Tally::default();
    let mut improvements = Vec::new();
    for (_, batch) in loader.batches((0..loader.len()).collect(), config.train.batch_size, 0, None, device) {
        let batch = batch?;
        tally.add(&model.objective(&batch));
        let queried = batch.visual.as_ref().map_or(0, |v| v.queried());
        for (i, estimates) in estimate_waveforms(config.signal, model, &batch).iter().enumerate() {
            let sources = &batch.sources[i];
            let assignment = if config.network == Network::AudioOnly { best_assignment(estimates, sources) } else { 0 };
            for (j, o) in scored(config.network, queried, sources.len(), assignment) {
                improvements.push(si(&sources[j], &estimates[o]) - si(&sources[j], &batch.mixtures[i]));
            }
        }
    }
    let mut scores: Scores = tally.means().into_iter().collect();
    scores.insert("si_sdri".into(), mean(&improvements));
    Ok(scores)
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { f64::NAN } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// JSON has no NaN: an undefined mean is written as `null` and read back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Option::<f64>::deserialize(deserializer).map(|v| v.unwrap_or(f64::NAN))
}

/// One method's numbers on one kind of mixture.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MethodScores {
    /// Sources scored.
    pub count: usize,
    /// Mean SI-SDR of the estimate (dB).
    #[serde(deserialize_with = "nan_if_null")]
    pub si_sdr: f64,
    /// Mean SI-SDR improvement over the mixture (dB).
    #[serde(deserialize_with = "nan_if_null")]
    pub si_sdri: f64,
    /// Half-width of its 95% interval over the independent units: the scenes (two objects each) or the speech
    /// windows (each heard against several interferer draws), each unit its sources' mean. (Reports written
    /// before issue 29 took it over the sources, as if they were independent.)
    #[serde(deserialize_with = "nan_if_null")]
    pub si_sdri_interval: f64,
    /// Independent units scored (0 in reports written before issue 29).
    #[serde(default)]
    pub units: usize,
    /// Mean BSS-eval SDR improvement (dB).
    #[serde(deserialize_with = "nan_if_null")]
    pub sdri: f64,
    /// Mean STOI (speech only).
    pub stoi: Option<f64>,
    /// Share of estimates nearer (in SI-SDR) their source than the other source.
    pub kept: f64,
}

#[derive(Default)]
struct Accumulator {
    si_sdr: Vec<f64>,
    si_sdri: Vec<f64>,
    /// Each source's SI-SDRi, by its independent unit (see [`independent_unit`]).
    by_unit: BTreeMap<String, Vec<f64>>,
    sdri: Vec<f64>,
    stoi: Vec<f64>,
    kept: usize,
}

impl Accumulator {
    fn finish(&self) -> MethodScores {
        let unit_means: Vec<f64> = self.by_unit.values().map(|values| mean(values)).collect();
        MethodScores {
            count: self.si_sdr.len(),
            si_sdr: mean(&self.si_sdr),
            si_sdri: mean(&self.si_sdri),
            si_sdri_interval: interval_95(&unit_means),
            units: unit_means.len(),
            sdri: mean(&self.sdri),
            stoi: (!self.stoi.is_empty()).then(|| mean(&self.stoi)),
            kept: self.kept as f64 / self.si_sdr.len().max(1) as f64,
        }
    }
}

/// The independent unit a mixture belongs to, from its name: what precedes the first `+`. A shapes mixture is
/// `sceneN-OBJECT+OBJECT` (its two sources, one scene); a speech mixture `SEGMENT@STARTs+INTERFERER` (the same window
/// of the target speaker under each interferer draw).
fn independent_unit(name: &str) -> &str {
    name.split('+').next().unwrap_or(name)
}

/// A method's estimates of one mixture: (source index, waveform) for each source it is scored on.
type Scored = Vec<(usize, Vec<f32>)>;

/// The method names of the report's rows.
const MIXTURE: &str = "mixture";
const NETWORK: &str = "network";
const ORACLE_PICK: &str = "network, oracle assignment";
const IRM: &str = "ideal ratio mask";
const ICM: &str = "ideal complex mask";

/// The assignment of the audio-only network's outputs to sources that is best most often on validation.
fn validation_assignment(config: &SeparationTaskConfig, context: &Context, model: &SeparationModel, device: &Device) -> Result<usize, RunError> {
    let items = crate::runner::limited(std::sync::Arc::new(config.items(context, Split::Valid)?), config.train.limit);
    let loader = Loader::new(items, <super::Separation as crate::runner::Task>::batcher(config), 0, 1);
    let mut counts = BTreeMap::<usize, usize>::new();
    for (_, batch) in loader.batches((0..loader.len()).collect(), config.train.batch_size, 0, None, device) {
        let batch = batch?;
        for (i, estimates) in estimate_waveforms(config.signal, model, &batch).iter().enumerate() {
            *counts.entry(best_assignment(estimates, &batch.sources[i])).or_default() += 1;
        }
    }
    Ok(counts.into_iter().max_by_key(|&(a, n)| (n, std::cmp::Reverse(a))).map_or(0, |(a, _)| a))
}

/// The test report: `separation.json`, the scores, and WAVs and spectrogram pictures of a few mixtures of each kind
/// in `examples/`.
pub fn evaluate(
    config: &SeparationTaskConfig,
    context: &Context,
    model: &SeparationModel,
    loader: &Loader<SeparationItem, SeparationBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let fixed = match config.network {
        Network::AudioOnly => validation_assignment(config, context, model, device)?,
        Network::AudioVisual => 0,
    };
    let speech = matches!(config.source, SeparationSource::Speech(_));
    let settings = config.signal;
    let mut stft = Stft::new(settings.stft_config()).map_err(crate::data_error)?;
    let mut reconstructor = Reconstructor::new(settings);
    let mut stoi = Stoi::new();
    let mut table: BTreeMap<(MixtureKind, &'static str), Accumulator> = BTreeMap::new();
    let mut examples: BTreeMap<MixtureKind, usize> = BTreeMap::new();
    let examples_dir = context.reports.join("examples");
    for (_, batch) in loader.batches((0..loader.len()).collect(), config.train.batch_size, 0, None, device) {
        let batch = batch?;
        let queried = batch.visual.as_ref().map_or(0, |v| v.queried());
        for (i, estimates) in estimate_waveforms(settings, model, &batch).iter().enumerate() {
            let (mixture, sources, kind) = (&batch.mixtures[i], &batch.sources[i], batch.kinds[i]);
            let mut methods: Vec<(&'static str, Scored)> = vec![
                (MIXTURE, scored(config.network, queried, sources.len(), fixed).iter().map(|&(j, _)| (j, mixture.clone())).collect()),
                (NETWORK, scored(config.network, queried, sources.len(), fixed).into_iter().map(|(j, o)| (j, estimates[o].clone())).collect()),
            ];
            if config.network == Network::AudioOnly {
                let oracle = best_assignment(estimates, sources);
                methods
                    .push((ORACLE_PICK, scored(config.network, queried, sources.len(), oracle).into_iter().map(|(j, o)| (j, estimates[o].clone())).collect()));
            }
            let targets: Vec<usize> = methods[1].1.iter().map(|(j, _)| *j).collect();
            if speech {
                // The report scores the target speaker only; the audio-only network's second output is the interferer.
                for (_, rows) in methods.iter_mut() {
                    rows.retain(|(j, _)| *j == 0);
                }
            }
            let scored_sources: Vec<usize> = if speech { vec![0] } else { targets };
            methods.push((IRM, scored_sources.iter().map(|&j| (j, ideal_ratio_mask(&mut stft, &mut reconstructor, mixture, &sources[j]))).collect()));
            methods.push((
                ICM,
                scored_sources
                    .iter()
                    .map(|&j| (j, ideal_complex_mask(&mut stft, &mut reconstructor, settings, config.sizes.mask_bound, mixture, &sources[j])))
                    .collect(),
            ));
            let mixture_sdr: BTreeMap<usize, f64> = scored_sources.iter().map(|&j| (j, bss_sdr(&sources[j], mixture).unwrap_or(f64::NAN))).collect();
            for (method, rows) in &methods {
                let entry = table.entry((kind, method)).or_default();
                for (j, estimate) in rows {
                    let reference = &sources[*j];
                    let other = &sources[if *j == 0 { 1 } else { 0 }];
                    let value = si(reference, estimate);
                    entry.si_sdr.push(value);
                    let improvement = value - si(reference, mixture);
                    entry.si_sdri.push(improvement);
                    entry.by_unit.entry(independent_unit(&batch.names[i]).to_string()).or_default().push(improvement);
                    entry.sdri.push(bss_sdr(reference, estimate).unwrap_or(f64::NAN) - mixture_sdr[j]);
                    if speech {
                        entry.stoi.push(stoi.score(reference, estimate, settings.sample_rate).map_err(crate::data_error)?);
                    }
                    entry.kept += (value > si(other, estimate)) as usize;
                }
            }
            let written = examples.entry(kind).or_default();
            if *written < EXAMPLES_PER_KIND {
                let estimate = &methods.iter().find(|(m, _)| *m == NETWORK).expect("the network's row").1[0].1;
                write_example(&examples_dir, &format!("{}-{}", kind.name(), *written), settings, mixture, estimate, sources, &batch.names[i])?;
                *written += 1;
            }
        }
    }
    let report: BTreeMap<String, BTreeMap<String, MethodScores>> = table.iter().fold(BTreeMap::new(), |mut out, ((kind, method), acc)| {
        out.entry(kind.name().to_string()).or_default().insert(method.to_string(), acc.finish());
        out
    });
    let file = serde_json::json!({ "network": config.network, "audio_only_readout": permutations(2).get(fixed), "kinds": report });
    write_atomically(&context.reports.join(REPORT_FILE), &serde_json::to_vec_pretty(&file).expect("serialises"))?;
    let mut scores = Scores::new();
    for (kind, methods) in &report {
        for (method, s) in methods {
            let key = |name: &str| format!("{kind}/{method}/{name}");
            scores.insert(key("si_sdr"), s.si_sdr);
            scores.insert(key("si_sdri"), s.si_sdri);
            scores.insert(key("si_sdri_interval"), s.si_sdri_interval);
            scores.insert(key("sdri"), s.sdri);
            scores.insert(key("kept"), s.kept);
            if let Some(v) = s.stoi {
                scores.insert(key("stoi"), v);
            }
        }
    }
    Ok(scores)
}

/// Wang's ideal ratio mask `√(|S|² / (|S|² + |N|²))` on the mixture's STFT, back to a waveform.
fn ideal_ratio_mask(stft: &mut Stft, reconstructor: &mut Reconstructor, mixture: &[f32], source: &[f32]) -> Vec<f32> {
    let rest: Vec<f32> = mixture.iter().zip(source).map(|(m, s)| m - s).collect();
    let (y, s, n) = (spectrum(stft, mixture), spectrum(stft, source), spectrum(stft, &rest));
    let masked = Array2::from_shape_fn(y.dim(), |ix| {
        let (ps, pn) = (s[ix].norm_sqr(), n[ix].norm_sqr());
        let mask = if ps + pn > 0.0 { (ps / (ps + pn)).sqrt() } else { 0.0 };
        y[ix] * mask
    });
    reconstructor.linear(masked.view(), mixture.len())
}

/// The ideal complex mask in the network's (compressed) domain, each part clipped to the network's bound.
fn ideal_complex_mask(stft: &mut Stft, reconstructor: &mut Reconstructor, settings: SignalSettings, bound: f64, mixture: &[f32], source: &[f32]) -> Vec<f32> {
    let (y, s) = (spectrum(stft, mixture), spectrum(stft, source));
    let bound = bound as f32;
    let enhanced = Array2::from_shape_fn(y.dim(), |ix| {
        let (yc, sc) = (compress(y[ix], settings.power), compress(s[ix], settings.power));
        if yc.norm_sqr() == 0.0 {
            return Complex32::new(0.0, 0.0);
        }
        let mask = sc / yc;
        let clipped = Complex32::new(mask.re.clamp(-bound, bound), mask.im.clamp(-bound, bound));
        compress(clipped * yc, 1.0 / settings.power)
    });
    reconstructor.linear(enhanced.view(), mixture.len())
}

fn spectrum(stft: &mut Stft, signal: &[f32]) -> Array2<Complex32> {
    stft.process(signal).expect("the window is long enough for the STFT")
}

/// `NAME-mixture.wav`, `NAME-estimate.wav`, `NAME-clean.wav`, `NAME-interferer.wav` and `NAME.png` (the
/// spectrograms of mixture, estimate and clean source side by side).
pub fn write_example(
    dir: &Path,
    name: &str,
    settings: SignalSettings,
    mixture: &[f32],
    estimate: &[f32],
    sources: &[Vec<f32>],
    origin: &str,
) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
    let rate = settings.sample_rate;
    let wav = |suffix: &str, samples: &[f32]| -> Result<(), RunError> {
        let path = dir.join(format!("{name}-{suffix}.wav"));
        write_wav(&path, &Audio::new(samples.to_vec(), rate)).map_err(crate::data_error)
    };
    wav("mixture", mixture)?;
    wav("estimate", estimate)?;
    wav("clean", &sources[0])?;
    if let Some(other) = sources.get(1) {
        wav("interferer", other)?;
    }
    let title = format!("{origin}: mixture | estimate | clean (dB, {} Hz)", rate);
    spectrogram_panel(&dir.join(format!("{name}.png")), &title, settings, &[mixture, estimate, &sources[0]])
}

/// The magnitude spectrograms of `signals` (dB) side by side in one picture, a short gap between them.
pub fn spectrogram_panel(path: &Path, title: &str, settings: SignalSettings, signals: &[&[f32]]) -> Result<(), RunError> {
    let mut stft = Stft::new(settings.stft_config()).map_err(crate::data_error)?;
    let parts: Vec<Array2<f32>> = signals.iter().map(|s| spectrum(&mut stft, s).mapv(|z| 20.0 * (z.norm() + 1e-6).log10())).collect();
    let bins = parts[0].ncols();
    let gap = 4;
    let floor = parts.iter().flat_map(|p| p.iter()).fold(f32::INFINITY, |m, &v| m.min(v));
    let mut rows: Vec<f32> = Vec::new();
    let mut frames = 0;
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            rows.extend(std::iter::repeat_n(floor, gap * bins));
            frames += gap;
        }
        rows.extend(part.iter());
        frames += part.nrows();
    }
    let values = Array2::from_shape_vec((frames, bins), rows).expect("frames × bins");
    let picture = mm_audio::picture::SpectrogramPicture {
        title: title.to_string(),
        seconds_per_frame: settings.hop_length as f32 / settings.sample_rate as f32,
        frequency: mm_audio::picture::FrequencyAxis::Linear { hz_per_bin: settings.sample_rate as f32 / settings.n_fft as f32 },
        value_label: "dB".into(),
        dynamic_range: 80.0,
        size: (1200, 420),
    };
    picture.save(values.view(), path).map_err(crate::data_error)
}

/// What a separation run's saved report holds that the table reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedSeparation {
    /// The network.
    pub network: String,
    /// Per kind of mixture, per method, the scores.
    pub kinds: BTreeMap<String, BTreeMap<String, MethodScores>>,
}

/// The separation reports of several runs, one table per kind of mixture: each run's network, then the first
/// run's mixture and ideal masks.
pub type SeparationTable = crate::systems::SavedReports<SavedSeparation>;

impl crate::systems::SavedReport for SavedSeparation {
    const FILE: &'static str = REPORT_FILE;
    const WHAT: &'static str = "the separation report";
}

fn table_row(name: &str, s: &MethodScores) -> String {
    let stoi = s.stoi.map_or("     -".to_string(), |v| format!("{v:>6.3}"));
    format!("  {name:<42} {:>7.2} {:>7.2} ±{:<5.2} {:>7.2} {stoi} {:>6.3} {:>5}", s.si_sdr, s.si_sdri, s.si_sdri_interval, s.sdri, s.kept, s.count)
}

impl std::fmt::Display for SeparationTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut lines = Vec::new();
        for kind in self.reports[0].kinds.keys() {
            lines.push(format!(
                "{kind} mixtures at 0 dB (dB; SI-SDRi with its 95% interval over scenes or speech windows; kept = nearer its source than the other):"
            ));
            lines.push(format!("  {:<42} {:>7} {:>14} {:>7} {:>6} {:>6} {:>5}", "estimate", "SI-SDR", "SI-SDRi", "SDRi", "STOI", "kept", "n"));
            for (report, run) in self.reports.iter().zip(&self.runs) {
                let Some(methods) = report.kinds.get(kind) else { continue };
                for (method, scores) in methods.iter().filter(|(m, _)| m.starts_with(NETWORK)) {
                    let label = format!("{} {}", report.network, method.trim_start_matches(NETWORK).trim_start_matches(", "));
                    lines.push(format!("{}  [{}]", table_row(label.trim(), scores), run.display()));
                }
            }
            for (method, scores) in self.reports[0].kinds[kind].iter().filter(|(m, _)| !m.starts_with(NETWORK)) {
                lines.push(table_row(method, scores));
            }
        }
        write!(f, "{}", lines.join("\n"))
    }
}

/// After training: the table of the run; `eval`: the run evaluated on the test split again (its report
/// rewritten), in one table with the `--compare` runs' saved reports.
impl crate::systems::System for super::Separation {
    fn after_training(run: &std::path::Path, _: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        crate::systems::table_of_run::<Self, SavedSeparation>(run)
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        crate::systems::eval_with_table::<Self, SavedSeparation>(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_over_scenes_and_windows_not_sources() {
        assert_eq!(independent_unit("scene3-large-red-circle+small-blue-square"), "scene3-large-red-circle");
        assert_eq!(independent_unit("obama-00002@1.25s+theo@0.50s"), "obama-00002@1.25s");
        // Two scenes, two objects each: the interval is the one of the scenes' means (1 and 3), with one degree of
        // freedom, not the one of four sources.
        let mut acc = Accumulator::default();
        for (unit, value) in [("scene0", 0.0), ("scene0", 2.0), ("scene1", 2.0), ("scene1", 4.0)] {
            acc.si_sdr.push(value);
            acc.si_sdri.push(value);
            acc.by_unit.entry(unit.to_string()).or_default().push(value);
        }
        let scores = acc.finish();
        assert_eq!((scores.count, scores.units, scores.si_sdri), (4, 2, 2.0));
        assert!((scores.si_sdri_interval - interval_95(&[1.0, 3.0])).abs() < 1e-12);
        assert!(scores.si_sdri_interval > interval_95(&[0.0, 2.0, 2.0, 4.0]));
    }
}
