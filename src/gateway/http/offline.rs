//! Offline sync over REST (Segue's own; premium only, others get `403 PREMIUM_REQUIRED`):
//! `PUT` and `DELETE /v1/me/offline/{device_id}` with track, album and playlist URIs,
//! `GET /v1/me/offline/{device_id}/sync?since=<version>` answering only what changed since that
//! version (`add` with signed download URLs and sizes, `remove`), and `GET /v1/me/offline`
//! listing the devices. What a device keeps is resolved at every sync: a playlist follows its
//! edits, and a track no longer playable in the user's country leaves. The sync's plan is
//! `crate::offline`'s; its rows, `storage::offline`'s.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use segue_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::streaming::audio_url;
use super::{ApiResult, AuthUser, base_url, json};
use crate::clock::now_ms;
use crate::domain::{Product, Viewer};
use crate::error::{AppError, AppResult};
use crate::gateway::Services;
use crate::ids::{Id, Uri, UriKind};
use crate::offline::{
    MAX_DEVICES_PER_USER, MAX_TRACKS_PER_DEVICE, MAX_URIS_PER_REQUEST, has_lapsed, is_valid_device_id, licence_expiry,
    plan_sync,
};
use crate::storage::catalog::TrackRow;
use crate::storage::offline::SourcesAdded;
use crate::storage::snapshots::PlayRecord;
use crate::streaming::Quality;
use crate::streaming::wav::wav_len;

/// How long a download URL of a sync is valid: a day to fetch what a sync added (a device that
/// did not finish asks again with `since=0`).
const DOWNLOAD_URL_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Syncs planned again when another sync of the same device wrote first.
const SYNC_ATTEMPTS: usize = 3;
/// Tracks looked up per query.
const LOOKUP_CHUNK: usize = 1_000;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/offline", web::get().to(devices))
        .route("/v1/me/offline/{device_id}", web::put().to(keep))
        .route("/v1/me/offline/{device_id}", web::delete().to(drop_sources))
        .route("/v1/me/offline/{device_id}/sync", web::get().to(sync))
        .route("/v1/me/player/plays", web::post().to(report_plays));
}

fn premium_only(user: &Viewer) -> AppResult<()> {
    match user.product {
        Product::Premium => Ok(()),
        Product::Free => Err(AppError::new(ErrorCode::PremiumRequired, "offline listening is for premium users")),
    }
}

fn device_id(path: &str) -> AppResult<String> {
    if is_valid_device_id(path) {
        Ok(path.to_string())
    } else {
        Err(AppError::bad_request("a device id is 1 to 64 visible ASCII characters"))
    }
}

#[derive(Deserialize)]
struct UrisBody {
    uris: Vec<String>,
}

/// The body's URIs, parsed: tracks, albums or playlists, 1 to [`MAX_URIS_PER_REQUEST`].
fn uris_of(body: &web::Bytes) -> AppResult<Vec<Uri>> {
    let body: UrisBody = serde_json::from_slice(body)
        .map_err(|error| AppError::bad_request(format!("the body must be {{\"uris\": [..]}}: {error}")))?;
    if body.uris.is_empty() || body.uris.len() > MAX_URIS_PER_REQUEST {
        return Err(AppError::bad_request(format!("give 1 to {MAX_URIS_PER_REQUEST} uris")));
    }
    body.uris
        .iter()
        .map(|text| {
            Uri::parse(text)
                .filter(|uri| matches!(uri.kind, UriKind::Track | UriKind::Album | UriKind::Playlist))
                .ok_or_else(|| {
                    AppError::bad_request(format!(
                        "{:?} is not a track, album or playlist URI",
                        text.chars().take(60).collect::<String>()
                    ))
                })
        })
        .collect()
}

/// What a device's sources resolve to now: the tracks playable in the user's country, each once,
/// in the order of the sources, at most [`MAX_TRACKS_PER_DEVICE`]; and how many there were in all.
struct Resolved {
    tracks: Vec<TrackRow>,
    total: usize,
}

