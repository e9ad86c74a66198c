//! The runtime's side of the limit stores: waits for a concurrency slot, the client-side rate and
//! (in a fleet) the shared server budget, each within the call's deadline, and applies the
//! fleet's failure policy when the shared store fails.
//!
//! Without a fleet (or while a failing-open fleet's store is out) the process's own limits
//! apply: a fair first-come-first-served semaphore for slots and an in-memory schedule for the
//! rate. After a store failure the store is left alone for [`OUTAGE_PAUSE`], so an outage costs
//! one store timeout, not one per request.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::call::{Refusal, Waiting};
use crate::fleet::{BoxFuture, FailurePolicy, Fleet, LimitStore, MemoryStore, Quota, RateAnswer, StoreError};
use crate::pacing::{millis, LimitScope};
use crate::policy::{ClientLimits, Pacing};

/// How often a caller waiting for a slot held in another process looks again (a release in this
/// process wakes it at once).
const SLOT_POLL: Duration = Duration::from_millis(20);
/// How long past the call's deadline a shared lease lives: a worker that crashed mid-request
/// frees its slot this long after the request could have ended anyway.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How long a failed store is left alone before it is tried again.
pub(crate) const OUTAGE_PAUSE: Duration = Duration::from_secs(2);
/// The largest count a Lua number holds exactly (2^53): a server-stated budget is clamped to it.
const EXACT_IN_LUA: u64 = 1 << 53;

/// The limits of one runtime and where they are kept.
#[derive(Debug)]
pub(crate) struct Gate {
    /// This process's own request schedule and server budget.
    local: MemoryStore,
    /// Requests admitted so far. A response's `X-RateLimit-Remaining` was counted when the server
    /// took that request; the requests sent after it were (mostly) not counted yet, so the
    /// budget it states is lowered by them. (Lowering it by every request still unanswered
    /// would count twice those the server already took, whose answers are on their way.)
    sent: AtomicU64,
    /// Wakes callers waiting on the budget when a response states it afresh.
    noted: Notify,
    /// How many callers wait on `noted`: with none, a response wakes nobody (and takes no lock).
    budget_waiters: AtomicUsize,
    /// This process's own slots.
    local_slots: Option<Arc<Semaphore>>,
    fleet: Option<Fleet>,
    /// `<namespace>:<api>:<credential hash>` in a fleet.
    prefix: String,
    /// Keys made once (every request asks under them).
    rate_key: String,
    slots_key: String,
    client_budget_key: String,
    quota: Option<Quota>,
    concurrency: Option<u32>,
    /// One attempt and a margin: how long a shared lease outlives the call's deadline.
    lease_ttl: Duration,
    scope: LimitScope,
    /// Shared slots given back in this process.
    released: Arc<Notify>,
    /// While the shared store is out: until when it is left alone, and how it failed.
    outage: Mutex<Option<(Instant, StoreError)>>,
}

/// A held concurrency slot; dropping it gives the slot back (held only for that).
#[derive(Debug)]
pub(crate) enum Slot {
    /// One of this process's own slots.
    Local { _permit: OwnedSemaphorePermit },
    /// A lease in the fleet's store.
    Shared { _lease: SharedSlot },
}

/// What an admitted request holds: its slot (given back as soon as the answer is in) and its
/// place in the order requests were sent (for noting its answer's budget).
#[derive(Debug)]
pub(crate) struct Admitted {
    pub(crate) slot: Option<Slot>,
    pub(crate) flight: Flight,
}

/// Which request this was, in the order the gate let them go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flight(u64);

/// A lease in the fleet's store, given back on drop.
#[derive(Debug)]
pub(crate) struct SharedSlot {
    store: Arc<dyn LimitStore>,
    key: String,
    lease: u64,
    released: Arc<Notify>,
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        self.store.release_slot(&self.key, self.lease);
        self.released.notify_waiters();
    }
}

