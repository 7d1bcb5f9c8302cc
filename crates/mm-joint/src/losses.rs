//! Metric losses over a batch of aligned pairs: row i of `a` matches row i of `b`, every other row is a negative.
//! Both inputs are `[B, D]` embeddings; the losses L2-normalise them, so scores are cosine similarities.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use mm_joint::losses::{triplet_loss, Negatives};
//!
//! let device = Device::flex();
//! let a = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0]], &device);
//! let b = Tensor::<2>::from_floats([[1.0, 0.0], [0.6, 0.8]], &device);
//! let loss: f32 = triplet_loss(a, b, 0.5, Negatives::SemiHard).into_scalar();
//! assert!((loss - 0.2).abs() < 1e-6);
//! ```

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Int, Tensor};

use mm_runner::gather::{gather_rows, global_loss};

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
///
/// Under data-parallel training the negatives are the global batch's ([`mm_runner::gather`]).
pub fn info_nce(a: Tensor<2>, b: Tensor<2>, temperature: Tensor<1>) -> Tensor<1> {
    let (a, b) = (gather_rows(a), gather_rows(b));
    let [batch, _] = a.dims();
    let device = a.device();
    let logits = similarity_matrix(a, b) / temperature.reshape([1, 1]);
    let targets = Tensor::<1, Int>::arange(0..batch as i64, &device);
    let loss = CrossEntropyLossConfig::new().init(&device);
    global_loss((loss.forward(logits.clone(), targets.clone()) + loss.forward(logits.transpose(), targets)) / 2.0)
}

/// InfoNCE when rows come in groups whose members are interchangeable (captions of one class, pictures of one
/// class): each row's target is spread evenly over the rows of its group in the other set, in both directions,
/// so that a same-group row is never pushed away as a negative. `groups` `[B]`; `temperature` divides the
/// cosines. Returns `[1]`; with every group a single row it is [`info_nce`]. Negatives come from the global batch
/// under data-parallel training.
pub fn grouped_info_nce(a: Tensor<2>, b: Tensor<2>, groups: Tensor<1, Int>, temperature: f32) -> Tensor<1> {
    let [rows] = groups.dims();
    // Group ids travel as floats, exact for ids below 2^24.
    let groups = gather_rows(groups.float().reshape([rows, 1])).reshape([-1]).int();
    let (a, b) = (gather_rows(a), gather_rows(b));
    let [batch, _] = a.dims();
    let logits = similarity_matrix(a, b) / temperature;
    let same = groups.clone().reshape([batch, 1]).expand([batch, batch]).equal(groups.reshape([1, batch]).expand([batch, batch])).float();
    let targets = same.clone() / same.sum_dim(1);
    let one_way = |logits: Tensor<2>| (targets.clone() * log_softmax(logits, 1)).sum_dim(1).mean().neg();
    global_loss((one_way(logits.clone()) + one_way(logits.transpose())) / 2.0)
}

/// Which negatives a triplet loss charges each anchor for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Negatives {
    /// Every negative of the batch, summed (VSE0).
    All,
    /// Only the hardest negative, the one most similar to the anchor (VSE++'s max-violation loss).
    #[default]
    Hardest,
    /// FaceNet's semi-hard negative: the most similar negative that is still less similar than the true
    /// partner; where none is, the least similar negative (the choice of TensorFlow's `triplet_semihard_loss`).
    SemiHard,
}

/// The hinge triplet loss in both directions (`a` anchors against negatives among `b`, and `b` anchors against
/// negatives among `a`): `[margin − s(a_i, b_i) + s(a_i, b_j)]+` for the negatives `j` chosen by `negatives`.
/// Mean over the batch; returns `[1]`. Negatives come from the global batch under data-parallel training.
pub fn triplet_loss(a: Tensor<2>, b: Tensor<2>, margin: f32, negatives: Negatives) -> Tensor<1> {
    global_loss(triplet_loss_of_scores(similarity_matrix(gather_rows(a), gather_rows(b)), margin, negatives))
}

