//! What a node serves recommendations from: the [`Recommender`], an in-memory view of the
//! stored neighbour table (collaborative) and of the catalog's audio features, genres and
//! artists (content), and the four ways it is asked: recommendations from seeds with tunable
//! attributes, Discover Weekly, an endless radio station, and the continuation autoplay plays.
//!
//! Content covers what the collaborative side cannot: a track nobody played yet has no
//! neighbours, so its nearest tracks by normalised audio features within its genre (the same
//! artist first) stand in; a user with no history gets the popular tracks of the genres they
//! follow, or of the catalog. Every ranking is deterministic: ties and the weekly variety are
//! broken by a hash of a salt (the user and week, the radio's seed and position) and the track.
//!
//! Pure: no store, clock or randomness of its own.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::clock::{civil_from_days, days_from_civil};
use crate::ids::Id;
use crate::reproducible::{fnv1a_64, seeded_rng};
use crate::storage::recs::{CatalogTrack, StoredModel, TrackFeatures};

/// The continuous audio features, in the order of a normalised feature vector.
const DIMENSIONS: usize = 9;

/// Content neighbours looked at per seed track.
const CONTENT_NEIGHBOURS: usize = 60;
/// Tracks of a genre a content search scans at most (the most popular first).
const CONTENT_SCAN: usize = 20_000;
/// Collaborative scores count this much more than content similarity.
const CONTENT_WEIGHT: f32 = 0.35;
/// A radio station never repeats a track within this many positions (fewer on a small pool).
pub const RADIO_WINDOW: usize = 50;
/// How deep into a station a page may start: positions are generated from the first.
pub const RADIO_MAX_OFFSET: usize = 10_000;

/// One track of the catalog as the recommender holds it.
struct Entry {
    id: Id,
    artist: Id,
    genres: Vec<u16>,
    popularity: u8,
    duration_ms: u32,
    markets: Option<Vec<String>>,
    features: Option<TrackFeatures>,
    normalised: Option<[f32; DIMENSIONS]>,
}

/// A tunable attribute of `GET /v1/recommendations` (`min_`, `max_`, `target_` + its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    Acousticness,
    Danceability,
    DurationMs,
    Energy,
    Instrumentalness,
    Key,
    Liveness,
    Loudness,
    Mode,
    Popularity,
    Speechiness,
    Tempo,
    TimeSignature,
    Valence,
}

impl Attribute {
    pub const ALL: [Attribute; 14] = [
        Attribute::Acousticness,
        Attribute::Danceability,
        Attribute::DurationMs,
        Attribute::Energy,
        Attribute::Instrumentalness,
        Attribute::Key,
        Attribute::Liveness,
        Attribute::Loudness,
        Attribute::Mode,
        Attribute::Popularity,
        Attribute::Speechiness,
        Attribute::Tempo,
        Attribute::TimeSignature,
        Attribute::Valence,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attribute::Acousticness => "acousticness",
            Attribute::Danceability => "danceability",
            Attribute::DurationMs => "duration_ms",
            Attribute::Energy => "energy",
            Attribute::Instrumentalness => "instrumentalness",
            Attribute::Key => "key",
            Attribute::Liveness => "liveness",
            Attribute::Loudness => "loudness",
            Attribute::Mode => "mode",
            Attribute::Popularity => "popularity",
            Attribute::Speechiness => "speechiness",
            Attribute::Tempo => "tempo",
            Attribute::TimeSignature => "time_signature",
            Attribute::Valence => "valence",
        }
    }

    pub fn from_name(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether the Web API takes a whole number for it.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Attribute::DurationMs | Attribute::Key | Attribute::Mode | Attribute::Popularity | Attribute::TimeSignature
        )
    }

    /// The range values may take: a request outside it is refused.
    pub fn range(self) -> (f64, f64) {
        match self {
            Attribute::DurationMs => (0.0, 86_400_000.0),
            Attribute::Key => (-1.0, 11.0),
            Attribute::Mode => (0.0, 1.0),
            Attribute::Popularity => (0.0, 100.0),
            Attribute::TimeSignature => (0.0, 12.0),
            Attribute::Loudness => (-60.0, 5.0),
            Attribute::Tempo => (0.0, 400.0),
            _ => (0.0, 1.0),
        }
    }

    fn value(self, entry: &Entry) -> Option<f64> {
        match self {
            Attribute::Popularity => return Some(f64::from(entry.popularity)),
            Attribute::DurationMs => return Some(f64::from(entry.duration_ms)),
            _ => {}
        }
        let f = entry.features.as_ref()?;
        Some(match self {
            Attribute::Acousticness => f.acousticness,
            Attribute::Danceability => f.danceability,
            Attribute::Energy => f.energy,
            Attribute::Instrumentalness => f.instrumentalness,
            Attribute::Key => f.key as f64,
            Attribute::Liveness => f.liveness,
            Attribute::Loudness => f.loudness,
            Attribute::Mode => f.mode as f64,
            Attribute::Speechiness => f.speechiness,
            Attribute::Tempo => f.tempo,
            Attribute::TimeSignature => f.time_signature as f64,
            Attribute::Valence => f.valence,
            Attribute::Popularity | Attribute::DurationMs => return None,
        })
    }
}

