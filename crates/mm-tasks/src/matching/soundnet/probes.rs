//! What the student learned, layer by layer: a linear probe on each layer's time-pooled activations, on FSDD
//! (digits) and ESC-10 (environmental sounds, 5 folds), against the same probe on an untrained student, on plain
//! log-mel statistics and on the majority class — SoundNet's Table 3 and its "middle layers transfer best"
//! finding, here measured. Every probe set has a validation part that chooses the layer; the test part is read
//! only to report the chosen layer (and, for the picture, every layer).

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::datasets::Esc10;
use mm_audio::encoders::WaveformCnn;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::{SoundNet, SoundNetBatcher};
use crate::data::{DataRoot, Dataset};
use crate::data_error;
use crate::encoders::fsdd::fsdd_recordings;
use crate::encoders::sound::{SoundFeatures, SoundInput};
use crate::matching::probe::{LinearProbe, ProbeSettings};
use crate::runner::{Context, Loader, RunError, Split, Spread, Task, argmax, load_model, mean_objective};

/// A probe's mean accuracy on the validation part (where layers are chosen) and on the test part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeScore {
    /// Validation accuracy.
    pub valid: f64,
    /// Test accuracy.
    pub test: f64,
    /// Each round's validation and test accuracy (one round for a fixed split; ESC-10's five folds).
    #[serde(default)]
    pub rounds: Vec<[f64; 2]>,
}

/// One layer's probes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerProbe {
    /// 1-based layer (conv1 …).
    pub layer: usize,
    /// Its channels (the probe sees their time average and maximum).
    pub channels: usize,
    /// FSDD, trained student.
    pub fsdd: ProbeScore,
    /// … untrained student.
    pub fsdd_untrained: ProbeScore,
    /// ESC-10 (mean over 5 rounds), trained student.
    pub esc10: ProbeScore,
    /// … untrained student.
    pub esc10_untrained: ProbeScore,
}

/// The layer chosen in each round by that round's validation accuracy (the earlier one on ties), nested: a round's
/// choice reads its own validation fold only, never a fold another round tests on; the reported test accuracy is
/// the mean over rounds of each round's test accuracy at its own choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChosenLayer {
    /// 1-based layer: the one most rounds chose (the earlier one on ties).
    pub layer: usize,
    /// The mean over rounds of the chosen layer's validation accuracy.
    pub valid: f64,
    /// The mean over rounds of the chosen layer's test accuracy: the reported number.
    pub test: f64,
    /// Each round's chosen layer (1-based).
    #[serde(default)]
    pub rounds: Vec<usize>,
}

impl ChosenLayer {
    fn choose(layers: &[LayerProbe], pick: fn(&LayerProbe) -> &ProbeScore) -> Self {
        let rounds = layers.first().map_or(0, |p| pick(p).rounds.len());
        if rounds == 0 {
            return Self { layer: 0, valid: f64::NAN, test: f64::NAN, rounds: Vec::new() };
        }
        let chosen: Vec<&LayerProbe> =
            (0..rounds).map(|r| layers.iter().fold(&layers[0], |best, p| if pick(p).rounds[r][0] > pick(best).rounds[r][0] { p } else { best })).collect();
        let mean = |k: usize| chosen.iter().enumerate().map(|(r, p)| pick(p).rounds[r][k]).sum::<f64>() / rounds as f64;
        let count = |layer: usize| chosen.iter().filter(|p| p.layer == layer).count();
        let layer = layers.iter().map(|p| p.layer).fold(0, |best, l| if count(l) > count(best) { l } else { best });
        Self { layer, valid: mean(0), test: mean(1), rounds: chosen.iter().map(|p| p.layer).collect() }
    }
}

