//! The command line (`spec/cli-v1.md`): exit 64 on bad flags, users and tokens made while a
//! server runs, and a session that survives a restart of the server.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn segue(args: &[&str]) -> std::process::Output {
    Command::new(segue_binary()).args(args).env("SEGUE_LOG", "warn").output().expect("segue runs")
}

#[test]
fn bad_flags_and_unusable_configurations_exit_64_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    for args in [
        vec!["serve", "--no-such-flag"],
        vec!["serve", "--heartbeat-ms", "soon"],
        vec!["serve", "--listen", "not-an-address", "--data-dir", data_dir],
        vec!["serve", "--database-url", "mysql://localhost/segue"],
        vec!["serve", "--redis-url", "redis://127.0.0.1:6379", "--data-dir", data_dir],
        vec!["users", "add", "has space", "--password", "pw123456", "--data-dir", data_dir],
        vec!["users", "add", "ok", "--password", "pw123456", "--product", "gold", "--data-dir", data_dir],
        vec!["token", "nobody", "--data-dir", data_dir],
        vec!["frobnicate"],
    ] {
        let out = segue(&args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one clear line, got {stderr:?}");
    }
    assert_eq!(segue(&["--help"]).status.code(), Some(0));
    assert_eq!(segue(&["migrate", "--data-dir", data_dir]).status.code(), Some(0));
}

#[test]
fn users_and_tokens_made_while_the_server_runs_work_at_once() {
    let server = TestServer::start(&[]);
    let added =
        server.cli(&["users", "add", "carol", "--password", "carols-pw", "--country", "DE", "--display-name", "Carol"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let id = String::from_utf8(added.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 22);

    let token = server.cli(&["token", "carol", "--ttl", "600"]);
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap();
    assert_eq!(token.lines().count(), 1, "only the token on stdout");
    let token = token.trim();
    let me = server.get("/v1/me", token);
    assert_eq!((me.status, me.body["id"].as_str(), me.body["country"].as_str()), (200, Some(id.as_str()), Some("DE")));
    let login =
        server.request("POST", "/v1/auth/login", None, Some(json!({"username": "carol", "password": "carols-pw"})));
    assert_eq!(login.status, 200);

    // Adding the user again updates it, and the running server sees the new product.
    let again = server.cli(&["users", "add", "carol", "--password", "ignored-now", "--product", "premium"]);
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), id, "the same user");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let me = server.get("/v1/me", token);
        if me.body["product"] == "premium" {
            assert_eq!(me.body["display_name"], "Carol", "the display name stays when not given");
            break;
        }
        assert!(Instant::now() < deadline, "the product change never showed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let old_password =
        server.request("POST", "/v1/auth/login", None, Some(json!({"username": "carol", "password": "carols-pw"})));
    assert_eq!(old_password.status, 200, "users add on an existing user leaves its password");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_survives_a_restart_of_the_server() {
    let mut server = TestServer::start(&[]);
    let (_, token) = server.register("persistent");
    let tracks = server.track_ids(&token, 3);
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    let play = phone.request("play", json!({"uris": tracks, "position_ms": 12_000})).await;
    assert_eq!(play.ok, Some(true));
    let queued = phone.request("queue_add", json!({"uri": format!("spotify:track:{}", tracks[2])})).await;
    let before = phone.state_where(|s| s.queue.next.first() == Some(&tracks[2])).await;
    assert!(queued.ok == Some(true));
    drop(phone);
    assert!(server.terminate().success());

    let data_dir = std::mem::replace(&mut server.data_dir, tempfile::tempdir().unwrap());
    drop(server);
    let server = TestServer::start_in(data_dir, &[]);
    let (_, welcome) = Device::connect(&server, &token, "phone", true).await;
    assert!(welcome.seq > before.seq, "seq goes on: {} after {}", welcome.seq, before.seq);
    let playback = welcome.state.playback.expect("the playback survived");
    assert_eq!(playback.track_id, tracks[0]);
    assert!(!playback.is_playing, "the device went offline, so playback stopped");
    assert!(playback.position_ms >= 12_000);
    assert_eq!(welcome.state.queue.next.first(), Some(&tracks[2]));
    assert_eq!(welcome.state.skips.unwrap().limit, 6);
}
