//! The command mix: what a simulated device asks Segue for next, chosen from the last state
//! the user's devices received so that almost every command changes the state (and so makes
//! a `state` event to measure), and the encoding of a request into a frame.

use rand::Rng;
use rand::seq::IndexedRandom;
use segue::reproducible::SeededRng;
use segue_protocol::Request;
use segue_protocol::envelope::encode_request;
use segue_protocol::request::{Play, Repeat, Seek, Shuffle, Transfer, Volume};
use segue_protocol::state::{Playback, RepeatMode, SessionState};
use serde::Serialize;

/// The mix, in percent: seek, volume, shuffle, repeat, transfer; pause or resume takes the rest.
const SEEK: u64 = 30;
const VOLUME: u64 = 20;
const SHUFFLE: u64 = 15;
const REPEAT: u64 = 10;
const TRANSFER: u64 = 10;

/// The next command for a user whose last known state is `state`; `tracks` is what to play
/// when nothing plays.
pub fn choose(state: &SessionState, tracks: &[String], rng: &mut SeededRng) -> Request {
    let (Some(playback), Some(active)) = (&state.playback, &state.active_device_id) else {
        return Request::Play(Play {
            uris: Some(tracks.to_vec()),
            device_id: state.devices.iter().find(|d| d.online && d.can_play).map(|d| d.device_id.clone()),
            ..Play::default()
        });
    };
    let mut roll = rng.random_range(0..100);
    if roll < SEEK {
        return seek(playback, rng);
    }
    roll -= SEEK;
    if roll < VOLUME {
        let controllable: Vec<_> = state.devices.iter().filter(|d| d.online && d.supports_volume).collect();
        let Some(device) = controllable.choose(rng) else {
            return seek(playback, rng);
        };
        let mut percent = rng.random_range(0..=100);
        if Some(percent) == device.volume_percent {
            percent = (percent + 1) % 101;
        }
        return Request::Volume(Volume { percent, device_id: Some(device.device_id.clone()) });
    }
    roll -= VOLUME;
    if roll < SHUFFLE {
        return Request::Shuffle(Shuffle { state: !playback.shuffle });
    }
    roll -= SHUFFLE;
    if roll < REPEAT {
        let state = match playback.repeat {
            RepeatMode::Off => RepeatMode::Context,
            RepeatMode::Context => RepeatMode::Track,
            RepeatMode::Track => RepeatMode::Off,
        };
        return Request::Repeat(Repeat { state });
    }
    roll -= REPEAT;
    if roll < TRANSFER {
        let targets: Vec<_> =
            state.devices.iter().filter(|d| d.online && d.can_play && &d.device_id != active).collect();
        let Some(target) = targets.choose(rng) else {
            return seek(playback, rng);
        };
        return Request::Transfer(Transfer { device_id: target.device_id.clone(), play: None });
    }
    if playback.is_playing { Request::Pause } else { Request::Resume }
}

/// A seek to a random position within the track.
fn seek(playback: &Playback, rng: &mut SeededRng) -> Request {
    let position_ms = rng.random_range(0..playback.duration_ms.max(1));
    Request::Seek(Seek { position_ms })
}