/// The evaluation of a soundnet run, as written to `soundnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoundNetReport {
    /// How the pairs were made.
    pub pairing: String,
    /// The student's object head on its own test pairs (no audio label was used in training): FSDD test digit
    /// accuracy when paired by digit; for scenes, how often its likeliest label is one of the scene's objects.
    pub student_accuracy: f64,
    /// The trivial baseline beside it: always answering training's most frequent right answer.
    pub student_baseline: f64,
    /// Probes per layer.
    pub layers: Vec<LayerProbe>,
    /// FSDD: the trained student's layer chosen on validation.
    pub fsdd: ChosenLayer,
    /// … the untrained student's.
    pub fsdd_untrained: ChosenLayer,
    /// ESC-10: the trained student's layer chosen in each round on that round's validation fold (nested).
    pub esc10: ChosenLayer,
    /// … the untrained student's.
    pub esc10_untrained: ChosenLayer,
    /// The same probe on log-mel statistics (each band's mean and deviation over time): FSDD.
    pub log_mel_fsdd: ProbeScore,
    /// … ESC-10.
    pub log_mel_esc10: ProbeScore,
    /// Always the probe training part's most frequent class: FSDD, test.
    pub majority_fsdd: f64,
    /// … ESC-10.
    pub majority_esc10: f64,
}

/// Per layer `[N, 2·C]` rows: each channel's time average and maximum.
fn layer_features(cnn: &WaveformCnn, waveforms: &[f32], samples: usize, device: &Device) -> Vec<Vec<f32>> {
    let mut layers: Vec<Vec<f32>> = Vec::new();
    for chunk in waveforms.chunks(32 * samples) {
        let batch = chunk.len() / samples;
        let x = Tensor::<3>::from_data(TensorData::new(chunk.to_vec(), [batch, 1, samples]), device);
        for (l, map) in cnn.forward(x).layers.into_iter().enumerate() {
            let [_, c, _] = map.dims();
            let pooled = Tensor::cat(vec![map.clone().mean_dim(2).reshape([batch, c]), map.max_dim(2).reshape([batch, c])], 1);
            if layers.len() <= l {
                layers.push(Vec::new());
            }
            layers[l].extend(pooled.into_data().convert::<f32>().try_into_vec::<f32>().expect("float"));
        }
    }
    layers
}

/// Each band's mean and standard deviation over time, from standardised log-mel examples.
fn log_mel_statistics(features: &SoundFeatures, examples: &[f32]) -> Vec<f32> {
    let [mels, frames] = features.shape(SoundInput::LogMel);
    examples
        .chunks(mels * frames)
        .flat_map(|example| {
            let bands: Vec<&[f32]> = example.chunks(frames).collect();
            let means: Vec<f32> = bands.iter().map(|b| b.iter().sum::<f32>() / frames as f32).collect();
            let stds: Vec<f32> = bands.iter().zip(&means).map(|(b, m)| (b.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / frames as f32).sqrt()).collect();
            means.into_iter().chain(stds)
        })
        .collect()
}

/// Which rows a probe trains on, chooses with and is tested on.
struct Round {
    train: Vec<usize>,
    valid: Vec<usize>,
    test: Vec<usize>,
}

/// The labels of a set of feature rows and its rounds: each round fits a probe on its training rows and scores it
/// on its validation and test rows; the scores are the means over rounds.
struct ProbeSet {
    labels: Vec<u32>,
    classes: usize,
    rounds: Vec<Round>,
}

impl ProbeSet {
    /// Rows in the order train, validation, test, tested once.
    fn split(train: &[u32], valid: &[u32], test: &[u32], classes: usize) -> Self {
        let (a, b) = (train.len(), train.len() + valid.len());
        let labels: Vec<u32> = [train, valid, test].concat();
        Self { rounds: vec![Round { train: (0..a).collect(), valid: (a..b).collect(), test: (b..labels.len()).collect() }], labels, classes }
    }

