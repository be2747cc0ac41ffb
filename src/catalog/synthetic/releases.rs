//! An artist's discography plan: which releases (singles, EPs, albums, live albums,
//! compilations), how many tracks each has, and when they come out, with the calendar
//! arithmetic behind release dates.

use rand::Rng;
use rand::seq::SliceRandom;

use super::random::Draw;
use crate::clock::days_from_civil;
use crate::domain::catalog::AlbumType;
use crate::reproducible::SeededRng;

/// Kinds of release in an artist's discography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Release {
    Single,
    Ep,
    Album,
    DoubleAlbum,
    Live,
    Compilation,
}

impl Release {
    pub(super) fn album_type(self) -> AlbumType {
        match self {
            Release::Single | Release::Ep => AlbumType::Single,
            Release::Compilation => AlbumType::Compilation,
            Release::Album | Release::DoubleAlbum | Release::Live => AlbumType::Album,
        }
    }

    /// Number of tracks on disc 1 and disc 2.
    pub(super) fn disc_sizes(self, rng: &mut SeededRng) -> (usize, usize) {
        match self {
            Release::Single => (1 + usize::from(rng.chance(0.35)) + usize::from(rng.chance(0.13)), 0),
            Release::Ep => (rng.random_range(4..7), 0),
            Release::Album => (8 + rng.random_range(0..5) + rng.random_range(0..5), 0),
            Release::DoubleAlbum => (rng.random_range(7..10), rng.random_range(7..10)),
            Release::Live => (9 + rng.random_range(0..4) + rng.random_range(0..4), 0),
            Release::Compilation => (10 + rng.random_range(0..5) + rng.random_range(0..5), 0),
        }
    }

    /// Days since the artist's previous release.
    fn gap_days(self, rng: &mut SeededRng) -> i64 {
        let (lo, hi) = match self {
            Release::Single => (30, 240),
            Release::Ep => (90, 400),
            Release::Album | Release::DoubleAlbum => (250, 1_100),
            Release::Live | Release::Compilation => (200, 1_200),
        };
        i64::from(rng.random_range(lo..=hi))
    }

    /// Popularity of the release relative to the artist's.
    pub(super) fn popularity_factor(self) -> f64 {
        match self {
            Release::Album | Release::DoubleAlbum => 1.0,
            Release::Single => 0.95,
            Release::Ep => 0.8,
            Release::Compilation => 0.75,
            Release::Live => 0.6,
        }
    }
}

/// The artist's discography plan, oldest first. Never empty; at most ~35 releases.
pub(super) fn plan_releases(rng: &mut SeededRng, popularity: u8) -> Vec<Release> {
    let boost = u32::from(popularity / 30);
    let albums = if rng.chance(0.35) { boost } else { 1 + rng.geometric(0.47, 12) + boost };
    let singles = rng.geometric(0.45, 10) + u32::from(albums == 0);
    let eps = if rng.chance(0.3) { 1 + rng.geometric(0.6, 3) } else { 0 };
    let mut plan = Vec::new();
    for _ in 0..albums {
        plan.push(if rng.chance(0.03) { Release::DoubleAlbum } else { Release::Album });
    }
    plan.extend((0..singles).map(|_| Release::Single));
    plan.extend((0..eps).map(|_| Release::Ep));
    plan.shuffle(rng);
    if albums >= 3 {
        if rng.chance(0.25) {
            plan.push(Release::Live);
        }
        if rng.chance(0.35) {
            plan.push(Release::Compilation);
        }
    }
    if plan.is_empty() {
        plan.push(Release::Single);
    }
    plan
}

/// Release days (days since 1970-01-01) for the plan, careers skewed towards the present.
pub(super) fn schedule(rng: &mut SeededRng, plan: &[Release]) -> Vec<i64> {
    let gaps: Vec<i64> =
        plan.iter().enumerate().map(|(i, release)| if i == 0 { 0 } else { release.gap_days(rng) }).collect();
    let span: i64 = gaps.iter().sum();
    let u = rng.random::<f64>();
    let back = (u * u * u * u * 66.0 * 365.25) as i64;
    let start = (LAST_RELEASE_DAY - span - back).max(FIRST_RELEASE_DAY);
    let mut day = start;
    gaps.iter()
        .map(|gap| {
            day += gap;
            day.min(LAST_RELEASE_DAY)
        })
        .collect()
}

