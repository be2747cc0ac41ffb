//! From a protocol request to a session command: parsing ids, resolving URIs against the
//! catalog. One place for both doors in: the socket and the REST player endpoints.

use segue_protocol::Request;

use crate::catalog::resolve::{Resolver, parse_track_ref};
use crate::domain::Viewer;
use crate::error::{AppError, AppResult};
use crate::player::Command;
use crate::player::DeviceInfo;

/// The session command for a request; `BAD_REQUEST` for requests that are not commands.
pub async fn command_for(request: Request, resolver: &Resolver, user: &Viewer) -> AppResult<Command> {
    Ok(match request {
        Request::Play(play) => {
            let source = resolver.play_source(&play, user).await?;
            Command::Play { device_id: play.device_id, source, position_ms: play.position_ms }
        }
        Request::Pause => Command::Pause,
        Request::Resume => Command::Resume,
        Request::Seek(seek) => Command::Seek { position_ms: seek.position_ms },
        Request::Next => Command::Next,
        Request::Previous => Command::Previous,
        Request::Shuffle(shuffle) => Command::Shuffle { on: shuffle.state },
        Request::Repeat(repeat) => Command::Repeat { mode: repeat.state },
        Request::Volume(volume) => Command::Volume { percent: volume.percent, device_id: volume.device_id },
        Request::QueueAdd(queue_add) => {
            Command::QueueAdd { track: resolver.playable(&queue_add.uri, &user.country).await? }
        }
        Request::Transfer(transfer) => Command::Transfer { device_id: transfer.device_id, play: transfer.play },
        Request::Progress(progress) => Command::Progress {
            track_id: parse_track_ref(&progress.track_id)?,
            position_ms: progress.position_ms,
            is_playing: progress.is_playing,
        },
        Request::TrackEnded(ended) => Command::TrackEnded { track_id: parse_track_ref(&ended.track_id)? },
        Request::ActivitySubscribe => {
            return Err(AppError::bad_request("`activity_subscribe` is not a session command"));
        }
        Request::Hello(_) | Request::Ping | Request::Auth(_) => {
            return Err(AppError::bad_request(format!("`{}` is not a session command", request.type_name())));
        }
    })
}

/// What a device says of itself at `hello`.
pub fn device_info(hello: &segue_protocol::request::Hello) -> DeviceInfo {
    DeviceInfo {
        id: hello.device_id.clone(),
        name: hello.name.clone(),
        device_type: hello.device_type,
        can_play: hello.can_play,
        supports_volume: hello.supports_volume,
        volume_percent: hello.volume_percent,
    }
}
