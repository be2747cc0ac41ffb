//! The composition root: [`Node::start`] builds every service of a node (the store, accounts,
//! the search index, the bus, the session directory and, in a cluster, the Redis side), hands
//! the gateway what it serves with, and owns every background task ([`tasks`]).
//! [`Node::run_until`] drains it in order when told to stop.
//!
//! This is the one module that knows both sides: the gateway (HTTP, sockets) and the actors and
//! storage behind it. Nothing imports it but the binary.

pub mod tasks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::DefaultClock;

use crate::actors::activity::{ActivityFeed, ActivitySubscriptions};
use crate::actors::bus::SnapshotSource;
use crate::actors::bus::{Bus, InProcessBus};
use crate::actors::cluster::liveness::keep_alive;
use crate::actors::cluster::{ClusterBus, ClusterSnapshots, Publisher, RedisPlacement, Rpc, Subscriptions};
use crate::actors::directory::Sessions;
use crate::actors::dispatch::Dispatcher;
use crate::actors::hub::LocalHub;
use crate::actors::placement::{Placement, PlaylistPlacement};
use crate::actors::playlists::{ClusterPlaylistFanout, PlaylistFanout, Playlists, Spawner as PlaylistSpawner};
use crate::actors::session::{EmbeddedSnapshots, SessionDeps};
use crate::actors::shards::Shards;
use crate::actors::topics::Topics;
use crate::auth::Accounts;
use crate::catalog::resolve::Resolver;
use crate::config::ServerConfig;
use crate::events::PlayEventPublisher;
use crate::gateway::connect::ConnectionSlots;
use crate::gateway::{self, Services};
use crate::metrics::Metrics;
use crate::recs::service::Recommendations;
use crate::search::SearchIndex;
use crate::storage::activity::ActivityWriter;
use crate::storage::redis::{RedisEngine, rpc_channel};
use crate::storage::snapshots::WriteBehind;
use crate::storage::{Store, StoreError};
use tasks::{BackgroundTasks, Stage};

/// Cluster mode: a Redis command that takes longer fails, and its request answers `UNAVAILABLE`.
const REDIS_COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// Cluster mode: how long a call waits for the node holding a session.
const RPC_TIMEOUT: Duration = Duration::from_secs(1);
/// File descriptors kept for everything but device sockets (the database pools, Redis, the
/// search index's files, plain HTTP connections) when `--max-connections` is not given.
const RESERVED_FILES: u64 = 512;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Indexing(#[from] crate::catalog::indexing::IndexingError),
    #[error("cannot listen on {address}: {error}")]
    Listen { address: String, error: std::io::Error },
    #[error("{0}")]
    Config(String),
}

/// A running node.
pub struct Node {
    pub services: Arc<Services>,
    pub local_addr: SocketAddr,
    server: actix_server::Server,
    tasks: BackgroundTasks,
}

/// The seams where the embedded and the cluster setups differ.
struct Seams {
    hub: Arc<LocalHub>,
    bus: Arc<dyn Bus>,
    snapshots: Arc<dyn SnapshotSource>,
    placement: Option<Arc<dyn Placement>>,
}

/// What cluster mode adds to a node.
struct ClusterParts {
    engine: Arc<RedisEngine>,
    hub: Arc<LocalHub>,
    bus: Arc<ClusterBus>,
    snapshots: Arc<ClusterSnapshots>,
    placement: Arc<RedisPlacement>,
    publisher: Publisher,
    topics: Topics,
}

