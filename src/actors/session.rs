//! The user session actor: the one live owner of a user's [`Session`].
//!
//! Its [`SessionCore`] applies every command through the pure state machine, and after every
//! change encodes the new state once, publishes it on the bus to all of the user's connections,
//! and stages a snapshot with the write-behind writer. It never waits on I/O while handling a
//! command: the only await is the load of the last snapshot when the actor starts, during which
//! its mailbox waits.
//!
//! **The same-shard fast path.** A user's device connections live on the same shard (thread)
//! as the user's session actor (see `shards.rs`). Once loaded, the actor lends its core to that
//! thread ([`local_core`]), and a connection calls it directly instead of through the mailbox:
//! the core is still the one place that changes the session and every call still runs to the
//! end before the next starts (one thread, no await inside), but a command no longer waits for
//! a second turn of the run queue between the socket and the session. Callers on other threads
//! (the REST API) go through the mailbox as before. Measured at 10,000 commands/s: see
//! BENCHMARKS.md.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use segue_protocol::SessionState;
use segue_protocol::envelope::encode_event;

use super::bus::{Audience, Bus, BusFuture, Commit, CommitError, StateChange};
use super::hub::OutFrame;
use crate::auth::Accounts;
use crate::clock::now_ms;
use crate::domain::Product;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::metrics::Metrics;
use crate::player::{Applied, Command, Session, SkipPolicy};
use crate::storage::snapshots::{PlayRecord, SnapshotRecord, WriteBehind};
use segue_protocol::ErrorCode;

/// Messages a session may have waiting. Senders wait (`send`) when it is full: the backpressure
/// reaches the connection that sent the command, never another user's.
pub const SESSION_MAILBOX: usize = 256;

/// Close code telling connections that their session restarted and they must say `hello` again.
pub const CLOSE_SESSION_RESTARTED: u16 = 1012;

/// What every session needs from the rest of the node.
pub struct SessionDeps {
    pub accounts: Arc<Accounts>,
    pub writer: WriteBehind,
    pub bus: Arc<dyn Bus>,
    /// Where an activation finds its session's newest snapshot.
    pub snapshots: Arc<dyn SnapshotSource>,
    pub metrics: Arc<Metrics>,
    /// The free tier's skip budget.
    pub skip_policy: SkipPolicy,
    /// A session with no device online and no command for this long is retired.
    pub idle_retirement: Duration,
}

/// Where an activation finds the newest snapshot of its session.
pub trait SnapshotSource: Send + Sync + 'static {
    fn load(&self, user: Id) -> BusFuture<AppResult<Option<SnapshotRecord>>>;

    /// Which of these connections (of devices online in a snapshot) are gone. Embedded: all of
    /// them, since a new activation means the old one ended; in a cluster, those of processes
    /// that are not alive (the others' connections still stand, and still receive events).
    fn stale_connections(&self, connections: Vec<u64>) -> BusFuture<Vec<u64>> {
        Box::pin(std::future::ready(connections))
    }
}

/// The embedded setup: staged, in flight, or stored in the database.
impl SnapshotSource for WriteBehind {
    fn load(&self, user: Id) -> BusFuture<AppResult<Option<SnapshotRecord>>> {
        let writer = self.clone();
        Box::pin(async move { Ok(writer.load_snapshot(user).await?) })
    }
}

/// Why a session could not answer.
#[derive(Debug, Clone)]
pub enum SessionError {
    /// The command was refused, or the session could not load.
    App(AppError),
    /// This activation is retiring: ask the directory for a fresh one.
    Retired,
}

impl From<AppError> for SessionError {
    fn from(error: AppError) -> SessionError {
        SessionError::App(error)
    }
}

/// Apply one command.
#[derive(Debug, Clone)]
pub struct Execute {
    /// The device that sent it, or `None` for the REST API.
    pub sender: Option<String>,
    pub command: Command,
    /// Also return the whole state after the command (for `welcome`).
    pub want_state: bool,
}

/// What a command did, and the state after it when asked.
#[derive(Debug, Clone)]
pub struct Executed {
    pub applied: Applied,
    pub state: Option<SessionState>,
}

impl Message for Execute {
    type Result = Result<Executed, SessionError>;
}