/// The `min_*`, `max_*` and `target_*` of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tuning {
    pub min: BTreeMap<Attribute, f64>,
    pub max: BTreeMap<Attribute, f64>,
    pub target: BTreeMap<Attribute, f64>,
}

impl Tuning {
    fn admits(&self, entry: &Entry) -> bool {
        let within = |bounds: &BTreeMap<Attribute, f64>, keep: fn(f64, f64) -> bool| {
            bounds.iter().all(|(attribute, &bound)| attribute.value(entry).is_some_and(|v| keep(v, bound)))
        };
        within(&self.min, |value, bound| value >= bound) && within(&self.max, |value, bound| value <= bound)
    }

    /// 1 when every target is met exactly, down to 0 at the far end of each attribute's range.
    fn closeness(&self, entry: &Entry) -> f32 {
        if self.target.is_empty() {
            return 1.0;
        }
        let mut total = 0.0;
        for (attribute, &target) in &self.target {
            let (low, high) = attribute.range();
            total += match attribute.value(entry) {
                Some(value) => 1.0 - ((value - target).abs() / (high - low)).min(1.0),
                None => 0.0,
            };
        }
        (total / self.target.len() as f64) as f32
    }
}

/// A seed of `GET /v1/recommendations`, as indices into the recommender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    Track(u32),
    Artist(Id),
    Genre(u16),
}

/// What one seed contributed: the Web API's pool sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPool {
    /// Candidates the seed brought.
    pub initial: u32,
    /// Of those, how many passed the filters (market, attributes, not a seed).
    pub after_filtering: u32,
}

/// Where a Discover Weekly track comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TasteSource {
    Played,
    Liked,
    Playlist,
    FollowedArtist,
}

/// One track of a user's taste, weighted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TasteItem {
    pub track: u32,
    pub weight: f32,
    pub source: TasteSource,
}

/// Why a Discover Weekly track is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It is near this track of the user's taste.
    Because { source: TasteSource, track: u32 },
    /// Popular in a genre the user listens to.
    Genre(String),
    /// Popular on the service (a user with no taste yet).
    Popular,
}

/// The recommender a node serves from.
pub struct Recommender {
    /// The stored model the collaborative side comes from; `None`: content only.
    pub model: Option<StoredModel>,
    entries: Vec<Entry>,
    index: HashMap<Id, u32>,
    genre_names: Vec<String>,
    genre_index: HashMap<String, u16>,
    /// Each genre's tracks, most popular first.
    by_genre: Vec<Vec<u32>>,
    /// Each artist's tracks, most popular first.
    by_artist: HashMap<Id, Vec<u32>>,
    /// All tracks, most popular first.
    by_popularity: Vec<u32>,
    /// Collaborative neighbours per track (best first, best scaled to 1).
    neighbours: Vec<Vec<(u32, f32)>>,
}

impl Recommender {
    /// An empty recommender: no catalog, no model.
    pub fn empty() -> Recommender {
        Recommender::build(Vec::new(), Vec::new(), None)
    }

