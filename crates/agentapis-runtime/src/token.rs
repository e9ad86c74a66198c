//! A bearer token that changes while a client runs (sign-in, refresh), with a single-flight
//! refresh: when several calls see a 401 at once, one refresh runs and all of them retry once
//! with the new token.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use crate::Secret;

/// Gets a fresh access token (e.g. by posting a refresh token); the error is a message for logs
/// and must not contain credentials.
pub type Refresher = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Secret, String>> + Send>> + Send + Sync>;

/// The current token and how many times it has changed.
#[derive(Default)]
struct State {
    generation: u64,
    token: Option<Secret>,
}

/// Shared, replaceable bearer token. `Debug` never shows it.
#[derive(Default)]
pub struct TokenStore {
    state: RwLock<State>,
    refresher: RwLock<Option<Refresher>>,
    flight: tokio::sync::Mutex<()>,
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

    /// Replaces the token.
    pub fn set(&self, token: Secret) {
        if let Ok(mut s) = self.state.write() {
            s.generation += 1;
            s.token = Some(token);
        }
    }

    /// The token and its generation.
    pub fn current(&self) -> (u64, Option<Secret>) {
        self.state
            .read()
            .map(|s| (s.generation, s.token.clone()))
            .unwrap_or_default()
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

    /// Called when a request sent with token generation `seen` got a 401. Runs the refresher
    /// unless another call already replaced the token since; true when a newer token is
    /// available to retry with.
    pub async fn refresh_after(&self, seen: u64) -> bool {
        let _flight = self.flight.lock().await;
        if self.current().0 != seen {
            return true; // someone else refreshed while we waited
        }
        let Some(refresher) = self.refresher.read().ok().and_then(|r| r.clone()) else {
            return false;
        };
        match refresher().await {
            Ok(token) => {
                tracing::info!("access token refreshed after a 401");
                self.set(token);
                true
            }
            Err(message) => {
                tracing::warn!(%message, "token refresh failed");
                false
            }
        }
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

    async fn futures_join(store: &Arc<TokenStore>, seen: u64) -> Vec<bool> {
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let store = Arc::clone(store);
                tokio::spawn(async move { store.refresh_after(seen).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or(false));
        }
        out
    }
}
