//! Offline sync against real servers (SQLite and PostgreSQL): the premium gate, deltas since a
//! version (tracks, albums, a playlist that follows its edits), a track that is no longer
//! playable in the user's country, signed download URLs with the right sizes, the licence
//! lapsing, the limits (5 devices, 10,000 tracks), and bad input.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn uri(kind: &str, id: &str) -> String {
    format!("spotify:{kind}:{id}")
}

fn keep(server: &TestServer, token: &str, device: &str, uris: &[String]) -> Reply {
    server.request("PUT", &format!("/v1/me/offline/{device}"), Some(token), Some(json!({"uris": uris})))
}

fn sync(server: &TestServer, token: &str, device: &str, since: Option<i64>) -> Value {
    let path = match since {
        Some(since) => format!("/v1/me/offline/{device}/sync?since={since}"),
        None => format!("/v1/me/offline/{device}/sync"),
    };
    let reply = server.get(&path, token);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

fn added(sync: &Value) -> Vec<String> {
    sync["add"].as_array().unwrap().iter().map(|item| item["track_id"].as_str().unwrap().to_string()).collect()
}

fn removed(sync: &Value) -> Vec<String> {
    sync["remove"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn reason(reply: &Reply) -> &str {
    reply.body["error"]["reason"].as_str().unwrap_or("")
}

fn deltas(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, free) = server.register("free-listener");
    let (_, token) = server.register_premium("listener");
    let tracks = server.track_ids(&token, 4);
    let (album, album_tracks) = server.album(&token);
    let album_ids: Vec<String> = album_tracks.iter().map(|(id, _)| id.clone()).collect();

    // Free users: 403 PREMIUM_REQUIRED, on every endpoint.
    let refused = keep(&server, &free, "phone", &[uri("track", &tracks[0])]);
    assert_eq!((refused.status, reason(&refused)), (403, "PREMIUM_REQUIRED"), "{:?}", refused.body);
    let refused = server.get("/v1/me/offline/phone/sync", &free);
    assert_eq!((refused.status, reason(&refused)), (403, "PREMIUM_REQUIRED"));

    // Two tracks and an album: the first sync gives every track once, with a URL and a size.
    let reply =
        keep(&server, &token, "phone", &[uri("track", &tracks[0]), uri("track", &tracks[1]), uri("album", &album)]);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut expected: Vec<String> = vec![tracks[0].clone(), tracks[1].clone()];
    expected.extend(album_ids.iter().filter(|id| !expected.contains(id)).cloned().collect::<Vec<_>>());
    assert_eq!(reply.body["tracks"], expected.len());
    let first = sync(&server, &token, "phone", None);
    assert_eq!(first["version"], 1);
    assert_eq!(added(&first), expected, "in the order of the sources");
    assert!(removed(&first).is_empty());
    let licence = first["license_expires_at_ms"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(licence.abs_diff(now + 30 * 24 * 3600 * 1000) < 60_000, "30 days from now");
    // A download URL serves exactly the size it announced, without a token.
    let download = &first["add"][0];
    let url = download["url"].as_str().unwrap();
    let path = &url[url.find("/v1/audio/").unwrap()..];
    let head = server.request("HEAD", path, None, None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length").and_then(|v| v.parse::<u64>().ok()), download["size_bytes"].as_u64());

    // Nothing changed: the same version, nothing to do.
    let same = sync(&server, &token, "phone", Some(1));
    assert_eq!((same["version"].as_i64(), added(&same).len(), removed(&same).len()), (Some(1), 0, 0));

    // A playlist kept offline follows its edits.
    let created = server.request("POST", "/v1/me/playlists", Some(&token), Some(json!({"name": "Trip"})));
    let playlist = created.body["id"].as_str().unwrap().to_string();
    let add = |track: &str| {
        let path = format!("/v1/playlists/{playlist}/tracks");
        let reply = server.request("POST", &path, Some(&token), Some(json!({"uris": [uri("track", track)]})));
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    };
    add(&tracks[2]);
    assert_eq!(keep(&server, &token, "phone", &[uri("playlist", &playlist)]).status, 200);
    let second = sync(&server, &token, "phone", Some(1));
    assert_eq!(
        (second["version"].as_i64(), added(&second), removed(&second)),
        (Some(2), vec![tracks[2].clone()], vec![])
    );
    add(&tracks[3]);
    let third = sync(&server, &token, "phone", Some(2));
    assert_eq!(added(&third), vec![tracks[3].clone()]);
    // Dropping a source: its tracks leave at the next sync. A device two versions behind gets
    // both changes at once.
    let dropped = server.request(
        "DELETE",
        "/v1/me/offline/phone",
        Some(&token),
        Some(json!({"uris": [uri("track", &tracks[0])]})),
    );
    assert_eq!(dropped.status, 200, "{:?}", dropped.body);
    let fourth = sync(&server, &token, "phone", Some(3));
    assert_eq!((fourth["version"].as_i64(), removed(&fourth)), (Some(4), vec![tracks[0].clone()]));
    let behind = sync(&server, &token, "phone", Some(2));
    assert_eq!((added(&behind), removed(&behind)), (vec![tracks[3].clone()], vec![tracks[0].clone()]));

    // Bad input changes nothing.
    for (body, status) in [
        (json!({"uris": ["spotify:artist:0000000000000000000001"]}), 400),
        (json!({"uris": ["not a uri"]}), 400),
        (json!({"uris": []}), 400),
        (json!({"tracks": []}), 400),
        (json!({"uris": [uri("track", "0000000000000000000001")]}), 404),
        (json!({"uris": [uri("playlist", "0000000000000000000001")]}), 404),
    ] {
        let reply = server.request("PUT", "/v1/me/offline/phone", Some(&token), Some(body.clone()));
        assert_eq!(reply.status, status, "{body}: {:?}", reply.body);
    }
    let long = "x".repeat(65);
    assert_eq!(keep(&server, &token, &long, &[uri("track", &tracks[0])]).status, 400);
    assert_eq!(server.get("/v1/me/offline/phone/sync?since=minus", &token).status, 400);
    assert_eq!(server.get("/v1/me/offline/phone/sync?since=-1", &token).status, 400);
    assert_eq!(server.get("/v1/me/offline/tablet/sync", &token).status, 404);
    let after = sync(&server, &token, "phone", Some(4));
    assert_eq!((after["version"].as_i64(), added(&after).len(), removed(&after).len()), (Some(4), 0, 0));
    // Another user's device of the same name is not this one.
    let (_, other) = server.register_premium("other");
    assert_eq!(server.get("/v1/me/offline/phone/sync", &other).status, 404);

    // Five devices at most; forgetting one frees its place.
    for n in 2..=5 {
        assert_eq!(keep(&server, &token, &format!("device-{n}"), &[uri("track", &tracks[0])]).status, 200);
    }
    let sixth = keep(&server, &token, "device-6", &[uri("track", &tracks[0])]);
    assert_eq!(sixth.status, 400);
    assert!(sixth.body["error"]["message"].as_str().unwrap().contains("at most 5"), "{:?}", sixth.body);
    let listed = server.get("/v1/me/offline", &token);
    assert_eq!(listed.body["devices"].as_array().unwrap().len(), 5);
    assert_eq!(server.request("DELETE", "/v1/me/offline/device-5", Some(&token), None).status, 204);
    assert_eq!(keep(&server, &token, "device-6", &[uri("track", &tracks[0])]).status, 200);
}

#[test]
fn offline_deltas_and_limits_on_sqlite() {
    deltas(Backend::Sqlite);
}

#[test]
fn offline_deltas_and_limits_on_postgres() {
    deltas(Backend::Postgres);
}

#[test]
fn a_lapsed_licence_takes_everything_away_and_gives_it_again() {
    let server = TestServer::start(&["--offline-licence-ms", "1500"]);
    let (_, token) = server.register_premium("traveller");
    let tracks = server.track_ids(&token, 10);
    let uris: Vec<String> = tracks.iter().map(|id| uri("track", id)).collect();
    assert_eq!(keep(&server, &token, "phone", &uris).status, 200);
    let first = sync(&server, &token, "phone", None);
    assert_eq!(sorted(added(&first)), sorted(tracks.clone()));
    std::thread::sleep(Duration::from_millis(1_700));
    let lapsed = sync(&server, &token, "phone", Some(1));
    assert_eq!(lapsed["version"], 2);
    assert_eq!(sorted(removed(&lapsed)), sorted(tracks.clone()), "everything held under the old licence");
    assert_eq!(sorted(added(&lapsed)), sorted(tracks.clone()), "and again under the new one");
    let renewed = sync(&server, &token, "phone", Some(2));
    assert_eq!((added(&renewed).len(), removed(&renewed).len()), (0, 0), "the licence was renewed");
}

#[test]
fn tracks_no_longer_playable_in_the_users_country_leave_at_the_next_sync() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register_premium("traveller");
    // A country no track of the demo catalog is restricted to ("ZZ"): there, only the tracks
    // licensed everywhere play. Tracks of both kinds, as a listener in SE sees them.
    let body = json!({"username": "probe", "password": "correct-horse", "country": "ZZ"});
    let probe = server.request("POST", "/v1/auth/register", None, Some(body));
    let probe = probe.body["access_token"].as_str().unwrap().to_string();
    let (mut everywhere, mut restricted) = (Vec::new(), Vec::new());
    for offset in (0..1_000).step_by(50) {
        let page = server.get(&format!("/v1/search?q=a&type=track&limit=50&offset={offset}"), &token);
        let ids: Vec<String> = page.body["tracks"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["is_playable"] == true)
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        if ids.is_empty() {
            break;
        }
        let there = server.get(&format!("/v1/tracks?ids={}", ids.join(",")), &probe);
        for track in there.body["tracks"].as_array().unwrap() {
            let id = track["id"].as_str().unwrap().to_string();
            if track["is_playable"] == true { everywhere.push(id) } else { restricted.push(id) }
        }
        if !restricted.is_empty() && everywhere.len() >= 3 {
            break;
        }
    }
    assert!(
        !restricted.is_empty() && everywhere.len() >= 3,
        "{} restricted, {} everywhere",
        restricted.len(),
        everywhere.len()
    );
    restricted.truncate(1);
    let tracks: Vec<String> = restricted.iter().chain(&everywhere[..3]).cloned().collect();
    let uris: Vec<String> = tracks.iter().map(|id| uri("track", id)).collect();
    assert_eq!(keep(&server, &token, "phone", &uris).status, 200);
    assert_eq!(added(&sync(&server, &token, "phone", None)), tracks);

    let out = server.cli(&["users", "add", "traveller", "--password", "unused-here", "--country", "ZZ"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.get("/v1/me", &token).body["country"] != "ZZ" {
        assert!(std::time::Instant::now() < deadline, "the country never changed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let moved = sync(&server, &token, "phone", Some(1));
    assert_eq!(removed(&moved), restricted);
    assert!(added(&moved).is_empty());
    // Back home: they come back.
    let out = server.cli(&["users", "add", "traveller", "--password", "unused-here", "--country", "SE"]);
    assert!(out.status.success());
    while server.get("/v1/me", &token).body["country"] != "SE" {
        std::thread::sleep(Duration::from_millis(100));
    }
    let home = sync(&server, &token, "phone", Some(2));
    assert_eq!((added(&home), removed(&home).len()), (restricted, 0));
}

#[test]
fn a_device_keeps_ten_thousand_tracks_at_most() {
    // A catalog larger than one device may keep, imported as an operator would.
    let data_dir = tempfile::tempdir().unwrap();
    let imported = std::process::Command::new(segue_binary())
        .args(["import", "synthetic", "--tracks", "11000", "--seed", "5", "--data-dir"])
        .arg(data_dir.path())
        .env("SEGUE_LOG", "warn")
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let server = TestServer::start_in(data_dir, &[]);
    let (_, token) = server.register_premium("collector");
    let albums: Vec<String> = segue::catalog::synthetic::generate(5, 11_000)
        .flat_map(|bundle| bundle.albums.into_iter().map(|album| uri("album", album.id.as_str())))
        .collect();
    let mut kept = 0;
    let mut refused = None;
    for batch in albums.chunks(100) {
        let reply = keep(&server, &token, "archive", batch);
        match reply.status {
            200 => kept = reply.body["tracks"].as_u64().unwrap(),
            _ => {
                refused = Some(reply);
                break;
            }
        }
    }
    let refused = refused.expect("some batch goes past 10,000 tracks");
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("at most 10000"), "{:?}", refused.body);
    assert!(kept > 9_000 && kept <= 10_000, "{kept}");
    // The refused batch changed nothing: the sync gives what was kept before it.
    let all = sync(&server, &token, "archive", None);
    assert_eq!(added(&all).len() as u64, kept);
    assert_eq!(all["truncated"], false);
}

fn reported_plays(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, free) = server.register("free-listener");
    let (_, token) = server.register_premium("commuter");
    let tracks = server.track_ids(&token, 3);
    assert_eq!(keep(&server, &token, "phone", &[uri("track", &tracks[0])]).status, 200);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let hour = 3_600_000;
    let play = |id: &str, track: &str, at: u64, ms: u64| json!({"id": id, "track_id": track, "played_at_ms": at, "ms_played": ms});
    let batch = json!({"plays": [
        play("p1", &tracks[0], now - 3 * hour, 40_000),
        play("p2", &uri("track", &tracks[1]), now - 2 * hour, 31_000),
        {"id": "p3", "track_id": tracks[2], "played_at_ms": now - hour, "ms_played": 60_000, "device_id": "phone"},
        play("p1", &tracks[0], now - 3 * hour, 40_000),
        play("short", &tracks[0], now - hour, 29_000),
        play("ahead", &tracks[0], now + hour, 40_000),
        play("ancient", &tracks[0], now - 31 * 24 * hour, 40_000),
        play("nowhere", "0000000000000000000001", now - hour, 40_000),
        play("endless", &tracks[0], now - hour, 100_000_000),
        {"id": "stranger", "track_id": tracks[0], "played_at_ms": now - hour, "ms_played": 40_000, "device_id": "car"},
    ]});
    let reply = server.request("POST", "/v1/me/player/plays", Some(&token), Some(batch.clone()));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!((reply.body["accepted"].as_u64(), reply.body["duplicates"].as_u64()), (Some(3), Some(1)));
    let reasons: Vec<(String, String)> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r["reason"].as_str().unwrap().to_string()))
        .collect();
    let expected = [
        ("short", "too_short"),
        ("ahead", "future"),
        ("ancient", "too_old"),
        ("nowhere", "unknown_track"),
        ("endless", "longer_than_track"),
        ("stranger", "unknown_device"),
    ];
    assert_eq!(reasons, expected.map(|(id, reason)| (id.to_string(), reason.to_string())));
    // The same report again counts nothing twice.
    let again = server.request("POST", "/v1/me/player/plays", Some(&token), Some(batch));
    assert_eq!((again.body["accepted"].as_u64(), again.body["duplicates"].as_u64()), (Some(0), Some(4)));
    // They are in the history, newest first.
    let history = server.get("/v1/me/player/recently-played?limit=10", &token);
    let played: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().map(|i| i["track"]["id"].as_str().unwrap()).collect();
    assert_eq!(played, [tracks[2].as_str(), tracks[1].as_str(), tracks[0].as_str()]);

    // Free users and malformed reports change nothing.
    let refused = server.request("POST", "/v1/me/player/plays", Some(&free), Some(json!({"plays": []})));
    assert_eq!((refused.status, reason(&refused)), (403, "PREMIUM_REQUIRED"));
    for bad in [
        json!({"plays": []}),
        json!({"plays": [{"id": "x"}]}),
        json!([1, 2]),
        json!({"plays": [{"id": "x", "track_id": tracks[0], "played_at_ms": -5, "ms_played": 1}]}),
    ] {
        let reply = server.request("POST", "/v1/me/player/plays", Some(&token), Some(bad.clone()));
        assert_eq!(reply.status, 400, "{bad}: {:?}", reply.body);
    }
    let history = server.get("/v1/me/player/recently-played?limit=10", &token);
    assert_eq!(history.body["items"].as_array().unwrap().len(), 3);
}

#[test]
fn plays_made_offline_count_once_on_sqlite() {
    reported_plays(Backend::Sqlite);
}

#[test]
fn plays_made_offline_count_once_on_postgres() {
    reported_plays(Backend::Postgres);
}
