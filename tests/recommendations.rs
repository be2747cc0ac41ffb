//! Recommendations against real servers: the shapes and refusals of `/v1/recommendations`,
//! the genre seeds, radio and the autoplay switch; a model trained (`segue recs train`) on
//! listening histories generated through `POST /v1/me/player/plays`, which recommends what
//! similar listeners played; and Discover Weekly's rules on those histories (30 tracks, none
//! played in 30 days, at most 2 per artist, a reason each, the same list on a second call), on
//! SQLite and PostgreSQL; autoplay going on with the station of what just played over a real
//! socket; and the Redis lock that lets one trainer at a time in a cluster.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Registers a premium user; answers the id and token once the server sees the product.
fn premium(server: &TestServer, name: &str) -> (String, String) {
    let (id, token) = server.register(name);
    server.make_premium(name);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get("/v1/me", &token).body["product"] != "premium" {
        assert!(Instant::now() < deadline, "the product never changed");
        std::thread::sleep(Duration::from_millis(100));
    }
    (id, token)
}

/// `n` distinct playable tracks of the demo catalog: `(track id, artist id)`.
fn catalog_tracks(server: &TestServer, token: &str, n: usize) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    'queries: for q in ["e", "a", "o", "i", "u", "r", "n", "s", "t", "l"] {
        for offset in (0..500).step_by(50) {
            let reply = server.get(&format!("/v1/search?q={q}&type=track&limit=50&offset={offset}"), token);
            let Some(items) = reply.body["tracks"]["items"].as_array() else { break };
            if items.is_empty() {
                break;
            }
            for item in items {
                let id = item["id"].as_str().unwrap().to_string();
                if item["is_playable"] == true && seen.insert(id.clone()) {
                    out.push((id, item["artists"][0]["id"].as_str().unwrap().to_string()));
                    if out.len() == n {
                        break 'queries;
                    }
                }
            }
        }
    }
    assert_eq!(out.len(), n, "the demo catalog has {n} playable tracks");
    out
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Reports plays of `tracks` made offline over the last days, one each.
fn report_plays(server: &TestServer, token: &str, tracks: &[&str]) {
    let now = now_ms();
    let plays: Vec<Value> = tracks
        .iter()
        .enumerate()
        .map(|(k, track)| {
            json!({"id": format!("gen-{track}-{k}"), "track_id": track, "played_at_ms": now - (k as u64 + 1) * 3_600_000, "ms_played": 31_000})
        })
        .collect();
    let reply = server.request("POST", "/v1/me/player/plays", Some(token), Some(json!({ "plays": plays })));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["accepted"].as_u64(), Some(tracks.len() as u64), "{:?}", reply.body);
}