    /// Cross-validation over `folds` (1..=k): each fold tests once, the next one validates, the rest train.
    fn folds(labels: Vec<u32>, folds: &[u8], classes: usize) -> Self {
        let k = folds.iter().copied().max().unwrap_or(0);
        let rows = |f: u8| (0..folds.len()).filter(|&i| folds[i] == f).collect::<Vec<_>>();
        let rounds = (1..=k)
            .map(|test| {
                let valid = test % k + 1;
                Round { train: (0..folds.len()).filter(|&i| folds[i] != test && folds[i] != valid).collect(), valid: rows(valid), test: rows(test) }
            })
            .collect();
        Self { labels, classes, rounds }
    }

    fn rows(features: &[f32], dim: usize, rows: &[usize]) -> Vec<f32> {
        rows.iter().flat_map(|&i| features[i * dim..(i + 1) * dim].iter().copied()).collect()
    }

    fn labels(&self, rows: &[usize]) -> Vec<u32> {
        rows.iter().map(|&i| self.labels[i]).collect()
    }

    /// The probe's validation and test accuracy in each round, and their means over the rounds.
    fn score(&self, features: &[f32], settings: &ProbeSettings, device: &Device) -> ProbeScore {
        let dim = features.len() / self.labels.len();
        let rounds: Vec<[f64; 2]> = self
            .rounds
            .iter()
            .map(|round| {
                let probe = LinearProbe::fit(&Self::rows(features, dim, &round.train), dim, &self.labels(&round.train), self.classes, settings, device);
                [&round.valid, &round.test].map(|part| probe.accuracy(&Self::rows(features, dim, part), &self.labels(part)))
            })
            .collect();
        let mean = |k: usize| rounds.iter().map(|r| r[k]).sum::<f64>() / rounds.len().max(1) as f64;
        ProbeScore { valid: mean(0), test: mean(1), rounds }
    }

    /// The mean test accuracy of always answering the round's most frequent training class.
    fn majority(&self) -> f64 {
        let mut sum = 0.0;
        for round in &self.rounds {
            let mut counts = vec![0f32; self.classes];
            round.train.iter().for_each(|&i| counts[self.labels[i] as usize] += 1.0);
            let class = argmax(&counts) as u32;
            sum += round.test.iter().filter(|&&i| self.labels[i] == class).count() as f64 / round.test.len().max(1) as f64;
        }
        sum / self.rounds.len() as f64
    }
}

/// The student's accuracy on its test pairs, and always answering training's most frequent right answer there.
fn student_scores(config: &super::SoundNetConfig, context: &Context, learner: &super::SoundNetLearner, device: &Device) -> Result<(f64, f64), RunError> {
    let test = SoundNet::dataset(config, context, Split::Test)?;
    let accuracy = mean_objective(learner, &Loader::new(test.clone(), std::sync::Arc::new(SoundNetBatcher), 0, 1), 64, device)?["accuracy"];
    let train = SoundNet::dataset(config, context, Split::Train)?;
    let mut counts: Vec<f32> = Vec::new();
    for i in 0..train.len() {
        let item = train.get(i)?;
        counts.resize(item.right.len(), 0.0);
        counts.iter_mut().zip(&item.right).for_each(|(c, r)| *c += r);
    }
    let answer = argmax(&counts);
    let mut right = 0.0;
    for i in 0..test.len() {
        right += test.get(i)?.right[answer] as f64;
    }
    Ok((accuracy, right / test.len().max(1) as f64))
}

