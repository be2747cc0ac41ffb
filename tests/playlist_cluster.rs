//! Collaborative playlists on two cluster nodes (real Redis, real PostgreSQL, real processes):
//! editors and subscribers on both nodes end with one order and an unbroken `prev_snapshot_id`
//! chain, with one playlist actor in the whole cluster; a `kill -9` of a node in the middle of
//! edits loses no acknowledged edit; a node paused past its lease (a stale owner) writes nothing
//! once another took the playlist over.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use segue_protocol::ServerFrame;
use segue_protocol::envelope::encode_request;
use segue_protocol::playlist::{AppliedOp, PlaylistChanged, PlaylistView};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn uri(track: &str) -> String {
    format!("spotify:track:{track}")
}

/// A collaborative playlist of `owner` with `collaborators`, seeded with `tracks`.
fn shared_playlist(server: &TestServer, owner: &str, collaborators: &[&String], tracks: &[String]) -> String {
    let body = json!({"name": "Shared", "public": false, "collaborative": true});
    let created = server.request("POST", "/v1/me/playlists", Some(owner), Some(body));
    assert_eq!(created.status, 201, "{:?}", created.body);
    let playlist = created.body["id"].as_str().unwrap().to_string();
    for user in collaborators {
        let path = format!("/v1/playlists/{playlist}/collaborators");
        assert_eq!(server.request("POST", &path, Some(owner), Some(json!({"user_id": user}))).status, 201);
    }
    let seed = json!({"uris": tracks.iter().map(|t| uri(t)).collect::<Vec<_>>()});
    let added = server.request("POST", &format!("/v1/playlists/{playlist}/tracks"), Some(owner), Some(seed));
    assert_eq!(added.status, 201, "{:?}", added.body);
    playlist
}

/// A subscriber's copy of the playlist.
struct Replica {
    snapshot: String,
    uids: Vec<String>,
    chain_breaks: usize,
}

impl Replica {
    fn of(view: &PlaylistView) -> Replica {
        Replica {
            snapshot: view.snapshot_id.clone(),
            uids: view.items.iter().map(|item| item.uid.clone()).collect(),
            chain_breaks: 0,
        }
    }

    fn apply(&mut self, changed: &PlaylistChanged) {
        if changed.prev_snapshot_id != self.snapshot {
            self.chain_breaks += 1;
        }
        self.snapshot.clone_from(&changed.snapshot_id);
        for op in &changed.ops {
            match op {
                AppliedOp::Add { position, uids, .. } => {
                    let at = (*position as usize).min(self.uids.len());
                    self.uids.splice(at..at, uids.iter().cloned());
                }
                AppliedOp::Remove { uids } => self.uids.retain(|uid| !uids.contains(uid)),
                AppliedOp::Move { uid, position } => {
                    if let Some(from) = self.uids.iter().position(|u| u == uid) {
                        let moved = self.uids.remove(from);
                        let at = (*position as usize).min(self.uids.len());
                        self.uids.insert(at, moved);
                    }
                }
                AppliedOp::Rename { .. } | AppliedOp::Details { .. } => {}
            }
        }
    }
}

async fn subscribe(device: &mut Device, playlist: &str) -> Replica {
    let reply = device.request("playlist_subscribe", json!({"playlist_id": playlist})).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    Replica::of(&reply.body_as().unwrap())
}

