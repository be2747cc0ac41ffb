//! Recommendations in the store (migration 0008): what training reads (counted plays outside
//! private sessions, likes, playlist membership, artist follows, the catalog's audio features
//! and genres), the trained models and their sparse item–item neighbour tables, each user's
//! autoplay switch, and each user's Discover Weekly list of an ISO week.
//!
//! A model is written in two steps: its neighbour rows first (in batches), then its row in
//! `recs_models`. Readers only ever read the newest model that has a row, so a training that
//! died halfway is never served; the next finished model deletes what older ones left.

use sqlx::{QueryBuilder, Row};

use super::{BULK_DEADLINE, Store, StoreError, StoreResult, on_pool};
use crate::ids::Id;

/// Rows per multi-row INSERT of neighbours (3 parameters each).
const NEIGHBOUR_BATCH: usize = 300;

/// A trained model as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredModel {
    /// The instant its training started (ms since the epoch): later models have larger ids.
    pub id: i64,
    /// What was trained, e.g. `"rp3beta+knn sparse"`.
    pub method: String,
    /// Rows (users and playlists) it learnt from.
    pub users: u64,
    /// Tracks it learnt about.
    pub items: u64,
    /// Interactions it learnt from.
    pub interactions: u64,
    /// The node (or `cli`) that trained it.
    pub trained_by: String,
    pub finished_at_ms: i64,
}

/// Everything the collaborative model learns from, as the store holds it.
#[derive(Debug, Clone, Default)]
pub struct TrainingData {
    /// `(user, track, counted plays)`, plays of private sessions left out.
    pub plays: Vec<(Id, Id, u32)>,
    /// `(user, track)`: liked songs.
    pub saved: Vec<(Id, Id)>,
    /// `(playlist, track)`: every playlist's items.
    pub playlist_items: Vec<(Id, Id)>,
    /// `(user, artist, track, popularity)`: the tracks of every artist a user follows.
    pub followed_artist_tracks: Vec<(Id, Id, Id, u8)>,
}

/// A track as the content side of the recommender sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTrack {
    pub id: Id,
    pub artist_id: Id,
    /// The artist's genres, most characteristic first.
    pub genres: Vec<String>,
    pub popularity: u8,
    pub duration_ms: u32,
    /// Where it is licensed; `None`: everywhere.
    pub markets: Option<Vec<String>>,
    /// `None` when the catalog has no audio features for it.
    pub features: Option<TrackFeatures>,
}

/// The audio features a track has, as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackFeatures {
    pub acousticness: f64,
    pub danceability: f64,
    pub energy: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub loudness: f64,
    pub speechiness: f64,
    pub tempo: f64,
    pub valence: f64,
    pub key: i64,
    pub mode: i64,
    pub time_signature: i64,
}

/// What one user's taste is made of, for serving (Discover Weekly, what not to recommend).
#[derive(Debug, Clone, Default)]
pub struct UserTaste {
    /// `(track, counted plays, last played at ms)` outside private sessions.
    pub played: Vec<(Id, u32, i64)>,
    pub saved: Vec<Id>,
    /// Tracks of the playlists the user owns.
    pub playlist_tracks: Vec<Id>,
    pub followed_artists: Vec<Id>,
}

fn parse_id(text: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("recommendation id {text:?}")))
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

const MODEL_COLUMNS: &str = "id, method, users, items, interactions, trained_by, finished_at_ms";

macro_rules! read_model {
    ($row:expr) => {{
        let row = $row;
        StoredModel {
            id: row.try_get("id")?,
            method: row.try_get("method")?,
            users: count(row.try_get("users")?),
            items: count(row.try_get("items")?),
            interactions: count(row.try_get("interactions")?),
            trained_by: row.try_get("trained_by")?,
            finished_at_ms: row.try_get("finished_at_ms")?,
        }
    }};
}

