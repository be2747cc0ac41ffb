//! Cluster mode: the Redis bus, the snapshots, and the calls between nodes.
//!
//! - [`ClusterBus`] implements [`Bus`]: a new state is stored and published in one Redis script
//!   (`storage::redis`), so no device ever sees a state that a successor could not load; other
//!   frames (a `Close` for a replaced connection) are published on the user's channel. Each node
//!   subscribes to the channel of every user with a device on it, once per user however many
//!   devices, through one [`Subscriptions`] task that batches changes.
//! - [`ClusterSnapshots`] loads a session from Redis, or from the store's copy when Redis has
//!   none (the write-behind writer keeps one in PostgreSQL as well).
//! - [`Rpc`]: a call to a session held by another process goes to that process's inbox channel
//!   and its reply comes back on the caller's; each waiting call has a one-shot slot.
//!
//! The placement itself (who activates a session, when a dead owner's session is taken over)
//! is in `directory.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use dashmap::DashMap;
use segue_protocol::{ErrorCode, SessionState};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::bus::{Audience, Bus, BusFuture, Commit, CommitError, StateChange};
use super::hub::{LocalHub, OutFrame};
use super::session::{Executed, SnapshotSource};
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::player::{Applied, Command};
use crate::storage::redis::{Committed, RedisEngine, rpc_channel, user_channel};
use crate::storage::snapshots::{SnapshotRecord, WriteBehind};

/// The answer when Redis is unreachable: fail fast, never hang.
pub fn redis_unavailable() -> AppError {
    AppError::new(ErrorCode::Unavailable, "the cluster's Redis is unreachable; retry soon")
}

// ----- frames on a user's channel -----

const KIND_STATE: u8 = 1;
const KIND_EVENT: u8 = 2;
const KIND_CLOSE: u8 = 3;

/// Encodes a frame for a user's channel: a kind byte, then the frame's own fields.
pub fn encode_user_message(audience: Audience, frame: &OutFrame) -> Bytes {
    let connection = match audience {
        Audience::User => 0,
        Audience::Connection(connection) => connection,
    };
    let mut out = BytesMut::with_capacity(32);
    match frame {
        OutFrame::State { seq, frame } | OutFrame::Resync { seq, frame } => {
            out.put_u8(KIND_STATE);
            out.put_u64(connection);
            out.put_u64(*seq);
            out.extend_from_slice(frame);
        }
        OutFrame::Event(frame) => {
            out.put_u8(KIND_EVENT);
            out.put_u64(connection);
            out.extend_from_slice(frame);
        }
        OutFrame::Close { code, reason } => {
            out.put_u8(KIND_CLOSE);
            out.put_u64(connection);
            out.put_u16(*code);
            out.extend_from_slice(reason.as_bytes());
        }
    }
    out.freeze()
}

/// Decodes a frame from a user's channel; `None` for anything malformed.
pub fn decode_user_message(mut payload: Bytes) -> Option<(Audience, OutFrame)> {
    if payload.len() < 9 {
        return None;
    }
    let kind = payload.get_u8();
    let audience = match payload.get_u64() {
        0 => Audience::User,
        connection => Audience::Connection(connection),
    };
    let frame = match kind {
        KIND_STATE if payload.len() >= 8 => {
            let seq = payload.get_u64();
            OutFrame::State { seq, frame: payload }
        }
        KIND_EVENT => OutFrame::Event(payload),
        KIND_CLOSE if payload.len() >= 2 => {
            let code = payload.get_u16();
            // Close reasons are the server's own static texts; keep the known ones.
            let reason = match &payload[..] {
                b"replaced" => "replaced",
                b"session restarted" => "session restarted",
                b"token revoked" => "token revoked",
                _ => "closed by the server",
            };
            OutFrame::Close { code, reason }
        }
        _ => return None,
    };
    Some((audience, frame))
}

/// Delivers a message from a user's channel to this node's connections of that user.
pub fn deliver(hub: &LocalHub, user: Id, payload: Bytes) {
    match decode_user_message(payload) {
        Some((Audience::User, frame)) => hub.deliver_to_user(user, Arc::new(frame)),
        Some((Audience::Connection(connection), frame)) => hub.deliver_to_connection(user, connection, Arc::new(frame)),
        None => tracing::warn!(%user, "a malformed message on a user channel"),
    }
}

