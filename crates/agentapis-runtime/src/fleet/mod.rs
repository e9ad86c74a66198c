//! Fleet mode: client-side limits and the server-stated budget kept in a store that many
//! clients, processes or machines share, so that together they stay inside one account's limits.
//!
//! Every runtime keeps its limits in a [`LimitStore`]. By default that is a [`MemoryStore`] of
//! its own (what a single process needs); a [`Fleet`] swaps in a shared one, such as
//! `RedisStore` (cargo feature `redis`). Keys name the API and a hash
//! of the credential, never the credential itself (see [`fingerprint`]).
//!
//! When the store fails, the [`FailurePolicy`] decides: fail open to the runtime's own
//! in-memory limits (the default, with a `tracing` warning), or fail closed with a typed
//! refusal. No store operation outlives the caller's deadline or the store's own time limit.

mod arithmetic;
pub mod conformance;
mod keys;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod session;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub use keys::Keys;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use session::{refresh_shared, SharedRefresh};

use crate::{Api, Secret};

/// A boxed future, as the store traits return (they are used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A client-side request rate: `per_minute` requests a minute, of which up to `burst` may go
/// out back to back (a generic cell rate algorithm: one request every `60 s / per_minute`, with
/// `burst - 1` intervals of credit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// Requests per minute (at least 1).
    pub per_minute: u32,
    /// Requests that may go out at once after a quiet spell (at least 1).
    pub burst: u32,
}

impl Quota {
    /// `per_minute` requests a minute with a burst of `burst` (both at least 1).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            burst: burst.max(1),
        }
    }

    /// The spacing between requests, in nanoseconds (at least 1).
    pub fn interval_nanos(&self) -> u64 {
        (60_000_000_000 / u64::from(self.per_minute.max(1))).max(1)
    }

    /// How far ahead of now the schedule may run, in nanoseconds: `burst - 1` intervals.
    pub fn tolerance_nanos(&self) -> u64 {
        self.interval_nanos().saturating_mul(u64::from(self.burst.max(1) - 1))
    }
}

/// A rate limit's answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateAnswer {
    /// A place is reserved: send after this wait (zero: now).
    Go(Duration),
    /// The next place is further away than the caller can wait; nothing was reserved.
    TooFar(Duration),
}

/// Why a store operation failed. Messages never hold credentials or the store's address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached (refused, reset, not yet connected).
    #[error("the limit store is unreachable ({0})")]
    Unreachable(String),
    /// The store did not answer within its time limit.
    #[error("the limit store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store answered something unexpected (a script error, a wrong type).
    #[error("the limit store answered unexpectedly ({0})")]
    Protocol(String),
}

/// What a runtime does when its fleet store fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Go on with the runtime's own in-memory limits (each process then holds to the limits on
    /// its own, as without a fleet), logging a warning when the store fails and when it recovers.
    #[default]
    FailOpen,
    /// Refuse to send: the call fails with a typed error naming the store failure.
    FailClosed,
}

/// Where limit state lives: the client-side rate limit, the concurrency slots and the budget
/// a server stated in its `X-RateLimit-*` headers. Keys come from the runtime (API, credential
/// hash, scope); a store only keeps them apart.
///
/// Waiting is left to the runtime: every method answers at once (or fails), and says how long to
/// wait when the answer is "not yet". Methods added to this trait in later versions will come
/// with default implementations.
pub trait LimitStore: Send + Sync + fmt::Debug {
    /// Reserves the next place in `quota`'s schedule kept under `key`, if it comes within
    /// `max_wait`. Reserving a future place (rather than asking again later) keeps the
    /// schedule exact however many callers wait: each sleeps until its own place.
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        quota: Quota,
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<RateAnswer, StoreError>>;

    /// Leases one of `max` slots under `key` as lease `lease` (an id the caller chose, so it can
    /// give back a lease granted after it stopped waiting) for at most `ttl` (so a holder that
    /// crashed frees its slot when the lease expires): `Ok(false)` when all are held.
    fn lease_slot<'a>(
        &'a self,
        key: &'a str,
        max: u32,
        ttl: Duration,
        lease: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Gives lease `lease` back. Best effort: a lease that is not given back expires.
    fn release_slot(&self, key: &str, lease: u64);

