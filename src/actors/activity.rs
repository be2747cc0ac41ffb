//! Friend activity out of the sessions: [`ActivityFeed`] turns what the state machine says
//! friends should hear ([`ActivityChange`], from `player::activity`) into a `friend_activity`
//! event on the user's activity topic, and stages it as the user's latest activity in the store
//! (written behind, so `activity_subscribe` and `GET /v1/me/friends/activity` answer on any
//! node). A session calls it once its new state is committed; nothing here waits.
//!
//! [`ActivitySubscriptions`] keeps which connections said `activity_subscribe`, so that a follow
//! or an unfollow takes effect on them at once: the change goes on the follower's user channel
//! (every node holding one of the follower's devices receives it; embedded: straight here), and
//! each node subscribes those connections to the followed user's topic, or unsubscribes them
//! before it dispatches anything else.
//!
//! **Fan-out.** The event is encoded once and published once on `Topic::Activity(user)`: in a
//! cluster, one Redis message, which reaches each node that holds at least one follower
//! subscribed (the node subscribes once per followed user, however many local followers), and
//! each node then hands the same bytes to its followers' outbound queues. A user with 100,000
//! followers costs one publish and one message per node, not one per follower.

use std::sync::Arc;

use bytes::Bytes;
use dashmap::DashMap;
use segue_protocol::activity::FriendActivity;
use segue_protocol::envelope::encode_event;

use super::cluster::{Publisher, channel};
use super::session::ActivitySink;
use super::topics::{Topic, Topics};
use crate::error::AppResult;
use crate::ids::Id;
use crate::player::activity::ActivityChange;
use crate::storage::Store;
use crate::storage::activity::{ActivityRecord, ActivityWriter, FriendRecord};
use crate::storage::redis::user_channel;

/// Followed users whose activity one `activity_subscribe` (or `GET /v1/me/friends/activity`)
/// answers with and subscribes to: the most recently active first. Well under a connection's
/// topic limit.
pub const MAX_FRIENDS: u32 = 2_000;

/// Publishes and records friend activity; cheap to clone.
#[derive(Clone)]
pub struct ActivityFeed {
    topics: Topics,
    writer: ActivityWriter,
}

impl ActivityFeed {
    pub fn new(topics: Topics, writer: ActivityWriter) -> ActivityFeed {
        ActivityFeed { topics, writer }
    }
}

impl ActivitySink for ActivityFeed {
    /// Tells `user`'s followers of `change`, everywhere, and records it as their latest activity.
    fn announce(&self, user: Id, display_name: &str, change: &ActivityChange) {
        let body = FriendActivity {
            user_id: user.to_string(),
            display_name: display_name.to_string(),
            online: change.online,
            track_id: change.track_id.map(|id| id.to_string()),
            context_uri: change.context_uri.clone(),
            timestamp_ms: Some(change.timestamp_ms),
        };
        self.topics.publish(Topic::Activity(user), Bytes::from(encode_event("friend_activity", None, &body)));
        self.writer.stage(ActivityRecord {
            user,
            online: change.online,
            track_id: change.track_id,
            context_uri: change.context_uri.clone(),
            timestamp_ms: change.timestamp_ms as i64,
        });
    }
}

/// A followed user's activity as the protocol shows it.
pub fn friend_activity(friend: &FriendRecord) -> FriendActivity {
    let activity = friend.activity.as_ref();
    FriendActivity {
        user_id: friend.user.to_string(),
        display_name: friend.display_name.clone(),
        online: activity.is_some_and(|a| a.online),
        track_id: activity.and_then(|a| a.track_id).map(|id| id.to_string()),
        context_uri: activity.and_then(|a| a.context_uri.clone()),
        timestamp_ms: activity.map(|a| a.timestamp_ms.max(0) as u64),
    }
}

