//! Accounts: registration, login, refresh, and checking the token of every request and socket.
//!
//! Users live in the store; a short-lived cache keeps the token check of every REST call and
//! socket upgrade off the database while still seeing a change made by `segue users add` (or
//! another node) within [`PROFILE_CACHE_TTL`].

pub mod password;
pub mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use segue_protocol::ErrorCode;

use crate::domain::{Product, Viewer};
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::storage::Store;
use crate::storage::users::UserUpsert;
pub use token::{Claims, TokenError, TokenKeys, TokenKind};

/// How long a cached user profile is trusted.
pub const PROFILE_CACHE_TTL: Duration = Duration::from_secs(2);

/// An access and a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// The user behind a valid access token.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: Arc<Viewer>,
    /// When the token expires, seconds since the epoch.
    pub expires_at_s: u64,
}

/// What `POST /v1/auth/register` asks for.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Registration {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

/// True for a username: 1..64 characters of `[A-Za-z0-9_.-]`.
pub fn is_valid_username(name: &str) -> bool {
    segue_protocol::request::is_valid_device_id(name)
}

/// True for an ISO 3166-1 alpha-2 code in capitals.
pub fn is_valid_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Threads that hash passwords: one, so a flood of sign-ins takes one core at most.
const HASHING_THREADS: usize = 1;
/// Sign-ins that may wait for the hashing thread before the next is refused.
const HASHING_QUEUE: usize = 256;

/// The shortest password accepted at registration.
pub const MIN_PASSWORD_CHARS: usize = 6;
const MAX_PASSWORD_CHARS: usize = 1024;

/// Accounts and tokens.
pub struct Accounts {
    store: Store,
    keys: TokenKeys,
    access_ttl_s: u64,
    refresh_ttl_s: u64,
    cache: DashMap<Id, (Arc<Viewer>, Instant)>,
    hashing: password::HashingPool,
}

fn now_s() -> u64 {
    crate::clock::now_ms() / 1000
}

impl Accounts {
    /// Loads (or creates) the token secret from the store.
    pub async fn new(
        store: Store,
        access_ttl_s: u64,
        refresh_ttl_s: u64,
    ) -> Result<Accounts, crate::storage::StoreError> {
        let secret = store.secret("token-hmac", random_secret).await?;
        Ok(Accounts {
            store,
            keys: TokenKeys::new(secret.as_bytes()),
            access_ttl_s,
            refresh_ttl_s,
            cache: DashMap::new(),
            hashing: password::HashingPool::start(HASHING_THREADS, HASHING_QUEUE),
        })
    }

    /// Creates a free user.
    pub async fn register(&self, registration: Registration) -> AppResult<Viewer> {
        if !is_valid_username(&registration.username) {
            return Err(AppError::bad_request("username must be 1..64 characters of [A-Za-z0-9_.-]"));
        }
        let password_chars = registration.password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&password_chars) {
            return Err(AppError::bad_request(format!(
                "password must be {MIN_PASSWORD_CHARS}..{MAX_PASSWORD_CHARS} characters"
            )));
        }
        let display_name = registration.display_name.unwrap_or_else(|| registration.username.clone());
        let display_chars = display_name.chars().count();
        if display_chars == 0 || display_chars > 64 || display_name.chars().any(char::is_control) {
            return Err(AppError::bad_request("display_name must be 1..64 printable characters"));
        }
        let country = registration.country.unwrap_or_else(|| "US".to_string());
        if !is_valid_country(&country) {
            return Err(AppError::bad_request("country must be an ISO 3166-1 alpha-2 code such as \"SE\""));
        }
        let password_hash = self.hashing.hash(registration.password).await?;
        let upsert = UserUpsert {
            username: &registration.username,
            password_hash: &password_hash,
            display_name: Some(&display_name),
            product: Some(Product::Free),
            country: Some(&country),
        };
        let id = match self.store.insert_user(&upsert, crate::clock::now_ms() as i64).await {
            Ok(id) => id,
            Err(err) if err.is_unique_violation() => {
                return Err(AppError::new(ErrorCode::Conflict, "that username is taken"));
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Viewer {
            id,
            username: registration.username,
            display_name,
            product: Product::Free,
            country,
            token_version: 0,
        })
    }

    /// Checks a username and password and issues tokens.
    pub async fn login(&self, username: &str, password: &str) -> AppResult<TokenPair> {
        let record = self.store.user_by_username(username).await?;
        let stored = record.as_ref().map(|r| r.password_hash.clone());
        let matches = self.hashing.verify(password.to_string(), stored).await?;
        match record {
            Some(record) if matches => Ok(self.issue_pair(&Viewer::from(&record))),
            _ => Err(AppError::unauthorized("wrong username or password")),
        }
    }

    /// Trades a refresh token for a new pair.
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<TokenPair> {
        let claims = self
            .keys
            .verify(refresh_token, TokenKind::Refresh, now_s())
            .map_err(|err| AppError::unauthorized(format!("invalid refresh token: {err}")))?;
        let user = self.current_user(&claims).await?;
        Ok(self.issue_pair(&user))
    }

    /// The user behind an access token, or `UNAUTHORIZED`.
    pub async fn authenticate(&self, access_token: &str) -> AppResult<Authenticated> {
        let claims = self
            .keys
            .verify(access_token, TokenKind::Access, now_s())
            .map_err(|err| AppError::unauthorized(format!("invalid access token: {err}")))?;
        let user = self.current_user(&claims).await?;
        Ok(Authenticated { user, expires_at_s: claims.exp })
    }

    async fn current_user(&self, claims: &Claims) -> AppResult<Arc<Viewer>> {
        let id = Id::parse(&claims.sub).ok_or_else(|| AppError::unauthorized("invalid token subject"))?;
        let user = self.profile(id).await.map_err(|err| match err.code {
            ErrorCode::NotFound => AppError::unauthorized("the user of this token no longer exists"),
            _ => err,
        })?;
        if user.token_version != claims.ver {
            return Err(AppError::unauthorized("the token has been revoked"));
        }
        Ok(user)
    }

    /// A user's profile, from the cache when fresh.
    pub async fn profile(&self, id: Id) -> AppResult<Arc<Viewer>> {
        if let Some(entry) = self.cache.get(&id)
            && entry.1.elapsed() < PROFILE_CACHE_TTL
        {
            return Ok(entry.0.clone());
        }
        let record = self.store.user_by_id(id).await?.ok_or_else(|| AppError::not_found("no such user"))?;
        let profile = Arc::new(Viewer::from(&record));
        self.cache.insert(id, (profile.clone(), Instant::now()));
        Ok(profile)
    }

    /// A fresh access token for `user`, valid `ttl_s` seconds.
    pub fn issue_access(&self, user: &Viewer, ttl_s: u64) -> String {
        self.issue(user, TokenKind::Access, ttl_s)
    }

    fn issue(&self, user: &Viewer, typ: TokenKind, ttl_s: u64) -> String {
        let iat = now_s();
        let claims = Claims { sub: user.id.to_string(), iat, exp: iat + ttl_s, typ, ver: user.token_version };
        self.keys.issue(&claims)
    }

    pub fn issue_pair(&self, user: &Viewer) -> TokenPair {
        TokenPair {
            access_token: self.issue(user, TokenKind::Access, self.access_ttl_s),
            refresh_token: self.issue(user, TokenKind::Refresh, self.refresh_ttl_s),
            expires_in: self.access_ttl_s,
        }
    }
}

fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
