//! Friend activity (protocol §6): what a followed user plays now or played last, and whether
//! they are online. The body of a `friend_activity` event, an item of the `activity_subscribe`
//! reply and of `GET /v1/me/friends/activity`.

use serde::{Deserialize, Serialize};

/// One followed user's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendActivity {
    pub user_id: String,
    pub display_name: String,
    pub online: bool,
    /// The track they play now (or played last, when offline); `None` when nothing is known.
    pub track_id: Option<String>,
    pub context_uri: Option<String>,
    /// When this activity began (the track started, they came online or went offline).
    pub timestamp_ms: Option<u64>,
}

/// The reply to `activity_subscribe`, and the body of `GET /v1/me/friends/activity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Friends {
    pub friends: Vec<FriendActivity>,
}
