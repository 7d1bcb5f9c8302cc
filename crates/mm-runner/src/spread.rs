//! Means with 95% intervals over a few runs or test sets (seeds, splits, independent test sets).

use serde::Serialize;

/// Half-width of a 95% interval of the mean of `values` (Student's t); NaN for fewer than two values.
pub fn interval_95(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return f64::NAN;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    t_975(n - 1) * sd / (n as f64).sqrt()
}

/// [`interval_95`] for a field a report saves: 0 where it is undefined (fewer than two values), since JSON has no
/// NaN (serde writes it as null, which does not read back as a number).
pub fn interval_95_or_zero(values: &[f64]) -> f64 {
    let half = interval_95(values);
    if half.is_finite() { half } else { 0.0 }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom: tabulated for 1–30 (scipy's `t.ppf(0.975, df)`
/// to three decimals), beyond that 1.96 + 2.4/df, within 0.003 of it.
fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
        2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96 + 2.4 / df as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_use_student_t_for_every_count() {
        // scipy.stats.t.ppf(0.975, df) for df 2, 14, 40, 120: 4.3027, 2.1448, 2.0211, 1.9799.
        for (df, expected) in [(2, 4.3027), (14, 2.1448), (40, 2.0211), (120, 1.9799)] {
            assert!((t_975(df) - expected).abs() < 2e-3, "df {df}: {} vs {expected}", t_975(df));
        }
        // Three values 1, 2, 3: sd 1, so 4.303 / √3.
        assert!((interval_95(&[1.0, 2.0, 3.0]) - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert!(interval_95(&[1.0]).is_nan());
    }
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