fn ids_of(tracks: &Value) -> Vec<String> {
    tracks.as_array().expect("a list of tracks").iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

fn assert_error(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {:?}", reply.body);
    assert_eq!(reply.body["error"]["status"], status, "{what}: the Web API's error shape");
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
}

#[test]
fn recommendations_radio_and_autoplay_answer_in_the_web_api_shapes_and_refuse_bad_input() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("curious");
    let tracks = catalog_tracks(&server, &token, 3);
    let (seed, seed_artist) = (&tracks[0].0, &tracks[0].1);

    let genres = server.get("/v1/recommendations/available-genre-seeds", &token);
    assert_eq!(genres.status, 200);
    let genres: Vec<String> =
        genres.body["genres"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect();
    assert!(genres.len() >= 5, "{genres:?}");
    assert!(genres.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");

    // No model yet: content alone answers.
    let reply = server.get(&format!("/v1/recommendations?seed_tracks={seed}&limit=10"), &token);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let got = ids_of(&reply.body["tracks"]);
    assert_eq!(got.len(), 10);
    assert!(!got.contains(seed), "never the seed itself");
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 10, "no repeats");
    let track = &reply.body["tracks"][0];
    for field in ["id", "name", "uri", "href", "duration_ms", "popularity", "album", "artists", "is_playable"] {
        assert!(!track[field].is_null(), "a full track object has {field}: {track}");
    }
    let seeds = &reply.body["seeds"];
    assert_eq!(seeds[0]["id"], seed.as_str());
    assert_eq!(seeds[0]["type"], "TRACK");
    assert!(seeds[0]["href"].as_str().unwrap().ends_with(&format!("/v1/tracks/{seed}")));
    for size in ["initialPoolSize", "afterFilteringSize", "afterRelinkingSize"] {
        assert!(seeds[0][size].as_u64().is_some_and(|n| n > 0), "{size}: {seeds}");
    }

    // Mixed seeds, each described in the order given; URIs are ids too.
    let genre = &genres[0];
    let path = format!(
        "/v1/recommendations?seed_tracks=spotify:track:{seed}&seed_artists={seed_artist}&seed_genres={genre}&limit=100"
    );
    let reply = server.get(&path, &token);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let kinds: Vec<&str> =
        reply.body["seeds"].as_array().unwrap().iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["TRACK", "ARTIST", "GENRE"]);
    assert!(reply.body["seeds"][2]["href"].is_null());
    assert!(ids_of(&reply.body["tracks"]).len() > 20);

    // Tunable attributes bound what comes back.
    let reply = server
        .get(&format!("/v1/recommendations?seed_genres={genre}&min_energy=0.6&max_popularity=70&limit=20"), &token);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let bounded = ids_of(&reply.body["tracks"]);
    assert!(!bounded.is_empty());
    let features = server.get(&format!("/v1/audio-features?ids={}", bounded.join(",")), &token);
    for f in features.body["audio_features"].as_array().unwrap() {
        assert!(f["energy"].as_f64().unwrap() >= 0.6, "{f}");
    }
    assert!(reply.body["tracks"].as_array().unwrap().iter().all(|t| t["popularity"].as_u64().unwrap() <= 70));

    // Refusals, each with the Web API's error shape.
    let many = [seed.as_str(); 6].join(",");
    for (path, status, what) in [
        ("/v1/recommendations".to_string(), 400, "no seed"),
        (format!("/v1/recommendations?seed_tracks={many}"), 400, "six seeds"),
        (format!("/v1/recommendations?seed_tracks={seed}&limit=0"), 400, "limit 0"),
        (format!("/v1/recommendations?seed_tracks={seed}&limit=101"), 400, "limit 101"),
        (format!("/v1/recommendations?seed_tracks={seed}&limit=ten"), 400, "limit not a number"),
        (format!("/v1/recommendations?seed_tracks={seed}&min_energy=loud"), 400, "min_energy not a number"),
        (format!("/v1/recommendations?seed_tracks={seed}&target_key=1.5"), 400, "target_key not whole"),
        (format!("/v1/recommendations?seed_tracks={seed}&max_sparkle=1"), 400, "no such attribute"),
        (format!("/v1/recommendations?seed_tracks={seed}&market=Sweden"), 400, "a bad market"),
        ("/v1/recommendations?seed_tracks=not-an-id".to_string(), 400, "a malformed id"),
        ("/v1/recommendations?seed_genres=no-such-genre".to_string(), 400, "an unknown genre"),
        ("/v1/recommendations?seed_tracks=0000000000000000000001".to_string(), 404, "an unknown track"),
        ("/v1/recommendations?seed_artists=0000000000000000000001".to_string(), 404, "an unknown artist"),
        ("/v1/radio/0000000000000000000001".to_string(), 404, "radio of an unknown track"),
        (format!("/v1/radio/{seed}?limit=51"), 400, "radio limit 51"),
    ] {
        assert_error(&server.get(&path, &token), status, what);
    }
    assert_eq!(server.request("GET", "/v1/recommendations/available-genre-seeds", None, None).status, 401);

    // Radio: endless, paged, deterministic, no repeat within 50.
    let page = |offset: usize| server.get(&format!("/v1/radio/{seed}?limit=50&offset={offset}"), &token);
    let first = page(0);
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["context_uri"], format!("segue:radio:{seed}"));
    assert!(first.body["next"].as_str().unwrap().contains("offset=50"));
    let mut station = ids_of(&first.body["items"]);
    for offset in [50, 100, 150] {
        station.extend(ids_of(&page(offset).body["items"]));
    }
    assert_eq!(station.len(), 200);
    assert!(!station.contains(seed));
    for (at, track) in station.iter().enumerate() {
        assert!(!station[at.saturating_sub(49)..at].contains(track), "{track} repeats within 50 at {at}");
    }
    assert_eq!(ids_of(&page(50).body["items"]), station[50..100], "the same page twice");
    let small = server.get(&format!("/v1/radio/{seed}?limit=10&offset=45"), &token);
    assert_eq!(ids_of(&small.body["items"]), station[45..55], "pages of any size agree");

    // The autoplay switch, kept per user.
    assert_eq!(server.get("/v1/me/player/autoplay", &token).body, json!({"enabled": false}));
    let on = server.request("PUT", "/v1/me/player/autoplay", Some(&token), Some(json!({"enabled": true})));
    assert_eq!(on.status, 204, "{:?}", on.body);
    assert_eq!(server.get("/v1/me/player/autoplay", &token).body, json!({"enabled": true}));
    let bad = server.request("PUT", "/v1/me/player/autoplay", Some(&token), Some(json!({"enabled": "yes"})));
    assert_error(&bad, 400, "autoplay with a string");
    let (_, other) = server.register("someone-else");
    assert_eq!(server.get("/v1/me/player/autoplay", &other).body, json!({"enabled": false}));
}

