//! One artist with its whole discography: the artist's popularity, home market and sound, and
//! every album and track with its popularity, duration, markets and audio features.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::genres::{FALLBACK_GENRE, Family, Genre, artist_genres, pick_genre};
use super::ids::{CatalogKeys, IdKind};
use super::names::{artist_name, pool_label, surname};
use super::random::{Draw, Stream, stream_rng};
use super::releases::{Release, plan_releases, schedule};
use super::titles::{album_title, compilation_title, live_album_title, song_title};
use super::words::NOUNS;
use crate::clock::civil_from_days;
use crate::domain::catalog::{AlbumRecord, AlbumType, ArtistBundle, ArtistRecord, AudioFeatures, TrackRecord};
use crate::reproducible::SeededRng;

/// The markets an artist may call home and where restricted tracks may be licensed, each with
/// its relative frequency as an artist's home country.
#[rustfmt::skip]
pub(super) const MARKETS: &[(&str, u32)] = &[
    ("US", 30), ("GB", 12), ("DE", 7), ("FR", 7), ("SE", 5), ("JP", 7), ("BR", 7), ("CA", 5),
    ("AU", 5), ("MX", 4), ("ES", 4), ("IT", 4), ("NL", 3),
];

/// Share of albums whose tracks are restricted to a few markets.
const RESTRICTED_ALBUM_SHARE: f64 = 0.03;

/// Discrete exponential popularity: P(p >= n) = 0.94^n, so median ≈ 11, 99th percentile ≈ 74.
fn artist_popularity(rng: &mut SeededRng) -> u8 {
    let u = rng.random::<f64>();
    let mut tail = 1.0;
    let mut popularity = 0u8;
    while popularity < 100 {
        tail *= 0.94;
        if tail < u {
            break;
        }
        popularity += 1;
    }
    popularity
}

/// About 20 followers at popularity 0, 40 thousand at 50, 80 million at 100.
fn followers(rng: &mut SeededRng, popularity: u8) -> u32 {
    let mut scale = 20.0;
    for _ in 0..popularity {
        scale *= 1.165;
    }
    (scale * rng.random_range(0.4..1.6)) as u32 + rng.random_range(0..20)
}

/// Per-artist deviations from the genre's sound, so an artist's tracks hang together.
#[derive(Debug)]
struct Sound {
    danceability: f64,
    energy: f64,
    acousticness: f64,
    valence: f64,
    instrumental: f64,
    tempo: f64,
    loudness: f64,
    duration: f64,
}

impl Sound {
    fn new(rng: &mut SeededRng) -> Self {
        Self {
            danceability: rng.normal() * 0.06,
            energy: rng.normal() * 0.07,
            acousticness: rng.normal() * 0.08,
            valence: rng.normal() * 0.08,
            instrumental: rng.normal() * 0.05,
            tempo: rng.normal() * 8.0,
            loudness: rng.normal() * 1.5,
            duration: rng.random_range(0.85..1.15),
        }
    }
}

/// How a track relates to a song; affects its title suffix and features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackKind {
    Song,
    Interlude,
    Live,
    Acoustic,
    Remix,
    Instrumental,
    RadioEdit,
}

fn clamp_unit(x: f64) -> f32 {
    round3(x.clamp(0.0, 1.0))
}

/// Rounds to three decimals, as Spotify reports features.
fn round3(x: f64) -> f32 {
    ((x * 1000.0).round() / 1000.0) as f32
}

/// Generates one artist with its whole discography.
pub(super) struct ArtistBuilder {
    seed: u64,
    keys: CatalogKeys,
    index: u64,
    rng: SeededRng,
    artist: ArtistRecord,
    family: Family,
    genres: Vec<&'static Genre>,
    country: &'static str,
    sound: Sound,
    explicit_rate: f64,
    home_label: String,
    /// Titles of the songs released so far, reused by live albums and compilations.
    songs: Vec<String>,
    first_year: Option<i64>,
    albums: Vec<AlbumRecord>,
    tracks: Vec<TrackRecord>,
}

