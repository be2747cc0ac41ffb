//! Deterministic synthetic music catalog.
//!
//! This module owns the fake-but-plausible catalog Segue uses in two places:
//! the demo library a fresh server imports on first start ([`DEMO_SEED`],
//! [`DEMO_TRACKS`]) and the benchmark data of `segue import synthetic --tracks N`
//! (up to a million tracks and beyond).
//!
//! Everything — artist, album, track and label names, genres, release dates,
//! popularity, audio features, ids and ISRCs — is derived from built-in word
//! lists and the server's seeded generator ([`crate::reproducible::SeededRng`],
//! ChaCha8) keyed by a `u64`. No real-world dataset is used. Only integer
//! arithmetic and the basic IEEE float operations (`+ - * /`, `round`) are
//! involved, never platform `libm` functions, so the same seed yields identical
//! output on every machine.
//!
//! What the generated records look like: popularity is heavily skewed towards low values and
//! followers grow exponentially with it; an artist has one to three genres of the built-in
//! list, and its tracks' audio features follow them; releases date from 1960 to 2026, most of
//! them recent; about 10% of tracks are explicit, most last 2 to 6 minutes, and a few albums
//! have a second disc.
//!
//! The catalog is streamed one artist at a time by [`generate`]: each
//! [`ArtistBundle`] carries an artist with all of its albums and tracks, and
//! every artist is generated independently from `(seed, artist index)`, so
//! memory use stays flat whatever the catalog size, and a smaller catalog is a
//! prefix of a larger one with the same seed.

mod artist;
mod genres;
mod ids;
mod names;
mod random;
mod releases;
#[cfg(test)]
mod sample;
mod titles;
mod words;

use std::iter::FusedIterator;

use self::artist::ArtistBuilder;
use self::ids::CatalogKeys;
use crate::domain::catalog::ArtistBundle;

/// Seed of the demo catalog imported by `segue serve` on first start.
pub const DEMO_SEED: u64 = 0x5E6E_0001;

/// Number of tracks in the demo catalog imported by `segue serve` on first start.
pub const DEMO_TRACKS: usize = 1_600;

/// Yields artists with their albums and tracks until at least `tracks` tracks have been produced
/// (the last artist may be cut short so the total is exactly `tracks`).
///
/// Output depends only on `seed`: the same seed gives the same catalog on
/// every machine, and the catalog for `n` tracks is a prefix of the one for
/// `m > n` tracks (except for the cut-short last artist). An artist averages
/// about 25 tracks. Memory use is bounded by one artist at a time.
///
/// Measured: 1,000,000 tracks (39,298 artists, 145,580 albums) take about
/// 1.0–1.1 s to generate in release mode, single-threaded, on the 2-core
/// build machine shared with other builds (rustc 1.95); the hand-written
/// SplitMix64 it replaced took 0.84–1.0 s measured the same way.
pub fn generate(seed: u64, tracks: usize) -> impl Iterator<Item = ArtistBundle> {
    Catalog { seed, keys: CatalogKeys::new(seed), remaining: tracks, next_artist: 0 }
}

/// The iterator behind [`generate`].
struct Catalog {
    seed: u64,
    /// Drawn once from `seed`: every id and ISRC of the catalog derives from them.
    keys: CatalogKeys,
    remaining: usize,
    next_artist: u64,
}

impl Iterator for Catalog {
    type Item = ArtistBundle;

    fn next(&mut self) -> Option<ArtistBundle> {
        if self.remaining == 0 {
            return None;
        }
        let mut bundle = ArtistBuilder::new(self.seed, self.keys, self.next_artist).build();
        self.next_artist += 1;
        if bundle.tracks.len() > self.remaining {
            bundle.tracks.truncate(self.remaining);
            if let Some(last) = bundle.tracks.last()
                && let Some(pos) = bundle.albums.iter().position(|a| a.id == last.album_id)
            {
                bundle.albums.truncate(pos + 1);
            }
        }
        self.remaining -= bundle.tracks.len();
        Some(bundle)
    }
}

impl FusedIterator for Catalog {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::reproducible::fnv1a_64;

