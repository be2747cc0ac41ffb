//! Process metrics through the `prometheus-client` crate, served at `GET /metrics` in the
//! Prometheus text format (or OpenMetrics, when the scraper asks for it).
//!
//! [`Metrics`] holds every metric as a named field, so counting is a field access and one
//! relaxed atomic add (`metrics.commands.inc()`), cheap enough for every frame; the histogram
//! takes one uncontended lock per observation. Counters are exposed with the `_total` suffix
//! (`segue_commands_total`), histograms in seconds.
//!
//! Every bounded queue of the process has a [`Queue`] name, and [`Metrics::overflowed`] counts
//! one overflow of it in `segue_queue_overflow_total{queue="…"}`; every queue is registered from
//! the start, so each shows 0 before its first overflow.

use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, text as openmetrics_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Bucket bounds of command latencies, in seconds: 25 µs to 100 ms (a command on one node takes
/// a few hundred µs; past 100 ms something is wrong, and +Inf counts it).
const COMMAND_SECONDS_BUCKETS: [f64; 13] =
    [25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 100e-3];

/// Every bounded queue of the process, by the name its overflows are counted under. What an
/// overflow means is written beside each queue's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// A connection's outbound frames (the hub drops the connection's end).
    Outbound,
    /// A session actor's mailbox.
    SessionMailbox,
    /// The write-behind writer's plays not yet written (the oldest are dropped).
    WriteBehindPlays,
    /// Commits and publishes to Redis waiting to be sent.
    ClusterPublish,
    /// Messages from Redis waiting for this node's dispatcher.
    ClusterInbox,
    /// Per-user channel subscriptions waiting to be made.
    Subscriptions,
    /// Passwords waiting for the hashing thread.
    PasswordHashing,
    /// The token check's profile cache.
    ProfileCache,
    /// Sockets refused past the node's connection cap.
    Connections,
    /// A live playlist's mailbox of edits and reads.
    PlaylistMailbox,
    /// Friend activity waiting to be written (a user not yet staged is dropped past the cap).
    ActivityWrites,
}

impl Queue {
    /// Every queue, in the order `/metrics` lists them.
    pub const ALL: [Queue; 11] = [
        Queue::Outbound,
        Queue::SessionMailbox,
        Queue::WriteBehindPlays,
        Queue::ClusterPublish,
        Queue::ClusterInbox,
        Queue::Subscriptions,
        Queue::PasswordHashing,
        Queue::ProfileCache,
        Queue::Connections,
        Queue::PlaylistMailbox,
        Queue::ActivityWrites,
    ];

    /// The `queue` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Outbound => "outbound",
            Queue::SessionMailbox => "session_mailbox",
            Queue::WriteBehindPlays => "write_behind_plays",
            Queue::ClusterPublish => "cluster_publish",
            Queue::ClusterInbox => "cluster_inbox",
            Queue::Subscriptions => "subscriptions",
            Queue::PasswordHashing => "password_hashing",
            Queue::ProfileCache => "profile_cache",
            Queue::Connections => "connections",
            Queue::PlaylistMailbox => "playlist_mailbox",
            Queue::ActivityWrites => "activity_writes",
        }
    }
}

/// A latency histogram that takes a [`Duration`] and records seconds.
#[derive(Debug, Clone)]
pub struct Seconds(Histogram);

impl Seconds {
    fn new(buckets: &[f64]) -> Seconds {
        Seconds(Histogram::new(buckets.iter().copied()))
    }

    pub fn observe(&self, elapsed: Duration) {
        self.0.observe(elapsed.as_secs_f64());
    }
}

/// The label set of `segue_queue_overflow_total`.
type QueueLabel = [(&'static str, &'static str); 1];

/// The content type of OpenMetrics 1.0 text.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text format `/metrics` answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (what `curl` and most tools read).
    Prometheus,
    /// OpenMetrics 1.0 text (what Prometheus asks for first).
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics only when it names it.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

