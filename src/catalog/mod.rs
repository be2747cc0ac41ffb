//! The catalog: what there is to play. The generated demo catalog and synthetic catalogs for
//! benchmarks ([`synthetic`]), importing them into the store, and resolving what a client names
//! (ids, `segue:`/`spotify:` URIs, contexts) into tracks a session can play ([`resolve`]).

pub mod resolve;
pub mod synthetic;

use crate::storage::{Store, StoreResult};

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
