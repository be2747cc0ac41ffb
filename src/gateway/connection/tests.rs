//! The socket loop's timing and ordering, with paused time: an in-memory socket, a fake backend
//! whose sessions answer at once, and the real hub for the outbound queues. (The integration
//! tests in `tests/connect.rs` run the same loop over real sockets against the real node.)

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, Stream};
use governor::clock::DefaultClock;
use segue_protocol::envelope::{encode_event, encode_request};
use segue_protocol::request::Hello;
use segue_protocol::{ErrorCode, Request, ServerFrame, SessionState, close_code};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::CLOSE_TOO_SLOW;
use super::backend::{AttachRefused, Attachment, Backend};
use super::device::{DeviceConnection, DeviceSocket};
use crate::actors::hub::{LocalHub, OUTBOUND_CAPACITY, OutFrame};
use crate::auth::Authenticated;
use crate::config::ServerConfig;
use crate::domain::Product;
use crate::domain::Viewer;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::metrics::Metrics;

/// The server's end of an in-memory WebSocket.
struct TestSocket {
    incoming: mpsc::UnboundedReceiver<Message>,
    outgoing: mpsc::UnboundedSender<Written>,
}

/// What the server wrote: a message, or the end of a write (a flush).
#[derive(Debug)]
enum Written {
    Message(Message),
    Flush,
}

impl Stream for TestSocket {
    type Item = Result<Message, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx).map(|message| message.map(Ok))
    }
}

impl Sink<Message> for TestSocket {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), WsError> {
        self.outgoing.send(Written::Message(item)).map_err(|_| WsError::ConnectionClosed)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(self.outgoing.send(Written::Flush).map_err(|_| WsError::ConnectionClosed))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
}

impl DeviceSocket for TestSocket {
    async fn discard_unread(&mut self) {}
}

fn user() -> Id {
    Id::from_u128(77)
}

/// Sessions that answer at once: every command is a change whose `state` reaches the hub before
/// the command's answer does, as the real session's fan-out does.
struct FakeBackend {
    config: ServerConfig,
    metrics: Arc<Metrics>,
    clock: DefaultClock,
    hub: Arc<LocalHub>,
    seq: Rc<RefCell<u64>>,
    detached: Rc<RefCell<Vec<(String, u64)>>>,
}

fn state_frame(seq: u64) -> Arc<OutFrame> {
    let state = SessionState { seq, ..SessionState::default() };
    Arc::new(OutFrame::State { seq, frame: Bytes::from(encode_event("state", Some(seq), &state)) })
}

impl Backend for FakeBackend {
    fn config(&self) -> &ServerConfig {
        &self.config
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn clock(&self) -> &DefaultClock {
        &self.clock
    }

    async fn authenticate(&self, _token: &str) -> AppResult<Authenticated> {
        Err(AppError::unauthorized("the fake accepts no token"))
    }

    async fn attach(&self, user: &Viewer, _hello: &Hello) -> Result<Attachment, AttachRefused> {
        let (connection, outbound) = self.hub.connect(user.id).ok_or(AttachRefused::Draining)?;
        let seq = *self.seq.borrow();
        Ok(Attachment { connection, outbound, state: SessionState { seq, ..SessionState::default() } })
    }

    async fn command(&self, user: &Viewer, _device_id: &str, _request: Request) -> AppResult<u64> {
        let seq = {
            let mut seq = self.seq.borrow_mut();
            *seq += 1;
            *seq
        };
        self.hub.deliver_to_user(user.id, state_frame(seq));
        Ok(seq)
    }

    async fn detach(&self, user: Id, device_id: String, connection: u64) {
        self.hub.disconnect(user, connection);
        self.detached.borrow_mut().push((device_id, connection));
    }
}

/// The device's end, with the connection running beside it.
struct Harness {
    to_server: mpsc::UnboundedSender<Message>,
    from_server: mpsc::UnboundedReceiver<Written>,
    hub: Arc<LocalHub>,
    metrics: Arc<Metrics>,
    detached: Rc<RefCell<Vec<(String, u64)>>>,
    next_id: u32,
}

fn start(configure: impl FnOnce(&mut ServerConfig), token_ttl: Duration) -> Harness {
    let mut config = ServerConfig::embedded("/nonexistent");
    configure(&mut config);
    let (to_server, incoming) = mpsc::unbounded_channel();
    let (outgoing, from_server) = mpsc::unbounded_channel();
    let hub = Arc::new(LocalHub::new(1));
    let metrics = Arc::new(Metrics::default());
    let detached = Rc::new(RefCell::new(Vec::new()));
    let backend = FakeBackend {
        config,
        metrics: metrics.clone(),
        clock: DefaultClock::default(),
        hub: hub.clone(),
        seq: Rc::new(RefCell::new(5)),
        detached: detached.clone(),
    };
    let user = Viewer {
        id: user(),
        username: "tester".into(),
        display_name: "Tester".into(),
        product: Product::Free,
        country: "SE".into(),
        token_version: 0,
    };
    let expires_at_s = crate::clock::now_ms() / 1000 + token_ttl.as_secs();
    let auth = Authenticated { user: Arc::new(user), expires_at_s };
    let connection = DeviceConnection::new(TestSocket { incoming, outgoing }, backend, auth, tracing::Span::none());
    tokio::task::spawn_local(connection.serve());
    Harness { to_server, from_server, hub, metrics, detached, next_id: 1 }
}

fn hello() -> serde_json::Value {
    json!({"device_id": "phone", "name": "Phone", "device_type": "smartphone", "can_play": true, "supports_volume": true})
}

impl Harness {
    fn send(&mut self, kind: &str, body: serde_json::Value) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.to_server.send(Message::Binary(encode_request(kind, id, &body).into())).unwrap();
        id
    }

