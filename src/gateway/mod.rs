//! The gateway: everything that touches sockets and HTTP. It serves the REST API with actix-web
//! ([`http`]), upgrades `GET /v1/connect` to a WebSocket ([`connect`]) and runs each device
//! connection ([`connection`]), with the [`Services`] the node built for it (`node.rs` is the
//! composition root).
//!
//! **Architecture invariant:** only this module knows HTTP and WebSockets. It reaches sessions
//! only through [`Sessions`]' methods, never by building actor messages.

pub mod connect;
pub mod connection;
pub mod http;
pub mod requests;

use std::sync::Arc;

use actix_http::HttpService;
use actix_service::{fn_service, map_config};
use actix_web::App;
use actix_web::dev::AppConfig;
use governor::clock::DefaultClock;

use crate::actors::activity::ActivitySubscriptions;
use crate::actors::bus::Bus;
use crate::actors::directory::Sessions;
use crate::actors::hub::LocalHub;
use crate::actors::playlists::Playlists;
use crate::actors::topics::Topics;
use crate::auth::Accounts;
use crate::catalog::resolve::Resolver;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::search::SearchIndex;
use crate::storage::Store;
use crate::storage::redis::RedisEngine;
use crate::storage::snapshots::WriteBehind;
use connect::ConnectionSlots;

/// Everything a request or a connection needs, shared by every worker.
pub struct Services {
    pub config: ServerConfig,
    pub store: Store,
    pub accounts: Arc<Accounts>,
    pub sessions: Sessions,
    /// The live playlists: every playlist read for a subscriber and every edit goes through them.
    pub playlists: Playlists,
    pub hub: Arc<LocalHub>,
    /// Carries events to this node's connections (and, in a cluster, the others').
    pub bus: Arc<dyn Bus>,
    /// Fan-out to the connections subscribed to a topic (a playlist, a user's activity).
    pub topics: Topics,
    /// The connections that said `activity_subscribe`, and what follows do to them.
    pub activity: ActivitySubscriptions,
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
    /// The node's cap on device sockets.
    pub slots: Arc<ConnectionSlots>,
    /// The REST API's rate limits.
    pub limits: http::limits::RestLimits,
    /// The recommender this node serves (and its training).
    pub recs: Arc<crate::recs::service::Recommendations>,
}

/// The HTTP server of a node: the REST API and the upgrade of `GET /v1/connect`, on `listener`.
pub fn build_server(services: Arc<Services>, listener: std::net::TcpListener) -> std::io::Result<actix_server::Server> {
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
                        .wrap(actix_web::middleware::from_fn(http::trace_requests))
                        .wrap(actix_web::middleware::NormalizePath::trim())
                        .configure(|app| http::configure(app, services.clone())),
                    |_| AppConfig::default(),
                ))
                .tcp()
        })?
        .run();
    Ok(server)
}
