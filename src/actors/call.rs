//! The one closed set of calls a session answers, [`SessionCall`], and its answers,
//! [`SessionReply`]. The same values go to a session actor on this node and, serialized, to the
//! node holding the session (their MessagePack form, by name, is the cross-node wire form: keep
//! variant and field names, add fields only with `#[serde(default)]`).
//!
//! Nothing outside `actors` builds one: the gateway calls [`Sessions`](super::directory::Sessions)'
//! methods (`execute`, `attach`, `detach`, `state`), which build them.

use segue_protocol::SessionState;
use serde::{Deserialize, Serialize};

use crate::player::{Applied, Command};

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
