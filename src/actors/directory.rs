//! The session directory: finds, or activates, the one live session actor of a user, and is
//! the handle the gateway uses to talk to sessions.
//!
//! **Embedded placement.** Every session lives in this process. A session whose actor retired or
//! died is activated again on the next call, from its newest snapshot. The retry loop in
//! [`Sessions::call`] is what makes a crashed actor come back ("supervision"): actix's
//! `Supervisor` restarts actors whose context stopped, but not one whose task panicked, so the
//! directory notices the closed mailbox instead and starts a fresh activation.
//!
//! **Cluster placement** (with a [`Placement`]). A session is active in one process of the whole
//! cluster: the one whose instance its ownership record in Redis names, under a fencing epoch.
//! A call first looks for a live local activation; else it asks Redis to `acquire` the session:
//! nobody holds it, so this process takes it (a new epoch) and activates it here; or another
//! process holds it, and the call goes there over its inbox ([`Rpc`]). When that process does not
//! answer, the caller checks its liveness key: while it lives the call fails with `UNAVAILABLE`
//! (the command may have been applied; repeating it could apply it twice), once it is gone
//! (its lease lapsed: at most the lease after its death) the caller takes the session over with a
//! higher epoch and activates it from the last stored state. The old owner, if it was only
//! paused, finds its next write fenced and retires its activation.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use segue_protocol::{ErrorCode, SessionState};

use super::cluster::{RemoteAnswer, RemoteCall, RemoteError, Rpc, RpcFailure, redis_unavailable};
use super::session::{self, Execute, Executed, ReadState, Recommit, Retire, SessionDeps, SessionError, UserSession};
use super::shards::Shards;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::player::Command;
use crate::storage::redis::{Ownership, RedisEngine};
use actix_rt::ArbiterHandle;

/// How long a caller waits for a session before answering `UNAVAILABLE`.
pub const SESSION_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Users whose session's process this node remembers, at most (a bound on the cache's memory).
const REMOTE_CACHE_MAX: usize = 200_000;
/// Activations tried for one call before giving up.
const ATTEMPTS: usize = 3;

/// What cluster placement needs: Redis, and the calls to other processes.
pub struct Placement {
    pub engine: Arc<RedisEngine>,
    pub rpc: Rpc,
    /// How long a process's liveness outlasts its last renewal.
    pub lease: Duration,
}

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
    placement: Option<Arc<Placement>>,
    /// Set when the node drains: it activates no session and serves no other node's calls.
    draining: std::sync::atomic::AtomicBool,
}

/// The handle to every session. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    directory: Arc<Directory>,
}

/// A message the directory can route to a session, here or on another node.
pub trait Routed: Message<Result = Result<Self::Reply, SessionError>> + Clone + Send + 'static
where
    UserSession: Handler<Self>,
{
    type Reply: Send + 'static;
    fn to_remote(&self) -> RemoteCall;
    fn from_remote(answer: RemoteAnswer) -> Option<Self::Reply>;
}

impl Routed for Execute {
    type Reply = Executed;
    fn to_remote(&self) -> RemoteCall {
        RemoteCall::Execute { sender: self.sender.clone(), command: self.command.clone(), want_state: self.want_state }
    }
    fn from_remote(answer: RemoteAnswer) -> Option<Executed> {
        answer.into_executed()
    }
}

impl Routed for ReadState {
    type Reply = SessionState;
    fn to_remote(&self) -> RemoteCall {
        RemoteCall::ReadState
    }
    fn from_remote(answer: RemoteAnswer) -> Option<SessionState> {
        match answer {
            RemoteAnswer::State(state) => Some(state),
            RemoteAnswer::Executed { .. } => None,
        }
    }
}

