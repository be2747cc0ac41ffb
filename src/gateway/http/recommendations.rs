//! Recommendations over HTTP: `GET /v1/recommendations` (seeds and tunable attributes, the Web
//! API's shape), `GET /v1/recommendations/available-genre-seeds`, Segue's own
//! `GET /v1/me/discover-weekly` and `GET /v1/radio/{track_id}`, and the autoplay switch
//! (`GET`/`PUT /v1/me/player/autoplay`). Every answer comes from the node's current
//! [`crate::recs::serving::Recommender`]; this module parses, validates and shapes.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::catalog::path_id;
use super::objects::{self, Links};
use super::{ApiResult, AuthUser, base_url, json};
use crate::clock::now_ms;
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::{Id, Uri, UriKind};
use crate::recs::serving::{
    Attribute, RADIO_MAX_OFFSET, Reason, Recommender, Seed, TasteItem, TasteSource, Tuning, iso_week,
};
use crate::reproducible::fnv1a_64;
use crate::storage::catalog::TrackRow;

/// Seeds one request may give, in all.
const MAX_SEEDS: usize = 5;
/// Tracks in a Discover Weekly.
const DISCOVER_TRACKS: usize = 30;
/// At most this many tracks of one artist in a Discover Weekly.
const DISCOVER_PER_ARTIST: usize = 2;
/// Discover Weekly leaves out what the user played this recently.
const DISCOVER_UNPLAYED_MS: i64 = 30 * 24 * 3_600 * 1_000;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/recommendations", web::get().to(recommendations))
        .route("/v1/recommendations/available-genre-seeds", web::get().to(genre_seeds))
        .route("/v1/me/discover-weekly", web::get().to(discover_weekly))
        .route("/v1/radio/{track_id}", web::get().to(radio))
        .route("/v1/me/player/autoplay", web::get().to(autoplay))
        .route("/v1/me/player/autoplay", web::put().to(set_autoplay));
}

/// A list parameter: comma-separated, blanks dropped.
fn list(query: &HashMap<String, String>, name: &str) -> Vec<String> {
    query
        .get(name)
        .map(|text| text.split(',').map(str::trim).filter(|part| !part.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// An id of `kind`: bare, or as a URI of either scheme.
fn seed_id(text: &str, kind: UriKind, parameter: &str) -> Result<Id, AppError> {
    Id::parse(text).or_else(|| Uri::parse(text).filter(|uri| uri.kind == kind).map(|uri| uri.id)).ok_or_else(|| {
        let shown: String = text.chars().take(60).collect();
        AppError::bad_request(format!("{parameter}: {shown:?} is not a {} id", kind.as_str()))
    })
}

/// The market a request asks for: `from_token` or absent is the user's country.
fn market(query: &HashMap<String, String>, country: &str) -> Result<String, AppError> {
    match query.get("market").map(|m| m.trim()) {
        None | Some("") | Some("from_token") => Ok(country.to_string()),
        Some(code) if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) => Ok(code.to_ascii_uppercase()),
        Some(other) => {
            let shown: String = other.chars().take(20).collect();
            Err(AppError::bad_request(format!("market {shown:?} must be an ISO 3166-1 alpha-2 code or from_token")))
        }
    }
}

/// A whole-number parameter within `low..=high`, `default` when absent.
fn bounded(query: &HashMap<String, String>, name: &str, default: u32, low: u32, high: u32) -> Result<u32, AppError> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(value) if (low..=high).contains(&value) => Ok(value),
            _ => Err(AppError::bad_request(format!("{name} must be a whole number within {low}..{high}"))),
        },
    }
}

/// The `min_*`, `max_*` and `target_*` parameters: known attributes, numbers of the right kind
/// within the attribute's range, and no minimum above its maximum.
fn tuning(query: &HashMap<String, String>) -> Result<Tuning, AppError> {
    let mut tuning = Tuning::default();
    let mut names: Vec<&String> = query.keys().collect();
    names.sort();
    for name in names {
        let (slot, attribute) = if let Some(rest) = name.strip_prefix("min_") {
            (&mut tuning.min, rest)
        } else if let Some(rest) = name.strip_prefix("max_") {
            (&mut tuning.max, rest)
        } else if let Some(rest) = name.strip_prefix("target_") {
            (&mut tuning.target, rest)
        } else {
            continue;
        };
        let attribute = Attribute::from_name(attribute).ok_or_else(|| {
            let shown: String = name.chars().take(40).collect();
            AppError::bad_request(format!("unknown tunable attribute {shown:?}"))
        })?;
        let text = query[name].trim();
        // A whole number may be written `60` or `60.0` (clients format numbers either way).
        let value =
            text.parse::<f64>().ok().filter(|v| v.is_finite()).filter(|v| !attribute.is_integer() || v.fract() == 0.0);
        let kind = if attribute.is_integer() { "a whole number" } else { "a number" };
        let value = value.ok_or_else(|| AppError::bad_request(format!("{name} must be {kind}")))?;
        let (low, high) = attribute.range();
        if !(low..=high).contains(&value) {
            return Err(AppError::bad_request(format!("{name} must be within {low}..{high}")));
        }
        slot.insert(attribute, value);
    }
    for (attribute, low) in &tuning.min {
        if tuning.max.get(attribute).is_some_and(|high| high < low) {
            let name = attribute.name();
            return Err(AppError::bad_request(format!("min_{name} is above max_{name}")));
        }
    }
    Ok(tuning)
}

