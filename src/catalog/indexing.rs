//! Keeping the search index in step with the store.
//!
//! The store is the truth; the index is derived. At start, and then every
//! [`SYNC_INTERVAL`], the keeper compares how many tracks, artists, albums and public playlists
//! each holds, and feeds the index again every kind whose count differs (every add is an upsert,
//! so feeding again converges). That catches whatever changed the catalog outside this process
//! (`segue import` while a server runs, another node). Playlists changed through this server are
//! upserted at once ([`index_playlist`]). Indexing runs on the blocking pool, never on a worker.

use std::time::{Duration, Instant};

use crate::search::{AlbumDoc, ArtistDoc, PlaylistDoc, SearchIndex, SearchKind, TrackDoc};
use crate::storage::playlists::PlaylistRow;
use crate::storage::{Store, StoreError};

/// How often the keeper compares the index with the store.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(60);
/// Rows read from the store per page while feeding.
const FEED_PAGE: u32 = 5_000;

/// Why indexing stopped.
#[derive(Debug, thiserror::Error)]
pub enum IndexingError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Search(String),
}

impl crate::error::ProtocolError for IndexingError {
    fn code(&self) -> segue_protocol::ErrorCode {
        match self {
            IndexingError::Store(error) => error.code(),
            IndexingError::Search(_) => segue_protocol::ErrorCode::Internal,
        }
    }
}

crate::app_error_from!(IndexingError);

fn search_error(error: impl std::fmt::Display) -> IndexingError {
    IndexingError::Search(error.to_string())
}

/// The four kinds, in the order of [`Store::feed_counts`].
const KINDS: [SearchKind; 4] = [SearchKind::Track, SearchKind::Artist, SearchKind::Album, SearchKind::Playlist];

/// Docs of one kind, to write in one batch.
enum Docs {
    Tracks(Vec<TrackDoc>),
    Artists(Vec<ArtistDoc>),
    Albums(Vec<AlbumDoc>),
    Playlists(Vec<PlaylistDoc>),
}

/// Writes a batch and commits it, on the blocking pool.
async fn write(index: &SearchIndex, docs: Docs) -> Result<(), IndexingError> {
    let index = index.clone();
    tokio::task::spawn_blocking(move || {
        let mut batch = index.writer().map_err(search_error)?;
        match &docs {
            Docs::Tracks(docs) => docs.iter().for_each(|doc| batch.add_track(doc)),
            Docs::Artists(docs) => docs.iter().for_each(|doc| batch.add_artist(doc)),
            Docs::Albums(docs) => docs.iter().for_each(|doc| batch.add_album(doc)),
            Docs::Playlists(docs) => docs.iter().for_each(|doc| batch.upsert_playlist(doc)),
        }
        batch.commit().map_err(search_error)
    })
    .await
    .map_err(search_error)?
}

