//! The user's library and follows: the Web API's 2026 `/v1/me/library` endpoints (URIs of any
//! kind), the older per-kind forms (`/v1/me/tracks`, `/v1/me/albums`, `/v1/me/following`,
//! `/v1/playlists/{id}/followers`), and `GET /v1/users/{id}`. All of them are one set of
//! collections in the store ([`Collection`]).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::catalog::{PageQuery, page_limit, path_id};
use super::objects::{self, Links, paging};
use super::{ApiResult, AuthUser, base_url, json};
use crate::clock::now_ms;
use crate::domain::Viewer;
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::{Id, Uri, UriKind};
use crate::storage::library::Collection;

/// Most items one call may name.
const MAX_ITEMS: usize = 50;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/library", web::put().to(library_add))
        .route("/v1/me/library", web::delete().to(library_remove))
        .route("/v1/me/library/contains", web::get().to(library_contains))
        .route("/v1/me/tracks", web::get().to(saved_tracks))
        .route("/v1/me/tracks", web::put().to(save_tracks))
        .route("/v1/me/tracks", web::delete().to(unsave_tracks))
        .route("/v1/me/tracks/contains", web::get().to(tracks_contain))
        .route("/v1/me/albums", web::get().to(saved_albums))
        .route("/v1/me/albums", web::put().to(save_albums))
        .route("/v1/me/albums", web::delete().to(unsave_albums))
        .route("/v1/me/albums/contains", web::get().to(albums_contain))
        .route("/v1/me/following", web::get().to(following))
        .route("/v1/me/following", web::put().to(follow))
        .route("/v1/me/following", web::delete().to(unfollow))
        .route("/v1/me/following/contains", web::get().to(following_contains))
        .route("/v1/playlists/{id}/followers", web::put().to(follow_playlist))
        .route("/v1/playlists/{id}/followers", web::delete().to(unfollow_playlist))
        .route("/v1/playlists/{id}/followers/contains", web::get().to(playlist_followers_contain))
        .route("/v1/users/{id}", web::get().to(user));
}

