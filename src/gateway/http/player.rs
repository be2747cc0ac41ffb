//! The REST player (`/v1/me/player…`): the same session as the Connect socket. Every command
//! here goes through the user's session actor like a socket request, so a pause over REST is a
//! `state` event on every socket of that user.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use segue_protocol::request::{self, Validate};
use segue_protocol::{RepeatMode, Request, SessionState};

use super::catalog::page_limit;
use super::objects::{self, Links};
use super::{ApiResult, AuthUser, base_url, json};
use crate::clock::now_ms;
use crate::domain::Viewer;
use crate::error::AppError;
use crate::gateway::Services;
use crate::gateway::requests::command_for;
use crate::ids::{Id, Uri};
use crate::storage::plays::HistoryCursor;

/// Runs a request through the user's session; `204` with the new seq in `Segue-Seq`.
async fn command(services: &Services, user: &Viewer, request: Request) -> ApiResult<HttpResponse> {
    let command = command_for(request, &services.resolver, user).await?;
    let executed = services.sessions.execute(user.id, None, command).await?;
    Ok(HttpResponse::NoContent().insert_header(("Segue-Seq", executed.seq.to_string())).finish())
}

fn validated<T: Validate>(body: T) -> Result<T, AppError> {
    body.validate().map_err(AppError::bad_request)?;
    Ok(body)
}

fn check_device_id(device_id: &Option<String>) -> Result<(), AppError> {
    match device_id {
        Some(id) if !request::is_valid_device_id(id) => {
            Err(AppError::bad_request("device_id must be 1..64 characters of [A-Za-z0-9_.-]"))
        }
        _ => Ok(()),
    }
}

#[derive(Deserialize, Default)]
struct DeviceQuery {
    device_id: Option<String>,
}

/// The body of `PUT /v1/me/player/play`; it may be absent.
#[derive(Deserialize, Default)]
struct PlayBody {
    context_uri: Option<String>,
    uris: Option<Vec<String>>,
    offset: Option<request::Offset>,
    position_ms: Option<u32>,
}

async fn play(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<DeviceQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: PlayBody = if body.iter().all(u8::is_ascii_whitespace) {
        PlayBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| AppError::bad_request(format!("invalid JSON body: {error}")))?
    };
    let play = validated(request::Play {
        uris: body.uris,
        context_uri: body.context_uri,
        offset: body.offset,
        position_ms: body.position_ms,
        device_id: query.into_inner().device_id,
    })?;
    command(&services, &auth.user, Request::Play(play)).await
}

/// A command that takes nothing but the optional `device_id`.
async fn bare(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<DeviceQuery>,
    request: Request,
) -> ApiResult<HttpResponse> {
    check_device_id(&query.device_id)?;
    command(&services, &auth.user, request).await
}

/// The handler of a [`bare`] command.
macro_rules! bare {
    ($request:expr) => {
        |services: web::Data<Services>, auth: AuthUser, query: web::Query<DeviceQuery>| {
            bare(services, auth, query, $request)
        }
    };
}

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/player", web::get().to(playback_state))
        .route("/v1/me/player", web::put().to(transfer))
        .route("/v1/me/player/currently-playing", web::get().to(currently_playing))
        .route("/v1/me/player/devices", web::get().to(devices))
        .route("/v1/me/player/play", web::put().to(play))
        .route("/v1/me/player/pause", web::put().to(bare!(Request::Pause)))
        .route("/v1/me/player/next", web::post().to(bare!(Request::Next)))
        .route("/v1/me/player/previous", web::post().to(bare!(Request::Previous)))
        .route("/v1/me/player/seek", web::put().to(seek))
        .route("/v1/me/player/repeat", web::put().to(repeat))
        .route("/v1/me/player/shuffle", web::put().to(shuffle))
        .route("/v1/me/player/volume", web::put().to(volume))
        .route("/v1/me/player/queue", web::post().to(queue_add))
        .route("/v1/me/player/queue", web::get().to(queue))
        .route("/v1/me/player/recently-played", web::get().to(recently_played));
}

#[derive(Deserialize)]
struct SeekQuery {
    position_ms: u32,
    device_id: Option<String>,
}

async fn seek(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<SeekQuery>,
) -> ApiResult<HttpResponse> {
    check_device_id(&query.device_id)?;
    command(&services, &auth.user, Request::Seek(request::Seek { position_ms: query.position_ms })).await
}

#[derive(Deserialize)]
struct StateQuery {
    state: String,
    device_id: Option<String>,
}

