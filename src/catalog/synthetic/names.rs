//! Names of people, bands, artists and labels: drawn from the word lists or coined from
//! syllables (never spelling a blocked fragment), in the conventions of each genre family.

use super::genres::Family;
use rand::Rng;

use super::random::{Draw, Stream, stream_rng};
use super::words::{
    ADJECTIVES, CODAS, FIRST_NAMES, NOUNS, ONSETS_INITIAL, ONSETS_MEDIAL, PLACES, PLURALS, SURNAME_ENDINGS, SURNAMES,
    VOWELS,
};
use crate::reproducible::SeededRng;

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Fragments a coined word must not contain, so random syllables never spell
/// something embarrassing in the demo catalog.
#[rustfmt::skip]
const BLOCKED_FRAGMENTS: &[&str] = &[
    "cunt", "kunt", "fuk", "fuc", "shit", "nig", "fag", "cum", "slut", "whor", "rape", "tit",
    "dick", "cock", "kok", "puss", "anus", "anal", "porn", "nazi", "sex", "piss", "hore", "homo",
    "jew", "kill", "die", "dead",
];

/// A made-up, pronounceable word such as "Kaelor" or "Vantra".
pub(super) fn coined(rng: &mut SeededRng, syllables: usize) -> String {
    for _ in 0..8 {
        let mut word = String::new();
        for i in 0..syllables.max(1) {
            word.push_str(if i == 0 { rng.pick(ONSETS_INITIAL) } else { rng.pick(ONSETS_MEDIAL) });
            word.push_str(rng.pick(VOWELS));
        }
        word.push_str(rng.pick(CODAS));
        if !BLOCKED_FRAGMENTS.iter().any(|f| word.contains(f)) {
            return capitalize(&word);
        }
    }
    rng.pick(SURNAMES).to_string()
}

pub(super) fn surname(rng: &mut SeededRng) -> String {
    if rng.chance(0.6) {
        rng.pick(SURNAMES).to_string()
    } else {
        if rng.chance(0.5) { coined(rng, 1) + rng.pick(SURNAME_ENDINGS) } else { coined(rng, 2) }
    }
}

/// "Mira Castell", occasionally with a middle initial.
fn person_name(rng: &mut SeededRng) -> String {
    let first = rng.pick(FIRST_NAMES);
    let last = surname(rng);
    if rng.chance(0.03) {
        let initial = char::from(rng.random_range(b'A'..=b'Z'));
        format!("{first} {initial}. {last}")
    } else {
        format!("{first} {last}")
    }
}

/// A band name such as "The Velvet Harbors".
fn band_name(rng: &mut SeededRng) -> String {
    match rng.random_range(0..10) {
        0..=3 => format!("The {} {}", rng.pick(ADJECTIVES), rng.pick(PLURALS)),
        4 => format!("The {}", rng.pick(PLURALS)),
        5 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(PLURALS)),
        6 => format!("{} {}", rng.pick(NOUNS), rng.pick(PLURALS)),
        7 => format!("{} of {}", rng.pick(PLURALS), rng.pick(PLACES)),
        8 => format!("{} & the {}", rng.pick(FIRST_NAMES), rng.pick(PLURALS)),
        _ => format!("The {} {}", rng.pick(NOUNS), rng.pick(PLURALS)),
    }
}

pub(super) fn artist_name(rng: &mut SeededRng, family: Family) -> String {
    let roll = rng.random_range(0..100);
    match family {
        Family::Pop | Family::Soul | Family::Folk => match roll {
            0..=64 => person_name(rng),
            65..=74 => {
                let syllables = rng.random_range(2..4);
                coined(rng, syllables)
            }
            75..=86 => band_name(rng),
            87..=93 => format!("{} & {}", surname(rng), surname(rng)),
            _ => format!("{} & the {}", person_name(rng), rng.pick(PLURALS)),
        },
        Family::Rock => match roll {
            0..=64 => band_name(rng),
            65..=79 => person_name(rng),
            80..=89 => {
                let syllables = rng.random_range(2..4);
                coined(rng, syllables)
            }
            _ => format!("{} {}", rng.pick(NOUNS), rng.pick(NOUNS)),
        },
        Family::HipHop => match roll {
            0..=14 => format!("Lil {}", coined(rng, 1)),
            15..=24 => format!("Young {}", rng.pick(FIRST_NAMES)),
            25..=31 => format!("MC {}", coined(rng, 2)),
            32..=54 => {
                let syllables = rng.random_range(1..4);
                coined(rng, syllables)
            }
            55..=66 => format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(NOUNS)),
            67..=76 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
            77..=84 => format!("{}{}", coined(rng, 1), rng.random_range(1..=99)),
            _ => person_name(rng),
        },
        Family::Electronic => match roll {
            0..=11 => format!("DJ {}", coined(rng, 2)),
            12..=36 => {
                let syllables = rng.random_range(2..4);
                coined(rng, syllables)
            }
            37..=49 => {
                let syllables = rng.random_range(1..3);
                coined(rng, syllables).to_uppercase()
            }
            50..=64 => format!("{} {}", rng.pick(NOUNS), rng.pick(NOUNS)),
            65..=74 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
            75..=82 => format!("{} & {}", coined(rng, 2), coined(rng, 2)),
            83..=89 => {
                let second = rng.pick(NOUNS).to_lowercase();
                format!("{}{second}", rng.pick(NOUNS))
            }
            _ => person_name(rng),
        },
        Family::Jazz => match roll {
            0..=59 => person_name(rng),
            60..=79 => {
                let ensemble = rng.pick(&["Trio", "Quartet", "Quintet", "Sextet", "Big Band"]);
                format!("{} {ensemble}", person_name(rng))
            }
            80..=89 => {
                let ensemble = rng.pick(&["Trio", "Quartet", "Quintet", "Orchestra"]);
                format!("The {} {ensemble}", surname(rng))
            }
            _ => band_name(rng),
        },
        Family::Classical => match roll {
            0..=59 => person_name(rng),
            60..=69 => format!("{} Symphony Orchestra", rng.pick(PLACES)),
            70..=76 => format!("{} Philharmonic", rng.pick(PLACES)),
            77..=84 => format!("{} String Quartet", surname(rng)),
            85..=91 => format!("{} Chamber Orchestra", rng.pick(PLACES)),
            92..=95 => format!("Ensemble {}", coined(rng, 3)),
            _ => format!("{} Choir", rng.pick(PLACES)),
        },
        Family::World => match roll {
            0..=59 => person_name(rng),
            60..=79 => {
                let syllables = rng.random_range(2..4);
                coined(rng, syllables)
            }
            80..=89 => format!("{} y {}", rng.pick(FIRST_NAMES), rng.pick(FIRST_NAMES)),
            _ => band_name(rng),
        },
    }
}

