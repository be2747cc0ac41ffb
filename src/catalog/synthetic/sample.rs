//! The 200,000-track sample the statistical tests of the generator share, generated once.

use std::sync::OnceLock;

use super::generate;
use crate::domain::catalog::{ArtistBundle, TrackRecord};
use crate::ids::Id;

/// Largest number of tracks on one generated album (compilations).
pub(super) const MAX_ALBUM_TRACKS: usize = 18;
const SAMPLE_SEED: u64 = 0xC0FF_EE00_1234;
pub(super) const SAMPLE_TRACKS: usize = 200_000;

/// 200,000 tracks shared by the statistical tests (generated once).
pub(super) fn sample() -> &'static [ArtistBundle] {
    static SAMPLE: OnceLock<Vec<ArtistBundle>> = OnceLock::new();
    SAMPLE.get_or_init(|| generate(SAMPLE_SEED, SAMPLE_TRACKS).collect())
}

pub(super) fn sample_tracks() -> impl Iterator<Item = &'static TrackRecord> {
    sample().iter().flat_map(|b| b.tracks.iter())
}

/// True when `id` reads as 22 base62 characters that parse back to the same id.
pub(super) fn is_base62_id(id: Id) -> bool {
    let text = id.as_str();
    text.len() == 22 && text.bytes().all(|b| b.is_ascii_alphanumeric()) && Id::parse(text) == Some(id)
}

pub(super) fn percentile(sorted: &[u8], p: f64) -> u8 {
    let index = ((sorted.len() - 1) as f64 * p) as usize;
    sorted[index]
}
