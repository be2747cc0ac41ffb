//! Catalog reads: tracks, albums, artists, their audio features.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde::Serialize;

use super::objects::{self, Links, paging};
use super::{ApiResult, AuthUser, base_url, json};
use crate::catalog::resolve::parse_track_ref;
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::{Id, Uri, UriKind};
use crate::storage::catalog::AudioFeaturesRow;

/// Most ids one `GET /v1/tracks?ids=` takes.
const MAX_IDS: usize = 50;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/tracks", web::get().to(several_tracks))
        .route("/v1/tracks/{id}", web::get().to(one_track))
        .route("/v1/albums/{id}", web::get().to(album))
        .route("/v1/albums/{id}/tracks", web::get().to(album_tracks))
        .route("/v1/artists/{id}", web::get().to(artist))
        .route("/v1/artists/{id}/top-tracks", web::get().to(artist_top_tracks))
        .route("/v1/artists/{id}/albums", web::get().to(artist_albums))
        .route("/v1/albums", web::get().to(several_albums))
        .route("/v1/artists", web::get().to(several_artists))
        .route("/v1/audio-features", web::get().to(several_audio_features))
        .route("/v1/audio-features/{id}", web::get().to(one_audio_features));
}

/// `limit` and `offset` of a paged endpoint.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl PageQuery {
    /// The first page of the largest size.
    pub fn first() -> PageQuery {
        PageQuery { limit: Some(50), offset: Some(0) }
    }

    /// `(offset, limit)`: limit 1..=50 (default 20), offset default 0.
    pub fn resolve(&self) -> Result<(u32, u32), AppError> {
        Ok((self.offset.unwrap_or(0), page_limit(self.limit)?))
    }
}

/// A page's `limit`: 1..=50, 20 when absent.
pub fn page_limit(limit: Option<u32>) -> Result<u32, AppError> {
    let limit = limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(AppError::bad_request("limit must be within 1..50"));
    }
    Ok(limit)
}

/// The object, or `NOT_FOUND` naming what was missing.
fn found<T>(object: Option<T>, kind: &str, id: Id) -> Result<T, AppError> {
    object.ok_or_else(|| AppError::not_found(format!("no {kind} {id}")))
}

/// An id from a path: a bare id or a URI of either scheme.
pub(super) fn path_id(text: &str) -> Result<Id, AppError> {
    Id::parse(text)
        .or_else(|| Uri::parse(text).map(|uri| uri.id))
        .ok_or_else(|| AppError::bad_request(format!("invalid id {:?}: expected 22 base62 characters", shorten(text))))
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

async fn one_track(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    let rows = services.store.tracks(&[id]).await?;
    let row = rows.first().ok_or_else(|| AppError::not_found(format!("no track {id}")))?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&objects::track(&links, row, &auth.user.country)))
}

#[derive(Deserialize)]
struct IdsQuery {
    ids: String,
}

async fn several_tracks(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<IdsQuery>,
) -> ApiResult<HttpResponse> {
    let ids = query
        .ids
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| parse_track_ref(part.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(AppError::bad_request(format!("ids must name 1..{MAX_IDS} tracks")).into());
    }
    let rows = services.store.tracks(&ids).await?;
    let links = Links::new(base_url(&request, &services));
    // In the order asked, with null for an unknown id, as the Web API answers.
    let tracks: Vec<Option<objects::Track>> = ids
        .iter()
        .map(|id| rows.iter().find(|row| row.id == *id).map(|row| objects::track(&links, row, &auth.user.country)))
        .collect();
    #[derive(Serialize)]
    struct Tracks {
        tracks: Vec<Option<objects::Track>>,
    }
    Ok(json(&Tracks { tracks }))
}

pub(super) async fn album_track_page(
    services: &Services,
    links: &Links,
    album: Id,
    page: &PageQuery,
    country: &str,
) -> Result<objects::Paging<objects::SimplifiedTrack>, AppError> {
    let (offset, limit) = page.resolve()?;
    let rows = services.store.album_tracks(album).await?;
    let total = rows.len() as u64;
    let items = rows
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|row| objects::simplified_track(links, row, country))
        .collect();
    let url = format!("{}/v1/albums/{album}/tracks", links.base);
    Ok(paging(&url, items, offset, limit, total))
}

async fn album(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    let row = found(services.store.album(id).await?, "album", id)?;
    let links = Links::new(base_url(&request, &services));
    let tracks = album_track_page(&services, &links, id, &PageQuery::first(), &auth.user.country).await?;
    Ok(json(&objects::album(&links, &row, tracks)))
}

async fn album_tracks(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    found(services.store.album(id).await?, "album", id)?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&album_track_page(&services, &links, id, &page, &auth.user.country).await?))
}

async fn artist(
    request: HttpRequest,
    services: web::Data<Services>,
    _auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    let row = found(services.store.artist(id).await?, "artist", id)?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&objects::artist(&links, &row)))
}

