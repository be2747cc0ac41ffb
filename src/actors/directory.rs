//! The session directory: finds, or activates, the one live session actor of a user, and is
//! the one handle ([`Sessions`]) the rest of the server reaches sessions through. Its methods
//! (`execute`, `attach`, `detach`, `state`) build the [`SessionCall`]s; nothing outside `actors`
//! builds an actor message.
//!
//! **Embedded placement.** Every session lives in this process. A session whose actor retired or
//! died is activated again on the next call, from its newest snapshot. The retry loop in
//! [`Sessions::call`] is what makes a crashed actor come back ("supervision"): actix's
//! `Supervisor` restarts actors whose context stopped, but not one whose task panicked, so the
//! directory notices the closed mailbox (or the retired, poisoned activation) instead and starts
//! a fresh one.
//!
//! **Cluster placement** (with a [`Placement`]). A session is active in one process of the whole
//! cluster: the one whose instance its ownership record in Redis names, under a fencing epoch.
//! A call first looks for a live local activation; else it asks the placement to `acquire` the
//! session: nobody holds it, so this process takes it (a new epoch) and activates it here; or
//! another process holds it, and the call goes there over its inbox. When that process does not
//! answer, the caller checks its liveness: while it lives the call fails with `UNAVAILABLE`
//! (the command may have been applied; repeating it could apply it twice), once it is gone
//! (its lease lapsed: at most the lease after its death) the caller takes the session over with a
//! higher epoch and activates it from the last stored state. The old owner, if it was only
//! paused, finds its next write fenced and retires its activation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::prelude::*;
use actix_rt::ArbiterHandle;
use dashmap::DashMap;
use segue_protocol::{ErrorCode, SessionState};
use tracing::Instrument;

use super::call::{SessionCall, SessionReply};
use super::placement::{Ownership, Placement, RemoteError, RpcFailure, cluster_unreachable, wait_until_dead};
use super::session::{self, Call, Recommit, Retire, SessionDeps, SessionError, UserSession};
use super::shards::Shards;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};
use crate::player::{Applied, Command, DeviceInfo};

/// How long a caller waits for a session before answering `UNAVAILABLE`.
pub const SESSION_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Users whose session's process this node remembers, at most (a bound on the cache's memory);
/// when full it is cleared, which costs one `acquire` per user at its next call.
const REMOTE_CACHE_MAX: usize = 200_000;
/// Activations tried for one call before giving up.
const ATTEMPTS: usize = 3;

/// A live activation: its actor and the epoch it writes with.
#[derive(Clone)]
struct Live {
    addr: Addr<UserSession>,
    epoch: i64,
}

struct Directory {
    live: DashMap<Id, Live>,
    /// Where other processes' sessions were last found, to call them without asking Redis.
    remote: DashMap<Id, String>,
    deps: Arc<SessionDeps>,
    shards: Shards,
    placement: Option<Arc<dyn Placement>>,
    /// Set when the node drains: it activates no session and serves no other node's calls.
    draining: AtomicBool,
}

/// The handle to every session. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    directory: Arc<Directory>,
}

fn out_of_turn() -> AppError {
    AppError::refusal(ErrorCode::Internal, "a session answered out of turn")
}

fn unavailable() -> AppError {
    AppError::refusal(ErrorCode::Unavailable, "the session is unavailable; retry soon")
}

fn shutting_down() -> AppError {
    AppError::refusal(ErrorCode::Unavailable, "this node is shutting down; reconnect")
}

impl Sessions {
    pub fn new(deps: Arc<SessionDeps>, shards: Shards, placement: Option<Arc<dyn Placement>>) -> Sessions {
        Sessions {
            directory: Arc::new(Directory {
                live: DashMap::new(),
                remote: DashMap::new(),
                deps,
                shards,
                placement,
                draining: AtomicBool::new(false),
            }),
        }
    }

    fn metrics(&self) -> &Metrics {
        &self.directory.deps.metrics
    }

    /// The shard `user`'s session and device connections live on.
    pub fn home(&self, user: Id) -> ArbiterHandle {
        self.directory.shards.home(user)
    }

    /// The number of the shard `user` lives on.
    pub fn shard_of(&self, user: Id) -> usize {
        self.directory.shards.index_of(user)
    }

    /// Stops the shard threads (at the end of a drain).
    pub fn stop_shards(&self) {
        self.directory.shards.stop();
    }

    /// Live session actors on this node.
    pub fn live_count(&self) -> usize {
        self.directory.live.len()
    }

    // ----- what the rest of the server asks -----

    /// Applies a command from `sender` (a device, or `None` for the REST API).
    pub async fn execute(&self, user: Id, sender: Option<&str>, command: Command) -> AppResult<Applied> {
        let call = SessionCall::Execute { sender: sender.map(str::to_string), command, want_state: false };
        match self.call_here_first(user, call).await? {
            SessionReply::Executed { changed, seq, .. } => Ok(Applied { changed, seq }),
            SessionReply::State(_) => Err(out_of_turn()),
        }
    }

