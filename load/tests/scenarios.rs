//! Every load scenario in a short mode, against a real `segue` server (the debug build beside
//! this one, which `cargo test --workspace` builds): a check that the scenarios still run and
//! measure something, so BENCHMARKS.md's commands keep working. No figure is asserted; only
//! that commands were answered, events delivered and nothing timed out or broke.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The `segue` binary of the same build.
fn segue_binary() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_segue-load")).with_file_name("segue");
    assert!(binary.exists(), "{} is missing: run these through `cargo test --workspace`", binary.display());
    binary
}

/// A `segue serve` of its own on an ephemeral port, with the demo catalog; killed when dropped.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let data = tempfile::tempdir().expect("a temporary dir");
        let mut child = Command::new(segue_binary())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "100000",
                "--search-rate-limit",
                "0",
                "--data-dir",
            ])
            .arg(data.path())
            .env("SEGUE_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("segue starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("segue prints its address");
        let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("an http:// address").to_string();
        Server { child, base, _data: data }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `segue-load` with these arguments and `--json`, and answers the JSON it wrote.
fn load(args: &[&str]) -> Value {
    let out = tempfile::NamedTempFile::new().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_segue-load"))
        .args(args)
        .arg("--json")
        .arg(out.path())
        .output()
        .expect("segue-load runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "segue-load {args:?}: {}\n{printed}", run.status);
    serde_json::from_slice(&std::fs::read(out.path()).unwrap()).expect("the summary is JSON")
}

fn number(summary: &Value, field: &str) -> u64 {
    summary[field].as_u64().unwrap_or_else(|| panic!("no {field} in {summary}"))
}

/// A control run answered every command it measured and delivered its state everywhere.
fn assert_control_ran(summary: &Value) {
    assert!(number(summary, "commands") > 0, "{summary}");
    assert!(number(summary, "deliveries") > 0, "{summary}");
    assert_eq!(number(summary, "timeouts"), 0, "{summary}");
    assert_eq!(number(summary, "disconnects"), 0, "{summary}");
    assert!(summary["latency_us"]["p50"].as_u64().unwrap() > 0, "{summary}");
}

const SHORT: [&str; 8] = ["--users", "4", "--devices", "2", "--duration", "2", "--warmup", "1"];

#[test]
fn compare_runs_the_relay_and_segue_side_by_side() {
    let server = Server::start();
    let pid = server.pid();
    let mut args = vec!["compare", "--url", &server.base, "--relay-listen", "127.0.0.1:0", "--rate", "40"];
    args.extend(SHORT);
    args.extend(["--server-pid", &pid]);
    let comparison = load(&args);
    assert_control_ran(&comparison["relay"]);
    assert_control_ran(&comparison["segue"]);
    assert_eq!(comparison["segue"]["errors"], serde_json::json!({}), "{comparison}");
    assert!(comparison["segue"]["server_cpu_percent"].as_f64().is_some(), "the server's CPU is read from /proc");
    assert!(comparison["ratio_p99"].as_f64().unwrap() > 0.0);
}

#[test]
fn idle_connections_are_held_and_measured() {
    let server = Server::start();
    let pid = server.pid();
    let summary = load(&[
        "idle",
        "--url",
        &server.base,
        "--connections",
        "20",
        "--users",
        "5",
        "--settle",
        "1",
        "--server-pid",
        &pid,
    ]);
    assert_eq!(number(&summary, "connections_open"), 20, "{summary}");
    assert!(summary["server_bytes_per_connection"].as_f64().is_some(), "{summary}");
}

#[test]
fn catalog_reads_and_searches_the_demo_catalog() {
    let server = Server::start();
    let tracks = segue::catalog::synthetic::DEMO_TRACKS.to_string();
    let seed = segue::catalog::synthetic::DEMO_SEED.to_string();
    let args = ["catalog", "--url", &server.base, "--tracks", &tracks, "--seed", &seed];
    let summary = load(&[&args[..], &["--clients", "2", "--duration", "2", "--warmup", "1"]].concat());
    assert!(number(&summary, "requests") > 0, "{summary}");
    assert_eq!(summary["failures"], serde_json::json!({}), "{summary}");
}

#[test]
fn playlist_edits_reach_every_subscriber_in_one_chain() {
    let server = Server::start();
    let args = ["playlist", "--url", &server.base, "--subscribers", "4", "--editors", "2", "--rate", "20"];
    let summary = load(&[&args[..], &["--items", "10", "--duration", "2", "--warmup", "1"]].concat());
    assert!(number(&summary, "edits_acked") > 0, "{summary}");
    assert_eq!(number(&summary, "deliveries"), number(&summary, "expected_deliveries"), "{summary}");
    assert_eq!(number(&summary, "chain_breaks"), 0, "{summary}");
    assert_eq!(number(&summary, "subscribers_at_server_snapshot"), 4, "{summary}");
}

#[test]
fn friend_activity_reaches_every_follower() {
    let server = Server::start();
    let summary = load(&[
        "activity",
        "--url",
        &server.base,
        "--followers",
        "4",
        "--rate",
        "2",
        "--duration",
        "2",
        "--warmup",
        "1",
    ]);
    assert!(number(&summary, "plays") > 0, "{summary}");
    assert_eq!(number(&summary, "deliveries"), number(&summary, "expected_deliveries"), "{summary}");
}
