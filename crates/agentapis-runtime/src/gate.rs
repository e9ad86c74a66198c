//! The runtime's side of the limit stores: waits for a concurrency slot, the client-side rate and
//! (in a fleet) the shared server budget, each within the call's deadline, and applies the
//! fleet's failure policy when the shared store fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::call::{Refusal, Waiting};
use crate::fleet::{BoxFuture, FailurePolicy, Fleet, LimitStore, MemoryStore, Quota, RateAnswer, StoreError};
use crate::pacing::{millis, LimitScope};
use crate::policy::{ClientLimits, Pacing};

/// How often a caller waiting for a slot held in another process looks again (a release in this
/// process wakes it at once).
const SLOT_POLL: Duration = Duration::from_millis(20);
/// How long past the attempt timeout a lease lives: a worker that crashed mid-request frees its
/// slot this long after the request could have ended anyway.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// The limits of one runtime and where they are kept.
#[derive(Debug)]
pub(crate) struct Gate {
    local: Arc<MemoryStore>,
    fleet: Option<Fleet>,
    /// `<namespace>:<api>:<credential hash>` in a fleet, empty for the runtime's own store.
    prefix: String,
    quota: Option<Quota>,
    concurrency: Option<u32>,
    /// How long a shared lease lives past the call's deadline: one attempt and a margin, so a
    /// worker that crashed frees its slot then. Leases in this process's own store never
    /// expire: it cannot crash alone.
    lease_ttl: Duration,
    scope: LimitScope,
    released: Arc<Notify>,
    degraded: AtomicBool,
}

/// A held concurrency slot; dropping it gives the slot back.
#[derive(Debug)]
pub(crate) struct Slot {
    store: Arc<dyn LimitStore>,
    key: String,
    lease: u64,
    released: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.store.release_slot(&self.key, self.lease);
        self.released.notify_waiters();
    }
}

