//! This process's liveness in the cluster: one key, renewed every quarter lease for as long as
//! the node serves. The node stops this loop before it deletes the key at the end of a drain, so
//! a late renewal can never bring a retired node back to life.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::storage::redis::RedisEngine;

/// Renews the liveness key every quarter lease until `stop`.
pub async fn keep_alive(engine: Arc<RedisEngine>, lease: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(lease / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(error) = engine.renew().await {
            tracing::warn!(%error, "renewing this node's liveness in Redis failed");
        }
    }
}