    /// The next thing written, flushes included.
    async fn written(&mut self) -> Written {
        tokio::time::timeout(Duration::from_secs(3600), self.from_server.recv())
            .await
            .expect("the server writes within an hour")
            .expect("the connection is still there")
    }

    /// The next message, skipping flushes.
    async fn message(&mut self) -> Message {
        loop {
            if let Written::Message(message) = self.written().await {
                return message;
            }
        }
    }

    async fn frame(&mut self) -> ServerFrame {
        match self.message().await {
            Message::Binary(bytes) => ServerFrame::decode(&bytes).unwrap(),
            other => panic!("not a frame: {other:?}"),
        }
    }

    async fn close(&mut self) -> (u16, String) {
        loop {
            if let Message::Close(Some(CloseFrame { code, reason })) = self.message().await {
                return (u16::from(code), reason.to_string());
            }
        }
    }

    async fn say_hello(&mut self) {
        let id = self.send("hello", hello());
        let reply = self.frame().await;
        assert_eq!((reply.id, reply.ok), (Some(id), Some(true)), "{:?}", reply.error);
    }
}

fn run(test: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, test);
}

#[test]
fn no_hello_within_the_timeout_closes_with_1008() {
    run(async {
        let started = Instant::now();
        let mut device = start(|c| c.hello_timeout = Duration::from_secs(7), Duration::from_secs(3600));
        let (code, reason) = device.close().await;
        assert_eq!(code, close_code::POLICY);
        assert!(reason.contains("no hello within 7"), "{reason}");
        assert_eq!(started.elapsed().as_secs(), 7, "closed at the deadline, not before or long after");
    });
}

