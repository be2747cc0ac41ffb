//! [`RedisPlacement`]: the directory's [`Placement`] in a cluster, over the ownership records
//! and liveness keys in Redis (`storage::redis`) and the calls between nodes ([`Rpc`]).

use std::sync::Arc;
use std::time::Duration;

use super::rpc::Rpc;
use crate::actors::bus::BusFuture;
use crate::actors::call::SessionCall;
use crate::actors::placement::{Ownership, Placement, RemoteAnswer};
use crate::error::AppResult;
use crate::ids::Id;
use crate::storage::redis::RedisEngine;

pub struct RedisPlacement {
    pub engine: Arc<RedisEngine>,
    pub rpc: Arc<Rpc>,
    /// How long a process's liveness outlasts its last renewal.
    pub lease: Duration,
}

impl Placement for RedisPlacement {
    fn lease(&self) -> Duration {
        self.lease
    }

    fn is_connected(&self) -> bool {
        self.engine.is_connected()
    }

    fn acquire(&self, user: Id, dead: Option<&str>) -> BusFuture<AppResult<Ownership>> {
        let engine = self.engine.clone();
        let dead = dead.map(str::to_string);
        Box::pin(async move { engine.acquire(user, dead.as_deref()).await.map_err(super::unreachable) })
    }

    fn release(&self, user: Id, epoch: i64) -> BusFuture<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            if let Err(error) = engine.release(user, epoch).await {
                tracing::warn!(%user, %error, "releasing a session failed; it moves once this node's lease lapses");
            }
        })
    }

    fn is_alive(&self, instance: &str) -> BusFuture<AppResult<bool>> {
        let engine = self.engine.clone();
        let instance = instance.to_string();
        Box::pin(async move { engine.is_alive(&instance).await.map_err(super::unreachable) })
    }

    fn call(&self, instance: &str, user: Id, call: SessionCall) -> BusFuture<RemoteAnswer> {
        let rpc = self.rpc.clone();
        let instance = instance.to_string();
        Box::pin(async move { rpc.call(&instance, user, call).await })
    }
}
