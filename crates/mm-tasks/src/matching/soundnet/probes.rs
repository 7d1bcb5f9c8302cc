//! What the student learned, layer by layer: a linear probe on each layer's time-pooled activations, on FSDD
//! (digits) and ESC-10 (environmental sounds, 5 folds), against the same probe on an untrained student and on
//! plain log-mel statistics — SoundNet's Table 3 and its "pool5 transfers best" finding, here measured.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::datasets::{Esc10, FsddSplit};
use mm_audio::encoders::WaveformCnn;
use plotters::prelude::*;
use serde::Serialize;

use super::{SoundNet, SoundNetBatcher, fsdd_examples};
use crate::data::data_error;
use crate::data::{DataRoot, Dataset};
use crate::encoders::sound::{SoundFeatures, SoundInput};
use crate::matching::probe::{LinearProbe, ProbeSettings};
use crate::runner::{Context, Loader, RunError, Split, Task, load_model, mean_objective};

/// One layer's probe accuracies.
#[derive(Debug, Clone, Serialize)]
pub struct LayerProbe {
    /// 1-based layer (conv1 …).
    pub layer: usize,
    /// Its channels (the probe sees their time average and maximum).
    pub channels: usize,
    /// FSDD test accuracy, trained student.
    pub fsdd: f64,
    /// … untrained student.
    pub fsdd_untrained: f64,
    /// ESC-10 mean 5-fold accuracy, trained student.
    pub esc10: f64,
    /// … untrained student.
    pub esc10_untrained: f64,
}

/// The evaluation of a soundnet run, as written to `soundnet.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SoundNetReport {
    /// The student's object head on FSDD's test split (no audio label was used in training).
    pub student_fsdd_accuracy: f64,
    /// Probes per layer.
    pub layers: Vec<LayerProbe>,
    /// The same probe on log-mel statistics (each band's mean and deviation over time): FSDD.
    pub log_mel_fsdd: f64,
    /// … ESC-10.
    pub log_mel_esc10: f64,
    /// The layer whose probe does best on ESC-10 (1-based).
    pub best_esc10_layer: usize,
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

/// The labels of a set of feature rows and the fold of each: every fold but 0 is tested once, by a probe trained
/// on all the other rows (fold 0 rows are only ever trained on).
struct ProbeSet<'a> {
    labels: &'a [u32],
    folds: &'a [u8],
}

impl ProbeSet<'_> {
    /// Mean test accuracy over the folds (each fold tested once, trained on the others).
    fn accuracy(&self, features: &[f32], settings: &ProbeSettings, device: &Device) -> f64 {
        let dim = features.len() / self.labels.len();
        let mut folds: Vec<u8> = self.folds.to_vec();
        folds.sort_unstable();
        folds.dedup();
        let tested: Vec<u8> = folds.iter().copied().filter(|&f| f != 0).collect();
        let mut sum = 0.0;
        for &fold in &tested {
            let pick = |test: bool| -> (Vec<f32>, Vec<u32>) {
                let rows: Vec<usize> = (0..self.labels.len()).filter(|&i| (self.folds[i] == fold) == test).collect();
                (rows.iter().flat_map(|&i| features[i * dim..(i + 1) * dim].to_vec()).collect(), rows.iter().map(|&i| self.labels[i]).collect())
            };
            let (train_x, train_y) = pick(false);
            let (test_x, test_y) = pick(true);
            let probe = LinearProbe::fit(&train_x, dim, &train_y, 10, settings, device);
            sum += probe.accuracy(&test_x, &test_y);
        }
        sum / tested.len() as f64
    }
}

