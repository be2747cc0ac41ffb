//! The actors in one process, for real: sessions on their shards over a real SQLite store, the
//! in-process bus and hub. Two families of tests: supervision (a command that panics, on the
//! fast path and through the mailbox) and placement (the directory's decisions in a cluster,
//! against a fake [`Placement`] that plays the other nodes and Redis).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use segue_protocol::{DeviceType, ErrorCode};

use super::activity::ActivityFeed;
use super::bus::{BusFuture, InProcessBus};
use super::call::{SessionCall, SessionReply};
use super::directory::Sessions;
use super::hub::{LocalHub, OutFrame, Outbound};
use super::placement::{Ownership, Placement, RemoteAnswer, RemoteError, RpcFailure, cluster_unreachable};
use super::session::{EmbeddedSnapshots, SessionDeps};
use super::shards::Shards;
use super::topics::{Topic, Topics};
use crate::auth::Accounts;
use crate::error::AppResult;
use crate::ids::Id;
use crate::metrics::Metrics;
use crate::player::faults::PANICKING_SENDER;
use crate::player::{Command, DeviceInfo, PlaySource, SkipPolicy, StartAt, TrackRef};
use crate::storage::activity::ActivityWriter;
use crate::storage::snapshots::WriteBehind;
use crate::storage::users::UserUpsert;
use crate::storage::{Store, StoreLocation};

struct Node {
    sessions: Sessions,
    hub: Arc<LocalHub>,
    /// The topics the sessions' friend activity goes out on.
    topics: Topics,
    store: Store,
    metrics: Arc<Metrics>,
    _dir: tempfile::TempDir,
}

async fn node(placement: Option<Arc<dyn Placement>>) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreLocation::DataDir(dir.path().to_path_buf())).await.unwrap();
    let metrics = Arc::new(Metrics::default());
    let accounts = Arc::new(Accounts::new(store.clone(), 3_600, 3_600, metrics.clone()).await.unwrap());
    let writer = WriteBehind::start(store.clone(), metrics.clone());
    let hub = Arc::new(LocalHub::new(1));
    let topics = Topics::embedded(hub.clone());
    let deps = SessionDeps {
        accounts,
        writer: writer.clone(),
        bus: Arc::new(InProcessBus::new(hub.clone(), writer.clone())),
        snapshots: Arc::new(EmbeddedSnapshots { writer, hub: hub.clone() }),
        metrics: metrics.clone(),
        skip_policy: SkipPolicy::DEFAULT,
        idle_retirement: Duration::from_secs(300),
        activity: Arc::new(ActivityFeed::new(topics.clone(), ActivityWriter::new(store.clone(), metrics.clone()).0)),
        private_session: PRIVATE_SESSION,
        stream_count_ms: crate::player::plays::STREAM_COUNT_MS,
    };
    let sessions = Sessions::new(Arc::new(deps), Shards::start(2), placement);
    Node { sessions, hub, topics, store, metrics, _dir: dir }
}

impl Node {
    /// Another user whose session lives on the same shard (thread) as `user`'s.
    async fn neighbour_of(&self, user: Id) -> Id {
        for n in 0.. {
            let other = self.user(&format!("neighbour-{n}")).await;
            if self.sessions.shard_of(other) == self.sessions.shard_of(user) {
                return other;
            }
        }
        unreachable!()
    }

    async fn user(&self, name: &str) -> Id {
        let upsert =
            UserUpsert { username: name, password_hash: "!", display_name: None, product: None, country: Some("SE") };
        self.store.insert_user(&upsert, 0).await.unwrap()
    }

    /// Attaches a speaker of `user` with a connection registered in the hub, and plays.
    async fn playing(&self, user: Id) -> Outbound {
        let (connection, outbound) = self.hub.connect(user).unwrap();
        let speaker = DeviceInfo {
            id: "speaker".into(),
            name: "Speaker".into(),
            device_type: DeviceType::Speaker,
            can_play: true,
            supports_volume: true,
            volume_percent: None,
        };
        self.sessions.attach(user, speaker, connection, None).await.unwrap();
        let tracks = (1..=3).map(|n| TrackRef { id: Id::from_u128(n), duration_ms: 180_000 }).collect();
        let source = PlaySource { context_uri: None, tracks, start: StartAt::Beginning };
        let play = Command::Play { device_id: None, source: Some(source), position_ms: None };
        self.sessions.execute(user, Some("speaker"), play).await.unwrap();
        self.sessions.execute(user, Some("speaker"), Command::Pause).await.unwrap();
        self.sessions.execute(user, Some("speaker"), Command::Seek { position_ms: 1_000 }).await.unwrap();
        outbound
    }
}

/// How long the test sessions' private sessions last (and so how often their deadline is checked).
const PRIVATE_SESSION: Duration = Duration::from_millis(300);