    /// Records that a response said `remaining` requests are left until `reset_in` from now.
    /// When that spends the budget until a reset further than `probe_interval` away, the first
    /// probe may go only an interval from now (every holder waits one interval for the reset to
    /// come nearer before a request tests it).
    fn note_budget<'a>(
        &'a self,
        key: &'a str,
        remaining: u64,
        reset_in: Duration,
        probe_interval: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Takes one request from the server-stated budget under `key`: `Ok(None)` when it may go
    /// (or no budget is known), `Ok(Some(wait))` when the budget is spent until the reset. When
    /// the reset is further than `probe_interval` away, one request per interval goes as a probe
    /// (for all holders of the budget together) and the others wait at most until the next.
    fn take_budget<'a>(
        &'a self,
        key: &'a str,
        probe_interval: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>>;
}

/// A session's tokens as a [`SessionStore`] keeps them, with the number of times they rotated.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedTokens {
    /// Bumped by every write; a refresh writes only over the generation it refreshed.
    pub generation: u64,
    /// The access token.
    pub access: Secret,
    /// The refresh token, when the session has one.
    pub refresh: Option<Secret>,
}

impl SharedTokens {
    /// Tokens as a store read them (for implementors of [`SessionStore`]).
    pub fn new(generation: u64, access: Secret, refresh: Option<Secret>) -> Self {
        Self {
            generation,
            access,
            refresh,
        }
    }
}

impl fmt::Debug for SharedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTokens")
            .field("generation", &self.generation)
            .field("access", &self.access)
            .field("refresh", &self.refresh)
            .finish()
    }
}

/// Where a session's token pair is shared, with a lock so that one holder refreshes it at a time
/// (refresh tokens that are single-use must not be spent twice). Tokens are written in clear:
/// share a session only through a store you trust with it. Methods added to this trait in later
/// versions will come with default implementations.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// The tokens under `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<SharedTokens>, StoreError>>;

    /// Writes `access`/`refresh` as generation `expected + 1` if the stored generation is still
    /// `expected` (0 when nothing is stored); `Ok(false)` when another writer got there first.
    fn store_if<'a>(
        &'a self,
        key: &'a str,
        expected: u64,
        access: &'a Secret,
        refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Writes the tokens whatever is stored (a new sign-in), as the next generation.
    fn store<'a>(
        &'a self,
        key: &'a str,
        access: &'a Secret,
        refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Takes the refresh lock under `key` for at most `ttl`: `Ok(Some(lock))` when taken.
    fn lock<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<u64>, StoreError>>;

    /// Releases the lock if `lock` still holds it (an expired lock taken by another is left).
    fn unlock<'a>(&'a self, key: &'a str, lock: u64) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// A shared store and how to use it: one builder call (`.fleet(..)`) puts a client in a fleet.
/// Cheap to clone; every client given the same `Fleet` (or one on the same Redis and
/// namespace) shares limits with the others for the same API and credential.
#[derive(Clone)]
pub struct Fleet {
    pub(crate) limits: Arc<dyn LimitStore>,
    pub(crate) sessions: Option<Arc<dyn SessionStore>>,
    pub(crate) namespace: Arc<str>,
    pub(crate) failure: FailurePolicy,
    pub(crate) store_timeout: Duration,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("limits", &self.limits)
            .field("namespace", &self.namespace)
            .field("failure", &self.failure)
            .field("store_timeout", &self.store_timeout)
            .finish_non_exhaustive()
    }
}

/// How long one store operation may take by default before it counts as a failure.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(500);

impl Fleet {
    /// A fleet keeping its limits in `store`, keys under `namespace` (e.g. your app's name).
    pub fn new(store: Arc<dyn LimitStore>, namespace: &str) -> Self {
        Self {
            limits: store,
            sessions: None,
            namespace: namespace.into(),
            failure: FailurePolicy::default(),
            store_timeout: DEFAULT_STORE_TIMEOUT,
        }
    }

    /// One process's fleet in memory: clients built with clones of it share limits (useful in
    /// tests, or for several clients with one key in one process).
    pub fn in_memory(namespace: &str) -> Self {
        let store = Arc::new(MemoryStore::new());
        Self::new(store.clone(), namespace).with_sessions(store)
    }

