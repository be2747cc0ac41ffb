//! `segue-load`: the Segue load generator. Simulated users and devices over real sockets.
//!
//! - `control`: N users x M devices, commands at a target rate, command-to-state latency at
//!   the other devices (against Segue, or against the bare relay with `--relay`).
//! - `relay`: the bare relay, the floor Segue is compared against.
//! - `compare`: the control scenario against the relay, then against Segue, side by side.
//! - `idle`: K idle connections and the server's resident memory per connection.
//! - `catalog`: catalog reads and search over REST from N concurrent clients.
//! - `playlist`: editors and subscribers of one collaborative playlist, edit → `playlist_changed`.
//! - `activity`: one user followed by F followers, track start → `friend_activity`.
//!
//! This file owns the command line and the runtimes; each scenario lives in its own module.

mod catalog;
mod collab;
mod control;
mod idle;
mod nodes;
mod procfs;
mod relay;
mod report;
mod rest;
mod stats;
mod ws;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use control::{Endpoint, Scenario};
use relay::{Relay, RelayArgs};
use report::{Comparison, write_json};

/// Worker threads of the relay's runtime (DESIGN.md: a 2-worker tokio server).
const RELAY_WORKERS: usize = 2;

#[derive(Parser)]
#[command(
    name = "segue-load",
    version,
    about = "The Segue load generator: simulated users and devices over real sockets",
    long_about = "The Segue load generator: simulated users and devices over real sockets.\n\n\
        Start a server first, e.g.\n  \
        segue serve --listen 127.0.0.1:7400 --data-dir /tmp/load-data --rate-limit 100000\n\
        then run a scenario against it. See load/README.md for what each one measures."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N users x M devices send commands at a target rate; measures the latency from a command
    /// being written to its `state` arriving at each of the user's other devices.
    Control(ControlArgs),
    /// Serve a bare WebSocket relay: every binary frame from `/?user=U&device=D` goes unchanged
    /// to the user's other connections. The floor Segue is compared against.
    Relay(RelayArgs),
    /// Run the control scenario against a relay, then against Segue, with the same parameters,
    /// and print both side by side.
    Compare(CompareArgs),
    /// Open K connections that say hello and stay idle; measures the server's resident memory
    /// per connection.
    Idle(idle::IdleArgs),
    /// N clients read the catalog and search over REST; measures the latency of each kind of
    /// request. The server must hold `segue import synthetic --tracks N --seed S`.
    Catalog(catalog::CatalogArgs),
    /// S subscribers of one collaborative playlist, E of them editing it over the socket at a
    /// target rate; measures edit → `playlist_changed` at every subscriber and checks that all
    /// of them end at the server's snapshot through an unbroken chain.
    Playlist(collab::PlaylistArgs),
    /// One user followed by F followers spread over the nodes starts tracks at a target rate;
    /// measures `play` → `friend_activity` at every follower.
    Activity(collab::ActivityArgs),
}

