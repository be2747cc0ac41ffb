//! The Segue Connect wire protocol, version 1: the types every frame is made of.
//!
//! This crate is shared by the server, the load generator and the tests, so a change here is a
//! change of the contract (`README.md` beside this file is the protocol document). It knows
//! nothing of sockets, runtimes or storage: only serde types and the MessagePack codec.
//!
//! # Layout
//! - [`error`]: the one table of error codes, shared by socket replies and HTTP errors.
//! - [`envelope`]: decoding a client frame into a [`envelope::ClientFrame`], encoding replies
//!   and events. Every frame is one MessagePack map with string keys.
//! - [`playlist`]: §6's playlist requests, the playlist a subscribe answers, `playlist_changed`.
//! - [`request`]: the typed bodies of the client requests (`hello`, `play`, `seek`, …).
//! - [`state`]: `SessionState`, the whole truth about one user's playback, and its parts.
//! - [`activity`]: friend activity (§6): `friend_activity` and the `activity_subscribe` reply.

pub mod activity;
pub mod envelope;
pub mod error;
pub mod playlist;
pub mod request;
pub mod state;

pub use envelope::{ClientFrame, FrameViolation, ServerFrame};
pub use error::{ErrorBody, ErrorCode};
pub use request::Request;
pub use state::{DeviceState, DeviceType, Playback, QueueView, RepeatMode, SessionState, Skips};

/// The largest frame a peer may send: 64 KiB. A larger one closes the connection with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Close codes the server uses (protocol §7).
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down or draining: reconnect, possibly to another node.
    pub const GOING_AWAY: u16 = 1001;
    /// The frame was not MessagePack, not a map, or not an envelope.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A policy violation: a text frame, a request before `hello`, no `hello` in time.
    pub const POLICY: u16 = 1008;
    /// A frame over [`super::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// Replaced by a newer connection of the same device.
    pub const REPLACED: u16 = 4001;
    /// The access token expired or was revoked.
    pub const TOKEN_EXPIRED: u16 = 4003;
}