async fn resolve(services: &Services, user: &Viewer, sources: &[Uri]) -> AppResult<Resolved> {
    let store = &services.store;
    let albums: Vec<Id> = sources.iter().filter(|uri| uri.kind == UriKind::Album).map(|uri| uri.id).collect();
    let mut album_tracks: HashMap<Id, Vec<Id>> = HashMap::with_capacity(albums.len());
    let mut rows: HashMap<Id, TrackRow> = HashMap::new();
    for track in store.tracks_of_albums(&albums).await? {
        album_tracks.entry(track.album.id).or_default().push(track.id);
        rows.insert(track.id, track);
    }
    let mut ids: Vec<Id> = Vec::new();
    for source in sources {
        match source.kind {
            UriKind::Track => ids.push(source.id),
            UriKind::Album => ids.extend(album_tracks.get(&source.id).into_iter().flatten().copied()),
            UriKind::Playlist => {
                // A playlist the user may no longer see keeps nothing.
                if let Some(playlist) = store.playlist(source.id).await?
                    && store.may_see_playlist(user.id, &playlist).await?
                {
                    ids.extend(store.playlist_track_ids(source.id, MAX_TRACKS_PER_DEVICE as u32).await?);
                }
            }
            UriKind::Artist | UriKind::User => {}
        }
    }
    let mut seen = HashSet::with_capacity(ids.len());
    ids.retain(|id| seen.insert(*id));
    // The albums' rows are read already; the other tracks are read once.
    let missing: Vec<Id> = ids.iter().copied().filter(|id| !rows.contains_key(id)).collect();
    for chunk in missing.chunks(LOOKUP_CHUNK) {
        rows.extend(store.tracks(chunk).await?.into_iter().map(|row| (row.id, row)));
    }
    let playable: Vec<TrackRow> =
        ids.iter().filter_map(|id| rows.remove(id)).filter(|row| row.is_playable_in(&user.country)).collect();
    let total = playable.len();
    Ok(Resolved { tracks: playable.into_iter().take(MAX_TRACKS_PER_DEVICE).collect(), total })
}

/// Checks that each source exists and that the user may see it.
async fn check_sources(services: &Services, user: &Viewer, sources: &[Uri]) -> AppResult<()> {
    let store = &services.store;
    let tracks: Vec<Id> = sources.iter().filter(|uri| uri.kind == UriKind::Track).map(|uri| uri.id).collect();
    let albums: Vec<Id> = sources.iter().filter(|uri| uri.kind == UriKind::Album).map(|uri| uri.id).collect();
    let found: HashSet<Id> = store.tracks(&tracks).await?.iter().map(|row| row.id).collect();
    let found_albums: HashSet<Id> = store.albums(&albums).await?.iter().map(|row| row.album.id).collect();
    for source in sources {
        let exists = match source.kind {
            UriKind::Track => found.contains(&source.id),
            UriKind::Album => found_albums.contains(&source.id),
            UriKind::Playlist => match store.playlist(source.id).await? {
                Some(playlist) => store.may_see_playlist(user.id, &playlist).await?,
                None => false,
            },
            UriKind::Artist | UriKind::User => false,
        };
        if !exists {
            return Err(AppError::not_found(format!("no {} {}", source.kind.as_str(), source.id)));
        }
    }
    Ok(())
}

fn stored_sources(texts: &[String]) -> Vec<Uri> {
    texts.iter().filter_map(|text| Uri::parse(text)).collect()
}

#[derive(Serialize)]
struct DeviceKeeps {
    device_id: String,
    /// The sources the device keeps.
    uris: Vec<String>,
    /// The tracks they resolve to now (what the next sync gives, at most 10,000).
    tracks: usize,
}

/// `PUT /v1/me/offline/{device_id}` `{uris}`: the device keeps these too. Refused, changing
/// nothing, past 10,000 tracks on the device or for a sixth device.
async fn keep(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let user = &auth.user;
    premium_only(user)?;
    let device = device_id(&path)?;
    let added = uris_of(&body)?;
    check_sources(&services, user, &added).await?;
    let mut sources = stored_sources(&services.store.offline_sources(user.id, &device).await?);
    sources.extend(added.iter().copied());
    let resolved = resolve(&services, user, &sources).await?;
    if resolved.total > MAX_TRACKS_PER_DEVICE {
        return Err(AppError::bad_request(format!(
            "the device would keep {} tracks; at most {MAX_TRACKS_PER_DEVICE}",
            resolved.total
        ))
        .into());
    }
    let texts: Vec<String> = added.iter().map(Uri::to_string).collect();
    match services.store.add_offline_sources(user.id, &device, &texts, now_ms() as i64).await? {
        SourcesAdded::Added => {}
        SourcesAdded::TooManyDevices => {
            return Err(AppError::bad_request(format!(
                "at most {MAX_DEVICES_PER_USER} offline devices; remove one first (DELETE /v1/me/offline/{{device_id}})"
            ))
            .into());
        }
    }
    let uris = services.store.offline_sources(user.id, &device).await?;
    Ok(json(&DeviceKeeps { device_id: device, uris, tracks: resolved.tracks.len() }))
}

