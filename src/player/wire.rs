//! The session as devices see it. [`Session::to_wire`] builds the protocol's owned
//! `SessionState` (for `welcome` and the REST API); [`Session::wire_view`] is the same state as
//! a borrowed view that serializes without copying a single string, used for the `state`
//! event encoded after every change. A property test checks that both encode byte for byte
//! the same.

use segue_protocol::{DeviceState, DeviceType, Playback, QueueView, RepeatMode, SessionState, Skips};
use serde::{Serialize, Serializer};

use super::context::TrackRef;
use super::{Current, Device, QUEUE_VIEW_LEN, Session};
use crate::ids::Id;

/// A sequence serialized from a cloneable iterator, without collecting it.
struct Seq<I>(I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

#[derive(Serialize)]
struct DeviceView<'a> {
    device_id: &'a str,
    name: &'a str,
    device_type: DeviceType,
    is_active: bool,
    online: bool,
    can_play: bool,
    supports_volume: bool,
    volume_percent: Option<u8>,
    is_private_session: bool,
}

#[derive(Serialize)]
struct PlaybackView<'a> {
    track_id: Id,
    context_uri: Option<&'a str>,
    duration_ms: u32,
    is_playing: bool,
    position_ms: u32,
    timestamp_ms: u64,
    shuffle: bool,
    repeat: RepeatMode,
}

#[derive(Serialize)]
#[serde(bound(serialize = "Seq<N>: Serialize, Seq<P>: Serialize"))]
struct QueueViewRef<N, P> {
    next: Seq<N>,
    previous: Seq<P>,
}

/// The `SessionState` of a session, borrowed. Field for field `SessionState`.
#[derive(Serialize)]
#[serde(bound(serialize = "Seq<D>: Serialize, Seq<N>: Serialize, Seq<P>: Serialize"))]
pub struct WireView<'a, D, N, P> {
    seq: u64,
    active_device_id: Option<&'a str>,
    devices: Seq<D>,
    playback: Option<PlaybackView<'a>>,
    queue: QueueViewRef<N, P>,
    skips: Option<Skips>,
}

fn track_id(track: &TrackRef) -> Id {
    track.id
}

impl Session {
    fn device_view<'a>(&'a self, device: &'a Device) -> DeviceView<'a> {
        DeviceView {
            device_id: &device.info.id,
            name: &device.info.name,
            device_type: device.info.device_type,
            is_active: self.active_device_id() == Some(device.info.id.as_str()),
            online: device.online,
            can_play: device.info.can_play,
            supports_volume: device.info.supports_volume,
            volume_percent: device.info.volume_percent,
            is_private_session: self.in_private_session(),
        }
    }

    fn playback_view<'a>(&'a self, current: &Current) -> PlaybackView<'a> {
        PlaybackView {
            track_id: current.track.id,
            context_uri: if current.from_queue { None } else { self.context().uri() },
            duration_ms: current.track.duration_ms,
            is_playing: current.is_playing,
            position_ms: current.position_ms,
            timestamp_ms: current.timestamp_ms,
            shuffle: self.shuffle(),
            repeat: self.repeat(),
        }
    }

    fn skips_view(&self) -> Option<Skips> {
        self.skip_log().usage(self.clock_ms()).map(|(policy, used, resets_at_ms)| Skips {
            limit: policy.limit,
            used,
            window_ms: policy.window_ms,
            resets_at_ms,
        })
    }

    /// What plays next: the user queue, then the rest of the context; at most 50.
    fn next_ids(&self) -> impl Iterator<Item = Id> + Clone + '_ {
        let wrap = self.repeat() == RepeatMode::Context;
        self.user_queue().chain(self.context().upcoming(wrap, QUEUE_VIEW_LEN)).take(QUEUE_VIEW_LEN).map(track_id)
    }

    /// What `previous` can reach, oldest first; at most 50.
    fn previous_ids(&self) -> impl Iterator<Item = Id> + Clone + '_ {
        let from_queue = self.current().is_some_and(|c| c.from_queue);
        self.context().played(from_queue, QUEUE_VIEW_LEN).map(track_id)
    }

    /// The whole state, borrowed: serializes exactly as [`Session::to_wire`]'s value does.
    pub fn wire_view(&self) -> impl Serialize + '_ {
        WireView {
            seq: self.seq(),
            active_device_id: self.active_device_id(),
            devices: Seq(self.devices().iter().map(|device| self.device_view(device))),
            playback: self.current().map(|current| self.playback_view(current)),
            queue: QueueViewRef { next: Seq(self.next_ids()), previous: Seq(self.previous_ids()) },
            skips: self.skips_view(),
        }
    }

    /// The whole state as sent in `welcome` and read by the REST API.
    pub fn to_wire(&self) -> SessionState {
        SessionState {
            seq: self.seq(),
            active_device_id: self.active_device_id().map(str::to_string),
            devices: self
                .devices()
                .iter()
                .map(|device| {
                    let view = self.device_view(device);
                    DeviceState {
                        device_id: view.device_id.to_string(),
                        name: view.name.to_string(),
                        device_type: view.device_type,
                        is_active: view.is_active,
                        online: view.online,
                        can_play: view.can_play,
                        supports_volume: view.supports_volume,
                        volume_percent: view.volume_percent,
                        is_private_session: view.is_private_session,
                    }
                })
                .collect(),
            playback: self.current().map(|current| {
                let view = self.playback_view(current);
                Playback {
                    track_id: view.track_id.to_string(),
                    context_uri: view.context_uri.map(str::to_string),
                    duration_ms: view.duration_ms,
                    is_playing: view.is_playing,
                    position_ms: view.position_ms,
                    timestamp_ms: view.timestamp_ms,
                    shuffle: view.shuffle,
                    repeat: view.repeat,
                }
            }),
            queue: QueueView {
                next: self.next_ids().map(|id| id.to_string()).collect(),
                previous: self.previous_ids().map(|id| id.to_string()).collect(),
            },
            skips: self.skips_view(),
        }
    }
}
