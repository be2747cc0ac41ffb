//! Playlists in the store: their details, their items (each with a `uid` stable for the life of
//! the item, ordered by a dense `position`), collaborators and followers.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Row};

use super::{Store, StoreError, StoreResult, on_pool, placeholders};
use crate::ids::Id;
use crate::playlist::{Details, Item, Playlist};
use crate::reproducible::fnv1a_64;

/// A playlist's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistRow {
    pub id: Id,
    pub owner_id: Id,
    pub owner_name: String,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub collaborative: bool,
    pub snapshot_id: String,
    pub total_items: u64,
    pub followers: u64,
}

/// One item of a playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistItemRow {
    pub uid: String,
    pub position: u32,
    pub track_id: Id,
    pub added_by: Option<Id>,
    pub added_at_ms: i64,
}

/// What a new playlist is.
#[derive(Debug, Clone)]
pub struct NewPlaylist<'a> {
    pub owner: Id,
    pub name: &'a str,
    pub description: &'a str,
    pub public: bool,
    pub collaborative: bool,
}

fn parse_id(text: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("id {text:?}")))
}

/// Items written by one statement of an edit: 6 parameters each, well under SQLite's and
/// PostgreSQL's limits.
const ITEM_CHUNK: usize = 400;

/// The epoch of a writer that is not placed (one node, or a playlist's creation): it is never
/// refused for its epoch, only for its version.
pub const UNPLACED: i64 = i64::MAX;

/// What [`Store::claim_playlist`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The playlist is this owner's: edits under older epochs are refused from now on.
    Claimed,
    /// It was claimed under a higher epoch already: this owner is stale.
    Newer,
    /// No such playlist.
    Missing,
}

/// Kept items whose old positions `first..=last` all move by `delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shift {
    first: i64,
    last: i64,
    delta: i64,
}

/// The runs of kept items, `(old, new)` in the old order, that move by the same amount and are
/// next to each other among the kept items (removed items between them are deleted before the
/// shifts, so an old-position range holds exactly its run); runs that do not move are left out.
fn shift_runs(kept: &[(i64, i64)]) -> Vec<Shift> {
    let mut runs: Vec<Shift> = Vec::new();
    for &(old, new) in kept {
        let delta = new - old;
        match runs.last_mut() {
            Some(run) if run.delta == delta => run.last = old,
            _ => runs.push(Shift { first: old, last: old, delta }),
        }
    }
    runs.retain(|run| run.delta != 0);
    runs
}

/// The version a snapshot id of `playlist` names; `None` when it is not one of its snapshot ids.
pub fn snapshot_version(playlist: Id, snapshot: &str) -> Option<i64> {
    let value = Id::parse(snapshot)?.to_u128()?;
    let hash = fnv1a_64(playlist.as_str().as_bytes());
    (value as u64 == hash).then_some((value >> 64) as u64 as i64)
}

/// The snapshot id of a playlist at a version: opaque to clients, the same for the same state.
pub fn snapshot_id(playlist: Id, version: i64) -> String {
    let hash = fnv1a_64(playlist.as_str().as_bytes());
    Id::from_u128((u128::from(version as u64) << 64) | u128::from(hash)).to_string()
}

const PLAYLIST_SELECT: &str = "SELECT p.id, p.owner_id, u.display_name AS owner_name, p.name, p.description,
        p.public, p.collaborative, p.snapshot_id,
        (SELECT COUNT(*) FROM playlist_items i WHERE i.playlist_id = p.id) AS total_items,
        (SELECT COUNT(*) FROM playlist_followers f WHERE f.playlist_id = p.id) AS followers
    FROM playlists p JOIN users u ON u.id = p.owner_id";

macro_rules! playlist_row {
    ($row:expr) => {{
        let row = $row;
        let total: i64 = row.try_get("total_items")?;
        let followers: i64 = row.try_get("followers")?;
        PlaylistRow {
            id: parse_id(row.try_get::<&str, _>("id")?)?,
            owner_id: parse_id(row.try_get::<&str, _>("owner_id")?)?,
            owner_name: row.try_get("owner_name")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            public: row.try_get("public")?,
            collaborative: row.try_get("collaborative")?,
            snapshot_id: row.try_get("snapshot_id")?,
            total_items: total.max(0) as u64,
            followers: followers.max(0) as u64,
        }
    }};
}

impl Store {
    /// Creates an empty playlist with a new id.
    pub async fn create_playlist(&self, playlist: &NewPlaylist<'_>, now_ms: i64) -> StoreResult<Id> {
        let id = Id::random();
        self.insert_playlist(id, playlist, now_ms).await?;
        Ok(id)
    }