/// Number of labels shared by the whole catalog (besides self-released artists).
const LABEL_POOL: usize = 600;

/// Name of label number `index` of the catalog's shared label pool.
fn label_name(seed: u64, index: usize) -> String {
    let mut rng = stream_rng(seed, Stream::Label, index as u64);
    match rng.random_range(0..12) {
        0 | 1 => format!("{} Records", rng.pick(NOUNS)),
        2 => format!("{} {} Records", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        3 => format!("{} Music", rng.pick(NOUNS)),
        4 => format!("{} Recordings", rng.pick(ADJECTIVES)),
        5 => format!("{} Records", coined(&mut rng, 2)),
        6 => format!("{} & {}", surname(&mut rng), surname(&mut rng)),
        7 => format!("{} Sound", rng.pick(PLACES)),
        8 => format!("{} Music Group", surname(&mut rng)),
        9 => format!("{} Audio", coined(&mut rng, 2)),
        10 => format!("{} Tapes", rng.pick(PLURALS)),
        _ => format!("{} Sound Collective", rng.pick(ADJECTIVES)),
    }
}

/// A label from the shared pool, Zipf-like: a few big labels, a long tail.
pub(super) fn pool_label(rng: &mut SeededRng, seed: u64) -> String {
    let u = rng.random::<f64>();
    let index = (u * u * u * LABEL_POOL as f64) as usize;
    label_name(seed, index)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::catalog::synthetic::sample::{sample, sample_tracks};
    use crate::domain::catalog::TrackRecord;
    use crate::reproducible::seeded_rng;

    #[test]
    fn coined_words_avoid_blocked_fragments() {
        let mut rng = seeded_rng(11);
        let mut distinct = HashSet::new();
        for n in 0..100_000 {
            let word = coined(&mut rng, 1 + n % 3);
            let lower = word.to_lowercase();
            assert!(!BLOCKED_FRAGMENTS.iter().any(|f| lower.contains(f)), "{word}");
            assert!(word.starts_with(|c: char| c.is_ascii_uppercase()), "{word}");
            distinct.insert(word);
        }
        assert!(distinct.len() > 30_000, "{} distinct coined words", distinct.len());
    }

    #[test]
    fn names_are_varied() {
        let tracks: Vec<&TrackRecord> = sample_tracks().take(20_000).collect();
        let distinct: HashSet<&str> = tracks.iter().map(|t| t.name.as_str()).collect();
        assert!(distinct.len() * 10 >= tracks.len() * 6, "{} distinct of {}", distinct.len(), tracks.len());

        let words: HashSet<String> =
            tracks.iter().flat_map(|t| t.name.split_whitespace()).map(str::to_lowercase).collect();
        assert!(words.len() > 1_500, "only {} distinct words", words.len());

        let artists: HashSet<&str> = sample().iter().map(|b| b.artist.name.as_str()).collect();
        assert!(
            artists.len() * 100 >= sample().len() * 95,
            "{} distinct artist names of {}",
            artists.len(),
            sample().len()
        );
        let albums: Vec<&str> = sample().iter().flat_map(|b| &b.albums).map(|a| a.name.as_str()).collect();
        let distinct_albums: HashSet<&str> = albums.iter().copied().collect();
        assert!(distinct_albums.len() * 10 >= albums.len() * 6);
        assert!(tracks.iter().all(|t| !t.name.trim().is_empty()));
    }
}
