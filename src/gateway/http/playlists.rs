//! Playlists over REST: creating one, reading playlists and their items, and editing them after
//! the Web API: adding (`uris`, `tracks` or `items` in the body, a bare JSON array, or
//! `?uris=`; `position` in the body or the query), removing (by URI, every occurrence or at
//! `positions`), reordering a range, replacing every item, the details, and collaborators
//! (Segue's own; the owner only). `/items` is served as an alias of `/tracks`, and every item
//! carries its track under both `track` and `item`, as clients of before and after the Web
//! API's 2026 rename expect.
//!
//! Every edit goes through the playlist's live actor (`actors::playlists`), the same one the
//! socket's `playlist_edit` reaches, so socket subscribers see REST edits as `playlist_changed`.
//! A `snapshot_id` that is not the current one is handled as `playlist::webapi` says: removals
//! by URI apply to the playlist as it is, removals at positions apply when the positions still
//! hold their URIs (else `400`), a reorder on a stale snapshot is `409 CONFLICT`. At most
//! [`MAX_URIS`] URIs a request, at most 10,000 items a playlist (`400` past it).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::catalog::{PageQuery, path_id};
use super::objects::{self, Links, paging};
use super::{ApiResult, AuthUser, base_url, json};
use crate::actors::playlists::EditRequest;
use crate::clock::now_ms;
use crate::domain::Viewer;
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::{Id, Uri, UriKind};
use crate::playlist::webapi::{RemoveTrack, WebEdit};
use crate::storage::playlists::{NewPlaylist, PlaylistRow};

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/playlists", web::post().to(create_mine))
        .route("/v1/me/playlists", web::get().to(mine))
        .route("/v1/users/{user_id}/playlists", web::post().to(create_for_user))
        .route("/v1/users/{user_id}/playlists", web::get().to(of_user))
        .route("/v1/playlists/{id}", web::get().to(playlist))
        .route("/v1/playlists/{id}", web::put().to(change_details))
        .route("/v1/playlists/{id}/collaborators", web::post().to(add_collaborator))
        .route("/v1/playlists/{id}/collaborators/{user_id}", web::delete().to(remove_collaborator));
    for path in ["/v1/playlists/{id}/tracks", "/v1/playlists/{id}/items"] {
        app.route(path, web::get().to(items))
            .route(path, web::post().to(add_items))
            .route(path, web::delete().to(remove_items))
            .route(path, web::put().to(reorder_or_replace_items));
    }
}

/// The most URIs one add, removal or replacement may carry (the Web API's limit).
pub const MAX_URIS: usize = 100;

/// The body of a request as JSON; an empty body is `null`.
fn json_body(body: &web::Bytes) -> Result<serde_json::Value, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(body).map_err(|error| AppError::bad_request(format!("the body is not valid JSON: {error}")))
}

/// A track URI (or id) from a string or from an object `{"uri": …}`.
fn track_of(value: &serde_json::Value) -> Result<Id, AppError> {
    let text = match value {
        serde_json::Value::String(text) => text.as_str(),
        serde_json::Value::Object(object) => object
            .get("uri")
            .and_then(|uri| uri.as_str())
            .ok_or_else(|| AppError::bad_request("each item must be a track URI or an object with a `uri`"))?,
        _ => return Err(AppError::bad_request("each item must be a track URI or an object with a `uri`")),
    };
    Uri::parse_track(text).ok_or_else(|| {
        AppError::bad_request(format!("{:?} is not a track URI", text.chars().take(80).collect::<String>()))
    })
}

fn tracks_of(values: &[serde_json::Value]) -> Result<Vec<Id>, AppError> {
    if values.len() > MAX_URIS {
        return Err(AppError::bad_request(format!("at most {MAX_URIS} URIs a request, got {}", values.len())));
    }
    values.iter().map(track_of).collect()
}

/// `?uris=a,b` as tracks.
fn query_tracks(uris: &str) -> Result<Vec<Id>, AppError> {
    let values: Vec<serde_json::Value> =
        uris.split(',').filter(|uri| !uri.trim().is_empty()).map(|uri| uri.trim().into()).collect();
    tracks_of(&values)
}

/// The list under the first of `uris`, `tracks`, `items` the object has.
fn listed(object: &serde_json::Map<String, serde_json::Value>) -> Result<Option<&[serde_json::Value]>, AppError> {
    for key in ["uris", "tracks", "items"] {
        if let Some(value) = object.get(key) {
            return match value {
                serde_json::Value::Array(values) => Ok(Some(values)),
                _ => Err(AppError::bad_request(format!("`{key}` must be an array"))),
            };
        }
    }
    Ok(None)
}

