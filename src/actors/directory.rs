//! The session directory: finds, or activates, the one live session actor of a user, and is
//! the handle the gateway uses to talk to sessions.
//!
//! This is the embedded placement: every session lives in this process. A session whose actor
//! retired or died is activated again on the next call, from its newest snapshot. The retry
//! loop in [`Sessions::call`] is what makes a crashed actor come back ("supervision"): actix's
//! `Supervisor` restarts actors whose context stopped, but not one whose task panicked, so the
//! directory notices the closed mailbox instead and starts a fresh activation.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use segue_protocol::{ErrorCode, SessionState};

use super::session::{self, Execute, Executed, ReadState, SessionDeps, SessionError, UserSession};
use super::shards::Shards;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::player::Command;
use actix_rt::ArbiterHandle;

/// How long a caller waits for a session before answering `UNAVAILABLE`.
pub const SESSION_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Activations tried for one call before giving up.
const ATTEMPTS: usize = 3;

struct Directory {
    live: DashMap<Id, Addr<UserSession>>,
    deps: Arc<SessionDeps>,
    shards: Shards,
}

/// The handle to every session. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    directory: Arc<Directory>,
}

impl Sessions {
    pub fn new(deps: Arc<SessionDeps>, shards: Shards) -> Sessions {
        Sessions { directory: Arc::new(Directory { live: DashMap::new(), deps, shards }) }
    }

    /// The shard `user`'s session and device connections live on.
    pub fn home(&self, user: Id) -> ArbiterHandle {
        self.directory.shards.home(user)
    }

    /// Stops the shard threads (at the end of a drain).
    pub fn stop_shards(&self) {
        self.directory.shards.stop();
    }

    /// Live session actors on this node.
    pub fn live_count(&self) -> usize {
        self.directory.live.len()
    }

    /// The live actor of `user`, activated (on its home shard) if there is none.
    fn activation(&self, user: Id) -> Addr<UserSession> {
        if let Some(addr) = self.directory.live.get(&user)
            && addr.connected()
        {
            return addr.clone();
        }
        let mut entry = self.directory.live.entry(user).or_insert_with(|| self.start(user));
        if !entry.connected() {
            *entry = self.start(user);
        }
        entry.clone()
    }

    /// Starts the session actor of `user` on its home shard.
    fn start(&self, user: Id) -> Addr<UserSession> {
        let directory: Weak<Directory> = Arc::downgrade(&self.directory);
        let deps = self.directory.deps.clone();
        UserSession::start_in_arbiter(&self.home(user), move |_| {
            let on_retire = Box::new(move |user: Id, addr: &Addr<UserSession>| {
                if let Some(directory) = directory.upgrade() {
                    directory.live.remove_if(&user, |_, live| live == addr);
                }
            });
            UserSession::new(user, deps, on_retire)
        })
    }

    async fn call<M, R>(&self, user: Id, message: M) -> AppResult<R>
    where
        M: Message<Result = Result<R, SessionError>> + Clone + Send + 'static,
        R: Send + 'static,
        UserSession: Handler<M>,
    {
        for _ in 0..ATTEMPTS {
            let addr = self.activation(user);
            match addr.send(message.clone()).timeout(SESSION_CALL_TIMEOUT).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(SessionError::App(error))) => return Err(error),
                // Retired or died under us: try a fresh activation.
                Ok(Err(SessionError::Retired)) | Err(MailboxError::Closed) => {
                    self.directory.live.remove_if(&user, |_, live| *live == addr);
                }
                Err(MailboxError::Timeout) => {
                    return Err(AppError::new(ErrorCode::Unavailable, "the session did not answer in time"));
                }
            }
        }
        Err(AppError::new(ErrorCode::Unavailable, "the session is unavailable; retry soon"))
    }

    /// Applies a command: directly when the session's core is on this thread (a device
    /// connection on its user's shard), else through the actor's mailbox.
    pub async fn execute_message(&self, user: Id, message: Execute) -> AppResult<Executed> {
        if let Some(core) = session::local_core(user) {
            return match core.borrow_mut().execute(message) {
                Ok(executed) => Ok(executed),
                Err(SessionError::App(error)) => Err(error),
                Err(SessionError::Retired) => {
                    Err(AppError::new(ErrorCode::Unavailable, "the session is retiring; retry"))
                }
            };
        }
        self.call(user, message).await
    }

    /// Applies a command to the user's session.
    pub async fn execute(&self, user: Id, sender: Option<&str>, command: Command) -> AppResult<Executed> {
        self.execute_message(user, Execute { sender: sender.map(str::to_string), command, want_state: false }).await
    }

    /// The user's whole session state.
    pub async fn state(&self, user: Id) -> AppResult<SessionState> {
        self.call(user, ReadState).await
    }
}
