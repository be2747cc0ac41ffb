//! The pure session state machine: the heart of the server.
//!
//! A [`Session`] is one user's whole playback state. [`Session::apply`] takes one
//! [`Command`], the instant `now_ms` and some `entropy` (for shuffling), and either changes the
//! session and bumps `seq`, leaves it as it was (a command that changes nothing), or refuses with
//! a [`CommandError`] and changes nothing at all.
//!
//! **Architecture invariant:** this module does no I/O, reads no clock and draws no randomness of
//! its own; everything it needs comes in as arguments. Catalog lookups (what a URI means, how long
//! a track is) happen before a command is built, so a command carries resolved [`TrackRef`]s.
//!
//! The invariants every sequence of commands keeps (checked by the property tests in
//! `proptests.rs` after every step):
//! - at most one device is active, and the active device is online and can play;
//! - `seq` grows by exactly one with every change and never otherwise;
//! - a refused command leaves the session exactly as it was;
//! - a free user's counted skips never exceed the limit within any window;
//! - the stored and the computed positions never pass the end of the track.

pub mod context;
#[cfg(test)]
mod proptests;
mod skips;
pub mod wire;

use serde::{Deserialize, Serialize};

use segue_protocol::{DeviceType, ErrorCode, RepeatMode};

use crate::ids::Id;
pub use context::{PlayContext, TrackRef};
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

/// One command to the session. Tracks are already resolved against the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A device connected (`hello`).
    Attach {
        device: DeviceInfo,
        connection: u64,
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
    },
}

/// Why a command was refused. The session is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: &'static str,
    pub retry_after_ms: Option<u64>,
}

impl CommandError {
    const fn new(code: ErrorCode, message: &'static str) -> CommandError {
        CommandError { code, message, retry_after_ms: None }
    }
}

impl From<CommandError> for segue_protocol::ErrorBody {
    fn from(error: CommandError) -> Self {
        segue_protocol::ErrorBody {
            code: error.code,
            message: error.message.to_string(),
            retry_after_ms: error.retry_after_ms,
        }
    }
}

const NO_ACTIVE_DEVICE: CommandError = CommandError::new(ErrorCode::NoActiveDevice, "no device is active");
const NOT_ACTIVE_DEVICE: CommandError =
    CommandError::new(ErrorCode::NotActiveDevice, "only the active device may send this");
const DEVICE_NOT_FOUND: CommandError =
    CommandError::new(ErrorCode::DeviceNotFound, "no device with that id is known for this user");