fn optional_u32(object: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<Option<u32>, AppError> {
    match object.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| AppError::bad_request(format!("`{key}` must be a non-negative integer"))),
    }
}

fn optional_snapshot(object: &serde_json::Map<String, serde_json::Value>) -> Result<Option<String>, AppError> {
    match object.get("snapshot_id") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(snapshot)) => Ok(Some(snapshot.clone())),
        Some(_) => Err(AppError::bad_request("`snapshot_id` must be a string")),
    }
}

#[derive(Deserialize)]
struct EditQuery {
    #[serde(default)]
    uris: Option<String>,
    #[serde(default)]
    position: Option<u32>,
}

#[derive(serde::Serialize)]
struct SnapshotBody {
    snapshot_id: String,
}

async fn edit(
    services: &Services,
    user: &Viewer,
    id: &str,
    edit: WebEdit,
    snapshot_id: Option<String>,
) -> ApiResult<String> {
    let playlist = path_id(id)?;
    Ok(services.playlists.edit(user.id, playlist, EditRequest::Web { edit, snapshot_id }).await?)
}

/// `POST /v1/playlists/{id}/tracks` → 201 `{snapshot_id}`.
async fn add_items(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    query: web::Query<EditQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (tracks, position) = match json_body(&body)? {
        serde_json::Value::Array(values) => (tracks_of(&values)?, query.position),
        serde_json::Value::Object(object) => match listed(&object)? {
            Some(values) => (tracks_of(values)?, optional_u32(&object, "position")?.or(query.position)),
            None => match &query.uris {
                Some(uris) => (query_tracks(uris)?, optional_u32(&object, "position")?.or(query.position)),
                None => return Err(AppError::bad_request("give the tracks as `uris` (body or query)").into()),
            },
        },
        serde_json::Value::Null => match &query.uris {
            Some(uris) => (query_tracks(uris)?, query.position),
            None => return Err(AppError::bad_request("give the tracks as `uris` (body or query)").into()),
        },
        _ => return Err(AppError::bad_request("the body must be an object or an array of URIs").into()),
    };
    if tracks.is_empty() {
        return Err(AppError::bad_request("give at least one track URI").into());
    }
    let snapshot_id = edit(&services, &auth.user, &id, WebEdit::Add { tracks, position }, None).await?;
    Ok(HttpResponse::Created().json(SnapshotBody { snapshot_id }))
}

/// `DELETE /v1/playlists/{id}/tracks` `{tracks|items: [{uri, positions?}], snapshot_id?}`.
async fn remove_items(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let serde_json::Value::Object(object) = json_body(&body)? else {
        return Err(AppError::bad_request("the body must be an object with `tracks` (or `items`)").into());
    };
    let values = listed(&object)?.ok_or_else(|| AppError::bad_request("give the tracks to remove as `tracks`"))?;
    if values.is_empty() || values.len() > MAX_URIS {
        return Err(AppError::bad_request(format!("give 1..{MAX_URIS} tracks to remove")).into());
    }
    let tracks = values
        .iter()
        .map(|value| {
            let positions = match value.get("positions") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Array(positions)) => Some(
                    positions
                        .iter()
                        .map(|p| p.as_u64().and_then(|p| u32::try_from(p).ok()))
                        .collect::<Option<Vec<u32>>>()
                        .ok_or_else(|| AppError::bad_request("`positions` must be non-negative integers"))?,
                ),
                Some(_) => return Err(AppError::bad_request("`positions` must be an array")),
            };
            Ok(RemoveTrack { track: track_of(value)?, positions })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let snapshot_id = optional_snapshot(&object)?;
    let snapshot_id = edit(&services, &auth.user, &id, WebEdit::Remove { tracks }, snapshot_id).await?;
    Ok(json(&SnapshotBody { snapshot_id }))
}