    /// Creates an empty playlist with this id; false (and nothing changes) when it exists.
    pub async fn insert_playlist(&self, id: Id, playlist: &NewPlaylist<'_>, now_ms: i64) -> StoreResult<bool> {
        let inserted = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO playlists (id, owner_id, name, description, public, collaborative, version,
                                        snapshot_id, created_at_ms, updated_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(playlist.owner.as_str())
            .bind(playlist.name)
            .bind(playlist.description)
            .bind(playlist.public)
            .bind(playlist.collaborative)
            .bind(snapshot_id(id, 0))
            .bind(now_ms)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })?;
        Ok(inserted)
    }

    /// The playlists with these ids that exist, in no particular order.
    pub async fn playlists(&self, ids: &[Id]) -> StoreResult<Vec<PlaylistRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{PLAYLIST_SELECT} WHERE p.id IN ({})", placeholders(1, ids.len()));
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| Ok(playlist_row!(row))).collect()
        })
    }

    pub async fn playlist(&self, id: Id) -> StoreResult<Option<PlaylistRow>> {
        Ok(self.playlists(&[id]).await?.pop())
    }

    /// A page of the playlists `owner` owns (only the public ones with `public_only`), newest
    /// first, and their total.
    pub async fn owned_playlists(
        &self,
        owner: Id,
        public_only: bool,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<PlaylistRow>, u64)> {
        let filter = if public_only { "p.owner_id = $1 AND p.public" } else { "p.owner_id = $1" };
        let page_sql =
            format!("{PLAYLIST_SELECT} WHERE {filter} ORDER BY p.created_at_ms DESC, p.id LIMIT $2 OFFSET $3");
        let count_sql = format!("SELECT COUNT(*) AS n FROM playlists p WHERE {filter}");
        on_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(page_sql))
                .bind(owner.as_str())
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?;
            let total: i64 =
                sqlx::query(sqlx::AssertSqlSafe(count_sql)).bind(owner.as_str()).fetch_one(pool).await?.try_get("n")?;
            let playlists = rows.iter().map(|row| Ok(playlist_row!(row))).collect::<StoreResult<Vec<_>>>()?;
            Ok((playlists, total.max(0) as u64))
        })
    }

    /// Whether `user` may see `playlist`: it is public, theirs, or they collaborate on it.
    pub async fn may_see_playlist(&self, user: Id, playlist: &PlaylistRow) -> StoreResult<bool> {
        if playlist.public || playlist.owner_id == user {
            return Ok(true);
        }
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query("SELECT COUNT(*) AS n FROM playlist_collaborators WHERE playlist_id = $1 AND user_id = $2")
                .bind(playlist.id.as_str())
                .bind(user.as_str())
                .fetch_one(pool)
                .await?
                .try_get("n")
        })?;
        Ok(n > 0)
    }

    /// A page of a playlist's items in order, and the total.
    pub async fn playlist_items(
        &self,
        playlist: Id,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<PlaylistItemRow>, u64)> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT uid, position, track_id, added_by, added_at_ms FROM playlist_items
                 WHERE playlist_id = $1 ORDER BY position LIMIT $2 OFFSET $3",
            )
            .bind(playlist.as_str())
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM playlist_items WHERE playlist_id = $1")
                .bind(playlist.as_str())
                .fetch_one(pool)
                .await?
                .try_get("n")?;
            let items = rows
                .iter()
                .map(|row| {
                    let position: i64 = row.try_get("position")?;
                    let added_by: Option<&str> = row.try_get("added_by")?;
                    Ok(PlaylistItemRow {
                        uid: row.try_get("uid")?,
                        position: position.clamp(0, i64::from(u32::MAX)) as u32,
                        track_id: parse_id(row.try_get::<&str, _>("track_id")?)?,
                        added_by: added_by.map(parse_id).transpose()?,
                        added_at_ms: row.try_get("added_at_ms")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok((items, total.max(0) as u64))
        })
    }

    /// Appends tracks at the end of a playlist in one transaction, each with a new uid, and
    /// moves the playlist to its next version. Returns the new snapshot id.
    pub async fn append_playlist_items(
        &self,
        playlist: Id,
        tracks: &[Id],
        added_by: Option<Id>,
        now_ms: i64,
    ) -> StoreResult<String> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(
                "SELECT version, (SELECT COUNT(*) FROM playlist_items WHERE playlist_id = $1) AS n
                 FROM playlists WHERE id = $1",
            )
            .bind(playlist.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let version: i64 = row.try_get("version")?;
            let count: i64 = row.try_get("n")?;
            for (chunk_start, chunk) in tracks.chunks(400).enumerate().map(|(n, c)| (n * 400, c)) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO playlist_items (playlist_id, uid, position, track_id, added_by, added_at_ms) ",
                );
                insert.push_values(chunk.iter().enumerate(), |mut row, (n, track)| {
                    row.push_bind(playlist.as_str())
                        .push_bind(Id::random().to_string())
                        .push_bind(count + (chunk_start + n) as i64)
                        .push_bind(track.as_str())
                        .push_bind(added_by.map(|id| id.to_string()))
                        .push_bind(now_ms);
                });
                insert.build().execute(&mut *tx).await?;
            }
            let snapshot = snapshot_id(playlist, version + 1);
            sqlx::query("UPDATE playlists SET version = $1, snapshot_id = $2, updated_at_ms = $3 WHERE id = $4")
                .bind(version + 1)
                .bind(&snapshot)
                .bind(now_ms)
                .bind(playlist.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(snapshot)
        })
    }

    /// The whole playlist as the edit model holds it, every item in order: what a playlist's
    /// live actor starts from.
    pub async fn load_playlist(&self, id: Id) -> StoreResult<Option<Playlist>> {
        on_pool!(self, |pool| {
            let Some(row) = sqlx::query(
                "SELECT owner_id, name, description, public, collaborative, version FROM playlists WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let rows = sqlx::query(
                "SELECT uid, track_id, added_by, added_at_ms FROM playlist_items WHERE playlist_id = $1 ORDER BY position",
            )
            .bind(id.as_str())
            .fetch_all(pool)
            .await?;
            let items = rows
                .iter()
                .map(|row| {
                    let added_by: Option<&str> = row.try_get("added_by")?;
                    Ok(Item {
                        uid: parse_id(row.try_get::<&str, _>("uid")?)?,
                        track_id: parse_id(row.try_get::<&str, _>("track_id")?)?,
                        added_by: added_by.map(parse_id).transpose()?,
                        added_at_ms: row.try_get("added_at_ms")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Some(Playlist {
                id,
                owner: parse_id(row.try_get::<&str, _>("owner_id")?)?,
                version: row.try_get("version")?,
                details: Details {
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    public: row.try_get("public")?,
                    collaborative: row.try_get("collaborative")?,
                },
                items,
            }))
        })
    }

    /// Writes one edit of a playlist in one transaction: `after` replaces `before`, details and
    /// items together, fenced on the version: the write happens only while the stored version is
    /// still `before.version` (else [`StoreError::VersionFence`] and nothing is written). Only
    /// what changed is written: removed items are deleted, new ones inserted, moved ones given
    /// their new position. Returns the new snapshot id (`snapshot_id(id, after.version)`).
    pub async fn write_playlist_edit(&self, before: &Playlist, after: &Playlist, now_ms: i64) -> StoreResult<String> {
        self.write_playlist_edit_then(before, after, UNPLACED, now_ms, || std::future::ready(Ok(()))).await
    }

    /// [`Store::write_playlist_edit`], running `before_commit` once everything is written and
    /// before the commit, while the transaction still holds the playlist's row lock (the fence's
    /// `UPDATE` took it): writers of the same playlist on other nodes wait for the commit, so what
    /// `before_commit` does (publishing the edit) happens in the order of the versions. When it
    /// fails, nothing is committed ([`StoreError::BeforeCommit`]).
    ///
    /// `epoch` is the writer's ownership epoch in a cluster ([`Store::claim_playlist`];
    /// [`UNPLACED`] on one node): the write is refused, as a [`StoreError::VersionFence`], when
    /// the playlist was claimed under a higher one since.
    pub async fn write_playlist_edit_then<F, Fut>(
        &self,
        before: &Playlist,
        after: &Playlist,
        epoch: i64,
        now_ms: i64,
        before_commit: F,
    ) -> StoreResult<String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let id = after.id;
        let old_positions: HashMap<Id, usize> =
            before.items.iter().enumerate().map(|(n, item)| (item.uid, n)).collect();
        let kept: HashSet<Id> = after.items.iter().map(|item| item.uid).collect();
        let removed: Vec<Id> = before.items.iter().map(|item| item.uid).filter(|uid| !kept.contains(uid)).collect();
        // Kept items as (old position, new position), in the old order.
        let mut kept_moves: Vec<(i64, i64)> = Vec::new();
        let mut added: Vec<(&Item, i64)> = Vec::new();
        for (position, item) in after.items.iter().enumerate() {
            match old_positions.get(&item.uid) {
                Some(&old) => kept_moves.push((old as i64, position as i64)),
                None => added.push((item, position as i64)),
            }
        }
        kept_moves.sort_unstable();
        let shifts = shift_runs(&kept_moves);
        let snapshot = snapshot_id(id, after.version);
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // The fence first: it also takes the playlist's write lock for the transaction.
            let fenced = sqlx::query(
                "UPDATE playlists SET version = $1, snapshot_id = $2, name = $3, description = $4, public = $5,
                        collaborative = $6, updated_at_ms = $7
                 WHERE id = $8 AND version = $9 AND owner_epoch <= $10",
            )
            .bind(after.version)
            .bind(&snapshot)
            .bind(&after.details.name)
            .bind(&after.details.description)
            .bind(after.details.public)
            .bind(after.details.collaborative)
            .bind(now_ms)
            .bind(id.as_str())
            .bind(before.version)
            .bind(epoch)
            .execute(&mut *tx)
            .await?;
            if fenced.rows_affected() != 1 {
                return Err(StoreError::VersionFence(format!(
                    "playlist {id} is no longer at version {} under epoch {epoch}",
                    before.version
                )));
            }
            for chunk in removed.chunks(ITEM_CHUNK) {
                let sql = format!(
                    "DELETE FROM playlist_items WHERE playlist_id = $1 AND uid IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut delete = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str());
                for uid in chunk {
                    delete = delete.bind(uid.as_str());
                }
                delete.execute(&mut *tx).await?;
            }
            // Moved items are parked at negative positions (-1 - new) first, so that no two rows
            // ever hold one position (the index is unique), then new ones go in, then the parked
            // ones come back at their new positions. Items that keep their order move together:
            // one statement per run of them (an insert at the top of 10,000 items is one).
            for shift in &shifts {
                sqlx::query(
                    "UPDATE playlist_items SET position = -1 - (position + $1)
                     WHERE playlist_id = $2 AND position >= $3 AND position <= $4",
                )
                .bind(shift.delta)
                .bind(id.as_str())
                .bind(shift.first)
                .bind(shift.last)
                .execute(&mut *tx)
                .await?;
            }
            for chunk in added.chunks(ITEM_CHUNK) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO playlist_items (playlist_id, uid, position, track_id, added_by, added_at_ms) ",
                );
                insert.push_values(chunk, |mut row, (item, position)| {
                    row.push_bind(id.as_str())
                        .push_bind(item.uid.as_str())
                        .push_bind(*position)
                        .push_bind(item.track_id.as_str())
                        .push_bind(item.added_by.map(|by| by.to_string()))
                        .push_bind(item.added_at_ms);
                });
                insert.build().execute(&mut *tx).await?;
            }
            if !shifts.is_empty() {
                sqlx::query(
                    "UPDATE playlist_items SET position = -1 - position WHERE playlist_id = $1 AND position < 0",
                )
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            before_commit().await.map_err(StoreError::BeforeCommit)?;
            tx.commit().await?;
            Ok(snapshot.clone())
        })
    }

    /// Runs `locked` while holding the playlist's row lock, the one an edit's version fence takes
    /// (PostgreSQL: `SELECT … FOR UPDATE` in a transaction that writes nothing): no edit of the
    /// playlist is between its publish and its commit meanwhile. On SQLite, where one process
    /// is the only writer, `locked` just runs. The lock is held for at most the query deadline.
    pub async fn with_playlist_locked<T, F, Fut>(&self, id: Id, locked: F) -> StoreResult<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        match &self.pool {
            super::Pool::Sqlite(_) => Ok(locked().await),
            super::Pool::Postgres(_) => {
                on_pool!(self, |pool| {
                    let mut tx = pool.begin().await?;
                    sqlx::query("SELECT version FROM playlists WHERE id = $1 FOR UPDATE")
                        .bind(id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let outcome = locked().await;
                    tx.rollback().await?;
                    Ok::<T, StoreError>(outcome)
                })
            }
        }
    }

    /// Claims the playlist for the cluster node that took its ownership under `epoch`: from now
    /// on, edits written under a lower epoch are refused.
    pub async fn claim_playlist(&self, id: Id, epoch: i64) -> StoreResult<Claim> {
        on_pool!(self, |pool| {
            let claimed = sqlx::query("UPDATE playlists SET owner_epoch = $1 WHERE id = $2 AND owner_epoch <= $1")
                .bind(epoch)
                .bind(id.as_str())
                .execute(pool)
                .await?;
            if claimed.rows_affected() == 1 {
                return Ok(Claim::Claimed);
            }
            let exists =
                sqlx::query("SELECT 1 FROM playlists WHERE id = $1").bind(id.as_str()).fetch_optional(pool).await?;
            Ok(if exists.is_some() { Claim::Newer } else { Claim::Missing })
        })
    }

    /// The epoch the playlist was last claimed under (0 when never; `None`: no such playlist).
    /// A new ownership epoch is drawn above it, even when Redis lost its counters.
    pub async fn playlist_owner_epoch(&self, id: Id) -> StoreResult<Option<i64>> {
        on_pool!(self, |pool| {
            let row = sqlx::query("SELECT owner_epoch FROM playlists WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?;
            row.map(|row| row.try_get::<i64, _>("owner_epoch")).transpose().map_err(StoreError::from)
        })
    }

    /// The collaborators of a playlist.
    pub async fn playlist_collaborators(&self, playlist: Id) -> StoreResult<Vec<Id>> {
        on_pool!(self, |pool| {
            let rows =
                sqlx::query("SELECT user_id FROM playlist_collaborators WHERE playlist_id = $1 ORDER BY user_id")
                    .bind(playlist.as_str())
                    .fetch_all(pool)
                    .await?;
            rows.iter().map(|row| parse_id(row.try_get::<&str, _>("user_id")?)).collect()
        })
    }

    /// Makes `user` a collaborator of `playlist`; false when they already were.
    pub async fn add_playlist_collaborator(&self, playlist: Id, user: Id) -> StoreResult<bool> {
        let added = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO playlist_collaborators (playlist_id, user_id) VALUES ($1, $2)
                 ON CONFLICT (playlist_id, user_id) DO NOTHING",
            )
            .bind(playlist.as_str())
            .bind(user.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })?;
        Ok(added)
    }

    /// `user` is no longer a collaborator of `playlist`; false when they were not one.
    pub async fn remove_playlist_collaborator(&self, playlist: Id, user: Id) -> StoreResult<bool> {
        let removed = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM playlist_collaborators WHERE playlist_id = $1 AND user_id = $2")
                .bind(playlist.as_str())
                .bind(user.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected() == 1)
        })?;
        Ok(removed)
    }

    /// The track ids of a playlist in order (for playing it as a context).
    pub async fn playlist_track_ids(&self, playlist: Id, limit: u32) -> StoreResult<Vec<Id>> {
        on_pool!(self, |pool| {
            let rows =
                sqlx::query("SELECT track_id FROM playlist_items WHERE playlist_id = $1 ORDER BY position LIMIT $2")
                    .bind(playlist.as_str())
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
            rows.iter().map(|row| parse_id(row.try_get::<&str, _>("track_id")?)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_items_move_in_runs() {
        // An insert at the top: everything moves by one, in one run.
        assert_eq!(shift_runs(&[(0, 1), (1, 2), (2, 3)]), [Shift { first: 0, last: 2, delta: 1 }]);
        // The last of four to the top: three move down, one up; nothing stays.
        assert_eq!(
            shift_runs(&[(0, 1), (1, 2), (2, 3), (3, 0)]),
            [Shift { first: 0, last: 2, delta: 1 }, Shift { first: 3, last: 3, delta: -3 }]
        );
        // A removal at 1 (old 1 deleted): the rest after it move up by one.
        assert_eq!(shift_runs(&[(0, 0), (2, 1), (3, 2)]), [Shift { first: 2, last: 3, delta: -1 }]);
        assert_eq!(shift_runs(&[(0, 0), (1, 1)]), []);
    }

    #[test]
    fn snapshot_ids_are_stable_and_change_with_the_version() {
        // Stored in every playlist row: the function must keep giving the same ids.
        let playlist = Id::parse("4iV5W9uYEdYUVa79Axb7Rh").unwrap();
        assert_eq!(snapshot_id(playlist, 3), "00000000001INDy7KHqj55");
        assert_eq!(snapshot_id(playlist, 3), snapshot_id(playlist, 3));
        assert_ne!(snapshot_id(playlist, 3), snapshot_id(playlist, 4));
        assert_ne!(snapshot_id(playlist, 3), snapshot_id(Id::from_u128(1), 3));
    }
}