// ----- subscriptions -----

enum Interest {
    Watch(Id, oneshot::Sender<AppResult<()>>),
    Unwatch(Id),
}

/// The node's subscriptions to user channels: one per user with at least one local device.
/// A single task owns the counts and applies changes in order, many per Redis command.
#[derive(Clone)]
pub struct Subscriptions {
    /// Unbounded: each connection sends at most one watch and one unwatch, so the queue is
    /// bounded by the connections of the node.
    tx: mpsc::UnboundedSender<Interest>,
}

impl Subscriptions {
    pub fn start(engine: Arc<RedisEngine>) -> Subscriptions {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(manage_subscriptions(engine, rx));
        Subscriptions { tx }
    }
}

async fn manage_subscriptions(engine: Arc<RedisEngine>, mut rx: mpsc::UnboundedReceiver<Interest>) {
    let mut counts: HashMap<Id, u32> = HashMap::new();
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 1024).await > 0 {
        let mut waiters = Vec::new();
        let before: HashMap<Id, bool> = batch
            .iter()
            .map(|i| match i {
                Interest::Watch(u, _) | Interest::Unwatch(u) => *u,
            })
            .map(|u| (u, counts.contains_key(&u)))
            .collect();
        for interest in batch.drain(..) {
            match interest {
                Interest::Watch(user, waiter) => {
                    *counts.entry(user).or_default() += 1;
                    waiters.push(waiter);
                }
                Interest::Unwatch(user) => {
                    if let Some(count) = counts.get_mut(&user) {
                        *count -= 1;
                        if *count == 0 {
                            counts.remove(&user);
                        }
                    }
                }
            }
        }
        let mut subscribe = Vec::new();
        let mut unsubscribe = Vec::new();
        for (user, was) in before {
            match (was, counts.contains_key(&user)) {
                (false, true) => subscribe.push(user_channel(user)),
                (true, false) => unsubscribe.push(user_channel(user)),
                _ => {}
            }
        }
        let subscribed = engine.subscribe(subscribe).await.map_err(|error| {
            tracing::warn!(%error, "subscribing to user channels failed");
            redis_unavailable()
        });
        for waiter in waiters {
            let _ = waiter.send(subscribed.clone());
        }
        if let Err(error) = engine.unsubscribe(unsubscribe).await {
            tracing::warn!(%error, "unsubscribing from user channels failed");
        }
    }
}

// ----- the bus -----

/// The cluster bus: states stored and published through Redis.
pub struct ClusterBus {
    engine: Arc<RedisEngine>,
    writer: WriteBehind,
    subscriptions: Subscriptions,
}

impl ClusterBus {
    pub fn new(engine: Arc<RedisEngine>, writer: WriteBehind, subscriptions: Subscriptions) -> ClusterBus {
        ClusterBus { engine, writer, subscriptions }
    }
}

impl Bus for ClusterBus {
    fn publish(&self, user: Id, audience: Audience, frame: Arc<OutFrame>) {
        let engine = self.engine.clone();
        let message = encode_user_message(audience, &frame);
        tokio::spawn(async move {
            if let Err(error) = engine.publish(user_channel(user), message).await {
                tracing::warn!(%user, %error, "publishing to a user channel failed");
            }
        });
    }

    fn commit(&self, change: StateChange) -> Option<Commit> {
        let StateChange { user, epoch, seq, frame, snapshot } = change;
        let engine = self.engine.clone();
        let writer = self.writer.clone();
        let message = encode_user_message(Audience::User, &OutFrame::State { seq, frame });
        Some(Box::pin(async move {
            if !engine.is_connected() {
                return Err(CommitError::Unavailable);
            }
            match engine.commit(user, epoch, seq, snapshot.clone(), message).await {
                Ok(Committed::Written) => {
                    // A second copy for the store, written behind: it outlives a loss of Redis's
                    // data. Redis's copy is the one acknowledged.
                    writer.stage_snapshot(user, SnapshotRecord { epoch, seq, state: snapshot });
                    Ok(())
                }
                Ok(Committed::Superseded) => Ok(()),
                Ok(Committed::Fenced) => {
                    tracing::info!(%user, epoch, "another node holds this session now");
                    Err(CommitError::Fenced)
                }
                Err(error) => {
                    tracing::warn!(%user, %error, "storing a session state failed");
                    Err(CommitError::Unavailable)
                }
            }
        }))
    }

