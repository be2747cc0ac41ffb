//! Topics: fan-out of events to the connections that asked for them, whoever their user is (a
//! playlist's changes to its subscribers, a user's activity to their followers), as opposed to
//! the bus, which carries a session's events to its own user's connections.
//!
//! [`Topics`] is the one handle. A connection subscribes to a [`Topic`]; the local registry
//! ([`TopicRegistry`]) records it; in a cluster this node makes sure it receives the topic's
//! Redis channel (`segue:{p:ID}:topic`, `segue:{a:ID}:topic`), counted in
//! `cluster::subscriptions` so the node subscribes once per topic however many of its
//! connections want it. A publish goes to Redis once (embedded: straight to the registry); each
//! node that holds subscribers receives it once and hands it to each of its subscribed
//! connections' outbound queues. A user followed by 100,000 people costs one Redis message per
//! node per event, then local deliveries.
//!
//! Delivery never waits: it goes through [`LocalHub::deliver_to_connection`], so a connection
//! whose bounded outbound queue is full is let go (closed with 1013), as for states.
//!
//! Capacity: a connection holds at most [`MAX_TOPICS_PER_CONNECTION`] topics; past that a
//! subscribe is refused with `BAD_REQUEST` and nothing changes. The registry's memory is
//! bounded by that limit times the node's connection cap. Publishes in a cluster go through
//! the bounded [`Publisher`] (full: dropped and counted as `cluster_publish`).
//!
//! **The message on a topic channel, format 1**: a format byte (1), a kind byte (1: an event,
//! already encoded, for every subscriber), then the kind's fields (the event's bytes). A node
//! drops a message of a format or kind it does not know (counted as a malformed cluster
//! message), so a later format takes a new format byte and nodes of both versions can share a
//! channel during a rolling upgrade as long as the newer one still writes format 1.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use dashmap::DashMap;

use super::cluster::{Publisher, Subscriptions};
use super::hub::{LocalHub, OutFrame};
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::storage::redis::{activity_channel, activity_of_channel, playlist_channel, playlist_of_channel};

/// Topics one connection may hold at once.
pub const MAX_TOPICS_PER_CONNECTION: usize = 4_096;

/// What a connection can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A playlist's changes.
    Playlist(Id),
    /// The activity of a user (the user whose activity it is).
    Activity(Id),
}

impl Topic {
    /// The topic's Redis channel.
    pub fn channel(self) -> String {
        match self {
            Topic::Playlist(playlist) => playlist_channel(playlist),
            Topic::Activity(user) => activity_channel(user),
        }
    }

    /// The topic whose channel this is; `None` for any other channel.
    pub fn of_channel(channel: &str) -> Option<Topic> {
        playlist_of_channel(channel).map(Topic::Playlist).or_else(|| activity_of_channel(channel).map(Topic::Activity))
    }
}

/// Format 1 of the message on a topic channel.
const FORMAT_1: u8 = 1;
/// Kind: an encoded event for every subscriber.
const KIND_EVENT: u8 = 1;

/// Encodes an event for a topic's channel (format 1).
pub fn encode_message(frame: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(2 + frame.len());
    out.put_u8(FORMAT_1);
    out.put_u8(KIND_EVENT);
    out.extend_from_slice(frame);
    out.freeze()
}

/// Decodes a message from a topic's channel: the event it carries; `None` for a format or kind
/// this node does not know, or anything malformed.
pub fn decode_message(mut payload: Bytes) -> Option<Bytes> {
    if payload.len() < 2 {
        return None;
    }
    let format = payload.get_u8();
    let kind = payload.get_u8();
    match (format, kind) {
        (FORMAT_1, KIND_EVENT) if !payload.is_empty() => Some(payload),
        _ => None,
    }
}

