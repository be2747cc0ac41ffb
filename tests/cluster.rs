//! Cluster mode: several real `segue serve` processes against a real Redis (one of the test's
//! own, on a free port) and a real PostgreSQL database, devices of one user on different nodes.
//!
//! - one session in the whole cluster: commands from any node, states on every node, in step;
//! - the skip budget and single playback hold across nodes;
//! - a stale epoch's write is refused (the Redis engine itself);
//! - chaos: `kill -9` of a node under load, and from what every device received, no acknowledged
//!   change is lost, `seq` never goes backwards, no state has two active devices;
//! - SIGTERM drains a node to the others; Redis restarting fails requests fast, then every device
//!   gets its whole state again.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use futures_util::SinkExt;
use futures_util::stream::{SplitSink, StreamExt};
use segue::ids::Id;
use segue::storage::redis::{Committed, Ownership, RedisEngine};
use segue_protocol::envelope::encode_request;
use segue_protocol::{ServerFrame, SessionState};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const LEASE_MS: &str = "1000";

fn active_count(state: &SessionState) -> usize {
    state.devices.iter().filter(|d| d.is_active).count()
}

/// Checks a state's single-playback invariant.
fn assert_single_playback(state: &SessionState) {
    assert!(active_count(state) <= 1, "two active devices at seq {}: {state:?}", state.seq);
    let flagged = state.devices.iter().find(|d| d.is_active).map(|d| d.device_id.clone());
    assert_eq!(flagged, state.active_device_id, "the active flag matches active_device_id");
}

/// Two nodes, a user, some tracks of the demo catalog, and one device of the user on each node.
struct TwoNodes {
    cluster: TestCluster,
    token: String,
    tracks: Vec<String>,
    first: Device,
    second: Device,
}

