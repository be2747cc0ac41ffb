//! Friend activity and private sessions (protocol §6), against real servers: `activity_subscribe`
//! with the friends' state, then `friend_activity` live, on one node and across two cluster
//! nodes; following and unfollowing taking effect on a live subscription at once (on every
//! node); a private session hiding the user from friends (asked of any node), showing in device
//! objects and ending by itself;
//! `GET /v1/me/friends/activity` on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use segue::storage::redis::{RedisEngine, activity_channel};
use segue_protocol::ServerFrame;
use segue_protocol::activity::{FriendActivity, Friends};
use serde_json::json;

/// How long a test waits for something the server writes behind (the latest activity).
const SETTLE: Duration = Duration::from_secs(5);

/// The next `friend_activity` event a device receives (other events skipped).
async fn next_activity(device: &mut Device) -> FriendActivity {
    loop {
        let frame = device.next_event().await;
        if frame.kind == "friend_activity" {
            return frame.body_as().expect("a friend_activity body");
        }
    }
}

/// `activity_subscribe`'s reply.
async fn subscribe(device: &mut Device) -> Vec<FriendActivity> {
    let reply = device.request("activity_subscribe", json!({})).await;
    assert_eq!(reply.ok, Some(true), "activity_subscribe refused: {:?}", reply.error);
    reply.body_as::<Friends>().expect("a friends body").friends
}

