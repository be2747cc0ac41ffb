//! Training the served model: the store's interactions (counted plays, likes, playlist
//! membership, artist follows) as one weighted rows × tracks matrix, and from it the sparse
//! item–item neighbour table every node serves: for each track its top-N neighbours by a blend
//! of RP3beta (the popularity-penalised random walk of `models.rs`, here on weighted transitions)
//! and item-kNN cosine.
//!
//! Why not EASE or the blend with ALS, which measured better offline (BENCHMARKS.md): EASE
//! inverts a dense item × item matrix (n² memory, n³ time) and ALS needs every user's factors at
//! serving time; neither scales to a catalog of millions. RP3beta and cosine are both sums over
//! co-occurrences, computed here item by item from the sparse matrix (work: Σ over rows of the
//! row's length squared, each row capped), and keeping only the top N per item makes the table
//! what serving reads: a few neighbours per track.

use std::collections::HashMap;

use super::data::SparseRows;
use crate::ids::Id;
use crate::storage::recs::TrainingData;

/// How much each kind of interaction weighs in the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InteractionWeights {
    /// A user's counted plays of a track weigh `play · ln(1 + plays)`.
    pub play: f32,
    /// A liked song.
    pub like: f32,
    /// A track on a playlist (each playlist is a row of its own: its tracks co-occur).
    pub playlist: f32,
    /// Each of the `follow_tracks` most popular tracks of an artist the user follows.
    pub follow: f32,
    pub follow_tracks: usize,
}

impl Default for InteractionWeights {
    fn default() -> Self {
        InteractionWeights { play: 1.0, like: 1.0, playlist: 1.0, follow: 0.2, follow_tracks: 10 }
    }
}

/// The knobs of the neighbour table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeighbourParameters {
    /// Neighbours kept per track.
    pub neighbours: usize,
    /// RP3beta's popularity penalty β (0.3: the value tuned offline).
    pub beta: f64,
    /// The weight of cosine similarity beside RP3beta's 1 (both scaled to a maximum of 1 per
    /// track).
    pub knn_weight: f32,
    /// Tracks fewer rows than this have are left out (they co-occur with nothing reliably).
    pub min_item_rows: u32,
    /// A row keeps at most this many of its heaviest items: bounds the work of huge playlists.
    pub max_row_items: usize,
}

impl Default for NeighbourParameters {
    fn default() -> Self {
        NeighbourParameters { neighbours: 50, beta: 0.3, knn_weight: 0.5, min_item_rows: 2, max_row_items: 500 }
    }
}

/// The weighted matrix training learns from: rows are users and playlists, columns `tracks`.
pub struct TrainingMatrix {
    pub tracks: Vec<Id>,
    pub matrix: SparseRows,
}

/// Builds the rows × tracks matrix from what the store holds.
pub fn training_matrix(data: &TrainingData, weights: &InteractionWeights) -> TrainingMatrix {
    let mut rows: HashMap<(u8, Id), u32> = HashMap::new();
    let mut tracks: Vec<Id> = Vec::new();
    let mut track_index: HashMap<Id, u32> = HashMap::new();
    let mut triples: Vec<(u32, u32, f32)> = Vec::new();
    let mut add = |kind: u8, row: Id, track: Id, weight: f32| {
        if weight <= 0.0 || !weight.is_finite() {
            return;
        }
        let next_row = rows.len() as u32;
        let row = *rows.entry((kind, row)).or_insert(next_row);
        let column = *track_index.entry(track).or_insert_with(|| {
            tracks.push(track);
            (tracks.len() - 1) as u32
        });
        triples.push((row, column, weight));
    };
    const USER: u8 = 0;
    const PLAYLIST: u8 = 1;
    for &(user, track, plays) in &data.plays {
        add(USER, user, track, weights.play * (plays as f32).ln_1p());
    }
    for &(user, track) in &data.saved {
        add(USER, user, track, weights.like);
    }
    for &(playlist, track) in &data.playlist_items {
        add(PLAYLIST, playlist, track, weights.playlist);
    }
    // Each followed artist's most popular tracks, lightly: a follow says less than a play.
    let mut followed: HashMap<(Id, Id), Vec<(u8, Id)>> = HashMap::new();
    for &(user, artist, track, popularity) in &data.followed_artist_tracks {
        followed.entry((user, artist)).or_default().push((popularity, track));
    }
    let mut follows: Vec<_> = followed.into_iter().collect();
    follows.sort_by_key(|(key, _)| *key);
    for ((user, _artist), mut candidates) in follows {
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, track) in candidates.into_iter().take(weights.follow_tracks) {
            add(USER, user, track, weights.follow);
        }
    }
    let matrix = SparseRows::from_triples(rows.len(), tracks.len(), triples);
    TrainingMatrix { tracks, matrix }
}