/// Starts [`TwoNodes`]: `user` registered, `tracks` track ids, device `(id, can_play)` `first` on
/// node 0 and `second` on node 1.
async fn two_nodes(extra: &[&str], user: &str, tracks: usize, first: (&str, bool), second: (&str, bool)) -> TwoNodes {
    let mut flags = vec!["--lease-ms", LEASE_MS];
    flags.extend_from_slice(extra);
    let cluster = TestCluster::start(2, &flags);
    let (_, token) = cluster.node(0).register(user);
    let tracks = cluster.node(0).track_ids(&token, tracks);
    let (first, _) = Device::connect(cluster.node(0), &token, first.0, first.1).await;
    let (second, _) = Device::connect(cluster.node(1), &token, second.0, second.1).await;
    TwoNodes { cluster, token, tracks, first, second }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_on_different_nodes_share_one_session_in_step() {
    let TwoNodes { cluster, token, tracks, first: mut phone, second: mut speaker } =
        two_nodes(&[], "alice", 3, ("phone", false), ("speaker", true)).await;
    let devices = cluster.node(1).get("/v1/me/player/devices", &token);
    assert_eq!(devices.body["devices"].as_array().map(Vec::len), Some(2), "node 1 sees the phone on node 0");

    // The phone (node 0) starts playback on the speaker (node 1).
    let reply = phone.request("play", json!({"uris": tracks, "device_id": "speaker"})).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    let seq = reply_seq(&reply);
    let on_speaker = speaker.state_at(seq).await;
    let on_phone = phone.state_at(seq).await;
    assert_eq!(on_speaker, on_phone, "both nodes deliver the same state");
    assert_eq!(on_speaker.active_device_id.as_deref(), Some("speaker"));
    assert!(on_speaker.playback.as_ref().unwrap().is_playing);

    // The speaker pauses; the phone sees it.
    let reply = speaker.request("pause", json!({})).await;
    let seq = reply_seq(&reply);
    assert!(!phone.state_at(seq).await.playback.unwrap().is_playing);
    speaker.state_at(seq).await;

    // REST on either node reads and drives the same session.
    let player = cluster.node(1).get("/v1/me/player", &token);
    assert_eq!(player.status, 200);
    assert_eq!(player.body["is_playing"], false);
    assert_eq!(player.body["device"]["id"], "speaker");
    let resume = cluster.node(0).request("PUT", "/v1/me/player/play", Some(&token), Some(json!({})));
    assert_eq!(resume.status, 204, "{:?}", resume.body);
    let state = phone.state_where(|s| s.playback.as_ref().is_some_and(|p| p.is_playing)).await;
    let same = speaker.state_at(state.seq).await;
    assert_eq!(state, same);

    // A third device on node 1 is welcomed with the newest state.
    let (_car, welcome) = Device::connect(cluster.node(1), &token, "car", true).await;
    assert_eq!(welcome.seq, state.seq + 1, "the car's arrival is the next change");
    assert_eq!(welcome.state.devices.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skip_budget_holds_when_two_nodes_skip_at_once() {
    let TwoNodes { cluster: _cluster, tracks, first: mut one, second: mut two, .. } =
        two_nodes(&["--skip-limit", "3"], "free-bob", 12, ("one", true), ("two", true)).await;
    let reply = one.request("play", json!({"uris": tracks})).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);

    // Both devices fire five skips each without waiting for any reply.
    let mut ids = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ids.0.push(one.send("next", json!({})).await);
        ids.1.push(two.send("next", json!({})).await);
    }
    let mut granted = 0;
    let mut refused = 0;
    for (device, ids) in [(&mut one, ids.0), (&mut two, ids.1)] {
        for id in ids {
            let reply = device.reply_to(id).await;
            match reply.ok {
                Some(true) => granted += 1,
                _ => {
                    let error = reply.error.expect("an error body");
                    assert_eq!(error.code.as_str(), "SKIP_LIMIT", "{error:?}");
                    assert!(error.retry_after_ms.is_some_and(|ms| ms > 0));
                    refused += 1;
                }
            }
        }
    }
    assert_eq!((granted, refused), (3, 7), "exactly the budget is granted, across both nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_between_nodes_never_show_two_active_devices() {
    let TwoNodes { cluster: _cluster, tracks, first: mut left, second: mut right, .. } =
        two_nodes(&[], "carol", 2, ("left", true), ("right", true)).await;
    let reply = left.request("play", json!({"uris": tracks, "device_id": "left"})).await;
    let mut seq = reply_seq(&reply);
    for round in 0..20 {
        let (sender, target) = if round % 2 == 0 { (&mut right, "right") } else { (&mut left, "left") };
        let reply = sender.request("transfer", json!({"device_id": target})).await;
        assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
        seq = reply_seq(&reply);
    }
    for device in [&mut left, &mut right] {
        let mut last = 0;
        loop {
            let state = device.state_where(|_| true).await;
            assert!(state.seq > last, "seq grows on every device");
            last = state.seq;
            assert_single_playback(&state);
            if state.seq == seq {
                assert_eq!(state.active_device_id.as_deref(), Some("left"));
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_a_stale_epoch_is_refused() {
    let redis = TestRedis::start();
    let lease = Duration::from_millis(500);
    let old = RedisEngine::connect(&redis.url(), lease, Duration::from_secs(1)).await.unwrap();
    let new = RedisEngine::connect(&redis.url(), lease, Duration::from_secs(1)).await.unwrap();
    let user = Id::random();

    let Ownership::Mine { epoch: first } = old.acquire(user, None).await.unwrap() else { panic!("nobody held it") };
    assert_eq!(new.acquire(user, None).await.unwrap(), Ownership::Elsewhere { instance: old.instance().to_string() });
    assert_eq!(old.commit(user, first, 1, b"one".to_vec(), "m1".into()).await.unwrap(), Committed::Written);
    assert_eq!(old.commit(user, first, 1, b"one again".to_vec(), "m1".into()).await.unwrap(), Committed::Superseded);

    // The old owner is declared dead; the new one takes over with a higher epoch.
    let Ownership::Mine { epoch: second } = new.acquire(user, Some(old.instance())).await.unwrap() else {
        panic!("the session is taken over")
    };
    assert!(second > first);
    assert_eq!(old.commit(user, first, 2, b"stale".to_vec(), "m2".into()).await.unwrap(), Committed::Fenced);
    assert!(!old.release(user, first).await.unwrap(), "a deposed owner cannot release");
    assert_eq!(new.commit(user, second, 2, b"two".to_vec(), "m2".into()).await.unwrap(), Committed::Written);
    let stored = new.load_snapshot(user).await.unwrap().unwrap();
    assert_eq!((stored.epoch, stored.seq, stored.state.as_slice()), (second, 2, &b"two"[..]));

    // Liveness: a process is alive while it renews, and gone once it retires.
    assert!(new.is_alive(old.instance()).await.unwrap());
    old.retire_instance().await.unwrap();
    assert!(!new.is_alive(old.instance()).await.unwrap());
}

// ----- chaos -----

/// What every device saw, checked as it arrives.
#[derive(Default)]
struct Observations {
    violations: Mutex<Vec<String>>,
    states: AtomicU64,
}

impl Observations {
    fn violation(&self, text: String) {
        self.violations.lock().unwrap().push(text);
    }
}

/// One device of the chaos test: it reconnects, to another node, whenever its socket ends.
struct ChaosDevice {
    id: String,
    token: String,
    /// The newest seq this device has seen, across all its connections.
    last_seq: Arc<AtomicU64>,
    link: Option<(SplitSink<Socket, Message>, mpsc::UnboundedReceiver<ServerFrame>)>,
    next_request: u32,
}

impl ChaosDevice {
    async fn connect(&mut self, url: &str, observed: &Arc<Observations>) -> bool {
        let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).unwrap();
        request.headers_mut().insert("Authorization", format!("Bearer {}", self.token).parse().unwrap());
        let Ok(Ok((socket, _))) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await else {
            return false;
        };
        let (mut sink, mut stream) = socket.split();
        let (tx, mut replies) = mpsc::unbounded_channel();
        let (device, last_seq, seen) = (self.id.clone(), self.last_seq.clone(), observed.clone());
        tokio::spawn(async move {
            let observed = seen;
            while let Some(Ok(message)) = stream.next().await {
                let Message::Binary(bytes) = message else { continue };
                let Ok(frame) = ServerFrame::decode(&bytes) else {
                    observed.violation(format!("{device}: an undecodable frame"));
                    break;
                };
                if frame.kind == "state" {
                    let state: SessionState = frame.body_as().expect("a state body");
                    observed.states.fetch_add(1, Ordering::Relaxed);
                    if active_count(&state) > 1 {
                        observed.violation(format!("{device}: two active devices at seq {}", state.seq));
                    }
                    let before = last_seq.fetch_max(state.seq, Ordering::SeqCst);
                    if state.seq < before {
                        observed.violation(format!("{device}: seq went back from {before} to {}", state.seq));
                    }
                } else if frame.is_reply() && tx.send(frame).is_err() {
                    break;
                }
            }
        });
        let hello = json!({
            "device_id": self.id, "name": self.id, "device_type": "speaker", "can_play": true,
            "supports_volume": true, "volume_percent": 50, "last_seq": self.last_seq.load(Ordering::SeqCst),
        });
        if sink.send(Message::Binary(encode_request("hello", 1, &hello).into())).await.is_err() {
            return false;
        }
        match tokio::time::timeout(WAIT, replies.recv()).await {
            Ok(Some(reply)) if reply.ok == Some(true) => {
                let welcome: segue_protocol::state::Welcome = reply.body_as().expect("a welcome");
                let seen = self.last_seq.load(Ordering::SeqCst);
                if welcome.seq < seen {
                    observed.violation(format!("{}: welcome at seq {} after seeing {seen}", self.id, welcome.seq));
                }
                self.last_seq.fetch_max(welcome.seq, Ordering::SeqCst);
                self.link = Some((sink, replies));
                self.next_request = 2;
                true
            }
            _ => false,
        }
    }

    /// Sends a request; `Some(reply)`, or `None` when the connection ended before the reply.
    async fn request(&mut self, kind: &str, body: Value) -> Option<ServerFrame> {
        let (sink, replies) = self.link.as_mut()?;
        let id = self.next_request;
        self.next_request += 1;
        if sink.send(Message::Binary(encode_request(kind, id, &body).into())).await.is_err() {
            self.link = None;
            return None;
        }
        match tokio::time::timeout(WAIT, replies.recv()).await {
            Ok(Some(reply)) => Some(reply),
            _ => {
                self.link = None;
                None
            }
        }
    }
}

/// What one user's driver saw of its commands.
#[derive(Default, Debug)]
struct Ledger {
    acknowledged: u64,
    refused: u64,
    /// Per device: the last volume sent, and whether it was acknowledged.
    last_volume: HashMap<String, (u8, bool)>,
    highest_acked_seq: u64,
    /// The longest time between two acknowledged commands.
    longest_gap: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_under_load_loses_no_acknowledged_change() {
    let mut cluster = TestCluster::start(3, &["--lease-ms", LEASE_MS]);
    let urls: Vec<String> = (0..3).map(|n| cluster.node(n).ws_url()).collect();
    let live = Arc::new(Mutex::new(vec![true, true, true]));
    let observed = Arc::new(Observations::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut users = Vec::new();
    for u in 0..6 {
        let (_, token) = cluster.node(u % 3).register(&format!("chaos-{u}"));
        users.push(token);
    }
    let tracks = cluster.node(0).track_ids(&users[0], 3);

    let mut drivers = Vec::new();
    for (u, token) in users.iter().cloned().enumerate() {
        let (urls, live, observed, stop, tracks) =
            (urls.clone(), live.clone(), observed.clone(), stop.clone(), tracks.clone());
        drivers.push(tokio::spawn(async move {
            let mut devices: Vec<ChaosDevice> = (0..3)
                .map(|d| ChaosDevice {
                    id: format!("dev-{d}"),
                    token: token.clone(),
                    last_seq: Arc::default(),
                    link: None,
                    next_request: 1,
                })
                .collect();
            let mut ledger = Ledger::default();
            let mut last_ack = Instant::now();
            let mut turn = 0usize;
            let mut started = false;
            while !stop.load(Ordering::SeqCst) {
                let d = turn % devices.len();
                turn += 1;
                let device = &mut devices[d];
                if device.link.is_none() {
                    // Device d lives on node (d + u) % 3, or the next live one after it.
                    let connected = {
                        let alive = live.lock().unwrap().clone();
                        let node = (0..3).map(|k| (d + u + k) % 3).find(|&n| alive[n]).unwrap();
                        urls[node].clone()
                    };
                    if !device.connect(&connected, &observed).await {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
                let (kind, body, volume) = if started {
                    let volume = (turn % 100) as u8 + 1;
                    ("volume", json!({"percent": volume, "device_id": device.id}), Some(volume))
                } else {
                    ("play", json!({"uris": tracks}), None)
                };
                let reply = device.request(kind, body).await;
                let acked = reply.as_ref().is_some_and(|r| r.ok == Some(true));
                if let Some(volume) = volume {
                    ledger.last_volume.insert(device.id.clone(), (volume, acked));
                }
                match reply {
                    Some(reply) if acked => {
                        started = true;
                        ledger.acknowledged += 1;
                        ledger.highest_acked_seq = ledger.highest_acked_seq.max(reply_seq(&reply));
                        ledger.longest_gap = ledger.longest_gap.max(last_ack.elapsed());
                        last_ack = Instant::now();
                    }
                    Some(_) => {
                        ledger.refused += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    None => {}
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            ledger.longest_gap = ledger.longest_gap.max(last_ack.elapsed());
            (token, ledger)
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    live.lock().unwrap()[0] = false;
    let killed_at = Instant::now();
    cluster.kill(0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::SeqCst);
    let mut ledgers = Vec::new();
    for driver in drivers {
        ledgers.push(driver.await.expect("a driver finishes"));
    }
    println!("killed node 0 {:.1?} ago; {} states seen", killed_at.elapsed(), observed.states.load(Ordering::Relaxed));

    let violations = observed.violations.lock().unwrap().clone();
    assert!(violations.is_empty(), "{violations:#?}");
    for (token, ledger) in &ledgers {
        println!("{ledger:?}");
        assert!(ledger.acknowledged > 20, "the load ran: {ledger:?}");
        // Active again within the lease plus a second.
        assert!(ledger.longest_gap < Duration::from_millis(1_000 + 1_000), "{ledger:?}");
        let state = cluster.node(1).get("/v1/me/player/devices", token);
        assert_eq!(state.status, 200);
        let player = read_state(&cluster, token).await;
        assert!(player.seq >= ledger.highest_acked_seq, "an acknowledged change was lost: {ledger:?} {player:?}");
        for (device, (volume, acked)) in &ledger.last_volume {
            let shown = player.devices.iter().find(|d| &d.device_id == device).and_then(|d| d.volume_percent);
            if *acked {
                assert_eq!(shown, Some(*volume), "{device}: the last acknowledged volume survives");
            }
        }
    }
}

/// The user's whole state, through a device on node 1 that only says hello.
async fn read_state(cluster: &TestCluster, token: &str) -> SessionState {
    let (_reader, welcome) = Device::connect(cluster.node(1), token, "reader", false).await;
    welcome.state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_node_and_its_devices_carry_on_elsewhere() {
    let mut cluster = TestCluster::start(2, &["--lease-ms", LEASE_MS]);
    let (_, token) = cluster.node(0).register("dave");
    let tracks = cluster.node(0).track_ids(&token, 2);
    let (mut phone, _) = Device::connect(cluster.node(0), &token, "phone", true).await;
    let reply = phone.request("play", json!({"uris": tracks})).await;
    let seq = reply_seq(&reply);

    let mut draining = cluster.nodes[0].take().unwrap();
    let pid = draining.pid();
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let (code, _) = phone.expect_close().await;
    assert_eq!(code, 1001, "a draining node closes sockets with 1001");
    assert!(draining.wait_exit(WAIT).expect("the node exits").success());

    // The device reconnects to the other node at once: the session was handed over, not lost.
    let started = Instant::now();
    let (mut phone, welcome) = Device::connect(cluster.node(1), &token, "phone", true).await;
    assert!(started.elapsed() < Duration::from_millis(900), "no wait for a lease: {:?}", started.elapsed());
    assert!(welcome.seq > seq);
    // Its going offline stopped playback (only an online active device plays), where it was.
    let playback = welcome.state.playback.as_ref().expect("the session kept its playback");
    assert_eq!(playback.track_id, tracks[0]);
    assert!(!playback.is_playing);
    let reply = phone.request("play", json!({"device_id": "phone"})).await;
    assert_eq!(reply.ok, Some(true), "{:?}", reply.error);
    let state = phone.state_at(reply_seq(&reply)).await;
    assert!(state.playback.unwrap().is_playing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_requests_fail_fast_and_afterwards_every_device_gets_its_state() {
    let TwoNodes { mut cluster, token, tracks, first: mut phone, second: mut speaker } =
        two_nodes(&[], "erin", 2, ("phone", true), ("speaker", true)).await;
    let reply = phone.request("play", json!({"uris": tracks})).await;
    let seq = reply_seq(&reply);
    speaker.state_at(seq).await;
    phone.state_at(seq).await;
    let (tablet, welcome) = Device::connect(cluster.node(1), &token, "tablet", false).await;
    speaker.state_at(welcome.seq).await;
    phone.state_at(welcome.seq).await;
    let seq = welcome.seq;

    cluster.redis.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cluster.node(0).request("GET", "/readyz", None, None).status, 503, "not ready without Redis");
    for device in [&mut phone, &mut speaker] {
        let started = Instant::now();
        let reply = device.request("pause", json!({})).await;
        assert_eq!(reply.ok, Some(false));
        assert_eq!(reply.error.unwrap().code.as_str(), "UNAVAILABLE");
        assert!(started.elapsed() < Duration::from_millis(2_500), "fails fast: {:?}", started.elapsed());
    }

    // The tablet leaves while its going offline cannot be stored.
    drop(tablet);
    cluster.redis.restart();
    let deadline = Instant::now() + WAIT;
    while cluster.node(0).request("GET", "/readyz", None, None).status != 200 {
        assert!(Instant::now() < deadline, "ready again once Redis is back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every device gets its whole state again once its node is back on Redis.
    for device in [&mut phone, &mut speaker] {
        let state = device.state_where(|_| true).await;
        assert!(state.seq >= seq, "never behind what the device saw");
        assert!(state.playback.as_ref().unwrap().is_playing, "the pause was refused, so it still plays");
    }
    // The tablet's going offline is stored once Redis is back.
    let state = speaker.state_where(|s| s.devices.iter().any(|d| d.device_id == "tablet" && !d.online)).await;
    assert!(state.seq > seq);
    // And commands work again.
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = speaker.request("pause", json!({})).await;
        if reply.ok == Some(true) {
            let seq = reply_seq(&reply);
            assert!(!phone.state_where(|s| s.seq >= seq).await.playback.unwrap().is_playing);
            break;
        }
        assert!(Instant::now() < deadline, "commands work again after Redis is back: {:?}", reply.error);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_control_goes_on_while_postgresql_is_unreachable() {
    let TwoNodes { cluster, tracks, first: mut phone, second: mut speaker, .. } =
        two_nodes(&[], "frank", 2, ("phone", false), ("speaker", true)).await;
    let reply = phone.request("play", json!({"uris": tracks, "device_id": "speaker"})).await;
    speaker.state_at(reply_seq(&reply)).await;

    // The cluster's database refuses every connection, and those it had are cut.
    cluster.block_database(true);
    for (kind, body) in [("pause", json!({})), ("seek", json!({"position_ms": 1000})), ("resume", json!({}))] {
        let reply = phone.request(kind, body).await;
        assert_eq!(reply.ok, Some(true), "{kind} without PostgreSQL: {:?}", reply.error);
        let state = speaker.state_at(reply_seq(&reply)).await;
        assert_single_playback(&state);
    }
    let reply = speaker.request("volume", json!({"percent": 12})).await;
    let state = phone.state_at(reply_seq(&reply)).await;
    assert_eq!(state.devices.iter().find(|d| d.device_id == "speaker").unwrap().volume_percent, Some(12));
    cluster.block_database(false);
}

/// A node killed right after a play reached its threshold: the node taking the session over
/// from its last stored snapshot meets the same playback (it played on, on a device of the
/// living node) and counts it again, under the same id, so the play is counted exactly once
/// whether the dead node's write got out or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_right_after_the_threshold_counts_the_play_once() {
    let mut nodes = two_nodes(&["--stream-count-ms", "500"], "royalty", 1, ("phone", true), ("speaker", true)).await;
    let token = nodes.token.clone();
    // The session lives on node 0 (the phone said hello there first); the speaker on node 1 plays.
    let play = nodes.first.request("play", json!({"uris": nodes.tracks, "device_id": "speaker"})).await;
    reply_seq(&play);
    tokio::time::sleep(Duration::from_millis(530)).await;
    nodes.cluster.kill(0);

    // The next call on node 1 takes the session over once node 0's lease lapses.
    let started = Instant::now();
    loop {
        let reply = nodes.cluster.node(1).get("/v1/me/player", &token);
        if reply.status == 200 {
            assert_eq!(reply.body["device"]["id"], "speaker", "the speaker plays on: {:?}", reply.body);
            break;
        }
        assert!(started.elapsed() < WAIT, "no takeover: {} {:?}", reply.status, reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let recent = nodes.cluster.node(1).get("/v1/me/player/recently-played?limit=50", &token);
    assert_eq!(recent.status, 200, "{:?}", recent.body);
    let played: Vec<&str> =
        recent.body["items"].as_array().unwrap().iter().map(|item| item["track"]["id"].as_str().unwrap()).collect();
    assert_eq!(played, [nodes.tracks[0].as_str()], "counted exactly once");
}
