//! Session snapshots and listening history, and the write-behind writer that batches them.
//!
//! A session actor must never wait on the database on its hot path, so it *stages* each new
//! snapshot with [`WriteBehind`] and goes on. One background task writes whatever is staged in a
//! single transaction, then whatever was staged meanwhile, and so on: under load the batches
//! grow, at rest each change is written within [`WRITE_INTERVAL`]. Only the newest snapshot of a user is kept, so
//! what is staged is bounded by the number of users, never by the command rate. Reads of a
//! snapshot look at the staged and in-flight ones first, so a session activated again always
//! starts from the newest state, written or not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{QueryBuilder, Row};
use tokio::sync::{Notify, watch};

use super::{Store, StoreError, StoreResult, on_pool};
use crate::ids::Id;

/// The shortest time between two batches. A process crash loses at most the changes of this
/// interval and of the batch being written; a clean stop loses nothing.
pub const WRITE_INTERVAL: Duration = Duration::from_millis(20);

/// Rows per multi-row statement: well under both databases' parameter limits (5 per row).
const ROWS_PER_STATEMENT: usize = 500;

/// A session's state as stored: opaque bytes, with the `seq` and the fencing epoch of the
/// writer beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub epoch: i64,
    pub seq: u64,
    pub state: Vec<u8>,
}

/// One play of a track, for `recently-played` and recommendations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayRecord {
    pub user: Id,
    pub track: Id,
    pub context_uri: Option<String>,
    pub played_at_ms: i64,
}

impl Store {
    pub async fn load_snapshot(&self, user: Id) -> StoreResult<Option<SnapshotRecord>> {
        on_pool!(self, |pool| {
            let row = sqlx::query("SELECT epoch, seq, state FROM session_snapshots WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(pool)
                .await?;
            row.map(|row| {
                let seq: i64 = row.try_get("seq")?;
                Ok(SnapshotRecord {
                    epoch: row.try_get("epoch")?,
                    seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
                    state: row.try_get("state")?,
                })
            })
            .transpose()
        })
    }

    /// Writes snapshots and plays in one transaction, many rows per statement. A snapshot from
    /// an older epoch than the stored one is refused (left out), so a deposed owner never
    /// overwrites its successor.
    pub async fn write_batch(
        &self,
        snapshots: &[(Id, SnapshotRecord)],
        plays: &[PlayRecord],
        now_ms: i64,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in snapshots.chunks(ROWS_PER_STATEMENT) {
                let mut upsert =
                    QueryBuilder::new("INSERT INTO session_snapshots (user_id, epoch, seq, state, updated_at_ms) ");
                upsert.push_values(chunk, |mut row, (user, snapshot)| {
                    row.push_bind(user.as_str())
                        .push_bind(snapshot.epoch)
                        .push_bind(i64::try_from(snapshot.seq).unwrap_or(i64::MAX))
                        .push_bind(snapshot.state.as_slice())
                        .push_bind(now_ms);
                });
                upsert.push(
                    " ON CONFLICT (user_id) DO UPDATE
                     SET epoch = excluded.epoch, seq = excluded.seq, state = excluded.state,
                         updated_at_ms = excluded.updated_at_ms
                     WHERE session_snapshots.epoch <= excluded.epoch",
                );
                upsert.build().execute(&mut *tx).await?;
            }
            for chunk in plays.chunks(ROWS_PER_STATEMENT) {
                let mut insert =
                    QueryBuilder::new("INSERT INTO listening_history (user_id, track_id, context_uri, played_at_ms) ");
                insert.push_values(chunk, |mut row, play| {
                    row.push_bind(play.user.as_str())
                        .push_bind(play.track.as_str())
                        .push_bind(play.context_uri.as_deref())
                        .push_bind(play.played_at_ms);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// The user's plays, newest first, played before `before_ms`, at most `limit`.
    pub async fn recently_played(&self, user: Id, before_ms: i64, limit: u32) -> StoreResult<Vec<PlayRecord>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT track_id, context_uri, played_at_ms FROM listening_history
                 WHERE user_id = $1 AND played_at_ms < $2 ORDER BY played_at_ms DESC LIMIT $3",
            )
            .bind(user.as_str())
            .bind(before_ms)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let track: &str = row.try_get("track_id")?;
                    Ok(PlayRecord {
                        user,
                        track: Id::parse(track).ok_or_else(|| StoreError::Corrupt(format!("track id {track:?}")))?,
                        context_uri: row.try_get("context_uri")?,
                        played_at_ms: row.try_get("played_at_ms")?,
                    })
                })
                .collect()
        })
    }
}

