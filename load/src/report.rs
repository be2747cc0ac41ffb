//! The results of a run: the [`Summary`] of one control run (printed for people, written as
//! JSON for tools) and the side-by-side comparison of a relay run and a Segue run.

use std::collections::BTreeMap;
use std::fmt::{self, Display, Write as _};
use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::Merged;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50: histogram.value_at_quantile(0.5),
            p90: histogram.value_at_quantile(0.9),
            p99: histogram.value_at_quantile(0.99),
            p99_9: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            mean: histogram.mean(),
        }
    }
}

impl Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {:.0})",
            self.p50, self.p90, self.p99, self.p99_9, self.max, self.mean
        )
    }
}

/// What was run, against what.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// `segue` or `relay`.
    pub scenario: &'static str,
    /// The socket URL the devices connected to (the first node's, with several).
    pub target: String,
    /// Nodes the devices were spread over (1: a single server, or the relay).
    pub nodes: usize,
    /// The socket URLs of all the nodes, `target` first.
    pub node_targets: Vec<String>,
    pub users: usize,
    /// Users whose devices all connected (the others took no part).
    pub users_connected: usize,
    pub devices_per_user: usize,
    /// Commands per second the schedule asked for.
    pub target_rate: u32,
    pub warmup_s: u64,
}

/// The outcome of one control run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub setup: Setup,
    /// The measured window's actual length.
    pub measured_s: f64,
    pub commands: u64,
    pub commands_per_s: f64,
    /// `state` events received by all devices (the senders' own included) in the window.
    pub state_events: u64,
    pub state_events_per_s: f64,
    pub mean_state_frame_bytes: f64,
    /// Latency samples: one per command and other device that received its state in time.
    pub deliveries: u64,
    /// Command written → its state received at each of the user's other devices.
    pub latency_us: Percentiles,
    /// Command written → its reply received by the sender (none for the relay).
    pub reply_latency_us: Option<Percentiles>,
    /// Deliveries that did not come within 5 s.
    pub timeouts: u64,
    /// Refusals by error code, and socket failures.
    pub errors: BTreeMap<String, u64>,
    /// Commands accepted without a change of state (no event to measure).
    pub unchanged: u64,
    /// Schedule ticks dropped because every device of the user had a command in flight.
    pub skipped_busy: u64,
    /// Schedule ticks dropped because a user task was behind (the client could not keep up).
    pub backlogged: u64,
    pub disconnects: u64,
    /// CPU of this process over the window, in percent of one core.
    pub client_cpu_percent: Option<f64>,
    /// CPU of the `--server-pid` process over the window.
    pub server_cpu_percent: Option<f64>,
}

impl Summary {
    pub fn new(
        setup: Setup,
        merged: &Merged,
        measured: Duration,
        client_cpu_percent: Option<f64>,
        server_cpu_percent: Option<f64>,
    ) -> Summary {
        let seconds = measured.as_secs_f64().max(f64::EPSILON);
        let totals = &merged.totals;
        Summary {
            setup,
            measured_s: seconds,
            commands: totals.commands,
            commands_per_s: totals.commands as f64 / seconds,
            state_events: totals.state_events,
            state_events_per_s: totals.state_events as f64 / seconds,
            mean_state_frame_bytes: if totals.state_events == 0 {
                0.0
            } else {
                totals.state_bytes as f64 / totals.state_events as f64
            },
            deliveries: merged.latency_us.len(),
            latency_us: Percentiles::of(&merged.latency_us),
            reply_latency_us: (!merged.reply_us.is_empty()).then(|| Percentiles::of(&merged.reply_us)),
            timeouts: totals.timeouts,
            errors: totals.errors.clone(),
            unchanged: totals.unchanged,
            skipped_busy: totals.skipped_busy,
            backlogged: merged.backlogged,
            disconnects: totals.disconnects,
            client_cpu_percent,
            server_cpu_percent,
        }
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|error| error.to_string())?;
    std::fs::write(path, text + "\n").map_err(|error| format!("{}: {error}", path.display()))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.0}%"))
}

fn errors_line(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "none".to_string();
    }
    errors.iter().map(|(name, count)| format!("{name} {count}")).collect::<Vec<_>>().join(", ")
}

impl Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let setup = &self.setup;
        let l = &self.latency_us;
        writeln!(
            f,
            "{} at {}: {} users x {} devices ({} connected), target {} commands/s, \
             {:.1} s measured after {} s of warm-up",
            setup.scenario,
            setup.target,
            setup.users,
            setup.devices_per_user,
            setup.users_connected,
            setup.target_rate,
            self.measured_s,
            setup.warmup_s
        )?;
        match setup.nodes {
            1 => writeln!(f, "  nodes: 1")?,
            nodes => writeln!(f, "  nodes: {nodes} ({})", setup.node_targets.join(", "))?,
        }
        writeln!(f, "  commands        {:>10}  ({:.0}/s)", self.commands, self.commands_per_s)?;
        writeln!(
            f,
            "  state events    {:>10}  ({:.0}/s, {:.0} bytes on average)",
            self.state_events, self.state_events_per_s, self.mean_state_frame_bytes
        )?;
        writeln!(f, "  latency, command written -> state at each other device ({} deliveries), µs:", self.deliveries)?;
        writeln!(f, "    {l}")?;
        if let Some(reply) = &self.reply_latency_us {
            writeln!(f, "  latency, command written -> reply at the sender, µs:")?;
            writeln!(f, "    {reply}")?;
        }
        writeln!(f, "  timeouts (5 s)  {:>10}", self.timeouts)?;
        writeln!(f, "  errors          {}", errors_line(&self.errors))?;
        writeln!(
            f,
            "  unchanged {}, skipped (device busy) {}, backlogged {}, disconnects {}",
            self.unchanged, self.skipped_busy, self.backlogged, self.disconnects
        )?;
        write!(
            f,
            "  CPU over the window: this process {}, server {}",
            percent(self.client_cpu_percent),
            percent(self.server_cpu_percent)
        )
    }
}

