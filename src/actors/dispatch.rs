//! What a cluster node's subscriber connection receives, dispatched: a user's events to this
//! node's connections of that user (and a change of whom the user follows to their live
//! activity subscriptions here, before any later message), a topic's events to this node's
//! subscribers of it, calls to the sessions and playlist actors held here, replies to the calls
//! waiting here; and after a reconnect or a lag, every local session's state stored again and
//! every local device sent its whole state.
//!
//! Capacity: at most [`INBOX_IN_FLIGHT`] calls from other nodes are served at once; a call past
//! that is answered `UNAVAILABLE` at once (through the bounded publisher) and counted
//! (`cluster_inbox`). A resync runs one at a time, [`RESYNC_CONCURRENCY`] users at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use segue_protocol::ErrorCode;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::activity::ActivitySubscriptions;
use super::cluster::rpc::{Rpc, RpcMessage};
use super::cluster::{Publisher, channel};
use super::directory::Sessions;
use super::hub::{LocalHub, OutFrame};
use super::placement::RemoteError;
use super::playlists::Playlists;
use super::topics::{Topic, Topics};
use crate::error::AppError;
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};
use crate::storage::redis::{RedisEngine, SubscriberEvent, rpc_channel, user_of_channel};

/// Calls from other nodes served at once.
pub const INBOX_IN_FLIGHT: usize = 1_024;
/// Users whose devices a resync sends the whole state at once.
pub const RESYNC_CONCURRENCY: usize = 32;

/// Everything the dispatcher hands messages to.
pub struct Dispatcher {
    pub engine: Arc<RedisEngine>,
    pub rpc: Arc<Rpc>,
    pub sessions: Sessions,
    pub playlists: Playlists,
    pub hub: Arc<LocalHub>,
    pub topics: Topics,
    pub activity: ActivitySubscriptions,
    pub publisher: Publisher,
    pub metrics: Arc<Metrics>,
}

struct Shared {
    dispatcher: Dispatcher,
    inbox: String,
    serving: Arc<Semaphore>,
    resyncing: AtomicBool,
}

impl Dispatcher {
    /// Dispatches until `stop` (or until the subscriber connection is closed).
    pub async fn run(self, stop: CancellationToken) {
        let shared = Arc::new(Shared {
            inbox: rpc_channel(self.engine.instance()),
            dispatcher: self,
            serving: Arc::new(Semaphore::new(INBOX_IN_FLIGHT)),
            resyncing: AtomicBool::new(false),
        });
        let engine = shared.dispatcher.engine.clone();
        let listen = engine.listen(|event| match event {
            SubscriberEvent::Message(received) => {
                if received.channel == shared.inbox {
                    on_inbox(&shared, received.payload);
                } else if let Some(user) = user_of_channel(&received.channel) {
                    if let Some((following, users)) = channel::decode_follows(&received.payload) {
                        shared.dispatcher.activity.apply_follows(user, following, &users);
                    } else if !channel::deliver(&shared.dispatcher.hub, user, received.payload) {
                        malformed(&shared.dispatcher.metrics, "a message on a user channel that cannot be read");
                    }
                } else if let Some(topic) = Topic::of_channel(&received.channel)
                    && !shared.dispatcher.topics.deliver_message(topic, received.payload)
                {
                    malformed(&shared.dispatcher.metrics, "a message on a topic channel that cannot be read");
                }
            }
            SubscriberEvent::Lagged | SubscriberEvent::Reconnected => {
                if !shared.resyncing.swap(true, Ordering::AcqRel) {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        resync(&shared.dispatcher).await;
                        shared.resyncing.store(false, Ordering::Release);
                    });
                }
            }
        });
        tokio::select! {
            _ = listen => {}
            _ = stop.cancelled() => {}
        }
    }
}