const DEVICE_NOT_CONTROLLABLE: CommandError =
    CommandError::new(ErrorCode::DeviceNotControllable, "that device is offline or cannot play");

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
        }
    }

    /// A new, empty session that goes on from `seq` (when the old state could not be read,
    /// its `seq` must still never go backwards).
    pub fn resumed_at(seq: u64, skip_policy: Option<SkipPolicy>) -> Session {
        Session { seq, ..Session::new(skip_policy) }
    }

    /// Marks offline the online devices whose connection is `stale` (a new activation's devices
    /// whose connections are gone), in one change (with its own `seq`) when there was any; playback
    /// stops only when the active device is among them.
    pub fn offline_where(&mut self, now_ms: u64, stale: impl Fn(u64) -> bool) -> bool {
        let now = now_ms.max(self.clock_ms);
        let mut changed = false;
        let mut active_gone = false;
        for device in &mut self.devices {
            if device.online && stale(device.connection) {
                device.online = false;
                device.last_seen_ms = now;
                changed = true;
                active_gone |= self.active_device.as_deref() == Some(device.info.id.as_str());
            }
        }
        if changed {
            if active_gone {
                self.deactivate(now);
            }
            self.clock_ms = now;
            self.seq += 1;
        }
        changed
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
    ) -> Result<Applied, CommandError> {
        let now = now_ms.max(self.clock_ms);
        let changed = match command {
            Command::Attach { device, connection } => self.attach(device, connection, now)?,
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
            Command::TrackEnded { track_id } => self.track_ended(sender, track_id, now)?,
        };
        if changed {
            self.clock_ms = now;
            self.seq += 1;
        }
        Ok(Applied { changed, seq: self.seq })
    }

    // ----- presence -----

    fn attach(&mut self, info: DeviceInfo, connection: u64, now: u64) -> Result<bool, CommandError> {
        let online_others = self.devices.iter().filter(|d| d.online && d.info.id != info.id).count();
        if online_others >= MAX_ONLINE_DEVICES {
            return Err(CommandError::new(
                ErrorCode::TooManyDevices,
                "this user already has the maximum of 10 connected devices",
            ));
        }
        let changed = match self.devices.iter_mut().find(|d| d.info.id == info.id) {
            Some(device) => {
                // A hello without a volume keeps the one the device had.
                let volume_percent = info.volume_percent.or(device.info.volume_percent);
                let info = DeviceInfo { volume_percent, ..info };
                let changed = !device.online || device.info != info;
                device.info = info;
                device.online = true;
                device.connection = connection;
                device.last_seen_ms = now;
                changed
            }
            None => {
                self.forget_oldest_offline_device();
                self.devices.push(Device { info, online: true, connection, last_seen_ms: now });
                true
            }
        };
        // A device that reconnects as a remote control only can no longer be the active one.
        if let Some(active) = &self.active_device
            && !self.device(active).is_some_and(|d| d.info.can_play)
        {
            self.deactivate(now);
        }
        Ok(changed)
    }

    fn forget_oldest_offline_device(&mut self) {
        if self.devices.len() < MAX_KNOWN_DEVICES {
            return;
        }
        let oldest = self
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.online)
            .min_by_key(|(_, d)| d.last_seen_ms)
            .map(|(index, _)| index);
        if let Some(index) = oldest {
            self.devices.remove(index);
        }
    }

    fn detach(&mut self, device_id: &str, connection: u64, now: u64) -> bool {
        let Some(device) = self.devices.iter_mut().find(|d| d.info.id == device_id) else {
            return false;
        };
        if !device.online || device.connection != connection {
            return false;
        }
        device.online = false;
        device.last_seen_ms = now;
        if self.active_device.as_deref() == Some(device_id) {
            self.deactivate(now);
        }
        true
    }

    /// No device plays any more: playback stops where it is.
    fn deactivate(&mut self, now: u64) {
        self.active_device = None;
        if let Some(current) = &mut self.current {
            current.settle(now);
            current.is_playing = false;
        }
    }

    // ----- targets -----

    /// A device that can be made to play: known, online, able to play.
    fn controllable(&self, device_id: &str) -> Result<(), CommandError> {
        let device = self.device(device_id).ok_or(DEVICE_NOT_FOUND)?;
        if device.online && device.info.can_play { Ok(()) } else { Err(DEVICE_NOT_CONTROLLABLE) }
    }

    fn require_active(&self) -> Result<&str, CommandError> {
        self.active_device.as_deref().ok_or(NO_ACTIVE_DEVICE)
    }

    fn require_sender_active(&self, sender: Option<&str>) -> Result<(), CommandError> {
        match (sender, self.active_device.as_deref()) {
            (Some(sender), Some(active)) if sender == active => Ok(()),
            _ => Err(NOT_ACTIVE_DEVICE),
        }
    }

    /// The device a `play` aims at: the one named, else the active one, else the sender.
    fn play_target(&self, sender: Option<&str>, named: Option<&str>) -> Result<String, CommandError> {
        if let Some(named) = named {
            self.controllable(named)?;
            return Ok(named.to_string());
        }
        if let Some(active) = &self.active_device {
            return Ok(active.clone());
        }
        match sender.and_then(|id| self.device(id)) {
            Some(device) if device.online && device.info.can_play => Ok(device.info.id.clone()),
            _ => Err(NO_ACTIVE_DEVICE),
        }
    }

    // ----- playback commands -----

    fn play(
        &mut self,
        sender: Option<&str>,
        device_id: Option<&str>,
        source: Option<PlaySource>,
        position_ms: Option<u32>,
        now: u64,
        entropy: u64,
    ) -> Result<bool, CommandError> {
        let target = self.play_target(sender, device_id)?;
        let bad_position = CommandError::new(ErrorCode::BadRequest, "position_ms is past the end of the track");
        match source {
            Some(source) => {
                if source.tracks.is_empty() {
                    return Err(CommandError::new(ErrorCode::BadRequest, "there are no tracks to play"));
                }
                let mut context = PlayContext::new(source.context_uri, source.tracks);
                let start = match source.start {
                    StartAt::Beginning if self.shuffle => (entropy % context.len() as u64) as usize,
                    StartAt::Beginning => 0,
                    StartAt::Index(index) => usize::try_from(index)
                        .ok()
                        .filter(|&i| i < context.len())
                        .ok_or(CommandError::new(ErrorCode::BadRequest, "offset position is past the end"))?,
                    StartAt::Track(id) => context.index_of(id).ok_or(CommandError::new(
                        ErrorCode::BadRequest,
                        "offset uri is not among the tracks to play",
                    ))?,
                };
                let track = *context.track(start);
                let position = position_ms.unwrap_or(0);
                if position > track.duration_ms {
                    return Err(bad_position);
                }
                context.start_at(start, self.shuffle, entropy);
                self.context = context;
                self.user_queue.clear();
                self.current = Some(Current {
                    track,
                    from_queue: false,
                    is_playing: true,
                    position_ms: position,
                    timestamp_ms: now,
                });
            }
            None => {
                let duration_ms = match (&self.current, self.user_queue.front()) {
                    (Some(current), _) => current.track.duration_ms,
                    (None, Some(queued)) => queued.duration_ms,
                    (None, None) => {
                        return Err(CommandError::new(ErrorCode::NothingToPlay, "there is nothing to resume"));
                    }
                };
                if position_ms.is_some_and(|p| p > duration_ms) {
                    return Err(bad_position);
                }
                if self.current.is_none() {
                    let track = self.user_queue.pop_front().expect("checked above");
                    self.current = Some(Current::starting(track, true, false, now));
                }
                let current = self.current.as_mut().expect("set just above");
                let unchanged = current.is_playing
                    && position_ms.is_none()
                    && self.active_device.as_deref() == Some(target.as_str());
                if unchanged {
                    return Ok(false);
                }
                current.settle(now);
                if let Some(position) = position_ms {
                    current.position_ms = position;
                }
                current.is_playing = true;
            }
        }
        self.active_device = Some(target);
        Ok(true)
    }

    fn pause(&mut self, now: u64) -> Result<bool, CommandError> {
        self.require_active()?;
        match &mut self.current {
            Some(current) if current.is_playing => {
                current.settle(now);
                current.is_playing = false;
                Ok(true)
            }
            _ => Err(CommandError::new(ErrorCode::AlreadyPaused, "playback is already paused")),
        }
    }

    fn resume(&mut self, now: u64) -> Result<bool, CommandError> {
        self.require_active()?;
        match &mut self.current {
            None => Err(CommandError::new(ErrorCode::NothingToPlay, "there is nothing to resume")),
            Some(current) if current.is_playing => {
                Err(CommandError::new(ErrorCode::AlreadyPlaying, "playback is already playing"))
            }
            Some(current) => {
                current.timestamp_ms = now;
                current.is_playing = true;
                Ok(true)
            }
        }
    }

    fn seek(&mut self, position_ms: u32, now: u64) -> Result<bool, CommandError> {
        self.require_active()?;
        let Some(duration_ms) = self.current.as_ref().map(|c| c.track.duration_ms) else {
            return Err(CommandError::new(ErrorCode::NothingToPlay, "there is no track to seek in"));
        };
        if position_ms > duration_ms {
            // Past the end behaves as `next`, without counting a skip.
            self.advance_at_end(now);
            return Ok(true);
        }
        let current = self.current.as_mut().expect("checked above");
        current.position_ms = position_ms;
        current.timestamp_ms = now;
        Ok(true)
    }

    fn next(&mut self, now: u64) -> Result<bool, CommandError> {
        self.require_active()?;
        let step = self
            .context
            .peek_next(!self.user_queue.is_empty(), self.context_started(), self.repeat == RepeatMode::Context)
            .ok_or(CommandError::new(ErrorCode::NoNextTrack, "there is no next track"))?;
        self.skips.try_count(now).map_err(|retry_after_ms| CommandError {
            code: ErrorCode::SkipLimit,
            message: "the skip limit of the free tier is reached",
            retry_after_ms: Some(retry_after_ms),
        })?;
        self.take_step(step, now);
        Ok(true)
    }

    fn previous(&mut self, now: u64) -> Result<bool, CommandError> {
        self.require_active()?;
        let no_previous = CommandError::new(ErrorCode::NoPrevTrack, "there is no previous track");
        let current = self.current.as_ref().ok_or(no_previous.clone())?;
        let is_playing = current.is_playing;
        if current.position_at(now) > RESTART_THRESHOLD_MS {
            let current = self.current.as_mut().expect("checked above");
            current.position_ms = 0;
            current.timestamp_ms = now;
            return Ok(true);
        }
        if current.from_queue {
            // Back from a queued track to the context track played before it; the queued
            // track goes back to the head of the queue.
            let track = *self.context.current_track().ok_or(no_previous)?;
            let queued = self.current.take().expect("checked above").track;
            self.user_queue.push_front(queued);
            self.current = Some(Current::starting(track, false, is_playing, now));
            return Ok(true);
        }
        if !self.context.step_back(self.repeat == RepeatMode::Context) {
            return Err(no_previous);
        }
        let track = *self.context.current_track().expect("the context is not empty");
        self.current = Some(Current::starting(track, false, is_playing, now));
        Ok(true)
    }

    fn set_shuffle(&mut self, on: bool, entropy: u64) -> Result<bool, CommandError> {
        self.require_active()?;
        if self.shuffle == on {
            return Ok(false);
        }
        self.shuffle = on;
        self.context.set_shuffle(on, entropy);
        Ok(true)
    }

    fn set_repeat(&mut self, mode: RepeatMode) -> Result<bool, CommandError> {
        self.require_active()?;
        let changed = self.repeat != mode;
        self.repeat = mode;
        Ok(changed)
    }

    fn volume(&mut self, percent: u8, device_id: Option<&str>) -> Result<bool, CommandError> {
        if percent > 100 {
            return Err(CommandError::new(ErrorCode::BadRequest, "volume must be within 0..100"));
        }
        let target = match device_id {
            Some(id) => id.to_string(),
            None => self.require_active()?.to_string(),
        };
        let device = self.devices.iter_mut().find(|d| d.info.id == target).ok_or(DEVICE_NOT_FOUND)?;
        if !device.info.supports_volume {
            return Err(CommandError::new(
                ErrorCode::VolumeControlDisallow,
                "that device does not support volume control",
            ));
        }
        if !device.online {
            return Err(DEVICE_NOT_CONTROLLABLE);
        }
        let changed = device.info.volume_percent != Some(percent);
        device.info.volume_percent = Some(percent);
        Ok(changed)
    }

    fn queue_add(&mut self, track: TrackRef) -> Result<bool, CommandError> {
        if self.user_queue.len() >= MAX_USER_QUEUE {
            return Err(CommandError::new(ErrorCode::BadRequest, "the queue is full (1000 tracks)"));
        }
        self.user_queue.push_back(track);
        Ok(true)
    }

    fn transfer(&mut self, device_id: &str, play: Option<bool>, now: u64) -> Result<bool, CommandError> {
        self.controllable(device_id)?;
        let moves = self.active_device.as_deref() != Some(device_id);
        let mut changed = moves;
        if let Some(current) = &mut self.current {
            let is_playing = play.unwrap_or(current.is_playing);
            if moves || is_playing != current.is_playing {
                current.settle(now);
                current.is_playing = is_playing;
                changed = true;
            }
        }
        self.active_device = Some(device_id.to_string());
        Ok(changed)
    }

    fn progress(
        &mut self,
        sender: Option<&str>,
        track_id: Id,
        position_ms: u32,
        is_playing: bool,
        now: u64,
    ) -> Result<bool, CommandError> {
        self.require_sender_active(sender)?;
        let Some(current) = &mut self.current else {
            return Ok(false);
        };
        if current.track.id != track_id {
            // A report about another track is stale: the session has moved on.
            return Ok(false);
        }
        let position = position_ms.min(current.track.duration_ms);
        let drift = u64::from(position).abs_diff(u64::from(current.position_at(now)));
        if drift <= PROGRESS_TOLERANCE_MS && is_playing == current.is_playing {
            return Ok(false);
        }
        current.position_ms = position;
        current.timestamp_ms = now;
        current.is_playing = is_playing;
        Ok(true)
    }

    fn track_ended(&mut self, sender: Option<&str>, track_id: Id, now: u64) -> Result<bool, CommandError> {
        self.require_sender_active(sender)?;
        match &self.current {
            Some(current) if current.track.id == track_id => {}
            _ => return Ok(false),
        }
        if self.repeat == RepeatMode::Track {
            let current = self.current.as_mut().expect("checked above");
            current.position_ms = 0;
            current.timestamp_ms = now;
            current.is_playing = true;
            return Ok(true);
        }
        self.advance_at_end(now);
        Ok(true)
    }

    // ----- moving through the queue -----

    /// Whether the context track at the cursor has been played: it has whenever something
    /// plays (the current track is that one, or a queued one played after it).
    fn context_started(&self) -> bool {
        self.current.is_some()
    }

    fn take_step(&mut self, step: context::Step, now: u64) {
        let is_playing = self.current.as_ref().is_none_or(|c| c.is_playing);
        let (track, from_queue) = match step {
            context::Step::Queue => (self.user_queue.pop_front().expect("peeked non-empty"), true),
            context::Step::Context(cursor) => {
                self.context.set_cursor(cursor);
                (*self.context.current_track().expect("peeked a context track"), false)
            }
        };
        self.current = Some(Current::starting(track, from_queue, is_playing, now));
    }

    /// The end of the track was reached (it ended, or a seek went past it): play on as the
    /// queue and repeat say, never counting a skip; with nothing left, playback ends back at
    /// the start of the context, paused.
    fn advance_at_end(&mut self, now: u64) {
        let step = self.context.peek_next(
            !self.user_queue.is_empty(),
            self.context_started(),
            self.repeat == RepeatMode::Context,
        );
        match step {
            Some(step) => self.take_step(step, now),
            None => {
                let first = self.context.rewind();
                if let Some(current) = &mut self.current {
                    match first {
                        Some(track) => *current = Current::starting(track, false, false, now),
                        None => {
                            current.position_ms = 0;
                            current.timestamp_ms = now;
                            current.is_playing = false;
                        }
                    }
                }
            }
        }
    }
}
