//! The Fréchet distance between two sets of features, each summarised by its mean and covariance — FID when the
//! features are an image network's (Heusel et al. 2017):
//! `‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2 tr((Σ₁ Σ₂)^½)`, computed as pytorch-fid computes it (covariances with
//! N − 1) but with `tr((Σ₁ Σ₂)^½)` taken exactly, as the sum of the square roots of the eigenvalues of the
//! symmetric `Σ₁^½ Σ₂ Σ₁^½` (the same eigenvalues as `Σ₁ Σ₂`), in f64.
//!
//! ```
//! use mm_generate::frechet::FeatureStatistics;
//!
//! let a = FeatureStatistics::of(&[0.0, 0.0, 1.0, 1.0, 2.0, 0.0], 2).unwrap();
//! let shifted = FeatureStatistics::of(&[3.0, 0.0, 4.0, 1.0, 5.0, 0.0], 2).unwrap();
//! assert!(a.frechet_distance(&a).abs() < 1e-9);
//! assert!((a.frechet_distance(&shifted) - 9.0).abs() < 1e-9); // only the means differ, by 3
//! ```

/// The mean and covariance of a set of feature rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStatistics {
    /// `[d]`.
    pub mean: Vec<f64>,
    /// `[d, d]` row-major, normalised by N − 1.
    pub covariance: Vec<f64>,
    /// Rows summarised.
    pub count: usize,
}

impl FeatureStatistics {
    /// The statistics of `rows` (`[N, width]` row-major); `None` with fewer than two rows.
    pub fn of(rows: &[f32], width: usize) -> Option<Self> {
        let count = rows.len().checked_div(width)?;
        if count < 2 || rows.len() != count * width {
            return None;
        }
        let mut mean = vec![0.0f64; width];
        for row in rows.chunks(width) {
            mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= count as f64);
        let mut covariance = vec![0.0f64; width * width];
        let mut centred = vec![0.0f64; width];
        for row in rows.chunks(width) {
            centred.iter_mut().zip(row.iter().zip(&mean)).for_each(|(c, (&v, m))| *c = v as f64 - m);
            for (i, &ci) in centred.iter().enumerate() {
                covariance[i * width..(i + 1) * width].iter_mut().zip(&centred).for_each(|(s, &cj)| *s += ci * cj);
            }
        }
        covariance.iter_mut().for_each(|c| *c /= (count - 1) as f64);
        Some(Self { mean, covariance, count })
    }

    /// The Fréchet distance to `other` (same width).
    ///
    /// # Panics
    /// When the widths differ.
    pub fn frechet_distance(&self, other: &FeatureStatistics) -> f64 {
        let d = self.mean.len();
        assert_eq!(d, other.mean.len(), "frechet_distance: features of width {d} and {}", other.mean.len());
        let means: f64 = self.mean.iter().zip(&other.mean).map(|(a, b)| (a - b).powi(2)).sum();
        let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
        let root = symmetric_sqrt(&self.covariance, d);
        let inner = multiply(&multiply(&root, &other.covariance, d), &root, d);
        let cross: f64 = symmetric_eigenvalues(&inner, d).iter().map(|&l| l.max(0.0).sqrt()).sum();
        means + trace(&self.covariance) + trace(&other.covariance) - 2.0 * cross
    }
}

fn multiply(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            out[i * d..(i + 1) * d].iter_mut().zip(&b[k * d..(k + 1) * d]).for_each(|(o, &bkj)| *o += aik * bkj);
        }
    }
    out
}

/// The square root of a symmetric positive semi-definite matrix, from its eigen-decomposition (negative
/// eigenvalues from rounding taken as 0).
fn symmetric_sqrt(m: &[f64], d: usize) -> Vec<f64> {
    let (values, vectors) = jacobi(m, d);
    let mut out = vec![0.0; d * d];
    for (k, &value) in values.iter().enumerate() {
        let s = value.max(0.0).sqrt();
        for i in 0..d {
            let vik = vectors[i * d + k] * s;
            out[i * d..(i + 1) * d].iter_mut().enumerate().for_each(|(j, o)| *o += vik * vectors[j * d + k]);
        }
    }
    out
}

fn symmetric_eigenvalues(m: &[f64], d: usize) -> Vec<f64> {
    jacobi(m, d).0
}

/// Cyclic Jacobi rotations: the eigenvalues and the eigenvectors (as columns) of a symmetric matrix, to
/// rounding.
fn jacobi(m: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    // Symmetrise what rounding made slightly asymmetric (Σ₁^½ Σ₂ Σ₁^½ computed in floating point).
    for i in 0..d {
        for j in 0..i {
            let mean = (a[i * d + j] + a[j * d + i]) / 2.0;
            (a[i * d + j], a[j * d + i]) = (mean, mean);
        }
    }
    let mut v = vec![0.0; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d).flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * d + j].powi(2)).sum();
        if off.sqrt() <= 1e-15 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let mut values = symmetric_eigenvalues(&[2.0, 1.0, 1.0, 2.0], 2);
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12);
        let root = symmetric_sqrt(&[4.0, 0.0, 0.0, 9.0], 2);
        assert!((root[0] - 2.0).abs() < 1e-12 && (root[3] - 3.0).abs() < 1e-12 && root[1].abs() < 1e-12);
    }

    #[test]
    fn scaled_gaussians_have_the_closed_form_distance() {
        // Σ₁ = I, Σ₂ = 4I in d dimensions: tr = d + 4d − 2·2d = d.
        let d = 3;
        let eye: Vec<f64> = (0..d * d).map(|k| if k % (d + 1) == 0 { 1.0 } else { 0.0 }).collect();
        let a = FeatureStatistics { mean: vec![0.0; d], covariance: eye.clone(), count: 10 };
        let b = FeatureStatistics { mean: vec![1.0; d], covariance: eye.iter().map(|x| 4.0 * x).collect(), count: 10 };
        assert!((a.frechet_distance(&b) - (3.0 + 3.0)).abs() < 1e-9);
        assert!(FeatureStatistics::of(&[1.0, 2.0], 2).is_none());
    }
}
