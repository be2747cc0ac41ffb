//! Session snapshots and listening history, and the write-behind writer that batches them.
//!
//! A session actor must never wait on the database on its hot path, so it *stages* each new
//! snapshot with [`WriteBehind`] and goes on. One background task writes what is staged in a
//! single transaction (at most [`BATCH_SNAPSHOTS`] snapshots and [`BATCH_PLAYS`] plays), then
//! what was staged meanwhile, and so on: under load the batches grow, at rest each change is
//! written within [`WRITE_INTERVAL`]. Reads of a snapshot look at the staged and in-flight ones
//! first, so a session activated again always starts from the newest state, written or not.
//!
//! **Bounds.** Snapshots: one per user (a newer one replaces the staged one), so what waits is
//! bounded by the number of users, never by the command rate; nothing is dropped. Plays: at
//! most [`PLAYS_CAPACITY`] wait (and one batch is in flight); past it the oldest waiting play
//! is dropped and counted (`segue_queue_overflow_total{queue="write_behind_plays"}`). While the
//! database refuses writes, everything stays staged and is retried every [`RETRY_DELAY`], in
//! order; [`WriteBehind::flush`] gives up after [`FLUSH_DEADLINE`] and each batch after the
//! store's query deadline, so no caller hangs on a database that stopped answering.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::{QueryBuilder, Row};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{DeadlineExceeded, Store, StoreError, StoreResult, on_pool};
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};

/// The shortest time between two batches. A process crash loses at most the changes of this
/// interval and of the batch being written; a clean stop loses nothing.
pub const WRITE_INTERVAL: Duration = Duration::from_millis(20);

/// How many plays may wait to be written, besides the batch in flight (at most
/// [`BATCH_PLAYS`] more). A play's write is ~200 bytes (its id and context URI on the heap), so
/// this is ~20 MB at most. A counted play is written once when it counts and once more when it
/// stops or ends (more if it is paused and resumed), so this holds several minutes of a node's
/// plays at 33,000 listeners (one new track each ~3.5 minutes: ~160 plays/s, ~320 writes/s). **Overflow:** the oldest waiting play is dropped (the history keeps the
/// newest plays, the ones `recently-played` shows) and counted in
/// `segue_queue_overflow_total{queue="write_behind_plays"}`; a warning says how many, at most
/// once every `OVERFLOW_LOG_INTERVAL` (10 s). Snapshots are never dropped.
pub const PLAYS_CAPACITY: usize = 100_000;

/// The most snapshots one batch writes: 4 statements of `ROWS_PER_STATEMENT` (500) rows, well
/// within a query deadline even after an outage, when every user's snapshot waits at once
/// (an unbounded batch could outgrow the deadline and never be written). At rest a batch holds
/// the users that changed in one [`WRITE_INTERVAL`]: a few hundred at 10,000 commands/s.
pub const BATCH_SNAPSHOTS: usize = 2_000;

/// The most plays one batch writes (10 statements of short rows).
pub const BATCH_PLAYS: usize = 5_000;

/// How long [`WriteBehind::flush`] waits for what was staged before it: a normal flush takes
/// one [`WRITE_INTERVAL`] and a batch; past this the database is not taking writes and the
/// caller answers `UNAVAILABLE` (503) instead of hanging. The same as one query's deadline.
pub const FLUSH_DEADLINE: Duration = super::QUERY_DEADLINE;

/// The pause after a failed batch before it is tried again.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Warnings about dropped plays and failing batches are logged at most this often (with how
/// many since the last one), not once a play or once a retry.
const OVERFLOW_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Rows per multi-row statement: well under both databases' parameter limits (8 per row).
const ROWS_PER_STATEMENT: usize = 500;

/// A session's state as stored: opaque bytes, with the `seq` and the fencing epoch of the
/// writer beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub epoch: i64,
    pub seq: u64,
    pub state: Vec<u8>,
}

