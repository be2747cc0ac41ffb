//! The collaboration scenarios (§6 of the Connect protocol):
//!
//! - `playlist`: S users subscribed to one collaborative playlist (all of them collaborators),
//!   E of them editing it at a target rate in all over the socket. Measures the latency from an
//!   edit being written to its `playlist_changed` arriving at every subscriber, the editor
//!   included, and checks what the protocol promises: every subscriber sees the same chain of
//!   snapshot ids, each event's `prev_snapshot_id` the one before, and ends at the server's.
//! - `activity`: one user followed by F followers spread over the nodes, each with
//!   `activity_subscribe`; the followed user starts tracks at a target rate. Measures the
//!   latency from the `play` being written to its `friend_activity` at every follower.
//!
//! Events are joined to their edits or plays after the run (edit: by the snapshot id its reply
//! named; play: by the track, to the last play of that track sent before the event arrived), so
//! a reader task never waits on another.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::stream::{self, StreamExt};
use futures_util::{SinkExt, stream::SplitSink};
use hdrhistogram::Histogram;
use rand::Rng;
use segue::reproducible::SeededRng;
use segue_protocol::envelope::encode_request;
use segue_protocol::request::{Hello, Play};
use segue_protocol::state::DeviceType;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::control::commands::encode;
use crate::nodes;
use crate::procfs::CpuClock;
use crate::report::{Percentiles, write_json};
use crate::rest::{Account, Rest};
use crate::ws::{self, Socket};

/// Read buffer of every socket of these scenarios.
const READ_BUFFER: usize = 16 * 1024;
/// Sockets being opened at once.
const CONNECT_CONCURRENCY: usize = 100;
/// REST setup calls (follows, collaborators) in flight at once.
const REST_CONCURRENCY: usize = 16;
/// How long after the last edit or play the readers keep reading.
const DRAIN: Duration = Duration::from_secs(3);
/// The Web API's cap on tracks added in one call.
const ADD_CHUNK: usize = 100;
/// The protocol's cap on a playlist's items.
const MAX_ITEMS: usize = 10_000;

type Writer = SplitSink<Socket, Message>;

/// The options both scenarios share.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Base URL of the Segue server (with `--node-url`: the first node, which also serves the
    /// REST setup).
    #[arg(long, default_value = "http://127.0.0.1:7400")]
    pub url: String,
    /// Base URL of a further node of the same cluster; repeat for more. Socket k goes to node
    /// k % N of the N nodes, `--url` being node 0.
    #[arg(long = "node-url", value_name = "URL")]
    pub node_urls: Vec<String>,
    /// Seconds to measure, after the warm-up.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Users are named `load-<prefix>-<n>`.
    #[arg(long, default_value = "collab")]
    pub prefix: String,
    /// PID of a server process whose CPU is read over the measured window; repeat, once per node.
    #[arg(long = "server-pid", value_name = "PID")]
    pub server_pids: Vec<u32>,
    /// Registrations or logins in flight at once.
    #[arg(long, default_value_t = 8)]
    pub register_concurrency: usize,
    /// Seed of the edit mix and of the track choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct PlaylistArgs {
    #[command(flatten)]
    pub common: Common,
    /// Users subscribed to the playlist (the owner and collaborators; editors among them).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub subscribers: u32,
    /// Subscribers that also edit (at most one edit in flight each).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub editors: u32,
    /// Edits per second, in all.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Items put in the playlist before the run (through REST); the edits keep it near that size.
    #[arg(long, default_value_t = 100)]
    pub items: u32,
}

#[derive(Args, Debug, Clone)]
pub struct ActivityArgs {
    #[command(flatten)]
    pub common: Common,
    /// Followers of the one followed user.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub followers: u32,
    /// Track starts per second by the followed user.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rate: u32,
}

/// What a socket saw of the playlist: the snapshot chain, and when each event arrived.
#[derive(Debug, Default)]
struct Seen {
    /// `(snapshot_id, arrival)` of each `playlist_changed`, in order.
    events: Vec<(String, Instant)>,
    /// Events whose `prev_snapshot_id` was not the snapshot held before them.
    chain_breaks: u64,
    /// The snapshot held at the end.
    last: String,
    /// The item uids as this subscriber's replica has them at the end.
    uids: Vec<String>,
}

