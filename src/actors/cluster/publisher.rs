//! The publishes nobody waits on (a close for a connection on another node, a refusal to an
//! inbox call that could not be served), through one bounded queue and one task, instead of a
//! task per publish.
//!
//! Capacity: [`PUBLISH_QUEUE`] messages waiting, at most [`PUBLISHES_IN_FLIGHT`] sent at once.
//! Overflow: a message that finds the queue full is dropped and counted (`cluster_publish`).
//! What that loses is bounded by what these messages are: a close frame (the connection then
//! stays open until its next command or heartbeat finds it stale) or an early refusal (the caller
//! times out instead of hearing `UNAVAILABLE` at once). States never go this way: they are
//! published inside the commit script.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, Queue};
use crate::storage::redis::RedisEngine;

/// Messages that may wait to be published.
pub const PUBLISH_QUEUE: usize = 4_096;
/// Publishes sent to Redis at once (fred pipelines them on one connection).
pub const PUBLISHES_IN_FLIGHT: usize = 64;

/// The sending end; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<(String, Bytes)>,
    metrics: Arc<Metrics>,
}

/// The receiving end, run by the node's background tasks ([`PublisherTask::run`]).
pub struct PublisherTask {
    rx: mpsc::Receiver<(String, Bytes)>,
    engine: Arc<RedisEngine>,
}

impl Publisher {
    pub fn new(engine: Arc<RedisEngine>, metrics: Arc<Metrics>) -> (Publisher, PublisherTask) {
        let (tx, rx) = mpsc::channel(PUBLISH_QUEUE);
        (Publisher { tx, metrics }, PublisherTask { rx, engine })
    }

    /// Queues a publish; drops it (counted) when the queue is full.
    pub fn publish(&self, channel: String, payload: Bytes) {
        if self.tx.try_send((channel, payload)).is_err() {
            self.metrics.overflowed(Queue::ClusterPublish);
        }
    }
}

impl PublisherTask {
    /// Publishes until `stop`, then what is still queued (a draining node's last closes).
    pub async fn run(mut self, stop: CancellationToken) {
        let mut in_flight = FuturesUnordered::new();
        loop {
            tokio::select! {
                message = self.rx.recv(), if in_flight.len() < PUBLISHES_IN_FLIGHT => match message {
                    Some((channel, payload)) => in_flight.push(publish(self.engine.clone(), channel, payload)),
                    None => break,
                },
                Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
                _ = stop.cancelled() => break,
            }
        }
        self.rx.close();
        while let Ok((channel, payload)) = self.rx.try_recv() {
            in_flight.push(publish(self.engine.clone(), channel, payload));
        }
        while in_flight.next().await.is_some() {}
    }
}

async fn publish(engine: Arc<RedisEngine>, channel: String, payload: Bytes) {
    if let Err(error) = engine.publish(channel, payload).await {
        tracing::warn!(%error, "a publish to Redis failed");
    }
}
