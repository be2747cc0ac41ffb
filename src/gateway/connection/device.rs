//! The socket loop of one device, [`DeviceConnection`].
//!
//! The loop waits on four things at once: a frame from the device, a frame for the device from
//! its outbound queue, the heartbeat tick, and the deadlines (`hello`, token expiry). A request
//! is decoded, checked, rate-limited and, if it is a command, sent to the session; its reply is
//! written before anything else from the queue, so on the sender's own connection the reply
//! always comes before the `state` event it caused.
//!
//! It is generic over the socket ([`DeviceSocket`]: any `Stream + Sink` of WebSocket messages)
//! and over its [`Backend`], and reads time only through tokio, so a test drives it with an
//! in-memory socket, a fake backend and paused time.

use std::borrow::Cow;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_rt::net::TcpStream;
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use segue_protocol::envelope::{encode_reply_err, encode_reply_ok};
use segue_protocol::request::{Hello, PingReply, SeqReply};
use segue_protocol::state::Welcome;
use segue_protocol::{ClientFrame, ErrorCode, MAX_FRAME_BYTES, Request, close_code};
use tokio::io::AsyncReadExt;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::Instrument;

use super::CLOSE_TOO_SLOW;
use super::backend::{AttachRefused, Backend, PlaylistAnswer};
use crate::actors::hub::{OutFrame, Outbound};
use crate::auth::Authenticated;
use crate::clock::now_ms;
use crate::domain::Viewer;
use crate::error::AppError;
use crate::metrics::Queue;

/// A write that cannot finish in this long means the device stopped reading: it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection waits for the device's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The socket a device connection runs over.
pub trait DeviceSocket:
    Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + 'static
{
    /// After the close handshake: reads and discards whatever the peer still sends (the rest of
    /// an oversized frame), since closing a socket with unread bytes resets it and could destroy
    /// the close frame just sent.
    fn discard_unread(&mut self) -> impl Future<Output = ()>;
}

impl DeviceSocket for WebSocketStream<TcpStream> {
    async fn discard_unread(&mut self) {
        let mut sink = [0u8; 1024];
        while matches!(self.get_mut().read(&mut sink).await, Ok(n) if n > 0) {}
    }
}

/// How a connection ends.
enum Ending {
    /// Send a close frame with this code and reason.
    Close(u16, Cow<'static, str>),
    /// The device is gone (it closed, or the socket failed): nothing more to send.
    Gone,
}

/// What woke the loop.
enum Wake {
    Incoming(Option<Result<Message, WsError>>),
    Outgoing(Option<Arc<OutFrame>>),
    /// The one timer: the next ping, the hello deadline or the token's expiry.
    Timer,
}

/// The device once it said `hello`.
struct Attached {
    device_id: String,
    connection: u64,
    outbound: Outbound,
}

/// One device connection.
pub struct DeviceConnection<S, B> {
    ws: S,
    backend: B,
    user: Arc<Viewer>,
    limiter: DefaultDirectRateLimiter,
    attached: Option<Attached>,
    /// The newest seq this device has been sent; older `state` events are skipped.
    last_seq: u64,
    /// When the device last sent anything (a frame, a pong).
    last_heard: Instant,
    /// When the token expires (`auth` moves it).
    token_deadline: Instant,
    /// The connection's span; each request's own span follows from it.
    span: tracing::Span,
}

async fn next_outgoing(attached: &mut Option<Attached>) -> Option<Arc<OutFrame>> {
    match attached {
        Some(attached) => attached.outbound.recv().await,
        None => std::future::pending().await,
    }
}

fn token_deadline(expires_at_s: u64) -> Instant {
    let left_ms = (expires_at_s * 1000).saturating_sub(now_ms());
    Instant::now() + Duration::from_millis(left_ms)
}

impl<S: DeviceSocket, B: Backend> DeviceConnection<S, B> {
    pub fn new(ws: S, backend: B, auth: Authenticated, span: tracing::Span) -> DeviceConnection<S, B> {
        let per_second = NonZeroU32::new(backend.config().rate_limit_per_second).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct_with_clock(Quota::per_second(per_second), backend.clock().clone());
        DeviceConnection {
            ws,
            backend,
            user: auth.user,
            limiter,
            attached: None,
            last_seq: 0,
            last_heard: Instant::now(),
            token_deadline: token_deadline(auth.expires_at_s),
            span,
        }
    }

    /// Serves the socket until it closes.
    pub async fn serve(mut self) {
        let metrics = self.backend.metrics();
        metrics.connections_open.inc();
        metrics.connections_total.inc();
        let ending = self.run().await;
        Box::pin(self.finish(ending)).await;
    }

