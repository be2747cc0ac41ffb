//! Moving through what plays: the user queue, `next` (a counted skip on the free tier),
//! `previous`, and the end of a track, as the queue, the context and repeat say.

use segue_protocol::{ErrorCode, RepeatMode};

use super::context::{self, PlayContext, TrackRef};
use super::{Continuation, Current, EndReason, MAX_USER_QUEUE, RESTART_THRESHOLD_MS, Session};
use crate::error::AppError;
use crate::ids::Id;

impl Session {
    pub(super) fn queue_add(&mut self, track: TrackRef) -> Result<bool, AppError> {
        if self.user_queue.len() >= MAX_USER_QUEUE {
            return Err(AppError::refusal(ErrorCode::BadRequest, "the queue is full (1000 tracks)"));
        }
        self.user_queue.push_back(track);
        Ok(true)
    }

    pub(super) fn next(&mut self, now: u64) -> Result<bool, AppError> {
        self.require_active()?;
        let step = self
            .context
            .peek_next(!self.user_queue.is_empty(), self.context_started(), self.repeat == RepeatMode::Context)
            .ok_or(AppError::refusal(ErrorCode::NoNextTrack, "there is no next track"))?;
        self.skips.try_count(now).map_err(|retry_after_ms| {
            AppError::refusal(ErrorCode::SkipLimit, "the skip limit of the free tier is reached")
                .with_retry_after(retry_after_ms)
        })?;
        self.end_playback(EndReason::Skip);
        self.take_step(step, now);
        Ok(true)
    }

    pub(super) fn previous(&mut self, now: u64) -> Result<bool, AppError> {
        self.require_active()?;
        let no_previous = AppError::refusal(ErrorCode::NoPrevTrack, "there is no previous track");
        let current = self.current.as_ref().ok_or(no_previous.clone())?;
        let is_playing = current.is_playing;
        if current.position_at(now) > RESTART_THRESHOLD_MS {
            self.end_playback(EndReason::Skip);
            let current = self.current.as_mut().expect("checked above");
            current.position_ms = 0;
            current.timestamp_ms = now;
            return Ok(true);
        }
        if current.from_queue {
            // Back from a queued track to the context track played before it; the queued
            // track goes back to the head of the queue.
            let track = *self.context.current_track().ok_or(no_previous)?;
            self.end_playback(EndReason::Skip);
            let queued = self.current.take().expect("checked above").track;
            self.user_queue.push_front(queued);
            self.current = Some(Current::starting(track, false, is_playing, now));
            return Ok(true);
        }
        if !self.context.step_back(self.repeat == RepeatMode::Context) {
            return Err(no_previous);
        }
        let track = *self.context.current_track().expect("the context is not empty");
        self.end_playback(EndReason::Skip);
        self.current = Some(Current::starting(track, false, is_playing, now));
        Ok(true)
    }

    pub(super) fn track_ended(
        &mut self,
        sender: Option<&str>,
        track_id: Id,
        continuation: Option<Continuation>,
        now: u64,
        entropy: u64,
    ) -> Result<bool, AppError> {
        self.require_sender_active(sender)?;
        match &self.current {
            Some(current) if current.track.id == track_id => {}
            _ => return Ok(false),
        }
        if self.repeat == RepeatMode::Track {
            // A repeat is a new play, and counts again.
            self.end_playback(EndReason::TrackDone);
            let current = self.current.as_mut().expect("checked above");
            current.position_ms = 0;
            current.timestamp_ms = now;
            current.is_playing = true;
            return Ok(true);
        }
        if self.advance_at_end(now) {
            return Ok(true);
        }
        // Nothing left: autoplay goes on with the station it was given, playing.
        if let Some(continuation) = continuation.filter(|c| !c.tracks.is_empty()) {
            let mut context = PlayContext::new(Some(continuation.context_uri), continuation.tracks);
            context.start_at(0, self.shuffle, entropy);
            let track = *context.current_track().expect("the continuation is not empty");
            self.context = context;
            self.current = Some(Current::starting(track, false, true, now));
        }
        Ok(true)
    }

    /// Whether the context track at the cursor has been played: it has whenever something
    /// plays (the current track is that one, or a queued one played after it).
    pub(super) fn context_started(&self) -> bool {
        self.current.is_some()
    }

    pub(super) fn take_step(&mut self, step: context::Step, now: u64) {
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
    /// the start of the context, paused. Answers whether something plays on.
    pub(super) fn advance_at_end(&mut self, now: u64) -> bool {
        self.end_playback(EndReason::TrackDone);
        let step = self.context.peek_next(
            !self.user_queue.is_empty(),
            self.context_started(),
            self.repeat == RepeatMode::Context,
        );
        match step {
            Some(step) => {
                self.take_step(step, now);
                true
            }
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
                false
            }
        }
    }
}
