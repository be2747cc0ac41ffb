//! Offline evaluation: the seeded per-user hold-out split, top-K selection that skips what a
//! user already has, and recall@K and NDCG@K averaged over the evaluated users.

use rand::seq::SliceRandom;

use super::data::SparseRows;
use super::models::Model;
use crate::reproducible::seeded_rng;

/// How a split holds items out.
#[derive(Debug, Clone, Copy)]
pub struct SplitRule {
    /// Users with fewer items stay whole in the training matrix and are not evaluated.
    pub min_items: usize,
    /// The share of each evaluated user's items held out (rounded, at least 1).
    pub held_out_fraction: f64,
}

impl Default for SplitRule {
    fn default() -> Self {
        SplitRule { min_items: 5, held_out_fraction: 0.2 }
    }
}

/// A training matrix and, per evaluated user, the items held out of it.
pub struct Split {
    pub train: SparseRows,
    /// `(user, held-out items)`, users ascending.
    pub held_out: Vec<(usize, Vec<u32>)>,
}

/// Splits `matrix` per user: each user with at least `rule.min_items` items has them shuffled
/// by a generator seeded with `seed` (users in index order draw from one stream) and the first
/// `max(1, round(fraction · n))` held out. The same matrix and seed give the same split.
pub fn split(matrix: &SparseRows, seed: u64, rule: SplitRule) -> Split {
    let mut rng = seeded_rng(seed);
    let mut triples = Vec::with_capacity(matrix.entries());
    let mut held_out = Vec::new();
    for user in 0..matrix.rows() {
        let (items, values) = matrix.row(user);
        let mut order: Vec<usize> = (0..items.len()).collect();
        let held = if items.len() >= rule.min_items.max(2) {
            order.shuffle(&mut rng);
            ((items.len() as f64 * rule.held_out_fraction).round() as usize).clamp(1, items.len() - 1)
        } else {
            0
        };
        if held > 0 {
            let mut test: Vec<u32> = order[..held].iter().map(|&k| items[k]).collect();
            test.sort_unstable();
            held_out.push((user, test));
        }
        for &k in &order[held..] {
            triples.push((user as u32, items[k], values[k]));
        }
    }
    Split { train: SparseRows::from_triples(matrix.rows(), matrix.columns(), triples), held_out }
}

/// The `k` best items by `scores`, best first, skipping `seen` (ascending). Ties (and items a
/// model gave no score) are broken by `tie_break` descending (popularity), then by index.
pub fn top_k(scores: &[f32], seen: &[u32], tie_break: &[f32], k: usize) -> Vec<u32> {
    let mut candidates: Vec<u32> = (0..scores.len() as u32).filter(|item| seen.binary_search(item).is_err()).collect();
    let better = |a: &u32, b: &u32| {
        let (a, b) = (*a as usize, *b as usize);
        scores[b].total_cmp(&scores[a]).then(tie_break[b].total_cmp(&tie_break[a])).then(a.cmp(&b))
    };
    if candidates.len() > k && k > 0 {
        candidates.select_nth_unstable_by(k - 1, better);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(better);
    candidates.truncate(k);
    candidates
}

/// Hits in the top `k` over `min(k, |relevant|)`. `relevant` is ascending.
pub fn recall_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let denominator = k.min(relevant.len());
    if denominator == 0 {
        return 0.0;
    }
    let hits = ranked.iter().take(k).filter(|item| relevant.binary_search(item).is_ok()).count();
    hits as f64 / denominator as f64
}

/// Binary-relevance NDCG: `Σ 1/log2(rank + 1)` over hits in the top `k`, over the same sum for
/// an ideal ranking of `min(k, |relevant|)` hits. `relevant` is ascending.
pub fn ndcg_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let discount = |position: usize| 1.0 / ((position + 2) as f64).log2();
    let ideal: f64 = (0..k.min(relevant.len())).map(discount).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let gained: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, item)| relevant.binary_search(item).is_ok())
        .map(|(position, _)| discount(position))
        .sum();
    gained / ideal
}

/// Mean metrics over the evaluated users.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    pub recall: f64,
    pub ndcg: f64,
    pub users: usize,
}

/// Scores every held-out user with `model` (trained on `split.train`) and averages recall@k and
/// NDCG@k of its top `k` unseen items.
pub fn evaluate(model: &Model, split: &Split, k: usize) -> Metrics {
    evaluate_scores(split, k, |user, history, scores| model.score(user, history, scores))
}

/// [`evaluate`] for any scoring function `score(user, training history, scores)`.
pub fn evaluate_scores(split: &Split, k: usize, score: impl Fn(usize, (&[u32], &[f32]), &mut [f32])) -> Metrics {
    let popularity: Vec<f32> = split.train.column_counts().into_iter().map(|c| c as f32).collect();
    let mut scores = vec![0.0f32; split.train.columns()];
    let (mut recall, mut ndcg) = (0.0, 0.0);
    for (user, relevant) in &split.held_out {
        let history = split.train.row(*user);
        score(*user, history, &mut scores);
        let ranked = top_k(&scores, history.0, &popularity, k);
        recall += recall_at_k(&ranked, relevant, k);
        ndcg += ndcg_at_k(&ranked, relevant, k);
    }
    let users = split.held_out.len();
    let mean = |total: f64| if users == 0 { 0.0 } else { total / users as f64 };
    Metrics { recall: mean(recall), ndcg: mean(ndcg), users }
}