    fn watch(&self, user: Id) -> BusFuture<AppResult<()>> {
        let (tx, rx) = oneshot::channel();
        let sent = self.subscriptions.tx.send(Interest::Watch(user, tx));
        Box::pin(async move {
            sent.map_err(|_| redis_unavailable())?;
            rx.await.map_err(|_| redis_unavailable())?
        })
    }

    fn unwatch(&self, user: Id) {
        let _ = self.subscriptions.tx.send(Interest::Unwatch(user));
    }

    fn available(&self) -> bool {
        self.engine.is_connected()
    }
}

// ----- snapshots -----

/// Loads a session's snapshot from Redis, or the store's copy when Redis has none.
pub struct ClusterSnapshots {
    pub engine: Arc<RedisEngine>,
    pub writer: WriteBehind,
}

impl SnapshotSource for ClusterSnapshots {
    fn load(&self, user: Id) -> BusFuture<AppResult<Option<SnapshotRecord>>> {
        let engine = self.engine.clone();
        let writer = self.writer.clone();
        Box::pin(async move {
            let stored = engine.load_snapshot(user).await.map_err(|_| redis_unavailable())?;
            match stored {
                Some(snapshot) => {
                    Ok(Some(SnapshotRecord { epoch: snapshot.epoch, seq: snapshot.seq, state: snapshot.state }))
                }
                None => Ok(writer.load_snapshot(user).await?),
            }
        })
    }

    fn stale_connections(&self, connections: Vec<u64>) -> BusFuture<Vec<u64>> {
        let engine = self.engine.clone();
        Box::pin(async move {
            let mut alive: HashMap<String, bool> = HashMap::new();
            let mut stale = Vec::new();
            for connection in connections {
                let instance = RedisEngine::instance_of_connection(connection);
                let is_alive = match alive.get(&instance) {
                    Some(known) => *known,
                    None => {
                        // Unknown counts as gone: the device says hello again, nothing is lost.
                        let known = engine.is_alive(&instance).await.unwrap_or(false);
                        alive.insert(instance, known);
                        known
                    }
                };
                if !is_alive {
                    stale.push(connection);
                }
            }
            stale
        })
    }
}

// ----- calls between nodes -----

/// A call to a session, as it travels to the node holding it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RemoteCall {
    Execute { sender: Option<String>, command: Command, want_state: bool },
    ReadState,
}

/// A session's answer, as it travels back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RemoteAnswer {
    Executed { changed: bool, seq: u64, state: Option<SessionState> },
    State(SessionState),
}

/// Why a remote call did not answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RemoteError {
    /// The session refused, as it would have locally.
    App { code: ErrorCode, message: String, retry_after_ms: Option<u64> },
    /// That node does not hold the session (any more): find it again.
    NotHere,
}

impl From<AppError> for RemoteError {
    fn from(error: AppError) -> RemoteError {
        RemoteError::App { code: error.code, message: error.message.into_owned(), retry_after_ms: error.retry_after_ms }
    }
}

impl RemoteError {
    pub fn into_app(self) -> AppError {
        match self {
            RemoteError::App { code, message, retry_after_ms } => {
                AppError { code, message: message.into(), retry_after_ms }
            }
            RemoteError::NotHere => AppError::new(ErrorCode::Unavailable, "the session is moving; retry"),
        }
    }
}

impl RemoteAnswer {
    pub fn executed(executed: Executed) -> RemoteAnswer {
        RemoteAnswer::Executed { changed: executed.applied.changed, seq: executed.applied.seq, state: executed.state }
    }