impl Node {
    /// Opens the store, imports the demo catalog on first start, binds the listener and starts
    /// serving. Must run inside an actix system.
    pub async fn start(config: ServerConfig) -> Result<Node, StartError> {
        let mut tasks = BackgroundTasks::default();
        let store = Store::open(&config.store).await?.publishing_play_events(config.events.is_some());
        if config.demo_catalog && crate::catalog::import_demo_if_empty(&store).await? {
            tracing::info!("imported the demo catalog");
        }
        let metrics = Arc::new(Metrics::default());
        let accounts = Arc::new(
            Accounts::new(store.clone(), config.access_token_ttl_s, config.refresh_token_ttl_s, metrics.clone())
                .await?,
        );
        let streaming = Arc::new(crate::streaming::Streaming::new(&store).await?);
        let search = open_search_index(&config, &store, &mut tasks).await?;
        let (writer, writer_task) = WriteBehind::new(store.clone(), metrics.clone());
        tasks.spawn(Stage::Writer, "write-behind writer", |stop| writer_task.run(stop));
        if let Some(events) = &config.events {
            let publisher = PlayEventPublisher::new(events.clone(), store.clone(), metrics.clone());
            tasks.spawn(Stage::Events, "play-event publisher", |stop| publisher.run(stop));
        }
        let cluster = match &config.redis_url {
            Some(url) => Some(join_cluster(&config, url, &metrics, &writer, &mut tasks).await?),
            None => None,
        };
        let Seams { hub, bus, snapshots, placement } = match &cluster {
            None => {
                // Connection ids of this process start at a random high half, so that none is
                // the id of a connection of an earlier process still named in a snapshot.
                let hub = Arc::new(LocalHub::new(u64::from(rand::random::<u32>() | 1) << 32));
                let bus = Arc::new(InProcessBus::new(hub.clone(), writer.clone()));
                let snapshots = Arc::new(EmbeddedSnapshots { writer: writer.clone(), hub: hub.clone() });
                Seams { hub, bus, snapshots, placement: None }
            }
            Some(parts) => Seams {
                hub: parts.hub.clone(),
                bus: parts.bus.clone(),
                snapshots: parts.snapshots.clone(),
                placement: Some(parts.placement.clone()),
            },
        };
        let topics = match &cluster {
            None => Topics::embedded(hub.clone()),
            Some(parts) => parts.topics.clone(),
        };
        let (activity_writer, activity_writer_task) = ActivityWriter::new(store.clone(), metrics.clone());
        tasks.spawn(Stage::Writer, "friend activity writer", |stop| activity_writer_task.run(stop));
        let activity = ActivitySubscriptions::new(
            topics.clone(),
            store.clone(),
            cluster.as_ref().map(|parts| parts.publisher.clone()),
        );
        let deps = SessionDeps {
            accounts: accounts.clone(),
            writer: writer.clone(),
            bus: bus.clone(),
            snapshots,
            metrics: metrics.clone(),
            skip_policy: config.skip_policy,
            idle_retirement: config.session_idle,
            activity: Arc::new(ActivityFeed::new(topics.clone(), activity_writer)),
            private_session: config.private_session,
            stream_count_ms: config.stream_count_ms,
        };
        let sessions = Sessions::new(Arc::new(deps), Shards::start(config.workers), placement);
        let playlists = {
            // Each playlist's actor runs on a shard chosen by its id.
            let homes = sessions.clone();
            let spawner: PlaylistSpawner = Arc::new(move |playlist, actor| {
                homes.home(playlist).spawn(actor);
            });
            // In a cluster a playlist's actor runs on one node, placed and fenced like a session.
            let (fanout, placement): (Arc<dyn PlaylistFanout>, Option<Arc<dyn PlaylistPlacement>>) = match &cluster {
                None => (Arc::new(topics.clone()), None),
                Some(parts) => (
                    Arc::new(ClusterPlaylistFanout { topics: topics.clone(), redis: parts.engine.clone() }),
                    Some(parts.placement.clone()),
                ),
            };
            Playlists::new(store.clone(), metrics.clone(), fanout, spawner, placement)
        };
        if let Some(parts) = &cluster {
            let dispatcher = Dispatcher {
                engine: parts.engine.clone(),
                rpc: parts.placement.rpc.clone(),
                sessions: sessions.clone(),
                playlists: playlists.clone(),
                hub: hub.clone(),
                topics: parts.topics.clone(),
                activity: activity.clone(),
                publisher: parts.publisher.clone(),
                metrics: metrics.clone(),
            };
            tasks.spawn(Stage::Cluster, "dispatcher", |stop| dispatcher.run(stop));
        }
        let recs = Arc::new(
            Recommendations::open(
                store.clone(),
                cluster.as_ref().map(|parts| parts.engine.clone()),
                config.node_id.clone(),
            )
            .await?,
        );
        let schedule = recs.clone().run_schedule(config.recs_train_every, config.recs_refresh);
        tasks.spawn_until_stopped(Stage::Recommendations, "recommendations schedule", schedule);
        let max_connections = config.max_connections.unwrap_or_else(default_max_connections);
        tracing::info!(max_connections, "device sockets past this many are refused with 503");
        let services = Arc::new(Services {
            resolver: Resolver::new(store.clone()),
            slots: Arc::new(ConnectionSlots::new(max_connections)),
            limits: crate::gateway::http::limits::RestLimits::new(&config.rest_limits),
            sessions,
            playlists,
            config,
            store,
            accounts,
            hub,
            bus,
            topics,
            activity,
            redis: cluster.as_ref().map(|parts| parts.engine.clone()),
            writer,
            metrics,
            streaming,
            search,
            clock: DefaultClock::default(),
            recs,
        });
        let listener = std::net::TcpListener::bind(&services.config.listen)
            .map_err(|error| StartError::Listen { address: services.config.listen.clone(), error })?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| StartError::Listen { address: services.config.listen.clone(), error })?;
        let server = gateway::build_server(services.clone(), listener)
            .map_err(|error| StartError::Listen { address: local_addr.to_string(), error })?;
        Ok(Node { services, local_addr, server, tasks })
    }

    /// Serves until `shutdown` resolves, then drains, in this order: every socket is closed with
    /// 1001 and waited for; requests in flight finish; in a cluster every session is handed over
    /// and this process's liveness ends (its renewal stopped first); staged snapshots are
    /// written; the background tasks stop; the connections to Redis and the store close.
    pub async fn run_until(mut self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        let handle = self.server.handle();
        let server = actix_rt::spawn(self.server);
        shutdown.await;
        let services = self.services;
        tracing::info!("draining");
        services.hub.drain(segue_protocol::close_code::GOING_AWAY, "server going away");
        let grace = services.config.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        while services.metrics.connections_open.get() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if services.metrics.connections_open.get() > 0 {
            tracing::warn!(open = services.metrics.connections_open.get(), "grace period over with sockets still open");
        }
        handle.stop(true).await;
        let _ = server.await;
        if let Some(engine) = &services.redis {
            // Hand every session over at once rather than after the lease.
            services.sessions.release_all().await;
            services.playlists.release_all().await;
            self.tasks.stop(Stage::Liveness, grace).await;
            let _ = engine.retire_instance().await;
            self.tasks.stop(Stage::Cluster, grace).await;
        }
        if let Err(error) = services.writer.flush_within(grace).await {
            tracing::warn!(%error, "the grace period ended before every snapshot was written");
        }
        self.tasks.stop_all(grace).await;
        if let Some(engine) = &services.redis {
            engine.quit().await;
        }
        services.store.close().await;
        services.sessions.stop_shards();
        Ok(())
    }
}