#[test]
fn a_silent_device_gets_pings_then_is_closed_after_three_heartbeats_and_a_talking_one_is_not() {
    run(async {
        let every = Duration::from_secs(5);
        let mut device = start(|c| c.heartbeat = every, Duration::from_secs(3600));
        device.say_hello().await;
        let started = Instant::now();
        let mut pings = 0;
        let (code, reason) = loop {
            match device.message().await {
                Message::Ping(_) => pings += 1,
                Message::Close(Some(frame)) => break (u16::from(frame.code), frame.reason.to_string()),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!((code, reason.as_str()), (close_code::NORMAL, "heartbeat timeout"));
        assert_eq!(pings, 2, "pinged at 5 s and 10 s, closed at 15 s");
        assert_eq!(started.elapsed(), every * 3);
        assert_eq!(device.detached.borrow().len(), 1, "the device was detached");

        let mut talker = start(|c| c.heartbeat = every, Duration::from_secs(3600));
        talker.say_hello().await;
        for _ in 0..10 {
            assert!(matches!(talker.message().await, Message::Ping(_)));
            talker.to_server.send(Message::Pong(Bytes::new())).unwrap();
        }
        assert!(talker.detached.borrow().is_empty(), "a device that answers stays, ten heartbeats on");
    });
}

#[test]
fn past_the_rate_limit_a_request_is_refused_with_a_retry_and_the_connection_stays() {
    run(async {
        let mut device = start(|c| c.rate_limit_per_second = 10, Duration::from_secs(3600));
        device.say_hello().await;
        let ids: Vec<u32> = (0..11).map(|_| device.send("ping", json!({}))).collect();
        for id in &ids[..10] {
            let reply = device.frame().await;
            assert_eq!((reply.id, reply.ok), (Some(*id), Some(true)));
        }
        let refused = device.frame().await;
        assert_eq!(refused.id, Some(ids[10]));
        let error = refused.error.expect("an error");
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert!(error.retry_after_ms.is_some_and(|ms| (1..=100).contains(&ms)), "{error:?}");
        assert_eq!(device.metrics.rate_limited.get(), 1);
        assert!(device.detached.borrow().is_empty(), "the connection stays open");
    });
}

#[test]
fn a_device_that_cannot_keep_up_is_closed_with_1013_after_what_was_queued() {
    run(async {
        let mut device = start(|_| {}, Duration::from_secs(3600));
        device.say_hello().await;
        // More states than the queue holds arrive before the connection gets to run: the hub
        // lets go of it.
        for seq in 6..=6 + OUTBOUND_CAPACITY as u64 {
            device.hub.deliver_to_user(user(), state_frame(seq));
        }
        assert_eq!(device.hub.connection_count(), 0, "the hub let go of the connection");
        let mut states = 0;
        let (code, _) = loop {
            match device.message().await {
                Message::Binary(_) => states += 1,
                Message::Close(Some(frame)) => break (u16::from(frame.code), frame.reason),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(states, OUTBOUND_CAPACITY, "what was queued still went out");
        assert_eq!(code, CLOSE_TOO_SLOW);
        assert_eq!(device.metrics.slow_consumers.get(), 1);
    });
}

#[test]
fn a_commands_reply_comes_before_the_state_it_caused_in_the_same_write_and_old_states_are_skipped() {
    run(async {
        let mut device = start(|_| {}, Duration::from_secs(3600));
        device.say_hello().await;
        assert!(matches!(device.written().await, Written::Flush));
        // A state the welcome already covered (seq 5) is not sent again.
        device.hub.deliver_to_user(user(), state_frame(5));
        let id = device.send("pause", json!({}));
        // (The skipped state may cost an empty write of its own before the request is read.)
        let Message::Binary(first) = device.message().await else { panic!("a frame") };
        let reply = ServerFrame::decode(&first).unwrap();
        assert_eq!((reply.kind.as_str(), reply.id, reply.ok), ("reply", Some(id), Some(true)));
        let Written::Message(Message::Binary(second)) = device.written().await else { panic!("a second frame") };
        let state = ServerFrame::decode(&second).unwrap();
        assert_eq!((state.kind.as_str(), state.seq), ("state", Some(6)));
        assert!(matches!(device.written().await, Written::Flush), "both in one write");
    });
}

#[test]
fn an_expired_token_closes_with_4003() {
    run(async {
        let started = Instant::now();
        let mut device = start(|_| {}, Duration::from_secs(30));
        device.say_hello().await;
        loop {
            match device.message().await {
                Message::Ping(_) => device.to_server.send(Message::Pong(Bytes::new())).unwrap(),
                Message::Close(Some(frame)) => {
                    assert_eq!(u16::from(frame.code), close_code::TOKEN_EXPIRED);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        let elapsed = started.elapsed().as_secs();
        assert!((29..=31).contains(&elapsed), "closed when the token expired: {elapsed} s");
    });
}

#[test]
fn a_request_before_hello_closes_with_1008_and_a_bad_frame_with_1007() {
    run(async {
        let mut device = start(|_| {}, Duration::from_secs(3600));
        device.send("pause", json!({}));
        let error = device.frame().await;
        assert_eq!((error.id, error.ok), (Some(0), Some(false)));
        assert_eq!(device.close().await.0, close_code::POLICY);

        let mut device = start(|_| {}, Duration::from_secs(3600));
        device.say_hello().await;
        device.to_server.send(Message::Binary(Bytes::from_static(b"\xc1 not messagepack"))).unwrap();
        assert_eq!(device.frame().await.id, Some(0));
        assert_eq!(device.close().await.0, close_code::INVALID_PAYLOAD);
        assert_eq!(device.metrics.protocol_violations.get(), 1);
    });
}
