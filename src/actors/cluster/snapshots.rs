//! [`ClusterSnapshots`]: where a cluster activation finds its session's snapshot (Redis, or the
//! store's copy when Redis has none: the write-behind writer keeps one in PostgreSQL as well),
//! and which of its devices' connections are gone (those of processes that are not alive; the
//! others' connections still stand, and still receive events).

use std::collections::HashMap;
use std::sync::Arc;

use crate::actors::bus::{BusFuture, SnapshotSource};
use crate::error::AppResult;
use crate::ids::Id;
use crate::storage::redis::RedisEngine;
use crate::storage::snapshots::{SnapshotRecord, WriteBehind};

pub struct ClusterSnapshots {
    pub engine: Arc<RedisEngine>,
    pub writer: WriteBehind,
}

impl SnapshotSource for ClusterSnapshots {
    fn load(&self, user: Id) -> BusFuture<AppResult<Option<SnapshotRecord>>> {
        let engine = self.engine.clone();
        let writer = self.writer.clone();
        Box::pin(async move {
            match engine.load_snapshot(user).await.map_err(super::unreachable)? {
                Some(snapshot) => {
                    Ok(Some(SnapshotRecord { epoch: snapshot.epoch, seq: snapshot.seq, state: snapshot.state }))
                }
                None => Ok(writer.load_snapshot(user).await?),
            }
        })
    }

    fn stale_connections(&self, _user: Id, connections: Vec<u64>) -> BusFuture<Vec<u64>> {
        let engine = self.engine.clone();
        Box::pin(async move {
            let mut alive: HashMap<String, bool> = HashMap::new();
            let mut stale = Vec::new();
            for connection in connections {
                let instance = RedisEngine::instance_of_connection(connection);
                let is_alive = match alive.get(&instance) {
                    Some(known) => *known,
                    None => {
                        // Unknown counts as gone: the device says hello again, nothing is lost.
                        let known = engine.is_alive(&instance).await.unwrap_or(false);
                        alive.insert(instance, known);
                        known
                    }
                };
                if !is_alive {
                    stale.push(connection);
                }
            }
            stale
        })
    }
}