/// Every track's top neighbours (`(track index, score)`, best first, scores scaled to a best of
/// 1), empty for tracks left out. Deterministic: ties go to the lower index.
pub fn neighbour_table(matrix: &SparseRows, parameters: &NeighbourParameters) -> Vec<Vec<(u32, f32)>> {
    let items = matrix.columns();
    let trimmed = trim_rows(matrix, parameters.max_row_items);
    let by_item = trimmed.transpose();
    let row_total: Vec<f64> =
        (0..trimmed.rows()).map(|row| trimmed.row(row).1.iter().map(|&w| f64::from(w)).sum::<f64>()).collect();
    let item_rows: Vec<u32> = trimmed.column_counts();
    let item_total: Vec<f64> =
        (0..items).map(|item| by_item.row(item).1.iter().map(|&w| f64::from(w)).sum::<f64>()).collect();
    let penalty: Vec<f64> = item_rows.iter().map(|&n| f64::from(n.max(1)).powf(parameters.beta)).collect();
    let known = |item: usize| item_rows[item] >= parameters.min_item_rows.max(1);

    let mut walk = vec![0.0f64; items];
    let mut together = vec![0u32; items];
    let mut touched: Vec<u32> = Vec::new();
    let mut table = vec![Vec::new(); items];
    for item in 0..items {
        if !known(item) {
            continue;
        }
        let (rows, weights) = by_item.row(item);
        for (&row, &weight) in rows.iter().zip(weights) {
            let row = row as usize;
            // item → row with probability w / Σ_rows w, row → other with w' / Σ_items w'.
            let to_row = f64::from(weight) / item_total[item].max(f64::MIN_POSITIVE);
            let (others, other_weights) = trimmed.row(row);
            let total = row_total[row].max(f64::MIN_POSITIVE);
            for (&other, &other_weight) in others.iter().zip(other_weights) {
                let o = other as usize;
                if o == item || !known(o) {
                    continue;
                }
                if together[o] == 0 {
                    touched.push(other);
                }
                together[o] += 1;
                walk[o] += to_row * f64::from(other_weight) / total;
            }
        }
        let mut scored: Vec<(u32, f64, f64)> = touched
            .iter()
            .map(|&other| {
                let o = other as usize;
                let rp3 = walk[o] / penalty[o];
                let cosine = f64::from(together[o]) / (f64::from(item_rows[item]) * f64::from(item_rows[o])).sqrt();
                (other, rp3, cosine)
            })
            .collect();
        for &other in &touched {
            walk[other as usize] = 0.0;
            together[other as usize] = 0;
        }
        touched.clear();
        let best_rp3 = scored.iter().map(|s| s.1).fold(0.0, f64::max);
        let best_cosine = scored.iter().map(|s| s.2).fold(0.0, f64::max);
        let blended = |rp3: f64, cosine: f64| {
            let rp3 = if best_rp3 > 0.0 { rp3 / best_rp3 } else { 0.0 };
            let cosine = if best_cosine > 0.0 { cosine / best_cosine } else { 0.0 };
            rp3 + f64::from(parameters.knn_weight) * cosine
        };
        let mut neighbours: Vec<(u32, f64)> =
            scored.drain(..).map(|(other, rp3, cosine)| (other, blended(rp3, cosine))).collect();
        neighbours.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        neighbours.truncate(parameters.neighbours);
        let best = neighbours.first().map_or(0.0, |n| n.1);
        if best > 0.0 {
            table[item] = neighbours.into_iter().map(|(other, score)| (other, (score / best) as f32)).collect();
        }
    }
    table
}

