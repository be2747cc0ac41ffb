//! Operations: `GET /healthz` (the process is up), `GET /readyz` (it can serve: the store
//! answers and, in cluster mode, Redis is connected), `GET /metrics` (Prometheus text, or
//! OpenMetrics when asked for) and `GET /openapi.json`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::gateway::Services;
use crate::metrics::Format;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(services: web::Data<Services>) -> HttpResponse {
    if services.redis.as_ref().is_some_and(|redis| !redis.is_connected()) {
        return HttpResponse::ServiceUnavailable().content_type("text/plain").body("redis unreachable\n");
    }
    match tokio::time::timeout(std::time::Duration::from_secs(2), services.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain").body("ready\n"),
        _ => HttpResponse::ServiceUnavailable().content_type("text/plain").body("store unreachable\n"),
    }
}

async fn metrics(request: HttpRequest, services: web::Data<Services>) -> HttpResponse {
    let accept = request.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok());
    let format = Format::from_accept(accept);
    let resident = i64::try_from(services.sessions.live_count()).unwrap_or(i64::MAX);
    services.metrics.sessions_resident.set(resident);
    let playlist_actors = i64::try_from(services.playlists.live_count()).unwrap_or(i64::MAX);
    services.metrics.playlist_actors.set(playlist_actors);
    HttpResponse::Ok().content_type(format.content_type()).body(services.metrics.render(format))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(include_str!("openapi.json"))
}