async fn follow_until(device: &mut Device, replica: &mut Replica, snapshot: &str) {
    while replica.snapshot != snapshot {
        let frame = device.next_event().await;
        if frame.kind == "playlist_changed" {
            replica.apply(&frame.body_as().unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn editors_and_subscribers_on_two_nodes_end_in_one_order_with_an_unbroken_chain() {
    let cluster = TestCluster::start(2, &["--lease-ms", "1000"]);
    let (_, owner) = cluster.node(0).register("owner");
    let (friend_id, friend) = cluster.node(0).register("friend");
    let tracks = cluster.node(0).track_ids(&owner, 6);
    let playlist = shared_playlist(cluster.node(0), &owner, &[&friend_id], &tracks);

    // Subscribers on both nodes, each of them an editor too.
    let mut devices = Vec::new();
    for (node, token, device_id) in
        [(0, &owner, "owner-0"), (1, &owner, "owner-1"), (0, &friend, "friend-0"), (1, &friend, "friend-1")]
    {
        let (mut device, _) = Device::connect(cluster.node(node), token, device_id, false).await;
        let replica = subscribe(&mut device, &playlist).await;
        devices.push((device, replica));
    }
    let mut editors = Vec::new();
    for (n, (mut device, replica)) in devices.into_iter().enumerate() {
        let (playlist, tracks) = (playlist.clone(), tracks.clone());
        editors.push(tokio::spawn(async move {
            let uids = replica.uids.clone();
            for round in 0..15usize {
                let ops = match (n + round) % 3 {
                    0 => json!([{"op": "add", "track_ids": [tracks[round % tracks.len()]], "position": round % 4}]),
                    1 => json!([{"op": "move", "uid": uids[(n * 3 + round) % uids.len()], "position": round % 5}]),
                    _ => json!([{"op": "remove", "uids": [uids[(round + n) % uids.len()]]}, {"op": "add", "track_ids": [tracks[n]]}]),
                };
                let reply = device.request("playlist_edit", json!({"playlist_id": playlist, "ops": ops})).await;
                assert_eq!(reply.ok, Some(true), "{}: {:?}", device.device_id, reply.error);
            }
            (device, replica)
        }));
    }
    let mut devices = Vec::new();
    for editor in editors {
        devices.push(editor.await.unwrap());
    }
    // Edits came from both nodes; one node ran the playlist's actor.
    let actors: Vec<i64> = (0..2).map(|n| playlist_actors(cluster.node(n))).collect();
    assert_eq!(actors.iter().sum::<i64>(), 1, "one playlist actor in the cluster: {actors:?}");
    // REST on node 1 while nobody else edits: its subscribers on node 0 see it too.
    let reply = cluster.node(1).request(
        "PUT",
        &format!("/v1/playlists/{playlist}/tracks"),
        Some(&owner),
        Some(json!({"range_start": 0, "insert_before": 2})),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // The playlist as each node reads it now is the same.
    let (mut check0, _) = Device::connect(cluster.node(0), &owner, "check-0", false).await;
    let (mut check1, _) = Device::connect(cluster.node(1), &owner, "check-1", false).await;
    let (last0, last1) = (subscribe(&mut check0, &playlist).await, subscribe(&mut check1, &playlist).await);
    assert_eq!((&last0.snapshot, &last0.uids), (&last1.snapshot, &last1.uids), "both nodes read one playlist");
    for (device, replica) in &mut devices {
        follow_until(device, replica, &last0.snapshot).await;
        assert_eq!(replica.chain_breaks, 0, "{}: an unbroken prev_snapshot_id chain", device.device_id);
        assert_eq!(replica.uids, last0.uids, "{}: the server's order", device.device_id);
    }
}

/// The playlist actors live on a node, from its `/metrics`.
fn playlist_actors(node: &TestServer) -> i64 {
    let metrics = node.request("GET", "/metrics", None, None);
    let text = metrics.body.as_str().expect("metrics as text").to_string();
    let line = text.lines().find(|line| line.starts_with("segue_playlist_actors ")).expect("the gauge");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Sends add edits on `device`'s socket until it ends (its node was killed) or `stop` passes;
/// answers how many were acknowledged. Each edit adds `track` once.
async fn add_until_gone(device: &mut Device, playlist: &str, track: &str, edits: u32) -> u32 {
    let mut acknowledged = 0;
    for id in 1_000..1_000 + edits {
        let body = json!({"playlist_id": playlist, "ops": [{"op": "add", "track_ids": [track], "position": 0}]});
        if device.socket.send(Message::Binary(encode_request("playlist_edit", id, &body).into())).await.is_err() {
            return acknowledged;
        }
        loop {
            let message = match tokio::time::timeout(WAIT, device.socket.next()).await {
                Ok(Some(Ok(message))) => message,
                // The socket ended (the node died) or nothing came: stop here.
                _ => return acknowledged,
            };
            let Message::Binary(bytes) = message else { continue };
            let frame = ServerFrame::decode(&bytes).unwrap();
            if frame.is_reply() && frame.id == Some(id) {
                if frame.ok == Some(true) {
                    acknowledged += 1;
                }
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_of_a_node_in_the_middle_of_edits_loses_no_acknowledged_edit() {
    let mut cluster = TestCluster::start(2, &["--lease-ms", "1000"]);
    let (_, owner) = cluster.node(0).register("owner");
    let (friend_id, friend) = cluster.node(0).register("friend");
    let tracks = cluster.node(0).track_ids(&owner, 3);
    let playlist = shared_playlist(cluster.node(0), &owner, &[&friend_id], &tracks[..1]);

    // An editor on each node, each adding its own track; node 0 dies while they edit.
    let (mut doomed, _) = Device::connect(cluster.node(0), &owner, "on-node-0", false).await;
    let (mut survivor, _) = Device::connect(cluster.node(1), &friend, "on-node-1", false).await;
    let (p0, t0) = (playlist.clone(), tracks[1].clone());
    let doomed_edits = tokio::spawn(async move { add_until_gone(&mut doomed, &p0, &t0, 10_000).await });
    let (p1, t1) = (playlist.clone(), tracks[2].clone());
    let survivor_edits = tokio::spawn(async move { add_until_gone(&mut survivor, &p1, &t1, 150).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    cluster.kill(0);
    let doomed_acknowledged = doomed_edits.await.unwrap();
    let survivor_acknowledged = survivor_edits.await.unwrap();
    assert!(doomed_acknowledged > 0, "node 0 acknowledged edits before it died");
    // The one edit node 1 had in flight to node 0, when node 0 ran the playlist, is answered
    // UNAVAILABLE (it may have been applied); every other one is applied, on node 1.
    assert!(survivor_acknowledged >= 149, "node 1 went on editing: {survivor_acknowledged}");

    // Every acknowledged add is in the playlist, as node 1 reads it.
    let (mut reader, _) = Device::connect(cluster.node(1), &owner, "reader", false).await;
    let reply = reader.request("playlist_subscribe", json!({"playlist_id": playlist})).await;
    let view: PlaylistView = reply.body_as().unwrap();
    let count = |track: &str| view.items.iter().filter(|item| item.track_id == track).count() as u32;
    assert!(count(&tracks[1]) >= doomed_acknowledged, "{} < {doomed_acknowledged}", count(&tracks[1]));
    assert!(count(&tracks[1]) <= doomed_acknowledged + 1, "at most the one edit in flight more");
    assert!((survivor_acknowledged..=150).contains(&count(&tracks[2])), "{}", count(&tracks[2]));
    // And the playlist still takes edits on the surviving node.
    let edit = json!({"playlist_id": playlist, "ops": [{"op": "rename", "name": "After"}]});
    assert_eq!(reader.request("playlist_edit", edit).await.ok, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_joining_on_another_node_in_the_middle_of_edits_meets_the_events_exactly() {
    let cluster = TestCluster::start(2, &["--lease-ms", "1000"]);
    let (_, owner) = cluster.node(0).register("owner");
    let tracks = cluster.node(0).track_ids(&owner, 4);
    let playlist = shared_playlist(cluster.node(0), &owner, &[], &tracks);
    let mut editors = Vec::new();
    for n in 0..2 {
        let (mut device, _) = Device::connect(cluster.node(0), &owner, &format!("editor-{n}"), false).await;
        let (playlist, tracks) = (playlist.clone(), tracks.clone());
        editors.push(tokio::spawn(async move {
            for round in 0..60usize {
                let ops =
                    json!([{"op": "add", "track_ids": [tracks[(n + round) % tracks.len()]], "position": round % 3}]);
                let reply = device.request("playlist_edit", json!({"playlist_id": playlist, "ops": ops})).await;
                assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
            }
        }));
    }
    // Late subscribers on node 1, one every 50 ms while node 0 edits.
    let mut late = Vec::new();
    for n in 0..4 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (mut device, _) = Device::connect(cluster.node(1), &owner, &format!("late-{n}"), false).await;
        let replica = subscribe(&mut device, &playlist).await;
        late.push((device, replica));
    }
    for editor in editors {
        editor.await.unwrap();
    }
    let (mut check, _) = Device::connect(cluster.node(1), &owner, "check", false).await;
    let last = subscribe(&mut check, &playlist).await;
    assert_eq!(last.uids.len(), tracks.len() + 120);
    for (device, replica) in &mut late {
        follow_until(device, replica, &last.snapshot).await;
        assert_eq!(replica.chain_breaks, 0, "{}: no event missed or seen twice", device.device_id);
        assert_eq!(replica.uids, last.uids, "{}", device.device_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_paused_past_its_lease_writes_nothing_once_another_took_the_playlist_over() {
    let cluster = TestCluster::start(2, &["--lease-ms", "1000"]);
    let (_, owner) = cluster.node(0).register("owner");
    let tracks = cluster.node(0).track_ids(&owner, 3);
    // Created and filled through node 0: its actor runs there.
    let playlist = shared_playlist(cluster.node(0), &owner, &[], &tracks[..1]);
    assert_eq!((playlist_actors(cluster.node(0)), playlist_actors(cluster.node(1))), (1, 0));
    let (mut on_0, _) = Device::connect(cluster.node(0), &owner, "on-node-0", false).await;
    let (mut on_1, _) = Device::connect(cluster.node(1), &owner, "on-node-1", false).await;
    let (mut watcher, _) = Device::connect(cluster.node(1), &owner, "watcher", false).await;
    let mut replica = subscribe(&mut watcher, &playlist).await;

    // Node 0 stops (as a long pause would stop it) while it runs the playlist.
    let pid = cluster.node(0).pid().to_string();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let rename = json!({"playlist_id": playlist, "ops": [{"op": "rename", "name": "Sent to the paused node"}]});
    let reply = on_1.request("playlist_edit", rename).await;
    let error = reply.error.expect("the paused node cannot answer");
    assert_eq!(error.code, segue_protocol::ErrorCode::Unavailable, "{}", error.message);
    // Its liveness lapsed: node 1 took the playlist over, and has written nothing yet, so only
    // the owner's epoch tells the two apart (the version is the same).

    // Node 0 comes back, still holding its actor and, in its inbox, the rename sent to it.
    assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let add = json!({"playlist_id": playlist, "ops": [{"op": "add", "track_ids": [tracks[1]]}]});
    let reply = on_0.request("playlist_edit", add).await;
    assert_eq!(reply.ok, Some(true), "an edit on node 0 goes to the new owner: {:?}", reply.error);
    let add = json!({"playlist_id": playlist, "ops": [{"op": "add", "track_ids": [tracks[2]]}]});
    assert_eq!(on_1.request("playlist_edit", add).await.ok, Some(true));

    let (mut check, _) = Device::connect(cluster.node(0), &owner, "check", false).await;
    let reply = check.request("playlist_subscribe", json!({"playlist_id": playlist})).await;
    let view: PlaylistView = reply.body_as().unwrap();
    assert_ne!(view.name, "Sent to the paused node", "the stale owner wrote nothing");
    let order: Vec<&str> = view.items.iter().map(|item| item.track_id.as_str()).collect();
    assert_eq!(order, [tracks[0].as_str(), tracks[1].as_str(), tracks[2].as_str()]);
    follow_until(&mut watcher, &mut replica, &view.snapshot_id).await;
    assert_eq!(replica.chain_breaks, 0, "no event from the stale owner");
    assert_eq!((playlist_actors(cluster.node(0)), playlist_actors(cluster.node(1))), (0, 1));
}
