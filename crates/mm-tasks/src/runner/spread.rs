//! Means with 95% intervals over a few runs or test sets (seeds, splits, independent test sets).

use serde::Serialize;

/// Half-width of a 95% interval of the mean of `values` (Student's t).
pub fn interval_95(values: &[f64]) -> f64 {
    // t(0.975, n − 1) for n = 2..=11; beyond, the normal's 1.96 is close enough.
    const T: [f64; 10] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
    let n = values.len();
    if n < 2 {
        return f64::NAN;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    T.get(n - 2).copied().unwrap_or(1.96) * sd / (n as f64).sqrt()
}

/// A measure over several runs: the mean, the half-width of its 95% interval (Student's t) and every value.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    /// The mean.
    pub mean: f64,
    /// Half-width of the 95% interval of the mean.
    pub interval_95: f64,
    /// Each run's value.
    pub values: Vec<f64>,
}

impl Spread {
    /// The spread of `values`.
    pub fn new(values: Vec<f64>) -> Self {
        Self { mean: values.iter().sum::<f64>() / values.len().max(1) as f64, interval_95: interval_95(&values), values }
    }
}