impl Sessions {
    pub fn new(deps: Arc<SessionDeps>, shards: Shards, placement: Option<Arc<Placement>>) -> Sessions {
        Sessions {
            directory: Arc::new(Directory {
                live: DashMap::new(),
                remote: DashMap::new(),
                deps,
                shards,
                placement,
                draining: Default::default(),
            }),
        }
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
                    actix_rt::spawn(async move {
                        let _ = placement.engine.release(user, live.epoch).await;
                    });
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

    /// Sends `message` to the local actor; `None` when it retired or died under us.
    async fn call_actor<M: Routed>(&self, user: Id, addr: Addr<UserSession>, message: M) -> Option<AppResult<M::Reply>>
    where
        UserSession: Handler<M>,
    {
        match addr.send(message).timeout(SESSION_CALL_TIMEOUT).await {
            Ok(Ok(reply)) => Some(Ok(reply)),
            Ok(Err(SessionError::App(error))) => Some(Err(error)),
            Ok(Err(SessionError::Retired)) | Err(MailboxError::Closed) => {
                self.forget(user, &addr);
                None
            }
            Err(MailboxError::Timeout) => {
                Some(Err(AppError::new(ErrorCode::Unavailable, "the session did not answer in time")))
            }
        }
    }

    async fn call<M: Routed>(&self, user: Id, message: M) -> AppResult<M::Reply>
    where
        UserSession: Handler<M>,
    {
        if let Some(placement) = self.directory.placement.clone() {
            return self.call_in_cluster(&placement, user, message).await;
        }
        for _ in 0..ATTEMPTS {
            let addr = self.activation(user, 0);
            if let Some(answer) = self.call_actor(user, addr, message.clone()).await {
                return answer;
            }
        }
        Err(AppError::new(ErrorCode::Unavailable, "the session is unavailable; retry soon"))
    }

    /// Finds the session in the cluster (here, elsewhere, or nowhere: then here) and calls it.
    async fn call_in_cluster<M: Routed>(&self, placement: &Placement, user: Id, message: M) -> AppResult<M::Reply>
    where
        UserSession: Handler<M>,
    {
        let deadline = tokio::time::Instant::now() + placement.lease + SESSION_CALL_TIMEOUT;
        let mut dead: Option<String> = None;
        loop {
            if tokio::time::Instant::now() > deadline {
                return Err(AppError::new(ErrorCode::Unavailable, "the session is unavailable; retry soon"));
            }
            if let Some(live) = self.local(user) {
                match self.call_actor(user, live.addr, message.clone()).await {
                    Some(answer) => return answer,
                    None => continue,
                }
            }
            if !placement.engine.is_connected() {
                return Err(redis_unavailable());
            }
            let known = self.directory.remote.get(&user).map(|instance| instance.clone());
            let owner = match known {
                Some(instance) if dead.as_deref() != Some(instance.as_str()) => instance,
                _ => match placement.engine.acquire(user, dead.as_deref()).await.map_err(|_| redis_unavailable())? {
                    Ownership::Mine { epoch } => {
                        if self.draining() {
                            return Err(AppError::new(ErrorCode::Unavailable, "this node is shutting down; reconnect"));
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
            match placement.rpc.call(&owner, user, message.to_remote()).await {
                Ok(Ok(answer)) => {
                    return M::from_remote(answer)
                        .ok_or_else(|| AppError::new(ErrorCode::Internal, "another node answered out of turn"));
                }
                Ok(Err(RemoteError::NotHere)) => {
                    self.directory.remote.remove(&user);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(Err(error)) => return Err(error.into_app()),
                Err(RpcFailure::Unreachable) => return Err(redis_unavailable()),
                Err(RpcFailure::Timeout) => {
                    self.directory.remote.remove(&user);
                    // Dead or only slow? A dead owner's liveness key lapses at most a lease after
                    // its last renewal: watch it that long, then take the session over.
                    let give_up = (tokio::time::Instant::now() + placement.lease).min(deadline);
                    loop {
                        match placement.engine.is_alive(&owner).await {
                            Ok(false) => break,
                            Ok(true) if tokio::time::Instant::now() < give_up => {
                                tokio::time::sleep(placement.lease / 8).await;
                            }
                            Ok(true) => {
                                return Err(AppError::new(
                                    ErrorCode::Unavailable,
                                    "the node holding the session does not answer; retry soon",
                                ));
                            }
                            Err(_) => return Err(redis_unavailable()),
                        }
                    }
                    dead = Some(owner);
                }
            }
        }
    }

    /// Serves a call from another process: only from a session this process holds (activating it
    /// if its ownership record names this process); anything else is `NotHere`.
    pub async fn serve_remote(&self, user: Id, call: RemoteCall) -> Result<RemoteAnswer, RemoteError> {
        let Some(placement) = self.directory.placement.clone() else { return Err(RemoteError::NotHere) };
        if self.draining() {
            return Err(RemoteError::NotHere);
        }
        for _ in 0..ATTEMPTS {
            let addr = match self.local(user) {
                Some(live) => live.addr,
                None => match placement.engine.acquire(user, None).await {
                    Ok(Ownership::Mine { epoch }) => self.activation(user, epoch),
                    Ok(Ownership::Elsewhere { .. }) => return Err(RemoteError::NotHere),
                    Err(_) => return Err(redis_unavailable().into()),
                },
            };
            let answer = match &call {
                RemoteCall::Execute { sender, command, want_state } => {
                    let message = Execute { sender: sender.clone(), command: command.clone(), want_state: *want_state };
                    self.call_actor(user, addr, message).await.map(|r| r.map(RemoteAnswer::executed))
                }
                RemoteCall::ReadState => {
                    self.call_actor(user, addr, ReadState).await.map(|r| r.map(RemoteAnswer::State))
                }
            };
            if let Some(answer) = answer {
                return answer.map_err(RemoteError::from);
            }
        }
        Err(RemoteError::NotHere)
    }

    /// Applies a command: directly when the session's core is on this thread (a device
    /// connection on its user's shard), else through the actor's mailbox (or another node).
    pub async fn execute_message(&self, user: Id, message: Execute) -> AppResult<Executed> {
        let Some(core) = session::local_core(user) else { return self.call(user, message).await };
        // Only in a cluster can the core turn out to be fenced (then the command goes to the
        // session's new node); one node keeps no copy of the command on this, the hottest path.
        let retry = self.directory.placement.is_some().then(|| message.clone());
        let pending = core.borrow_mut().execute(message);
        let outcome = match pending {
            Ok(pending) => pending.settle().await,
            Err(error) => Err(error),
        };
        match (outcome, retry) {
            (Ok(executed), _) => Ok(executed),
            (Err(SessionError::App(error)), _) => Err(error),
            (Err(SessionError::Retired), Some(message)) => self.call(user, message).await,
            (Err(SessionError::Retired), None) => {
                Err(AppError::new(ErrorCode::Unavailable, "the session is retiring; retry"))
            }
        }
    }

    /// Applies a command to the user's session.
    pub async fn execute(&self, user: Id, sender: Option<&str>, command: Command) -> AppResult<Executed> {
        self.execute_message(user, Execute { sender: sender.map(str::to_string), command, want_state: false }).await
    }

    /// The user's whole session state.
    pub async fn state(&self, user: Id) -> AppResult<SessionState> {
        self.call(user, ReadState).await
    }

    fn draining(&self) -> bool {
        self.directory.draining.load(std::sync::atomic::Ordering::Acquire)
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
        self.directory.draining.store(true, std::sync::atomic::Ordering::Release);
        let Some(placement) = self.directory.placement.clone() else { return };
        for (user, live) in self.held() {
            let _ = live.addr.send(Retire).await;
            let _ = placement.engine.release(user, live.epoch).await;
        }
    }
}
