//! The `idle` scenario: K connections that say hello and then only stay open (answering the
//! server's pings), and what they cost the server in resident memory, per connection.
//!
//! Every connection has a reader task of its own with a 1 KiB read buffer: tungstenite answers
//! a ping only while the stream is read, and the client itself must hold 19,000 sockets.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::StreamExt;
use segue_protocol::request::Hello;
use segue_protocol::state::DeviceType;
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::nodes;
use crate::procfs;
use crate::report::write_json;
use crate::rest::Rest;
use crate::ws::{self, Socket};

/// The server's cap on connected devices per user.
const MAX_DEVICES_PER_USER: u32 = 10;
/// Read buffer per idle connection.
const READ_BUFFER: usize = 1024;
/// File descriptors this process needs besides its sockets.
const SPARE_FILES: u64 = 64;

#[derive(Args, Debug, Clone)]
pub struct IdleArgs {
    /// Base URL of the Segue server (with `--node-url`: the first node, which also serves the
    /// REST setup).
    #[arg(long, default_value = "http://127.0.0.1:7400")]
    pub url: String,
    /// Base URL of a further node of the same cluster; repeat for more. Connection k goes to
    /// node k % N of the N nodes, `--url` being node 0.
    #[arg(long = "node-url", value_name = "URL")]
    pub node_urls: Vec<String>,
    /// Connections to open and keep idle.
    #[arg(long, default_value_t = 19_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Users the connections are spread over, at most 10 devices each [default: connections/10,
    /// rounded up].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: Option<u32>,
    /// PID of the server process: its VmRSS is read before connecting and after settling.
    /// Repeat it, once per node, to sum the VmRSS of several.
    #[arg(long = "server-pid", value_name = "PID")]
    pub server_pids: Vec<u32>,
    /// Connections being opened (connect, upgrade, hello) at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_concurrency: u32,
    /// Registrations or logins in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub register_concurrency: u32,
    /// Seconds to wait, once every connection is open, before reading the server's memory.
    #[arg(long, default_value_t = 5)]
    pub settle: u64,
    /// Seconds to keep the connections open after the measurement, then count how many are
    /// still open (longer than 3 server heartbeats shows that pings are answered).
    #[arg(long, default_value_t = 0)]
    pub hold: u64,
    /// Users are named `load-<PREFIX>-<n>`. Load processes run side by side need distinct
    /// prefixes, or their devices would replace each other.
    #[arg(long, default_value = "idle")]
    pub prefix: String,
    /// Use these access tokens, one per line, one user each, instead of registering or
    /// logging in: password hashing leaves the server's memory far from where it started
    /// (see load/README.md), so a clean baseline needs tokens minted by `segue token`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["users", "prefix"])]
    pub tokens: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// What an idle run found.
#[derive(Debug, Serialize)]
pub struct IdleSummary {
    /// The socket URL of the first node.
    pub target: String,
    /// Nodes the connections were spread over.
    pub nodes: usize,
    /// The socket URLs of all the nodes, `target` first.
    pub node_targets: Vec<String>,
    pub users: u32,
    pub connections_wanted: u32,
    pub connections_open: usize,
    pub connect_seconds: f64,
    /// Connections that failed, by reason (the first of each kind is shown whole).
    pub failures: Vec<(String, usize)>,
    /// Server processes whose VmRSS is summed in `server_rss_before` and `server_rss_after`.
    pub server_processes: usize,
    pub server_rss_before: Option<u64>,
    pub server_rss_after: Option<u64>,
    /// (after − before) / open connections.
    pub server_bytes_per_connection: Option<f64>,
    pub client_rss: Option<u64>,
    pub client_bytes_per_connection: Option<f64>,
    /// Connections still open at the end of `--hold`.
    pub open_after_hold: Option<usize>,
    pub hold_seconds: u64,
}

/// `segue-load idle`.
pub async fn main(args: &IdleArgs) -> Result<IdleSummary, String> {
    let connections = args.connections;
    if let Some(limit) = procfs::open_files_limit()
        && u64::from(connections) + SPARE_FILES > limit
    {
        return Err(format!(
            "{connections} connections need more than this process's limit of {limit} open \
             files (ulimit -n)"
        ));
    }
    let rest = Rest::new(&args.url);
    rest.check_reachable().await?;
    nodes::check_reachable(&args.node_urls).await?;
    let tokens = match &args.tokens {
        Some(path) => read_tokens(path)?,
        None => {
            let users = args.users.unwrap_or_else(|| connections.div_ceil(MAX_DEVICES_PER_USER));
            check_capacity(connections, users)?;
            eprintln!("idle: registering or logging in {users} users");
            rest.accounts(&args.prefix, users as usize, args.register_concurrency as usize)
                .await?
                .into_iter()
                .map(|account| account.access_token)
                .collect()
        }
    };
    let users = u32::try_from(tokens.len()).map_err(|_| "too many users".to_string())?;
    check_capacity(connections, users)?;
    let ws_urls = nodes::connect_urls(&args.url, &args.node_urls);

    let server_rss_before = server_rss(&args.server_pids, "before connecting");

    eprintln!(
        "idle: opening {connections} connections{}, {} at a time",
        nodes::over(ws_urls.len()),
        args.connect_concurrency
    );
    let started = Instant::now();
    let open = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop) = watch::channel(false);
    let (failed_tx, mut failed_rx) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(args.connect_concurrency as usize));
    let mut readers = JoinSet::new();
    for k in 0..connections {
        // Connection k goes to node k % N.
        let (token, url) = (tokens[(k % users) as usize].clone(), ws_urls[k as usize % ws_urls.len()].clone());
        let (open, stop, failed, permits) = (open.clone(), stop.clone(), failed_tx.clone(), permits.clone());
        let device = k / users;
        readers.spawn(async move {
            let permit = permits.acquire_owned().await;
            let socket = match open_idle(&url, &token, device).await {
                Ok(socket) => socket,
                Err(error) => {
                    let _ = failed.send(error);
                    return;
                }
            };
            drop(permit);
            open.fetch_add(1, Ordering::Relaxed);
            stay_idle(socket, stop).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(failed_tx);
    let mut failures: Vec<String> = Vec::new();
    let mut last_report = Instant::now();
    loop {
        let settled = open.load(Ordering::Relaxed) + failures.len();
        if settled >= connections as usize {
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(2) {
            eprintln!("  {settled} of {connections} connections settled");
            last_report = Instant::now();
        }
        let failure = tokio::time::timeout(Duration::from_millis(100), failed_rx.recv()).await;
        if let Ok(Some(error)) = failure {
            failures.push(error);
        }
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    let connections_open = open.load(Ordering::Relaxed);
    eprintln!("  {connections_open} connections open in {connect_seconds:.1} s; settling for {} s", args.settle);
    tokio::time::sleep(Duration::from_secs(args.settle)).await;

    let server_rss_after = server_rss(&args.server_pids, "after settling");
    let client_rss = procfs::rss_bytes(None).ok();
    let per_connection = |bytes: f64| (connections_open > 0).then(|| bytes / connections_open as f64);
    let server_bytes_per_connection = match (server_rss_before, server_rss_after) {
        (Some(before), Some(after)) => per_connection(after as f64 - before as f64),
        _ => None,
    };
    let client_bytes_per_connection = client_rss.and_then(|rss| per_connection(rss as f64));

    let open_after_hold = if args.hold > 0 {
        eprintln!("  holding the connections for {} s", args.hold);
        tokio::time::sleep(Duration::from_secs(args.hold)).await;
        Some(open.load(Ordering::Relaxed))
    } else {
        None
    };
    let _ = stop_tx.send(true);
    while readers.join_next().await.is_some() {}

    Ok(IdleSummary {
        target: ws_urls[0].clone(),
        nodes: ws_urls.len(),
        node_targets: ws_urls,
        users,
        connections_wanted: connections,
        connections_open,
        connect_seconds,
        failures: group(failures),
        server_processes: args.server_pids.len(),
        server_rss_before,
        server_rss_after,
        server_bytes_per_connection,
        client_rss,
        client_bytes_per_connection,
        open_after_hold,
        hold_seconds: args.hold,
    })
}

/// The VmRSS of the server processes `pids`, summed: `None` when no PID is given, or (with a
/// warning) when one of them cannot be read.
fn server_rss(pids: &[u32], what: &str) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    match pids.iter().map(|&pid| procfs::rss_bytes(Some(pid))).sum::<Result<u64, String>>() {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            eprintln!("  warning: cannot read the server's memory {what}: {error}");
            None
        }
    }
}

/// Fails unless `users` can hold `connections` devices between them.
fn check_capacity(connections: u32, users: u32) -> Result<(), String> {
    if u64::from(connections) > u64::from(users) * u64::from(MAX_DEVICES_PER_USER) {
        return Err(format!(
            "{connections} connections need at least {} users, not {users}: the server allows \
             {MAX_DEVICES_PER_USER} devices per user",
            connections.div_ceil(MAX_DEVICES_PER_USER)
        ));
    }
    Ok(())
}

/// The non-empty lines of a token file.
fn read_tokens(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let tokens: Vec<String> = text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect();
    if tokens.is_empty() {
        return Err(format!("{} holds no token", path.display()));
    }
    Ok(tokens)
}

/// Opens one connection as device number `device` of the user, and says hello.
async fn open_idle(url: &str, token: &str, device: u32) -> Result<Socket, String> {
    let mut socket = ws::connect(url, Some(token), READ_BUFFER).await?;
    let hello = Hello {
        device_id: format!("idle-d{device}"),
        name: format!("Idle device {device}"),
        device_type: DeviceType::Speaker,
        can_play: true,
        supports_volume: true,
        volume_percent: None,
        last_seq: None,
    };
    ws::hello(&mut socket, hello).await?;
    Ok(socket)
}

/// Reads (and so answers pings) until the server closes or `stop` turns true; then closes.
async fn stay_idle(mut socket: Socket, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
}

/// Failures grouped by their text with the digits left out (device numbers, ports), each
/// group shown by its first failure, the most frequent first.
fn group(failures: Vec<String>) -> Vec<(String, usize)> {
    let mut groups: HashMap<String, (String, usize)> = HashMap::new();
    for failure in failures {
        let key = failure.replace(|c: char| c.is_ascii_digit(), "");
        groups.entry(key).or_insert_with(|| (failure, 0)).1 += 1;
    }
    let mut groups: Vec<_> = groups.into_values().collect();
    groups.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    groups
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_string(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

impl std::fmt::Display for IdleSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "idle at {}: {} of {} connections open ({} users), opened in {:.1} s",
            self.target, self.connections_open, self.connections_wanted, self.users, self.connect_seconds
        )?;
        if self.nodes > 1 {
            writeln!(f, "  nodes: {} ({})", self.nodes, self.node_targets.join(", "))?;
        }
        for (failure, count) in &self.failures {
            writeln!(f, "  failed: {count} x {failure}")?;
        }
        let summed = match self.server_processes {
            0 | 1 => String::new(),
            processes => format!(" (sum of {processes} processes)"),
        };
        writeln!(
            f,
            "  server VmRSS{summed}  before {}, after {}",
            mib(self.server_rss_before),
            mib(self.server_rss_after)
        )?;
        match self.server_bytes_per_connection {
            Some(bytes) => {
                writeln!(f, "  server memory per idle connection: {bytes:.0} bytes ({:.2} KiB)", bytes / 1024.0)?
            }
            None => writeln!(f, "  server memory per connection: give --server-pid to measure")?,
        }
        write!(
            f,
            "  this process VmRSS {} ({:.0} bytes per connection)",
            mib(self.client_rss),
            self.client_bytes_per_connection.unwrap_or(0.0)
        )?;
        if let Some(open) = self.open_after_hold {
            write!(f, "\n  still open after holding {} s: {open}", self.hold_seconds)?;
        }
        Ok(())
    }
}

/// Prints the summary and writes the JSON file if asked.
pub fn report(args: &IdleArgs, summary: &IdleSummary) -> Result<(), String> {
    println!("{summary}");
    match &args.json {
        Some(path) => write_json(path, summary),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: IdleArgs,
    }

    #[test]
    fn nodes_and_server_pids_repeat() {
        let cli = Cli::try_parse_from([
            "idle",
            "--url",
            "http://127.0.0.1:7411",
            "--node-url",
            "http://127.0.0.1:7412",
            "--node-url",
            "http://127.0.0.1:7413",
            "--server-pid",
            "11",
            "--server-pid",
            "12",
        ])
        .unwrap();
        assert_eq!(cli.args.node_urls, ["http://127.0.0.1:7412", "http://127.0.0.1:7413"]);
        assert_eq!(cli.args.server_pids, [11, 12]);
        let single = Cli::try_parse_from(["idle", "--server-pid", "11"]).unwrap();
        assert!(single.args.node_urls.is_empty());
        assert_eq!(single.args.server_pids, [11]);
    }

    #[test]
    fn server_memory_is_summed_over_the_pids() {
        let me = std::process::id();
        assert_eq!(server_rss(&[], "now"), None);
        assert!(server_rss(&[me], "now").is_some_and(|bytes| bytes > 0));
        assert!(server_rss(&[me, me], "now").is_some_and(|bytes| bytes > 0));
        // One unreadable process spoils the sum rather than leaving it short.
        assert_eq!(server_rss(&[me, u32::MAX], "now"), None);
    }

    #[test]
    fn failures_group_by_their_text_without_numbers() {
        let groups = group(vec![
            "connect ws://127.0.0.1:7400: refused (os error 111)".into(),
            "hello from idle-d3 refused: TOO_MANY_DEVICES".into(),
            "hello from idle-d4 refused: TOO_MANY_DEVICES".into(),
        ]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].1, 2);
        assert!(groups[0].0.contains("TOO_MANY_DEVICES"));
    }
}
