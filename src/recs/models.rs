//! The candidate recommenders, each trained on a user × item matrix and scoring every item for
//! a user's history: popularity, item-kNN (cosine), EASE (a closed-form item-item regression),
//! RP3beta (a popularity-penalised random walk), implicit ALS (matrix factorisation), and blends
//! of them. The dense linear algebra (the Gram-matrix inverse, ALS's per-user solves) is faer's.
//!
//! The item-item models keep only items that at least `min_item_users` users have: an item one
//! user has co-occurs with nothing for anyone else, and dropping it keeps the dense item × item
//! matrix small. Items a model does not know score nothing and rank after every known one.

use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Accum, Mat, Par, Side};

use super::data::{SparseRows, WeightTransform};
use super::training::{NeighbourParameters, neighbour_table};
use crate::reproducible::seeded_rng;

/// Which recommender to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// The items most users have, the same for everyone.
    Popularity,
    /// Item-item cosine similarity of the binarised matrix.
    ItemKnn,
    /// Embarrassingly Shallow Autoencoder (Steck, 2019).
    Ease,
    /// Random walk user → item → user → item, penalised by popularity (Paudel et al., 2017).
    Rp3beta,
    /// Implicit alternating least squares (Hu, Koren and Volinsky, 2008).
    Als,
    /// EASE plus weighted RP3beta, ALS and item-kNN, each normalised per user.
    Blend,
    /// What servers serve (`training.rs`): the sparse top-50 neighbour table of RP3beta on
    /// weighted transitions plus half of item-kNN cosine, learnt from ln(1 + weight).
    Neighbours,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Popularity,
        Method::ItemKnn,
        Method::Ease,
        Method::Rp3beta,
        Method::Als,
        Method::Blend,
        Method::Neighbours,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Popularity => "popularity",
            Method::ItemKnn => "item-knn",
            Method::Ease => "ease",
            Method::Rp3beta => "rp3beta",
            Method::Als => "als",
            Method::Blend => "blend",
            Method::Neighbours => "neighbours",
        }
    }
}

/// Every model's knobs, fixed before an evaluation. The defaults were tuned on the validation
/// split of seed 1 (`segue recs evaluate --seeds 1 --validation`, carved from its training part),
/// never on held-out test items: BENCHMARKS.md, "Recommendations offline (issue 11)".
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Hyperparameters {
    /// Item-item models keep items at least this many users have.
    #[arg(long, default_value_t = 2)]
    pub min_item_users: u32,
    /// EASE's L2 regularisation λ.
    #[arg(long, default_value_t = 1000.0)]
    pub ease_lambda: f64,
    /// EASE's dropout emphasis p (EDLAE, Steck 2020): item i's regulariser is
    /// λ + p/(1 − p)·G_ii, so frequent items are regularised more (0: plain EASE).
    #[arg(long, default_value_t = 0.5)]
    pub ease_dropout: f64,
    /// The weights EASE learns from.
    #[arg(long, value_enum, default_value_t = WeightTransform::Log1p)]
    pub ease_weights: WeightTransform,
    /// RP3beta's popularity penalty β (a destination's score is divided by its degree^β).
    #[arg(long, default_value_t = 0.3)]
    pub rp3_beta: f64,
    /// ALS: latent factors.
    #[arg(long, default_value_t = 32)]
    pub als_factors: usize,
    /// ALS: L2 regularisation.
    #[arg(long, default_value_t = 50.0)]
    pub als_regularization: f64,
    /// ALS: confidence is 1 + α·ln(1 + weight).
    #[arg(long, default_value_t = 4.0)]
    pub als_alpha: f64,
    /// ALS: alternating sweeps.
    #[arg(long, default_value_t = 15)]
    pub als_iterations: usize,
    /// ALS: the seed of the initial factors.
    #[arg(long, default_value_t = 1)]
    pub als_seed: u64,
    /// Blend: the weight of RP3beta beside EASE's 1.
    #[arg(long, default_value_t = 0.5)]
    pub blend_rp3: f32,
    /// Blend: the weight of ALS beside EASE's 1.
    #[arg(long, default_value_t = 2.0)]
    pub blend_als: f32,
    /// Blend: the weight of item-kNN beside EASE's 1.
    #[arg(long, default_value_t = 0.0)]
    pub blend_knn: f32,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Hyperparameters {
            min_item_users: 2,
            ease_lambda: 1000.0,
            ease_dropout: 0.5,
            ease_weights: WeightTransform::Log1p,
            rp3_beta: 0.3,
            als_factors: 32,
            als_regularization: 50.0,
            als_alpha: 4.0,
            als_iterations: 15,
            als_seed: 1,
            blend_rp3: 0.5,
            blend_als: 2.0,
            blend_knn: 0.0,
        }
    }
}