/// The connections that said `activity_subscribe`, by user, and what a follow or an unfollow
/// does to them; cheap to clone.
#[derive(Clone)]
pub struct ActivitySubscriptions {
    inner: Arc<SubscriptionsInner>,
}

struct SubscriptionsInner {
    topics: Topics,
    /// Where a new follow's current activity is read.
    store: Store,
    /// Cluster mode: follows go to the follower's user channel, for every node.
    publisher: Option<Publisher>,
    /// Connections subscribed to their follows' activity, by their user. At most one entry per
    /// connection of this node (removed when its socket closes).
    live: DashMap<Id, Vec<u64>>,
}

impl ActivitySubscriptions {
    pub fn new(topics: Topics, store: Store, publisher: Option<Publisher>) -> ActivitySubscriptions {
        ActivitySubscriptions { inner: Arc::new(SubscriptionsInner { topics, store, publisher, live: DashMap::new() }) }
    }

    /// Subscribes `connection` of `user` to the activity of each of `friends` (the users they
    /// follow), and to follows and unfollows from now on.
    pub async fn subscribe(&self, user: Id, connection: u64, friends: &[Id]) -> AppResult<()> {
        {
            let mut live = self.inner.live.entry(user).or_default();
            if !live.contains(&connection) {
                live.push(connection);
            }
        }
        let topics: Vec<Topic> = friends.iter().map(|friend| Topic::Activity(*friend)).collect();
        self.inner.topics.subscribe_many(user, connection, &topics).await
    }

    /// The socket of `connection` closed (its topics are released by `Topics`).
    pub fn connection_closed(&self, user: Id, connection: u64) {
        if let dashmap::Entry::Occupied(mut live) = self.inner.live.entry(user) {
            live.get_mut().retain(|c| *c != connection);
            if live.get().is_empty() {
                live.remove();
            }
        }
    }

    /// `user` followed (`following`) or unfollowed `users`: tells every node (or, embedded,
    /// this one) to apply it to the user's live subscriptions.
    pub fn announce_follows(&self, user: Id, following: bool, users: &[Id]) {
        match &self.inner.publisher {
            None => self.apply_follows(user, following, users),
            Some(publisher) => publisher.publish(user_channel(user), channel::encode_follows(following, users)),
        }
    }

    /// Applies a follow or an unfollow of `user` to their connections here: an unfollow at once
    /// (nothing of the unfollowed user is delivered after this returns), a follow as soon as
    /// this node receives the followed users' topics; then each connection gets the followed
    /// users' current activity as `friend_activity`, read once for all of them (an event of the
    /// same user may come before or after it: `timestamp_ms` tells which is newer).
    pub fn apply_follows(&self, user: Id, following: bool, users: &[Id]) {
        let Some(connections) = self.inner.live.get(&user).map(|live| live.clone()) else { return };
        let followed: Vec<Id> = users.iter().copied().filter(|u| *u != user).collect();
        let topics: Vec<Topic> = followed.iter().map(|u| Topic::Activity(*u)).collect();
        if !following {
            for connection in connections {
                for topic in &topics {
                    self.inner.topics.unsubscribe(user, connection, *topic);
                }
            }
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let mut subscribed = Vec::with_capacity(connections.len());
            for connection in connections {
                match inner.topics.subscribe_many(user, connection, &topics).await {
                    Ok(()) => subscribed.push(connection),
                    Err(error) => {
                        tracing::warn!(%user, %error, "could not subscribe a connection to a new follow's activity")
                    }
                }
            }
            if subscribed.is_empty() {
                return;
            }
            match inner.store.users_activity(&followed).await {
                Ok(friends) => {
                    for friend in &friends {
                        let frame = Bytes::from(encode_event("friend_activity", None, &friend_activity(friend)));
                        for connection in &subscribed {
                            inner.topics.send_to(user, *connection, frame.clone());
                        }
                    }
                }
                Err(error) => tracing::warn!(%user, %error, "could not read a new follow's activity"),
            }
        });
    }
}
