//! What `segue recs batch` and `segue recs evaluate` do: read a log, train, and write the top-K
//! lists or the per-seed and mean metrics. The binary only parses flags and calls these.

use std::io::{BufReader, Write};
use std::path::Path;
use std::time::Instant;

use super::data::{Interactions, read_interactions};
use super::evaluation::{Metrics, Split, SplitRule, evaluate, evaluate_scores, split, top_k};
use super::models::{Hyperparameters, Method, Model, blend_scores};

/// Why a command failed: bad input (the caller's, exit 64) or a failure while running.
#[derive(Debug, thiserror::Error)]
pub enum RecsError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Output(String),
}

/// Reads the interaction log at `path`.
pub fn read_log(path: &Path) -> Result<Interactions, RecsError> {
    let file = std::fs::File::open(path)
        .map_err(|error| RecsError::Input(format!("cannot open {}: {error}", path.display())))?;
    read_interactions(BufReader::new(file)).map_err(|error| RecsError::Input(format!("{}: {error}", path.display())))
}

/// Trains `method` on the whole log and writes `user<TAB>item<TAB>rank` for the top `k` items
/// each user does not have, users in order of first appearance, ranks from 1.
pub fn batch(
    log: &Interactions,
    method: Method,
    parameters: &Hyperparameters,
    k: usize,
    out: &mut impl Write,
) -> Result<(), RecsError> {
    let model = Model::fit(method, &log.matrix, parameters);
    let popularity: Vec<f32> = log.matrix.column_counts().into_iter().map(|c| c as f32).collect();
    let mut scores = vec![0.0f32; log.matrix.columns()];
    let write_error = |error: std::io::Error| RecsError::Output(format!("cannot write the recommendations: {error}"));
    for user in 0..log.matrix.rows() {
        let history = log.matrix.row(user);
        model.score(user, history, &mut scores);
        for (rank, item) in top_k(&scores, history.0, &popularity, k).into_iter().enumerate() {
            writeln!(out, "{}\t{}\t{}", log.user_names[user], log.item_names[item as usize], rank + 1)
                .map_err(write_error)?;
        }
    }
    out.flush().map_err(write_error)
}

/// One method's metrics on one split.
#[derive(Debug, Clone)]
pub struct SeedResult {
    pub method: Method,
    pub seed: u64,
    pub metrics: Metrics,
    pub seconds: f64,
}

/// The split an evaluation scores: the test split of `seed`, or (`validation`) a second split
/// carved from that split's training matrix, so hyperparameters can be tuned without seeing the
/// test items.
pub fn evaluation_split(log: &Interactions, seed: u64, validation: bool) -> Split {
    let test = split(&log.matrix, seed, SplitRule::default());
    if validation { split(&test.train, seed.wrapping_add(1_000_003), SplitRule::default()) } else { test }
}

