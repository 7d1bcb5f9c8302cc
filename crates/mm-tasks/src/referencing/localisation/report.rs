//! The test report of a localisation run (`localisation.json`): every test map upsampled to its picture and
//! scored as LVS scores it ([`super::metrics`]), beside a centre prior and a uniform map on the same pictures;
//! and `heatmaps.png`, the maps over the pictures for right and wrong cases. [`localise`] does the same for any
//! picture and recording.

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use image::RgbImage;
use image::imageops::FilterType;
use mm_audio::Audio;
use mm_vision::picture::{attention_overlay, captioned_grid};
use mm_vision::transforms::Normalize;
use serde::{Deserialize, Serialize};

use super::metrics::{LocalisationSummary, MapScore, centre_prior, score_map, uniform_map, upsample_bilinear};
use super::{Localisation, LocalisationBatch, LocalisationBatcher, LocalisationItem, LocalisationModel, LocalisationSource, LocalisationTaskConfig};
use crate::data_error;
use crate::inputs::picture_input;
use crate::runner::{Context, Loader, RunError, Scores, Split, load_model};

/// Where the report goes in the run folder.
pub const REPORT_FILE: &str = "localisation.json";
/// The heat-maps of right and wrong test cases.
pub const HEATMAPS_FILE: &str = "heatmaps.png";

/// A run's test scores and the baselines'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalisationReport {
    /// "digit grids 3 × 3" or "shapes scenes".
    pub source: String,
    /// unsupervised, supervised or semi-supervised.
    pub supervision: String,
    /// The share of training examples whose truth the losses read.
    pub labelled_fraction: f64,
    /// The fixed threshold of the cIoU.
    pub threshold: f32,
    /// The run's maps.
    pub model: LocalisationSummary,
    /// A Gaussian bump at the centre of every picture.
    pub centre_prior: LocalisationSummary,
    /// The same value everywhere.
    pub uniform: LocalisationSummary,
}

/// The name of a source in tables.
pub fn source_name(source: &LocalisationSource) -> String {
    match source {
        LocalisationSource::DigitGrids(grids) => format!("digit grids {0} × {0}", grids.cells),
        LocalisationSource::Shapes(_) => "shapes scenes".into(),
    }
}

/// The attention maps `[N]` of a batch, one per example.
fn maps(model: &LocalisationModel, batch: &LocalisationBatch) -> Result<Vec<Vec<f32>>, RunError> {
    let attention = model.localise(batch).attention;
    let [b, n] = attention.dims();
    let values = attention.into_data().convert::<f32>().try_into_vec::<f32>()?;
    Ok((0..b).map(|i| values[i * n..(i + 1) * n].to_vec()).collect())
}

