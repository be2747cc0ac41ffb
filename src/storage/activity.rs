//! Friend activity in the store: the latest activity of each user (`user_activity`, migration
//! 0004), written behind by [`ActivityWriter`] off the command's path, and read for a user's
//! friends (`activity_subscribe`, `GET /v1/me/friends/activity`) on any node.
//!
//! **Bounds.** One staged record per user (a newer one replaces it), at most
//! [`ACTIVITY_STAGED_CAPACITY`] users waiting; past that a record of a user not yet staged is
//! dropped and counted (`segue_queue_overflow_total{queue="activity_writes"}`): friends then see
//! that user's previous activity until their next one. A batch writes at most
//! [`ACTIVITY_BATCH`] rows, each statement under the store's query deadline; a failed batch is
//! staged again (unless something newer is) and retried after [`ACTIVITY_RETRY_DELAY`]. A row
//! never goes back in time: an older record does not overwrite a newer one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{QueryBuilder, Row};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Store, StoreError, StoreResult, on_pool};
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};

/// Users whose activity may wait to be written.
pub const ACTIVITY_STAGED_CAPACITY: usize = 100_000;
/// Rows one statement writes at most (5 parameters each).
pub const ACTIVITY_BATCH: usize = 500;
/// The shortest time between two batches: activity is written within about this long.
pub const ACTIVITY_WRITE_INTERVAL: Duration = Duration::from_millis(50);
/// The pause after a failed batch.
pub const ACTIVITY_RETRY_DELAY: Duration = Duration::from_millis(500);

/// A user's latest activity, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub user: Id,
    pub online: bool,
    pub track_id: Option<Id>,
    pub context_uri: Option<String>,
    pub timestamp_ms: i64,
}

/// A followed user and their latest activity (none when they never had any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FriendRecord {
    pub user: Id,
    pub display_name: String,
    pub activity: Option<ActivityRecord>,
}

fn parse_id(text: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("id {text:?}")))
}

/// Rows of `id, display_name, online, track_id, context_uri, timestamp_ms` as records (a macro:
/// the rows are of either database).
macro_rules! friend_records {
    ($rows:expr) => {
        $rows
            .iter()
            .map(|row| {
                let id = parse_id(row.try_get::<&str, _>("id")?)?;
                let activity = match row.try_get::<Option<i64>, _>("timestamp_ms")? {
                    None => None,
                    Some(timestamp_ms) => Some(ActivityRecord {
                        user: id,
                        online: row.try_get("online")?,
                        track_id: row.try_get::<Option<&str>, _>("track_id")?.map(parse_id).transpose()?,
                        context_uri: row.try_get("context_uri")?,
                        timestamp_ms,
                    }),
                };
                Ok(FriendRecord { user: id, display_name: row.try_get("display_name")?, activity })
            })
            .collect::<StoreResult<Vec<_>>>()
    };
}