/// One counted play (a stream), or what became of it since: for royalties, `recently-played`
/// and the tops. Written by its `id` (derived from the session: `player::plays::PlayId`): the
/// first write of an id counts it, later ones only update how long it played and why it
/// stopped, so a play written twice (a takeover that counted it again) is one play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayRecord {
    pub id: String,
    pub user: Id,
    pub track: Id,
    pub context_uri: Option<String>,
    /// When the playback started.
    pub played_at_ms: i64,
    pub ms_played: i64,
    /// `None` while it plays; `track_done`, `skip`, `transfer` or `stop`.
    pub end_reason: Option<String>,
    /// Played in a private session: counts for royalties, stays out of history and tops.
    pub private: bool,
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

    /// Writes snapshots and plays in one transaction, many rows per statement, plays in the
    /// order given. A snapshot older than the stored one (an older epoch, or the same epoch and
    /// a lower seq) is refused (left out), so a deposed owner never overwrites its successor and
    /// a snapshot staged out of order never replaces a newer one.
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
                     WHERE (session_snapshots.epoch, session_snapshots.seq) <= (excluded.epoch, excluded.seq)",
                );
                upsert.build().execute(&mut *tx).await?;
            }
            // One row per play id and statement (PostgreSQL refuses to upsert a row twice in one
            // statement): the play's later writes in this batch fold into its first.
            let plays = fold_plays(plays);
            for chunk in plays.chunks(ROWS_PER_STATEMENT) {
                let mut upsert = QueryBuilder::new(
                    "INSERT INTO plays (id, user_id, track_id, context_uri, played_at_ms, ms_played, end_reason, private,
                                        counted_at_ms, event_pending) ",
                );
                upsert.push_values(chunk, |mut row, play| {
                    row.push_bind(play.id.as_str())
                        .push_bind(play.user.as_str())
                        .push_bind(play.track.as_str())
                        .push_bind(play.context_uri.as_deref())
                        .push_bind(play.played_at_ms)
                        .push_bind(play.ms_played)
                        .push_bind(play.end_reason.as_deref())
                        .push_bind(play.private)
                        .push_bind(now_ms)
                        .push_bind(self.play_events);
                });
                // A play already stored is not counted again: only how long it played and why it
                // stopped move on, and never back (a takeover writing an older view of it). Its
                // count instant and its place in the event outbox stay those of the first write.
                upsert.push(
                    " ON CONFLICT (id) DO UPDATE
                     SET ms_played = excluded.ms_played, end_reason = COALESCE(excluded.end_reason, plays.end_reason)
                     WHERE plays.ms_played <= excluded.ms_played",
                );
                upsert.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }
}

/// The plays of a batch with one entry per id, in the order of their first write: a later write
/// of the same play brings its `ms_played` and `end_reason` (as the upsert would).
fn fold_plays(plays: &[PlayRecord]) -> std::borrow::Cow<'_, [PlayRecord]> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(plays.len());
    let mut folded: Vec<PlayRecord> = Vec::new();
    let mut repeated = false;
    for play in plays {
        match seen.get(play.id.as_str()) {
            Some(&at) => {
                repeated = true;
                let first = &mut folded[at];
                if first.ms_played <= play.ms_played {
                    first.ms_played = play.ms_played;
                    first.end_reason = play.end_reason.clone().or(first.end_reason.take());
                }
            }
            None => {
                seen.insert(play.id.as_str(), folded.len());
                folded.push(play.clone());
            }
        }
    }
    if repeated { std::borrow::Cow::Owned(folded) } else { std::borrow::Cow::Borrowed(plays) }
}