/// The next `friend_activity` a connection receives.
async fn next_activity(outbound: &mut Outbound) -> segue_protocol::activity::FriendActivity {
    let frame = tokio::time::timeout(Duration::from_secs(5), outbound.recv()).await.unwrap().unwrap();
    let OutFrame::Event(bytes) = &*frame else { panic!("an event, not {frame:?}") };
    let event = segue_protocol::ServerFrame::decode(bytes).unwrap();
    assert_eq!(event.kind, "friend_activity");
    event.body_as().unwrap()
}

#[test]
fn friends_hear_what_a_session_starts_and_a_private_session_hides_it_until_it_ends_by_itself() {
    run(async {
        let node = node(None).await;
        let user = node.user("ada").await;
        let friend = Id::from_u128(77);
        let (connection, mut friend_rx) = node.hub.connect(friend).unwrap();
        node.topics.subscribe(friend, connection, Topic::Activity(user)).await.unwrap();
        let _speaker = node.playing(user).await;
        let online = next_activity(&mut friend_rx).await;
        assert_eq!((online.user_id, online.display_name.as_str(), online.online), (user.to_string(), "ada", true));
        let started = next_activity(&mut friend_rx).await;
        assert_eq!(started.track_id, Some(Id::from_u128(1).to_string()));
        assert!(friend_rx.try_recv().is_err(), "a pause and a seek are nobody's news");

        let private = Command::PrivateSession { enabled: true, duration_ms: PRIVATE_SESSION.as_millis() as u64 };
        node.sessions.execute(user, None, private).await.unwrap();
        let hidden = next_activity(&mut friend_rx).await;
        assert_eq!((hidden.online, hidden.track_id), (false, Some(Id::from_u128(1).to_string())));
        assert!(node.sessions.state(user).await.unwrap().devices.iter().all(|d| d.is_private_session));
        // Its deadline passes: the session ends it by itself, and friends see the user again.
        let shown = next_activity(&mut friend_rx).await;
        assert!(shown.online);
        assert!(node.sessions.state(user).await.unwrap().devices.iter().all(|d| !d.is_private_session));
    });
}

#[test]
fn a_session_whose_devices_vanished_tells_friends_they_went_offline_when_it_comes_back() {
    run(async {
        let node = node(None).await;
        let user = node.user("ada").await;
        let friend = Id::from_u128(78);
        let (connection, mut friend_rx) = node.hub.connect(friend).unwrap();
        node.topics.subscribe(friend, connection, Topic::Activity(user)).await.unwrap();
        let (speaker_connection, _speaker) = node.hub.connect(user).unwrap();
        let speaker = DeviceInfo {
            id: "speaker".into(),
            name: "Speaker".into(),
            device_type: DeviceType::Speaker,
            can_play: true,
            supports_volume: true,
            volume_percent: None,
        };
        node.sessions.attach(user, speaker, speaker_connection, None).await.unwrap();
        assert!(next_activity(&mut friend_rx).await.online);
        // The connection goes without a detach (as when the node holding it dies), and the
        // session restarts from its snapshot, where the device is still online.
        node.hub.disconnect(user, speaker_connection);
        let volume = Command::Volume { percent: 10, device_id: Some("speaker".into()) };
        let error = node.sessions.execute(user, Some(PANICKING_SENDER), volume).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        let state = node.sessions.state(user).await.unwrap();
        assert!(state.devices.iter().all(|d| !d.online));
        assert!(!next_activity(&mut friend_rx).await.online, "friends see the user go");
    });
}

fn seek(position_ms: u32) -> Command {
    Command::Seek { position_ms }
}

fn run(test: impl std::future::Future<Output = ()>) {
    actix_rt::System::new().block_on(test);
}

/// What a supervision test checks after the panic: the command was answered `INTERNAL`, the
/// session came back as it was before it (seq, position, its device still online and never told
/// to reconnect), works again, and the other user never noticed.
async fn check_recovery(node: &Node, user: Id, other: Id, before_seq: u64, outbound: &mut Outbound) {
    let state = node.sessions.state(user).await.unwrap();
    assert_eq!(state.seq, before_seq, "the half-applied change is gone");
    let playback = state.playback.unwrap();
    assert_eq!(playback.position_ms, 1_000, "the position is the committed one");
    assert!(state.devices.iter().all(|d| d.online), "the device stays online: its connection still stands");
    while let Ok(frame) = outbound.try_recv() {
        assert!(!matches!(*frame, OutFrame::Close { .. }), "the device was not told to reconnect");
    }
    let seq = node.sessions.execute(user, Some("speaker"), seek(2_000)).await.unwrap().seq;
    assert_eq!(seq, before_seq + 1, "the session works again, seq going on from the committed one");
    assert_eq!(node.metrics.session_panics.get(), 1);
    let other_state = node.sessions.state(other).await.unwrap();
    assert_eq!(other_state.playback.unwrap().position_ms, 1_000);
    node.sessions.execute(other, Some("speaker"), seek(3_000)).await.unwrap();
}

