//! The play-event outbox, and the events as `segue plays export` reads them.
//!
//! A counted play is one row of `plays`. Written while the node publishes play events
//! (`--events-url`, [`Store::publishing_play_events`]), its row is *pending* (`event_pending`) in
//! the same statement that counts it, so no play is counted without its event waiting. The
//! publisher takes the oldest pending rows ([`Store::take_pending_play_events`]), publishes them,
//! and clears the ones the stream acknowledged ([`PendingPlayEvents::settle`]). A publisher that
//! dies in between leaves its rows pending, so they are published again under the same message
//! id, which the stream drops as a duplicate: the stream gets each play once.
//!
//! On PostgreSQL the rows taken stay locked (`FOR UPDATE SKIP LOCKED`) until they are settled, so
//! the nodes of a cluster publish different rows side by side; a node that dies releases its lock
//! with its connection. The embedded SQLite store has one node and one publisher.

use sqlx::{Postgres, Row, Transaction};

use super::{Pool, Store, StoreError, StoreResult, on_pool};

/// One counted play as the event stream and the export carry it: the play as known when it is
/// read (a play still playing has a later `ms_played` once it ends; the event is the count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayEventRecord {
    pub id: String,
    pub user_id: String,
    pub track_id: String,
    pub context_uri: Option<String>,
    pub played_at_ms: i64,
    pub ms_played: i64,
    pub end_reason: Option<String>,
    pub private: bool,
    /// When the play was first written (counted).
    pub counted_at_ms: i64,
}

/// The columns of `plays` an event is made of ([`event_from_row!`]), selected from `plays`.
macro_rules! select_events {
    () => {
        "SELECT id, user_id, track_id, context_uri, played_at_ms, ms_played, end_reason, private, counted_at_ms
         FROM plays "
    };
}

const SINCE: &str = concat!(
    select_events!(),
    "WHERE counted_at_ms >= $1 AND (counted_at_ms > $2 OR (counted_at_ms = $2 AND id > $3))
     ORDER BY counted_at_ms, id LIMIT $4"
);
const PENDING_SQLITE: &str = concat!(select_events!(), "WHERE event_pending ORDER BY counted_at_ms, id LIMIT $1");
/// On PostgreSQL the rows taken stay locked, and rows another publisher holds are skipped.
const PENDING_POSTGRES: &str =
    concat!(select_events!(), "WHERE event_pending ORDER BY counted_at_ms, id LIMIT $1 FOR UPDATE SKIP LOCKED");

/// Rows per `UPDATE … WHERE id IN (…)`.
const IDS_PER_STATEMENT: usize = 500;

/// A row of the event columns of `plays` as an event (a macro: the rows of the two
/// databases are different types).
macro_rules! event_from_row {
    ($row:expr) => {
        PlayEventRecord {
            id: $row.try_get("id")?,
            user_id: $row.try_get("user_id")?,
            track_id: $row.try_get("track_id")?,
            context_uri: $row.try_get("context_uri")?,
            played_at_ms: $row.try_get("played_at_ms")?,
            ms_played: $row.try_get("ms_played")?,
            end_reason: $row.try_get("end_reason")?,
            private: $row.try_get("private")?,
            counted_at_ms: $row.try_get("counted_at_ms")?,
        }
    };
}

/// Pending events taken for publishing: settle them (or drop them, which leaves every one
/// pending).
pub struct PendingPlayEvents {
    pub events: Vec<PlayEventRecord>,
    /// PostgreSQL: the transaction holding the rows' locks.
    claim: Option<Transaction<'static, Postgres>>,
    store: Store,
}