    async fn run(&mut self) -> Ending {
        // One timer per connection, set to the earliest of its deadlines: fewer timers to keep
        // (memory) and to poll on every wake (CPU) than one per deadline.
        let every = self.backend.config().heartbeat;
        let hello_deadline = Instant::now() + self.backend.config().hello_timeout;
        let mut next_ping = Instant::now() + every;
        let mut deadline = self.next_deadline(hello_deadline, next_ping);
        let timer = sleep_until(deadline);
        tokio::pin!(timer);
        loop {
            let wake = tokio::select! {
                incoming = self.ws.next() => Wake::Incoming(incoming),
                outgoing = next_outgoing(&mut self.attached) => Wake::Outgoing(outgoing),
                _ = &mut timer => Wake::Timer,
            };
            // The handlers are boxed: their futures (a session call, a catalog query) are large
            // and short-lived, and the loop's own future stays small for the whole life of an
            // idle connection.
            let result = match wake {
                Wake::Incoming(incoming) => Box::pin(self.on_incoming(incoming)).await,
                Wake::Outgoing(outgoing) => Box::pin(self.on_outgoing(outgoing)).await,
                Wake::Timer => Box::pin(self.on_timer(hello_deadline, &mut next_ping)).await,
            };
            if let Err(ending) = result {
                return ending;
            }
            let next = self.next_deadline(hello_deadline, next_ping);
            if next != deadline {
                deadline = next;
                timer.as_mut().reset(deadline);
            }
        }
    }

    fn next_deadline(&self, hello_deadline: Instant, next_ping: Instant) -> Instant {
        let deadline = next_ping.min(self.token_deadline);
        if self.attached.is_none() { deadline.min(hello_deadline) } else { deadline }
    }

    /// A deadline passed: no hello in time, the token expired, or it is time to ping.
    async fn on_timer(&mut self, hello_deadline: Instant, next_ping: &mut Instant) -> Result<(), Ending> {
        let now = Instant::now();
        if self.attached.is_none() && now >= hello_deadline {
            let seconds = self.backend.config().hello_timeout.as_secs_f32();
            return Err(Ending::Close(close_code::POLICY, format!("no hello within {seconds} s").into()));
        }
        if now >= self.token_deadline {
            return Err(Ending::Close(close_code::TOKEN_EXPIRED, "token expired".into()));
        }
        if now >= *next_ping {
            let every = self.backend.config().heartbeat;
            *next_ping = now + every;
            return self.on_heartbeat(every).await;
        }
        Ok(())
    }

    async fn on_heartbeat(&mut self, every: Duration) -> Result<(), Ending> {
        if self.last_heard.elapsed() >= every * 3 {
            return Err(Ending::Close(close_code::NORMAL, "heartbeat timeout".into()));
        }
        self.write(Message::Ping(Bytes::new())).await
    }

