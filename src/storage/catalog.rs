//! The catalog in the store: importing artists, albums and tracks, and reading them back.

use sqlx::{QueryBuilder, Row};

use super::{Store, StoreError, StoreResult, on_pool, placeholders};
use crate::domain::catalog::ArtistBundle;
use crate::ids::Id;

/// Rows per multi-row INSERT: well under both databases' parameter limits.
const INSERT_BATCH: usize = 400;

/// An artist as the API names it inside other objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistRef {
    pub id: Id,
    pub name: String,
}

/// An album as the API names it inside a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumRef {
    pub id: Id,
    pub name: String,
    pub album_type: String,
    pub release_date: String,
    pub total_tracks: u32,
}

/// A track with what its API object shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackRow {
    pub id: Id,
    pub name: String,
    pub duration_ms: u32,
    pub explicit: bool,
    pub popularity: u8,
    pub track_number: u32,
    pub disc_number: u32,
    pub isrc: Option<String>,
    /// Where it is licensed; `None`: everywhere.
    pub markets: Option<Vec<String>>,
    pub album: AlbumRef,
    pub artist: ArtistRef,
}

impl TrackRow {
    pub fn is_playable_in(&self, country: &str) -> bool {
        playable_in(self.markets.as_deref(), country)
    }
}

/// A full album.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumRow {
    pub album: AlbumRef,
    pub artist: ArtistRef,
    pub label: String,
    pub popularity: u8,
}

/// A track's audio features, as the Web API's audio-features object carries them.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFeaturesRow {
    pub id: Id,
    pub duration_ms: u32,
    pub danceability: f64,
    pub energy: f64,
    pub key: i64,
    pub loudness: f64,
    pub mode: i64,
    pub speechiness: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub valence: f64,
    pub tempo: f64,
    pub time_signature: i64,
}

/// A full artist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistRow {
    pub id: Id,
    pub name: String,
    pub genres: Vec<String>,
    pub popularity: u8,
    pub followers: u32,
}

fn playable_in(markets: Option<&[String]>, country: &str) -> bool {
    markets.is_none_or(|markets| markets.iter().any(|m| m.eq_ignore_ascii_case(country)))
}

fn parse_markets(markets: Option<String>) -> Option<Vec<String>> {
    markets.map(|m| m.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect())
}

fn parse_id(text: &str) -> StoreResult<Id> {
    Id::parse(text).ok_or_else(|| StoreError::Corrupt(format!("catalog id {text:?}")))
}

fn clamp_u8(value: i64) -> u8 {
    value.clamp(0, i64::from(u8::MAX)) as u8
}

fn clamp_u32(value: i64) -> u32 {
    value.clamp(0, i64::from(u32::MAX)) as u32
}

/// Reads a row by column name into the catalog types, on either database.
macro_rules! read_row {
    (track, $row:expr) => {{
        let row = $row;
        TrackRow {
            id: parse_id(row.try_get::<&str, _>("id")?)?,
            name: row.try_get("name")?,
            duration_ms: clamp_u32(row.try_get("duration_ms")?),
            explicit: row.try_get("explicit")?,
            popularity: clamp_u8(row.try_get("popularity")?),
            track_number: clamp_u32(row.try_get("track_number")?),
            disc_number: clamp_u32(row.try_get("disc_number")?),
            isrc: row.try_get("isrc")?,
            markets: parse_markets(row.try_get("markets")?),
            album: read_row!(album_ref, row),
            artist: ArtistRef {
                id: parse_id(row.try_get::<&str, _>("artist_id")?)?,
                name: row.try_get("artist_name")?,
            },
        }
    }};
    (album, $row:expr) => {{
        let row = $row;
        AlbumRow {
            album: read_row!(album_ref, row),
            artist: ArtistRef {
                id: parse_id(row.try_get::<&str, _>("artist_id")?)?,
                name: row.try_get("artist_name")?,
            },
            label: row.try_get("label")?,
            popularity: clamp_u8(row.try_get("popularity")?),
        }
    }};
    (album_ref, $row:expr) => {{
        let row = $row;
        AlbumRef {
            id: parse_id(row.try_get::<&str, _>("album_id")?)?,
            name: row.try_get("album_name")?,
            album_type: row.try_get("album_type")?,
            release_date: row.try_get("release_date")?,
            total_tracks: clamp_u32(row.try_get("total_tracks")?),
        }
    }};
}

const ALBUM_SELECT: &str = "SELECT al.id AS album_id, al.name AS album_name, al.album_type, al.release_date,
        al.total_tracks, al.label, al.popularity, ar.id AS artist_id, ar.name AS artist_name
    FROM albums al JOIN artists ar ON ar.id = al.artist_id";

