//! The local hub: this node's device connections, by user, and the delivery of frames to them.
//!
//! Each connection has a bounded outbound queue ([`OUTBOUND_CAPACITY`]). Delivery never waits:
//! a connection whose queue is full cannot keep up, so the hub lets go of it (drops its end of
//! the queue) and the connection closes with 1013. It loses nothing by that: on reconnect its
//! `welcome` carries the whole state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::ids::Id;

/// Frames a connection may have waiting before it counts as too slow. Memory per connection is
/// what is queued, at most this many pointers to shared frames.
pub const OUTBOUND_CAPACITY: usize = 64;

/// A frame for a connection: shared by every connection it goes to.
#[derive(Debug)]
pub enum OutFrame {
    /// A `state` event, already encoded, with its seq (so a connection can skip what its
    /// `welcome` already covered).
    State { seq: u64, frame: Bytes },
    /// The whole state again, sent even when its seq was already sent (after a Redis outage in
    /// cluster mode, every device gets its whole state again).
    Resync { seq: u64, frame: Bytes },
    /// Another event, already encoded.
    Event(Bytes),
    /// Close the connection with this code.
    Close { code: u16, reason: &'static str },
}

/// The receiving end of a connection's outbound queue.
pub type Outbound = mpsc::Receiver<Arc<OutFrame>>;

struct Link {
    connection: u64,
    tx: mpsc::Sender<Arc<OutFrame>>,
}

/// This node's connections, by user.
pub struct LocalHub {
    users: DashMap<Id, Vec<Link>>,
    next_connection: AtomicU64,
    /// Set once draining starts: no new connection is registered.
    draining: std::sync::atomic::AtomicBool,
}

impl LocalHub {
    /// A hub whose connection ids start at `first_connection` (distinct per node, so ids are
    /// unique across a cluster).
    pub fn new(first_connection: u64) -> LocalHub {
        LocalHub {
            users: DashMap::new(),
            next_connection: AtomicU64::new(first_connection.max(1)),
            draining: Default::default(),
        }
    }

    /// Registers a connection of `user`; returns its id and its outbound queue, or `None` when
    /// the node is draining.
    pub fn connect(&self, user: Id) -> Option<(u64, Outbound)> {
        if self.draining.load(Ordering::Acquire) {
            return None;
        }
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        self.users.entry(user).or_default().push(Link { connection, tx });
        Some((connection, rx))
    }

    /// Forgets a connection.
    pub fn disconnect(&self, user: Id, connection: u64) {
        if let dashmap::Entry::Occupied(mut links) = self.users.entry(user) {
            links.get_mut().retain(|link| link.connection != connection);
            if links.get().is_empty() {
                links.remove();
            }
        }
    }

    /// Sends a frame to every connection of `user`, dropping those that cannot keep up.
    pub fn deliver_to_user(&self, user: Id, frame: Arc<OutFrame>) {
        if let Some(mut links) = self.users.get_mut(&user) {
            links.retain(|link| link.tx.try_send(frame.clone()).is_ok());
        }
    }

    /// Sends a frame to one connection of `user`.
    pub fn deliver_to_connection(&self, user: Id, connection: u64, frame: Arc<OutFrame>) {
        if let Some(mut links) = self.users.get_mut(&user) {
            links.retain(|link| link.connection != connection || link.tx.try_send(frame.clone()).is_ok());
        }
    }

    /// Whether `connection` of `user` is registered here (its socket still stands).
    pub fn holds(&self, user: Id, connection: u64) -> bool {
        self.users.get(&user).is_some_and(|links| links.iter().any(|link| link.connection == connection))
    }

    /// The users with a connection here.
    pub fn users(&self) -> Vec<Id> {
        self.users.iter().map(|links| *links.key()).collect()
    }

    /// Connections registered here.
    pub fn connection_count(&self) -> usize {
        self.users.iter().map(|links| links.len()).sum()
    }

    /// Stops registering connections and tells every connection to close with `code`.
    pub fn drain(&self, code: u16, reason: &'static str) {
        self.draining.store(true, Ordering::Release);
        let close = Arc::new(OutFrame::Close { code, reason });
        for mut links in self.users.iter_mut() {
            links.retain(|link| link.tx.try_send(close.clone()).is_ok());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(seq: u64) -> Arc<OutFrame> {
        Arc::new(OutFrame::State { seq, frame: Bytes::from_static(b"x") })
    }

    #[test]
    fn a_connection_that_cannot_keep_up_is_let_go_and_the_others_are_not() {
        let hub = LocalHub::new(1);
        let user = Id::from_u128(7);
        let (_slow, mut slow_rx) = hub.connect(user).unwrap();
        let (_fast, mut fast_rx) = hub.connect(user).unwrap();
        for seq in 0..OUTBOUND_CAPACITY as u64 {
            hub.deliver_to_user(user, state(seq));
            assert!(fast_rx.try_recv().is_ok());
        }
        hub.deliver_to_user(user, state(99));
        assert_eq!(hub.connection_count(), 1, "the full queue is dropped");
        assert!(fast_rx.try_recv().is_ok());
        // The slow one still drains what it had, then sees its queue closed.
        let mut drained = 0;
        while slow_rx.try_recv().is_ok() {
            drained += 1;
        }
        assert_eq!(drained, OUTBOUND_CAPACITY);
        assert!(slow_rx.is_closed());
    }

    #[test]
    fn a_frame_for_one_connection_reaches_only_it_and_draining_refuses_new_ones() {
        let hub = LocalHub::new(1);
        let user = Id::from_u128(7);
        let (first, mut first_rx) = hub.connect(user).unwrap();
        let (_second, mut second_rx) = hub.connect(user).unwrap();
        hub.deliver_to_connection(user, first, Arc::new(OutFrame::Close { code: 4001, reason: "replaced" }));
        assert!(matches!(*first_rx.try_recv().unwrap(), OutFrame::Close { code: 4001, .. }));
        assert!(second_rx.try_recv().is_err());
        hub.disconnect(user, first);
        hub.drain(1001, "going away");
        assert!(matches!(*second_rx.try_recv().unwrap(), OutFrame::Close { code: 1001, .. }));
        assert!(hub.connect(user).is_none());
    }
}
