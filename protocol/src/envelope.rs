//! Envelopes (protocol §2): turning a client frame into a [`Request`], and replies and events
//! into frames. Every frame is one MessagePack map with string keys.
//!
//! Decoding draws one line: a frame that is not one well-formed MessagePack map is a
//! [`FrameViolation`] (the connection closes); a map whose `type`, `id` or `body` is wrong is a
//! `BAD_REQUEST` or `UNKNOWN_TYPE` reply to that request, and the connection stays open.

use rmpv::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorBody, ErrorCode};
use crate::request::{self, Request, Validate};

/// How deeply values may nest in a frame. The protocol needs five levels; the bound keeps a
/// hostile frame of nested arrays from exhausting the stack (while decoding or dropping it).
pub const MAX_NESTING: usize = 32;

/// Why a frame is not an envelope at all. Each closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameViolation {
    /// The bytes are not one complete MessagePack value.
    NotMessagePack(String),
    /// The value is not a map.
    NotAMap,
}

impl std::fmt::Display for FrameViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameViolation::NotMessagePack(why) => write!(f, "frame is not MessagePack: {why}"),
            FrameViolation::NotAMap => f.write_str("frame is not a MessagePack map"),
        }
    }
}

/// A decoded client frame: the request id to echo (0 when the frame gave none usable) and the
/// request, or the error to reply with.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    pub id: u32,
    /// The `type` as sent, when it was a string (for logs and for the hello check).
    pub type_name: Option<String>,
    pub request: Result<Request, ErrorBody>,
}

impl ClientFrame {
    /// Decodes one binary frame from a client.
    pub fn decode(bytes: &[u8]) -> Result<ClientFrame, FrameViolation> {
        let mut reader = bytes;
        let value = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_NESTING)
            .map_err(|err| FrameViolation::NotMessagePack(err.to_string()))?;
        if !reader.is_empty() {
            return Err(FrameViolation::NotMessagePack(format!("{} bytes after the first value", reader.len())));
        }
        let Value::Map(entries) = value else {
            return Err(FrameViolation::NotAMap);
        };

        let mut type_value = None;
        let mut id_value = None;
        let mut body = Value::Nil;
        for (key, value) in entries {
            match key.as_str() {
                Some("type") => type_value = Some(value),
                Some("id") => id_value = Some(value),
                Some("body") => body = value,
                _ => {}
            }
        }

        let id = id_value.as_ref().and_then(Value::as_u64).and_then(|id| u32::try_from(id).ok());
        let type_name = match type_value {
            Some(Value::String(text)) => text.into_str(),
            _ => None,
        };
        let request = match (&type_name, id) {
            (None, _) => Err(bad_request("the envelope needs a string `type`")),
            (Some(_), None) => Err(bad_request("the envelope needs an `id`: an integer 0..2^32")),
            (Some(name), Some(_)) => parse_request(name, body),
        };
        Ok(ClientFrame { id: id.unwrap_or(0), type_name, request })
    }
}

fn bad_request(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, message)
}

/// Decodes and validates a typed body. An absent or nil body is an empty map.
fn body<T: DeserializeOwned + Validate>(body: Value) -> Result<T, ErrorBody> {
    let body = match body {
        Value::Nil => Value::Map(Vec::new()),
        other => other,
    };
    if !body.is_map() {
        return Err(bad_request("body must be a map"));
    }
    // rmpv's own deserializer refuses enum variants written as strings, which is how every
    // MessagePack library writes them; rmp-serde reads them, so the body goes through it.
    let mut bytes = Vec::with_capacity(64);
    rmpv::encode::write_value(&mut bytes, &body).map_err(|err| bad_request(format!("body: {err}")))?;
    let parsed: T = rmp_serde::from_slice(&bytes).map_err(|err| bad_request(format!("body: {err}")))?;
    parsed.validate().map_err(bad_request)?;
    Ok(parsed)
}

/// Checks that a body which carries nothing is a map (or absent).
fn empty_body(value: Value) -> Result<(), ErrorBody> {
    match value {
        Value::Nil | Value::Map(_) => Ok(()),
        _ => Err(bad_request("body must be a map")),
    }
}