impl ArtistBuilder {
    pub(super) fn new(seed: u64, keys: CatalogKeys, index: u64) -> Self {
        let mut rng = stream_rng(seed, Stream::Artist, index);
        let primary = pick_genre(&mut rng);
        let genres = artist_genres(&mut rng, primary);
        let name = artist_name(&mut rng, primary.family);
        let popularity = artist_popularity(&mut rng);
        let followers = followers(&mut rng, popularity);
        let country = MARKETS.choose_weighted(&mut rng, |(_, weight)| *weight).map_or("US", |(code, _)| *code);
        let sound = Sound::new(&mut rng);
        let explicit_rate = (primary.explicit * rng.random_range(0.3..2.1)).min(0.95);
        let home_label = if rng.chance(0.1) {
            if rng.chance(0.5) { name.clone() } else { format!("{name} Music") }
        } else {
            pool_label(&mut rng, seed)
        };
        let artist = ArtistRecord {
            id: keys.catalog_id(IdKind::Artist, index),
            name,
            genres: genres.iter().map(|g| g.name.to_string()).collect(),
            popularity,
            followers,
        };
        Self {
            seed,
            keys,
            index,
            rng,
            artist,
            family: primary.family,
            genres,
            country,
            sound,
            explicit_rate,
            home_label,
            songs: Vec::new(),
            first_year: None,
            albums: Vec::new(),
            tracks: Vec::new(),
        }
    }

    pub(super) fn build(mut self) -> ArtistBundle {
        let plan = plan_releases(&mut self.rng, self.artist.popularity);
        let days = schedule(&mut self.rng, &plan);
        for (&release, &day) in plan.iter().zip(&days) {
            self.add_release(release, day);
        }
        ArtistBundle { artist: self.artist, albums: self.albums, tracks: self.tracks }
    }

    fn add_release(&mut self, release: Release, day: i64) {
        let (year, month, dom) = civil_from_days(day);
        let first_year = *self.first_year.get_or_insert(year);
        let album_local = self.albums.len() as u64;
        let album_id = self.keys.catalog_id(IdKind::Album, (self.index << 16) | album_local);
        let (disc1, disc2) = release.disc_sizes(&mut self.rng);
        let titles = self.track_titles(release, disc1 + disc2, year);
        let name = self.album_name(release, &titles, first_year, year);
        let label = if self.rng.chance(0.8) { self.home_label.clone() } else { pool_label(&mut self.rng, self.seed) };
        let markets = if self.rng.chance(RESTRICTED_ALBUM_SHARE) { Some(self.restricted_markets()) } else { None };
        let base_popularity =
            f64::from(self.artist.popularity) * release.popularity_factor() * self.rng.random_range(0.7..1.1);
        let lead = self.rng.random_range(0..titles.len().max(1));

        let mut popularity_sum = 0.0;
        let mut popularity_max = 0.0f64;
        for (i, (title, kind)) in titles.iter().enumerate() {
            let (disc_number, track_number) = if i < disc1 { (1, i + 1) } else { (2, i - disc1 + 1) };
            let local = self.tracks.len();
            let mut popularity = base_popularity * self.rng.random_range(0.75..1.05) + self.rng.normal() * 2.0;
            if i == lead {
                popularity += self.rng.random_range(2.0..10.0);
            }
            let popularity = popularity.clamp(0.0, 100.0).round();
            popularity_sum += popularity;
            popularity_max = popularity_max.max(popularity);
            let genre = self.track_genre();
            let features = self.features(genre, *kind);
            let duration_ms = self.duration_ms(genre, *kind);
            let explicit = match kind {
                TrackKind::Instrumental | TrackKind::RadioEdit => false,
                TrackKind::Interlude => self.rng.chance(self.explicit_rate * 0.3),
                _ => self.rng.chance(self.explicit_rate),
            };
            self.tracks.push(TrackRecord {
                id: self.keys.catalog_id(IdKind::Track, (self.index << 16) | local as u64),
                album_id,
                artist_id: self.artist.id,
                name: title.clone(),
                duration_ms,
                explicit,
                popularity: popularity as u8,
                track_number: track_number as u32,
                disc_number,
                isrc: self.keys.isrc(self.country, self.index, local, year),
                available_markets: markets.clone(),
                features,
            });
        }
        let mean = popularity_sum / titles.len().max(1) as f64;
        let album_popularity = (popularity_max * 0.7 + mean * 0.3).round().clamp(0.0, 100.0);

        self.albums.push(AlbumRecord {
            id: album_id,
            artist_id: self.artist.id,
            name,
            album_type: release.album_type(),
            release_date: format!("{year:04}-{month:02}-{dom:02}"),
            label,
            popularity: album_popularity as u8,
        });
    }