/// Loads the run's student, probes it and an untrained twin, writes `soundnet.json` and `probes.png`.
pub fn probe_student(run: &Path, root: &DataRoot, device: &Device) -> Result<SoundNetReport, RunError> {
    let (config, learner) = load_model::<SoundNet>(run, device)?;
    let context = Context { root: root.clone(), run: run.to_path_buf() };
    let test = Loader::new(SoundNet::dataset(&config, &context, Split::Test)?, std::sync::Arc::new(SoundNetBatcher), 0, 1);
    let student_fsdd_accuracy = mean_objective(&learner, &test, 64, device)?["accuracy"];
    device.seed(config.train.seed ^ 0xDEAD);
    let untrained = SoundNet::model(&config, device)?;

    // FSDD: the official split, expressed as folds (0 = always training, 1 = the test fold).
    let samples = config.features.samples();
    let (train_waves, train_digits) = fsdd_examples(&config.features, SoundInput::Waveform, root, FsddSplit::Train)?;
    let (test_waves, test_digits) = fsdd_examples(&config.features, SoundInput::Waveform, root, FsddSplit::Test)?;
    let fsdd_waves: Vec<f32> = train_waves.into_iter().chain(test_waves).collect();
    let fsdd_labels: Vec<u32> = train_digits.iter().chain(&test_digits).map(|&d| d as u32).collect();
    let fsdd_folds: Vec<u8> = train_digits.iter().map(|_| 0).chain(test_digits.iter().map(|_| 1)).collect();
    let fsdd = ProbeSet { labels: &fsdd_labels, folds: &fsdd_folds };

    // ESC-10 at the student's rate, 5 s clips.
    let esc_features = SoundFeatures { seconds: 5.0, ..config.features.clone() };
    let esc10 = Esc10::open(root.dataset(Dataset::Esc10).map_err(data_error)?).map_err(data_error)?;
    let esc_waves = esc_features.examples(SoundInput::Waveform, esc10.clips.iter().map(|c| c.load()))?;
    let esc_labels: Vec<u32> = esc10.clips.iter().map(|c| c.class as u32).collect();
    let esc_folds: Vec<u8> = esc10.clips.iter().map(|c| c.fold).collect();
    let esc = ProbeSet { labels: &esc_labels, folds: &esc_folds };

    let settings = &config.probe;
    let trained_fsdd = layer_features(&learner.student.cnn, &fsdd_waves, samples, device);
    let untrained_fsdd = layer_features(&untrained.student.cnn, &fsdd_waves, samples, device);
    let trained_esc = layer_features(&learner.student.cnn, &esc_waves, esc_features.samples(), device);
    let untrained_esc = layer_features(&untrained.student.cnn, &esc_waves, esc_features.samples(), device);
    let mut layers = Vec::new();
    for l in 0..trained_fsdd.len() {
        let probe = LayerProbe {
            layer: l + 1,
            channels: config.cnn.layers[l].channels,
            fsdd: fsdd.accuracy(&trained_fsdd[l], settings, device),
            fsdd_untrained: fsdd.accuracy(&untrained_fsdd[l], settings, device),
            esc10: esc.accuracy(&trained_esc[l], settings, device),
            esc10_untrained: esc.accuracy(&untrained_esc[l], settings, device),
        };
        eprintln!(
            "soundnet probe conv{}: FSDD {:.4} (untrained {:.4}), ESC-10 {:.4} (untrained {:.4})",
            probe.layer, probe.fsdd, probe.fsdd_untrained, probe.esc10, probe.esc10_untrained
        );
        layers.push(probe);
    }
    let (mut fsdd_mels, _) = fsdd_examples(&config.features, SoundInput::LogMel, root, FsddSplit::Train)?;
    fsdd_mels.extend(fsdd_examples(&config.features, SoundInput::LogMel, root, FsddSplit::Test)?.0);
    let fsdd_mel = log_mel_statistics(&config.features, &fsdd_mels);
    let esc_mel = log_mel_statistics(&esc_features, &esc_features.examples(SoundInput::LogMel, esc10.clips.iter().map(|c| c.load()))?);
    let best = layers.iter().max_by(|a, b| a.esc10.total_cmp(&b.esc10)).map_or(0, |p| p.layer);
    let report = SoundNetReport {
        student_fsdd_accuracy,
        log_mel_fsdd: fsdd.accuracy(&fsdd_mel, settings, device),
        log_mel_esc10: esc.accuracy(&esc_mel, settings, device),
        best_esc10_layer: best,
        layers,
    };
    crate::runner::write_atomically(&run.join("soundnet.json"), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    draw_probes(&report, &run.join("probes.png")).map_err(|e| RunError::Invalid { path: run.join("probes.png"), problem: e.to_string() })?;
    crate::runner::refresh_events(run)?;
    Ok(report)
}

fn draw_probes(report: &SoundNetReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    crate::runner::register_plot_font();
    let temporary = crate::runner::partial(path).with_extension("png");
    {
        let root = BitMapBackend::new(&temporary, (900, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let last = report.layers.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("SoundNet student: linear probe per layer (student's own FSDD accuracy {:.3})", report.student_fsdd_accuracy), ("sans-serif", 17))
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
            ("FSDD, distilled student", |p| p.fsdd, BLUE, true),
            ("FSDD, untrained", |p| p.fsdd_untrained, BLUE, false),
            ("ESC-10, distilled student", |p| p.esc10, RED, true),
            ("ESC-10, untrained", |p| p.esc10_untrained, RED, false),
        ];
        for (label, pick, colour, solid) in lines {
            let points: Vec<(f64, f64)> = report.layers.iter().map(|p| (p.layer as f64, pick(p))).collect();
            let style = if solid { colour.stroke_width(3) } else { colour.mix(0.45).stroke_width(2) };
            chart.draw_series(LineSeries::new(points.clone(), style))?.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
        for (label, value, colour) in [("FSDD, log-mel", report.log_mel_fsdd, BLUE), ("ESC-10, log-mel", report.log_mel_esc10, RED)] {
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
    std::fs::rename(&temporary, path)?;
    Ok(())
}