#[cfg(test)]
mod tests {
    use super::super::models::{Hyperparameters, Method};
    use super::*;

    #[test]
    fn recall_and_ndcg_match_hand_computed_values() {
        // Relevant {1, 2, 3}; ranked [1, 9, 3]: hits at positions 1 and 3 of 3.
        let ranked = [1, 9, 3];
        let relevant = [1, 2, 3];
        assert_eq!(recall_at_k(&ranked, &relevant, 3), 2.0 / 3.0);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!((ndcg_at_k(&ranked, &relevant, 3) - dcg / idcg).abs() < 1e-12);
        // Fewer relevant items than k: the denominator is |relevant|.
        assert_eq!(recall_at_k(&[5, 4, 7, 8], &[7], 4), 1.0);
        assert!((ndcg_at_k(&[5, 4, 7, 8], &[7], 4) - 1.0 / 4f64.log2()).abs() < 1e-12);
        assert_eq!(recall_at_k(&[1, 2], &[], 2), 0.0);
        assert_eq!(ndcg_at_k(&[1, 2], &[3], 2), 0.0);
    }

    #[test]
    fn top_k_skips_seen_items_and_breaks_ties_by_popularity() {
        let scores = [0.9, 0.5, 0.5, 0.1, f32::NEG_INFINITY];
        let popularity = [1.0, 1.0, 3.0, 1.0, 9.0];
        assert_eq!(top_k(&scores, &[0], &popularity, 3), [2, 1, 3]);
        assert_eq!(top_k(&scores, &[0, 1, 2], &popularity, 3), [3, 4]);
        assert_eq!(top_k(&scores, &[], &popularity, 0), Vec::<u32>::new());
    }

    fn matrix(users: usize, items: usize, per_user: usize) -> SparseRows {
        let triples = (0..users)
            .flat_map(|u| (0..per_user).map(move |j| (u as u32, ((u * 7 + j * 3) % items) as u32, 1.0 + j as f32)))
            .collect();
        SparseRows::from_triples(users, items, triples)
    }

    #[test]
    fn the_split_is_per_user_seeded_and_reproducible() {
        let full = matrix(30, 40, 10);
        let one = split(&full, 7, SplitRule::default());
        let again = split(&full, 7, SplitRule::default());
        let other = split(&full, 8, SplitRule::default());
        assert_eq!(one.train, again.train);
        assert_eq!(one.held_out, again.held_out);
        assert_ne!(one.held_out, other.held_out);
        assert_eq!(one.held_out.len(), 30);
        for (user, held) in &one.held_out {
            assert_eq!(held.len(), 2, "20% of 10");
            let (train_items, _) = one.train.row(*user);
            assert_eq!(train_items.len(), 8);
            assert!(held.iter().all(|item| train_items.binary_search(item).is_err()));
        }
        // A user below the minimum stays whole in train and is not evaluated.
        let small = SparseRows::from_triples(2, 9, (0..9).map(|j| (0, j, 1.0)).chain([(1, 0, 1.0)]).collect());
        let small_split = split(&small, 1, SplitRule::default());
        assert_eq!(small_split.held_out.iter().map(|(u, _)| *u).collect::<Vec<_>>(), [0]);
        assert_eq!(small_split.held_out[0].1.len(), 2, "round(0.2 · 9)");
        assert_eq!(small_split.train.row(1).0, [0]);
    }

    /// Two taste groups: users of group g have most of the items of block g. A model that has
    /// seen the training data must rank the held-out items far above a model scoring at random.
    #[test]
    fn a_trained_model_ranks_held_out_items_above_a_shuffled_model() {
        let mut triples = Vec::new();
        for user in 0..60u32 {
            let group = user % 2;
            for j in 0..20u32 {
                if (user * 13 + j * 7) % 5 != 0 {
                    triples.push((user, group * 20 + j, 1.0 + (j % 4) as f32));
                }
            }
        }
        let full = SparseRows::from_triples(60, 40, triples);
        let data = split(&full, 3, SplitRule::default());
        let random = evaluate(&Model::Random(5), &data, 5);
        // Small data wants small regularisers: the defaults are tuned for thousands of users.
        let parameters = Hyperparameters {
            ease_lambda: 1.0,
            ease_dropout: 0.0,
            als_factors: 4,
            als_regularization: 1.0,
            ..Hyperparameters::default()
        };
        for method in Method::ALL.into_iter().filter(|m| *m != Method::Popularity) {
            let trained = evaluate(&Model::fit(method, &data.train, &parameters), &data, 5);
            assert!(
                trained.recall > random.recall + 0.3 && trained.ndcg > random.ndcg + 0.3,
                "{}: {trained:?} against random {random:?}",
                method.name()
            );
        }
    }
}