/// [`triplet_loss`] on given scores `[B, B]` in [−1, 1] (true pairs on the diagonal; row `i` is anchor `i`'s
/// scores against every candidate, column `j` candidate `j`'s against every anchor): for pairs scored by more
/// than two embeddings' cosine, such as a picture attended by each sound. Returns `[1]`. The scores are the
/// caller's: under data-parallel training they cover one replica's shard unless the caller gathers.
pub fn triplet_loss_of_scores(scores: Tensor<2>, margin: f32, negatives: Negatives) -> Tensor<1> {
    (one_way_triplet(scores.clone(), margin, negatives) + one_way_triplet(scores.transpose(), margin, negatives)).mean()
}

/// Per-anchor triplet costs `[B]` of rows (anchors) against columns (candidates, the true one on the diagonal).
fn one_way_triplet(scores: Tensor<2>, margin: f32, negatives: Negatives) -> Tensor<1> {
    let [batch, _] = scores.dims();
    let eye = Tensor::<2>::eye(batch, &scores.device());
    let off_diagonal = eye.clone().neg() + 1.0;
    let positive = (scores.clone() * eye.clone()).sum_dim(1); // [B, 1]
    let cost = |negative: Tensor<2>| relu(negative - positive.clone() + margin);
    match negatives {
        Negatives::All => (cost(scores) * off_diagonal).sum_dim(1).reshape([batch]),
        // Cosines lie in [−1, 1]: adding ∓4 takes a candidate out of a max or a min.
        Negatives::Hardest => cost((scores - eye * 4.0).max_dim(1)).reshape([batch]),
        Negatives::SemiHard => {
            let easier = (scores.clone() - positive.clone()).lower_elem(0.0).float() * off_diagonal;
            let semi_hard = (scores.clone() - (easier.clone().neg() + 1.0) * 4.0).max_dim(1);
            let easiest = (scores + eye * 4.0).min_dim(1);
            let found = easier.sum_dim(1).greater_elem(0.0).float();
            let chosen = semi_hard * found.clone() + easiest * (found.neg() + 1.0);
            cost(chosen).reshape([batch])
        }
    }
}

/// PyTorch's `CosineEmbeddingLoss`, the loss of im2recipe: `1 − cos(a_i, b_i)` where `target_i = 1` (a match)
/// and `[cos(a_i, b_i) − margin]+` where `target_i = −1`. Mean over the batch; returns `[1]`.
pub fn cosine_embedding_loss(a: Tensor<2>, b: Tensor<2>, target: Tensor<1>, margin: f32) -> Tensor<1> {
    let cosine = (l2_normalize(a) * l2_normalize(b)).sum_dim(1).flatten::<1>(0, 1);
    let matched = (target + 1.0) / 2.0;
    let pull = matched.clone() * (cosine.clone().neg() + 1.0);
    let push = (matched.neg() + 1.0) * relu(cosine - margin);
    (pull + push).mean()
}

