//! The configuration of a server node, as the command line and the environment give it.

use std::time::Duration;

use crate::player::SkipPolicy;
use crate::storage::StoreLocation;

/// Everything `segue serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free one (printed at start).
    pub listen: String,
    pub store: StoreLocation,
    /// This node's own files (the search index; the SQLite store in the embedded setup).
    pub data_dir: std::path::PathBuf,
    /// Cluster mode's Redis; `None` runs the embedded setup.
    pub redis_url: Option<String>,
    pub node_id: String,
    /// The base URL clients reach this server at, for absolute `next`/`previous`/`href` links;
    /// `None`: taken from each request's `Host`.
    pub public_url: Option<String>,
    /// How often the server pings each socket; a socket silent for three of these is dead.
    pub heartbeat: Duration,
    /// How long a new socket has to say `hello`.
    pub hello_timeout: Duration,
    /// Requests per second one connection may send.
    pub rate_limit_per_second: u32,
    pub skip_policy: SkipPolicy,
    pub access_token_ttl_s: u64,
    pub refresh_token_ttl_s: u64,
    /// HTTP worker threads (each also runs sessions and sockets).
    pub workers: usize,
    /// A session with nothing online and no command for this long is retired.
    pub session_idle: Duration,
    /// Import the demo catalog on first start.
    pub demo_catalog: bool,
    /// How long a draining node waits for sockets and requests before it exits anyway.
    pub shutdown_grace: Duration,
    /// Cluster mode: how long a node stays alive in Redis without renewing.
    pub lease: Duration,
    /// Device sockets this node holds at most; `None`: the open-file limit less a reserve.
    pub max_connections: Option<usize>,
    /// The REST API's rate limits.
    pub rest_limits: RestRateLimits,
    /// How long a private session lasts unless the user ends it.
    pub private_session: Duration,
    /// How long a playback must really play before it counts as a play (`--stream-count-ms`).
    pub stream_count_ms: u64,
    /// How long an offline device's licence runs from its last sync (30 days).
    pub offline_licence_ms: u64,
    /// Where counted plays are published (`--events-url`); `None`: they stay in the store.
    pub events: Option<crate::events::EventsConfig>,
    /// How often recommendations are trained (the newest model's age, whichever node trained
    /// it; `--recs-train-every`); `None`: never on this node (it still loads what others train).
    pub recs_train_every: Option<Duration>,
    /// How often the node looks for a model another node (or `segue recs train`) stored.
    pub recs_refresh: Duration,
}

/// The default of `--recs-train-every`: 6 hours.
pub const RECS_TRAIN_EVERY: Duration = Duration::from_secs(6 * 3_600);

/// The REST API's rate limits (`gateway::http::limits`). Each allows bursts of its own size
/// (N requests at once, then N per second or per minute); 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestRateLimits {
    /// `GET /v1/search` per user per second.
    pub search_per_second: u32,
    /// PUT, POST and DELETE under `/v1` (not `/v1/auth/…`) per user per second.
    pub writes_per_second: u32,
    /// `GET /v1/tracks/{id}/stream` per user per second.
    pub stream_per_second: u32,
    /// `POST /v1/auth/login` (and the old-password check of `PUT /v1/me/password`) per
    /// username per minute.
    pub login_per_minute: u32,
}

impl RestRateLimits {
    /// The defaults of `segue serve`: well above what a person's client does (search as you type
    /// sends a few a second; a player asks one stream URL per track; a volume slider is the
    /// busiest writer), low enough that one account cannot take a core with searches, mint stream
    /// URLs for the catalog in minutes, or try more than 10 passwords a minute on one account.
    pub const DEFAULT: RestRateLimits =
        RestRateLimits { search_per_second: 20, writes_per_second: 50, stream_per_second: 10, login_per_minute: 10 };
}

impl ServerConfig {
    /// The defaults of `segue serve` with its data under `data_dir`.
    pub fn embedded(data_dir: impl Into<std::path::PathBuf>) -> ServerConfig {
        let data_dir = data_dir.into();
        ServerConfig {
            listen: "127.0.0.1:7400".into(),
            store: StoreLocation::DataDir(data_dir.clone()),
            data_dir,
            redis_url: None,
            node_id: "node-1".into(),
            public_url: None,
            heartbeat: Duration::from_secs(15),
            hello_timeout: Duration::from_secs(10),
            rate_limit_per_second: 100,
            skip_policy: SkipPolicy::DEFAULT,
            access_token_ttl_s: 3_600,
            refresh_token_ttl_s: 30 * 24 * 3_600,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            session_idle: Duration::from_secs(300),
            demo_catalog: true,
            shutdown_grace: Duration::from_secs(10),
            lease: Duration::from_secs(2),
            max_connections: None,
            rest_limits: RestRateLimits::DEFAULT,
            private_session: Duration::from_millis(crate::player::activity::PRIVATE_SESSION_MS),
            stream_count_ms: crate::player::plays::STREAM_COUNT_MS,
            offline_licence_ms: crate::offline::LICENCE_MS,
            events: None,
            recs_train_every: Some(RECS_TRAIN_EVERY),
            recs_refresh: Duration::from_secs(60),
        }
    }
}