/// This node's subscriptions: who wants each topic, and what each connection holds.
///
/// Lock order: a connection's entry, then a topic's entry (never the other way round).
#[derive(Default)]
pub struct TopicRegistry {
    /// Each topic's subscribed connections, with their users (the hub finds connections by
    /// user). A map, so that a connection leaves a topic of 100,000 subscribers in O(1).
    subscribers: DashMap<Topic, HashMap<u64, Id>>,
    connections: DashMap<u64, HashSet<Topic>>,
}

impl TopicRegistry {
    /// Records that `connection` of `user` wants `topic`. `Ok(true)`: new; `Ok(false)`: it held
    /// it already; an error past [`MAX_TOPICS_PER_CONNECTION`] (nothing changes).
    pub fn add(&self, user: Id, connection: u64, topic: Topic) -> AppResult<bool> {
        let mut held = self.connections.entry(connection).or_default();
        if held.contains(&topic) {
            return Ok(false);
        }
        if held.len() >= MAX_TOPICS_PER_CONNECTION {
            return Err(AppError::bad_request(format!(
                "a connection may hold at most {MAX_TOPICS_PER_CONNECTION} subscriptions; unsubscribe first"
            )));
        }
        held.insert(topic);
        self.subscribers.entry(topic).or_default().insert(connection, user);
        Ok(true)
    }

    /// Forgets that `connection` wants `topic`; true when it did.
    pub fn remove(&self, connection: u64, topic: Topic) -> bool {
        let dashmap::Entry::Occupied(mut held) = self.connections.entry(connection) else {
            return false;
        };
        if !held.get_mut().remove(&topic) {
            return false;
        }
        if held.get().is_empty() {
            held.remove();
        }
        self.forget_subscriber(connection, topic);
        true
    }

    /// Forgets every topic of `connection`; answers them.
    pub fn remove_connection(&self, connection: u64) -> Vec<Topic> {
        let Some((_, held)) = self.connections.remove(&connection) else {
            return Vec::new();
        };
        for topic in &held {
            self.forget_subscriber(connection, *topic);
        }
        held.into_iter().collect()
    }

    fn forget_subscriber(&self, connection: u64, topic: Topic) {
        if let dashmap::Entry::Occupied(mut subscribers) = self.subscribers.entry(topic) {
            subscribers.get_mut().remove(&connection);
            if subscribers.get().is_empty() {
                subscribers.remove();
            }
        }
    }

    /// Whether `connection` holds `topic`.
    pub fn holds(&self, connection: u64, topic: Topic) -> bool {
        self.connections.get(&connection).is_some_and(|held| held.contains(&topic))
    }

    /// The topics `connection` holds.
    pub fn topics_of(&self, connection: u64) -> Vec<Topic> {
        self.connections.get(&connection).map(|held| held.iter().copied().collect()).unwrap_or_default()
    }

    /// How many local connections want `topic`.
    pub fn subscriber_count(&self, topic: Topic) -> usize {
        self.subscribers.get(&topic).map_or(0, |subscribers| subscribers.len())
    }

    /// Hands `frame` to every local subscriber of `topic`; answers how many there were.
    pub fn deliver(&self, hub: &LocalHub, topic: Topic, frame: Bytes) -> usize {
        let Some(subscribers) = self.subscribers.get(&topic) else {
            return 0;
        };
        let frame = Arc::new(OutFrame::Event(frame));
        for (connection, user) in subscribers.iter() {
            hub.deliver_to_connection(*user, *connection, frame.clone());
        }
        subscribers.len()
    }
}

/// The cluster side of topics: this node's channel subscriptions and the publisher.
struct ClusterTopics {
    subscriptions: Subscriptions,
    publisher: Publisher,
}

struct Inner {
    hub: Arc<LocalHub>,
    registry: TopicRegistry,
    cluster: Option<ClusterTopics>,
}

/// The handle to topics; cheap to clone.
#[derive(Clone)]
pub struct Topics {
    inner: Arc<Inner>,
}