impl Gate {
    pub(crate) fn new(
        limits: ClientLimits,
        attempt_timeout: Duration,
        scope: LimitScope,
        fleet: Option<(Fleet, String)>,
    ) -> Self {
        let (fleet, prefix) = match fleet {
            Some((fleet, prefix)) => (Some(fleet), prefix),
            None => (None, String::new()),
        };
        // As before fleets: a limit of 0 slots means 1 (the facade refuses 0 up front).
        let concurrency = limits.concurrency.map(|n| n.max(1));
        Self {
            local: MemoryStore::new(),
            sent: AtomicU64::new(0),
            noted: Notify::new(),
            budget_waiters: AtomicUsize::new(0),
            local_slots: concurrency.map(|n| {
                let permits = usize::try_from(n).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
                Arc::new(Semaphore::new(permits))
            }),
            fleet,
            rate_key: format!("{prefix}:rate"),
            slots_key: format!("{prefix}:slots"),
            client_budget_key: format!("{prefix}:budget"),
            prefix,
            quota: limits
                .per_minute
                .filter(|n| *n > 0)
                .map(|n| Quota::new(n, limits.burst.unwrap_or(n))),
            concurrency,
            lease_ttl: attempt_timeout.saturating_add(LEASE_MARGIN),
            scope,
            released: Arc::new(Notify::new()),
            outage: Mutex::new(None),
        }
    }

