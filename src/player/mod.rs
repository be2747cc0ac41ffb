//! The pure session state machine: the heart of the server.
//!
//! A [`Session`] is one user's whole playback state. [`Session::apply`] takes one
//! [`Command`], the instant `now_ms` and some `entropy` (for shuffling), and either changes the
//! session and bumps `seq`, leaves it as it was (a command that changes nothing), or refuses with
//! an [`AppError`] and changes nothing at all.
//!
//! **Architecture invariant:** this module does no I/O, reads no clock and draws no randomness of
//! its own; everything it needs comes in as arguments. Catalog lookups (what a URI means, how long
//! a track is) happen before a command is built, so a command carries resolved [`TrackRef`]s.
//!
//! The invariants every sequence of commands keeps (checked by the property tests in
//! `proptests.rs` after every step):
//! - at most one device is active, and the active device is online and can play;
//! - `seq` grows by exactly one with every change and never otherwise, except that a device
//!   reporting a `last_seq` above it (the state was lost) moves it past that;
//! - a refused command leaves the session exactly as it was;
//! - a free user's counted skips never exceed the limit within any window;
//! - the stored and the computed positions never pass the end of the track;
//! - a playback never accounts more than the wall time it played on an active device, counts at
//!   most once, and is told of only once it counted ([`plays`]).
//!
//! # Layout
//! - this file: the session's types, its accessors and [`Session::apply`], which dispatches;
//! - [`presence`]: devices attaching, detaching, going offline;
//! - [`playback`]: what plays where and how (`play`, `pause`, `seek`, `transfer`, `volume`, …);
//! - [`moving`]: the user queue, `next`, `previous`, the end of a track;
//! - [`context`]: the play order, the cursor, shuffle; [`skips`]: the free tier's skip window;
//! - [`wire`]: the `SessionState` devices see; [`snapshot`]: the session's durable form;
//! - [`activity`]: what friends see of the session (friend activity), and private sessions;
//! - [`plays`]: stream counting (how long the current track really played, and when it counts).
//!
//! **Snapshot compatibility.** `Session` and every type inside it are also the stored snapshot
//! (see [`snapshot`]). Snapshots of format 1 (before versioning) are positional, so the order of
//! the fields of these types is frozen: a new field goes at the end of its type and carries
//! `#[serde(default)]`, which also lets a snapshot or a call from an older node, which lacks it,
//! load.

pub mod activity;
pub mod context;
#[cfg(test)]
pub(crate) mod faults;
mod moving;
mod playback;
pub mod plays;
mod presence;
#[cfg(test)]
mod proptests;
mod skips;
pub mod snapshot;
pub mod wire;

use serde::{Deserialize, Serialize};

use segue_protocol::{DeviceType, ErrorCode, RepeatMode};

use crate::error::AppError;
use crate::ids::Id;
pub use context::{PlayContext, TrackRef};
pub use plays::{EndReason, PlayEvent, PlayId, Playback};
pub use skips::{SkipLog, SkipPolicy};

/// At most this many devices of one user are connected at once (protocol §3).
pub const MAX_ONLINE_DEVICES: usize = 10;
/// Devices the session remembers, online or not; the least recently seen offline ones go first.
pub const MAX_KNOWN_DEVICES: usize = 32;
/// The longest user queue (`queue_add`).
pub const MAX_USER_QUEUE: usize = 1_000;
/// `previous` restarts the track when it is further in than this.
pub const RESTART_THRESHOLD_MS: u32 = 3_000;
/// `progress` changes the state only when it moves the position by more than this.
pub const PROGRESS_TOLERANCE_MS: u64 = 1_000;
/// At most this many ids are shown in each list of the queue view.
pub const QUEUE_VIEW_LEN: usize = 50;

/// What a device says of itself at `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub device_type: DeviceType,
    pub can_play: bool,
    pub supports_volume: bool,
    pub volume_percent: Option<u8>,
}

