//! Operations: `GET /healthz` (the process is up), `GET /readyz` (it can serve: the store
//! answers and, in cluster mode, Redis is connected), `GET /metrics` (Prometheus text) and `GET /openapi.json`.

use actix_web::{HttpResponse, web};

use crate::gateway::Services;

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

async fn metrics(services: web::Data<Services>) -> HttpResponse {
    let mut text = services.metrics.render();
    text.push_str(&format!(
        "# HELP segue_sessions_resident Session actors in this node's directory.\n# TYPE segue_sessions_resident gauge\nsegue_sessions_resident {}\n",
        services.sessions.live_count()
    ));
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text)
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(include_str!("openapi.json"))
}
