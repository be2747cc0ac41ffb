//! The gateway: everything that touches sockets and HTTP. It builds the node ([`Node::start`]),
//! serves the REST API with actix-web ([`http`]), upgrades `GET /v1/connect` to a WebSocket
//! ([`connect`]) and runs each device connection ([`connection`]).
//!
//! **Architecture invariant:** only this module knows HTTP and WebSockets; what it gives the
//! rest of the server are plain calls on [`Services`].

pub mod connect;
pub mod connection;
pub mod http;
pub mod requests;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_http::HttpService;
use actix_service::{fn_service, map_config};
use actix_web::App;
use actix_web::dev::AppConfig;
use governor::clock::DefaultClock;

use crate::actors::bus::{Bus, InProcessBus};
use crate::actors::cluster::{self, ClusterBus, ClusterSnapshots, Rpc, Subscriptions};
use crate::actors::directory::{Placement, Sessions};
use crate::actors::hub::LocalHub;
use crate::actors::session::{SessionDeps, SnapshotSource as SessionSnapshots};
use crate::actors::shards::Shards;
use crate::auth::Accounts;
use crate::catalog::resolve::Resolver;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::search::SearchIndex;
use crate::storage::redis::RedisEngine;
use crate::storage::snapshots::WriteBehind;
use crate::storage::{Store, StoreError};

/// Cluster mode: a Redis command that takes longer fails, and its request answers `UNAVAILABLE`.
const REDIS_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// Cluster mode: how long a call waits for the node holding a session.
const RPC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Everything a request or a connection needs, shared by every worker.
pub struct Services {
    pub config: ServerConfig,
    pub store: Store,
    pub accounts: Arc<Accounts>,
    pub sessions: Sessions,
    pub hub: Arc<LocalHub>,
    /// Carries events to this node's connections (and, in a cluster, the others').
    pub bus: Arc<dyn Bus>,
    /// Cluster mode's Redis.
    pub redis: Option<Arc<RedisEngine>>,
    pub resolver: Resolver,
    pub writer: WriteBehind,
    pub metrics: Arc<Metrics>,
    /// Signed streaming URLs.
    pub streaming: Arc<crate::streaming::Streaming>,
    /// The search index of the catalog.
    pub search: SearchIndex,
    /// The clock of every rate limiter.
    pub clock: DefaultClock,
}

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
}

impl Node {
    /// Opens the store, imports the demo catalog on first start, binds the listener and starts
    /// serving. Must run inside an actix system.
    pub async fn start(config: ServerConfig) -> Result<Node, StartError> {
        let store = Store::open(&config.store).await?;
        if config.demo_catalog && crate::catalog::import_demo_if_empty(&store).await? {
            tracing::info!("imported the demo catalog");
        }
        let accounts =
            Arc::new(Accounts::new(store.clone(), config.access_token_ttl_s, config.refresh_token_ttl_s).await?);
        let metrics = Arc::new(Metrics::default());
        let streaming = Arc::new(crate::streaming::Streaming::new(&store).await?);
        let search = open_search_index(&config, &store).await?;
        let writer = WriteBehind::start(store.clone(), metrics.clone());
        let redis = match &config.redis_url {
            Some(url) => Some(Arc::new(
                RedisEngine::connect(url, config.lease, REDIS_COMMAND_TIMEOUT)
                    .await
                    .map_err(|error| StartError::Config(format!("--redis-url: {error}")))?,
            )),
            None => None,
        };
        let (hub, bus, snapshots, placement): (_, Arc<dyn Bus>, Arc<dyn SessionSnapshots>, _) = match &redis {
            None => {
                let hub = Arc::new(LocalHub::new(1));
                let bus = Arc::new(InProcessBus::new(hub.clone(), writer.clone()));
                (hub, bus, Arc::new(writer.clone()), None)
            }
            Some(engine) => {
                // Calls from other nodes arrive on this process's inbox channel.
                engine
                    .subscribe(vec![crate::storage::redis::rpc_channel(engine.instance())])
                    .await
                    .map_err(|error| StartError::Config(format!("--redis-url: {error}")))?;
                // Connection ids carry this process's number in their high bits: unique in the cluster.
                let hub = Arc::new(LocalHub::new(engine.number() << 32));
                let bus =
                    Arc::new(ClusterBus::new(engine.clone(), writer.clone(), Subscriptions::start(engine.clone())));
                let snapshots = Arc::new(ClusterSnapshots { engine: engine.clone(), writer: writer.clone() });
                let placement = Arc::new(Placement {
                    engine: engine.clone(),
                    rpc: Rpc::new(engine.clone(), RPC_TIMEOUT),
                    lease: config.lease,
                });
                tracing::info!(node = %config.node_id, instance = engine.instance(), "joined the cluster");
                (hub, bus, snapshots, Some(placement))
            }
        };
        let deps = SessionDeps {
            accounts: accounts.clone(),
            writer: writer.clone(),
            bus: bus.clone(),
            snapshots,
            metrics: metrics.clone(),
            skip_policy: config.skip_policy,
            idle_retirement: config.session_idle,
        };
        let sessions = Sessions::new(Arc::new(deps), Shards::start(config.workers), placement.clone());
        if let (Some(engine), Some(placement)) = (&redis, placement) {
            actix_rt::spawn(cluster::keep_alive(engine.clone(), config.lease));
            actix_rt::spawn(cluster::dispatch(engine.clone(), placement, sessions.clone(), hub.clone()));
        }
        let services = Arc::new(Services {
            resolver: Resolver::new(store.clone()),
            sessions,
            config,
            store,
            accounts,
            hub,
            bus,
            redis,
            writer,
            metrics,
            streaming,
            search,
            clock: DefaultClock::default(),
        });
        let listener = std::net::TcpListener::bind(&services.config.listen)
            .map_err(|error| StartError::Listen { address: services.config.listen.clone(), error })?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| StartError::Listen { address: services.config.listen.clone(), error })?;
        let server = build_server(services.clone(), listener)
            .map_err(|error| StartError::Listen { address: local_addr.to_string(), error })?;
        Ok(Node { services, local_addr, server })
    }

    /// Serves until `shutdown` resolves, then drains: every socket is closed with 1001, requests
    /// in flight finish, staged snapshots are written. Returns when done.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        let handle = self.server.handle();
        let server = actix_rt::spawn(self.server);
        shutdown.await;
        let services = self.services;
        tracing::info!("draining");
        services.hub.drain(segue_protocol::close_code::GOING_AWAY, "server going away");
        let grace = services.config.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        while services.metrics.connections_open.get() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if services.metrics.connections_open.get() > 0 {
            tracing::warn!(open = services.metrics.connections_open.get(), "grace period over with sockets still open");
        }
        handle.stop(true).await;
        let _ = server.await;
        if let Some(engine) = &services.redis {
            // Hand every session over at once rather than after the lease.
            services.sessions.release_all().await;
            let _ = engine.retire_instance().await;
        }
        if tokio::time::timeout(grace, services.writer.flush()).await.is_err() {
            tracing::warn!("grace period over before every snapshot was written");
        }
        if let Some(engine) = &services.redis {
            engine.quit().await;
        }
        services.store.close().await;
        services.sessions.stop_shards();
        Ok(())
    }
}