/// Scores the test maps and the baselines, writes the report and the heat-maps.
pub fn evaluate(
    config: &LocalisationTaskConfig,
    context: &Context,
    model: &LocalisationModel,
    loader: &Loader<LocalisationItem, LocalisationBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let side = config.source.picture_shape()?[1];
    let [rows, columns] = config.grid()?;
    let (centre, uniform) = (centre_prior(side, side), uniform_map(side, side));
    let (mut ours, mut centred, mut flat) = (Vec::new(), Vec::new(), Vec::new());
    let mut cases: Vec<(usize, Vec<f32>, MapScore)> = Vec::new();
    for (_, batch) in loader.batches((0..loader.len()).collect(), config.train.batch_size.max(1), 0, None, device) {
        let batch = batch?;
        for ((alpha, truth), &index) in maps(model, &batch)?.into_iter().zip(&batch.truths).zip(&batch.indices) {
            let score = score_map(&upsample_bilinear(&alpha, rows, columns, side, side), truth, side, config.threshold);
            centred.push(score_map(&centre, truth, side, config.threshold));
            flat.push(score_map(&uniform, truth, side, config.threshold));
            let right = score.ciou >= 0.5;
            if cases.iter().filter(|(_, _, s)| (s.ciou >= 0.5) == right).count() < 8 {
                cases.push((index, alpha, score));
            }
            ours.push(score);
        }
    }
    draw_cases(config, context, &cases, &context.reports.join(HEATMAPS_FILE))?;
    let report = LocalisationReport {
        source: source_name(&config.source),
        supervision: config.supervision.name().into(),
        labelled_fraction: if config.supervision == super::Supervision::Unsupervised { 0.0 } else { config.labelled_fraction },
        threshold: config.threshold,
        model: LocalisationSummary::of(&ours),
        centre_prior: LocalisationSummary::of(&centred),
        uniform: LocalisationSummary::of(&flat),
    };
    crate::runner::write_atomically(&context.reports.join(REPORT_FILE), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    let mut scores = Scores::new();
    for (prefix, summary) in [("", &report.model), ("centre_", &report.centre_prior), ("uniform_", &report.uniform)] {
        scores.insert(format!("{prefix}success"), summary.success);
        scores.insert(format!("{prefix}auc"), summary.auc);
        scores.insert(format!("{prefix}success_median"), summary.success_median);
        scores.insert(format!("{prefix}auc_median"), summary.auc_median);
        scores.insert(format!("{prefix}pointing"), summary.pointing);
    }
    scores.insert("mean_ciou".into(), report.model.mean_ciou);
    scores.insert("success_interval".into(), report.model.success_interval);
    scores.insert("pointing_interval".into(), report.model.pointing_interval);
    Ok(scores)
}

/// The right cases (cIoU ≥ 0.5) then the wrong ones, each map over its picture with what sounds and the cIoU.
fn draw_cases(config: &LocalisationTaskConfig, context: &Context, cases: &[(usize, Vec<f32>, MapScore)], path: &Path) -> Result<(), RunError> {
    if cases.is_empty() {
        return Ok(());
    }
    let examples = config.source.open(&context.root, Split::Test)?;
    let [rows, columns] = config.grid()?;
    let mut panels = Vec::new();
    for right in [true, false] {
        for (index, alpha, score) in cases.iter().filter(|(_, _, s)| (s.ciou >= 0.5) == right) {
            let example = examples.example(*index)?;
            let verdict = if right { "right" } else { "wrong" };
            panels.push((attention_overlay(&example.display, alpha, rows, columns), format!("{verdict}: {} · cIoU {:.2}", example.description, score.ciou)));
        }
    }
    let zoom = (192 / examples.example(0)?.display.width().max(1)).max(1);
    captioned_grid(&panels, 4, zoom, path).map_err(data_error)
}

/// One picture and one recording localised by a finished run: the map at the picture's own size (`[H · W]`,
/// row-major, the attention's probabilities bilinearly upsampled) and the picture lit by it.
pub fn localise(run: &Path, picture: &RgbImage, audio: Audio, device: &Device) -> Result<(Vec<f32>, RgbImage), RunError> {
    let (config, model) = load_model::<Localisation>(run, device)?;
    let [channels, side] = config.source.picture_shape()?;
    let grid = config.grid()?;
    let scaled = image::imageops::resize(picture, side as u32, side as u32, FilterType::Triangle);
    let input = match config.source {
        LocalisationSource::DigitGrids(_) => {
            // White digits on black, as MNIST: the grey level is the channels' mean.
            let mut grey: Vec<f32> = scaled.pixels().map(|p| p.0.iter().map(|&c| c as f32).sum::<f32>() / (3.0 * 255.0)).collect();
            Normalize::mnist().apply_to(&mut grey);
            grey
        }
        LocalisationSource::Shapes(_) => picture_input(&scaled),
    };
    let sound = config.source.sound_reading()?.row(audio)?;
    let item = LocalisationItem { picture: input, sound, truth: vec![0.0; side * side], labelled: false, index: 0 };
    let batch = LocalisationBatcher { channels, side, grid }.batch(vec![item], device);
    let alpha = maps(&model, &batch)?.remove(0);
    let (width, height) = picture.dimensions();
    let heat = upsample_bilinear(&alpha, grid[0], grid[1], height as usize, width as usize);
    Ok((heat, attention_overlay(picture, &alpha, grid[0], grid[1])))
}

/// Saves `lit` as the PNG `output` and `heat` (`[H · W]` at `lit`'s size) beside it as `.npy` (`[H, W]`
/// float32), both through temporary files; returns the `.npy`'s path.
pub fn save_localised(output: &Path, lit: &RgbImage, heat: &[f32]) -> Result<std::path::PathBuf, RunError> {
    let (width, height) = lit.dimensions();
    let array = ndarray::ArrayView2::from_shape((height as usize, width as usize), heat).map_err(|e| RunError::invalid(output, e))?;
    let npy = output.with_extension("npy");
    mm_audio::write_npy(&npy, array).map_err(data_error)?;
    mm_vision::save_png(output, lit).map_err(data_error)?;
    Ok(npy)
}

/// The localisation reports of several runs: each source its own block, each run's maps, then the first run's
/// baselines.
pub type LocalisationTable = crate::systems::SavedReports<LocalisationReport>;

impl crate::systems::SavedReport for LocalisationReport {
    const FILE: &'static str = REPORT_FILE;
    const WHAT: &'static str = "the localisation report";
}

fn table_row(name: &str, s: &LocalisationSummary) -> String {
    format!("  {name:<34} {:>8.4} {:>8.4} {:>9.4} {:>10.4} {:>8.4} {:>9.4}", s.success, s.auc, s.mean_ciou, s.success_median, s.auc_median, s.pointing)
}

impl std::fmt::Display for LocalisationTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sources: Vec<&str> = self.reports.iter().map(|r| r.source.as_str()).collect();
        sources.dedup();
        let mut lines = Vec::new();
        for source in sources {
            let block: Vec<(&LocalisationReport, &std::path::PathBuf)> = self.reports.iter().zip(&self.runs).filter(|(r, _)| r.source == source).collect();
            let first = block[0].0;
            lines.push(format!("{source}, {} test pictures; cIoU at normalised map ≥ {} and by LVS's median rule:", first.model.examples, first.threshold));
            lines.push(format!("  {:<34} {:>8} {:>8} {:>9} {:>10} {:>8} {:>9}", "maps", "cIoU≥.5", "AUC", "mean cIoU", "med cIoU≥.5", "med AUC", "pointing"));
            for (report, run) in &block {
                let labels = if report.labelled_fraction > 0.0 { format!(" ({:.0}% labels)", 100.0 * report.labelled_fraction) } else { String::new() };
                lines.push(format!("{}  [{}]", table_row(&format!("{}{labels}", report.supervision), &report.model), run.display()));
            }
            lines.push(table_row("centre prior", &first.centre_prior));
            lines.push(table_row("uniform map", &first.uniform));
        }
        write!(f, "{}", lines.join("\n"))
    }
}

/// After training: the table of the run; `eval`: the run evaluated on the test split again (its report
/// rewritten), in one table with the `--compare` runs' saved reports.
impl crate::systems::System for Localisation {
    fn after_training(run: &std::path::Path, _: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        crate::systems::table_of_run::<Self, LocalisationReport>(run)
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        crate::systems::eval_with_table::<Self, LocalisationReport>(request)
    }
}
