//! Offline sync in the store (migration 0007): a user's offline devices, the sources each keeps,
//! and every track each was given with the versions that gave it and took it away
//! ([`HeldTrack`]). What a sync changes is planned by `crate::offline`; this module reads the
//! rows and writes a plan in one transaction, fenced on the device's version so that two syncs
//! of one device at once never interleave.

use sqlx::{QueryBuilder, Row};

use super::{Store, StoreError, StoreResult, on_pool, placeholders};
use crate::ids::Id;
use crate::offline::{HeldTrack, MAX_DEVICES_PER_USER, SyncPlan};

/// Rows one statement writes at most (5 parameters each).
const ROWS_PER_STATEMENT: usize = 400;

/// An offline device of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineDevice {
    pub device_id: String,
    pub version: i64,
    pub synced_at_ms: Option<i64>,
}

/// What adding sources to a device found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourcesAdded {
    /// Added (the device was created if it was new).
    Added,
    /// The device is new and the user has [`MAX_DEVICES_PER_USER`] already: nothing changed.
    TooManyDevices,
}

impl Store {
    /// The user's offline devices, oldest first.
    pub async fn offline_devices(&self, user: Id) -> StoreResult<Vec<OfflineDevice>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT device_id, version, synced_at_ms FROM offline_devices WHERE user_id = $1
                 ORDER BY created_at_ms, device_id",
            )
            .bind(user.as_str())
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(OfflineDevice {
                        device_id: row.try_get("device_id")?,
                        version: row.try_get("version")?,
                        synced_at_ms: row.try_get("synced_at_ms")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()
        })
    }

    /// One offline device of the user.
    pub async fn offline_device(&self, user: Id, device: &str) -> StoreResult<Option<OfflineDevice>> {
        Ok(self.offline_devices(user).await?.into_iter().find(|d| d.device_id == device))
    }

    /// The sources a device keeps, in the order they were added.
    pub async fn offline_sources(&self, user: Id, device: &str) -> StoreResult<Vec<String>> {
        on_pool!(self, |pool| {
            let rows =
                sqlx::query("SELECT uri FROM offline_sources WHERE user_id = $1 AND device_id = $2 ORDER BY ordinal")
                    .bind(user.as_str())
                    .bind(device)
                    .fetch_all(pool)
                    .await?;
            rows.iter().map(|row| row.try_get::<String, _>("uri").map_err(StoreError::from)).collect()
        })
    }

    /// Adds sources to a device, creating the device unless the user has
    /// [`MAX_DEVICES_PER_USER`] already. Sources it keeps already stay as they were.
    pub async fn add_offline_sources(
        &self,
        user: Id,
        device: &str,
        uris: &[String],
        now_ms: i64,
    ) -> StoreResult<SourcesAdded> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // The user's row lock (PostgreSQL; SQLite has one writer anyway) keeps two requests
            // for two new devices from both finding room for one.
            sqlx::query("UPDATE users SET id = id WHERE id = $1").bind(user.as_str()).execute(&mut *tx).await?;
            let devices: Vec<String> = sqlx::query("SELECT device_id FROM offline_devices WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get::<String, _>("device_id"))
                .collect::<Result<_, _>>()?;
            if !devices.iter().any(|d| d == device) {
                if devices.len() >= MAX_DEVICES_PER_USER {
                    return Ok(SourcesAdded::TooManyDevices);
                }
                sqlx::query("INSERT INTO offline_devices (user_id, device_id, created_at_ms) VALUES ($1, $2, $3)")
                    .bind(user.as_str())
                    .bind(device)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            let last: i64 = sqlx::query(
                "SELECT COALESCE(MAX(ordinal), 0) AS last FROM offline_sources WHERE user_id = $1 AND device_id = $2",
            )
            .bind(user.as_str())
            .bind(device)
            .fetch_one(&mut *tx)
            .await?
            .try_get("last")?;
            let numbered: Vec<(i64, &String)> = (last + 1..).zip(uris).collect();
            for chunk in numbered.chunks(ROWS_PER_STATEMENT) {
                let mut insert =
                    QueryBuilder::new("INSERT INTO offline_sources (user_id, device_id, uri, ordinal, added_at_ms) ");
                insert.push_values(chunk, |mut row, (ordinal, uri)| {
                    row.push_bind(user.as_str())
                        .push_bind(device)
                        .push_bind(uri.as_str())
                        .push_bind(*ordinal)
                        .push_bind(now_ms);
                });
                insert.push(" ON CONFLICT (user_id, device_id, uri) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(SourcesAdded::Added)
        })
    }

    /// Removes sources from a device; answers how many it kept.
    pub async fn remove_offline_sources(&self, user: Id, device: &str, uris: &[String]) -> StoreResult<u64> {
        let mut removed = 0;
        for chunk in uris.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM offline_sources WHERE user_id = $1 AND device_id = $2 AND uri IN ({})",
                placeholders(3, chunk.len())
            );
            removed += on_pool!(self, |pool| {
                let mut delete = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(user.as_str()).bind(device);
                for uri in chunk {
                    delete = delete.bind(uri.as_str());
                }
                delete.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(removed)
    }

    /// Forgets a device and everything it kept (its place among the user's five is free again).
    pub async fn forget_offline_device(&self, user: Id, device: &str) -> StoreResult<bool> {
        on_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM offline_devices WHERE user_id = $1 AND device_id = $2")
                .bind(user.as_str())
                .bind(device)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Every track the device was given, held or taken away since.
    pub async fn offline_held(&self, user: Id, device: &str) -> StoreResult<Vec<HeldTrack>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT track_id, added_version, removed_version FROM offline_tracks
                 WHERE user_id = $1 AND device_id = $2",
            )
            .bind(user.as_str())
            .bind(device)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let text: &str = row.try_get("track_id")?;
                    Ok(HeldTrack {
                        track: Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("track id {text:?}")))?,
                        added_version: row.try_get("added_version")?,
                        removed_version: row.try_get("removed_version")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()
        })
    }

    /// Writes a sync of the device planned from version `from`: its tracks, its new version and
    /// the sync's time (the licence's start), in one transaction. Refused with
    /// [`StoreError::VersionFence`] when another sync moved the device meanwhile (nothing is
    /// written; plan again), or when the device was forgotten.
    pub async fn write_offline_sync(
        &self,
        user: Id,
        device: &str,
        from: i64,
        plan: &SyncPlan,
        now_ms: i64,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let fenced = sqlx::query(
                "UPDATE offline_devices SET version = $1, synced_at_ms = $2
                 WHERE user_id = $3 AND device_id = $4 AND version = $5",
            )
            .bind(plan.version)
            .bind(now_ms)
            .bind(user.as_str())
            .bind(device)
            .bind(from)
            .execute(&mut *tx)
            .await?;
            if fenced.rows_affected() != 1 {
                return Err(StoreError::VersionFence(format!(
                    "offline device {device} is no longer at version {from}"
                )));
            }
            for chunk in plan.store_added.chunks(ROWS_PER_STATEMENT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO offline_tracks (user_id, device_id, track_id, added_version, removed_version) ",
                );
                insert.push_values(chunk, |mut row, track| {
                    row.push_bind(user.as_str())
                        .push_bind(device)
                        .push_bind(track.as_str())
                        .push_bind(plan.version)
                        .push_bind(None::<i64>);
                });
                insert.push(
                    " ON CONFLICT (user_id, device_id, track_id)
                      DO UPDATE SET added_version = excluded.added_version, removed_version = NULL",
                );
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in plan.store_removed.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "UPDATE offline_tracks SET removed_version = $1
                     WHERE user_id = $2 AND device_id = $3 AND track_id IN ({})",
                    placeholders(4, chunk.len())
                );
                let mut update =
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan.version).bind(user.as_str()).bind(device);
                for track in chunk {
                    update = update.bind(track.as_str());
                }
                update.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
