//! Live playlists: one actor per playlist being read or edited on this node, and
//! [`Playlists`], the one handle the rest of the server reaches them through (the socket's
//! `playlist_subscribe` and `playlist_edit`, every REST edit, collaborators).
//!
//! **One writer per playlist.** A playlist's actor is a task with a bounded mailbox
//! ([`PLAYLIST_MAILBOX`]) that serves one letter at a time: it holds the playlist's items and
//! collaborators (loaded from the store when it starts), checks who may see and edit, turns the
//! request into ops ([`crate::playlist`]), applies them, writes the edit in one store transaction
//! fenced on the version it read, and only then answers and publishes `playlist_changed` — in the
//! order it applied the edits, each naming the snapshot before it. An edit is acknowledged only
//! once it is in the store.
//!
//! **One actor in the whole cluster.** In a cluster a playlist's actor runs on one node: the
//! one whose instance the playlist's ownership record in Redis names, under a fencing epoch
//! ([`PlaylistPlacement`], the same records and liveness as sessions). An edit on any other node
//! goes to that node's inbox; when it does not answer and its liveness lapsed, the caller takes
//! the playlist over with a higher epoch. An actor claims the playlist in the store under its
//! epoch before it reads it (`owner_epoch`), and every write is fenced on that epoch and on the
//! version: a stale owner (one that was paused past its lease) writes nothing after its
//! successor began, and the letter it could not write goes to the new owner. Reads and
//! subscriptions are served by every node from the store, under the playlist's row lock, and
//! each edit is published under that lock before its commit, so a subscriber's answer meets the
//! events after it exactly.
//!
//! **Supervision.** A panic while a letter is served is caught: that letter is answered
//! `INTERNAL` (counted in `segue_session_panics_total`), the playlist in memory is dropped and
//! the next letter loads it again from the store, so a half-applied edit is never kept. A write
//! the fence refused (a newer owner claimed the playlist) stops the actor, and the letter, not
//! applied, is routed again. An actor with nothing to do for [`PLAYLIST_IDLE`] stops (in a
//! cluster it gives its ownership up); the next letter starts a new one.
//!
//! **Fan-out.** `playlist_changed` goes to a [`PlaylistFanout`], which hands it to every
//! subscriber of the playlist (the node's topics layer, when it is plugged in).

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures_util::FutureExt;
use segue_protocol::ErrorCode;
use segue_protocol::envelope::encode_event;
use segue_protocol::playlist::{
    AppliedOp as WireOp, PlaylistChanged, PlaylistItem, PlaylistUnsubscribed, PlaylistView,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::bus::BusFuture;
pub use super::call::EditRequest;
use super::call::{PlaylistCall, PlaylistReply};
use super::placement::{Ownership, PlaylistPlacement, RemoteError, RpcFailure, cluster_unreachable, wait_until_dead};
use super::topics::{Topic, Topics, encode_message, encode_restriction};
use crate::clock::now_ms;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};
use crate::playlist::webapi::{WebEdit, WebEditError};
use crate::playlist::{AppliedOp, Op, Playlist};
use crate::storage::Store;
use crate::storage::playlists::{Claim, UNPLACED, snapshot_id, snapshot_version};
use crate::storage::redis::RedisEngine;

/// Letters a playlist's actor may have waiting. A sender waits when it is full; one that waits
/// longer than [`PLAYLIST_CALL_TIMEOUT`] is answered `UNAVAILABLE` (counted as the
/// `playlist_mailbox` overflow). The backpressure reaches only the editors of that playlist.
pub const PLAYLIST_MAILBOX: usize = 64;
/// How long a caller waits for a playlist's actor, mailbox and answer together: above the
/// store's deadline, which bounds the one await inside.
pub const PLAYLIST_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// An actor with no letter for this long stops (its playlist is read again when needed).
pub const PLAYLIST_IDLE: Duration = Duration::from_secs(60);
/// Starts (or restarts) tried for one call before giving up.
const ATTEMPTS: usize = 3;
/// Playlists whose actor's node this node remembers, at most; when full it is cleared, which
/// costs one `acquire` per playlist at its next edit.
const REMOTE_CACHE_MAX: usize = 100_000;