/// Opens this node's search index (under the data dir), brings it in step with the store before
/// the node serves, and keeps it in step from then on.
async fn open_search_index(config: &ServerConfig, store: &Store) -> Result<SearchIndex, StartError> {
    let dir = config.data_dir.join("search");
    std::fs::create_dir_all(&dir)
        .map_err(|error| StartError::Config(format!("cannot create {}: {error}", dir.display())))?;
    let index = SearchIndex::open_in_dir(&dir).map_err(|error| StartError::Config(format!("search index: {error}")))?;
    let started = std::time::Instant::now();
    let fed = crate::catalog::indexing::sync(&index, store).await?;
    if !fed.is_empty() {
        tracing::info!(?fed, seconds = started.elapsed().as_secs_f32(), "search index built");
    }
    actix_rt::spawn(crate::catalog::indexing::keep_in_step(index.clone(), store.clone()));
    Ok(index)
}

fn build_server(services: Arc<Services>, listener: std::net::TcpListener) -> std::io::Result<actix_server::Server> {
    let workers = services.config.workers.max(1);
    let builder = actix_server::Server::build();
    // Tells every HTTP connection that a graceful stop began, so idle keep-alive connections
    // close at once instead of holding the stop for the whole grace period.
    let stopping = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers)
        .backlog(4096)
        // Sockets leave actix-server's count once upgraded; this bounds plain HTTP connections.
        .max_concurrent_connections(25_000)
        .disable_signals()
        .shutdown_timeout(services.config.shutdown_grace.as_secs().max(1))
        .listen("segue", listener, move || {
            let services = services.clone();
            let upgrade_services = services.clone();
            let stopping = stopping.clone();
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .keep_alive(std::time::Duration::from_secs(75))
                // Replies and events are small and must leave at once: no Nagle delay waiting
                // for the peer's ACK of the previous segment (measured: up to 57 ms).
                .tcp_nodelay(true)
                .upgrade(fn_service(move |(request, framed)| {
                    connect::upgrade(request, framed, upgrade_services.clone())
                }))
                .finish(map_config(
                    App::new()
                        // Clients write `/v1/me/` as well as `/v1/me` (rspotify does).
                        .wrap(actix_web::middleware::NormalizePath::trim())
                        .configure(|app| http::configure(app, services.clone())),
                    |_| AppConfig::default(),
                ))
                .tcp()
        })?
        .run();
    Ok(server)
}