    pub fn into_executed(self) -> Option<Executed> {
        match self {
            RemoteAnswer::Executed { changed, seq, state } => {
                Some(Executed { applied: Applied { changed, seq }, state })
            }
            RemoteAnswer::State(_) => None,
        }
    }
}

/// One message on a process's inbox.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcMessage {
    Request { id: u64, reply_to: String, user: Id, call: RemoteCall },
    Reply { id: u64, result: Result<RemoteAnswer, RemoteError> },
}

/// Why a remote call got no answer.
#[derive(Debug)]
pub enum RpcFailure {
    /// The call could not be sent (Redis is unreachable).
    Unreachable,
    /// No answer in time.
    Timeout,
}

/// The calls this process is waiting on.
pub struct Rpc {
    engine: Arc<RedisEngine>,
    waiting: DashMap<u64, oneshot::Sender<Result<RemoteAnswer, RemoteError>>>,
    next_id: AtomicU64,
    timeout: Duration,
}

impl Rpc {
    pub fn new(engine: Arc<RedisEngine>, timeout: Duration) -> Rpc {
        Rpc { engine, waiting: DashMap::new(), next_id: AtomicU64::new(1), timeout }
    }

    /// Calls `user`'s session on the process `instance`.
    pub async fn call(
        &self,
        instance: &str,
        user: Id,
        call: RemoteCall,
    ) -> Result<Result<RemoteAnswer, RemoteError>, RpcFailure> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message = RpcMessage::Request { id, reply_to: self.engine.instance().to_string(), user, call };
        let payload = rmp_serde::to_vec_named(&message).map_err(|_| RpcFailure::Unreachable)?;
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(id, tx);
        let forget = scopeguard(|| {
            self.waiting.remove(&id);
        });
        if self.engine.publish(rpc_channel(instance), payload.into()).await.is_err() {
            return Err(RpcFailure::Unreachable);
        }
        let answer = tokio::time::timeout(self.timeout, rx).await;
        drop(forget);
        match answer {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(_)) | Err(_) => Err(RpcFailure::Timeout),
        }
    }

    /// Hands a reply to the call waiting for it.
    pub fn on_reply(&self, id: u64, result: Result<RemoteAnswer, RemoteError>) {
        if let Some((_, waiter)) = self.waiting.remove(&id) {
            let _ = waiter.send(result);
        }
    }

    /// Sends a reply to the process that asked.
    pub async fn reply(&self, reply_to: &str, id: u64, result: Result<RemoteAnswer, RemoteError>) {
        let message = RpcMessage::Reply { id, result };
        match rmp_serde::to_vec_named(&message) {
            Ok(payload) => {
                if let Err(error) = self.engine.publish(rpc_channel(reply_to), payload.into()).await {
                    tracing::warn!(%error, "a reply to another node could not be sent");
                }
            }
            Err(error) => tracing::error!(%error, "cannot encode a reply"),
        }
    }
}

/// Runs `f` when dropped (a waiting call forgets its slot however it ends).
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

// ----- the node's side of Redis: liveness, the inbox, resyncs -----

/// Renews this process's liveness key every quarter lease, for as long as the process runs.
pub async fn keep_alive(engine: Arc<RedisEngine>, lease: Duration) {
    let mut tick = tokio::time::interval(lease / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = engine.renew().await {
            tracing::warn!(%error, "renewing this node's liveness in Redis failed");
        }
    }
}

/// Dispatches everything the subscriber connection receives: user events to this node's
/// connections, calls to the sessions held here, replies to the calls waiting here; and after a
/// reconnect or a lag, stores every local session's state again and sends every local device its
/// whole state.
pub async fn dispatch(
    engine: Arc<RedisEngine>,
    placement: Arc<super::directory::Placement>,
    sessions: super::directory::Sessions,
    hub: Arc<LocalHub>,
) {
    let inbox = rpc_channel(engine.instance());
    let listener = engine.clone();
    listener
        .listen(|event| match event {
            crate::storage::redis::SubscriberEvent::Message(received) => {
                if received.channel == inbox {
                    on_inbox(received.payload, &placement, &sessions);
                } else if let Some(user) = crate::storage::redis::user_of_channel(&received.channel) {
                    deliver(&hub, user, received.payload);
                }
            }
            crate::storage::redis::SubscriberEvent::Lagged | crate::storage::redis::SubscriberEvent::Reconnected => {
                tokio::spawn(resync(engine.clone(), sessions.clone(), hub.clone()));
            }
        })
        .await;
}

