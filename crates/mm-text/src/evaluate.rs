//! Word-vector evaluation: nearest neighbours, analogies by 3CosAdd (per section of questions-words.txt, over the
//! most frequent N words as word2vec's `compute-accuracy` and gensim do), and Spearman correlation with human
//! similarity judgements.

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2, Axis, s};
use serde::Serialize;

use crate::eval_sets::{AnalogySection, SimilarityPair};
use crate::vectors::WordVectors;

/// The three standard benchmarks, read once: `questions-words.txt`, `wordsim353.tsv` and `simlex999.txt`.
#[derive(Debug, Clone)]
pub struct Benchmarks {
    /// Mikolov's analogy questions, by section.
    pub analogies: Vec<AnalogySection>,
    /// WordSim353 pairs.
    pub wordsim353: Vec<SimilarityPair>,
    /// SimLex-999 pairs.
    pub simlex999: Vec<SimilarityPair>,
}

/// A vector set's scores on [`Benchmarks`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// 3CosAdd analogies.
    pub analogies: AnalogyScore,
    /// Spearman ρ on WordSim353.
    pub wordsim353: SimilarityScore,
    /// Spearman ρ on SimLex-999.
    pub simlex999: SimilarityScore,
}

impl Benchmarks {
    /// Reads the three files from `dir` (the `text` folder of the data root).
    pub fn load(dir: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        let dir = dir.as_ref();
        Ok(Self {
            analogies: crate::eval_sets::read_analogies(dir.join("questions-words.txt"))?,
            wordsim353: crate::eval_sets::read_similarity_pairs(dir.join("wordsim353.tsv"))?,
            simlex999: crate::eval_sets::read_similarity_pairs(dir.join("simlex999.txt"))?,
        })
    }

    /// Scores `vectors`, with analogies searched over the `restrict_vocab` most frequent words.
    pub fn evaluate(&self, vectors: &WordVectors, restrict_vocab: usize) -> Report {
        Report {
            analogies: analogies(vectors, &self.analogies, restrict_vocab),
            wordsim353: similarity(vectors, &self.wordsim353),
            simlex999: similarity(vectors, &self.simlex999),
        }
    }
}

/// Rows scaled to unit length (zero rows stay zero).
pub fn unit_rows(vectors: &WordVectors) -> Array2<f32> {
    let mut matrix = Array2::from_shape_vec((vectors.len(), vectors.dim()), vectors.matrix().to_vec()).expect("shape");
    for mut row in matrix.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    matrix
}

/// The `k` words closest to `word` by cosine, with their similarities; None if `word` is unknown.
pub fn nearest(vectors: &WordVectors, unit: ArrayView2<f32>, word: &str, k: usize) -> Option<Vec<(String, f32)>> {
    let id = vectors.id(word)?;
    let scores = unit.dot(&unit.row(id));
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| i != id).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    Some(order.into_iter().take(k).map(|i| (vectors.words()[i].clone(), scores[i])).collect())
}

/// Accuracy on one section of analogies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SectionScore {
    /// Section name.
    pub name: String,
    /// Questions whose four words are all among the words searched.
    pub answered: usize,
    /// Of those, how many 3CosAdd got right.
    pub correct: usize,
    /// Questions in the section.
    pub total: usize,
}

/// Analogy results overall and per section.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnalogyScore {
    /// How many of the most frequent words were searched (the usual restriction is 30,000).
    pub restrict_vocab: usize,
    /// Per section.
    pub sections: Vec<SectionScore>,
    /// Correct / answered over all sections.
    pub accuracy: f64,
    /// Same over the semantic sections.
    pub semantic_accuracy: f64,
    /// Same over the syntactic (`gram*`) sections.
    pub syntactic_accuracy: f64,
    /// Answered / total questions.
    pub coverage: f64,
}

/// gensim's `case_insensitive=True` vocabulary: each word's upper-case form → the most frequent of the first
/// `limit` rows that has it (rows are in frequency order). "Australia" and "australia" are one word here.
fn upper_vocabulary(vectors: &WordVectors, limit: usize) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for (i, word) in vectors.words().iter().enumerate().take(limit) {
        map.entry(word.to_uppercase()).or_insert(i);
    }
    map
}