/// The matrix with each row cut to its `max` heaviest items (ties: the lower index).
fn trim_rows(matrix: &SparseRows, max: usize) -> SparseRows {
    let mut triples = Vec::with_capacity(matrix.entries());
    for row in 0..matrix.rows() {
        let (items, weights) = matrix.row(row);
        let mut order: Vec<usize> = (0..items.len()).collect();
        if order.len() > max {
            order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(items[a].cmp(&items[b])));
            order.truncate(max);
        }
        triples.extend(order.into_iter().map(|k| (row as u32, items[k], weights[k])));
    }
    SparseRows::from_triples(matrix.rows(), matrix.columns(), triples)
}

/// A neighbour list as stored: `id:score` pairs joined by commas, best first.
pub fn encode_neighbours(tracks: &[Id], neighbours: &[(u32, f32)]) -> String {
    let mut text = String::with_capacity(neighbours.len() * 30);
    for (k, &(other, score)) in neighbours.iter().enumerate() {
        if k > 0 {
            text.push(',');
        }
        text.push_str(tracks[other as usize].as_str());
        text.push(':');
        text.push_str(&format!("{score:.4}"));
    }
    text
}

/// Reads a stored neighbour list; a pair that does not parse is skipped.
pub fn decode_neighbours(text: &str) -> Vec<(Id, f32)> {
    text.split(',')
        .filter_map(|pair| {
            let (id, score) = pair.split_once(':')?;
            let score: f32 = score.parse().ok()?;
            Some((Id::parse(id)?, score)).filter(|_| score.is_finite())
        })
        .collect()
}

