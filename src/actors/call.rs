//! The one closed set of calls a session answers, [`SessionCall`], and its answers,
//! [`SessionReply`]; and the calls a playlist's actor answers for other nodes, [`PlaylistCall`]
//! and [`PlaylistReply`]. The same values go to an actor on this node and, serialized, to the
//! node holding the session or playlist (their MessagePack form, by name, is the cross-node wire form: keep
//! variant and field names, add fields only with `#[serde(default)]`).
//!
//! Nothing outside `actors` builds one: the gateway calls [`Sessions`](super::directory::Sessions)'
//! methods (`execute`, `attach`, `detach`, `state`), which build them.

use segue_protocol::SessionState;
use serde::{Deserialize, Serialize};

use crate::ids::Id;
use crate::player::{Applied, Command};
use crate::playlist::Op;
use crate::playlist::webapi::WebEdit;

/// What can be asked of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionCall {
    /// Apply a command; `want_state`: answer with the whole state after it too (for `welcome`).
    Execute { sender: Option<String>, command: Command, want_state: bool },
    /// The whole state.
    ReadState,
}

/// A session's answer to a [`SessionCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionReply {
    /// What a command did (and the state after it, when asked).
    Executed { changed: bool, seq: u64, state: Option<SessionState> },
    /// The whole state.
    State(SessionState),
}

impl SessionCall {
    /// The call's name, for traces.
    pub fn name(&self) -> &'static str {
        match self {
            SessionCall::Execute { command, .. } => command.name(),
            SessionCall::ReadState => "read_state",
        }
    }
}

impl SessionReply {
    pub fn executed(applied: Applied, state: Option<SessionState>) -> SessionReply {
        SessionReply::Executed { changed: applied.changed, seq: applied.seq, state }
    }
}

/// What an edit of a playlist asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditRequest {
    /// The socket's ops; with `strict`, refused with `CONFLICT` unless `base_snapshot_id` is
    /// the current snapshot.
    Ops { ops: Vec<Op>, base_snapshot_id: Option<String>, strict: bool },
    /// A Web API edit and the `snapshot_id` its request named.
    Web { edit: WebEdit, snapshot_id: Option<String> },
}

/// What another node asks of the playlist actor this node runs (its writes: reads and
/// subscriptions are served by every node from the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaylistCall {
    /// An edit by `by`.
    Edit { by: Id, request: EditRequest },
    /// `by` adds (or removes) `user` as a collaborator.
    Collaborator { by: Id, user: Id, add: bool },
}

/// A playlist actor's answer to a [`PlaylistCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaylistReply {
    /// The snapshot id after the edit.
    Edited { snapshot_id: String },
    /// Whether the collaborators changed.
    Collaborator { changed: bool },
}

impl PlaylistCall {
    /// The call's name, for traces.
    pub fn name(&self) -> &'static str {
        match self {
            PlaylistCall::Edit { .. } => "playlist_edit",
            PlaylistCall::Collaborator { .. } => "playlist_collaborator",
        }
    }
}