    /// A fleet on the Redis server at `url` (cargo feature `redis`), sharing limits and, for the
    /// clients that opt in, sessions. Connects on first use.
    #[cfg(feature = "redis")]
    pub fn redis(url: &str, namespace: &str) -> Result<Self, StoreError> {
        let store = Arc::new(RedisStore::open(url)?);
        Ok(Self::new(store.clone(), namespace).with_sessions(store))
    }

    /// Shares sessions through `store` as well (only clients that opt in use it).
    pub fn with_sessions(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self
    }

    /// What to do when the store fails (default: [`FailurePolicy::FailOpen`]).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.failure = policy;
        self
    }

    /// How long one store operation may take before it counts as failed (default 500 ms).
    pub fn store_timeout(mut self, limit: Duration) -> Self {
        self.store_timeout = limit.max(Duration::from_millis(1));
        self
    }

    /// The failure policy.
    pub fn failure_policy(&self) -> FailurePolicy {
        self.failure
    }

    /// The session store, when sessions are shared.
    pub fn sessions(&self) -> Option<&Arc<dyn SessionStore>> {
        self.sessions.as_ref()
    }

    /// Where a session of `api` opened with `credentials` (the app's key) is shared.
    pub fn session_key(&self, api: Api, credentials: &[&Secret]) -> String {
        self.keys(api, &fingerprint(&self.namespace, credentials)).session()
    }

    /// The keys of a client of `api` whose credentials have fingerprint `credential` (see
    /// [`Keys`] for every key and what it holds).
    pub fn keys(&self, api: Api, credential: &str) -> Keys {
        Keys::new(&self.namespace, api, credential)
    }

    /// The key prefix for `api` and credentials with fingerprint `credential`.
    pub fn key(&self, api: Api, credential: &str) -> String {
        self.keys(api, credential).prefix().to_owned()
    }

    /// Runs a store operation within the store's time limit and the caller's deadline: `None`
    /// when the deadline came first. (For the facade's shared sessions.)
    #[doc(hidden)]
    pub async fn bounded<T>(
        &self,
        deadline: Option<Instant>,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Option<Result<T, StoreError>> {
        // A time limit too far to add to now is no limit.
        let limit = Instant::now().checked_add(self.store_timeout);
        let until = match (limit, deadline) {
            (Some(l), Some(d)) => Some(l.min(d)),
            (l, d) => l.or(d),
        };
        let Some(until) = until else {
            return Some(op.await);
        };
        match tokio::time::timeout_at(until.into(), op).await {
            Ok(result) => Some(result),
            Err(_) if deadline.is_some_and(|d| limit.is_none_or(|l| d <= l)) => None,
            Err(_) => Some(Err(StoreError::Timeout(self.store_timeout))),
        }
    }
}

/// A stable, one-way name for a set of credentials, for store keys: the first 128 bits of
/// SHA-256 over the namespace and the credentials, in hex. The namespace salts it, so the same
/// key in two apps gives two names; nothing in a key lets anyone recover the credential.
pub fn fingerprint(namespace: &str, credentials: &[&Secret]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"agentapis-fleet\0");
    hash.update(namespace.as_bytes());
    for secret in credentials {
        hash.update([0u8]);
        hash.update(secret.expose().as_bytes());
    }
    hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_hide_the_key_and_depend_on_namespace() {
        let key = Secret::new("sk_live_abcdef");
        let a = fingerprint("app", &[&key]);
        assert_eq!(a.len(), 32);
        assert!(!a.contains("abcdef"));
        assert_eq!(a, fingerprint("app", &[&key]));
        assert_ne!(a, fingerprint("other", &[&key]));
        assert_ne!(a, fingerprint("app", &[&Secret::new("sk_live_abcdeg")]));
    }

    #[test]
    fn quota_arithmetic_never_overflows() {
        let q = Quota::new(0, 0);
        assert_eq!((q.per_minute, q.burst), (1, 1));
        assert_eq!(q.interval_nanos(), 60_000_000_000);
        assert_eq!(q.tolerance_nanos(), 0);
        let q = Quota::new(u32::MAX, u32::MAX);
        assert!(q.interval_nanos() >= 1);
        let _ = q.tolerance_nanos();
        assert_eq!(Quota::new(120, 3).tolerance_nanos(), 1_000_000_000);
    }
}
