//! The `control` scenario: N users x M devices over real sockets, an open-loop schedule of
//! commands at a total target rate, and the latency from a command being written to its
//! `state` reaching each of the user's other devices.
//!
//! This module owns the run: naming the users (and registering them with Segue), connecting
//! them with bounded concurrency, the schedule (one ticker for the whole run, spreading ticks
//! round-robin over the users without waiting for any reply), and the summary. What happens on
//! a user's sockets is in [`user`]; matching commands to deliveries in [`tracker`]; the command
//! mix in [`commands`].

pub mod commands;
mod tracker;
mod user;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::nodes;
use crate::procfs::CpuClock;
use crate::report::{Setup, Summary};
use crate::rest::Rest;
use crate::stats::{Phase, Stage, Stats};
use user::{Identity, Target, User};

/// How many schedule ticks may wait for one user task before ticks are dropped as backlog.
const TICK_QUEUE: usize = 16;
/// The schedule's resolution: ticks due are sent this often.
const SCHEDULE_STEP: Duration = Duration::from_millis(1);

/// The parameters shared by a Segue run and a relay run, so that `compare` runs both alike.
#[derive(Args, Debug, Clone)]
pub struct Scenario {
    /// Simulated users.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,
    /// Devices per user, each one socket (Segue allows at most 10 per user).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=10))]
    pub devices: u32,
    /// Total commands per second over all users (an open-loop schedule).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Seconds measured.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Seconds on the schedule before the measured window (not measured).
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Users are named `load-<PREFIX>-<n>` (Segue) or `<PREFIX>-<n>` (relay); an existing user
    /// of that name is logged in instead of registered.
    #[arg(long, default_value = "lg")]
    pub prefix: String,
    /// Registrations or logins in flight at once (each costs the server an Argon2 hash).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub register_concurrency: u32,
    /// Users connecting their devices at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_concurrency: u32,
    /// Size in bytes of the state frames sent through the relay (Segue's are about 750 for a
    /// user with 3 devices and 5 queued tracks).
    #[arg(long, default_value_t = 750)]
    pub relay_frame_bytes: usize,
    /// PID of the server process, to report its CPU use over the measured window.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Where a run sends its users.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// A Segue server's base URL, `http://host:port`, which serves the REST setup and is the
    /// first node; `node_urls` are the base URLs of further nodes of the same cluster, over
    /// which the devices are spread (see [`nodes::node_of`]).
    Segue { url: String, node_urls: Vec<String> },
    /// A relay's WebSocket URL, `ws://host:port`.
    Relay(String),
}

/// Runs the scenario against `endpoint` and returns its summary.
pub async fn run(endpoint: &Endpoint, scenario: &Scenario) -> Result<Summary, String> {
    let (target, identities) = prepare(endpoint, scenario).await?;
    let node_targets = target.urls();
    let label = node_targets[0].clone();
    let users = identities.len();
    let devices = scenario.devices as usize;
    let phase = Arc::new(Phase::new());
    let stats = Arc::new(Stats::new());

    eprintln!("{label}: connecting {users} users x {devices} devices{}", nodes::over(node_targets.len()));
    let started = Instant::now();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(scenario.connect_concurrency as usize));
    let mut tasks = JoinSet::new();
    for who in identities {
        let (target, ready, permits) = (target.clone(), ready_tx.clone(), permits.clone());
        let (phase, stats) = (phase.clone(), stats.clone());
        tasks.spawn(async move {
            let permit = permits.acquire_owned().await;
            let user = User::connect(&target, &who, devices).await;
            drop(permit);
            match user {
                Ok(user) => {
                    let (ticks_tx, ticks) = mpsc::channel(TICK_QUEUE);
                    let _ = ready.send(Ok(ticks_tx));
                    // Setup is over when every task has dropped its sender.
                    drop(ready);
                    user.run(ticks, phase, stats).await;
                }
                Err(error) => {
                    let _ = ready.send(Err(error));
                }
            }
        });
    }
    drop(ready_tx);
    let mut ticks = Vec::with_capacity(users);
    let mut failures = Vec::new();
    while let Some(outcome) = ready_rx.recv().await {
        match outcome {
            Ok(sender) => ticks.push(sender),
            Err(error) => failures.push(error),
        }
    }
    if ticks.is_empty() {
        let first = failures.first().map_or("", String::as_str);
        return Err(format!("no user could connect; the first error: {first}"));
    }
    eprintln!("  {} users connected in {:.1} s", ticks.len(), started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        eprintln!(
            "  warning: {} users failed to connect and take no part; the first error: {}",
            failures.len(),
            failures[0]
        );
    }

    eprintln!(
        "  {} commands/s for {} s of warm-up and {} s measured",
        scenario.rate, scenario.warmup, scenario.duration
    );
    let users_connected = ticks.len();
    let window = schedule(scenario, ticks, &phase, &stats).await;
    eprintln!("  schedule done; waiting for the last deliveries");
    while tasks.join_next().await.is_some() {}

    let setup = Setup {
        scenario: match endpoint {
            Endpoint::Segue { .. } => "segue",
            Endpoint::Relay(_) => "relay",
        },
        target: label,
        nodes: node_targets.len(),
        node_targets,
        users,
        users_connected,
        devices_per_user: devices,
        target_rate: scenario.rate,
        warmup_s: scenario.warmup,
    };
    let merged = stats.lock();
    Ok(Summary::new(setup, &merged, window.length, window.client_cpu, window.server_cpu))
}

