//! The durable play-event stream for analytics and royalties: every counted play, once, as JSON.
//!
//! With `--events-url nats://…` the node publishes each counted play to a NATS JetStream stream
//! ([`STREAM`], subject [`SUBJECT`]) with the play's id as the message id (`Nats-Msg-Id`).
//! Plays are not published from the command path: the store counts a play and queues its event
//! in one statement (the outbox, `storage::play_events`), and [`PlayEventPublisher`] publishes
//! what is queued, oldest first, clearing each event once JetStream acknowledged it. So a play
//! is never counted without its event, and an event published twice (the publisher died after
//! the acknowledgement and before clearing it, or a takeover counted the play again under its
//! id) is dropped by JetStream's de-duplication inside [`DUPLICATE_WINDOW`]: the stream holds
//! each play once. While NATS is unreachable the events wait in the store (bounded by its disk,
//! not by memory) and go out when it is back; plays and the command path never wait for it.
//!
//! Without `--events-url` (the embedded setup) the events stay in the store, and
//! `segue plays export --since …` writes them as the same JSON lines ([`event_json`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage, stream};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::storage::play_events::PlayEventRecord;
use crate::storage::{Store, StoreError};

/// The JetStream stream the node creates when it is missing (an existing one is used as it is).
pub const STREAM: &str = "SEGUE_PLAYS";
/// The subject every play event is published on.
pub const SUBJECT: &str = "segue.plays";
/// How long JetStream remembers a message id: an event published again within it is dropped.
/// Far longer than a publisher needs to publish a batch again after a crash (its rows are
/// released with its database connection, and taken again within [`IDLE_POLL`]).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Events published per round: one store read, this many publishes in flight, one update.
pub const BATCH: u32 = 500;
/// How often an idle publisher looks for new events.
pub const IDLE_POLL: Duration = Duration::from_millis(200);
/// The pause after a failed round, doubled up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Failures are logged at most this often, with how many since the last line.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// How long a stopping node goes on publishing what is queued.
const FINAL_ROUND: Duration = Duration::from_secs(2);

/// Where to publish: a `nats://host:port` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    pub url: String,
}

impl EventsConfig {
    /// Checks the URL without connecting: `nats://` (or `tls://`) and a host.
    pub fn parse(url: &str) -> Result<EventsConfig, String> {
        url.parse::<async_nats::ServerAddr>()
            .map_err(|error| format!("--events-url {url:?} is not a NATS server address: {error}"))?;
        Ok(EventsConfig { url: url.to_string() })
    }
}

/// One play event, as JetStream carries it and `segue plays export` writes it.
#[derive(Debug, Serialize)]
struct PlayEvent<'a> {
    id: &'a str,
    /// `session` (counted by a session: its id derives from the session) or `offline` (reported
    /// later by an offline device: `offline:<user>:<the device's id>`).
    source: &'static str,
    user_id: &'a str,
    track_id: &'a str,
    context_uri: Option<&'a str>,
    /// When the playback started.
    played_at_ms: i64,
    /// How long it had played when the event was read (the count needs the threshold).
    ms_played: i64,
    /// `None` while it played on; `track_done`, `skip`, `transfer`, `stop` or `offline`.
    end_reason: Option<&'a str>,
    /// Played in a private session: it counts for royalties, not for history or tops.
    private: bool,
    /// When it was counted (first written).
    counted_at_ms: i64,
}

/// The event of a counted play, as one line of JSON (no newline).
pub fn event_json(record: &PlayEventRecord) -> Vec<u8> {
    let event = PlayEvent {
        id: &record.id,
        source: if record.id.starts_with("offline:") { "offline" } else { "session" },
        user_id: &record.user_id,
        track_id: &record.track_id,
        context_uri: record.context_uri.as_deref(),
        played_at_ms: record.played_at_ms,
        ms_played: record.ms_played,
        end_reason: record.end_reason.as_deref(),
        private: record.private,
        counted_at_ms: record.counted_at_ms,
    };
    serde_json::to_vec(&event).unwrap_or_default()
}

/// Why a round of publishing stopped short.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    #[error("JetStream: {0}")]
    Publish(String),
}

/// The node's publisher of queued play events to JetStream. Run one per node; the nodes of a
/// cluster take different events from the shared store.
pub struct PlayEventPublisher {
    config: EventsConfig,
    store: Store,
    metrics: Arc<Metrics>,
}

impl PlayEventPublisher {
    pub fn new(config: EventsConfig, store: Store, metrics: Arc<Metrics>) -> PlayEventPublisher {
        PlayEventPublisher { config, store, metrics }
    }