/// Loads the run's student, probes it and an untrained twin, writes `soundnet.json` and `probes.png`.
pub fn probe_student(run: &Path, root: &DataRoot, device: &Device) -> Result<SoundNetReport, RunError> {
    let (config, learner) = load_model::<SoundNet>(run, device)?;
    let context = Context::of(root.clone(), run);
    let (student_accuracy, student_baseline) = student_scores(&config, &context, &learner, device)?;
    device.seed(config.train.seed ^ 0xDEAD);
    let untrained = SoundNet::model(&config, device)?;

    // FSDD: the training takes less the validation ones, the validation takes, the official test split.
    let features = &config.features;
    let parts = [Split::Train, Split::Valid, Split::Test].map(|split| fsdd_recordings(root, config.validation, split));
    let [train, valid, test] = parts;
    let (train, valid, test) = (train?, valid?, test?);
    let recordings: Vec<_> = train.iter().chain(&valid).chain(&test).collect();
    let digits = |part: &[mm_audio::datasets::FsddRecording]| part.iter().map(|r| r.digit as u32).collect::<Vec<_>>();
    let fsdd = ProbeSet::split(&digits(&train), &digits(&valid), &digits(&test), 10);
    let fsdd_waves = features.examples(SoundInput::Waveform, recordings.iter().map(|r| r.load()))?;
    let fsdd_mel = log_mel_statistics(features, &features.examples(SoundInput::LogMel, recordings.iter().map(|r| r.load()))?);

    // ESC-10 at the student's rate, 5 s clips.
    let esc_features = SoundFeatures { seconds: 5.0, ..features.clone() };
    let esc10 = Esc10::open(root.dataset(Dataset::Esc10).map_err(data_error)?).map_err(data_error)?;
    let esc_waves = esc_features.examples(SoundInput::Waveform, esc10.clips.iter().map(|c| c.load()))?;
    let esc_mel = log_mel_statistics(&esc_features, &esc_features.examples(SoundInput::LogMel, esc10.clips.iter().map(|c| c.load()))?);
    let folds: Vec<u8> = esc10.clips.iter().map(|c| c.fold).collect();
    let esc = ProbeSet::folds(esc10.clips.iter().map(|c| c.class as u32).collect(), &folds, 10);

    let settings = &config.probe;
    let samples = features.samples();
    let trained_fsdd = layer_features(&learner.student.cnn, &fsdd_waves, samples, device);
    let untrained_fsdd = layer_features(&untrained.student.cnn, &fsdd_waves, samples, device);
    let trained_esc = layer_features(&learner.student.cnn, &esc_waves, esc_features.samples(), device);
    let untrained_esc = layer_features(&untrained.student.cnn, &esc_waves, esc_features.samples(), device);
    let mut layers = Vec::new();
    for l in 0..trained_fsdd.len() {
        let probe = LayerProbe {
            layer: l + 1,
            channels: config.cnn.layers[l].channels,
            fsdd: fsdd.score(&trained_fsdd[l], settings, device),
            fsdd_untrained: fsdd.score(&untrained_fsdd[l], settings, device),
            esc10: esc.score(&trained_esc[l], settings, device),
            esc10_untrained: esc.score(&untrained_esc[l], settings, device),
        };
        eprintln!(
            "soundnet probe conv{}: FSDD {:.4}/{:.4} (untrained {:.4}/{:.4}), ESC-10 {:.4}/{:.4} (untrained {:.4}/{:.4}) [valid/test]",
            probe.layer,
            probe.fsdd.valid,
            probe.fsdd.test,
            probe.fsdd_untrained.valid,
            probe.fsdd_untrained.test,
            probe.esc10.valid,
            probe.esc10.test,
            probe.esc10_untrained.valid,
            probe.esc10_untrained.test
        );
        layers.push(probe);
    }
    let report = SoundNetReport {
        pairing: config.pairing.description().into(),
        student_accuracy,
        student_baseline,
        fsdd: ChosenLayer::choose(&layers, |p| &p.fsdd),
        fsdd_untrained: ChosenLayer::choose(&layers, |p| &p.fsdd_untrained),
        esc10: ChosenLayer::choose(&layers, |p| &p.esc10),
        esc10_untrained: ChosenLayer::choose(&layers, |p| &p.esc10_untrained),
        log_mel_fsdd: fsdd.score(&fsdd_mel, settings, device),
        log_mel_esc10: esc.score(&esc_mel, settings, device),
        majority_fsdd: fsdd.majority(),
        majority_esc10: esc.majority(),
        layers,
    };
    crate::runner::write_atomically(&run.join(REPORT_FILE), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    draw_probes(&report, &run.join("probes.png")).map_err(|e| RunError::Invalid { path: run.join("probes.png"), problem: e.to_string() })?;
    crate::runner::refresh_events(run)?;
    Ok(report)
}

/// Where [`probe_student`] writes its report in the run folder.
pub const REPORT_FILE: &str = "soundnet.json";

/// Several runs' reports (other seeds of the same settings) together: each chosen layer's test accuracy as a mean
/// with its 95% interval.
#[derive(Debug, Clone, Serialize)]
pub struct SoundNetSummary {
    /// The runs.
    pub runs: Vec<PathBuf>,
    /// How their pairs were made.
    pub pairing: String,
    /// The students' accuracy on their test pairs.
    pub student_accuracy: Spread,
    /// Its trivial baseline.
    pub student_baseline: Spread,
    /// FSDD, the trained students' layers chosen on validation.
    pub fsdd: Spread,
    /// … the untrained students'.
    pub fsdd_untrained: Spread,
    /// ESC-10, the trained students' layers chosen on validation.
    pub esc10: Spread,
    /// … the untrained students'.
    pub esc10_untrained: Spread,
    /// Per run, the trained student's FSDD figure less its untrained twin's (paired by seed).
    pub fsdd_gain: Spread,
    /// … ESC-10.
    pub esc10_gain: Spread,
    /// Per run: the chosen layers (FSDD, FSDD untrained, ESC-10, ESC-10 untrained).
    pub chosen_layers: Vec<[usize; 4]>,
}

/// Reads the saved reports of `runs` (each probed already) and summarises them.
pub fn summarise(runs: &[PathBuf]) -> Result<SoundNetSummary, RunError> {
    let mut reports = Vec::new();
    for run in runs {
        let path = run.join(REPORT_FILE);
        let bytes = std::fs::read(&path).map_err(|source| RunError::Io { path: path.clone(), source })?;
        let report: SoundNetReport = serde_json::from_slice(&bytes).map_err(|e| RunError::invalid(&path, e))?;
        if let Some(first) = reports.first().map(|r: &SoundNetReport| &r.pairing)
            && *first != report.pairing
        {
            return Err(RunError::Invalid { path, problem: format!("its pairs were made otherwise ({}) than the first run's ({first})", report.pairing) });
        }
        reports.push(report);
    }
    let spread = |pick: fn(&SoundNetReport) -> f64| Spread::new(reports.iter().map(pick).collect());
    Ok(SoundNetSummary {
        runs: runs.to_vec(),
        pairing: reports.first().map(|r| r.pairing.clone()).unwrap_or_default(),
        student_accuracy: spread(|r| r.student_accuracy),
        student_baseline: spread(|r| r.student_baseline),
        fsdd: spread(|r| r.fsdd.test),
        fsdd_untrained: spread(|r| r.fsdd_untrained.test),
        esc10: spread(|r| r.esc10.test),
        esc10_untrained: spread(|r| r.esc10_untrained.test),
        fsdd_gain: spread(|r| r.fsdd.test - r.fsdd_untrained.test),
        esc10_gain: spread(|r| r.esc10.test - r.esc10_untrained.test),
        chosen_layers: reports.iter().map(|r| [r.fsdd.layer, r.fsdd_untrained.layer, r.esc10.layer, r.esc10_untrained.layer]).collect(),
    })
}

fn draw_probes(report: &SoundNetReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    crate::runner::register_plot_font();
    let temporary = mm_files::Partial::with_format(path, "png");
    {
        let root = BitMapBackend::new(temporary.path(), (900, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let last = report.layers.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "SoundNet student: test accuracy of a linear probe per layer (chosen on validation: FSDD conv{}, ESC-10 conv{})",
                    report.fsdd.layer, report.esc10.layer
                ),
                ("sans-serif", 16),
            )
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(0.8f64..last + 0.2, 0f64..1.0)?;
        chart
            .configure_mesh()
            .x_desc("layer (conv1 … conv5)")
            .y_desc("accuracy")
            .x_labels(report.layers.len())
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 13))
            .draw()?;
        type Pick = fn(&super::LayerProbe) -> f64;
        let lines: [(&str, Pick, RGBColor, bool); 4] = [
            ("FSDD, distilled student", |p| p.fsdd.test, BLUE, true),
            ("FSDD, untrained", |p| p.fsdd_untrained.test, BLUE, false),
            ("ESC-10, distilled student", |p| p.esc10.test, RED, true),
            ("ESC-10, untrained", |p| p.esc10_untrained.test, RED, false),
        ];
        for (label, pick, colour, solid) in lines {
            let points: Vec<(f64, f64)> = report.layers.iter().map(|p| (p.layer as f64, pick(p))).collect();
            let style = if solid { colour.stroke_width(3) } else { colour.mix(0.45).stroke_width(2) };
            chart.draw_series(LineSeries::new(points.clone(), style))?.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
        for (label, value, colour) in [("FSDD, log-mel", report.log_mel_fsdd.test, BLUE), ("ESC-10, log-mel", report.log_mel_esc10.test, RED)] {
            let style = colour.mix(0.7).stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(vec![(0.8, value), (last + 0.2, value)], 6, 4, style))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
    }
    temporary.commit()?;
    Ok(())
}

