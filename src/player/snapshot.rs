//! The session's durable form: the bytes a [`Session`] is stored as (in the store and in Redis)
//! and read back from, by this version of Segue and by the versions before and after it.
//!
//! **Format 2** (this version, [`SNAPSHOT_FORMAT`]) is one MessagePack map with named fields:
//! `format`, then the session's own fields by name, every nested type a map by name too.
//! **Format 1** (Segue up to commit 69c7daf) was positional: the same types as arrays, fields in
//! declaration order, no version. `tests/fixtures/snapshot-69c7daf.msgpack` is one, written by
//! that code, and must always load.
//!
//! Reading ([`decode`]): an array is format 1 and is read by position (which is why the field
//! order of the session's types is frozen, new fields appended with `#[serde(default)]`); a map is
//! read by name whatever its `format` says: fields it lacks take their defaults, fields this
//! version does not know (written by a newer node) are skipped. Formats only ever add fields; a
//! change of meaning would take a new field name. The same holds in the other direction, which is
//! what makes a rolling upgrade work: format-1 code reads a format-2 snapshot by name and skips
//! `format` (serde reads a struct from a map as well as from an array), as a test below checks
//! against a frozen copy of the 69c7daf types.
//!
//! A snapshot that decodes is also checked ([`Session::check`]) before it is trusted.
//!
//! Encoding ([`encode`]) returns an error rather than empty bytes: a snapshot that cannot be
//! encoded is never written over a good one.

use serde::{Deserialize, Serialize};

use super::Session;

/// The format this version writes.
pub const SNAPSHOT_FORMAT: u16 = 2;

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot encode a session snapshot: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("unreadable session snapshot (format {format}): {error}")]
    Decode { format: u16, error: rmp_serde::decode::Error },
    #[error("inconsistent session snapshot (format {format}): {reason}")]
    Inconsistent { format: u16, reason: String },
}

impl crate::error::ProtocolError for SnapshotError {
    fn code(&self) -> segue_protocol::ErrorCode {
        segue_protocol::ErrorCode::Internal
    }
}

#[derive(Serialize)]
struct Written<'a> {
    format: u16,
    #[serde(flatten)]
    session: &'a Session,
}

/// The bytes of `session` in the current format.
pub fn encode(session: &Session) -> Result<Vec<u8>, SnapshotError> {
    Ok(rmp_serde::to_vec_named(&Written { format: SNAPSHOT_FORMAT, session })?)
}

/// The session in `bytes`, of any format (see the module's documentation).
pub fn decode(bytes: &[u8]) -> Result<Session, SnapshotError> {
    let session: Session =
        rmp_serde::from_slice(bytes).map_err(|error| SnapshotError::Decode { format: format_of(bytes), error })?;
    // Bytes that decode are not yet a session the state machine can run on: a corrupt one could
    // name a cursor past its tracks.
    session.check().map_err(|reason| SnapshotError::Inconsistent { format: format_of(bytes), reason })?;
    Ok(session)
}

