//! The session as devices see it: [`Session::to_wire`] builds the protocol's `SessionState`.

use segue_protocol::{DeviceState, Playback, QueueView, RepeatMode, SessionState, Skips};

use super::{QUEUE_VIEW_LEN, Session};

impl Session {
    /// The whole state as sent in `welcome` and in every `state` event.
    pub fn to_wire(&self) -> SessionState {
        let active = self.active_device_id();
        let devices = self
            .devices()
            .iter()
            .map(|device| DeviceState {
                device_id: device.info.id.clone(),
                name: device.info.name.clone(),
                device_type: device.info.device_type,
                is_active: active == Some(device.info.id.as_str()),
                online: device.online,
                can_play: device.info.can_play,
                supports_volume: device.info.supports_volume,
                volume_percent: device.info.volume_percent,
            })
            .collect();
        let playback = self.current().map(|current| Playback {
            track_id: current.track.id.to_string(),
            context_uri: if current.from_queue {
                None
            } else {
                self.context().uri().map(str::to_string)
            },
            duration_ms: current.track.duration_ms,
            is_playing: current.is_playing,
            position_ms: current.position_ms,
            timestamp_ms: current.timestamp_ms,
            shuffle: self.shuffle(),
            repeat: self.repeat(),
        });
        let wrap = self.repeat() == RepeatMode::Context;
        let next = self
            .user_queue()
            .chain(self.context().upcoming(wrap, QUEUE_VIEW_LEN))
            .take(QUEUE_VIEW_LEN)
            .map(|track| track.id.to_string())
            .collect();
        let from_queue = self.current().is_some_and(|c| c.from_queue);
        let previous = self
            .context()
            .played(from_queue, QUEUE_VIEW_LEN)
            .map(|track| track.id.to_string())
            .collect();
        let skips = self
            .skip_log()
            .usage(self.clock_ms())
            .map(|(policy, used, resets_at_ms)| Skips {
                limit: policy.limit,
                used,
                window_ms: policy.window_ms,
                resets_at_ms,
            });
        SessionState {
            seq: self.seq(),
            active_device_id: active.map(str::to_string),
            devices,
            playback,
            queue: QueueView { next, previous },
            skips,
        }
    }
}
