//! Tests of the write-behind writer against real databases: a SQLite file in a temporary
//! directory and, where cheap, a fresh PostgreSQL database (dropped afterwards). Failures are
//! real: the tables the writer writes are renamed away (every batch then fails in the database
//! itself) and renamed back, or another connection holds a lock the writer needs. No seam
//! replaces the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Bounds, PlayRecord, SnapshotRecord, WriteBehind};
use crate::error::AppError;
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};
use crate::storage::plays::HistoryCursor;
use crate::storage::{Store, StoreError, StoreLocation, on_pool};

/// A store and what keeps it alive (the temporary dir, or the database to drop).
struct TestStore {
    store: Store,
    dir: Option<tempfile::TempDir>,
    /// `(admin URL, database name)` of a PostgreSQL store.
    database: Option<(String, String)>,
}

impl TestStore {
    async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::DataDir(dir.path().to_path_buf())).await.expect("SQLite opens");
        TestStore { store, dir: Some(dir), database: None }
    }

    async fn postgres() -> TestStore {
        let admin_url = postgres_admin_url();
        let name = format!("segue_test_{}", Id::random().as_str().to_lowercase());
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|error| {
            panic!("PostgreSQL must be reachable at {admin_url} (scripts/test.sh starts it): {error}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
        admin.close().await;
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let store = Store::open(&StoreLocation::Url(format!("{base}/{name}"))).await.expect("PostgreSQL opens");
        TestStore { store, dir: None, database: Some((admin_url, name)) }
    }

    /// Closes the store and drops its PostgreSQL database.
    async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = &self.database
            && let Ok(admin) = sqlx::PgPool::connect(admin_url).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
            admin.close().await;
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("SEGUE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Runs one statement on the store's own pool.
async fn execute(store: &Store, sql: &str) {
    let sql = sql.to_string();
    on_pool!(store, |pool| sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(drop))
        .unwrap_or_else(|error| panic!("{error}"));
}

/// Makes every write of the writer fail in the database: its tables are renamed away.
async fn refuse_writes(store: &Store) {
    execute(store, "ALTER TABLE session_snapshots RENAME TO session_snapshots_away").await;
    execute(store, "ALTER TABLE plays RENAME TO plays_away").await;
}

async fn accept_writes(store: &Store) {
    execute(store, "ALTER TABLE session_snapshots_away RENAME TO session_snapshots").await;
    execute(store, "ALTER TABLE plays_away RENAME TO plays").await;
}

fn snapshot(epoch: i64, seq: u64) -> SnapshotRecord {
    SnapshotRecord { epoch, seq, state: format!("state {epoch}/{seq}").into_bytes() }
}

fn play(user: Id, n: i64) -> PlayRecord {
    PlayRecord {
        id: format!("{user}:{n}:{}", 1_000 + n),
        user,
        track: Id::from_u128(1_000 + n as u128),
        context_uri: None,
        played_at_ms: 1_000 + n,
        ms_played: 30_000,
        end_reason: None,
        private: false,
    }
}

/// The `played_at_ms` of the stored plays in the order they were inserted: SQLite's rowid; on
/// PostgreSQL the inserting transaction's id, then the row's place in the table (a fresh table
/// that is only appended to fills its pages in insertion order).
async fn plays_in_insertion_order(store: &Store) -> Vec<i64> {
    let sql = match store.kind() {
        "sqlite" => "SELECT played_at_ms FROM plays ORDER BY rowid",
        _ => "SELECT played_at_ms FROM plays ORDER BY xmin::text::bigint, ctid",
    };
    on_pool!(store, |pool| {
        sqlx::query_scalar::<_, i64>(sql).fetch_all(pool).await.map_err(crate::storage::StoreError::from)
    })
    .unwrap()
}

/// Waits until the writer has tried (and, with writes refused, failed) a batch: a flush with a
/// short deadline that must fail proves nothing was written meanwhile.
async fn let_a_batch_fail(writer: &WriteBehind) {
    let error = writer.flush_within(Duration::from_millis(300)).await.unwrap_err();
    assert!(error.is_deadline(), "{error}");
}

async fn failure_keeps_everything_and_a_retry_writes_it(test: &TestStore) {
    let store = &test.store;
    let metrics = Arc::new(Metrics::default());
    let writer = WriteBehind::start(store.clone(), metrics.clone());
    let (ada, bob) = (Id::from_u128(1), Id::from_u128(2));
    writer.stage_snapshot(ada, snapshot(0, 1));
    writer.flush().await.unwrap();
    assert_eq!(store.load_snapshot(ada).await.unwrap(), Some(snapshot(0, 1)));

    refuse_writes(store).await;
    writer.stage_snapshot(ada, snapshot(0, 2));
    writer.stage_snapshot(bob, snapshot(0, 1));
    for n in 0..5 {
        writer.stage_play(play(ada, n));
    }
    let_a_batch_fail(&writer).await;
    writer.stage_snapshot(ada, snapshot(0, 3));

    // The flush gives up in bounded time, as `UNAVAILABLE`; nothing is lost meanwhile.
    let started = Instant::now();
    let error = writer.flush_within(Duration::from_millis(700)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "flush took {:?}", started.elapsed());
    assert!(error.is_deadline() && error.is_unavailable(), "{error}");
    assert_eq!(AppError::from(error).code, segue_protocol::ErrorCode::Unavailable);
    assert_eq!(writer.load_snapshot(ada).await.unwrap(), Some(snapshot(0, 3)), "reads see the newest staged");
    assert_eq!(writer.load_snapshot(bob).await.unwrap(), Some(snapshot(0, 1)));

    accept_writes(store).await;
    writer.flush().await.expect("once the database takes writes again, everything staged is written");
    assert_eq!(store.load_snapshot(ada).await.unwrap(), Some(snapshot(0, 3)));
    assert_eq!(store.load_snapshot(bob).await.unwrap(), Some(snapshot(0, 1)));
    let history = store.recently_played(ada, HistoryCursor::Before(i64::MAX), 50).await.unwrap();
    assert_eq!(history.iter().map(|p| p.played_at_ms).collect::<Vec<_>>(), [1_004, 1_003, 1_002, 1_001, 1_000]);
    assert_eq!(metrics.overflows(Queue::WriteBehindPlays), 0);
}

async fn plays_keep_their_order_across_a_failed_batch(test: &TestStore) {
    let store = &test.store;
    let metrics = Arc::new(Metrics::default());
    // Batches of three plays, so the failed batch is only part of what waits.
    let bounds = Bounds { plays: 100, batch_snapshots: 2, batch_plays: 3 };
    let writer = WriteBehind::start_with(store.clone(), metrics.clone(), bounds);
    let user = Id::from_u128(7);
    refuse_writes(store).await;
    for n in 0..5 {
        writer.stage_play(play(user, n));
    }
    let_a_batch_fail(&writer).await;
    for n in 5..10 {
        writer.stage_play(play(user, n));
    }
    let_a_batch_fail(&writer).await;
    accept_writes(store).await;
    writer.flush().await.unwrap();
    assert_eq!(plays_in_insertion_order(store).await, (1_000..1_010).collect::<Vec<_>>());
}

async fn an_older_snapshot_never_replaces_a_newer_one(test: &TestStore) {
    let store = &test.store;
    let writer = WriteBehind::start(store.clone(), Arc::new(Metrics::default()));
    let user = Id::from_u128(3);
    writer.stage_snapshot(user, snapshot(0, 5));
    writer.stage_snapshot(user, snapshot(0, 4));
    assert_eq!(writer.load_snapshot(user).await.unwrap(), Some(snapshot(0, 5)), "staged: the newer stays");

    refuse_writes(store).await;
    writer.stage_snapshot(user, snapshot(0, 7));
    let_a_batch_fail(&writer).await;
    // Staged out of order while the newer one fails and waits for its retry.
    writer.stage_snapshot(user, snapshot(0, 6));
    assert_eq!(writer.load_snapshot(user).await.unwrap(), Some(snapshot(0, 7)));
    accept_writes(store).await;
    writer.flush().await.unwrap();
    assert_eq!(store.load_snapshot(user).await.unwrap(), Some(snapshot(0, 7)));

    // Staged out of order after the newer one was written: the database refuses it.
    writer.stage_snapshot(user, snapshot(0, 6));
    writer.flush().await.unwrap();
    assert_eq!(writer.load_snapshot(user).await.unwrap(), Some(snapshot(0, 7)));
    assert_eq!(store.load_snapshot(user).await.unwrap(), Some(snapshot(0, 7)));

    // A newer epoch wins whatever its seq.
    writer.stage_snapshot(user, snapshot(1, 1));
    writer.flush().await.unwrap();
    assert_eq!(store.load_snapshot(user).await.unwrap(), Some(snapshot(1, 1)));
}

async fn plays_past_the_capacity_drop_the_oldest_and_are_counted(test: &TestStore) {
    let store = &test.store;
    let metrics = Arc::new(Metrics::default());
    let bounds = Bounds { plays: 10, batch_snapshots: 2, batch_plays: 4 };
    let writer = WriteBehind::start_with(store.clone(), metrics.clone(), bounds);
    let user = Id::from_u128(9);
    refuse_writes(store).await;
    // (waiting, in flight): at most 10 wait, and a batch of at most 4 is being written.
    let counts = |writer: &WriteBehind| {
        let pending = writer.pending();
        (pending.plays.len(), pending.plays_in_flight)
    };
    for n in 0..25 {
        writer.stage_play(play(user, n));
        let (waiting, in_flight) = counts(&writer);
        assert!(waiting <= 10 && in_flight <= 4, "{waiting} plays wait and {in_flight} are in flight after {n}");
        if n % 8 == 0 {
            // Let failed batches come back in between (they must not grow what waits either).
            let_a_batch_fail(&writer).await;
        }
    }
    // A failed batch comes back whole, then the oldest past the capacity are dropped: once no
    // batch is in flight, exactly the capacity waits.
    let deadline = Instant::now() + Duration::from_secs(5);
    while counts(&writer).1 > 0 {
        assert!(Instant::now() < deadline, "a batch stays in flight");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(counts(&writer).0, 10);
    assert_eq!(metrics.overflows(Queue::WriteBehindPlays), 15, "every dropped play is counted");
    let text = metrics.render(crate::metrics::Format::Prometheus);
    assert!(text.contains("segue_queue_overflow_total{queue=\"write_behind_plays\"} 15\n"), "{text}");

    accept_writes(store).await;
    writer.flush().await.unwrap();
    assert_eq!(plays_in_insertion_order(store).await, (1_015..1_025).collect::<Vec<_>>(), "the newest are kept");
    assert_eq!(counts(&writer), (0, 0));
}

async fn a_backlog_is_written_in_bounded_batches(test: &TestStore) {
    let store = &test.store;
    let bounds = Bounds { plays: 1_000, batch_snapshots: 3, batch_plays: 4 };
    let writer = WriteBehind::start_with(store.clone(), Arc::new(Metrics::default()), bounds);
    let users: Vec<Id> = (100..110).map(Id::from_u128).collect();
    for (n, user) in users.iter().enumerate() {
        writer.stage_snapshot(*user, snapshot(0, n as u64 + 1));
        writer.stage_play(play(*user, n as i64));
    }
    writer.flush().await.unwrap();
    for (n, user) in users.iter().enumerate() {
        assert_eq!(store.load_snapshot(*user).await.unwrap(), Some(snapshot(0, n as u64 + 1)));
    }
    assert_eq!(plays_in_insertion_order(store).await, (1_000..1_010).collect::<Vec<_>>());
}

/// A play written again (a takeover counting it a second time, or its later stops and end) is
/// one play: the first write counts it, later ones only move `ms_played` and `end_reason`
/// forward, in one batch or across batches; private plays are stored but never listed.
async fn a_play_written_again_is_one_play_that_only_moves_forward(test: &TestStore) {
    let store = &test.store;
    let user = Id::from_u128(21);
    let counted = play(user, 1);
    let stopped = PlayRecord { ms_played: 41_000, end_reason: Some("stop".into()), ..counted.clone() };
    let done = PlayRecord { ms_played: 90_000, end_reason: Some("track_done".into()), ..counted.clone() };
    // Counted, stopped and counted again in one batch (the same id twice in one statement).
    store.write_batch(&[], &[counted.clone(), stopped.clone(), counted.clone()], 1).await.unwrap();
    let history = store.recently_played(user, HistoryCursor::Before(i64::MAX), 10).await.unwrap();
    assert_eq!(history, std::slice::from_ref(&stopped));
    // Across batches: the end moves it on; the takeover's older view of it changes nothing.
    store.write_batch(&[], std::slice::from_ref(&done), 2).await.unwrap();
    store.write_batch(&[], &[counted.clone(), stopped], 3).await.unwrap();
    let history = store.recently_played(user, HistoryCursor::Before(i64::MAX), 10).await.unwrap();
    assert_eq!(history, [done]);
    let private = PlayRecord { private: true, ..play(user, 2) };
    store.write_batch(&[], &[private], 4).await.unwrap();
    assert_eq!(store.recently_played(user, HistoryCursor::Before(i64::MAX), 10).await.unwrap().len(), 1);
    let total: i64 = on_pool!(store, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM plays").fetch_one(pool).await.map_err(StoreError::from)
    })
    .unwrap();
    assert_eq!(total, 2, "the private play is stored");
}

/// Runs each suite function against SQLite and against PostgreSQL.
macro_rules! both_stores {
    ($($suite:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test] async fn $suite() { let test = super::TestStore::sqlite().await; super::$suite(&test).await; test.finish().await; } )*
        }
        mod on_postgres {
            $( #[tokio::test] async fn $suite() { let test = super::TestStore::postgres().await; super::$suite(&test).await; test.finish().await; } )*
        }
    };
}

both_stores!(
    failure_keeps_everything_and_a_retry_writes_it,
    plays_keep_their_order_across_a_failed_batch,
    an_older_snapshot_never_replaces_a_newer_one,
    plays_past_the_capacity_drop_the_oldest_and_are_counted,
    a_backlog_is_written_in_bounded_batches,
    a_play_written_again_is_one_play_that_only_moves_forward,
);

/// A database that stops answering (another connection holds a lock every statement here
/// needs) fails queries and batches at the store's deadline, as `UNAVAILABLE`; the writer's
/// flush gives up too, and once the lock is gone everything is written.
#[tokio::test]
async fn a_blocked_postgres_fails_within_the_deadline() {
    let test = TestStore::postgres().await;
    let deadline = Duration::from_millis(400);
    let store = test.store.clone().with_query_deadline(deadline);
    let user = Id::from_u128(11);
    let (admin_url, name) = test.database.clone().unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let blocker = sqlx::PgPool::connect(&format!("{base}/{name}")).await.unwrap();
    let mut lock = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE session_snapshots, plays IN ACCESS EXCLUSIVE MODE").execute(&mut *lock).await.unwrap();

    let started = Instant::now();
    let error = store.write_batch(&[(user, snapshot(0, 1))], &[play(user, 0)], 1).await.unwrap_err();
    assert!(error.is_deadline() && error.is_unavailable(), "{error}");
    let error = store.recently_played(user, HistoryCursor::Before(i64::MAX), 10).await.unwrap_err();
    assert!(error.is_deadline() && error.is_unavailable(), "{error}");
    assert!(started.elapsed() < deadline * 2 + Duration::from_secs(1), "{:?}", started.elapsed());

    let writer = WriteBehind::start(store.clone(), Arc::new(Metrics::default()));
    writer.stage_snapshot(user, snapshot(0, 2));
    writer.stage_play(play(user, 1));
    let started = Instant::now();
    assert!(writer.flush_within(Duration::from_secs(1)).await.unwrap_err().is_deadline());
    assert!(started.elapsed() < Duration::from_secs(2));

    lock.rollback().await.unwrap();
    blocker.close().await;
    // Connections abandoned at the deadline are tested before reuse and come back.
    writer.flush().await.expect("written once the lock is released");
    assert_eq!(store.load_snapshot(user).await.unwrap(), Some(snapshot(0, 2)));
    assert_eq!(store.recently_played(user, HistoryCursor::Before(i64::MAX), 10).await.unwrap().len(), 1);
    test.finish().await;
}

/// The same on SQLite: another connection holds the write lock (`BEGIN EXCLUSIVE`); writes
/// end at the store's deadline (before SQLite's own busy timeout), reads go on (WAL).
#[tokio::test]
async fn a_locked_sqlite_fails_writes_within_the_deadline() {
    let test = TestStore::sqlite().await;
    let deadline = Duration::from_millis(400);
    let store = test.store.clone().with_query_deadline(deadline);
    let user = Id::from_u128(12);
    let path = test.dir.as_ref().unwrap().path().join("segue.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut blocker = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut blocker).await.unwrap();

    let started = Instant::now();
    let error = store.write_batch(&[(user, snapshot(0, 1))], &[], 1).await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(started.elapsed() < deadline + Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(store.load_snapshot(user).await.unwrap(), None, "readers are not blocked");

    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    sqlx::Connection::close(blocker).await.unwrap();
    let writer = WriteBehind::start(store.clone(), Arc::new(Metrics::default()));
    writer.stage_snapshot(user, snapshot(0, 2));
    writer.flush().await.unwrap();
    assert_eq!(store.load_snapshot(user).await.unwrap(), Some(snapshot(0, 2)));
    test.finish().await;
}

#[test]
fn every_way_the_database_is_out_of_reach_is_unavailable() {
    let deadline = StoreError::Deadline(crate::storage::DeadlineExceeded(Duration::from_secs(5)));
    assert!(deadline.is_unavailable() && deadline.is_deadline());
    let wrapped = StoreError::from(sqlx::Error::from(crate::storage::DeadlineExceeded(Duration::from_secs(5))));
    assert!(wrapped.is_unavailable() && wrapped.is_deadline());
    for error in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed, sqlx::Error::WorkerCrashed] {
        assert!(StoreError::from(error).is_unavailable());
    }
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
    assert!(StoreError::from(sqlx::Error::Io(io)).is_unavailable());
    assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
    assert!(!StoreError::Corrupt("seq -1".into()).is_unavailable());
    assert_eq!(AppError::from(StoreError::Corrupt("x".into())).code, segue_protocol::ErrorCode::Internal);
}