/// The frame of `request` with this id.
pub fn encode(request: &Request, id: u32) -> Vec<u8> {
    #[derive(Serialize)]
    struct Empty {}
    let kind = request.type_name();
    match request {
        Request::Hello(body) => encode_request(kind, id, body),
        Request::Play(body) => encode_request(kind, id, body),
        Request::Seek(body) => encode_request(kind, id, body),
        Request::Shuffle(body) => encode_request(kind, id, body),
        Request::Repeat(body) => encode_request(kind, id, body),
        Request::Volume(body) => encode_request(kind, id, body),
        Request::QueueAdd(body) => encode_request(kind, id, body),
        Request::Transfer(body) => encode_request(kind, id, body),
        Request::Progress(body) => encode_request(kind, id, body),
        Request::TrackEnded(body) => encode_request(kind, id, body),
        Request::Auth(body) => encode_request(kind, id, body),
        Request::PlaylistSubscribe(body) | Request::PlaylistUnsubscribe(body) => encode_request(kind, id, body),
        Request::PlaylistEdit(body) => encode_request(kind, id, body),
        Request::Pause | Request::Resume | Request::Next | Request::Previous | Request::Ping => {
            encode_request(kind, id, &Empty {})
        }
        Request::ActivitySubscribe => encode_request(kind, id, &Empty {}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use segue::reproducible::seeded_rng;
    use segue_protocol::ClientFrame;
    use segue_protocol::state::{DeviceState, DeviceType, QueueView};

    fn device(id: &str, supports_volume: bool) -> DeviceState {
        DeviceState {
            device_id: id.into(),
            name: id.into(),
            device_type: DeviceType::Computer,
            is_active: id == "a",
            online: true,
            can_play: true,
            supports_volume,
            volume_percent: Some(50),
            is_private_session: false,
        }
    }

    fn playing() -> SessionState {
        SessionState {
            seq: 3,
            active_device_id: Some("a".into()),
            devices: vec![device("a", true), device("b", false), device("c", true)],
            playback: Some(Playback {
                track_id: "t1".into(),
                context_uri: None,
                duration_ms: 200_000,
                is_playing: true,
                position_ms: 0,
                timestamp_ms: 0,
                shuffle: false,
                repeat: RepeatMode::Off,
            }),
            queue: QueueView::default(),
            skips: None,
        }
    }

    #[test]
    fn nothing_playing_means_play_on_a_device_that_can() {
        let mut state = playing();
        state.playback = None;
        state.active_device_id = None;
        state.devices[0].online = false;
        let tracks = vec!["t1".to_string(), "t2".to_string()];
        let Request::Play(play) = choose(&state, &tracks, &mut seeded_rng(1)) else {
            panic!("expected play");
        };
        assert_eq!(play.uris, Some(tracks));
        assert_eq!(play.device_id.as_deref(), Some("b"));
    }

    #[test]
    fn every_command_changes_the_state_it_was_chosen_from() {
        let state = playing();
        let mut rng = seeded_rng(42);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..2_000 {
            let request = choose(&state, &[], &mut rng);
            kinds.insert(request.type_name());
            match request {
                Request::Seek(seek) => assert!(seek.position_ms < 200_000),
                Request::Volume(volume) => {
                    let target = volume.device_id.expect("a named device");
                    assert_ne!(target, "b", "b has no volume control");
                    assert_ne!(volume.percent, 50);
                    assert!(volume.percent <= 100);
                }
                Request::Shuffle(shuffle) => assert!(shuffle.state),
                Request::Repeat(repeat) => assert_eq!(repeat.state, RepeatMode::Context),
                Request::Transfer(transfer) => assert_ne!(transfer.device_id, "a"),
                Request::Pause => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        let expected = ["pause", "repeat", "seek", "shuffle", "transfer", "volume"];
        assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn a_paused_user_is_resumed() {
        let mut state = playing();
        if let Some(playback) = &mut state.playback {
            playback.is_playing = false;
        }
        let mut rng = seeded_rng(5);
        let resumed = (0..500).any(|_| choose(&state, &[], &mut rng) == Request::Resume);
        let paused = (0..500).any(|_| choose(&state, &[], &mut rng) == Request::Pause);
        assert!(resumed && !paused);
    }

    #[test]
    fn encoded_requests_decode_as_the_server_reads_them() {
        for request in [
            Request::Pause,
            Request::Seek(Seek { position_ms: 1234 }),
            Request::Volume(Volume { percent: 7, device_id: Some("c".into()) }),
            Request::Repeat(Repeat { state: RepeatMode::Track }),
        ] {
            let frame = ClientFrame::decode(&encode(&request, 9)).expect("an envelope");
            assert_eq!(frame.id, 9);
            assert_eq!(frame.request, Ok(request));
        }
    }
}
