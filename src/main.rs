//! `segue`: the command line (`spec/cli-v1.md`). It parses flags (each also read from
//! `SEGUE_<FLAG>`) and calls the library; bad flags or an unusable configuration exit with 64
//! and one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use segue::config::{RestRateLimits, ServerConfig};
use segue::domain::Product;
use segue::node::Node;
use segue::player::SkipPolicy;
use segue::storage::users::UserUpsert;
use segue::storage::{Store, StoreLocation};
use segue::telemetry::{OtlpConfig, Telemetry};

/// mimalloc instead of glibc's allocator: the socket path allocates small, short-lived buffers
/// on every frame, and glibc's malloc was a tenth of the server's CPU at 10,000 commands/s.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for bad flags or an unusable configuration (`EX_USAGE`).
const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "segue",
    version,
    about = "Segue: the real-time Connect and session server of a music streaming service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a server node.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(StoreArgs),
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print a valid access token for a user, and nothing else.
    Token(TokenArgs),
    /// Load catalog data.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Recommendations: top-K lists and offline evaluation on an interaction log.
    Recs {
        #[command(subcommand)]
        command: RecsCommand,
    },
    /// Counted plays (streams).
    Plays {
        #[command(subcommand)]
        command: PlaysCommand,
    },
}

#[derive(Subcommand)]
enum PlaysCommand {
    /// Write every play counted since a moment (private plays too: they count for royalties) as
    /// JSON lines, in the order they were counted: the play-event stream of the embedded setup,
    /// the same events `--events-url` publishes.
    Export(PlaysExportArgs),
}

#[derive(Args)]
struct PlaysExportArgs {
    /// From when: milliseconds since the epoch, an RFC 3339 time (`2026-12-01T00:00:00Z`), a
    /// date (`2026-12-01`, UTC), or a span back from now (`24h`, `7days`).
    #[arg(long)]
    since: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum RecsCommand {
    /// Train on a `user<TAB>item<TAB>weight` log and write `user<TAB>item<TAB>rank` lines: each
    /// user's top K items not in the log.
    Batch(RecsBatchArgs),
    /// Hold out 20% of each user's items (users with 5 or more) per seed and report recall@K and
    /// NDCG@K of every method, per seed and as the mean.
    Evaluate(RecsEvaluateArgs),
    /// Train the model servers serve from the store's plays, likes, playlists and follows, and
    /// store it: every node loads it within a minute.
    Train(RecsTrainArgs),
}

#[derive(Args)]
struct RecsTrainArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The cluster's Redis: train under its lock, so no node trains at the same time.
    #[arg(long, env = "SEGUE_REDIS_URL")]
    redis_url: Option<String>,
}