/// What an editor sent: when each edit went out and what its reply said.
#[derive(Debug, Default)]
struct Sent {
    /// `snapshot_id → t0` of every acknowledged edit.
    acked: HashMap<String, Instant>,
    reply_us: Vec<Duration>,
    /// Edits sent in the measured window.
    sent: u64,
    /// Refusals by error code.
    errors: HashMap<String, u64>,
    /// Ticks that found the editor's previous edit unanswered.
    skipped: u64,
}

#[derive(Debug, Serialize)]
pub struct PlaylistSummary {
    pub nodes: usize,
    pub subscribers: usize,
    pub editors: usize,
    pub target_rate: u32,
    pub items_before: usize,
    pub items_after: usize,
    pub measured_s: f64,
    pub edits_sent: u64,
    pub edits_acked: u64,
    pub edits_per_s: f64,
    pub skipped_busy: u64,
    pub refusals: HashMap<String, u64>,
    /// Deliveries of acknowledged, measured edits, and how many were expected (edits × subscribers).
    pub deliveries: u64,
    pub expected_deliveries: u64,
    pub chain_breaks: u64,
    /// Subscribers whose last snapshot id is the server's, and whose items are the server's.
    pub subscribers_at_server_snapshot: usize,
    pub replicas_matching_server_items: usize,
    pub edit_to_changed_us: Percentiles,
    pub edit_reply_us: Percentiles,
    pub server_cpu_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ActivitySummary {
    pub nodes: usize,
    pub followers: usize,
    pub target_rate: u32,
    pub measured_s: f64,
    pub plays: u64,
    pub deliveries: u64,
    pub expected_deliveries: u64,
    pub play_to_activity_us: Percentiles,
    pub server_cpu_percent: Option<f64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("the histogram bounds are valid")
}

fn record(histogram: &mut Histogram<u64>, sample: Duration) {
    histogram.saturating_record(u64::try_from(sample.as_micros()).unwrap_or(u64::MAX).max(1));
}

/// The summed CPU of the server processes, as one clock per PID.
fn cpu_clocks(pids: &[u32]) -> Vec<CpuClock> {
    pids.iter().filter_map(|pid| CpuClock::start(Some(*pid))).collect()
}

fn cpu_percent(clocks: &[CpuClock]) -> Option<f64> {
    if clocks.is_empty() {
        return None;
    }
    clocks.iter().map(CpuClock::percent).sum()
}

fn hello(device_id: &str, can_play: bool) -> Hello {
    Hello {
        device_id: device_id.to_string(),
        name: device_id.to_string(),
        device_type: if can_play { DeviceType::Smartphone } else { DeviceType::Computer },
        can_play,
        supports_volume: false,
        volume_percent: None,
        last_seq: None,
    }
}

/// Opens a socket for `account` on `url`, says hello and sends one request, returning its body.
async fn open(
    url: &str,
    account: &Account,
    device_id: &str,
    can_play: bool,
    first: (&str, Value),
) -> Result<(Socket, Value), String> {
    let mut socket = ws::connect(url, Some(&account.access_token), READ_BUFFER).await?;
    ws::hello(&mut socket, hello(device_id, can_play)).await?;
    let (kind, body) = first;
    socket
        .send(Message::Binary(encode_request(kind, ws::HELLO_ID + 1, &body).into()))
        .await
        .map_err(|error| format!("{kind}: {error}"))?;
    let reply = tokio::time::timeout(ws::HANDSHAKE_TIMEOUT, ws::reply(&mut socket))
        .await
        .map_err(|_| format!("{kind} of {}: no reply", account.username))??;
    if reply.ok != Some(true) {
        return Err(format!("{kind} of {} refused: {:?}", account.username, reply.error));
    }
    Ok((socket, reply.body_as().map_err(|error| format!("{kind}: {error}"))?))
}

/// A server frame as JSON (the frames of these scenarios are small).
fn decode(bytes: &[u8]) -> Option<Value> {
    rmp_serde::from_slice(bytes).ok()
}

/// A playlist replica: the uids in order, kept by applying the ops of `playlist_changed`
/// (positions clamped to the length, as the server reads them).
fn apply_ops(uids: &mut Vec<String>, ops: &[Value]) {
    for op in ops {
        match op["op"].as_str() {
            Some("add") => {
                let added: Vec<String> =
                    op["uids"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(String::from)).collect();
                let at = op["position"].as_u64().map_or(uids.len(), |p| (p as usize).min(uids.len()));
                uids.splice(at..at, added);
            }
            Some("remove") => {
                let gone: Vec<&str> = op["uids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                uids.retain(|uid| !gone.contains(&uid.as_str()));
            }
            Some("move") => {
                if let (Some(uid), Some(position)) = (op["uid"].as_str(), op["position"].as_u64())
                    && let Some(from) = uids.iter().position(|u| u == uid)
                {
                    let moved = uids.remove(from);
                    let at = (position as usize).min(uids.len());
                    uids.insert(at, moved);
                }
            }
            _ => {}
        }
    }
}

fn items_uids(playlist: &Value) -> Vec<String> {
    playlist["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["uid"].as_str().map(String::from))
        .collect()
}

/// The next edit of an editor whose replica is `uids`: add, move or remove one item, keeping the
/// playlist near `target` items.
fn next_edit(uids: &[String], tracks: &[String], target: usize, rng: &mut SeededRng) -> Vec<Value> {
    let roll = rng.random_range(0..100);
    let len = uids.len();
    let add = len == 0 || (len < target && roll < 70) || (roll < 40 && len < MAX_ITEMS - 1);
    if add {
        let track = &tracks[rng.random_range(0..tracks.len())];
        return vec![json!({"op": "add", "track_ids": [track], "position": rng.random_range(0..=len)})];
    }
    let uid = &uids[rng.random_range(0..len)];
    if roll < 70 && len <= target {
        vec![json!({"op": "move", "uid": uid, "position": rng.random_range(0..len)})]
    } else {
        vec![json!({"op": "remove", "uids": [uid]})]
    }
}

/// One subscriber's socket: reads every frame; as an editor it also sends an edit per tick it
/// receives (skipping a tick while its previous edit is unanswered).
/// What every subscriber task is given besides its socket.
struct Subscription {
    playlist_id: String,
    /// The snapshot and the uids the subscription's reply held.
    snapshot: String,
    uids: Vec<String>,
    /// An editor's ticks (`true`: measured); `None` for a subscriber that only reads.
    ticks: Option<mpsc::Receiver<bool>>,
    tracks: Arc<Vec<String>>,
    /// The size the edits keep the playlist near.
    target: usize,
    seed: u64,
    stop: watch::Receiver<bool>,
}

async fn subscriber(socket: Socket, subscription: Subscription) -> (Seen, Sent) {
    let Subscription { playlist_id, snapshot, uids, mut ticks, tracks, target, seed, mut stop } = subscription;
    let (mut writer, mut reader) = socket.split();
    let mut seen = Seen { last: snapshot, uids, ..Seen::default() };
    let mut sent = Sent::default();
    let mut rng = segue::reproducible::seeded_rng(seed);
    let mut next_id = 10u32;
    // The edit in flight: its request id, t0 and whether it is measured.
    let mut in_flight: Option<(u32, Instant, bool)> = None;
    loop {
        tokio::select! {
            tick = async { match ticks.as_mut() { Some(ticks) => ticks.recv().await, None => std::future::pending().await } } => {
                let Some(measured) = tick else { ticks = None; continue };
                if in_flight.is_some() {
                    sent.skipped += u64::from(measured);
                    continue;
                }
                let ops = next_edit(&seen.uids, &tracks, target, &mut rng);
                next_id = next_id.wrapping_add(1).max(10);
                let frame = encode_request("playlist_edit", next_id, &json!({"playlist_id": playlist_id, "ops": ops}));
                let t0 = Instant::now();
                if send(&mut writer, frame).await.is_err() {
                    break;
                }
                sent.sent += u64::from(measured);
                in_flight = Some((next_id, t0, measured));
            }
            _ = stop.changed() => break,
            frame = reader.next() => {
                let Some(Ok(Message::Binary(bytes))) = frame else {
                    match frame {
                        Some(Ok(_)) => continue,
                        _ => break, // closed or failed
                    }
                };
                let arrival = Instant::now();
                let Some(frame) = decode(&bytes) else { continue };
                match frame["type"].as_str() {
                    Some("playlist_changed") => {
                        let body = &frame["body"];
                        let snapshot = body["snapshot_id"].as_str().unwrap_or_default().to_string();
                        if body["prev_snapshot_id"].as_str() != Some(seen.last.as_str()) {
                            seen.chain_breaks += 1;
                        }
                        apply_ops(&mut seen.uids, body["ops"].as_array().map(Vec::as_slice).unwrap_or_default());
                        seen.last.clone_from(&snapshot);
                        seen.events.push((snapshot, arrival));
                    }
                    Some("reply") => {
                        let Some((id, t0, measured)) = in_flight else { continue };
                        if frame["id"].as_u64() != Some(u64::from(id)) {
                            continue;
                        }
                        in_flight = None;
                        if frame["ok"] == true {
                            if let Some(snapshot) = frame["body"]["snapshot_id"].as_str() {
                                sent.acked.insert(snapshot.to_string(), t0);
                            }
                            if measured {
                                sent.reply_us.push(arrival - t0);
                            }
                        } else if measured {
                            let code = frame["error"]["code"].as_str().unwrap_or("?").to_string();
                            *sent.errors.entry(code).or_default() += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    (seen, sent)
}

async fn send(writer: &mut Writer, frame: Vec<u8>) -> Result<(), String> {
    writer.send(Message::Binary(frame.into())).await.map_err(|error| error.to_string())
}

/// Sends `true` (measured) or `false` (warm-up) ticks at `rate` per second round-robin over
/// `editors`, then closes them. A full queue counts as a skipped tick of that editor.
async fn ticker(editors: Vec<mpsc::Sender<bool>>, rate: u32, warmup: Duration, duration: Duration) -> Instant {
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + duration;
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n = 0usize;
    loop {
        let at = interval.tick().await.into_std();
        if at >= end {
            break;
        }
        let _ = editors[n % editors.len()].try_send(at >= measure_from);
        n += 1;
    }
    measure_from
}

pub async fn playlist(args: &PlaylistArgs) -> Result<PlaylistSummary, String> {
    let common = &args.common;
    let rest = Rest::new(&common.url);
    rest.check_reachable().await?;
    nodes::check_reachable(&common.node_urls).await?;
    let urls = nodes::connect_urls(&common.url, &common.node_urls);
    let subscribers = args.subscribers as usize;
    let editors = (args.editors as usize).min(subscribers);
    let prefix = format!("{}-pl", common.prefix);
    let accounts = rest.accounts(&prefix, subscribers, common.register_concurrency).await?;
    let owner = &accounts[0];
    let tracks = rest.playable_tracks(&owner.access_token, 50).await?;

    let (status, created) = rest
        .json("POST", "/v1/me/playlists", &owner.access_token, json!({"name": "load", "collaborative": true}))
        .await?;
    let playlist_id = match (status, created["id"].as_str()) {
        (201, Some(id)) => id.to_string(),
        _ => return Err(format!("POST /v1/me/playlists: {status} {created}")),
    };
    let ids: Vec<String> = stream::iter(&accounts[1..])
        .map(|account| rest.user_id(&account.access_token))
        .buffered(REST_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let collaborators = stream::iter(&ids)
        .map(|id| {
            let path = format!("/v1/playlists/{playlist_id}/collaborators");
            let rest = &rest;
            async move { rest.json("POST", &path, &owner.access_token, json!({"user_id": id})).await }
        })
        .buffered(REST_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    for answer in collaborators {
        let (status, body) = answer?;
        if !(200..300).contains(&status) {
            return Err(format!("adding a collaborator: {status} {body}"));
        }
    }
    let target = (args.items as usize).min(MAX_ITEMS - 100);
    let mut filled = 0;
    while filled < target {
        let n = ADD_CHUNK.min(target - filled);
        let uris: Vec<String> =
            (0..n).map(|k| format!("segue:track:{}", tracks[(filled + k) % tracks.len()])).collect();
        let path = format!("/v1/playlists/{playlist_id}/tracks");
        let (status, body) = rest.json("POST", &path, &owner.access_token, json!({"uris": uris})).await?;
        if status != 201 {
            return Err(format!("POST {path}: {status} {body}"));
        }
        filled += n;
    }
    eprintln!("  playlist {playlist_id}: {filled} items, {} collaborators", ids.len());

    let opened: Vec<Result<(Socket, Value), String>> = stream::iter(accounts.iter().enumerate())
        .map(|(n, account)| {
            let url = &urls[n % urls.len()];
            open(url, account, "load-pl", false, ("playlist_subscribe", json!({"playlist_id": playlist_id})))
        })
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let tracks = Arc::new(tracks);
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut ticks = Vec::new();
    for (n, opened) in opened.into_iter().enumerate() {
        let (socket, body) = opened?;
        let snapshot = body["snapshot_id"].as_str().unwrap_or_default().to_string();
        let uids = items_uids(&body);
        let tick = (n < editors).then(|| {
            let (tx, rx) = mpsc::channel(1);
            ticks.push(tx);
            rx
        });
        let subscription = Subscription {
            playlist_id: playlist_id.clone(),
            snapshot,
            uids,
            ticks: tick,
            tracks: tracks.clone(),
            target,
            seed: common.seed.wrapping_add(n as u64),
            stop: stop_rx.clone(),
        };
        tasks.spawn(subscriber(socket, subscription));
    }
    eprintln!("  {subscribers} subscribers{}, {editors} editing", nodes::over(urls.len()));

    let warmup = Duration::from_secs(common.warmup);
    let duration = Duration::from_secs(common.duration);
    let cpu = Arc::new(Mutex::new(None));
    let cpu_at_start = {
        let pids = common.server_pids.clone();
        let cpu = cpu.clone();
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            *cpu.lock().unwrap() = Some(cpu_clocks(&pids));
        })
    };
    let measure_from = ticker(ticks, args.rate, warmup, duration).await;
    let measured_s = measure_from.elapsed().as_secs_f64();
    let _ = cpu_at_start.await;
    let server_cpu_percent = cpu.lock().unwrap().as_deref().and_then(cpu_percent);
    tokio::time::sleep(DRAIN).await;
    let _ = stop.send(true);

    let mut seen = Vec::new();
    let mut sent = Sent::default();
    while let Some(done) = tasks.join_next().await {
        let (s, e) = done.map_err(|error| format!("a subscriber task failed: {error}"))?;
        seen.push(s);
        sent.acked.extend(e.acked);
        sent.reply_us.extend(e.reply_us);
        sent.sent += e.sent;
        sent.skipped += e.skipped;
        for (code, count) in e.errors {
            *sent.errors.entry(code).or_default() += count;
        }
    }

    // The playlist as the server has it now, read by a fresh subscription.
    let (_, server) =
        open(&urls[0], owner, "load-pl-check", false, ("playlist_subscribe", json!({"playlist_id": playlist_id})))
            .await?;
    let server_snapshot = server["snapshot_id"].as_str().unwrap_or_default();
    let server_uids = items_uids(&server);

    let measured: HashMap<&str, Instant> =
        sent.acked.iter().filter(|(_, t0)| **t0 >= measure_from).map(|(s, t0)| (s.as_str(), *t0)).collect();
    let mut latency = histogram();
    let mut deliveries = 0;
    for subscriber in &seen {
        for (snapshot, arrival) in &subscriber.events {
            if let Some(t0) = measured.get(snapshot.as_str()) {
                record(&mut latency, *arrival - *t0);
                deliveries += 1;
            }
        }
    }
    let mut reply = histogram();
    for sample in &sent.reply_us {
        record(&mut reply, *sample);
    }
    Ok(PlaylistSummary {
        nodes: urls.len(),
        subscribers,
        editors,
        target_rate: args.rate,
        items_before: filled,
        items_after: server_uids.len(),
        measured_s,
        edits_sent: sent.sent,
        edits_acked: measured.len() as u64,
        edits_per_s: measured.len() as f64 / duration.as_secs_f64(),
        skipped_busy: sent.skipped,
        refusals: sent.errors,
        deliveries,
        expected_deliveries: measured.len() as u64 * subscribers as u64,
        chain_breaks: seen.iter().map(|s| s.chain_breaks).sum(),
        subscribers_at_server_snapshot: seen.iter().filter(|s| s.last == server_snapshot).count(),
        replicas_matching_server_items: seen.iter().filter(|s| s.uids == server_uids).count(),
        edit_to_changed_us: Percentiles::of(&latency),
        edit_reply_us: Percentiles::of(&reply),
        server_cpu_percent,
    })
}

/// One follower's socket: the arrival of every `friend_activity` with a track, by track.
async fn follower(socket: Socket, followed: String, mut stop: watch::Receiver<bool>) -> Vec<(String, Instant)> {
    let (_writer, mut reader) = socket.split();
    let mut seen = Vec::new();
    loop {
        let message = tokio::select! {
            _ = stop.changed() => break,
            message = reader.next() => message,
        };
        let Some(Ok(message)) = message else { break };
        let Message::Binary(bytes) = message else { continue };
        let arrival = Instant::now();
        let Some(frame) = decode(&bytes) else { continue };
        let body = &frame["body"];
        if frame["type"] == "friend_activity"
            && body["user_id"] == followed.as_str()
            && let Some(track) = body["track_id"].as_str()
        {
            seen.push((track.to_string(), arrival));
        }
    }
    seen
}

pub async fn activity(args: &ActivityArgs) -> Result<ActivitySummary, String> {
    let common = &args.common;
    let rest = Rest::new(&common.url);
    rest.check_reachable().await?;
    nodes::check_reachable(&common.node_urls).await?;
    let urls = nodes::connect_urls(&common.url, &common.node_urls);
    let prefix = format!("{}-act", common.prefix);
    let accounts = rest.accounts(&prefix, args.followers as usize + 1, common.register_concurrency).await?;
    let (star, followers) = accounts.split_first().expect("at least two accounts");
    let star_id = rest.user_id(&star.access_token).await?;
    let tracks = rest.playable_tracks(&star.access_token, 50).await?;
    let follows = stream::iter(followers)
        .map(|account| {
            let path = format!("/v1/me/following?type=user&ids={star_id}");
            let rest = &rest;
            async move { rest.json("PUT", &path, &account.access_token, Value::Null).await }
        })
        .buffered(REST_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    for answer in follows {
        let (status, body) = answer?;
        if !(200..300).contains(&status) {
            return Err(format!("following the followed user: {status} {body}"));
        }
    }
    let mut star_socket = ws::connect(&urls[0], Some(&star.access_token), READ_BUFFER).await?;
    ws::hello(&mut star_socket, hello("load-star", true)).await?;
    let opened: Vec<Result<(Socket, Value), String>> = stream::iter(followers.iter().enumerate())
        .map(|(n, account)| open(&urls[n % urls.len()], account, "load-f", false, ("activity_subscribe", json!({}))))
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for opened in opened {
        let (socket, friends) = opened?;
        if !friends["friends"].as_array().is_some_and(|f| f.iter().any(|f| f["user_id"] == star_id.as_str())) {
            return Err(format!("activity_subscribe did not list the followed user: {friends}"));
        }
        tasks.spawn(follower(socket, star_id.clone(), stop_rx.clone()));
    }
    eprintln!("  {} followers subscribed{}", followers.len(), nodes::over(urls.len()));

    // The followed user's plays: one new track per tick, its t0 remembered by track.
    let warmup = Duration::from_secs(common.warmup);
    let duration = Duration::from_secs(common.duration);
    let started = Instant::now();
    let measure_from = started + warmup;
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    let mut plays: Vec<(String, Instant)> = Vec::new();
    let mut clocks = None;
    let mut rng = segue::reproducible::seeded_rng(common.seed);
    let (mut writer, mut reader) = star_socket.split();
    let mut id = 10u32;
    let mut last_track = String::new();
    while Instant::now() < measure_from + duration {
        interval.tick().await;
        if clocks.is_none() && Instant::now() >= measure_from {
            clocks = Some(cpu_clocks(&common.server_pids));
        }
        let mut track = tracks[rng.random_range(0..tracks.len())].clone();
        if track == last_track {
            track = tracks[(tracks.iter().position(|t| *t == track).unwrap_or(0) + 1) % tracks.len()].clone();
        }
        last_track.clone_from(&track);
        id += 1;
        let play = Play { uris: Some(vec![format!("segue:track:{track}")]), ..Play::default() };
        let t0 = Instant::now();
        send(&mut writer, encode(&segue_protocol::Request::Play(play), id)).await?;
        // The reply, so that plays never queue behind each other at the server.
        loop {
            match tokio::time::timeout(ws::HANDSHAKE_TIMEOUT, reader.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    if let Some(frame) = decode(&bytes)
                        && frame["type"] == "reply"
                        && frame["id"] == id
                    {
                        if frame["ok"] != true {
                            return Err(format!("play refused: {}", frame["error"]));
                        }
                        break;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => return Err(format!("the followed user's socket: {other:?}")),
            }
        }
        plays.push((track, t0));
    }
    let measured_s = measure_from.elapsed().as_secs_f64();
    let server_cpu_percent = clocks.as_deref().and_then(cpu_percent);
    let measured_plays = plays.iter().filter(|(_, t0)| *t0 >= measure_from).count() as u64;
    tokio::time::sleep(DRAIN).await;
    let _ = stop.send(true);

    let mut latency = histogram();
    let mut deliveries = 0;
    let connected = tasks.len() as u64;
    while let Some(done) = tasks.join_next().await {
        for (track, arrival) in done.map_err(|error| format!("a follower task failed: {error}"))? {
            // The last play of that track sent before the event arrived.
            let Some((_, t0)) = plays.iter().rev().find(|(t, t0)| *t == track && *t0 <= arrival) else { continue };
            if *t0 >= measure_from {
                record(&mut latency, arrival - *t0);
                deliveries += 1;
            }
        }
    }
    Ok(ActivitySummary {
        nodes: urls.len(),
        followers: followers.len(),
        target_rate: args.rate,
        measured_s,
        plays: measured_plays,
        deliveries,
        expected_deliveries: measured_plays * connected,
        play_to_activity_us: Percentiles::of(&latency),
        server_cpu_percent,
    })
}

/// Prints a summary and writes it as JSON when asked.
pub fn report(summary: &impl Serialize, json: Option<&PathBuf>) -> Result<(), String> {
    let text = serde_json::to_string_pretty(summary).map_err(|error| error.to_string())?;
    println!("{text}");
    match json {
        Some(path) => write_json(path, summary),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_replica_follows_the_ops_with_positions_clamped() {
        let mut replica = uids(&["a", "b", "c"]);
        apply_ops(
            &mut replica,
            &[
                json!({"op": "add", "track_ids": ["t1", "t2"], "uids": ["x", "y"], "position": 1}),
                json!({"op": "move", "uid": "a", "position": 99}),
                json!({"op": "remove", "uids": ["b", "gone"]}),
                json!({"op": "add", "track_ids": ["t3"], "uids": ["z"]}),
                json!({"op": "rename", "name": "n"}),
            ],
        );
        assert_eq!(replica, uids(&["x", "y", "c", "a", "z"]));
    }

    #[test]
    fn edits_keep_the_playlist_near_its_target_and_name_items_it_has() {
        let mut rng = segue::reproducible::seeded_rng(3);
        let tracks = uids(&["t1", "t2"]);
        let mut replica = Vec::new();
        for n in 0..2_000 {
            let ops = next_edit(&replica, &tracks, 50, &mut rng);
            let mut ops = ops;
            if ops[0]["op"] == "add" {
                ops[0]["uids"] = json!([format!("u{n}")]);
            } else if let Some(uid) = ops[0]["uid"].as_str().or(ops[0]["uids"][0].as_str()) {
                assert!(replica.iter().any(|u| u == uid), "an edit names an item the replica has");
            }
            apply_ops(&mut replica, &ops);
        }
        assert!((20..=80).contains(&replica.len()), "{} items", replica.len());
    }
}
