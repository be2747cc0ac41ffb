//! `SessionState` (protocol §4): the whole truth about one user's playback, sent in `welcome`
//! and as the body of every `state` event.

use serde::{Deserialize, Serialize};

/// What kind of device a connection is. Unknown strings are refused at `hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    Computer,
    Smartphone,
    Tablet,
    Speaker,
    Tv,
    Automobile,
    GameConsole,
    Smartwatch,
    Unknown,
}

impl DeviceType {
    pub const ALL: [DeviceType; 9] = [
        DeviceType::Computer,
        DeviceType::Smartphone,
        DeviceType::Tablet,
        DeviceType::Speaker,
        DeviceType::Tv,
        DeviceType::Automobile,
        DeviceType::GameConsole,
        DeviceType::Smartwatch,
        DeviceType::Unknown,
    ];

    /// The name the Web API gives this type in a device object (`"Smartphone"`, `"TV"`, …).
    pub const fn web_api_name(self) -> &'static str {
        match self {
            DeviceType::Computer => "Computer",
            DeviceType::Smartphone => "Smartphone",
            DeviceType::Tablet => "Tablet",
            DeviceType::Speaker => "Speaker",
            DeviceType::Tv => "TV",
            DeviceType::Automobile => "Automobile",
            DeviceType::GameConsole => "GameConsole",
            DeviceType::Smartwatch => "Smartwatch",
            DeviceType::Unknown => "Unknown",
        }
    }
}

/// Repeat mode of the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatMode {
    #[default]
    Off,
    Context,
    Track,
}

impl RepeatMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            RepeatMode::Off => "off",
            RepeatMode::Context => "context",
            RepeatMode::Track => "track",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "off" => Some(RepeatMode::Off),
            "context" => Some(RepeatMode::Context),
            "track" => Some(RepeatMode::Track),
            _ => None,
        }
    }
}

/// One device of the user, as every other device sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub device_id: String,
    pub name: String,
    pub device_type: DeviceType,
    pub is_active: bool,
    pub online: bool,
    pub can_play: bool,
    pub supports_volume: bool,
    pub volume_percent: Option<u8>,
    /// The user is in a private session (Segue's own field; absent from older servers).
    #[serde(default)]
    pub is_private_session: bool,
}

/// What is playing and where. The current position is
/// `position_ms + (now − timestamp_ms)` while `is_playing`, capped at `duration_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playback {
    pub track_id: String,
    pub context_uri: Option<String>,
    pub duration_ms: u32,
    pub is_playing: bool,
    pub position_ms: u32,
    pub timestamp_ms: u64,
    pub shuffle: bool,
    pub repeat: RepeatMode,
}

impl Playback {
    /// The position at wall-clock instant `now_ms`, as every client computes it.
    pub fn position_at(&self, now_ms: u64) -> u32 {
        if !self.is_playing {
            return self.position_ms;
        }
        let elapsed = now_ms.saturating_sub(self.timestamp_ms);
        let position = u64::from(self.position_ms).saturating_add(elapsed);
        position.min(u64::from(self.duration_ms)) as u32
    }
}

/// The upcoming and previous tracks, as track ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// What plays next: the user queue first, then the rest of the context; at most 50.
    pub next: Vec<String>,
    /// What `previous` would go back to, oldest first, the most recent last; at most 50.
    pub previous: Vec<String>,
}

/// The free tier's skip budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skips {
    pub limit: u32,
    pub used: u32,
    pub window_ms: u64,
    /// When `used` next goes down: the oldest counted skip leaves the window. Equal to the
    /// state's own time when nothing is counted.
    pub resets_at_ms: u64,
}

/// The whole session state of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    pub seq: u64,
    pub active_device_id: Option<String>,
    pub devices: Vec<DeviceState>,
    pub playback: Option<Playback>,
    pub queue: QueueView,
    pub skips: Option<Skips>,
}

/// The body of the `welcome` reply to `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub user_id: String,
    pub device_id: String,
    pub heartbeat_ms: u64,
    pub seq: u64,
    pub state: SessionState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_extrapolated_while_playing_and_capped_at_duration() {
        let mut playback = Playback {
            track_id: "t".into(),
            context_uri: None,
            duration_ms: 10_000,
            is_playing: true,
            position_ms: 1_000,
            timestamp_ms: 5_000,
            shuffle: false,
            repeat: RepeatMode::Off,
        };
        assert_eq!(playback.position_at(5_000), 1_000);
        assert_eq!(playback.position_at(7_500), 3_500);
        assert_eq!(playback.position_at(99_999), 10_000);
        assert_eq!(playback.position_at(0), 1_000, "a clock behind the timestamp adds nothing");
        playback.is_playing = false;
        assert_eq!(playback.position_at(99_999), 1_000);
    }

    #[test]
    fn enums_use_the_contract_spelling() {
        let text = |v: &dyn erased::Ser| v.name();
        assert_eq!(text(&DeviceType::GameConsole), "game_console");
        assert_eq!(text(&DeviceType::Tv), "tv");
        assert_eq!(text(&RepeatMode::Context), "context");
    }

    mod erased {
        pub trait Ser {
            fn name(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn name(&self) -> String {
                let bytes = rmp_serde::to_vec_named(self).unwrap();
                rmp_serde::from_slice::<String>(&bytes).unwrap()
            }
        }
    }
}