/// Read the whole state.
#[derive(Debug, Clone, Copy)]
pub struct ReadState;

impl Message for ReadState {
    type Result = Result<SessionState, SessionError>;
}

/// Called with a retiring actor's address, so the directory forgets it.
pub type OnRetire = Box<dyn Fn(Id, &Addr<UserSession>)>;

thread_local! {
    /// The loaded cores of the sessions whose actors run on this thread.
    static LOCAL_CORES: RefCell<HashMap<Id, Rc<RefCell<SessionCore>>>> = RefCell::new(HashMap::new());
}

/// The core of `user`'s session when its actor runs on this thread and has loaded.
pub fn local_core(user: Id) -> Option<Rc<RefCell<SessionCore>>> {
    LOCAL_CORES.with(|cores| cores.borrow().get(&user).cloned())
}

/// What the session actor owns: the session and what it needs to apply commands.
pub struct SessionCore {
    user: Id,
    deps: Arc<SessionDeps>,
    session: Session,
    last_command: Instant,
    /// The fencing epoch of this activation.
    epoch: i64,
    /// Set when a state could not be made durable: the state in memory may be ahead of the
    /// stored one, so this activation takes no more commands and retires; the next one starts
    /// from the stored state.
    poisoned: Rc<Cell<bool>>,
}

/// A command applied in memory, and what makes it durable.
pub struct Pending {
    executed: Executed,
    commit: Option<Commit>,
    poisoned: Rc<Cell<bool>>,
}

impl Pending {
    /// Waits until the command's state is durable; only then is the command acknowledged. A
    /// failure poisons the activation.
    pub async fn settle(self) -> Result<Executed, SessionError> {
        let Some(commit) = self.commit else { return Ok(self.executed) };
        match commit.await {
            Ok(()) => Ok(self.executed),
            Err(error) => {
                self.poisoned.set(true);
                Err(match error {
                    // Another node holds the session now: the caller finds it there.
                    CommitError::Fenced => SessionError::Retired,
                    CommitError::Unavailable => SessionError::App(AppError::new(
                        ErrorCode::Unavailable,
                        "the session store is unreachable; retry soon",
                    )),
                })
            }
        }
    }
}

impl SessionCore {
    /// Applies one command in memory; after a change, hands the new state to the bus. The
    /// command is acknowledged once [`Pending::settle`] says the state is durable.
    pub fn execute(&mut self, message: Execute) -> Result<Pending, SessionError> {
        if self.poisoned.get() {
            return Err(SessionError::Retired);
        }
        if !self.deps.bus.available() {
            // Refused before anything changes: a state that cannot be stored is not applied.
            return Err(SessionError::App(AppError::new(
                ErrorCode::Unavailable,
                "the session store is unreachable; retry soon",
            )));
        }
        self.last_command = Instant::now();
        let session = &mut self.session;
        let replaced = match &message.command {
            Command::Attach { device, connection } => {
                session.device(&device.id).filter(|d| d.online && d.connection != *connection).map(|d| d.connection)
            }
            _ => None,
        };
        let track_before = session.current().map(|c| c.track.id);
        // Commands that (re)start a track even when it is the same one as before.
        let starts_a_track = matches!(
            &message.command,
            Command::Play { source: Some(_), .. } | Command::Next | Command::Previous | Command::TrackEnded { .. }
        );
        let applied = session
            .apply(message.sender.as_deref(), message.command, now_ms(), rand::random())
            .map_err(AppError::from)?;
        self.deps.metrics.commands.inc();
        let state = message.want_state.then(|| self.session.to_wire());
        if let Some(connection) = replaced {
            let close = Arc::new(OutFrame::Close { code: segue_protocol::close_code::REPLACED, reason: "replaced" });
            self.deps.bus.publish(self.user, Audience::Connection(connection), close);
        }
        let mut commit = None;
        if applied.changed {
            self.stage_play_if_started(track_before, starts_a_track);
            commit = self.commit();
        }
        Ok(Pending { executed: Executed { applied, state }, commit, poisoned: self.poisoned.clone() })
    }

    pub fn read_state(&self) -> SessionState {
        self.session.to_wire()
    }