const TRACK_SELECT: &str = "SELECT t.id, t.name, t.duration_ms, t.explicit, t.popularity, t.track_number,
        t.disc_number, t.isrc, t.markets, al.id AS album_id, al.name AS album_name, al.album_type,
        al.release_date, al.total_tracks, ar.id AS artist_id, ar.name AS artist_name
    FROM tracks t JOIN albums al ON al.id = t.album_id JOIN artists ar ON ar.id = t.artist_id";

impl Store {
    /// True when no track is stored yet.
    pub async fn catalog_is_empty(&self) -> StoreResult<bool> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query("SELECT COUNT(*) AS n FROM (SELECT id FROM tracks LIMIT 1) AS one")
                .fetch_one(pool)
                .await?
                .try_get("n")
        })?;
        Ok(count == 0)
    }

    /// Writes a batch of artists with their albums and tracks in one transaction. Rows whose id
    /// is already stored are left as they are, so an import can run twice.
    pub async fn import_bundles(&self, bundles: &[ArtistBundle]) -> StoreResult<()> {
        on_pool!(self, deadline = super::BULK_DEADLINE, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in bundles.chunks(INSERT_BATCH) {
                let mut insert = QueryBuilder::new("INSERT INTO artists (id, name, genres, popularity, followers) ");
                insert.push_values(chunk, |mut row, bundle| {
                    let artist = &bundle.artist;
                    row.push_bind(artist.id.as_str())
                        .push_bind(artist.name.clone())
                        .push_bind(artist.genres.join(","))
                        .push_bind(i64::from(artist.popularity))
                        .push_bind(i64::from(artist.followers));
                });
                insert.push(" ON CONFLICT (id) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            let albums: Vec<_> = bundles.iter().flat_map(|b| b.albums.iter().map(move |a| (a, b))).collect();
            for chunk in albums.chunks(INSERT_BATCH) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO albums (id, artist_id, name, album_type, release_date, label, popularity, total_tracks) ",
                );
                insert.push_values(chunk, |mut row, (album, bundle)| {
                    let total = bundle.tracks.iter().filter(|t| t.album_id == album.id).count() as i64;
                    row.push_bind(album.id.as_str())
                        .push_bind(album.artist_id.as_str())
                        .push_bind(album.name.clone())
                        .push_bind(album.album_type.as_str())
                        .push_bind(album.release_date.clone())
                        .push_bind(album.label.clone())
                        .push_bind(i64::from(album.popularity))
                        .push_bind(total);
                });
                insert.push(" ON CONFLICT (id) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            let tracks: Vec<_> = bundles.iter().flat_map(|b| b.tracks.iter()).collect();
            for chunk in tracks.chunks(INSERT_BATCH / 2) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO tracks (id, album_id, artist_id, name, duration_ms, explicit, popularity,
                     track_number, disc_number, isrc, markets, danceability, energy, musical_key, loudness,
                     mode, speechiness, acousticness, instrumentalness, liveness, valence, tempo, time_signature) ",
                );
                insert.push_values(chunk, |mut row, track| {
                    let f = &track.features;
                    row.push_bind(track.id.as_str())
                        .push_bind(track.album_id.as_str())
                        .push_bind(track.artist_id.as_str())
                        .push_bind(track.name.clone())
                        .push_bind(i64::from(track.duration_ms))
                        .push_bind(track.explicit)
                        .push_bind(i64::from(track.popularity))
                        .push_bind(i64::from(track.track_number))
                        .push_bind(i64::from(track.disc_number))
                        .push_bind((!track.isrc.is_empty()).then(|| track.isrc.clone()))
                        .push_bind(track.available_markets.as_ref().map(|m| m.join(",")))
                        .push_bind(f64::from(f.danceability))
                        .push_bind(f64::from(f.energy))
                        .push_bind(i64::from(f.key))
                        .push_bind(f64::from(f.loudness))
                        .push_bind(i64::from(f.mode))
                        .push_bind(f64::from(f.speechiness))
                        .push_bind(f64::from(f.acousticness))
                        .push_bind(f64::from(f.instrumentalness))
                        .push_bind(f64::from(f.liveness))
                        .push_bind(f64::from(f.valence))
                        .push_bind(f64::from(f.tempo))
                        .push_bind(i64::from(f.time_signature));
                });
                insert.push(" ON CONFLICT (id) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// The tracks with these ids that exist, in no particular order.
    pub async fn tracks(&self, ids: &[Id]) -> StoreResult<Vec<TrackRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{TRACK_SELECT} WHERE t.id IN ({})", placeholders(1, ids.len()));
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| Ok(read_row!(track, row))).collect()
        })
    }

    /// The tracks of an album in disc and track order.
    pub async fn album_tracks(&self, album: Id) -> StoreResult<Vec<TrackRow>> {
        let sql =
            sqlx::AssertSqlSafe(format!("{TRACK_SELECT} WHERE t.album_id = $1 ORDER BY t.disc_number, t.track_number"));
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).bind(album.as_str()).fetch_all(pool).await?;
            rows.iter().map(|row| Ok(read_row!(track, row))).collect()
        })
    }

    /// The tracks of these albums, each album's in disc and track order (albums in no
    /// particular order).
    pub async fn tracks_of_albums(&self, albums: &[Id]) -> StoreResult<Vec<TrackRow>> {
        let mut tracks = Vec::new();
        for chunk in albums.chunks(500) {
            let sql = format!(
                "{TRACK_SELECT} WHERE t.album_id IN ({}) ORDER BY t.album_id, t.disc_number, t.track_number",
                placeholders(1, chunk.len())
            );
            let rows = on_pool!(self, |pool| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for album in chunk {
                    query = query.bind(album.as_str());
                }
                let rows = query.fetch_all(pool).await?;
                rows.iter().map(|row| Ok(read_row!(track, row))).collect::<StoreResult<Vec<_>>>()
            })?;
            tracks.extend(rows);
        }
        Ok(tracks)
    }

    /// An artist's most popular tracks, at most `limit`.
    pub async fn artist_top_tracks(&self, artist: Id, limit: u32) -> StoreResult<Vec<TrackRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{TRACK_SELECT} WHERE t.artist_id = $1 ORDER BY t.popularity DESC, t.id LIMIT $2"
        ));
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).bind(artist.as_str()).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|row| Ok(read_row!(track, row))).collect()
        })
    }

    pub async fn album(&self, id: Id) -> StoreResult<Option<AlbumRow>> {
        Ok(self.albums(&[id]).await?.pop())
    }

    /// The albums with these ids that exist, in no particular order.
    pub async fn albums(&self, ids: &[Id]) -> StoreResult<Vec<AlbumRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{ALBUM_SELECT} WHERE al.id IN ({})", placeholders(1, ids.len()));
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| Ok(read_row!(album, row))).collect()
        })
    }

    /// A page of an artist's albums, newest first, and the total.
    pub async fn artist_albums(&self, artist: Id, limit: u32, offset: u32) -> StoreResult<(Vec<AlbumRow>, u64)> {
        let sql =
            format!("{ALBUM_SELECT} WHERE al.artist_id = $1 ORDER BY al.release_date DESC, al.id LIMIT $2 OFFSET $3");
        on_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(artist.as_str())
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM albums WHERE artist_id = $1")
                .bind(artist.as_str())
                .fetch_one(pool)
                .await?
                .try_get("n")?;
            let albums = rows.iter().map(|row| Ok(read_row!(album, row))).collect::<StoreResult<Vec<_>>>()?;
            Ok((albums, total.max(0) as u64))
        })
    }

    pub async fn artist(&self, id: Id) -> StoreResult<Option<ArtistRow>> {
        Ok(self.artists(&[id]).await?.pop())
    }

    /// The artists with these ids that exist, in no particular order.
    pub async fn artists(&self, ids: &[Id]) -> StoreResult<Vec<ArtistRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, name, genres, popularity, followers FROM artists WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let genres: String = row.try_get("genres")?;
                    Ok(ArtistRow {
                        id: parse_id(row.try_get::<&str, _>("id")?)?,
                        name: row.try_get("name")?,
                        genres: genres.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect(),
                        popularity: clamp_u8(row.try_get("popularity")?),
                        followers: clamp_u32(row.try_get("followers")?),
                    })
                })
                .collect()
        })
    }

    /// The audio features of these tracks that exist, in no particular order.
    pub async fn audio_features(&self, ids: &[Id]) -> StoreResult<Vec<AudioFeaturesRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, duration_ms, danceability, energy, musical_key, loudness, mode, speechiness, acousticness,
                    instrumentalness, liveness, valence, tempo, time_signature
             FROM tracks WHERE id IN ({}) AND danceability IS NOT NULL",
            placeholders(1, ids.len())
        );
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(AudioFeaturesRow {
                        id: parse_id(row.try_get::<&str, _>("id")?)?,
                        duration_ms: clamp_u32(row.try_get("duration_ms")?),
                        danceability: row.try_get("danceability")?,
                        energy: row.try_get("energy")?,
                        key: row.try_get("musical_key")?,
                        loudness: row.try_get("loudness")?,
                        mode: row.try_get("mode")?,
                        speechiness: row.try_get("speechiness")?,
                        acousticness: row.try_get("acousticness")?,
                        instrumentalness: row.try_get("instrumentalness")?,
                        liveness: row.try_get("liveness")?,
                        valence: row.try_get("valence")?,
                        tempo: row.try_get("tempo")?,
                        time_signature: row.try_get("time_signature")?,
                    })
                })
                .collect()
        })
    }
}
