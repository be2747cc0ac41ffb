//! What a user's friends see of their session, and the private session that hides it.
//!
//! [`ActivityView`] is the part of a session friends may see, taken before and after a command;
//! [`activity_change`] says, from the two, whether friends hear of it and what: a user *shown*
//! (a device online and not in a private session) who starts a track, or who becomes shown or
//! stops being shown (the first device connects, the last one leaves, a private session begins
//! or ends). Pure, like the rest of the state machine: the session actor publishes what it
//! answers once the new state is committed.
//!
//! A private session lasts until the user ends it or until its deadline
//! ([`Command::PrivateSession`]'s `duration_ms` after it began; 6 hours by default, as
//! Spotify's); [`Command::EndPrivateSessionIfDue`] ends it once the deadline has passed.
//!
//! [`Command::PrivateSession`]: super::Command::PrivateSession
//! [`Command::EndPrivateSessionIfDue`]: super::Command::EndPrivateSessionIfDue

use super::Session;
use crate::ids::Id;

/// How long a private session lasts unless it is ended before.
pub const PRIVATE_SESSION_MS: u64 = 6 * 3_600 * 1_000;

/// What friends may see of a session at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityView {
    /// A device is online and the session is not private.
    pub shown: bool,
    /// The current track and its context, if any.
    pub track: Option<(Id, Option<String>)>,
    pub playing: bool,
}

/// What friends are told: the body of a `friend_activity` event, less who it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityChange {
    pub online: bool,
    pub track_id: Option<Id>,
    pub context_uri: Option<String>,
    pub timestamp_ms: u64,
}

/// What friends hear of a command that took the session from `before` to `after` at `now_ms`
/// (`starts_a_track`: the command (re)started a track even if it is the one that played
/// before). `None`: nothing they should hear.
pub fn activity_change(
    before: &ActivityView,
    after: &ActivityView,
    starts_a_track: bool,
    now_ms: u64,
) -> Option<ActivityChange> {
    let playing = |view: &ActivityView| view.track.clone().filter(|_| view.playing);
    let change = |online: bool, track: Option<(Id, Option<String>)>| {
        let (track_id, context_uri) = track.map_or((None, None), |(id, context)| (Some(id), context));
        Some(ActivityChange { online, track_id, context_uri, timestamp_ms: now_ms })
    };
    match (before.shown, after.shown) {
        // Gone: friends keep the last track they were shown.
        (true, false) => change(false, before.track.clone()),
        (false, true) => change(true, playing(after)),
        (true, true) => {
            let started = after.playing
                && after.track.is_some()
                && (starts_a_track || after.track.as_ref().map(|t| t.0) != before.track.as_ref().map(|t| t.0));
            if started { change(true, playing(after)) } else { None }
        }
        (false, false) => None,
    }
}

impl Session {
    /// Whether the session is in a private session (as of its latest change).
    pub fn in_private_session(&self) -> bool {
        self.private_until_ms.is_some_and(|until| self.clock_ms() < until)
    }

    /// When the private session ends by itself, if one is on.
    pub fn private_session_ends_ms(&self) -> Option<u64> {
        self.private_until_ms
    }

    /// What friends may see of the session now.
    pub fn activity_view(&self) -> ActivityView {
        let online = self.devices().iter().any(|device| device.online);
        let current = self.current();
        ActivityView {
            shown: online && !self.in_private_session(),
            track: current
                .map(|c| (c.track.id, if c.from_queue { None } else { self.context().uri().map(str::to_string) })),
            playing: current.is_some_and(|c| c.is_playing),
        }
    }

    /// Starts (for `duration_ms` from `now`) or ends a private session; a change when it was
    /// not already so (starting one again moves its deadline).
    pub(super) fn set_private_session(&mut self, enabled: bool, duration_ms: u64, now: u64) -> bool {
        let until = enabled.then(|| now.saturating_add(duration_ms.max(1)));
        if until == self.private_until_ms {
            return false;
        }
        self.private_until_ms = until;
        true
    }