    /// Builds the recommender from the catalog and a stored neighbour table (`(track,
    /// neighbours)`; tracks or neighbours not in the catalog are left out).
    pub fn build(
        catalog: Vec<CatalogTrack>,
        neighbours: Vec<(Id, Vec<(Id, f32)>)>,
        model: Option<StoredModel>,
    ) -> Recommender {
        let mut genre_names: Vec<String> = Vec::new();
        let mut genre_index: HashMap<String, u16> = HashMap::new();
        let mut entries = Vec::with_capacity(catalog.len());
        for track in catalog {
            let genres = track
                .genres
                .iter()
                .filter_map(|genre| {
                    if let Some(&k) = genre_index.get(genre) {
                        return Some(k);
                    }
                    let k = u16::try_from(genre_names.len()).ok()?;
                    genre_names.push(genre.clone());
                    genre_index.insert(genre.clone(), k);
                    Some(k)
                })
                .collect();
            entries.push(Entry {
                id: track.id,
                artist: track.artist_id,
                genres,
                popularity: track.popularity,
                duration_ms: track.duration_ms,
                markets: track.markets,
                features: track.features,
                normalised: None,
            });
        }
        normalise(&mut entries);
        let index: HashMap<Id, u32> = entries.iter().enumerate().map(|(k, e)| (e.id, k as u32)).collect();
        let mut by_popularity: Vec<u32> = (0..entries.len() as u32).collect();
        by_popularity
            .sort_by(|&a, &b| entries[b as usize].popularity.cmp(&entries[a as usize].popularity).then(a.cmp(&b)));
        let mut by_genre = vec![Vec::new(); genre_names.len()];
        let mut by_artist: HashMap<Id, Vec<u32>> = HashMap::new();
        for &k in &by_popularity {
            let entry = &entries[k as usize];
            for &genre in &entry.genres {
                by_genre[genre as usize].push(k);
            }
            by_artist.entry(entry.artist).or_default().push(k);
        }
        let mut table = vec![Vec::new(); entries.len()];
        for (track, list) in neighbours {
            let Some(&k) = index.get(&track) else { continue };
            table[k as usize] =
                list.into_iter().filter_map(|(other, score)| Some((*index.get(&other)?, score))).collect();
        }
        Recommender {
            model,
            entries,
            index,
            genre_names,
            genre_index,
            by_genre,
            by_artist,
            by_popularity,
            neighbours: table,
        }
    }

    /// The index of a track, if the catalog has it.
    pub fn track(&self, id: Id) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// The id of the track at `index`.
    pub fn id(&self, index: u32) -> Id {
        self.entries[index as usize].id
    }

    /// The duration of the track at `index`.
    pub fn duration_ms(&self, index: u32) -> u32 {
        self.entries[index as usize].duration_ms
    }

    /// The artist of the track at `index`.
    pub fn artist_of(&self, index: u32) -> Id {
        self.entries[index as usize].artist
    }

    /// The `n` most popular tracks of `artist` (ties by id, as the store ranks an artist's top
    /// tracks).
    pub fn artist_top(&self, artist: Id, n: usize) -> &[u32] {
        let own = self.by_artist.get(&artist).map(Vec::as_slice).unwrap_or_default();
        &own[..own.len().min(n)]
    }

    pub fn has_artist(&self, artist: Id) -> bool {
        self.by_artist.contains_key(&artist)
    }

    pub fn genre(&self, name: &str) -> Option<u16> {
        self.genre_index.get(name).copied()
    }

    pub fn genre_name(&self, genre: u16) -> &str {
        &self.genre_names[genre as usize]
    }

    /// Every genre of the catalog, sorted.
    pub fn genres(&self) -> Vec<String> {
        let mut names = self.genre_names.clone();
        names.sort();
        names
    }

    /// Tracks in the catalog.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Tracks with collaborative neighbours.
    pub fn tracks_with_neighbours(&self) -> usize {
        self.neighbours.iter().filter(|n| !n.is_empty()).count()
    }

    fn playable(&self, k: u32, market: Option<&str>) -> bool {
        match (market, &self.entries[k as usize].markets) {
            (Some(market), Some(markets)) => markets.iter().any(|m| m.eq_ignore_ascii_case(market)),
            _ => true,
        }
    }