/// Evaluates every method on every seed's split, printing each result as it comes and then the
/// mean and spread over seeds.
pub fn evaluate_methods(
    log: &Interactions,
    methods: &[Method],
    seeds: &[u64],
    k: usize,
    validation: bool,
    parameters: &Hyperparameters,
    out: &mut impl Write,
) -> Result<Vec<SeedResult>, RecsError> {
    let write_error = |error: std::io::Error| RecsError::Output(format!("cannot write the results: {error}"));
    writeln!(
        out,
        "{} users, {} items, {} interactions; k = {k}; {} split",
        log.matrix.rows(),
        log.matrix.columns(),
        log.matrix.entries(),
        if validation { "validation (carved from the training part)" } else { "test" }
    )
    .map_err(write_error)?;
    writeln!(out, "method\tseed\trecall@{k}\tndcg@{k}\tusers\tseconds").map_err(write_error)?;
    let mut results = Vec::new();
    for &seed in seeds {
        let data = evaluation_split(log, seed, validation);
        for &method in methods {
            let started = Instant::now();
            let model = Model::fit(method, &data.train, parameters);
            let metrics = evaluate(&model, &data, k);
            let seconds = started.elapsed().as_secs_f64();
            writeln!(
                out,
                "{}\t{seed}\t{:.4}\t{:.4}\t{}\t{seconds:.1}",
                method.name(),
                metrics.recall,
                metrics.ndcg,
                metrics.users
            )
            .map_err(write_error)?;
            out.flush().map_err(write_error)?;
            results.push(SeedResult { method, seed, metrics, seconds });
        }
    }
    writeln!(out, "\nmean over seeds {seeds:?}").map_err(write_error)?;
    writeln!(out, "method\trecall@{k}\t(min–max)\tndcg@{k}\t(min–max)").map_err(write_error)?;
    for &method in methods {
        let mine: Vec<&SeedResult> = results.iter().filter(|r| r.method == method).collect();
        let summary = |value: fn(&Metrics) -> f64| {
            let values: Vec<f64> = mine.iter().map(|r| value(&r.metrics)).collect();
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{mean:.4}\t({low:.4}–{high:.4})")
        };
        writeln!(out, "{}\t{}\t{}", method.name(), summary(|m| m.recall), summary(|m| m.ndcg)).map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    Ok(results)
}

/// For tuning the blend: trains EASE, RP3beta and ALS once per seed and prints the metrics of
/// `EASE + w_rp3·RP3beta + w_als·ALS` for every pair of weights from `weights`.
pub fn blend_grid(
    log: &Interactions,
    seeds: &[u64],
    k: usize,
    validation: bool,
    parameters: &Hyperparameters,
    weights: &[f32],
    out: &mut impl Write,
) -> Result<(), RecsError> {
    let write_error = |error: std::io::Error| RecsError::Output(format!("cannot write the results: {error}"));
    writeln!(out, "seed\tw_rp3\tw_als\trecall@{k}\tndcg@{k}").map_err(write_error)?;
    for &seed in seeds {
        let data = evaluation_split(log, seed, validation);
        let ease = Model::fit(Method::Ease, &data.train, parameters);
        let rp3 = Model::fit(Method::Rp3beta, &data.train, parameters);
        let als = Model::fit(Method::Als, &data.train, parameters);
        for &w_rp3 in weights {
            for &w_als in weights {
                let parts = [(1.0, &ease), (w_rp3, &rp3), (w_als, &als)];
                let metrics =
                    evaluate_scores(&data, k, |user, history, scores| blend_scores(parts, user, history, scores));
                writeln!(out, "{seed}\t{w_rp3}\t{w_als}\t{:.4}\t{:.4}", metrics.recall, metrics.ndcg)
                    .map_err(write_error)?;
                out.flush().map_err(write_error)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_writes_k_unseen_items_per_user() {
        let mut text = String::from("user\titem\tweight\n");
        for user in 0..8 {
            for item in 0..6 {
                if (user + item) % 3 != 0 {
                    text.push_str(&format!("u{user}\ta{item}\t{}\n", 1 + item));
                }
            }
        }
        let log = read_interactions(text.as_bytes()).unwrap();
        for method in Method::ALL {
            let parameters = Hyperparameters {
                als_factors: 2,
                als_regularization: 1.0,
                ease_lambda: 1.0,
                ease_dropout: 0.0,
                ..Hyperparameters::default()
            };
            let mut out = Vec::new();
            batch(&log, method, &parameters, 2, &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
            for user in 0..8 {
                let mine: Vec<Vec<&str>> = out
                    .lines()
                    .map(|line| line.split('\t').collect::<Vec<_>>())
                    .filter(|fields| fields[0] == format!("u{user}"))
                    .collect();
                // Each user has 4 of 6 items: 2 candidates, so exactly 2 lines, ranks 1 and 2.
                assert_eq!(mine.len(), 2, "{}: {out}", method.name());
                assert_eq!(mine.iter().map(|f| f[2]).collect::<Vec<_>>(), ["1", "2"]);
                for fields in mine {
                    let line = format!("u{user}\t{}\t", fields[1]);
                    assert!(!text.contains(&line), "{} recommended a seen item: {line}", method.name());
                }
            }
            // Asking for more than there is gives what there is.
            let mut out = Vec::new();
            batch(&log, method, &parameters, 10, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap().lines().count(), 16);
        }
    }
}