/// A trained recommender.
pub enum Model {
    /// How many users have each item.
    Popularity(Vec<f32>),
    /// `score(j) = Σ_i x_ui · W[i][j]` over the user's items.
    ItemItem(ItemItem),
    /// `score(j) = x_u · y_j`.
    Factors(Factors),
    /// A weighted sum of models, each scaled to a maximum of 1 over the user's candidates.
    Blend(Vec<(f32, Model)>),
    /// A sparse neighbour table: `score(j) = Σ_i ln(1 + x_ui) · N[i][j]` over the user's items.
    Neighbours(Vec<Vec<(u32, f32)>>),
    /// Scores drawn at random, for tests: what a model that learnt nothing does.
    #[cfg(test)]
    Random(u64),
}

impl Model {
    /// Trains `method` on `train` (raw weights: each model applies its own transform).
    pub fn fit(method: Method, train: &SparseRows, parameters: &Hyperparameters) -> Model {
        match method {
            Method::Popularity => {
                Model::Popularity(train.column_counts().into_iter().map(|count| count as f32).collect())
            }
            Method::ItemKnn => Model::ItemItem(ItemItem::cosine(train, parameters.min_item_users)),
            Method::Ease => Model::ItemItem(ItemItem::ease(train, parameters)),
            Method::Rp3beta => {
                Model::ItemItem(ItemItem::rp3beta(train, parameters.min_item_users, parameters.rp3_beta))
            }
            Method::Als => Model::Factors(Factors::implicit_als(train, parameters)),
            Method::Blend => {
                let mut parts = vec![(1.0, Model::fit(Method::Ease, train, parameters))];
                if parameters.blend_rp3 != 0.0 {
                    parts.push((parameters.blend_rp3, Model::fit(Method::Rp3beta, train, parameters)));
                }
                if parameters.blend_als != 0.0 {
                    parts.push((parameters.blend_als, Model::fit(Method::Als, train, parameters)));
                }
                if parameters.blend_knn != 0.0 {
                    parts.push((parameters.blend_knn, Model::fit(Method::ItemKnn, train, parameters)));
                }
                Model::Blend(parts)
            }
            Method::Neighbours => {
                let parameters = NeighbourParameters { min_item_rows: parameters.min_item_users, ..Default::default() };
                Model::Neighbours(neighbour_table(&train.map_values(|w| w.ln_1p()), &parameters))
            }
        }
    }

    /// Writes a score for every item into `scores` (length: the item count) for user `user`
    /// whose training items are `history` (raw weights). Higher is better; the caller removes
    /// the items the user already has.
    pub fn score(&self, user: usize, history: (&[u32], &[f32]), scores: &mut [f32]) {
        match self {
            Model::Popularity(counts) => scores.copy_from_slice(counts),
            Model::ItemItem(model) => model.score(history, scores),
            Model::Factors(model) => model.score(user, scores),
            Model::Blend(parts) => {
                blend_scores(parts.iter().map(|(weight, part)| (*weight, part)), user, history, scores)
            }
            Model::Neighbours(table) => {
                scores.fill(0.0);
                for (&item, &weight) in history.0.iter().zip(history.1) {
                    for &(other, score) in &table[item as usize] {
                        scores[other as usize] += weight.ln_1p() * score;
                    }
                }
            }
            #[cfg(test)]
            Model::Random(seed) => {
                use rand::Rng;
                let mut rng = seeded_rng(seed.wrapping_add(user as u64));
                scores.iter_mut().for_each(|score| *score = rng.random());
            }
        }
    }
}

