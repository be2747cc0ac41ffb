//! [`ClusterBus`]: the bus of a cluster node. A new state is stored and published in one Redis
//! script (`storage::redis`), so no device ever sees a state that a successor could not load;
//! other frames go on the user's channel through the bounded [`Publisher`]. The node receives
//! the channels of the users with a device on it through [`Subscriptions`].

use std::sync::Arc;

use super::channel;
use super::publisher::Publisher;
use super::subscriptions::Subscriptions;
use crate::actors::bus::{Audience, Bus, BusFuture, Commit, CommitError, StateChange};
use crate::actors::hub::OutFrame;
use crate::error::AppResult;
use crate::ids::Id;
use crate::storage::redis::{Committed, RedisEngine, user_channel};
use crate::storage::snapshots::{SnapshotRecord, WriteBehind};

/// The cluster bus: states stored and published through Redis.
pub struct ClusterBus {
    engine: Arc<RedisEngine>,
    writer: WriteBehind,
    subscriptions: Subscriptions,
    publisher: Publisher,
}

impl ClusterBus {
    pub fn new(
        engine: Arc<RedisEngine>,
        writer: WriteBehind,
        subscriptions: Subscriptions,
        publisher: Publisher,
    ) -> ClusterBus {
        ClusterBus { engine, writer, subscriptions, publisher }
    }
}

impl Bus for ClusterBus {
    fn publish(&self, user: Id, audience: Audience, frame: Arc<OutFrame>) {
        self.publisher.publish(user_channel(user), channel::encode(audience, &frame));
    }

    fn commit(&self, change: StateChange) -> Option<Commit> {
        let StateChange { user, epoch, seq, frame, snapshot } = change;
        let engine = self.engine.clone();
        let writer = self.writer.clone();
        let message = channel::encode(Audience::User, &OutFrame::State { seq, frame });
        Some(Box::pin(async move {
            if !engine.is_connected() {
                return Err(CommitError::Unavailable);
            }
            match engine.commit(user, epoch, seq, snapshot.clone(), message).await {
                Ok(Committed::Written) => {
                    // A second copy for the store, written behind: it outlives a loss of Redis's
                    // data. Redis's copy is the one acknowledged.
                    writer.stage_snapshot(user, SnapshotRecord { epoch, seq, state: snapshot });
                    Ok(())
                }
                Ok(Committed::Superseded) => Ok(()),
                Ok(Committed::Fenced) => {
                    tracing::info!(%user, epoch, "another node holds this session now");
                    Err(CommitError::Fenced)
                }
                Err(error) => {
                    tracing::warn!(%user, %error, "storing a session state failed");
                    Err(CommitError::Unavailable)
                }
            }
        }))
    }

    fn watch(&self, user: Id) -> BusFuture<AppResult<()>> {
        self.subscriptions.watch(user)
    }

    fn unwatch(&self, user: Id) {
        self.subscriptions.unwatch(user);
    }

    fn available(&self) -> bool {
        self.engine.is_connected()
    }
}
