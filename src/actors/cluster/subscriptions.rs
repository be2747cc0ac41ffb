//! The node's subscriptions to Redis channels: one per channel that anything here needs,
//! however many local interests it has. A user's channel is watched once per local device of the
//! user; a topic's channel (`actors::topics`) once per local connection subscribed to the topic.
//! A single task owns the counts and applies changes in order, many per Redis command; only a
//! count going from 0 to 1 or from 1 to 0 costs a `SUBSCRIBE` or an `UNSUBSCRIBE`.
//!
//! Capacity: the queue of changes is unbounded, and bounded all the same: each connection sends
//! at most one watch and one unwatch of its user's channel in its life, and one watch and one
//! unwatch per topic it holds (at most `topics::MAX_TOPICS_PER_CONNECTION` at a time, and it
//! waits for each watch), so the queue never holds more than twice the node's connection cap
//! (`--max-connections`) times one more than that limit.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::actors::bus::BusFuture;
use crate::actors::placement::cluster_unreachable;
use crate::error::AppResult;
use crate::ids::Id;
use crate::storage::redis::{RedisEngine, user_channel};

enum Interest {
    Watch(String, oneshot::Sender<AppResult<()>>),
    Unwatch(String),
}

/// The sending end; cheap to clone.
#[derive(Clone)]
pub struct Subscriptions {
    tx: mpsc::UnboundedSender<Interest>,
}

/// The task that owns the subscription counts ([`SubscriptionsTask::run`]).
pub struct SubscriptionsTask {
    rx: mpsc::UnboundedReceiver<Interest>,
    engine: Arc<RedisEngine>,
}

impl Subscriptions {
    pub fn new(engine: Arc<RedisEngine>) -> (Subscriptions, SubscriptionsTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Subscriptions { tx }, SubscriptionsTask { rx, engine })
    }

    /// Resolves once this node receives `user`'s events.
    pub fn watch(&self, user: Id) -> BusFuture<AppResult<()>> {
        self.watch_channel(user_channel(user))
    }

    /// One fewer local device of `user` needs its events.
    pub fn unwatch(&self, user: Id) {
        self.unwatch_channel(user_channel(user));
    }

    /// Resolves once this node receives the messages of `channel` (one more local interest in it).
    pub fn watch_channel(&self, channel: String) -> BusFuture<AppResult<()>> {
        let (tx, rx) = oneshot::channel();
        let sent = self.tx.send(Interest::Watch(channel, tx));
        Box::pin(async move {
            sent.map_err(|_| cluster_unreachable())?;
            rx.await.map_err(|_| cluster_unreachable())?
        })
    }

    /// One fewer local interest in `channel`.
    pub fn unwatch_channel(&self, channel: String) {
        let _ = self.tx.send(Interest::Unwatch(channel));
    }
}

impl SubscriptionsTask {
    pub async fn run(mut self, stop: CancellationToken) {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut batch = Vec::new();
        loop {
            let received = tokio::select! {
                received = self.rx.recv_many(&mut batch, 1024) => received,
                _ = stop.cancelled() => return,
            };
            if received == 0 {
                return;
            }
            self.apply(&mut counts, &mut batch).await;
        }
    }

    async fn apply(&self, counts: &mut HashMap<String, u32>, batch: &mut Vec<Interest>) {
        let mut waiters = Vec::new();
        let before: HashMap<String, bool> = batch
            .iter()
            .map(|interest| match interest {
                Interest::Watch(channel, _) | Interest::Unwatch(channel) => channel,
            })
            .map(|channel| (channel.clone(), counts.contains_key(channel)))
            .collect();
        for interest in batch.drain(..) {
            match interest {
                Interest::Watch(channel, waiter) => {
                    *counts.entry(channel).or_default() += 1;
                    waiters.push(waiter);
                }
                Interest::Unwatch(channel) => {
                    if let Some(count) = counts.get_mut(&channel) {
                        *count -= 1;
                        if *count == 0 {
                            counts.remove(&channel);
                        }
                    }
                }
            }
        }
        let mut subscribe = Vec::new();
        let mut unsubscribe = Vec::new();
        for (channel, was) in before {
            match (was, counts.contains_key(&channel)) {
                (false, true) => subscribe.push(channel),
                (true, false) => unsubscribe.push(channel),
                _ => {}
            }
        }
        let subscribed = self.engine.subscribe(subscribe).await.map_err(super::unreachable);
        if let Err(error) = &subscribed {
            tracing::warn!(%error, "subscribing to channels failed");
        }
        for waiter in waiters {
            let _ = waiter.send(subscribed.clone());
        }
        if let Err(error) = self.engine.unsubscribe(unsubscribe).await {
            tracing::warn!(%error, "unsubscribing from channels failed");
        }
    }
}