/// `Σ weight · part / max|part|` over the parts, the maximum taken over the user's candidates
/// (items not in `history`), so each part counts by its weight whatever its scale. An item a
/// part does not know (a score of −∞) stays at −∞: it ranks after every known item.
pub fn blend_scores<'a>(
    parts: impl IntoIterator<Item = (f32, &'a Model)>,
    user: usize,
    history: (&[u32], &[f32]),
    scores: &mut [f32],
) {
    scores.fill(0.0);
    let mut part_scores = vec![0.0f32; scores.len()];
    for (weight, part) in parts {
        if weight == 0.0 {
            continue;
        }
        part.score(user, history, &mut part_scores);
        for &item in history.0 {
            part_scores[item as usize] = 0.0;
        }
        let largest = part_scores.iter().filter(|s| s.is_finite()).fold(0.0f32, |m, &s| m.max(s.abs()));
        let scale = if largest > 0.0 { weight / largest } else { 0.0 };
        for (total, &part) in scores.iter_mut().zip(&part_scores) {
            *total = if part.is_finite() { *total + scale * part } else { f32::NEG_INFINITY };
        }
    }
}

/// The items a model knows, numbered densely: `items[k]` is the item of model index `k`, and
/// `index[item]` is its model index or `None`.
struct ItemSpace {
    items: Vec<u32>,
    index: Vec<Option<u32>>,
}

impl ItemSpace {
    fn with_min_users(train: &SparseRows, min_users: u32) -> ItemSpace {
        let counts = train.column_counts();
        let mut index = vec![None; train.columns()];
        let mut items = Vec::new();
        for (item, &count) in counts.iter().enumerate() {
            if count >= min_users.max(1) {
                index[item] = Some(items.len() as u32);
                items.push(item as u32);
            }
        }
        ItemSpace { items, index }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// A user's known items as (model index, value).
    fn known<'a>(&'a self, history: (&'a [u32], &'a [f32])) -> impl Iterator<Item = (usize, f32)> + 'a {
        history
            .0
            .iter()
            .zip(history.1)
            .filter_map(|(&item, &value)| self.index[item as usize].map(|k| (k as usize, value)))
    }

    /// `Σ_u weight(u) · x_u x_uᵀ` over the known items: the (user-weighted) Gram matrix.
    fn gram(&self, train: &SparseRows, user_weight: impl Fn(usize) -> f64) -> Mat<f64> {
        let n = self.len();
        let mut gram = Mat::<f64>::zeros(n, n);
        let mut row: Vec<(usize, f64)> = Vec::new();
        for user in 0..train.rows() {
            row.clear();
            row.extend(self.known(train.row(user)).map(|(k, v)| (k, v as f64)));
            let weight = user_weight(user);
            for &(a, va) in &row {
                let column = gram.col_as_slice_mut(a);
                for &(b, vb) in &row {
                    column[b] += weight * va * vb;
                }
            }
        }
        gram
    }
}

/// A dense item × item weight matrix over the known items.
pub struct ItemItem {
    space: ItemSpace,
    transform: WeightTransform,
    /// Row-major: `weights[i * n + j]` is how much having item `i` adds to item `j`.
    weights: Vec<f32>,
}

impl ItemItem {
    fn from_columns(space: ItemSpace, transform: WeightTransform, matrix: &Mat<f64>) -> ItemItem {
        // Gram-derived matrices here are symmetric or column-scaled; store W[i][j] = M[(i, j)].
        let n = space.len();
        let mut weights = vec![0.0f32; n * n];
        for j in 0..n {
            for (i, &value) in matrix.col_as_slice(j).iter().enumerate() {
                weights[i * n + j] = value as f32;
            }
        }
        ItemItem { space, transform, weights }
    }