    /// Connects (and keeps reconnecting), makes sure the stream exists, and publishes queued
    /// events until `stop`, then for at most [`FINAL_ROUND`] what is still queued.
    pub async fn run(self, stop: CancellationToken) {
        let mut failures = FailureLog::default();
        let Some(jetstream) = self.connect(&stop, &mut failures).await else { return };
        let mut retry = RETRY_MIN;
        loop {
            if stop.is_cancelled() {
                let last = async { while let Ok(BATCH) = self.round(&jetstream).await {} };
                let _ = tokio::time::timeout(FINAL_ROUND, last).await;
                return;
            }
            let pause = match self.round(&jetstream).await {
                Ok(published) if published == BATCH => Duration::ZERO,
                Ok(_) => {
                    retry = RETRY_MIN;
                    IDLE_POLL
                }
                Err(error) => {
                    failures.note(&error.to_string());
                    let pause = retry;
                    retry = (retry * 2).min(RETRY_MAX);
                    pause
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    /// The JetStream context once the server answered and the stream exists; `None` if `stop`
    /// came first.
    async fn connect(&self, stop: &CancellationToken, failures: &mut FailureLog) -> Option<jetstream::Context> {
        let mut retry = RETRY_MIN;
        loop {
            let attempt = async {
                let client = async_nats::ConnectOptions::new()
                    .name("segue")
                    .retry_on_initial_connect()
                    .connect(self.config.url.as_str())
                    .await
                    .map_err(|error| error.to_string())?;
                let context = jetstream::new(client);
                context
                    .get_or_create_stream(stream::Config {
                        name: STREAM.to_string(),
                        subjects: vec![SUBJECT.to_string()],
                        duplicate_window: DUPLICATE_WINDOW,
                        ..Default::default()
                    })
                    .await
                    .map_err(|error| error.to_string())?;
                Ok::<_, String>(context)
            };
            let outcome = tokio::select! {
                _ = stop.cancelled() => return None,
                outcome = attempt => outcome,
            };
            match outcome {
                Ok(context) => {
                    tracing::info!(url = %self.config.url, stream = STREAM, "publishing play events to JetStream");
                    return Some(context);
                }
                Err(error) => failures.note(&format!("cannot reach the stream {STREAM}: {error}")),
            }
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// Publishes up to [`BATCH`] queued events and clears those JetStream acknowledged; answers
    /// how many were taken. Publishes are pipelined: all are sent, then the acknowledgements
    /// awaited.
    async fn round(&self, jetstream: &jetstream::Context) -> Result<u32, RoundError> {
        let pending = self.store.take_pending_play_events(BATCH).await?;
        let taken = pending.events.len() as u32;
        if taken == 0 {
            return Ok(0);
        }
        let mut in_flight = Vec::with_capacity(pending.events.len());
        let mut failure = None;
        for event in &pending.events {
            let message = PublishMessage::build().payload(event_json(event).into()).message_id(&event.id);
            match jetstream.send_publish(SUBJECT, message).await {
                Ok(ack) => in_flight.push((event.id.clone(), ack)),
                Err(error) => {
                    // The connection is down: what was not sent waits for the next round.
                    failure = Some(error.to_string());
                    break;
                }
            }
        }
        let mut acknowledged = Vec::with_capacity(in_flight.len());
        for (id, ack) in in_flight {
            match ack.await {
                Ok(ack) => {
                    if ack.duplicate {
                        self.metrics.play_events_duplicate.inc();
                    }
                    acknowledged.push(id);
                }
                Err(error) => {
                    failure.get_or_insert_with(|| error.to_string());
                }
            }
        }
        let failed = taken as usize - acknowledged.len();
        pending.settle(&acknowledged).await?;
        self.metrics.play_events_published.inc_by(acknowledged.len() as u64);
        match failure {
            Some(error) => {
                self.metrics.play_event_failures.inc_by(failed as u64);
                Err(RoundError::Publish(format!("{failed} of {taken} events not acknowledged: {error}")))
            }
            None => Ok(taken),
        }
    }
}

/// Logs failures at most once every [`FAILURE_LOG_INTERVAL`], with how many there were.
#[derive(Default)]
struct FailureLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl FailureLog {
    fn note(&mut self, error: &str) {
        self.unlogged += 1;
        if self.last.is_none_or(|last| last.elapsed() >= FAILURE_LOG_INTERVAL) {
            tracing::warn!(failures = self.unlogged, error, "play events not published yet (they wait in the store)");
            self.last = Some(Instant::now());
            self.unlogged = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_says_where_it_came_from_and_keeps_every_field() {
        let record = PlayEventRecord {
            id: "offline:u1:abc".into(),
            user_id: "u1".into(),
            track_id: "t1".into(),
            context_uri: None,
            played_at_ms: 5,
            ms_played: 31_000,
            end_reason: Some("offline".into()),
            private: false,
            counted_at_ms: 9,
        };
        let event: serde_json::Value = serde_json::from_slice(&event_json(&record)).unwrap();
        assert_eq!(event["source"], "offline");
        assert_eq!(event["id"], "offline:u1:abc");
        assert_eq!(event["ms_played"], 31_000);
        assert_eq!(event["counted_at_ms"], 9);
        let session = PlayEventRecord { id: "p:1".into(), ..record };
        let event: serde_json::Value = serde_json::from_slice(&event_json(&session)).unwrap();
        assert_eq!(event["source"], "session");
    }

    #[test]
    fn only_nats_addresses_are_taken() {
        assert!(EventsConfig::parse("nats://127.0.0.1:4222").is_ok());
        assert!(EventsConfig::parse("http://[::1").is_err());
    }
}
