//! Process metrics: plain atomic counters and gauges, rendered in the Prometheus text format at
//! `GET /metrics`. Counting is one relaxed atomic add, cheap enough for every frame.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A number that only grows.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A number that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A latency histogram with fixed buckets (Prometheus `histogram`), in microseconds.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds of the buckets, in microseconds, ascending; the last bucket is +Inf.
    bounds: &'static [u64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
}

/// Bucket bounds for command latencies: 25 µs to 100 ms.
const LATENCY_BOUNDS_MICROS: &[u64] = &[25, 50, 100, 200, 300, 500, 750, 1_000, 2_000, 5_000, 10_000, 25_000, 100_000];

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            bounds: LATENCY_BOUNDS_MICROS,
            counts: (0..=LATENCY_BOUNDS_MICROS.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let micros = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
        let bucket = self.bounds.iter().position(|&bound| micros <= bound).unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", *bound as f64 / 1e6);
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}

macro_rules! metrics {
    ($( $field:ident : $kind:ident = $help:literal, )*) => {
        /// Every metric of the process.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $( #[doc = $help] pub $field: $kind, )*
        }

        impl Metrics {
            /// The Prometheus text exposition of every metric.
            pub fn render(&self) -> String {
                let mut out = String::with_capacity(2048);
                $( self.$field.render_into(&mut out, concat!("segue_", stringify!($field)), $help); )*
                out
            }
        }
    };
}

/// How a metric writes itself in the text format.
trait Render {
    fn render_into(&self, out: &mut String, name: &str, help: &str);
}

impl Render for Counter {
    fn render_into(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", self.get());
    }
}

impl Render for Gauge {
    fn render_into(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}", self.get());
    }
}

impl Render for Histogram {
    fn render_into(&self, out: &mut String, name: &str, help: &str) {
        self.render(out, name, help);
    }
}

metrics! {
    connections_open: Gauge = "WebSocket connections open now.",
    connections_total: Counter = "WebSocket connections accepted.",
    frames_received: Counter = "Binary frames received from devices.",
    frames_sent: Counter = "Frames written to devices (replies and events).",
    commands: Counter = "Commands applied by sessions (changed or not).",
    command_errors: Counter = "Requests answered with an error.",
    states_published: Counter = "State events published by sessions.",
    sessions_active: Gauge = "Session actors live on this node.",
    rate_limited: Counter = "Requests refused by the per-connection rate limit.",
    protocol_violations: Counter = "Connections closed for a frame that was not an envelope.",
    slow_consumers: Counter = "Connections closed because they could not keep up.",
    http_requests: Counter = "REST requests served.",
    session_panics: Counter = "Commands that panicked; their sessions restarted from the last saved state.",
    unreadable_snapshots: Counter = "Session snapshots that could not be read (the session started afresh from their seq).",
    malformed_cluster_messages: Counter = "Messages from Redis that could not be read (dropped).",
    queue_overflows: Counter = "Items a full bounded queue refused (TEMPORARY: one counter for every queue).",
    command_seconds: Histogram = "Socket requests from frame received to reply written, in seconds.",
}

/// The bounded queues whose overflow is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Outbound,
    SessionMailbox,
    WriteBehindPlays,
    ClusterPublish,
    ClusterInbox,
    Subscriptions,
    PasswordHashing,
    ProfileCache,
    Connections,
}

impl Metrics {
    /// Counts one item a full queue refused.
    pub fn overflowed(&self, _queue: Queue) {
        self.queue_overflows.inc();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn metrics_render_in_the_prometheus_text_format() {
        let metrics = super::Metrics::default();
        metrics.commands.inc();
        metrics.connections_open.inc();
        metrics.connections_open.inc();
        metrics.connections_open.dec();
        let text = metrics.render();
        assert!(text.contains("# TYPE segue_commands counter\nsegue_commands 1\n"), "{text}");
        assert!(text.contains("# TYPE segue_connections_open gauge\nsegue_connections_open 1\n"), "{text}");
    }
}
