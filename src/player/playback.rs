//! Playback commands: what plays and where (`play`, `pause`, `resume`, `seek`, `transfer`), how
//! (`shuffle`, `repeat`, `volume`), and the active device's own reports (`progress`). Each checks
//! everything before it changes anything.

use segue_protocol::{ErrorCode, RepeatMode};

use super::context::PlayContext;
use super::{
    Current, DEVICE_NOT_CONTROLLABLE, DEVICE_NOT_FOUND, EndReason, NO_ACTIVE_DEVICE, NOT_ACTIVE_DEVICE,
    PROGRESS_TOLERANCE_MS, PlaySource, Session, StartAt,
};
use crate::error::AppError;
use crate::ids::Id;

impl Session {
    /// A device that can be made to play: known, online, able to play.
    pub(super) fn controllable(&self, device_id: &str) -> Result<(), AppError> {
        let device = self.device(device_id).ok_or(DEVICE_NOT_FOUND)?;
        if device.online && device.info.can_play { Ok(()) } else { Err(DEVICE_NOT_CONTROLLABLE) }
    }

    pub(super) fn require_active(&self) -> Result<&str, AppError> {
        self.active_device.as_deref().ok_or(NO_ACTIVE_DEVICE)
    }

    pub(super) fn require_sender_active(&self, sender: Option<&str>) -> Result<(), AppError> {
        match (sender, self.active_device.as_deref()) {
            (Some(sender), Some(active)) if sender == active => Ok(()),
            _ => Err(NOT_ACTIVE_DEVICE),
        }
    }

    /// The device a `play` aims at: the one named, else the active one, else the sender.
    pub(super) fn play_target(&self, sender: Option<&str>, named: Option<&str>) -> Result<String, AppError> {
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

    pub(super) fn play(
        &mut self,
        sender: Option<&str>,
        device_id: Option<&str>,
        source: Option<PlaySource>,
        position_ms: Option<u32>,
        now: u64,
        entropy: u64,
    ) -> Result<bool, AppError> {
        let target = self.play_target(sender, device_id)?;
        let bad_position = AppError::refusal(ErrorCode::BadRequest, "position_ms is past the end of the track");
        match source {
            Some(source) => {
                if source.tracks.is_empty() {
                    return Err(AppError::refusal(ErrorCode::BadRequest, "there are no tracks to play"));
                }
                let mut context = PlayContext::new(source.context_uri, source.tracks);
                let start = match source.start {
                    StartAt::Beginning if self.shuffle => (entropy % context.len() as u64) as usize,
                    StartAt::Beginning => 0,
                    StartAt::Index(index) => usize::try_from(index)
                        .ok()
                        .filter(|&i| i < context.len())
                        .ok_or(AppError::refusal(ErrorCode::BadRequest, "offset position is past the end"))?,
                    StartAt::Track(id) => context.index_of(id).ok_or(AppError::refusal(
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
                self.end_playback(EndReason::Skip);
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
                        return Err(AppError::refusal(ErrorCode::NothingToPlay, "there is nothing to resume"));
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

    pub(super) fn pause(&mut self, now: u64) -> Result<bool, AppError> {
        self.require_active()?;
        match &mut self.current {
            Some(current) if current.is_playing => {
                current.settle(now);
                current.is_playing = false;
                Ok(true)
            }
            _ => Err(AppError::refusal(ErrorCode::AlreadyPaused, "playback is already paused")),
        }
    }

    pub(super) fn resume(&mut self, now: u64) -> Result<bool, AppError> {
        self.require_active()?;
        match &mut self.current {
            None => Err(AppError::refusal(ErrorCode::NothingToPlay, "there is nothing to resume")),
            Some(current) if current.is_playing => {
                Err(AppError::refusal(ErrorCode::AlreadyPlaying, "playback is already playing"))
            }
            Some(current) => {
                current.timestamp_ms = now;
                current.is_playing = true;
                Ok(true)
            }
        }
    }

    pub(super) fn seek(&mut self, position_ms: u32, now: u64) -> Result<bool, AppError> {
        self.require_active()?;
        let Some(duration_ms) = self.current.as_ref().map(|c| c.track.duration_ms) else {
            return Err(AppError::refusal(ErrorCode::NothingToPlay, "there is no track to seek in"));
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

    pub(super) fn set_shuffle(&mut self, on: bool, entropy: u64) -> Result<bool, AppError> {
        self.require_active()?;
        if self.shuffle == on {
            return Ok(false);
        }
        self.shuffle = on;
        self.context.set_shuffle(on, entropy);
        Ok(true)
    }

    pub(super) fn set_repeat(&mut self, mode: RepeatMode) -> Result<bool, AppError> {
        self.require_active()?;
        let changed = self.repeat != mode;
        self.repeat = mode;
        Ok(changed)
    }

    pub(super) fn volume(&mut self, percent: u8, device_id: Option<&str>) -> Result<bool, AppError> {
        if percent > 100 {
            return Err(AppError::refusal(ErrorCode::BadRequest, "volume must be within 0..100"));
        }
        let target = match device_id {
            Some(id) => id.to_string(),
            None => self.require_active()?.to_string(),
        };
        let device = self.devices.iter_mut().find(|d| d.info.id == target).ok_or(DEVICE_NOT_FOUND)?;
        if !device.info.supports_volume {
            return Err(AppError::refusal(
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

    pub(super) fn transfer(&mut self, device_id: &str, play: Option<bool>, now: u64) -> Result<bool, AppError> {
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

    pub(super) fn progress(
        &mut self,
        sender: Option<&str>,
        track_id: Id,
        position_ms: u32,
        is_playing: bool,
        now: u64,
    ) -> Result<bool, AppError> {
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
}
