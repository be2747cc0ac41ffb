//! The few REST calls a scenario makes before it opens sockets: a reachability check,
//! register-or-login of the simulated users (with bounded concurrency, since every one costs
//! the server an Argon2 hash) and a track search for something to play. The calls are blocking
//! `ureq` requests, each run on tokio's blocking pool.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};

/// The password of every simulated user.
const PASSWORD: &str = "segue-load-password";
/// How long one REST call may take (a registration queues behind other hashes).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A simulated user as the server knows it.
#[derive(Debug, Clone)]
pub struct Account {
    pub username: String,
    pub access_token: String,
}

/// A client of the server's REST API.
#[derive(Clone)]
pub struct Rest {
    agent: ureq::Agent,
    base: String,
}

/// An HTTP answer: status and JSON body (`Null` when there was none).
struct Answer {
    status: u16,
    body: Value,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
}

impl Rest {
    /// A client of the server at `base` (`http://host:port`, no trailing slash needed).
    pub fn new(base: &str) -> Rest {
        let agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(CALL_TIMEOUT)).build().into();
        Rest { agent, base: base.trim_end_matches('/').to_string() }
    }

    /// Fails with a readable message unless the server answers `GET /healthz`.
    pub async fn check_reachable(&self) -> Result<(), String> {
        let answer = self
            .call("GET", "/healthz", None, None)
            .await
            .map_err(|error| format!("cannot reach the Segue server at {}: {error}", self.base))?;
        match answer.status {
            200 => Ok(()),
            status => {
                Err(format!("the server at {} answered GET /healthz with {status}: is it a Segue server?", self.base))
            }
        }
    }

    /// Registers `load-<prefix>-<n>` for every `n` in `0..count`, or logs in those that
    /// exist, with at most `concurrency` calls in flight. Returns the accounts in order of `n`.
    pub async fn accounts(&self, prefix: &str, count: usize, concurrency: usize) -> Result<Vec<Account>, String> {
        let started = Instant::now();
        let mut accounts: Vec<Account> = stream::iter(0..count)
            .map(|n| self.register_or_login(format!("load-{prefix}-{n}")))
            .buffered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        accounts.shrink_to_fit();
        eprintln!("  {count} users ready (registered or logged in) in {:.1} s", started.elapsed().as_secs_f64());
        Ok(accounts)
    }

    async fn register_or_login(&self, username: String) -> Result<Account, String> {
        let registration = json!({"username": username, "password": PASSWORD, "country": "SE"});
        let answer = self.call("POST", "/v1/auth/register", None, Some(registration)).await?;
        let answer = match answer.status {
            201 => answer,
            409 => {
                let login = json!({"username": username, "password": PASSWORD});
                let answer = self.call("POST", "/v1/auth/login", None, Some(login)).await?;
                if answer.status != 200 {
                    return Err(format!(
                        "login of {username}: {} {} (a user of that name with another \
                         password? choose another --prefix)",
                        answer.status, answer.body
                    ));
                }
                answer
            }
            status => {
                return Err(format!("register {username}: {status} {}", answer.body));
            }
        };
        let tokens: Tokens =
            serde_json::from_value(answer.body).map_err(|error| format!("the token answer for {username}: {error}"))?;
        Ok(Account { username, access_token: tokens.access_token })
    }

    /// Ids of up to `limit` playable tracks of the catalog (a search for "e").
    pub async fn playable_tracks(&self, token: &str, limit: usize) -> Result<Vec<String>, String> {
        let path = format!("/v1/search?q=e&type=track&limit={}", limit.clamp(1, 50));
        let answer = self.call("GET", &path, Some(token), None).await?;
        if answer.status != 200 {
            return Err(format!("GET {path}: {} {}", answer.status, answer.body));
        }
        let tracks: Vec<String> = answer.body["tracks"]["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|track| track["is_playable"] != false)
                    .filter_map(|track| track["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if tracks.is_empty() {
            return Err(format!(
                "GET {path} found no playable track: the server needs a catalog (it imports the \
                 demo catalog on first start unless --no-demo-catalog)"
            ));
        }
        Ok(tracks)
    }

    /// A JSON call made as `token`'s user (no body when `body` is null): its status and body.
    pub async fn json(
        &self,
        method: &'static str,
        path: &str,
        token: &str,
        body: Value,
    ) -> Result<(u16, Value), String> {
        let body = (!body.is_null()).then_some(body);
        let answer = self.call(method, path, Some(token), body).await?;
        Ok((answer.status, answer.body))
    }

    /// The id of `token`'s user (`GET /v1/me`).
    pub async fn user_id(&self, token: &str) -> Result<String, String> {
        let answer = self.call("GET", "/v1/me", Some(token), None).await?;
        match (answer.status, answer.body["id"].as_str()) {
            (200, Some(id)) => Ok(id.to_string()),
            (status, _) => Err(format!("GET /v1/me: {status} {}", answer.body)),
        }
    }

    /// One call on the blocking pool.
    async fn call(
        &self,
        method: &'static str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Answer, String> {
        let agent = self.agent.clone();
        let url = format!("{}{path}", self.base);
        let authorization = token.map(|token| format!("Bearer {token}"));
        let what = format!("{method} {url}");
        tokio::task::spawn_blocking(move || {
            let mut request = ureq::http::Request::builder().method(method).uri(&url);
            if let Some(authorization) = authorization {
                request = request.header("Authorization", authorization);
            }
            let response = match body {
                Some(body) => {
                    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
                    let request =
                        request.header("Content-Type", "application/json").body(bytes).map_err(|e| e.to_string())?;
                    agent.run(request)
                }
                None => agent.run(request.body(()).map_err(|e| e.to_string())?),
            };
            let mut response = response.map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().map_err(|error| error.to_string())?;
            let body =
                if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
            Ok(Answer { status, body })
        })
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error: String| format!("{what}: {error}"))
    }
}