    /// A device said `hello` on `connection`: it is online from now on. Answers the whole state
    /// after it, for the `welcome`.
    pub async fn attach(
        &self,
        user: Id,
        device: DeviceInfo,
        connection: u64,
        last_seq: Option<u64>,
    ) -> AppResult<SessionState> {
        let sender = Some(device.id.clone());
        let command = Command::Attach { device, connection, last_seq };
        match self.call_here_first(user, SessionCall::Execute { sender, command, want_state: true }).await? {
            SessionReply::Executed { state: Some(state), .. } => Ok(state),
            _ => Err(out_of_turn()),
        }
    }

    /// A device's connection ended.
    pub async fn detach(&self, user: Id, device_id: String, connection: u64) -> AppResult<()> {
        self.execute(user, None, Command::Detach { device_id, connection }).await.map(drop)
    }

    /// The user's whole session state.
    pub async fn state(&self, user: Id) -> AppResult<SessionState> {
        match self.call(user, SessionCall::ReadState).await? {
            SessionReply::State(state) => Ok(state),
            SessionReply::Executed { .. } => Err(out_of_turn()),
        }
    }

    // ----- routing -----

    /// Calls the session directly when its core is on this thread (a device connection on its
    /// user's shard), else through the actor's mailbox (or another node).
    async fn call_here_first(&self, user: Id, call: SessionCall) -> AppResult<SessionReply> {
        let span = tracing::info_span!("session.call", %user, call = call.name());
        self.call_here_first_in(user, call).instrument(span).await
    }

    async fn call_here_first_in(&self, user: Id, call: SessionCall) -> AppResult<SessionReply> {
        let Some(core) = session::local_core(user).filter(|core| core.borrow().is_serving()) else {
            return self.call_anywhere(user, call).await;
        };
        // Only in a cluster can the core turn out to be fenced (then the call goes to the
        // session's new node); one node keeps no copy of the call on this, the hottest path.
        let retry = self.directory.placement.is_some().then(|| call.clone());
        let pending = core.borrow_mut().call(call);
        let outcome = match pending {
            Ok(pending) => pending.settle().await,
            Err(error) => Err(error),
        };
        match (outcome, retry) {
            (Ok(reply), _) => Ok(reply),
            (Err(SessionError::App(error)), _) => Err(error),
            (Err(SessionError::Panicked), _) => {
                // The actor takes its poisoned core back and retires; the next call activates
                // the session afresh.
                if let Some(live) = self.local(user) {
                    live.addr.do_send(Retire);
                }
                Err(session::panicked())
            }
            (Err(SessionError::Retired), Some(call)) => self.call_anywhere(user, call).await,
            (Err(SessionError::Retired), None) => Err(unavailable()),
        }
    }

    /// The live local actor of `user`, if any.
    fn local(&self, user: Id) -> Option<Live> {
        self.directory.live.get(&user).filter(|live| live.addr.connected()).map(|live| live.clone())
    }

    /// The live actor of `user`, activated here (on its home shard, under `epoch`) if none is.
    fn activation(&self, user: Id, epoch: i64) -> Addr<UserSession> {
        if let Some(live) = self.local(user) {
            return live.addr;
        }
        let mut entry = self.directory.live.entry(user).or_insert_with(|| self.start(user, epoch));
        if !entry.addr.connected() {
            *entry = self.start(user, epoch);
        }
        entry.addr.clone()
    }

    /// Starts the session actor of `user` on its home shard.
    fn start(&self, user: Id, epoch: i64) -> Live {
        let directory: Weak<Directory> = Arc::downgrade(&self.directory);
        let deps = self.directory.deps.clone();
        let addr = UserSession::start_in_arbiter(&self.home(user), move |_| {
            let on_retire = Box::new(move |user: Id, addr: &Addr<UserSession>| {
                if let Some(directory) = directory.upgrade()
                    && let Some((_, live)) = directory.live.remove_if(&user, |_, live| live.addr == *addr)
                    && let Some(placement) = directory.placement.clone()
                {
                    actix_rt::spawn(placement.release(user, live.epoch));
                }
            });
            UserSession::new(user, epoch, deps, on_retire)
        });
        Live { addr, epoch }
    }

    /// Forgets a local activation that retired or died.
    fn forget(&self, user: Id, addr: &Addr<UserSession>) {
        self.directory.live.remove_if(&user, |_, live| live.addr == *addr);
    }

    /// Sends `call` to the local actor; `None` when it retired or died under us.
    async fn call_actor(
        &self,
        user: Id,
        addr: Addr<UserSession>,
        call: SessionCall,
    ) -> Option<AppResult<SessionReply>> {
        match addr.send(Call(call, tracing::Span::current())).timeout(SESSION_CALL_TIMEOUT).await {
            Ok(Ok(reply)) => Some(Ok(reply)),
            Ok(Err(SessionError::App(error))) => Some(Err(error)),
            Ok(Err(SessionError::Panicked)) => Some(Err(session::panicked())),
            Ok(Err(SessionError::Retired)) | Err(MailboxError::Closed) => {
                self.forget(user, &addr);
                None
            }
            Err(MailboxError::Timeout) => {
                self.metrics().overflowed(Queue::SessionMailbox);
                Some(Err(AppError::refusal(ErrorCode::Unavailable, "the session did not answer in time")))
            }
        }
    }