    /// Records a play in the listening history when a track started playing: another track
    /// than before plays, or a command started one (`play` of tracks, `next`, `previous`, the end of
    /// a track with repeat).
    fn stage_play_if_started(&self, track_before: Option<Id>, starts_a_track: bool) {
        let session = &self.session;
        let Some(current) = session.current().filter(|c| c.is_playing) else { return };
        if track_before == Some(current.track.id) && !starts_a_track {
            return;
        }
        let context_uri = if current.from_queue { None } else { session.context().uri().map(str::to_string) };
        self.deps.writer.stage_play(PlayRecord {
            user: self.user,
            track: current.track.id,
            context_uri,
            played_at_ms: current.timestamp_ms as i64,
        });
    }

    /// Hands the new state to the bus: its event for every connection of the user, and its
    /// snapshot.
    fn commit(&self) -> Option<Commit> {
        // Encoded once, from the borrowed view (no copy of the state), for every device.
        let seq = self.session.seq();
        let frame = Bytes::from(encode_event("state", Some(seq), &self.session.wire_view()));
        self.deps.metrics.states_published.inc();
        let snapshot = match rmp_serde::to_vec(&self.session) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                // Cannot happen for this plain data; were it to, the state still reaches the devices.
                tracing::error!(user = %self.user, %error, "cannot encode a session snapshot");
                Vec::new()
            }
        };
        self.deps.bus.commit(StateChange { user: self.user, epoch: self.epoch, seq, frame, snapshot })
    }

    /// Hands the current state to the bus with no command waiting on it (a new activation's
    /// first state; the same state again after Redis came back). Only a fence poisons the
    /// activation here: the state in memory was acknowledged already or carries nothing
    /// acknowledged, and a store that is unreachable for now is no reason to drop it.
    fn commit_unacknowledged(&self) -> impl std::future::Future<Output = ()> + use<> {
        let commit = self.commit();
        let poisoned = self.poisoned.clone();
        async move {
            if let Some(commit) = commit
                && commit.await == Err(CommitError::Fenced)
            {
                poisoned.set(true);
            }
        }
    }
}

/// The session actor.
pub struct UserSession {
    user: Id,
    deps: Arc<SessionDeps>,
    /// The fencing epoch this activation writes with.
    epoch: i64,
    /// `None` until the last snapshot is loaded in `started`.
    core: Option<Rc<RefCell<SessionCore>>>,
    retired: bool,
    /// Called with this actor's address when it retires, so the directory forgets it.
    on_retire: OnRetire,
}

impl UserSession {
    pub fn new(user: Id, epoch: i64, deps: Arc<SessionDeps>, on_retire: OnRetire) -> UserSession {
        UserSession { user, deps, epoch, core: None, retired: false, on_retire }
    }

    fn core(&self) -> Result<&Rc<RefCell<SessionCore>>, SessionError> {
        if self.retired {
            return Err(SessionError::Retired);
        }
        // `started` holds the mailbox until the load ends and stops the actor if it fails, so a
        // message never finds the session unloaded.
        self.core.as_ref().ok_or(SessionError::Retired)
    }

    fn retire(&mut self, ctx: &mut Context<Self>) {
        self.retired = true;
        self.unlend();
        (self.on_retire)(self.user, &ctx.address());
        ctx.stop();
    }

    /// Takes the core back from this thread's fast path.
    fn unlend(&self) {
        if let Some(core) = &self.core {
            LOCAL_CORES.with(|cores| {
                let mut cores = cores.borrow_mut();
                if cores.get(&self.user).is_some_and(|lent| Rc::ptr_eq(lent, core)) {
                    cores.remove(&self.user);
                }
            });
        }
    }

    fn maybe_retire(&mut self, ctx: &mut Context<Self>) {
        let Some(core) = &self.core else { return };
        let core = core.borrow();
        let idle = core.last_command.elapsed() >= self.deps.idle_retirement;
        let online = core.session.devices().iter().any(|d| d.online);
        let poisoned = core.poisoned.get();
        drop(core);
        if poisoned || (idle && !online) {
            // The newest snapshot is already staged; a new activation reads it from there.
            self.retire(ctx);
        }
    }
}