/// A device as the session knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub info: DeviceInfo,
    pub online: bool,
    /// The connection that made it online; a `Detach` from an older connection is ignored.
    pub connection: u64,
    pub last_seen_ms: u64,
}

/// The track being played, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Current {
    pub track: TrackRef,
    /// True when it came from the user queue rather than the context.
    pub from_queue: bool,
    pub is_playing: bool,
    /// The position at `timestamp_ms`; never past the end of the track.
    pub position_ms: u32,
    pub timestamp_ms: u64,
}

impl Current {
    fn starting(track: TrackRef, from_queue: bool, is_playing: bool, now_ms: u64) -> Current {
        Current { track, from_queue, is_playing, position_ms: 0, timestamp_ms: now_ms }
    }

    /// The position at `now_ms`, extrapolated while playing and capped at the track's end.
    pub fn position_at(&self, now_ms: u64) -> u32 {
        if !self.is_playing {
            return self.position_ms;
        }
        let elapsed = now_ms.saturating_sub(self.timestamp_ms);
        u64::from(self.position_ms).saturating_add(elapsed).min(u64::from(self.track.duration_ms)) as u32
    }

    /// Fixes the position at `now_ms` and restarts the clock from there.
    fn settle(&mut self, now_ms: u64) {
        self.position_ms = self.position_at(now_ms);
        self.timestamp_ms = now_ms;
    }
}

/// What `play` starts: a new list of tracks (a context or plain uris) and where in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaySource {
    pub context_uri: Option<String>,
    pub tracks: Vec<TrackRef>,
    pub start: StartAt,
}

/// Where a new [`PlaySource`] starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartAt {
    /// The first track (or, with shuffle, a random one).
    Beginning,
    /// The track at this position of the list.
    Index(u32),
    /// The first occurrence of this track in the list.
    Track(Id),
}

/// What autoplay plays once nothing is left: the first tracks of a station, as a context of its
/// own (`segue:radio:<track id>`), so the state says where they come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    pub context_uri: String,
    pub tracks: Vec<TrackRef>,
}

/// One command to the session. Tracks are already resolved against the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A device connected (`hello`).
    Attach {
        device: DeviceInfo,
        connection: u64,
        /// The last `seq` the device saw, if it said. Above the session's own, the state was
        /// lost (a store that came back empty): `seq` moves past it, so no device sees it go back.
        #[serde(default)]
        last_seq: Option<u64>,
    },
    /// A device's connection ended.
    Detach {
        device_id: String,
        connection: u64,
    },
    Play {
        device_id: Option<String>,
        source: Option<PlaySource>,
        position_ms: Option<u32>,
    },
    Pause,
    Resume,
    Seek {
        position_ms: u32,
    },
    Next,
    Previous,
    Shuffle {
        on: bool,
    },
    Repeat {
        mode: RepeatMode,
    },
    Volume {
        percent: u8,
        device_id: Option<String>,
    },
    QueueAdd {
        track: TrackRef,
    },
    Transfer {
        device_id: String,
        play: Option<bool>,
    },
    Progress {
        track_id: Id,
        position_ms: u32,
        is_playing: bool,
    },
    TrackEnded {
        track_id: Id,
        /// What plays on when the queue and the context are used up (autoplay: the station of
        /// the track that ended), looked up before the command is built; `None`: playback ends.
        #[serde(default)]
        continuation: Option<Continuation>,
    },
    /// `PUT /v1/me/private-session`: hide the user from friends for `duration_ms`, or show them.
    PrivateSession {
        enabled: bool,
        duration_ms: u64,
    },
    /// The private session's deadline may have passed: end it if so.
    EndPrivateSessionIfDue,
}