    /// Calls the user's session wherever it is, activating it if nobody holds it.
    pub(crate) async fn call(&self, user: Id, call: SessionCall) -> AppResult<SessionReply> {
        let span = tracing::info_span!("session.call", %user, call = call.name());
        self.call_anywhere(user, call).instrument(span).await
    }

    async fn call_anywhere(&self, user: Id, call: SessionCall) -> AppResult<SessionReply> {
        if let Some(placement) = self.directory.placement.clone() {
            return self.call_in_cluster(placement.as_ref(), user, call).await;
        }
        for _ in 0..ATTEMPTS {
            let addr = self.activation(user, 0);
            if let Some(answer) = self.call_actor(user, addr, call.clone()).await {
                return answer;
            }
        }
        Err(unavailable())
    }

    /// Finds the session in the cluster (here, elsewhere, or nowhere: then here) and calls it.
    async fn call_in_cluster(&self, placement: &dyn Placement, user: Id, call: SessionCall) -> AppResult<SessionReply> {
        let deadline = tokio::time::Instant::now() + placement.lease() + SESSION_CALL_TIMEOUT;
        let mut dead: Option<String> = None;
        loop {
            if tokio::time::Instant::now() > deadline {
                return Err(unavailable());
            }
            if let Some(live) = self.local(user) {
                match self.call_actor(user, live.addr, call.clone()).await {
                    Some(answer) => return answer,
                    None => continue,
                }
            }
            if !placement.is_connected() {
                return Err(cluster_unreachable());
            }
            let known = self.directory.remote.get(&user).map(|instance| instance.clone());
            let owner = match known {
                Some(instance) if dead.as_deref() != Some(instance.as_str()) => instance,
                _ => match placement.acquire(user, dead.as_deref()).await? {
                    Ownership::Mine { epoch } => {
                        if self.draining() {
                            return Err(shutting_down());
                        }
                        self.directory.remote.remove(&user);
                        self.activation(user, epoch);
                        continue;
                    }
                    Ownership::Elsewhere { instance } => instance,
                },
            };
            if self.directory.remote.len() >= REMOTE_CACHE_MAX {
                // A cache, not a record: forgetting costs one `acquire` per user at the next call.
                self.directory.remote.clear();
            }
            self.directory.remote.insert(user, owner.clone());
            match placement.call(&owner, user, call.clone()).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(RemoteError::NotHere)) => {
                    self.directory.remote.remove(&user);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(Err(error)) => return Err(error.into_app()),
                Err(RpcFailure::Unreachable) => return Err(cluster_unreachable()),
                Err(RpcFailure::Timeout) => {
                    self.directory.remote.remove(&user);
                    wait_until_dead(placement.lease(), deadline, || placement.is_alive(&owner)).await?;
                    dead = Some(owner);
                }
            }
        }
    }

    /// Serves a call from another process: only from a session this process holds (activating it
    /// if its ownership record names this process); anything else is `NotHere`.
    pub async fn serve_remote(&self, user: Id, call: SessionCall) -> Result<SessionReply, RemoteError> {
        let Some(placement) = self.directory.placement.clone() else { return Err(RemoteError::NotHere) };
        if self.draining() {
            return Err(RemoteError::NotHere);
        }
        for _ in 0..ATTEMPTS {
            let addr = match self.local(user) {
                Some(live) => live.addr,
                None => match placement.acquire(user, None).await? {
                    Ownership::Mine { epoch } => self.activation(user, epoch),
                    Ownership::Elsewhere { .. } => return Err(RemoteError::NotHere),
                },
            };
            if let Some(answer) = self.call_actor(user, addr, call.clone()).await {
                return answer.map_err(RemoteError::from);
            }
        }
        Err(RemoteError::NotHere)
    }

    fn draining(&self) -> bool {
        self.directory.draining.load(Ordering::Acquire)
    }

    fn held(&self) -> Vec<(Id, Live)> {
        self.directory.live.iter().map(|live| (*live.key(), live.value().clone())).collect()
    }

    /// Every local activation stores its state again (after Redis came back, possibly empty).
    pub async fn recommit_all(&self) {
        for (_, live) in self.held() {
            let _ = live.addr.send(Recommit).await;
        }
    }

    /// Hands every session this process holds over (a draining node): the activations stop and
    /// their ownership is released, so other nodes take them at once instead of after the lease.
    pub async fn release_all(&self) {
        self.directory.draining.store(true, Ordering::Release);
        let Some(placement) = self.directory.placement.clone() else { return };
        for (user, live) in self.held() {
            let _ = live.addr.send(Retire).await;
            placement.release(user, live.epoch).await;
        }
    }
}
