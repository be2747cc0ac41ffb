//! Stream counting: how long the current playback has really played on the active device, and
//! when it counts as a play (a stream, for royalties and history).
//!
//! A [`Playback`] is one play of a track: from the change that started the track (a `play`,
//! `next`, `previous`, the end of the one before, a repeat) until the change that replaces it. It
//! stays the same play across pause, seek, transfer and device changes. Its `played_ms` grows only
//! while it plays on an active device, by how far the position moved while playing (never past
//! the end of the track): a seek moves the position without playing, so a forward seek adds
//! nothing, and a device's `progress` correction adds only the time that passed. Once
//! `played_ms` reaches the session's threshold (`--stream-count-ms`, 30 s by default) the play
//! counts, once; a repeat is a new playback and counts again.
//!
//! The play's id is derived from the session, not drawn: the `seq` of the change that started it
//! and its start instant ([`PlayId`]). A session taken over from its last stored snapshot meets
//! the same playback again, so a play it counts a second time carries the same id and the store
//! keeps one row.
//!
//! What the session does with plays is told in [`PlayEvent`]s, which the session's owner takes
//! with [`Session::take_play_events`] and writes behind: one when the play counts, and one each
//! time a counted play stops playing or ends, with `ms_played` so far and why
//! ([`EndReason`]). Pure like the rest of the module: time comes in as `now`.

use serde::{Deserialize, Serialize};

use super::Session;
use crate::ids::Id;

/// A play counts once this much of it has really played (the royalties rule).
pub const STREAM_COUNT_MS: u64 = 30_000;

/// Why a play stopped playing or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The end of the track was reached (it ended, a seek went past it, or repeat restarted it).
    TrackDone,
    /// Another track replaced it: `next`, `previous`, or a new `play`.
    Skip,
    /// It was transferred to a device that does not play it.
    Transfer,
    /// It was paused, or its device went away.
    Stop,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::TrackDone => "track_done",
            EndReason::Skip => "skip",
            EndReason::Transfer => "transfer",
            EndReason::Stop => "stop",
        }
    }

    pub fn parse(text: &str) -> Option<EndReason> {
        [EndReason::TrackDone, EndReason::Skip, EndReason::Transfer, EndReason::Stop]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// The id of one playback within its user's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlayId {
    /// The `seq` of the change that started it.
    pub start_seq: u64,
    pub started_at_ms: u64,
}

impl PlayId {
    /// The play's key in the store, unique across users.
    pub fn key(&self, user: Id) -> String {
        format!("{user}:{}:{}", self.start_seq, self.started_at_ms)
    }
}

/// The current track's playback, as stream counting sees it. Part of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playback {
    pub id: PlayId,
    /// How long it has really played, up to `accounted_to_ms`.
    pub played_ms: u64,
    /// The instant up to which `played_ms` is accounted.
    pub accounted_to_ms: u64,
    /// Whether it counted as a play already.
    pub counted: bool,
    /// Whether the user was in a private session when it counted: the play counts for royalties
    /// but stays out of history and tops.
    pub private: bool,
    /// Why it stopped playing, while it does not play.
    pub stopped_by: Option<EndReason>,
}

/// Something that happened to a counted play, for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayEvent {
    pub id: PlayId,
    pub track: Id,
    /// The context it played from (`None` for a queued track or plain URIs).
    pub context_uri: Option<String>,
    pub ms_played: u64,
    /// `None` while it plays; else why it stopped or ended.
    pub ended: Option<EndReason>,
    /// This event is the one that counts the play (the first of its events).
    pub counts: bool,
    pub private: bool,
}

/// What is not part of the snapshot: the node's threshold, and the events not taken yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PlayOutbox {
    pub(super) count_after_ms: u64,
    pub(super) events: Vec<PlayEvent>,
}

impl Default for PlayOutbox {
    fn default() -> PlayOutbox {
        PlayOutbox { count_after_ms: STREAM_COUNT_MS, events: Vec::new() }
    }
}

impl Session {
    /// Sets how long a playback must play before it counts (not a state change).
    pub fn set_stream_count_ms(&mut self, ms: u64) {
        self.plays.count_after_ms = ms;
    }

    pub fn playback(&self) -> Option<&Playback> {
        self.playback.as_ref()
    }

    /// The play events since the last call, oldest first.
    pub fn take_play_events(&mut self) -> Vec<PlayEvent> {
        std::mem::take(&mut self.plays.events)
    }

    /// Whether the current track plays on an active device now.
    pub(super) fn really_playing(&self) -> bool {
        self.active_device.is_some() && self.current.as_ref().is_some_and(|c| c.is_playing)
    }