fn on_inbox(payload: Bytes, placement: &Arc<super::directory::Placement>, sessions: &super::directory::Sessions) {
    match rmp_serde::from_slice::<RpcMessage>(&payload) {
        Ok(RpcMessage::Reply { id, result }) => placement.rpc.on_reply(id, result),
        Ok(RpcMessage::Request { id, reply_to, user, call }) => {
            let sessions = sessions.clone();
            let placement = placement.clone();
            tokio::spawn(async move {
                let result = sessions.serve_remote(user, call).await;
                placement.rpc.reply(&reply_to, id, result).await;
            });
        }
        Err(error) => tracing::warn!(%error, "a malformed message in this node's inbox"),
    }
}

/// Once the command connection is back too, stores every local session's state again (Redis
/// may have come back empty) and sends every local device its user's whole state.
async fn resync(engine: Arc<RedisEngine>, sessions: super::directory::Sessions, hub: Arc<LocalHub>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !engine.is_connected() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = engine.renew().await;
    sessions.recommit_all().await;
    for user in hub.users() {
        tokio::spawn(resync_user(sessions.clone(), hub.clone(), user));
    }
}

/// Sends `user`'s local devices the whole state, retrying while the cluster settles (the node
/// holding the session may still be resubscribing to its inbox).
async fn resync_user(sessions: super::directory::Sessions, hub: Arc<LocalHub>, user: Id) {
    const ATTEMPTS: u32 = 20;
    for attempt in 1..=ATTEMPTS {
        match sessions.state(user).await {
            Ok(state) => {
                let frame = Bytes::from(segue_protocol::envelope::encode_event("state", Some(state.seq), &state));
                hub.deliver_to_user(user, Arc::new(OutFrame::Resync { seq: state.seq, frame }));
                return;
            }
            Err(error) if attempt == ATTEMPTS => tracing::warn!(%user, %error, "cannot resync a user's devices"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_messages_round_trip_and_garbage_is_refused() {
        let state = OutFrame::State { seq: 7, frame: Bytes::from_static(b"state bytes") };
        let (audience, decoded) = decode_user_message(encode_user_message(Audience::User, &state)).unwrap();
        assert_eq!(audience, Audience::User);
        assert!(matches!(decoded, OutFrame::State { seq: 7, ref frame } if &frame[..] == b"state bytes"));

        let close = OutFrame::Close { code: 4001, reason: "replaced" };
        let (audience, decoded) = decode_user_message(encode_user_message(Audience::Connection(9), &close)).unwrap();
        assert_eq!(audience, Audience::Connection(9));
        assert!(matches!(decoded, OutFrame::Close { code: 4001, reason: "replaced" }));

        for garbage in [&b""[..], b"\x01", b"\x09\0\0\0\0\0\0\0\0xyz", b"\x01\0\0\0\0\0\0\0\0\0"] {
            assert!(decode_user_message(Bytes::copy_from_slice(garbage)).is_none(), "{garbage:?}");
        }
    }

    #[test]
    fn a_command_survives_the_trip_between_nodes() {
        let call = RemoteCall::Execute {
            sender: Some("phone".into()),
            command: Command::Seek { position_ms: 5 },
            want_state: true,
        };
        let message = RpcMessage::Request { id: 3, reply_to: "abc".into(), user: Id::from_u128(1), call };
        let bytes = rmp_serde::to_vec_named(&message).unwrap();
        let back: RpcMessage = rmp_serde::from_slice(&bytes).unwrap();
        assert!(matches!(
            back,
            RpcMessage::Request {
                id: 3,
                call: RemoteCall::Execute { command: Command::Seek { position_ms: 5 }, .. },
                ..
            }
        ));
    }
}
