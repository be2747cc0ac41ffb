//! A user's library and follows in the store: saved tracks and albums, followed artists, users
//! and playlists. Every list is a set of `(user, thing)` rows with the time it was added, so one
//! set of functions, parameterised by [`Collection`], serves all five.

use sqlx::{QueryBuilder, Row};

use super::{Store, StoreError, StoreResult, on_pool, placeholders};
use crate::ids::Id;

/// One of the user's collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    SavedTracks,
    SavedAlbums,
    FollowedArtists,
    FollowedUsers,
    FollowedPlaylists,
}

impl Collection {
    /// `(table, user column, item column, time column)`.
    const fn table(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Collection::SavedTracks => ("saved_tracks", "user_id", "track_id", "saved_at_ms"),
            Collection::SavedAlbums => ("saved_albums", "user_id", "album_id", "saved_at_ms"),
            Collection::FollowedArtists => ("followed_artists", "user_id", "artist_id", "followed_at_ms"),
            Collection::FollowedUsers => ("followed_users", "user_id", "followed_id", "followed_at_ms"),
            Collection::FollowedPlaylists => ("playlist_followers", "user_id", "playlist_id", "followed_at_ms"),
        }
    }

    /// The table the items must exist in, and its id column.
    const fn items(self) -> (&'static str, &'static str) {
        match self {
            Collection::SavedTracks => ("tracks", "id"),
            Collection::SavedAlbums => ("albums", "id"),
            Collection::FollowedArtists => ("artists", "id"),
            Collection::FollowedUsers => ("users", "id"),
            Collection::FollowedPlaylists => ("playlists", "id"),
        }
    }
}

/// An item of a collection and when it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    pub id: Id,
    pub at_ms: i64,
}

fn parse_id(text: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("id {text:?}")))
}

impl Store {
    /// Which of `ids` exist (as tracks, albums, … depending on the collection).
    pub async fn existing(&self, collection: Collection, ids: &[Id]) -> StoreResult<Vec<Id>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (table, column) = collection.items();
        let sql = format!("SELECT {column} AS id FROM {table} WHERE {column} IN ({})", placeholders(1, ids.len()));
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| parse_id(row.try_get::<&str, _>("id")?)).collect()
        })
    }

    /// Adds items to a collection (already there: kept with their first time).
    pub async fn add_to(&self, collection: Collection, user: Id, ids: &[Id], now_ms: i64) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let (table, user_column, item_column, time_column) = collection.table();
        on_pool!(self, |pool| {
            let mut insert =
                QueryBuilder::new(format!("INSERT INTO {table} ({user_column}, {item_column}, {time_column}) "));
            // Later items of one call count as added later, so a list of saves keeps its order.
            insert.push_values(ids.iter().enumerate(), |mut row, (n, id)| {
                row.push_bind(user.as_str()).push_bind(id.as_str()).push_bind(now_ms + n as i64);
            });
            insert.push(format!(" ON CONFLICT ({user_column}, {item_column}) DO NOTHING"));
            insert.build().execute(pool).await.map(drop)
        })?;
        Ok(())
    }

    /// Removes items from a collection (absent ones are no error).
    pub async fn remove_from(&self, collection: Collection, user: Id, ids: &[Id]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let (table, user_column, item_column, _) = collection.table();
        let sql = format!(
            "DELETE FROM {table} WHERE {user_column} = $1 AND {item_column} IN ({})",
            placeholders(2, ids.len())
        );
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.as_str());
            for id in ids {
                query = query.bind(id.as_str());
            }
            query.execute(pool).await.map(drop)
        })?;
        Ok(())
    }

    /// For each of `ids`, in order, whether it is in the collection.
    pub async fn contains(&self, collection: Collection, user: Id, ids: &[Id]) -> StoreResult<Vec<bool>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (table, user_column, item_column, _) = collection.table();
        let sql = format!(
            "SELECT {item_column} AS id FROM {table} WHERE {user_column} = $1 AND {item_column} IN ({})",
            placeholders(2, ids.len())
        );
        let present: Vec<Id> = on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.as_str());
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| parse_id(row.try_get::<&str, _>("id")?)).collect::<StoreResult<Vec<_>>>()
        })?;
        Ok(ids.iter().map(|id| present.contains(id)).collect())
    }

    /// A page of the collection, newest first, and the total.
    pub async fn collection_page(
        &self,
        collection: Collection,
        user: Id,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<Added>, u64)> {
        let (table, user_column, item_column, time_column) = collection.table();
        let page_sql = format!(
            "SELECT {item_column} AS id, {time_column} AS at_ms FROM {table} WHERE {user_column} = $1
             ORDER BY {time_column} DESC, {item_column} LIMIT $2 OFFSET $3"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {user_column} = $1");
        on_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(page_sql))
                .bind(user.as_str())
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?;
            let total: i64 =
                sqlx::query(sqlx::AssertSqlSafe(count_sql)).bind(user.as_str()).fetch_one(pool).await?.try_get("n")?;
            let items = rows
                .iter()
                .map(|row| Ok(Added { id: parse_id(row.try_get::<&str, _>("id")?)?, at_ms: row.try_get("at_ms")? }))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok((items, total.max(0) as u64))
        })
    }

    /// Items of the collection after the cursor `after` (by id), at most `limit`, and the total:
    /// the cursor paging of `GET /v1/me/following`.
    pub async fn collection_after(
        &self,
        collection: Collection,
        user: Id,
        after: Option<Id>,
        limit: u32,
    ) -> StoreResult<(Vec<Id>, u64)> {
        let (table, user_column, item_column, _) = collection.table();
        let page_sql = format!(
            "SELECT {item_column} AS id FROM {table} WHERE {user_column} = $1 AND {item_column} > $2
             ORDER BY {item_column} LIMIT $3"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {user_column} = $1");
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        on_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(page_sql))
                .bind(user.as_str())
                .bind(&after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let total: i64 =
                sqlx::query(sqlx::AssertSqlSafe(count_sql)).bind(user.as_str()).fetch_one(pool).await?.try_get("n")?;
            let ids =
                rows.iter().map(|row| parse_id(row.try_get::<&str, _>("id")?)).collect::<StoreResult<Vec<_>>>()?;
            Ok((ids, total.max(0) as u64))
        })
    }

    /// How many users follow `user`.
    pub async fn follower_count(&self, user: Id) -> StoreResult<u64> {
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query("SELECT COUNT(*) AS n FROM followed_users WHERE followed_id = $1")
                .bind(user.as_str())
                .fetch_one(pool)
                .await?
                .try_get("n")
        })?;
        Ok(n.max(0) as u64)
    }
}
