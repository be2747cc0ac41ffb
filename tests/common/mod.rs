//! What the integration tests share: a real `segue` process on an ephemeral port with its own
//! data directory, a blocking HTTP client for the REST API, and a Connect device speaking the
//! real protocol over a real WebSocket (tokio-tungstenite).

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use segue_protocol::envelope::encode_request;
use segue_protocol::state::Welcome;
use segue_protocol::{ServerFrame, SessionState};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(10);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running `segue serve`, killed when dropped.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub data_dir: tempfile::TempDir,
    http: ureq::Agent,
    /// The PostgreSQL database of a server started with [`TestServer::start_on_postgres`]:
    /// `(admin URL, name)`, dropped with the server.
    database: Option<(String, String)>,
}

/// Where a test server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use (`scripts/test.sh` starts it when it is not running).
pub fn postgres_admin_url() -> String {
    std::env::var("SEGUE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Runs SQL on the PostgreSQL admin database, from any context (a thread with its own runtime,
/// so it works inside and outside async tests alike).
pub fn postgres_admin(sql: String) {
    postgres_execute(postgres_admin_url(), sql);
}

/// Runs SQL on the PostgreSQL database at `url`, from any context.
pub fn postgres_execute(url: String, sql: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let pool = sqlx::PgPool::connect(&url)
                .await
                .unwrap_or_else(|error| panic!("PostgreSQL must be reachable at {url}: {error}"));
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.expect("admin SQL runs");
            pool.close().await;
        })
    })
    .join()
    .expect("the admin thread finishes");
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `reason` of an error body.
    pub fn reason(&self) -> &str {
        self.body["error"]["reason"].as_str().unwrap_or_default()
    }
}

pub fn segue_binary() -> &'static str {
    env!("CARGO_BIN_EXE_segue")
}

impl TestServer {
    /// Starts a server with the embedded setup and these extra flags.
    pub fn start(extra: &[&str]) -> TestServer {
        let data_dir = tempfile::tempdir().expect("a temporary data dir");
        TestServer::start_in(data_dir, extra)
    }

    /// Starts a server on `backend`: SQLite in a temporary dir, or a fresh PostgreSQL database.
    pub fn start_on(backend: Backend, extra: &[&str]) -> TestServer {
        match backend {
            Backend::Sqlite => TestServer::start(extra),
            Backend::Postgres => TestServer::start_on_postgres(extra),
        }
    }

    /// Starts a server whose store is a fresh PostgreSQL database, dropped with the server.
    pub fn start_on_postgres(extra: &[&str]) -> TestServer {
        let name = format!("segue_test_{}", segue::ids::Id::random().as_str().to_lowercase());
        postgres_admin(format!("CREATE DATABASE {name}"));
        let admin_url = postgres_admin_url();
        let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
        let url = format!("{base}/{name}");
        let mut args = vec!["--database-url", url.as_str()];
        args.extend_from_slice(extra);
        let mut server = TestServer::start_in(tempfile::tempdir().expect("a temporary dir"), &args);
        server.database = Some((admin_url, name));
        server
    }

    /// Starts a server on an existing data dir (to test restarts).
    pub fn start_in(data_dir: tempfile::TempDir, extra: &[&str]) -> TestServer {
        TestServer::start_binary(segue_binary(), data_dir, extra)
    }