    /// A fresh song title, remembered for later live albums and compilations.
    fn new_song(&mut self) -> String {
        let mut title = song_title(&mut self.rng, self.family);
        self.songs.push(title.clone());
        let feat_chance = match self.family {
            Family::HipHop => 0.2,
            Family::Pop | Family::Electronic | Family::World | Family::Soul => 0.06,
            _ => 0.02,
        };
        if self.rng.chance(feat_chance) {
            let guest = artist_name(&mut self.rng, self.family);
            title = format!("{title} (feat. {guest})");
        }
        title
    }

    /// A previously released song (or a fresh one if there is none yet).
    fn old_song(&mut self) -> String {
        match self.songs.choose(&mut self.rng) {
            Some(title) => title.clone(),
            None => self.new_song(),
        }
    }

    fn track_titles(&mut self, release: Release, count: usize, year: i64) -> Vec<(String, TrackKind)> {
        let mut titles = Vec::with_capacity(count);
        match release {
            Release::Single => {
                let lead = self.new_song();
                titles.push((lead.clone(), TrackKind::Song));
                let versions = matches!(self.family, Family::Electronic | Family::Pop | Family::HipHop | Family::World);
                for _ in 1..count {
                    if versions && self.rng.chance(0.6) {
                        titles.push(self.version_of(&lead));
                    } else {
                        titles.push((self.new_song(), TrackKind::Song));
                    }
                }
            }
            Release::Ep => {
                for i in 0..count {
                    if i + 1 == count && self.family == Family::Electronic && self.rng.chance(0.4) {
                        let first = titles.first().map(|(t, _): &(String, TrackKind)| t.clone()).unwrap_or_default();
                        titles.push(self.version_of(&first));
                    } else {
                        titles.push((self.new_song(), TrackKind::Song));
                    }
                }
            }
            Release::Album | Release::DoubleAlbum => {
                for i in 0..count {
                    let roll = self.rng.random::<f64>();
                    let entry = if i == 0 && roll < 0.04 {
                        ("Intro".to_string(), TrackKind::Interlude)
                    } else if i + 1 == count && roll < 0.03 {
                        ("Outro".to_string(), TrackKind::Interlude)
                    } else if i > 0 && roll < 0.035 {
                        let title = if self.rng.chance(0.5) {
                            "Interlude".to_string()
                        } else {
                            format!("{} (Interlude)", self.rng.pick(NOUNS))
                        };
                        (title, TrackKind::Interlude)
                    } else if i > 2 && roll < 0.045 {
                        match titles.iter().find(|(_, k)| *k == TrackKind::Song) {
                            Some((first, _)) => (format!("{first} (Reprise)"), TrackKind::Song),
                            None => (self.new_song(), TrackKind::Song),
                        }
                    } else {
                        (self.new_song(), TrackKind::Song)
                    };
                    titles.push(entry);
                }
            }
            Release::Live => {
                for _ in 0..count {
                    let song = self.old_song();
                    titles.push((format!("{song} - Live"), TrackKind::Live));
                }
            }
            Release::Compilation => {
                let remaster = self.first_year.is_some_and(|first| year - first > 12);
                for i in 0..count {
                    if i + 2 >= count {
                        // A couple of new songs to sell the compilation.
                        titles.push((self.new_song(), TrackKind::Song));
                    } else {
                        let song = self.old_song();
                        let title =
                            if remaster && self.rng.chance(0.5) { format!("{song} - Remastered {year}") } else { song };
                        titles.push((title, TrackKind::Song));
                    }
                }
            }
        }
        titles
    }