fn collection_of(kind: UriKind) -> Collection {
    match kind {
        UriKind::Track => Collection::SavedTracks,
        UriKind::Album => Collection::SavedAlbums,
        UriKind::Artist => Collection::FollowedArtists,
        UriKind::User => Collection::FollowedUsers,
        UriKind::Playlist => Collection::FollowedPlaylists,
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

/// Splits a comma-separated list, at most [`MAX_ITEMS`], at least one.
fn split_list(text: &str, what: &str) -> Result<Vec<String>, AppError> {
    let items: Vec<String> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(AppError::bad_request(format!("{what} must name 1..{MAX_ITEMS} items")));
    }
    Ok(items)
}

/// `uris=a,b,…` of any kind, in order.
fn parse_uris(text: &str) -> Result<Vec<Uri>, AppError> {
    split_list(text, "uris")?
        .iter()
        .map(|uri| Uri::parse(uri).ok_or_else(|| AppError::bad_request(format!("not a URI: {:?}", shorten(uri)))))
        .collect()
}

/// `ids=a,b,…` (ids or URIs of `kind`), in order.
fn parse_ids(text: &str, kind: UriKind) -> Result<Vec<Id>, AppError> {
    split_list(text, "ids")?
        .iter()
        .map(|item| {
            Id::parse(item)
                .or_else(|| Uri::parse(item).filter(|uri| uri.kind == kind).map(|uri| uri.id))
                .ok_or_else(|| AppError::bad_request(format!("not a {} id: {:?}", kind.as_str(), shorten(item))))
        })
        .collect()
}

/// Checks that the items exist (and, for users and playlists, may be followed by `user`).
async fn check_items(services: &Services, user: &Viewer, collection: Collection, ids: &[Id]) -> Result<(), AppError> {
    if collection == Collection::FollowedUsers && ids.contains(&user.id) {
        return Err(AppError::bad_request("a user cannot follow themselves"));
    }
    let existing = services.store.existing(collection, ids).await?;
    if let Some(missing) = ids.iter().find(|id| !existing.contains(id)) {
        return Err(AppError::not_found(format!("no such item: {missing}")));
    }
    if collection == Collection::FollowedPlaylists {
        for playlist in services.store.playlists(ids).await? {
            if !services.store.may_see_playlist(user.id, &playlist).await? {
                return Err(AppError::not_found(format!("no such item: {}", playlist.id)));
            }
        }
    }
    Ok(())
}

/// Groups `(collection, id)` pairs by collection, keeping their order within each.
fn by_collection(uris: &[Uri]) -> Vec<(Collection, Vec<Id>)> {
    let mut groups: Vec<(Collection, Vec<Id>)> = Vec::new();
    for uri in uris {
        let collection = collection_of(uri.kind);
        match groups.iter_mut().find(|(c, _)| *c == collection) {
            Some((_, ids)) => ids.push(uri.id),
            None => groups.push((collection, vec![uri.id])),
        }
    }
    groups
}

async fn add(services: &Services, user: &Viewer, collection: Collection, ids: &[Id]) -> Result<(), AppError> {
    check_items(services, user, collection, ids).await?;
    services.store.add_to(collection, user.id, ids, now_ms() as i64).await?;
    if collection == Collection::FollowedUsers {
        // Live `activity_subscribe`s of the follower, on every node, follow them at once.
        services.activity.announce_follows(user.id, true, ids);
    }
    Ok(())
}

async fn remove(services: &Services, user: &Viewer, collection: Collection, ids: &[Id]) -> Result<(), AppError> {
    services.store.remove_from(collection, user.id, ids).await?;
    if collection == Collection::FollowedUsers {
        services.activity.announce_follows(user.id, false, ids);
    }
    Ok(())
}

#[derive(Deserialize)]
struct UrisQuery {
    uris: String,
}

async fn library_add(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<UrisQuery>,
) -> ApiResult<HttpResponse> {
    let uris = parse_uris(&query.uris)?;
    for (collection, ids) in by_collection(&uris) {
        check_items(&services, &auth.user, collection, &ids).await?;
    }
    for (collection, ids) in by_collection(&uris) {
        add(&services, &auth.user, collection, &ids).await?;
    }
    Ok(HttpResponse::Ok().finish())
}

async fn library_remove(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<UrisQuery>,
) -> ApiResult<HttpResponse> {
    let uris = parse_uris(&query.uris)?;
    for (collection, ids) in by_collection(&uris) {
        remove(&services, &auth.user, collection, &ids).await?;
    }
    Ok(HttpResponse::Ok().finish())
}

async fn library_contains(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<UrisQuery>,
) -> ApiResult<HttpResponse> {
    let uris = parse_uris(&query.uris)?;
    let mut answers = vec![false; uris.len()];
    for (collection, ids) in by_collection(&uris) {
        let present = services.store.contains(collection, auth.user.id, &ids).await?;
        for (id, yes) in ids.iter().zip(present) {
            for (n, uri) in uris.iter().enumerate() {
                if collection_of(uri.kind) == collection && uri.id == *id {
                    answers[n] = yes;
                }
            }
        }
    }
    Ok(json(&answers))
}

/// `ids` from the query string, or else from a JSON body `{"ids": [...]}` (both forms exist).
#[derive(Deserialize, Default)]
struct IdsQuery {
    ids: Option<String>,
}

#[derive(Deserialize)]
struct IdsBody {
    ids: Vec<String>,
}

fn ids_from(query: &IdsQuery, body: &[u8], kind: UriKind) -> Result<Vec<Id>, AppError> {
    if let Some(ids) = &query.ids {
        return parse_ids(ids, kind);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("ids are required: ?ids=… or a body {\"ids\": […]}"));
    }
    let body: IdsBody =
        serde_json::from_slice(body).map_err(|error| AppError::bad_request(format!("invalid JSON body: {error}")))?;
    parse_ids(&body.ids.join(","), kind)
}