/// Full track objects for `indices`, in their order (a track the store no longer has is left out).
async fn track_objects(
    services: &Services,
    links: &Links,
    recommender: &Recommender,
    indices: &[u32],
    country: &str,
) -> Result<Vec<objects::Track>, AppError> {
    let ids: Vec<Id> = indices.iter().map(|&k| recommender.id(k)).collect();
    let rows = rows_by_id(services, &ids).await?;
    Ok(ids.iter().filter_map(|id| rows.get(id)).map(|row| objects::track(links, row, country)).collect())
}

async fn rows_by_id(services: &Services, ids: &[Id]) -> Result<HashMap<Id, TrackRow>, AppError> {
    let mut rows = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        for row in services.store.tracks(chunk).await? {
            rows.insert(row.id, row);
        }
    }
    Ok(rows)
}

#[derive(Serialize)]
struct SeedObject {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    href: Option<String>,
    #[serde(rename = "initialPoolSize")]
    initial_pool_size: u32,
    #[serde(rename = "afterFilteringSize")]
    after_filtering_size: u32,
    #[serde(rename = "afterRelinkingSize")]
    after_relinking_size: u32,
}

async fn recommendations(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let (tracks, artists, genres) =
        (list(&query, "seed_tracks"), list(&query, "seed_artists"), list(&query, "seed_genres"));
    let count = tracks.len() + artists.len() + genres.len();
    if count == 0 || count > MAX_SEEDS {
        return Err(AppError::bad_request(format!(
            "give 1 to {MAX_SEEDS} seeds in all among seed_tracks, seed_artists and seed_genres ({count} given)"
        ))
        .into());
    }
    let limit = bounded(&query, "limit", 20, 1, 100)?;
    let market = market(&query, &auth.user.country)?;
    let tuning = tuning(&query)?;
    let recommender = services.recs.current();
    let mut seeds = Vec::with_capacity(count);
    let mut described: Vec<(String, &'static str, Option<UriKind>)> = Vec::with_capacity(count);
    for text in &tracks {
        let id = seed_id(text, UriKind::Track, "seed_tracks")?;
        let k = recommender.track(id).ok_or_else(|| AppError::not_found(format!("seed_tracks: no track {id}")))?;
        seeds.push(Seed::Track(k));
        described.push((id.to_string(), "TRACK", Some(UriKind::Track)));
    }
    for text in &artists {
        let id = seed_id(text, UriKind::Artist, "seed_artists")?;
        if !recommender.has_artist(id) {
            return Err(AppError::not_found(format!("seed_artists: no artist {id}")).into());
        }
        seeds.push(Seed::Artist(id));
        described.push((id.to_string(), "ARTIST", Some(UriKind::Artist)));
    }
    for name in &genres {
        let genre = recommender.genre(name).ok_or_else(|| {
            let shown: String = name.chars().take(60).collect();
            AppError::bad_request(format!(
                "seed_genres: {shown:?} is not a genre seed (see /v1/recommendations/available-genre-seeds)"
            ))
        })?;
        seeds.push(Seed::Genre(genre));
        described.push((name.clone(), "GENRE", None));
    }
    let salt = fnv1a_64(described.iter().map(|(id, _, _)| id.as_str()).collect::<Vec<_>>().join(",").as_bytes());
    let (picked, pools) = recommender.recommend(&seeds, &tuning, Some(&market), limit as usize, salt);
    let links = Links::new(base_url(&request, &services));
    let tracks = track_objects(&services, &links, &recommender, &picked, &auth.user.country).await?;
    let seeds: Vec<SeedObject> = described
        .into_iter()
        .zip(pools)
        .map(|((id, kind, uri_kind), pool)| SeedObject {
            href: uri_kind.and_then(|k| Id::parse(&id).map(|parsed| links.href(k, parsed))),
            id,
            kind,
            initial_pool_size: pool.initial,
            after_filtering_size: pool.after_filtering,
            after_relinking_size: pool.after_filtering,
        })
        .collect();
    #[derive(Serialize)]
    struct Answer {
        seeds: Vec<SeedObject>,
        tracks: Vec<objects::Track>,
    }
    Ok(json(&Answer { seeds, tracks }))
}

async fn genre_seeds(services: web::Data<Services>, _auth: AuthUser) -> ApiResult<HttpResponse> {
    #[derive(Serialize)]
    struct Genres {
        genres: Vec<String>,
    }
    Ok(json(&Genres { genres: services.recs.current().genres() }))
}

/// A Discover Weekly entry as stored: the track and its reason, already worded.
struct Pick {
    track: Id,
    reason: String,
}

fn encode_picks(picks: &[Pick]) -> String {
    picks.iter().map(|pick| format!("{}\t{}\n", pick.track, pick.reason.replace(['\t', '\n'], " "))).collect()
}

fn decode_picks(text: &str) -> Vec<Pick> {
    text.lines()
        .filter_map(|line| {
            let (track, reason) = line.split_once('\t')?;
            Some(Pick { track: Id::parse(track)?, reason: reason.to_string() })
        })
        .collect()
}

/// Works out a user's Discover Weekly from their taste now.
async fn make_discover_weekly(services: &Services, user: Id, country: &str, salt: u64) -> Result<Vec<Pick>, AppError> {
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    let taste = services.store.user_taste(user).await?;
    let recent = services.store.tracks_played_since(user, now - DISCOVER_UNPLAYED_MS).await?;
    let recommender = services.recs.current();
    let mut items = Vec::new();
    let mut exclude: HashSet<u32> = HashSet::new();
    for (track, plays, _) in &taste.played {
        if let Some(k) = recommender.track(*track) {
            items.push(TasteItem { track: k, weight: (*plays as f32).ln_1p(), source: TasteSource::Played });
            exclude.insert(k);
        }
    }
    for (tracks, weight, source) in
        [(&taste.saved, 1.0, TasteSource::Liked), (&taste.playlist_tracks, 0.5, TasteSource::Playlist)]
    {
        for track in tracks {
            if let Some(k) = recommender.track(*track) {
                items.push(TasteItem { track: k, weight, source });
                exclude.insert(k);
            }
        }
    }
    for &artist in &taste.followed_artists {
        for &k in recommender.artist_top(artist, 3) {
            items.push(TasteItem { track: k, weight: 0.3, source: TasteSource::FollowedArtist });
        }
    }
    exclude.extend(recent.iter().filter_map(|track| recommender.track(*track)));
    let picked = recommender.discover(&items, &exclude, Some(country), DISCOVER_TRACKS, DISCOVER_PER_ARTIST, salt);
    let mut named: Vec<Id> = Vec::new();
    for (_, reason) in &picked {
        if let Reason::Because { track, .. } = reason {
            named.push(recommender.id(*track));
        }
    }
    let rows = rows_by_id(services, &named).await?;
    let describe = |reason: &Reason| -> String {
        match reason {
            Reason::Because { source, track } => {
                let Some(row) = rows.get(&recommender.id(*track)) else { return "picked for you".to_string() };
                let (name, artist) = (&row.name, &row.artist.name);
                match source {
                    TasteSource::Played => format!("because you played {name} by {artist}"),
                    TasteSource::Liked => format!("because you liked {name} by {artist}"),
                    TasteSource::Playlist => format!("because {name} by {artist} is on your playlists"),
                    TasteSource::FollowedArtist => format!("because you follow {artist}"),
                }
            }
            Reason::Genre(genre) => format!("popular in {genre}, which you listen to"),
            Reason::Popular => "popular on Segue".to_string(),
        }
    };
    Ok(picked.iter().map(|(k, reason)| Pick { track: recommender.id(*k), reason: describe(reason) }).collect())
}

async fn discover_weekly(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
) -> ApiResult<HttpResponse> {
    let user = auth.user.id;
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    let week = iso_week(now);
    let picks = match services.store.discover_weekly(user, &week).await? {
        Some(text) => decode_picks(&text),
        None => {
            // Plays still being written behind count as played.
            services.writer.flush().await?;
            let salt = fnv1a_64(format!("{user}:{week}").as_bytes());
            let picks = make_discover_weekly(&services, user, &auth.user.country, salt).await?;
            // Another node may have kept one first: serve the one kept.
            decode_picks(&services.store.keep_discover_weekly(user, &week, &encode_picks(&picks), now).await?)
        }
    };
    let links = Links::new(base_url(&request, &services));
    let ids: Vec<Id> = picks.iter().map(|pick| pick.track).collect();
    let rows = rows_by_id(&services, &ids).await?;
    #[derive(Serialize)]
    struct Item {
        track: objects::Track,
        reason: String,
    }
    #[derive(Serialize)]
    struct Answer {
        week: String,
        href: String,
        items: Vec<Item>,
        total: usize,
    }
    let items: Vec<Item> = picks
        .into_iter()
        .filter_map(|pick| {
            let row = rows.get(&pick.track)?;
            Some(Item { track: objects::track(&links, row, &auth.user.country), reason: pick.reason })
        })
        .collect();
    let href = format!("{}/v1/me/discover-weekly", links.base);
    Ok(json(&Answer { week, href, total: items.len(), items }))
}

async fn radio(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    track: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&track)?;
    let limit = bounded(&query, "limit", 20, 1, 50)?;
    let offset = bounded(&query, "offset", 0, 0, RADIO_MAX_OFFSET as u32)?;
    let market = market(&query, &auth.user.country)?;
    let recommender = services.recs.current();
    let seed = recommender.track(id).ok_or_else(|| AppError::not_found(format!("no track {id}")))?;
    let picked = recommender.radio(seed, Some(&market), offset as usize, limit as usize);
    let links = Links::new(base_url(&request, &services));
    let items = track_objects(&services, &links, &recommender, &picked, &auth.user.country).await?;
    let url = format!("{}/v1/radio/{id}", links.base);
    let link = |offset: u32| format!("{url}?offset={offset}&limit={limit}");
    // Endless: a next page while it is within reach and the station is not empty.
    let next = (!items.is_empty() && offset + limit <= RADIO_MAX_OFFSET as u32).then(|| link(offset + limit));
    #[derive(Serialize)]
    struct Station {
        href: String,
        items: Vec<objects::Track>,
        limit: u32,
        next: Option<String>,
        offset: u32,
        previous: Option<String>,
        /// Positions that can be asked for (the station repeats nothing within 50 of them).
        total: u64,
        /// The context a player plays the station under.
        context_uri: String,
    }
    let total = if items.is_empty() { 0 } else { RADIO_MAX_OFFSET as u64 + u64::from(limit) };
    Ok(json(&Station {
        href: link(offset),
        items,
        limit,
        next,
        offset,
        previous: (offset > 0).then(|| link(offset.saturating_sub(limit))),
        total,
        context_uri: format!("segue:radio:{id}"),
    }))
}