/// The format of a snapshot: 1 for a positional one, else what its `format` field says (0 when
/// it says nothing or cannot be read).
pub fn format_of(bytes: &[u8]) -> u16 {
    #[derive(Deserialize)]
    struct Format {
        #[serde(default)]
        format: u16,
    }
    match bytes.first() {
        // fixarray, array 16, array 32
        Some(0x90..=0x9f | 0xdc | 0xdd) => 1,
        _ => rmp_serde::from_slice::<Format>(bytes).map_or(0, |f| f.format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;
    use crate::player::{Command, DeviceInfo, PlaySource, SkipPolicy, StartAt, TrackRef};
    use segue_protocol::{DeviceType, RepeatMode, SessionState};

    const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/snapshot-69c7daf.msgpack");
    const FIXTURE_JSON: &str = include_str!("../../tests/fixtures/snapshot-69c7daf.json");

    fn fixture_state() -> SessionState {
        let meta: serde_json::Value = serde_json::from_str(FIXTURE_JSON).unwrap();
        serde_json::from_value(meta["welcome_state_after_tablet"].clone()).unwrap()
    }

    #[test]
    fn a_snapshot_written_by_69c7daf_loads_with_everything_in_it() {
        assert_eq!(format_of(FIXTURE), 1);
        let session = decode(FIXTURE).expect("the old snapshot loads");
        // The wire state is computed from the session's own clock, so it is exactly what the
        // old server showed: devices, playback, position, queue both ways, shuffle, repeat, skips.
        assert_eq!(session.to_wire(), fixture_state());
        assert_eq!(session.skip_log().counted().count(), 2);
        assert_eq!(session.user_queue().len(), 1);
        assert_eq!(session.devices().len(), 4);
    }

    #[test]
    fn the_old_snapshot_rewritten_in_the_new_format_is_the_same_session() {
        let old = decode(FIXTURE).unwrap();
        let bytes = encode(&old).unwrap();
        assert_eq!(format_of(&bytes), SNAPSHOT_FORMAT);
        assert_eq!(decode(&bytes).unwrap(), old);
    }

    fn busy_session() -> Session {
        let mut session = Session::new(Some(SkipPolicy { limit: 5, window_ms: 60_000 }));
        let device = |id: &str, can_play| DeviceInfo {
            id: id.into(),
            name: format!("The {id}"),
            device_type: DeviceType::Speaker,
            can_play,
            supports_volume: true,
            volume_percent: Some(40),
        };
        let tracks: Vec<TrackRef> =
            (1..=6).map(|n| TrackRef { id: Id::from_u128(n), duration_ms: 200_000 + n as u32 }).collect();
        let commands = [
            Command::Attach { device: device("speaker", true), connection: 11, last_seq: None },
            Command::Attach { device: device("phone", false), connection: 12, last_seq: None },
            Command::Play {
                device_id: Some("speaker".into()),
                source: Some(PlaySource {
                    context_uri: Some("segue:album:0000000000000000000001".into()),
                    tracks,
                    start: StartAt::Index(2),
                }),
                position_ms: Some(1_000),
            },
            Command::Shuffle { on: true },
            Command::QueueAdd { track: TrackRef { id: Id::from_u128(99), duration_ms: 1_234 } },
            Command::Next,
            Command::Repeat { mode: RepeatMode::Track },
            Command::Seek { position_ms: 500 },
        ];
        for (n, command) in commands.into_iter().enumerate() {
            session.apply(Some("phone"), command, 1_000 + n as u64 * 10, 7).unwrap();
        }
        session
    }

    #[test]
    fn a_new_snapshot_round_trips_and_names_its_fields() {
        let session = busy_session();
        let bytes = encode(&session).unwrap();
        assert_eq!(decode(&bytes).unwrap(), session);
        let value: rmpv::Value = rmp_serde::from_slice(&bytes).unwrap();
        let keys: Vec<&str> = value.as_map().unwrap().iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys[0], "format");
        for key in ["seq", "devices", "current", "context", "user_queue", "skips", "playback"] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }

    #[test]
    fn fields_a_newer_node_added_are_skipped_and_fields_it_lacks_are_errors_only_when_required() {
        let session = busy_session();
        let value: rmpv::Value = rmp_serde::from_slice(&encode(&session).unwrap()).unwrap();
        let rmpv::Value::Map(mut map) = value else { panic!("a map") };
        map.push(("private_session".into(), true.into()));
        map[0].1 = 7.into();
        let newer = rmp_serde::to_vec(&rmpv::Value::Map(map.clone())).unwrap();
        assert_eq!(format_of(&newer), 7);
        assert_eq!(decode(&newer).unwrap(), session);
        // `seq` is never defaulted: a snapshot without it would send `seq` back to 0.
        map.retain(|(k, _)| k.as_str() != Some("seq"));
        let broken = rmp_serde::to_vec(&rmpv::Value::Map(map)).unwrap();
        assert!(matches!(decode(&broken), Err(SnapshotError::Decode { format: 7, .. })));
    }

    /// The session's types exactly as commit 69c7daf declared them: format-1 code.
    #[allow(dead_code, reason = "the frozen layout declares every field; the tests read some")]
    mod format_1_code {
        use std::collections::VecDeque;

        use segue_protocol::{DeviceType, RepeatMode};
        use serde::Deserialize;

        use crate::ids::Id;

        #[derive(Debug, Deserialize)]
        pub struct DeviceInfo {
            pub id: String,
            pub name: String,
            pub device_type: DeviceType,
            pub can_play: bool,
            pub supports_volume: bool,
            pub volume_percent: Option<u8>,
        }
        #[derive(Debug, Deserialize)]
        pub struct Device {
            pub info: DeviceInfo,
            pub online: bool,
            pub connection: u64,
            pub last_seen_ms: u64,
        }
        #[derive(Debug, Clone, Copy, Deserialize)]
        pub struct TrackRef {
            pub id: Id,
            pub duration_ms: u32,
        }
        #[derive(Debug, Deserialize)]
        pub struct Current {
            pub track: TrackRef,
            pub from_queue: bool,
            pub is_playing: bool,
            pub position_ms: u32,
            pub timestamp_ms: u64,
        }
        #[derive(Debug, Deserialize)]
        pub struct PlayContext {
            pub uri: Option<String>,
            pub tracks: Vec<TrackRef>,
            pub order: Option<Vec<u32>>,
            pub cursor: usize,
        }
        #[derive(Debug, Deserialize)]
        pub struct SkipPolicy {
            pub limit: u32,
            pub window_ms: u64,
        }
        #[derive(Debug, Deserialize)]
        pub struct SkipLog {
            pub policy: Option<SkipPolicy>,
            pub counted: VecDeque<u64>,
        }
        #[derive(Debug, Deserialize)]
        pub struct Session {
            pub seq: u64,
            pub clock_ms: u64,
            pub devices: Vec<Device>,
            pub active_device: Option<String>,
            pub current: Option<Current>,
            pub context: PlayContext,
            pub user_queue: VecDeque<TrackRef>,
            pub shuffle: bool,
            pub repeat: RepeatMode,
            pub skips: SkipLog,
        }
    }

    proptest::proptest! {
        /// A stored snapshot is read defensively: one with bytes flipped is refused or read,
        /// never a panic (an unreadable one starts the session afresh from its seq).
        #[test]
        fn corrupted_snapshots_never_panic(
            flips in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 1..8),
            positional in proptest::bool::ANY,
        ) {
            let mut session = decode(FIXTURE).unwrap();
            // With a playback accounted, so that flips reach stream counting's fields too.
            session.count_due_play(session.clock_ms() + 1_000);
            let mut bytes = if positional { FIXTURE.to_vec() } else { encode(&session).unwrap() };
            for (at, byte) in flips {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            let _ = format_of(&bytes);
            // One that is read is a session the state machine runs on.
            if let Ok(mut session) = decode(&bytes) {
                let now = session.clock_ms() + 1_000;
                for command in [Command::Next, Command::Previous, Command::Seek { position_ms: 10 }, Command::TrackEnded { continuation: None,
                    track_id: Id::from_u128(1),
                }] {
                    let _ = session.apply(Some("speaker-1"), command, now, 3);
                }
                let _ = session.to_wire();
                let _ = encode(&session).unwrap();
            }
        }
    }

    #[test]
    fn format_1_code_reads_a_format_2_snapshot() {
        let session = busy_session();
        let old: format_1_code::Session = rmp_serde::from_slice(&encode(&session).unwrap()).unwrap();
        assert_eq!(old.seq, session.seq());
        assert_eq!(old.clock_ms, session.clock_ms());
        assert_eq!(old.devices.len(), session.devices().len());
        assert_eq!(old.devices[0].info.id, session.devices()[0].info.id);
        assert_eq!(old.devices[1].connection, session.devices()[1].connection);
        assert_eq!(old.active_device.as_deref(), session.active_device_id());
        let (old_current, current) = (old.current.unwrap(), session.current().unwrap());
        assert_eq!(old_current.track.id, current.track.id);
        assert_eq!(old_current.position_ms, current.position_ms);
        assert_eq!(old.context.uri.as_deref(), session.context().uri());
        assert_eq!(old.context.tracks.len(), session.context().len());
        assert_eq!(old.context.cursor, session.context().cursor());
        assert!(old.context.order.is_some());
        assert_eq!(old.user_queue.len(), session.user_queue().len());
        assert_eq!(old.shuffle, session.shuffle());
        assert_eq!(old.repeat, session.repeat());
        assert_eq!(old.skips.counted.len(), session.skip_log().counted().count());
        assert_eq!(old.skips.policy.unwrap().limit, 5);
    }
}