macro_rules! change_handler {
    ($name:ident, $kind:expr, $collection:expr, $apply:ident) => {
        async fn $name(
            services: web::Data<Services>,
            AuthUser(auth): AuthUser,
            query: web::Query<IdsQuery>,
            body: web::Bytes,
        ) -> ApiResult<HttpResponse> {
            let ids = ids_from(&query, &body, $kind)?;
            $apply(&services, &auth.user, $collection, &ids).await?;
            Ok(HttpResponse::Ok().finish())
        }
    };
}

change_handler!(save_tracks, UriKind::Track, Collection::SavedTracks, add);
change_handler!(unsave_tracks, UriKind::Track, Collection::SavedTracks, remove);
change_handler!(save_albums, UriKind::Album, Collection::SavedAlbums, add);
change_handler!(unsave_albums, UriKind::Album, Collection::SavedAlbums, remove);

#[derive(Deserialize)]
struct ContainsQuery {
    ids: String,
}

async fn contains_of(
    services: &Services,
    user: Id,
    collection: Collection,
    kind: UriKind,
    ids: &str,
) -> ApiResult<HttpResponse> {
    let ids = parse_ids(ids, kind)?;
    Ok(json(&services.store.contains(collection, user, &ids).await?))
}

async fn tracks_contain(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<ContainsQuery>,
) -> ApiResult<HttpResponse> {
    contains_of(&services, auth.user.id, Collection::SavedTracks, UriKind::Track, &query.ids).await
}

async fn albums_contain(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<ContainsQuery>,
) -> ApiResult<HttpResponse> {
    contains_of(&services, auth.user.id, Collection::SavedAlbums, UriKind::Album, &query.ids).await
}

async fn saved_tracks(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (offset, limit) = page.resolve()?;
    let (saved, total) = services.store.collection_page(Collection::SavedTracks, auth.user.id, limit, offset).await?;
    let ids: Vec<Id> = saved.iter().map(|s| s.id).collect();
    let rows = services.store.tracks(&ids).await?;
    let links = Links::new(base_url(&request, &services));
    let items = saved
        .iter()
        .filter_map(|s| {
            let row = rows.iter().find(|row| row.id == s.id)?;
            Some(objects::SavedTrack {
                added_at: objects::timestamp(s.at_ms),
                track: objects::track(&links, row, &auth.user.country),
            })
        })
        .collect();
    Ok(json(&paging(&format!("{}/v1/me/tracks", links.base), items, offset, limit, total)))
}

async fn saved_albums(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (offset, limit) = page.resolve()?;
    let (saved, total) = services.store.collection_page(Collection::SavedAlbums, auth.user.id, limit, offset).await?;
    let links = Links::new(base_url(&request, &services));
    let mut items = Vec::with_capacity(saved.len());
    for s in &saved {
        let Some(row) = services.store.album(s.id).await? else { continue };
        let tracks =
            super::catalog::album_track_page(&services, &links, s.id, &PageQuery::first(), &auth.user.country).await?;
        items.push(objects::SavedAlbum {
            added_at: objects::timestamp(s.at_ms),
            album: objects::album(&links, &row, tracks),
        });
    }
    Ok(json(&paging(&format!("{}/v1/me/albums", links.base), items, offset, limit, total)))
}

