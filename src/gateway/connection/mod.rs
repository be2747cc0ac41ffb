//! One device connection: the socket loop between a WebSocket and the user's session.
//!
//! - [`device`]: the loop itself, [`DeviceConnection`], generic over the socket (any
//!   `Stream + Sink` of WebSocket messages) and over the [`Backend`] it asks for everything
//!   beyond the protocol, so that its timing (hello deadline, heartbeat, rate limit, slow
//!   consumers, the reply before the state it caused) is unit tested with paused time against a
//!   fake (`tests.rs`), while the integration tests run it for real.
//! - [`backend`]: [`Backend`], what a connection needs from the node, and [`NodeBackend`], the
//!   real one (the hub, the bus, the session directory, the catalog).
//!
//! Memory matters here (one of these per device, 19,000 per node): the loop owns no buffer of
//! its own, tungstenite's read buffer is small ([`READ_BUFFER_BYTES`]) and grows only for a
//! large frame, and queued events are shared pointers to frames encoded once per change.

pub mod backend;
pub mod device;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use actix_rt::net::TcpStream;
use segue_protocol::MAX_FRAME_BYTES;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::Instrument;

pub use backend::{Backend, NodeBackend};
pub use device::DeviceConnection;

use super::Services;
use crate::auth::Authenticated;

/// tungstenite's read buffer: requests are small; a larger frame grows it as needed.
pub const READ_BUFFER_BYTES: usize = 1024;
/// Close code for a device too slow to take its events (it reconnects and loses nothing).
pub const CLOSE_TOO_SLOW: u16 = 1013;

/// The WebSocket settings of every device connection.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Serves one upgraded socket until it closes, in a span of its own (the device is recorded at
/// `hello`).
pub async fn serve(ws: WebSocketStream<TcpStream>, services: Arc<Services>, auth: Authenticated) {
    let span = tracing::info_span!("connection", user = %auth.user.id, device = tracing::field::Empty);
    DeviceConnection::new(ws, NodeBackend(services), auth, span.clone()).serve().instrument(span).await;
}
