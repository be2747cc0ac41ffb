//! [`RedisPlacement`]: the directory's [`Placement`] (and the live playlists'
//! [`PlaylistPlacement`]) in a cluster, over the ownership records
//! and liveness keys in Redis (`storage::redis`) and the calls between nodes ([`Rpc`]).

use std::sync::Arc;
use std::time::Duration;

use super::rpc::Rpc;
use crate::actors::bus::BusFuture;
use crate::actors::call::{PlaylistCall, SessionCall};
use crate::actors::placement::{Ownership, Placement, PlaylistPlacement, PlaylistRemoteAnswer, RemoteAnswer};
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

impl PlaylistPlacement for RedisPlacement {
    fn lease(&self) -> Duration {
        self.lease
    }

    fn is_connected(&self) -> bool {
        self.engine.is_connected()
    }

    fn acquire(&self, playlist: Id, dead: Option<&str>, floor: i64) -> BusFuture<AppResult<Ownership>> {
        let engine = self.engine.clone();
        let dead = dead.map(str::to_string);
        Box::pin(
            async move { engine.acquire_playlist(playlist, dead.as_deref(), floor).await.map_err(super::unreachable) },
        )
    }

    fn release(&self, playlist: Id, epoch: i64) -> BusFuture<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            if let Err(error) = engine.release_playlist(playlist, epoch).await {
                tracing::warn!(%playlist, %error, "releasing a playlist failed; it moves once this node's lease lapses");
            }
        })
    }

    fn is_alive(&self, instance: &str) -> BusFuture<AppResult<bool>> {
        Placement::is_alive(self, instance)
    }

    fn call(&self, instance: &str, playlist: Id, call: PlaylistCall) -> BusFuture<PlaylistRemoteAnswer> {
        let rpc = self.rpc.clone();
        let instance = instance.to_string();
        Box::pin(async move { rpc.call_playlist(&instance, playlist, call).await })
    }
}