impl Store {
    /// Everything training learns from, read whole (within the bulk deadline).
    pub async fn recs_training_data(&self) -> StoreResult<TrainingData> {
        on_pool!(self, deadline = BULK_DEADLINE, |pool| {
            let mut data = TrainingData::default();
            let rows = sqlx::query(
                "SELECT user_id, track_id, COUNT(*) AS n FROM plays WHERE NOT private GROUP BY user_id, track_id",
            )
            .fetch_all(pool)
            .await?;
            for row in &rows {
                let n: i64 = row.try_get("n")?;
                data.plays.push((
                    parse_id(row.try_get("user_id")?)?,
                    parse_id(row.try_get("track_id")?)?,
                    u32::try_from(n).unwrap_or(u32::MAX),
                ));
            }
            let rows = sqlx::query("SELECT user_id, track_id FROM saved_tracks").fetch_all(pool).await?;
            for row in &rows {
                data.saved.push((parse_id(row.try_get("user_id")?)?, parse_id(row.try_get("track_id")?)?));
            }
            let rows = sqlx::query("SELECT playlist_id, track_id FROM playlist_items").fetch_all(pool).await?;
            for row in &rows {
                data.playlist_items.push((parse_id(row.try_get("playlist_id")?)?, parse_id(row.try_get("track_id")?)?));
            }
            let rows = sqlx::query(
                "SELECT f.user_id, f.artist_id, t.id AS track_id, t.popularity FROM followed_artists f
                 JOIN tracks t ON t.artist_id = f.artist_id",
            )
            .fetch_all(pool)
            .await?;
            for row in &rows {
                let popularity: i64 = row.try_get("popularity")?;
                data.followed_artist_tracks.push((
                    parse_id(row.try_get("user_id")?)?,
                    parse_id(row.try_get("artist_id")?)?,
                    parse_id(row.try_get("track_id")?)?,
                    popularity.clamp(0, 100) as u8,
                ));
            }
            Ok::<_, StoreError>(data)
        })
    }