impl PendingPlayEvents {
    /// Clears the events the stream acknowledged (`published`, ids of [`Self::events`]); the
    /// others stay pending and are taken again.
    pub async fn settle(self, published: &[String]) -> StoreResult<()> {
        let PendingPlayEvents { claim, store, .. } = self;
        match claim {
            Some(mut transaction) => {
                let deadline = store.query_deadline;
                let done = async {
                    for chunk in published.chunks(IDS_PER_STATEMENT) {
                        let sql = clear_pending_sql(chunk.len());
                        let mut update = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                        for id in chunk {
                            update = update.bind(id.as_str());
                        }
                        update.execute(&mut *transaction).await?;
                    }
                    transaction.commit().await
                };
                tokio::time::timeout(deadline, done).await.map_err(|_| super::DeadlineExceeded(deadline))??;
                Ok(())
            }
            None => {
                for chunk in published.chunks(IDS_PER_STATEMENT) {
                    let sql = clear_pending_sql(chunk.len());
                    on_pool!(store, |pool| {
                        let mut update = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                        for id in chunk {
                            update = update.bind(id.as_str());
                        }
                        update.execute(pool).await?;
                        Ok::<(), StoreError>(())
                    })?;
                }
                Ok(())
            }
        }
    }
}

/// `UPDATE plays SET event_pending = FALSE` for `count` ids bound as `$1…$count`.
fn clear_pending_sql(count: usize) -> String {
    let placeholders: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    format!("UPDATE plays SET event_pending = FALSE WHERE id IN ({})", placeholders.join(", "))
}

impl Store {
    /// Takes the `limit` oldest pending play events (by count instant) for publishing. On
    /// PostgreSQL they stay locked until settled, and rows another node holds are skipped.
    pub async fn take_pending_play_events(&self, limit: u32) -> StoreResult<PendingPlayEvents> {
        let limit = i64::from(limit);
        let deadline = self.query_deadline;
        match &self.pool {
            Pool::Sqlite(pool) => {
                let rows = tokio::time::timeout(deadline, sqlx::query(PENDING_SQLITE).bind(limit).fetch_all(pool))
                    .await
                    .map_err(|_| super::DeadlineExceeded(deadline))??;
                let events = rows.iter().map(|row| Ok(event_from_row!(row))).collect::<StoreResult<Vec<_>>>()?;
                Ok(PendingPlayEvents { events, claim: None, store: self.clone() })
            }
            Pool::Postgres(pool) => {
                let taken = async {
                    let mut transaction = pool.begin().await?;
                    let rows = sqlx::query(PENDING_POSTGRES).bind(limit).fetch_all(&mut *transaction).await?;
                    let events = rows.iter().map(|row| Ok(event_from_row!(row))).collect::<StoreResult<Vec<_>>>()?;
                    Ok::<_, StoreError>((events, transaction))
                };
                let (events, transaction) =
                    tokio::time::timeout(deadline, taken).await.map_err(|_| super::DeadlineExceeded(deadline))??;
                // An empty claim locks nothing: end it now rather than hold a connection.
                let claim = if events.is_empty() {
                    transaction.rollback().await?;
                    None
                } else {
                    Some(transaction)
                };
                Ok(PendingPlayEvents { events, claim, store: self.clone() })
            }
        }
    }

    /// How many play events wait for the publisher.
    pub async fn pending_play_event_count(&self) -> StoreResult<u64> {
        on_pool!(self, |pool| {
            let count: i64 = sqlx::query("SELECT COUNT(*) AS pending FROM plays WHERE event_pending")
                .fetch_one(pool)
                .await?
                .try_get("pending")?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    /// Every counted play (private ones too: they count for royalties) counted at or after
    /// `since_ms` and after `after` (the `(counted_at_ms, id)` of the last one read), in that
    /// order, `limit` at a time.
    pub async fn play_events_since(
        &self,
        since_ms: i64,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<PlayEventRecord>> {
        let (after_ms, after_id) = after.unwrap_or((i64::MIN, ""));
        on_pool!(self, |pool| {
            let rows = sqlx::query(SINCE)
                .bind(since_ms)
                .bind(after_ms)
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| Ok(event_from_row!(row))).collect::<StoreResult<Vec<_>>>()
        })
    }
}
