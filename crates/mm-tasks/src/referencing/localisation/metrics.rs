//! Localisation metrics as the field computes them — the evaluation code of Chen et al. 2021 ("Localizing Visual
//! Sounds the Hard Way", LVS), which later work reuses: the map upsampled bilinearly to the picture (OpenCV's
//! `INTER_LINEAR`), min-max normalised, binarised; the consensus IoU
//! `cIoU = Σ pred · gt / (Σ gt + Σ pred · [gt = 0])`; the success rate at cIoU ≥ 0.5 and the area under the
//! success rate over cIoU thresholds 0, 0.05, …, 1 (trapezoids, as `sklearn.metrics.auc`). LVS binarises at the
//! map's median ([`Binarisation::Median`]), which predicts half the picture: right for its data sets, whose
//! sounding objects are large, but a bound of `2 · area` on the cIoU of a source that covers less than a quarter
//! of the picture; [`Binarisation::Fixed`] keeps the normalised map's values at or above a threshold instead.
//! Beside them the pointing game (the map's peak inside the ground truth) and two baselines, a centre prior and a
//! uniform map. `tests/localisation.rs` checks this against LVS's code run in Python.

use serde::{Deserialize, Serialize};

/// How a normalised map becomes the predicted region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Binarisation {
    /// LVS's rule: the pixels above the map's median value (`sorted[N / 2]`; a pixel at the maximum 1 stays in).
    Median,
    /// The pixels whose normalised value is at least `threshold`.
    Fixed {
        /// In [0, 1].
        threshold: f32,
    },
}

impl Binarisation {
    /// The predicted mask (1 inside) of a map at the picture's size, min-max normalised by the rule's own
    /// arithmetic: LVS computes `1 − normalize(−map)`, whose roundings decide the pixels tied at the median.
    pub fn mask(&self, map: &[f32]) -> Vec<f32> {
        let (low, high) = map.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        match *self {
            Binarisation::Fixed { threshold } => {
                let mut normalised = map.to_vec();
                min_max_normalise(&mut normalised);
                normalised.iter().map(|&v| (v >= threshold) as u8 as f32).collect()
            }
            Binarisation::Median => {
                let normalised: Vec<f32> =
                    if high > low { map.iter().map(|&v| 1.0 - (high - v) / (high - low)).collect() } else { map.iter().map(|&v| 1.0 + v).collect() };
                let mut sorted = normalised.clone();
                sorted.sort_by(f32::total_cmp);
                let threshold = sorted[sorted.len() / 2];
                normalised.iter().map(|&v| (v > threshold || v >= 1.0) as u8 as f32).collect()
            }
        }
    }

    /// A short name for tables.
    pub fn name(&self) -> String {
        match self {
            Binarisation::Median => "median (LVS)".into(),
            Binarisation::Fixed { threshold } => format!("≥ {threshold}"),
        }
    }
}

