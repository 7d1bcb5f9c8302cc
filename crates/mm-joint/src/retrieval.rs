//! Cross-modal retrieval: a cosine top-k index over embeddings, and the metrics retrieval papers report —
//! Recall@1/5/10 and the median rank of the true match — for aligned pairs, in both directions.

use serde::Serialize;

/// Embeddings scaled to unit length, searched by cosine similarity.
#[derive(Debug, Clone)]
pub struct CosineIndex {
    unit: Vec<f32>,
    dim: usize,
}

impl CosineIndex {
    /// Indexes `rows` (`[N, dim]` row-major); zero rows stay zero (similarity 0 to everything).
    pub fn new(rows: &[f32], dim: usize) -> Self {
        assert!(dim > 0 && rows.len().is_multiple_of(dim), "rows must be [N, dim] with dim > 0");
        let mut unit = rows.to_vec();
        for row in unit.chunks_mut(dim) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Self { unit, dim }
    }

    /// Number of indexed rows.
    pub fn len(&self) -> usize {
        self.unit.len() / self.dim
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.unit.is_empty()
    }

    /// Cosine similarity of `query` (any length-`dim` vector) with every row.
    pub fn similarities(&self, query: &[f32]) -> Vec<f32> {
        assert_eq!(query.len(), self.dim, "query length");
        let norm = query.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        self.unit.chunks(self.dim).map(|row| row.iter().zip(query).map(|(a, b)| a * b).sum::<f32>() / norm).collect()
    }

    /// The `k` most similar rows, best first, as (row, cosine similarity); ties go to the lower row.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let scores = self.similarities(query);
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        order.into_iter().take(k).map(|i| (i, scores[i])).collect()
    }

    /// 1-based rank of row `target` among all rows for `query`: one plus the other rows scoring at least as high.
    /// Ties count against the target, so an encoder that cannot tell candidates apart (the same embedding for
    /// several of them) is not credited with ranking the right one first.
    pub fn rank(&self, query: &[f32], target: usize) -> usize {
        let scores = self.similarities(query);
        1 + scores.iter().enumerate().filter(|&(i, &s)| i != target && s >= scores[target]).count()
    }
}

/// Recall@K and rank statistics of one retrieval direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievalMetrics {
    /// Queries whose true match ranks first.
    pub recall_at_1: f64,
    /// … in the top 5.
    pub recall_at_5: f64,
    /// … in the top 10.
    pub recall_at_10: f64,
    /// Median rank of the true match (1 is perfect; the lower middle value for an even count).
    pub median_rank: usize,
    /// Mean rank.
    pub mean_rank: f64,
    /// Number of queries.
    pub queries: usize,
}

impl RetrievalMetrics {
    /// The metrics of a list of 1-based ranks.
    pub fn from_ranks(ranks: &[usize]) -> Self {
        let n = ranks.len().max(1) as f64;
        let within = |k: usize| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
        let mut sorted = ranks.to_vec();
        sorted.sort_unstable();
        let median_rank = if sorted.is_empty() { 0 } else { sorted[(sorted.len() - 1) / 2] };
        Self {
            recall_at_1: within(1),
            recall_at_5: within(5),
            recall_at_10: within(10),
            median_rank,
            mean_rank: ranks.iter().sum::<usize>() as f64 / n,
            queries: ranks.len(),
        }
    }
}

/// Both directions of retrieval between aligned sets: row i of `a` matches row i of `b` (`[N, dim]` each).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedRetrieval {
    /// Each `a` row as a query over all of `b` (e.g. image → text).
    pub a_to_b: RetrievalMetrics,
    /// Each `b` row as a query over all of `a` (e.g. text → image).
    pub b_to_a: RetrievalMetrics,
}

/// Ranks every true pair in both directions.
pub fn paired_retrieval(a: &[f32], b: &[f32], dim: usize) -> PairedRetrieval {
    assert_eq!(a.len(), b.len(), "the two sets must have the same number of rows");
    let (index_a, index_b) = (CosineIndex::new(a, dim), CosineIndex::new(b, dim));
    let ranks = |queries: &CosineIndex, gallery: &CosineIndex| -> Vec<usize> {
        (0..queries.len()).map(|i| gallery.rank(&queries.unit[i * dim..(i + 1) * dim], i)).collect()
    };
    PairedRetrieval { a_to_b: RetrievalMetrics::from_ranks(&ranks(&index_a, &index_b)), b_to_a: RetrievalMetrics::from_ranks(&ranks(&index_b, &index_a)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sets_retrieve_perfectly() {
        let rows: Vec<f32> = (0..40).map(|i| ((i * 7 % 11) as f32 - 5.0) + (i / 4) as f32 * 0.1).collect();
        let result = paired_retrieval(&rows, &rows, 4);
        for direction in [&result.a_to_b, &result.b_to_a] {
            assert_eq!((direction.recall_at_1, direction.median_rank, direction.queries), (1.0, 1, 10));
        }
    }

    #[test]
    fn ranks_and_recalls_follow_the_similarities() {
        // Gallery items at 0°, 10°, …, 110°; the query for item i points 2° past item i + 1, so for most i the
        // order is i + 1 (2° away), i + 2 (8°), then i (12°): the true match ranks third.
        let n = 12;
        let unit = |degrees: f32| [degrees.to_radians().cos(), degrees.to_radians().sin()];
        let gallery: Vec<f32> = (0..n).flat_map(|i| unit(i as f32 * 10.0)).collect();
        let queries: Vec<f32> = (0..n).flat_map(|i| unit(((i + 1) % n) as f32 * 10.0 + 2.0)).collect();
        let index = CosineIndex::new(&gallery, 2);
        assert_eq!(index.top_k(&queries[0..2], 3).iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 0]);
        assert_eq!(index.rank(&queries[0..2], 0), 3);
        let metrics = paired_retrieval(&queries, &gallery, 2).a_to_b;
        // Item 10's query (112°) has no item 12 beyond it: rank 2. Item 11's query wraps to 2°: rank 12.
        assert_eq!((metrics.recall_at_1, metrics.median_rank, metrics.queries), (0.0, 3, n));
        assert_eq!(metrics.recall_at_5, 11.0 / 12.0);
    }

    #[test]
    fn ties_count_against_the_target() {
        // Rows 0 and 1 are the same vector: a query cannot tell them apart, so neither ranks first.
        let index = CosineIndex::new(&[1.0, 0.0, 1.0, 0.0, 0.0, 1.0], 2);
        assert_eq!((index.rank(&[1.0, 0.0], 0), index.rank(&[1.0, 0.0], 1), index.rank(&[0.0, 1.0], 2)), (2, 2, 1));
    }

    #[test]
    fn metrics_from_ranks() {
        let m = RetrievalMetrics::from_ranks(&[1, 1, 3, 7, 20]);
        assert_eq!((m.recall_at_1, m.recall_at_5, m.recall_at_10, m.median_rank), (0.4, 0.6, 0.8, 3));
        assert_eq!(m.mean_rank, 6.4);
        assert_eq!(RetrievalMetrics::from_ranks(&[4, 1]).median_rank, 1);
    }
}