impl Store {
    /// Writes activity records (an older one than the row holds is skipped).
    pub async fn write_activity(&self, records: &[ActivityRecord]) -> StoreResult<()> {
        for chunk in records.chunks(ACTIVITY_BATCH) {
            on_pool!(self, |pool| {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO user_activity (user_id, online, track_id, context_uri, timestamp_ms) ",
                );
                insert.push_values(chunk, |mut row, record| {
                    row.push_bind(record.user.as_str())
                        .push_bind(record.online)
                        .push_bind(record.track_id.map(|id| id.to_string()))
                        .push_bind(record.context_uri.clone())
                        .push_bind(record.timestamp_ms);
                });
                insert.push(
                    " ON CONFLICT (user_id) DO UPDATE SET online = excluded.online, track_id = excluded.track_id,
                      context_uri = excluded.context_uri, timestamp_ms = excluded.timestamp_ms
                      WHERE user_activity.timestamp_ms <= excluded.timestamp_ms",
                );
                insert.build().execute(pool).await.map(drop)
            })?;
        }
        Ok(())
    }

    /// The users `user` follows with their latest activity, the most recent first (users with
    /// none last), at most `limit`.
    pub async fn friends_activity(&self, user: Id, limit: u32) -> StoreResult<Vec<FriendRecord>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT u.id, u.display_name, a.online, a.track_id, a.context_uri, a.timestamp_ms
                 FROM followed_users f
                 JOIN users u ON u.id = f.followed_id
                 LEFT JOIN user_activity a ON a.user_id = f.followed_id
                 WHERE f.user_id = $1
                 ORDER BY COALESCE(a.timestamp_ms, -1) DESC, u.id
                 LIMIT $2",
            )
            .bind(user.as_str())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            friend_records!(rows)
        })
    }

    /// These users with their latest activity (unknown ids are left out), in no set order.
    pub async fn users_activity(&self, users: &[Id]) -> StoreResult<Vec<FriendRecord>> {
        let mut records = Vec::with_capacity(users.len());
        for chunk in users.chunks(400) {
            let sql = format!(
                "SELECT u.id, u.display_name, a.online, a.track_id, a.context_uri, a.timestamp_ms
                 FROM users u LEFT JOIN user_activity a ON a.user_id = u.id
                 WHERE u.id IN ({})",
                super::placeholders(1, chunk.len())
            );
            let chunk_records = on_pool!(self, |pool| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for user in chunk {
                    query = query.bind(user.as_str());
                }
                let rows = query.fetch_all(pool).await?;
                friend_records!(rows)
            })?;
            records.extend(chunk_records);
        }
        Ok(records)
    }
}

/// The staged records, by user.
type Staged = Arc<Mutex<HashMap<Id, ActivityRecord>>>;

/// Stages activity records for the writer task; cheap to clone.
#[derive(Clone)]
pub struct ActivityWriter {
    staged: Staged,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
}

/// The task that writes what is staged ([`ActivityWriterTask::run`]).
pub struct ActivityWriterTask {
    store: Store,
    staged: Staged,
    wake: Arc<Notify>,
}

impl ActivityWriter {
    pub fn new(store: Store, metrics: Arc<Metrics>) -> (ActivityWriter, ActivityWriterTask) {
        let staged = Staged::default();
        let wake = Arc::new(Notify::new());
        (
            ActivityWriter { staged: staged.clone(), wake: wake.clone(), metrics },
            ActivityWriterTask { store, staged, wake },
        )
    }

    /// Stages a record (replacing the user's staged one); never waits.
    pub fn stage(&self, record: ActivityRecord) {
        let mut staged = self.staged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if staged.len() >= ACTIVITY_STAGED_CAPACITY && !staged.contains_key(&record.user) {
            drop(staged);
            self.metrics.overflowed(Queue::ActivityWrites);
            return;
        }
        staged.insert(record.user, record);
        drop(staged);
        self.wake.notify_one();
    }
}

impl ActivityWriterTask {
    /// Writes until `stop`, then what is still staged (one attempt).
    pub async fn run(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = stop.cancelled() => break,
            }
            tokio::time::sleep(ACTIVITY_WRITE_INTERVAL).await;
            while !self.write_staged().await {
                tokio::select! {
                    _ = tokio::time::sleep(ACTIVITY_RETRY_DELAY) => {}
                    _ = stop.cancelled() => break,
                }
            }
        }
        self.write_staged().await;
    }

    /// Writes what is staged now; false when the store refused (the records are staged again).
    async fn write_staged(&self) -> bool {
        let batch: Vec<ActivityRecord> = {
            let mut staged = self.staged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            staged.drain().map(|(_, record)| record).collect()
        };
        if batch.is_empty() {
            return true;
        }
        match self.store.write_activity(&batch).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, records = batch.len(), "writing friend activity failed; retrying");
                let mut staged = self.staged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                for record in batch {
                    staged.entry(record.user).or_insert(record);
                }
                false
            }
        }
    }
}