impl std::fmt::Display for SoundNetReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "soundnet ({})", self.pairing)?;
        write!(
            f,
            "\n  the student's object head on its test pairs: {:.4} (no audio label in training; always the most frequent answer: {:.4})",
            self.student_accuracy, self.student_baseline
        )?;
        write!(f, "\n  linear probes, validation / test accuracy:")?;
        write!(f, "\n  layer  channels  FSDD            (untrained)      ESC-10          (untrained)")?;
        for p in &self.layers {
            let pair = |s: &ProbeScore| format!("{:.4} / {:.4}", s.valid, s.test);
            write!(
                f,
                "\n  conv{}  {:>8}  {}  ({})  {}  ({})",
                p.layer,
                p.channels,
                pair(&p.fsdd),
                pair(&p.fsdd_untrained),
                pair(&p.esc10),
                pair(&p.esc10_untrained)
            )?;
        }
        let chosen = |c: &ChosenLayer| match c.rounds.as_slice() {
            [_, _, ..] => format!("conv{:?} {:.4}", c.rounds, c.test),
            _ => format!("conv{} {:.4}", c.layer, c.test),
        };
        write!(
            f,
            "\n  chosen on validation (ESC-10: in each round on its own validation fold), test accuracy: FSDD {} (untrained {}), ESC-10 {} (untrained {})",
            chosen(&self.fsdd),
            chosen(&self.fsdd_untrained),
            chosen(&self.esc10),
            chosen(&self.esc10_untrained)
        )?;
        write!(
            f,
            "\n  log-mel statistics: FSDD {:.4}, ESC-10 {:.4}; majority class: FSDD {:.4}, ESC-10 {:.4}",
            self.log_mel_fsdd.test, self.log_mel_esc10.test, self.majority_fsdd, self.majority_esc10
        )
    }
}

