//! The in-memory store: what every runtime uses on its own, and what clients in one process can
//! share (`Fleet::in_memory`). Same semantics as the Redis store, on this process's clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::arithmetic::{gcra, hold_first_probe, note, take};
use super::{BoxFuture, LimitStore, Quota, RateAnswer, SessionStore, SharedTokens, StoreError};
use crate::Secret;

/// Limit and session state in this process's memory.
#[derive(Debug)]
pub struct MemoryStore {
    epoch: Instant,
    state: Mutex<State>,
    /// How many budgets `state` holds, kept beside it so the runtime's every-request questions
    /// ("is a budget spent?", "forget it") take no lock while there is none (most servers never
    /// state one, or state one that is far from spent).
    budgets: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    /// Theoretical arrival time of the next request, in nanoseconds since `epoch`, per key.
    rates: HashMap<String, u64>,
    /// Held leases per key: lease id → expiry (ns since `epoch`; `u64::MAX`: never).
    slots: HashMap<String, HashMap<u64, u64>>,
    /// Server-stated budget per key: (requests left, reset at, earliest next probe), times in ns
    /// since `epoch`.
    budgets: HashMap<String, (u64, u64, u64)>,
    sessions: HashMap<String, SharedTokens>,
    /// Held session locks per key: (lock id, expiry).
    locks: HashMap<String, (u64, u64)>,
    next_id: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            state: Mutex::default(),
            budgets: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    /// [`LimitStore::take_rate`] without a future (the runtime's own limits call it directly).
    pub(crate) fn rate_now(&self, key: &str, quota: Quota, max_wait: Duration) -> Result<RateAnswer, StoreError> {
        self.with(|s, now| {
            let tat = s.rates.get(key).copied().unwrap_or(0);
            match gcra(tat, now, quota, max_wait) {
                Ok((next, wait)) => {
                    // Updated in place: no key allocation per request.
                    match s.rates.get_mut(key) {
                        Some(slot) => *slot = next,
                        None => {
                            s.rates.insert(key.to_owned(), next);
                        }
                    }
                    RateAnswer::Go(wait)
                }
                Err(wait) => RateAnswer::TooFar(wait),
            }
        })
    }

    /// [`LimitStore::note_budget`] without a future.
    pub(crate) fn note_now(
        &self,
        key: &str,
        remaining: u64,
        reset_in: Duration,
        probe_interval: Duration,
    ) -> Result<(), StoreError> {
        self.with(|s, now| {
            let reset = now.saturating_add(nanos(reset_in));
            let budget = s.budgets.entry(key.to_owned()).or_insert((remaining, reset, 0));
            note(budget, now, remaining, reset);
            hold_first_probe(budget, now, nanos(probe_interval));
            self.budgets.store(s.budgets.len(), Ordering::SeqCst);
        })
    }

    /// [`LimitStore::take_budget`] without a future.
    pub(crate) fn budget_now(&self, key: &str, probe_interval: Duration) -> Result<Option<Duration>, StoreError> {
        if self.budgets.load(Ordering::SeqCst) == 0 {
            return Ok(None);
        }
        self.with(|s, now| {
            let budget = s.budgets.get_mut(key)?;
            take(budget, now, nanos(probe_interval))
        })
    }

    /// Forgets the budget under `key` (a request went through without the server stating one).
    pub(crate) fn forget_budget(&self, key: &str) {
        if self.budgets.load(Ordering::SeqCst) == 0 {
            return;
        }
        let _ = self.with(|s, _| {
            s.budgets.remove(key);
            self.budgets.store(s.budgets.len(), Ordering::SeqCst);
        });
    }

    fn with<T>(&self, f: impl FnOnce(&mut State, u64) -> T) -> Result<T, StoreError> {
        let now = self.now();
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Protocol("in-memory store poisoned".into()))?;
        Ok(f(&mut state, now))
    }
}

impl LimitStore for MemoryStore {
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        quota: Quota,
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<RateAnswer, StoreError>> {
        Box::pin(std::future::ready(self.rate_now(key, quota, max_wait)))
    }

