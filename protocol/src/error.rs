//! The one table of error codes: every layer says which [`ErrorCode`] it is, the socket puts it
//! in a `reply`, the HTTP layer turns it into `{"error": {"status", "message", "reason"}}` with
//! the status this table gives.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($name:literal, $status:literal), )*) => {
        /// A machine-readable error code (protocol §7), also the `reason` of a REST error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order of the contract.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it is written on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The HTTP status the REST API answers with this code.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }
        }
    };
}

error_codes! {
    /// The body of a request is wrong: a missing field, a wrong type, a value out of range.
    BadRequest = ("BAD_REQUEST", 400),
    /// The request `type` is not one the server knows.
    UnknownType = ("UNKNOWN_TYPE", 400),
    /// No valid token.
    Unauthorized = ("UNAUTHORIZED", 401),
    /// The resource exists but this user may not do that to it.
    Forbidden = ("FORBIDDEN", 403),
    /// No such resource (or one this user may not see).
    NotFound = ("NOT_FOUND", 404),
    /// The command needs an active device and there is none.
    NoActiveDevice = ("NO_ACTIVE_DEVICE", 404),
    /// Only the active device may send this.
    NotActiveDevice = ("NOT_ACTIVE_DEVICE", 403),
    /// No device with that id is known for this user.
    DeviceNotFound = ("DEVICE_NOT_FOUND", 404),
    /// The device is offline or cannot play.
    DeviceNotControllable = ("DEVICE_NOT_CONTROLLABLE", 403),
    /// The device does not support volume control.
    VolumeControlDisallow = ("VOLUME_CONTROL_DISALLOW", 403),
    /// There is no next track.
    NoNextTrack = ("NO_NEXT_TRACK", 403),
    /// There is no previous track.
    NoPrevTrack = ("NO_PREV_TRACK", 403),
    /// Playback is already paused.
    AlreadyPaused = ("ALREADY_PAUSED", 403),
    /// Playback is already playing.
    AlreadyPlaying = ("ALREADY_PLAYING", 403),
    /// There is nothing to resume.
    NothingToPlay = ("NOTHING_TO_PLAY", 404),
    /// The free tier's skip budget is spent; `retry_after_ms` says when one returns.
    SkipLimit = ("SKIP_LIMIT", 403),
    /// Premium only.
    PremiumRequired = ("PREMIUM_REQUIRED", 403),
    /// Not licensed in the user's country.
    TrackUnavailable = ("TRACK_UNAVAILABLE", 451),
    /// The base snapshot is not the current one.
    Conflict = ("CONFLICT", 409),
    /// Too many requests; `retry_after_ms` says when to try again.
    RateLimited = ("RATE_LIMITED", 429),
    /// The user already has the maximum number of connected devices.
    TooManyDevices = ("TOO_MANY_DEVICES", 429),
    /// A dependency is down; retry soon.
    Unavailable = ("UNAVAILABLE", 503),
    /// A fault of the server's own.
    Internal = ("INTERNAL", 500),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `error` object of a failed reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_ms: None }
    }

    pub fn with_retry_after(mut self, retry_after_ms: u64) -> Self {
        self.retry_after_ms = Some(retry_after_ms);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_wire_name() {
        for &code in ErrorCode::ALL {
            let encoded = rmp_serde::to_vec_named(&code).unwrap();
            let decoded: ErrorCode = rmp_serde::from_slice(&encoded).unwrap();
            assert_eq!(decoded, code);
            assert_eq!(format!("\"{}\"", code.as_str()), format!("{:?}", code.as_str()));
        }
        assert_eq!(ErrorCode::ALL.len(), 23, "the contract lists 23 codes");
    }

    #[test]
    fn the_web_api_statuses_hold() {
        assert_eq!(ErrorCode::NoActiveDevice.http_status(), 404);
        assert_eq!(ErrorCode::PremiumRequired.http_status(), 403);
        assert_eq!(ErrorCode::TrackUnavailable.http_status(), 451);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
    }
}
