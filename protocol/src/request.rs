//! The typed bodies of client requests (protocol §3 and §5), and their validation. A body that
//! fails here is a `BAD_REQUEST` reply; the connection stays open.

use serde::{Deserialize, Serialize};

use crate::state::{DeviceType, RepeatMode};

/// Longest `uris` list one `play` may carry.
pub const MAX_PLAY_URIS: usize = 1_000;
/// Longest accepted id, URI or name string.
pub const MAX_ID_CHARS: usize = 64;

/// One parsed client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Hello(Hello),
    Play(Play),
    Pause,
    Resume,
    Seek(Seek),
    Next,
    Previous,
    Shuffle(Shuffle),
    Repeat(Repeat),
    Volume(Volume),
    QueueAdd(QueueAdd),
    Transfer(Transfer),
    Progress(Progress),
    TrackEnded(TrackEnded),
    Ping,
    /// Segue's own: renew the access token of a live connection, so it is not closed with
    /// 4003 when the token it connected with expires.
    Auth(Auth),
    /// §6: follow a playlist's edits.
    PlaylistSubscribe(crate::playlist::PlaylistTarget),
    PlaylistUnsubscribe(crate::playlist::PlaylistTarget),
    PlaylistEdit(crate::playlist::PlaylistEdit),
    /// §6: the followed users' activity now, and `friend_activity` events from then on.
    ActivitySubscribe,
}

impl Request {
    /// The wire name of this request's `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Request::Hello(_) => "hello",
            Request::Play(_) => "play",
            Request::Pause => "pause",
            Request::Resume => "resume",
            Request::Seek(_) => "seek",
            Request::Next => "next",
            Request::Previous => "previous",
            Request::Shuffle(_) => "shuffle",
            Request::Repeat(_) => "repeat",
            Request::Volume(_) => "volume",
            Request::QueueAdd(_) => "queue_add",
            Request::Transfer(_) => "transfer",
            Request::Progress(_) => "progress",
            Request::TrackEnded(_) => "track_ended",
            Request::Ping => "ping",
            Request::Auth(_) => "auth",
            Request::PlaylistSubscribe(_) => "playlist_subscribe",
            Request::PlaylistUnsubscribe(_) => "playlist_unsubscribe",
            Request::PlaylistEdit(_) => "playlist_edit",
            Request::ActivitySubscribe => "activity_subscribe",
        }
    }
}

/// Checks the fields of a body after serde has given it its types.
pub trait Validate {
    fn validate(&self) -> Result<(), String>;
}

/// `hello`: the first frame of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub device_id: String,
    pub name: String,
    pub device_type: DeviceType,
    pub can_play: bool,
    pub supports_volume: bool,
    #[serde(default)]
    pub volume_percent: Option<u8>,
    #[serde(default)]
    pub last_seq: Option<u64>,
}

/// True for a valid device id: 1..64 chars of `[A-Za-z0-9_.-]`.
pub fn is_valid_device_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn check_percent(field: &str, value: Option<u8>) -> Result<(), String> {
    match value {
        Some(v) if v > 100 => Err(format!("{field} must be within 0..100, got {v}")),
        _ => Ok(()),
    }
}

fn check_text(field: &str, value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_ID_CHARS {
        return Err(format!("{field} must be 1..{MAX_ID_CHARS} characters, got {chars}"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

impl Validate for Hello {
    fn validate(&self) -> Result<(), String> {
        if !is_valid_device_id(&self.device_id) {
            return Err("device_id must be 1..64 characters of [A-Za-z0-9_.-]".into());
        }
        check_text("name", &self.name)?;
        check_percent("volume_percent", self.volume_percent)?;
        if self.last_seq.is_some_and(|seq| seq > MAX_SEQ) {
            return Err(format!("last_seq must be at most {MAX_SEQ}"));
        }
        Ok(())
    }
}

/// The largest `seq` there is: 2^53 - 1, the largest integer every client (a browser's
/// JavaScript numbers included) holds exactly. A session's `seq` never reaches it.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// Where `play` starts within its context or uris.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `play`: start playback of uris, of a context, or resume what is there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Play {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Offset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl Validate for Play {
    fn validate(&self) -> Result<(), String> {
        if self.uris.is_some() && self.context_uri.is_some() {
            return Err("give uris or context_uri, not both".into());
        }
        if let Some(uris) = &self.uris {
            if uris.is_empty() {
                return Err("uris must not be empty".into());
            }
            if uris.len() > MAX_PLAY_URIS {
                return Err(format!("at most {MAX_PLAY_URIS} uris, got {}", uris.len()));
            }
        }
        if let Some(offset) = &self.offset {
            if offset.position.is_some() == offset.uri.is_some() {
                return Err("offset takes exactly one of position and uri".into());
            }
            if self.uris.is_none() && self.context_uri.is_none() {
                return Err("offset needs uris or context_uri".into());
            }
        }
        if let Some(device_id) = &self.device_id
            && !is_valid_device_id(device_id)
        {
            return Err("device_id must be 1..64 characters of [A-Za-z0-9_.-]".into());
        }
        Ok(())
    }
}

/// `seek`: move within the track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seek {
    pub position_ms: u32,
}

/// `shuffle`: turn shuffle on or off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shuffle {
    pub state: bool,
}

/// `repeat`: set the repeat mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub state: RepeatMode,
}

/// `volume`: the volume of the target device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub percent: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl Validate for Volume {
    fn validate(&self) -> Result<(), String> {
        check_percent("percent", Some(self.percent))
    }
}

/// `queue_add`: append to the user queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAdd {
    pub uri: String,
}

/// `transfer`: hand playback over to another device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play: Option<bool>,
}

/// `progress`: the active device corrects drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub track_id: String,
    pub position_ms: u32,
    pub is_playing: bool,
}

/// `track_ended`: the active device finished the track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackEnded {
    pub track_id: String,
}

/// `auth` (Segue's own): a fresh access token for this connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    pub access_token: String,
}

macro_rules! no_validation {
    ($($ty:ty),*) => { $(impl Validate for $ty { fn validate(&self) -> Result<(), String> { Ok(()) } })* };
}
no_validation!(Seek, Shuffle, Repeat, QueueAdd, Transfer, Progress, TrackEnded, Auth);

/// The reply body of every command that may change the state: the session's `seq` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqReply {
    pub seq: u64,
}

/// The reply body of `ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingReply {
    pub server_time_ms: u64,
}