/// `map` (`[rows, columns]` row-major) resized to `[height, width]` bilinearly with pixel centres aligned
/// (OpenCV's `INTER_LINEAR`, PyTorch's `align_corners = False`), edges clamped.
pub fn upsample_bilinear(map: &[f32], rows: usize, columns: usize, height: usize, width: usize) -> Vec<f32> {
    assert_eq!(map.len(), rows * columns, "upsample_bilinear: {} values for {rows} × {columns}", map.len());
    let source = |out: usize, from: usize, to: usize| {
        // PyTorch's arithmetic, in its order: scale · (out + 0.5) − 0.5, clamped at 0.
        let x = (from as f32 / to as f32 * (out as f32 + 0.5) - 0.5).max(0.0);
        let low = (x.floor() as usize).min(from - 1);
        (low, (low + 1).min(from - 1), x - low as f32)
    };
    let xs: Vec<(usize, usize, f32)> = (0..width).map(|x| source(x, columns, width)).collect();
    let mut out = Vec::with_capacity(height * width);
    for y in 0..height {
        let (r0, r1, ty) = source(y, rows, height);
        for &(c0, c1, tx) in &xs {
            let top = map[r0 * columns + c0] * (1.0 - tx) + map[r0 * columns + c1] * tx;
            let bottom = map[r1 * columns + c0] * (1.0 - tx) + map[r1 * columns + c1] * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

/// Scales `values` to [0, 1] by their minimum and maximum; a constant map is left as it is (as LVS's
/// `normalize_img`).
pub fn min_max_normalise(values: &mut [f32]) {
    let (low, high) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    if high > low {
        values.iter_mut().for_each(|v| *v = (*v - low) / (high - low));
    }
}

/// The consensus IoU of a predicted mask with a ground-truth map (values in [0, 1]); 0 when both are empty.
pub fn consensus_iou(predicted: &[f32], truth: &[f32]) -> f64 {
    let (mut inside, mut truth_total, mut outside) = (0.0f64, 0.0f64, 0.0f64);
    for (&p, &g) in predicted.iter().zip(truth) {
        inside += (p * g) as f64;
        truth_total += g as f64;
        if g == 0.0 {
            outside += p as f64;
        }
    }
    let union = truth_total + outside;
    if union > 0.0 { inside / union } else { 0.0 }
}

/// The share of `cious` at or above `at`.
pub fn success_rate(cious: &[f64], at: f64) -> f64 {
    cious.iter().filter(|&&c| c >= at).count() as f64 / cious.len().max(1) as f64
}

/// The area under the success rate at thresholds 0, 0.05, …, 1 (the trapezoid rule, as `sklearn.metrics.auc`).
pub fn success_auc(cious: &[f64]) -> f64 {
    let rates: Vec<f64> = (0..=20).map(|i| success_rate(cious, 0.05 * i as f64)).collect();
    rates.windows(2).map(|pair| 0.05 * (pair[0] + pair[1]) / 2.0).sum()
}

/// Whether the map's peak (`[height, width]`; the mean position of its maximal pixels, so that a flat map
/// points at its centre) lies where the ground truth is positive.
pub fn points_inside(map: &[f32], truth: &[f32], width: usize) -> bool {
    let peak = map.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut x, mut y, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for (i, _) in map.iter().enumerate().filter(|(_, v)| **v == peak) {
        x += (i % width) as f64;
        y += (i / width) as f64;
        n += 1.0;
    }
    let (x, y) = ((x / n).round() as usize, (y / n).round() as usize);
    truth.get(y * width + x).is_some_and(|&g| g > 0.0)
}

/// The centre prior: a Gaussian bump at the picture's centre with a standard deviation of a quarter side.
pub fn centre_prior(height: usize, width: usize) -> Vec<f32> {
    let (cy, cx, sy, sx) = ((height as f32 - 1.0) / 2.0, (width as f32 - 1.0) / 2.0, height as f32 / 4.0, width as f32 / 4.0);
    (0..height * width)
        .map(|i| {
            let (dy, dx) = (((i / width) as f32 - cy) / sy, ((i % width) as f32 - cx) / sx);
            (-(dx * dx + dy * dy) / 2.0).exp()
        })
        .collect()
}

/// The uniform map: every pixel 1 (so a fixed threshold predicts the whole picture and LVS's median rule keeps it
/// all too, its values being at the maximum).
pub fn uniform_map(height: usize, width: usize) -> Vec<f32> {
    vec![1.0; height * width]
}

/// One map's scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapScore {
    /// cIoU under the fixed threshold.
    pub ciou: f64,
    /// cIoU under LVS's median rule.
    pub ciou_median: f64,
    /// Whether the peak is inside the ground truth.
    pub pointing: bool,
}

/// Scores `map` (`[height, width]`, at the picture's size, any scale) against `truth` (`[height, width]` in
/// [0, 1]) with the fixed `threshold` and LVS's median rule.
pub fn score_map(map: &[f32], truth: &[f32], width: usize, threshold: f32) -> MapScore {
    MapScore {
        ciou: consensus_iou(&Binarisation::Fixed { threshold }.mask(map), truth),
        ciou_median: consensus_iou(&Binarisation::Median.mask(map), truth),
        pointing: points_inside(map, truth, width),
    }
}

/// The summary of a set of maps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalisationSummary {
    /// Maps scored.
    pub examples: usize,
    /// Success rate at cIoU ≥ 0.5 under the fixed threshold.
    pub success: f64,
    /// The success rate's AUC under the fixed threshold.
    pub auc: f64,
    /// Mean cIoU under the fixed threshold.
    pub mean_ciou: f64,
    /// Success rate at cIoU ≥ 0.5 under LVS's median rule.
    pub success_median: f64,
    /// Its AUC.
    pub auc_median: f64,
    /// Pointing-game accuracy.
    pub pointing: f64,
    /// Half-width of the 95% interval of `success` over the maps (each test picture with its sound an
    /// independent unit).
    #[serde(default)]
    pub success_interval: f64,
    /// … of `pointing`.
    #[serde(default)]
    pub pointing_interval: f64,
}

impl LocalisationSummary {
    /// The summary of `scores`.
    pub fn of(scores: &[MapScore]) -> Self {
        let fixed: Vec<f64> = scores.iter().map(|s| s.ciou).collect();
        let median: Vec<f64> = scores.iter().map(|s| s.ciou_median).collect();
        let n = scores.len().max(1) as f64;
        let interval = |hit: &dyn Fn(&MapScore) -> bool| crate::runner::interval_95_or_zero(&scores.iter().map(|s| hit(s) as u8 as f64).collect::<Vec<_>>());
        Self {
            success_interval: interval(&|s| s.ciou >= 0.5),
            pointing_interval: interval(&|s| s.pointing),
            examples: scores.len(),
            success: success_rate(&fixed, 0.5),
            auc: success_auc(&fixed),
            mean_ciou: fixed.iter().sum::<f64>() / n,
            success_median: success_rate(&median, 0.5),
            auc_median: success_auc(&median),
            pointing: scores.iter().filter(|s| s.pointing).count() as f64 / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciou_counts_the_truth_and_what_is_predicted_outside_it() {
        // 2 × 3 picture; truth the left column pair and a half-weight pixel (a consensus of two annotators).
        let truth = [1.0, 0.5, 0.0, 1.0, 0.0, 0.0];
        let predicted = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        // inside = 1 + 0.5; Σ gt = 2.5; predicted where gt = 0: 1 → 1.5 / 3.5.
        assert!((consensus_iou(&predicted, &truth) - 1.5 / 3.5).abs() < 1e-12);
        assert_eq!(consensus_iou(&[0.0; 6], &[0.0; 6]), 0.0);
        assert_eq!(consensus_iou(&truth.map(|g: f32| (g > 0.0) as u8 as f32), &truth.map(|g: f32| (g > 0.0) as u8 as f32)), 1.0);
    }

    #[test]
    fn binarisation_by_median_keeps_the_upper_half_and_by_threshold_what_reaches_it() {
        let normalised = [0.0, 0.1, 0.2, 0.3, 0.6, 1.0];
        // sorted[3] = 0.3: strictly above it.
        assert_eq!(Binarisation::Median.mask(&normalised), vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(Binarisation::Fixed { threshold: 0.2 }.mask(&normalised), vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        // A flat map of ones stays whole under both.
        assert_eq!(Binarisation::Median.mask(&[1.0; 4]), vec![1.0; 4]);
    }

    #[test]
    fn success_and_auc_by_hand() {
        let cious = [0.0, 0.25, 0.5, 1.0];
        assert_eq!(success_rate(&cious, 0.5), 0.5);
        // Rates: t = 0 → 1; (0, 0.25] → 0.75; (0.25, 0.5] → 0.5; (0.5, 1] → 0.25.
        // Trapezoids: 0.05 · (1 + 0.75)/2 + 4 · 0.05 · 0.75 + 0.05 · (0.75 + 0.5)/2 + 4 · 0.05 · 0.5
        //   + 0.05 · (0.5 + 0.25)/2 + 9 · 0.05 · 0.25 = 0.04375 + 0.15 + 0.03125 + 0.1 + 0.01875 + 0.1125.
        assert!((success_auc(&cious) - 0.45625).abs() < 1e-12, "{}", success_auc(&cious));
        assert!((success_auc(&[1.0; 3]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn upsampling_reproduces_constant_maps_and_interpolates_between_centres() {
        assert!(upsample_bilinear(&[0.3; 4], 2, 2, 5, 7).iter().all(|v| (v - 0.3).abs() < 1e-6));
        // 1 × 2 → 1 × 4: centres of the source at output x = 0.5 and 2.5; outputs 0, 0.25, 0.75, 1 of the step.
        assert_eq!(upsample_bilinear(&[0.0, 1.0], 1, 2, 1, 4), vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn a_map_on_the_truth_scores_fully_and_the_baselines_point_at_the_centre() {
        // 4 × 4 truth: the top-left 2 × 2 quarter.
        let truth: Vec<f32> = (0..16).map(|i| ((i % 4) < 2 && (i / 4) < 2) as u8 as f32).collect();
        let score = score_map(&truth, &truth, 4, 0.5);
        assert_eq!((score.ciou, score.pointing), (1.0, true));
        // LVS's median rule keeps the upper half of the pixels: here exactly the four ones (the max stays in).
        assert_eq!(score.ciou_median, 1.0);
        let uniform = score_map(&uniform_map(4, 4), &truth, 4, 0.5);
        assert_eq!(uniform.ciou, 0.25);
        // The centre (1.5, 1.5) rounds to pixel (2, 2), outside the quarter.
        assert!(!uniform.pointing && !score_map(&centre_prior(4, 4), &truth, 4, 0.5).pointing);
        let summary = LocalisationSummary::of(&[score, uniform]);
        assert_eq!((summary.examples, summary.success, summary.pointing), (2, 0.5, 0.5));
    }
}