/// Knowledge distillation (Hinton et al. 2015; SoundNet's objective): `KL(teacher ‖ softmax(student / T))`,
/// summed over classes, averaged over the batch, times `T²` so that gradients keep their size across
/// temperatures. `teacher` holds probabilities `[B, K]` (already softened, if wanted); returns `[1]`.
pub fn distillation_kl(student_logits: Tensor<2>, teacher: Tensor<2>, temperature: f32) -> Tensor<1> {
    let log_student = log_softmax(student_logits / temperature, 1);
    let log_teacher = teacher.clone().clamp_min(1e-12).log();
    (teacher * (log_teacher - log_student)).sum_dim(1).mean() * (temperature * temperature)
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

    #[test]
    fn grouped_info_nce_is_info_nce_for_singleton_groups_and_ignores_same_group_rows() {
        let device = Device::flex();
        let a = tensor(&[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]);
        let b = tensor(&[[0.9, 0.1], [0.2, 0.9], [0.5, 0.7]]);
        let distinct = Tensor::<1, Int>::from_data(TensorData::from([0i64, 1, 2]), &device);
        let grouped: f32 = grouped_info_nce(a.clone(), b.clone(), distinct, 0.5).into_scalar();
        let plain: f32 = info_nce(a, b, Tensor::from_floats([0.5], &device)).into_scalar();
        assert!((grouped - plain).abs() < 1e-5, "{grouped} vs {plain}");
        // Two identical rows of one group, well apart from the third: the loss is at its floor, the targets'
        // entropy (log 2 for each twin, 0 for the third), not charged for the twin as a negative.
        let twins = tensor(&[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]);
        let groups = Tensor::<1, Int>::from_data(TensorData::from([0i64, 0, 1]), &device);
        let loss: f32 = grouped_info_nce(twins.clone(), twins, groups, 0.01).into_scalar();
        assert!((loss - 2.0 * std::f32::consts::LN_2 / 3.0).abs() < 1e-3, "{loss}");
    }

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
        // so hardest = sum = semi-hard: a_0's negative 0.6 < 1 is semi-hard; a_1's only negative 0 < 0.8 too).
        assert!((value(triplet_loss(a.clone(), b.clone(), 0.5, Negatives::Hardest)) - 0.2).abs() < 1e-6);
        assert!((value(triplet_loss(a.clone(), b.clone(), 0.5, Negatives::All)) - 0.2).abs() < 1e-6);
        assert!((value(triplet_loss(a.clone(), b.clone(), 0.5, Negatives::SemiHard)) - 0.2).abs() < 1e-6);
        assert_eq!(value(triplet_loss(a.clone(), a.clone(), 0.5, Negatives::Hardest)), 0.0, "orthogonal pairs: no violation");
    }

    #[test]
    fn negatives_are_chosen_as_documented() {
        // Anchor a = (1, 0) whose true partner b_0 has similarity 0.8, and three negatives with similarities
        // 0.9 (harder than the partner), 0.6 and 0.1 (both easier).
        let unit = |s: f32| [s, (1.0 - s * s).sqrt()];
        let a = tensor(&[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]);
        let b = tensor(&[unit(0.8), unit(0.9), unit(0.6), unit(0.1)]);
        let scores = similarity_matrix(a, b);
        let first = |negatives| -> f32 {
            let costs: Vec<f32> = one_way_triplet(scores.clone(), 0.3, negatives).into_data().try_to_vec::<f32>().unwrap();
            costs[0]
        };
        // hardest: 0.3 − 0.8 + 0.9 = 0.4; semi-hard: the closest negative below 0.8 is 0.6 → 0.1;
        // all: 0.4 + 0.1 + [0.3 − 0.8 + 0.1]+ = 0.5.
        assert!((first(Negatives::Hardest) - 0.4).abs() < 1e-5);
        assert!((first(Negatives::SemiHard) - 0.1).abs() < 1e-5);
        assert!((first(Negatives::All) - 0.5).abs() < 1e-5);
    }

    #[test]
    fn cosine_embedding_and_distillation_match_hand_computations() {
        let device = Device::flex();
        let (a, b) = (tensor(&[[1.0, 0.0], [1.0, 0.0]]), tensor(&[[3.0, 4.0], [3.0, 4.0]]));
        // cos = 0.6 for both: a match costs 0.4, a non-match [0.6 − 0.2]+ = 0.4; mean 0.4.
        let target = Tensor::<1>::from_floats([1.0, -1.0], &device);
        assert!((value(cosine_embedding_loss(a, b, target, 0.2)) - 0.4).abs() < 1e-6);
        // Student logits equal to the teacher's log-probabilities: KL 0; uniform student vs (0.75, 0.25):
        // 0.75 ln 1.5 + 0.25 ln 0.5.
        let teacher = tensor(&[[0.75, 0.25]]);
        assert!(value(distillation_kl(teacher.clone().log(), teacher.clone(), 1.0)).abs() < 1e-6);
        let expected = 0.75 * 1.5f32.ln() + 0.25 * 0.5f32.ln();
        assert!((value(distillation_kl(tensor(&[[0.0, 0.0]]), teacher, 2.0)) - 4.0 * expected).abs() < 1e-5);
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
