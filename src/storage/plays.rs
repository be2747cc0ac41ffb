//! Reading counted plays: the listening history (`recently-played`) and the user's tops. The
//! plays are written behind with the session snapshots (`snapshots.rs`); a play of a private
//! session is stored (it counts for royalties) but never read here. Plays that offline devices
//! report later are written here, at once ([`Store::insert_reported_plays`]).

use sqlx::{QueryBuilder, Row};

use super::snapshots::PlayRecord;
use super::{Store, StoreError, StoreResult, on_pool};
use crate::ids::Id;

/// Which plays of the history a page holds: older than a cursor, or newer than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    /// Played (started) before this instant; `i64::MAX`: the newest.
    Before(i64),
    /// Played after this instant.
    After(i64),
}

const HISTORY_BEFORE: &str = "SELECT id, track_id, context_uri, played_at_ms, ms_played, end_reason FROM plays
     WHERE user_id = $1 AND NOT private AND played_at_ms < $2 ORDER BY played_at_ms DESC LIMIT $3";
const HISTORY_AFTER: &str = "SELECT id, track_id, context_uri, played_at_ms, ms_played, end_reason FROM plays
     WHERE user_id = $1 AND NOT private AND played_at_ms > $2 ORDER BY played_at_ms ASC LIMIT $3";

/// A user's counted plays since `$2` outside private sessions, grouped by track.
macro_rules! tracks_played {
    () => {
        "SELECT track_id AS id, COUNT(*) AS plays, MAX(played_at_ms) AS latest FROM plays
         WHERE user_id = $1 AND NOT private AND played_at_ms >= $2 GROUP BY track_id"
    };
}

/// The same, grouped by the tracks' artists.
macro_rules! artists_played {
    () => {
        "SELECT tracks.artist_id AS id, COUNT(*) AS plays, MAX(plays.played_at_ms) AS latest
         FROM plays JOIN tracks ON tracks.id = plays.track_id
         WHERE plays.user_id = $1 AND NOT plays.private AND plays.played_at_ms >= $2
         GROUP BY tracks.artist_id"
    };
}

const TOP_TRACKS_PAGE: &str =
    concat!("SELECT id FROM (", tracks_played!(), ") AS top ORDER BY plays DESC, latest DESC, id LIMIT $3 OFFSET $4");
const TOP_TRACKS_TOTAL: &str = concat!("SELECT COUNT(*) AS total FROM (", tracks_played!(), ") AS top");
const TOP_ARTISTS_PAGE: &str =
    concat!("SELECT id FROM (", artists_played!(), ") AS top ORDER BY plays DESC, latest DESC, id LIMIT $3 OFFSET $4");
const TOP_ARTISTS_TOTAL: &str = concat!("SELECT COUNT(*) AS total FROM (", artists_played!(), ") AS top");

fn parse_id(text: &str, what: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("{what} id {text:?}")))
}

impl Store {
    /// Writes plays an offline device reported, each once by its id, counted at `now_ms`:
    /// answers the ids that were new (the others were written before and change nothing).
    pub async fn insert_reported_plays(&self, plays: &[PlayRecord], now_ms: i64) -> StoreResult<Vec<String>> {
        let mut inserted = Vec::with_capacity(plays.len());
        for chunk in plays.chunks(200) {
            let ids = on_pool!(self, |pool| {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO plays (id, user_id, track_id, context_uri, played_at_ms, ms_played, end_reason, private,
                                        counted_at_ms, event_pending) ",
                );
                insert.push_values(chunk, |mut row, play| {
                    row.push_bind(play.id.as_str())
                        .push_bind(play.user.as_str())
                        .push_bind(play.track.as_str())
                        .push_bind(play.context_uri.clone())
                        .push_bind(play.played_at_ms)
                        .push_bind(play.ms_played)
                        .push_bind(play.end_reason.clone())
                        .push_bind(play.private)
                        .push_bind(now_ms)
                        .push_bind(self.play_events);
                });
                insert.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
                let rows = insert.build().fetch_all(pool).await?;
                rows.iter()
                    .map(|row| row.try_get::<String, _>("id").map_err(StoreError::from))
                    .collect::<StoreResult<Vec<_>>>()
            })?;
            inserted.extend(ids);
        }
        Ok(inserted)
    }

    /// The user's counted plays outside private sessions, newest first: at most `limit` of them
    /// next to the cursor (the newest before it, or the oldest after it).
    pub async fn recently_played(&self, user: Id, cursor: HistoryCursor, limit: u32) -> StoreResult<Vec<PlayRecord>> {
        let (sql, at) = match cursor {
            HistoryCursor::Before(at) => (HISTORY_BEFORE, at),
            HistoryCursor::After(at) => (HISTORY_AFTER, at),
        };
        let mut plays = on_pool!(self, |pool| {
            let rows = sqlx::query(sql).bind(user.as_str()).bind(at).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(PlayRecord {
                        id: row.try_get("id")?,
                        user,
                        track: parse_id(row.try_get("track_id")?, "track")?,
                        context_uri: row.try_get("context_uri")?,
                        played_at_ms: row.try_get("played_at_ms")?,
                        ms_played: row.try_get("ms_played")?,
                        end_reason: row.try_get("end_reason")?,
                        private: false,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()
        })?;
        if matches!(cursor, HistoryCursor::After(_)) {
            plays.reverse();
        }
        Ok(plays)
    }

    /// The tracks the user played most since `since_ms` (counted plays outside private
    /// sessions; ties: the most recently played first), `limit` from `offset`, with how many
    /// tracks there are in all.
    pub async fn top_tracks(&self, user: Id, since_ms: i64, limit: u32, offset: u32) -> StoreResult<(Vec<Id>, u64)> {
        self.top((TOP_TRACKS_PAGE, TOP_TRACKS_TOTAL), user, since_ms, limit, offset).await
    }

    /// The artists the user played most since `since_ms`, counted as [`Store::top_tracks`]
    /// counts tracks (each play counts for the track's artist).
    pub async fn top_artists(&self, user: Id, since_ms: i64, limit: u32, offset: u32) -> StoreResult<(Vec<Id>, u64)> {
        self.top((TOP_ARTISTS_PAGE, TOP_ARTISTS_TOTAL), user, since_ms, limit, offset).await
    }

    async fn top(
        &self,
        (page, total): (&'static str, &'static str),
        user: Id,
        since_ms: i64,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<Id>, u64)> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(page)
                .bind(user.as_str())
                .bind(since_ms)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?;
            let ids = rows.iter().map(|row| parse_id(row.try_get("id")?, "top")).collect::<StoreResult<Vec<_>>>()?;
            let total: i64 =
                sqlx::query(total).bind(user.as_str()).bind(since_ms).fetch_one(pool).await?.try_get("total")?;
            Ok((ids, u64::try_from(total).unwrap_or(0)))
        })
    }
}
