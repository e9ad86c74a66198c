//! Refreshing a session shared by many processes: exactly one of them spends the (single-use)
//! refresh token; the others wait for, and take up, the pair it stored.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{SessionStore, SharedTokens, StoreError};
use crate::Secret;

/// How long one holder may keep the refresh lock: longer than a refresh may take (the runtime's
/// `REFRESH_LIMIT`), so a lock outlives only a holder that crashed.
const LOCK_TTL: Duration = Duration::from_secs(65);
/// How often a waiter looks for the rotated pair.
const POLL: Duration = Duration::from_millis(25);
/// How long writing a refreshed pair, or releasing the lock, may take.
const STORE_WRITE_LIMIT: Duration = Duration::from_secs(5);
/// How many more times a refreshed pair the store did not take is written.
const WRITE_RETRIES: u32 = 3;

/// How a shared refresh ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SharedRefresh {
    /// This process refreshed and stored the new pair.
    Refreshed(SharedTokens),
    /// Another process had already rotated the pair past the one this process held.
    Adopted(SharedTokens),
}

impl SharedRefresh {
    /// The tokens to use from now on.
    pub fn tokens(&self) -> &SharedTokens {
        match self {
            SharedRefresh::Refreshed(t) | SharedRefresh::Adopted(t) => t,
        }
    }
}