/// `PUT /v1/playlists/{id}/tracks`: a reorder (`range_start`, `insert_before`, `range_length?`,
/// `snapshot_id?`) or a replacement (`uris`, in the body or the query).
async fn reorder_or_replace_items(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    query: web::Query<EditQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let object = match json_body(&body)? {
        serde_json::Value::Object(object) => object,
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Array(values) => {
            let tracks = tracks_of(&values)?;
            let snapshot_id = edit(&services, &auth.user, &id, WebEdit::Replace { tracks }, None).await?;
            return Ok(json(&SnapshotBody { snapshot_id }));
        }
        _ => return Err(AppError::bad_request("the body must be an object").into()),
    };
    let snapshot_id = optional_snapshot(&object)?;
    let web_edit = if object.contains_key("range_start") {
        let range_start = optional_u32(&object, "range_start")?
            .ok_or_else(|| AppError::bad_request("`range_start` must be a non-negative integer"))?;
        let insert_before = optional_u32(&object, "insert_before")?
            .ok_or_else(|| AppError::bad_request("a reorder needs `insert_before`"))?;
        let range_length = optional_u32(&object, "range_length")?.unwrap_or(1);
        WebEdit::Reorder { range_start, insert_before, range_length }
    } else if let Some(values) = listed(&object)? {
        WebEdit::Replace { tracks: tracks_of(values)? }
    } else if let Some(uris) = &query.uris {
        WebEdit::Replace { tracks: query_tracks(uris)? }
    } else {
        return Err(
            AppError::bad_request("give `range_start` and `insert_before` (reorder) or `uris` (replace)").into()
        );
    };
    let snapshot_id = edit(&services, &auth.user, &id, web_edit, snapshot_id).await?;
    Ok(json(&SnapshotBody { snapshot_id }))
}

#[derive(Deserialize)]
struct DetailsBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
    #[serde(default)]
    collaborative: Option<bool>,
}

/// `PUT /v1/playlists/{id}`: the details; 200 with an empty body, as the Web API answers.
async fn change_details(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let details: DetailsBody = match json_body(&body)? {
        serde_json::Value::Null => return Err(AppError::bad_request("give the details to change").into()),
        value => serde_json::from_value(value).map_err(|error| AppError::bad_request(format!("details: {error}")))?,
    };
    let DetailsBody { name, description, public, collaborative } = details;
    let name = name.map(|name| name.trim().to_string());
    let playlist = path_id(&id)?;
    let web_edit = WebEdit::Details { name, description, public, collaborative };
    services.playlists.edit(auth.user.id, playlist, EditRequest::Web { edit: web_edit, snapshot_id: None }).await?;
    if let Ok(Some(row)) = services.store.playlist(playlist).await
        && let Err(error) = crate::catalog::indexing::index_playlist(&services.search, &row).await
    {
        tracing::warn!(%error, "a changed playlist is not in the search index yet");
    }
    Ok(HttpResponse::Ok().finish())
}

#[derive(Deserialize)]
struct CollaboratorBody {
    user_id: String,
}

/// `POST /v1/playlists/{id}/collaborators` `{user_id}` (Segue's own; the owner only): 201 when
/// the user became a collaborator, 200 when they already were.
async fn add_collaborator(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: CollaboratorBody = serde_json::from_value(json_body(&body)?)
        .map_err(|error| AppError::bad_request(format!("give the collaborator as `user_id`: {error}")))?;
    let user = path_id(&body.user_id)?;
    if services.store.users_by_ids(&[user]).await?.is_empty() {
        return Err(AppError::not_found(format!("no user {user}")).into());
    }
    let added = services.playlists.set_collaborator(auth.user.id, path_id(&id)?, user, true).await?;
    let body = serde_json::json!({ "user_id": user.to_string() });
    Ok(if added { HttpResponse::Created().json(body) } else { HttpResponse::Ok().json(body) })
}

/// `DELETE /v1/playlists/{id}/collaborators/{user_id}` (Segue's own; the owner only): 204.
async fn remove_collaborator(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    services.playlists.set_collaborator(auth.user.id, path_id(&id)?, path_id(&user_id)?, false).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct NewPlaylistBody {
    name: String,
    #[serde(default)]
    public: Option<bool>,
    #[serde(default)]
    collaborative: Option<bool>,
    #[serde(default)]
    description: Option<String>,
}

async fn create(
    request: &HttpRequest,
    services: &Services,
    user: &Viewer,
    body: NewPlaylistBody,
) -> ApiResult<HttpResponse> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::bad_request("name must be 1..200 characters").into());
    }
    let description = body.description.unwrap_or_default();
    if description.chars().count() > 300 {
        return Err(AppError::bad_request("description must be at most 300 characters").into());
    }
    let collaborative = body.collaborative.unwrap_or(false);
    let public = body.public.unwrap_or(!collaborative);
    if public && collaborative {
        return Err(AppError::bad_request("a collaborative playlist cannot be public").into());
    }
    let details = NewPlaylist { owner: user.id, name, description: &description, public, collaborative };
    let id = services.store.create_playlist(&details, now_ms() as i64).await?;
    let row = services.store.playlist(id).await?.ok_or_else(AppError::internal)?;
    if let Err(error) = crate::catalog::indexing::index_playlist(&services.search, &row).await {
        // The playlist exists; the periodic sync will index it.
        tracing::warn!(%error, "a new playlist is not in the search index yet");
    }
    let links = Links::new(base_url(request, services));
    Ok(HttpResponse::Created().json(full_playlist(services, &links, &row, user, &PageQuery::first()).await?))
}

