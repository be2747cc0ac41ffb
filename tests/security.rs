//! Revocation and rate limits against real servers:
//!
//! - `POST /v1/auth/logout` closes every socket of the user with 4003 within a second, on one
//!   node and across two nodes of a cluster, and the old access and refresh tokens get 401 (the
//!   socket upgrade too, and a live socket cannot renew with them);
//! - `PUT /v1/me/password`: a wrong old password is 403, the right one 204 and then as logout;
//!   the new password signs in, the old one does not (SQLite and PostgreSQL);
//! - each REST rate-limit class answers 429 with `Retry-After` past its limit while another user
//!   is unaffected; sign-in attempts are limited per username.

mod common;

use std::time::{Duration, Instant};

use common::*;
use segue::auth::PROFILE_CACHE_TTL;
use segue_protocol::{ErrorCode, close_code};
use serde_json::json;
use tokio::task::{JoinHandle, block_in_place};
use tokio_tungstenite::tungstenite::Error as WsError;

/// How soon after a revocation every socket of the user must be closed.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// A user's first tokens.
struct Account {
    access: String,
    refresh: String,
}

fn register(server: &TestServer, username: &str, password: &str) -> Account {
    let body = json!({"username": username, "password": password, "country": "SE"});
    let reply = server.request("POST", "/v1/auth/register", None, Some(body));
    assert_eq!(reply.status, 201, "register {username}: {:?}", reply.body);
    Account {
        access: reply.body["access_token"].as_str().unwrap().to_string(),
        refresh: reply.body["refresh_token"].as_str().unwrap().to_string(),
    }
}

fn login(server: &TestServer, username: &str, password: &str) -> Reply {
    server.request("POST", "/v1/auth/login", None, Some(json!({"username": username, "password": password})))
}

fn refresh(server: &TestServer, refresh_token: &str) -> Reply {
    server.request("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token})))
}

fn assert_unauthorized(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
    assert_eq!(reply.reason(), "UNAUTHORIZED", "{what}");
}

/// How a watched socket ended: the close code, its reason and when it arrived.
type Closed = JoinHandle<(u16, String, Instant)>;

/// Waits in a task of its own for the server to close `device`.
fn watch_close(mut device: Device) -> Closed {
    tokio::spawn(async move {
        let (code, reason) = device.expect_close().await;
        (code, reason, Instant::now())
    })
}

/// Every watched socket closed with 4003 within [`CLOSE_WITHIN`] of `since`.
async fn assert_revoked_closes(watchers: Vec<(&str, Closed)>, since: Instant) {
    for (name, watcher) in watchers {
        let (code, reason, at) = watcher.await.expect("the watcher finishes");
        assert_eq!((code, reason.as_str()), (close_code::TOKEN_EXPIRED, "token revoked"), "{name}");
        let after = at.duration_since(since);
        assert!(after < CLOSE_WITHIN, "{name} closed {after:?} after the revocation");
    }
}

/// The upgrade with `token` is refused 401.
async fn assert_upgrade_refused(server: &TestServer, token: &str) {
    match open_socket(server, token).await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        Err(other) => panic!("the upgrade failed otherwise: {other}"),
        Ok(_) => panic!("a revoked token opened a socket"),
    }
}

