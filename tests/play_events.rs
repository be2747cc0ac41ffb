//! The durable play-event stream against a real NATS JetStream server (`nats-server -js`, one
//! per test): every counted play, from a session or reported from offline, lands in the stream
//! once with its id as the message id; `segue plays export` writes the same events from the
//! store; and in a cluster, a node killed right after a count, a batch sent twice and a publisher
//! that crashed after JetStream's ack (the outbox still marks the plays pending) leave no
//! duplicate in the stream, JetStream's de-duplication dropping the second copies.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use common::{Device, TestCluster, TestNats, TestServer, WAIT, postgres_execute, reply_seq};
use segue::events::STREAM;
use segue::storage::{Store, StoreLocation};
use serde_json::{Value, json};

/// One message of the stream: its `Nats-Msg-Id` header and its JSON payload.
struct Published {
    message_id: String,
    event: Value,
}

/// Every message in the stream, in order.
async fn published(nats: &TestNats) -> Vec<Published> {
    let client = async_nats::connect(nats.url()).await.expect("the test connects to NATS");
    let jetstream = jetstream::new(client);
    let Ok(mut stream) = jetstream.get_stream(STREAM).await else { return Vec::new() };
    let state = &stream.info().await.expect("stream info").state;
    let (count, first, last) = (state.messages, state.first_sequence, state.last_sequence);
    let mut messages = Vec::new();
    if count == 0 {
        return messages;
    }
    for sequence in first..=last {
        let message = stream.get_raw_message(sequence).await.expect("a message of the stream");
        let message_id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|value| value.as_str().to_string())
            .expect("every event carries its id as the message id");
        let event = serde_json::from_slice(&message.payload).expect("the payload is JSON");
        messages.push(Published { message_id, event });
    }
    messages
}