impl std::fmt::Display for SoundNetSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |s: &Spread| format!("{:.4} ± {:.4}", s.mean, s.interval_95);
        write!(f, "soundnet over {} runs ({}); mean ± 95% interval:", self.chosen_layers.len(), self.pairing)?;
        write!(f, "\n  student on its test pairs {} (baseline {})", show(&self.student_accuracy), show(&self.student_baseline))?;
        write!(f, "\n  FSDD probe, layer chosen on validation: {} (untrained {})", show(&self.fsdd), show(&self.fsdd_untrained))?;
        write!(f, "\n  ESC-10 probe, layer chosen on validation: {} (untrained {})", show(&self.esc10), show(&self.esc10_untrained))?;
        write!(f, "\n  gain over the untrained twin, paired by seed: FSDD {}, ESC-10 {}", show(&self.fsdd_gain), show(&self.esc10_gain))?;
        write!(f, "\n  chosen layers per run [FSDD, untrained, ESC-10, untrained]: {:?}", self.chosen_layers)
    }
}

impl crate::systems::Report for SoundNetSummary {
    fn json(&self) -> String {
        crate::systems::json_line(self)
    }
}

/// The student's accuracy and the layer probes of a run, probed now, with the picture of the probes.
fn report_of(run: &Path, root: &DataRoot, device: Option<crate::DeviceKind>) -> Result<Box<dyn crate::systems::Report>, RunError> {
    let report = probe_student(run, root, &crate::systems::device_of(device)?)?;
    Ok(Box::new(crate::systems::WithFiles { report, files: vec![run.join("probes.png")] }))
}