fn parse_request(type_name: &str, value: Value) -> Result<Request, ErrorBody> {
    Ok(match type_name {
        "hello" => Request::Hello(body(value)?),
        "play" => Request::Play(body(value)?),
        "pause" => empty_body(value).map(|_| Request::Pause)?,
        "resume" => empty_body(value).map(|_| Request::Resume)?,
        "seek" => Request::Seek(body(value)?),
        "next" => empty_body(value).map(|_| Request::Next)?,
        "previous" => empty_body(value).map(|_| Request::Previous)?,
        "shuffle" => Request::Shuffle(body(value)?),
        "repeat" => Request::Repeat(body::<request::Repeat>(value)?),
        "volume" => Request::Volume(body(value)?),
        "queue_add" => Request::QueueAdd(body(value)?),
        "transfer" => Request::Transfer(body(value)?),
        "progress" => Request::Progress(body(value)?),
        "track_ended" => Request::TrackEnded(body(value)?),
        "ping" => empty_body(value).map(|_| Request::Ping)?,
        "auth" => Request::Auth(body(value)?),
        "playlist_subscribe" => Request::PlaylistSubscribe(body(value)?),
        "playlist_unsubscribe" => Request::PlaylistUnsubscribe(body(value)?),
        "playlist_edit" => Request::PlaylistEdit(body(value)?),
        "activity_subscribe" => empty_body(value).map(|_| Request::ActivitySubscribe)?,
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(ErrorBody::new(ErrorCode::UnknownType, format!("unknown request type `{shown}`")));
        }
    })
}

#[derive(Serialize)]
struct ReplyOk<'a, B: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    ok: bool,
    body: &'a B,
}

#[derive(Serialize)]
struct ReplyErr<'a, E: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    ok: bool,
    error: &'a E,
}

#[derive(Serialize)]
struct Event<'a, B: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    body: &'a B,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Encoding our own serde types into a Vec cannot fail: every key is a string and every
    // value a plain serde type.
    rmp_serde::to_vec_named(value).expect("server frames always encode")
}

/// Encodes `{"type": "reply", "id", "ok": true, "body"}`.
pub fn encode_reply_ok<B: Serialize>(id: u32, body: &B) -> Vec<u8> {
    encode(&ReplyOk { kind: "reply", id, ok: true, body })
}

/// Encodes `{"type": "reply", "id", "ok": false, "error"}`; `error` is an [`ErrorBody`] or
/// anything that serializes as one (the server's own error type).
pub fn encode_reply_err<E: Serialize>(id: u32, error: &E) -> Vec<u8> {
    encode(&ReplyErr { kind: "reply", id, ok: false, error })
}

/// Encodes an event: `{"type", "seq"?, "body"}`.
pub fn encode_event<B: Serialize>(kind: &str, seq: Option<u64>, body: &B) -> Vec<u8> {
    encode(&Event { kind, seq, body })
}

/// Encodes a client request: `{"type", "id", "body"}` (for clients: tests, the load generator).
pub fn encode_request<B: Serialize>(kind: &str, id: u32, body: &B) -> Vec<u8> {
    #[derive(Serialize)]
    struct ClientRequest<'a, B: Serialize> {
        #[serde(rename = "type")]
        kind: &'a str,
        id: u32,
        body: &'a B,
    }
    encode(&ClientRequest { kind, id, body })
}

/// A frame from the server, as a client reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServerFrame {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<u32>,
    #[serde(default)]
    pub ok: Option<bool>,
    #[serde(default)]
    pub seq: Option<u64>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