    async fn on_incoming(&mut self, incoming: Option<Result<Message, WsError>>) -> Result<(), Ending> {
        let message = match incoming {
            None => return Err(Ending::Gone),
            Some(Ok(message)) => message,
            Some(Err(WsError::Capacity(_))) => {
                let message = format!("a frame is larger than {MAX_FRAME_BYTES} bytes");
                return self.violation(close_code::TOO_BIG, message).await;
            }
            Some(Err(WsError::Protocol(error))) => {
                return self.violation(close_code::POLICY, format!("WebSocket protocol error: {error}")).await;
            }
            Some(Err(_)) => return Err(Ending::Gone),
        };
        self.last_heard = Instant::now();
        match message {
            Message::Binary(bytes) => {
                self.backend.metrics().frames_received.inc();
                let started = Instant::now();
                // Each request is a trace of its own, linked to its connection's.
                let span =
                    tracing::info_span!(parent: None, "request", user = %self.user.id, kind = tracing::field::Empty);
                span.follows_from(&self.span);
                let result = self.on_frame(&bytes).instrument(span).await;
                self.backend.metrics().command_seconds.observe(started.elapsed());
                result
            }
            Message::Text(_) => {
                self.violation(
                    close_code::POLICY,
                    "text frames are not part of the protocol: send MessagePack in binary frames".into(),
                )
                .await
            }
            Message::Close(_) => Err(Ending::Gone),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    /// Answers a frame that is not an envelope: one error reply with id 0, then the close.
    async fn violation(&mut self, code: u16, message: String) -> Result<(), Ending> {
        self.backend.metrics().protocol_violations.inc();
        let reason: String = message.chars().take(100).collect();
        let error = AppError::bad_request(message);
        // The close follows whether or not this reply could be written.
        let _ = self.write(Message::Binary(encode_reply_err(0, &error).into())).await;
        Err(Ending::Close(code, reason.into()))
    }

    async fn on_frame(&mut self, bytes: &[u8]) -> Result<(), Ending> {
        let frame = match ClientFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(violation) => {
                return self.violation(close_code::INVALID_PAYLOAD, violation.to_string()).await;
            }
        };
        let id = frame.id;
        if let Some(kind) = &frame.type_name {
            tracing::Span::current().record("kind", kind.as_str());
        }
        if self.attached.is_none() {
            return match frame.request {
                Ok(Request::Hello(hello)) => self.on_hello(id, hello).await,
                Err(error) if frame.type_name.as_deref() == Some("hello") => self.reply_err(id, error.into()).await,
                _ => self.violation(close_code::POLICY, "the first request must be hello".into()).await,
            };
        }
        let request = match frame.request {
            Ok(request) => request,
            Err(error) => return self.reply_err(id, error.into()).await,
        };
        if let Err(not_until) = self.limiter.check() {
            self.backend.metrics().rate_limited.inc();
            let wait = not_until.wait_time_from(self.backend.clock().now());
            let error = AppError::refusal(ErrorCode::RateLimited, "too many requests on this connection")
                .with_retry_after((wait.as_millis() as u64).max(1));
            return self.reply_err(id, error).await;
        }
        match request {
            Request::Ping => self.reply_ok(id, &PingReply { server_time_ms: now_ms() }).await,
            Request::Hello(_) => {
                let error = AppError::refusal(ErrorCode::BadRequest, "this connection already said hello");
                self.reply_err(id, error).await
            }
            Request::Auth(auth) => self.on_auth(id, &auth.access_token).await,
            request @ (Request::PlaylistSubscribe(_) | Request::PlaylistUnsubscribe(_) | Request::PlaylistEdit(_)) => {
                self.on_playlist(id, request).await
            }
            Request::ActivitySubscribe => self.on_activity_subscribe(id).await,
            command => self.on_command(id, command).await,
        }
    }

    async fn on_command(&mut self, id: u32, request: Request) -> Result<(), Ending> {
        let device_id = self.attached.as_ref().map_or("", |a| a.device_id.as_str());
        match self.backend.command(&self.user, device_id, request).await {
            Ok(seq) => self.reply_ok(id, &SeqReply { seq }).await,
            Err(error) => self.reply_err(id, error).await,
        }
    }

    async fn on_playlist(&mut self, id: u32, request: Request) -> Result<(), Ending> {
        let connection = self.attached.as_ref().map_or(0, |a| a.connection);
        match self.backend.playlist(&self.user, connection, request).await {
            Ok(PlaylistAnswer::Playlist(view)) => self.reply_ok(id, &view).await,
            Ok(PlaylistAnswer::Snapshot(snapshot)) => self.reply_ok(id, &snapshot).await,
            Ok(PlaylistAnswer::Done) => {
                #[derive(serde::Serialize)]
                struct Empty {}
                self.reply_ok(id, &Empty {}).await
            }
            Err(error) => self.reply_err(id, error).await,
        }
    }

    async fn on_hello(&mut self, id: u32, hello: Hello) -> Result<(), Ending> {
        match self.backend.attach(&self.user, &hello).await {
            Ok(attachment) => {
                let state = attachment.state;
                self.span.record("device", hello.device_id.as_str());
                self.last_seq = state.seq;
                self.attached = Some(Attached {
                    device_id: hello.device_id.clone(),
                    connection: attachment.connection,
                    outbound: attachment.outbound,
                });
                let welcome = Welcome {
                    user_id: self.user.id.to_string(),
                    device_id: hello.device_id,
                    heartbeat_ms: self.backend.config().heartbeat.as_millis() as u64,
                    seq: state.seq,
                    state,
                };
                self.reply_ok(id, &welcome).await
            }
            Err(AttachRefused::Draining) => {
                let error = AppError::refusal(ErrorCode::Unavailable, "this node is shutting down; reconnect");
                self.reply_err(id, error).await?;
                Err(Ending::Close(close_code::GOING_AWAY, "server going away".into()))
            }
            Err(AttachRefused::Revoked) => {
                let error = AppError::unauthorized("the token has been revoked");
                self.reply_err(id, error).await?;
                Err(Ending::Close(close_code::TOKEN_EXPIRED, "token revoked".into()))
            }
            Err(AttachRefused::Error(error)) => {
                let too_many = error.code == ErrorCode::TooManyDevices;
                self.reply_err(id, error).await?;
                if too_many {
                    return Err(Ending::Close(close_code::POLICY, "too many devices".into()));
                }
                Ok(())
            }
        }
    }

    async fn on_activity_subscribe(&mut self, id: u32) -> Result<(), Ending> {
        let connection = self.attached.as_ref().map_or(0, |a| a.connection);
        match self.backend.activity_subscribe(&self.user, connection).await {
            Ok(friends) => self.reply_ok(id, &friends).await,
            Err(error) => self.reply_err(id, error).await,
        }
    }

    async fn on_auth(&mut self, id: u32, token: &str) -> Result<(), Ending> {
        match self.backend.authenticate(token).await {
            Ok(auth) if auth.user.id == self.user.id => {
                self.token_deadline = token_deadline(auth.expires_at_s);
                self.user = auth.user;
                #[derive(serde::Serialize)]
                struct Renewed {
                    expires_at_ms: u64,
                }
                self.reply_ok(id, &Renewed { expires_at_ms: auth.expires_at_s * 1000 }).await
            }
            Ok(_) => {
                let error = AppError::refusal(ErrorCode::Forbidden, "that token belongs to another user");
                self.reply_err(id, error).await
            }
            Err(error) => self.reply_err(id, error).await,
        }
    }

    async fn on_outgoing(&mut self, outgoing: Option<Arc<OutFrame>>) -> Result<(), Ending> {
        let Some(frame) = outgoing else {
            self.backend.metrics().slow_consumers.inc();
            self.backend.metrics().overflowed(Queue::Outbound);
            return Err(Ending::Close(CLOSE_TOO_SLOW, "too slow to keep up; reconnect".into()));
        };
        self.feed_frame(&frame).await?;
        self.feed_queued().await?;
        self.flush().await
    }

    /// Feeds one queued frame to the socket (not flushed); a `Close` ends the connection.
    async fn feed_frame(&mut self, frame: &OutFrame) -> Result<(), Ending> {
        match frame {
            OutFrame::State { seq, frame } if *seq > self.last_seq => {
                self.last_seq = *seq;
                self.feed(Message::Binary(frame.clone())).await
            }
            OutFrame::State { .. } => Ok(()),
            OutFrame::Resync { seq, frame } if *seq >= self.last_seq => {
                self.last_seq = *seq;
                self.feed(Message::Binary(frame.clone())).await
            }
            OutFrame::Resync { .. } => Ok(()),
            OutFrame::Event(bytes) => self.feed(Message::Binary(bytes.clone())).await,
            OutFrame::Close { code, reason } => {
                // What was fed before the close still goes out first.
                self.flush().await?;
                Err(Ending::Close(*code, Cow::Borrowed(reason)))
            }
        }
    }

    /// Feeds every frame already waiting in the queue, without waiting for more.
    async fn feed_queued(&mut self) -> Result<(), Ending> {
        while let Some(frame) = self.attached.as_mut().and_then(|a| a.outbound.try_recv().ok()) {
            self.feed_frame(&frame).await?;
        }
        Ok(())
    }

    async fn reply_ok<T: serde::Serialize>(&mut self, id: u32, body: &T) -> Result<(), Ending> {
        self.write(Message::Binary(encode_reply_ok(id, body).into())).await
    }

    async fn reply_err(&mut self, id: u32, error: AppError) -> Result<(), Ending> {
        self.backend.metrics().command_errors.inc();
        if error.is_fault() {
            tracing::warn!(user = %self.user.id, %error, "a request on a socket failed");
        }
        self.write(Message::Binary(encode_reply_err(id, &error).into())).await
    }

    async fn feed(&mut self, message: Message) -> Result<(), Ending> {
        self.backend.metrics().frames_sent.inc();
        match tokio::time::timeout(WRITE_TIMEOUT, self.ws.feed(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Ending::Gone),
        }
    }

    async fn flush(&mut self) -> Result<(), Ending> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.ws.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Ending::Gone),
        }
    }

    /// Writes a reply, and with it whatever events are already queued: the `state` a command
    /// caused is in the queue before its reply is written, so both leave in one write.
    async fn write(&mut self, message: Message) -> Result<(), Ending> {
        self.feed(message).await?;
        self.feed_queued().await?;
        self.flush().await
    }

    /// Tells the node that this device is gone, then closes the socket (with a close frame when
    /// there is one to send). The device is offline for the others at once, not only once the
    /// close handshake is over.
    async fn finish(mut self, ending: Ending) {
        if let Some(attached) = self.attached.take() {
            drop(attached.outbound);
            self.backend.detach(self.user.id, attached.device_id, attached.connection).await;
        }
        if let Ending::Close(code, reason) = ending {
            let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into_owned().into() };
            if tokio::time::timeout(CLOSE_TIMEOUT, self.ws.send(Message::Close(Some(frame)))).await.is_ok() {
                // Wait for the device's own close frame, so the close handshake completes, then
                // read whatever it still sends.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    while let Some(Ok(_)) = self.ws.next().await {}
                    self.ws.discard_unread().await;
                })
                .await;
            }
        }
        self.backend.metrics().connections_open.dec();
    }
}
