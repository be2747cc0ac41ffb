//! Catalog ids and ISRCs: a seed-keyed bijection from (kind, index) to a 22-character base62
//! id, so the ids of one catalog never collide, and ISRCs unique per artist and track.

use rand::Rng;

use super::random::{Stream, stream_rng};
use crate::ids::Id;

/// What an id names; part of the id derivation so the kinds never collide.
#[derive(Debug, Clone, Copy)]
pub(super) enum IdKind {
    Artist = 1,
    Album = 2,
    Track = 3,
}

/// The number of 3-character ISRC registrant codes (`[0-9A-Z]{3}`).
const REGISTRANT_CODES: u64 = 36 * 36 * 36;

/// The keys one catalog seed gives its ids and ISRCs, drawn once per catalog.
#[derive(Debug, Clone, Copy)]
pub(super) struct CatalogKeys {
    /// Mixed into the left half of every id's Feistel input.
    id_left: u64,
    /// One key per Feistel round.
    id_rounds: [u64; 4],
    /// Where this catalog starts in its permutation of the registrant codes.
    registrant_offset: u64,
}

impl CatalogKeys {
    pub(super) fn new(seed: u64) -> CatalogKeys {
        let mut rng = stream_rng(seed, Stream::Keys, 0);
        CatalogKeys {
            id_left: rng.random(),
            id_rounds: rng.random(),
            registrant_offset: rng.random_range(0..REGISTRANT_CODES),
        }
    }

    /// The id of `(kind, index)` in this catalog.
    ///
    /// The 128-bit input `(key ^ kind, index)` goes through a four-round Feistel network, a
    /// bijection, so ids within one catalog are guaranteed distinct, while looking random.
    pub(super) fn catalog_id(&self, kind: IdKind, index: u64) -> Id {
        let mut left = self.id_left ^ kind as u64;
        let mut right = index;
        for key in self.id_rounds {
            let next = left ^ mix64(right ^ key);
            left = right;
            right = next;
        }
        Id::from_u128(u128::from(left) << 64 | u128::from(right))
    }

    /// ISRC `CC RRR YY NNNNN` for the `local`-th track of artist `artist_index`.
    ///
    /// Groups of 100 consecutive artists share a registrant code (a seed-dependent
    /// permutation of the 36^3 codes) and each artist owns 1,000 designation
    /// numbers, so ISRCs are unique for up to 4.6 million artists whatever the
    /// country and year.
    pub(super) fn isrc(&self, country: &str, artist_index: u64, local: usize, year: i64) -> String {
        const ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        // 7919 is prime, hence coprime with 36^3: this is a permutation of the codes.
        let mut code = ((artist_index / 100) % REGISTRANT_CODES * 7_919 + self.registrant_offset) % REGISTRANT_CODES;
        let mut registrant = [b'A'; 3];
        for c in registrant.iter_mut().rev() {
            *c = ALNUM[(code % 36) as usize];
            code /= 36;
        }
        let registrant: String = registrant.iter().map(|&b| char::from(b)).collect();
        let designation = (artist_index % 100) * 1_000 + (local % 1_000) as u64;
        format!("{country}{registrant}{:02}{designation:05}", year.rem_euclid(100))
    }
}

/// The SplitMix64 finaliser, a bijective 64-bit mixer, as the Feistel round function: it only
/// scrambles the half it is given (the randomness is in the round keys).
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use crate::catalog::synthetic::artist::MARKETS;
    use crate::catalog::synthetic::sample::{is_base62_id, sample, sample_tracks};
    use crate::domain::catalog::AlbumRecord;

    #[test]
    fn ids_are_22_base62_chars_and_unique() {
        let mut seen = HashSet::new();
        for bundle in sample() {
            assert!(is_base62_id(bundle.artist.id), "{}", bundle.artist.id);
            assert!(seen.insert(bundle.artist.id));
            for album in &bundle.albums {
                assert!(is_base62_id(album.id), "{}", album.id);
                assert!(seen.insert(album.id));
            }
            for track in &bundle.tracks {
                assert!(is_base62_id(track.id), "{}", track.id);
                assert!(seen.insert(track.id));
            }
        }
        // Ids look random: all 62 digits appear at the last position.
        let last: HashSet<u8> = sample_tracks().filter_map(|t| t.id.as_str().bytes().last()).collect();
        assert_eq!(last.len(), 62);
    }

    #[test]
    fn isrcs_are_well_formed_and_unique() {
        let mut seen = HashSet::new();
        for bundle in sample() {
            let albums: HashMap<&str, &AlbumRecord> = bundle.albums.iter().map(|a| (a.id.as_str(), a)).collect();
            for track in &bundle.tracks {
                let isrc = track.isrc.as_bytes();
                assert_eq!(isrc.len(), 12, "{}", track.isrc);
                assert!(MARKETS.iter().any(|(code, _)| *code == &track.isrc[..2]), "{}", track.isrc);
                assert!(isrc[2..5].iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
                assert!(isrc[5..].iter().all(u8::is_ascii_digit), "{}", track.isrc);
                let album = albums[track.album_id.as_str()];
                assert_eq!(&track.isrc[5..7], &album.release_date[2..4]);
                assert!(seen.insert(track.isrc.as_str()), "duplicate {}", track.isrc);
            }
        }
    }
}
