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
                $(
                    let kind = if stringify!($kind) == "Counter" { "counter" } else { "gauge" };
                    let name = concat!("segue_", stringify!($field));
                    let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {kind}\n{name} {}", $help, self.$field.get());
                )*
                out
            }
        }
    };
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
        assert!(
            text.contains("# TYPE segue_commands counter\nsegue_commands 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE segue_connections_open gauge\nsegue_connections_open 1\n"),
            "{text}"
        );
    }
}