    #[test]
    fn same_seed_same_catalog_different_seed_different_catalog() {
        let a: Vec<ArtistBundle> = generate(42, 3_000).collect();
        let b: Vec<ArtistBundle> = generate(42, 3_000).collect();
        let c: Vec<ArtistBundle> = generate(43, 3_000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let names_a: HashSet<&str> = a.iter().flat_map(|x| &x.tracks).map(|t| t.name.as_str()).collect();
        let names_c: HashSet<&str> = c.iter().flat_map(|x| &x.tracks).map(|t| t.name.as_str()).collect();
        let shared = names_a.intersection(&names_c).count();
        assert!(shared * 4 < names_a.len(), "seeds 42 and 43 share {shared} titles");
        assert_ne!(a[0].artist.id, c[0].artist.id);
    }

    #[test]
    fn output_is_pinned_for_a_known_seed() {
        // Guards determinism across machines, refactorings and upgrades of rand (whose helpers
        // may draw different values in a new minor version): any change to the generated data
        // changes these values, and must be deliberate (the demo catalog of existing
        // installations would change too).
        let debug_output: String = generate(7, 500).map(|bundle| format!("{bundle:?}")).collect();
        let fingerprint = fnv1a_64(debug_output.as_bytes());
        let first = generate(7, 1).next().map(|b| (b.artist.id.to_string(), b.artist.name, b.tracks[0].name.clone()));
        let expected = ("2qYjHEUkIDU7kC5Dy6QiCW", "Maya Kaiez", "Back to Dublin");
        assert_eq!(first, Some((expected.0.to_string(), expected.1.to_string(), expected.2.to_string())));
        assert_eq!(fingerprint, 0xc1d2_18dc_94d9_a4c8);
    }

    #[test]
    fn smaller_catalog_is_a_prefix_of_a_larger_one() {
        let small: Vec<ArtistBundle> = generate(9, 1_000).collect();
        let large: Vec<ArtistBundle> = generate(9, 5_000).collect();
        let last = small.len() - 1;
        assert_eq!(small[..last], large[..last]);
        assert_eq!(small[last].artist, large[last].artist);
        assert!(large[last].tracks.starts_with(&small[last].tracks));
    }

    #[test]
    fn total_track_count_is_exact() {
        for n in [0, 1, 2, 25, 500, 1_600, 20_000] {
            let bundles: Vec<ArtistBundle> = generate(1, n).collect();
            let total: usize = bundles.iter().map(|b| b.tracks.len()).sum();
            assert_eq!(total, n, "requested {n}");
            assert!(bundles.iter().all(|b| !b.tracks.is_empty() && !b.albums.is_empty()));
            if n == 0 {
                assert!(bundles.is_empty());
            }
        }
    }

    #[test]
    fn truncated_last_artist_keeps_only_albums_with_tracks() {
        for n in [1, 7, 333, 4_321] {
            for bundle in generate(5, n) {
                let used: HashSet<&str> = bundle.tracks.iter().map(|t| t.album_id.as_str()).collect();
                assert!(bundle.albums.iter().all(|a| used.contains(a.id.as_str())));
            }
        }
    }

    #[test]
    fn demo_catalog_is_big_enough() {
        let bundles: Vec<ArtistBundle> = generate(DEMO_SEED, DEMO_TRACKS).collect();
        let total: usize = bundles.iter().map(|b| b.tracks.len()).sum();
        assert_eq!(total, DEMO_TRACKS);
        const { assert!(DEMO_TRACKS >= 500) };
        assert!(bundles.len() > 30, "only {} artists", bundles.len());
    }

    #[test]
    #[ignore = "slow in debug builds; run with --release --ignored"]
    fn generates_a_million_tracks() {
        let start = std::time::Instant::now();
        let mut total = 0;
        let mut artists = 0;
        let mut ids = HashSet::new();
        for bundle in generate(DEMO_SEED, 1_000_000) {
            artists += 1;
            total += bundle.tracks.len();
            for track in &bundle.tracks {
                assert!(ids.insert(track.isrc.clone()));
            }
        }
        assert_eq!(total, 1_000_000);
        eprintln!("1,000,000 tracks, {artists} artists in {:?}", start.elapsed());
    }
}
