//! Cluster mode's side of the actors: everything a node does through Redis.
//!
//! - [`channel`]: the messages on a user's channel (a state, an event, a close), format 1.
//! - [`bus`]: [`ClusterBus`], the [`Bus`](super::bus::Bus) whose commit stores a state and
//!   publishes it in one Redis script, so no device ever sees a state a successor could not load.
//! - [`publisher`]: the one bounded queue for publishes nobody waits on.
//! - [`subscriptions`]: the node's subscriptions to user channels, one per user with a device here.
//! - [`snapshots`]: [`ClusterSnapshots`], where an activation finds its snapshot (Redis, else the
//!   store's copy) and which of its devices' connections belong to dead processes.
//! - [`rpc`]: calls to sessions held by other processes, over their inbox channels.
//! - [`placement`]: [`RedisPlacement`], the [`Placement`](super::placement::Placement) the
//!   directory consults: ownership records, liveness, calls.
//! - [`liveness`]: the renewal of this process's liveness key.
//!
//! Which node activates a session, and when a dead owner's session is taken over, is decided in
//! `directory.rs`; what the subscriber connection receives is dispatched by `dispatch.rs`. This
//! module imports neither.

pub mod bus;
pub mod channel;
pub mod liveness;
pub mod placement;
pub mod publisher;
pub mod rpc;
pub mod snapshots;
pub mod subscriptions;

pub use bus::ClusterBus;
pub use placement::RedisPlacement;
pub use publisher::Publisher;
pub use rpc::Rpc;
pub use snapshots::ClusterSnapshots;
pub use subscriptions::Subscriptions;

use crate::error::AppError;
use crate::storage::redis::RedisError;

/// The answer when Redis is unreachable or refused: fail fast, never hang.
pub fn unreachable(error: RedisError) -> AppError {
    AppError::from(error)
}