impl ServerFrame {
    pub fn decode(bytes: &[u8]) -> Result<ServerFrame, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }

    /// True for a reply (as opposed to an event).
    pub fn is_reply(&self) -> bool {
        self.kind == "reply"
    }

    /// The body decoded as `T`.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, rmp_serde::decode::Error> {
        let mut bytes = Vec::new();
        let body = self.body.clone().unwrap_or(Value::Map(Vec::new()));
        rmpv::encode::write_value(&mut bytes, &body)
            .map_err(|err| rmp_serde::decode::Error::Uncategorized(err.to_string()))?;
        rmp_serde::from_slice(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Hello, Play, Seek};
    use crate::state::DeviceType;

    fn frame(value: Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &value).unwrap();
        bytes
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
    }

    #[test]
    fn a_well_formed_hello_decodes() {
        let hello = Hello {
            device_id: "kitchen-speaker".into(),
            name: "Kitchen".into(),
            device_type: DeviceType::Speaker,
            can_play: true,
            supports_volume: true,
            volume_percent: Some(40),
            last_seq: Some(17),
        };
        let bytes = encode_request("hello", 1, &hello);
        let decoded = ClientFrame::decode(&bytes).unwrap();
        assert_eq!(decoded.id, 1);
        assert_eq!(decoded.request, Ok(Request::Hello(hello)));
    }

    #[test]
    fn an_absent_body_is_an_empty_one() {
        let bytes = frame(map(vec![("type", "pause".into()), ("id", 7.into())]));
        let decoded = ClientFrame::decode(&bytes).unwrap();
        assert_eq!((decoded.id, decoded.request), (7, Ok(Request::Pause)));
        let bytes = frame(map(vec![("type", "play".into()), ("id", 8.into())]));
        assert_eq!(ClientFrame::decode(&bytes).unwrap().request, Ok(Request::Play(Play::default())));
    }

    #[test]
    fn what_is_not_a_map_is_a_violation() {
        assert_eq!(ClientFrame::decode(&frame(Value::from(3))), Err(FrameViolation::NotAMap));
        let array = frame(Value::Array(vec!["seek".into(), 1.into()]));
        assert_eq!(ClientFrame::decode(&array), Err(FrameViolation::NotAMap));
        assert!(matches!(ClientFrame::decode(b"{\"type\":1}"), Err(FrameViolation::NotMessagePack(_))));
        assert!(matches!(ClientFrame::decode(&[]), Err(FrameViolation::NotMessagePack(_))));
        let mut trailing = frame(map(vec![("type", "ping".into()), ("id", 1.into())]));
        trailing.push(0xc0);
        assert!(matches!(ClientFrame::decode(&trailing), Err(FrameViolation::NotMessagePack(_))));
    }

    #[test]
    fn a_wrong_body_is_a_bad_request_with_the_request_id() {
        let cases = [
            map(vec![("type", "seek".into()), ("id", 4.into()), ("body", map(vec![]))]),
            map(vec![("type", "seek".into()), ("id", 4.into()), ("body", map(vec![("position_ms", "x".into())]))]),
            map(vec![("type", "seek".into()), ("id", 4.into()), ("body", map(vec![("position_ms", (-1).into())]))]),
            map(vec![
                ("type", "seek".into()),
                ("id", 4.into()),
                ("body", map(vec![("position_ms", (1u64 << 40).into())])),
            ]),
            map(vec![("type", "volume".into()), ("id", 4.into()), ("body", map(vec![("percent", 101.into())]))]),
            map(vec![("type", "pause".into()), ("id", 4.into()), ("body", 5.into())]),
            map(vec![("type", "repeat".into()), ("id", 4.into()), ("body", map(vec![("state", "sometimes".into())]))]),
        ];
        for case in cases {
            let decoded = ClientFrame::decode(&frame(case.clone())).unwrap();
            assert_eq!(decoded.id, 4, "{case}");
            assert_eq!(decoded.request.unwrap_err().code, ErrorCode::BadRequest, "{case}");
        }
    }

    #[test]
    fn an_envelope_without_type_or_id_is_a_bad_request_with_id_zero() {
        let no_type = ClientFrame::decode(&frame(map(vec![("id", 9.into())]))).unwrap();
        assert_eq!(no_type.request.unwrap_err().code, ErrorCode::BadRequest);
        let no_id = ClientFrame::decode(&frame(map(vec![("type", "ping".into())]))).unwrap();
        assert_eq!((no_id.id, no_id.request.unwrap_err().code), (0, ErrorCode::BadRequest));
    }

    #[test]
    fn an_unknown_type_is_named_in_the_reply() {
        let decoded = ClientFrame::decode(&frame(map(vec![("type", "dance".into()), ("id", 2.into())]))).unwrap();
        let error = decoded.request.unwrap_err();
        assert_eq!(error.code, ErrorCode::UnknownType);
        assert!(error.message.contains("dance"));
    }

    #[test]
    fn hello_fields_are_checked() {
        let hello = |device_id: &str, name: &str| {
            map(vec![
                ("type", "hello".into()),
                ("id", 1.into()),
                (
                    "body",
                    map(vec![
                        ("device_id", device_id.into()),
                        ("name", name.into()),
                        ("device_type", "tv".into()),
                        ("can_play", true.into()),
                        ("supports_volume", false.into()),
                    ]),
                ),
            ])
        };
        assert!(ClientFrame::decode(&frame(hello("tv-1", "Living room"))).unwrap().request.is_ok());
        for (device_id, name) in [("", "x"), ("has space", "x"), (&"a".repeat(65), "x"), ("ok", "")] {
            let decoded = ClientFrame::decode(&frame(hello(device_id, name))).unwrap();
            assert_eq!(decoded.request.unwrap_err().code, ErrorCode::BadRequest);
        }
    }

    #[test]
    fn replies_and_events_are_maps_with_string_keys() {
        let ok = ServerFrame::decode(&encode_reply_ok(3, &Seek { position_ms: 5 })).unwrap();
        assert_eq!((ok.kind.as_str(), ok.id, ok.ok), ("reply", Some(3), Some(true)));
        assert_eq!(ok.body_as::<Seek>().unwrap(), Seek { position_ms: 5 });
        let err = ServerFrame::decode(&encode_reply_err(0, &ErrorBody::new(ErrorCode::Conflict, "no"))).unwrap();
        assert_eq!(err.error.unwrap().code, ErrorCode::Conflict);
        let event = encode_event("state", Some(9), &Seek { position_ms: 1 });
        let raw = rmpv::decode::read_value(&mut &event[..]).unwrap();
        let keys: Vec<_> = raw.as_map().unwrap().iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["type", "seq", "body"]);
    }
}
