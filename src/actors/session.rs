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

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use segue_protocol::SessionState;
use segue_protocol::envelope::encode_event;

use super::bus::{Audience, Bus};
use super::hub::OutFrame;
use crate::auth::Accounts;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::ids::Id;
use crate::metrics::Metrics;
use crate::player::{Applied, Command, Session, SkipPolicy};
use crate::storage::snapshots::{PlayRecord, SnapshotRecord, WriteBehind};
use crate::storage::users::Product;

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
    pub metrics: Arc<Metrics>,
    /// The free tier's skip budget.
    pub skip_policy: SkipPolicy,
    /// A session with no device online and no command for this long is retired.
    pub idle_retirement: Duration,
    /// The fencing epoch this node writes snapshots with.
    pub epoch: i64,
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
}

impl SessionCore {
    /// Applies one command; after a change, publishes the state and stages the snapshot.
    pub fn execute(&mut self, message: Execute) -> Result<Executed, SessionError> {
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
        if applied.changed {
            self.stage_play_if_started(track_before, starts_a_track);
            self.publish_and_stage();
        }
        Ok(Executed { applied, state })
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

    /// Publishes the new state to every connection of the user and stages its snapshot.
    fn publish_and_stage(&self) {
        // Encoded once, from the borrowed view (no copy of the state), for every device.
        let seq = self.session.seq();
        let frame = Bytes::from(encode_event("state", Some(seq), &self.session.wire_view()));
        self.deps.metrics.states_published.inc();
        self.deps.bus.publish(self.user, Audience::User, Arc::new(OutFrame::State { seq, frame }));
        match rmp_serde::to_vec(&self.session) {
            Ok(state) => {
                self.deps.writer.stage_snapshot(self.user, SnapshotRecord { epoch: self.deps.epoch, seq, state })
            }
            Err(error) => {
                tracing::error!(user = %self.user, %error, "cannot encode a session snapshot")
            }
        }
    }
}

/// The session actor.
pub struct UserSession {
    user: Id,
    deps: Arc<SessionDeps>,
    /// `None` until the last snapshot is loaded in `started`.
    core: Option<Rc<RefCell<SessionCore>>>,
    retired: bool,
    /// Called with this actor's address when it retires, so the directory forgets it.
    on_retire: OnRetire,
}

impl UserSession {
    pub fn new(user: Id, deps: Arc<SessionDeps>, on_retire: OnRetire) -> UserSession {
        UserSession { user, deps, core: None, retired: false, on_retire }
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
        drop(core);
        if idle && !online {
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
    let mut session = match deps.writer.load_snapshot(user).await? {
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
    // Devices online in the snapshot belonged to an earlier activation: they are offline until
    // they say hello again. Their connections, if any still live, are told to reconnect.
    let stale: Vec<u64> = session.devices().iter().filter(|d| d.online).map(|d| d.connection).collect();
    session.all_offline(now_ms());
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
                let core =
                    SessionCore { user: actor.user, deps: actor.deps.clone(), session, last_command: Instant::now() };
                if !stale_connections.is_empty() {
                    let close =
                        Arc::new(OutFrame::Close { code: CLOSE_SESSION_RESTARTED, reason: "session restarted" });
                    for connection in stale_connections {
                        actor.deps.bus.publish(actor.user, Audience::Connection(connection), close.clone());
                    }
                    core.publish_and_stage();
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
    type Result = Result<Executed, SessionError>;

    fn handle(&mut self, message: Execute, _ctx: &mut Self::Context) -> Self::Result {
        self.core()?.borrow_mut().execute(message)
    }
}

impl Handler<ReadState> for UserSession {
    type Result = Result<SessionState, SessionError>;

    fn handle(&mut self, _message: ReadState, _ctx: &mut Self::Context) -> Self::Result {
        Ok(self.core()?.borrow().read_state())
    }
}