    /// Cosine similarity of item columns of the binarised matrix, no self-similarity.
    fn cosine(train: &SparseRows, min_item_users: u32) -> ItemItem {
        let binary = WeightTransform::Binary.apply(train);
        let space = ItemSpace::with_min_users(train, min_item_users);
        let mut gram = space.gram(&binary, |_| 1.0);
        let norms: Vec<f64> = (0..space.len()).map(|k| gram[(k, k)].sqrt()).collect();
        for j in 0..space.len() {
            let column = gram.col_as_slice_mut(j);
            for (i, value) in column.iter_mut().enumerate() {
                *value = if i == j { 0.0 } else { *value / (norms[i] * norms[j]) };
            }
        }
        ItemItem::from_columns(space, WeightTransform::Binary, &gram)
    }

    /// EASE: `P = (XᵀX + Λ)⁻¹`, `B = I − P·diag(1/diag(P))`, so `B[i][j] = −P[i][j]/P[j][j]`
    /// and `B[j][j] = 0`; `Λ = λI` (plain EASE) plus `p/(1 − p)·diag(XᵀX)` with dropout `p`.
    fn ease(train: &SparseRows, parameters: &Hyperparameters) -> ItemItem {
        let transform = parameters.ease_weights;
        let values = transform.apply(train);
        let space = ItemSpace::with_min_users(train, parameters.min_item_users);
        let mut gram = space.gram(&values, |_| 1.0);
        let dropout = parameters.ease_dropout.clamp(0.0, 0.99);
        for k in 0..space.len() {
            gram[(k, k)] += parameters.ease_lambda + dropout / (1.0 - dropout) * gram[(k, k)];
        }
        // XᵀX + λI is symmetric positive definite for λ > 0: Cholesky, then its inverse.
        let inverse = match gram.llt(Side::Lower) {
            Ok(cholesky) => {
                drop(gram);
                cholesky.inverse()
            }
            Err(_) => Mat::zeros(space.len(), space.len()),
        };
        let mut weights = inverse;
        for j in 0..space.len() {
            let diagonal = weights[(j, j)];
            let column = weights.col_as_slice_mut(j);
            for (i, value) in column.iter_mut().enumerate() {
                *value = if i == j || diagonal == 0.0 { 0.0 } else { -*value / diagonal };
            }
        }
        ItemItem::from_columns(space, transform, &weights)
    }

    /// RP3beta on the binarised matrix: `W[i][j] = (Σ_u x_ui x_uj / d_u) / d_i / d_j^β`.
    fn rp3beta(train: &SparseRows, min_item_users: u32, beta: f64) -> ItemItem {
        let binary = WeightTransform::Binary.apply(train);
        let space = ItemSpace::with_min_users(train, min_item_users);
        let user_degree: Vec<f64> = (0..train.rows()).map(|u| train.row(u).0.len().max(1) as f64).collect();
        let mut walk = space.gram(&binary, |u| 1.0 / user_degree[u]);
        let counts = train.column_counts();
        let degree: Vec<f64> = space.items.iter().map(|&item| counts[item as usize].max(1) as f64).collect();
        drop(binary);
        for j in 0..space.len() {
            let penalty = degree[j].powf(beta);
            let column = walk.col_as_slice_mut(j);
            for (i, value) in column.iter_mut().enumerate() {
                *value = if i == j { 0.0 } else { *value / degree[i] / penalty };
            }
        }
        ItemItem::from_columns(space, WeightTransform::Binary, &walk)
    }

    fn score(&self, history: (&[u32], &[f32]), scores: &mut [f32]) {
        scores.fill(f32::NEG_INFINITY);
        let n = self.space.len();
        let mut compact = vec![0.0f32; n];
        for (k, value) in self.space.known(history) {
            let value = match self.transform {
                WeightTransform::Binary => 1.0,
                WeightTransform::Log1p => value.ln_1p(),
                WeightTransform::Raw => value,
            };
            let row = &self.weights[k * n..(k + 1) * n];
            for (total, weight) in compact.iter_mut().zip(row) {
                *total += value * weight;
            }
        }
        for (k, &item) in self.space.items.iter().enumerate() {
            scores[item as usize] = compact[k];
        }
    }
}