#[derive(Deserialize)]
struct AutoplayBody {
    enabled: bool,
}

#[derive(Serialize)]
struct AutoplayState {
    enabled: bool,
}

async fn autoplay(services: web::Data<Services>, AuthUser(auth): AuthUser) -> ApiResult<HttpResponse> {
    Ok(json(&AutoplayState { enabled: services.store.autoplay(auth.user.id).await? }))
}

async fn set_autoplay(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    body: web::Json<AutoplayBody>,
) -> ApiResult<HttpResponse> {
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    services.store.set_autoplay(auth.user.id, body.enabled, now).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn tunable_attributes_are_checked_for_name_kind_range_and_order() {
        let ok = tuning(&query(&[("min_energy", "0.4"), ("max_popularity", "80"), ("target_tempo", "120.5")])).unwrap();
        assert_eq!(ok.min[&Attribute::Energy], 0.4);
        assert_eq!(ok.max[&Attribute::Popularity], 80.0);
        assert_eq!(ok.target[&Attribute::Tempo], 120.5);
        for bad in [
            vec![("min_energy", "loud")],
            vec![("max_popularity", "80.5")],
            vec![("target_key", "12")],
            vec![("min_sparkle", "1")],
            vec![("min_energy", "0.8"), ("max_energy", "0.2")],
            vec![("target_valence", "NaN")],
        ] {
            assert!(tuning(&query(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn discover_picks_round_trip_their_stored_form() {
        let picks = vec![Pick { track: Id::from_u128(5), reason: "because\tyou played X".to_string() }];
        let decoded = decode_picks(&encode_picks(&picks));
        assert_eq!(decoded.len(), 1);
        assert_eq!((decoded[0].track, decoded[0].reason.as_str()), (Id::from_u128(5), "because you played X"));
    }
}