/// Where `playlist_changed` frames go: every subscriber of the playlist, on every node.
pub trait PlaylistFanout: Send + Sync + 'static {
    fn publish(&self, playlist: Id, frame: Bytes);

    /// Subscribes `connection` of `user` to the playlist's changes; resolves once it receives
    /// them. Called by the playlist's actor between two edits, so that the playlist a subscriber
    /// is answered with and the events it receives afterwards meet exactly: no edit is in both,
    /// none in neither.
    fn subscribe(&self, _user: Id, _connection: u64, _playlist: Id) -> BusFuture<AppResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Publishes and resolves once the edit is out (in a cluster: Redis has it, so edits of one
    /// playlist are published in the order their writers held its row lock). A placed actor
    /// publishes with this before its commit, under the row lock readers on other nodes take,
    /// instead of `publish` after it.
    fn publish_in_order(&self, playlist: Id, frame: Bytes) -> BusFuture<AppResult<()>> {
        self.publish(playlist, frame);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Ends the subscription of every subscriber, on every node, who is not one of `allowed`
    /// (sending each `notice`), after the edits published before it.
    fn restrict(&self, _playlist: Id, _allowed: Vec<Id>, _notice: Bytes) -> BusFuture<AppResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A cluster node's fan-out: subscriptions through the node's topics, publishes straight to the
/// playlist's Redis channel, awaited (never through the bounded publisher, which may drop).
pub struct ClusterPlaylistFanout {
    pub topics: Topics,
    pub redis: Arc<RedisEngine>,
}

impl PlaylistFanout for ClusterPlaylistFanout {
    fn publish(&self, playlist: Id, frame: Bytes) {
        self.topics.publish(Topic::Playlist(playlist), frame);
    }

    fn subscribe(&self, user: Id, connection: u64, playlist: Id) -> BusFuture<AppResult<()>> {
        PlaylistFanout::subscribe(&self.topics, user, connection, playlist)
    }

    fn publish_in_order(&self, playlist: Id, frame: Bytes) -> BusFuture<AppResult<()>> {
        let redis = self.redis.clone();
        Box::pin(async move {
            let channel = Topic::Playlist(playlist).channel();
            redis.publish(channel, encode_message(&frame)).await.map_err(AppError::from)
        })
    }

    fn restrict(&self, playlist: Id, allowed: Vec<Id>, notice: Bytes) -> BusFuture<AppResult<()>> {
        let redis = self.redis.clone();
        Box::pin(async move {
            let channel = Topic::Playlist(playlist).channel();
            redis.publish(channel, encode_restriction(&allowed, &notice)).await.map_err(AppError::from)
        })
    }
}

/// A fan-out with no subscribers.
pub struct NoFanout;

impl PlaylistFanout for NoFanout {
    fn publish(&self, _playlist: Id, _frame: Bytes) {}
}

/// The node's topics carry `playlist_changed` on `Topic::Playlist`.
impl PlaylistFanout for Topics {
    fn publish(&self, playlist: Id, frame: Bytes) {
        Topics::publish(self, Topic::Playlist(playlist), frame);
    }

    fn subscribe(&self, user: Id, connection: u64, playlist: Id) -> BusFuture<AppResult<()>> {
        let topics = self.clone();
        Box::pin(async move { topics.subscribe(user, connection, Topic::Playlist(playlist)).await })
    }

    fn restrict(&self, playlist: Id, allowed: Vec<Id>, notice: Bytes) -> BusFuture<AppResult<()>> {
        self.restrict_here(Topic::Playlist(playlist), &allowed, notice);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A future an actor runs as.
pub type ActorTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs a playlist's actor somewhere (the node: on a shard chosen by the playlist's id).
pub type Spawner = Arc<dyn Fn(Id, ActorTask) + Send + Sync>;

/// The playlist as a reader may see it.
#[derive(Debug, Clone)]
pub struct PlaylistRead {
    pub playlist: Arc<Playlist>,
    pub snapshot_id: String,
    pub may_edit: bool,
}

impl PlaylistRead {
    /// The reply body of `playlist_subscribe`.
    pub fn view(&self) -> PlaylistView {
        let playlist = &self.playlist;
        PlaylistView {
            playlist_id: playlist.id.to_string(),
            name: playlist.details.name.clone(),
            snapshot_id: self.snapshot_id.clone(),
            collaborative: playlist.details.collaborative,
            items: playlist
                .items
                .iter()
                .map(|item| PlaylistItem {
                    uid: item.uid.to_string(),
                    track_id: item.track_id.to_string(),
                    added_by: item.added_by.map(|by| by.to_string()),
                    added_at_ms: item.added_at_ms,
                })
                .collect(),
            owner_id: playlist.owner.to_string(),
            description: playlist.details.description.clone(),
            public: playlist.details.public,
            may_edit: self.may_edit,
        }
    }
}

enum Ask {
    /// With `subscribe`: the connection of the reader is subscribed first.
    Read {
        user: Id,
        subscribe: Option<u64>,
    },
    Edit {
        by: Id,
        request: EditRequest,
    },
    Collaborator {
        by: Id,
        user: Id,
        add: bool,
    },
}

enum Answer {
    Read(PlaylistRead),
    Edited { snapshot_id: String },
    Collaborator { changed: bool },
}

impl Ask {
    /// The call another node's actor answers; `None` for reads, which every node serves itself.
    fn remote(&self) -> Option<PlaylistCall> {
        match self {
            Ask::Read { .. } => None,
            Ask::Edit { by, request } => Some(PlaylistCall::Edit { by: *by, request: request.clone() }),
            Ask::Collaborator { by, user, add } => Some(PlaylistCall::Collaborator { by: *by, user: *user, add: *add }),
        }
    }

    fn from_remote(call: PlaylistCall) -> Ask {
        match call {
            PlaylistCall::Edit { by, request } => Ask::Edit { by, request },
            PlaylistCall::Collaborator { by, user, add } => Ask::Collaborator { by, user, add },
        }
    }
}

impl Answer {
    fn from_remote(reply: PlaylistReply) -> Answer {
        match reply {
            PlaylistReply::Edited { snapshot_id } => Answer::Edited { snapshot_id },
            PlaylistReply::Collaborator { changed } => Answer::Collaborator { changed },
        }
    }

    fn remote(self) -> Option<PlaylistReply> {
        match self {
            Answer::Read(_) => None,
            Answer::Edited { snapshot_id } => Some(PlaylistReply::Edited { snapshot_id }),
            Answer::Collaborator { changed } => Some(PlaylistReply::Collaborator { changed }),
        }
    }
}

/// What an actor did with a letter.
enum Served {
    Answered(AppResult<Answer>),
    /// Not applied: this actor no longer owns the playlist (or stopped). Route it again.
    Moved,
}

struct Letter {
    ask: Ask,
    reply: oneshot::Sender<Served>,
    span: tracing::Span,
}

struct Mailbox {
    /// Which start of the playlist's actor this is (it removes only its own entry).
    generation: u64,
    /// The ownership epoch it writes under ([`UNPLACED`] on one node).
    epoch: i64,
    tx: mpsc::Sender<Letter>,
}

struct Inner {
    live: DashMap<Id, Mailbox>,
    /// How long an actor waits for a letter before it stops ([`PLAYLIST_IDLE`]).
    idle: Duration,
    generations: AtomicU64,
    store: Store,
    metrics: Arc<Metrics>,
    fanout: Arc<dyn PlaylistFanout>,
    spawner: Spawner,
    /// In a cluster: who runs which playlist's actor.
    placement: Option<Arc<dyn PlaylistPlacement>>,
    /// Where other nodes' playlist actors were last found, to call them without asking Redis.
    remote: DashMap<Id, String>,
    /// Set when the node drains: it starts no actor and serves no other node's calls.
    draining: AtomicBool,
}

/// The handle to every live playlist of this node. Cheap to clone.
#[derive(Clone)]
pub struct Playlists {
    inner: Arc<Inner>,
}

fn not_found(id: Id) -> AppError {
    AppError::not_found(format!("no playlist {id}"))
}

fn unavailable() -> AppError {
    AppError::refusal(ErrorCode::Unavailable, "the playlist is unavailable; retry soon")
}

fn out_of_turn() -> AppError {
    AppError::refusal(ErrorCode::Internal, "a playlist answered out of turn")
}

impl Playlists {
    /// The playlists of a node; `placement` in a cluster.
    pub fn new(
        store: Store,
        metrics: Arc<Metrics>,
        fanout: Arc<dyn PlaylistFanout>,
        spawner: Spawner,
        placement: Option<Arc<dyn PlaylistPlacement>>,
    ) -> Playlists {
        Playlists {
            inner: Arc::new(Inner {
                live: DashMap::new(),
                idle: PLAYLIST_IDLE,
                generations: AtomicU64::new(0),
                store,
                metrics,
                fanout,
                spawner,
                placement,
                remote: DashMap::new(),
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// The same, with actors that stop after `idle` without a letter (tests use a short one).
    pub fn with_idle(mut self, idle: Duration) -> Playlists {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.idle = idle;
        }
        self
    }

    /// Live playlist actors on this node.
    pub fn live_count(&self) -> usize {
        self.inner.live.len()
    }

    /// The playlists whose actor runs on this node, with the epoch each writes under.
    pub fn live_epochs(&self) -> Vec<(Id, i64)> {
        self.inner.live.iter().map(|mailbox| (*mailbox.key(), mailbox.epoch)).collect()
    }

    /// The playlist as `user` may see it (a private playlist of someone else is `NOT_FOUND`).
    pub async fn read(&self, user: Id, playlist: Id) -> AppResult<PlaylistRead> {
        if self.inner.placement.is_some() {
            return self.read_shared(user, playlist, None).await;
        }
        match self.call(playlist, || Ask::Read { user, subscribe: None }).await? {
            Answer::Read(read) => Ok(read),
            _ => Err(out_of_turn()),
        }
    }

    /// `playlist_subscribe`: subscribes `connection` of `user` to the playlist's changes and
    /// answers the playlist as it is at that moment (see [`PlaylistFanout::subscribe`]).
    pub async fn subscribe(&self, user: Id, connection: u64, playlist: Id) -> AppResult<PlaylistRead> {
        if self.inner.placement.is_some() {
            return self.read_shared(user, playlist, Some(connection)).await;
        }
        match self.call(playlist, || Ask::Read { user, subscribe: Some(connection) }).await? {
            Answer::Read(read) => Ok(read),
            _ => Err(out_of_turn()),
        }
    }

    /// A read (and subscription) when other nodes may write the playlist: straight from the
    /// store, under the playlist's row lock, so no edit is between its publish and its commit
    /// meanwhile (each is published under that lock) and the answer meets the events after it
    /// exactly.
    async fn read_shared(&self, user: Id, playlist: Id, subscribe: Option<u64>) -> AppResult<PlaylistRead> {
        let inner = &self.inner;
        let locked = async {
            let store = &inner.store;
            let Some(loaded) = store.load_playlist(playlist).await? else { return Err(not_found(playlist)) };
            let live = Live {
                playlist: loaded,
                collaborators: store.playlist_collaborators(playlist).await?.into_iter().collect(),
            };
            if !live.may_see(user) {
                return Err(not_found(playlist));
            }
            if let Some(connection) = subscribe {
                // Subscribed before the lock is released: no event is in neither.
                inner.fanout.subscribe(user, connection, playlist).await?;
            }
            Ok(PlaylistRead {
                snapshot_id: live.snapshot_id(),
                may_edit: live.may_edit(user),
                playlist: Arc::new(live.playlist),
            })
        };
        inner.store.with_playlist_locked(playlist, || locked).await?
    }

    /// Applies an edit by `by`; answers the snapshot id after it. Every track it adds must
    /// exist (else `BAD_REQUEST`, and nothing changes).
    pub async fn edit(&self, by: Id, playlist: Id, request: EditRequest) -> AppResult<String> {
        self.check_tracks(&request).await?;
        match self.call(playlist, || Ask::Edit { by, request: request.clone() }).await? {
            Answer::Edited { snapshot_id } => Ok(snapshot_id),
            _ => Err(out_of_turn()),
        }
    }

    /// Adds (or removes) `user` as a collaborator; only the owner may. Answers whether anything
    /// changed.
    pub async fn set_collaborator(&self, by: Id, playlist: Id, user: Id, add: bool) -> AppResult<bool> {
        match self.call(playlist, || Ask::Collaborator { by, user, add }).await? {
            Answer::Collaborator { changed } => Ok(changed),
            _ => Err(out_of_turn()),
        }
    }

    async fn check_tracks(&self, request: &EditRequest) -> AppResult<()> {
        let mut wanted: Vec<Id> = match request {
            EditRequest::Ops { ops, .. } => ops
                .iter()
                .flat_map(|op| match op {
                    Op::Add { track_ids, .. } => track_ids.as_slice(),
                    _ => &[],
                })
                .copied()
                .collect(),
            EditRequest::Web { edit: WebEdit::Add { tracks, .. } | WebEdit::Replace { tracks }, .. } => tracks.clone(),
            EditRequest::Web { .. } => Vec::new(),
        };
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        let found: HashSet<Id> = self.inner.store.tracks(&wanted).await?.iter().map(|track| track.id).collect();
        match wanted.iter().find(|id| !found.contains(id)) {
            Some(missing) => Err(AppError::bad_request(format!("no track {missing}"))),
            None => Ok(()),
        }
    }

    /// Sends the ask to the playlist's actor, wherever it runs (starting one when none does),
    /// and waits for the answer.
    async fn call(&self, playlist: Id, ask: impl Fn() -> Ask) -> AppResult<Answer> {
        let span = tracing::info_span!("playlist.call", %playlist);
        async {
            if let Some(placement) = self.inner.placement.clone() {
                return self.call_in_cluster(placement.as_ref(), playlist, ask).await;
            }
            for _ in 0..ATTEMPTS {
                let tx = self.mailbox(playlist, UNPLACED);
                if let Some(answer) = self.send(tx, ask()).await {
                    return answer;
                }
            }
            Err(unavailable())
        }
        .instrument(span)
        .await
    }

    /// Finds the playlist's actor in the cluster (here, elsewhere, or nowhere: then here) and
    /// calls it; a dead node's playlist is taken over once its liveness lapsed.
    async fn call_in_cluster(
        &self,
        placement: &dyn PlaylistPlacement,
        playlist: Id,
        ask: impl Fn() -> Ask,
    ) -> AppResult<Answer> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + placement.lease() + PLAYLIST_CALL_TIMEOUT;
        loop {
            if tokio::time::Instant::now() > deadline {
                return Err(unavailable());
            }
            if let Some(tx) = self.local(playlist) {
                match self.send(tx, ask()).await {
                    Some(answer) => return answer,
                    None => continue,
                }
            }
            if !placement.is_connected() {
                return Err(cluster_unreachable());
            }
            let known = inner.remote.get(&playlist).map(|instance| instance.clone());
            let owner = match known {
                Some(instance) => instance,
                None => match self.acquire(placement, playlist, None).await? {
                    Ownership::Mine { epoch } => {
                        if inner.draining.load(Ordering::Acquire) {
                            return Err(AppError::refusal(ErrorCode::Unavailable, "this node is shutting down; retry"));
                        }
                        inner.remote.remove(&playlist);
                        self.mailbox(playlist, epoch);
                        continue;
                    }
                    Ownership::Elsewhere { instance } => instance,
                },
            };
            let Some(call) = ask().remote() else { return Err(out_of_turn()) };
            if inner.remote.len() >= REMOTE_CACHE_MAX {
                inner.remote.clear();
            }
            inner.remote.insert(playlist, owner.clone());
            match placement.call(&owner, playlist, call).await {
                Ok(Ok(reply)) => return Ok(Answer::from_remote(reply)),
                Ok(Err(RemoteError::NotHere)) => {
                    inner.remote.remove(&playlist);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(Err(error)) => return Err(error.into_app()),
                Err(RpcFailure::Unreachable) => return Err(cluster_unreachable()),
                Err(RpcFailure::Timeout) => {
                    // Dead or only slow? Either way the edit may have been applied there: it is
                    // not sent again (twice would add its tracks twice). Once the owner is found
                    // dead its playlist is taken over here, for the next call.
                    inner.remote.remove(&playlist);
                    wait_until_dead(placement.lease(), deadline, || placement.is_alive(&owner)).await?;
                    if let Ownership::Mine { epoch } = self.acquire(placement, playlist, Some(&owner)).await? {
                        self.mailbox(playlist, epoch);
                    }
                    return Err(AppError::refusal(
                        ErrorCode::Unavailable,
                        "the node running the playlist died; the edit may have been applied: read the playlist, \
                         then retry",
                    ));
                }
            }
        }
    }

    /// Asks Redis for the playlist's actor, with an epoch above the one the store last saw.
    async fn acquire(
        &self,
        placement: &dyn PlaylistPlacement,
        playlist: Id,
        dead: Option<&str>,
    ) -> AppResult<Ownership> {
        let Some(floor) = self.inner.store.playlist_owner_epoch(playlist).await? else {
            return Err(not_found(playlist));
        };
        placement.acquire(playlist, dead, floor).await
    }

    /// Serves a call from another node: only by an actor this node runs (starting it when the
    /// ownership record names this node); anything else is `NotHere`.
    pub async fn serve_remote(&self, playlist: Id, call: PlaylistCall) -> Result<PlaylistReply, RemoteError> {
        let Some(placement) = self.inner.placement.clone() else { return Err(RemoteError::NotHere) };
        for _ in 0..ATTEMPTS {
            if self.inner.draining.load(Ordering::Acquire) {
                return Err(RemoteError::NotHere);
            }
            let tx = match self.local(playlist) {
                Some(tx) => tx,
                None => match self.acquire(placement.as_ref(), playlist, None).await? {
                    Ownership::Mine { epoch } => self.mailbox(playlist, epoch),
                    Ownership::Elsewhere { .. } => return Err(RemoteError::NotHere),
                },
            };
            if let Some(answer) = self.send(tx, Ask::from_remote(call.clone())).await {
                return answer?.remote().ok_or_else(|| RemoteError::App(out_of_turn()));
            }
        }
        Err(RemoteError::NotHere)
    }

    /// Hands every playlist this node runs over (a draining node): their ownership is released,
    /// so other nodes take them at once instead of after the lease. What an actor still serves
    /// meanwhile is fenced off once a successor claims the playlist.
    pub async fn release_all(&self) {
        self.inner.draining.store(true, Ordering::Release);
        let Some(placement) = self.inner.placement.clone() else { return };
        let held: Vec<(Id, i64)> = self.live_epochs();
        for (playlist, epoch) in held {
            self.inner.live.remove(&playlist);
            placement.release(playlist, epoch).await;
        }
    }

    /// Sends a letter and waits for its answer; `None` when the actor stopped or no longer owns
    /// the playlist (the letter was not applied: route it again).
    async fn send(&self, tx: mpsc::Sender<Letter>, ask: Ask) -> Option<AppResult<Answer>> {
        let (reply, answer) = oneshot::channel();
        let letter = Letter { ask, reply, span: tracing::Span::current() };
        match tokio::time::timeout(PLAYLIST_CALL_TIMEOUT, tx.send(letter)).await {
            Err(_) => {
                self.inner.metrics.overflowed(Queue::PlaylistMailbox);
                return Some(Err(AppError::refusal(ErrorCode::Unavailable, "the playlist is busy; retry soon")));
            }
            // The actor stopped between our lookup and the send: start another.
            Ok(Err(_)) => return None,
            Ok(Ok(())) => {}
        }
        match tokio::time::timeout(PLAYLIST_CALL_TIMEOUT, answer).await {
            Ok(Ok(Served::Answered(answer))) => Some(answer),
            // Not applied: moved, or dropped unanswered (the actor stopped before reading it).
            Ok(Ok(Served::Moved)) | Ok(Err(_)) => None,
            Err(_) => Some(Err(AppError::refusal(ErrorCode::Unavailable, "the playlist did not answer in time"))),
        }
    }

    /// The mailbox of the playlist's live actor on this node, if one runs.
    fn local(&self, playlist: Id) -> Option<mpsc::Sender<Letter>> {
        self.inner.live.get(&playlist).filter(|mailbox| !mailbox.tx.is_closed()).map(|mailbox| mailbox.tx.clone())
    }

    /// The mailbox of the playlist's actor, started (under `epoch`) if none runs.
    fn mailbox(&self, playlist: Id, epoch: i64) -> mpsc::Sender<Letter> {
        if let Some(tx) = self.local(playlist) {
            return tx;
        }
        let mut entry = self.inner.live.entry(playlist).or_insert_with(|| self.start(playlist, epoch));
        if entry.tx.is_closed() {
            *entry = self.start(playlist, epoch);
        }
        entry.tx.clone()
    }

    fn start(&self, playlist: Id, epoch: i64) -> Mailbox {
        let (tx, rx) = mpsc::channel(PLAYLIST_MAILBOX);
        let generation = self.inner.generations.fetch_add(1, Ordering::Relaxed);
        let actor = Actor { inner: self.inner.clone(), id: playlist, generation, epoch, live: None, stopping: None };
        (self.inner.spawner)(playlist, Box::pin(actor.run(rx)));
        Mailbox { generation, epoch, tx }
    }
}

/// What the actor holds while it runs.
struct Live {
    playlist: Playlist,
    collaborators: HashSet<Id>,
}

impl Live {
    fn may_see(&self, user: Id) -> bool {
        self.playlist.details.public || self.playlist.owner == user || self.collaborators.contains(&user)
    }

    fn may_edit(&self, user: Id) -> bool {
        self.playlist.may_edit(user, self.collaborators.contains(&user))
    }

    fn snapshot_id(&self) -> String {
        snapshot_id(self.playlist.id, self.playlist.version)
    }

    /// Who alone may see it when it is private: the owner and the collaborators.
    fn insiders(&self) -> Vec<Id> {
        std::iter::once(self.playlist.owner).chain(self.collaborators.iter().copied()).collect()
    }
}

/// Why an actor stops after the letter it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopping {
    /// The store has no such playlist: letters still queued are answered `NOT_FOUND`.
    NoSuchPlaylist,
    /// A newer owner claimed the playlist: letters still queued go to it.
    Moved,
}

struct Actor {
    inner: Arc<Inner>,
    id: Id,
    generation: u64,
    /// The ownership epoch it claimed the playlist under ([`UNPLACED`] on one node).
    epoch: i64,
    /// The playlist, once loaded; dropped after a panic, to be loaded again.
    live: Option<Live>,
    /// Set when the actor stops after this letter.
    stopping: Option<Stopping>,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Letter>) {
        if self.epoch != UNPLACED {
            // Claimed at once, not at the first letter: from now on the previous owner, if it
            // only paused, writes nothing. A failure here is met again by the first letter.
            let _ = self.load().await;
        }
        while self.stopping.is_none() {
            match tokio::time::timeout(self.inner.idle, rx.recv()).await {
                Ok(Some(letter)) => {
                    self.serve(letter).await;
                    // Nothing to keep alive for (an actor per id a client made up would
                    // otherwise wait out its idle time), or nothing it may still write.
                    if self.stopping.is_some() {
                        break;
                    }
                }
                // Every sender is gone, or idle.
                Ok(None) | Err(_) => break,
            }
        }
        // Leave the directory, then answer what was sent meanwhile.
        let generation = self.generation;
        self.inner.live.remove_if(&self.id, |_, mailbox| mailbox.generation == generation);
        rx.close();
        while let Ok(letter) = rx.try_recv() {
            if self.stopping == Some(Stopping::Moved) {
                let _ = letter.reply.send(Served::Moved);
            } else {
                self.serve(letter).await;
            }
        }
        if let Some(placement) = &self.inner.placement
            && self.epoch != UNPLACED
        {
            placement.release(self.id, self.epoch).await;
        }
    }

    async fn serve(&mut self, letter: Letter) {
        let Letter { ask, reply, span } = letter;
        let outcome = AssertUnwindSafe(self.answer(ask).instrument(span)).catch_unwind().await;
        let answer = match outcome {
            Ok(_) if self.stopping == Some(Stopping::Moved) => Served::Moved,
            Ok(answer) => Served::Answered(answer),
            Err(panic) => {
                self.live = None;
                self.inner.metrics.session_panics.inc();
                let what = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a panic");
                tracing::error!(playlist = %self.id, panic = what, "a playlist edit panicked; it is read again from the store");
                Served::Answered(Err(AppError::refusal(ErrorCode::Internal, "internal error")))
            }
        };
        let _ = reply.send(answer);
    }

    /// The playlist as the store holds it, read (and, in a cluster, claimed under this actor's
    /// epoch first) when the actor has none in memory.
    async fn load(&mut self) -> AppResult<&mut Live> {
        if self.live.is_none() {
            let store = &self.inner.store;
            if self.epoch != UNPLACED {
                match store.claim_playlist(self.id, self.epoch).await? {
                    Claim::Claimed => {}
                    Claim::Newer => {
                        self.stopping = Some(Stopping::Moved);
                        return Err(unavailable());
                    }
                    Claim::Missing => {
                        self.stopping = Some(Stopping::NoSuchPlaylist);
                        return Err(not_found(self.id));
                    }
                }
            }
            let Some(playlist) = store.load_playlist(self.id).await? else {
                self.stopping = Some(Stopping::NoSuchPlaylist);
                return Err(not_found(self.id));
            };
            let collaborators = store.playlist_collaborators(self.id).await?.into_iter().collect();
            self.live = Some(Live { playlist, collaborators });
        }
        self.live.as_mut().ok_or_else(AppError::internal)
    }

    async fn answer(&mut self, ask: Ask) -> AppResult<Answer> {
        let id = self.id;
        let inner = self.inner.clone();
        let live = self.load().await?;
        match ask {
            Ask::Read { user, subscribe } => {
                if !live.may_see(user) {
                    return Err(not_found(id));
                }
                if let Some(connection) = subscribe {
                    inner.fanout.subscribe(user, connection, id).await?;
                }
                Ok(Answer::Read(PlaylistRead {
                    playlist: Arc::new(live.playlist.clone()),
                    snapshot_id: live.snapshot_id(),
                    may_edit: live.may_edit(user),
                }))
            }
            Ask::Edit { by, request } => self.edit(by, request).await,
            Ask::Collaborator { by, user, add } => {
                if !live.may_see(by) {
                    return Err(not_found(id));
                }
                if live.playlist.owner != by {
                    return Err(AppError::new(ErrorCode::Forbidden, "only the owner chooses collaborators"));
                }
                let store = &inner.store;
                let changed = if add {
                    store.add_playlist_collaborator(id, user).await?
                } else {
                    store.remove_playlist_collaborator(id, user).await?
                };
                if add {
                    live.collaborators.insert(user);
                } else {
                    live.collaborators.remove(&user);
                }
                if changed && !add && !live.playlist.details.public {
                    let insiders = live.insiders();
                    restrict(&inner, id, insiders).await;
                }
                Ok(Answer::Collaborator { changed })
            }
        }
    }

    /// Applies an edit and writes it. A write the fence refused (a newer owner claimed the
    /// playlist, or someone else wrote it) wrote nothing: the actor stops, and the edit is routed
    /// again, to be applied to the playlist as it is then.
    async fn edit(&mut self, by: Id, request: EditRequest) -> AppResult<Answer> {
        let id = self.id;
        let epoch = self.epoch;
        let Some(live) = self.live.as_mut() else { return Err(AppError::internal()) };
        if !live.may_see(by) {
            return Err(not_found(id));
        }
        if !live.may_edit(by) {
            return Err(AppError::new(ErrorCode::Forbidden, "you may not edit this playlist"));
        }
        let current = live.snapshot_id();
        let ops = match request {
            EditRequest::Ops { ops, base_snapshot_id, strict } => {
                if strict && base_snapshot_id.as_deref() != Some(current.as_str()) {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        format!("base_snapshot_id is not the current snapshot ({current})"),
                    ));
                }
                ops
            }
            EditRequest::Web { edit, snapshot_id } => {
                if let Some(given) = &snapshot_id
                    && snapshot_version(id, given).is_none_or(|version| version > live.playlist.version)
                {
                    return Err(AppError::bad_request(format!(
                        "snapshot_id {given} is not a snapshot of this playlist"
                    )));
                }
                let base_is_current = snapshot_id.as_deref().is_none_or(|given| given == current);
                match edit.ops(&live.playlist, base_is_current) {
                    Ok(ops) => ops,
                    Err(WebEditError::Edit(error)) => return Err(AppError::from(error)),
                    Err(WebEditError::StaleSnapshot) => {
                        return Err(AppError::new(
                            ErrorCode::Conflict,
                            format!(
                                "the playlist changed since snapshot_id; its positions cannot be read against \
                                 the current snapshot {current}: read the playlist again"
                            ),
                        ));
                    }
                }
            }
        };
        let now = now_ms() as i64;
        let before = live.playlist.clone();
        let edited = live.playlist.apply(&ops, Some(by), now).map_err(AppError::from)?;
        #[cfg(test)]
        faults::after_apply(&ops);
        if !edited.changed() {
            return Ok(Answer::Edited { snapshot_id: current });
        }
        let snapshot = snapshot_id(id, live.playlist.version);
        let changed = PlaylistChanged {
            playlist_id: id.to_string(),
            snapshot_id: snapshot.clone(),
            prev_snapshot_id: current,
            by_user_id: by.to_string(),
            ops: edited.ops.iter().map(wire_op).collect(),
        };
        let frame = Bytes::from(encode_event("playlist_changed", None, &changed));
        let fanout = &self.inner.fanout;
        let placed = self.inner.placement.is_some();
        let written = if placed {
            // Published before the commit, under the playlist's row lock, which readers on
            // other nodes take (see `Playlists::read_shared`).
            let publish =
                || async { fanout.publish_in_order(id, frame.clone()).await.map_err(|error| error.to_string()) };
            self.inner.store.write_playlist_edit_then(&before, &live.playlist, epoch, now, publish).await
        } else {
            self.inner.store.write_playlist_edit(&before, &live.playlist, now).await
        };
        if let Err(error) = written {
            // Whatever the store holds now is read again before the next letter.
            self.live = None;
            if error.is_fenced() {
                tracing::info!(playlist = %id, epoch, "the playlist's write was fenced off; this actor stops");
                self.stopping = Some(Stopping::Moved);
                return Err(unavailable());
            }
            let error = AppError::from(error);
            if error.is_fault() {
                tracing::warn!(playlist = %id, %error, "a playlist edit failed");
            }
            return Err(error);
        }
        if !placed {
            fanout.publish(id, frame);
        }
        if before.details.public && !live.playlist.details.public {
            let insiders = live.insiders();
            restrict(&self.inner, id, insiders).await;
        }
        Ok(Answer::Edited { snapshot_id: snapshot })
    }
}

/// Ends the subscriptions of those who may no longer see the playlist (anyone but `insiders`),
/// telling them with `playlist_unsubscribed`. A failure is logged: the edit stands.
async fn restrict(inner: &Inner, playlist: Id, insiders: Vec<Id>) {
    let notice = PlaylistUnsubscribed { playlist_id: playlist.to_string(), reason: "no_access".into() };
    let notice = Bytes::from(encode_event("playlist_unsubscribed", None, &notice));
    if let Err(error) = inner.fanout.restrict(playlist, insiders, notice).await {
        tracing::warn!(%playlist, %error, "could not end the subscriptions of those who lost access");
    }
}

/// An applied op as `playlist_changed` carries it.
pub fn wire_op(op: &AppliedOp) -> WireOp {
    match op {
        AppliedOp::Add { position, items } => WireOp::Add {
            track_ids: items.iter().map(|item| item.track_id.to_string()).collect(),
            position: *position,
            uids: items.iter().map(|item| item.uid.to_string()).collect(),
            added_by: items.first().and_then(|item| item.added_by).map(|by| by.to_string()),
            added_at_ms: items.first().map_or(0, |item| item.added_at_ms),
        },
        AppliedOp::Remove { uids } => WireOp::Remove { uids: uids.iter().map(Id::to_string).collect() },
        AppliedOp::Move { uid, position } => WireOp::Move { uid: uid.to_string(), position: *position },
        AppliedOp::Rename { name } => WireOp::Rename { name: name.clone() },
        AppliedOp::SetDetails { description, public, collaborative } => {
            WireOp::Details { description: description.clone(), public: *public, collaborative: *collaborative }
        }
    }
}

/// Fault injection, in test builds only: an edit renaming the playlist to [`faults::PANICKING_NAME`]
/// panics once applied in memory and before it is written, leaving the actor's playlist
/// half-edited, as a bug would.
#[cfg(test)]
pub mod faults {
    use crate::playlist::Op;

    pub const PANICKING_NAME: &str = "fault.panic";

    pub fn after_apply(ops: &[Op]) {
        if ops.iter().any(|op| matches!(op, Op::Rename { name } if name == PANICKING_NAME)) {
            panic!("a fault injected by a test");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use segue_protocol::ServerFrame;

    use super::*;
    use crate::playlist::webapi::RemoveTrack;
    use crate::storage::StoreLocation;
    use crate::storage::playlists::NewPlaylist;
    use crate::storage::users::UserUpsert;

    /// Every frame published, in order.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<PlaylistChanged>>);

    impl PlaylistFanout for Recorded {
        fn publish(&self, _playlist: Id, frame: Bytes) {
            let frame = ServerFrame::decode(&frame).unwrap();
            assert_eq!((frame.kind.as_str(), frame.seq), ("playlist_changed", None));
            self.0.lock().unwrap().push(frame.body_as().unwrap());
        }
    }

    struct Setup {
        playlists: Playlists,
        recorded: Arc<Recorded>,
        store: Store,
        owner: Id,
        friend: Id,
        stranger: Id,
        tracks: Vec<Id>,
        _dir: tempfile::TempDir,
    }

    async fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::DataDir(dir.path().to_path_buf())).await.unwrap();
        let bundles: Vec<_> = crate::catalog::synthetic::generate(3, 10).collect();
        store.import_bundles(&bundles).await.unwrap();
        let tracks = bundles.iter().flat_map(|b| b.tracks.iter().map(|t| t.id)).take(10).collect();
        let user =
            |name| UserUpsert { username: name, password_hash: "h", display_name: None, product: None, country: None };
        let owner = store.insert_user(&user("owner"), 1).await.unwrap();
        let friend = store.insert_user(&user("friend"), 1).await.unwrap();
        let stranger = store.insert_user(&user("stranger"), 1).await.unwrap();
        let recorded = Arc::new(Recorded::default());
        let spawner: Spawner = Arc::new(|_, actor| {
            tokio::spawn(actor);
        });
        let playlists = Playlists::new(store.clone(), Arc::new(Metrics::default()), recorded.clone(), spawner, None);
        Setup { playlists, recorded, store, owner, friend, stranger, tracks, _dir: dir }
    }

    async fn create(setup: &Setup, public: bool, collaborative: bool) -> Id {
        let details = NewPlaylist { owner: setup.owner, name: "Mix", description: "", public, collaborative };
        setup.store.create_playlist(&details, 1).await.unwrap()
    }

    fn add(tracks: &[Id], position: Option<u32>) -> EditRequest {
        EditRequest::Ops {
            ops: vec![Op::Add { track_ids: tracks.to_vec(), position }],
            base_snapshot_id: None,
            strict: false,
        }
    }

    #[tokio::test]
    async fn concurrent_edits_are_applied_one_after_another_and_published_in_that_order() {
        let setup = setup().await;
        let id = create(&setup, false, true).await;
        setup.playlists.set_collaborator(setup.owner, id, setup.friend, true).await.unwrap();
        let mut editors = Vec::new();
        for (n, by) in [setup.owner, setup.friend, setup.owner, setup.friend].into_iter().enumerate() {
            let playlists = setup.playlists.clone();
            let tracks = setup.tracks.clone();
            editors.push(tokio::spawn(async move {
                for round in 0..5 {
                    playlists.edit(by, id, add(&tracks[n..n + 2], Some(round))).await.unwrap();
                }
            }));
        }
        for editor in editors {
            editor.await.unwrap();
        }
        let recorded = setup.recorded.0.lock().unwrap().clone();
        assert_eq!(recorded.len(), 20);
        let mut held = snapshot_id(id, 0);
        for change in &recorded {
            assert_eq!(change.prev_snapshot_id, held, "an unbroken chain");
            held = change.snapshot_id.clone();
        }
        let read = setup.playlists.read(setup.friend, id).await.unwrap();
        assert_eq!(read.snapshot_id, held);
        assert_eq!(read.playlist.items.len(), 40);
        let stored = setup.store.load_playlist(id).await.unwrap().unwrap();
        assert_eq!(stored, *read.playlist, "what was acknowledged is what the store holds");
    }

    #[tokio::test]
    async fn who_may_see_and_edit() {
        let setup = setup().await;
        let private = create(&setup, false, false).await;
        let public = create(&setup, true, false).await;
        let shared = create(&setup, false, true).await;
        let code = |result: AppResult<String>| result.err().map(|error| error.code);
        let edit = |by, id| setup.playlists.edit(by, id, add(&setup.tracks[..1], None));
        assert_eq!(code(edit(setup.stranger, private).await), Some(ErrorCode::NotFound));
        assert_eq!(code(edit(setup.stranger, public).await), Some(ErrorCode::Forbidden));
        assert_eq!(code(edit(setup.friend, shared).await), Some(ErrorCode::NotFound), "not a collaborator yet");
        let refused = setup.playlists.set_collaborator(setup.friend, shared, setup.friend, true).await;
        assert_eq!(refused.err().map(|e| e.code), Some(ErrorCode::NotFound), "the friend cannot see it");
        let refused = setup.playlists.set_collaborator(setup.stranger, public, setup.friend, true).await;
        assert_eq!(refused.err().map(|e| e.code), Some(ErrorCode::Forbidden), "only the owner");
        assert!(setup.playlists.set_collaborator(setup.owner, shared, setup.friend, true).await.unwrap());
        assert_eq!(code(edit(setup.friend, shared).await), None);
        // A collaborator of a playlist that is not collaborative sees it but may not edit it.
        setup.playlists.set_collaborator(setup.owner, private, setup.friend, true).await.unwrap();
        assert_eq!(code(edit(setup.friend, private).await), Some(ErrorCode::Forbidden));
        assert!(setup.playlists.set_collaborator(setup.owner, shared, setup.friend, false).await.unwrap());
        assert_eq!(code(edit(setup.friend, shared).await), Some(ErrorCode::NotFound));
        assert_eq!(code(edit(setup.owner, Id::from_u128(4)).await), Some(ErrorCode::NotFound));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(setup.playlists.live_count(), 3, "no actor waits for a playlist that does not exist");
    }

    #[tokio::test]
    async fn strict_edits_on_a_stale_base_conflict_and_unknown_tracks_are_refused() {
        let setup = setup().await;
        let id = create(&setup, true, false).await;
        let first = setup.playlists.edit(setup.owner, id, add(&setup.tracks[..2], None)).await.unwrap();
        setup.playlists.edit(setup.owner, id, add(&setup.tracks[2..3], None)).await.unwrap();
        let strict = |base: &str| EditRequest::Ops {
            ops: vec![Op::Rename { name: "New".into() }],
            base_snapshot_id: Some(base.to_string()),
            strict: true,
        };
        let conflict = setup.playlists.edit(setup.owner, id, strict(&first)).await.unwrap_err();
        assert_eq!(conflict.code, ErrorCode::Conflict);
        let current = setup.playlists.read(setup.owner, id).await.unwrap();
        assert_eq!(current.playlist.details.name, "Mix", "nothing changed");
        setup.playlists.edit(setup.owner, id, strict(&current.snapshot_id)).await.unwrap();
        let unknown = setup.playlists.edit(setup.owner, id, add(&[Id::from_u128(9)], None)).await.unwrap_err();
        assert_eq!(unknown.code, ErrorCode::BadRequest);
        // A Web API reorder against an old snapshot conflicts; a removal by URI does not.
        let reorder = EditRequest::Web {
            edit: WebEdit::Reorder { range_start: 0, insert_before: 2, range_length: 1 },
            snapshot_id: Some(first.clone()),
        };
        assert_eq!(setup.playlists.edit(setup.owner, id, reorder).await.unwrap_err().code, ErrorCode::Conflict);
        let remove = EditRequest::Web {
            edit: WebEdit::Remove { tracks: vec![RemoveTrack { track: setup.tracks[0], positions: None }] },
            snapshot_id: Some(first),
        };
        setup.playlists.edit(setup.owner, id, remove).await.unwrap();
        let garbage = EditRequest::Web { edit: WebEdit::Replace { tracks: vec![] }, snapshot_id: Some("x".into()) };
        assert_eq!(setup.playlists.edit(setup.owner, id, garbage).await.unwrap_err().code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn an_idle_actor_stops_and_the_next_letter_starts_another() {
        let mut setup = setup().await;
        setup.playlists = setup.playlists.with_idle(Duration::from_millis(50));
        let id = create(&setup, true, false).await;
        setup.playlists.edit(setup.owner, id, add(&setup.tracks[..1], None)).await.unwrap();
        assert_eq!(setup.playlists.live_count(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(setup.playlists.live_count(), 0, "it stopped");
        let read = setup.playlists.read(setup.stranger, id).await.unwrap();
        assert_eq!(read.playlist.items.len(), 1, "read again from the store");
        assert!(!read.may_edit);
    }

    #[tokio::test]
    async fn a_panic_answers_internal_and_the_playlist_is_read_again_from_the_store() {
        let setup = setup().await;
        let id = create(&setup, true, false).await;
        setup.playlists.edit(setup.owner, id, add(&setup.tracks[..2], None)).await.unwrap();
        let before = setup.playlists.read(setup.owner, id).await.unwrap();
        let panicking = EditRequest::Ops {
            ops: vec![
                Op::Add { track_ids: setup.tracks[2..5].to_vec(), position: Some(0) },
                Op::Rename { name: faults::PANICKING_NAME.into() },
            ],
            base_snapshot_id: None,
            strict: false,
        };
        let error = setup.playlists.edit(setup.owner, id, panicking).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        let after = setup.playlists.read(setup.owner, id).await.unwrap();
        assert_eq!(after.playlist, before.playlist, "the half-applied edit is gone");
        assert_eq!(setup.recorded.0.lock().unwrap().len(), 1, "and was never published");
        setup.playlists.edit(setup.owner, id, add(&setup.tracks[5..6], None)).await.unwrap();
        assert_eq!(setup.playlists.read(setup.owner, id).await.unwrap().playlist.items.len(), 3);
    }
}
