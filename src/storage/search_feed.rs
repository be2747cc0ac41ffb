//! What the search index is built from: every track, artist, album and public playlist, read in
//! id order a page at a time (keyset paging, so a million tracks never sit in memory at once).

use sqlx::Row;

use super::{Store, StoreError, StoreResult, on_pool};
use crate::ids::Id;

/// A track as the index needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFeed {
    pub id: Id,
    pub name: String,
    pub artist: String,
    pub album: String,
    pub popularity: u8,
}

/// An artist, album or playlist as the index needs it: `by` is the album's artist or the
/// playlist's owner, `about` the playlist's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFeed {
    pub id: Id,
    pub name: String,
    pub by: String,
    pub about: String,
    pub popularity: u8,
}

fn parse_id(text: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("id {text:?}")))
}

fn popularity(value: i64) -> u8 {
    value.clamp(0, 100) as u8
}

/// Runs a keyset page query (`$1` = the last id seen, `$2` = the page size) and reads each row.
macro_rules! feed_page {
    ($store:expr, $sql:expr, $after:expr, $limit:expr, |$row:ident| $read:expr) => {{
        let after = $after.map(|id: Id| id.to_string()).unwrap_or_default();
        on_pool!($store, |pool| {
            let rows = sqlx::query($sql).bind(&after).bind(i64::from($limit)).fetch_all(pool).await?;
            rows.iter().map(|$row| $read).collect::<StoreResult<Vec<_>>>()
        })
    }};
}

impl Store {
    /// Tracks after `after` in id order, at most `limit`.
    pub async fn feed_tracks(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<TrackFeed>> {
        feed_page!(
            self,
            "SELECT t.id, t.name, t.popularity, ar.name AS artist, al.name AS album
             FROM tracks t JOIN albums al ON al.id = t.album_id JOIN artists ar ON ar.id = t.artist_id
             WHERE t.id > $1 ORDER BY t.id LIMIT $2",
            after,
            limit,
            |row| Ok(TrackFeed {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                name: row.try_get("name")?,
                artist: row.try_get("artist")?,
                album: row.try_get("album")?,
                popularity: popularity(row.try_get("popularity")?),
            })
        )
    }

    /// Artists after `after` in id order, at most `limit`.
    pub async fn feed_artists(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<NamedFeed>> {
        feed_page!(
            self,
            "SELECT id, name, popularity FROM artists WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            limit,
            |row| Ok(NamedFeed {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                name: row.try_get("name")?,
                by: String::new(),
                about: String::new(),
                popularity: popularity(row.try_get("popularity")?),
            })
        )
    }

    /// Albums after `after` in id order, at most `limit`, with their artist's name.
    pub async fn feed_albums(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<NamedFeed>> {
        feed_page!(
            self,
            "SELECT al.id, al.name, al.popularity, ar.name AS artist
             FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE al.id > $1 ORDER BY al.id LIMIT $2",
            after,
            limit,
            |row| Ok(NamedFeed {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                name: row.try_get("name")?,
                by: row.try_get("artist")?,
                about: String::new(),
                popularity: popularity(row.try_get("popularity")?),
            })
        )
    }

    /// Public playlists after `after` in id order, at most `limit`, with their owner's name; their
    /// popularity grows with their followers (100 at 10,000).
    pub async fn feed_public_playlists(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<NamedFeed>> {
        feed_page!(
            self,
            "SELECT p.id, p.name, p.description, u.display_name AS owner,
                    (SELECT COUNT(*) FROM playlist_followers f WHERE f.playlist_id = p.id) AS followers
             FROM playlists p JOIN users u ON u.id = p.owner_id
             WHERE p.public AND p.id > $1 ORDER BY p.id LIMIT $2",
            after,
            limit,
            |row| {
                let followers: i64 = row.try_get("followers")?;
                Ok(NamedFeed {
                    id: parse_id(row.try_get::<&str, _>("id")?)?,
                    name: row.try_get("name")?,
                    by: row.try_get("owner")?,
                    about: row.try_get("description")?,
                    popularity: popularity(followers / 100),
                })
            }
        )
    }

    /// How many of each kind the index should hold: `(tracks, artists, albums, public playlists)`.
    pub async fn feed_counts(&self) -> StoreResult<[u64; 4]> {
        let mut counts = [0u64; 4];
        let queries = [
            "SELECT COUNT(*) AS n FROM tracks",
            "SELECT COUNT(*) AS n FROM artists",
            "SELECT COUNT(*) AS n FROM albums",
            "SELECT COUNT(*) AS n FROM playlists WHERE public",
        ];
        for (slot, sql) in counts.iter_mut().zip(queries) {
            let n: i64 = on_pool!(self, |pool| sqlx::query(sql).fetch_one(pool).await?.try_get("n"))?;
            *slot = n.max(0) as u64;
        }
        Ok(counts)
    }
}
