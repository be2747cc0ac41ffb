//! The REST API's rate limits (`governor`, GCRA): per user and per class of endpoint — search,
//! writes, stream URLs — and sign-in attempts per username. Past a limit a request is answered
//! `429` `RATE_LIMITED` with `Retry-After` (whole seconds, rounded up) before its handler runs,
//! so it changes nothing and, for a sign-in, costs no password hash.
//!
//! Every key has its own bucket: one user's (or one username's) requests never use another's
//! budget. The per-user classes are checked by the [`super::AuthUser`] extractor once the token
//! names the user; the sign-in limit by the login handler, keyed by the username in the body.
//! The limits are per node: in a cluster a client that spreads its requests over N nodes gets
//! up to N times the budget.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::http::Method;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use segue_protocol::ErrorCode;

use crate::config::RestRateLimits;
use crate::error::AppError;
use crate::ids::Id;

/// Keys one limiter tracks before it starts afresh (see [`KeyedLimit`]).
const MAX_KEYS: usize = 65_536;
/// A limiter forgets its idle keys every this many checks.
const PRUNE_EVERY: u64 = 1_024;

/// A class of endpoints with a per-user limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `GET /v1/search`.
    Search,
    /// PUT, POST, PATCH and DELETE under `/v1`, except `/v1/auth/…`.
    Write,
    /// `GET /v1/tracks/{id}/stream`.
    Stream,
}

impl Class {
    /// The class of a request, by its method and its route (`/v1/tracks/{id}/stream`, as
    /// actix-web names the matched resource) or, without one, its path.
    pub fn of(method: &Method, route: &str) -> Option<Class> {
        let write = matches!(*method, Method::PUT | Method::POST | Method::PATCH | Method::DELETE);
        if route == "/v1/search" {
            Some(Class::Search)
        } else if route == "/v1/tracks/{id}/stream" {
            Some(Class::Stream)
        } else if write && route.starts_with("/v1/") && !route.starts_with("/v1/auth/") {
            Some(Class::Write)
        } else {
            None
        }
    }

    fn what(self) -> &'static str {
        match self {
            Class::Search => "searches",
            Class::Write => "changes",
            Class::Stream => "stream URLs",
        }
    }
}

/// Every REST limit of a node.
pub struct RestLimits {
    search: Option<KeyedLimit<Id>>,
    writes: Option<KeyedLimit<Id>>,
    stream: Option<KeyedLimit<Id>>,
    /// Keyed by username: only names that follow the username rules (at most 64 bytes) are
    /// checked, since no account has any other (`Accounts::login` refuses those unhashed).
    login: Option<KeyedLimit<String>>,
}

impl RestLimits {
    pub fn new(config: &RestRateLimits) -> RestLimits {
        let per_second = |n| NonZeroU32::new(n).map(|n| KeyedLimit::new(Quota::per_second(n)));
        RestLimits {
            search: per_second(config.search_per_second),
            writes: per_second(config.writes_per_second),
            stream: per_second(config.stream_per_second),
            login: NonZeroU32::new(config.login_per_minute).map(|n| KeyedLimit::new(Quota::per_minute(n))),
        }
    }

    /// Counts one request of `class` by `user`; `RATE_LIMITED` past the limit.
    pub fn check(&self, class: Class, user: Id) -> Result<(), AppError> {
        let limit = match class {
            Class::Search => &self.search,
            Class::Write => &self.writes,
            Class::Stream => &self.stream,
        };
        match limit {
            Some(limit) => limit.check(&user).map_err(|wait| limited(format!("too many {}", class.what()), wait)),
            None => Ok(()),
        }
    }

    /// Counts one password attempt for `username` (a sign-in, or the old password of a change);
    /// `RATE_LIMITED` past the limit.
    pub fn check_login(&self, username: &str) -> Result<(), AppError> {
        match &self.login {
            Some(limit) if crate::auth::is_valid_username(username) => limit
                .check(&username.to_string())
                .map_err(|wait| limited(format!("too many sign-in attempts for {username:?}"), wait)),
            _ => Ok(()),
        }
    }
}

fn limited(message: String, wait: Duration) -> AppError {
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    AppError::new(ErrorCode::RateLimited, format!("{message}; retry in {} s", wait_ms.div_ceil(1000)))
        .with_retry_after(wait_ms)
}

/// One quota, one bucket per key.
///
/// **Capacity and overflow.** A keyed limiter keeps a state (about 50 bytes with a user id, 120
/// with a username) for every key it has seen. Every [`PRUNE_EVERY`] checks it drops the keys
/// whose buckets are full again (`retain_recent`: indistinguishable from a key never seen), so it
/// holds only keys used within about one period (a second; a minute for sign-ins). If more than
/// [`MAX_KEYS`] are still live after pruning — only a flood of distinct keys gets there — the
/// whole table is replaced by an empty one: every key starts again with a full bucket. So a
/// limiter never holds more than `MAX_KEYS + PRUNE_EVERY` keys (≈ 3.5 MB for user ids, ≈ 8 MB
/// for usernames), and overflowing it loosens the limits for a moment; it never refuses anyone
/// who is within their own limit.
struct KeyedLimit<K: Hash + Eq + Clone> {
    quota: Quota,
    /// Swapped for an empty limiter on overflow; read (an `Arc` clone) on every check.
    table: RwLock<Arc<DefaultKeyedRateLimiter<K>>>,
    checks: AtomicU64,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    fn new(quota: Quota) -> KeyedLimit<K> {
        let clock = DefaultClock::default();
        KeyedLimit {
            quota,
            table: RwLock::new(Arc::new(RateLimiter::dashmap_with_clock(quota, clock.clone()))),
            checks: AtomicU64::new(0),
            clock,
        }
    }