async fn create_mine(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    body: web::Json<NewPlaylistBody>,
) -> ApiResult<HttpResponse> {
    create(&request, &services, &auth.user, body.into_inner()).await
}

async fn create_for_user(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    user_id: web::Path<String>,
    body: web::Json<NewPlaylistBody>,
) -> ApiResult<HttpResponse> {
    if path_id(&user_id)? != auth.user.id {
        return Err(
            AppError::new(segue_protocol::ErrorCode::Forbidden, "playlists are created for yourself only").into()
        );
    }
    create(&request, &services, &auth.user, body.into_inner()).await
}

/// The playlist if `user` may see it; a private playlist of someone else is `NOT_FOUND`.
async fn visible(services: &Services, user: &Viewer, id: Id) -> Result<PlaylistRow, AppError> {
    let not_found = || AppError::not_found(format!("no playlist {id}"));
    let row = services.store.playlist(id).await?.ok_or_else(not_found)?;
    if !services.store.may_see_playlist(user.id, &row).await? {
        return Err(not_found());
    }
    Ok(row)
}

async fn item_page(
    services: &Services,
    links: &Links,
    row: &PlaylistRow,
    user: &Viewer,
    page: &PageQuery,
) -> Result<objects::Paging<objects::PlaylistItem>, AppError> {
    let (offset, limit) = page.resolve()?;
    let (items, total) = services.store.playlist_items(row.id, limit, offset).await?;
    let track_ids: Vec<Id> = items.iter().map(|item| item.track_id).collect();
    let tracks = services.store.tracks(&track_ids).await?;
    let adders: Vec<Id> = items.iter().filter_map(|item| item.added_by).collect();
    let users = services.store.users_by_ids(&adders).await?;
    let items = items
        .iter()
        .map(|item| {
            let track =
                || tracks.iter().find(|t| t.id == item.track_id).map(|t| objects::track(links, t, &user.country));
            let added_by = item
                .added_by
                .and_then(|id| users.iter().find(|u| u.id == id))
                .map(|u| objects::public_user(links, u.id, &u.display_name, None));
            objects::PlaylistItem {
                added_at: objects::timestamp(item.added_at_ms),
                added_by,
                is_local: false,
                track: track(),
                item: track(),
            }
        })
        .collect();
    let url = format!("{}/tracks", links.href(UriKind::Playlist, row.id));
    Ok(paging(&url, items, offset, limit, total))
}

/// A full playlist object with the first page of its items, under `tracks` and `items`.
async fn full_playlist(
    services: &Services,
    links: &Links,
    row: &PlaylistRow,
    user: &Viewer,
    page: &PageQuery,
) -> Result<serde_json::Value, AppError> {
    let mut object =
        serde_json::to_value(objects::simplified_playlist(links, row)).map_err(|_| AppError::internal())?;
    let page =
        serde_json::to_value(item_page(services, links, row, user, page).await?).map_err(|_| AppError::internal())?;
    object["tracks"] = page.clone();
    object["items"] = page;
    object["followers"] = serde_json::json!({ "href": null, "total": row.followers });
    Ok(object)
}

async fn playlist(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = visible(&services, &auth.user, path_id(&id)?).await?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&full_playlist(&services, &links, &row, &auth.user, &PageQuery::first()).await?))
}

async fn items(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let row = visible(&services, &auth.user, path_id(&id)?).await?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&item_page(&services, &links, &row, &auth.user, &page).await?))
}

/// A page of `owner`'s playlists as `viewer` may see them.
async fn owned(
    request: &HttpRequest,
    services: &Services,
    viewer: &Viewer,
    owner: Id,
    page: &PageQuery,
    url: String,
) -> ApiResult<HttpResponse> {
    let (offset, limit) = page.resolve()?;
    // Another user sees only the public ones (and their count).
    let (rows, total) = services.store.owned_playlists(owner, owner != viewer.id, limit, offset).await?;
    let links = Links::new(base_url(request, services));
    let items = rows.iter().map(|row| objects::simplified_playlist(&links, row)).collect();
    Ok(json(&paging(&format!("{}{url}", links.base), items, offset, limit, total)))
}

async fn mine(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    owned(&request, &services, &auth.user, auth.user.id, &page, "/v1/me/playlists".into()).await
}

async fn of_user(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    user_id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let owner = path_id(&user_id)?;
    let url = format!("/v1/users/{owner}/playlists");
    owned(&request, &services, &auth.user, owner, &page, url).await
}