impl Command {
    /// The command's name, for traces and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Attach { .. } => "attach",
            Command::Detach { .. } => "detach",
            Command::Play { .. } => "play",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Seek { .. } => "seek",
            Command::Next => "next",
            Command::Previous => "previous",
            Command::Shuffle { .. } => "shuffle",
            Command::Repeat { .. } => "repeat",
            Command::Volume { .. } => "volume",
            Command::QueueAdd { .. } => "queue_add",
            Command::Transfer { .. } => "transfer",
            Command::Progress { .. } => "progress",
            Command::TrackEnded { .. } => "track_ended",
            Command::PrivateSession { .. } => "private_session",
            Command::EndPrivateSessionIfDue => "end_private_session",
        }
    }
}

const NO_ACTIVE_DEVICE: AppError = AppError::refusal(ErrorCode::NoActiveDevice, "no device is active");
const NOT_ACTIVE_DEVICE: AppError =
    AppError::refusal(ErrorCode::NotActiveDevice, "only the active device may send this");
const DEVICE_NOT_FOUND: AppError =
    AppError::refusal(ErrorCode::DeviceNotFound, "no device with that id is known for this user");
const DEVICE_NOT_CONTROLLABLE: AppError =
    AppError::refusal(ErrorCode::DeviceNotControllable, "that device is offline or cannot play");

/// What a successful command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Whether the state changed (and `seq` grew by one).
    pub changed: bool,
    /// The session's `seq` after the command.
    pub seq: u64,
}

/// One user's playback session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    seq: u64,
    /// The instant of the latest change. Time given to the session never goes behind it, so
    /// no timestamp in the state ever goes backwards.
    clock_ms: u64,
    devices: Vec<Device>,
    active_device: Option<String>,
    current: Option<Current>,
    context: PlayContext,
    user_queue: std::collections::VecDeque<TrackRef>,
    shuffle: bool,
    repeat: RepeatMode,
    skips: SkipLog,
    /// When the private session ends by itself; `None`: not in one. Added with friend
    /// activity: older snapshots lack it (not private).
    #[serde(default)]
    private_until_ms: Option<u64>,
    /// The current track's playback as stream counting sees it (`plays.rs`). Added with stream
    /// counting: older snapshots lack it (accounting starts afresh at the next change).
    #[serde(default)]
    playback: Option<Playback>,
    /// The threshold and the play events not taken yet: not part of the snapshot.
    #[serde(skip)]
    plays: plays::PlayOutbox,
}

impl Session {
    /// A new, empty session; `skip_policy` is `None` for premium users.
    pub fn new(skip_policy: Option<SkipPolicy>) -> Session {
        Session {
            seq: 0,
            clock_ms: 0,
            devices: Vec::new(),
            active_device: None,
            current: None,
            context: PlayContext::default(),
            user_queue: Default::default(),
            shuffle: false,
            repeat: RepeatMode::Off,
            skips: SkipLog::new(skip_policy),
            private_until_ms: None,
            playback: None,
            plays: plays::PlayOutbox::default(),
        }
    }

