//! The web player: `GET /` answers its page and `GET /web/{file}` its scripts, styles and icon,
//! all compiled into the binary from the repository's `web/` folder (`include_str!`), so a node
//! serves its own browser client with nothing to install or build. The page is a Connect device
//! like any other: it signs in over the REST API and holds a `/v1/connect` socket.
//!
//! Every answer carries a Content-Security-Policy that lets the page load only this origin's
//! files and open only this server's WebSocket (`connect-src 'self' ws(s)://host`), plus
//! `Cache-Control: no-cache` with an `ETag`, so a browser revalidates (a `304` costs no body)
//! and never runs the scripts of an older binary. An unknown file is the API's JSON `404`.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiResult, base_url};
use crate::error::AppError;
use crate::gateway::Services;
use crate::reproducible::fnv1a_64;

/// One file of the player.
struct Asset {
    /// Its name under `/web/` (the page itself is `index.html`, served at `/`).
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Every file of `web/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../web/index.html"),
    },
    Asset { name: "style.css", content_type: "text/css; charset=utf-8", body: include_str!("../../../web/style.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_str!("../../../web/icon.svg") },
    Asset { name: "main.js", content_type: JAVASCRIPT, body: include_str!("../../../web/main.js") },
    Asset { name: "api.js", content_type: JAVASCRIPT, body: include_str!("../../../web/api.js") },
    Asset { name: "connect.js", content_type: JAVASCRIPT, body: include_str!("../../../web/connect.js") },
    Asset { name: "msgpack.js", content_type: JAVASCRIPT, body: include_str!("../../../web/msgpack.js") },
    // @msgpack/msgpack 3.1.3's UMD build, unchanged but for its source-map comment (ISC).
    Asset { name: "msgpack.min.js", content_type: JAVASCRIPT, body: include_str!("../../../web/msgpack.min.js") },
    Asset { name: "player.js", content_type: JAVASCRIPT, body: include_str!("../../../web/player.js") },
    Asset { name: "views.js", content_type: JAVASCRIPT, body: include_str!("../../../web/views.js") },
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The ETag of every asset, by its index in [`ASSETS`]: a hash of its bytes, so it changes
/// exactly when the file does.
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| format!("\"{:016x}\"", fnv1a_64(asset.body.as_bytes()))).collect());

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/", web::get().to(page))
        .route("/", web::head().to(page))
        .route("/web/{file}", web::get().to(asset))
        .route("/web/{file}", web::head().to(asset));
}

async fn page(request: HttpRequest, services: web::Data<Services>) -> ApiResult<HttpResponse> {
    serve(&request, &services, "index.html")
}

async fn asset(
    request: HttpRequest,
    services: web::Data<Services>,
    file: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve(&request, &services, &file)
}

fn serve(request: &HttpRequest, services: &Services, name: &str) -> ApiResult<HttpResponse> {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        let shown: String = name.chars().take(64).collect();
        return Err(AppError::not_found(format!("no file {shown:?} in the web player")).into());
    };
    let asset = &ASSETS[index];
    let etag = &ETAGS[index];
    let not_modified = if_none_match(request, etag);
    let mut response = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    if let Ok(policy) = HeaderValue::from_str(&content_security_policy(&base_url(request, services))) {
        response.insert_header((header::CONTENT_SECURITY_POLICY, policy));
    }
    if not_modified {
        return Ok(response.finish());
    }
    Ok(response.content_type(asset.content_type).body(asset.body))
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`).
fn if_none_match(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// The page may load scripts, styles, images and audio from this origin only, and connect only
/// to this origin and to this server's WebSocket (`base` with `ws`/`wss` for `http`/`https`).
/// A host that is not a plain `name[:port]` (it comes from the request's `Host` when no
/// `--public-url` is set) adds no source at all, so no request can write into the policy.
fn content_security_policy(base: &str) -> String {
    let socket = match base.split_once("://") {
        Some((scheme, host)) if is_plain_host(host) => {
            format!(" {}://{host}", if scheme == "https" { "wss" } else { "ws" })
        }
        _ => String::new(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; \
         connect-src 'self'{socket}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// A host name or address with an optional port: letters, digits, `.`, `-`, `:`, `[`, `]`.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_this_servers_socket_only() {
        let policy = content_security_policy("http://127.0.0.1:7400");
        assert!(policy.contains("connect-src 'self' ws://127.0.0.1:7400;"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        let policy = content_security_policy("https://music.example");
        assert!(policy.contains("connect-src 'self' wss://music.example;"), "{policy}");
        let policy = content_security_policy("http://[::1]:7400");
        assert!(policy.contains("connect-src 'self' ws://[::1]:7400;"), "{policy}");
    }

    #[test]
    fn a_host_that_is_not_plain_adds_nothing_to_the_policy() {
        for base in ["http://evil; script-src *", "http://a b", "http://", "nonsense"] {
            let policy = content_security_policy(base);
            assert!(policy.contains("connect-src 'self'; base-uri"), "{base}: {policy}");
            assert!(HeaderValue::from_str(&policy).is_ok(), "{base}");
        }
    }

    #[test]
    fn every_asset_has_a_distinct_name_and_a_body() {
        for (i, asset) in ASSETS.iter().enumerate() {
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
            assert!(ASSETS[..i].iter().all(|other| other.name != asset.name), "{} twice", asset.name);
        }
    }
}
