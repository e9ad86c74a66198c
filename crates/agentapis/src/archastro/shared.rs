//! A session shared by a fleet (`ClientBuilder::share_session`): the token pair lives in the
//! fleet's session store, and a 401 is answered by [`refresh_shared`], so that of all the
//! processes holding the session exactly one spends the single-use refresh token and the others
//! take up the pair it stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use agentapis_runtime::fleet::{refresh_shared, Fleet, SessionStore, StoreError};
use agentapis_runtime::token::{Refresher, REFRESH_LIMIT};
use agentapis_runtime::{Secret, TokenStore};

use super::{generated, post_refresh, ArchAstro};
use crate::client::Vendor as _;
use crate::Error;

/// What a shared refresh leaves of the token store's limit to release its lock.
const UNLOCK_ROOM: std::time::Duration = std::time::Duration::from_secs(10);

/// Where the session is shared, and which generation of it this process holds.
#[derive(Clone)]
pub(crate) struct SharedSession {
    /// For its time limit on store operations.
    pub(crate) fleet: Fleet,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) key: String,
    pub(crate) held: Arc<AtomicU64>,
}

impl std::fmt::Debug for SharedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSession")
            .field("held_generation", &self.held.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn shared_error(problem: StoreError) -> Error {
    Error::SharedSession {
        api: ArchAstro::API,
        problem,
    }
}

impl SharedSession {
    /// Writes this process's pair as the session's newest generation.
    pub(crate) async fn publish(&self, access: &Secret, refresh: Option<&Secret>) -> Result<(), Error> {
        let generation = self.bounded(self.store.store(&self.key, access, refresh)).await?;
        self.held.store(generation, Ordering::Relaxed);
        Ok(())
    }

    /// Runs a store operation within the fleet's store time limit.
    async fn bounded<T>(&self, op: impl std::future::Future<Output = Result<T, StoreError>>) -> Result<T, Error> {
        match self.fleet.bounded(None, op).await {
            Some(result) => result.map_err(shared_error),
            None => Err(shared_error(StoreError::Timeout(
                agentapis_runtime::fleet::DEFAULT_STORE_TIMEOUT,
            ))),
        }
    }

    /// Takes up the stored pair when it is another than the one held; false when it is not.
    pub(crate) async fn load(&self, tokens: &TokenStore, refresh_slot: &RwLock<Option<Secret>>) -> Result<bool, Error> {
        let Some(stored) = self.bounded(self.store.load(&self.key)).await? else {
            return Ok(false);
        };
        if stored.generation == self.held.load(Ordering::Relaxed) {
            return Ok(false);
        }
        tokens.set(stored.access);
        if let Ok(mut slot) = refresh_slot.write() {
            *slot = stored.refresh;
        }
        self.held.store(stored.generation, Ordering::Relaxed);
        Ok(true)
    }

    /// The refresher for a shared session: adopt a newer stored pair, or refresh under the
    /// store's lock with the stored refresh token.
    pub(crate) fn refresher(
        &self,
        auth_client: generated::Client,
        refresh_slot: Arc<RwLock<Option<Secret>>>,
    ) -> Refresher {
        let shared = self.clone();
        Arc::new(move || {
            let (shared, client, slot) = (shared.clone(), auth_client.clone(), Arc::clone(&refresh_slot));
            Box::pin(async move {
                let held = shared.held.load(Ordering::Relaxed);
                let local = slot.read().ok().and_then(|r| r.clone());
                // Inside the token store's own limit on a refresh, with room to release the lock.
                let deadline = Instant::now() + REFRESH_LIMIT.saturating_sub(UNLOCK_ROOM);
                let done = refresh_shared(&shared.store, &shared.key, held, local, deadline, |token| async move {
                    let (access, rotated) = post_refresh(&client, token).await?;
                    Ok((access, Some(rotated)))
                })
                .await?;
                let tokens = done.tokens();
                shared.held.store(tokens.generation, Ordering::Relaxed);
                if let Ok(mut s) = slot.write() {
                    s.clone_from(&tokens.refresh);
                }
                Ok(tokens.access.clone())
            })
        })
    }
}
