//! The fan-out bus: how a session's events reach the connections of its user, wherever they
//! are. The embedded bus hands them straight to this node's [`LocalHub`]; the cluster bus
//! (Redis pub/sub) carries them to every node holding one of the user's devices. Sessions only
//! see the [`Bus`] trait.

use std::sync::Arc;

use super::hub::{LocalHub, OutFrame};
use crate::ids::Id;

/// Who an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every connection of the user.
    User,
    /// One connection (a `Close` for a replaced connection).
    Connection(u64),
}

/// Carries events from sessions to connections.
pub trait Bus: Send + Sync + 'static {
    fn publish(&self, user: Id, audience: Audience, frame: Arc<OutFrame>);
}

/// The embedded bus: every connection is on this node.
pub struct InProcessBus {
    hub: Arc<LocalHub>,
}

impl InProcessBus {
    pub fn new(hub: Arc<LocalHub>) -> InProcessBus {
        InProcessBus { hub }
    }
}

impl Bus for InProcessBus {
    fn publish(&self, user: Id, audience: Audience, frame: Arc<OutFrame>) {
        match audience {
            Audience::User => self.hub.deliver_to_user(user, frame),
            Audience::Connection(connection) => self.hub.deliver_to_connection(user, connection, frame),
        }
    }
}
