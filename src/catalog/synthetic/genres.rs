//! The built-in genres, their families and typical sound, and how an artist's genres are drawn
//! (a weighted primary genre and up to two related ones).

use rand::seq::IndexedRandom;

use super::random::Draw;
use crate::reproducible::SeededRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Pop,
    Rock,
    HipHop,
    Soul,
    Jazz,
    Electronic,
    Classical,
    Folk,
    World,
}

/// A genre with its typical sound; features are drawn around these centres.
#[derive(Debug)]
pub(super) struct Genre {
    pub(super) name: &'static str,
    pub(super) family: Family,
    /// Relative frequency as an artist's primary genre.
    pub(super) weight: u32,
    pub(super) danceability: f64,
    pub(super) energy: f64,
    pub(super) speechiness: f64,
    pub(super) acousticness: f64,
    /// Probability that a track is (mostly) instrumental.
    pub(super) instrumental: f64,
    pub(super) valence: f64,
    pub(super) tempo: f64,
    pub(super) loudness: f64,
    /// Typical track length in seconds.
    pub(super) seconds: f64,
    /// Typical share of explicit tracks.
    pub(super) explicit: f64,
}

macro_rules! genre_table {
    ($($name:literal $family:ident $weight:literal
        $dance:literal $energy:literal $speech:literal $acoustic:literal $instr:literal
        $valence:literal $tempo:literal $loud:literal $secs:literal $explicit:literal;)*) => {
        &[$(Genre {
            name: $name,
            family: Family::$family,
            weight: $weight,
            danceability: $dance,
            energy: $energy,
            speechiness: $speech,
            acousticness: $acoustic,
            instrumental: $instr,
            valence: $valence,
            tempo: $tempo,
            loudness: $loud,
            seconds: $secs,
            explicit: $explicit,
        },)*]
    };
}

#[rustfmt::skip]
const GENRES: &[Genre] = genre_table! {
    // name              family     wt  dance energy speech acoust instr valence tempo  loud   secs  explicit
    "pop"                Pop        10  0.65  0.66   0.06   0.20   0.02  0.55    118.0  -6.0   205.0 0.10;
    "dance pop"          Pop         5  0.73  0.75   0.07   0.10   0.02  0.60    122.0  -5.0   200.0 0.10;
    "indie pop"          Pop         5  0.60  0.55   0.05   0.35   0.05  0.50    115.0  -8.0   215.0 0.05;
    "synthpop"           Pop         3  0.66  0.70   0.05   0.10   0.08  0.52    120.0  -7.0   225.0 0.03;
    "k-pop"              Pop         2  0.70  0.80   0.08   0.12   0.01  0.62    124.0  -4.0   200.0 0.02;
    "electropop"         Pop         2  0.70  0.72   0.06   0.08   0.04  0.55    120.0  -6.0   205.0 0.06;
    "rock"               Rock        6  0.50  0.75   0.05   0.10   0.05  0.48    125.0  -6.0   235.0 0.05;
    "indie rock"         Rock        5  0.52  0.68   0.05   0.15   0.06  0.45    128.0  -7.0   220.0 0.05;
    "alternative rock"   Rock        4  0.48  0.74   0.05   0.08   0.04  0.40    126.0  -6.0   240.0 0.07;
    "classic rock"       Rock        3  0.50  0.70   0.04   0.20   0.05  0.58    122.0  -9.0   260.0 0.02;
    "hard rock"          Rock        2  0.45  0.88   0.06   0.03   0.05  0.45    132.0  -5.0   245.0 0.07;
    "punk"               Rock        2  0.42  0.92   0.07   0.02   0.02  0.50    165.0  -5.0   160.0 0.15;
    "metal"              Rock        3  0.38  0.93   0.08   0.01   0.15  0.30    135.0  -4.5   290.0 0.12;
    "post-rock"          Rock        1  0.35  0.55   0.04   0.25   0.80  0.25    110.0  -11.0  430.0 0.00;
    "shoegaze"           Rock        1  0.38  0.70   0.04   0.10   0.35  0.30    115.0  -8.0   270.0 0.01;
    "hip hop"            HipHop      6  0.75  0.65   0.22   0.15   0.01  0.50     98.0  -6.0   210.0 0.40;
    "rap"                HipHop      4  0.78  0.66   0.28   0.12   0.00  0.48    100.0  -6.0   195.0 0.45;
    "trap"               HipHop      3  0.77  0.62   0.20   0.10   0.01  0.38    140.0  -6.0   180.0 0.50;
    "r&b"                Soul        5  0.68  0.55   0.09   0.25   0.01  0.50    105.0  -7.0   215.0 0.15;
    "soul"               Soul        3  0.60  0.55   0.06   0.35   0.02  0.62    105.0  -8.0   210.0 0.02;
    "funk"               Soul        2  0.78  0.72   0.07   0.15   0.10  0.78    112.0  -7.0   250.0 0.03;
    "disco"              Soul        2  0.80  0.78   0.05   0.12   0.06  0.80    120.0  -7.0   280.0 0.01;
    "gospel"             Soul        1  0.55  0.55   0.06   0.40   0.01  0.60    100.0  -8.0   260.0 0.00;
    "blues"              Jazz        2  0.52  0.50   0.05   0.50   0.08  0.55    100.0  -9.0   250.0 0.02;
    "jazz"               Jazz        4  0.55  0.38   0.05   0.70   0.60  0.50    112.0  -12.0  330.0 0.00;
    "bossa nova"         Jazz        1  0.62  0.35   0.05   0.80   0.20  0.55    128.0  -13.0  200.0 0.00;
    "house"              Electronic  4  0.80  0.78   0.06   0.05   0.55  0.55    124.0  -7.0   330.0 0.03;
    "deep house"         Electronic  2  0.80  0.62   0.06   0.08   0.60  0.45    122.0  -8.0   360.0 0.02;
    "techno"             Electronic  3  0.74  0.88   0.06   0.02   0.85  0.30    132.0  -7.0   390.0 0.01;
    "trance"             Electronic  2  0.58  0.90   0.05   0.02   0.70  0.35    138.0  -6.0   420.0 0.00;
    "drum and bass"      Electronic  2  0.55  0.92   0.08   0.02   0.50  0.40    174.0  -5.0   300.0 0.04;
    "dubstep"            Electronic  1  0.58  0.90   0.10   0.02   0.40  0.35    140.0  -4.0   250.0 0.08;
    "electronica"        Electronic  3  0.60  0.60   0.05   0.15   0.55  0.40    118.0  -9.0   280.0 0.02;
    "ambient"            Electronic  2  0.25  0.20   0.04   0.85   0.90  0.15     90.0  -19.0  360.0 0.00;
    "lo-fi"              Electronic  2  0.68  0.35   0.08   0.70   0.85  0.50     82.0  -12.0  150.0 0.00;
    "classical"          Classical   3  0.25  0.15   0.04   0.96   0.93  0.25    105.0  -22.0  380.0 0.00;
    "soundtrack"         Classical   2  0.25  0.30   0.04   0.75   0.85  0.18    100.0  -17.0  190.0 0.00;
    "folk"               Folk        4  0.50  0.35   0.04   0.78   0.05  0.45    110.0  -11.0  225.0 0.01;
    "singer-songwriter"  Folk        3  0.52  0.35   0.04   0.72   0.02  0.40    112.0  -10.0  220.0 0.03;
    "country"            Folk        4  0.58  0.65   0.04   0.30   0.01  0.60    120.0  -6.0   200.0 0.03;
    "americana"          Folk        2  0.52  0.48   0.04   0.55   0.03  0.50    112.0  -8.0   230.0 0.02;
    "bluegrass"          Folk        1  0.55  0.55   0.04   0.85   0.15  0.65    130.0  -10.0  180.0 0.00;
    "reggae"             World       2  0.78  0.55   0.12   0.20   0.04  0.75     90.0  -8.0   230.0 0.05;
    "latin"              World       3  0.72  0.72   0.08   0.25   0.01  0.68    105.0  -5.0   200.0 0.06;
    "reggaeton"          World       3  0.80  0.76   0.12   0.15   0.00  0.70     95.0  -5.0   200.0 0.22;
    "afrobeats"          World       2  0.80  0.70   0.10   0.18   0.02  0.75    108.0  -6.0   210.0 0.06;
};