async fn artist_top_tracks(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    found(services.store.artist(id).await?, "artist", id)?;
    let rows = services.store.artist_top_tracks(id, 10).await?;
    let links = Links::new(base_url(&request, &services));
    #[derive(Serialize)]
    struct TopTracks {
        tracks: Vec<objects::Track>,
    }
    let tracks = rows.iter().map(|row| objects::track(&links, row, &auth.user.country)).collect();
    Ok(json(&TopTracks { tracks }))
}

/// Ids from `?ids=a,b,…` (ids or URIs), 1..`max` of them.
fn query_ids(text: &str, max: usize) -> Result<Vec<Id>, AppError> {
    let ids = text
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| path_id(part.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() || ids.len() > max {
        return Err(AppError::bad_request(format!("ids must name 1..{max} items")));
    }
    Ok(ids)
}

async fn artist_albums(
    request: HttpRequest,
    services: web::Data<Services>,
    _auth: AuthUser,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    found(services.store.artist(id).await?, "artist", id)?;
    let (offset, limit) = page.resolve()?;
    let (rows, total) = services.store.artist_albums(id, limit, offset).await?;
    let links = Links::new(base_url(&request, &services));
    let items = rows.iter().map(|row| objects::simplified_album(&links, &row.album, &row.artist)).collect();
    Ok(json(&paging(&format!("{}/v1/artists/{id}/albums", links.base), items, offset, limit, total)))
}

async fn several_albums(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<IdsQuery>,
) -> ApiResult<HttpResponse> {
    let ids = query_ids(&query.ids, 20)?;
    let rows = services.store.albums(&ids).await?;
    let links = Links::new(base_url(&request, &services));
    let mut albums = Vec::with_capacity(ids.len());
    for id in &ids {
        albums.push(match rows.iter().find(|row| row.album.id == *id) {
            Some(row) => {
                let tracks = album_track_page(&services, &links, *id, &PageQuery::first(), &auth.user.country).await?;
                Some(objects::album(&links, row, tracks))
            }
            None => None,
        });
    }
    #[derive(Serialize)]
    struct Albums {
        albums: Vec<Option<objects::Album>>,
    }
    Ok(json(&Albums { albums }))
}

async fn several_artists(
    request: HttpRequest,
    services: web::Data<Services>,
    _auth: AuthUser,
    query: web::Query<IdsQuery>,
) -> ApiResult<HttpResponse> {
    let ids = query_ids(&query.ids, MAX_IDS)?;
    let rows = services.store.artists(&ids).await?;
    let links = Links::new(base_url(&request, &services));
    let artists =
        ids.iter().map(|id| rows.iter().find(|row| row.id == *id).map(|row| objects::artist(&links, row))).collect();
    #[derive(Serialize)]
    struct Artists {
        artists: Vec<Option<objects::Artist>>,
    }
    Ok(json(&Artists { artists }))
}

/// The Web API's audio-features object.
#[derive(Serialize)]
struct AudioFeatures {
    acousticness: f64,
    analysis_url: String,
    danceability: f64,
    duration_ms: u32,
    energy: f64,
    id: String,
    instrumentalness: f64,
    key: i64,
    liveness: f64,
    loudness: f64,
    mode: i64,
    speechiness: f64,
    tempo: f64,
    time_signature: i64,
    track_href: String,
    #[serde(rename = "type")]
    kind: &'static str,
    uri: String,
    valence: f64,
}

fn audio_features(links: &Links, row: &AudioFeaturesRow) -> AudioFeatures {
    AudioFeatures {
        acousticness: row.acousticness,
        analysis_url: format!("{}/v1/audio-analysis/{}", links.base, row.id),
        danceability: row.danceability,
        duration_ms: row.duration_ms,
        energy: row.energy,
        id: row.id.to_string(),
        instrumentalness: row.instrumentalness,
        key: row.key,
        liveness: row.liveness,
        loudness: row.loudness,
        mode: row.mode,
        speechiness: row.speechiness,
        tempo: row.tempo,
        time_signature: row.time_signature,
        track_href: links.href(UriKind::Track, row.id),
        kind: "audio_features",
        uri: Uri::new(UriKind::Track, row.id).to_string(),
        valence: row.valence,
    }
}

async fn several_audio_features(
    request: HttpRequest,
    services: web::Data<Services>,
    _auth: AuthUser,
    query: web::Query<IdsQuery>,
) -> ApiResult<HttpResponse> {
    let ids = query_ids(&query.ids, 100)?;
    let rows = services.store.audio_features(&ids).await?;
    let links = Links::new(base_url(&request, &services));
    let audio_features =
        ids.iter().map(|id| rows.iter().find(|row| row.id == *id).map(|row| audio_features(&links, row))).collect();
    #[derive(Serialize)]
    struct Several {
        audio_features: Vec<Option<AudioFeatures>>,
    }
    Ok(json(&Several { audio_features }))
}

async fn one_audio_features(
    request: HttpRequest,
    services: web::Data<Services>,
    _auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    let rows = services.store.audio_features(&[id]).await?;
    let row = rows.first().ok_or_else(|| AppError::not_found(format!("no audio features for track {id}")))?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&audio_features(&links, row)))
}