    /// Starts `binary` (this version's `segue`, or another's) as a server.
    pub fn start_binary(binary: &str, data_dir: tempfile::TempDir, extra: &[&str]) -> TestServer {
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .args(extra)
            .env("SEGUE_LOG", std::env::var("SEGUE_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("segue starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("segue prints its address");
        let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("an http:// address").to_string();
        let http = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(WAIT)).build().into();
        TestServer { child, base, data_dir, http, database: None }
    }

    /// Where this server keeps its data, for a test that opens the same store beside it.
    pub fn store_location(&self) -> segue::storage::StoreLocation {
        match &self.database {
            Some((admin_url, name)) => {
                let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
                segue::storage::StoreLocation::Url(format!("{base}/{name}"))
            }
            None => segue::storage::StoreLocation::DataDir(self.data_dir.path().to_path_buf()),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("{}/v1/connect", self.base.replace("http://", "ws://"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        self.wait_exit(Duration::from_secs(30)).expect("segue exits after SIGTERM")
    }

    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Runs another `segue` command on this server's data dir.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut command = Command::new(segue_binary());
        command.args(args).arg("--data-dir").arg(self.data_dir.path());
        if let Some((admin_url, name)) = &self.database {
            let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
            command.arg("--database-url").arg(format!("{base}/{name}"));
        }
        command.env("SEGUE_LOG", "warn").output().expect("segue runs")
    }

    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder().method(method).uri(&url);
        let request = match token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        };
        let response = match body {
            Some(body) => self.http.run(
                request.header("Content-Type", "application/json").body(serde_json::to_vec(&body).unwrap()).unwrap(),
            ),
            None => self.http.run(request.body(()).unwrap()),
        };
        let mut response = response.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, body, headers }
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, Some(token), None)
    }

    /// Registers a user; returns its id and an access token.
    pub fn register(&self, username: &str) -> (String, String) {
        let reply = self.request(
            "POST",
            "/v1/auth/register",
            None,
            Some(json!({"username": username, "password": "correct-horse", "country": "SE"})),
        );
        assert_eq!(reply.status, 201, "register {username}: {:?}", reply.body);
        (reply.body["id"].as_str().unwrap().to_string(), reply.body["access_token"].as_str().unwrap().to_string())
    }

    /// Makes a user premium (through the CLI, as an operator would).
    pub fn make_premium(&self, username: &str) {
        let out = self.cli(&["users", "add", username, "--password", "unused-here", "--product", "premium"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Registers a premium user; answers the id and token once the server sees the product.
    pub fn register_premium(&self, username: &str) -> (String, String) {
        let (id, token) = self.register(username);
        self.make_premium(username);
        self.await_premium(&token);
        (id, token)
    }

    /// Waits until the server answers this user's product as premium.
    pub fn await_premium(&self, token: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        while self.get("/v1/me", token).body["product"] != "premium" {
            assert!(std::time::Instant::now() < deadline, "the product never changed");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ids of `n` playable tracks of the demo catalog.
    pub fn track_ids(&self, token: &str, n: usize) -> Vec<String> {
        let reply = self.get("/v1/search?q=e&type=track&limit=50", token);
        let items = reply.body["tracks"]["items"].as_array().expect("search results").clone();
        let ids: Vec<String> = items
            .iter()
            .filter(|t| t["is_playable"] == true)
            .map(|t| t["id"].as_str().unwrap().to_string())
            .take(n)
            .collect();
        assert_eq!(ids.len(), n, "the demo catalog has enough tracks");
        ids
    }

    /// An album id and its track ids.
    pub fn album(&self, token: &str) -> (String, Vec<(String, u64)>) {
        let reply = self.get("/v1/search?q=a&type=track&limit=1", token);
        let album_id = reply.body["tracks"]["items"][0]["album"]["id"].as_str().unwrap().to_string();
        let album = self.get(&format!("/v1/albums/{album_id}/tracks?limit=50"), token);
        let tracks = album.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap().to_string(), t["duration_ms"].as_u64().unwrap()))
            .collect();
        (album_id, tracks)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((_, name)) = self.database.take() {
            postgres_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Opens a WebSocket with the token in the Authorization header.
pub async fn open_socket(server: &TestServer, token: &str) -> Result<Socket, WsError> {
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

pub fn hello_body(device_id: &str, can_play: bool) -> Value {
    json!({
        "device_id": device_id,
        "name": format!("The {device_id}"),
        "device_type": if can_play { "computer" } else { "smartphone" },
        "can_play": can_play,
        "supports_volume": true,
        "volume_percent": 50,
    })
}

/// A connected device speaking the protocol.
pub struct Device {
    pub socket: Socket,
    pub device_id: String,
    pub next_id: u32,
    /// Events read while waiting for a reply, in order.
    pub events: VecDeque<ServerFrame>,
}

impl Device {
    /// Connects and says hello; returns the device and its welcome.
    pub async fn connect(server: &TestServer, token: &str, device_id: &str, can_play: bool) -> (Device, Welcome) {
        let socket = open_socket(server, token).await.expect("the upgrade succeeds");
        let mut device = Device { socket, device_id: device_id.to_string(), next_id: 1, events: VecDeque::new() };
        let reply = device.request("hello", hello_body(device_id, can_play)).await;
        assert_eq!(reply.ok, Some(true), "hello refused: {:?}", reply.error);
        let welcome: Welcome = reply.body_as().expect("a welcome body");
        (device, welcome)
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("the frame is sent");
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send(&mut self, kind: &str, body: impl Serialize) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.send_raw(Message::Binary(encode_request(kind, id, &body).into())).await;
        id
    }

    /// Sends a request and returns its reply; events that come first are kept in `events`.
    pub async fn request(&mut self, kind: &str, body: impl Serialize) -> ServerFrame {
        let id = self.send(kind, body).await;
        self.reply_to(id).await
    }

    /// Reads until the reply to `id`.
    pub async fn reply_to(&mut self, id: u32) -> ServerFrame {
        loop {
            let frame = self.read_frame().await;
            if frame.is_reply() {
                assert_eq!(frame.id, Some(id), "replies come in request order");
                return frame;
            }
            self.events.push_back(frame);
        }
    }

    /// The next frame from the socket (not from `events`).
    pub async fn read_frame(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{}: no frame within {WAIT:?}", self.device_id))
                .unwrap_or_else(|| panic!("{}: the socket ended", self.device_id))
                .unwrap_or_else(|error| panic!("{}: socket error {error}", self.device_id));
            match message {
                Message::Binary(bytes) => {
                    return ServerFrame::decode(&bytes).expect("a server frame decodes");
                }
                Message::Close(frame) => {
                    panic!("{}: closed unexpectedly: {frame:?}", self.device_id)
                }
                _ => continue,
            }
        }
    }

    /// The next event, queued or read.
    pub async fn next_event(&mut self) -> ServerFrame {
        match self.events.pop_front() {
            Some(frame) => frame,
            None => {
                let frame = self.read_frame().await;
                assert!(!frame.is_reply(), "{}: an unexpected reply {frame:?}", self.device_id);
                frame
            }
        }
    }

    /// Reads `state` events until one satisfies `wanted`; returns it.
    pub async fn state_where(&mut self, wanted: impl Fn(&SessionState) -> bool) -> SessionState {
        loop {
            let frame = self.next_event().await;
            if frame.kind != "state" {
                continue;
            }
            let state: SessionState = frame.body_as().expect("a state body");
            assert_eq!(frame.seq, Some(state.seq), "the event's seq is the state's");
            if wanted(&state) {
                return state;
            }
        }
    }

    /// Reads `state` events until the one with `seq`.
    pub async fn state_at(&mut self, seq: u64) -> SessionState {
        let state = self.state_where(|s| s.seq >= seq).await;
        assert_eq!(state.seq, seq, "{}: no state event with seq {seq}", self.device_id);
        state
    }

    /// Waits for the server to close; returns the close code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        expect_close(&mut self.socket).await
    }
}

/// Reads a socket until the server's close frame; returns its code and reason.
pub async fn expect_close(socket: &mut Socket) -> (u16, String) {
    let (_frames, code, reason) = read_until_close(socket).await;
    (code, reason)
}

/// Reads frames until the close, returning the frames before it and the close code.
pub async fn frames_until_close(socket: &mut Socket) -> (Vec<ServerFrame>, u16) {
    let (frames, code, _reason) = read_until_close(socket).await;
    (frames, code)
}

async fn read_until_close(socket: &mut Socket) -> (Vec<ServerFrame>, u16, String) {
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await.expect("the server closes in time");
        match next {
            Some(Ok(Message::Binary(bytes))) => {
                frames.push(ServerFrame::decode(&bytes).expect("a server frame decodes"))
            }
            Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                return (frames, u16::from(code), reason.to_string());
            }
            Some(Ok(Message::Close(None))) => panic!("closed without a close code"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("socket error before the close frame: {error}"),
            None => panic!("the socket ended without a close frame"),
        }
    }
}

/// A Redis server of the test's own, on a free port, without persistence; stopped when dropped.
/// (`scripts/test.sh` installs `redis-server` when it is missing.)
pub struct TestRedis {
    child: Option<Child>,
    pub port: u16,
}

impl TestRedis {
    pub fn start() -> TestRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = TestRedis { child: None, port };
        redis.run();
        redis
    }

    fn run(&mut self) {
        let binary = std::env::var("SEGUE_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server starts (scripts/test.sh installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server listens on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its data is gone: it keeps none).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A NATS server with JetStream of the test's own, on a free port, its store in a temporary
/// directory; stopped when dropped. (`scripts/test.sh` installs `nats-server` when it is missing;
/// `SEGUE_TEST_NATS_SERVER` names another binary.)
pub struct TestNats {
    child: Child,
    pub port: u16,
    _store: tempfile::TempDir,
}

impl TestNats {
    pub fn start() -> TestNats {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let store = tempfile::tempdir().expect("a temporary dir");
        // Debian installs it in /usr/sbin, which is not on every user's PATH.
        let binary = std::env::var("SEGUE_TEST_NATS_SERVER").unwrap_or_else(|_| {
            let on_path = Command::new("nats-server").arg("--version").output().is_ok();
            if on_path { "nats-server".into() } else { "/usr/sbin/nats-server".into() }
        });
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts (scripts/test.sh installs it)");
        let deadline = std::time::Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nats-server listens on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        TestNats { child, port, _store: store }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for TestNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Several `segue serve` cluster nodes sharing one Redis and one fresh PostgreSQL database.
pub struct TestCluster {
    pub nodes: Vec<Option<TestServer>>,
    pub redis: TestRedis,
    database_url: String,
    database: String,
}

impl TestCluster {
    /// Starts `count` nodes with these extra flags each.
    pub fn start(count: usize, extra: &[&str]) -> TestCluster {
        let redis = TestRedis::start();
        let database = format!("segue_cluster_{}", segue::ids::Id::random().as_str().to_lowercase());
        postgres_admin(format!("CREATE DATABASE {database}"));
        let admin_url = postgres_admin_url();
        let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
        let database_url = format!("{base}/{database}");
        let mut cluster = TestCluster { nodes: Vec::new(), redis, database_url, database };
        for n in 0..count {
            let node = cluster.start_node(n, extra);
            cluster.nodes.push(Some(node));
        }
        cluster
    }

    /// Starts another node (the `n`th: its node id) with these extra flags.
    pub fn start_node(&self, n: usize, extra: &[&str]) -> TestServer {
        self.start_node_of(segue_binary(), n, extra)
    }

    /// Starts another node running `binary` (another version of `segue`).
    pub fn start_node_of(&self, binary: &str, n: usize, extra: &[&str]) -> TestServer {
        let node_id = format!("node-{n}");
        let redis_url = self.redis.url();
        let mut args = vec![
            "--database-url",
            self.database_url.as_str(),
            "--redis-url",
            redis_url.as_str(),
            "--node-id",
            node_id.as_str(),
        ];
        args.extend_from_slice(extra);
        TestServer::start_binary(binary, tempfile::tempdir().expect("a temporary dir"), &args)
    }

    pub fn node(&self, n: usize) -> &TestServer {
        self.nodes[n].as_ref().expect("that node runs")
    }

    /// `kill -9` of node `n`.
    pub fn kill(&mut self, n: usize) {
        if let Some(mut node) = self.nodes[n].take() {
            Command::new("kill").args(["-KILL", &node.pid().to_string()]).status().expect("kill runs");
            node.wait_exit(WAIT).expect("the node dies");
        }
    }

    /// Makes the cluster's database refuse connections (and cuts the open ones), or accept them again.
    pub fn block_database(&self, blocked: bool) {
        let name = &self.database;
        postgres_admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {}", !blocked));
        if blocked {
            postgres_admin(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ));
        }
    }

    /// The cluster's PostgreSQL database.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Runs a `segue` command against the cluster's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(segue_binary())
            .args(args)
            .arg("--database-url")
            .arg(&self.database_url)
            .env("SEGUE_LOG", "warn")
            .output()
            .expect("segue runs")
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        postgres_admin(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database));
    }
}

/// The `seq` of a successful command's reply.
pub fn reply_seq(frame: &ServerFrame) -> u64 {
    assert_eq!(frame.ok, Some(true), "expected success, got {:?}", frame.error);
    frame
        .body
        .as_ref()
        .and_then(|b| b.as_map())
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("seq")).and_then(|(_, v)| v.as_u64()))
        .expect("a seq in the reply")
}