fn on_inbox(shared: &Arc<Shared>, payload: Bytes) {
    let dispatcher = &shared.dispatcher;
    match RpcMessage::decode(&payload) {
        Ok(RpcMessage::Reply { id, result, .. }) => dispatcher.rpc.on_reply(id, result),
        Ok(RpcMessage::PlaylistReply { id, result, .. }) => dispatcher.rpc.on_playlist_reply(id, result),
        Ok(RpcMessage::Request { id, reply_to, user, call, trace, .. }) => {
            let Some(permit) = serving_permit(shared, &reply_to, || Rpc::reply_message(id, Err(busy()))) else {
                return;
            };
            // The call goes on the caller's trace.
            let span = tracing::info_span!("session.serve_remote", %user, call = call.name(), from = %reply_to);
            crate::telemetry::continue_remote_trace(&span, trace.as_deref());
            let shared = shared.clone();
            let serve = async move {
                let result = shared.dispatcher.sessions.serve_remote(user, call).await;
                shared.dispatcher.rpc.reply(&reply_to, id, result).await;
                drop(permit);
            };
            tokio::spawn(serve.instrument(span));
        }
        Ok(RpcMessage::PlaylistRequest { id, reply_to, playlist, call, trace, .. }) => {
            let Some(permit) = serving_permit(shared, &reply_to, || Rpc::playlist_reply_message(id, Err(busy())))
            else {
                return;
            };
            let span = tracing::info_span!("playlist.serve_remote", %playlist, call = call.name(), from = %reply_to);
            crate::telemetry::continue_remote_trace(&span, trace.as_deref());
            let shared = shared.clone();
            let serve = async move {
                let result = shared.dispatcher.playlists.serve_remote(playlist, call).await;
                shared.dispatcher.rpc.reply_playlist(&reply_to, id, result).await;
                drop(permit);
            };
            tokio::spawn(serve.instrument(span));
        }
        Err(_) => malformed(&dispatcher.metrics, "a message in this node's inbox that cannot be read"),
    }
}

fn busy() -> RemoteError {
    RemoteError::App(AppError::refusal(ErrorCode::Unavailable, "the node holding it is busy; retry"))
}

/// A place among the calls served at once; when there is none, the caller is answered with
/// `refusal` at once (through the bounded publisher) and the overflow counted.
fn serving_permit(
    shared: &Arc<Shared>,
    reply_to: &str,
    refusal: impl FnOnce() -> Option<Vec<u8>>,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let dispatcher = &shared.dispatcher;
    match shared.serving.clone().try_acquire_owned() {
        Ok(permit) => Some(permit),
        Err(_) => {
            dispatcher.metrics.overflowed(Queue::ClusterInbox);
            if let Some(reply) = refusal() {
                dispatcher.publisher.publish(rpc_channel(reply_to), reply.into());
            }
            None
        }
    }
}

/// Counts a message that could not be read, and logs it at most once a minute.
fn malformed(metrics: &Metrics, what: &'static str) {
    static LAST_LOGGED_S: AtomicU64 = AtomicU64::new(0);
    metrics.malformed_cluster_messages.inc();
    let now_s = crate::clock::now_ms() / 1000;
    let last = LAST_LOGGED_S.load(Ordering::Relaxed);
    if now_s >= last + 60 && LAST_LOGGED_S.compare_exchange(last, now_s, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        tracing::warn!(what, "dropped a cluster message (a node of another version, or a bug)");
    }
}

/// Once the command connection is back too, stores every local session's state again (Redis
/// may have come back empty) and sends every local device its user's whole state.
async fn resync(dispatcher: &Dispatcher) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !dispatcher.engine.is_connected() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = dispatcher.engine.renew().await;
    dispatcher.sessions.recommit_all().await;
    futures_util::stream::iter(dispatcher.hub.users())
        .for_each_concurrent(RESYNC_CONCURRENCY, |user| resync_user(&dispatcher.sessions, &dispatcher.hub, user))
        .await;
}

/// Sends `user`'s local devices the whole state, retrying while the cluster settles (the node
/// holding the session may still be resubscribing to its inbox).
async fn resync_user(sessions: &Sessions, hub: &LocalHub, user: Id) {
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