    /// Starts accounting the current track when nothing accounts it (a new track, or a session
    /// from a snapshot older than stream counting).
    pub(super) fn ensure_playback(&mut self, now: u64) {
        if self.current.is_some() && self.playback.is_none() {
            self.playback = Some(Playback {
                id: PlayId { start_seq: self.seq.saturating_add(1), started_at_ms: now },
                played_ms: 0,
                accounted_to_ms: now,
                counted: false,
                private: false,
                stopped_by: None,
            });
        }
    }

    /// Adds what played since the playback was last accounted, up to `now`. Must run before
    /// anything changes the current track's position or state at `now`.
    pub(super) fn accrue(&mut self, now: u64) {
        let playing = self.really_playing();
        let (Some(playback), Some(current)) = (&mut self.playback, &self.current) else { return };
        if now <= playback.accounted_to_ms {
            return;
        }
        if playing {
            let from = current.position_at(playback.accounted_to_ms.max(current.timestamp_ms));
            let to = current.position_at(now);
            playback.played_ms = playback.played_ms.saturating_add(u64::from(to.saturating_sub(from)));
        }
        playback.accounted_to_ms = now;
    }

    fn event(&self, playback: &Playback, ended: Option<EndReason>, counts: bool) -> Option<PlayEvent> {
        let current = self.current.as_ref()?;
        let context_uri = if current.from_queue { None } else { self.context.uri().map(str::to_string) };
        Some(PlayEvent {
            id: playback.id,
            track: current.track.id,
            context_uri,
            ms_played: playback.played_ms,
            ended,
            counts,
            private: playback.private,
        })
    }

    /// Counts the playback when it has played long enough and did not count yet; `ended` says
    /// whether it ends or stops in the same change. Returns whether an event was told.
    fn count_or_update(&mut self, ended: Option<EndReason>, update_counted: bool) -> bool {
        let private = self.in_private_session();
        let threshold = self.plays.count_after_ms;
        let Some(mut playback) = self.playback else { return false };
        let counts = !playback.counted && playback.played_ms >= threshold;
        if counts {
            playback.counted = true;
            playback.private = private;
            self.playback = Some(playback);
        }
        if !(counts || (update_counted && playback.counted)) {
            return false;
        }
        match self.event(&playback, ended, counts) {
            Some(event) => {
                self.plays.events.push(event);
                true
            }
            None => false,
        }
    }

    /// The current playback ends (another replaces it): counted now if it played long enough,
    /// and told with `reason` if it counted. Call before the current track changes.
    pub(super) fn end_playback(&mut self, reason: EndReason) {
        self.count_or_update(Some(reason), true);
        self.playback = None;
    }

    /// After a change: a new current track starts its playback; a counted one that stopped
    /// playing says why; one that played long enough counts.
    pub(super) fn after_playback_change(&mut self, was_playing: bool, stop_reason: EndReason, now: u64) {
        self.ensure_playback(now);
        let playing = self.really_playing();
        let Some(playback) = &mut self.playback else { return };
        let stopped = was_playing && !playing && playback.stopped_by.is_none();
        if playing {
            playback.stopped_by = None;
        } else if stopped {
            playback.stopped_by = Some(stop_reason);
        }
        let stopped_by = playback.stopped_by;
        if stopped {
            self.count_or_update(stopped_by, true);
        } else {
            self.count_or_update(None, false);
        }
    }

    /// Counts the current playback if it has played long enough by `now`, with no command (the
    /// session's owner calls it when [`Session::play_due_at`] says). Not a state change devices
    /// see: the next change's snapshot carries it. Returns whether it counted.
    pub fn count_due_play(&mut self, now_ms: u64) -> bool {
        let now = now_ms.max(self.clock_ms);
        self.ensure_playback(now);
        self.accrue(now);
        self.count_or_update(None, false)
    }

    /// When the current playback will have played long enough to count, if it keeps playing and
    /// can still reach it before its track ends.
    pub fn play_due_at(&self) -> Option<u64> {
        if !self.really_playing() {
            return None;
        }
        let (playback, current) = (self.playback.as_ref()?, self.current.as_ref()?);
        if playback.counted {
            return None;
        }
        let missing = self.plays.count_after_ms.saturating_sub(playback.played_ms);
        let at = playback.accounted_to_ms;
        let left_in_track = u64::from(current.track.duration_ms - current.position_at(at));
        (left_in_track >= missing).then_some(at.saturating_add(missing))
    }
}