    fn current(&self) -> Arc<DefaultKeyedRateLimiter<K>> {
        self.table.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// One request for `key`; how long to wait when over the limit.
    fn check(&self, key: &K) -> Result<(), Duration> {
        self.count();
        let limiter = self.current();
        limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn count(&self) {
        if (self.checks.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(PRUNE_EVERY) {
            self.prune();
        }
    }

    fn prune(&self) {
        let limiter = self.current();
        let before = limiter.len();
        limiter.retain_recent();
        let live = limiter.len();
        if live > MAX_KEYS {
            tracing::warn!(live, max = MAX_KEYS, "a REST rate limiter overflowed; every key starts afresh");
            let fresh = Arc::new(RateLimiter::dashmap_with_clock(self.quota, self.clock.clone()));
            *self.table.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        } else if live < before / 2 {
            limiter.shrink_to_fit();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classed_by_method_and_route() {
        assert_eq!(Class::of(&Method::GET, "/v1/search"), Some(Class::Search));
        assert_eq!(Class::of(&Method::GET, "/v1/tracks/{id}/stream"), Some(Class::Stream));
        assert_eq!(Class::of(&Method::GET, "/v1/tracks/{id}"), None);
        assert_eq!(Class::of(&Method::GET, "/v1/me/player"), None);
        for method in [Method::PUT, Method::POST, Method::DELETE, Method::PATCH] {
            assert_eq!(Class::of(&method, "/v1/me/player/pause"), Some(Class::Write));
            assert_eq!(Class::of(&method, "/v1/me/password"), Some(Class::Write));
            assert_eq!(Class::of(&method, "/v1/auth/logout"), None);
            assert_eq!(Class::of(&method, "/v1/auth/login"), None);
        }
        assert_eq!(Class::of(&Method::POST, "/metrics"), None);
        // The web player's page and files are no API call: no class, whatever the method.
        assert_eq!(Class::of(&Method::GET, "/"), None);
        assert_eq!(Class::of(&Method::GET, "/web/{file}"), None);
    }

    #[test]
    fn each_user_has_a_bucket_of_its_own() {
        let limits = RestLimits::new(&RestRateLimits { search_per_second: 3, ..RestRateLimits::DEFAULT });
        let (alice, bob) = (Id::random(), Id::random());
        for _ in 0..3 {
            limits.check(Class::Search, alice).unwrap();
        }
        let refused = limits.check(Class::Search, alice).unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert!(refused.retry_after_ms.is_some_and(|ms| (1..=1_000).contains(&ms)), "{refused:?}");
        // Bob, and Alice's other classes, are untouched.
        limits.check(Class::Search, bob).unwrap();
        limits.check(Class::Write, alice).unwrap();
        limits.check(Class::Stream, alice).unwrap();
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let off =
            RestRateLimits { search_per_second: 0, writes_per_second: 0, stream_per_second: 0, login_per_minute: 0 };
        let limits = RestLimits::new(&off);
        let user = Id::random();
        for _ in 0..1_000 {
            limits.check(Class::Search, user).unwrap();
            limits.check_login("alice").unwrap();
        }
    }

    #[test]
    fn sign_ins_are_counted_per_username_and_retry_after_is_in_the_minute() {
        let limits = RestLimits::new(&RestRateLimits { login_per_minute: 2, ..RestRateLimits::DEFAULT });
        limits.check_login("alice").unwrap();
        limits.check_login("alice").unwrap();
        let refused = limits.check_login("alice").unwrap_err();
        // 2 a minute: the next attempt is allowed 30 s after the first.
        assert!(refused.retry_after_ms.is_some_and(|ms| (29_000..=30_000).contains(&ms)), "{refused:?}");
        limits.check_login("bob").unwrap();
        // A name no account can have is not tracked (it is refused without a hash anyway).
        let long = "x".repeat(10_000);
        for _ in 0..10 {
            limits.check_login(&long).unwrap();
        }
        assert_eq!(limits.login.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn idle_keys_are_forgotten() {
        // 1,000 a second: a key's bucket is full again a millisecond after its request.
        let limit = KeyedLimit::<u64>::new(Quota::per_second(NonZeroU32::new(1_000).unwrap()));
        for key in 0..100 {
            limit.check(&key).unwrap();
        }
        assert_eq!(limit.len(), 100);
        std::thread::sleep(Duration::from_millis(5));
        limit.prune();
        assert_eq!(limit.len(), 0);
    }

    #[test]
    fn a_flood_of_keys_stays_bounded_and_starts_afresh() {
        // One a minute: every key stays live for the whole test.
        let limit = KeyedLimit::<u64>::new(Quota::per_minute(NonZeroU32::new(1).unwrap()));
        limit.check(&0).unwrap();
        assert!(limit.check(&0).is_err());
        for key in 1..(MAX_KEYS as u64 + 2 * PRUNE_EVERY) {
            let _ = limit.check(&key);
            assert!(limit.len() <= MAX_KEYS + PRUNE_EVERY as usize, "{} keys after {key}", limit.len());
        }
        // The table overflowed once and was replaced: key 0 has a full bucket again.
        assert!(limit.len() <= 2 * PRUNE_EVERY as usize, "{}", limit.len());
        assert!(limit.check(&0).is_ok());
    }
}
