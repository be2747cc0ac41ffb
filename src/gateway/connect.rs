//! `GET /v1/connect`: checking the token and upgrading to a WebSocket.
//!
//! actix-http hands every request that asks for an upgrade to this service together with the
//! raw connection. After the `101` the HTTP machinery lets go of the socket entirely and the
//! device connection runs on tokio-tungstenite with a small read buffer: actix-ws keeps the
//! HTTP dispatcher and its two 8 KiB buffers alive for the life of the socket, which measured
//! 15.6 KB per idle connection against 3.8 KB this way (see ARCHITECTURE.md).
//!
//! **The node's cap on sockets** ([`ConnectionSlots`], `--max-connections`, by default the
//! open-file limit less what the node keeps for the rest): an upgrade past it is refused with
//! `503 UNAVAILABLE` and `Retry-After` before the `101`, and counted (`connections`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::h1::{Codec, Message};
use actix_http::{HttpMessage, Request, Response};
use actix_rt::net::TcpStream;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::Services;
use super::connection::{self, websocket_config};
use super::http::http_error;
use crate::error::AppError;
use crate::metrics::Queue;

/// The path of the Connect socket.
pub const CONNECT_PATH: &str = "/v1/connect";

/// How long a client refused for want of a slot is told to wait.
const FULL_RETRY_AFTER_MS: u64 = 5_000;

/// The node's cap on device sockets: a slot is taken before the upgrade and given back when the
/// connection ends.
pub struct ConnectionSlots {
    max: usize,
    taken: AtomicUsize,
}

/// One taken slot; dropping it gives it back.
pub struct Slot(Arc<ConnectionSlots>);

impl ConnectionSlots {
    pub fn new(max: usize) -> ConnectionSlots {
        ConnectionSlots { max, taken: AtomicUsize::new(0) }
    }

    /// A slot, unless all are taken.
    pub fn take(self: &Arc<Self>) -> Option<Slot> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| (taken < self.max).then_some(taken + 1))
            .ok()
            .map(|_| Slot(self.clone()))
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one request that asked for an upgrade.
pub async fn upgrade(
    request: Request,
    framed: Framed<TcpStream, Codec>,
    services: Arc<Services>,
) -> Result<(), actix_web::Error> {
    upgrade_inner(request, framed, services).await.map_err(actix_web::Error::from)
}

async fn upgrade_inner(
    request: Request,
    mut framed: Framed<TcpStream, Codec>,
    services: Arc<Services>,
) -> std::io::Result<()> {
    if request.path() != CONNECT_PATH {
        let error = AppError::not_found(format!("no WebSocket at {}", request.path()));
        return send_error(&mut framed, &error).await;
    }
    let token = bearer_token(&request);
    let auth = match token {
        Some(token) => services.accounts.authenticate(&token).await,
        None => Err(AppError::unauthorized("an access token is required: Authorization: Bearer or ?access_token=")),
    };
    let auth = match auth {
        Ok(auth) => auth,
        Err(error) => return send_error(&mut framed, &error).await,
    };
    let Some(slot) = services.slots.take() else {
        services.metrics.overflowed(Queue::Connections);
        let error =
            AppError::unavailable(format!("this node holds its maximum of {} sockets; retry", services.slots.max()))
                .with_retry_after(FULL_RETRY_AFTER_MS);
        return send_error(&mut framed, &error).await;
    };
    let accept = match actix_http::ws::handshake(request.head()) {
        Ok(mut response) => response.finish().drop_body(),
        Err(error) => {
            let error = AppError::bad_request(format!("not a valid WebSocket upgrade: {error}"));
            return send_error(&mut framed, &error).await;
        }
    };
    framed.send(Message::Item((accept, BodySize::None))).await?;
    // The socket moves to the user's home shard, where the user's session and other devices
    // are: from here on, nothing of the HTTP connection stays, and no command of this device
    // ever crosses a thread.
    let parts = framed.into_parts();
    let socket = parts.io.into_std()?;
    let early_bytes = parts.read_buf.to_vec();
    let home = services.sessions.home(auth.user.id);
    home.spawn_fn(move || {
        actix_rt::spawn(async move {
            let Ok(io) = TcpStream::from_std(socket) else {
                return;
            };
            let ws =
                WebSocketStream::from_partially_read(io, early_bytes, Role::Server, Some(websocket_config())).await;
            connection::serve(ws, services, auth).await;
            drop(slot);
        });
    });
    Ok(())
}

/// The token from `Authorization: Bearer …` or the `access_token` query parameter.
fn bearer_token(request: &Request) -> Option<String> {
    if let Some(header) = request.headers().get(actix_http::header::AUTHORIZATION) {
        return header.to_str().ok()?.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    let query = request.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == "access_token").then_some(value))
}

/// Answers the upgrade request with the error (the REST API's mapping) and no upgrade.
async fn send_error(framed: &mut Framed<TcpStream, Codec>, error: &AppError) -> std::io::Result<()> {
    if error.is_fault() {
        tracing::warn!(%error, "an upgrade of /v1/connect failed");
    }
    let (status, headers, body) = http_error(error);
    let body = Bytes::from(body);
    let mut response = Response::with_body(status, ());
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    framed.send(Message::Item((response, BodySize::Sized(body.len() as u64)))).await?;
    framed.send(Message::Chunk(Some(body))).await?;
    framed.send(Message::Chunk(None)).await
}