    /// Ends the private session if its deadline has passed at `now`.
    pub(super) fn end_private_session_if_due(&mut self, now: u64) -> bool {
        if self.private_until_ms.is_some_and(|until| now >= until) {
            self.private_until_ms = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::player::{Command, DeviceInfo, PlaySource, StartAt, TrackRef};
    use segue_protocol::DeviceType;

    fn view(shown: bool, track: Option<u128>, playing: bool) -> ActivityView {
        ActivityView { shown, track: track.map(|t| (Id::from_u128(t), Some("segue:album:x".into()))), playing }
    }

    #[test]
    fn friends_hear_of_a_new_track_coming_online_and_going_offline_and_nothing_else() {
        let now = 1_000;
        let started = activity_change(&view(true, Some(1), true), &view(true, Some(2), true), false, now).unwrap();
        assert_eq!((started.online, started.track_id), (true, Some(Id::from_u128(2))));
        assert_eq!(started.context_uri.as_deref(), Some("segue:album:x"));
        // The same track again is news only when a command restarted it.
        assert_eq!(activity_change(&view(true, Some(1), true), &view(true, Some(1), true), false, now), None);
        assert!(activity_change(&view(true, Some(1), true), &view(true, Some(1), true), true, now).is_some());
        // A pause, a seek, a paused new track: nothing.
        assert_eq!(activity_change(&view(true, Some(1), true), &view(true, Some(1), false), false, now), None);
        assert_eq!(activity_change(&view(true, Some(1), false), &view(true, Some(2), false), true, now), None);
        // Online: with what plays, if anything does.
        let online = activity_change(&view(false, Some(1), false), &view(true, Some(1), false), false, now).unwrap();
        assert_eq!((online.online, online.track_id, online.timestamp_ms), (true, None, now));
        let online = activity_change(&view(false, None, false), &view(true, Some(3), true), true, now).unwrap();
        assert_eq!(online.track_id, Some(Id::from_u128(3)));
        // Offline (or private): the last track shown stays.
        let offline = activity_change(&view(true, Some(4), true), &view(false, Some(4), true), false, now).unwrap();
        assert_eq!((offline.online, offline.track_id), (false, Some(Id::from_u128(4))));
        // Hidden all along: nothing, whatever it plays.
        assert_eq!(activity_change(&view(false, Some(1), true), &view(false, Some(2), true), true, now), None);
    }

    fn device(id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: id.into(),
            device_type: DeviceType::Computer,
            can_play: true,
            supports_volume: true,
            volume_percent: None,
        }
    }

    fn track(n: u128) -> TrackRef {
        TrackRef { id: Id::from_u128(n), duration_ms: 200_000 }
    }

    /// Applies a command and answers what friends hear of it.
    fn apply(session: &mut Session, command: Command, now: u64) -> Option<ActivityChange> {
        let starts = matches!(command, Command::Play { source: Some(_), .. } | Command::Next | Command::Previous);
        let before = session.activity_view();
        let applied = session.apply(None, command, now, 7).unwrap();
        let after = session.activity_view();
        applied.changed.then(|| activity_change(&before, &after, starts, now)).flatten()
    }

    #[test]
    fn a_private_session_hides_the_user_until_it_ends_or_its_deadline_passes() {
        let mut session = Session::new(None);
        let attach = Command::Attach { device: device("a"), connection: 1, last_seq: None };
        assert!(apply(&mut session, attach, 10).is_some_and(|change| change.online));
        let play = |n| Command::Play {
            device_id: Some("a".into()),
            source: Some(PlaySource { context_uri: None, tracks: vec![track(n)], start: StartAt::Beginning }),
            position_ms: None,
        };
        assert!(apply(&mut session, play(1), 20).is_some_and(|change| change.track_id == Some(Id::from_u128(1))));

        let hide = Command::PrivateSession { enabled: true, duration_ms: 1_000 };
        let hidden = apply(&mut session, hide, 30).unwrap();
        assert_eq!((hidden.online, hidden.track_id), (false, Some(Id::from_u128(1))), "friends see them go");
        assert!(session.in_private_session());
        assert!(session.to_wire().devices.iter().all(|d| d.is_private_session));
        assert_eq!(apply(&mut session, play(2), 40), None, "private listening is nobody's business");

        assert!(!session.apply(None, Command::EndPrivateSessionIfDue, 1_029, 0).unwrap().changed, "not yet");
        let back = apply(&mut session, Command::EndPrivateSessionIfDue, 1_030).unwrap();
        assert_eq!((back.online, back.track_id), (true, Some(Id::from_u128(2))));
        assert!(!session.in_private_session());
        assert!(session.to_wire().devices.iter().all(|d| !d.is_private_session));

        let hide = Command::PrivateSession { enabled: true, duration_ms: PRIVATE_SESSION_MS };
        assert!(apply(&mut session, hide, 2_000).is_some_and(|change| !change.online));
        assert!(
            !session
                .apply(None, Command::PrivateSession { enabled: true, duration_ms: PRIVATE_SESSION_MS }, 2_000, 0)
                .unwrap()
                .changed
        );
        let shown = apply(&mut session, Command::PrivateSession { enabled: false, duration_ms: 0 }, 3_000).unwrap();
        assert!(shown.online, "ending it shows them at once");
        let detach = Command::Detach { device_id: "a".into(), connection: 1 };
        assert!(apply(&mut session, detach, 4_000).is_some_and(|change| !change.online));
    }

    #[test]
    fn a_private_session_outlives_its_snapshot_and_older_snapshots_are_not_private() {
        let mut session = Session::new(None);
        session.apply(None, Command::PrivateSession { enabled: true, duration_ms: 60_000 }, 10, 0).unwrap();
        let bytes = crate::player::snapshot::encode(&session).unwrap();
        let loaded = crate::player::snapshot::decode(&bytes).unwrap();
        assert!(loaded.in_private_session());
        assert_eq!(loaded.private_session_ends_ms(), Some(60_010));
        // A snapshot of a version before private sessions lacks the field: not private.
        let value: rmpv::Value = rmp_serde::from_slice(&bytes).unwrap();
        let rmpv::Value::Map(mut map) = value else { panic!("a map") };
        map.retain(|(key, _)| key.as_str() != Some("private_until_ms"));
        let older = rmp_serde::to_vec(&rmpv::Value::Map(map)).unwrap();
        assert!(!crate::player::snapshot::decode(&older).unwrap().in_private_session());
    }
}