    /// The nearest tracks to `k` by normalised audio features among those sharing its first
    /// genre and its artist's, the same artist's a little nearer: `(track, similarity in (0,1])`.
    fn content_neighbours(&self, k: u32, count: usize) -> Vec<(u32, f32)> {
        let entry = &self.entries[k as usize];
        let mut pool: Vec<u32> = Vec::new();
        if let Some(&genre) = entry.genres.first() {
            pool.extend(self.by_genre[genre as usize].iter().take(CONTENT_SCAN));
        }
        if let Some(own) = self.by_artist.get(&entry.artist) {
            pool.extend(own.iter().take(500));
        }
        pool.sort_unstable();
        pool.dedup();
        let mut scored: Vec<(u32, f32)> = pool
            .into_iter()
            .filter(|&other| other != k)
            .map(|other| {
                let candidate = &self.entries[other as usize];
                let distance = match (&entry.normalised, &candidate.normalised) {
                    (Some(a), Some(b)) => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
                    _ => 3.0,
                };
                let same_artist = if candidate.artist == entry.artist { 0.15 } else { 0.0 };
                (other, 1.0 / (1.0 + distance) + same_artist)
            })
            .collect();
        sort_scored(&mut scored);
        scored.truncate(count);
        scored
    }

    /// A seed track's candidates: collaborative neighbours, plus content neighbours weighed
    /// less (all a track nobody played yet has).
    fn track_candidates(&self, k: u32, into: &mut HashMap<u32, f32>, weight: f32) {
        for &(other, score) in &self.neighbours[k as usize] {
            *into.entry(other).or_default() += weight * score;
        }
        for (other, similarity) in self.content_neighbours(k, CONTENT_NEIGHBOURS) {
            *into.entry(other).or_default() += weight * CONTENT_WEIGHT * similarity;
        }
    }

    fn seed_candidates(&self, seed: Seed) -> HashMap<u32, f32> {
        let mut candidates = HashMap::new();
        match seed {
            Seed::Track(k) => self.track_candidates(k, &mut candidates, 1.0),
            Seed::Artist(artist) => {
                let own = self.by_artist.get(&artist).map(Vec::as_slice).unwrap_or_default();
                for &k in own.iter().take(5) {
                    self.track_candidates(k, &mut candidates, 0.5);
                }
                for &k in own {
                    *candidates.entry(k).or_default() += 0.4 * f32::from(self.entries[k as usize].popularity) / 100.0;
                }
            }
            Seed::Genre(genre) => {
                for &k in self.by_genre[genre as usize].iter().take(500) {
                    candidates.insert(k, 0.2 + 0.8 * f32::from(self.entries[k as usize].popularity) / 100.0);
                }
            }
        }
        candidates
    }

    /// `GET /v1/recommendations`: up to `limit` tracks for the seeds, within the tuning's
    /// bounds, playable in `market`, never a seed track, best first (the targets weigh half),
    /// and each seed's pool sizes. Ties are broken by a hash of `salt` and the track.
    pub fn recommend(
        &self,
        seeds: &[Seed],
        tuning: &Tuning,
        market: Option<&str>,
        limit: usize,
        salt: u64,
    ) -> (Vec<u32>, Vec<SeedPool>) {
        let excluded: HashSet<u32> =
            seeds.iter().filter_map(|seed| if let Seed::Track(k) = seed { Some(*k) } else { None }).collect();
        let admits =
            |k: u32| !excluded.contains(&k) && self.playable(k, market) && tuning.admits(&self.entries[k as usize]);
        let mut total: HashMap<u32, f32> = HashMap::new();
        let mut pools = Vec::with_capacity(seeds.len());
        for &seed in seeds {
            let candidates = self.seed_candidates(seed);
            let best = candidates.values().copied().fold(0.0f32, f32::max);
            let mut kept = 0u32;
            for (&k, &score) in &candidates {
                if admits(k) {
                    kept += 1;
                    *total.entry(k).or_default() += if best > 0.0 { score / best } else { 0.0 };
                }
            }
            pools.push(SeedPool { initial: candidates.len() as u32, after_filtering: kept });
        }
        // Content fallback when the seeds brought too little: the popular tracks of the seeds'
        // genres, then of the catalog, still within the filters.
        if total.len() < limit {
            let mut genres: Vec<u16> = Vec::new();
            for seed in seeds {
                match *seed {
                    Seed::Track(k) => genres.extend(&self.entries[k as usize].genres),
                    Seed::Artist(artist) => {
                        if let Some(&k) = self.by_artist.get(&artist).and_then(|own| own.first()) {
                            genres.extend(&self.entries[k as usize].genres);
                        }
                    }
                    Seed::Genre(genre) => genres.push(genre),
                }
            }
            let fill = genres
                .iter()
                .flat_map(|&g| self.by_genre[g as usize].iter().take(2_000))
                .chain(self.by_popularity.iter().take(20_000));
            for &k in fill {
                if total.len() >= limit.max(1) * 3 {
                    break;
                }
                if admits(k) {
                    total.entry(k).or_insert(0.01 * f32::from(self.entries[k as usize].popularity) / 100.0);
                }
            }
        }
        let best = total.values().copied().fold(0.0f32, f32::max);
        let mut scored: Vec<(u32, f32)> = total
            .into_iter()
            .map(|(k, score)| {
                let relevance = if best > 0.0 { score / best } else { 0.0 };
                let entry = &self.entries[k as usize];
                let value =
                    if tuning.target.is_empty() { relevance } else { 0.5 * relevance + 0.5 * tuning.closeness(entry) };
                (k, value)
            })
            .collect();
        sort_scored_salted(&mut scored, salt, &self.entries);
        scored.truncate(limit);
        (scored.into_iter().map(|(k, _)| k).collect(), pools)
    }