/// What waits to be written. Every field's size is bounded: see each one.
#[derive(Default)]
struct Pending {
    /// The newest snapshot of each user not yet taken by the writer: one per user.
    staged: HashMap<Id, SnapshotRecord>,
    /// Plays not yet taken by the writer, oldest first: at most [`Bounds::plays`]; past it
    /// the oldest is dropped.
    plays: VecDeque<PlayRecord>,
    /// What the writer took and has not committed yet: at most [`Bounds::batch_snapshots`].
    in_flight: HashMap<Id, SnapshotRecord>,
    /// How many plays the writer took and has not committed yet: at most [`Bounds::batch_plays`].
    plays_in_flight: usize,
    /// Bumped by every stage; the writer reports the generation it has written.
    generation: u64,
    /// Plays dropped since the last warning about it.
    dropped_unlogged: u64,
    last_drop_warning: Option<Instant>,
}

/// The bounds of the writer ([`Bounds::DEFAULT`] in service; tests use small ones).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    plays: usize,
    batch_snapshots: usize,
    batch_plays: usize,
}

impl Bounds {
    const DEFAULT: Bounds =
        Bounds { plays: PLAYS_CAPACITY, batch_snapshots: BATCH_SNAPSHOTS, batch_plays: BATCH_PLAYS };
}

impl Pending {
    /// Drops the oldest waiting plays until they fit in `capacity`; returns how many.
    fn drop_oldest_plays(&mut self, capacity: usize) -> u64 {
        let mut dropped = 0;
        while self.plays.len() > capacity && self.plays.pop_front().is_some() {
            dropped += 1;
        }
        self.dropped_unlogged += dropped;
        dropped
    }

    /// The number of plays dropped since the last warning, when it is time for another one.
    fn drop_warning_due(&mut self) -> Option<u64> {
        let due = self.last_drop_warning.is_none_or(|last| last.elapsed() >= OVERFLOW_LOG_INTERVAL);
        if self.dropped_unlogged == 0 || !due {
            return None;
        }
        self.last_drop_warning = Some(Instant::now());
        Some(std::mem::take(&mut self.dropped_unlogged))
    }
}

/// One batch taken by the writer.
struct Batch {
    snapshots: Vec<(Id, SnapshotRecord)>,
    plays: Vec<PlayRecord>,
    /// The generation everything staged is written up to once this batch commits, if it took
    /// everything that was staged.
    completes: Option<u64>,
}

struct Shared {
    store: Store,
    metrics: Arc<Metrics>,
    bounds: Bounds,
    pending: Mutex<Pending>,
    wake: Notify,
    written: watch::Sender<u64>,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        // The lock is held for map operations only, never across an await, and nothing in it
        // can panic midway, so a poisoned lock still holds consistent data.
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts plays dropped for the capacity, and warns now and then.
    fn dropped_plays(&self, dropped: u64, warning: Option<u64>) {
        if dropped > 0 {
            self.metrics.overflowed_by(Queue::WriteBehindPlays, dropped);
        }
        if let Some(dropped) = warning {
            tracing::warn!(
                dropped,
                capacity = self.bounds.plays,
                "plays waiting for the database past the write-behind's capacity: the oldest were dropped"
            );
        }
    }
}

/// The write-behind writer. Cheap to clone.
#[derive(Clone)]
pub struct WriteBehind {
    shared: Arc<Shared>,
}

/// The writer's loop, for whoever owns the node's background tasks to run.
pub struct WriterTask {
    shared: Arc<Shared>,
}

impl WriterTask {
    /// Writes what is staged until `stop` (flush first: what is staged when it stops stays
    /// unwritten).
    pub async fn run(self, stop: CancellationToken) {
        tokio::select! {
            _ = write_loop(self.shared) => {}
            _ = stop.cancelled() => {}
        }
    }
}

impl WriteBehind {
    /// The writer and its loop, which the caller runs; overflows are counted in `metrics`.
    pub fn new(store: Store, metrics: Arc<Metrics>) -> (WriteBehind, WriterTask) {
        WriteBehind::new_with(store, metrics, Bounds::DEFAULT)
    }

