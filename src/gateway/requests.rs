//! From a protocol request to a session command: parsing ids, resolving URIs against the
//! catalog. One place for both doors in: the socket and the REST player endpoints.

use segue_protocol::Request;
use segue_protocol::playlist::{EditOp, PlaylistEdit};

use crate::actors::playlists::EditRequest;
use crate::catalog::resolve::{Resolver, parse_track_ref};
use crate::domain::Viewer;
use crate::error::{AppError, AppResult};
use crate::ids::{Id, Uri};
use crate::player::Command;
use crate::player::DeviceInfo;
use crate::playlist::Op;

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
        Request::TrackEnded(ended) => {
            // The autoplay continuation, if any, is the caller's to add (it needs the recommender).
            Command::TrackEnded { track_id: parse_track_ref(&ended.track_id)?, continuation: None }
        }
        Request::ActivitySubscribe => {
            return Err(AppError::bad_request("`activity_subscribe` is not a session command"));
        }
        Request::Hello(_)
        | Request::Ping
        | Request::Auth(_)
        | Request::PlaylistSubscribe(_)
        | Request::PlaylistUnsubscribe(_)
        | Request::PlaylistEdit(_) => {
            return Err(AppError::bad_request(format!("`{}` is not a session command", request.type_name())));
        }
    })
}

/// The playlist a §6 request names: an id that cannot be one names no playlist (`NOT_FOUND`).
pub fn playlist_id(text: &str) -> AppResult<Id> {
    Id::parse(text).ok_or_else(|| AppError::not_found(format!("no playlist {text:?}")))
}

/// A `playlist_edit` as the playlist's actor takes it: tracks parsed (ids or track URIs, else
/// `BAD_REQUEST`), uids parsed (one that cannot be a uid names no item: it is ignored, as any
/// absent uid is).
pub fn playlist_edit_for(edit: PlaylistEdit) -> AppResult<(Id, EditRequest)> {
    let playlist = playlist_id(&edit.playlist_id)?;
    let ops = edit
        .ops
        .into_iter()
        .map(|op| {
            Ok(match op {
                EditOp::Add { track_ids, position } => Op::Add {
                    track_ids: track_ids
                        .iter()
                        .map(|text| {
                            Uri::parse_track(text)
                                .ok_or_else(|| AppError::bad_request(format!("{text:?} is not a track id or URI")))
                        })
                        .collect::<AppResult<_>>()?,
                    position,
                },
                EditOp::Remove { uids } => Op::Remove { uids: uids.iter().filter_map(|uid| Id::parse(uid)).collect() },
                // A uid that cannot be one is no item: a move of it changes nothing.
                EditOp::Move { uid, position } => match Id::parse(&uid) {
                    Some(uid) => Op::Move { uid, position },
                    None => Op::Remove { uids: Vec::new() },
                },
                EditOp::Rename { name } => Op::Rename { name },
            })
        })
        .collect::<AppResult<Vec<Op>>>()?;
    Ok((playlist, EditRequest::Ops { ops, base_snapshot_id: edit.base_snapshot_id, strict: edit.strict }))
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