    /// An alternative version of `title` for a single's B-side or an EP's closer.
    fn version_of(&mut self, title: &str) -> (String, TrackKind) {
        match self.rng.random_range(0..6) {
            0 => (format!("{title} - Radio Edit"), TrackKind::RadioEdit),
            1 => (format!("{title} (Extended Mix)"), TrackKind::Remix),
            2 => (format!("{title} - {} Remix", surname(&mut self.rng)), TrackKind::Remix),
            3 => (format!("{title} (Acoustic)"), TrackKind::Acoustic),
            4 => (format!("{title} - Instrumental"), TrackKind::Instrumental),
            _ => (format!("{title} - Sped Up"), TrackKind::Remix),
        }
    }

    fn album_name(&mut self, release: Release, titles: &[(String, TrackKind)], first_year: i64, year: i64) -> String {
        let rng = &mut self.rng;
        match release {
            Release::Single => {
                titles.first().map(|(title, _)| title.clone()).unwrap_or_else(|| album_title(rng, self.family))
            }
            Release::Ep => {
                let title = album_title(rng, self.family);
                if rng.chance(0.4) { format!("{title} EP") } else { title }
            }
            Release::Album => {
                let first_album = !self.albums.iter().any(|a| a.album_type == AlbumType::Album);
                if first_album && rng.chance(0.05) {
                    self.artist.name.clone()
                } else {
                    let title = album_title(rng, self.family);
                    match rng.random_range(0..100) {
                        0..=2 => format!("{title} (Deluxe Edition)"),
                        3 => format!("{title} (Expanded Edition)"),
                        _ => title,
                    }
                }
            }
            Release::DoubleAlbum => {
                let title = album_title(rng, self.family);
                if rng.chance(0.4) { format!("{title} (Deluxe Edition)") } else { title }
            }
            Release::Live => live_album_title(rng),
            Release::Compilation => compilation_title(rng, &self.artist.name, first_year, year),
        }
    }

    /// The artist's home market plus up to three others, sorted.
    fn restricted_markets(&mut self) -> Vec<String> {
        let mut markets = vec![self.country.to_string()];
        for _ in 0..self.rng.random_range(0..4) {
            let market = MARKETS.choose(&mut self.rng).map_or("US", |(code, _)| *code).to_string();
            if !markets.contains(&market) {
                markets.push(market);
            }
        }
        markets.sort();
        markets
    }