macro_rules! metrics {
    ($( $field:ident : $kind:ident = ($name:literal, $help:literal), )*) => {
        /// Every metric of the process. Cheap to share behind an `Arc`; each field is a handle
        /// onto the value the registry renders.
        #[derive(Debug)]
        pub struct Metrics {
            $( #[doc = $help] pub $field: $kind, )*
            /// The command latency histogram (`segue_command_seconds`).
            pub command_seconds: Seconds,
            /// One counter per queue, indexed like [`Queue::ALL`], each a handle onto its series
            /// of `overflow`.
            overflows: [Counter; Queue::ALL.len()],
            registry: Registry,
        }

        impl Default for Metrics {
            fn default() -> Metrics {
                let mut registry = Registry::with_prefix("segue");
                $(
                    let $field = $kind::default();
                    registry.register($name, $help, $field.clone());
                )*
                let command_seconds = Seconds::new(&COMMAND_SECONDS_BUCKETS);
                registry.register_with_unit(
                    "command",
                    "Socket requests from frame received to reply written",
                    Unit::Seconds,
                    command_seconds.0.clone(),
                );
                let overflow = Family::<QueueLabel, Counter>::default();
                let overflows = Queue::ALL.map(|queue| overflow.get_or_create_owned(&[("queue", queue.as_str())]));
                registry.register("queue_overflow", "Items a bounded queue could not take, by queue", overflow);
                Metrics { $( $field, )* command_seconds, overflows, registry }
            }
        }
    };
}

// Names as registered: the prefix `segue_` comes before, and counters get `_total` after.
metrics! {
    connections_open: Gauge = ("connections_open", "WebSocket connections open now"),
    connections_total: Counter = ("connections", "WebSocket connections accepted"),
    frames_received: Counter = ("frames_received", "Binary frames received from devices"),
    frames_sent: Counter = ("frames_sent", "Frames written to devices (replies and events)"),
    commands: Counter = ("commands", "Commands applied by sessions (changed or not)"),
    command_errors: Counter = ("command_errors", "Requests answered with an error"),
    states_published: Counter = ("states_published", "State events published by sessions"),
    sessions_active: Gauge = ("sessions_active", "Session actors live on this node"),
    sessions_resident: Gauge = ("sessions_resident", "Session actors in this node's directory"),
    playlist_actors: Gauge = ("playlist_actors", "Playlist actors live on this node"),
    rate_limited: Counter = ("rate_limited", "Requests refused by the per-connection rate limit"),
    protocol_violations: Counter = ("protocol_violations", "Connections closed for a frame that was not an envelope"),
    slow_consumers: Counter = ("slow_consumers", "Connections closed because they could not keep up"),
    http_requests: Counter = ("http_requests", "REST requests served"),
    session_panics: Counter = ("session_panics", "Commands that panicked; their sessions restarted from the last saved state"),
    unreadable_snapshots: Counter = ("unreadable_snapshots", "Session snapshots that could not be read (the session started afresh from their seq)"),
    malformed_cluster_messages: Counter = ("malformed_cluster_messages", "Messages from Redis that could not be read (dropped)"),
    play_events_published: Counter = ("play_events_published", "Play events JetStream acknowledged (its duplicates included)"),
    play_events_duplicate: Counter = ("play_events_duplicate", "Play events JetStream already had: published again after a crash, dropped by its de-duplication"),
    play_event_failures: Counter = ("play_event_failures", "Play events not acknowledged by JetStream (they stay queued and go out again)"),
}

impl Metrics {
    /// Counts one overflow of `queue`: one relaxed atomic add.
    pub fn overflowed(&self, queue: Queue) {
        self.overflowed_by(queue, 1);
    }

    /// Counts `items` overflows of `queue` at once.
    pub fn overflowed_by(&self, queue: Queue, items: u64) {
        self.overflows[queue as usize].inc_by(items);
    }

    /// How many overflows of `queue` were counted.
    pub fn overflows(&self, queue: Queue) -> u64 {
        self.overflows[queue as usize].get()
    }

    /// The exposition of every metric in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut out = String::with_capacity(4096);
        // Writing to a `String` cannot fail, and every name and label here is valid.
        let _ = match format {
            Format::Prometheus => prometheus_text::encode(&mut out, &self.registry),
            Format::OpenMetrics => openmetrics_text::encode(&mut out, &self.registry),
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Format, Metrics, Queue};

    #[test]
    fn metrics_render_in_the_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.commands.inc();
        metrics.connections_open.inc();
        metrics.connections_open.inc();
        metrics.connections_open.dec();
        metrics.command_seconds.observe(Duration::from_micros(40));
        metrics.command_seconds.observe(Duration::from_millis(200));
        metrics.overflowed(Queue::WriteBehindPlays);
        metrics.overflowed_by(Queue::WriteBehindPlays, 2);
        let text = metrics.render(Format::Prometheus);
        assert!(text.contains("# TYPE segue_commands_total counter\nsegue_commands_total 1\n"), "{text}");
        assert!(text.contains("# TYPE segue_connections_open gauge\nsegue_connections_open 1\n"), "{text}");
        assert!(text.contains("# HELP segue_connections_open WebSocket connections open now.\n"), "{text}");
        assert!(text.contains("# TYPE segue_command_seconds histogram\n"), "{text}");
        assert!(text.contains("segue_command_seconds_bucket{le=\"2.5e-05\"} 0\n"), "{text}");
        assert!(text.contains("segue_command_seconds_bucket{le=\"5e-05\"} 1\n"), "{text}");
        assert!(text.contains("segue_command_seconds_bucket{le=\"0.1\"} 1\n"), "{text}");
        assert!(text.contains("segue_command_seconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("segue_command_seconds_count 2\n"), "{text}");
        assert!(text.contains("segue_queue_overflow_total{queue=\"write_behind_plays\"} 3\n"), "{text}");
        for queue in Queue::ALL {
            assert!(text.contains(&format!("segue_queue_overflow_total{{queue=\"{}\"}} ", queue.as_str())), "{text}");
        }
        assert_eq!(metrics.overflows(Queue::WriteBehindPlays), 3);
        assert_eq!(metrics.overflows(Queue::Outbound), 0);
    }

    #[test]
    fn openmetrics_is_served_to_scrapers_that_ask_for_it() {
        let metrics = Metrics::default();
        metrics.commands.inc();
        let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        let format = Format::from_accept(Some(accept));
        assert_eq!(format, Format::OpenMetrics);
        let text = metrics.render(format);
        assert!(text.contains("# TYPE segue_commands counter\nsegue_commands_total 1\n"), "{text}");
        assert!(text.contains("# UNIT segue_command_seconds seconds\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(format.content_type().starts_with("application/openmetrics-text"));
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert!(Format::from_accept(Some("*/*")).content_type().starts_with("text/plain; version=0.0.4"));
    }
}