/// Waits until the stream holds `count` messages, then a little longer to see no more come.
async fn published_settled(nats: &TestNats, count: usize) -> Vec<Published> {
    let started = Instant::now();
    loop {
        let messages = published(nats).await;
        if messages.len() >= count {
            tokio::time::sleep(Duration::from_millis(600)).await;
            return published(nats).await;
        }
        assert!(started.elapsed() < WAIT, "{} of {count} events published", messages.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids(messages: &[Published]) -> Vec<String> {
    messages.iter().map(|message| message.message_id.clone()).collect()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Two plays made offline a few hours ago (the threshold is far below their 40 s).
fn offline_batch(tracks: &[String]) -> Value {
    let hour = 3_600_000;
    json!({"plays": [
        {"id": "train-1", "track_id": tracks[1], "played_at_ms": now_ms() - 3 * hour, "ms_played": 40_000},
        {"id": "train-2", "track_id": tracks[2], "played_at_ms": now_ms() - 2 * hour, "ms_played": 41_000},
    ]})
}

fn report(server: &TestServer, token: &str, batch: &Value) -> (u64, u64) {
    let reply = server.request("POST", "/v1/me/player/plays", Some(token), Some(batch.clone()));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    (reply.body["accepted"].as_u64().unwrap(), reply.body["duplicates"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_counted_play_is_published_once_and_exported_alike() {
    let nats = TestNats::start();
    let url = nats.url();
    let server = TestServer::start(&["--events-url", &url, "--stream-count-ms", "300"]);
    let (user, token) = server.register_premium("royalties");
    let tracks = server.track_ids(&token, 3);

    // One play counted by the session...
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    reply_seq(&phone.request("play", json!({"uris": [tracks[0].clone()]})).await);
    tokio::time::sleep(Duration::from_millis(600)).await;
    reply_seq(&phone.request("pause", json!({})).await);
    // ...and two reported from offline, the batch sent twice.
    let batch = offline_batch(&tracks);
    assert_eq!(report(&server, &token, &batch), (2, 0));
    assert_eq!(report(&server, &token, &batch), (0, 2));

    let messages = published_settled(&nats, 3).await;
    assert_eq!(messages.len(), 3, "each play once: {:?}", ids(&messages));
    for message in &messages {
        assert_eq!(message.event["id"].as_str(), Some(message.message_id.as_str()), "the message id is the play's");
        assert_eq!(message.event["user_id"], user.as_str());
    }
    let by_track = |track: &str| messages.iter().find(|m| m.event["track_id"] == track).expect("published");
    let counted = by_track(&tracks[0]);
    assert_eq!(counted.event["source"], "session");
    assert!(counted.event["ms_played"].as_u64().unwrap() >= 300, "{:?}", counted.event);
    assert_eq!(by_track(&tracks[1]).event["source"], "offline");
    assert_eq!(by_track(&tracks[2]).event["ms_played"], 41_000);

    // The store holds the same events, and exports them as JSON lines.
    let export = server.cli(&["plays", "export", "--since", "0"]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let exported: Vec<Value> = String::from_utf8(export.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is an event"))
        .collect();
    let exported_ids: BTreeSet<&str> = exported.iter().map(|event| event["id"].as_str().unwrap()).collect();
    let published_ids: BTreeSet<&str> = messages.iter().map(|message| message.message_id.as_str()).collect();
    assert_eq!(exported_ids, published_ids);
    let later = server.cli(&["plays", "export", "--since", "2999-01-01"]);
    assert!(later.status.success() && later.stdout.is_empty(), "nothing was counted in 2999");
    let bad = server.cli(&["plays", "export", "--since", "last tuesday"]);
    assert!(!bad.status.success(), "an unreadable --since is refused");

    let store = Store::open(&server.store_location()).await.unwrap();
    assert_eq!(store.pending_play_event_count().await.unwrap(), 0, "every published event is settled");
    store.close().await;
}

/// A kill -9 of the session's node right after a count, the offline batch sent twice, and every
/// play marked pending again (as if a publisher died between JetStream's ack and settling it):
/// the stream still holds each counted play exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_duplicate_reaches_the_stream_through_a_kill_a_resend_and_a_replay() {
    let nats = TestNats::start();
    let url = nats.url();
    let flags = ["--lease-ms", "1000", "--stream-count-ms", "500", "--events-url", url.as_str()];
    let mut cluster = TestCluster::start(2, &flags);
    let (_, token) = cluster.node(0).register("label");
    let added = cluster.cli(&["users", "add", "label", "--password", "unused-here", "--product", "premium"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    cluster.node(1).await_premium(&token);
    let tracks = cluster.node(0).track_ids(&token, 3);

    // The session lives on node 0 (the phone's hello came first); the speaker on node 1 plays.
    let (mut phone, _) = Device::connect(cluster.node(0), &token, "phone", true).await;
    let (_speaker, _) = Device::connect(cluster.node(1), &token, "speaker", true).await;
    reply_seq(&phone.request("play", json!({"uris": [tracks[0].clone()], "device_id": "speaker"})).await);
    tokio::time::sleep(Duration::from_millis(530)).await;
    cluster.kill(0);
    let started = Instant::now();
    while cluster.node(1).get("/v1/me/player", &token).status != 200 {
        assert!(started.elapsed() < WAIT, "node 1 never took the session over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let batch = offline_batch(&tracks);
    assert_eq!(report(cluster.node(1), &token, &batch), (2, 0));
    assert_eq!(report(cluster.node(1), &token, &batch), (0, 2));
    let first = published_settled(&nats, 3).await;
    assert_eq!(first.len(), 3, "{:?}", ids(&first));

    // Every play queued again, as after a crash between the ack and the settling write; node 0
    // comes back and both nodes publish them all a second time.
    postgres_execute(cluster.database_url().to_string(), "UPDATE plays SET event_pending = TRUE".into());
    let node = cluster.start_node(0, &flags);
    cluster.nodes[0] = Some(node);
    let store = Store::open(&StoreLocation::Url(cluster.database_url().to_string())).await.unwrap();
    let started = Instant::now();
    while store.pending_play_event_count().await.unwrap() > 0 {
        assert!(started.elapsed() < WAIT, "the queued events were never published again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counted = store.play_events_since(0, None, 100).await.unwrap();
    store.close().await;

    let after = published(&nats).await;
    assert_eq!(ids(&after), ids(&first), "JetStream dropped every second copy");
    let unique: BTreeSet<String> = ids(&after).into_iter().collect();
    assert_eq!(unique.len(), after.len(), "no id twice");
    let stored: BTreeSet<String> = counted.iter().map(|play| play.id.clone()).collect();
    assert_eq!(unique, stored, "the stream holds exactly the counted plays");
    let duplicates: u64 = (0..2)
        .map(|n| {
            let metrics = cluster.node(n).request("GET", "/metrics", None, None);
            let text = metrics.body.as_str().unwrap_or_default().to_string();
            text.lines()
                .find_map(|line| line.strip_prefix("segue_play_events_duplicate_total "))
                .map_or(0, |value| value.trim().parse::<f64>().unwrap() as u64)
        })
        .sum();
    assert_eq!(duplicates, 3, "the replay was answered as duplicates");
}