/// Names the users and learns what the target needs: Segue accounts and tracks, or nothing.
async fn prepare(endpoint: &Endpoint, scenario: &Scenario) -> Result<(Target, Vec<Identity>), String> {
    let users = scenario.users as usize;
    match endpoint {
        Endpoint::Segue { url, node_urls } => {
            let rest = Rest::new(url);
            rest.check_reachable().await?;
            nodes::check_reachable(node_urls).await?;
            eprintln!("segue: registering or logging in {users} users");
            let accounts = rest.accounts(&scenario.prefix, users, scenario.register_concurrency as usize).await?;
            let tracks = rest.playable_tracks(&accounts[0].access_token, 50).await?;
            let identities = accounts
                .into_iter()
                .enumerate()
                .map(|(index, account)| Identity { index, name: account.username, token: Some(account.access_token) })
                .collect();
            let ws_urls = nodes::connect_urls(url, node_urls);
            let target = Target::Segue { ws_urls: Arc::new(ws_urls), tracks: Arc::new(tracks) };
            Ok((target, identities))
        }
        Endpoint::Relay(url) => {
            let identities = (0..users)
                .map(|index| Identity { index, name: format!("{}-{index}", scenario.prefix), token: None })
                .collect();
            let target = Target::Relay { url: url.clone(), frame_bytes: scenario.relay_frame_bytes };
            Ok((target, identities))
        }
    }
}

/// The measured window as the schedule saw it.
struct Window {
    length: Duration,
    client_cpu: Option<f64>,
    server_cpu: Option<f64>,
}

/// Sends ticks at `scenario.rate` per second, round-robin over the users, through the warm-up
/// and the measured window; then closes the tick channels, which tells the users to drain.
async fn schedule(scenario: &Scenario, ticks: Vec<mpsc::Sender<()>>, phase: &Phase, stats: &Stats) -> Window {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(scenario.warmup);
    let end = measure_from + Duration::from_secs(scenario.duration);
    let rate = f64::from(scenario.rate);
    let mut step = tokio::time::interval(SCHEDULE_STEP);
    step.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut clocks = None;
    let mut sent: u64 = 0;
    let mut next_user = 0;
    phase.set(Stage::Warmup);
    loop {
        step.tick().await;
        let now = Instant::now();
        if now >= end {
            break;
        }
        if clocks.is_none() && now >= measure_from {
            phase.set(Stage::Measure);
            clocks = Some((now, CpuClock::start(None), scenario.server_pid.and_then(|pid| CpuClock::start(Some(pid)))));
        }
        // Open loop: how many ticks are due by now, whatever happened to the earlier ones.
        let due = (now.duration_since(start).as_secs_f64() * rate) as u64;
        while sent < due {
            if ticks[next_user].try_send(()).is_err() && phase.measuring() {
                stats.backlogged();
            }
            next_user = (next_user + 1) % ticks.len();
            sent += 1;
        }
    }
    phase.set(Stage::Drain);
    let (from, client, server) = clocks.unwrap_or((end, None, None));
    Window {
        length: end.saturating_duration_since(from),
        client_cpu: client.and_then(|clock| clock.percent()),
        server_cpu: server.and_then(|clock| clock.percent()),
    }
}