    fn budget_key(&self, operation: &str) -> std::borrow::Cow<'_, str> {
        match self.scope {
            LimitScope::Client => std::borrow::Cow::Borrowed(&self.client_budget_key),
            LimitScope::Operation => std::borrow::Cow::Owned(format!("{}:budget:{operation}", self.prefix)),
        }
    }

    /// The store failure to act on while the store is left alone.
    fn out(&self) -> Option<StoreError> {
        let mut outage = self.outage.lock().ok()?;
        match outage.as_ref() {
            Some((until, problem)) if Instant::now() < *until => Some(problem.clone()),
            Some(_) => {
                // The pause is over: the next operation tries the store again.
                *outage = None;
                None
            }
            None => None,
        }
    }

    fn failed(&self, problem: &StoreError, policy: FailurePolicy) {
        let Ok(mut outage) = self.outage.lock() else { return };
        if outage.is_none() {
            match policy {
                FailurePolicy::FailClosed => {
                    tracing::warn!(%problem, "fleet: the limit store failed; not sending (fail closed)");
                }
                _ => {
                    tracing::warn!(%problem, "fleet: the limit store failed; using this process's own limits (fail open)")
                }
            }
        }
        *outage = Instant::now()
            .checked_add(OUTAGE_PAUSE)
            .map(|until| (until, problem.clone()));
    }

    fn answered(&self) {
        if let Ok(mut outage) = self.outage.lock() {
            if outage.take().is_some() {
                tracing::info!("fleet: the limit store answers again; limits are shared again");
            }
        }
    }

    /// Runs `op` on the fleet's store: `Some(answer)`, or `None` when the process's own limits
    /// apply (no fleet, or a failing-open fleet whose store is out); a refusal when a
    /// failing-closed fleet's store is out, or the deadline passes.
    async fn shared<'s, T>(
        &'s self,
        deadline: Option<Instant>,
        waiting_for: Waiting,
        op: impl FnOnce(&'s dyn LimitStore) -> BoxFuture<'s, Result<T, StoreError>>,
    ) -> Result<Option<T>, Refusal> {
        let Some(fleet) = &self.fleet else {
            return Ok(None);
        };
        let problem = match self.out() {
            Some(problem) => problem,
            None => match fleet.bounded(deadline, op(&*fleet.limits)).await {
                None => return Err(Refusal::Deadline { waiting_for }),
                Some(Ok(answer)) => {
                    self.answered();
                    return Ok(Some(answer));
                }
                Some(Err(problem)) => {
                    self.failed(&problem, fleet.failure);
                    problem
                }
            },
        };
        match fleet.failure {
            FailurePolicy::FailClosed => Err(Refusal::Fleet { waiting_for, problem }),
            _ => Ok(None),
        }
    }

    /// Waits for a concurrency slot (when limited), then the client-side rate (when limited),
    /// then the server-stated budget (shared in a fleet), each within the deadline. Returns the
    /// slot to hold while the attempt runs, and the request's place among those in flight. The slot comes first so that requests go out at their places in the
    /// rate's schedule (a slot taken after the rate would let requests whose places passed while
    /// they waited go out together).
    pub(crate) async fn admit(
        &self,
        operation: &str,
        deadline: Option<Instant>,
        pacing: Pacing,
        probe_interval: Duration,
    ) -> Result<Admitted, Refusal> {
        let slot = match self.concurrency {
            Some(max) => Some(self.slot(max, deadline).await?),
            None => None,
        };
        if let Some(quota) = self.quota {
            self.rate(quota, deadline).await?;
        }
        self.budget(operation, deadline, pacing, probe_interval).await?;
        let flight = Flight(self.sent.fetch_add(1, Ordering::AcqRel));
        Ok(Admitted { slot, flight })
    }

    /// Takes a place in the rate's schedule and sleeps until it.
    async fn rate(&self, quota: Quota, deadline: Option<Instant>) -> Result<(), Refusal> {
        let key = &self.rate_key;
        let left = || deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
        let answer = match self
            .shared(deadline, Waiting::RateLimiter, |s| s.take_rate(key, quota, left()))
            .await?
        {
            Some(answer) => answer,
            // The in-memory store answers at once; it fails only if poisoned (then: go).
            None => self
                .local
                .rate_now(key, quota, left())
                .unwrap_or(RateAnswer::Go(Duration::ZERO)),
        };
        match answer {
            RateAnswer::Go(wait) if wait.is_zero() => Ok(()),
            // Measured from now (after the store answered), so the wait never ends past the
            // deadline; the request goes a little after its place, never before.
            RateAnswer::Go(wait) if left() > wait => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            // The place lies past the deadline: refuse now rather than sleep to no use.
            _ => Err(Refusal::Deadline {
                waiting_for: Waiting::RateLimiter,
            }),
        }
    }

    /// Waits while the server-stated budget (the fleet's, or this process's) is spent.
    async fn budget(
        &self,
        operation: &str,
        deadline: Option<Instant>,
        pacing: Pacing,
        probe_interval: Duration,
    ) -> Result<(), Refusal> {
        let key = self.budget_key(operation);
        // Most calls find nothing to wait for: they ask once, unregistered. A caller told to
        // wait registers for wake-ups and asks again, so an answer noted in between is not
        // missed.
        let mut watching: Option<Watching<'_>> = None;
        loop {
            let noted = self.noted.notified();
            tokio::pin!(noted);
            if watching.is_some() {
                noted.as_mut().enable();
            }
            let wait = match self
                .shared(deadline, Waiting::RateLimiter, |s| s.take_budget(&key, probe_interval))
                .await?
            {
                Some(wait) => wait,
                None => self.local.budget_now(&key, probe_interval).unwrap_or(None),
            };
            let Some(wait) = wait else {
                return Ok(());
            };
            if watching.is_none() {
                watching = Some(Watching::new(&self.budget_waiters));
                continue;
            }
            let past_deadline = deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) <= wait);
            if pacing == Pacing::FailFast || past_deadline {
                return Err(Refusal::Paced { wait });
            }
            tracing::debug!(
                wait_ms = millis(wait),
                "pacing: the server's budget is spent until the reset"
            );
            // An answer stating the budget afresh (the probe's) ends the wait early.
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = noted.as_mut() => {}
            }
        }
    }

    async fn slot(&self, max: u32, deadline: Option<Instant>) -> Result<Slot, Refusal> {
        if let Some(fleet) = &self.fleet {
            let key = &self.slots_key;
            loop {
                // Registered before asking, so a release between the answer and the wait is seen.
                let released = self.released.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                // The id is ours, so a lease the store granted after we stopped waiting can be
                // given back. A shared lease covers the waits after it (which end at the
                // deadline) and the attempt; without a deadline the store caps it (a day).
                let lease = rand::random::<u64>() >> 11;
                let ttl = deadline
                    .map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()))
                    .saturating_add(self.lease_ttl);
                match self
                    .shared(deadline, Waiting::ConcurrencySlot, |s| {
                        s.lease_slot(key, max, ttl, lease)
                    })
                    .await
                {
                    Ok(Some(true)) => {
                        return Ok(Slot::Shared {
                            _lease: SharedSlot {
                                store: fleet.limits.clone(),
                                key: key.clone(),
                                lease,
                                released: self.released.clone(),
                            },
                        })
                    }
                    Ok(Some(false)) => self.wait_for_release(&mut released, deadline).await?,
                    Ok(None) => {
                        fleet.limits.release_slot(key, lease);
                        break;
                    }
                    Err(refusal) => {
                        fleet.limits.release_slot(key, lease);
                        return Err(refusal);
                    }
                }
            }
        }
        self.local_slot(deadline).await
    }

    /// One of this process's own slots, first come first served.
    async fn local_slot(&self, deadline: Option<Instant>) -> Result<Slot, Refusal> {
        let refused = Refusal::Deadline {
            waiting_for: Waiting::ConcurrencySlot,
        };
        let Some(slots) = &self.local_slots else {
            return Err(refused);
        };
        let acquire = Arc::clone(slots).acquire_owned();
        let permit = match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), acquire)
                .await
                .map_err(|_| refused.clone())?,
            None => acquire.await,
        };
        // The semaphore is never closed.
        permit.map(|p| Slot::Local { _permit: p }).map_err(|_| refused)
    }

    /// Waits for a shared slot to be given back in this process, or the next poll (other
    /// processes give slots back too); refuses at the deadline.
    async fn wait_for_release(
        &self,
        released: &mut std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
        deadline: Option<Instant>,
    ) -> Result<(), Refusal> {
        let poll = Instant::now().checked_add(SLOT_POLL);
        let until = match (poll, deadline) {
            (Some(p), Some(d)) => Some(p.min(d)),
            (p, d) => p.or(d),
        };
        match until {
            Some(until) => {
                tokio::select! {
                    () = released.as_mut() => {}
                    () = tokio::time::sleep_until(until.into()) => {}
                }
            }
            None => released.as_mut().await,
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(Refusal::Deadline {
                waiting_for: Waiting::ConcurrencySlot,
            });
        }
        Ok(())
    }

    /// Notes what the answer to request `flight` said about the server's budget (in the fleet's
    /// store, or this process's), within the call's deadline, lowered by the requests sent after
    /// it (the server had not counted them yet). Wakes the callers waiting on the budget. A
    /// store failure here only counts as an outage: the call has its answer.
    pub(crate) async fn note(
        &self,
        operation: &str,
        deadline: Option<Instant>,
        flight: Flight,
        accepted: bool,
        remaining: Option<u64>,
        reset_in: Option<Duration>,
    ) {
        let (Some(remaining), Some(reset_in)) = (remaining, reset_in) else {
            // Accepted without a word about the budget (a probe that got through, as the
            // in-process pacer reads it): this process forgets the spent budget it kept.
            if accepted {
                self.local.forget_budget(&self.budget_key(operation));
                self.wake_budget_waiters();
            }
            return;
        };
        let sent_after = self
            .sent
            .load(Ordering::Acquire)
            .saturating_sub(flight.0.saturating_add(1));
        let remaining = remaining.saturating_sub(sent_after).min(EXACT_IN_LUA);
        let key = self.budget_key(operation);
        let shared = match &self.fleet {
            Some(fleet) if self.out().is_none() => {
                match fleet
                    .bounded(deadline, fleet.limits.note_budget(&key, remaining, reset_in))
                    .await
                {
                    Some(Err(problem)) => {
                        self.failed(&problem, fleet.failure);
                        false
                    }
                    Some(Ok(())) => {
                        self.answered();
                        true
                    }
                    None => true,
                }
            }
            _ => false,
        };
        if !shared {
            let _ = self.local.note_now(&key, remaining, reset_in);
        }
        self.wake_budget_waiters();
    }

    /// Wakes the callers waiting on the budget, if there are any. A caller counts itself before
    /// it registers and asks, and the budget is written before this reads the count, so a caller
    /// this does not see asks after the write.
    fn wake_budget_waiters(&self) {
        if self.budget_waiters.load(Ordering::SeqCst) > 0 {
            self.noted.notify_waiters();
        }
    }
}

