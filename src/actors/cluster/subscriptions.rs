//! The node's subscriptions to user channels: one per user with at least one local device,
//! however many devices. A single task owns the counts and applies changes in order, many per
//! Redis command.
//!
//! Capacity: the queue of changes is unbounded, and bounded all the same: each connection
//! sends at most one watch and one unwatch in its life, so it never holds more than twice the
//! node's connection cap (`--max-connections`).

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
    Watch(Id, oneshot::Sender<AppResult<()>>),
    Unwatch(Id),
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
        let (tx, rx) = oneshot::channel();
        let sent = self.tx.send(Interest::Watch(user, tx));
        Box::pin(async move {
            sent.map_err(|_| cluster_unreachable())?;
            rx.await.map_err(|_| cluster_unreachable())?
        })
    }

    /// One fewer local device of `user` needs its events.
    pub fn unwatch(&self, user: Id) {
        let _ = self.tx.send(Interest::Unwatch(user));
    }
}

impl SubscriptionsTask {
    pub async fn run(mut self, stop: CancellationToken) {
        let mut counts: HashMap<Id, u32> = HashMap::new();
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

    async fn apply(&self, counts: &mut HashMap<Id, u32>, batch: &mut Vec<Interest>) {
        let mut waiters = Vec::new();
        let before: HashMap<Id, bool> = batch
            .iter()
            .map(|interest| match interest {
                Interest::Watch(user, _) | Interest::Unwatch(user) => *user,
            })
            .map(|user| (user, counts.contains_key(&user)))
            .collect();
        for interest in batch.drain(..) {
            match interest {
                Interest::Watch(user, waiter) => {
                    *counts.entry(user).or_default() += 1;
                    waiters.push(waiter);
                }
                Interest::Unwatch(user) => {
                    if let Some(count) = counts.get_mut(&user) {
                        *count -= 1;
                        if *count == 0 {
                            counts.remove(&user);
                        }
                    }
                }
            }
        }
        let mut subscribe = Vec::new();
        let mut unsubscribe = Vec::new();
        for (user, was) in before {
            match (was, counts.contains_key(&user)) {
                (false, true) => subscribe.push(user_channel(user)),
                (true, false) => unsubscribe.push(user_channel(user)),
                _ => {}
            }
        }
        let subscribed = self.engine.subscribe(subscribe).await.map_err(super::unreachable);
        if let Err(error) = &subscribed {
            tracing::warn!(%error, "subscribing to user channels failed");
        }
        for waiter in waiters {
            let _ = waiter.send(subscribed.clone());
        }
        if let Err(error) = self.engine.unsubscribe(unsubscribe).await {
            tracing::warn!(%error, "unsubscribing from user channels failed");
        }
    }
}