/// The mean AUC of a neighbour table on held-out items: for each user, the share of
/// (held-out item, item the user never had) pairs where the held-out one scores higher, the
/// score of an item being the sum of its neighbour scores from the user's training items.
/// 0.5 is what chance gives; a table that learnt the users' tastes scores well above it.
pub fn held_out_auc(train: &SparseRows, held_out: &[(usize, Vec<u32>)], table: &[Vec<(u32, f32)>]) -> f64 {
    let items = train.columns();
    let mut scores = vec![0.0f32; items];
    let mut total = 0.0;
    let mut users = 0usize;
    for (user, held) in held_out {
        scores.fill(0.0);
        let (history, _) = train.row(*user);
        for &item in history {
            for &(other, score) in &table[item as usize] {
                scores[other as usize] += score;
            }
        }
        let negatives: Vec<f32> = (0..items as u32)
            .filter(|item| history.binary_search(item).is_err() && held.binary_search(item).is_err())
            .map(|item| scores[item as usize])
            .collect();
        if negatives.is_empty() || held.is_empty() {
            continue;
        }
        let mut wins = 0.0;
        for &positive in held {
            let positive = scores[positive as usize];
            for &negative in &negatives {
                wins += if positive > negative {
                    1.0
                } else if positive == negative {
                    0.5
                } else {
                    0.0
                };
            }
        }
        total += wins / (held.len() * negatives.len()) as f64;
        users += 1;
    }
    if users == 0 { 0.5 } else { total / users as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recs::evaluation::{SplitRule, split};
    use crate::reproducible::seeded_rng;
    use rand::Rng;
    use rand::seq::SliceRandom;

    /// 400 users, 20 clusters of 25 items; each user plays 12 items of one cluster and 2 at
    /// random.
    fn clustered() -> SparseRows {
        let mut rng = seeded_rng(7);
        let mut triples = Vec::new();
        for user in 0..400u32 {
            let cluster = user % 20;
            let mut mine: Vec<u32> = (0..25).map(|k| cluster * 25 + k).collect();
            mine.shuffle(&mut rng);
            for &item in &mine[..12] {
                triples.push((user, item, rng.random_range(1.0..5.0f32)));
            }
            for _ in 0..2 {
                triples.push((user, rng.random_range(0..500u32), 1.0));
            }
        }
        SparseRows::from_triples(400, 500, triples)
    }

    /// The check: a table that has seen the listening ranks held-out items well above chance.
    fn ranks_held_out_items_above_random(
        train: &SparseRows,
        held_out: &[(usize, Vec<u32>)],
        table: &[Vec<(u32, f32)>],
    ) -> Result<f64, String> {
        let auc = held_out_auc(train, held_out, table);
        if auc > 0.8 { Ok(auc) } else { Err(format!("AUC {auc:.3}: no better than chance")) }
    }

    #[test]
    fn a_trained_table_ranks_held_out_items_above_random_and_a_shuffled_one_does_not() {
        let data = split(&clustered(), 3, SplitRule::default());
        let table = neighbour_table(&data.train, &NeighbourParameters::default());
        let auc = ranks_held_out_items_above_random(&data.train, &data.held_out, &table).unwrap();
        assert!(auc > 0.9, "{auc}");
        // The same neighbours, pointing at items shuffled at random: it learnt nothing.
        let mut permutation: Vec<u32> = (0..500).collect();
        permutation.shuffle(&mut seeded_rng(11));
        let shuffled: Vec<Vec<(u32, f32)>> = table
            .iter()
            .map(|neighbours| neighbours.iter().map(|&(other, score)| (permutation[other as usize], score)).collect())
            .collect();
        let verdict = ranks_held_out_items_above_random(&data.train, &data.held_out, &shuffled);
        assert!(verdict.is_err(), "a shuffled table passed: {verdict:?}");
    }

    #[test]
    fn neighbours_are_sorted_scaled_and_never_the_item_itself() {
        let matrix = clustered();
        let table = neighbour_table(&matrix, &NeighbourParameters { neighbours: 10, ..NeighbourParameters::default() });
        for (item, neighbours) in table.iter().enumerate() {
            assert!(neighbours.len() <= 10);
            assert!(neighbours.iter().all(|&(other, _)| other as usize != item));
            assert!(neighbours.windows(2).all(|w| w[0].1 >= w[1].1));
            if let Some(first) = neighbours.first() {
                assert!((first.1 - 1.0).abs() < 1e-6);
            }
        }
        // Mostly within the item's own cluster.
        let same: usize = table
            .iter()
            .enumerate()
            .map(|(item, n)| n.iter().filter(|&&(other, _)| other / 25 == item as u32 / 25).count())
            .sum();
        let all: usize = table.iter().map(Vec::len).sum();
        assert!(same * 10 > all * 8, "{same} of {all} within the cluster");
    }

    #[test]
    fn the_stored_form_round_trips() {
        let tracks = [Id::from_u128(1), Id::from_u128(2), Id::from_u128(3)];
        let text = encode_neighbours(&tracks, &[(2, 1.0), (0, 0.25)]);
        assert_eq!(decode_neighbours(&text), vec![(tracks[2], 1.0), (tracks[0], 0.25)]);
        assert_eq!(decode_neighbours(""), vec![]);
        assert_eq!(decode_neighbours("nonsense,x:y"), vec![]);
    }

    #[test]
    fn the_matrix_weighs_each_kind_of_interaction() {
        let (user, playlist) = (Id::from_u128(10), Id::from_u128(20));
        let (a, b) = (Id::from_u128(1), Id::from_u128(2));
        let data = TrainingData {
            plays: vec![(user, a, 3)],
            saved: vec![(user, b)],
            playlist_items: vec![(playlist, a), (playlist, b)],
            followed_artist_tracks: vec![(user, Id::from_u128(30), b, 50)],
        };
        let built = training_matrix(&data, &InteractionWeights::default());
        assert_eq!(built.tracks, [a, b]);
        assert_eq!(built.matrix.rows(), 2, "the user and the playlist");
        let (items, weights) = built.matrix.row(0);
        assert_eq!(items, [0, 1]);
        assert!((weights[0] - 3f32.ln_1p()).abs() < 1e-6);
        assert!((weights[1] - 1.2).abs() < 1e-6, "a like and a follow");
    }
}
