//! The user session actor: the one live owner of a user's [`Session`].
//!
//! Its [`SessionCore`] answers every [`SessionCall`]: it applies commands through the pure state
//! machine, and after every change encodes the new state once, publishes it on the bus to all of
//! the user's connections, and stages a snapshot with the write-behind writer. It never waits on
//! I/O while handling a command: the only await is the load of the last snapshot when the actor
//! starts, during which its mailbox waits.
//!
//! **The same-shard fast path.** A user's device connections live on the same shard (thread)
//! as the user's session actor (see `shards.rs`). Once loaded, the actor lends its core to that
//! thread ([`local_core`]), and a connection calls it directly instead of through the mailbox:
//! the core is still the one place that changes the session and every call still runs to the
//! end before the next starts (one thread, no await inside), but a command no longer waits for
//! a second turn of the run queue between the socket and the session. Callers on other threads
//! (the REST API) go through the mailbox as before. Measured at 10,000 commands/s: see
//! BENCHMARKS.md.
//!
//! **Friend activity.** A command that starts a track, brings the first device online, takes
//! the last one offline or starts or ends a private session is told to the user's followers
//! (an [`ActivitySink`]: `actors::activity`'s feed) once its state is committed, as `player::activity` derives it from the
//! session before and after. A private session that reaches its deadline is ended here.
//!
//! **Supervision.** A panic while a command is applied (on either path) is caught inside the
//! core: that command is answered `INTERNAL`, the core is poisoned (its session may be
//! half-applied) and the actor retires, so the next call activates the session afresh from its
//! last committed snapshot. Nothing of the panic reaches the shard thread, so no other user's
//! session or connection notices. The same poisoning follows a state that could not be made
//! durable (an encode failure, a fenced or failed commit).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use segue_protocol::ErrorCode;
use segue_protocol::envelope::encode_event;
use tracing::Instrument;

use super::bus::{Audience, Bus, BusFuture, Commit, CommitError, SnapshotSource, StateChange};
use super::call::{SessionCall, SessionReply};
use super::hub::{LocalHub, OutFrame};
use crate::auth::Accounts;
use crate::clock::now_ms;
use crate::domain::Product;
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::metrics::Metrics;
use crate::player::activity::{ActivityChange, ActivityView, activity_change};
use crate::player::{Command, Session, SkipPolicy, snapshot};
use crate::storage::snapshots::{PlayRecord, SnapshotRecord, WriteBehind};

/// Messages a session may have waiting. Senders wait (`send`) when it is full: the backpressure
/// reaches the connection that sent the command, never another user's; a sender that waits
/// longer than the directory's call timeout is answered `UNAVAILABLE` (counted as the
/// `session_mailbox` overflow).
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
    /// Friend activity out to followers and to the store.
    pub activity: Arc<dyn ActivitySink>,
    /// How long a private session lasts (its deadline is checked a few times within it).
    pub private_session: Duration,
    /// How long a playback must really play before it counts as a play (`--stream-count-ms`).
    pub stream_count_ms: u64,
}

/// Where friend activity goes: `actors::activity::ActivityFeed` (a seam, so that sessions do not
/// depend on topics and the cluster behind them). Never waits.
pub trait ActivitySink: Send + Sync + 'static {
    /// Tells `user`'s followers of `change` and records it as their latest activity.
    fn announce(&self, user: Id, display_name: &str, change: &ActivityChange);
}

/// The embedded setup's snapshots: the write-behind writer's (staged, in flight, or stored). A
/// connection is stale unless this node's hub still holds it: after a process restart all are,
/// after a re-activation in a running process (a session that panicked) none are, and its
/// devices stay online.
pub struct EmbeddedSnapshots {
    pub writer: WriteBehind,
    pub hub: Arc<LocalHub>,
}

impl SnapshotSource for EmbeddedSnapshots {
    fn load(&self, user: Id) -> BusFuture<AppResult<Option<SnapshotRecord>>> {
        let writer = self.writer.clone();
        Box::pin(async move { Ok(writer.load_snapshot(user).await?) })
    }

    fn stale_connections(&self, user: Id, connections: Vec<u64>) -> BusFuture<Vec<u64>> {
        let stale = connections.into_iter().filter(|&connection| !self.hub.holds(user, connection)).collect();
        Box::pin(std::future::ready(stale))
    }
}

/// Why a session could not answer.
#[derive(Debug, Clone)]
pub enum SessionError {
    /// The command was refused, or the session could not load.
    App(AppError),
    /// This activation is retiring: ask the directory for a fresh one.
    Retired,
    /// Applying the command panicked; the activation retires and the command is answered
    /// `INTERNAL`.
    Panicked,
}

