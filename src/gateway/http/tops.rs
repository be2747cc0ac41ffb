//! The user's tops: `GET /v1/me/top/tracks` and `GET /v1/me/top/artists`, ranked by counted
//! plays (outside private sessions) within a `time_range`, as Web API paging objects.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::catalog::PageQuery;
use super::objects::{self, Links, paging};
use super::{ApiResult, AuthUser, base_url, json};
use crate::clock::now_ms;
use crate::error::AppError;
use crate::gateway::Services;

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/top/{type}", web::get().to(top));
}

/// How far back a top looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeRange {
    /// The last 4 weeks.
    Short,
    /// The last 6 months (26 weeks); the default.
    Medium,
    /// Every counted play.
    Long,
}

impl TimeRange {
    fn parse(text: Option<&str>) -> Result<TimeRange, AppError> {
        match text {
            None | Some("medium_term") => Ok(TimeRange::Medium),
            Some("short_term") => Ok(TimeRange::Short),
            Some("long_term") => Ok(TimeRange::Long),
            Some(_) => Err(AppError::bad_request("time_range must be short_term, medium_term or long_term")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TimeRange::Short => "short_term",
            TimeRange::Medium => "medium_term",
            TimeRange::Long => "long_term",
        }
    }

    /// The earliest instant a play in this range started at.
    fn since_ms(self, now_ms: i64) -> i64 {
        match self {
            TimeRange::Short => now_ms - 28 * DAY_MS,
            TimeRange::Medium => now_ms - 182 * DAY_MS,
            TimeRange::Long => i64::MIN,
        }
    }
}

#[derive(Deserialize)]
struct TopQuery {
    time_range: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn top(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    kind: web::Path<String>,
    query: web::Query<TopQuery>,
) -> ApiResult<HttpResponse> {
    let kind = kind.into_inner();
    if kind != "tracks" && kind != "artists" {
        return Err(AppError::bad_request("the type of a top must be tracks or artists").into());
    }
    let range = TimeRange::parse(query.time_range.as_deref())?;
    let (offset, limit) = PageQuery { limit: query.limit, offset: query.offset }.resolve()?;
    let since = range.since_ms(i64::try_from(now_ms()).unwrap_or(i64::MAX));
    // Read your own plays, as `recently-played` does.
    services.writer.flush().await?;
    let links = Links::new(base_url(&request, &services));
    let url = format!("{}/v1/me/top/{kind}?time_range={}", links.base, range.as_str());
    let user = auth.user.id;
    if kind == "tracks" {
        let (ids, total) = services.store.top_tracks(user, since, limit, offset).await?;
        let rows = services.store.tracks(&ids).await?;
        let items = ids
            .iter()
            .filter_map(|id| rows.iter().find(|row| row.id == *id))
            .map(|row| objects::track(&links, row, &auth.user.country))
            .collect();
        Ok(json(&paging(&url, items, offset, limit, total)))
    } else {
        let (ids, total) = services.store.top_artists(user, since, limit, offset).await?;
        let rows = services.store.artists(&ids).await?;
        let items = ids
            .iter()
            .filter_map(|id| rows.iter().find(|row| row.id == *id))
            .map(|row| objects::artist(&links, row))
            .collect();
        Ok(json(&paging(&url, items, offset, limit, total)))
    }
}
