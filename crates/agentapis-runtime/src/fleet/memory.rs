//! The in-memory store: what every runtime uses on its own, and what clients in one process can
//! share (`Fleet::in_memory`). Same semantics as the Redis store, on this process's clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// One step of the generic cell rate algorithm with reservation: when the next place is at most
/// `max_wait` away, the new arrival time and the wait until the place; else the wait alone.
/// The Redis script does the same in Lua.
pub(crate) fn gcra(tat: u64, now: u64, quota: Quota, max_wait: Duration) -> Result<(u64, Duration), Duration> {
    let tat = tat.max(now);
    let allowed_from = tat.saturating_sub(quota.tolerance_nanos());
    let wait = Duration::from_nanos(allowed_from.saturating_sub(now));
    if wait > max_wait {
        return Err(wait);
    }
    Ok((tat.saturating_add(quota.interval_nanos()), wait))
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

/// Resets this close are one window seen through whole-second headers.
const ROUNDING: u64 = 1_000_000_000;

/// Folds a response's `remaining`/`reset` into a stored budget: a later reset is a new window
/// (its count replaces the old one); within one window the smaller count wins, since responses
/// arrive out of order and each request already taken is counted.
pub(crate) fn note(budget: &mut (u64, u64, u64), now: u64, remaining: u64, reset: u64) {
    let (left, at, probe) = *budget;
    // A spent window the server now contradicts: requests remain until a reset that is still
    // ahead and earlier than ours (a probe's answer after a wrong or distant reset). The
    // server's word replaces ours, or a wrong reset would hold the client to one probe per
    // interval until it passed.
    if left == 0 && at > now && remaining > 0 && reset > now && reset.saturating_add(ROUNDING) < at {
        *budget = (remaining, reset, probe);
        return;
    }
    // A late answer from a window that has passed says nothing about the current one.
    if at > now && (reset <= now || reset.saturating_add(ROUNDING) < at) {
        return;
    }
    // Resets a second apart are one window seen through rounding (whole-second headers).
    if at <= now || reset > at.saturating_add(ROUNDING) {
        *budget = (remaining, reset, probe);
    } else {
        *budget = (left.min(remaining), at.max(reset), probe);
    }
}

/// A budget just noted as spent until a reset more than `probe_interval` away, with no probe
/// pending: the first probe goes an interval from now, not at once (the Redis script does the
/// same). Requests sent at once would only be refused; a wrong reset still cannot lock anyone
/// out for longer than the interval.
pub(crate) fn hold_first_probe(budget: &mut (u64, u64, u64), now: u64, probe_interval: u64) {
    let (left, at, probe) = *budget;
    if left == 0 && at > now.saturating_add(probe_interval) && probe <= now {
        budget.2 = now.saturating_add(probe_interval);
    }
}

/// After a spent window passes, how long the others wait for the probe's answer at most (the
/// runtime wakes them as soon as it lands).
pub(crate) const PROBE_GAP: u64 = 1_000_000_000;

/// Takes one request from a stored budget: `None` when it may go. A spent budget whose reset is
/// further than `probe_interval` away lets one request through per interval, for every holder
/// of the budget together (its answer states the budget afresh; a wrong or hostile reset time
/// cannot lock a fleet out). When a spent window passes, one request goes first and the others
/// wait (up to [`PROBE_GAP`]) for its answer to state the new window, so the reset instant does
/// not release every waiter at once into a budget nobody knows yet.
pub(crate) fn take(budget: &mut (u64, u64, u64), now: u64, probe_interval: u64) -> Option<Duration> {
    let (left, at, _) = *budget;
    if at <= now {
        if left > 0 {
            return None; // the window passed unspent: nothing to fear
        }
        return self_probe(budget, now, PROBE_GAP);
    }
    if left > 0 {
        budget.0 = left - 1;
        return None;
    }
    let wait = at - now;
    if wait <= probe_interval {
        return Some(Duration::from_nanos(wait));
    }
    self_probe(budget, now, probe_interval)
}

/// Lets this request go as the probe when none went within `gap`; else the wait for the next.
fn self_probe(budget: &mut (u64, u64, u64), now: u64, gap: u64) -> Option<Duration> {
    let probe = budget.2;
    if probe <= now {
        budget.2 = now.saturating_add(gap);
        return None;
    }
    Some(Duration::from_nanos(probe - now))
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

    #[test]
    fn gcra_spaces_requests_after_the_burst() {
        let q = Quota::new(60, 2); // one a second, two at once
        let none = Duration::ZERO;
        let (tat, wait) = gcra(0, 0, q, none).expect("first");
        assert_eq!(wait, none);
        let (tat, _) = gcra(tat, 0, q, none).expect("second, from the burst");
        assert_eq!(gcra(tat, 0, q, none), Err(Duration::from_secs(1)), "third must wait");
        // Willing to wait: the third reserves the place a second away, the fourth the next.
        let (tat, wait) = gcra(tat, 0, q, Duration::from_secs(5)).expect("reserved");
        assert_eq!(wait, Duration::from_secs(1));
        let (_, wait) = gcra(tat, 0, q, Duration::from_secs(5)).expect("reserved");
        assert_eq!(wait, Duration::from_secs(2));
        // A long quiet spell earns no more than the burst.
        let (tat, _) = gcra(0, 100_000_000_000, q, none).expect("after quiet");
        let (tat, _) = gcra(tat, 100_000_000_000, q, none).expect("burst");
        assert!(gcra(tat, 100_000_000_000, q, none).is_err());
    }

    const MINUTE: u64 = 60_000_000_000;

    #[test]
    fn budgets_count_down_within_a_window_and_forget_it_after() {
        let mut b = (2, 10_000_000_000, 0);
        assert_eq!(take(&mut b, 0, MINUTE), None);
        assert_eq!(take(&mut b, 0, MINUTE), None);
        assert_eq!(take(&mut b, 1_000_000_000, MINUTE), Some(Duration::from_secs(9)));
        // A late response from the same window cannot raise the count.
        note(&mut b, 1, 5, 10_000_000_000);
        assert_eq!(b.0, 0);
        // The next window replaces it.
        note(&mut b, 1, 5, 20_000_000_000);
        assert_eq!((b.0, b.1), (5, 20_000_000_000));
        assert_eq!(take(&mut b, 25_000_000_000, MINUTE), None, "passed unspent: go");
    }

    #[test]
    fn after_a_spent_window_one_probe_goes_first() {
        let mut b = (0, 10_000_000_000, 0);
        let after = 10_000_000_001;
        assert_eq!(take(&mut b, after, MINUTE), None, "the probe");
        assert_eq!(
            take(&mut b, after, MINUTE),
            Some(Duration::from_nanos(PROBE_GAP)),
            "the others wait for its answer"
        );
        // Its answer states the new window, which replaces the passed one at once.
        note(&mut b, after + 1, 9, 11_000_000_000);
        assert_eq!((b.0, b.1), (9, 11_000_000_000));
        assert_eq!(take(&mut b, after + 2, MINUTE), None);
        assert_eq!(b.0, 8);
        // A late answer from the passed window cannot spend the new one.
        note(&mut b, after + 3, 0, 10_000_000_000);
        assert_eq!((b.0, b.1), (8, 11_000_000_000));
    }

    #[test]
    fn a_spent_distant_window_holds_the_first_probe_an_interval_and_a_contradiction_replaces_it() {
        let day = 24 * 3600 * 1_000_000_000;
        let mut b = (5, day, 0);
        note(&mut b, 0, 0, day);
        hold_first_probe(&mut b, 0, MINUTE);
        assert_eq!(
            take(&mut b, 1, MINUTE),
            Some(Duration::from_nanos(MINUTE - 1)),
            "no probe at once"
        );
        assert_eq!(take(&mut b, MINUTE, MINUTE), None, "the probe, an interval later");
        // Its answer: 3 remain until a reset in 30 s. The spent day is the server's no longer.
        note(&mut b, MINUTE + 1, 3, MINUTE + 30_000_000_000);
        assert_eq!((b.0, b.1), (3, MINUTE + 30_000_000_000));
        assert_eq!(take(&mut b, MINUTE + 2, MINUTE), None);
        // A late answer from the same (now current) window still cannot raise the count.
        note(&mut b, MINUTE + 3, 9, MINUTE + 30_000_000_000);
        assert_eq!(b.0, 2);
    }

    #[test]
    fn a_distant_reset_lets_one_probe_through_per_interval() {
        let day = 24 * 3600 * 1_000_000_000;
        let mut b = (0, day, 0);
        assert_eq!(take(&mut b, 0, MINUTE), None, "the probe");
        assert_eq!(
            take(&mut b, 1, MINUTE),
            Some(Duration::from_nanos(MINUTE - 1)),
            "the others wait"
        );
        assert_eq!(take(&mut b, MINUTE, MINUTE), None, "the next probe, an interval later");
        assert!(take(&mut b, MINUTE, MINUTE).is_some());
    }

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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const MINUTE: u64 = 60_000_000_000;

    proptest! {
        /// Whatever the quota and clock, one instant admits at most `burst` requests, and no
        /// input panics or overflows.
        #[test]
        fn gcra_admits_at_most_the_burst_at_once(per_minute in any::<u32>(), burst in 0u32..50, now in any::<u64>(), tat in any::<u64>()) {
            let quota = Quota::new(per_minute, burst);
            let mut tat = tat;
            let mut admitted = 0u32;
            for _ in 0..60 {
                match gcra(tat, now, quota, Duration::ZERO) {
                    Ok((next, wait)) => { prop_assert_eq!(wait, Duration::ZERO); tat = next; admitted += 1; }
                    Err(wait) => { prop_assert!(wait > Duration::ZERO); break; }
                }
            }
            prop_assert!(admitted <= quota.burst);
        }

        /// Budgets fed any remaining/reset values never go up within a window and never panic.
        #[test]
        fn budgets_never_panic(steps in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()), 1..40)) {
            let mut budget = (0u64, 0u64, 0u64);
            for (now, remaining, reset, taking) in steps {
                if taking {
                    let before = budget;
                    if take(&mut budget, now, MINUTE).is_none() && before.1 > now && before.0 > 0 {
                        prop_assert_eq!(budget.0, before.0 - 1);
                    }
                } else {
                    note(&mut budget, now, remaining, reset);
                }
            }
        }
    }
}