async fn repeat(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<StateQuery>,
) -> ApiResult<HttpResponse> {
    check_device_id(&query.device_id)?;
    let state =
        RepeatMode::parse(&query.state).ok_or_else(|| AppError::bad_request("state must be track, context or off"))?;
    command(&services, &auth.user, Request::Repeat(request::Repeat { state })).await
}

async fn shuffle(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<StateQuery>,
) -> ApiResult<HttpResponse> {
    check_device_id(&query.device_id)?;
    let state = match query.state.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::bad_request("state must be true or false").into()),
    };
    command(&services, &auth.user, Request::Shuffle(request::Shuffle { state })).await
}

#[derive(Deserialize)]
struct VolumeQuery {
    volume_percent: u8,
    device_id: Option<String>,
}

async fn volume(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<VolumeQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    check_device_id(&query.device_id)?;
    let volume = validated(request::Volume { percent: query.volume_percent, device_id: query.device_id })?;
    command(&services, &auth.user, Request::Volume(volume)).await
}

#[derive(Deserialize)]
struct QueueQuery {
    uri: String,
    device_id: Option<String>,
}

async fn queue_add(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    check_device_id(&query.device_id)?;
    command(&services, &auth.user, Request::QueueAdd(request::QueueAdd { uri: query.uri })).await
}

#[derive(Deserialize)]
struct TransferBody {
    device_ids: Vec<String>,
    play: Option<bool>,
}

async fn transfer(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    body: web::Json<TransferBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let [device_id] = <[String; 1]>::try_from(body.device_ids)
        .map_err(|_| AppError::bad_request("device_ids must hold exactly one device id"))?;
    check_device_id(&Some(device_id.clone()))?;
    command(&services, &auth.user, Request::Transfer(request::Transfer { device_id, play: body.play })).await
}

async fn devices(services: web::Data<Services>, AuthUser(auth): AuthUser) -> ApiResult<HttpResponse> {
    let state = services.sessions.state(auth.user.id).await?;
    #[derive(Serialize)]
    struct Devices {
        devices: Vec<objects::Device>,
    }
    let devices = state.devices.iter().filter(|d| d.online).map(objects::device).collect();
    Ok(json(&Devices { devices }))
}

#[derive(Serialize)]
struct Context {
    uri: String,
    href: String,
    external_urls: std::collections::BTreeMap<&'static str, String>,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn context(links: &Links, context_uri: Option<&str>) -> Option<Context> {
    let uri = Uri::parse(context_uri?)?;
    Some(Context {
        uri: uri.to_string(),
        href: links.href(uri.kind, uri.id),
        external_urls: links.external_urls(uri.kind, uri.id),
        kind: uri.kind.as_str(),
    })
}

#[derive(Serialize)]
struct Actions {
    disallows: std::collections::BTreeMap<&'static str, bool>,
}

#[derive(Serialize)]
struct CurrentlyPlaying {
    context: Option<Context>,
    timestamp: u64,
    progress_ms: u32,
    is_playing: bool,
    item: Option<objects::Track>,
    currently_playing_type: &'static str,
    actions: Actions,
}

/// What plays now, with its track object; `None` when nothing does.
async fn now_playing(
    services: &Services,
    links: &Links,
    user: &Viewer,
    state: &SessionState,
) -> Result<Option<CurrentlyPlaying>, AppError> {
    let Some(playback) = &state.playback else {
        return Ok(None);
    };
    let track_id = Id::parse(&playback.track_id).ok_or_else(AppError::internal)?;
    let rows = services.store.tracks(&[track_id]).await?;
    Ok(Some(CurrentlyPlaying {
        context: context(links, playback.context_uri.as_deref()),
        timestamp: playback.timestamp_ms,
        progress_ms: playback.position_at(now_ms()),
        is_playing: playback.is_playing,
        item: rows.first().map(|row| objects::track(links, row, &user.country)),
        currently_playing_type: "track",
        actions: Actions { disallows: Default::default() },
    }))
}

async fn playback_state(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
) -> ApiResult<HttpResponse> {
    let state = services.sessions.state(auth.user.id).await?;
    let active = state.devices.iter().find(|d| d.is_active);
    let links = Links::new(base_url(&request, &services));
    let (Some(active), Some(playing)) = (active, now_playing(&services, &links, &auth.user, &state).await?) else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let playback = state.playback.as_ref().expect("now_playing found playback");
    #[derive(Serialize)]
    struct PlaybackState {
        device: objects::Device,
        repeat_state: &'static str,
        shuffle_state: bool,
        #[serde(flatten)]
        playing: CurrentlyPlaying,
        /// Segue's own: the session's seq.
        seq: u64,
    }
    Ok(json(&PlaybackState {
        device: objects::device(active),
        repeat_state: playback.repeat.as_str(),
        shuffle_state: playback.shuffle,
        playing,
        seq: state.seq,
    }))
}

