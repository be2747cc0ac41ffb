//! Playlists over REST: creating one, and reading playlists and their items. (Editing items,
//! collaborators and live `playlist_changed` events belong to the playlist actor, not built yet.)
//! `/items` is served as an alias of `/tracks`, and every item carries its track under both
//! `track` and `item`, as clients of before and after the Web API's 2026 rename expect.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::catalog::{PageQuery, path_id};
use super::objects::{self, Links, paging};
use super::{ApiResult, AuthUser, base_url, json};
use crate::clock::now_ms;
use crate::domain::Viewer;
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::{Id, UriKind};
use crate::storage::playlists::{NewPlaylist, PlaylistRow};

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/playlists", web::post().to(create_mine))
        .route("/v1/me/playlists", web::get().to(mine))
        .route("/v1/users/{user_id}/playlists", web::post().to(create_for_user))
        .route("/v1/users/{user_id}/playlists", web::get().to(of_user))
        .route("/v1/playlists/{id}", web::get().to(playlist))
        .route("/v1/playlists/{id}/tracks", web::get().to(items))
        .route("/v1/playlists/{id}/items", web::get().to(items));
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