    /// The first `limit` of `candidates` that `admits` lets through, by popularity jittered by
    /// the salt (±30%), so that a fallback list is not the same for everyone.
    fn popular_among(&self, candidates: &[u32], limit: usize, admits: &impl Fn(u32) -> bool, salt: u64) -> Vec<u32> {
        let mut pool: Vec<(u32, f32)> = candidates
            .iter()
            .take(limit)
            .filter(|&&k| admits(k))
            .map(|&k| {
                let entry = &self.entries[k as usize];
                (k, f32::from(entry.popularity) * (0.7 + 0.6 * unit_hash(salt, entry.id)))
            })
            .collect();
        sort_scored_salted(&mut pool, salt, &self.entries);
        pool.into_iter().map(|(k, _)| k).collect()
    }

    /// Discover Weekly: `count` tracks near the user's taste, none in `exclude` (what they
    /// played lately and what they have), at most `per_artist` per artist, each with its reason.
    /// `salt` (the user and the week) gives the week its own order: the same salt, the same list.
    pub fn discover(
        &self,
        taste: &[TasteItem],
        exclude: &HashSet<u32>,
        market: Option<&str>,
        count: usize,
        per_artist: usize,
        salt: u64,
    ) -> Vec<(u32, Reason)> {
        let mut scores: HashMap<u32, (f32, f32, usize)> = HashMap::new();
        let mut strongest: Vec<&TasteItem> = taste.iter().collect();
        strongest.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.track.cmp(&b.track)));
        for (position, item) in strongest.iter().enumerate() {
            let mut add = |other: u32, value: f32| {
                let slot = scores.entry(other).or_insert((0.0, 0.0, position));
                slot.0 += value;
                if value > slot.1 {
                    slot.1 = value;
                    slot.2 = position;
                }
            };
            for &(other, score) in &self.neighbours[item.track as usize] {
                add(other, item.weight * score);
            }
            if position < 20 {
                for (other, similarity) in self.content_neighbours(item.track, 30) {
                    add(other, item.weight * CONTENT_WEIGHT * similarity);
                }
            }
        }
        let admits = |k: u32| !exclude.contains(&k) && self.playable(k, market);
        let mut scored: Vec<(u32, f32)> = scores
            .iter()
            .filter(|(k, _)| admits(**k))
            // ±15% by the week's hash: a new week brings a new mix of near-equals.
            .map(|(&k, &(score, _, _))| (k, score * (0.85 + 0.3 * unit_hash(salt, self.entries[k as usize].id))))
            .collect();
        sort_scored_salted(&mut scored, salt, &self.entries);
        let mut picked: Vec<(u32, Reason)> = Vec::with_capacity(count);
        let mut chosen: HashSet<u32> = HashSet::new();
        let mut per: HashMap<Id, usize> = HashMap::new();
        let mut take = |k: u32, reason: Reason, picked: &mut Vec<(u32, Reason)>| {
            if picked.len() >= count || chosen.contains(&k) {
                return;
            }
            let artist = self.entries[k as usize].artist;
            let n = per.entry(artist).or_default();
            if *n >= per_artist {
                return;
            }
            *n += 1;
            chosen.insert(k);
            picked.push((k, reason));
        };
        for (k, _) in scored {
            let (_, _, position) = scores[&k];
            let item = strongest[position];
            take(k, Reason::Because { source: item.source, track: item.track }, &mut picked);
        }
        // Not enough near the taste (a new user, a thin catalog): popular tracks of the user's
        // genres, then of the catalog.
        let mut genres: Vec<u16> = Vec::new();
        for item in &strongest {
            for &g in &self.entries[item.track as usize].genres {
                if !genres.contains(&g) {
                    genres.push(g);
                }
            }
        }
        for &g in &genres {
            for k in self.popular_among(&self.by_genre[g as usize][..], 1_000, &admits, salt) {
                take(k, Reason::Genre(self.genre_names[g as usize].clone()), &mut picked);
            }
        }
        for k in self.popular_among(&self.by_popularity, 5_000, &admits, salt) {
            take(k, Reason::Popular, &mut picked);
        }
        picked
    }

    /// The tracks a station of `seed` draws from, weighted: the seed's candidates, their own
    /// collaborative neighbours (weighed less), and, while that is fewer than twice the
    /// window, the popular tracks of its genres and then of the catalog. Only tracks playable
    /// in `market`; never the seed itself.
    fn radio_pool(&self, seed: u32, market: Option<&str>) -> Vec<(u32, f32)> {
        let mut pool: HashMap<u32, f32> = HashMap::new();
        self.track_candidates(seed, &mut pool, 1.0);
        let mut first: Vec<(u32, f32)> = pool.iter().map(|(&k, &s)| (k, s)).collect();
        sort_scored(&mut first);
        for &(k, score) in first.iter().take(10) {
            for &(other, s) in &self.neighbours[k as usize] {
                *pool.entry(other).or_default() += 0.3 * score * s;
            }
        }
        pool.remove(&seed);
        pool.retain(|&k, score| *score > 0.0 && self.playable(k, market));
        let genres = &self.entries[seed as usize].genres;
        let fill = genres
            .iter()
            .flat_map(|&genre| self.by_genre[genre as usize].iter().take(2_000))
            .chain(self.by_popularity.iter().take(20_000));
        for &k in fill {
            if pool.len() >= 2 * RADIO_WINDOW {
                break;
            }
            if k != seed && self.playable(k, market) {
                pool.entry(k).or_insert(0.01 * f32::from(self.entries[k as usize].popularity.max(1)) / 100.0);
            }
        }
        let mut pool: Vec<(u32, f32)> = pool.into_iter().collect();
        sort_scored(&mut pool);
        pool.truncate(300);
        pool
    }

    /// Positions `offset..offset + limit` of the endless station of `seed`: each position draws
    /// a track from the pool with probability growing with its weight (by a generator seeded
    /// with the seed track and the position), never one of the previous [`RADIO_WINDOW`]
    /// positions (fewer when the pool is smaller). The same seed and position, the same track.
    pub fn radio(&self, seed: u32, market: Option<&str>, offset: usize, limit: usize) -> Vec<u32> {
        use rand::Rng;
        let pool = self.radio_pool(seed, market);
        if pool.is_empty() {
            return Vec::new();
        }
        let window = RADIO_WINDOW.min(pool.len() - 1);
        let mut last_at: Vec<Option<usize>> = vec![None; pool.len()];
        let seed_hash = fnv1a_64(self.entries[seed as usize].id.as_str().as_bytes());
        let mut out = Vec::with_capacity(limit);
        for position in 0..offset + limit {
            let mut rng = seeded_rng(seed_hash ^ (position as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut best: Option<(usize, f64)> = None;
            for (slot, &(_, weight)) in pool.iter().enumerate() {
                let recent = last_at[slot].is_some_and(|at| position - at <= window);
                if recent {
                    continue;
                }
                // Efraimidis–Spirakis: the largest u^(1/w) is a draw weighted by w.
                let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                let key = u.ln() / f64::from(weight);
                if best.is_none_or(|(_, b)| key > b) {
                    best = Some((slot, key));
                }
            }
            let Some((slot, _)) = best else { break };
            last_at[slot] = Some(position);
            if position >= offset {
                out.push(pool[slot].0);
            }
        }
        out
    }
}

/// The ISO 8601 week of an instant (ms since the epoch, UTC), as `2026-W49`: weeks start on
/// Monday, and week 1 is the one with the year's first Thursday.
pub fn iso_week(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // 1970-01-01 was a Thursday: Monday is 0.
    let weekday = (days + 3).rem_euclid(7);
    let thursday = days - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    format!("{year}-W{week:02}")
}

/// Feature vectors scaled to mean 0 and deviation 1 per dimension over the catalog.
fn normalise(entries: &mut [Entry]) {
    let raw = |f: &TrackFeatures| -> [f64; DIMENSIONS] {
        [
            f.acousticness,
            f.danceability,
            f.energy,
            f.instrumentalness,
            f.liveness,
            f.loudness,
            f.speechiness,
            f.tempo,
            f.valence,
        ]
    };
    let mut sum = [0.0f64; DIMENSIONS];
    let mut squares = [0.0f64; DIMENSIONS];
    let mut n = 0.0;
    for entry in entries.iter() {
        if let Some(f) = &entry.features {
            for (d, value) in raw(f).into_iter().enumerate() {
                sum[d] += value;
                squares[d] += value * value;
            }
            n += 1.0;
        }
    }
    if n == 0.0 {
        return;
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let deviation: Vec<f64> =
        squares.iter().zip(&mean).map(|(sq, m)| (sq / n - m * m).max(0.0).sqrt().max(1e-6)).collect();
    for entry in entries.iter_mut() {
        if let Some(f) = &entry.features {
            let values = raw(f);
            let mut out = [0.0f32; DIMENSIONS];
            for d in 0..DIMENSIONS {
                out[d] = ((values[d] - mean[d]) / deviation[d]) as f32;
            }
            entry.normalised = Some(out);
        }
    }
}

/// A number in [0, 1) from a salt and an id: the same pair, the same number.
fn unit_hash(salt: u64, id: Id) -> f32 {
    let mut bytes = salt.to_le_bytes().to_vec();
    bytes.extend_from_slice(id.as_str().as_bytes());
    (fnv1a_64(&bytes) >> 40) as f32 / (1u64 << 24) as f32
}

/// Best first; ties by index.
fn sort_scored(scored: &mut [(u32, f32)]) {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// Best first; ties by a hash of the salt and the track's id.
fn sort_scored_salted(scored: &mut [(u32, f32)], salt: u64, entries: &[Entry]) {
    scored.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| {
                unit_hash(salt, entries[a.0 as usize].id).total_cmp(&unit_hash(salt, entries[b.0 as usize].id))
            })
            .then(a.0.cmp(&b.0))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4 genres × 5 artists × 10 tracks; features grouped by genre.
    fn catalog() -> Vec<CatalogTrack> {
        let mut tracks = Vec::new();
        for genre in 0..4u32 {
            for artist in 0..5u32 {
                for n in 0..10u32 {
                    let k = genre * 50 + artist * 10 + n;
                    let level = f64::from(genre) / 4.0 + f64::from(n) / 100.0;
                    tracks.push(CatalogTrack {
                        id: Id::from_u128(u128::from(k) + 1),
                        artist_id: Id::from_u128(u128::from(1_000 + genre * 5 + artist)),
                        genres: vec![format!("genre-{genre}")],
                        popularity: (k % 100) as u8,
                        duration_ms: 180_000 + n * 1_000,
                        markets: if n == 9 { Some(vec!["US".to_string()]) } else { None },
                        features: Some(TrackFeatures {
                            acousticness: level,
                            danceability: 1.0 - level,
                            energy: level,
                            instrumentalness: 0.1,
                            liveness: 0.1,
                            loudness: -8.0 + level,
                            speechiness: 0.05,
                            tempo: 100.0 + 40.0 * level,
                            valence: level,
                            key: i64::from(n % 12),
                            mode: i64::from(n % 2),
                            time_signature: 4,
                        }),
                    });
                }
            }
        }
        tracks
    }

    fn recommender() -> Recommender {
        let catalog = catalog();
        // Collaborative: track k is near k+1 and k+2 (within its genre).
        let neighbours = (0..200u32)
            .map(|k| {
                let list = [1u32, 2]
                    .iter()
                    .filter(|&&d| (k + d) / 50 == k / 50)
                    .map(|&d| (Id::from_u128(u128::from(k + d) + 1), 1.0 / d as f32))
                    .collect();
                (Id::from_u128(u128::from(k) + 1), list)
            })
            .collect();
        Recommender::build(catalog, neighbours, None)
    }

    #[test]
    fn recommendations_follow_the_seed_never_include_it_and_honour_the_bounds() {
        let r = recommender();
        let seed = r.track(Id::from_u128(11)).unwrap();
        let (tracks, pools) = r.recommend(&[Seed::Track(seed)], &Tuning::default(), Some("SE"), 10, 1);
        assert_eq!(tracks.len(), 10);
        assert!(!tracks.contains(&seed));
        assert_eq!(tracks[0], r.track(Id::from_u128(12)).unwrap(), "the best neighbour first");
        assert!(tracks.iter().all(|&k| r.entries[k as usize].genres == r.entries[seed as usize].genres));
        assert!(tracks.iter().all(|&k| r.playable(k, Some("SE"))));
        assert!(pools[0].initial >= pools[0].after_filtering && pools[0].after_filtering > 0);
        let mut tuning = Tuning::default();
        tuning.min.insert(Attribute::Energy, 0.5);
        tuning.max.insert(Attribute::Popularity, 90.0);
        let (tuned, _) = r.recommend(&[Seed::Track(seed)], &tuning, None, 20, 1);
        assert!(!tuned.is_empty());
        for &k in &tuned {
            let entry = &r.entries[k as usize];
            assert!(entry.features.unwrap().energy >= 0.5 && entry.popularity <= 90);
        }
        // Deterministic.
        assert_eq!(r.recommend(&[Seed::Track(seed)], &tuning, None, 20, 1).0, tuned);
    }

    #[test]
    fn a_track_nobody_played_gets_content_neighbours_within_its_genre() {
        let r = Recommender::build(catalog(), Vec::new(), None);
        let seed = r.track(Id::from_u128(77)).unwrap();
        let (tracks, _) = r.recommend(&[Seed::Track(seed)], &Tuning::default(), None, 10, 9);
        assert_eq!(tracks.len(), 10);
        assert!(tracks.iter().all(|&k| r.entries[k as usize].genres == r.entries[seed as usize].genres));
    }

    #[test]
    fn discover_weekly_keeps_its_rules_and_is_stable_for_a_salt() {
        let r = recommender();
        let taste: Vec<TasteItem> = (0..6u32)
            .map(|k| TasteItem {
                track: r.track(Id::from_u128(u128::from(k) + 1)).unwrap(),
                weight: 1.0,
                source: TasteSource::Played,
            })
            .collect();
        let exclude: HashSet<u32> = taste.iter().map(|t| t.track).collect();
        let list = r.discover(&taste, &exclude, None, 30, 2, 42);
        assert_eq!(list.len(), 30);
        let mut per: HashMap<Id, usize> = HashMap::new();
        for (k, _) in &list {
            assert!(!exclude.contains(k));
            *per.entry(r.artist_of(*k)).or_default() += 1;
        }
        assert!(per.values().all(|&n| n <= 2), "{per:?}");
        assert!(matches!(list[0].1, Reason::Because { .. }));
        assert_eq!(r.discover(&taste, &exclude, None, 30, 2, 42), list);
        // A user with no taste still gets 30, the popular ones.
        let fresh = r.discover(&[], &HashSet::new(), None, 30, 2, 1);
        assert_eq!(fresh.len(), 30);
        assert!(fresh.iter().all(|(_, reason)| *reason == Reason::Popular));
    }

    #[test]
    fn iso_weeks_start_on_monday_and_week_one_holds_the_first_thursday() {
        let day = |y, m, d| days_from_civil(y, m, d) * 86_400_000;
        assert_eq!(iso_week(day(2026, 12, 4)), "2026-W49");
        assert_eq!(iso_week(day(2026, 11, 30)), "2026-W49", "Monday");
        assert_eq!(iso_week(day(2026, 11, 29)), "2026-W48", "Sunday");
        assert_eq!(iso_week(day(2021, 1, 1)), "2020-W53");
        assert_eq!(iso_week(day(2024, 12, 30)), "2025-W01");
        assert_eq!(iso_week(0), "1970-W01");
    }

    #[test]
    fn a_station_is_deterministic_and_never_repeats_within_its_window() {
        let r = recommender();
        let seed = r.track(Id::from_u128(5)).unwrap();
        let long = r.radio(seed, None, 0, 400);
        assert_eq!(long.len(), 400);
        assert!(!long.contains(&seed));
        let window = RADIO_WINDOW.min(r.radio_pool(seed, None).len() - 1);
        for (at, k) in long.iter().enumerate() {
            let start = at.saturating_sub(window);
            assert!(!long[start..at].contains(k), "a repeat at {at}");
        }
        assert_eq!(r.radio(seed, None, 120, 30), long[120..150]);
    }
}
