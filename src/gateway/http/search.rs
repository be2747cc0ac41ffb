//! `GET /v1/search?q=&type=track,artist,album,playlist&limit=&offset=`: the search index answers
//! ids in rank order, the store answers the objects, each kind a paging object of its own.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::catalog::PageQuery;
use super::objects::{self, Links, Paging, paging};
use super::{ApiResult, AuthUser, base_url, json};
use crate::domain::Viewer;
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::Id;
use crate::search::SearchKind;

/// Deepest offset a search page may start at (the Web API's limit too).
const MAX_OFFSET: u32 = 1_000;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/search", web::get().to(search));
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    kinds: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// One paging object per kind asked for; the others are left out.
#[derive(Serialize, Default)]
struct Results {
    #[serde(skip_serializing_if = "Option::is_none")]
    tracks: Option<Paging<objects::Track>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artists: Option<Paging<objects::Artist>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    albums: Option<Paging<objects::SimplifiedAlbum>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    playlists: Option<Paging<objects::SimplifiedPlaylist>>,
}

fn kinds(text: &str) -> Result<Vec<SearchKind>, AppError> {
    let mut kinds = Vec::new();
    for name in text.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        let kind = SearchKind::parse(name).ok_or_else(|| {
            let shown: String = name.chars().take(40).collect();
            AppError::bad_request(format!("search type {shown:?} is not one of track, artist, album, playlist"))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(AppError::bad_request("type is required: track, artist, album and/or playlist"));
    }
    Ok(kinds)
}

/// The objects of `ids`, in the order of `ids`, leaving out any the store no longer has.
fn in_order<T, R>(ids: &[Id], rows: &[R], id_of: impl Fn(&R) -> Id, object: impl Fn(&R) -> T) -> Vec<T> {
    ids.iter().filter_map(|id| rows.iter().find(|row| id_of(row) == *id)).map(object).collect()
}

async fn search(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let text = query.q.as_deref().map(str::trim).unwrap_or_default().to_string();
    if text.is_empty() {
        return Err(AppError::bad_request("q is required").into());
    }
    let kinds = kinds(query.kinds.as_deref().unwrap_or_default())?;
    let (offset, limit) = PageQuery { limit: query.limit, offset: query.offset }.resolve()?;
    if offset > MAX_OFFSET {
        return Err(AppError::bad_request(format!("offset must be at most {MAX_OFFSET}")).into());
    }
    let links = Links::new(base_url(&request, &services));
    let encoded_q = serde_urlencoded::to_string([("q", text.as_str())]).unwrap_or_default();
    let mut results = Results::default();
    // A search is CPU work of a few milliseconds: it runs off the worker thread, so the sockets
    // and requests that share the worker never wait for it, and the kinds asked for are searched
    // at once, on as many blocking threads (a search over three kinds takes the time of the
    // slowest, not of all three).
    let searches = kinds.iter().map(|&kind| {
        let index = services.search.clone();
        let q = text.clone();
        web::block(move || index.search(kind, &q, limit as usize, offset as usize))
    });
    let pages = futures_util::future::join_all(searches).await;
    for (kind, page) in kinds.into_iter().zip(pages) {
        let page = page.map_err(|blocking| AppError::internal().with_cause(blocking))?.map_err(AppError::from)?;
        let url = format!("{}/v1/search?{encoded_q}&type={}", links.base, kind.as_str());
        fill(&services, &links, &auth.user, kind, page, &url, offset, limit, &mut results).await?;
    }
    Ok(json(&results))
}

#[allow(clippy::too_many_arguments)] // One call site; the arguments are the page being built.
async fn fill(
    services: &Services,
    links: &Links,
    user: &Viewer,
    kind: SearchKind,
    page: crate::search::SearchPage,
    url: &str,
    offset: u32,
    limit: u32,
    results: &mut Results,
) -> Result<(), AppError> {
    let ids = &page.ids;
    match kind {
        SearchKind::Track => {
            let rows = services.store.tracks(ids).await?;
            let items = in_order(ids, &rows, |r| r.id, |r| objects::track(links, r, &user.country));
            results.tracks = Some(paging(url, items, offset, limit, page.total));
        }
        SearchKind::Artist => {
            let rows = services.store.artists(ids).await?;
            let items = in_order(ids, &rows, |r| r.id, |r| objects::artist(links, r));
            results.artists = Some(paging(url, items, offset, limit, page.total));
        }
        SearchKind::Album => {
            let rows = services.store.albums(ids).await?;
            let items = in_order(ids, &rows, |r| r.album.id, |r| objects::simplified_album(links, &r.album, &r.artist));
            results.albums = Some(paging(url, items, offset, limit, page.total));
        }
        SearchKind::Playlist => {
            // Only public playlists are indexed; one made private since is left out here too.
            let rows: Vec<_> = services.store.playlists(ids).await?.into_iter().filter(|p| p.public).collect();
            let items = in_order(ids, &rows, |r| r.id, |r| objects::simplified_playlist(links, r));
            results.playlists = Some(paging(url, items, offset, limit, page.total));
        }
    }
    Ok(())
}