/// The relay and Segue runs of one `compare`, with Segue's latency as a multiple of the
/// relay's.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub relay: Summary,
    pub segue: Summary,
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

impl Comparison {
    pub fn new(relay: Summary, segue: Summary) -> Comparison {
        let ratio = |segue: u64, relay: u64| segue as f64 / relay.max(1) as f64;
        Comparison {
            ratio_p50: ratio(segue.latency_us.p50, relay.latency_us.p50),
            ratio_p99: ratio(segue.latency_us.p99, relay.latency_us.p99),
            relay,
            segue,
        }
    }
}

impl Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, s) = (&self.relay, &self.segue);
        let mut table = String::new();
        let mut row = |name: &str, relay: String, segue: String, ratio: Option<f64>| {
            let ratio = ratio.map_or_else(String::new, |x| format!("{x:.2}x"));
            let _ = writeln!(table, "  {name:<22}{relay:>14}{segue:>14}{ratio:>14}");
        };
        let ratio = |segue: u64, relay: u64| Some(segue as f64 / relay.max(1) as f64);
        row("", "relay".into(), "segue".into(), None);
        row("nodes", r.setup.nodes.to_string(), s.setup.nodes.to_string(), None);
        row("commands/s", format!("{:.0}", r.commands_per_s), format!("{:.0}", s.commands_per_s), None);
        row("state events/s", format!("{:.0}", r.state_events_per_s), format!("{:.0}", s.state_events_per_s), None);
        row(
            "frame bytes (mean)",
            format!("{:.0}", r.mean_state_frame_bytes),
            format!("{:.0}", s.mean_state_frame_bytes),
            None,
        );
        row("deliveries", r.deliveries.to_string(), s.deliveries.to_string(), None);
        let (rl, sl) = (&r.latency_us, &s.latency_us);
        for (name, relay, segue) in [
            ("p50 µs", rl.p50, sl.p50),
            ("p90 µs", rl.p90, sl.p90),
            ("p99 µs", rl.p99, sl.p99),
            ("p99.9 µs", rl.p99_9, sl.p99_9),
            ("max µs", rl.max, sl.max),
        ] {
            row(name, relay.to_string(), segue.to_string(), ratio(segue, relay));
        }
        row("timeouts", r.timeouts.to_string(), s.timeouts.to_string(), None);
        row("errors", r.errors.values().sum::<u64>().to_string(), s.errors.values().sum::<u64>().to_string(), None);
        row("CPU: load process", percent(r.client_cpu_percent), percent(s.client_cpu_percent), None);
        row("CPU: server", percent(r.server_cpu_percent), percent(s.server_cpu_percent), None);
        writeln!(f, "{r}\n\n{s}\n")?;
        writeln!(f, "side by side (segue / relay):")?;
        write!(f, "{table}")?;
        write!(f, "  Segue is {:.2}x the relay at p50 and {:.2}x at p99.", self.ratio_p50, self.ratio_p99)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Stats, Tally};

    fn summary(scenario: &'static str, micros: &[u64]) -> Summary {
        let stats = Stats::new();
        let mut tally = Tally {
            samples: micros.iter().map(|&us| Duration::from_micros(us)).collect(),
            commands: 100,
            state_events: 300,
            state_bytes: 300 * 600,
            ..Tally::default()
        };
        tally.error("ALREADY_PAUSED");
        stats.absorb(&mut tally);
        let setup = Setup {
            scenario,
            target: "ws://127.0.0.1:1".into(),
            nodes: 1,
            node_targets: vec!["ws://127.0.0.1:1".into()],
            users: 10,
            users_connected: 10,
            devices_per_user: 3,
            target_rate: 10,
            warmup_s: 0,
        };
        Summary::new(setup, &stats.lock(), Duration::from_secs(10), Some(50.0), None)
    }

    #[test]
    fn a_summary_reads_rates_and_percentiles() {
        let summary = summary("segue", &[100, 200, 300, 400, 10_000]);
        assert_eq!(summary.commands_per_s, 10.0);
        assert_eq!(summary.state_events_per_s, 30.0);
        assert_eq!(summary.mean_state_frame_bytes, 600.0);
        assert_eq!(summary.latency_us.p50, 300);
        assert!(summary.latency_us.max >= 10_000);
        let text = summary.to_string();
        assert!(text.contains("ALREADY_PAUSED 1"), "{text}");
        assert!(text.contains("p50 300"), "{text}");
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["scenario"], "segue");
        assert_eq!(json["latency_us"]["p50"], 300);
        assert_eq!(json["nodes"], 1);
        assert!(text.contains("nodes: 1"), "{text}");
    }

    #[test]
    fn a_summary_names_its_nodes() {
        let mut summary = summary("segue", &[100]);
        summary.setup.nodes = 2;
        summary.setup.node_targets = vec!["ws://127.0.0.1:1".into(), "ws://127.0.0.1:2".into()];
        let text = summary.to_string();
        assert!(text.contains("nodes: 2 (ws://127.0.0.1:1, ws://127.0.0.1:2)"), "{text}");
        assert_eq!(serde_json::to_value(&summary).unwrap()["nodes"], 2);
    }

    #[test]
    fn a_comparison_divides_segue_by_the_relay() {
        let comparison = Comparison::new(summary("relay", &[100, 100, 100]), summary("segue", &[150, 150, 150]));
        assert!((comparison.ratio_p50 - 1.5).abs() < 0.01);
        let text = comparison.to_string();
        assert!(text.contains("1.50x"), "{text}");
    }
}