const FIRST_RELEASE_DAY: i64 = days_from_civil(1960, 1, 1);
const LAST_RELEASE_DAY: i64 = days_from_civil(2026, 3, 31);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::catalog::synthetic::sample::{MAX_ALBUM_TRACKS, SAMPLE_TRACKS, sample, sample_tracks};
    use crate::clock::civil_from_days;
    use crate::domain::catalog::TrackRecord;
    use crate::ids::Id;

    #[test]
    fn release_dates_are_valid_and_skew_recent() {
        let mut old = 0;
        let mut recent = 0;
        for album in sample().iter().flat_map(|b| &b.albums) {
            let date = album.release_date.as_bytes();
            assert_eq!(date.len(), 10, "{}", album.release_date);
            assert!(date[4] == b'-' && date[7] == b'-');
            let year: i64 = album.release_date[..4].parse().unwrap_or(0);
            let month: i64 = album.release_date[5..7].parse().unwrap_or(0);
            let day: i64 = album.release_date[8..].parse().unwrap_or(0);
            assert!((1960..=2026).contains(&year), "{}", album.release_date);
            assert!((1..=12).contains(&month) && (1..=31).contains(&day));
            // Round-trips through the calendar, so it is a real date.
            assert_eq!(civil_from_days(days_from_civil(year, month, day)), (year, month, day));
            if year < 1990 {
                old += 1;
            } else if year >= 2010 {
                recent += 1;
            }
        }
        assert!(old > 0, "some old releases");
        assert!(recent > old * 3, "{recent} recent vs {old} old");
    }

    #[test]
    fn albums_are_well_formed() {
        let mut sizes: HashMap<AlbumType, Vec<usize>> = HashMap::new();
        let last = sample().len() - 1;
        for (n, bundle) in sample().iter().enumerate() {
            let artist_id = bundle.artist.id;
            let mut per_album: HashMap<Id, Vec<&TrackRecord>> = HashMap::new();
            for track in &bundle.tracks {
                assert_eq!(track.artist_id, artist_id);
                per_album.entry(track.album_id).or_default().push(track);
            }
            assert_eq!(per_album.len(), bundle.albums.len());
            assert!(bundle.tracks.len() < 1_000);
            for album in &bundle.albums {
                assert_eq!(album.artist_id, artist_id);
                assert!(!album.name.is_empty() && !album.label.is_empty());
                assert!(album.popularity <= 100);
                let tracks = &per_album[&album.id];
                let count = tracks.len();
                assert!((1..=MAX_ALBUM_TRACKS).contains(&count), "{count} tracks");
                if album.album_type == AlbumType::Single {
                    assert!(count <= 6);
                }
                // Track numbers run 1..n on each disc, disc 1 first.
                let mut expected = (1, 1);
                for track in tracks {
                    if track.disc_number != expected.0 {
                        assert_eq!(track.disc_number, 2);
                        expected = (2, 1);
                    }
                    assert_eq!((track.disc_number, track.track_number), expected);
                    expected.1 += 1;
                }
                if n != last {
                    sizes.entry(album.album_type).or_default().push(count);
                }
            }
        }
        let share = |kind: AlbumType| sizes.get(&kind).map_or(0, Vec::len);
        let total: usize = sizes.values().map(Vec::len).sum();
        assert!(share(AlbumType::Single) * 4 > total, "singles are common");
        assert!(share(AlbumType::Compilation) > 0);
        assert!(share(AlbumType::Compilation) * 20 < total, "compilations are rare");
        let eps = sizes[&AlbumType::Single].iter().filter(|&&n| n >= 4).count();
        assert!(eps > 0, "some EPs");
        let two_discs = sample_tracks().filter(|t| t.disc_number == 2).count();
        assert!(two_discs > 0 && two_discs * 20 < SAMPLE_TRACKS);
    }
}