    /// The writer, its loop spawned on the current runtime (for tests and tools, which own no
    /// background tasks).
    pub fn start(store: Store, metrics: Arc<Metrics>) -> WriteBehind {
        WriteBehind::start_with(store, metrics, Bounds::DEFAULT)
    }

    fn start_with(store: Store, metrics: Arc<Metrics>, bounds: Bounds) -> WriteBehind {
        let (writer, task) = WriteBehind::new_with(store, metrics, bounds);
        tokio::spawn(task.run(CancellationToken::new()));
        writer
    }

    fn new_with(store: Store, metrics: Arc<Metrics>, bounds: Bounds) -> (WriteBehind, WriterTask) {
        let shared = Arc::new(Shared {
            store,
            metrics,
            bounds,
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
            written: watch::channel(0).0,
        });
        (WriteBehind { shared: shared.clone() }, WriterTask { shared })
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.shared.pending()
    }

    /// Stages the newest snapshot of a user (unless the staged or in-flight one is newer:
    /// snapshots may be staged out of order in a cluster, where they are staged once Redis
    /// stored them).
    pub fn stage_snapshot(&self, user: Id, snapshot: SnapshotRecord) {
        let mut pending = self.pending();
        let newest = pending.staged.get(&user).or_else(|| pending.in_flight.get(&user));
        if newest.is_some_and(|newest| (newest.epoch, newest.seq) > (snapshot.epoch, snapshot.seq)) {
            return;
        }
        pending.staged.insert(user, snapshot);
        pending.generation += 1;
        drop(pending);
        self.shared.wake.notify_one();
    }

