//! The catalog: what there is to play. The generated demo catalog and synthetic catalogs for
//! benchmarks ([`synthetic`]), the import of the Spotify Songs dataset ([`songs_csv`]), importing
//! them into the store, and resolving what a client names (ids, `segue:`/`spotify:` URIs,
//! contexts) into tracks a session can play ([`resolve`]).

pub mod indexing;
pub mod resolve;
pub mod songs_csv;
pub mod synthetic;

use std::path::Path;

use crate::storage::playlists::NewPlaylist;
use crate::storage::users::UserUpsert;
use crate::storage::{Store, StoreError, StoreResult};

/// Artists written per transaction during an import.
const IMPORT_ARTISTS_PER_BATCH: usize = 200;

/// Imports a synthetic catalog of `tracks` tracks; `progress` is told the tracks written so far.
pub async fn import_synthetic(
    store: &Store,
    seed: u64,
    tracks: usize,
    mut progress: impl FnMut(usize),
) -> StoreResult<usize> {
    let mut written = 0;
    let mut batch = Vec::with_capacity(IMPORT_ARTISTS_PER_BATCH);
    for bundle in synthetic::generate(seed, tracks) {
        batch.push(bundle);
        if batch.len() == IMPORT_ARTISTS_PER_BATCH {
            store.import_bundles(&batch).await?;
            written += batch.iter().map(|b| b.tracks.len()).sum::<usize>();
            progress(written);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.import_bundles(&batch).await?;
        written += batch.iter().map(|b| b.tracks.len()).sum::<usize>();
        progress(written);
    }
    store.analyze().await?;
    Ok(written)
}

/// Imports the demo catalog when the store holds no track yet. True when it imported.
pub async fn import_demo_if_empty(store: &Store) -> StoreResult<bool> {
    if !store.catalog_is_empty().await? {
        return Ok(false);
    }
    import_synthetic(store, synthetic::DEMO_SEED, synthetic::DEMO_TRACKS, |_| {}).await?;
    Ok(true)
}

/// The user that owns imported playlists. Its password hash is no hash, so nobody logs in as it.
pub const EDITORIAL_USER: &str = "segue-editorial";

/// What an import of the songs dataset did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongsImport {
    pub tracks: usize,
    pub artists: usize,
    pub albums: usize,
    /// Playlists created (an import run again creates none).
    pub playlists_created: usize,
    pub rows_skipped: usize,
}

/// Imports `spotify_songs.csv`: its tracks, albums and artists, and its playlists as public
/// playlists of [`EDITORIAL_USER`]. Running it again adds nothing.
pub async fn import_songs_csv(store: &Store, path: &Path) -> StoreResult<SongsImport> {
    let catalog = songs_csv::read(path).map_err(|error| StoreError::Config(format!("{}: {error}", path.display())))?;
    for batch in catalog.bundles.chunks(IMPORT_ARTISTS_PER_BATCH) {
        store.import_bundles(batch).await?;
    }
    let now_ms = crate::clock::now_ms() as i64;
    let editor = UserUpsert {
        username: EDITORIAL_USER,
        password_hash: "!",
        display_name: Some("Segue Editorial"),
        product: None,
        country: None,
    };
    let (owner, _) = store.upsert_user(&editor, now_ms).await?;
    let mut playlists_created = 0;
    for playlist in &catalog.playlists {
        let details = NewPlaylist {
            owner,
            name: &playlist.name,
            description: &playlist.description,
            public: true,
            collaborative: false,
        };
        if store.insert_playlist(playlist.id, &details, now_ms).await? {
            store.append_playlist_items(playlist.id, &playlist.tracks, Some(owner), now_ms).await?;
            playlists_created += 1;
        }
    }
    store.analyze().await?;
    Ok(SongsImport {
        tracks: catalog.track_count(),
        artists: catalog.bundles.len(),
        albums: catalog.bundles.iter().map(|b| b.albums.len()).sum(),
        playlists_created,
        rows_skipped: catalog.skipped.len(),
    })
}