#[derive(Args)]
struct RecsBatchArgs {
    /// The interaction log: `user<TAB>item<TAB>weight` lines, a header line allowed.
    #[arg(long)]
    interactions: PathBuf,
    /// Items per user.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    k: u64,
    /// Where to write the lists (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = segue::recs::models::Method::Blend)]
    method: segue::recs::models::Method,
    #[command(flatten)]
    parameters: segue::recs::models::Hyperparameters,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RecsMethodArg {
    All,
    Popularity,
    ItemKnn,
    Ease,
    Rp3beta,
    Als,
    Blend,
    Neighbours,
}

#[derive(Args)]
struct RecsEvaluateArgs {
    /// The interaction log: `user<TAB>item<TAB>weight` lines, a header line allowed.
    #[arg(long)]
    interactions: PathBuf,
    /// The seeds of the splits, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    seeds: Vec<u64>,
    /// The cut-off of recall and NDCG.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    k: u64,
    /// The methods to evaluate, comma-separated (`all`: every one).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    method: Vec<RecsMethodArg>,
    /// Score a validation split carved from each seed's training part instead of its held-out
    /// test items: for tuning hyperparameters.
    #[arg(long)]
    validation: bool,
    /// Instead of the methods: the blend `EASE + w_rp3·RP3beta + w_als·ALS` for every pair of
    /// these weights (comma-separated), each model trained once per seed. For tuning.
    #[arg(long, value_delimiter = ',')]
    blend_grid: Vec<f32>,
    #[command(flatten)]
    parameters: segue::recs::models::Hyperparameters,
}

/// Where the data lives: `--data-dir` (SQLite) unless `--database-url` is given.
#[derive(Args, Clone)]
struct StoreArgs {
    /// Directory of the embedded SQLite store.
    #[arg(long, env = "SEGUE_DATA_DIR", default_value = "./segue-data")]
    data_dir: PathBuf,
    /// A postgres:// (cluster) or sqlite: URL instead of the data dir.
    #[arg(long, env = "SEGUE_DATABASE_URL")]
    database_url: Option<String>,
}

impl StoreArgs {
    fn location(&self) -> StoreLocation {
        match &self.database_url {
            Some(url) => StoreLocation::Url(url.clone()),
            None => StoreLocation::DataDir(self.data_dir.clone()),
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, env = "SEGUE_LISTEN", default_value = "127.0.0.1:7400")]
    listen: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Redis URL: makes this node part of a cluster.
    #[arg(long, env = "SEGUE_REDIS_URL")]
    redis_url: Option<String>,
    /// This node's name in a cluster.
    #[arg(long, env = "SEGUE_NODE_ID", default_value = "node-1")]
    node_id: String,
    /// The base URL clients reach this server at (for absolute links).
    #[arg(long, env = "SEGUE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Milliseconds between the server's pings on each socket.
    #[arg(long, env = "SEGUE_HEARTBEAT_MS", default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    heartbeat_ms: u64,
    /// Milliseconds a new socket has to send hello.
    #[arg(long, env = "SEGUE_HELLO_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    hello_timeout_ms: u64,
    /// Requests per second one connection may send.
    #[arg(long, env = "SEGUE_RATE_LIMIT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: u32,
    /// Skips a free user may take per window.
    #[arg(long, env = "SEGUE_SKIP_LIMIT", default_value_t = 6)]
    skip_limit: u32,
    /// The skip window, in milliseconds.
    #[arg(long, env = "SEGUE_SKIP_WINDOW_MS", default_value_t = 3_600_000, value_parser = clap::value_parser!(u64).range(1..))]
    skip_window_ms: u64,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "SEGUE_TOKEN_TTL", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(1..))]
    token_ttl: u64,
    /// Worker threads (default: one per core).
    #[arg(long, env = "SEGUE_WORKERS")]
    workers: Option<usize>,
    /// Seconds a session with nothing online stays in memory.
    #[arg(long, env = "SEGUE_SESSION_IDLE_S", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    session_idle_s: u64,
    /// Do not import the demo catalog on first start.
    #[arg(long, env = "SEGUE_NO_DEMO_CATALOG")]
    no_demo_catalog: bool,
    /// Seconds a draining node waits for sockets and requests.
    #[arg(long, env = "SEGUE_SHUTDOWN_GRACE_S", default_value_t = 10)]
    shutdown_grace_s: u64,
    /// Cluster mode: milliseconds a node stays alive in Redis without renewing (renewed every
    /// quarter of it); a dead node's sessions are taken over within this.
    #[arg(long, env = "SEGUE_LEASE_MS", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(200..=60_000))]
    lease_ms: u64,
    /// Milliseconds a private session lasts unless ended before (6 hours, as Spotify's; shorter
    /// only for tests).
    #[arg(long, hide = true, default_value_t = segue::player::activity::PRIVATE_SESSION_MS, value_parser = clap::value_parser!(u64).range(1..))]
    private_session_ms: u64,
    /// Milliseconds of a track that must really play (on the active device; paused time and
    /// skipped parts do not count) before it counts as a play (a stream, for royalties and
    /// history).
    #[arg(long, env = "SEGUE_STREAM_COUNT_MS", default_value_t = segue::player::plays::STREAM_COUNT_MS, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    stream_count_ms: u64,
    /// Milliseconds an offline device's licence runs from its last sync (30 days; shorter only
    /// for tests).
    #[arg(long, hide = true, default_value_t = segue::offline::LICENCE_MS, value_parser = clap::value_parser!(u64).range(1..))]
    offline_licence_ms: u64,
    /// Publish every counted play to this NATS server's JetStream (`nats://host:4222`), stream
    /// SEGUE_PLAYS, subject `segue.plays`, the play's id as the message id. Without it the
    /// events stay in the store (`segue plays export`).
    #[arg(long, env = "SEGUE_EVENTS_URL")]
    events_url: Option<String>,
    /// How often recommendations are trained from the store's plays, likes, playlists and
    /// follows: when the newest model (whichever node trained it) is this old, one node trains
    /// a new one; also at start when none exists. `0` or `off`: this node never trains (it
    /// still serves what others train). A span such as `6h`, `30m`, `1day`.
    #[arg(long, env = "SEGUE_RECS_TRAIN_EVERY", default_value = "6h")]
    recs_train_every: String,
    /// Milliseconds between looks for a model stored by another node or `segue recs train`
    /// (a minute; shorter only for tests).
    #[arg(long, hide = true, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(10..))]
    recs_refresh_ms: u64,
    /// Device sockets this node holds at most; an upgrade past it is refused with 503 (default:
    /// the open-file limit, raised to its hard limit, less 512).
    #[arg(long, env = "SEGUE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// Export traces over OTLP/HTTP (JSON) to this collector (`http://host:4318`, or its full
    /// `…/v1/traces` URL).
    #[arg(long, env = "SEGUE_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// REST searches one user may make per second, in bursts of as many (0: no limit).
    #[arg(long, env = "SEGUE_SEARCH_RATE_LIMIT", default_value_t = RestRateLimits::DEFAULT.search_per_second)]
    search_rate_limit: u32,
    /// REST writes (PUT, POST, DELETE under /v1, not /v1/auth) one user may make per second, in
    /// bursts of as many (0: no limit).
    #[arg(long, env = "SEGUE_WRITE_RATE_LIMIT", default_value_t = RestRateLimits::DEFAULT.writes_per_second)]
    write_rate_limit: u32,
    /// Stream URLs one user may ask for per second, in bursts of as many (0: no limit).
    #[arg(long, env = "SEGUE_STREAM_RATE_LIMIT", default_value_t = RestRateLimits::DEFAULT.stream_per_second)]
    stream_rate_limit: u32,
    /// Sign-in attempts per username per minute, in bursts of as many (0: no limit).
    #[arg(long, env = "SEGUE_LOGIN_RATE_LIMIT", default_value_t = RestRateLimits::DEFAULT.login_per_minute)]
    login_rate_limit: u32,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user, or update the product, country and display name of an existing one.
    Add(UserAddArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ProductArg {
    Free,
    Premium,
}

#[derive(Args)]
struct UserAddArgs {
    /// The username (1..64 characters of [A-Za-z0-9_.-]).
    name: String,
    #[arg(long, env = "SEGUE_PASSWORD")]
    password: String,
    #[arg(long, env = "SEGUE_PRODUCT", value_enum)]
    product: Option<ProductArg>,
    /// ISO 3166-1 alpha-2 country code, e.g. SE.
    #[arg(long, env = "SEGUE_COUNTRY")]
    country: Option<String>,
    #[arg(long, env = "SEGUE_DISPLAY_NAME")]
    display_name: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct TokenArgs {
    /// The username.
    name: String,
    /// Lifetime of the token, in seconds.
    #[arg(long, env = "SEGUE_TTL", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(1..))]
    ttl: u64,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum ImportSource {
    /// The demo catalog the server imports on first start.
    Demo {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The Spotify Songs dataset (`spotify_songs.csv`, TidyTuesday 2020-01-21): tracks,
    /// albums, artists, and its playlists as public playlists.
    SpotifySongs {
        /// Path of `spotify_songs.csv`.
        path: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A generated catalog of a given size, for benchmarks.
    Synthetic {
        /// How many tracks.
        #[arg(long, env = "SEGUE_TRACKS", value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
        tracks: u64,
        /// The generator's seed.
        #[arg(long, env = "SEGUE_SEED", default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A failure, and whether it is the configuration's (exit 64) or the run's (exit 1).
enum Failure {
    Usage(String),
    Runtime(String),
}

fn usage(message: impl std::fmt::Display) -> Failure {
    Failure::Usage(message.to_string())
}

fn runtime(message: impl std::fmt::Display) -> Failure {
    Failure::Runtime(message.to_string())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            let text = error.to_string();
            let line = text.lines().find(|line| !line.trim().is_empty()).unwrap_or("invalid arguments");
            eprintln!("{line}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let otlp = match &cli.command {
        Command::Serve(args) => args
            .otlp_endpoint
            .as_ref()
            .map(|endpoint| OtlpConfig { endpoint: endpoint.clone(), node_id: args.node_id.clone() }),
        _ => None,
    };
    let telemetry = match Telemetry::init(otlp.as_ref()) {
        Ok(telemetry) => telemetry,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let outcome = actix_rt::System::new().block_on(run(cli.command));
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(args: &StoreArgs) -> Result<Store, Failure> {
    Store::open(&args.location()).await.map_err(|error| usage(format!("cannot open the store: {error}")))
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(store) => {
            open_store(&store).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Users { command: UsersCommand::Add(args) } => add_user(args).await,
        Command::Token(args) => token(args).await,
        Command::Import { source } => import(source).await,
        Command::Recs { command } => recs(command).await,
        Command::Plays { command: PlaysCommand::Export(args) } => export_plays(args).await,
    }
}

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    if args.skip_window_ms == 0 {
        return Err(usage("--skip-window-ms must be positive"));
    }
    let mut config = ServerConfig::embedded(args.store.data_dir.clone());
    config.listen = args.listen;
    config.store = args.store.location();
    config.redis_url = args.redis_url;
    config.node_id = args.node_id;
    config.public_url = args.public_url;
    config.heartbeat = Duration::from_millis(args.heartbeat_ms);
    config.hello_timeout = Duration::from_millis(args.hello_timeout_ms);
    config.rate_limit_per_second = args.rate_limit;
    config.skip_policy = SkipPolicy { limit: args.skip_limit, window_ms: args.skip_window_ms };
    config.access_token_ttl_s = args.token_ttl;
    if let Some(workers) = args.workers {
        if workers == 0 {
            return Err(usage("--workers must be at least 1"));
        }
        config.workers = workers;
    }
    config.session_idle = Duration::from_secs(args.session_idle_s);
    config.demo_catalog = !args.no_demo_catalog;
    config.shutdown_grace = Duration::from_secs(args.shutdown_grace_s);
    config.lease = Duration::from_millis(args.lease_ms);
    config.private_session = Duration::from_millis(args.private_session_ms);
    config.stream_count_ms = args.stream_count_ms;
    config.offline_licence_ms = args.offline_licence_ms;
    config.events = args.events_url.as_deref().map(segue::events::EventsConfig::parse).transpose().map_err(usage)?;
    config.recs_train_every = parse_train_every(&args.recs_train_every).map_err(usage)?;
    config.recs_refresh = Duration::from_millis(args.recs_refresh_ms);
    config.max_connections = args.max_connections.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    config.rest_limits = RestRateLimits {
        search_per_second: args.search_rate_limit,
        writes_per_second: args.write_rate_limit,
        stream_per_second: args.stream_rate_limit,
        login_per_minute: args.login_rate_limit,
    };
    if config.redis_url.is_some() && !matches!(&config.store, StoreLocation::Url(url) if url.starts_with("postgres")) {
        return Err(usage(
            "--redis-url needs --database-url postgres://…: every node of a cluster shares one database",
        ));
    }

    let node = Node::start(config).await.map_err(usage)?;
    println!("segue listening on http://{}", node.local_addr);
    node.run_until(shutdown_signal()).await.map_err(runtime)?;
    tracing::info!("stopped");
    Ok(())
}

/// `--recs-train-every`: a span, or `0`/`off` for never.
fn parse_train_every(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "0" || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match humantime::parse_duration(text) {
        Ok(span) if span >= Duration::from_secs(1) => Ok(Some(span)),
        Ok(_) => Err(format!("--recs-train-every {text:?}: at least a second, or 0 for never")),
        Err(_) => Err(format!("--recs-train-every {text:?}: give a span such as 6h or 30m, or 0 for never")),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match &mut terminate { Some(signal) => { signal.recv().await; } None => std::future::pending().await } } => {}
    }
}

async fn add_user(args: UserAddArgs) -> Result<(), Failure> {
    if !segue::auth::is_valid_username(&args.name) {
        return Err(usage("NAME must be 1..64 characters of [A-Za-z0-9_.-]"));
    }
    if let Some(country) = &args.country
        && !segue::auth::is_valid_country(country)
    {
        return Err(usage("--country must be an ISO 3166-1 alpha-2 code such as SE"));
    }
    if args.password.is_empty() {
        return Err(usage("--password must not be empty"));
    }
    let store = open_store(&args.store).await?;
    let password = args.password.clone();
    let hash = tokio::task::spawn_blocking(move || segue::auth::password::hash(&password)).await.map_err(runtime)?;
    let product = args.product.map(|p| match p {
        ProductArg::Free => Product::Free,
        ProductArg::Premium => Product::Premium,
    });
    let upsert = UserUpsert {
        username: &args.name,
        password_hash: &hash,
        display_name: args.display_name.as_deref(),
        product,
        country: args.country.as_deref(),
    };
    let (id, _created) = store.upsert_user(&upsert, segue::clock::now_ms() as i64).await.map_err(runtime)?;
    println!("{id}");
    Ok(())
}

async fn token(args: TokenArgs) -> Result<(), Failure> {
    let store = open_store(&args.store).await?;
    let record = store
        .user_by_username(&args.name)
        .await
        .map_err(runtime)?
        .ok_or_else(|| usage(format!("no user named {:?}", args.name)))?;
    let metrics = std::sync::Arc::new(segue::metrics::Metrics::default());
    let accounts = segue::auth::Accounts::new(store, args.ttl, args.ttl, metrics).await.map_err(runtime)?;
    println!("{}", accounts.issue_access(&segue::domain::Viewer::from(&record), args.ttl));
    Ok(())
}

async fn train_recs(args: RecsTrainArgs) -> Result<(), Failure> {
    use segue::recs::service::{Recommendations, TrainError};
    let store = open_store(&args.store).await?;
    let redis = match &args.redis_url {
        Some(url) => Some(std::sync::Arc::new(
            segue::storage::redis::RedisEngine::connect(url, Duration::from_secs(2), Duration::from_secs(1))
                .await
                .map_err(|error| usage(format!("--redis-url: {error}")))?,
        )),
        None => None,
    };
    let recommendations = Recommendations::open(store, redis.clone(), "cli".to_string()).await.map_err(runtime)?;
    let outcome = recommendations.train(None).await;
    if let Some(redis) = &redis {
        let _ = redis.retire_instance().await;
        redis.quit().await;
    }
    match outcome {
        Ok(trained) => {
            println!(
                "trained model {} ({}): {} rows, {} tracks, {} interactions; {} tracks with neighbours in {:.1} s",
                trained.model.id,
                trained.model.method,
                trained.model.users,
                trained.model.items,
                trained.model.interactions,
                trained.tracks_with_neighbours,
                trained.seconds
            );
            Ok(())
        }
        Err(TrainError::Busy) => Err(runtime("another node is training now; try again later")),
        Err(error) => Err(runtime(error)),
    }
}

/// The offline commands compute on this thread; `train` reads and writes the store.
async fn recs(command: RecsCommand) -> Result<(), Failure> {
    use segue::recs::cli::{RecsError, batch, blend_grid, evaluate_methods, read_log};
    use segue::recs::models::Method;
    let failure = |error: RecsError| match error {
        RecsError::Input(message) => usage(message),
        RecsError::Output(message) => runtime(message),
    };
    match command {
        RecsCommand::Train(args) => train_recs(args).await,
        RecsCommand::Batch(args) => {
            let log = read_log(&args.interactions).map_err(failure)?;
            let k = args.k as usize;
            match &args.out {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .map_err(|error| usage(format!("cannot create {}: {error}", path.display())))?;
                    let mut out = std::io::BufWriter::new(file);
                    batch(&log, args.method, &args.parameters, k, &mut out).map_err(failure)
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    batch(&log, args.method, &args.parameters, k, &mut out).map_err(failure)
                }
            }
        }
        RecsCommand::Evaluate(args) => {
            if args.seeds.is_empty() {
                return Err(usage("--seeds must name at least one seed"));
            }
            let mut methods = Vec::new();
            for choice in &args.method {
                let chosen: &[Method] = match choice {
                    RecsMethodArg::All => &Method::ALL,
                    RecsMethodArg::Popularity => &[Method::Popularity],
                    RecsMethodArg::ItemKnn => &[Method::ItemKnn],
                    RecsMethodArg::Ease => &[Method::Ease],
                    RecsMethodArg::Rp3beta => &[Method::Rp3beta],
                    RecsMethodArg::Als => &[Method::Als],
                    RecsMethodArg::Blend => &[Method::Blend],
                    RecsMethodArg::Neighbours => &[Method::Neighbours],
                };
                for method in chosen {
                    if !methods.contains(method) {
                        methods.push(*method);
                    }
                }
            }
            let log = read_log(&args.interactions).map_err(failure)?;
            let mut out = std::io::stdout().lock();
            if !args.blend_grid.is_empty() {
                let k = args.k as usize;
                return blend_grid(&log, &args.seeds, k, args.validation, &args.parameters, &args.blend_grid, &mut out)
                    .map_err(failure);
            }
            evaluate_methods(&log, &methods, &args.seeds, args.k as usize, args.validation, &args.parameters, &mut out)
                .map_err(failure)?;
            Ok(())
        }
    }
}

/// Where `--since` points: milliseconds since the epoch, an RFC 3339 time, a UTC date, or a span
/// back from `now_ms`.
fn parse_since(text: &str, now_ms: i64) -> Result<i64, String> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let time = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_string() };
    if let Ok(at) = humantime::parse_rfc3339_weak(&time) {
        let ms = at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        return Ok(i64::try_from(ms).unwrap_or(i64::MAX));
    }
    if let Ok(span) = humantime::parse_duration(text) {
        return Ok(now_ms.saturating_sub(i64::try_from(span.as_millis()).unwrap_or(i64::MAX)));
    }
    Err(format!(
        "--since {text:?}: give milliseconds since the epoch, a time (2026-12-01T00:00:00Z), a date or a span (24h)"
    ))
}

/// Events `segue plays export` reads from the store at a time.
const EXPORT_PAGE: u32 = 1_000;

async fn export_plays(args: PlaysExportArgs) -> Result<(), Failure> {
    use std::io::Write;
    let since = parse_since(&args.since, segue::clock::now_ms() as i64).map_err(usage)?;
    let store = open_store(&args.store).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after: Option<(i64, String)> = None;
    loop {
        let page = store
            .play_events_since(since, after.as_ref().map(|(at, id)| (*at, id.as_str())), EXPORT_PAGE)
            .await
            .map_err(runtime)?;
        for event in &page {
            out.write_all(&segue::events::event_json(event)).and_then(|()| out.write_all(b"\n")).map_err(runtime)?;
        }
        match page.last() {
            Some(last) if page.len() == EXPORT_PAGE as usize => after = Some((last.counted_at_ms, last.id.clone())),
            _ => break,
        }
    }
    out.flush().map_err(runtime)
}

async fn import(source: ImportSource) -> Result<(), Failure> {
    match source {
        ImportSource::Demo { store } => {
            let store = open_store(&store).await?;
            if segue::catalog::import_demo_if_empty(&store).await.map_err(runtime)? {
                println!("imported the demo catalog");
            } else {
                println!("the catalog is not empty; nothing imported");
            }
        }
        ImportSource::SpotifySongs { path, store } => {
            if !path.is_file() {
                return Err(usage(format!("no file at {}", path.display())));
            }
            let store = open_store(&store).await?;
            let started = std::time::Instant::now();
            let done = segue::catalog::import_songs_csv(&store, &path).await.map_err(runtime)?;
            println!(
                "imported {} tracks, {} artists, {} albums and {} playlists in {:.1} s ({} rows skipped)",
                done.tracks,
                done.artists,
                done.albums,
                done.playlists_created,
                started.elapsed().as_secs_f64(),
                done.rows_skipped
            );
        }
        ImportSource::Synthetic { tracks, seed, store } => {
            let store = open_store(&store).await?;
            let started = std::time::Instant::now();
            let written = segue::catalog::import_synthetic(&store, seed, tracks as usize, |done| {
                if done % 100_000 < 5_000 {
                    eprintln!("{done} tracks written");
                }
            })
            .await
            .map_err(runtime)?;
            println!("imported {written} tracks in {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
