//! Stream counting end to end, against real servers on SQLite and on PostgreSQL: a play counts
//! once the `--stream-count-ms` of it really played, exactly once through pause, seek and
//! transfer; `recently-played` pages through counted plays by cursor; the tops rank them within
//! their time ranges; private sessions' plays stay out of both; bad parameters are clear 400s.

mod common;

use std::time::Duration;

use common::{Backend, Device, TestServer, reply_seq};
use segue::ids::Id;
use segue::storage::Store;
use segue::storage::plays::HistoryCursor;
use segue::storage::snapshots::PlayRecord;
use serde_json::{Value, json};

macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test(flavor = "multi_thread")] async fn $test() { super::$test(super::Backend::Sqlite).await } )*
        }
        mod on_postgres {
            $( #[tokio::test(flavor = "multi_thread")] async fn $test() { super::$test(super::Backend::Postgres).await } )*
        }
    };
}

on_both_stores!(
    a_play_counts_exactly_once_through_pause_seek_and_transfer,
    recently_played_pages_by_cursor_both_ways,
    tops_rank_counted_plays_within_their_time_range,
);

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn history_ids(reply: &Value) -> Vec<String> {
    reply["items"].as_array().unwrap().iter().map(|item| item["track"]["id"].as_str().unwrap().to_string()).collect()
}

/// The same store the server writes, opened beside it.
async fn open_store(server: &TestServer) -> Store {
    Store::open(&server.store_location()).await.expect("the server's store opens")
}