    /// A new, empty session that goes on from `seq` (when the old state could not be read,
    /// its `seq` must still never go backwards).
    pub fn resumed_at(seq: u64, skip_policy: Option<SkipPolicy>) -> Session {
        Session { seq, ..Session::new(skip_policy) }
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    pub fn device(&self, device_id: &str) -> Option<&Device> {
        self.devices.iter().find(|device| device.info.id == device_id)
    }

    pub fn active_device_id(&self) -> Option<&str> {
        self.active_device.as_deref()
    }

    pub fn current(&self) -> Option<&Current> {
        self.current.as_ref()
    }

    pub fn context(&self) -> &PlayContext {
        &self.context
    }

    pub fn user_queue(&self) -> impl ExactSizeIterator<Item = &TrackRef> + Clone {
        self.user_queue.iter()
    }

    pub fn shuffle(&self) -> bool {
        self.shuffle
    }

    pub fn repeat(&self) -> RepeatMode {
        self.repeat
    }

    pub fn skip_log(&self) -> &SkipLog {
        &self.skips
    }

    /// The instant of the latest change.
    pub fn clock_ms(&self) -> u64 {
        self.clock_ms
    }

    /// Checks what the state machine relies on and a snapshot read back could break: the play
    /// order and cursor, a position within its track, an active device that is known, online and
    /// able to play, device ids unique.
    pub fn check(&self) -> Result<(), String> {
        self.context.check()?;
        if let Some(current) = &self.current
            && current.position_ms > current.track.duration_ms
        {
            return Err(format!("position {} past the track's {} ms", current.position_ms, current.track.duration_ms));
        }
        if let Some(active) = &self.active_device
            && !self.device(active).is_some_and(|d| d.online && d.info.can_play)
        {
            return Err(format!("the active device {active:?} cannot play"));
        }
        for (n, device) in self.devices.iter().enumerate() {
            if self.devices[..n].iter().any(|other| other.info.id == device.info.id) {
                return Err(format!("device {:?} twice", device.info.id));
            }
        }
        Ok(())
    }

    /// Sets the skip policy (the user's product may have changed). Not a state change by
    /// itself; the next change shows it.
    pub fn set_skip_policy(&mut self, policy: Option<SkipPolicy>) {
        self.skips.set_policy(policy);
    }

    /// Applies one command from `sender` (a device id, or `None` for the REST API) at `now_ms`.
    pub fn apply(
        &mut self,
        sender: Option<&str>,
        command: Command,
        now_ms: u64,
        entropy: u64,
    ) -> Result<Applied, AppError> {
        let now = now_ms.max(self.clock_ms);
        // Stream counting accounts what played up to now before the command moves anything; a
        // refused or idle command takes that back, so it changes nothing.
        let accounted = self.playback;
        let events = self.plays.events.len();
        let was_playing = self.really_playing();
        let stop_reason =
            if matches!(command, Command::Transfer { .. }) { EndReason::Transfer } else { EndReason::Stop };
        self.ensure_playback(now);
        self.accrue(now);
        let changed = self.dispatch(sender, command, now, entropy);
        let changed = match changed {
            Ok(changed) => changed,
            Err(error) => {
                self.playback = accounted;
                self.plays.events.truncate(events);
                return Err(error);
            }
        };
        if changed {
            self.after_playback_change(was_playing, stop_reason, now);
        } else {
            self.playback = accounted;
            self.plays.events.truncate(events);
        }
        #[cfg(test)]
        faults::after_change(sender);
        if changed {
            self.clock_ms = now;
            self.seq += 1;
        }
        Ok(Applied { changed, seq: self.seq })
    }

    fn dispatch(&mut self, sender: Option<&str>, command: Command, now: u64, entropy: u64) -> Result<bool, AppError> {
        Ok(match command {
            Command::Attach { device, connection, last_seq } => self.attach(device, connection, last_seq, now)?,
            Command::Detach { device_id, connection } => self.detach(&device_id, connection, now),
            Command::Play { device_id, source, position_ms } => {
                self.play(sender, device_id.as_deref(), source, position_ms, now, entropy)?
            }
            Command::Pause => self.pause(now)?,
            Command::Resume => self.resume(now)?,
            Command::Seek { position_ms } => self.seek(position_ms, now)?,
            Command::Next => self.next(now)?,
            Command::Previous => self.previous(now)?,
            Command::Shuffle { on } => self.set_shuffle(on, entropy)?,
            Command::Repeat { mode } => self.set_repeat(mode)?,
            Command::Volume { percent, device_id } => self.volume(percent, device_id.as_deref())?,
            Command::QueueAdd { track } => self.queue_add(track)?,
            Command::Transfer { device_id, play } => self.transfer(&device_id, play, now)?,
            Command::Progress { track_id, position_ms, is_playing } => {
                self.progress(sender, track_id, position_ms, is_playing, now)?
            }
            Command::TrackEnded { track_id, continuation } => {
                self.track_ended(sender, track_id, continuation, now, entropy)?
            }
            Command::PrivateSession { enabled, duration_ms } => self.set_private_session(enabled, duration_ms, now),
            Command::EndPrivateSessionIfDue => self.end_private_session_if_due(now),
        })
    }
}