/// Used where a genre lookup cannot fail but the type system does not know it.
pub(super) const FALLBACK_GENRE: &Genre = &GENRES[0];

/// Every genre name the generator can assign, in table order.
#[cfg(test)]
fn genre_names() -> impl Iterator<Item = &'static str> {
    GENRES.iter().map(|g| g.name)
}

pub(super) fn pick_genre(rng: &mut SeededRng) -> &'static Genre {
    GENRES.choose_weighted(rng, |genre| genre.weight).unwrap_or(FALLBACK_GENRE)
}

/// The primary genre plus up to two related ones (usually from the same family).
pub(super) fn artist_genres(rng: &mut SeededRng, primary: &'static Genre) -> Vec<&'static Genre> {
    let mut genres = vec![primary];
    let extra = if rng.chance(0.5) {
        0
    } else if rng.chance(0.65) {
        1
    } else {
        2
    };
    for _ in 0..extra {
        let candidate = if rng.chance(0.85) {
            let kin: Vec<&'static Genre> = GENRES.iter().filter(|g| g.family == primary.family).collect();
            kin.choose(rng).copied().unwrap_or(primary)
        } else {
            pick_genre(rng)
        };
        if !genres.iter().any(|g| g.name == candidate.name) {
            genres.push(candidate);
        }
    }
    genres
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::catalog::synthetic::sample::sample;

    #[test]
    fn genres_come_from_the_built_in_list() {
        let known: HashSet<&str> = genre_names().collect();
        assert!((38..=50).contains(&known.len()));
        for bundle in sample() {
            let genres = &bundle.artist.genres;
            assert!((1..=3).contains(&genres.len()));
            assert!(genres.iter().all(|g| known.contains(g.as_str())), "{genres:?}");
            let distinct: HashSet<&String> = genres.iter().collect();
            assert_eq!(distinct.len(), genres.len());
        }
    }
}
