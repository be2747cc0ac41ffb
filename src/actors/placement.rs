//! Where a session, or a playlist's actor, lives in a cluster: the seam between the directory
//! and the live playlists, which decide where a call goes (`directory.rs`, `playlists.rs`), and
//! the cluster's Redis and inboxes, which know who holds what (`cluster::RedisPlacement`). They
//! see only [`Placement`] and [`PlaylistPlacement`], so the cluster module imports neither.

use std::time::Duration;

use segue_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::bus::BusFuture;
use super::call::{PlaylistCall, PlaylistReply, SessionCall, SessionReply};
use crate::error::{AppError, AppResult};
use crate::ids::Id;
pub use crate::storage::redis::Ownership;

/// Why another node did not answer a call with the session's own answer.
///
/// Its serde form is the cross-node wire form (the same bytes as Segue 69c7daf's
/// `RemoteError`): keep variant names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoteError {
    /// The session refused, as it would have locally.
    App(AppError),
    /// That node does not hold the session (any more): find it again.
    NotHere,
}

impl From<AppError> for RemoteError {
    fn from(error: AppError) -> RemoteError {
        RemoteError::App(error)
    }
}

impl RemoteError {
    pub fn into_app(self) -> AppError {
        match self {
            RemoteError::App(error) => error,
            RemoteError::NotHere => AppError::refusal(ErrorCode::Unavailable, "the session is moving; retry"),
        }
    }
}

/// The answer when the cluster's shared state (Redis) is unreachable: fail fast, never hang.
pub fn cluster_unreachable() -> AppError {
    AppError::refusal(ErrorCode::Unavailable, "the cluster's Redis is unreachable; retry soon")
}

/// Why a call to another node got no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcFailure {
    /// The call could not be sent (Redis is unreachable).
    Unreachable,
    /// No answer in time: the node is dead or only slow.
    Timeout,
}

/// The answer of a call to another node.
pub type RemoteAnswer = Result<Result<SessionReply, RemoteError>, RpcFailure>;

/// The answer of a playlist's call to another node.
pub type PlaylistRemoteAnswer = Result<Result<PlaylistReply, RemoteError>, RpcFailure>;

/// Who holds which session in the cluster, and the calls to the nodes that hold them.
pub trait Placement: Send + Sync + 'static {
    /// How long a process's liveness outlasts its last renewal.
    fn lease(&self) -> Duration;

    /// Whether the cluster's shared state can be reached now (calls fail fast when not).
    fn is_connected(&self) -> bool;

    /// Takes `user`'s session when nobody holds it (or `dead`, an instance found dead, held
    /// it); else says who does.
    fn acquire(&self, user: Id, dead: Option<&str>) -> BusFuture<AppResult<Ownership>>;

    /// Gives `user`'s session up, if this process still holds it under `epoch`.
    fn release(&self, user: Id, epoch: i64) -> BusFuture<()>;

    /// Whether a process instance is alive.
    fn is_alive(&self, instance: &str) -> BusFuture<AppResult<bool>>;

    /// Calls `user`'s session on the process `instance`.
    fn call(&self, instance: &str, user: Id, call: SessionCall) -> BusFuture<RemoteAnswer>;
}

/// Who runs which playlist's actor in the cluster, and the calls to them: the same records,
/// epochs and liveness as sessions, under the playlist's own keys.
pub trait PlaylistPlacement: Send + Sync + 'static {
    /// How long a process's liveness outlasts its last renewal.
    fn lease(&self) -> Duration;

    /// Whether the cluster's shared state can be reached now.
    fn is_connected(&self) -> bool;

    /// Takes `playlist`'s actor when nobody runs it (or `dead` did), under an epoch above
    /// `floor`; else says who does.
    fn acquire(&self, playlist: Id, dead: Option<&str>, floor: i64) -> BusFuture<AppResult<Ownership>>;

    /// Gives `playlist`'s actor up, if this process still runs it under `epoch`.
    fn release(&self, playlist: Id, epoch: i64) -> BusFuture<()>;

    /// Whether a process instance is alive.
    fn is_alive(&self, instance: &str) -> BusFuture<AppResult<bool>>;

    /// Calls `playlist`'s actor on the process `instance`.
    fn call(&self, instance: &str, playlist: Id, call: PlaylistCall) -> BusFuture<PlaylistRemoteAnswer>;
}

/// After a call to `owner` timed out: dead or only slow? A dead owner's liveness lapses at most
/// a `lease` after its last renewal: watch it that long (never past `deadline`), then whatever
/// it held may be taken over. `UNAVAILABLE` while it lives (the call may have been applied).
pub async fn wait_until_dead<F>(lease: Duration, deadline: tokio::time::Instant, is_alive: F) -> AppResult<()>
where
    F: Fn() -> BusFuture<AppResult<bool>>,
{
    let give_up = (tokio::time::Instant::now() + lease).min(deadline);
    loop {
        if !is_alive().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() >= give_up {
            return Err(AppError::refusal(ErrorCode::Unavailable, "the node holding it does not answer; retry soon"));
        }
        tokio::time::sleep(lease / 8).await;
    }
}
