//! Accounts: registration, login, refresh, and checking the token of every request and socket.
//!
//! Users live in the store; a short-lived cache keeps the token check of every REST call and
//! socket upgrade off the database while still seeing a change made by `segue users add` (or
//! another node) within [`PROFILE_CACHE_TTL`].
//!
//! Revocation (logout, a new password) bumps the user's token version in the store: every token
//! issued before carries the old version and is refused from then on. This node sees it at once
//! (its cache entry is replaced); another node's cache may still accept an old *access* token for
//! up to [`PROFILE_CACHE_TTL`]. Refresh tokens are always checked against the store itself.

pub mod password;
pub mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use segue_protocol::ErrorCode;

use crate::domain::{Product, Viewer};
use crate::error::{AppError, AppResult};
use crate::ids::Id;
use crate::metrics::{Metrics, Queue};
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
    /// Profiles by user, each trusted for [`PROFILE_CACHE_TTL`]. Capacity:
    /// [`PROFILE_CACHE_MAX`] users; a new one that finds it full first drops the stale entries,
    /// then, if it is full of fresh ones still, the whole cache (counted, `profile_cache`): it is
    /// a cache, and each user's next request reads the store once.
    cache: DashMap<Id, (Arc<Viewer>, Instant)>,
    hashing: password::HashingPool,
    metrics: Arc<Metrics>,
    /// [`PROFILE_CACHE_MAX`], but for tests.
    cache_max: usize,
}

/// Users whose profile the cache holds at most (a few hundred bytes each).
pub const PROFILE_CACHE_MAX: usize = 100_000;

fn now_s() -> u64 {
    crate::clock::now_ms() / 1000
}

impl Accounts {
    /// Loads (or creates) the token secret from the store.
    pub async fn new(
        store: Store,
        access_ttl_s: u64,
        refresh_ttl_s: u64,
        metrics: Arc<Metrics>,
    ) -> Result<Accounts, crate::storage::StoreError> {
        let secret = store.secret("token-hmac", random_secret).await?;
        Ok(Accounts {
            store,
            keys: TokenKeys::new(secret.as_bytes()),
            access_ttl_s,
            refresh_ttl_s,
            cache: DashMap::new(),
            hashing: password::HashingPool::start(HASHING_THREADS, HASHING_QUEUE, metrics.clone()),
            metrics,
            cache_max: PROFILE_CACHE_MAX,
        })
    }

    /// Creates a free user.
    pub async fn register(&self, registration: Registration) -> AppResult<Viewer> {
        if !is_valid_username(&registration.username) {
            return Err(AppError::bad_request("username must be 1..64 characters of [A-Za-z0-9_.-]"));
        }
        check_new_password(&registration.password)?;
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
        // No account has a name outside the rules, so no hash is needed to refuse one.
        if !is_valid_username(username) {
            return Err(AppError::unauthorized("wrong username or password"));
        }
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
        let claims = self.keys.verify(refresh_token, TokenKind::Refresh, now_s())?;
        // Refreshing is rare: ask the store itself, so a revoked refresh token is refused on
        // every node at once, not after the profile cache's lifetime.
        let user = self.current_user(&claims, Freshness::Store).await?;
        Ok(self.issue_pair(&user))
    }

    /// The user behind an access token, or `UNAUTHORIZED`.
    pub async fn authenticate(&self, access_token: &str) -> AppResult<Authenticated> {
        let claims = self.keys.verify(access_token, TokenKind::Access, now_s())?;
        let user = self.current_user(&claims, Freshness::Cached).await?;
        Ok(Authenticated { user, expires_at_s: claims.exp })
    }