impl Topics {
    /// Topics of an embedded node: every subscriber is here.
    pub fn embedded(hub: Arc<LocalHub>) -> Topics {
        Topics { inner: Arc::new(Inner { hub, registry: TopicRegistry::default(), cluster: None }) }
    }

    /// Topics of a cluster node: published through Redis, received through this node's
    /// subscriptions.
    pub fn cluster(hub: Arc<LocalHub>, subscriptions: Subscriptions, publisher: Publisher) -> Topics {
        let cluster = Some(ClusterTopics { subscriptions, publisher });
        Topics { inner: Arc::new(Inner { hub, registry: TopicRegistry::default(), cluster }) }
    }

    /// Subscribes `connection` of `user` to `topic`; resolves once this node receives the topic
    /// (so nothing published after it is missed). Subscribing twice is no error; a connection
    /// that is not in the hub (its socket closed) keeps nothing.
    pub async fn subscribe(&self, user: Id, connection: u64, topic: Topic) -> AppResult<()> {
        if !self.inner.registry.add(user, connection, topic)? {
            return Ok(());
        }
        if let Some(cluster) = &self.inner.cluster
            && let Err(error) = cluster.subscriptions.watch_channel(topic.channel()).await
        {
            self.inner.registry.remove(connection, topic);
            cluster.subscriptions.unwatch_channel(topic.channel());
            return Err(error);
        }
        if !self.inner.hub.holds(user, connection) {
            // Its socket closed meanwhile (and released what it held before this).
            self.unsubscribe(user, connection, topic);
        }
        Ok(())
    }

    /// Subscribes `connection` of `user` to each of `topics` at once (one Redis round trip for
    /// all the channels this node lacks); all or none: past the limit, or when this node cannot
    /// receive them, none is kept. A connection whose socket closed meanwhile keeps none.
    pub async fn subscribe_many(&self, user: Id, connection: u64, topics: &[Topic]) -> AppResult<()> {
        let mut added = Vec::with_capacity(topics.len());
        for topic in topics {
            match self.inner.registry.add(user, connection, *topic) {
                Ok(true) => added.push(*topic),
                Ok(false) => {}
                Err(error) => {
                    self.release(connection, &added, false);
                    return Err(error);
                }
            }
        }
        if let Some(cluster) = &self.inner.cluster {
            let watches = added.iter().map(|topic| cluster.subscriptions.watch_channel(topic.channel()));
            if let Some(error) = futures_util::future::join_all(watches).await.into_iter().find_map(Result::err) {
                self.release(connection, &added, true);
                return Err(error);
            }
        }
        if !self.inner.hub.holds(user, connection) {
            self.release(connection, &added, true);
        }
        Ok(())
    }

    /// Takes back topics `subscribe_many` added (and, when `watched`, their channel watches).
    fn release(&self, connection: u64, added: &[Topic], watched: bool) {
        for topic in added {
            let removed = self.inner.registry.remove(connection, *topic);
            if let Some(cluster) = &self.inner.cluster
                && watched
                && removed
            {
                cluster.subscriptions.unwatch_channel(topic.channel());
            }
        }
    }

    /// Unsubscribes `connection` from `topic` (no error when it was not subscribed).
    pub fn unsubscribe(&self, _user: Id, connection: u64, topic: Topic) {
        if self.inner.registry.remove(connection, topic)
            && let Some(cluster) = &self.inner.cluster
        {
            cluster.subscriptions.unwatch_channel(topic.channel());
        }
    }

    /// Releases every topic of `connection` (its socket closed).
    pub fn unsubscribe_connection(&self, _user: Id, connection: u64) {
        let released = self.inner.registry.remove_connection(connection);
        if let Some(cluster) = &self.inner.cluster {
            for topic in released {
                cluster.subscriptions.unwatch_channel(topic.channel());
            }
        }
    }

    /// Whether `connection` holds `topic`.
    pub fn holds(&self, connection: u64, topic: Topic) -> bool {
        self.inner.registry.holds(connection, topic)
    }

