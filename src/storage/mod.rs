//! Durable data: the [`Store`] over SQLite (embedded) or PostgreSQL (cluster) through sqlx, and
//! the write-behind writer that batches session snapshots and listening history into it.
//!
//! **Architecture invariant:** only this module imports sqlx. Every query is written once, with
//! `$n` placeholders that both databases read, and run on whichever pool the store holds.
//!
//! **No await on the store hangs.** Every operation runs through `on_pool!`, which gives it
//! [`QUERY_DEADLINE`] (bulk work: [`BULK_DEADLINE`]), from asking the pool for a connection to
//! the commit; the pool's acquire (and connect) timeout and SQLite's busy timeout are shorter.
//! A database that stopped answering ends in an error for which [`StoreError::is_unavailable`]
//! holds, which the client gets as `UNAVAILABLE`.

pub mod activity;
pub mod catalog;
pub mod library;
pub mod offline;
pub mod play_events;
pub mod playlists;
pub mod plays;
pub mod recs;
pub mod redis;
pub mod search_feed;
pub mod snapshots;
pub mod users;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use segue_protocol::ErrorCode;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::ProtocolError;

/// How long one store operation may take, from asking the pool for a connection to the last
/// row (or the commit): the one deadline of every query, set in `on_pool!`. Queries here take
/// milliseconds; five seconds is a thousand times that, room for a busy SQLite writer or a
/// loaded PostgreSQL, yet ends a request against a database that stopped answering well before
/// a client gives up on it (the error is [`StoreError::Deadline`]: `UNAVAILABLE`).
pub const QUERY_DEADLINE: Duration = Duration::from_secs(5);

/// The deadline of bulk work: a catalog import batch (200 artists with their albums and tracks
/// in one transaction), `ANALYZE`, and the migrations (which build indexes). Seconds normally,
/// on a million tracks; five minutes is generous and still ends.
pub const BULK_DEADLINE: Duration = Duration::from_secs(300);

/// How long the pool may take to hand out a connection, opening one included (so it is also
/// the connect timeout): under [`QUERY_DEADLINE`], so an unreachable database or an exhausted
/// pool reports itself as such (`PoolTimedOut`) rather than as a deadline.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long SQLite waits for another writer's lock before answering "database is locked":
/// under [`QUERY_DEADLINE`], so SQLite gives up (and frees its worker thread) before the
/// caller does. A write of another process (`segue users add`) or a write-behind batch holds
/// the lock for milliseconds.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(3);

/// How long closing the store waits for connections to come back before giving up on them.
const CLOSE_DEADLINE: Duration = Duration::from_secs(5);

/// Runs `$body` with `$pool` bound to the store's pool, whichever database it is, within the
/// store's query deadline ([`QUERY_DEADLINE`] unless [`Store::with_query_deadline`] said
/// otherwise) or within `deadline = …`. `$body` is an expression of type `Result<T, E>`
/// (`E`: `sqlx::Error` or [`StoreError`]); past the deadline its future is dropped (sqlx rolls
/// back a transaction left open and tests the connection before reusing it) and the result is
/// `Err(E::from(DeadlineExceeded))`.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::storage::on_pool!($store, deadline = $store.query_deadline, |$pool| $body)
    };
    ($store:expr, deadline = $deadline:expr, |$pool:ident| $body:expr) => {{
        let deadline: ::std::time::Duration = $deadline;
        let outcome = match &$store.pool {
            $crate::storage::Pool::Sqlite($pool) => ::tokio::time::timeout(deadline, async { $body }).await,
            $crate::storage::Pool::Postgres($pool) => ::tokio::time::timeout(deadline, async { $body }).await,
        };
        match outcome {
            Ok(result) => result,
            Err(_) => Err($crate::storage::DeadlineExceeded(deadline).into()),
        }
    }};
}
pub(crate) use on_pool;

/// A store operation ran past its deadline: the database stopped answering (or is far too slow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the database did not answer within {0:?}")]
pub struct DeadlineExceeded(pub Duration);

