//! Collaborative playlists against a real server: the REST edits as Web API clients send them
//! (on SQLite and on PostgreSQL), the permission matrix, the 10,000-item limit, and the socket's
//! §6 requests (`playlist_subscribe`, `playlist_edit`, strict conflicts, refusals).

mod common;

use common::*;
use segue_protocol::playlist::{AppliedOp, PlaylistChanged, PlaylistView, SnapshotReply};
use serde_json::{Value, json};

fn uri(track: &str) -> String {
    format!("spotify:track:{track}")
}

/// Creates a playlist of `token`'s user; answers its id.
fn create(server: &TestServer, token: &str, public: bool, collaborative: bool) -> String {
    let body = json!({"name": "Road trip", "public": public, "collaborative": collaborative});
    let reply = server.request("POST", "/v1/me/playlists", Some(token), Some(body));
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

/// The playlist's track ids in order, and its snapshot id.
fn order(server: &TestServer, token: &str, playlist: &str) -> (Vec<String>, String) {
    let reply = server.get(&format!("/v1/playlists/{playlist}"), token);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut tracks = Vec::new();
    let mut offset = 0;
    loop {
        let page = server.get(&format!("/v1/playlists/{playlist}/tracks?limit=50&offset={offset}"), token);
        let items = page.body["items"].as_array().unwrap().clone();
        tracks.extend(items.iter().map(|item| item["track"]["id"].as_str().unwrap().to_string()));
        offset += 50;
        if items.len() < 50 {
            break;
        }
    }
    (tracks, reply.body["snapshot_id"].as_str().unwrap().to_string())
}

fn pick(tracks: &[String], at: &[usize]) -> Vec<String> {
    at.iter().map(|&n| tracks[n].clone()).collect()
}

fn snapshot(reply: &Reply) -> String {
    reply.body["snapshot_id"].as_str().unwrap_or_else(|| panic!("a snapshot id in {:?}", reply.body)).to_string()
}

fn rest_edits(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (owner_id, token) = server.register("dj");
    let t = server.track_ids(&token, 8);
    let playlist = create(&server, &token, true, false);
    let path = format!("/v1/playlists/{playlist}/tracks");
    let items_path = format!("/v1/playlists/{playlist}/items");

    // {uris, position}; a bare array with ?position= (spotipy); ?uris= (the query form); /items
    // with {items} (current rspotify).
    let added = server.request("POST", &path, Some(&token), Some(json!({"uris": [uri(&t[0]), uri(&t[1])]})));
    assert_eq!(added.status, 201, "{:?}", added.body);
    let first_snapshot = snapshot(&added);
    let reply = server.request("POST", &format!("{path}?position=1"), Some(&token), Some(json!([uri(&t[2])])));
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let reply = server.request("POST", &format!("{path}?uris={},{}&position=0", uri(&t[3]), t[4]), Some(&token), None);
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let reply = server.request("POST", &items_path, Some(&token), Some(json!({"items": [uri(&t[0])], "position": 99})));
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let (tracks, current) = order(&server, &token, &playlist);
    assert_eq!(tracks, pick(&t, &[3, 4, 0, 2, 1, 0]));
    assert_eq!(current, snapshot(&reply), "the answered snapshot is the playlist's");
    let page = server.get(&format!("{items_path}?limit=1"), &token);
    assert_eq!(page.body["items"][0]["added_by"]["id"], owner_id.as_str());
    assert!(page.body["items"][0]["added_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(page.body["items"][0]["item"]["id"], t[3].as_str(), "the track under `item` too");

    // A reorder on a stale snapshot cannot be read against the current one: 409.
    let stale = json!({"range_start": 0, "insert_before": 3, "snapshot_id": first_snapshot});
    let reply = server.request("PUT", &path, Some(&token), Some(stale));
    assert_eq!((reply.status, reply.reason()), (409, "CONFLICT"), "{:?}", reply.body);
    // On the current one (or none), it moves the range.
    let reorder = json!({"range_start": 0, "insert_before": 4, "range_length": 2, "snapshot_id": current});
    let reply = server.request("PUT", &path, Some(&token), Some(reorder));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(order(&server, &token, &playlist).0, pick(&t, &[0, 2, 3, 4, 1, 0]));
    let reply = server.request("PUT", &path, Some(&token), Some(json!({"range_start": 9, "insert_before": 0})));
    assert_eq!(reply.status, 400, "out of range: {:?}", reply.body);

    // Remove every occurrence (spotipy's {"tracks": [{"uri"}]}), with a stale snapshot: fine.
    let remove = json!({"tracks": [{"uri": uri(&t[0])}], "snapshot_id": first_snapshot});
    let reply = server.request("DELETE", &path, Some(&token), Some(remove));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(order(&server, &token, &playlist).0, pick(&t, &[2, 3, 4, 1]));
    // At positions: only where the URI stands; a position holding another track is a 400.
    let wrong = json!({"items": [{"uri": uri(&t[2]), "positions": [1]}]});
    let reply = server.request("DELETE", &items_path, Some(&token), Some(wrong));
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    let right = json!({"items": [{"uri": uri(&t[3]), "positions": [1]}]});
    let reply = server.request("DELETE", &items_path, Some(&token), Some(right));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(order(&server, &token, &playlist).0, pick(&t, &[2, 4, 1]));

    // Replace.
    let reply = server.request("PUT", &items_path, Some(&token), Some(json!({"uris": [uri(&t[5]), uri(&t[6])]})));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(order(&server, &token, &playlist).0, pick(&t, &[5, 6]));

    // Details: 200 with an empty body, as the Web API answers.
    let details = json!({"name": "Night drive", "description": "slow", "public": false});
    let reply = server.request("PUT", &format!("/v1/playlists/{playlist}"), Some(&token), Some(details));
    assert_eq!((reply.status, &reply.body), (200, &Value::Null));
    let read = server.get(&format!("/v1/playlists/{playlist}"), &token);
    assert_eq!((read.body["name"].as_str(), read.body["description"].as_str()), (Some("Night drive"), Some("slow")));
    assert_eq!(read.body["public"], false);
    let reply = server.request(
        "PUT",
        &format!("/v1/playlists/{playlist}"),
        Some(&token),
        Some(json!({"collaborative": true, "public": true})),
    );
    assert_eq!(reply.status, 400, "a collaborative playlist cannot be public: {:?}", reply.body);

    // Bad input is a clear 400.
    for body in [
        json!({"uris": ["spotify:album:4iV5W9uYEdYUVa79Axb7Rh"]}),
        json!({"uris": ["spotify:track:0000000000000000000000"]}),
        json!({"uris": []}),
        json!({"uris": vec![uri(&t[0]); 101]}),
        json!({"uris": "not a list"}),
        json!({}),
    ] {
        let reply = server.request("POST", &path, Some(&token), Some(body.clone()));
        assert_eq!((reply.status, reply.reason()), (400, "BAD_REQUEST"), "{body}: {:?}", reply.body);
    }
    let reply = server.request("POST", "/v1/playlists/nope/tracks", Some(&token), Some(json!({"uris": [uri(&t[0])]})));
    assert_eq!(reply.status, 400);
    let missing = "/v1/playlists/4iV5W9uYEdYUVa79Axb7Rh/tracks";
    let reply = server.request("POST", missing, Some(&token), Some(json!({"uris": [uri(&t[0])]})));
    assert_eq!(reply.status, 404);
}

#[test]
fn rest_edits_answer_as_the_web_api_does_on_sqlite() {
    rest_edits(Backend::Sqlite);
}

#[test]
fn rest_edits_answer_as_the_web_api_does_on_postgres() {
    rest_edits(Backend::Postgres);
}

#[test]
fn the_permission_matrix() {
    let server = TestServer::start(&[]);
    let (_, owner) = server.register("owner");
    let (collaborator_id, collaborator) = server.register("collaborator");
    let (follower_id, follower) = server.register("follower");
    let (_, stranger) = server.register("stranger");
    let track = uri(&server.track_ids(&owner, 1)[0]);
    // All public at first, so that the follower follows each; then two of them are made private
    // (one collaborative) by their details.
    let public = create(&server, &owner, true, false);
    let private = create(&server, &owner, true, false);
    let collaborative = create(&server, &owner, true, false);
    for playlist in [&public, &private, &collaborative] {
        let add = json!({"user_id": collaborator_id});
        let path = format!("/v1/playlists/{playlist}/collaborators");
        let reply = server.request("POST", &path, Some(&owner), Some(add.clone()));
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        assert_eq!(server.request("POST", &path, Some(&owner), Some(add.clone())).status, 200, "already one");
        let reply = server.request("POST", &path, Some(&collaborator), Some(add));
        assert_eq!(reply.status, 403, "only the owner chooses collaborators: {:?}", reply.body);
        let follow = server.request("PUT", &format!("/v1/playlists/{playlist}/followers"), Some(&follower), None);
        assert_eq!(follow.status, 200);
    }
    for (playlist, details) in
        [(&private, json!({"public": false})), (&collaborative, json!({"public": false, "collaborative": true}))]
    {
        let reply = server.request("PUT", &format!("/v1/playlists/{playlist}"), Some(&owner), Some(details));
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let contains = server.get(&format!("/v1/playlists/{collaborative}/followers/contains?ids={follower_id}"), &owner);
    assert_eq!(contains.body, json!([true]), "the follower still follows it");
    // (reader, playlist) → (GET status, add status).
    let expected = [
        (&owner, &public, 200, 201),
        (&owner, &private, 200, 201),
        (&owner, &collaborative, 200, 201),
        (&collaborator, &public, 200, 403),
        (&collaborator, &private, 200, 403),
        (&collaborator, &collaborative, 200, 201),
        (&follower, &public, 200, 403),
        (&follower, &private, 404, 404),
        (&follower, &collaborative, 404, 404),
        (&stranger, &public, 200, 403),
        (&stranger, &private, 404, 404),
        (&stranger, &collaborative, 404, 404),
    ];
    for (n, (token, playlist, read, edit)) in expected.into_iter().enumerate() {
        let got = server.get(&format!("/v1/playlists/{playlist}"), token).status;
        let added =
            server.request("POST", &format!("/v1/playlists/{playlist}/tracks"), Some(token), Some(json!([track])));
        let details =
            server.request("PUT", &format!("/v1/playlists/{playlist}"), Some(token), Some(json!({"name": "x"})));
        let want_details = if edit == 201 { 200 } else { edit };
        assert_eq!((got, added.status, details.status), (read, edit, want_details), "case {n}: {:?}", added.body);
    }
    // The owner removes the collaborator: the collaborative playlist is hidden from them again.
    let path = format!("/v1/playlists/{collaborative}/collaborators/{collaborator_id}");
    assert_eq!(server.request("DELETE", &path, Some(&collaborator), None).status, 403);
    assert_eq!(server.request("DELETE", &path, Some(&owner), None).status, 204);
    assert_eq!(server.get(&format!("/v1/playlists/{collaborative}"), &collaborator).status, 404);
    let added = server.request(
        "POST",
        &format!("/v1/playlists/{collaborative}/tracks"),
        Some(&collaborator),
        Some(json!([track])),
    );
    assert_eq!(added.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_socket_reads_and_edits_playlists_and_a_playlist_holds_ten_thousand_items_at_most() {
    let server = TestServer::start(&[]);
    let (owner_id, owner) = server.register("owner");
    let (friend_id, friend) = server.register("friend");
    let (_, stranger) = server.register("stranger");
    let tracks = server.track_ids(&owner, 3);
    let shared = create(&server, &owner, false, true);
    let reply = server.request(
        "POST",
        &format!("/v1/playlists/{shared}/collaborators"),
        Some(&owner),
        Some(json!({"user_id": friend_id})),
    );
    assert_eq!(reply.status, 201);
    let (mut phone, _) = Device::connect(&server, &friend, "phone", false).await;
    let (mut other, _) = Device::connect(&server, &stranger, "laptop", true).await;

    let reply = phone.request("playlist_subscribe", json!({"playlist_id": shared})).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    let view: PlaylistView = reply.body_as().unwrap();
    assert_eq!((view.playlist_id.as_str(), view.collaborative, view.items.len()), (shared.as_str(), true, 0));
    let base = view.snapshot_id;

    let edit = json!({"playlist_id": shared, "ops": [
        {"op": "add", "track_ids": [tracks[0], uri(&tracks[1])]},
        {"op": "add", "track_ids": [tracks[2]], "position": 0},
        {"op": "rename", "name": "Ours"},
    ]});
    let reply = phone.request("playlist_edit", edit).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    let edited: SnapshotReply = reply.body_as().unwrap();
    assert_ne!(edited.snapshot_id, base);
    let view: PlaylistView =
        phone.request("playlist_subscribe", json!({"playlist_id": shared})).await.body_as().unwrap();
    assert_eq!(view.snapshot_id, edited.snapshot_id);
    assert_eq!(view.name, "Ours");
    assert_eq!(view.items.iter().map(|i| i.track_id.as_str()).collect::<Vec<_>>(), pick(&tracks, &[2, 0, 1]));
    assert!(view.items.iter().all(|item| item.added_by.as_deref() == Some(friend_id.as_str())));

    // Strict on the old base: CONFLICT, and nothing changes.
    let moved = json!({"playlist_id": shared, "base_snapshot_id": base, "strict": true, "ops": [
        {"op": "move", "uid": view.items[0].uid, "position": 2},
    ]});
    let reply = phone.request("playlist_edit", moved).await;
    assert_eq!(reply.error.map(|e| e.code), Some(segue_protocol::ErrorCode::Conflict));
    // Not strict: applied against the playlist as it is; an absent uid is no error.
    let moved = json!({"playlist_id": shared, "base_snapshot_id": base, "ops": [
        {"op": "move", "uid": view.items[0].uid, "position": 99},
        {"op": "remove", "uids": ["4iV5W9uYEdYUVa79Axb7Rh", "not-a-uid"]},
    ]});
    let reply = phone.request("playlist_edit", moved).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    let (order_now, _) = order(&server, &owner, &shared);
    assert_eq!(order_now, pick(&tracks, &[0, 1, 2]));

    // Refusals: a stranger sees nothing of a private playlist; a public one they may not edit.
    let reply = other.request("playlist_subscribe", json!({"playlist_id": shared})).await;
    assert_eq!(reply.error.map(|e| e.code), Some(segue_protocol::ErrorCode::NotFound));
    let public = create(&server, &owner, true, false);
    let reply = other.request("playlist_subscribe", json!({"playlist_id": public})).await;
    assert_eq!(reply.ok, Some(true));
    let reply =
        other.request("playlist_edit", json!({"playlist_id": public, "ops": [{"op": "rename", "name": "Mine"}]})).await;
    assert_eq!(reply.error.map(|e| e.code), Some(segue_protocol::ErrorCode::Forbidden));
    let reply = other.request("playlist_edit", json!({"playlist_id": public, "ops": []})).await;
    assert_eq!(reply.error.map(|e| e.code), Some(segue_protocol::ErrorCode::BadRequest));
    let reply = other.request("playlist_unsubscribe", json!({"playlist_id": public})).await;
    assert_eq!(reply.ok, Some(true));

    // 10,000 items at most: ten adds of a thousand fill it; one more is a clear 400 on REST and
    // BAD_REQUEST on the socket, and changes nothing.
    let (mut owner_phone, _) = Device::connect(&server, &owner, "owner-phone", false).await;
    let big = create(&server, &owner, true, false);
    let thousand: Vec<&String> = std::iter::repeat_n(&tracks[0], 1_000).collect();
    for _ in 0..10 {
        let add = json!({"playlist_id": big, "ops": [{"op": "add", "track_ids": thousand}]});
        let reply = owner_phone.request("playlist_edit", add).await;
        assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    }
    let reply =
        server.request("POST", &format!("/v1/playlists/{big}/tracks"), Some(&owner), Some(json!([uri(&tracks[1])])));
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("10000"), "{:?}", reply.body);
    let add = json!({"playlist_id": big, "ops": [{"op": "add", "track_ids": [tracks[1]]}]});
    let reply = owner_phone.request("playlist_edit", add).await;
    assert_eq!(reply.error.map(|e| e.code), Some(segue_protocol::ErrorCode::BadRequest));
    let read = server.get(&format!("/v1/playlists/{big}"), &owner);
    assert_eq!(read.body["tracks"]["total"], 10_000);
    // Reordering and removing on a full playlist still work.
    let reply = server.request(
        "PUT",
        &format!("/v1/playlists/{big}/tracks"),
        Some(&owner),
        Some(json!({"range_start": 9_000, "insert_before": 0, "range_length": 500})),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let _ = owner_id;
}

/// A subscriber's copy of the playlist, kept by applying each `playlist_changed` as it comes.
struct Replica {
    snapshot: String,
    uids: Vec<String>,
    chain_breaks: usize,
    events: usize,
}

impl Replica {
    fn of(view: &PlaylistView) -> Replica {
        Replica {
            snapshot: view.snapshot_id.clone(),
            uids: view.items.iter().map(|item| item.uid.clone()).collect(),
            chain_breaks: 0,
            events: 0,
        }
    }

    fn apply(&mut self, changed: &PlaylistChanged) {
        if changed.prev_snapshot_id != self.snapshot {
            self.chain_breaks += 1;
        }
        self.events += 1;
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

/// Reads events until the replica holds `snapshot`; other events (`state`) are skipped.
async fn follow_until(device: &mut Device, replica: &mut Replica, snapshot: &str) {
    while replica.snapshot != snapshot {
        let frame = device.next_event().await;
        if frame.kind == "playlist_changed" {
            assert_eq!(frame.seq, None, "playlist_changed carries no seq");
            replica.apply(&frame.body_as().unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_subscriber_sees_every_edit_from_sockets_and_rest_in_one_order() {
    let server = std::sync::Arc::new(TestServer::start(&[]));
    let (_, owner) = server.register("owner");
    let (friend_id, friend) = server.register("friend");
    let (other_id, other) = server.register("other");
    let tracks = server.track_ids(&owner, 6);
    let playlist = create(&server, &owner, false, true);
    for user in [&friend_id, &other_id] {
        let path = format!("/v1/playlists/{playlist}/collaborators");
        assert_eq!(server.request("POST", &path, Some(&owner), Some(json!({"user_id": user}))).status, 201);
    }
    let seed = json!({"uris": tracks.iter().map(|t| uri(t)).collect::<Vec<_>>()});
    assert_eq!(
        server.request("POST", &format!("/v1/playlists/{playlist}/tracks"), Some(&owner), Some(seed)).status,
        201
    );

    // Four subscribers: the owner, the friend on two devices, the other collaborator.
    let mut devices = Vec::new();
    for (token, device_id) in
        [(&owner, "owner-phone"), (&friend, "friend-phone"), (&friend, "friend-laptop"), (&other, "other-phone")]
    {
        let (mut device, _) = Device::connect(&server, token, device_id, false).await;
        let reply = device.request("playlist_subscribe", json!({"playlist_id": playlist})).await;
        assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
        let view: PlaylistView = reply.body_as().unwrap();
        devices.push((device, Replica::of(&view)));
    }

    // Each device edits ten times while REST edits too; nobody waits for anybody.
    let mut editors = Vec::new();
    for (n, (mut device, replica)) in devices.into_iter().enumerate() {
        let playlist = playlist.clone();
        let tracks = tracks.clone();
        editors.push(tokio::spawn(async move {
            let uids = replica.uids.clone();
            for round in 0..10usize {
                let ops = match (n + round) % 3 {
                    0 => json!([{"op": "add", "track_ids": [tracks[round % tracks.len()]], "position": round}]),
                    1 => json!([{"op": "move", "uid": uids[(n + round) % uids.len()], "position": n}]),
                    _ => json!([
                        {"op": "remove", "uids": [uids[(round * 7 + n) % uids.len()]]},
                        {"op": "add", "track_ids": [tracks[n]]},
                    ]),
                };
                let reply = device.request("playlist_edit", json!({"playlist_id": playlist, "ops": ops})).await;
                assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
            }
            (device, replica)
        }));
    }
    let rest = {
        let server = server.clone();
        let (playlist, owner, track) = (playlist.clone(), owner.clone(), tracks[0].clone());
        tokio::task::spawn_blocking(move || {
            for round in 0..5 {
                let path = format!("/v1/playlists/{playlist}/tracks");
                let reply = server.request(
                    "POST",
                    &format!("{path}?position={round}"),
                    Some(&owner),
                    Some(json!([uri(&track)])),
                );
                assert_eq!(reply.status, 201, "{:?}", reply.body);
                let reply =
                    server.request("PUT", &path, Some(&owner), Some(json!({"range_start": 0, "insert_before": 3})));
                assert_eq!(reply.status, 200, "{:?}", reply.body);
            }
        })
    };
    let mut devices = Vec::new();
    for editor in editors {
        devices.push(editor.await.unwrap());
    }
    rest.await.unwrap();

    // The playlist as the server holds it now, by a fresh subscription.
    let (mut checker, _) = Device::connect(&server, &owner, "checker", false).await;
    let reply = checker.request("playlist_subscribe", json!({"playlist_id": playlist})).await;
    let last: PlaylistView = reply.body_as().unwrap();
    let expected: Vec<String> = last.items.iter().map(|item| item.uid.clone()).collect();
    for (device, replica) in &mut devices {
        follow_until(device, replica, &last.snapshot_id).await;
        assert_eq!(replica.chain_breaks, 0, "{}: an unbroken prev_snapshot_id chain", device.device_id);
        assert_eq!(replica.uids, expected, "{}: the same order as the server's", device.device_id);
        assert!(replica.events >= 40, "{}: every edit that changed something, {}", device.device_id, replica.events);
    }

    // After an unsubscribe a connection hears no more; the others still do.
    let (first, _) = &mut devices[0];
    assert_eq!(first.request("playlist_unsubscribe", json!({"playlist_id": playlist})).await.ok, Some(true));
    let reply =
        server.request("PUT", &format!("/v1/playlists/{playlist}"), Some(&owner), Some(json!({"name": "Renamed"})));
    assert_eq!(reply.status, 200);
    let (second, replica) = &mut devices[1];
    let frame = loop {
        let frame = second.next_event().await;
        if frame.kind == "playlist_changed" {
            break frame;
        }
    };
    let changed: PlaylistChanged = frame.body_as().unwrap();
    assert_eq!(changed.prev_snapshot_id, replica.snapshot);
    assert_eq!(changed.ops, vec![AppliedOp::Rename { name: "Renamed".into() }]);
    let (first, _) = &mut devices[0];
    let reply = first.request("ping", json!({})).await;
    assert_eq!(reply.ok, Some(true));
    assert!(first.events.iter().all(|frame| frame.kind != "playlist_changed"), "no event after the unsubscribe");
}

/// The next event that is not the session's own `state`.
async fn next_playlist_event(device: &mut Device) -> segue_protocol::ServerFrame {
    loop {
        let frame = device.next_event().await;
        if frame.kind != "state" {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn those_who_lose_access_are_unsubscribed_and_told() {
    let server = TestServer::start(&[]);
    let (_, owner) = server.register("owner");
    let (friend_id, friend) = server.register("friend");
    let (_, stranger) = server.register("stranger");
    let tracks = server.track_ids(&owner, 3);
    let playlist = create(&server, &owner, true, false);
    let marker = create(&server, &owner, true, false);
    let path = format!("/v1/playlists/{playlist}/collaborators");
    assert_eq!(server.request("POST", &path, Some(&owner), Some(json!({"user_id": friend_id}))).status, 201);
    let mut devices = Vec::new();
    for (token, device_id) in [(&owner, "owner-laptop"), (&friend, "friend-phone"), (&stranger, "stranger-phone")] {
        let (mut device, _) = Device::connect(&server, token, device_id, false).await;
        for id in [&playlist, &marker] {
            let reply = device.request("playlist_subscribe", json!({"playlist_id": id})).await;
            assert_eq!(reply.ok, Some(true), "{device_id}: {:?}", reply.error);
        }
        devices.push(device);
    }
    let [mut owners, mut friends, mut strangers] = <[Device; 3]>::try_from(devices).ok().unwrap();

    // Made private: everyone sees the change, then the stranger's subscription ends, with a
    // notice.
    let reply =
        server.request("PUT", &format!("/v1/playlists/{playlist}"), Some(&owner), Some(json!({"public": false})));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    for device in [&mut owners, &mut friends, &mut strangers] {
        assert_eq!(next_playlist_event(device).await.kind, "playlist_changed", "{}", device.device_id);
    }
    let notice = next_playlist_event(&mut strangers).await;
    assert_eq!(notice.kind, "playlist_unsubscribed");
    let notice: segue_protocol::playlist::PlaylistUnsubscribed = notice.body_as().unwrap();
    assert_eq!((notice.playlist_id.as_str(), notice.reason.as_str()), (playlist.as_str(), "no_access"));
    // A collaborator removed from the private playlist: the same.
    let reply = server.request("DELETE", &format!("{path}/{friend_id}"), Some(&owner), None);
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let notice = next_playlist_event(&mut friends).await;
    assert_eq!(notice.kind, "playlist_unsubscribed");

    // Edits of it now reach the owner only: the next event anyone else gets is the marker's.
    let add = json!({"playlist_id": playlist, "ops": [{"op": "add", "track_ids": [tracks[0]]}]});
    assert_eq!(owners.request("playlist_edit", add).await.ok, Some(true));
    let changed: PlaylistChanged = next_playlist_event(&mut owners).await.body_as().unwrap();
    assert_eq!(changed.playlist_id, playlist);
    let add = json!({"playlist_id": marker, "ops": [{"op": "add", "track_ids": [tracks[1]]}]});
    assert_eq!(owners.request("playlist_edit", add).await.ok, Some(true));
    for device in [&mut friends, &mut strangers] {
        let next: PlaylistChanged = next_playlist_event(device).await.body_as().unwrap();
        assert_eq!(next.playlist_id, marker, "{}: nothing of the private playlist", device.device_id);
        let again = device.request("playlist_subscribe", json!({"playlist_id": playlist})).await;
        assert_eq!(again.error.map(|error| error.code), Some(segue_protocol::ErrorCode::NotFound));
    }
}
