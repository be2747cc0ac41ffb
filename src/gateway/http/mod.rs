//! The REST API (`rest-api-v1.md`) on actix-web: routes, the token check (and the per-user rate
//! limits, [`limits`]) of every call, and the one mapping from [`AppError`] to
//! `{"error": {"status", "message", "reason"}}`.

mod auth;
mod catalog;
mod library;
pub mod limits;
pub mod objects;
mod offline;
mod ops;
mod player;
mod playlists;
mod recommendations;
mod search;
mod social;
mod streaming;
mod tops;
// The web player's file is `web.rs`; `web` here is actix-web's module.
#[path = "web.rs"]
mod web_player;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use segue_protocol::ErrorCode;
use serde::Serialize;
use tracing::Instrument;

use super::Services;
use crate::auth::Authenticated;
use crate::error::AppError;

/// Largest JSON body accepted.
const JSON_LIMIT_BYTES: usize = 256 * 1024;

/// Registers every route.
pub fn configure(app: &mut web::ServiceConfig, services: Arc<Services>) {
    app.app_data(web::Data::from(services))
        .app_data(
            web::JsonConfig::default().limit(JSON_LIMIT_BYTES).error_handler(|error, _| {
                ApiError(AppError::bad_request(format!("invalid JSON body: {error}"))).into()
            }),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| ApiError(AppError::bad_request(format!("invalid query: {error}"))).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|error, _| ApiError(AppError::bad_request(format!("invalid path: {error}"))).into()),
        )
        .app_data(web::PayloadConfig::default().limit(JSON_LIMIT_BYTES))
        .configure(ops::routes)
        .configure(auth::routes)
        .configure(catalog::routes)
        .configure(library::routes)
        .configure(offline::routes)
        .configure(player::routes)
        .configure(playlists::routes)
        .configure(recommendations::routes)
        .configure(search::routes)
        .configure(social::routes)
        .configure(streaming::routes)
        .configure(tops::routes)
        .configure(web_player::routes)
        .default_service(web::to(|request: HttpRequest| async move {
            let error = AppError::not_found(format!("no route for {} {}", request.method(), request.path()));
            Err::<HttpResponse, _>(ApiError(error))
        }));
}

/// The one mapping of an [`AppError`] to HTTP: the code's status, `Retry-After` (whole seconds,
/// rounded up) when the error says when, `WWW-Authenticate` for `UNAUTHORIZED`, and the body
/// `{"error": {"status", "message", "reason"}}`. REST responses and a refused upgrade of
/// `/v1/connect` both come from it.
pub fn http_error(error: &AppError) -> (StatusCode, Vec<(HeaderName, HeaderValue)>, Vec<u8>) {
    #[derive(Serialize)]
    struct Inner<'a> {
        status: u16,
        message: &'a str,
        reason: &'a str,
    }
    #[derive(Serialize)]
    struct Outer<'a> {
        error: Inner<'a>,
    }
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = vec![(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    if let Some(retry_after_ms) = error.retry_after_ms
        && let Ok(seconds) = HeaderValue::from_str(&retry_after_ms.div_ceil(1000).max(1).to_string())
    {
        headers.push((header::RETRY_AFTER, seconds));
    }
    if error.code == ErrorCode::Unauthorized {
        headers.push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    let body = Outer { error: Inner { status: status.as_u16(), message: &error.message, reason: error.code.as_str() } };
    (status, headers, serde_json::to_vec(&body).unwrap_or_default())
}

/// An [`AppError`] as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        ApiError(error)
    }
}

impl From<crate::storage::StoreError> for ApiError {
    fn from(error: crate::storage::StoreError) -> ApiError {
        ApiError(error.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let (status, headers, body) = http_error(&self.0);
        let mut response = HttpResponse::build(status);
        for header in headers {
            response.insert_header(header);
        }
        response.body(body)
    }
}

/// Every REST request in a span of its own (method, route, status), and a log line for those
/// answered with a fault of the server's own or of a dependency (5xx), with the cause the client
/// was not told: the conversions that made the error log nothing.
pub async fn trace_requests(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let route = request.match_pattern().unwrap_or_else(|| request.path().to_string());
    let span = tracing::info_span!("http.request", method = %request.method(), route, status = tracing::field::Empty);
    let response = next.call(request).instrument(span.clone()).await?;
    let status = response.status();
    span.record("status", status.as_u16());
    if status.is_server_error()
        && let Some(ApiError(error)) = response.response().error().and_then(|e| e.as_error::<ApiError>())
    {
        span.in_scope(|| tracing::warn!(status = status.as_u16(), %error, "request failed"));
    }
    Ok(response)
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The authenticated user of a request (`Authorization: Bearer <token>`), within the rate limit
/// of the request's class ([`limits::Class`]): past it the request is refused `RATE_LIMITED`
/// before its handler runs.
pub struct AuthUser(pub Authenticated);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AuthUser, ApiError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let services = request.app_data::<web::Data<Services>>().cloned();
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token.trim().to_string());
        let route = request.match_pattern();
        let class = limits::Class::of(request.method(), route.as_deref().unwrap_or_else(|| request.path()));
        Box::pin(async move {
            let services = services.ok_or_else(|| ApiError(AppError::internal()))?;
            services.metrics.http_requests.inc();
            let token = token.ok_or_else(|| {
                ApiError(AppError::unauthorized("missing access token: send Authorization: Bearer <token>"))
            })?;
            let authenticated = services.accounts.authenticate(&token).await?;
            if let Some(class) = class {
                services.limits.check(class, authenticated.user.id)?;
            }
            Ok(AuthUser(authenticated))
        })
    }
}

/// The base URL of this server as clients reach it: `--public-url`, else from the request.
pub fn base_url(request: &HttpRequest, services: &Services) -> String {
    match &services.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let info = request.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// A JSON response with status 200.
pub fn json<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}
