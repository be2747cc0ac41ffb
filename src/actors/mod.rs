//! The actors and what connects them: the user session actor (the one owner of a user's
//! playback state), the directory that finds or activates it, the bus that carries its events,
//! the hub of this node's device connections, and the shards (threads) each user is pinned to.
//!
//! **Architecture invariant:** actors never hold a socket. A device connection (in `gateway`)
//! talks to its session through [`directory::Sessions`] and receives events through its
//! outbound queue in the [`hub::LocalHub`].

pub mod bus;
pub mod cluster;
pub mod directory;
pub mod hub;
pub mod session;
pub mod shards;