/// Loads the user's product and the last snapshot, and brings the session back to life.
async fn load(user: Id, deps: Arc<SessionDeps>) -> Result<(Session, Vec<u64>), AppError> {
    let profile = deps.accounts.profile(user).await?;
    let policy = match profile.product {
        Product::Free => Some(deps.skip_policy),
        Product::Premium => None,
    };
    let mut session = match deps.snapshots.load(user).await? {
        Some(record) => match rmp_serde::from_slice::<Session>(&record.state) {
            Ok(session) => session,
            Err(error) => {
                // An unreadable snapshot must not lock the user out; `seq` still never goes back.
                tracing::warn!(%user, %error, "unreadable session snapshot; starting afresh");
                Session::resumed_at(record.seq, None)
            }
        },
        None => Session::new(None),
    };
    session.set_skip_policy(policy);
    // Devices online in the snapshot whose connections are gone are offline until they say
    // hello again; their connections, if any still live, are told to reconnect.
    let online: Vec<u64> = session.devices().iter().filter(|d| d.online).map(|d| d.connection).collect();
    let stale = if online.is_empty() { online } else { deps.snapshots.stale_connections(online).await };
    session.offline_where(now_ms(), |connection| stale.contains(&connection));
    Ok((session, stale))
}

impl Actor for UserSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX);
        self.deps.metrics.sessions_active.inc();
        let load = load(self.user, self.deps.clone());
        ctx.wait(load.into_actor(self).map(|loaded, actor, ctx| match loaded {
            Ok((session, stale_connections)) => {
                let core = SessionCore {
                    user: actor.user,
                    deps: actor.deps.clone(),
                    session,
                    last_command: Instant::now(),
                    epoch: actor.epoch,
                    poisoned: Rc::default(),
                };
                if !stale_connections.is_empty() {
                    let close =
                        Arc::new(OutFrame::Close { code: CLOSE_SESSION_RESTARTED, reason: "session restarted" });
                    for connection in stale_connections {
                        actor.deps.bus.publish(actor.user, Audience::Connection(connection), close.clone());
                    }
                    // Nobody waits on this state: the next command's state carries it if it fails.
                    actix_rt::spawn(core.commit_unacknowledged());
                }
                let core = Rc::new(RefCell::new(core));
                LOCAL_CORES.with(|cores| cores.borrow_mut().insert(actor.user, core.clone()));
                actor.core = Some(core);
            }
            Err(error) => {
                tracing::error!(user = %actor.user, %error, "cannot load the session");
                actor.retire(ctx);
            }
        }));
        let check_every = (self.deps.idle_retirement / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
        ctx.run_interval(check_every, |actor, ctx| actor.maybe_retire(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.unlend();
        self.deps.metrics.sessions_active.dec();
    }
}

impl Handler<Execute> for UserSession {
    type Result = ResponseFuture<Result<Executed, SessionError>>;

    fn handle(&mut self, message: Execute, _ctx: &mut Self::Context) -> Self::Result {
        // The command is applied now, in mailbox order; the wait for its durability is not part
        // of the actor's turn, so the next command does not wait for this one's round trip.
        let pending = self.core().and_then(|core| core.borrow_mut().execute(message));
        Box::pin(async move { pending?.settle().await })
    }
}

/// Store the current state again (after Redis came back).
#[derive(Debug, Clone, Copy)]
pub struct Recommit;

impl Message for Recommit {
    type Result = ();
}

impl Handler<Recommit> for UserSession {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _message: Recommit, _ctx: &mut Self::Context) -> Self::Result {
        let commit = self.core().ok().map(|core| core.borrow().commit_unacknowledged());
        Box::pin(async move {
            if let Some(commit) = commit {
                commit.await;
            }
        })
    }
}

/// Stop this activation (a draining node hands its sessions over).
#[derive(Debug, Clone, Copy)]
pub struct Retire;

impl Message for Retire {
    type Result = ();
}

impl Handler<Retire> for UserSession {
    type Result = ();

    fn handle(&mut self, _message: Retire, ctx: &mut Self::Context) {
        if !self.retired {
            self.retire(ctx);
        }
    }
}

impl Handler<ReadState> for UserSession {
    type Result = Result<SessionState, SessionError>;

    fn handle(&mut self, _message: ReadState, _ctx: &mut Self::Context) -> Self::Result {
        Ok(self.core()?.borrow().read_state())
    }
}