    /// The topics `connection` holds.
    pub fn topics_of(&self, connection: u64) -> Vec<Topic> {
        self.inner.registry.topics_of(connection)
    }

    /// Hands `frame` to one connection of this node (what it is owed outside any topic: the
    /// current activity of a user it just started to follow).
    pub fn send_to(&self, user: Id, connection: u64, frame: Bytes) {
        self.inner.hub.deliver_to_connection(user, connection, Arc::new(OutFrame::Event(frame)));
    }

    /// Publishes an encoded event to every connection subscribed to `topic`, on every node.
    /// Never waits: in a cluster it goes through the bounded publisher (dropped and counted
    /// when that is full).
    pub fn publish(&self, topic: Topic, frame: Bytes) {
        match &self.inner.cluster {
            None => {
                self.inner.registry.deliver(&self.inner.hub, topic, frame);
            }
            Some(cluster) => cluster.publisher.publish(topic.channel(), encode_message(&frame)),
        }
    }

    /// Delivers a message received on a topic's channel to this node's subscribers; false when
    /// it could not be read.
    pub fn deliver_message(&self, topic: Topic, payload: Bytes) -> bool {
        match decode_message(payload) {
            Some(frame) => {
                self.inner.registry.deliver(&self.inner.hub, topic, frame);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &'static [u8]) -> Bytes {
        Bytes::from_static(text)
    }

    #[test]
    fn an_event_reaches_every_subscriber_of_its_topic_and_nobody_else() {
        let hub = Arc::new(LocalHub::new(1));
        let topics = Topics::embedded(hub.clone());
        let (alice, bob) = (Id::from_u128(1), Id::from_u128(2));
        let (first, mut first_rx) = hub.connect(alice).unwrap();
        let (second, mut second_rx) = hub.connect(bob).unwrap();
        let (_third, mut third_rx) = hub.connect(bob).unwrap();
        let playlist = Topic::Playlist(Id::from_u128(9));
        futures_executor_block_on(topics.subscribe(alice, first, playlist)).unwrap();
        futures_executor_block_on(topics.subscribe(bob, second, playlist)).unwrap();
        futures_executor_block_on(topics.subscribe(bob, second, playlist)).unwrap();
        futures_executor_block_on(topics.subscribe(bob, second, Topic::Activity(alice))).unwrap();
        topics.publish(playlist, event(b"changed"));
        for rx in [&mut first_rx, &mut second_rx] {
            assert!(matches!(&*rx.try_recv().unwrap(), OutFrame::Event(frame) if &frame[..] == b"changed"));
            assert!(rx.try_recv().is_err(), "once, however often it subscribed");
        }
        assert!(third_rx.try_recv().is_err(), "another connection of a subscriber's user gets nothing");
        topics.publish(Topic::Activity(alice), event(b"activity"));
        assert!(first_rx.try_recv().is_err());
        assert!(matches!(&*second_rx.try_recv().unwrap(), OutFrame::Event(frame) if &frame[..] == b"activity"));

        topics.unsubscribe(alice, first, playlist);
        topics.publish(playlist, event(b"again"));
        assert!(first_rx.try_recv().is_err(), "unsubscribed");
        assert!(second_rx.try_recv().is_ok());
        topics.unsubscribe_connection(bob, second);
        assert!(topics.topics_of(second).is_empty());
        topics.publish(playlist, event(b"once more"));
        topics.publish(Topic::Activity(alice), event(b"once more"));
        assert!(second_rx.try_recv().is_err(), "a closed connection's topics are all released");
        assert_eq!(topics.inner.registry.subscribers.len(), 0, "no topic is left without subscribers");
        futures_executor_block_on(topics.subscribe(alice, 999, playlist)).unwrap();
        futures_executor_block_on(topics.subscribe_many(alice, 999, &[playlist, Topic::Activity(bob)])).unwrap();
        assert!(topics.topics_of(999).is_empty(), "a connection the hub does not hold keeps nothing");
    }

    #[test]
    fn a_connection_past_its_limit_is_refused_and_keeps_what_it_had() {
        let registry = TopicRegistry::default();
        let user = Id::from_u128(1);
        for n in 0..MAX_TOPICS_PER_CONNECTION as u128 {
            assert!(registry.add(user, 5, Topic::Activity(Id::from_u128(100 + n))).unwrap());
        }
        let refused = registry.add(user, 5, Topic::Playlist(Id::from_u128(1))).unwrap_err();
        assert_eq!(refused.code, segue_protocol::ErrorCode::BadRequest);
        assert!(refused.to_string().contains("4096"), "{refused}");
        assert!(!registry.holds(5, Topic::Playlist(Id::from_u128(1))));
        assert!(!registry.add(user, 5, Topic::Activity(Id::from_u128(100))).unwrap(), "one it holds is no error");
        assert!(registry.add(user, 6, Topic::Playlist(Id::from_u128(1))).unwrap(), "another connection has its own");
        assert!(registry.remove(5, Topic::Activity(Id::from_u128(100))));
        assert!(registry.add(user, 5, Topic::Playlist(Id::from_u128(1))).unwrap(), "room again after an unsubscribe");
        assert_eq!(registry.remove_connection(5).len(), MAX_TOPICS_PER_CONNECTION);
        assert_eq!(registry.subscriber_count(Topic::Playlist(Id::from_u128(1))), 1);
    }

    #[test]
    fn a_subscriber_that_cannot_keep_up_is_let_go_and_the_others_still_get_the_event() {
        let hub = Arc::new(LocalHub::new(1));
        let registry = TopicRegistry::default();
        let topic = Topic::Activity(Id::from_u128(3));
        let (slow_user, fast_user) = (Id::from_u128(1), Id::from_u128(2));
        let (slow, _slow_rx) = hub.connect(slow_user).unwrap();
        let (fast, mut fast_rx) = hub.connect(fast_user).unwrap();
        registry.add(slow_user, slow, topic).unwrap();
        registry.add(fast_user, fast, topic).unwrap();
        for _ in 0..=crate::actors::hub::OUTBOUND_CAPACITY {
            assert_eq!(registry.deliver(&hub, topic, event(b"x")), 2);
            assert!(fast_rx.try_recv().is_ok());
        }
        assert!(!hub.holds(slow_user, slow), "the full queue is dropped");
        assert!(hub.holds(fast_user, fast));
    }

    #[test]
    fn topic_channels_name_their_topic_and_messages_round_trip() {
        for topic in [Topic::Playlist(Id::from_u128(4)), Topic::Activity(Id::from_u128(4))] {
            assert_eq!(Topic::of_channel(&topic.channel()), Some(topic));
        }
        assert_eq!(Topic::of_channel(&crate::storage::redis::user_channel(Id::from_u128(4))), None);
        assert_eq!(decode_message(encode_message(b"frame")).as_deref(), Some(&b"frame"[..]));
        for refused in [&b""[..], b"\x01", b"\x01\x01", b"\x02\x01frame", b"\x01\x02frame"] {
            assert!(decode_message(Bytes::copy_from_slice(refused)).is_none(), "{refused:?}");
        }
    }

    proptest::proptest! {
        /// What Redis hands the dispatcher on a topic channel is read defensively: any bytes,
        /// never a panic, and whatever decodes is what format 1 carries.
        #[test]
        fn any_bytes_on_a_topic_channel_decode_or_are_refused_without_a_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)
        ) {
            if let Some(frame) = decode_message(Bytes::from(bytes.clone())) {
                proptest::prop_assert_eq!(&bytes[..2], &[FORMAT_1, KIND_EVENT][..]);
                proptest::prop_assert_eq!(&frame[..], &bytes[2..]);
            }
        }
    }

    /// Runs a future that never waits (embedded topics never do).
    fn futures_executor_block_on<F: std::future::Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).expect("embedded topics never wait")
    }
}
