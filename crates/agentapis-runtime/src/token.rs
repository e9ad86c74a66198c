//! A bearer token that changes while a client runs (sign-in, refresh), with a single-flight
//! refresh: when several calls see a 401 for one token, one refresh runs and every one of them
//! shares its result. A failed refresh is not repeated for the same token: the next refresh
//! happens only once the token has changed (a new sign-in or `set`), so a broken refresh
//! endpoint sees one request per token, not one per waiting call.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use reqwest::header::HeaderValue;

use crate::Secret;

/// Gets a fresh access token (e.g. by posting a refresh token); the error is a message for logs
/// and must not contain credentials.
pub type Refresher = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Secret, String>> + Send>> + Send + Sync>;

/// The current token and how many times it has changed.
#[derive(Default)]
struct State {
    generation: u64,
    token: Option<Secret>,
    /// `Authorization: Bearer <token>`, built once per token (every request copies it).
    header: Option<HeaderValue>,
}

impl State {
    fn replace(&mut self, token: Secret) {
        self.generation = self.generation.wrapping_add(1);
        self.header = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .ok()
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        self.token = Some(token);
    }
}

/// How long one refresh may take, whatever the calls waiting on it allow: a hung refresh
/// endpoint must not hold the flight (and every later 401 for that token) open for ever.
pub const REFRESH_LIMIT: Duration = Duration::from_secs(60);

/// The one refresh of one token generation: `None` while it runs, then whether it succeeded.
struct Flight {
    generation: u64,
    done: watch::Receiver<Option<bool>>,
}

/// How a wait for a refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// A newer token is available: resend with it.
    Refreshed,
    /// The refresh failed (now or earlier for this token), or no refresher is installed.
    Failed,
    /// The caller's deadline passed first (the refresh goes on for the others).
    DeadlinePassed,
}

/// Shared, replaceable bearer token. `Debug` never shows it.
#[derive(Default)]
pub struct TokenStore {
    state: RwLock<State>,
    refresher: RwLock<Option<Refresher>>,
    flight: Mutex<Option<Flight>>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (generation, has_token) = self
            .state
            .read()
            .map(|s| (s.generation, s.token.is_some()))
            .unwrap_or_default();
        f.debug_struct("TokenStore")
            .field("generation", &generation)
            .field("token", &if has_token { "<redacted>" } else { "<none>" })
            .field("refreshable", &self.can_refresh())
            .finish()
    }
}

impl TokenStore {
    /// An empty store (requests go without a bearer token until one is set).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Replaces the token only if it is still generation `expected` (a refresh that finishes
    /// after a new sign-in must not overwrite it); false when it has moved on.
    pub fn set_if_current(&self, expected: u64, token: Secret) -> bool {
        match self.state.write() {
            Ok(mut s) if s.generation == expected => {
                s.replace(token);
                true
            }
            _ => false,
        }
    }

    /// Replaces the token.
    pub fn set(&self, token: Secret) {
        if let Ok(mut s) = self.state.write() {
            s.replace(token);
        }
    }

    /// The token and its generation.
    pub fn current(&self) -> (u64, Option<Secret>) {
        self.state
            .read()
            .map(|s| (s.generation, s.token.clone()))
            .unwrap_or_default()
    }

    /// When there is a token: its generation and its `Authorization` value (marked sensitive;
    /// `None` if the token is not a valid header value).
    pub(crate) fn authorization(&self) -> Option<(u64, Option<HeaderValue>)> {
        let s = self.state.read().ok()?;
        s.token.as_ref()?;
        Some((s.generation, s.header.clone()))
    }

    /// Installs the function that gets a new token after a 401.
    pub fn set_refresher(&self, refresher: Refresher) {
        if let Ok(mut r) = self.refresher.write() {
            *r = Some(refresher);
        }
    }

    /// Whether a refresher is installed.
    pub fn can_refresh(&self) -> bool {
        self.refresher.read().map(|r| r.is_some()).unwrap_or(false)
    }

