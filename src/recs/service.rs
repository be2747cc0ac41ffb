//! The recommendations a node serves, and their training: [`Recommendations`] holds the
//! current [`Recommender`] (the newest stored model and the catalog), reloads it when another
//! node (or `segue recs train`) stored a newer model, and trains a new one from the store — at
//! start when none exists, then on a schedule, or on demand.
//!
//! **One trainer at a time in a cluster.** Training takes the Redis lock
//! `segue:recs:train-lock` (`SET NX PX`, released by a compare-and-delete script) and checks,
//! once it holds it, that no other node finished a model since it decided to train. Embedded,
//! a mutex in the process is enough; a `segue recs train` beside a server only ever adds a newer
//! model, which the server then loads.
//!
//! The arithmetic runs on a blocking thread (`spawn_blocking`), never on a thread serving
//! requests.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::serving::Recommender;
use super::training::{
    InteractionWeights, NeighbourParameters, decode_neighbours, encode_neighbours, neighbour_table, training_matrix,
};
use crate::clock::now_ms;
use crate::ids::Id;
use crate::player::{Continuation, TrackRef};
use crate::storage::recs::StoredModel;
use crate::storage::redis::RedisEngine;
use crate::storage::{Store, StoreError};

/// The Redis key of the training lock.
const TRAIN_LOCK: &str = "segue:recs:train-lock";
/// How long the lock lives unless released: longer than any training should take, short
/// enough that a trainer that died frees it soon.
const TRAIN_LOCK_TTL: Duration = Duration::from_secs(30 * 60);
/// Rows per page when the catalog and the neighbour table are read.
const PAGE: u32 = 5_000;
/// Tracks of the station autoplay hands the session at a time (when they run out, the last
/// one's station follows).
const AUTOPLAY_TRACKS: usize = 50;
/// The method name stored with each model.
pub const METHOD: &str = "rp3beta+cosine sparse top-50";

/// Why training did not finish.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Redis(#[from] crate::storage::redis::RedisError),
    #[error("another node is training")]
    Busy,
    #[error("training failed: {0}")]
    Failed(String),
}

/// What a finished training did.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: StoredModel,
    /// Tracks that got neighbours.
    pub tracks_with_neighbours: usize,
    pub seconds: f64,
}

/// A node's recommendations: the one it serves now, and how it gets a newer one.
pub struct Recommendations {
    store: Store,
    redis: Option<Arc<RedisEngine>>,
    /// Who trains, as stored with a model: the node id, or `cli`.
    trainer: String,
    current: RwLock<Arc<Recommender>>,
    /// One training at a time in this process.
    training: tokio::sync::Mutex<()>,
    weights: InteractionWeights,
    parameters: NeighbourParameters,
}

impl Recommendations {
    /// Loads the newest stored model (if any) and the catalog.
    pub async fn open(
        store: Store,
        redis: Option<Arc<RedisEngine>>,
        trainer: String,
    ) -> Result<Recommendations, StoreError> {
        let recommendations = Recommendations {
            store,
            redis,
            trainer,
            current: RwLock::new(Arc::new(Recommender::empty())),
            training: tokio::sync::Mutex::new(()),
            weights: InteractionWeights::default(),
            parameters: NeighbourParameters::default(),
        };
        recommendations.reload().await?;
        Ok(recommendations)
    }