#[derive(Args)]
struct ControlArgs {
    /// Base URL of the Segue server (with `--node-url`: the first node, which also serves the
    /// REST setup).
    #[arg(long, default_value = "http://127.0.0.1:7400")]
    url: String,
    /// Base URL of a further node of the same cluster; repeat for more. Device d of user u
    /// connects to node (d + u) % N of the N nodes, `--url` being node 0.
    #[arg(long = "node-url", value_name = "URL", conflicts_with = "relay")]
    node_urls: Vec<String>,
    /// Run against the bare relay at this WebSocket URL (see `relay`) instead of Segue.
    #[arg(long, value_name = "WS_URL")]
    relay: Option<String>,
    #[command(flatten)]
    scenario: Scenario,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct CompareArgs {
    /// Base URL of the Segue server (with `--node-url`: the first node, which also serves the
    /// REST setup).
    #[arg(long, default_value = "http://127.0.0.1:7400")]
    url: String,
    /// Base URL of a further Segue node of the same cluster; repeat for more. Device d of user
    /// u connects to node (d + u) % N of the N nodes, `--url` being node 0.
    #[arg(long = "node-url", value_name = "URL")]
    node_urls: Vec<String>,
    /// Start the relay in this process (its own 2-worker runtime), listening here.
    #[arg(long, default_value = "127.0.0.1:7500")]
    relay_listen: String,
    /// Use a relay already running at this WebSocket URL instead of starting one.
    #[arg(long, value_name = "WS_URL", conflicts_with = "relay_listen")]
    relay_url: Option<String>,
    #[command(flatten)]
    scenario: Scenario,
    /// Also write both summaries and the ratios as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Relay(args) => relay_runtime().and_then(|runtime| runtime.block_on(relay::main(&args))),
        Command::Control(args) => client_runtime().and_then(|runtime| runtime.block_on(control(args))),
        Command::Compare(args) => compare(args),
        Command::Catalog(args) => client_runtime().and_then(|runtime| {
            let summary = catalog::run(&args, &runtime)?;
            catalog::report(&args, &summary)
        }),
        Command::Playlist(args) => client_runtime().and_then(|runtime| {
            let summary = runtime.block_on(collab::playlist(&args))?;
            collab::report(&summary, args.common.json.as_ref())
        }),
        Command::Activity(args) => client_runtime().and_then(|runtime| {
            let summary = runtime.block_on(collab::activity(&args))?;
            collab::report(&summary, args.common.json.as_ref())
        }),
        Command::Idle(args) => client_runtime().and_then(|runtime| {
            runtime.block_on(async {
                let summary = idle::main(&args).await?;
                idle::report(&args, &summary)
            })
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("segue-load: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The load's own runtime: one worker per core.
fn client_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

fn relay_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RELAY_WORKERS)
        .thread_name("relay")
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the relay's runtime: {error}"))
}

async fn control(args: ControlArgs) -> Result<(), String> {
    let endpoint = match args.relay {
        Some(url) => Endpoint::Relay(url),
        None => Endpoint::Segue { url: args.url, node_urls: args.node_urls },
    };
    let summary = control::run(&endpoint, &args.scenario).await?;
    println!("{summary}");
    match &args.json {
        Some(path) => write_json(path, &summary),
        None => Ok(()),
    }
}

/// `compare`: the relay run, then the Segue run, in one process.
fn compare(args: CompareArgs) -> Result<(), String> {
    // The relay gets a runtime of its own, as it would as a process of its own; it lives until
    // this process ends.
    let relay_url = match args.relay_url {
        Some(url) => url,
        None => {
            let runtime = relay_runtime()?;
            let (listener, address) = runtime.block_on(Relay::bind(&args.relay_listen))?;
            std::thread::Builder::new()
                .name("relay".into())
                .spawn(move || runtime.block_on(Arc::new(Relay::default()).serve(listener)))
                .map_err(|error| format!("cannot start the relay: {error}"))?;
            eprintln!("relay listening on ws://{address}");
            format!("ws://{address}")
        }
    };
    let client = client_runtime()?;
    // The relay runs in this process, so the CPU of "this process" covers it; no server PID.
    let relay_scenario = Scenario { server_pid: None, ..args.scenario.clone() };
    let relay = client.block_on(control::run(&Endpoint::Relay(relay_url), &relay_scenario))?;
    let endpoint = Endpoint::Segue { url: args.url, node_urls: args.node_urls };
    let segue = client.block_on(control::run(&endpoint, &args.scenario))?;
    let comparison = Comparison::new(relay, segue);
    println!("{comparison}");
    match &args.json {
        Some(path) => write_json(path, &comparison),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn control_and_compare_take_further_nodes() {
        let nodes = ["--url", "http://127.0.0.1:7411", "--node-url", "http://127.0.0.1:7412"];
        let Command::Control(control) =
            Cli::try_parse_from(["segue-load", "control"].iter().chain(&nodes)).unwrap().command
        else {
            panic!("not control");
        };
        assert_eq!(control.node_urls, ["http://127.0.0.1:7412"]);
        let Command::Compare(compare) =
            Cli::try_parse_from(["segue-load", "compare"].iter().chain(&nodes)).unwrap().command
        else {
            panic!("not compare");
        };
        assert_eq!(compare.node_urls, ["http://127.0.0.1:7412"]);
        // The relay is one node.
        assert!(
            Cli::try_parse_from(["segue-load", "control", "--relay", "ws://127.0.0.1:7500"].iter().chain(&nodes))
                .is_err()
        );
    }
}