    /// Called when a request sent with token generation `seen` got a 401. Starts the refresh of
    /// that generation unless one already ran or runs, then waits for its result until
    /// `deadline`. The refresh runs as its own task, so a caller that gives up at its deadline
    /// does not cancel it for the others.
    pub async fn refresh_after(self: &Arc<Self>, seen: u64, deadline: Option<Instant>) -> RefreshOutcome {
        let Some(mut done) = self.join_or_start(seen) else {
            return RefreshOutcome::Refreshed; // someone else already replaced the token
        };
        let finished = done.wait_for(Option::is_some);
        let result = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline.into(), finished).await {
                Ok(result) => result.map(|r| *r),
                Err(_) => return RefreshOutcome::DeadlinePassed,
            },
            None => finished.await.map(|r| *r),
        };
        match result {
            Ok(Some(true)) => RefreshOutcome::Refreshed,
            _ => RefreshOutcome::Failed,
        }
    }

    /// The receiver of generation `seen`'s refresh, starting it if needed; `None` when the token
    /// has changed since `seen`.
    fn join_or_start(self: &Arc<Self>, seen: u64) -> Option<watch::Receiver<Option<bool>>> {
        let Ok(mut flight) = self.flight.lock() else {
            let (_, done) = watch::channel(Some(false));
            return Some(done);
        };
        if self.current().0 != seen {
            return None;
        }
        if let Some(running) = flight.as_ref().filter(|f| f.generation == seen) {
            return Some(running.done.clone());
        }
        let (report, done) = watch::channel(None);
        *flight = Some(Flight {
            generation: seen,
            done: done.clone(),
        });
        let refresher = self.refresher.read().ok().and_then(|r| r.clone());
        let store = Arc::clone(self);
        tokio::spawn(async move {
            let ok = match refresher {
                None => false,
                Some(refresher) => match tokio::time::timeout(REFRESH_LIMIT, refresher()).await {
                    Ok(Ok(token)) => {
                        if store.set_if_current(seen, token) {
                            tracing::info!("access token refreshed after a 401");
                        } else {
                            tracing::info!("token replaced while refreshing; the refreshed one is dropped");
                        }
                        // Either way a newer token than `seen` is there to resend with.
                        true
                    }
                    Ok(Err(message)) => {
                        tracing::warn!(%message, "token refresh failed; not retried for this token");
                        false
                    }
                    Err(_) => {
                        tracing::warn!(limit_s = REFRESH_LIMIT.as_secs(), "token refresh timed out");
                        false
                    }
                },
            };
            let _ = report.send(Some(ok));
        });
        Some(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_refreshes_run_once() {
        let store = TokenStore::new();
        store.set(Secret::new("old"));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        store.set_refresher(Arc::new(move || {
            let counter = Arc::clone(&counter);
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok(Secret::new("new"))
            })
        }));
        let (seen, _) = store.current();
        let results = futures_join(&store, seen).await;
        assert!(results.iter().all(|r| *r));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(store.current().1.map(|s| s.expose().to_owned()).as_deref(), Some("new"));
        assert!(!format!("{store:?}").contains("new"));
    }

    #[tokio::test]
    async fn a_failed_refresh_is_shared_and_not_repeated_for_the_same_token() {
        let store = TokenStore::new();
        store.set(Secret::new("old"));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        store.set_refresher(Arc::new(move || {
            let counter = Arc::clone(&counter);
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Err("refresh endpoint answered 500".to_owned())
            })
        }));
        let (seen, _) = store.current();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.refresh_after(seen, None).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.ok(), Some(RefreshOutcome::Failed));
        }
        // A later 401 for the same token shares the failure too.
        assert_eq!(store.refresh_after(seen, None).await, RefreshOutcome::Failed);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A new token (a new sign-in) may be refreshed again.
        store.set(Secret::new("signed-in-again"));
        assert_eq!(
            store.refresh_after(store.current().0, None).await,
            RefreshOutcome::Failed
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_hanging_refresh_ends_at_the_callers_deadline() {
        let store = TokenStore::new();
        store.set(Secret::new("old"));
        store.set_refresher(Arc::new(|| {
            Box::pin(async {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                Ok(Secret::new("never"))
            })
        }));
        let started = std::time::Instant::now();
        let deadline = started + std::time::Duration::from_millis(100);
        let outcome = store.refresh_after(store.current().0, Some(deadline)).await;
        assert_eq!(outcome, RefreshOutcome::DeadlinePassed);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_refresh_that_ends_after_a_new_sign_in_does_not_overwrite_it() {
        let store = TokenStore::new();
        store.set(Secret::new("user-a"));
        store.set_refresher(Arc::new(|| {
            Box::pin(async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok(Secret::new("user-a-refreshed"))
            })
        }));
        let seen = store.current().0;
        let waiter = {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.refresh_after(seen, None).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        store.set(Secret::new("user-b")); // a new sign-in while the refresh runs
        assert_eq!(waiter.await.ok(), Some(RefreshOutcome::Refreshed));
        assert_eq!(
            store.current().1.map(|s| s.expose().to_owned()).as_deref(),
            Some("user-b")
        );
    }

    async fn futures_join(store: &Arc<TokenStore>, seen: u64) -> Vec<bool> {
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let store = Arc::clone(store);
                tokio::spawn(async move { store.refresh_after(seen, None).await == RefreshOutcome::Refreshed })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or(false));
        }
        out
    }
}