/// A device of `token`'s user: `auth` with the revoked `old` token is refused, the connection
/// stays open, and `auth` with `token` itself renews.
async fn assert_no_renewal_with(server: &TestServer, token: &str, old: &str) {
    let (mut device, _) = Device::connect(server, token, "fresh-device", true).await;
    let renew = device.request("auth", json!({"access_token": old})).await;
    assert_eq!(renew.ok, Some(false), "renewed with a revoked token: {renew:?}");
    assert_eq!(renew.error.as_ref().unwrap().code, ErrorCode::Unauthorized);
    assert_eq!(device.request("ping", json!({})).await.ok, Some(true), "the socket stays open");
    assert_eq!(device.request("auth", json!({"access_token": token})).await.ok, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_closes_every_socket_of_the_user_and_revokes_its_tokens() {
    let server = TestServer::start(&[]);
    let alice = register(&server, "alice", "correct-horse");
    let bob = register(&server, "bob", "correct-horse");
    let (phone, _) = Device::connect(&server, &alice.access, "phone", true).await;
    let (speaker, _) = Device::connect(&server, &alice.access, "speaker", true).await;
    let (mut bobs, _) = Device::connect(&server, &bob.access, "bobs-phone", true).await;
    let watchers = vec![("phone", watch_close(phone)), ("speaker", watch_close(speaker))];

    let since = Instant::now();
    let reply = block_in_place(|| server.request("POST", "/v1/auth/logout", Some(&alice.access), None));
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_revoked_closes(watchers, since).await;

    assert_unauthorized(&server.get("/v1/me", &alice.access), "the old access token");
    assert_unauthorized(&refresh(&server, &alice.refresh), "the old refresh token");
    assert_unauthorized(&server.request("POST", "/v1/auth/logout", Some(&alice.access), None), "a second logout");
    assert_upgrade_refused(&server, &alice.access).await;

    // Bob is untouched.
    assert_eq!(bobs.request("ping", json!({})).await.ok, Some(true));
    assert_eq!(server.get("/v1/me", &bob.access).status, 200);
    assert_eq!(refresh(&server, &bob.refresh).status, 200);

    // Alice signs in again: the new tokens work, and the old one renews nothing.
    let again = login(&server, "alice", "correct-horse");
    assert_eq!(again.status, 200, "{:?}", again.body);
    let access = again.body["access_token"].as_str().unwrap();
    assert_eq!(server.get("/v1/me", access).status, 200);
    assert_eq!(refresh(&server, again.body["refresh_token"].as_str().unwrap()).status, 200);
    assert_no_renewal_with(&server, access, &alice.access).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_on_one_node_closes_the_users_sockets_on_every_node() {
    let cluster = TestCluster::start(2, &[]);
    let (first, second) = (cluster.node(0), cluster.node(1));
    let zoe = register(first, "zoe", "correct-horse");
    let yan = register(first, "yan", "correct-horse");
    let (phone, _) = Device::connect(first, &zoe.access, "phone", true).await;
    let (laptop, _) = Device::connect(second, &zoe.access, "laptop", true).await;
    let (mut yans, _) = Device::connect(first, &yan.access, "yans-phone", true).await;
    let watchers = vec![("phone on node 0", watch_close(phone)), ("laptop on node 1", watch_close(laptop))];

    // Through the node that holds neither the first device nor, necessarily, the session.
    let since = Instant::now();
    let reply = block_in_place(|| second.request("POST", "/v1/auth/logout", Some(&zoe.access), None));
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_revoked_closes(watchers, since).await;

    // Refresh tokens are checked against the store: refused on every node at once.
    for node in [first, second] {
        assert_unauthorized(&refresh(node, &zoe.refresh), "the old refresh token");
    }
    // The node that revoked knows at once; the other within its profile cache's lifetime.
    assert_unauthorized(&second.get("/v1/me", &zoe.access), "the old access token on node 1");
    assert_upgrade_refused(second, &zoe.access).await;
    let deadline = Instant::now() + PROFILE_CACHE_TTL + Duration::from_secs(1);
    loop {
        let reply = first.get("/v1/me", &zoe.access);
        if reply.status == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "node 0 still accepts the old access token: {:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_upgrade_refused(first, &zoe.access).await;

    assert_eq!(yans.request("ping", json!({})).await.ok, Some(true), "another user's socket stays open");
    let again = login(first, "zoe", "correct-horse");
    assert_eq!(again.status, 200, "{:?}", again.body);
    let access = again.body["access_token"].as_str().unwrap();
    assert_eq!(second.get("/v1/me", access).status, 200);
    assert_no_renewal_with(first, access, &zoe.access).await;
}

async fn a_password_change_checks_the_old_one_and_revokes_every_token(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let carol = register(&server, "carol", "old-password");
    let (mut phone, _) = Device::connect(&server, &carol.access, "phone", true).await;
    let change = |token: Option<&str>, old: &str, new: &str| {
        let body = json!({"old_password": old, "new_password": new});
        server.request("PUT", "/v1/me/password", token, Some(body))
    };

    // A wrong old password changes nothing.
    let wrong = change(Some(&carol.access), "not-the-password", "new-password");
    assert_eq!((wrong.status, wrong.reason()), (403, "FORBIDDEN"), "{:?}", wrong.body);
    // A new password that registration would refuse, likewise.
    let short = change(Some(&carol.access), "old-password", "abc");
    assert_eq!((short.status, short.reason()), (400, "BAD_REQUEST"), "{:?}", short.body);
    assert_unauthorized(&change(None, "old-password", "new-password"), "no token");
    let missing = server.request("PUT", "/v1/me/password", Some(&carol.access), Some(json!({"new_password": "x"})));
    assert_eq!(missing.status, 400, "{:?}", missing.body);
    assert_eq!(phone.request("ping", json!({})).await.ok, Some(true), "the socket is still open");
    assert_eq!(server.get("/v1/me", &carol.access).status, 200, "the token still works");

    let watchers = vec![("phone", watch_close(phone))];
    let since = Instant::now();
    let right = block_in_place(|| change(Some(&carol.access), "old-password", "new-password"));
    assert_eq!(right.status, 204, "{:?}", right.body);
    assert_revoked_closes(watchers, since).await;

    assert_unauthorized(&server.get("/v1/me", &carol.access), "the old access token");
    assert_unauthorized(&refresh(&server, &carol.refresh), "the old refresh token");
    assert_upgrade_refused(&server, &carol.access).await;
    assert_unauthorized(&login(&server, "carol", "old-password"), "the old password");
    let again = login(&server, "carol", "new-password");
    assert_eq!(again.status, 200, "{:?}", again.body);
    let access = again.body["access_token"].as_str().unwrap();
    assert_eq!(server.get("/v1/me", access).status, 200);
    assert_no_renewal_with(&server, access, &carol.access).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_checks_the_old_one_and_revokes_every_token_on_sqlite() {
    a_password_change_checks_the_old_one_and_revokes_every_token(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_checks_the_old_one_and_revokes_every_token_on_postgres() {
    a_password_change_checks_the_old_one_and_revokes_every_token(Backend::Postgres).await;
}

/// Sends requests until one is refused 429 (at most `tries`); how many passed before, and the
/// refusal. Every one that passed must satisfy `passed`.
fn until_limited(tries: usize, mut send: impl FnMut() -> Reply, passed: impl Fn(&Reply) -> bool) -> (usize, Reply) {
    for n in 0..tries {
        let reply = send();
        if reply.status == 429 {
            return (n, reply);
        }
        assert!(passed(&reply), "request {n} failed otherwise: {} {:?}", reply.status, reply.body);
    }
    panic!("no 429 within {tries} requests");
}

/// A 429 `RATE_LIMITED` with a `Retry-After` of whole seconds within `1..=max_s`; returns it.
fn retry_after(refusal: &Reply, max_s: u64) -> u64 {
    assert_eq!(refusal.reason(), "RATE_LIMITED", "{:?}", refusal.body);
    assert_eq!(refusal.body["error"]["status"], 429);
    assert_eq!(refusal.header("content-type"), Some("application/json"));
    let header = refusal.header("retry-after").expect("a Retry-After header");
    let seconds: u64 = header.parse().unwrap_or_else(|_| panic!("Retry-After in whole seconds: {header:?}"));
    assert!((1..=max_s).contains(&seconds), "Retry-After {seconds}");
    seconds
}

/// Five a second per class and three sign-ins a minute per username.
const SMALL_LIMITS: [&str; 8] =
    ["--search-rate-limit", "5", "--write-rate-limit", "5", "--stream-rate-limit", "5", "--login-rate-limit", "3"];

#[test]
fn each_rate_limit_class_refuses_past_its_limit_and_only_for_that_user() {
    let server = TestServer::start(&SMALL_LIMITS);
    let scout = register(&server, "scout", "correct-horse");
    let track = server.track_ids(&scout.access, 1).remove(0);
    let ok = |reply: &Reply| (200..300).contains(&reply.status);
    let classes = [
        ("search", "GET", "/v1/search?q=e&type=track&limit=1".to_string()),
        ("write", "PUT", format!("/v1/me/library?uris=segue:track:{track}")),
        ("write", "DELETE", format!("/v1/me/library?uris=segue:track:{track}")),
        ("stream", "GET", format!("/v1/tracks/{track}/stream")),
    ];
    for (n, (class, method, path)) in classes.iter().enumerate() {
        let heavy = register(&server, &format!("heavy-{n}"), "correct-horse");
        let light = register(&server, &format!("light-{n}"), "correct-horse");
        let send = |token: &str| server.request(method, path, Some(token), None);
        let (passed, refusal) = until_limited(50, || send(&heavy.access), ok);
        // A burst of 5, plus whatever refilled (5 a second) while they were sent.
        assert!((5..=10).contains(&passed), "{class}: {passed} passed before the 429");
        let wait = retry_after(&refusal, 1);
        // Another user is not affected, nor are the heavy user's reads of other classes.
        assert!(ok(&send(&light.access)), "{class}: another user is refused");
        assert_eq!(server.get("/v1/me", &heavy.access).status, 200, "{class}: a read of no class");
        // Once the wait is over, the heavy user gets through again.
        std::thread::sleep(Duration::from_secs(wait));
        assert!(ok(&send(&heavy.access)), "{class}: still refused after Retry-After");
    }
    // Reads of no class are not limited.
    for _ in 0..30 {
        assert_eq!(server.get(&format!("/v1/tracks/{track}"), &scout.access).status, 200);
    }
}

#[test]
fn sign_in_attempts_are_limited_per_username() {
    let server = TestServer::start(&SMALL_LIMITS);
    register(&server, "dave", "correct-horse");
    register(&server, "erin", "correct-horse");
    let (passed, refusal) = until_limited(10, || login(&server, "dave", "guess"), |r| r.status == 401);
    assert_eq!(passed, 3, "three attempts a minute");
    // 3 a minute: the next attempt is allowed 20 s after the first.
    retry_after(&refusal, 20);
    // Refused before the password is looked at: the right one is refused too.
    let right = login(&server, "dave", "correct-horse");
    assert_eq!((right.status, right.reason()), (429, "RATE_LIMITED"), "{:?}", right.body);
    // Another username from the same client is unaffected.
    let erin = login(&server, "erin", "correct-horse");
    assert_eq!(erin.status, 200, "{:?}", erin.body);
    // A password change checks a password too: it counts against the same username's limit.
    let fresh = login(&server, "erin", "correct-horse");
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    let token = fresh.body["access_token"].as_str().unwrap().to_string();
    let change = server.request(
        "PUT",
        "/v1/me/password",
        Some(&token),
        Some(json!({"old_password": "wrong-guess", "new_password": "new-password"})),
    );
    assert_eq!(change.status, 403, "{:?}", change.body);
    let change = server.request(
        "PUT",
        "/v1/me/password",
        Some(&token),
        Some(json!({"old_password": "correct-horse", "new_password": "new-password"})),
    );
    assert_eq!((change.status, change.reason()), (429, "RATE_LIMITED"), "{:?}", change.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_opened_before_a_logout_cannot_say_hello_after_it() {
    let server = TestServer::start(&[]);
    let carol = register(&server, "carol", "correct-horse");
    let socket = open_socket(&server, &carol.access).await.expect("the upgrade succeeds before the logout");
    let reply = block_in_place(|| server.request("POST", "/v1/auth/logout", Some(&carol.access), None));
    assert_eq!(reply.status, 204);
    let mut late = Device { socket, device_id: "late".into(), next_id: 1, events: Default::default() };
    let refused = late.request("hello", hello_body("late", true)).await;
    assert_eq!(refused.error.map(|e| e.code), Some(segue_protocol::ErrorCode::Unauthorized));
    assert_eq!(late.expect_close().await.0, segue_protocol::close_code::TOKEN_EXPIRED);
}
