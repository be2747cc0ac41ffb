//! Client sockets: opening a WebSocket to Segue (token in `Authorization: Bearer`) or to the
//! relay with small buffers and Nagle off, saying `hello`, and reading server frames cheaply
//! (the head first; a whole `SessionState` only when it is needed).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use segue_protocol::ServerFrame;
use segue_protocol::request::Hello;
use segue_protocol::state::{SessionState, Welcome};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::control::commands::encode;

/// A client WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The request id of `hello`, the first request on every socket.
pub const HELLO_ID: u32 = 1;

/// How long opening a socket, or waiting for the reply to `hello`, may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Client socket settings: writes go out at once, and reads use a buffer of `read_buffer`
/// bytes (tungstenite's default, 128 KiB, would cost that much per simulated device).
pub fn config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(read_buffer).write_buffer_size(0)
}

/// Opens a socket to `url`, with `token` as a bearer token when given.
pub async fn connect(url: &str, token: Option<&str>, read_buffer: usize) -> Result<Socket, String> {
    let mut request = url.into_client_request().map_err(|error| format!("{url}: {error}"))?;
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the access token is not a valid header value".to_string())?;
        request.headers_mut().insert("Authorization", value);
    }
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config(read_buffer)), true);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(error)) => Err(format!("connect {url}: {error}")),
        Err(_) => Err(format!("connect {url}: no answer within {HANDSHAKE_TIMEOUT:?}")),
    }
}

/// Sends `hello` and waits for the `welcome`.
pub async fn hello(socket: &mut Socket, hello: Hello) -> Result<Welcome, String> {
    let device = hello.device_id.clone();
    let frame = encode(&segue_protocol::Request::Hello(hello), HELLO_ID);
    socket.send(Message::Binary(frame.into())).await.map_err(|error| format!("hello from {device}: {error}"))?;
    let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, reply(socket))
        .await
        .map_err(|_| format!("hello from {device}: no welcome within {HANDSHAKE_TIMEOUT:?}"))??;
    match (reply.ok, &reply.error) {
        (Some(true), _) => {
            reply.body_as().map_err(|error| format!("hello from {device}: a welcome that does not decode: {error}"))
        }
        (_, Some(error)) => Err(format!("hello from {device} refused: {} {}", error.code, error.message)),
        _ => Err(format!("hello from {device}: a reply that is neither ok nor an error")),
    }
}

/// Reads until the next reply; events before it are dropped (the caller learns the state from
/// the reply or from later events).
pub async fn reply(socket: &mut Socket) -> Result<ServerFrame, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                if Head::decode(&bytes).is_some_and(|head| head.kind == "reply") {
                    return ServerFrame::decode(&bytes)
                        .map_err(|error| format!("a reply that does not decode: {error}"));
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("the server closed the socket: {frame:?}"));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(format!("socket error: {error}")),
            None => return Err("the socket ended".to_string()),
        }
    }
}

/// The head of a server frame: its type and, for session events, its seq. Decoding it borrows
/// from the frame and skips the body, so every frame can afford it.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    #[serde(default)]
    pub seq: Option<u64>,
}

impl<'a> Head<'a> {
    pub fn decode(bytes: &'a [u8]) -> Option<Head<'a>> {
        rmp_serde::from_slice(bytes).ok()
    }
}

/// The `SessionState` carried by a `state` event.
pub fn decode_state(bytes: &[u8]) -> Option<SessionState> {
    #[derive(Deserialize)]
    struct StateEvent {
        body: SessionState,
    }
    rmp_serde::from_slice::<StateEvent>(bytes).ok().map(|event| event.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use segue_protocol::envelope::{encode_event, encode_reply_ok};
    use segue_protocol::request::SeqReply;
    use segue_protocol::state::QueueView;

    #[test]
    fn heads_of_events_and_replies() {
        let state = SessionState {
            seq: 12,
            active_device_id: None,
            devices: Vec::new(),
            playback: None,
            queue: QueueView::default(),
            skips: None,
        };
        let event = encode_event("state", Some(12), &state);
        let head = Head::decode(&event).expect("a head");
        assert_eq!((head.kind, head.seq), ("state", Some(12)));
        assert_eq!(decode_state(&event), Some(state));

        let reply = encode_reply_ok(3, &SeqReply { seq: 4 });
        let head = Head::decode(&reply).expect("a head");
        assert_eq!((head.kind, head.seq), ("reply", None));
        assert_eq!(decode_state(&reply), None);
        assert!(Head::decode(b"not msgpack").is_none());
    }
}
