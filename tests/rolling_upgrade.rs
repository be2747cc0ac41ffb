//! A rolling upgrade: nodes of the previous version and of this one in one cluster, sharing
//! sessions both ways. A session held by an old node is reached from a new one and taken over
//! by it (reading the old node's snapshot); a session held by a new node is reached from an old
//! one and taken over by it when the new node dies (the old code reading this version's
//! snapshot).
//!
//! It needs a `segue` binary of the previous version, named by `SEGUE_OLD_BINARY`, so it is not
//! part of the default run. To run it:
//!
//!     git worktree add /tmp/segue-old 69c7daf && cargo build --manifest-path /tmp/segue-old/Cargo.toml
//!     SEGUE_OLD_BINARY=/tmp/segue-old/target/debug/segue cargo test --test rolling_upgrade -- --ignored

mod common;

use common::*;
use segue_protocol::SessionState;
use serde_json::json;

fn old_binary() -> String {
    std::env::var("SEGUE_OLD_BINARY").expect("SEGUE_OLD_BINARY names a segue of the previous version")
}

fn playing(state: &SessionState) -> Option<(String, bool)> {
    state.playback.as_ref().map(|p| (p.track_id.clone(), p.is_playing))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SEGUE_OLD_BINARY, a segue of the previous version (see the module's documentation)"]
async fn old_and_new_nodes_share_sessions_both_ways() {
    let old = old_binary();
    let mut cluster = TestCluster::start(0, &[]);
    cluster.nodes.push(Some(cluster.start_node_of(&old, 0, &[])));
    cluster.nodes.push(Some(cluster.start_node(1, &[])));
    let (_, token) = cluster.node(1).register("rolling");
    let tracks = cluster.node(1).track_ids(&token, 4);

    // The session starts on the old node; a device on the new node reaches it there.
    let (mut speaker, _) = Device::connect(cluster.node(0), &token, "speaker", true).await;
    let seq = reply_seq(&speaker.request("play", json!({"uris": tracks})).await);
    let (mut phone, welcome) = Device::connect(cluster.node(1), &token, "phone", false).await;
    assert!(welcome.seq > seq);
    let paused = reply_seq(&phone.request("pause", json!({})).await);
    let state = speaker.state_at(paused).await;
    assert_eq!(
        playing(&state),
        Some((tracks[0].clone(), false)),
        "the new node's command reached the old node's session"
    );
    let next = reply_seq(&phone.request("next", json!({})).await);
    let before_drain = phone.state_at(next).await;

    // The old node drains: the new node takes the session over from the old node's snapshot.
    cluster.nodes[0].as_mut().unwrap().terminate();
    let (mut speaker, welcome) = Device::connect(cluster.node(1), &token, "speaker", true).await;
    assert!(welcome.seq > before_drain.seq, "seq goes on");
    assert_eq!(playing(&welcome.state), playing(&before_drain));
    assert_eq!(welcome.state.queue, before_drain.queue);

    // An old node joins; its device reaches the session on the new node.
    cluster.nodes.push(Some(cluster.start_node_of(&old, 2, &[])));
    let (mut car, _) = Device::connect(cluster.node(2), &token, "car", true).await;
    let resumed = reply_seq(&car.request("play", json!({})).await);
    let state = speaker.state_at(resumed).await;
    assert_eq!(playing(&state), Some((tracks[1].clone(), true)), "the old node's command reached the new session");
    let sought_at = std::time::Instant::now();
    let seek = reply_seq(&car.request("seek", json!({"position_ms": 42_000})).await);
    let before_kill = car.state_at(seek).await;

    // The new node dies: the old node takes the session over from this version's snapshot.
    cluster.kill(1);
    let deadline = tokio::time::Instant::now() + WAIT;
    let after = loop {
        let reply = car.request("pause", json!({})).await;
        if reply.ok == Some(true) {
            break car.state_at(reply_seq(&reply)).await;
        }
        assert!(tokio::time::Instant::now() < deadline, "the old node takes over: {:?}", reply.error);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(after.seq > before_kill.seq);
    let playback = after.playback.unwrap();
    assert_eq!(playback.track_id, tracks[1]);
    // It played on from 42 s until the pause: the position carried over, no further than the time since.
    let played_since = 42_000 + sought_at.elapsed().as_millis() as u32;
    assert!((42_000..=played_since).contains(&playback.position_ms), "position {}", playback.position_ms);
    assert_eq!(after.queue, before_kill.queue);
}