/// Two users on the same shard, each with a speaker playing.
struct Playing {
    node: Node,
    user: Id,
    other: Id,
    /// `user`'s seq before the test's command.
    before: u64,
    outbound: Outbound,
    _other_outbound: Outbound,
}

async fn two_playing_neighbours() -> Playing {
    let node = node(None).await;
    let user = node.user("ada").await;
    let other = node.neighbour_of(user).await;
    let outbound = node.playing(user).await;
    let _other_outbound = node.playing(other).await;
    let before = node.sessions.state(user).await.unwrap().seq;
    Playing { node, user, other, before, outbound, _other_outbound }
}

#[test]
fn a_panic_through_the_mailbox_answers_internal_and_the_session_restarts_from_its_last_state() {
    run(async {
        let Playing { node, user, other, before, mut outbound, _other_outbound } = two_playing_neighbours().await;
        // From this thread (not the user's shard) every call goes through the actor's mailbox.
        let error = node.sessions.execute(user, Some(PANICKING_SENDER), seek(90_000)).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        check_recovery(&node, user, other, before, &mut outbound).await;
    });
}

#[test]
fn a_panic_on_the_fast_path_answers_internal_and_the_session_restarts_from_its_last_state() {
    run(async {
        let Playing { node, user, other, before, mut outbound, _other_outbound } = two_playing_neighbours().await;
        // On the user's own shard, as a device connection is, the call goes straight to the core.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sessions = node.sessions.clone();
        node.sessions.home(user).spawn_fn(move || {
            actix_rt::spawn(async move {
                let on_fast_path = super::session::local_core(user).is_some();
                let answer = sessions.execute(user, Some(PANICKING_SENDER), seek(90_000)).await;
                let _ = tx.send((on_fast_path, answer));
            });
        });
        let (on_fast_path, answer) = rx.await.unwrap();
        assert!(on_fast_path, "the core was lent to the shard");
        assert_eq!(answer.unwrap_err().code, ErrorCode::Internal);
        check_recovery(&node, user, other, before, &mut outbound).await;
    });
}

// ----- placement -----

/// How the fake's other node answers a call.
#[derive(Clone)]
enum Remote {
    Answers,
    NotHere,
    Silent,
}

/// Redis and the other nodes, played in memory. `acquire` gives an unowned session to the caller
/// (instance "me"); sessions can be put on "other".
struct FakePlacement {
    owners: Mutex<HashMap<Id, (String, i64)>>,
    alive: Mutex<HashSet<String>>,
    connected: AtomicBool,
    remote: Mutex<Remote>,
    acquires: Mutex<Vec<Option<String>>>,
    calls: Mutex<usize>,
}

impl FakePlacement {
    fn new() -> Arc<FakePlacement> {
        Arc::new(FakePlacement {
            owners: Mutex::default(),
            alive: Mutex::new(["me".to_string(), "other".to_string()].into()),
            connected: AtomicBool::new(true),
            remote: Mutex::new(Remote::Answers),
            acquires: Mutex::default(),
            calls: Mutex::default(),
        })
    }

    fn give_to_other(&self, user: Id) {
        self.owners.lock().unwrap().insert(user, ("other".into(), 1));
    }
}

impl Placement for FakePlacement {
    fn lease(&self) -> Duration {
        Duration::from_millis(200)
    }

    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    fn acquire(&self, user: Id, dead: Option<&str>) -> BusFuture<AppResult<Ownership>> {
        self.acquires.lock().unwrap().push(dead.map(str::to_string));
        let mut owners = self.owners.lock().unwrap();
        let answer = match owners.get(&user).cloned() {
            Some((instance, epoch)) if instance == "me" => Ownership::Mine { epoch },
            Some((instance, epoch)) if Some(instance.as_str()) == dead => {
                owners.insert(user, ("me".into(), epoch + 1));
                Ownership::Mine { epoch: epoch + 1 }
            }
            Some((instance, _)) => Ownership::Elsewhere { instance },
            None => {
                owners.insert(user, ("me".into(), 1));
                Ownership::Mine { epoch: 1 }
            }
        };
        Box::pin(std::future::ready(Ok(answer)))
    }

    fn release(&self, user: Id, _epoch: i64) -> BusFuture<()> {
        self.owners.lock().unwrap().remove(&user);
        Box::pin(std::future::ready(()))
    }