async fn currently_playing(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
) -> ApiResult<HttpResponse> {
    let state = services.sessions.state(auth.user.id).await?;
    let links = Links::new(base_url(&request, &services));
    match now_playing(&services, &links, &auth.user, &state).await? {
        Some(playing) => Ok(json(&playing)),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

async fn queue(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
) -> ApiResult<HttpResponse> {
    let state = services.sessions.state(auth.user.id).await?;
    let links = Links::new(base_url(&request, &services));
    let mut ids: Vec<Id> = state.queue.next.iter().filter_map(|id| Id::parse(id)).collect();
    let current = state.playback.as_ref().and_then(|p| Id::parse(&p.track_id));
    ids.extend(current);
    let rows = services.store.tracks(&ids).await?;
    let object =
        |id: &Id| rows.iter().find(|row| row.id == *id).map(|row| objects::track(&links, row, &auth.user.country));
    #[derive(Serialize)]
    struct Queue {
        currently_playing: Option<objects::Track>,
        queue: Vec<objects::Track>,
    }
    let queue = state.queue.next.iter().filter_map(|id| Id::parse(id)).filter_map(|id| object(&id)).collect();
    Ok(json(&Queue { currently_playing: current.as_ref().and_then(object), queue }))
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<u32>,
    before: Option<u64>,
    after: Option<u64>,
}

/// Counted plays outside private sessions, newest first, with the Web API's cursor paging: a
/// page before `before` (the newest by default) or after `after` (Unix milliseconds, never
/// both); `cursors.before` is the oldest play's instant, `cursors.after` the newest's, `next`
/// follows on in the same direction while pages are full.
async fn recently_played(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let at = |ms: u64| i64::try_from(ms).unwrap_or(i64::MAX);
    let cursor = match (query.before, query.after) {
        (Some(_), Some(_)) => return Err(AppError::bad_request("give before or after, not both").into()),
        (Some(before), None) => HistoryCursor::Before(at(before)),
        (None, Some(after)) => HistoryCursor::After(at(after)),
        (None, None) => HistoryCursor::Before(i64::MAX),
    };
    // Read your own plays: whatever the session staged is written first (or, past the flush's
    // deadline, while the database takes no writes, `UNAVAILABLE`).
    services.writer.flush().await?;
    let plays = services.store.recently_played(auth.user.id, cursor, limit).await?;
    let ids: Vec<Id> = plays.iter().map(|p| p.track).collect();
    let rows = services.store.tracks(&ids).await?;
    let links = Links::new(base_url(&request, &services));
    #[derive(Serialize)]
    struct Played {
        track: objects::Track,
        played_at: String,
        context: Option<Context>,
    }
    let items: Vec<Played> = plays
        .iter()
        .filter_map(|play| {
            let row = rows.iter().find(|row| row.id == play.track)?;
            Some(Played {
                track: objects::track(&links, row, &auth.user.country),
                played_at: objects::timestamp(play.played_at_ms),
                context: context(&links, play.context_uri.as_deref()),
            })
        })
        .collect();
    #[derive(Serialize)]
    struct Cursors {
        after: String,
        before: String,
    }
    #[derive(Serialize)]
    struct CursorPage {
        href: String,
        items: Vec<Played>,
        limit: u32,
        next: Option<String>,
        cursors: Option<Cursors>,
    }
    let url = format!("{}/v1/me/player/recently-played", links.base);
    let href = match cursor {
        HistoryCursor::Before(i64::MAX) => format!("{url}?limit={limit}"),
        HistoryCursor::Before(before) => format!("{url}?limit={limit}&before={before}"),
        HistoryCursor::After(after) => format!("{url}?limit={limit}&after={after}"),
    };
    let cursors = match (plays.first(), plays.last()) {
        (Some(newest), Some(oldest)) => {
            Some(Cursors { after: newest.played_at_ms.to_string(), before: oldest.played_at_ms.to_string() })
        }
        _ => None,
    };
    let next = cursors.as_ref().filter(|_| plays.len() == limit as usize).map(|cursors| match cursor {
        HistoryCursor::Before(_) => format!("{url}?limit={limit}&before={}", cursors.before),
        HistoryCursor::After(_) => format!("{url}?limit={limit}&after={}", cursors.after),
    });
    Ok(json(&CursorPage { href, items, limit, next, cursors }))
}