/// Connects to Redis and builds what a cluster node adds, its loops spawned into `tasks`.
async fn join_cluster(
    config: &ServerConfig,
    url: &str,
    metrics: &Arc<Metrics>,
    writer: &WriteBehind,
    tasks: &mut BackgroundTasks,
) -> Result<ClusterParts, StartError> {
    let redis_error = |error| StartError::Config(format!("--redis-url: {error}"));
    let engine = Arc::new(RedisEngine::connect(url, config.lease, REDIS_COMMAND_TIMEOUT).await.map_err(redis_error)?);
    // Calls from other nodes arrive on this process's inbox channel.
    engine.subscribe(vec![rpc_channel(engine.instance())]).await.map_err(redis_error)?;
    // Connection ids carry this process's number in their high bits: unique in the cluster.
    let hub = Arc::new(LocalHub::new(engine.number() << 32));
    let (publisher, publisher_task) = Publisher::new(engine.clone(), metrics.clone());
    let (subscriptions, subscriptions_task) = Subscriptions::new(engine.clone());
    let topics = Topics::cluster(hub.clone(), subscriptions.clone(), publisher.clone());
    let bus = Arc::new(ClusterBus::new(engine.clone(), writer.clone(), subscriptions, publisher.clone()));
    let snapshots = Arc::new(ClusterSnapshots { engine: engine.clone(), writer: writer.clone() });
    let rpc = Arc::new(Rpc::new(engine.clone(), RPC_TIMEOUT));
    let placement = Arc::new(RedisPlacement { engine: engine.clone(), rpc, lease: config.lease });
    let (lease, renewed) = (config.lease, engine.clone());
    tasks.spawn(Stage::Liveness, "liveness renewal", move |stop| keep_alive(renewed, lease, stop));
    tasks.spawn(Stage::Cluster, "publisher", |stop| publisher_task.run(stop));
    tasks.spawn(Stage::Cluster, "subscriptions", |stop| subscriptions_task.run(stop));
    tracing::info!(node = %config.node_id, instance = engine.instance(), "joined the cluster");
    Ok(ClusterParts { engine, hub, bus, snapshots, placement, publisher, topics })
}

/// Opens this node's search index (under the data dir), brings it in step with the store before
/// the node serves, and keeps it in step from then on.
async fn open_search_index(
    config: &ServerConfig,
    store: &Store,
    tasks: &mut BackgroundTasks,
) -> Result<SearchIndex, StartError> {
    let dir = config.data_dir.join("search");
    std::fs::create_dir_all(&dir)
        .map_err(|error| StartError::Config(format!("cannot create {}: {error}", dir.display())))?;
    let index = SearchIndex::open_in_dir(&dir).map_err(|error| StartError::Config(format!("search index: {error}")))?;
    let started = std::time::Instant::now();
    let fed = crate::catalog::indexing::sync(&index, store).await?;
    if !fed.is_empty() {
        tracing::info!(?fed, seconds = started.elapsed().as_secs_f32(), "search index built");
    }
    let keep_in_step = crate::catalog::indexing::keep_in_step(index.clone(), store.clone());
    tasks.spawn_until_stopped(Stage::Indexing, "search index catch-up", keep_in_step);
    Ok(index)
}

/// The default cap on device sockets: the open-file limit (raised to its hard limit first),
/// less what the node keeps for everything else.
fn default_max_connections() -> usize {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1_024);
    usize::try_from(limit.saturating_sub(RESERVED_FILES).max(64)).unwrap_or(usize::MAX)
}