impl From<DeadlineExceeded> for StoreError {
    fn from(deadline: DeadlineExceeded) -> StoreError {
        StoreError::Deadline(deadline)
    }
}

/// For bodies whose error is sqlx's: an I/O timeout that carries the [`DeadlineExceeded`]
/// (which [`StoreError::is_unavailable`] and [`StoreError::is_deadline`] recognise).
impl From<DeadlineExceeded> for sqlx::Error {
    fn from(deadline: DeadlineExceeded) -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, deadline))
    }
}

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Deadline(DeadlineExceeded),
    #[error("{0}")]
    Config(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A write fenced on a version found another version stored: someone else wrote first (a
    /// newer owner of the playlist). Nothing was written; the writer reloads.
    #[error("version fence: {0}")]
    VersionFence(String),
    /// What had to happen before a commit failed (publishing an edit): nothing was committed.
    #[error("before the commit: {0}")]
    BeforeCommit(String),
}

impl StoreError {
    /// True when the error is a unique-key violation (the row already exists).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
    }

    /// True when the database could not serve the operation now but may soon: no connection
    /// in time, a connection that failed or closed, a deadline passed, the database shutting
    /// down or refusing connections, SQLite's lock held by another writer. The client's answer
    /// is `UNAVAILABLE` (retry), not `INTERNAL`.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Deadline(_) | StoreError::VersionFence(_) | StoreError::BeforeCommit(_) => true,
            StoreError::Database(error) => sqlx_is_unavailable(error),
            StoreError::Migration(sqlx::migrate::MigrateError::Execute(error)) => sqlx_is_unavailable(error),
            StoreError::Migration(_) | StoreError::Config(_) | StoreError::Corrupt(_) => false,
        }
    }

    /// True when a version-fenced write found another version stored.
    pub fn is_fenced(&self) -> bool {
        matches!(self, StoreError::VersionFence(_))
    }

    /// True when the error is a passed deadline ([`DeadlineExceeded`]), however it was wrapped.
    pub fn is_deadline(&self) -> bool {
        match self {
            StoreError::Deadline(_) => true,
            StoreError::Database(sqlx::Error::Io(io)) => {
                io.get_ref().is_some_and(|inner| inner.downcast_ref::<DeadlineExceeded>().is_some())
            }
            _ => false,
        }
    }
}

fn sqlx_is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                // Class 08: connection exceptions; 57P01..03: the server is shutting down or not
                // accepting connections yet; 53300: too many connections.
                let code = pg.code();
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
            } else {
                // SQLite's extended codes; the primary code is the low byte: 5 BUSY, 6 LOCKED.
                db.code().and_then(|code| code.parse::<i32>().ok()).is_some_and(|code| matches!(code & 0xff, 5 | 6))
            }
        }
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

impl ProtocolError for StoreError {
    fn code(&self) -> ErrorCode {
        if self.is_unavailable() { ErrorCode::Unavailable } else { ErrorCode::Internal }
    }

    fn client_message(&self) -> Cow<'static, str> {
        Cow::Borrowed(if self.is_unavailable() { "the database is unavailable; retry soon" } else { "internal error" })
    }
}

crate::app_error_from!(StoreError);

/// Where the store lives.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// `segue.db` under this directory (the embedded setup).
    DataDir(PathBuf),
    /// A `postgres://` or `sqlite:` URL.
    Url(String),
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The durable store: a connection pool to SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    /// The deadline of each operation ([`QUERY_DEADLINE`]).
    pub(crate) query_deadline: Duration,
    /// Plays written through this handle wait in the outbox for the event publisher
    /// (`play_events.rs`): set when the node publishes play events (`--events-url`).
    pub(crate) play_events: bool,
}

impl Store {
    /// Opens the store and applies any migration not yet applied.
    pub async fn open(location: &StoreLocation) -> StoreResult<Store> {
        let store = Store::connect(location).await?;
        store.migrate().await?;
        Ok(store)
    }