/// `DELETE /v1/me/offline/{device_id}` `{uris}`: the device keeps these no more (their tracks
/// leave at the next sync). Without a body: the device is forgotten, and its place is free.
async fn drop_sources(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let user = &auth.user;
    premium_only(user)?;
    let device = device_id(&path)?;
    if services.store.offline_device(user.id, &device).await?.is_none() {
        return Err(AppError::not_found(format!("no offline device {device}")).into());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        services.store.forget_offline_device(user.id, &device).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    let texts: Vec<String> = uris_of(&body)?.iter().map(Uri::to_string).collect();
    services.store.remove_offline_sources(user.id, &device, &texts).await?;
    let uris = services.store.offline_sources(user.id, &device).await?;
    let resolved = resolve(&services, user, &stored_sources(&uris)).await?;
    Ok(json(&DeviceKeeps { device_id: device, uris, tracks: resolved.tracks.len() }))
}

#[derive(Deserialize)]
struct SyncQuery {
    since: Option<String>,
}

#[derive(Serialize)]
struct Download {
    track_id: String,
    url: String,
    size_bytes: u64,
}

#[derive(Serialize)]
struct SyncAnswer {
    version: i64,
    add: Vec<Download>,
    remove: Vec<String>,
    license_expires_at_ms: u64,
    /// Segue's own: the sources resolve to more than 10,000 tracks; the first 10,000 are kept.
    truncated: bool,
}

/// `GET /v1/me/offline/{device_id}/sync?since=<version>`: what changed since that version.
async fn sync(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    path: web::Path<String>,
    query: web::Query<SyncQuery>,
) -> ApiResult<HttpResponse> {
    let user = &auth.user;
    premium_only(user)?;
    let device = device_id(&path)?;
    let since =
        match query.since.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<i64>().ok().filter(|since| *since >= 0).ok_or_else(|| {
                AppError::bad_request("since must be a version the server answered (an integer >= 0)")
            })?),
        };
    let store = &services.store;
    let licence_ms = services.config.offline_licence_ms;
    for _ in 0..SYNC_ATTEMPTS {
        let Some(state) = store.offline_device(user.id, &device).await? else {
            return Err(AppError::not_found(format!("no offline device {device}")).into());
        };
        let sources = stored_sources(&store.offline_sources(user.id, &device).await?);
        let resolved = resolve(&services, user, &sources).await?;
        let wanted: Vec<Id> = resolved.tracks.iter().map(|track| track.id).collect();
        let held = store.offline_held(user.id, &device).await?;
        let now = now_ms();
        let lapsed = has_lapsed(state.synced_at_ms.map(|at| at.max(0) as u64), now, licence_ms);
        let plan = plan_sync(&held, state.version, &wanted, since, lapsed);
        match store.write_offline_sync(user.id, &device, state.version, &plan, now as i64).await {
            Ok(()) => {}
            Err(error) if error.is_fenced() => continue,
            Err(error) => return Err(AppError::from(error).into()),
        }
        let base = base_url(&request, &services);
        let kbps = Quality::default().kbps_for(user.product);
        let rows: HashMap<Id, &TrackRow> = resolved.tracks.iter().map(|track| (track.id, track)).collect();
        let add = plan
            .add
            .iter()
            .filter_map(|id| rows.get(id))
            .map(|track| Download {
                track_id: track.id.to_string(),
                url: audio_url(&base, &services, track.id, kbps, user.id, now.saturating_add(DOWNLOAD_URL_TTL_MS)),
                size_bytes: wav_len(track.id, track.duration_ms, kbps),
            })
            .collect();
        return Ok(HttpResponse::Ok()
            // The URLs are credentials: no cache keeps them.
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(SyncAnswer {
                version: plan.version,
                add,
                remove: plan.remove.iter().map(Id::to_string).collect(),
                license_expires_at_ms: licence_expiry(now, licence_ms),
                truncated: resolved.total > MAX_TRACKS_PER_DEVICE,
            }));
    }
    Err(AppError::refusal(ErrorCode::Unavailable, "the device is being synced by another request; retry").into())
}

#[derive(Serialize)]
struct DeviceEntry {
    device_id: String,
    version: i64,
    synced_at_ms: Option<i64>,
    license_expires_at_ms: Option<u64>,
}

/// `GET /v1/me/offline`: the user's offline devices (at most five).
async fn devices(services: web::Data<Services>, AuthUser(auth): AuthUser) -> ApiResult<HttpResponse> {
    premium_only(&auth.user)?;
    let licence_ms = services.config.offline_licence_ms;
    let devices = services.store.offline_devices(auth.user.id).await?;
    let devices: Vec<DeviceEntry> = devices
        .into_iter()
        .map(|device| DeviceEntry {
            license_expires_at_ms: device.synced_at_ms.map(|at| licence_expiry(at.max(0) as u64, licence_ms)),
            device_id: device.device_id,
            version: device.version,
            synced_at_ms: device.synced_at_ms,
        })
        .collect();
    Ok(json(&serde_json::json!({ "devices": devices })))
}