    fn track_genre(&mut self) -> &'static Genre {
        if self.genres.len() > 1 && self.rng.chance(0.3) {
            self.genres.choose(&mut self.rng).copied().unwrap_or(FALLBACK_GENRE)
        } else {
            self.genres.first().copied().unwrap_or(FALLBACK_GENRE)
        }
    }

    fn duration_ms(&mut self, genre: &Genre, kind: TrackKind) -> u32 {
        let rng = &mut self.rng;
        if kind == TrackKind::Interlude {
            return rng.random_range(20_000..=75_000);
        }
        let seconds = if rng.chance(0.012) {
            // The occasional epic.
            rng.random_range(480.0..780.0)
        } else {
            let factor = match kind {
                TrackKind::Remix => 1.35,
                TrackKind::RadioEdit => 0.8,
                TrackKind::Live => 1.1,
                _ => 1.0,
            };
            (genre.seconds * self.sound.duration * factor * (1.0 + 0.18 * rng.normal())).clamp(75.0, 900.0)
        };
        (seconds * 1000.0) as u32 + rng.random_range(0..1000)
    }

    fn features(&mut self, genre: &Genre, kind: TrackKind) -> AudioFeatures {
        let sound = &self.sound;
        let rng = &mut self.rng;
        let mut danceability = genre.danceability + sound.danceability + rng.normal() * 0.1;
        let mut energy = genre.energy + sound.energy + rng.normal() * 0.12;
        let mut acousticness =
            genre.acousticness + sound.acousticness + rng.normal() * 0.12 - (energy - genre.energy) * 0.5;
        let mut speechiness = genre.speechiness * rng.random_range(0.5..1.5) + rng.random::<f64>() * 0.03;
        let mut instrumentalness = if rng.chance(genre.instrumental + sound.instrumental) {
            rng.random_range(0.5..0.98)
        } else {
            let u = rng.random::<f64>();
            u * u * u * 0.08
        };
        let u = rng.random::<f64>();
        let mut liveness = 0.03 + 0.3 * u * u * u;
        let valence = genre.valence + sound.valence + rng.normal() * 0.16 + (danceability - genre.danceability) * 0.3;
        let mut tempo = genre.tempo + sound.tempo + rng.normal() * 10.0;
        if rng.chance(0.04) {
            tempo *= if rng.chance(0.5) { 0.5 } else { 1.5 };
        }
        let mut loudness = genre.loudness + sound.loudness + rng.normal() * 1.8 + (energy - genre.energy) * 6.0;

        match kind {
            TrackKind::Interlude => {
                energy *= 0.5;
                loudness -= 4.0;
                if rng.chance(0.4) {
                    speechiness = rng.random_range(0.5..0.95);
                } else {
                    instrumentalness = rng.random_range(0.6..0.97);
                }
            }
            TrackKind::Live => {
                liveness = rng.random_range(0.65..0.98);
                loudness -= 1.0;
            }
            TrackKind::Acoustic => {
                acousticness = rng.random_range(0.75..0.98);
                energy *= 0.65;
                loudness -= 4.0;
            }
            TrackKind::Remix => {
                danceability += 0.08;
                energy += 0.08;
            }
            TrackKind::Instrumental => {
                instrumentalness = rng.random_range(0.7..0.97);
                speechiness = speechiness.min(0.05);
            }
            TrackKind::Song | TrackKind::RadioEdit => {}
        }

        let key = if rng.chance(0.01) { -1 } else { rng.random_range(0..12) };
        let mode = u8::from(rng.chance(0.62));
        let time_signature = match rng.random_range(0..100) {
            0..=7 => 3,
            8..=9 => 5,
            _ => 4,
        };
        AudioFeatures {
            danceability: clamp_unit(danceability),
            energy: clamp_unit(energy),
            key,
            loudness: round3(loudness.clamp(-60.0, 0.0)),
            mode,
            speechiness: clamp_unit(speechiness),
            acousticness: clamp_unit(acousticness),
            instrumentalness: clamp_unit(instrumentalness),
            liveness: clamp_unit(liveness),
            valence: clamp_unit(valence),
            tempo: round3(tempo.clamp(50.0, 220.0)),
            time_signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::catalog::synthetic::sample::{SAMPLE_TRACKS, percentile, sample, sample_tracks};

    #[test]
    fn audio_features_are_in_range() {
        for track in sample_tracks() {
            let f = &track.features;
            for (name, value) in [
                ("danceability", f.danceability),
                ("energy", f.energy),
                ("speechiness", f.speechiness),
                ("acousticness", f.acousticness),
                ("instrumentalness", f.instrumentalness),
                ("liveness", f.liveness),
                ("valence", f.valence),
            ] {
                assert!((0.0..=1.0).contains(&value), "{name} = {value}");
            }
            assert!((-1..=11).contains(&f.key));
            assert!(f.mode <= 1);
            assert!((-60.0..=0.0).contains(&f.loudness), "loudness {}", f.loudness);
            assert!((50.0..=220.0).contains(&f.tempo), "tempo {}", f.tempo);
            assert!((3..=5).contains(&f.time_signature));
        }
        let loudness: Vec<f32> = sample_tracks().map(|t| t.features.loudness).collect();
        let typical = loudness.iter().filter(|l| (-14.0..=-4.0).contains(*l)).count();
        assert!(typical * 10 > loudness.len() * 7, "only {typical} of {} in -14..-4 dB", loudness.len());
    }

    #[test]
    fn features_follow_genre() {
        let mut by_genre: HashMap<&str, (f64, f64, f64, usize)> = HashMap::new();
        for bundle in sample() {
            if bundle.artist.genres.len() != 1 {
                continue;
            }
            let entry = by_genre.entry(bundle.artist.genres[0].as_str()).or_default();
            for t in &bundle.tracks {
                entry.0 += f64::from(t.features.energy);
                entry.1 += f64::from(t.features.acousticness);
                entry.2 += f64::from(t.features.speechiness);
                entry.3 += 1;
            }
        }
        let mean = |genre: &str, pick: fn(&(f64, f64, f64, usize)) -> f64| {
            let e = &by_genre[genre];
            pick(e) / e.3 as f64
        };
        assert!(mean("techno", |e| e.0) > mean("classical", |e| e.0) + 0.4);
        assert!(mean("classical", |e| e.1) > mean("techno", |e| e.1) + 0.5);
        assert!(mean("rap", |e| e.2) > mean("folk", |e| e.2) * 3.0);
    }

    #[test]
    fn popularity_is_skewed() {
        let mut pops: Vec<u8> = sample_tracks().map(|t| t.popularity).collect();
        pops.sort_unstable();
        let median = percentile(&pops, 0.5);
        let p99 = percentile(&pops, 0.99);
        assert!(u32::from(median) * 3 < u32::from(p99), "median {median}, p99 {p99}");
        assert!(pops.iter().all(|&p| p <= 100));
        let very_popular = pops.iter().filter(|&&p| p > 80).count();
        assert!(very_popular > 0);
        assert!(very_popular * 100 < pops.len() * 2, "{very_popular} tracks above 80");

        let mut artist_pops: Vec<u8> = sample().iter().map(|b| b.artist.popularity).collect();
        artist_pops.sort_unstable();
        assert!(percentile(&artist_pops, 0.5) * 3 < percentile(&artist_pops, 0.99));
        let followers_low = sample().iter().filter(|b| b.artist.popularity < 10).map(|b| b.artist.followers).max();
        let followers_high = sample().iter().filter(|b| b.artist.popularity > 70).map(|b| b.artist.followers).min();
        assert!(followers_low < followers_high);
    }

    #[test]
    fn catalog_proportions_are_realistic() {
        let artists = sample().len();
        let ratio = SAMPLE_TRACKS as f64 / artists as f64;
        assert!((20.0..=32.0).contains(&ratio), "{ratio:.1} tracks per artist");

        let explicit = sample_tracks().filter(|t| t.explicit).count();
        let explicit_share = explicit as f64 / SAMPLE_TRACKS as f64;
        assert!((0.06..=0.15).contains(&explicit_share), "explicit share {explicit_share:.3}");

        let durations: Vec<u32> = sample_tracks().map(|t| t.duration_ms).collect();
        let typical = durations.iter().filter(|d| (120_000..=360_000).contains(*d)).count();
        assert!(typical * 100 > durations.len() * 75, "only {typical} tracks of 2-6 min");
        assert!(durations.iter().any(|&d| d < 60_000), "some interludes");
        assert!(durations.iter().any(|&d| d > 600_000), "some 10-minute tracks");
        assert!(durations.iter().all(|&d| (15_000..=1_000_000).contains(&d)));
    }

    #[test]
    fn some_tracks_are_restricted_to_a_few_markets() {
        let mut restricted = 0;
        let mut per_market: HashMap<&str, usize> = HashMap::new();
        for track in sample_tracks() {
            if let Some(markets) = &track.available_markets {
                restricted += 1;
                assert!((1..=4).contains(&markets.len()));
                assert!(markets.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
                for m in markets {
                    assert!(MARKETS.iter().any(|(code, _)| code == m), "{m}");
                    *per_market.entry(m.as_str()).or_default() += 1;
                }
            }
        }
        let share = restricted as f64 / SAMPLE_TRACKS as f64;
        assert!((0.01..=0.06).contains(&share), "restricted share {share:.3}");
        assert!(per_market.len() >= 10);
    }
}