#[derive(Deserialize)]
struct FollowQuery {
    #[serde(rename = "type")]
    kind: String,
    ids: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

fn follow_kind(kind: &str) -> Result<(UriKind, Collection), AppError> {
    match kind {
        "artist" => Ok((UriKind::Artist, Collection::FollowedArtists)),
        "user" => Ok((UriKind::User, Collection::FollowedUsers)),
        _ => Err(AppError::bad_request("type must be artist or user")),
    }
}

async fn follow(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<FollowQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (kind, collection) = follow_kind(&query.kind)?;
    let ids = ids_from(&IdsQuery { ids: query.ids.clone() }, &body, kind)?;
    add(&services, &auth.user, collection, &ids).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn unfollow(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<FollowQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (kind, collection) = follow_kind(&query.kind)?;
    let ids = ids_from(&IdsQuery { ids: query.ids.clone() }, &body, kind)?;
    remove(&services, &auth.user, collection, &ids).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn following_contains(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<FollowQuery>,
) -> ApiResult<HttpResponse> {
    let (kind, collection) = follow_kind(&query.kind)?;
    let ids = query.ids.as_deref().ok_or_else(|| AppError::bad_request("ids are required"))?;
    contains_of(&services, auth.user.id, collection, kind, ids).await
}

#[derive(Serialize)]
struct Cursors {
    after: Option<String>,
}

#[derive(Serialize)]
struct CursorPage<T> {
    href: String,
    items: Vec<T>,
    limit: u32,
    next: Option<String>,
    cursors: Cursors,
    total: u64,
}

/// `GET /v1/me/following?type=artist|user`: cursor-paged by id.
async fn following(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<FollowQuery>,
) -> ApiResult<HttpResponse> {
    let (kind, collection) = follow_kind(&query.kind)?;
    let limit = page_limit(query.limit)?;
    let after = match query.after.as_deref() {
        Some(after) => Some(Id::parse(after).ok_or_else(|| AppError::bad_request("after must be an id"))?),
        None => None,
    };
    let (ids, total) = services.store.collection_after(collection, auth.user.id, after, limit).await?;
    let links = Links::new(base_url(&request, &services));
    let href = format!("{}/v1/me/following?type={}&limit={limit}", links.base, query.kind);
    let last = ids.last().map(|id| id.to_string());
    let next = (ids.len() == limit as usize).then(|| format!("{href}&after={}", last.clone().unwrap_or_default()));
    let cursors = Cursors { after: next.as_ref().and(last) };
    if kind == UriKind::Artist {
        let rows = services.store.artists(&ids).await?;
        let items = ids
            .iter()
            .filter_map(|id| rows.iter().find(|r| r.id == *id))
            .map(|row| objects::artist(&links, row))
            .collect();
        #[derive(Serialize)]
        struct Artists {
            artists: CursorPage<objects::Artist>,
        }
        return Ok(json(&Artists { artists: CursorPage { href, items, limit, next, cursors, total } }));
    }
    let users = services.store.users_by_ids(&ids).await?;
    let items = ids
        .iter()
        .filter_map(|id| users.iter().find(|u| u.id == *id))
        .map(|u| objects::public_user(&links, u.id, &u.display_name, None))
        .collect();
    #[derive(Serialize)]
    struct Users {
        users: CursorPage<objects::PublicUser>,
    }
    Ok(json(&Users { users: CursorPage { href, items, limit, next, cursors, total } }))
}

async fn follow_playlist(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    add(&services, &auth.user, Collection::FollowedPlaylists, &[id]).await?;
    Ok(HttpResponse::Ok().finish())
}

async fn unfollow_playlist(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    remove(&services, &auth.user, Collection::FollowedPlaylists, &[id]).await?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /v1/playlists/{id}/followers/contains?ids=`: whether these users follow it.
async fn playlist_followers_contain(
    services: web::Data<Services>,
    _auth: AuthUser,
    id: web::Path<String>,
    query: web::Query<ContainsQuery>,
) -> ApiResult<HttpResponse> {
    let playlist = path_id(&id)?;
    let users = parse_ids(&query.ids, UriKind::User)?;
    let mut answers = Vec::with_capacity(users.len());
    for user in users {
        answers.push(services.store.contains(Collection::FollowedPlaylists, user, &[playlist]).await?[0]);
    }
    Ok(json(&answers))
}

async fn user(
    request: HttpRequest,
    services: web::Data<Services>,
    _auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&id)?;
    let record = services.store.user_by_id(id).await?.ok_or_else(|| AppError::not_found(format!("no user {id}")))?;
    let followers = services.store.follower_count(id).await?;
    let links = Links::new(base_url(&request, &services));
    Ok(json(&objects::public_user(&links, record.id, &record.display_name, Some(followers))))
}