impl From<AppError> for SessionError {
    fn from(error: AppError) -> SessionError {
        SessionError::App(error)
    }
}

/// The answer to a command that panicked.
pub fn panicked() -> AppError {
    AppError::refusal(
        ErrorCode::Internal,
        "the session failed on this command; it was restarted from its last saved state",
    )
}

fn store_unreachable() -> AppError {
    AppError::refusal(ErrorCode::Unavailable, "the session store is unreachable; retry soon")
}

/// A call, as the actor's mailbox carries it, with the caller's span: the trace follows the call
/// across the mailbox.
pub(crate) struct Call(pub SessionCall, pub tracing::Span);

impl Message for Call {
    type Result = Result<SessionReply, SessionError>;
}

/// Store the current state again (after Redis came back).
pub(crate) struct Recommit;

impl Message for Recommit {
    type Result = ();
}

/// The current playback may have played long enough to count (its timer fired).
pub(crate) struct CountDuePlay;

impl Message for CountDuePlay {
    type Result = ();
}

/// Stop this activation (a draining node hands its sessions over; a poisoned one retires).
pub(crate) struct Retire;

impl Message for Retire {
    type Result = ();
}

/// Called with a retiring actor's address, so the directory forgets it.
pub type OnRetire = Box<dyn Fn(Id, &Addr<UserSession>)>;

thread_local! {
    /// The loaded cores of the sessions whose actors run on this thread.
    static LOCAL_CORES: RefCell<HashMap<Id, Rc<RefCell<SessionCore>>>> = RefCell::new(HashMap::new());
}

/// The core of `user`'s session when its actor runs on this thread and has loaded.
pub(crate) fn local_core(user: Id) -> Option<Rc<RefCell<SessionCore>>> {
    LOCAL_CORES.with(|cores| cores.borrow().get(&user).cloned())
}

/// What the session actor owns: the session and what it needs to apply commands.
pub struct SessionCore {
    user: Id,
    deps: Arc<SessionDeps>,
    session: Session,
    /// The user's display name, for their friends' `friend_activity`.
    display_name: String,
    last_command: Instant,
    /// The fencing epoch of this activation.
    epoch: i64,
    /// Set when the state in memory may differ from the last committed one (a panic, or a state
    /// that could not be made durable): this activation takes no more calls and retires; the
    /// next one starts from the committed state.
    poisoned: Rc<Cell<bool>>,
    /// The actor, for the stream-count timer (set once it has loaded).
    address: Option<Addr<UserSession>>,
    /// When the armed stream-count timer fires, if one is armed.
    play_timer_at: Option<u64>,
}

/// A call answered in memory, and what makes its state durable.
pub struct Pending {
    reply: SessionReply,
    commit: Option<Commit>,
    poisoned: Rc<Cell<bool>>,
}

impl Pending {
    fn ready(reply: SessionReply, poisoned: &Rc<Cell<bool>>) -> Pending {
        Pending { reply, commit: None, poisoned: poisoned.clone() }
    }

    /// Waits until the command's state is durable; only then is the command acknowledged. A
    /// failure poisons the activation.
    pub async fn settle(self) -> Result<SessionReply, SessionError> {
        let Some(commit) = self.commit else { return Ok(self.reply) };
        match commit.await {
            Ok(()) => Ok(self.reply),
            Err(error) => {
                self.poisoned.set(true);
                Err(match error {
                    // Another node holds the session now: the caller finds it there.
                    CommitError::Fenced => SessionError::Retired,
                    CommitError::Unavailable => SessionError::App(store_unreachable()),
                })
            }
        }
    }
}

/// What a command needs to know of the session before it is applied.
struct Before {
    /// The connection an `Attach` replaces (the same device on an older connection).
    replaced: Option<u64>,
    /// The command (re)starts a track even when it is the same one as before.
    starts_a_track: bool,
    /// What friends saw of the session.
    activity: ActivityView,
}

impl SessionCore {
    /// Whether this core still answers calls (it is not poisoned).
    pub fn is_serving(&self) -> bool {
        !self.poisoned.get()
    }

    /// Answers one call in memory; a command's new state is handed to the bus, and the call is
    /// acknowledged once [`Pending::settle`] says that state is durable.
    pub fn call(&mut self, call: SessionCall) -> Result<Pending, SessionError> {
        if self.poisoned.get() {
            return Err(SessionError::Retired);
        }
        match call {
            SessionCall::Execute { sender, command, want_state } => self.execute(sender, command, want_state),
            SessionCall::ReadState => Ok(Pending::ready(SessionReply::State(self.session.to_wire()), &self.poisoned)),
        }
    }