    /// A page of the catalog for the content side, in id order: at most `limit` tracks with an
    /// id above `after`.
    pub async fn recs_catalog_page(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<CatalogTrack>> {
        let after = after.map(|id| id.as_str().to_string()).unwrap_or_default();
        on_pool!(self, deadline = BULK_DEADLINE, |pool| {
            let rows = sqlx::query(
                "SELECT t.id, t.artist_id, ar.genres, t.popularity, t.duration_ms, t.markets, t.acousticness,
                        t.danceability, t.energy, t.instrumentalness, t.liveness, t.loudness, t.speechiness,
                        t.tempo, t.valence, t.musical_key, t.mode, t.time_signature
                 FROM tracks t JOIN artists ar ON ar.id = t.artist_id
                 WHERE t.id > $1 ORDER BY t.id LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let genres: String = row.try_get("genres")?;
                    let markets: Option<String> = row.try_get("markets")?;
                    let popularity: i64 = row.try_get("popularity")?;
                    let duration: i64 = row.try_get("duration_ms")?;
                    let danceability: Option<f64> = row.try_get("danceability")?;
                    let features = match danceability {
                        None => None,
                        Some(danceability) => Some(TrackFeatures {
                            acousticness: row.try_get::<Option<f64>, _>("acousticness")?.unwrap_or(0.0),
                            danceability,
                            energy: row.try_get::<Option<f64>, _>("energy")?.unwrap_or(0.0),
                            instrumentalness: row.try_get::<Option<f64>, _>("instrumentalness")?.unwrap_or(0.0),
                            liveness: row.try_get::<Option<f64>, _>("liveness")?.unwrap_or(0.0),
                            loudness: row.try_get::<Option<f64>, _>("loudness")?.unwrap_or(0.0),
                            speechiness: row.try_get::<Option<f64>, _>("speechiness")?.unwrap_or(0.0),
                            tempo: row.try_get::<Option<f64>, _>("tempo")?.unwrap_or(0.0),
                            valence: row.try_get::<Option<f64>, _>("valence")?.unwrap_or(0.0),
                            key: row.try_get::<Option<i64>, _>("musical_key")?.unwrap_or(-1),
                            mode: row.try_get::<Option<i64>, _>("mode")?.unwrap_or(1),
                            time_signature: row.try_get::<Option<i64>, _>("time_signature")?.unwrap_or(4),
                        }),
                    };
                    Ok(CatalogTrack {
                        id: parse_id(row.try_get("id")?)?,
                        artist_id: parse_id(row.try_get("artist_id")?)?,
                        genres: genres.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect(),
                        popularity: popularity.clamp(0, 100) as u8,
                        duration_ms: duration.clamp(0, i64::from(u32::MAX)) as u32,
                        markets: markets.map(|m| m.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect()),
                        features,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()
        })
    }

    /// How many tracks the catalog holds (the recommender reloads when it changes).
    pub async fn catalog_track_count(&self) -> StoreResult<u64> {
        on_pool!(self, |pool| {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tracks").fetch_one(pool).await?.try_get("n")?;
            Ok::<_, StoreError>(count(n))
        })
    }

    /// Writes part of an unfinished model's neighbour table: `(track, encoded neighbours)`.
    pub async fn write_recs_neighbours(&self, model: i64, rows: &[(Id, String)]) -> StoreResult<()> {
        for chunk in rows.chunks(NEIGHBOUR_BATCH) {
            on_pool!(self, deadline = BULK_DEADLINE, |pool| {
                let mut insert = QueryBuilder::new("INSERT INTO recs_neighbours (model_id, track_id, neighbours) ");
                insert.push_values(chunk, |mut row, (track, neighbours)| {
                    row.push_bind(model).push_bind(track.as_str()).push_bind(neighbours.as_str());
                });
                insert.push(" ON CONFLICT (model_id, track_id) DO UPDATE SET neighbours = excluded.neighbours");
                insert.build().execute(pool).await.map(drop)
            })?;
        }
        Ok(())
    }

    /// Finishes a model whose neighbours are all written: from now on it is the one served.
    /// Every older model goes, with its neighbours.
    pub async fn finish_recs_model(&self, model: &StoredModel) -> StoreResult<()> {
        on_pool!(self, deadline = BULK_DEADLINE, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO recs_models (id, method, users, items, interactions, trained_by, finished_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(model.id)
            .bind(&model.method)
            .bind(i64::try_from(model.users).unwrap_or(i64::MAX))
            .bind(i64::try_from(model.items).unwrap_or(i64::MAX))
            .bind(i64::try_from(model.interactions).unwrap_or(i64::MAX))
            .bind(&model.trained_by)
            .bind(model.finished_at_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM recs_models WHERE id < $1").bind(model.id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM recs_neighbours WHERE model_id < $1").bind(model.id).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// The newest finished model, if any.
    pub async fn latest_recs_model(&self) -> StoreResult<Option<StoredModel>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {MODEL_COLUMNS} FROM recs_models ORDER BY id DESC LIMIT 1"));
        on_pool!(self, |pool| {
            let row = sqlx::query(sql).fetch_optional(pool).await?;
            row.map(|row| Ok(read_model!(&row))).transpose()
        })
    }

    /// A page of a model's neighbour table in track order: at most `limit` rows after `after`.
    pub async fn recs_neighbours_page(
        &self,
        model: i64,
        after: Option<Id>,
        limit: u32,
    ) -> StoreResult<Vec<(Id, String)>> {
        let after = after.map(|id| id.as_str().to_string()).unwrap_or_default();
        on_pool!(self, deadline = BULK_DEADLINE, |pool| {
            let rows = sqlx::query(
                "SELECT track_id, neighbours FROM recs_neighbours WHERE model_id = $1 AND track_id > $2
                 ORDER BY track_id LIMIT $3",
            )
            .bind(model)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok((parse_id(row.try_get("track_id")?)?, row.try_get::<String, _>("neighbours")?)))
                .collect::<StoreResult<Vec<_>>>()
        })
    }

    /// What `user`'s taste is made of (private-session plays left out).
    pub async fn user_taste(&self, user: Id) -> StoreResult<UserTaste> {
        on_pool!(self, |pool| {
            let mut taste = UserTaste::default();
            let rows = sqlx::query(
                "SELECT track_id, COUNT(*) AS n, MAX(played_at_ms) AS latest FROM plays
                 WHERE user_id = $1 AND NOT private GROUP BY track_id",
            )
            .bind(user.as_str())
            .fetch_all(pool)
            .await?;
            for row in &rows {
                let n: i64 = row.try_get("n")?;
                taste.played.push((
                    parse_id(row.try_get("track_id")?)?,
                    u32::try_from(n).unwrap_or(u32::MAX),
                    row.try_get("latest")?,
                ));
            }
            let rows = sqlx::query("SELECT track_id FROM saved_tracks WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_all(pool)
                .await?;
            for row in &rows {
                taste.saved.push(parse_id(row.try_get("track_id")?)?);
            }
            let rows = sqlx::query(
                "SELECT DISTINCT i.track_id FROM playlist_items i JOIN playlists p ON p.id = i.playlist_id
                 WHERE p.owner_id = $1",
            )
            .bind(user.as_str())
            .fetch_all(pool)
            .await?;
            for row in &rows {
                taste.playlist_tracks.push(parse_id(row.try_get("track_id")?)?);
            }
            let rows = sqlx::query("SELECT artist_id FROM followed_artists WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_all(pool)
                .await?;
            for row in &rows {
                taste.followed_artists.push(parse_id(row.try_get("artist_id")?)?);
            }
            Ok::<_, StoreError>(taste)
        })
    }

    /// Every track `user` played since `since_ms`, private sessions included.
    pub async fn tracks_played_since(&self, user: Id, since_ms: i64) -> StoreResult<Vec<Id>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query("SELECT DISTINCT track_id FROM plays WHERE user_id = $1 AND played_at_ms >= $2")
                .bind(user.as_str())
                .bind(since_ms)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| parse_id(row.try_get("track_id")?)).collect::<StoreResult<Vec<_>>>()
        })
    }

    /// Whether `user` turned autoplay on (off until they do).
    pub async fn autoplay(&self, user: Id) -> StoreResult<bool> {
        on_pool!(self, |pool| {
            let row = sqlx::query("SELECT enabled FROM recs_autoplay WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(pool)
                .await?;
            row.map_or(Ok(false), |row| row.try_get::<bool, _>("enabled").map_err(StoreError::from))
        })
    }

    /// Turns `user`'s autoplay on or off.
    pub async fn set_autoplay(&self, user: Id, enabled: bool, now_ms: i64) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO recs_autoplay (user_id, enabled, updated_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(user.as_str())
            .bind(enabled)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// `user`'s Discover Weekly of `week`, as stored.
    pub async fn discover_weekly(&self, user: Id, week: &str) -> StoreResult<Option<String>> {
        on_pool!(self, |pool| {
            let row = sqlx::query("SELECT tracks FROM recs_discover_weekly WHERE user_id = $1 AND week = $2")
                .bind(user.as_str())
                .bind(week)
                .fetch_optional(pool)
                .await?;
            row.map(|row| row.try_get::<String, _>("tracks").map_err(StoreError::from)).transpose()
        })
    }

    /// Keeps `user`'s Discover Weekly of `week`, unless one is kept already (another node made
    /// it first); answers the one kept, so every node serves the same list all week. Older
    /// weeks of the user go.
    pub async fn keep_discover_weekly(&self, user: Id, week: &str, tracks: &str, now_ms: i64) -> StoreResult<String> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO recs_discover_weekly (user_id, week, tracks, created_at_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, week) DO NOTHING",
            )
            .bind(user.as_str())
            .bind(week)
            .bind(tracks)
            .bind(now_ms)
            .execute(pool)
            .await?;
            sqlx::query("DELETE FROM recs_discover_weekly WHERE user_id = $1 AND week <> $2")
                .bind(user.as_str())
                .bind(week)
                .execute(pool)
                .await?;
            let row = sqlx::query("SELECT tracks FROM recs_discover_weekly WHERE user_id = $1 AND week = $2")
                .bind(user.as_str())
                .bind(week)
                .fetch_one(pool)
                .await?;
            row.try_get::<String, _>("tracks").map_err(StoreError::from)
        })
    }
}
