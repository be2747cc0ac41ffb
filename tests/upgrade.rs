//! Upgrading from Segue 69c7daf keeps every session: a snapshot that version wrote
//! (`tests/fixtures/snapshot-69c7daf.msgpack`), put where it kept them (the store's
//! `session_snapshots`, and Redis's snapshot hash in a cluster), loads with everything in it,
//! and the session goes on from there in the new format.

mod common;

use common::*;
use fred::prelude::*;
use segue_protocol::SessionState;
use serde_json::{Value, json};

const SNAPSHOT: &[u8] = include_bytes!("fixtures/snapshot-69c7daf.msgpack");

/// What the 69c7daf server showed of that session.
fn old_state() -> SessionState {
    let meta: Value = serde_json::from_str(include_str!("fixtures/snapshot-69c7daf.json")).unwrap();
    serde_json::from_value(meta["welcome_state_after_tablet"].clone()).unwrap()
}

/// A hello that says nothing of the volume, so the device keeps the one it had.
fn hello(device_id: &str) -> Value {
    json!({"device_id": device_id, "name": format!("The {device_id}"), "device_type": "computer", "can_play": true,
           "supports_volume": true})
}

/// Connects the old session's speaker and checks that its welcome holds the old session: the same
/// track at the same position, the same queue both ways, shuffle, repeat, every device with its
/// name and volume (offline now: their connections died with the old process), `seq` going on.
async fn check_the_old_session_is_back(server: &TestServer, token: &str) -> Device {
    let old = old_state();
    let socket = open_socket(server, token).await.unwrap();
    let mut speaker = Device { socket, device_id: "speaker-1".into(), next_id: 1, events: Default::default() };
    let reply = speaker.request("hello", hello("speaker-1")).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    let state: SessionState = reply.body_as::<segue_protocol::state::Welcome>().unwrap().state;
    assert_eq!(state.seq, old.seq + 2, "one change for the devices gone offline, one for this hello");
    let (playback, old_playback) = (state.playback.clone().unwrap(), old.playback.clone().unwrap());
    assert_eq!(playback.track_id, old_playback.track_id);
    assert_eq!(playback.position_ms, old_playback.position_ms);
    assert!(!playback.is_playing);
    assert_eq!((playback.shuffle, playback.repeat), (old_playback.shuffle, old_playback.repeat));
    assert_eq!(state.queue, old.queue, "the queue, the rest of the shuffled context and the history");
    assert_eq!(state.devices.len(), old.devices.len());
    for (device, old_device) in state.devices.iter().zip(&old.devices) {
        assert_eq!((&device.device_id, &device.name), (&old_device.device_id, &old_device.name));
        assert_eq!(device.volume_percent, old_device.volume_percent, "{}", device.device_id);
        assert_eq!(device.online, device.device_id == "speaker-1");
    }
    assert_eq!(state.skips.as_ref().map(|s| s.limit), Some(6), "a free user's skip budget");
    // And it goes on: a command works and its state is the next seq.
    let seq = reply_seq(&speaker.request("play", json!({})).await);
    assert_eq!(seq, state.seq + 1);
    speaker
}

fn is_a_named_map(state: &[u8]) -> bool {
    matches!(state.first(), Some(0x80..=0x8f | 0xde | 0xdf))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stored_by_69c7daf_in_sqlite_loads_whole() {
    let server = TestServer::start(&[]);
    let (user_id, token) = server.register("upgraded");
    let db = server.data_dir.path().join("segue.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display())).await.unwrap();
    sqlx::query("INSERT INTO session_snapshots (user_id, epoch, seq, state, updated_at_ms) VALUES ($1, 0, 15, $2, 0)")
        .bind(&user_id)
        .bind(SNAPSHOT)
        .execute(&pool)
        .await
        .unwrap();
    let _speaker = check_the_old_session_is_back(&server, &token).await;
    // The next snapshot written is of the new format.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (seq, state): (i64, Vec<u8>) = sqlx::query_as("SELECT seq, state FROM session_snapshots WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(seq, 18);
    assert!(is_a_named_map(&state), "format 2 is a map by name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stored_by_69c7daf_in_redis_loads_whole_on_a_cluster_node() {
    let cluster = TestCluster::start(1, &[]);
    let node = cluster.node(0);
    let (user_id, token) = node.register("upgraded");
    let redis = Client::new(Config::from_url(&cluster.redis.url()).unwrap(), None, None, None);
    redis.init().await.unwrap();
    let key = format!("segue:{{u:{user_id}}}:snap");
    let fields: Vec<(&str, fred::types::Value)> =
        vec![("epoch", 0.into()), ("seq", 15.into()), ("state", fred::types::Value::Bytes(SNAPSHOT.to_vec().into()))];
    let _: () = redis.hset(&key, fields).await.unwrap();
    let _speaker = check_the_old_session_is_back(node, &token).await;
    let stored: Vec<u8> = redis.hget::<bytes::Bytes, _, _>(&key, "state").await.unwrap().to_vec();
    assert!(is_a_named_map(&stored), "Redis now holds the new format");
    let seq: u64 = redis.hget(&key, "seq").await.unwrap();
    assert_eq!(seq, 18);
}