/// Plays one report may carry.
const MAX_REPORTED_PLAYS: usize = 1_000;
/// How far in the future a reported play may start (clocks of devices differ).
const CLOCK_SKEW_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportedPlay {
    id: String,
    track_id: String,
    played_at_ms: u64,
    ms_played: u64,
    #[serde(default)]
    device_id: Option<String>,
}

#[derive(Deserialize)]
struct PlaysBody {
    plays: Vec<ReportedPlay>,
}

#[derive(Serialize)]
struct Rejected {
    id: String,
    /// `too_short` (under the stream threshold: not a stream), `future`, `too_old` (past the
    /// licence), `unknown_track`, `longer_than_track`, `unknown_device`, `bad_id`.
    reason: &'static str,
}

#[derive(Serialize)]
struct PlaysAnswer {
    /// Counted now.
    accepted: usize,
    /// Counted before (the same id was reported already, or twice in this report).
    duplicates: usize,
    rejected: Vec<Rejected>,
}

/// `POST /v1/me/player/plays` `{"plays": [{"id", "track_id", "played_at_ms", "ms_played",
/// "device_id"?}]}` (Segue's own; premium only): plays made offline. A play counts, once by its
/// id, when `ms_played` reaches the stream threshold (`--stream-count-ms`), it started no later
/// than now and within the licence's span; anything else is listed in `rejected` with why.
async fn report_plays(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let user = &auth.user;
    premium_only(user)?;
    let body: PlaysBody = serde_json::from_slice(&body).map_err(|error| {
        AppError::bad_request(format!(
            "the body must be {{\"plays\": [{{\"id\", \"track_id\", \"played_at_ms\", \"ms_played\", \"device_id\"?}}]}}: {error}"
        ))
    })?;
    if body.plays.is_empty() || body.plays.len() > MAX_REPORTED_PLAYS {
        return Err(AppError::bad_request(format!("give 1 to {MAX_REPORTED_PLAYS} plays")).into());
    }
    let store = &services.store;
    let ids: Vec<Id> = body.plays.iter().filter_map(|play| Uri::parse_track(&play.track_id)).collect();
    let mut durations: HashMap<Id, u64> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        durations.extend(store.tracks(chunk).await?.iter().map(|row| (row.id, u64::from(row.duration_ms))));
    }
    let devices: HashSet<String> = store.offline_devices(user.id).await?.into_iter().map(|d| d.device_id).collect();
    let now = now_ms();
    let oldest = now.saturating_sub(services.config.offline_licence_ms);
    let threshold = services.config.stream_count_ms;
    let mut rejected = Vec::new();
    let mut records: Vec<PlayRecord> = Vec::with_capacity(body.plays.len());
    let mut in_report: HashSet<String> = HashSet::with_capacity(body.plays.len());
    let mut duplicates = 0;
    for play in &body.plays {
        let track = Uri::parse_track(&play.track_id).and_then(|track| durations.get(&track).map(|d| (track, *d)));
        let verdict = match track {
            _ if !is_valid_device_id(&play.id) => Err("bad_id"),
            _ if play.device_id.as_ref().is_some_and(|device| !devices.contains(device)) => Err("unknown_device"),
            None => Err("unknown_track"),
            Some(_) if play.played_at_ms > now.saturating_add(CLOCK_SKEW_MS) => Err("future"),
            Some(_) if play.played_at_ms < oldest => Err("too_old"),
            Some((_, duration)) if play.ms_played > duration => Err("longer_than_track"),
            Some((_, duration)) if play.ms_played < threshold.min(duration) => Err("too_short"),
            Some((track, _)) => Ok(track),
        };
        let track = match verdict {
            Ok(track) => track,
            Err(reason) => {
                rejected.push(Rejected { id: play.id.chars().take(64).collect(), reason });
                continue;
            }
        };
        let id = format!("offline:{}:{}", user.id, play.id);
        if !in_report.insert(id.clone()) {
            duplicates += 1;
            continue;
        }
        records.push(PlayRecord {
            id,
            user: user.id,
            track,
            context_uri: None,
            played_at_ms: play.played_at_ms.min(i64::MAX as u64) as i64,
            ms_played: play.ms_played as i64,
            end_reason: Some("offline".to_string()),
            private: false,
        });
    }
    let accepted = store.insert_reported_plays(&records, i64::try_from(now).unwrap_or(i64::MAX)).await?.len();
    duplicates += records.len() - accepted;
    Ok(json(&PlaysAnswer { accepted, duplicates, rejected }))
}