/// After training and at `eval`: the student's accuracy and linear probes of every layer (soundnet.json,
/// probes.png).
impl crate::systems::System for super::SoundNet {
    fn after_training(run: &Path, request: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        report_of(run, &request.root(), request.overrides.device).map(Some)
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        report_of(&request.run_of::<Self>(), &request.root(), request.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fold_tests_once_and_the_next_one_validates() {
        let folds: Vec<u8> = (0..20).map(|i| (i % 5 + 1) as u8).collect();
        let set = ProbeSet::folds((0..20).map(|i| (i % 2) as u32).collect(), &folds, 2);
        assert_eq!(set.rounds.len(), 5);
        for (r, round) in set.rounds.iter().enumerate() {
            let (test, valid) = (r as u8 + 1, (r as u8 + 1) % 5 + 1);
            assert!(round.test.iter().all(|&i| folds[i] == test) && round.test.len() == 4);
            assert!(round.valid.iter().all(|&i| folds[i] == valid) && round.valid.len() == 4);
            assert!(round.train.iter().all(|&i| folds[i] != test && folds[i] != valid) && round.train.len() == 12);
        }
        // Always answering the training rows' most frequent class: half right here.
        assert_eq!(set.majority(), 0.5);
    }

    #[test]
    fn the_layer_is_chosen_on_validation_not_test() {
        let score = |valid, test| ProbeScore { valid, test, rounds: vec![[valid, test]] };
        let layer =
            |layer, fsdd: ProbeScore| LayerProbe { layer, channels: 8, fsdd_untrained: fsdd.clone(), esc10: fsdd.clone(), esc10_untrained: fsdd.clone(), fsdd };
        let layers = [layer(1, score(0.5, 0.9)), layer(2, score(0.7, 0.6)), layer(3, score(0.7, 0.8))];
        // Layer 1 tests best but validates worst; layers 2 and 3 tie on validation and the earlier one is kept.
        assert_eq!(ChosenLayer::choose(&layers, |p| &p.fsdd), ChosenLayer { layer: 2, valid: 0.7, test: 0.6, rounds: vec![2] });
    }

    #[test]
    fn each_round_chooses_its_layer_on_its_own_validation_fold() {
        // Two rounds: layer 1 validates best in the first, layer 2 in the second; the mean validation over rounds
        // would pick layer 2 for both (0.65 against 0.6).
        let score = |rounds: [[f64; 2]; 2]| ProbeScore {
            valid: (rounds[0][0] + rounds[1][0]) / 2.0,
            test: (rounds[0][1] + rounds[1][1]) / 2.0,
            rounds: rounds.to_vec(),
        };
        let layer = |layer, esc10: ProbeScore| LayerProbe {
            layer,
            channels: 8,
            fsdd: esc10.clone(),
            fsdd_untrained: esc10.clone(),
            esc10_untrained: esc10.clone(),
            esc10,
        };
        let layers = [layer(1, score([[0.8, 0.5], [0.4, 0.9]])), layer(2, score([[0.5, 0.7], [0.8, 0.6]]))];
        let chosen = ChosenLayer::choose(&layers, |p| &p.esc10);
        assert_eq!(chosen.rounds, vec![1, 2]);
        assert!((chosen.valid - 0.8).abs() < 1e-12 && (chosen.test - 0.55).abs() < 1e-12, "{chosen:?}");
    }
}
