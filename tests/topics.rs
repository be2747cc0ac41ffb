//! Topics across nodes, against a real Redis: an event published on one node reaches the
//! subscribers on another, and a node subscribes to a topic's channel once however many of its
//! connections want it (and lets go of it when the last one leaves).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::TestRedis;
use segue::actors::cluster::{Publisher, Subscriptions};
use segue::actors::hub::{LocalHub, OutFrame, Outbound};
use segue::actors::topics::{Topic, Topics};
use segue::ids::Id;
use segue::metrics::Metrics;
use segue::storage::redis::{RedisEngine, SubscriberEvent};
use tokio_util::sync::CancellationToken;

/// One node's side of topics, as `node.rs` wires it: its engine, hub, subscriptions, publisher
/// and the listener that hands topic messages to its subscribers.
struct Node {
    engine: Arc<RedisEngine>,
    hub: Arc<LocalHub>,
    topics: Topics,
    /// Topic messages this node received from Redis.
    received: Arc<AtomicU64>,
}

async fn node(redis: &TestRedis, stop: &CancellationToken) -> Node {
    let engine =
        Arc::new(RedisEngine::connect(&redis.url(), Duration::from_secs(5), Duration::from_secs(1)).await.unwrap());
    let hub = Arc::new(LocalHub::new(engine.number() << 32));
    let (publisher, publisher_task) = Publisher::new(engine.clone(), Arc::new(Metrics::default()));
    let (subscriptions, subscriptions_task) = Subscriptions::new(engine.clone());
    tokio::spawn(publisher_task.run(stop.clone()));
    tokio::spawn(subscriptions_task.run(stop.clone()));
    let topics = Topics::cluster(hub.clone(), subscriptions, publisher);
    let (listening, delivering) = (engine.clone(), topics.clone());
    let received = Arc::new(AtomicU64::new(0));
    let counted = received.clone();
    tokio::spawn(async move {
        listening
            .listen(|event| {
                if let SubscriberEvent::Message(message) = event
                    && let Some(topic) = Topic::of_channel(&message.channel)
                {
                    counted.fetch_add(1, Ordering::Relaxed);
                    assert!(delivering.deliver_message(topic, message.payload), "a topic message decodes");
                }
            })
            .await
    });
    Node { engine, hub, topics, received }
}

async fn next_event(outbound: &mut Outbound) -> Bytes {
    match tokio::time::timeout(Duration::from_secs(5), outbound.recv()).await {
        Ok(Some(frame)) => match &*frame {
            OutFrame::Event(bytes) => bytes.clone(),
            other => panic!("an event, not {other:?}"),
        },
        other => panic!("an event within 5 s, got {other:?}"),
    }
}

async fn nothing_more(outbound: &mut Outbound) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(outbound.try_recv().is_err(), "nothing more arrives");
}

async fn subscribers_become(engine: &RedisEngine, topic: Topic, wanted: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = engine.channel_subscribers(topic.channel()).await.unwrap();
        if now == wanted {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now} subscribers of the topic's channel, wanted {wanted}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_published_on_one_node_reaches_its_subscribers_on_another_through_one_subscription() {
    let redis = TestRedis::start();
    let stop = CancellationToken::new();
    let a = node(&redis, &stop).await;
    let b = node(&redis, &stop).await;
    let topic = Topic::Activity(Id::random());
    let (first_user, second_user) = (Id::random(), Id::random());
    let (first, mut first_rx) = b.hub.connect(first_user).unwrap();
    let (second, mut second_rx) = b.hub.connect(second_user).unwrap();
    b.topics.subscribe(first_user, first, topic).await.unwrap();
    b.topics.subscribe(second_user, second, topic).await.unwrap();
    assert_eq!(a.engine.channel_subscribers(topic.channel()).await.unwrap(), 1, "node B subscribes once");

    a.topics.publish(topic, Bytes::from_static(b"started a track"));
    assert_eq!(&next_event(&mut first_rx).await[..], b"started a track");
    assert_eq!(&next_event(&mut second_rx).await[..], b"started a track");
    nothing_more(&mut first_rx).await;

    // Another topic nobody on B wants does not reach it.
    a.topics.publish(Topic::Playlist(Id::random()), Bytes::from_static(b"elsewhere"));
    nothing_more(&mut second_rx).await;

    // One of two leaves: the node keeps its subscription for the other.
    b.topics.unsubscribe(first_user, first, topic);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(a.engine.channel_subscribers(topic.channel()).await.unwrap(), 1);
    a.topics.publish(topic, Bytes::from_static(b"went offline"));
    assert_eq!(&next_event(&mut second_rx).await[..], b"went offline");
    nothing_more(&mut first_rx).await;

    // The last one's socket closes: every topic of it is released, and so is the channel.
    b.topics.unsubscribe_connection(second_user, second);
    subscribers_become(&a.engine, topic, 0).await;
    a.topics.publish(topic, Bytes::from_static(b"nobody hears"));
    nothing_more(&mut second_rx).await;
    stop.cancel();
}

/// The fan-out's shape, measured: a user followed by 10,000 connections spread over two nodes
/// (and none on the publishing node). Every event is one Redis message per node that holds
/// followers, whatever their number, and reaches every follower's queue; the time from the
/// publish to the last follower's queue is printed (run with `--nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_10_000_followers_costs_one_message_per_node_per_event() {
    const FOLLOWERS: usize = 10_000;
    const EVENTS: usize = 50;
    let redis = TestRedis::start();
    let stop = CancellationToken::new();
    let publisher = node(&redis, &stop).await;
    let nodes = [node(&redis, &stop).await, node(&redis, &stop).await];
    let topic = Topic::Activity(Id::random());
    let mut queues = Vec::with_capacity(FOLLOWERS);
    for n in 0..FOLLOWERS {
        let holder = &nodes[n % 2];
        let follower = Id::random();
        let (connection, outbound) = holder.hub.connect(follower).unwrap();
        queues.push(outbound);
        holder.topics.subscribe(follower, connection, topic).await.unwrap();
    }
    for holder in &nodes {
        holder.received.store(0, Ordering::Relaxed);
    }
    let mut delivered_in = Vec::with_capacity(EVENTS);
    for _ in 0..EVENTS {
        let started = Instant::now();
        publisher.topics.publish(topic, Bytes::from_static(b"friend_activity"));
        for outbound in &mut queues {
            let frame = tokio::time::timeout(Duration::from_secs(5), outbound.recv()).await.unwrap().unwrap();
            assert!(matches!(&*frame, OutFrame::Event(_)));
        }
        delivered_in.push(started.elapsed());
    }
    for holder in &nodes {
        assert_eq!(holder.received.load(Ordering::Relaxed), EVENTS as u64, "one message per node per event");
        assert_eq!(publisher.engine.channel_subscribers(topic.channel()).await.unwrap(), 2);
    }
    assert_eq!(publisher.received.load(Ordering::Relaxed), 0, "a node without followers receives nothing");
    delivered_in.sort();
    println!(
        "{FOLLOWERS} followers on 2 nodes, {EVENTS} events: publish to the last follower's queue p50 {:?}, p99 {:?}; \
         Redis messages per node per event: 1",
        delivered_in[EVENTS / 2],
        delivered_in[EVENTS * 99 / 100],
    );
    stop.cancel();
}