    /// Stages a play for the listening history. Past [`PLAYS_CAPACITY`] the oldest waiting
    /// play is dropped for it (and counted).
    pub fn stage_play(&self, play: PlayRecord) {
        let mut pending = self.pending();
        pending.plays.push_back(play);
        pending.generation += 1;
        let dropped = pending.drop_oldest_plays(self.shared.bounds.plays);
        let warning = if dropped > 0 { pending.drop_warning_due() } else { None };
        drop(pending);
        self.shared.dropped_plays(dropped, warning);
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

    /// Waits until everything staged before this call is written, at most [`FLUSH_DEADLINE`]:
    /// past it (the database is not taking writes) the error is [`StoreError::Deadline`],
    /// which callers answer with `UNAVAILABLE`. What is staged stays staged either way.
    pub async fn flush(&self) -> StoreResult<()> {
        self.flush_within(FLUSH_DEADLINE).await
    }

    /// [`WriteBehind::flush`] with another deadline (a drain's grace period, say).
    pub async fn flush_within(&self, deadline: Duration) -> StoreResult<()> {
        let target = self.pending().generation;
        let mut written = self.shared.written.subscribe();
        // The sender lives as long as `self`, so the wait ends when the target is reached or
        // at the deadline.
        match tokio::time::timeout(deadline, written.wait_for(|&generation| generation >= target)).await {
            Ok(_) => Ok(()),
            Err(_) => {
                let (snapshots, plays) = {
                    let pending = self.pending();
                    (pending.staged.len() + pending.in_flight.len(), pending.plays.len() + pending.plays_in_flight)
                };
                tracing::warn!(snapshots, plays, "flush: still not written after {deadline:?}");
                Err(StoreError::Deadline(DeadlineExceeded(deadline)))
            }
        }
    }
}

/// The writer task: waits for a stage, lets a batch gather, writes it, and goes on while
/// anything waits.
async fn write_loop(shared: Arc<Shared>) {
    // Failed batches since the last success, and since the last warning about them.
    let mut failures: u64 = 0;
    let mut unlogged_failures: u64 = 0;
    let mut last_failure_warning: Option<Instant> = None;
    loop {
        shared.wake.notified().await;
        let mut gather = true;
        loop {
            // Let a batch gather: a session that changes several times meanwhile is written
            // once, and the writer wakes (and switches threads with the database) at most once
            // an interval instead of once a change. A backlog is written without pause.
            if gather {
                tokio::time::sleep(WRITE_INTERVAL).await;
            }
            let Some(batch) = take_batch(&shared) else { break };
            gather = batch.completes.is_some();
            let now_ms = crate::clock::now_ms() as i64;
            // Bounded by the store's query deadline: a database that stopped answering fails
            // the batch, which is then retried like any other failure.
            match shared.store.write_batch(&batch.snapshots, &batch.plays, now_ms).await {
                Ok(()) => {
                    {
                        let mut pending = shared.pending();
                        for (user, _) in &batch.snapshots {
                            pending.in_flight.remove(user);
                        }
                        pending.plays_in_flight = 0;
                    }
                    if let Some(generation) = batch.completes {
                        shared.written.send_replace(generation);
                    }
                    if failures > 0 {
                        tracing::info!(failures, "the database takes session snapshots again");
                        (failures, unlogged_failures) = (0, 0);
                    }
                }
                Err(error) => {
                    failures += 1;
                    unlogged_failures += 1;
                    if last_failure_warning.is_none_or(|last| last.elapsed() >= OVERFLOW_LOG_INTERVAL) {
                        last_failure_warning = Some(Instant::now());
                        tracing::error!(
                            %error,
                            failed_batches = std::mem::take(&mut unlogged_failures),
                            snapshots = batch.snapshots.len(),
                            plays = batch.plays.len(),
                            "writing session snapshots failed; retrying"
                        );
                    }
                    requeue(&shared, batch);
                    tokio::time::sleep(RETRY_DELAY).await;
                    gather = false;
                }
            }
        }
    }
}

/// Takes the next batch: the oldest plays and some of the staged snapshots, within the batch
/// bounds. `None` when nothing waits (and then everything staged so far is written).
fn take_batch(shared: &Shared) -> Option<Batch> {
    let bounds = shared.bounds;
    let mut pending = shared.pending();
    if pending.staged.is_empty() && pending.plays.is_empty() {
        let generation = pending.generation;
        drop(pending);
        shared.written.send_replace(generation);
        return None;
    }
    let snapshots: Vec<(Id, SnapshotRecord)> = if pending.staged.len() <= bounds.batch_snapshots {
        pending.staged.drain().collect()
    } else {
        let users: Vec<Id> = pending.staged.keys().take(bounds.batch_snapshots).copied().collect();
        users.into_iter().filter_map(|user| pending.staged.remove_entry(&user)).collect()
    };
    pending.in_flight.extend(snapshots.iter().map(|(user, snapshot)| (*user, snapshot.clone())));
    let take = pending.plays.len().min(bounds.batch_plays);
    let plays: Vec<PlayRecord> = pending.plays.drain(..take).collect();
    pending.plays_in_flight = plays.len();
    let completes = (pending.staged.is_empty() && pending.plays.is_empty()).then_some(pending.generation);
    Some(Batch { snapshots, plays, completes })
}

/// Puts a failed batch back: its snapshots unless a newer one was staged meanwhile, its plays
/// before those staged meanwhile (they are older), then drops the oldest past the capacity.
fn requeue(shared: &Shared, batch: Batch) {
    let mut pending = shared.pending();
    for (user, snapshot) in batch.snapshots {
        pending.in_flight.remove(&user);
        match pending.staged.get(&user) {
            Some(staged) if (staged.epoch, staged.seq) >= (snapshot.epoch, snapshot.seq) => {}
            _ => {
                pending.staged.insert(user, snapshot);
            }
        }
    }
    pending.plays_in_flight = 0;
    for play in batch.plays.into_iter().rev() {
        pending.plays.push_front(play);
    }
    let dropped = pending.drop_oldest_plays(shared.bounds.plays);
    let warning = if dropped > 0 { pending.drop_warning_due() } else { None };
    drop(pending);
    shared.dropped_plays(dropped, warning);
}

#[cfg(test)]
mod tests;
