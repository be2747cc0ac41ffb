//! The fan-out bus: how a session's events reach the connections of its user, wherever they
//! are, and how a new state is made durable before anyone sees it. The embedded bus hands events
//! straight to this node's [`LocalHub`] and stages snapshots with the write-behind writer; the
//! cluster bus (`actors::cluster`, Redis) stores each state and publishes it in one step to every
//! node holding one of the user's devices. Sessions only see the [`Bus`] trait, and find their
//! newest durable state through a [`SnapshotSource`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use super::hub::{LocalHub, OutFrame};
use crate::error::AppResult;
use crate::ids::Id;
use crate::storage::snapshots::{SnapshotRecord, WriteBehind};

/// Who an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every connection of the user.
    User,
    /// One connection (a `Close` for a replaced connection).
    Connection(u64),
}

/// A new session state: its event, encoded once for every device, and its snapshot.
pub struct StateChange {
    pub user: Id,
    /// The fencing epoch of the activation that made it.
    pub epoch: i64,
    pub seq: u64,
    /// The encoded `state` event.
    pub frame: Bytes,
    /// The encoded `Session`.
    pub snapshot: Vec<u8>,
}

/// Why a state could not be made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// Another activation holds the session now: this one must retire.
    Fenced,
    /// The durable store is unreachable.
    Unavailable,
}

/// Resolves when a state is durable (or cannot be made so). Until then its command is not
/// acknowledged.
pub type Commit = Pin<Box<dyn Future<Output = Result<(), CommitError>> + Send>>;

/// A future the bus hands back.
pub type BusFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Carries events from sessions to connections.
pub trait Bus: Send + Sync + 'static {
    /// Sends a frame to the user's connections (or one of them), on whatever node they are.
    fn publish(&self, user: Id, audience: Audience, frame: Arc<OutFrame>);

    /// Delivers a new state and records its snapshot. `None`: durable enough at once (the
    /// embedded bus: the snapshot is staged with the write-behind writer); `Some`: wait for it
    /// before acknowledging the command.
    fn commit(&self, change: StateChange) -> Option<Commit>;

    /// Makes sure this node receives `user`'s events from now on (one subscription per node and
    /// user, however many of the user's devices are here). Called before a device attaches.
    fn watch(&self, _user: Id) -> BusFuture<AppResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// One fewer local device of `user` needs its events.
    fn unwatch(&self, _user: Id) {}

    /// Whether a state could be made durable now; when not, commands are refused before they
    /// change anything.
    fn available(&self) -> bool {
        true
    }
}

/// Where an activation finds the newest snapshot of its session.
pub trait SnapshotSource: Send + Sync + 'static {
    fn load(&self, user: Id) -> BusFuture<AppResult<Option<SnapshotRecord>>>;

    /// Which of these connections of `user` (of devices online in a snapshot) are gone: they are
    /// marked offline, and told to say `hello` again if they still stand.
    fn stale_connections(&self, user: Id, connections: Vec<u64>) -> BusFuture<Vec<u64>>;
}

/// The embedded bus: every connection is on this node.
pub struct InProcessBus {
    hub: Arc<LocalHub>,
    writer: WriteBehind,
}

impl InProcessBus {
    pub fn new(hub: Arc<LocalHub>, writer: WriteBehind) -> InProcessBus {
        InProcessBus { hub, writer }
    }
}

impl Bus for InProcessBus {
    fn publish(&self, user: Id, audience: Audience, frame: Arc<OutFrame>) {
        match audience {
            Audience::User => self.hub.deliver_to_user(user, frame),
            Audience::Connection(connection) => self.hub.deliver_to_connection(user, connection, frame),
        }
    }

    fn commit(&self, change: StateChange) -> Option<Commit> {
        let StateChange { user, epoch, seq, frame, snapshot } = change;
        self.hub.deliver_to_user(user, Arc::new(OutFrame::State { seq, frame }));
        self.writer.stage_snapshot(user, SnapshotRecord { epoch, seq, state: snapshot });
        None
    }
}
