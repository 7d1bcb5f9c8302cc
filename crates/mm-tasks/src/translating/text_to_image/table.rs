//! The table `train text-to-image` and `eval text-to-image [--compare RUN …]` print: one row per run, MNIST
//! and shapes runs in their own tables.

use serde::{Deserialize, Deserializer, Serialize};

use super::TextToImage;
use super::report::{REPORT_FILE, TextToImageReport};
use super::shapes_report::ShapesTextToImageReport;
use crate::runner::RunError;

/// A text-to-image run's saved report: MNIST's or the shapes world's.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SavedTextToImage {
    /// A run on MNIST with text.
    Mnist(TextToImageReport),
    /// A run on shapes scenes.
    Shapes(ShapesTextToImageReport),
}

impl<'de> Deserialize<'de> for SavedTextToImage {
    /// Read once; a shapes report has fields an MNIST one lacks, so it is tried first, and an MNIST report's
    /// error is the one given.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = serde_json::Value::deserialize(deserializer)?;
        match serde_json::from_value(saved.clone()) {
            Ok(shapes) => Ok(SavedTextToImage::Shapes(shapes)),
            Err(_) => serde_json::from_value(saved).map(SavedTextToImage::Mnist).map_err(serde::de::Error::custom),
        }
    }
}

/// The reports of several text-to-image runs: one row per run (MNIST and shapes runs in their own tables).
pub type TextToImageTable = crate::systems::SavedReports<SavedTextToImage>;

impl crate::systems::SavedReport for SavedTextToImage {
    const FILE: &'static str = REPORT_FILE;
    const WHAT: &'static str = "the report";
}

impl std::fmt::Display for TextToImageTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = || self.runs.iter().zip(&self.reports);
        let mnist: Vec<_> = rows().filter_map(|(run, report)| if let SavedTextToImage::Mnist(m) = report { Some((run, m)) } else { None }).collect();
        let mut lines = Vec::new();
        if !mnist.is_empty() {
            lines.push("MNIST: consistency = share of pictures from each test sentence alone the judge reads as its digit (chance 0.1)".to_string());
            lines.push(format!(
                "{:<12} {:>17} {:>10} {:>9} {:>9} {:>10} {:>11} {:>10}  run",
                "network", "consistency ± 95%", "(training)", "(judge)", "FID", "FID floor", "(untrained)", "diversity"
            ));
            for (run, r) in mnist {
                lines.push(format!(
                    "{:<12} {:>10.4} ± {:.3} {:>10.4} {:>9.4} {:>9.3} {:>10.3} {:>11.3} {:>10.3}  {}",
                    r.variant,
                    r.consistency,
                    r.consistency_interval,
                    r.consistency_training_sentences,
                    r.judge_on_real,
                    r.fid,
                    r.fid_real_floor,
                    r.fid_untrained,
                    r.diversity_ratio,
                    run.display()
                ));
            }
        }
        let shapes: Vec<_> = rows().filter_map(|(run, report)| if let SavedTextToImage::Shapes(s) = report { Some((run, s)) } else { None }).collect();
        if !shapes.is_empty() {
            lines.push(
                "shapes: share of generated pictures whose objects have the caption's colour, shape, size; the caption true (relation included)".to_string(),
            );
            lines.push(format!(
                "{:<12} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>10}  run",
                "network", "objects", "colour", "shape", "size", "caption", "(judge)", "FID", "FID floor", "diversity"
            ));
            for (run, r) in shapes {
                let diversity = r.diversity_ratio.map_or("–".to_string(), |d| format!("{d:.3}"));
                lines.push(format!(
                    "{:<12} {:>7} {:>7.4} {:>7.4} {:>7.4} {:>8.4} {:>8.4} {:>8.3} {:>9.3} {:>10}  {}",
                    r.variant,
                    r.objects,
                    r.generated.colour,
                    r.generated.shape,
                    r.generated.size,
                    r.generated.caption,
                    r.judge_on_real.caption,
                    r.fid,
                    r.fid_real_floor,
                    diversity,
                    run.display()
                ));
            }
        }
        lines.push(
            "(FID and diversity in the text encoder's image encoder's pooled features; diversity: generated over real mean pairwise distance; (judge): the judge on real test pictures)"
                .to_string(),
        );
        write!(f, "{}", lines.join("\n"))
    }
}

/// After training: the table of the run; `eval`: the run evaluated on the test split again (its report
/// rewritten), in one table with the `--compare` runs' saved reports.
impl crate::systems::System for TextToImage {
    fn after_training(run: &std::path::Path, _: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        crate::systems::table_of_run::<Self, SavedTextToImage>(run)
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        crate::systems::eval_with_table::<Self, SavedTextToImage>(request)
    }
}
