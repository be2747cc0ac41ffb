//! Titles of songs and albums (studio, live, compilation, classical), in the conventions of
//! each genre family.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::genres::Family;
use super::names::{coined, surname};
use super::random::Draw;
use super::words::{
    ADJECTIVES, ADVERBS, CLASSICAL_FORMS, FIRST_NAMES, GERUNDS, KEYS, MOVEMENTS, NOUNS, NUMBERS, PLACES, PLURALS,
    ROMAN, SONG_WORDS, VENUES, VERBS,
};
use crate::reproducible::SeededRng;

/// A pop-style song title such as "Paper Moon Parade" or "Dancing in the Rain".
pub(super) fn song_title(rng: &mut SeededRng, family: Family) -> String {
    if family == Family::Classical && rng.chance(0.7) {
        return classical_title(rng);
    }
    match rng.random_range(0..100) {
        0..=14 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        15..=23 => format!("{} {}", rng.pick(NOUNS), rng.pick(NOUNS)),
        24..=26 => format!("{} {} {}", rng.pick(NOUNS), rng.pick(NOUNS), rng.pick(NOUNS)),
        27..=34 => {
            let prep = rng.pick(&["in the", "with the", "Through the", "Under the", "for the"]);
            format!("{} {prep} {}", rng.pick(GERUNDS), rng.pick(NOUNS))
        }
        35..=44 => verb_phrase(rng),
        45..=50 => match rng.random_range(0..3) {
            0 => format!("{} of the {}", rng.pick(NOUNS), rng.pick(NOUNS)),
            1 => format!("The {} of {}", rng.pick(NOUNS), rng.pick(PLURALS)),
            _ => format!("{} of {}", rng.pick(PLURALS), rng.pick(PLACES)),
        },
        51..=55 => rng.pick(NOUNS).to_string(),
        56..=60 => match rng.random_range(0..4) {
            0 => format!("{} {}", rng.pick(PLACES), rng.pick(NOUNS)),
            1 => format!("Last Train to {}", rng.pick(PLACES)),
            2 => format!("{} Nights", rng.pick(PLACES)),
            _ => format!("Back to {}", rng.pick(PLACES)),
        },
        61..=64 => {
            let name = rng.pick(FIRST_NAMES);
            match rng.random_range(0..4) {
                0 => name.to_string(),
                1 => format!("Song for {name}"),
                2 => format!("Dear {name}"),
                _ => format!("{name}'s {}", rng.pick(NOUNS)),
            }
        }
        65..=68 => match rng.random_range(0..3) {
            0 => format!("{} {}", rng.pick(NUMBERS), rng.pick(PLURALS)),
            1 => format!("{} Days in {}", rng.pick(NUMBERS), rng.pick(PLACES)),
            _ => format!("{} Miles from {}", rng.pick(NUMBERS), rng.pick(PLACES)),
        },
        69..=74 => {
            let prep = rng.pick(&["Under the", "Beyond the", "Into the", "Across the", "After the", "Before the"]);
            format!("{prep} {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS))
        }
        75..=80 => {
            if rng.chance(0.5) {
                format!("{} {}", rng.pick(ADJECTIVES), rng.pick(PLURALS))
            } else {
                format!("{} {}", rng.pick(GERUNDS), rng.pick(PLURALS))
            }
        }
        81..=84 => match rng.random_range(0..4) {
            0 => format!("Where Did the {} Go?", rng.pick(NOUNS)),
            1 => format!("Who Stole the {}?", rng.pick(NOUNS)),
            2 => format!("Do You {}?", rng.pick(VERBS)),
            _ => format!("What About the {}?", rng.pick(PLURALS)),
        },
        85..=89 => match rng.random_range(0..8) {
            0 => format!("All the {}", rng.pick(PLURALS)),
            1 => format!("Nothing but {}", rng.pick(NOUNS)),
            2 => format!("Only the {}", rng.pick(PLURALS)),
            3 => format!("More Than {}", rng.pick(NOUNS)),
            4 => format!("No More {}", rng.pick(PLURALS)),
            5 => format!("Forever {}", rng.pick(ADJECTIVES)),
            6 => format!("Made of {}", rng.pick(NOUNS)),
            _ => format!("Still {}", rng.pick(GERUNDS)),
        },
        90..=94 => format!("{} {}", rng.pick(GERUNDS), rng.pick(ADVERBS)),
        _ => format!("{} {}", rng.pick(NOUNS), rng.pick(SONG_WORDS)),
    }
}

fn verb_phrase(rng: &mut SeededRng) -> String {
    let verb = rng.pick(VERBS);
    match rng.random_range(0..11) {
        0 => format!("{verb} Me {}", rng.pick(ADVERBS)),
        1 => format!("Don't {verb} {}", rng.pick(ADVERBS)),
        2 => format!("Let It {verb}"),
        3 => format!("We {verb} {}", rng.pick(ADVERBS)),
        4 => format!("I {verb} the {}", rng.pick(NOUNS)),
        5 => format!("{verb} Like {}", rng.pick(PLURALS)),
        6 => format!("Never {verb} Again"),
        7 => format!("Can't {verb} the {}", rng.pick(NOUNS)),
        8 => format!("{verb} with Me"),
        9 => format!("You Make Me {verb}"),
        _ => format!("{verb} for the {}", rng.pick(NOUNS)),
    }
}

/// "Nocturne No. 4 in F-Sharp Minor, Op. 27: II. Adagio" and friends.
fn classical_title(rng: &mut SeededRng) -> String {
    let (form, _) = CLASSICAL_FORMS.choose(rng).copied().unwrap_or(("Sonata", "Sonatas"));
    let number = rng.random_range(1..=24);
    let key = rng.pick(KEYS);
    match rng.random_range(0..4) {
        0 => format!("{form} No. {number} in {key}"),
        1 => format!(
            "{form} No. {number} in {key}, Op. {}: {}. {}",
            rng.random_range(2..=120),
            rng.pick(ROMAN),
            rng.pick(MOVEMENTS)
        ),
        2 => format!("{form} in {key}: {}. {}", rng.pick(ROMAN), rng.pick(MOVEMENTS)),
        _ => format!("{form} for {} {}", rng.pick(ADJECTIVES), rng.pick(PLURALS)),
    }
}

pub(super) fn album_title(rng: &mut SeededRng, family: Family) -> String {
    if family == Family::Classical && rng.chance(0.6) {
        let (_, forms) = CLASSICAL_FORMS.choose(rng).copied().unwrap_or(("Sonata", "Sonatas"));
        return match rng.random_range(0..4) {
            0 => format!("{}: {forms}", surname(rng)),
            1 => format!("{}: Complete {forms}", surname(rng)),
            2 => format!("{forms} & {}", rng.pick(PLURALS)),
            _ => format!("{} Recital", rng.pick(PLACES)),
        };
    }
    match rng.random_range(0..100) {
        0..=15 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        16..=22 => format!("{} & {}", rng.pick(NOUNS), rng.pick(NOUNS)),
        23..=32 => format!("{} {} {}", rng.pick(ADJECTIVES), rng.pick(PLURALS), rng.pick(GERUNDS)),
        33..=41 => match rng.random_range(0..3) {
            0 => format!("{} of the {}", rng.pick(PLURALS), rng.pick(NOUNS)),
            1 => format!("Songs from the {}", rng.pick(NOUNS)),
            _ => format!("Songs for {} {}", rng.pick(ADJECTIVES), rng.pick(PLURALS)),
        },
        42..=49 => rng.pick(NOUNS).to_string(),
        50..=57 => format!("The {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        58..=63 => match rng.random_range(0..3) {
            0 => rng.pick(PLACES).to_string(),
            1 => format!("Nights in {}", rng.pick(PLACES)),
            _ => format!("Postcards from {}", rng.pick(PLACES)),
        },
        64..=73 => song_title(rng, family),
        74..=79 => {
            if rng.chance(0.5) {
                format!("{} {}", rng.pick(GERUNDS), rng.pick(PLURALS))
            } else {
                format!("{} the {}", rng.pick(GERUNDS), rng.pick(NOUNS))
            }
        }
        80..=85 => {
            let syllables = rng.random_range(2..4);
            coined(rng, syllables)
        }
        86..=92 => match rng.random_range(0..3) {
            0 => format!("In the {} of {}", rng.pick(NOUNS), rng.pick(PLURALS)),
            1 => format!("Where the {} Are", rng.pick(PLURALS)),
            _ => format!("A {} Called {}", rng.pick(NOUNS), rng.pick(NOUNS)),
        },
        _ => format!("{} {} {}", rng.pick(NOUNS), rng.pick(NOUNS), rng.pick(NOUNS)),
    }
}

pub(super) fn live_album_title(rng: &mut SeededRng) -> String {
    match rng.random_range(0..6) {
        0 => format!("Live at the {} {}", rng.pick(PLACES), rng.pick(VENUES)),
        1 => format!("Live in {}", rng.pick(PLACES)),
        2 => format!("Live from {}", rng.pick(PLACES)),
        3 => format!("Live at the {} {}", rng.pick(ADJECTIVES), rng.pick(VENUES)),
        4 => format!("Unplugged in {}", rng.pick(PLACES)),
        _ => format!("{} {} (Live)", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
    }
}

pub(super) fn compilation_title(rng: &mut SeededRng, artist: &str, first_year: i64, year: i64) -> String {
    match rng.random_range(0..10) {
        0 => "Greatest Hits".to_string(),
        1 => format!("The Best of {artist}"),
        2 => format!("The Very Best of {artist}"),
        3 => format!("Essential {artist}"),
        4 => format!("{artist}: The Collection"),
        5 => format!("Anthology {first_year}-{year}"),
        6 => format!("Singles {first_year}-{year}"),
        7 => "B-Sides & Rarities".to_string(),
        8 => "The Definitive Collection".to_string(),
        _ => format!("{}: The Best of {artist}", rng.pick(NOUNS)),
    }
}