/// Subscribes again until the reply satisfies `wanted` (what it reads is written behind).
async fn subscribe_until(device: &mut Device, wanted: impl Fn(&[FriendActivity]) -> bool) -> Vec<FriendActivity> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let friends = subscribe(device).await;
        if wanted(&friends) {
            return friends;
        }
        assert!(tokio::time::Instant::now() < deadline, "activity_subscribe never answered as wanted: {friends:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /v1/me/friends/activity` until it satisfies `wanted`.
fn friends_until(server: &TestServer, token: &str, wanted: impl Fn(&[FriendActivity]) -> bool) -> Vec<FriendActivity> {
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let reply = server.get("/v1/me/friends/activity", token);
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let friends: Friends = serde_json::from_value(reply.body).expect("a friends body");
        if wanted(&friends.friends) {
            return friends.friends;
        }
        assert!(std::time::Instant::now() < deadline, "GET /v1/me/friends/activity never as wanted: {friends:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn follow(server: &TestServer, token: &str, user_id: &str) {
    let reply = server.request("PUT", &format!("/v1/me/following?type=user&ids={user_id}"), Some(token), None);
    assert_eq!(reply.status, 204, "{:?}", reply.body);
}

fn unfollow(server: &TestServer, token: &str, user_id: &str) {
    let reply = server.request("DELETE", &format!("/v1/me/following?type=user&ids={user_id}"), Some(token), None);
    assert_eq!(reply.status, 204, "{:?}", reply.body);
}

async fn play(device: &mut Device, track: &str) {
    let reply: ServerFrame = device.request("play", json!({"uris": [format!("segue:track:{track}")]})).await;
    assert_eq!(reply.ok, Some(true), "play refused: {:?}", reply.error);
}

/// Nothing but what `device` receives next shows that an earlier event did not come: `marker`
/// (another followed user) acts after the thing that must stay unheard, and the next
/// `friend_activity` must be the marker's.
async fn next_activity_is(device: &mut Device, user_id: &str) -> FriendActivity {
    let activity = next_activity(device).await;
    assert_eq!(activity.user_id, user_id, "an activity that should not have come: {activity:?}");
    activity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_subscribe_answers_the_friends_state_and_then_their_activity_live() {
    let server = TestServer::start(&[]);
    let (alice_id, alice) = server.register("alice");
    let (_, bob) = server.register("bob");
    let tracks = server.track_ids(&alice, 2);
    follow(&server, &bob, &alice_id);

    let (mut phone, _) = Device::connect(&server, &alice, "alice-phone", true).await;
    play(&mut phone, &tracks[0]).await;
    let (mut follower, _) = Device::connect(&server, &bob, "bob-laptop", false).await;
    let friends = subscribe_until(&mut follower, |friends| {
        friends.first().is_some_and(|f| f.online && f.track_id.as_deref() == Some(&tracks[0]))
    })
    .await;
    assert_eq!(friends.len(), 1);
    assert_eq!((friends[0].user_id.as_str(), friends[0].display_name.as_str()), (alice_id.as_str(), "alice"));
    assert!(friends[0].timestamp_ms.is_some());

    // A new track reaches the follower live.
    play(&mut phone, &tracks[1]).await;
    let started = next_activity(&mut follower).await;
    assert_eq!((started.user_id.as_str(), started.online), (alice_id.as_str(), true));
    assert_eq!(started.track_id.as_deref(), Some(tracks[1].as_str()));
    // The last device leaves: offline, with the track that played last.
    drop(phone);
    let gone = next_activity(&mut follower).await;
    assert_eq!((gone.online, gone.track_id.as_deref()), (false, Some(tracks[1].as_str())));
    // A device again: online.
    let (_tablet, _) = Device::connect(&server, &alice, "alice-tablet", true).await;
    let back = next_activity(&mut follower).await;
    assert!(back.online);
    let friends = friends_until(&server, &bob, |friends| friends.first().is_some_and(|f| f.online));
    assert_eq!(friends[0].user_id, alice_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_and_unfollowing_take_effect_on_a_live_subscription_at_once() {
    let server = TestServer::start(&[]);
    let (alice_id, alice) = server.register("alice");
    let (carol_id, carol) = server.register("carol");
    let (_, bob) = server.register("bob");
    let tracks = server.track_ids(&alice, 4);
    follow(&server, &bob, &carol_id);
    let (mut follower, _) = Device::connect(&server, &bob, "bob-laptop", false).await;
    let (mut carols, _) = Device::connect(&server, &carol, "carol-phone", true).await;
    let friends = subscribe(&mut follower).await;
    assert_eq!(friends.iter().map(|f| f.user_id.as_str()).collect::<Vec<_>>(), [carol_id.as_str()]);

    // Alice plays before bob follows her (carol follows her too, to see it written).
    let (mut phone, _) = Device::connect(&server, &alice, "alice-phone", true).await;
    play(&mut phone, &tracks[0]).await;
    follow(&server, &carol, &alice_id);
    friends_until(&server, &carol, |friends| {
        friends.first().is_some_and(|f| f.track_id.as_deref() == Some(&tracks[0]))
    });

    // Following alice now: the subscription gets what she plays at once, without a new
    // subscribe, and her activity from then on.
    follow(&server, &bob, &alice_id);
    let now = next_activity_is(&mut follower, &alice_id).await;
    assert_eq!((now.online, now.track_id.as_deref()), (true, Some(tracks[0].as_str())), "{now:?}");
    play(&mut phone, &tracks[1]).await;
    assert_eq!(next_activity_is(&mut follower, &alice_id).await.track_id.as_deref(), Some(tracks[1].as_str()));

    // Unfollowing: nothing more of hers; carol, still followed, comes next.
    unfollow(&server, &bob, &alice_id);
    play(&mut phone, &tracks[2]).await;
    play(&mut carols, &tracks[3]).await;
    let carols_track = next_activity_is(&mut follower, &carol_id).await;
    assert_eq!(carols_track.track_id.as_deref(), Some(tracks[3].as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_session_hides_the_user_shows_in_device_objects_and_ends_by_itself() {
    let server = TestServer::start(&["--private-session-ms", "3000"]);
    let (alice_id, alice) = server.register("alice");
    let (_, bob) = server.register("bob");
    let tracks = server.track_ids(&alice, 2);
    follow(&server, &bob, &alice_id);
    let (mut follower, _) = Device::connect(&server, &bob, "bob-laptop", false).await;
    subscribe(&mut follower).await;
    let (mut phone, _) = Device::connect(&server, &alice, "alice-phone", true).await;
    assert!(next_activity(&mut follower).await.online);
    play(&mut phone, &tracks[0]).await;
    assert_eq!(next_activity(&mut follower).await.track_id.as_deref(), Some(tracks[0].as_str()));

    for bad in [json!({}), json!({"enabled": "yes"}), json!([true]), json!({"enabled": null})] {
        let reply = server.request("PUT", "/v1/me/private-session", Some(&alice), Some(bad.clone()));
        assert_eq!(reply.status, 400, "{bad}: {:?}", reply.body);
    }
    let private = server.request("PUT", "/v1/me/private-session", Some(&alice), Some(json!({"enabled": true})));
    assert_eq!(private.status, 204, "{:?}", private.body);
    // Friends see them go at once, with what they were shown last.
    let hidden = next_activity(&mut follower).await;
    assert_eq!((hidden.online, hidden.track_id.as_deref()), (false, Some(tracks[0].as_str())));
    let devices = server.get("/v1/me/player/devices", &alice);
    assert_eq!(devices.body["devices"][0]["is_private_session"], true, "{:?}", devices.body);
    let player = server.get("/v1/me/player", &alice);
    assert_eq!(player.body["device"]["is_private_session"], true, "{:?}", player.body);
    let state = phone.state_where(|state| state.devices.iter().all(|d| d.is_private_session)).await;
    assert!(!state.devices.is_empty());

    // What they play now is nobody's business, and is not stored either.
    play(&mut phone, &tracks[1]).await;
    let stored =
        friends_until(&server, &bob, |friends| friends.first().is_some_and(|f| !f.online && f.timestamp_ms.is_some()));
    assert_eq!(stored[0].track_id.as_deref(), Some(tracks[0].as_str()), "{stored:?}");
    // Long after the writer would have written anything newer, still the same.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stored = friends_until(&server, &bob, |_| true);
    assert_eq!((stored[0].online, stored[0].track_id.as_deref()), (false, Some(tracks[0].as_str())));

    // It ends by itself: shown again, with what plays now.
    let shown = next_activity(&mut follower).await;
    assert_eq!((shown.online, shown.track_id.as_deref()), (true, Some(tracks[1].as_str())));
    let devices = server.get("/v1/me/player/devices", &alice);
    assert_eq!(devices.body["devices"][0]["is_private_session"], false, "{:?}", devices.body);

    // Ended by hand too.
    let private = server.request("PUT", "/v1/me/private-session", Some(&alice), Some(json!({"enabled": true})));
    assert_eq!(private.status, 204);
    assert!(!next_activity(&mut follower).await.online);
    let public = server.request("PUT", "/v1/me/private-session", Some(&alice), Some(json!({"enabled": false})));
    assert_eq!(public.status, 204);
    assert!(next_activity(&mut follower).await.online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friend_activity_reaches_a_follower_on_another_cluster_node() {
    let cluster = TestCluster::start(2, &["--lease-ms", "1000"]);
    let (a, b) = (cluster.node(0), cluster.node(1));
    let (alice_id, alice) = a.register("alice");
    let (carol_id, carol) = a.register("carol");
    let (_, bob) = a.register("bob");
    let tracks = a.track_ids(&alice, 3);
    follow(a, &bob, &alice_id);
    follow(a, &bob, &carol_id);

    // The friends' devices on node A, the follower's on node B.
    let (mut phone, _) = Device::connect(a, &alice, "alice-phone", true).await;
    let (mut carols, _) = Device::connect(a, &carol, "carol-phone", true).await;
    play(&mut phone, &tracks[0]).await;
    let (mut follower, _) = Device::connect(b, &bob, "bob-laptop", false).await;
    let (mut second, _) = Device::connect(b, &bob, "bob-tablet", false).await;
    let friends = subscribe_until(&mut follower, |friends| {
        friends.iter().any(|f| f.user_id == alice_id && f.track_id.as_deref() == Some(&tracks[0]))
    })
    .await;
    assert_eq!(friends.len(), 2);
    subscribe(&mut second).await;
    // Two followers on node B, one subscription of node B to alice's activity: a track start
    // is one Redis message for node B, which hands it to both.
    let redis =
        RedisEngine::connect(&cluster.redis.url(), Duration::from_secs(5), Duration::from_secs(1)).await.unwrap();
    let alice_user = segue::ids::Id::parse(&alice_id).unwrap();
    assert_eq!(redis.channel_subscribers(activity_channel(alice_user)).await.unwrap(), 1);

    play(&mut phone, &tracks[1]).await;
    for device in [&mut follower, &mut second] {
        let started = next_activity_is(device, &alice_id).await;
        assert_eq!(started.track_id.as_deref(), Some(tracks[1].as_str()));
    }

    // Unfollowed through node A's REST: node B's subscriptions stop at once.
    unfollow(a, &bob, &alice_id);
    play(&mut phone, &tracks[2]).await;
    play(&mut carols, &tracks[2]).await;
    for device in [&mut follower, &mut second] {
        next_activity_is(device, &carol_id).await;
    }
    // Followed again: each node holding the follower's devices receives the follow, subscribes
    // and sends what she plays now, as the store has it (carol follows her to see it written).
    follow(a, &carol, &alice_id);
    friends_until(a, &carol, |friends| friends.iter().any(|f| f.track_id.as_deref() == Some(&tracks[2])));
    follow(b, &bob, &alice_id);
    for device in [&mut follower, &mut second] {
        let now = next_activity_is(device, &alice_id).await;
        assert_eq!((now.online, now.track_id.as_deref()), (true, Some(tracks[2].as_str())), "{now:?}");
    }
    // A private session asked of node B, while node A holds alice's session, hides her from
    // every follower at once.
    let private = b.request("PUT", "/v1/me/private-session", Some(&alice), Some(json!({"enabled": true})));
    assert_eq!(private.status, 204, "{:?}", private.body);
    for device in [&mut follower, &mut second] {
        let hidden = next_activity_is(device, &alice_id).await;
        assert_eq!((hidden.online, hidden.track_id.as_deref()), (false, Some(tracks[2].as_str())));
    }
    let devices = b.get("/v1/me/player/devices", &alice);
    assert_eq!(devices.body["devices"][0]["is_private_session"], true, "{:?}", devices.body);
    // What she plays now reaches nobody; carol, after her, does.
    play(&mut phone, &tracks[0]).await;
    play(&mut carols, &tracks[0]).await;
    for device in [&mut follower, &mut second] {
        next_activity_is(device, &carol_id).await;
    }
    let friends = friends_until(b, &bob, |friends| {
        friends.first().is_some_and(|f| f.user_id == carol_id && f.track_id.as_deref() == Some(&tracks[0]))
    });
    assert_eq!(friends.len(), 2);
    assert_eq!((friends[1].online, friends[1].track_id.as_deref()), (false, Some(tracks[2].as_str())), "{friends:?}");
}

/// `GET /v1/me/friends/activity` on each store: every followed user, the most recently active
/// first, those never active last.
fn friends_activity_sorted_by_most_recent(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (alice_id, alice) = server.register("alice");
    let (carol_id, carol) = server.register("carol");
    let (dave_id, _) = server.register("dave");
    let (_, bob) = server.register("bob");
    let tracks = server.track_ids(&alice, 2);
    for user in [&alice_id, &carol_id, &dave_id] {
        follow(&server, &bob, user);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let (mut phone, _) = Device::connect(&server, &alice, "alice-phone", true).await;
        play(&mut phone, &tracks[0]).await;
        friends_until(&server, &bob, |friends| friends.first().is_some_and(|f| f.user_id == alice_id));
        let (mut carols, _) = Device::connect(&server, &carol, "carol-phone", true).await;
        play(&mut carols, &tracks[1]).await;
        let friends = friends_until(&server, &bob, |friends| {
            friends.first().is_some_and(|f| f.user_id == carol_id && f.track_id.as_deref() == Some(&tracks[1]))
        });
        let order: Vec<&str> = friends.iter().map(|f| f.user_id.as_str()).collect();
        assert_eq!(order, [carol_id.as_str(), alice_id.as_str(), dave_id.as_str()]);
        assert_eq!(friends[1].track_id.as_deref(), Some(tracks[0].as_str()));
        assert!(friends[1].online);
        assert_eq!((friends[2].online, &friends[2].track_id, friends[2].timestamp_ms), (false, &None, None));
        assert_eq!(friends[2].display_name, "dave");
    });
    let unauthenticated = server.request("GET", "/v1/me/friends/activity", None, None);
    assert_eq!(unauthenticated.status, 401);
}

mod on_sqlite {
    #[test]
    fn friends_activity_sorted_by_most_recent() {
        super::friends_activity_sorted_by_most_recent(super::Backend::Sqlite);
    }
}

mod on_postgres {
    #[test]
    fn friends_activity_sorted_by_most_recent() {
        super::friends_activity_sorted_by_most_recent(super::Backend::Postgres);
    }
}