/// 3CosAdd as gensim's `evaluate_word_analogies` computes it: for `a : b :: c : d`, case-insensitively, among the
/// first `restrict_vocab` rows (in frequency order), skip a question with an unknown word; otherwise take the 5
/// rows whose unit vectors are closest to `b − a + c` (a, b and c themselves excluded), and answer the first whose
/// upper-case form is none of a, b, c (or the fifth, if all are). Right when that answer is d in any casing.
pub fn analogies(vectors: &WordVectors, sections: &[AnalogySection], restrict_vocab: usize) -> AnalogyScore {
    const TOP_N: usize = 5;
    let searched = restrict_vocab.min(vectors.len());
    let unit = unit_rows(vectors);
    let candidates = unit.slice(s![..searched, ..]);
    let vocabulary = upper_vocabulary(vectors, searched);
    let upper: Vec<String> = vectors.words()[..searched].iter().map(|w| w.to_uppercase()).collect();
    let mut scores = Vec::new();
    for section in sections {
        let questions: Vec<([usize; 4], [String; 4])> = section
            .questions
            .iter()
            .filter_map(|q| {
                let words = q.words.clone().map(|w| w.to_uppercase());
                let ids = [vocabulary.get(&words[0])?, vocabulary.get(&words[1])?, vocabulary.get(&words[2])?, vocabulary.get(&words[3])?].map(|&i| i);
                Some((ids, words))
            })
            .collect();
        let mut correct = 0;
        // Batches of queries make the search one matrix product each.
        for batch in questions.chunks(512) {
            let mut queries = Array2::<f32>::zeros((batch.len(), vectors.dim()));
            for (mut query, ([a, b, c, _], _)) in queries.rows_mut().into_iter().zip(batch) {
                query.assign(&(&unit.row(*b) - &unit.row(*a) + unit.row(*c)));
            }
            let similarity = queries.dot(&candidates.t());
            for (row, ([a, b, c, _], words)) in similarity.axis_iter(Axis(0)).zip(batch) {
                let mut top: Vec<(usize, f32)> = Vec::with_capacity(TOP_N + 1);
                for (i, &sim) in row.iter().enumerate() {
                    if i == *a || i == *b || i == *c || (top.len() == TOP_N && sim <= top[TOP_N - 1].1) {
                        continue;
                    }
                    let at = top.partition_point(|&(_, s)| s >= sim);
                    top.insert(at, (i, sim));
                    top.truncate(TOP_N);
                }
                let ignored = |i: usize| words[..3].contains(&upper[i]);
                let answer = top.iter().find(|(i, _)| !ignored(*i)).or(top.last()).map(|(i, _)| &upper[*i]);
                correct += (answer == Some(&words[3])) as usize;
            }
        }
        scores.push(SectionScore { name: section.name.clone(), answered: questions.len(), correct, total: section.questions.len() });
    }
    let ratio = |keep: &dyn Fn(&SectionScore) -> bool| {
        let (right, asked) = scores.iter().filter(|s| keep(s)).fold((0, 0), |(r, a), s| (r + s.correct, a + s.answered));
        if asked == 0 { 0.0 } else { right as f64 / asked as f64 }
    };
    let semantic = |s: &SectionScore| !s.name.starts_with("gram");
    let answered: usize = scores.iter().map(|s| s.answered).sum();
    let total: usize = scores.iter().map(|s| s.total).sum();
    AnalogyScore {
        restrict_vocab: searched,
        accuracy: ratio(&|_| true),
        semantic_accuracy: ratio(&semantic),
        syntactic_accuracy: ratio(&|s| !semantic(s)),
        coverage: if total == 0 { 0.0 } else { answered as f64 / total as f64 },
        sections: scores,
    }
}

/// Correlation with human similarity judgements.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SimilarityScore {
    /// Spearman rank correlation between cosine similarity and the human scores, over the covered pairs.
    pub spearman: f64,
    /// Pairs with both words known.
    pub covered: usize,
    /// Pairs in the set.
    pub total: usize,
}