/// User and item factors: `score(u, j) = x_u · y_j`.
pub struct Factors {
    /// Users × factors.
    users: Mat<f64>,
    /// Items × factors.
    items: Mat<f64>,
}

impl Factors {
    /// Implicit ALS: preference 1 for every interaction, confidence `1 + α·ln(1 + w)`, each
    /// sweep solving `(YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u 1` for every user, then the same
    /// for every item with the user factors fixed.
    fn implicit_als(train: &SparseRows, parameters: &Hyperparameters) -> Factors {
        use rand::Rng;
        let alpha = parameters.als_alpha as f32;
        let confidence = train.map_values(|w| 1.0 + alpha * w.ln_1p());
        let by_item = confidence.transpose();
        let factors = parameters.als_factors.max(1);
        let mut rng = seeded_rng(parameters.als_seed);
        let scale = 0.1 / (factors as f64).sqrt();
        let mut users = Mat::<f64>::from_fn(train.rows(), factors, |_, _| scale * (rng.random::<f64>() - 0.5));
        let mut items = Mat::<f64>::from_fn(train.columns(), factors, |_, _| scale * (rng.random::<f64>() - 0.5));
        for _ in 0..parameters.als_iterations {
            users = Self::solve_side(&confidence, &items, parameters.als_regularization);
            items = Self::solve_side(&by_item, &users, parameters.als_regularization);
        }
        Factors { users, items }
    }

    /// New factors for every row of `confidence` given the other side's `fixed` factors.
    fn solve_side(confidence: &SparseRows, fixed: &Mat<f64>, regularization: f64) -> Mat<f64> {
        let factors = fixed.ncols();
        let mut gram = Mat::<f64>::zeros(factors, factors);
        faer::linalg::matmul::matmul(gram.as_mut(), Accum::Replace, fixed.transpose(), fixed.as_ref(), 1.0, Par::Seq);
        let mut out = Mat::<f64>::zeros(confidence.rows(), factors);
        for row in 0..confidence.rows() {
            let (columns, values) = confidence.row(row);
            if columns.is_empty() {
                continue;
            }
            // The rows of `fixed` this row interacts with, scaled by √(c − 1), so that
            // `scaledᵀ scaled = Σ (c − 1) y yᵀ`.
            let scaled = Mat::<f64>::from_fn(columns.len(), factors, |r, f| {
                ((values[r] as f64) - 1.0).max(0.0).sqrt() * fixed[(columns[r] as usize, f)]
            });
            let mut system = gram.clone();
            faer::linalg::matmul::matmul(
                system.as_mut(),
                Accum::Add,
                scaled.transpose(),
                scaled.as_ref(),
                1.0,
                Par::Seq,
            );
            for f in 0..factors {
                system[(f, f)] += regularization;
            }
            let mut rhs = Mat::<f64>::zeros(factors, 1);
            for (r, &column) in columns.iter().enumerate() {
                let c = values[r] as f64;
                for f in 0..factors {
                    rhs[(f, 0)] += c * fixed[(column as usize, f)];
                }
            }
            if let Ok(cholesky) = system.llt(Side::Lower) {
                cholesky.solve_in_place(rhs.as_mut());
                for f in 0..factors {
                    out[(row, f)] = rhs[(f, 0)];
                }
            }
        }
        out
    }

    fn score(&self, user: usize, scores: &mut [f32]) {
        let factors = self.users.ncols();
        scores.fill(0.0);
        for f in 0..factors {
            let weight = self.users[(user, f)];
            for (score, value) in scores.iter_mut().zip(self.items.col_as_slice(f)) {
                *score += (weight * value) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_default_to_the_default_hyperparameters() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            parameters: Hyperparameters,
        }
        let flags = <Flags as clap::Parser>::try_parse_from(["recs"]).unwrap();
        assert_eq!(flags.parameters, Hyperparameters::default());
    }
}