    fn execute(&mut self, sender: Option<String>, command: Command, want_state: bool) -> Result<Pending, SessionError> {
        if !self.deps.bus.available() {
            // Refused before anything changes: a state that cannot be stored is not applied.
            return Err(SessionError::App(store_unreachable()));
        }
        self.last_command = Instant::now();
        let before = self.before(&command);
        // Everything from the change to the commit runs under the catch: a panic anywhere in it
        // leaves a session that may be half-changed and was never committed.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.apply_and_commit(sender.as_deref(), command, want_state, before)
        }));
        match outcome {
            Ok(result) => result,
            Err(panic) => {
                self.poisoned.set(true);
                self.deps.metrics.session_panics.inc();
                let what = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a panic");
                tracing::error!(user = %self.user, panic = what, "a command panicked; the session restarts from its last saved state");
                Err(SessionError::Panicked)
            }
        }
    }

    fn before(&self, command: &Command) -> Before {
        let replaced = match command {
            Command::Attach { device, connection, .. } => self
                .session
                .device(&device.id)
                .filter(|d| d.online && d.connection != *connection)
                .map(|d| d.connection),
            _ => None,
        };
        Before {
            replaced,
            starts_a_track: matches!(
                command,
                Command::Play { source: Some(_), .. } | Command::Next | Command::Previous | Command::TrackEnded { .. }
            ),
            activity: self.session.activity_view(),
        }
    }

    fn apply_and_commit(
        &mut self,
        sender: Option<&str>,
        command: Command,
        want_state: bool,
        before: Before,
    ) -> Result<Pending, SessionError> {
        let now = now_ms();
        let applied = self.session.apply(sender, command, now, rand::random())?;
        self.deps.metrics.commands.inc();
        let mut commit = None;
        if applied.changed {
            // The snapshot first: a state that cannot be stored is published nowhere.
            commit = self.commit()?;
            self.stage_plays();
            self.arm_play_timer();
            let after = self.session.activity_view();
            if let Some(change) = activity_change(&before.activity, &after, before.starts_a_track, now) {
                commit = self.announce_once_committed(commit, change);
            }
        }
        if let Some(connection) = before.replaced {
            let close = Arc::new(OutFrame::Close { code: segue_protocol::close_code::REPLACED, reason: "replaced" });
            self.deps.bus.publish(self.user, Audience::Connection(connection), close);
        }
        let state = want_state.then(|| self.session.to_wire());
        Ok(Pending { reply: SessionReply::executed(applied, state), commit, poisoned: self.poisoned.clone() })
    }

    /// Tells the user's followers of `change` once `commit` says the state is durable (at once
    /// when it is already): friends never hear of a state that could be lost.
    fn announce_once_committed(&self, commit: Option<Commit>, change: ActivityChange) -> Option<Commit> {
        let (feed, user, name) = (self.deps.activity.clone(), self.user, self.display_name.clone());
        match commit {
            None => {
                feed.announce(user, &name, &change);
                None
            }
            Some(commit) => Some(Box::pin(async move {
                let committed = commit.await;
                if committed.is_ok() {
                    feed.announce(user, &name, &change);
                }
                committed
            })),
        }
    }

    /// Hands the session's play events (a play counted, a counted play stopped or ended) to the
    /// write-behind writer, keyed by the play's id so that a takeover counting it again writes
    /// nothing twice.
    fn stage_plays(&mut self) {
        for event in self.session.take_play_events() {
            self.deps.writer.stage_play(PlayRecord {
                id: event.id.key(self.user),
                user: self.user,
                track: event.track,
                context_uri: event.context_uri,
                played_at_ms: i64::try_from(event.id.started_at_ms).unwrap_or(i64::MAX),
                ms_played: i64::try_from(event.ms_played).unwrap_or(i64::MAX),
                end_reason: event.ended.map(|reason| reason.as_str().to_string()),
                private: event.private,
            });
        }
    }

    /// Arms a timer for the instant the current playback will have played long enough to count,
    /// unless one that fires no later is armed already (an early one finds nothing due and arms
    /// again): at most one per playback in the common case, none while paused.
    fn arm_play_timer(&mut self) {
        let Some(due) = self.session.play_due_at() else { return };
        if self.play_timer_at.is_some_and(|at| at <= due) {
            return;
        }
        let Some(address) = self.address.clone() else { return };
        self.play_timer_at = Some(due);
        let wait = Duration::from_millis(due.saturating_sub(now_ms()));
        actix_rt::spawn(async move {
            actix_rt::time::sleep(wait).await;
            address.do_send(CountDuePlay);
        });
    }

    /// The stream-count timer fired: count the playback if it played long enough by now.
    fn count_due_play(&mut self) {
        self.play_timer_at = None;
        if self.poisoned.get() {
            return;
        }
        if self.session.count_due_play(now_ms()) {
            self.stage_plays();
        }
        self.arm_play_timer();
    }

    /// Hands the new state to the bus: its event for every connection of the user, and its
    /// snapshot. A snapshot that cannot be encoded poisons the activation and nothing is
    /// published or stored: a good snapshot is never overwritten.
    fn commit(&self) -> Result<Option<Commit>, SessionError> {
        let snapshot = snapshot::encode(&self.session).map_err(|error| {
            self.poisoned.set(true);
            SessionError::App(AppError::from_error(&error))
        })?;
        // Encoded once, from the borrowed view (no copy of the state), for every device.
        let seq = self.session.seq();
        let frame = Bytes::from(encode_event("state", Some(seq), &self.session.wire_view()));
        self.deps.metrics.states_published.inc();
        Ok(self.deps.bus.commit(StateChange { user: self.user, epoch: self.epoch, seq, frame, snapshot }))
    }

    /// Hands the current state to the bus with no command waiting on it (a new activation's
    /// first state; the same state again after Redis came back). Only a fence poisons the
    /// activation here: the state in memory was acknowledged already or carries nothing
    /// acknowledged, and a store that is unreachable for now is no reason to drop it.
    fn commit_unacknowledged(&self) -> impl std::future::Future<Output = ()> + use<> {
        let commit = self.commit();
        let poisoned = self.poisoned.clone();
        async move {
            if let Ok(Some(commit)) = commit
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

    /// The loaded core, while it serves; a poisoned one retires the actor.
    fn core(&mut self, ctx: &mut Context<Self>) -> Result<Rc<RefCell<SessionCore>>, SessionError> {
        if self.retired {
            return Err(SessionError::Retired);
        }
        // `started` holds the mailbox until the load ends and stops the actor if it fails, so a
        // message never finds the session unloaded.
        let core = self.core.clone().ok_or(SessionError::Retired)?;
        if !core.borrow().is_serving() {
            self.retire(ctx);
            return Err(SessionError::Retired);
        }
        Ok(core)
    }

    fn retire(&mut self, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
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

    /// Ends the private session once its deadline has passed (friends see the user again).
    fn end_private_session_if_due(&mut self, ctx: &mut Context<Self>) {
        let Some(core) = self.core.clone() else { return };
        let due = core.borrow().session.private_session_ends_ms().is_some_and(|until| now_ms() >= until);
        if !due || !core.borrow().is_serving() {
            return;
        }
        let call = SessionCall::Execute { sender: None, command: Command::EndPrivateSessionIfDue, want_state: false };
        let pending = core.borrow_mut().call(call);
        match pending {
            Ok(pending) => {
                ctx.spawn(
                    async move {
                        if let Err(error) = pending.settle().await {
                            tracing::warn!(?error, "ending a private session failed; retrying");
                        }
                    }
                    .into_actor(self),
                );
            }
            Err(SessionError::Panicked) => self.retire(ctx),
            Err(_) => {}
        }
    }

    fn maybe_retire(&mut self, ctx: &mut Context<Self>) {
        let Some(core) = &self.core else { return };
        let core = core.borrow();
        let idle = core.last_command.elapsed() >= self.deps.idle_retirement;
        let online = core.session.devices().iter().any(|d| d.online);
        let serving = core.is_serving();
        drop(core);
        if !serving || (idle && !online) {
            // The newest snapshot is already staged; a new activation reads it from there.
            self.retire(ctx);
        }
    }
}

/// A session brought back to life by [`load`].
struct Loaded {
    session: Session,
    /// Connections of devices online in the snapshot that are gone (marked offline).
    stale_connections: Vec<u64>,
    display_name: String,
    /// What friends were last shown of the snapshot's session, before the stale devices went
    /// offline (a node that died could not tell them).
    shown_before: ActivityView,
}

/// Loads the user's product and the last snapshot, and brings the session back to life.
async fn load(user: Id, deps: Arc<SessionDeps>) -> Result<Loaded, AppError> {
    let profile = deps.accounts.profile(user).await?;
    let policy = match profile.product {
        Product::Free => Some(deps.skip_policy),
        Product::Premium => None,
    };
    let mut session = match deps.snapshots.load(user).await? {
        Some(record) => match snapshot::decode(&record.state) {
            Ok(session) => session,
            Err(error) => {
                // An unreadable snapshot must not lock the user out; `seq` still never goes back.
                deps.metrics.unreadable_snapshots.inc();
                tracing::error!(%user, %error, "unreadable session snapshot; starting afresh");
                Session::resumed_at(record.seq, None)
            }
        },
        None => Session::new(None),
    };
    session.set_skip_policy(policy);
    session.set_stream_count_ms(deps.stream_count_ms);
    // Devices online in the snapshot whose connections are gone are offline until they say
    // hello again; their connections, if any still live, are told to reconnect.
    let online: Vec<u64> = session.devices().iter().filter(|d| d.online).map(|d| d.connection).collect();
    let stale = if online.is_empty() { online } else { deps.snapshots.stale_connections(user, online).await };
    let shown_before = session.activity_view();
    session.offline_where(now_ms(), |connection| stale.contains(&connection));
    Ok(Loaded { session, stale_connections: stale, display_name: profile.display_name.clone(), shown_before })
}

impl Actor for UserSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX);
        self.deps.metrics.sessions_active.inc();
        let load = load(self.user, self.deps.clone());
        ctx.wait(load.into_actor(self).map(|loaded, actor, ctx| match loaded {
            Ok(Loaded { session, stale_connections, display_name, shown_before }) => {
                // Devices a dead node held went offline: friends hear of it now.
                if let Some(change) = activity_change(&shown_before, &session.activity_view(), false, now_ms()) {
                    actor.deps.activity.announce(actor.user, &display_name, &change);
                }
                let core = SessionCore {
                    user: actor.user,
                    deps: actor.deps.clone(),
                    session,
                    display_name,
                    last_command: Instant::now(),
                    epoch: actor.epoch,
                    poisoned: Rc::default(),
                    address: Some(ctx.address()),
                    play_timer_at: None,
                };
                let mut core = core;
                // Plays the stale devices' going offline counted or stopped; then the timer
                // for the playback that goes on (a takeover right after the threshold counts at
                // once, under the same id).
                core.stage_plays();
                core.arm_play_timer();
                if !stale_connections.is_empty() {
                    let close =
                        Arc::new(OutFrame::Close { code: CLOSE_SESSION_RESTARTED, reason: "session restarted" });
                    for connection in stale_connections {
                        actor.deps.bus.publish(actor.user, Audience::Connection(connection), close.clone());
                    }
                    // Nobody waits on this state: the next command's state carries it if it fails.
                    ctx.spawn(core.commit_unacknowledged().into_actor(actor));
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
        let private_every = (self.deps.private_session / 8).clamp(Duration::from_millis(50), Duration::from_secs(60));
        ctx.run_interval(private_every, |actor, ctx| actor.end_private_session_if_due(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.unlend();
        self.deps.metrics.sessions_active.dec();
    }
}

impl Handler<Call> for UserSession {
    type Result = ResponseFuture<Result<SessionReply, SessionError>>;

    fn handle(&mut self, Call(call, span): Call, ctx: &mut Self::Context) -> Self::Result {
        // The call is answered now, in mailbox order; the wait for its durability is not part
        // of the actor's turn, so the next command does not wait for this one's round trip.
        let pending = span.in_scope(|| self.core(ctx).and_then(|core| core.borrow_mut().call(call)));
        if matches!(pending, Err(SessionError::Panicked)) {
            self.retire(ctx);
        }
        Box::pin(async move { pending?.settle().await }.instrument(span))
    }
}

impl Handler<Recommit> for UserSession {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _message: Recommit, ctx: &mut Self::Context) -> Self::Result {
        let commit = self.core(ctx).ok().map(|core| core.borrow().commit_unacknowledged());
        Box::pin(async move {
            if let Some(commit) = commit {
                commit.await;
            }
        })
    }
}

impl Handler<CountDuePlay> for UserSession {
    type Result = ();

    fn handle(&mut self, _message: CountDuePlay, ctx: &mut Self::Context) {
        if let Ok(core) = self.core(ctx) {
            core.borrow_mut().count_due_play();
        }
    }
}

impl Handler<Retire> for UserSession {
    type Result = ();

    fn handle(&mut self, _message: Retire, ctx: &mut Self::Context) {
        self.retire(ctx);
    }
}