#[derive(Default)]
struct Pending {
    staged: HashMap<Id, SnapshotRecord>,
    plays: Vec<PlayRecord>,
    /// What the writer took and has not committed yet.
    in_flight: HashMap<Id, SnapshotRecord>,
    /// Bumped by every stage; the writer reports the generation it has written.
    generation: u64,
}

struct Shared {
    store: Store,
    pending: Mutex<Pending>,
    wake: Notify,
    written: watch::Sender<u64>,
}

/// The write-behind writer. Cheap to clone.
#[derive(Clone)]
pub struct WriteBehind {
    shared: Arc<Shared>,
}

impl WriteBehind {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> WriteBehind {
        let shared = Arc::new(Shared {
            store,
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
            written: watch::channel(0).0,
        });
        tokio::spawn(write_loop(shared.clone()));
        WriteBehind { shared }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // The lock is held for map operations only, never across an await, and nothing in it
        // can panic midway, so a poisoned lock still holds consistent data.
        self.shared.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stages the newest snapshot of a user (replacing any staged one that is older: snapshots
    /// may be staged out of order in a cluster, where they are staged once Redis stored them).
    pub fn stage_snapshot(&self, user: Id, snapshot: SnapshotRecord) {
        let mut pending = self.pending();
        match pending.staged.get(&user) {
            Some(staged) if (staged.epoch, staged.seq) > (snapshot.epoch, snapshot.seq) => return,
            _ => {}
        }
        pending.staged.insert(user, snapshot);
        pending.generation += 1;
        drop(pending);
        self.shared.wake.notify_one();
    }

    /// Stages a play for the listening history.
    pub fn stage_play(&self, play: PlayRecord) {
        let mut pending = self.pending();
        pending.plays.push(play);
        pending.generation += 1;
        drop(pending);
        self.shared.wake.notify_one();
    }

    /// The newest snapshot of a user: staged, in flight, or else stored.
    pub async fn load_snapshot(&self, user: Id) -> StoreResult<Option<SnapshotRecord>> {
        {
            let pending = self.pending();
            if let Some(snapshot) = pending.staged.get(&user).or_else(|| pending.in_flight.get(&user)) {
                return Ok(Some(snapshot.clone()));
            }
        }
        self.shared.store.load_snapshot(user).await
    }

    /// Waits until everything staged before this call is written.
    pub async fn flush(&self) {
        let target = self.pending().generation;
        let mut written = self.shared.written.subscribe();
        // The sender lives as long as `self`, so this wait ends only when the target is reached.
        let _ = written.wait_for(|&generation| generation >= target).await;
    }
}

async fn write_loop(shared: Arc<Shared>) {
    loop {
        shared.wake.notified().await;
        loop {
            // Let a batch gather: a session that changes several times meanwhile is written
            // once, and the writer wakes (and switches threads with the database) at most once
            // an interval instead of once a change.
            tokio::time::sleep(WRITE_INTERVAL).await;
            let (snapshots, plays, generation) = {
                let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
                if pending.staged.is_empty() && pending.plays.is_empty() {
                    let generation = pending.generation;
                    drop(pending);
                    shared.written.send_replace(generation);
                    break;
                }
                let staged = std::mem::take(&mut pending.staged);
                pending.in_flight.extend(staged.iter().map(|(user, s)| (*user, s.clone())));
                (staged, std::mem::take(&mut pending.plays), pending.generation)
            };
            let batch: Vec<_> = snapshots.into_iter().collect();
            let now_ms = crate::clock::now_ms() as i64;
            match shared.store.write_batch(&batch, &plays, now_ms).await {
                Ok(()) => {
                    {
                        let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
                        for (user, _) in &batch {
                            pending.in_flight.remove(user);
                        }
                    }
                    shared.written.send_replace(generation);
                }
                Err(err) => {
                    tracing::error!(error = %err, snapshots = batch.len(), "writing session snapshots failed; retrying");
                    {
                        let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
                        for (user, snapshot) in batch {
                            pending.in_flight.remove(&user);
                            // A newer snapshot staged meanwhile wins over the one that failed.
                            pending.staged.entry(user).or_insert(snapshot);
                        }
                        let mut retry = plays;
                        retry.append(&mut pending.plays);
                        pending.plays = retry;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}
