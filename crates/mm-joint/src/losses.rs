//! Metric losses over a batch of aligned pairs: row i of `a` matches row i of `b`, every other row is a negative.
//! Both inputs are `[B, D]` embeddings; the losses L2-normalise them, so scores are cosine similarities.

use burn::tensor::activation::relu;
use burn::tensor::{Int, Tensor};
use burn::nn::loss::CrossEntropyLossConfig;

/// Rows scaled to unit length (`[B, D]` → `[B, D]`).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Cosine similarity of every row of `a` with every row of `b`: `[B, B]`, true pairs on the diagonal.
pub fn similarity_matrix(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    l2_normalize(a).matmul(l2_normalize(b).transpose())
}

/// Symmetric InfoNCE (CLIP's loss): cross-entropy of picking the true partner among the batch, from `a` to `b`
/// and from `b` to `a`, on similarities divided by `temperature` (`[1]`, e.g. a learnable parameter's `exp`).
/// Returns `[1]`.
pub fn info_nce(a: Tensor<2>, b: Tensor<2>, temperature: Tensor<1>) -> Tensor<1> {
    let [batch, _] = a.dims();
    let device = a.device();
    let logits = similarity_matrix(a, b) / temperature.reshape([1, 1]);
    let targets = Tensor::<1, Int>::arange(0..batch as i64, &device);
    let loss = CrossEntropyLossConfig::new().init(&device);
    (loss.forward(logits.clone(), targets.clone()) + loss.forward(logits.transpose(), targets)) / 2.0
}

/// The hinge triplet loss of VSE++ (Faghri et al. 2018) in both directions: for each anchor, `margin` minus the
/// true pair's similarity plus a negative's similarity, clipped at zero — summed over all negatives
/// (`hardest = false`, VSE0) or taken for the hardest negative only (`hardest = true`, the max-violation loss).
/// Mean over the batch; returns `[1]`.
pub fn triplet_loss(a: Tensor<2>, b: Tensor<2>, margin: f32, hardest: bool) -> Tensor<1> {
    let [batch, _] = a.dims();
    let device = a.device();
    let scores = similarity_matrix(a, b);
    let eye = Tensor::<2>::eye(batch, &device);
    let positive = (scores.clone() * eye.clone()).sum_dim(1); // [B, 1]: s(a_i, b_i)
    let off_diagonal = eye.neg() + 1.0;
    // cost_b[i, j] = [margin - s(a_i, b_i) + s(a_i, b_j)]+ for j ≠ i (negatives of a_i among b),
    // cost_a[i, j] = [margin - s(a_j, b_j) + s(a_i, b_j)]+ for i ≠ j (negatives of b_j among a).
    let cost_b = relu(scores.clone() - positive.clone() + margin) * off_diagonal.clone();
    let cost_a = relu(scores - positive.transpose() + margin) * off_diagonal;
    let (per_a, per_b) = if hardest {
        (cost_b.max_dim(1).reshape([batch]), cost_a.max_dim(0).reshape([batch]))
    } else {
        (cost_b.sum_dim(1).reshape([batch]), cost_a.sum_dim(0).reshape([batch]))
    };
    (per_a + per_b).mean()
}

/// Pairwise contrastive loss (Hadsell et al. 2006) on Euclidean distances `d` between normalised embeddings:
/// `same · d² + (1 − same) · [margin − d]+²`, averaged. `same` is `[B]`, 1 for a matching pair, 0 otherwise.
pub fn contrastive_loss(a: Tensor<2>, b: Tensor<2>, same: Tensor<1>, margin: f32) -> Tensor<1> {
    let distance = (l2_normalize(a) - l2_normalize(b)).powf_scalar(2.0).sum_dim(1).clamp_min(1e-12).sqrt().flatten::<1>(0, 1);
    let pull = same.clone() * distance.clone().powf_scalar(2.0);
    let push = (same.neg() + 1.0) * relu(distance.neg() + margin).powf_scalar(2.0);
    (pull + push).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn tensor(rows: &[[f32; 2]]) -> Tensor<2> {
        let data: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(data, [rows.len(), 2]), &Device::flex())
    }

    fn value(t: Tensor<1>) -> f32 {
        t.into_scalar()
    }

    #[test]
    fn triplet_losses_match_a_hand_computation() {
        // a = (1,0), (0,1); b = (1,0), (0.6,0.8). Similarities: s = [[1, 0.6], [0, 0.8]]; positives 1 and 0.8.
        let (a, b) = (tensor(&[[1.0, 0.0], [0.0, 1.0]]), tensor(&[[1.0, 0.0], [3.0, 4.0]]));
        // margin 0.5: cost_b = [[-, 0.5-1+0.6=0.1], [0.5-0.8+0=-0.3→0, -]]; cost_a = [[-, 0.5-0.8+0.6=0.3],
        // [0.5-1+0=-0.5→0, -]]. Per anchor: a_0 (0.1 + 0), a_1 (0 + 0.3) → sum 0.4, mean 0.2 (one negative each,
        // so hardest = sum).
        assert!((value(triplet_loss(a.clone(), b.clone(), 0.5, true)) - 0.2).abs() < 1e-6);
        assert!((value(triplet_loss(a.clone(), b.clone(), 0.5, false)) - 0.2).abs() < 1e-6);
        assert_eq!(value(triplet_loss(a.clone(), a.clone(), 0.5, true)), 0.0, "orthogonal pairs: no violation");
    }

    #[test]
    fn info_nce_matches_a_hand_computation() {
        let (a, b) = (tensor(&[[1.0, 0.0], [0.0, 1.0]]), tensor(&[[1.0, 0.0], [3.0, 4.0]]));
        let t = Tensor::<1>::from_floats([0.5], &Device::flex());
        // logits = s / 0.5 = [[2, 1.2], [0, 1.6]]. Rows: -ln softmax → row 0: ln(1+e^-0.8), row 1: ln(1+e^-1.6).
        // Columns: col 0: [2, 0] → ln(1+e^-2); col 1: [1.2, 1.6] → ln(1+e^-0.4).
        let f = |x: f32| (1.0 + (-x).exp()).ln();
        let expected = ((f(0.8) + f(1.6)) / 2.0 + (f(2.0) + f(0.4)) / 2.0) / 2.0;
        assert!((value(info_nce(a, b, t)) - expected).abs() < 1e-5);
    }

    #[test]
    fn contrastive_pulls_matches_and_pushes_others() {
        let (a, b) = (tensor(&[[1.0, 0.0], [1.0, 0.0]]), tensor(&[[0.0, 2.0], [0.0, 2.0]]));
        let device = Device::flex();
        // Distance between (1,0) and (0,1) is √2; a matching pair costs 2, a non-matching one [1 − √2]+² = 0.
        let same = Tensor::<1>::from_floats([1.0, 0.0], &device);
        assert!((value(contrastive_loss(a, b, same, 1.0)) - 1.0).abs() < 1e-5);
    }
}