/// A caller counted among those waiting on the budget, for as long as it lives.
struct Watching<'a>(&'a AtomicUsize);

impl<'a> Watching<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Api;

    /// A store that fails every operation, or never answers.
    #[derive(Debug)]
    struct Broken {
        hangs: bool,
        asked: std::sync::atomic::AtomicU32,
    }

    impl Broken {
        fn answer<'a, T: Send + 'a>(&'a self) -> BoxFuture<'a, Result<T, StoreError>> {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let hangs = self.hangs;
            Box::pin(async move {
                if hangs {
                    std::future::pending::<()>().await;
                }
                Err(StoreError::Unreachable("test".into()))
            })
        }
    }

    impl LimitStore for Broken {
        fn take_rate<'a>(&'a self, _: &'a str, _: Quota, _: Duration) -> BoxFuture<'a, Result<RateAnswer, StoreError>> {
            self.answer()
        }
        fn lease_slot<'a>(
            &'a self,
            _: &'a str,
            _: u32,
            _: Duration,
            _: u64,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            self.answer()
        }
        fn release_slot(&self, _: &str, _: u64) {}
        fn note_budget<'a>(&'a self, _: &'a str, _: u64, _: Duration) -> BoxFuture<'a, Result<(), StoreError>> {
            self.answer()
        }
        fn take_budget<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
            self.answer()
        }
    }

    fn gate(hangs: bool, policy: FailurePolicy) -> Gate {
        gate_on(
            Arc::new(Broken {
                hangs,
                asked: Default::default(),
            }),
            policy,
        )
    }

    fn gate_on(store: Arc<Broken>, policy: FailurePolicy) -> Gate {
        let fleet = Fleet::new(store, "t")
            .on_failure(policy)
            .store_timeout(Duration::from_millis(50));
        let prefix = fleet.key(Api::Agentiv, "hash");
        let limits = ClientLimits::new().per_minute(60).concurrency(1);
        Gate::new(
            limits,
            Duration::from_secs(1),
            LimitScope::Client,
            Some((fleet, prefix)),
        )
    }

    async fn admit(gate: &Gate, deadline: Option<Instant>) -> Result<Option<Slot>, Refusal> {
        gate.admit("op", deadline, Pacing::Wait, Duration::from_secs(60))
            .await
            .map(|admitted| admitted.slot)
    }

    #[tokio::test]
    async fn a_failed_store_falls_back_to_local_limits_when_failing_open() {
        let gate = gate(false, FailurePolicy::FailOpen);
        let slot = admit(&gate, None).await.expect("admitted on local limits");
        assert!(slot.is_some());
        // The local limits still hold: the one slot is taken.
        let deadline = Instant::now() + Duration::from_millis(30);
        assert_eq!(
            admit(&gate, Some(deadline)).await.err(),
            Some(Refusal::Deadline {
                waiting_for: Waiting::ConcurrencySlot
            })
        );
        drop(slot);
        // And the local rate (60 a minute, burst 60) admits the next.
        assert!(admit(&gate, None).await.is_ok());
    }

    #[tokio::test]
    async fn a_failed_store_refuses_when_failing_closed() {
        let gate = gate(false, FailurePolicy::FailClosed);
        match admit(&gate, None).await {
            Err(Refusal::Fleet { waiting_for, problem }) => {
                assert_eq!(waiting_for, Waiting::ConcurrencySlot, "the slot comes first");
                assert_eq!(problem, StoreError::Unreachable("test".into()));
            }
            other => panic!("expected a fleet refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_hanging_store_costs_at_most_its_timeout_or_the_deadline() {
        // No deadline: the store timeout (50 ms) turns the hang into a failure, so the call goes
        // on its local limits (fail open) or is refused (fail closed).
        assert!(admit(&gate(true, FailurePolicy::FailOpen), None).await.is_ok());
        match admit(&gate(true, FailurePolicy::FailClosed), None).await {
            Err(Refusal::Fleet { problem, .. }) => assert!(matches!(problem, StoreError::Timeout(_))),
            other => panic!("expected a timeout refusal, got {other:?}"),
        }
        // A deadline before the store timeout ends the wait as a deadline.
        let deadline = Instant::now() + Duration::from_millis(10);
        assert_eq!(
            admit(&gate(true, FailurePolicy::FailOpen), Some(deadline)).await.err(),
            Some(Refusal::Deadline {
                waiting_for: Waiting::ConcurrencySlot
            })
        );
    }

    #[tokio::test]
    async fn an_outage_costs_one_store_timeout_not_one_per_call() {
        let store = Arc::new(Broken {
            hangs: true,
            asked: Default::default(),
        });
        let gate = gate_on(Arc::clone(&store), FailurePolicy::FailOpen);
        for _ in 0..5 {
            let slot = tokio::time::timeout(Duration::from_secs(5), admit(&gate, None))
                .await
                .expect("never hangs");
            assert!(slot.is_ok());
        }
        // The first call found the store out; the others went straight to the local limits.
        assert_eq!(store.asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