    fn lease_slot<'a>(
        &'a self,
        key: &'a str,
        max: u32,
        ttl: Duration,
        lease: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let result = self.with(|s, now| {
            let held = s.slots.entry(key.to_owned()).or_default();
            held.retain(|_, expiry| *expiry > now);
            if held.len() >= usize::try_from(max).unwrap_or(usize::MAX) {
                return false;
            }
            held.insert(lease, now.saturating_add(nanos(ttl)));
            true
        });
        Box::pin(std::future::ready(result))
    }

    fn release_slot(&self, key: &str, lease: u64) {
        let _ = self.with(|s, _| {
            if let Some(held) = s.slots.get_mut(key) {
                held.remove(&lease);
            }
        });
    }

    fn note_budget<'a>(
        &'a self,
        key: &'a str,
        remaining: u64,
        reset_in: Duration,
        probe_interval: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(self.note_now(
            key,
            remaining,
            reset_in,
            probe_interval,
        )))
    }

    fn take_budget<'a>(
        &'a self,
        key: &'a str,
        probe_interval: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        Box::pin(std::future::ready(self.budget_now(key, probe_interval)))
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<SharedTokens>, StoreError>> {
        let result = self.with(|s, _| s.sessions.get(key).cloned());
        Box::pin(std::future::ready(result))
    }

    fn store_if<'a>(
        &'a self,
        key: &'a str,
        expected: u64,
        access: &'a Secret,
        refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let result = self.with(|s, _| {
            let current = s.sessions.get(key).map_or(0, |t| t.generation);
            if current != expected {
                return false;
            }
            s.sessions.insert(
                key.to_owned(),
                SharedTokens {
                    generation: expected.wrapping_add(1),
                    access: access.clone(),
                    refresh: refresh.cloned(),
                },
            );
            true
        });
        Box::pin(std::future::ready(result))
    }

    fn store<'a>(
        &'a self,
        key: &'a str,
        access: &'a Secret,
        refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        let result = self.with(|s, _| {
            let generation = s.sessions.get(key).map_or(0, |t| t.generation).wrapping_add(1);
            s.sessions.insert(
                key.to_owned(),
                SharedTokens {
                    generation,
                    access: access.clone(),
                    refresh: refresh.cloned(),
                },
            );
            generation
        });
        Box::pin(std::future::ready(result))
    }

    fn lock<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        let result = self.with(|s, now| {
            if s.locks.get(key).is_some_and(|(_, expiry)| *expiry > now) {
                return None;
            }
            s.next_id = s.next_id.wrapping_add(1);
            let id = s.next_id;
            s.locks.insert(key.to_owned(), (id, now.saturating_add(nanos(ttl))));
            Some(id)
        });
        Box::pin(std::future::ready(result))
    }

    fn unlock<'a>(&'a self, key: &'a str, lock: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        let result = self.with(|s, _| {
            if s.locks.get(key).is_some_and(|(id, _)| *id == lock) {
                s.locks.remove(key);
            }
        });
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn leases_are_bounded_and_expire() {
        let store = MemoryStore::new();
        let minute = Duration::from_secs(60);
        assert_eq!(store.lease_slot("k", 2, minute, 1).await, Ok(true));
        assert_eq!(store.lease_slot("k", 2, Duration::from_millis(1), 2).await, Ok(true));
        // A lease from a crashed holder (never released) frees its slot when it expires.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.lease_slot("k", 2, minute, 3).await, Ok(true));
        assert_eq!(store.lease_slot("k", 2, minute, 4).await, Ok(false));
        store.release_slot("k", 1);
        assert_eq!(store.lease_slot("k", 2, Duration::MAX, 5).await, Ok(true));
        assert_eq!(store.lease_slot("other", 1, minute, 6).await, Ok(true));
    }

    #[tokio::test]
    async fn sessions_write_only_over_the_generation_they_read() {
        let store = MemoryStore::new();
        let (a, b) = (Secret::new("a"), Secret::new("b"));
        assert_eq!(store.store_if("s", 0, &a, None).await, Ok(true));
        assert_eq!(store.store_if("s", 0, &b, None).await, Ok(false));
        let t = store.load("s").await.expect("ok").expect("stored");
        assert_eq!((t.generation, t.access.expose()), (1, "a"));
        let lock = store
            .lock("s", Duration::from_secs(5))
            .await
            .expect("ok")
            .expect("free");
        assert_eq!(store.lock("s", Duration::from_secs(5)).await, Ok(None));
        store.unlock("s", lock.wrapping_add(1)).await.expect("ok");
        assert_eq!(
            store.lock("s", Duration::from_secs(5)).await,
            Ok(None),
            "not ours to unlock"
        );
        store.unlock("s", lock).await.expect("ok");
        assert!(store.lock("s", Duration::from_secs(5)).await.expect("ok").is_some());
    }
}