/// Spearman correlation of cosine similarities with the human scores of the pairs whose words are both known,
/// as gensim's `evaluate_word_pairs` computes it: words looked up case-insensitively (the most frequent casing)
/// among the first 300,000 rows.
pub fn similarity(vectors: &WordVectors, pairs: &[SimilarityPair]) -> SimilarityScore {
    let unit = unit_rows(vectors);
    let vocabulary = upper_vocabulary(vectors, 300_000);
    let (model, human): (Vec<f64>, Vec<f64>) = pairs
        .iter()
        .filter_map(|p| {
            let (a, b) = (*vocabulary.get(&p.first.to_uppercase())?, *vocabulary.get(&p.second.to_uppercase())?);
            Some((unit.row(a).dot(&unit.row(b)) as f64, p.score as f64))
        })
        .unzip();
    SimilarityScore { spearman: spearman(&model, &human), covered: model.len(), total: pairs.len() }
}

/// Spearman's rank correlation (Pearson correlation of ranks, ties given their average rank).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(values: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let mut ranks = vec![0.0; values.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                ranks[k] = (i + j) as f64 / 2.0 + 1.0;
            }
            i = j + 1;
        }
        ranks
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    if vx == 0.0 || vy == 0.0 { 0.0 } else { cov / (vx * vy).sqrt() }
}

/// Analogies per section, then the two similarity sets: the table `train word2vec` and `eval word2vec` print.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.analogies;
        write!(f, "analogies (3CosAdd over the {} most frequent words), coverage {:.3}:", a.restrict_vocab, a.coverage)?;
        for section in &a.sections {
            let accuracy = section.correct as f64 / section.answered.max(1) as f64;
            write!(f, "\n  {:<28} {:>5}/{:<5} {accuracy:.4}", section.name, section.correct, section.answered)?;
        }
        write!(f, "\n  semantic {:.4}, syntactic {:.4}, all {:.4}", a.semantic_accuracy, a.syntactic_accuracy, a.accuracy)?;
        for (name, score) in [("WordSim353", &self.wordsim353), ("SimLex-999", &self.simlex999)] {
            write!(f, "\n{name}: Spearman {:.4} over {}/{} pairs", score.spearman, score.covered, score.total)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval_sets::Analogy;

    fn toy() -> WordVectors {
        // king - man + woman = queen exactly; "apple" is far from all of them.
        let rows = [("man", [1.0, 0.0, 0.0]), ("woman", [1.0, 1.0, 0.0]), ("king", [1.0, 0.0, 1.0]), ("queen", [1.0, 1.0, 1.0]), ("apple", [-1.0, 0.2, -0.3])];
        WordVectors::new(rows.iter().map(|(w, _)| w.to_string()).collect(), 3, rows.iter().flat_map(|(_, v)| *v).collect())
    }

    #[test]
    fn solves_a_clean_analogy_and_reports_coverage() {
        let question = |w: [&str; 4]| Analogy { words: w.map(String::from) };
        let sections = vec![
            AnalogySection {
                name: "family".into(),
                questions: vec![question(["man", "woman", "king", "queen"]), question(["man", "woman", "king", "prince"])],
            },
            AnalogySection { name: "gram1".into(), questions: vec![question(["man", "king", "woman", "apple"])] },
        ];
        let score = analogies(&toy(), &sections, 30_000);
        assert_eq!((score.sections[0].correct, score.sections[0].answered, score.sections[0].total), (1, 1, 2));
        assert_eq!((score.semantic_accuracy, score.syntactic_accuracy), (1.0, 0.0));
        assert!((score.coverage - 2.0 / 3.0).abs() < 1e-12);
        // Restricted to the first 3 words, "queen" cannot be found and the question is not answered.
        assert_eq!(analogies(&toy(), &sections, 3).sections[0].answered, 0);
    }

    #[test]
    fn nearest_and_spearman() {
        let vectors = toy();
        let unit = unit_rows(&vectors);
        let near = nearest(&vectors, unit.view(), "king", 2).unwrap();
        assert_eq!(near[0].0, "queen");
        assert!(nearest(&vectors, unit.view(), "absent", 2).is_none());
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 45.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).correlation = 0.9486832980505138
        assert!((spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]) - 0.9486832980505138).abs() < 1e-12);
        let pairs = [("king", "queen", 9.0), ("king", "apple", 1.0), ("man", "woman", 8.0), ("man", "unknown", 5.0)].map(|(a, b, s)| SimilarityPair {
            first: a.into(),
            second: b.into(),
            score: s,
        });
        let score = similarity(&vectors, &pairs);
        assert_eq!((score.covered, score.total), (3, 4));
        assert!(score.spearman > 0.0);
    }
}