    fn is_alive(&self, instance: &str) -> BusFuture<AppResult<bool>> {
        let alive = self.alive.lock().unwrap().contains(instance);
        Box::pin(std::future::ready(Ok(alive)))
    }

    fn call(&self, instance: &str, _user: Id, call: SessionCall) -> BusFuture<RemoteAnswer> {
        assert_eq!(instance, "other", "calls go to the owner");
        *self.calls.lock().unwrap() += 1;
        let remote = self.remote.lock().unwrap().clone();
        Box::pin(async move {
            match remote {
                Remote::Answers => Ok(Ok(match call {
                    SessionCall::ReadState => SessionReply::State(Default::default()),
                    SessionCall::Execute { .. } => SessionReply::Executed { changed: true, seq: 42, state: None },
                })),
                Remote::NotHere => Ok(Err(RemoteError::NotHere)),
                Remote::Silent => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err(RpcFailure::Timeout)
                }
            }
        })
    }
}

async fn cluster_node() -> (Node, Arc<FakePlacement>) {
    let placement = FakePlacement::new();
    (node(Some(placement.clone())).await, placement)
}

#[test]
fn a_session_nobody_holds_is_activated_here_and_then_found_here() {
    run(async {
        let (node, placement) = cluster_node().await;
        let user = node.user("ada").await;
        node.playing(user).await;
        assert_eq!(node.sessions.live_count(), 1);
        assert_eq!(placement.acquires.lock().unwrap().len(), 1, "asked once, then found locally");
        assert_eq!(*placement.calls.lock().unwrap(), 0);
    });
}

#[test]
fn a_session_held_elsewhere_is_called_there_and_its_owner_remembered() {
    run(async {
        let (node, placement) = cluster_node().await;
        let user = node.user("ada").await;
        placement.give_to_other(user);
        for _ in 0..3 {
            let applied = node.sessions.execute(user, None, Command::Pause).await.unwrap();
            assert_eq!(applied.seq, 42, "the owner's answer");
        }
        assert_eq!(*placement.calls.lock().unwrap(), 3);
        assert_eq!(placement.acquires.lock().unwrap().len(), 1, "the owner was remembered");
        assert_eq!(node.sessions.live_count(), 0, "nothing was activated here");
    });
}

#[test]
fn an_owner_that_no_longer_holds_the_session_sends_the_caller_back_to_redis() {
    run(async {
        let (node, placement) = cluster_node().await;
        let user = node.user("ada").await;
        placement.give_to_other(user);
        node.sessions.state(user).await.unwrap();
        *placement.remote.lock().unwrap() = Remote::NotHere;
        placement.owners.lock().unwrap().remove(&user);
        node.sessions.state(user).await.unwrap();
        assert_eq!(node.sessions.live_count(), 1, "found nowhere, so activated here");
        assert_eq!(placement.acquires.lock().unwrap().len(), 2);
    });
}

#[test]
fn a_silent_owner_that_is_alive_is_unavailable_and_a_dead_one_is_taken_over() {
    run(async {
        let (node, placement) = cluster_node().await;
        let user = node.user("ada").await;
        placement.give_to_other(user);
        *placement.remote.lock().unwrap() = Remote::Silent;
        let started = std::time::Instant::now();
        let error = node.sessions.state(user).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert!(started.elapsed() >= placement.lease(), "it watched the owner's liveness for a lease");
        assert_eq!(node.sessions.live_count(), 0, "an owner that lives is never taken over");

        placement.alive.lock().unwrap().remove("other");
        node.sessions.state(user).await.unwrap();
        assert_eq!(node.sessions.live_count(), 1, "the dead owner's session is active here now");
        assert_eq!(placement.acquires.lock().unwrap().last().unwrap().as_deref(), Some("other"));
        assert_eq!(placement.owners.lock().unwrap()[&user], ("me".to_string(), 2), "under a higher epoch");
    });
}

#[test]
fn without_redis_calls_fail_fast_and_a_draining_node_serves_no_one() {
    run(async {
        let (node, placement) = cluster_node().await;
        let user = node.user("ada").await;
        placement.connected.store(false, Ordering::SeqCst);
        let started = std::time::Instant::now();
        let error = node.sessions.state(user).await.unwrap_err();
        assert_eq!((error.code, error.message.clone()), (ErrorCode::Unavailable, cluster_unreachable().message));
        assert!(started.elapsed() < Duration::from_millis(100));
        assert!(placement.acquires.lock().unwrap().is_empty());

        placement.connected.store(true, Ordering::SeqCst);
        node.sessions.release_all().await;
        assert!(matches!(node.sessions.serve_remote(user, SessionCall::ReadState).await, Err(RemoteError::NotHere)));
        assert_eq!(node.sessions.state(user).await.unwrap_err().code, ErrorCode::Unavailable);
    });
}