async fn a_play_counts_exactly_once_through_pause_seek_and_transfer(backend: Backend) {
    let server = TestServer::start_on(backend, &["--stream-count-ms", "1500"]);
    let (user, token) = server.register("counted");
    let tracks = server.track_ids(&token, 2);
    let duration = server.get(&format!("/v1/tracks/{}", tracks[0]), &token).body["duration_ms"].as_u64().unwrap();
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    let (mut laptop, _) = Device::connect(&server, &token, "laptop", true).await;
    let recent = || server.get("/v1/me/player/recently-played", &token);

    reply_seq(&phone.request("play", json!({"uris": tracks})).await);
    sleep_ms(400).await;
    reply_seq(&phone.request("pause", json!({})).await);
    sleep_ms(2_000).await;
    assert_eq!(history_ids(&recent().body), Vec::<String>::new(), "paused time does not count");
    reply_seq(&phone.request("resume", json!({})).await);
    sleep_ms(400).await;
    // Half the track forward: the skipped part does not count.
    reply_seq(&phone.request("seek", json!({"position_ms": duration / 2})).await);
    reply_seq(&phone.request("transfer", json!({"device_id": "laptop"})).await);
    assert_eq!(history_ids(&recent().body), Vec::<String>::new(), "about 0.8 s played: not yet");
    // It goes on playing on the laptop and counts there, by the session's own timer.
    sleep_ms(1_300).await;
    assert_eq!(history_ids(&recent().body), [tracks[0].clone()]);
    sleep_ms(500).await;
    assert_eq!(history_ids(&recent().body), [tracks[0].clone()], "counted once");

    // Skipped on the laptop: the same play ends (with how long it played and why), and the next
    // track has not played long enough to count.
    reply_seq(&laptop.request("next", json!({})).await);
    sleep_ms(200).await;
    let reply = recent();
    assert_eq!(history_ids(&reply.body), [tracks[0].clone()]);
    assert_eq!(reply.body["items"][0]["context"], Value::Null, "plain uris have no context");
    let store = open_store(&server).await;
    let rows = store.recently_played(Id::parse(&user).unwrap(), HistoryCursor::Before(i64::MAX), 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    let play = &rows[0];
    assert_eq!(play.end_reason.as_deref(), Some("skip"));
    // Played: ~0.4 s, ~0.4 s, then on the laptop ~2 s; never the 2 s paused, never the seek.
    assert!((1_500..3_500).contains(&play.ms_played), "ms_played {}", play.ms_played);
    store.close().await;
}

async fn recently_played_pages_by_cursor_both_ways(backend: Backend) {
    let server = TestServer::start_on(backend, &["--stream-count-ms", "100", "--skip-limit", "1000"]);
    let (_, token) = server.register("pager");
    let tracks = server.track_ids(&token, 5);
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    reply_seq(&phone.request("play", json!({"uris": tracks})).await);
    for _ in 1..tracks.len() {
        sleep_ms(300).await;
        reply_seq(&phone.request("next", json!({})).await);
    }
    sleep_ms(400).await;
    let newest_first: Vec<String> = tracks.iter().rev().cloned().collect();

    let first = server.get("/v1/me/player/recently-played?limit=2", &token);
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(history_ids(&first.body), newest_first[..2]);
    assert_eq!(first.body["limit"], 2);
    let next = first.body["next"].as_str().expect("a full page has a next").to_string();
    assert!(next.starts_with(&server.base), "{next}");
    let before = first.body["cursors"]["before"].as_str().unwrap();
    assert!(next.ends_with(&format!("before={before}")), "{next}");
    let second = server.get(next.strip_prefix(&server.base).unwrap(), &token);
    assert_eq!(history_ids(&second.body), newest_first[2..4]);
    let third = server.get(second.body["next"].as_str().unwrap().strip_prefix(&server.base).unwrap(), &token);
    assert_eq!(history_ids(&third.body), newest_first[4..]);
    assert_eq!(third.body["next"], Value::Null, "the last page");
    // Back the other way from the oldest: the plays just after it, newest first.
    let after = third.body["cursors"]["after"].as_str().unwrap();
    let newer = server.get(&format!("/v1/me/player/recently-played?limit=2&after={after}"), &token);
    assert_eq!(history_ids(&newer.body), [newest_first[2].clone(), newest_first[3].clone()]);
    assert!(newer.body["next"].as_str().unwrap().contains("after="));
    let none = server.get("/v1/me/player/recently-played?after=99999999999999", &token);
    assert_eq!((history_ids(&none.body).len(), &none.body["cursors"]), (0, &Value::Null));
    // `played_at` is the play's start, in order.
    let all = server.get("/v1/me/player/recently-played?limit=50", &token);
    let played_at: Vec<&str> =
        all.body["items"].as_array().unwrap().iter().map(|i| i["played_at"].as_str().unwrap()).collect();
    assert!(played_at.windows(2).all(|w| w[0] > w[1]), "{played_at:?}");

    for bad in ["limit=0", "limit=51", "before=1&after=2", "before=abc", "after=-5"] {
        let reply = server.get(&format!("/v1/me/player/recently-played?{bad}"), &token);
        assert_eq!((reply.status, reply.reason()), (400, "BAD_REQUEST"), "{bad}: {:?}", reply.body);
    }
}

fn stored_play(user: Id, track: &str, played_at_ms: i64) -> PlayRecord {
    PlayRecord {
        id: format!("{user}:imported:{track}:{played_at_ms}"),
        user,
        track: Id::parse(track).unwrap(),
        context_uri: None,
        played_at_ms,
        ms_played: 100_000,
        end_reason: Some("track_done".into()),
        private: false,
    }
}

fn page_ids(reply: &Value) -> Vec<String> {
    reply["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_string()).collect()
}

async fn tops_rank_counted_plays_within_their_time_range(backend: Backend) {
    let server = TestServer::start_on(backend, &["--stream-count-ms", "100"]);
    let (user, token) = server.register("topper");
    let user = Id::parse(&user).unwrap();
    let tracks = server.track_ids(&token, 4);
    let (mut phone, _) = Device::connect(&server, &token, "phone", true).await;
    // Today: tracks[0], counted by the session.
    reply_seq(&phone.request("play", json!({"uris": [tracks[0]]})).await);
    sleep_ms(400).await;
    reply_seq(&phone.request("pause", json!({})).await);
    // Earlier plays, written to the same store: tracks[1] twice two months ago, tracks[2] four
    // times ten months ago.
    let now = segue::clock::now_ms() as i64;
    let day = 24 * 3_600 * 1_000;
    let mut earlier = Vec::new();
    for n in 0..2 {
        earlier.push(stored_play(user, &tracks[1], now - 60 * day + n));
    }
    for n in 0..4 {
        earlier.push(stored_play(user, &tracks[2], now - 300 * day + n));
    }
    let store = open_store(&server).await;
    store.write_batch(&[], &earlier, now).await.unwrap();
    store.close().await;

    // A private session's play counts (it is stored) but is in neither the history nor a top.
    let private = server.request("PUT", "/v1/me/private-session", Some(&token), Some(json!({"enabled": true})));
    assert_eq!(private.status, 204, "{:?}", private.body);
    reply_seq(&phone.request("play", json!({"uris": [tracks[3]]})).await);
    sleep_ms(400).await;
    reply_seq(&phone.request("pause", json!({})).await);

    let top = |query: &str| {
        let reply = server.get(&format!("/v1/me/top/tracks?{query}"), &token);
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        reply.body
    };
    let short = top("time_range=short_term");
    assert_eq!((page_ids(&short), &short["total"]), (vec![tracks[0].clone()], &json!(1)));
    let medium = top("");
    assert_eq!(page_ids(&medium), [tracks[1].clone(), tracks[0].clone()], "medium_term is the default");
    let long = top("time_range=long_term");
    assert_eq!(page_ids(&long), [tracks[2].clone(), tracks[1].clone(), tracks[0].clone()]);
    assert_eq!(long["items"][0]["type"], "track");
    let middle = top("time_range=long_term&limit=1&offset=1");
    assert_eq!(
        (page_ids(&middle), &middle["total"], &middle["offset"]),
        (vec![tracks[1].clone()], &json!(3), &json!(1))
    );
    for link in ["next", "previous"] {
        let url = middle[link].as_str().unwrap_or_else(|| panic!("a {link} link"));
        assert!(url.starts_with(&server.base) && url.contains("time_range=long_term"), "{url}");
    }
    let history = server.get("/v1/me/player/recently-played?limit=50", &token);
    assert!(!history_ids(&history.body).contains(&tracks[3]), "the private play is not in the history");

    // Artists: the artist of tracks[2] leads the long term (four plays, more than any other).
    let artist_of = |track: &str| server.get(&format!("/v1/tracks/{track}"), &token).body["artists"][0]["id"].clone();
    let artists = server.get("/v1/me/top/artists?time_range=long_term", &token);
    assert_eq!(artists.status, 200, "{:?}", artists.body);
    assert_eq!(artists.body["items"][0]["id"], artist_of(&tracks[2]));
    assert_eq!(artists.body["items"][0]["type"], "artist");
    let short_artists = server.get("/v1/me/top/artists?time_range=short_term", &token);
    assert_eq!(page_ids(&short_artists.body), [artist_of(&tracks[0]).as_str().unwrap().to_string()]);

    for bad in ["tracks?time_range=forever", "tracks?limit=0", "tracks?limit=51", "tracks?offset=-1", "albums"] {
        let reply = server.get(&format!("/v1/me/top/{bad}"), &token);
        assert_eq!((reply.status, reply.reason()), (400, "BAD_REQUEST"), "{bad}: {:?}", reply.body);
    }
}