    async fn current_user(&self, claims: &Claims, freshness: Freshness) -> AppResult<Arc<Viewer>> {
        let id = Id::parse(&claims.sub).ok_or_else(|| AppError::unauthorized("invalid token subject"))?;
        let profile = match freshness {
            Freshness::Cached => self.profile(id).await,
            Freshness::Store => self.fresh_profile(id).await,
        };
        let user = profile.map_err(|err| match err.code {
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
        self.fresh_profile(id).await
    }

    /// A user's profile read from the store (and cached).
    async fn fresh_profile(&self, id: Id) -> AppResult<Arc<Viewer>> {
        let record = self.store.user_by_id(id).await?.ok_or_else(|| AppError::not_found("no such user"))?;
        let profile = Arc::new(Viewer::from(&record));
        self.remember(profile.clone());
        Ok(profile)
    }

    /// Caches a profile read from the store, unless the cache already holds a newer token
    /// version of it: a read that started before a revocation and ends after it must not bring
    /// the revoked version back.
    fn remember(&self, profile: Arc<Viewer>) {
        let now = Instant::now();
        if self.cache.len() >= self.cache_max && !self.cache.contains_key(&profile.id) {
            self.cache.retain(|_, (_, cached_at)| cached_at.elapsed() < PROFILE_CACHE_TTL);
            if self.cache.len() >= self.cache_max {
                self.metrics.overflowed_by(Queue::ProfileCache, self.cache.len() as u64);
                self.cache.clear();
            }
        }
        self.cache
            .entry(profile.id)
            .and_modify(|entry| {
                if entry.0.token_version <= profile.token_version {
                    *entry = (profile.clone(), now);
                }
            })
            .or_insert_with(|| (profile.clone(), now));
    }

    /// Revokes every token of `user` issued so far, access and refresh: bumps its token version
    /// in the store, and this node's cache sees the new version at once.
    pub async fn revoke_all(&self, user: Id) -> AppResult<()> {
        if !self.store.bump_token_version(user).await? {
            return Err(AppError::not_found("no such user"));
        }
        self.fresh_profile(user).await.map(drop)
    }

    /// Replaces `user`'s password when `old_password` is its current one (else `FORBIDDEN`), and
    /// revokes every token issued so far, as [`Accounts::revoke_all`] does.
    pub async fn change_password(&self, user: Id, old_password: String, new_password: String) -> AppResult<()> {
        check_new_password(&new_password)?;
        let record = self.store.user_by_id(user).await?.ok_or_else(|| AppError::not_found("no such user"))?;
        if !self.hashing.verify(old_password, Some(record.password_hash.clone())).await? {
            return Err(AppError::new(ErrorCode::Forbidden, "the old password is wrong"));
        }
        let new_hash = self.hashing.hash(new_password).await?;
        if !self.store.replace_password(user, &record.password_hash, &new_hash).await? {
            return Err(AppError::new(ErrorCode::Conflict, "the password was changed meanwhile; try again"));
        }
        self.fresh_profile(user).await.map(drop)
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

/// Where [`Accounts::current_user`] reads the user's token version.
#[derive(Debug, Clone, Copy)]
enum Freshness {
    /// The profile cache (at most [`PROFILE_CACHE_TTL`] old).
    Cached,
    /// The store.
    Store,
}

/// A new password (at registration, or a change) is `MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS`
/// characters.
fn check_new_password(password: &str) -> AppResult<()> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AppError::bad_request(format!(
            "password must be {MIN_PASSWORD_CHARS}..{MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StoreLocation;

    #[tokio::test]
    async fn the_profile_cache_stays_within_its_bound_and_counts_what_it_drops() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::DataDir(dir.path().to_path_buf())).await.unwrap();
        let metrics = Arc::new(Metrics::default());
        let mut accounts = Accounts::new(store.clone(), 60, 60, metrics.clone()).await.unwrap();
        accounts.cache_max = 3;
        for n in 0..7 {
            let name = format!("user-{n}");
            let upsert =
                UserUpsert { username: &name, password_hash: "!", display_name: None, product: None, country: None };
            let id = store.insert_user(&upsert, 0).await.unwrap();
            assert_eq!(accounts.profile(id).await.unwrap().username, name);
            assert!(accounts.cache.len() <= 3, "{} cached", accounts.cache.len());
        }
        assert!(metrics.overflows(Queue::ProfileCache) >= 3, "the fresh entries dropped were counted");
    }
}