/// Feeds every row of one kind from the store to the index; returns how many.
async fn feed(index: &SearchIndex, store: &Store, kind: SearchKind) -> Result<u64, IndexingError> {
    let mut after = None;
    let mut fed = 0u64;
    loop {
        let (docs, last, count) = match kind {
            SearchKind::Track => {
                let page = store.feed_tracks(after, FEED_PAGE).await?;
                let last = page.last().map(|t| t.id);
                let docs: Vec<TrackDoc> = page
                    .into_iter()
                    .map(|t| TrackDoc {
                        id: t.id,
                        name: t.name,
                        artist: t.artist,
                        album: t.album,
                        popularity: t.popularity,
                    })
                    .collect();
                let count = docs.len();
                (Docs::Tracks(docs), last, count)
            }
            SearchKind::Artist => {
                let page = store.feed_artists(after, FEED_PAGE).await?;
                let last = page.last().map(|a| a.id);
                let docs: Vec<ArtistDoc> =
                    page.into_iter().map(|a| ArtistDoc { id: a.id, name: a.name, popularity: a.popularity }).collect();
                let count = docs.len();
                (Docs::Artists(docs), last, count)
            }
            SearchKind::Album => {
                let page = store.feed_albums(after, FEED_PAGE).await?;
                let last = page.last().map(|a| a.id);
                let docs: Vec<AlbumDoc> = page
                    .into_iter()
                    .map(|a| AlbumDoc { id: a.id, name: a.name, artist: a.by, popularity: a.popularity })
                    .collect();
                let count = docs.len();
                (Docs::Albums(docs), last, count)
            }
            SearchKind::Playlist => {
                let page = store.feed_public_playlists(after, FEED_PAGE).await?;
                let last = page.last().map(|p| p.id);
                let docs: Vec<PlaylistDoc> = page
                    .into_iter()
                    .map(|p| PlaylistDoc {
                        id: p.id,
                        name: p.name,
                        description: p.about,
                        owner: p.by,
                        popularity: p.popularity,
                    })
                    .collect();
                let count = docs.len();
                (Docs::Playlists(docs), last, count)
            }
        };
        if count == 0 {
            return Ok(fed);
        }
        write(index, docs).await?;
        fed += count as u64;
        after = last;
    }
}

/// Brings the index in step with the store. A kind with fewer documents than the store has
/// rows is fed again (adds are upserts); a kind with more (rows deleted from the store, or an
/// index left from another catalog) means the index cannot be trusted: it is emptied and every
/// kind fed again. After a feed the index is compacted into one segment. Returns the kinds fed,
/// with how many documents each.
pub async fn sync(index: &SearchIndex, store: &Store) -> Result<Vec<(SearchKind, u64)>, IndexingError> {
    let counts = store.feed_counts().await?;
    let stale = KINDS.into_iter().zip(counts).any(|(kind, count)| index.doc_count(kind) > count);
    if stale {
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            let mut batch = index.writer().map_err(search_error)?;
            batch.delete_all();
            batch.commit().map_err(search_error)
        })
        .await
        .map_err(search_error)??;
    }
    let mut fed = Vec::new();
    for (kind, count) in KINDS.into_iter().zip(counts) {
        if index.doc_count(kind) != count {
            fed.push((kind, feed(index, store, kind).await?));
        }
    }
    if !fed.is_empty() {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.compact().map_err(search_error)).await.map_err(search_error)??;
    }
    Ok(fed)
}

/// Runs [`sync`] now and then every [`SYNC_INTERVAL`], logging what it did, until the process
/// ends. Spawn it on the runtime.
pub async fn keep_in_step(index: SearchIndex, store: Store) {
    loop {
        let started = Instant::now();
        match sync(&index, &store).await {
            Ok(fed) if fed.is_empty() => {}
            Ok(fed) => {
                let seconds = started.elapsed().as_secs_f32();
                tracing::info!(?fed, seconds, "search index brought in step with the catalog");
            }
            Err(error) => tracing::error!(%error, "search indexing failed; retrying later"),
        }
        tokio::time::sleep(SYNC_INTERVAL).await;
    }
}

/// Upserts a playlist changed through this server (a private one is removed from the index).
pub async fn index_playlist(index: &SearchIndex, playlist: &PlaylistRow) -> Result<(), IndexingError> {
    let index = index.clone();
    let doc = PlaylistDoc {
        id: playlist.id,
        name: playlist.name.clone(),
        description: playlist.description.clone(),
        owner: playlist.owner_name.clone(),
        popularity: (playlist.followers / 100).min(100) as u8,
    };
    let public = playlist.public;
    tokio::task::spawn_blocking(move || {
        let mut batch = index.writer().map_err(search_error)?;
        if public {
            batch.upsert_playlist(&doc);
        } else {
            batch.delete_playlist(doc.id);
        }
        batch.commit().map_err(search_error)
    })
    .await
    .map_err(search_error)?
}