/// The largest count a Lua number holds exactly (2^53): a server-stated budget is clamped to it.
const EXACT_IN_LUA: u64 = 1 << 53;

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
        Self {
            local: Arc::new(MemoryStore::new()),
            fleet,
            prefix,
            quota: limits
                .per_minute
                .filter(|n| *n > 0)
                .map(|n| Quota::new(n, limits.burst.unwrap_or(n))),
            // As before fleets: a limit of 0 slots means 1 (the facade refuses 0 up front).
            concurrency: limits.concurrency.map(|n| n.max(1)),
            lease_ttl: attempt_timeout.saturating_add(LEASE_MARGIN),
            scope,
            released: Arc::new(Notify::new()),
            degraded: AtomicBool::new(false),
        }
    }

    fn key(&self, what: &str) -> String {
        if self.prefix.is_empty() {
            what.to_owned()
        } else {
            format!("{}:{what}", self.prefix)
        }
    }

    fn budget_key(&self, operation: &str) -> String {
        match self.scope {
            LimitScope::Client => self.key("budget"),
            LimitScope::Operation => self.key(&format!("budget:{operation}")),
        }
    }

    /// Runs `op` on the fleet's store (or the local one without a fleet); `op` is told whether
    /// the store is shared. On a store failure the policy decides: the local store's answer
    /// (fail open), or a refusal (fail closed). The answer says whether it came from the fleet.
    async fn ask<'s, T>(
        &'s self,
        deadline: Option<Instant>,
        waiting_for: Waiting,
        op: impl Fn(&'s dyn LimitStore, bool) -> BoxFuture<'s, Result<T, StoreError>>,
    ) -> Result<(T, bool), Refusal> {
        let Some(fleet) = &self.fleet else {
            return match op(&*self.local, false).await {
                Ok(answer) => Ok((answer, false)),
                Err(problem) => Err(Refusal::Fleet { waiting_for, problem }),
            };
        };
        let problem = match fleet.bounded(deadline, op(&*fleet.limits, true)).await {
            None => return Err(Refusal::Deadline { waiting_for }),
            Some(Ok(answer)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("fleet: the limit store answers again; limits are shared again");
                }
                return Ok((answer, true));
            }
            Some(Err(problem)) => problem,
        };
        match fleet.failure {
            FailurePolicy::FailClosed => {
                tracing::warn!(%problem, "fleet: the limit store failed; not sending (fail closed)");
                Err(Refusal::Fleet { waiting_for, problem })
            }
            _ => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%problem, "fleet: the limit store failed; using this process's own limits (fail open)");
                }
                match op(&*self.local, false).await {
                    Ok(answer) => Ok((answer, false)),
                    Err(problem) => Err(Refusal::Fleet { waiting_for, problem }),
                }
            }
        }
    }

    /// Waits for a concurrency slot (when limited), then the client-side rate (when limited),
    /// then the fleet's server budget, each within the deadline. Returns the slot to hold while
    /// the attempt runs. The slot comes first so that requests go out at their places in the
    /// rate's schedule (a slot taken after the rate would let requests whose places passed while
    /// they waited go out together).
    pub(crate) async fn admit(
        &self,
        operation: &str,
        deadline: Option<Instant>,
        pacing: Pacing,
        probe_interval: Duration,
    ) -> Result<Option<Slot>, Refusal> {
        let slot = match self.concurrency {
            Some(max) => Some(self.slot(max, deadline).await?),
            None => None,
        };
        if let Some(quota) = self.quota {
            let key = self.key("rate");
            let max_wait = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
            let (answer, _) = self
                .ask(deadline, Waiting::RateLimiter, |s, _| {
                    s.take_rate(&key, quota, max_wait)
                })
                .await?;
            match answer {
                RateAnswer::Go(wait) if wait.is_zero() => {}
                RateAnswer::Go(wait) => tokio::time::sleep(wait).await,
                // The place lies past the deadline: refuse now rather than sleep to no use.
                _ => {
                    return Err(Refusal::Deadline {
                        waiting_for: Waiting::RateLimiter,
                    })
                }
            }
        }
        if self.fleet.is_some() {
            let key = self.budget_key(operation);
            loop {
                let (wait, _) = self
                    .ask(deadline, Waiting::RateLimiter, |s, _| s.take_budget(&key))
                    .await?;
                // A wait past the probe interval is not believed: the request goes and its
                // answer states the budget afresh (as the in-process pacer does).
                let Some(wait) = wait.filter(|w| *w <= probe_interval) else {
                    break;
                };
                let past_deadline = deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) <= wait);
                if pacing == Pacing::FailFast || past_deadline {
                    return Err(Refusal::Paced { wait });
                }
                tracing::info!(
                    wait_ms = millis(wait),
                    "fleet: the shared budget is spent until the reset"
                );
                tokio::time::sleep(wait).await;
            }
        }
        Ok(slot)
    }

    async fn slot(&self, max: u32, deadline: Option<Instant>) -> Result<Slot, Refusal> {
        let key = self.key("slots");
        loop {
            // Registered before asking, so a release between the answer and the wait is seen.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            // The id is ours, so a lease the store granted after we stopped waiting can be
            // given back.
            let lease = rand::random::<u64>() >> 11;
            // A shared lease covers the waits after it (which end at the deadline) and the
            // attempt; without a deadline it is capped by the store (a day for Redis).
            let waits = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
            let ttl = |shared: bool| {
                if shared {
                    waits.saturating_add(self.lease_ttl)
                } else {
                    Duration::MAX
                }
            };
            let asked = self
                .ask(deadline, Waiting::ConcurrencySlot, |s, shared| {
                    s.lease_slot(&key, max, ttl(shared), lease)
                })
                .await;
            let shared = match asked {
                Ok((true, shared)) => shared,
                Ok((false, shared)) => {
                    if !shared {
                        self.release_abandoned(&key, lease);
                    }
                    self.wait_for_release(&mut released, shared, deadline).await?;
                    continue;
                }
                Err(refusal) => {
                    self.release_abandoned(&key, lease);
                    return Err(refusal);
                }
            };
            if !shared {
                self.release_abandoned(&key, lease);
            }
            let store: Arc<dyn LimitStore> = match (&self.fleet, shared) {
                (Some(fleet), true) => fleet.limits.clone(),
                _ => self.local.clone(),
            };
            return Ok(Slot {
                store,
                key,
                lease,
                released: self.released.clone(),
            });
        }
    }

    /// Gives back, on the shared store, a lease it may have granted after this caller stopped
    /// waiting for it (a timeout), or while the local store answered instead.
    fn release_abandoned(&self, key: &str, lease: u64) {
        if let Some(fleet) = &self.fleet {
            fleet.limits.release_slot(key, lease);
        }
    }

    /// Waits for a slot to be given back in this process, or (for a shared store, where other
    /// processes give slots back too) the next poll; refuses at the deadline.
    async fn wait_for_release(
        &self,
        released: &mut std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
        shared: bool,
        deadline: Option<Instant>,
    ) -> Result<(), Refusal> {
        let poll = shared.then(|| Instant::now().checked_add(SLOT_POLL)).flatten();
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

    /// Shares what a response said about the server's budget with the fleet, within the call's
    /// deadline. A store failure here only warns: the call has its answer.
    pub(crate) async fn note(
        &self,
        operation: &str,
        deadline: Option<Instant>,
        remaining: Option<u64>,
        reset_in: Option<Duration>,
    ) {
        let (Some(fleet), Some(remaining), Some(reset_in)) = (&self.fleet, remaining, reset_in) else {
            return;
        };
        let key = self.budget_key(operation);
        let remaining = remaining.min(EXACT_IN_LUA);
        if let Some(Err(problem)) = fleet
            .bounded(deadline, fleet.limits.note_budget(&key, remaining, reset_in))
            .await
        {
            if !self.degraded.swap(true, Ordering::Relaxed) {
                tracing::warn!(%problem, "fleet: could not share the server's budget");
            }
        }
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
    }

    impl Broken {
        fn answer<'a, T: Send + 'a>(&'a self) -> BoxFuture<'a, Result<T, StoreError>> {
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
        fn take_budget<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
            self.answer()
        }
    }

    fn gate(hangs: bool, policy: FailurePolicy) -> Gate {
        let fleet = Fleet::new(Arc::new(Broken { hangs }), "t")
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
        gate.admit("op", deadline, Pacing::Wait, Duration::from_secs(60)).await
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
}