    async fn connect(location: &StoreLocation) -> StoreResult<Store> {
        match location {
            StoreLocation::DataDir(dir) => Store::open_sqlite_file(dir).await,
            StoreLocation::Url(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let connect = PgPoolOptions::new().max_connections(16).acquire_timeout(ACQUIRE_TIMEOUT).connect(url);
                // The pool's first connection is made under the acquire timeout; this bounds the
                // rest (resolving the host, for one).
                let pool = tokio::time::timeout(QUERY_DEADLINE, connect)
                    .await
                    .map_err(|_| DeadlineExceeded(QUERY_DEADLINE))??;
                Ok(Store { pool: Pool::Postgres(pool), query_deadline: QUERY_DEADLINE, play_events: false })
            }
            StoreLocation::Url(url) if url.starts_with("sqlite:") => {
                let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
                Store::open_sqlite(options).await
            }
            StoreLocation::Url(url) => {
                let scheme = url.split(':').next().unwrap_or_default();
                Err(StoreError::Config(format!(
                    "unsupported database URL scheme `{scheme}`: use postgres:// or sqlite:"
                )))
            }
        }
    }

    async fn open_sqlite_file(dir: &Path) -> StoreResult<Store> {
        std::fs::create_dir_all(dir)
            .map_err(|err| StoreError::Config(format!("cannot create data dir {}: {err}", dir.display())))?;
        let options = SqliteConnectOptions::new().filename(dir.join("segue.db")).create_if_missing(true);
        Store::open_sqlite(options).await
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> StoreResult<Store> {
        // WAL lets readers run beside the one writer and lets `segue users add` write while a
        // server runs; NORMAL sync loses nothing on a process crash, only on a power cut.
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let connect =
            SqlitePoolOptions::new().max_connections(4).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options);
        let pool =
            tokio::time::timeout(QUERY_DEADLINE, connect).await.map_err(|_| DeadlineExceeded(QUERY_DEADLINE))??;
        Ok(Store { pool: Pool::Sqlite(pool), query_deadline: QUERY_DEADLINE, play_events: false })
    }

    /// The same store with another deadline for each operation (tests use a short one).
    pub fn with_query_deadline(mut self, deadline: Duration) -> Store {
        self.query_deadline = deadline;
        self
    }

    /// The same store, its new plays queued for the play-event publisher (`--events-url`).
    pub fn publishing_play_events(mut self, publishing: bool) -> Store {
        self.play_events = publishing;
        self
    }

    /// Applies the migrations of this store's database, within [`BULK_DEADLINE`].
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrations = async {
            match &self.pool {
                Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
                Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
            }
        };
        tokio::time::timeout(BULK_DEADLINE, migrations).await.map_err(|_| DeadlineExceeded(BULK_DEADLINE))??;
        Ok(())
    }

    /// Which database this is: `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Answers when the database can run a query.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Refreshes the planner's statistics, after a bulk import: PostgreSQL plans a join over a
    /// freshly loaded million rows badly until it has them (album reads measured 7 ms, 0.3 ms
    /// after).
    pub async fn analyze(&self) -> StoreResult<()> {
        on_pool!(self, deadline = BULK_DEADLINE, |pool| sqlx::query("ANALYZE").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Closes every connection, waiting for queries in flight, at most `CLOSE_DEADLINE` (5 s).
    pub async fn close(&self) {
        let close = async {
            match &self.pool {
                Pool::Sqlite(pool) => pool.close().await,
                Pool::Postgres(pool) => pool.close().await,
            }
        };
        if tokio::time::timeout(CLOSE_DEADLINE, close).await.is_err() {
            tracing::warn!("closing the store: connections still busy after {CLOSE_DEADLINE:?}; leaving them");
        }
    }
}

/// `$1, $2, …, $n` after `first - 1` earlier parameters, for `IN (…)` lists.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}