    /// The recommender to answer with now.
    pub fn current(&self) -> Arc<Recommender> {
        self.current.read().map(|current| current.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn replace(&self, recommender: Recommender) {
        let recommender = Arc::new(recommender);
        match self.current.write() {
            Ok(mut current) => *current = recommender,
            Err(poisoned) => *poisoned.into_inner() = recommender,
        }
    }

    /// What autoplay plays after `track` when nothing is left: the first tracks of its station,
    /// if `user` turned autoplay on; `None` otherwise (or when the station is empty).
    pub async fn continuation(&self, user: Id, country: &str, track: Id) -> Result<Option<Continuation>, StoreError> {
        if !self.store.autoplay(user).await? {
            return Ok(None);
        }
        let recommender = self.current();
        let Some(seed) = recommender.track(track) else { return Ok(None) };
        let tracks: Vec<TrackRef> = recommender
            .radio(seed, Some(country), 0, AUTOPLAY_TRACKS)
            .into_iter()
            .map(|k| TrackRef { id: recommender.id(k), duration_ms: recommender.duration_ms(k) })
            .collect();
        Ok((!tracks.is_empty()).then(|| Continuation { context_uri: format!("segue:radio:{track}"), tracks }))
    }

    /// Loads the newest stored model when it is not the one served, or the catalog when it
    /// grew or shrank (new tracks get content neighbours at once); answers whether it did.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let latest = self.store.latest_recs_model().await?;
        let current = self.current();
        let same_model = latest.as_ref().map(|m| m.id) == current.model.as_ref().map(|m| m.id);
        if same_model && self.store.catalog_track_count().await? == current.len() as u64 {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Reads the catalog and the newest model's neighbours and serves them.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let model = self.store.latest_recs_model().await?;
        let mut catalog = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.recs_catalog_page(after, PAGE).await?;
            after = page.last().map(|track| track.id);
            let done = page.len() < PAGE as usize;
            catalog.extend(page);
            if done {
                break;
            }
        }
        let mut neighbours = Vec::new();
        if let Some(model) = &model {
            let mut after = None;
            loop {
                let page = self.store.recs_neighbours_page(model.id, after, PAGE).await?;
                after = page.last().map(|(track, _)| *track);
                let done = page.len() < PAGE as usize;
                neighbours.extend(page);
                if done {
                    break;
                }
            }
        }
        let built = tokio::task::spawn_blocking(move || {
            let decoded: Vec<(Id, Vec<(Id, f32)>)> =
                neighbours.into_iter().map(|(track, text)| (track, decode_neighbours(&text))).collect();
            Recommender::build(catalog, decoded, model)
        })
        .await
        .map_err(|error| StoreError::Corrupt(format!("building the recommender: {error}")))?;
        tracing::info!(
            tracks = built.len(),
            with_neighbours = built.tracks_with_neighbours(),
            model = built.model.as_ref().map(|m| m.id),
            "recommendations loaded"
        );
        self.replace(built);
        Ok(())
    }

    /// Trains a model from the store, stores it and serves it. In a cluster, under the Redis
    /// lock (`Busy` when another node holds it). `unless_model_since`: gives up (`Busy`) when a
    /// model with an id at least this appeared meanwhile (another node trained first).
    pub async fn train(&self, unless_model_since: Option<i64>) -> Result<Trained, TrainError> {
        let _one_here = self.training.lock().await;
        let token = format!("{}:{}", self.trainer, Id::random());
        if let Some(redis) = &self.redis
            && !redis.try_lock(TRAIN_LOCK, &token, TRAIN_LOCK_TTL).await?
        {
            return Err(TrainError::Busy);
        }
        let outcome = self.train_holding_lock(unless_model_since).await;
        if let Some(redis) = &self.redis
            && let Err(error) = redis.unlock(TRAIN_LOCK, &token).await
        {
            tracing::warn!(%error, "releasing the training lock failed; it lapses by itself");
        }
        outcome
    }

    async fn train_holding_lock(&self, unless_model_since: Option<i64>) -> Result<Trained, TrainError> {
        if let Some(due) = unless_model_since
            && let Some(latest) = self.store.latest_recs_model().await?
            && latest.id >= due
        {
            return Err(TrainError::Busy);
        }
        let started = Instant::now();
        let id = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        let data = self.store.recs_training_data().await?;
        let (weights, parameters) = (self.weights, self.parameters);
        let (rows, items, interactions, encoded) = tokio::task::spawn_blocking(move || {
            let built = training_matrix(&data, &weights);
            let table = neighbour_table(&built.matrix, &parameters);
            let encoded: Vec<(Id, String)> = table
                .iter()
                .enumerate()
                .filter(|(_, neighbours)| !neighbours.is_empty())
                .map(|(k, neighbours)| (built.tracks[k], encode_neighbours(&built.tracks, neighbours)))
                .collect();
            (built.matrix.rows(), built.matrix.columns(), built.matrix.entries(), encoded)
        })
        .await
        .map_err(|error| TrainError::Failed(error.to_string()))?;
        self.store.write_recs_neighbours(id, &encoded).await?;
        let model = StoredModel {
            id,
            method: METHOD.to_string(),
            users: rows as u64,
            items: items as u64,
            interactions: interactions as u64,
            trained_by: self.trainer.clone(),
            finished_at_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
        };
        self.store.finish_recs_model(&model).await?;
        self.reload().await?;
        let trained =
            Trained { model, tracks_with_neighbours: encoded.len(), seconds: started.elapsed().as_secs_f64() };
        tracing::info!(
            model = trained.model.id,
            rows,
            items,
            interactions,
            with_neighbours = trained.tracks_with_neighbours,
            seconds = trained.seconds,
            "recommendations trained"
        );
        Ok(trained)
    }

    /// The background loop of a node: trains at once when no model is stored, then whenever
    /// the newest model is `every` old (whichever node trains it), and looks for models other
    /// nodes stored every `refresh`. `every: None`: never trains, only loads. Runs until dropped
    /// (a training cut short leaves an unfinished model, never served, and its lock lapses).
    pub async fn run_schedule(self: Arc<Self>, every: Option<Duration>, refresh: Duration) {
        loop {
            let mut wait = refresh;
            match self.store.latest_recs_model().await {
                Ok(latest) => {
                    if let Some(every) = every {
                        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
                        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
                        let due_at = latest.as_ref().map_or(now, |m| m.id.saturating_add(every_ms));
                        if now >= due_at {
                            match self.train(Some(latest.as_ref().map_or(0, |m| m.id + 1))).await {
                                Ok(_) | Err(TrainError::Busy) => {}
                                Err(error) => tracing::warn!(%error, "scheduled training failed; retrying later"),
                            }
                        } else {
                            let until = Duration::from_millis(u64::try_from(due_at - now).unwrap_or(0));
                            wait = wait.min(until.max(Duration::from_millis(100)));
                        }
                    }
                    if let Err(error) = self.refresh().await {
                        tracing::warn!(%error, "loading the newest recommendations failed");
                    }
                }
                Err(error) => tracing::warn!(%error, "reading the recommendation model failed"),
            }
            tokio::time::sleep(wait).await;
        }
    }
}
