//! Durable data: the [`Store`] over SQLite (embedded) or PostgreSQL (cluster) through sqlx, and
//! the write-behind writer that batches session snapshots and listening history into it.
//!
//! **Architecture invariant:** only this module imports sqlx. Every query is written once, with
//! `$n` placeholders that both databases read, and run on whichever pool the store holds.

pub mod catalog;
pub mod library;
pub mod playlists;
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

/// Runs `$body` with `$pool` bound to the store's pool, whichever database it is.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::storage::Pool::Sqlite($pool) => $body,
            $crate::storage::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the database could not be reached or did not answer in time (as opposed to a
    /// query it refused or data it holds).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)))
    }

    /// True when the error is a unique-key violation (the row already exists).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
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
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await?;
                Ok(Store { pool: Pool::Postgres(pool) })
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
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Store { pool: Pool::Sqlite(pool) })
    }

    /// Applies the migrations of this store's database.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
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
        on_pool!(self, |pool| sqlx::query("ANALYZE").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// `$1, $2, …, $n` after `first - 1` earlier parameters, for `IN (…)` lists.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}