/// Two taste groups of 15 tracks; 12 listeners, each playing 10 tracks of their group; then
/// `me`, who played 5 of group A.
fn taste_groups(backend: Backend) {
    let server = TestServer::start_on(backend, &["--recs-refresh-ms", "100", "--recs-train-every", "0"]);
    let (_, token) = premium(&server, "me");
    let tracks = catalog_tracks(&server, &token, 30);
    let group_a: Vec<&str> = tracks[..15].iter().map(|t| t.0.as_str()).collect();
    let group_b: Vec<&str> = tracks[15..].iter().map(|t| t.0.as_str()).collect();
    for listener in 0..12 {
        let (_, listener_token) = premium(&server, &format!("listener-{listener}"));
        let group = if listener % 2 == 0 { &group_a } else { &group_b };
        let played: Vec<&str> = (0..10).map(|k| group[(listener + k * 2) % 15]).collect();
        report_plays(&server, &listener_token, &played);
    }
    let mine: Vec<&str> = group_a[..5].to_vec();
    report_plays(&server, &token, &mine);

    // Before any model, content alone answers: not the listeners' group.
    let before = server.get(&format!("/v1/recommendations?seed_tracks={}&limit=10", group_a[0]), &token);
    let before = ids_of(&before.body["tracks"]);
    let in_a = before.iter().filter(|id| group_a.contains(&id.as_str())).count();
    assert!(in_a < 8, "content alone already found the group: {before:?}");
    let trained = server.cli(&["recs", "train"]);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let said = String::from_utf8_lossy(&trained.stdout).to_string();
    assert!(said.starts_with("trained model"), "{said}");

    // The server loads the stored model: seeded with a track of group A, group A comes first.
    let seed = group_a[0];
    let in_group_a = |ids: &[String]| ids.iter().filter(|id| group_a.contains(&id.as_str())).count();
    let deadline = Instant::now() + Duration::from_secs(10);
    let top = loop {
        let reply = server.get(&format!("/v1/recommendations?seed_tracks={seed}&limit=10"), &token);
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let top = ids_of(&reply.body["tracks"]);
        if in_group_a(&top) >= 8 || Instant::now() > deadline {
            break top;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // 14 of 1,600 tracks are group A's other tracks: chance would put none in the top 10.
    assert!(in_group_a(&top) >= 8, "{} of the top 10 from the seed's group: {top:?}", in_group_a(&top));

    // Discover Weekly.
    let weekly = server.get("/v1/me/discover-weekly", &token);
    assert_eq!(weekly.status, 200, "{:?}", weekly.body);
    let items = weekly.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 30, "{:?}", weekly.body);
    assert_eq!(weekly.body["total"], 30);
    assert!(weekly.body["week"].as_str().unwrap().contains("-W"));
    let listed: Vec<String> = items.iter().map(|i| i["track"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed.iter().collect::<HashSet<_>>().len(), 30, "no repeats");
    let recently = server.get("/v1/me/player/recently-played?limit=50", &token);
    let played: HashSet<String> = recently.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["track"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(played.len(), 5);
    assert!(listed.iter().all(|id| !played.contains(id)), "nothing played in the last 30 days");
    let mut per_artist: HashMap<&str, usize> = HashMap::new();
    for item in items {
        *per_artist.entry(item["track"]["artists"][0]["id"].as_str().unwrap()).or_default() += 1;
        let reason = item["reason"].as_str().unwrap();
        assert!(!reason.is_empty(), "{item}");
    }
    assert!(per_artist.values().all(|&n| n <= 2), "at most 2 per artist: {per_artist:?}");
    let because: Vec<&str> =
        items.iter().filter_map(|i| i["reason"].as_str()).filter(|r| r.starts_with("because you played")).collect();
    assert!(
        !because.is_empty(),
        "reasons name what was played: {:?}",
        items.iter().map(|i| &i["reason"]).collect::<Vec<_>>()
    );
    // What similar listeners played and `me` did not comes in.
    let from_group = listed.iter().filter(|id| group_a[5..].contains(&id.as_str())).count();
    assert!(from_group >= 5, "{from_group} of group A's 10 unplayed tracks");
    // Stable for the week: the same list again, even after more plays and a new model.
    report_plays(&server, &token, &group_a[5..7]);
    assert!(server.cli(&["recs", "train"]).status.success());
    let again = server.get("/v1/me/discover-weekly", &token);
    let listed_again: Vec<String> = again.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["track"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed_again, listed);
}

#[test]
fn a_model_trained_on_the_servers_plays_recommends_what_similar_listeners_played_on_sqlite() {
    taste_groups(Backend::Sqlite);
}

#[test]
fn a_model_trained_on_the_servers_plays_recommends_what_similar_listeners_played_on_postgres() {
    taste_groups(Backend::Postgres);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_autoplay_on_the_end_of_the_queue_plays_on_with_the_station_of_what_just_played() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("endless");
    let tracks = server.track_ids(&token, 1);
    let (mut speaker, _) = Device::connect(&server, &token, "speaker", true).await;

    // Off (the default): the end of the only track ends playback.
    let play = speaker.request("play", json!({"uris": [tracks[0]]})).await;
    speaker.state_at(reply_seq(&play)).await;
    let ended = speaker.request("track_ended", json!({"track_id": tracks[0]})).await;
    let stopped = speaker.state_at(reply_seq(&ended)).await;
    let playback = stopped.playback.unwrap();
    assert!(!playback.is_playing);
    assert_ne!(playback.context_uri.as_deref(), Some(format!("segue:radio:{}", tracks[0]).as_str()));

    // On: the station of the track that ended plays on, and the state says so.
    let on = server.request("PUT", "/v1/me/player/autoplay", Some(&token), Some(json!({"enabled": true})));
    assert_eq!(on.status, 204);
    let play = speaker.request("play", json!({"uris": [tracks[0]]})).await;
    speaker.state_at(reply_seq(&play)).await;
    let ended = speaker.request("track_ended", json!({"track_id": tracks[0]})).await;
    let continued = speaker.state_at(reply_seq(&ended)).await;
    let playback = continued.playback.clone().unwrap();
    assert!(playback.is_playing, "{continued:?}");
    assert_eq!(playback.context_uri, Some(format!("segue:radio:{}", tracks[0])));
    assert_ne!(playback.track_id, tracks[0], "not the track that just ended");
    let station = server.get(&format!("/v1/radio/{}?limit=50", tracks[0]), &token);
    let expected = ids_of(&station.body["items"]);
    assert_eq!(playback.track_id, expected[0], "the station's first track");
    assert_eq!(continued.queue.next, expected[1..], "then the rest of the station");
}

/// Runs `segue recs train` on a data dir, under the Redis at `redis_url`.
fn train_under(data_dir: &std::path::Path, redis_url: &str) -> std::process::Output {
    std::process::Command::new(segue_binary())
        .args(["recs", "train", "--data-dir"])
        .arg(data_dir)
        .args(["--redis-url", redis_url])
        .env("SEGUE_LOG", "warn")
        .output()
        .expect("segue runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn training_waits_for_the_lock_another_node_holds_and_frees_it_after() {
    use segue::storage::redis::RedisEngine;
    let redis = TestRedis::start();
    let data_dir = tempfile::tempdir().unwrap();
    let engine = RedisEngine::connect(&redis.url(), Duration::from_secs(2), Duration::from_secs(1)).await.unwrap();
    let lock = "segue:recs:train-lock";
    assert!(engine.try_lock(lock, "another-node", Duration::from_secs(60)).await.unwrap());
    assert!(!engine.try_lock(lock, "a-third-node", Duration::from_secs(60)).await.unwrap(), "held");

    let busy = train_under(data_dir.path(), &redis.url());
    assert!(!busy.status.success());
    let said = String::from_utf8_lossy(&busy.stderr);
    assert!(said.contains("another node is training"), "{said}");

    assert!(!engine.unlock(lock, "a-third-node").await.unwrap(), "only the holder releases it");
    assert!(engine.unlock(lock, "another-node").await.unwrap());
    let trained = train_under(data_dir.path(), &redis.url());
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    // The trainer released the lock when it was done.
    assert!(engine.try_lock(lock, "another-node", Duration::from_secs(60)).await.unwrap());
    // A lock whose holder died lapses by itself.
    assert!(engine.unlock(lock, "another-node").await.unwrap());
    assert!(engine.try_lock(lock, "a-dead-node", Duration::from_millis(200)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(engine.try_lock(lock, "a-live-node", Duration::from_secs(60)).await.unwrap());
    engine.quit().await;
}

#[test]
fn a_model_trained_once_is_served_by_every_node_of_a_cluster() {
    let cluster = TestCluster::start(2, &["--recs-refresh-ms", "100", "--recs-train-every", "0"]);
    let (first, second) = (cluster.node(0), cluster.node(1));
    let (_, token) = first.register("cluster-listener");
    let tracks = catalog_tracks(first, &token, 20);
    let group: Vec<&str> = tracks[..10].iter().map(|t| t.0.as_str()).collect();
    for listener in 0..6 {
        let name = format!("cluster-fan-{listener}");
        let (_, fan) = first.register(&name);
        let made = cluster.cli(&["users", "add", &name, "--password", "unused-here", "--product", "premium"]);
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let deadline = Instant::now() + Duration::from_secs(10);
        while first.get("/v1/me", &fan).body["product"] != "premium" {
            assert!(Instant::now() < deadline, "the product never changed");
            std::thread::sleep(Duration::from_millis(100));
        }
        let played: Vec<&str> = (0..7).map(|k| group[(listener + k * 3) % 10]).collect();
        report_plays(first, &fan, &played);
    }
    // Before any model, content alone answers: not the listeners' group.
    let in_group = |ids: &[String]| ids.iter().filter(|id| group.contains(&id.as_str())).count();
    let path = format!("/v1/recommendations?seed_tracks={}&limit=9", group[0]);
    let before = ids_of(&second.get(&path, &token).body["tracks"]);
    assert!(in_group(&before) < 7, "content alone already found the group: {before:?}");
    let redis_url = cluster.redis.url();
    let trained = cluster.cli(&["recs", "train", "--redis-url", &redis_url]);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    // The other node, which saw none of the plays, serves the stored model.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = second.get(&path, &token);
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let top = ids_of(&reply.body["tracks"]);
        if in_group(&top) >= 7 {
            break;
        }
        assert!(Instant::now() < deadline, "node 1 never served the model: {top:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tracks_imported_while_the_server_runs_are_recommended_from_at_once() {
    let server = TestServer::start(&["--recs-refresh-ms", "100"]);
    let (_, token) = server.register("early-adopter");
    let bundle = segue::catalog::synthetic::generate(99, 40).next().expect("a generated artist");
    let new_track = bundle.tracks[0].id.to_string();
    let path = format!("/v1/recommendations?seed_tracks={new_track}&limit=5");
    assert_eq!(server.get(&path, &token).status, 404, "not in the catalog yet");
    let imported = server.cli(&["import", "synthetic", "--tracks", "40", "--seed", "99"]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = server.get(&path, &token);
        if reply.status == 200 {
            // Nobody played it: its content neighbours answer.
            assert_eq!(ids_of(&reply.body["tracks"]).len(), 5, "{:?}", reply.body);
            break;
        }
        assert!(Instant::now() < deadline, "the new track never became a seed: {:?}", reply.body);
        std::thread::sleep(Duration::from_millis(100));
    }
}