/// Gets a pair other than generation `held` under `key`: adopts one another process stored, or
/// takes the lock and calls `refresh` (once) with the stored refresh token, or with
/// `local_refresh` when the store holds no session (a flushed Redis), storing the result only
/// over the generation it refreshed. Gives up with an error message at `deadline`.
///
/// `refresh` must not put the tokens in its error.
pub async fn refresh_shared<F, Fut>(
    store: &Arc<dyn SessionStore>,
    key: &str,
    held: u64,
    local_refresh: Option<Secret>,
    deadline: Instant,
    refresh: F,
) -> Result<SharedRefresh, String>
where
    F: FnOnce(Secret) -> Fut,
    Fut: Future<Output = Result<(Secret, Option<Secret>), String>>,
{
    let mut refresh = Some(refresh);
    let lock_key = super::Keys::session_lock(key);
    loop {
        let current = bounded(deadline, store.load(key)).await?;
        // Any other generation is the store's word, newer or (after a flush and a new sign-in)
        // lower: the store is where the session lives.
        if let Some(tokens) = current.as_ref().filter(|t| t.generation != held) {
            return Ok(SharedRefresh::Adopted(tokens.clone()));
        }
        if let Some(lock) = bounded(deadline, store.lock(&lock_key, LOCK_TTL)).await? {
            let result = refresh_locked(store, key, held, local_refresh.clone(), deadline, &mut refresh).await;
            // Not bounded by the deadline, which may have passed: a lock left behind would hold
            // every process back until it expires.
            if tokio::time::timeout(STORE_WRITE_LIMIT, store.unlock(&lock_key, lock))
                .await
                .map_or(true, |r| r.is_err())
            {
                tracing::warn!("fleet: could not release the session's refresh lock; it expires by itself");
            }
            match result? {
                Some(done) => return Ok(done),
                None => continue,
            }
        }
        if deadline.saturating_duration_since(Instant::now()) <= POLL {
            return Err("the deadline passed while another process refreshed the session".into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Under the lock: adopt a pair stored meanwhile, or refresh. `Ok(None)`: look again.
async fn refresh_locked<F, Fut>(
    store: &Arc<dyn SessionStore>,
    key: &str,
    held: u64,
    local_refresh: Option<Secret>,
    deadline: Instant,
    refresh: &mut Option<F>,
) -> Result<Option<SharedRefresh>, String>
where
    F: FnOnce(Secret) -> Fut,
    Fut: Future<Output = Result<(Secret, Option<Secret>), String>>,
{
    let current = bounded(deadline, store.load(key)).await?;
    let generation = current.as_ref().map_or(0, |t| t.generation);
    if let Some(tokens) = current.as_ref().filter(|t| t.generation != held) {
        return Ok(Some(SharedRefresh::Adopted(tokens.clone())));
    }
    let Some(refresh_token) = current.map_or(local_refresh, |t| t.refresh) else {
        return Err("the shared session holds no refresh token".into());
    };
    let Some(refresh) = refresh.take() else {
        return Err("the session was refreshed once already in this call".into());
    };
    let (access, rotated) = tokio::time::timeout_at(deadline.into(), refresh(refresh_token))
        .await
        .map_err(|_| "the deadline passed during the refresh".to_owned())??;
    let next = generation.wrapping_add(1);
    // The refresh token is spent now: the new pair is used whatever happens to the write, which
    // gets its own time limit rather than what is left of the caller's deadline, and is tried
    // again in the background if the store failed (the others need it to go on).
    let write = store.store_if(key, generation, &access, rotated.as_ref());
    match tokio::time::timeout(STORE_WRITE_LIMIT, write).await {
        Ok(Ok(true)) => tracing::info!(generation = next, "fleet: refreshed the shared session"),
        Ok(Ok(false)) => {
            tracing::warn!("fleet: a new sign-in replaced the shared session during a refresh; keeping both")
        }
        _ => write_later(
            Arc::clone(store),
            key.to_owned(),
            generation,
            access.clone(),
            rotated.clone(),
        ),
    }
    Ok(Some(SharedRefresh::Refreshed(SharedTokens {
        generation: next,
        access,
        refresh: rotated,
    })))
}

/// Retries writing a refreshed pair a few times, a second apart, off the caller's path.
fn write_later(store: Arc<dyn SessionStore>, key: String, generation: u64, access: Secret, refresh: Option<Secret>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        for _ in 0..WRITE_RETRIES {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let write = store.store_if(&key, generation, &access, refresh.as_ref());
            if let Ok(Ok(_)) = tokio::time::timeout(STORE_WRITE_LIMIT, write).await {
                tracing::info!("fleet: shared the refreshed session after a failed write");
                return;
            }
        }
        tracing::warn!(
            "fleet: refreshed the session but could not share the new pair; other processes will need a new sign-in"
        );
    });
}

async fn bounded<T>(deadline: Instant, op: impl Future<Output = Result<T, StoreError>>) -> Result<T, String> {
    match tokio::time::timeout_at(deadline.into(), op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the deadline passed while talking to the session store".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::MemoryStore;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn many_waiters_one_refresh() {
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        store
            .store("s", &Secret::new("a1"), Some(&Secret::new("r1")))
            .await
            .expect("stored");
        let calls = Arc::new(AtomicU32::new(0));
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, calls) = (store.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                refresh_shared(&store, "s", 1, None, deadline, |token: Secret| async move {
                    assert_eq!(token.expose(), "r1", "only the stored refresh token is spent");
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok((Secret::new("a2"), Some(Secret::new("r2"))))
                })
                .await
                .map(|r| r.tokens().access.expose().to_owned())
            }));
        }
        for task in tasks {
            assert_eq!(task.await.expect("joined").as_deref(), Ok("a2"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let stored = store.load("s").await.expect("ok").expect("some");
        assert_eq!(stored.generation, 2);
        assert_eq!(stored.refresh.as_ref().map(Secret::expose), Some("r2"));
    }

    #[tokio::test]
    async fn an_emptied_store_is_seeded_from_the_local_refresh_token() {
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        let deadline = Instant::now() + Duration::from_secs(5);
        let done = refresh_shared(
            &store,
            "s",
            7,
            Some(Secret::new("local")),
            deadline,
            |token: Secret| async move {
                assert_eq!(token.expose(), "local");
                Ok((Secret::new("a"), Some(Secret::new("r"))))
            },
        )
        .await
        .expect("refreshed");
        assert!(matches!(done, SharedRefresh::Refreshed(_)));
        assert_eq!(store.load("s").await.expect("ok").map(|t| t.generation), Some(1));
        // A process that held generation 7 before the flush takes up generation 1.
        let adopted = refresh_shared(&store, "s", 7, None, deadline, |_: Secret| async move {
            Err::<(Secret, Option<Secret>), String>("must not refresh".into())
        })
        .await
        .expect("adopted");
        assert!(matches!(adopted, SharedRefresh::Adopted(_)));
    }
}
