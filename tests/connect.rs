//! The Connect socket against a real server: handoff, remote control, the skip budget under
//! concurrency, reconnects, replaced connections, heartbeats, bad frames, rate limits, and the
//! REST player changing the same session.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use segue_protocol::close_code;
use segue_protocol::{ErrorCode, SessionState};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn active(state: &SessionState) -> Vec<&str> {
    state.devices.iter().filter(|d| d.is_active).map(|d| d.device_id.as_str()).collect()
}

fn error_code(frame: &segue_protocol::ServerFrame) -> ErrorCode {
    assert_eq!(frame.ok, Some(false), "expected an error reply, got {frame:?}");
    frame.error.as_ref().expect("an error body").code
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_hands_playback_over_at_the_same_position() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("listener");
    let tracks = server.track_ids(&token, 3);
    let (mut phone, welcome) = Device::connect(&server, &token, "phone", true).await;
    assert_eq!(welcome.state.devices.len(), 1);
    let (mut laptop, _) = Device::connect(&server, &token, "laptop", true).await;

    let play = phone.request("play", json!({"uris": tracks, "position_ms": 30_000})).await;
    let seq = reply_seq(&play);
    let playing = laptop.state_at(seq).await;
    assert_eq!(active(&playing), ["phone"]);
    let playback = playing.playback.clone().unwrap();
    assert_eq!(
        (playback.track_id.as_str(), playback.is_playing, playback.position_ms),
        (tracks[0].as_str(), true, 30_000)
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let transfer = phone.request("transfer", json!({"device_id": "laptop"})).await;
    let seq = reply_seq(&transfer);
    // The very state that makes the laptop active shows the phone inactive.
    let handed = laptop.state_at(seq).await;
    assert_eq!(active(&handed), ["laptop"]);
    assert_eq!(handed.active_device_id.as_deref(), Some("laptop"));
    let after = handed.playback.clone().unwrap();
    assert!(after.is_playing, "a transfer without `play` keeps playing");
    let carried = u64::from(after.position_ms) - 30_000;
    let elapsed = after.timestamp_ms - playback.timestamp_ms;
    assert!(carried.abs_diff(elapsed) <= 5, "position carried over: {carried} ms moved in {elapsed} ms");
    // Every state the phone saw along the way had at most one active device.
    let phone_view = phone.state_at(seq).await;
    assert_eq!(phone_view, handed, "every device gets the same state for a seq");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_control_drives_the_playing_device() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("remote-user");
    let tracks = server.track_ids(&token, 2);
    let (mut speaker, _) = Device::connect(&server, &token, "speaker", true).await;
    let (mut remote, _) = Device::connect(&server, &token, "remote", false).await;

    // A remote control cannot be the target when nothing plays.
    let refused = remote.request("play", json!({"uris": tracks})).await;
    assert_eq!(error_code(&refused), ErrorCode::NoActiveDevice);
    let refused = remote.request("play", json!({"uris": tracks, "device_id": "remote"})).await;
    assert_eq!(error_code(&refused), ErrorCode::DeviceNotControllable);

    let play = remote.request("play", json!({"uris": tracks, "device_id": "speaker"})).await;
    let state = speaker.state_at(reply_seq(&play)).await;
    assert_eq!(active(&state), ["speaker"]);

    let pause = remote.request("pause", json!({})).await;
    let paused = speaker.state_at(reply_seq(&pause)).await;
    assert!(!paused.playback.unwrap().is_playing);
    let again = remote.request("pause", json!({})).await;
    assert_eq!(error_code(&again), ErrorCode::AlreadyPaused);

    let volume = remote.request("volume", json!({"percent": 80})).await;
    let state = speaker.state_at(reply_seq(&volume)).await;
    assert_eq!(state.devices.iter().find(|d| d.device_id == "speaker").unwrap().volume_percent, Some(80));
    let unknown = remote.request("transfer", json!({"device_id": "nowhere"})).await;
    assert_eq!(error_code(&unknown), ErrorCode::DeviceNotFound);
    let not_active = remote.request("track_ended", json!({"track_id": tracks[0]})).await;
    assert_eq!(error_code(&not_active), ErrorCode::NotActiveDevice);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_of_a_free_user_skipping_at_once_never_pass_the_limit() {
    let server = TestServer::start(&["--skip-limit", "5", "--rate-limit", "1000"]);
    let (_, token) = server.register("free-user");
    let tracks = server.track_ids(&token, 30);
    let (mut phone, welcome) = Device::connect(&server, &token, "phone", true).await;
    let skips = welcome.state.skips.expect("a free user has a skip budget");
    assert_eq!((skips.limit, skips.used, skips.window_ms), (5, 0, 3_600_000));
    let (mut laptop, _) = Device::connect(&server, &token, "laptop", true).await;
    reply_seq(&phone.request("play", json!({"uris": tracks})).await);

    // Both fire 8 skips without waiting for replies, interleaved on the wire.
    let mut phone_ids = Vec::new();
    let mut laptop_ids = Vec::new();
    for _ in 0..8 {
        phone_ids.push(phone.send("next", json!({})).await);
        laptop_ids.push(laptop.send("next", json!({})).await);
    }
    let mut granted = 0;
    let mut refused = 0;
    for (device, ids) in [(&mut phone, phone_ids), (&mut laptop, laptop_ids)] {
        for id in ids {
            let reply = device.reply_to(id).await;
            if reply.ok == Some(true) {
                granted += 1;
            } else {
                let error = reply.error.unwrap();
                assert_eq!(error.code, ErrorCode::SkipLimit);
                let retry = error.retry_after_ms.expect("SKIP_LIMIT says when to retry");
                assert!(retry > 3_500_000 && retry <= 3_600_000, "retry_after_ms {retry}");
                refused += 1;
            }
        }
    }
    assert_eq!((granted, refused), (5, 11));
    let state = phone.request("ping", json!({})).await;
    assert_eq!(state.ok, Some(true));
    let latest = laptop.state_where(|s| s.skips.as_ref().is_some_and(|k| k.used == 5)).await;
    assert_eq!(latest.queue.previous.len(), 5, "five skips moved five tracks on");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconnecting_device_gets_the_whole_state_in_its_welcome() {
    let server = TestServer::start(&[]);
    let (user_id, token) = server.register("reconnector");
    let tracks = server.track_ids(&token, 3);
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    let (mut laptop, _) = Device::connect(&server, &token, "laptop", true).await;
    reply_seq(&phone.request("play", json!({"uris": tracks})).await);
    reply_seq(&phone.request("shuffle", json!({"state": true})).await);
    reply_seq(&phone.request("repeat", json!({"state": "context"})).await);
    let seen = laptop
        .state_where(|s| s.playback.as_ref().is_some_and(|p| p.repeat == segue_protocol::RepeatMode::Context))
        .await;

    laptop.socket.close(None).await.unwrap();
    let offline = phone.state_where(|s| s.devices.iter().any(|d| d.device_id == "laptop" && !d.online)).await;
    assert!(offline.seq > seen.seq);
    reply_seq(&phone.request("pause", json!({})).await);
    let latest = phone.state_where(|s| s.playback.as_ref().is_some_and(|p| !p.is_playing)).await;

    let socket = open_socket(&server, &token).await.unwrap();
    let mut laptop = Device { socket, device_id: "laptop".into(), next_id: 1, events: Default::default() };
    let mut hello = hello_body("laptop", true);
    hello["last_seq"] = json!(seen.seq);
    let reply = laptop.request("hello", hello).await;
    let welcome: segue_protocol::state::Welcome = reply.body_as().unwrap();
    assert_eq!(welcome.user_id, user_id);
    assert_eq!(welcome.seq, latest.seq + 1, "coming back online is a change of its own");
    assert_eq!(welcome.state.seq, welcome.seq);
    let playback = welcome.state.playback.unwrap();
    assert!(!playback.is_playing && playback.shuffle);
    assert_eq!(playback.repeat, segue_protocol::RepeatMode::Context);
    assert!(welcome.state.devices.iter().all(|d| d.online));
    assert_eq!(welcome.heartbeat_ms, 15_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_connection_of_a_device_replaces_the_first_with_4001() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("replacer");
    let (mut first, _) = Device::connect(&server, &token, "phone", true).await;
    let (mut watcher, _) = Device::connect(&server, &token, "laptop", true).await;
    let (mut second, welcome) = Device::connect(&server, &token, "phone", true).await;
    assert_eq!(first.expect_close().await.0, close_code::REPLACED);
    assert_eq!(welcome.state.devices.len(), 2);
    // The old connection's end does not take the device offline.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ping = second.request("ping", json!({})).await;
    assert_eq!(ping.ok, Some(true));
    let state = second.request("volume", json!({"percent": 10, "device_id": "phone"})).await;
    let state = watcher.state_at(reply_seq(&state)).await;
    assert!(state.devices.iter().all(|d| d.online), "{state:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_device_is_closed_and_shown_offline() {
    let server = TestServer::start(&["--heartbeat-ms", "200"]);
    let (_, token) = server.register("silent");
    let (mut watcher, welcome) = Device::connect(&server, &token, "laptop", true).await;
    assert_eq!(welcome.heartbeat_ms, 200);
    // This device says hello and then never reads again, so it answers no ping.
    let (mut silent, _) = Device::connect(&server, &token, "phone", true).await;
    let online = watcher.state_where(|s| s.devices.iter().any(|d| d.device_id == "phone" && d.online)).await;
    let started = tokio::time::Instant::now();
    let offline = watcher.state_where(|s| s.devices.iter().any(|d| d.device_id == "phone" && !d.online)).await;
    assert!(offline.seq > online.seq);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(400) && waited < Duration::from_secs(3), "offline after {waited:?}");
    // The watcher, which reads its socket (and so answers pings), stays connected.
    for _ in 0..8 {
        assert_eq!(watcher.request("ping", json!({})).await.ok, Some(true));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, reason) = silent.expect_close().await;
    assert_eq!((code, reason.as_str()), (close_code::NORMAL, "heartbeat timeout"));
}

/// A map whose body nests 60,000 arrays deep: small, and a stack-overflow attempt.
fn deeply_nested() -> Vec<u8> {
    let mut bytes = vec![0x83, 0xa4, b't', b'y', b'p', b'e', 0xa4, b'p', b'l', b'a', b'y', 0xa2, b'i', b'd', 0x07];
    bytes.extend([0xa4, b'b', b'o', b'd', b'y']);
    bytes.extend(std::iter::repeat_n(0x91, 60_000));
    bytes.push(0xc0);
    bytes
}

/// Opens a socket and sends one raw frame before any hello.
async fn first_frame_closes(
    server: &TestServer,
    token: &str,
    message: Message,
) -> (Vec<segue_protocol::ServerFrame>, u16) {
    let mut socket = open_socket(server, token).await.unwrap();
    socket.send(message).await.unwrap();
    frames_until_close(&mut socket).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_frame_gets_its_answer_and_touches_no_one_else() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("target");
    let (_, other_token) = server.register("bystander");
    let (mut device, _) = Device::connect(&server, &token, "phone", true).await;
    let (mut sibling, _) = Device::connect(&server, &token, "laptop", true).await;
    let (mut stranger, _) = Device::connect(&server, &other_token, "tv", true).await;

    // Bodies that are wrong: BAD_REQUEST, and the connection stays open.
    for (kind, body) in [
        ("seek", json!({})),
        ("seek", json!({"position_ms": "soon"})),
        ("seek", json!({"position_ms": -5})),
        ("seek", json!({"position_ms": 1u64 << 40})),
        ("volume", json!({"percent": 101})),
        ("repeat", json!({"state": "always"})),
        ("play", json!({"uris": []})),
        ("play", json!({"uris": ["not-a-uri"]})),
        ("play", json!({"context_uri": "segue:track:0000000000000000000000"})),
        ("queue_add", json!({"uri": "spotify:track:!!"})),
        ("transfer", json!({"device_id": 7})),
        ("hello", hello_body("phone", true)),
    ] {
        let reply = device.request(kind, body.clone()).await;
        assert_eq!(error_code(&reply), ErrorCode::BadRequest, "{kind} {body}");
    }
    let unknown = device.request("moonwalk", json!({})).await;
    assert_eq!(error_code(&unknown), ErrorCode::UnknownType);
    assert!(unknown.error.unwrap().message.contains("moonwalk"));
    let missing = device.request("play", json!({"uris": ["segue:track:0000000000000000000000"]})).await;
    assert_eq!(error_code(&missing), ErrorCode::NotFound);

    // Frames that are not envelopes close the connection, after one error reply with id 0.
    let too_big = Message::Binary(vec![0x80; segue_protocol::MAX_FRAME_BYTES + 1].into());
    for (message, expected) in [
        (Message::Text("{\"type\":\"hello\"}".into()), close_code::POLICY),
        (Message::Binary(vec![0xc1, 0x00].into()), close_code::INVALID_PAYLOAD),
        (Message::Binary(rmp_serde::to_vec(&[1, 2, 3]).unwrap().into()), close_code::INVALID_PAYLOAD),
        (Message::Binary(rmp_serde::to_vec("hello").unwrap().into()), close_code::INVALID_PAYLOAD),
        (too_big, close_code::TOO_BIG),
        (Message::Binary(deeply_nested().into()), close_code::INVALID_PAYLOAD),
    ] {
        let mut socket = open_socket(&server, &token).await.unwrap();
        let hello = segue_protocol::envelope::encode_request("hello", 1, &hello_body("probe", true));
        socket.send(Message::Binary(hello.into())).await.unwrap();
        socket.send(message.clone()).await.unwrap();
        let (frames, code) = frames_until_close(&mut socket).await;
        assert_eq!(code, expected, "{message:?}");
        let error = frames.iter().find(|f| f.id == Some(0)).expect("an error reply with id 0");
        assert_eq!(error_code(error), ErrorCode::BadRequest);
    }
    // Anything but hello first is a violation.
    let ping = segue_protocol::envelope::encode_request("ping", 1, &json!({}));
    let (frames, code) = first_frame_closes(&server, &token, Message::Binary(ping.into())).await;
    assert_eq!((code, frames.len()), (close_code::POLICY, 1));

    // The bystanders never noticed.
    for device in [&mut device, &mut sibling, &mut stranger] {
        assert_eq!(device.request("ping", json!({})).await.ok, Some(true));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_hello_in_time_closes_with_1008_and_a_bad_token_is_401() {
    let server = TestServer::start(&["--hello-timeout-ms", "300"]);
    let (_, token) = server.register("slowpoke");
    let mut socket = open_socket(&server, &token).await.unwrap();
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, close_code::POLICY, "{reason}");

    let error = open_socket(&server, "not-a-token").await.expect_err("refused before the upgrade");
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {other}"),
    }
    // Browsers put the token in the query string.
    let url = format!("{}?access_token={token}", server.ws_url());
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("the query token works");
    let mut browser = Device { socket, device_id: "browser".into(), next_id: 1, events: Default::default() };
    let welcome = browser.request("hello", hello_body("browser", true)).await;
    assert_eq!(welcome.ok, Some(true));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(browser.request("ping", json!({})).await.ok, Some(true), "past the hello timeout, still open");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_refuses_with_a_retry_and_keeps_the_connection() {
    let server = TestServer::start(&["--rate-limit", "10"]);
    let (_, token) = server.register("chatty");
    let (mut device, _) = Device::connect(&server, &token, "phone", true).await;
    let mut ids = Vec::new();
    for _ in 0..30 {
        ids.push(device.send("ping", json!({})).await);
    }
    let mut limited = 0;
    for id in ids {
        let reply = device.reply_to(id).await;
        if reply.ok == Some(false) {
            let error = reply.error.unwrap();
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(error.retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 1_000));
            limited += 1;
        }
    }
    assert!((15..=20).contains(&limited), "{limited} of 30 limited at 10/s");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(device.request("ping", json!({})).await.ok, Some(true), "the connection stays open");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eleventh_device_is_refused_and_closed() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("gadgets");
    let mut devices = Vec::new();
    for n in 0..10 {
        devices.push(Device::connect(&server, &token, &format!("device-{n}"), true).await.0);
    }
    let mut socket = open_socket(&server, &token).await.unwrap();
    let hello = segue_protocol::envelope::encode_request("hello", 1, &hello_body("device-10", true));
    socket.send(Message::Binary(hello.into())).await.unwrap();
    let (frames, code) = frames_until_close(&mut socket).await;
    assert_eq!(error_code(&frames[0]), ErrorCode::TooManyDevices);
    assert_eq!(code, close_code::POLICY);
    assert_eq!(devices[0].request("ping", json!({})).await.ok, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_and_socket_change_the_same_session_on_sqlite() {
    rest_and_socket_change_the_same_session(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_and_socket_change_the_same_session_on_postgres() {
    rest_and_socket_change_the_same_session(Backend::Postgres).await;
}

async fn rest_and_socket_change_the_same_session(backend: Backend) {
    let server = TestServer::start_on(backend, &["--stream-count-ms", "200"]);
    let (_, token) = server.register("both-ways");
    let tracks = server.track_ids(&token, 2);
    let (mut speaker, _) = Device::connect(&server, &token, "speaker", true).await;

    assert_eq!(server.get("/v1/me/player", &token).status, 204, "nothing plays yet");
    let devices = server.get("/v1/me/player/devices", &token);
    assert_eq!(devices.body["devices"][0]["id"], "speaker");
    assert_eq!(devices.body["devices"][0]["type"], "Computer");

    let play =
        server.request("PUT", "/v1/me/player/play?device_id=speaker", Some(&token), Some(json!({"uris": tracks})));
    assert_eq!(play.status, 204, "{:?}", play.body);
    let seq: u64 = play.header("Segue-Seq").unwrap().parse().unwrap();
    let state = speaker.state_at(seq).await;
    assert_eq!(active(&state), ["speaker"]);
    assert!(state.playback.as_ref().unwrap().is_playing);

    let pause = server.request("PUT", "/v1/me/player/pause", Some(&token), None);
    assert_eq!(pause.status, 204);
    let paused = speaker.state_at(seq + 1).await;
    assert!(!paused.playback.unwrap().is_playing);

    reply_seq(&speaker.request("resume", json!({})).await);
    let player = server.get("/v1/me/player", &token);
    assert_eq!(player.status, 200);
    assert_eq!(player.body["is_playing"], true);
    assert_eq!(player.body["device"]["id"], "speaker");
    assert_eq!(player.body["item"]["id"], tracks[0].as_str());
    assert_eq!(player.body["repeat_state"], "off");

    let seek = server.request("PUT", "/v1/me/player/seek?position_ms=abc", Some(&token), None);
    assert_eq!((seek.status, seek.reason()), (400, "BAD_REQUEST"));
    let volume = server.request("PUT", "/v1/me/player/volume?volume_percent=101", Some(&token), None);
    assert_eq!(volume.status, 400);
    let transfer = server.request("PUT", "/v1/me/player", Some(&token), Some(json!({"device_ids": ["ghost"]})));
    assert_eq!((transfer.status, transfer.reason()), (404, "DEVICE_NOT_FOUND"));

    let queue =
        server.request("POST", &format!("/v1/me/player/queue?uri=segue:track:{}", tracks[1]), Some(&token), None);
    assert_eq!(queue.status, 204);
    let queued = server.get("/v1/me/player/queue", &token);
    assert_eq!(queued.body["queue"][0]["id"], tracks[1].as_str());
    let next = server.request("POST", "/v1/me/player/next", Some(&token), None);
    assert_eq!(next.status, 204);
    let state = speaker.state_where(|s| s.playback.as_ref().is_some_and(|p| p.track_id == tracks[1])).await;
    assert_eq!(state.skips.unwrap().used, 1);
    // The next track counts once 200 ms of it played.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let recent = server.get("/v1/me/player/recently-played?limit=5", &token);
    assert_eq!(recent.status, 200);
    let played: Vec<&str> =
        recent.body["items"].as_array().unwrap().iter().map(|i| i["track"]["id"].as_str().unwrap()).collect();
    assert_eq!(played.first().copied(), Some(tracks[1].as_str()), "{played:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_closes_every_socket_with_1001_and_exits_cleanly() {
    let mut server = TestServer::start(&[]);
    let (_, token) = server.register("leaver");
    let (mut device, _) = Device::connect(&server, &token, "phone", true).await;
    let pid = server.pid();
    let closing = tokio::spawn(async move { device.expect_close().await });
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let (code, _) = closing.await.unwrap();
    assert_eq!(code, close_code::GOING_AWAY);
    let status = server.wait_exit(Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_closes_the_socket_with_4003_unless_renewed() {
    let server = TestServer::start(&[]);
    server.register("short-lived");
    let token = |ttl: &str| {
        let out = server.cli(&["token", "short-lived", "--ttl", ttl]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let (mut renewed, _) = Device::connect(&server, &token("3"), "phone", true).await;
    let (mut expiring, _) = Device::connect(&server, &token("3"), "laptop", true).await;
    let reply = renewed.request("auth", json!({"access_token": token("60")})).await;
    assert_eq!(reply.ok, Some(true));
    assert_eq!(expiring.expect_close().await.0, close_code::TOKEN_EXPIRED);
    assert_eq!(renewed.request("ping", json!({})).await.ok, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retired_session_comes_back_from_its_snapshot() {
    let server = TestServer::start(&["--session-idle-s", "1"]);
    let (_, token) = server.register("sleeper");
    let tracks = server.track_ids(&token, 2);
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    let played = reply_seq(&phone.request("play", json!({"uris": tracks, "position_ms": 5_000})).await);
    reply_seq(&phone.request("repeat", json!({"state": "track"})).await);
    phone.socket.close(None).await.unwrap();
    drop(phone);

    let live = |server: &TestServer| {
        let metrics = server.request("GET", "/metrics", None, None);
        let text = metrics.body.as_str().unwrap().to_string();
        let line = text.lines().find(|l| l.starts_with("segue_sessions_active ")).unwrap().to_string();
        line.rsplit(' ').next().unwrap().parse::<i64>().unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while live(&server) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the idle session never retired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, welcome) = Device::connect(&server, &token, "laptop", true).await;
    assert!(welcome.seq > played + 1, "seq goes on after the retirement");
    let playback = welcome.state.playback.unwrap();
    assert_eq!((playback.track_id.as_str(), playback.repeat), (tracks[0].as_str(), segue_protocol::RepeatMode::Track));
    assert!(playback.position_ms >= 5_000);
    assert_eq!(live(&server), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sockets_past_the_nodes_cap_are_refused_with_503_before_the_upgrade() {
    let server = TestServer::start(&["--max-connections", "2"]);
    let (_, token) = server.register("crowded");
    let (first, _) = Device::connect(&server, &token, "one", true).await;
    let (_second, _) = Device::connect(&server, &token, "two", true).await;
    match open_socket(&server, &token).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503);
            assert!(response.headers().get("retry-after").is_some(), "it says when to retry");
        }
        other => panic!("the third socket is refused before the upgrade: {:?}", other.map(|_| ())),
    }
    // A slot comes back when a socket ends.
    // Until the server has seen the close, a retry may be refused again; each refusal is counted.
    drop(first);
    let mut refused = 1;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match open_socket(&server, &token).await {
            Ok(mut socket) => {
                socket.close(None).await.unwrap();
                break;
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status().as_u16() == 503 => {
                refused += 1
            }
            Err(other) => panic!("a retry fails only with 503: {other}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "a slot is given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = server.request("GET", "/metrics", None, None);
    let text = metrics.body.as_str().unwrap_or_default();
    let counted = format!("segue_queue_overflow_total{{queue=\"connections\"}} {refused}\n");
    assert!(text.contains(&counted), "every refusal is counted ({refused}): {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hello_that_saw_a_later_seq_than_the_session_moves_seq_past_it() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("forgotten");
    let socket = open_socket(&server, &token).await.unwrap();
    let mut phone = Device { socket, device_id: "phone".into(), next_id: 1, events: Default::default() };
    let mut body = hello_body("phone", true);
    body["last_seq"] = json!(1_000);
    let reply = phone.request("hello", body).await;
    let welcome: segue_protocol::state::Welcome = reply.body_as().unwrap();
    assert_eq!(welcome.seq, 1_001, "the state was lost: seq goes on past what the device saw");
    let (mut laptop, laptop_welcome) = Device::connect(&server, &token, "laptop", true).await;
    assert_eq!(laptop_welcome.seq, 1_002);
    let seq = reply_seq(&laptop.request("volume", json!({"percent": 20, "device_id": "laptop"})).await);
    assert_eq!(seq, 1_003);
    let mut too_far = hello_body("tablet", true);
    too_far["last_seq"] = json!(u64::MAX);
    let socket = open_socket(&server, &token).await.unwrap();
    let mut tablet = Device { socket, device_id: "tablet".into(), next_id: 1, events: Default::default() };
    assert_eq!(error_code(&tablet.request("hello", too_far).await), ErrorCode::BadRequest);
}

/// Runs one statement on the server's SQLite file from outside the server, as an operator could.
async fn sqlite_execute(server: &TestServer, sql: &'static str) {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(server.data_dir.path().join("segue.db"));
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query(sql).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
}

/// `recently-played` first waits for the plays staged before it; while the database refuses
/// those writes (its history table is renamed away), the wait ends at the flush's deadline with
/// `503 UNAVAILABLE` instead of hanging. Once writes work again, the play is there.
#[tokio::test(flavor = "multi_thread")]
async fn recently_played_answers_unavailable_while_the_history_cannot_be_written() {
    let server = TestServer::start(&["--stream-count-ms", "100"]);
    let (_, token) = server.register("historian");
    let tracks = server.track_ids(&token, 1);
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    sqlite_execute(&server, "ALTER TABLE plays RENAME TO plays_away").await;
    reply_seq(&phone.request("play", json!({"uris": tracks})).await);
    // The play counts after 100 ms and waits to be written.
    tokio::time::sleep(Duration::from_millis(400)).await;

    let started = std::time::Instant::now();
    let recent = server.get("/v1/me/player/recently-played?limit=5", &token);
    let waited = started.elapsed();
    assert_eq!((recent.status, recent.reason()), (503, "UNAVAILABLE"), "{:?}", recent.body);
    assert!(waited < Duration::from_secs(9), "answered after {waited:?}");

    sqlite_execute(&server, "ALTER TABLE plays_away RENAME TO plays").await;
    let recent = server.get("/v1/me/player/recently-played?limit=5", &token);
    assert_eq!(recent.status, 200, "{:?}", recent.body);
    assert_eq!(recent.body["items"][0]["track"]["id"], tracks[0].as_str(), "the staged play was kept and written");
}
