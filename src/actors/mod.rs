//! The actors and what connects them: the user session actor (the one owner of a user's
//! playback state), the directory that finds or activates it, the bus that carries its events,
//! the hub of this node's device connections, and the shards (threads) each user is pinned to.
//!
//! # Layout
//! - [`call`]: [`SessionCall`](call::SessionCall) and its reply, the one closed set of things a
//!   session is asked, in process and across nodes.
//! - [`directory`]: [`Sessions`](directory::Sessions), the one handle to every session.
//! - [`session`]: the session actor and its core (supervision of panics included).
//! - [`placement`]: the seam between the directory and the cluster: who holds which session.
//! - [`bus`], [`hub`], [`shards`]: events out to connections; this node's connections; threads.
//! - [`playlists`]: the live playlist actors ([`Playlists`](playlists::Playlists)): one writer per
//!   playlist, its edits stored before they are acknowledged and published as `playlist_changed`.
//! - [`activity`]: friend activity out of the sessions, and the live `activity_subscribe`s.
//! - [`topics`]: fan-out to the connections subscribed to a topic (a playlist, a user's
//!   activity), whoever their user is, on every node.
//! - [`cluster`]: everything a node does through Redis; [`dispatch`]: what Redis delivers.
//!
//! Dependencies run one way: `dispatch` → `directory` → `session` → `bus`/`hub`; `cluster` →
//! `placement`/`session`/`bus`; `dispatch` → `activity` → `topics` → `cluster`/`hub`;
//! `activity` → `session` (which sees friend activity only through its `ActivitySink` seam);
//! nothing here imports `gateway` or `node`.
//!
//! **Architecture invariant:** actors never hold a socket. A device connection (in `gateway`)
//! talks to its session through [`directory::Sessions`] and receives events through its
//! outbound queue in the [`hub::LocalHub`].

pub mod activity;
pub mod bus;
pub mod call;
pub mod cluster;
pub mod directory;
pub mod dispatch;
pub mod hub;
pub mod placement;
pub mod playlists;
pub mod session;
pub mod shards;
#[cfg(test)]
mod tests;
pub mod topics;
