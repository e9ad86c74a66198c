//! The runtime's side of the limit stores: waits for a concurrency slot, the client-side rate and
//! (in a fleet) the shared server budget, each within the call's deadline, and applies the
//! fleet's failure policy when the shared store fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{FailurePolicy, Fleet, LimitStore, MemoryStore, Quota, RateAnswer, StoreError};
use crate::call::{Refusal, Waiting};
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
            concurrency: limits.concurrency.filter(|n| *n > 0),
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

    /// Runs `op` on the fleet's store (or the local one without a fleet). On a store failure the
    /// policy decides: the local store's answer (fail open), or a refusal (fail closed).
    async fn ask<'s, T>(
        &'s self,
        deadline: Option<Instant>,
        waiting_for: Waiting,
        op: impl Fn(&'s dyn LimitStore) -> super::BoxFuture<'s, Result<T, StoreError>>,
    ) -> Result<(T, Arc<dyn LimitStore>), Refusal> {
        let local: Arc<dyn LimitStore> = self.local.clone();
        let Some(fleet) = &self.fleet else {
            return match op(&*self.local).await {
                Ok(answer) => Ok((answer, local)),
                Err(problem) => Err(Refusal::Fleet { waiting_for, problem }),
            };
        };
        let problem = match fleet.bounded(deadline, op(&*fleet.limits)).await {
            None => return Err(Refusal::Deadline { waiting_for }),
            Some(Ok(answer)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("fleet: the limit store answers again; limits are shared again");
                }
                return Ok((answer, fleet.limits.clone()));
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
                match op(&*self.local).await {
                    Ok(answer) => Ok((answer, local)),
                    Err(problem) => Err(Refusal::Fleet { waiting_for, problem }),
                }
            }
        }
    }

    /// Waits for a concurrency slot (when limited) and the client-side rate (when limited), then
    /// for the fleet's server budget. Returns the slot to hold while the attempt runs.
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
                .ask(deadline, Waiting::RateLimiter, |s| s.take_rate(&key, quota, max_wait))
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
                    .ask(deadline, Waiting::RateLimiter, |s| s.take_budget(&key))
                    .await?;
                // A wait past the probe interval is not believed: the request goes and its
                // answer states the budget afresh (as the in-process pacer does).
                let Some(wait) = wait.filter(|w| *w <= probe_interval) else {
                    break;
                };
                let past_deadline = deadline.is_some_and(|d| Instant::now() + wait >= d);
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
            let (lease, store) = self
                .ask(deadline, Waiting::ConcurrencySlot, |s| {
                    s.lease_slot(&key, max, self.lease_ttl)
                })
                .await?;
            if let Some(lease) = lease {
                return Ok(Slot {
                    store,
                    key,
                    lease,
                    released: self.released.clone(),
                });
            }
            let poll = if self.fleet.is_some() {
                SLOT_POLL
            } else {
                self.lease_ttl
            };
            let until = Instant::now() + poll;
            let until = deadline.map_or(until, |d| d.min(until));
            tokio::select! {
                () = &mut released => {}
                () = tokio::time::sleep_until(until.into()) => {
                    if deadline.is_some_and(|d| d <= Instant::now()) {
                        return Err(Refusal::Deadline { waiting_for: Waiting::ConcurrencySlot });
                    }
                }
            }
        }
    }

    /// Shares what a response said about the server's budget with the fleet. A store failure
    /// here only warns: the call has its answer.
    pub(crate) async fn note(&self, operation: &str, remaining: Option<u64>, reset_in: Option<Duration>) {
        let (Some(fleet), Some(remaining), Some(reset_in)) = (&self.fleet, remaining, reset_in) else {
            return;
        };
        let key = self.budget_key(operation);
        if let Some(Err(problem)) = fleet
            .bounded(None, fleet.limits.note_budget(&key, remaining, reset_in))
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
        fn answer<'a, T: Send + 'a>(&'a self) -> super::super::BoxFuture<'a, Result<T, StoreError>> {
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
        fn take_rate<'a>(
            &'a self,
            _: &'a str,
            _: Quota,
            _: Duration,
        ) -> super::super::BoxFuture<'a, Result<RateAnswer, StoreError>> {
            self.answer()
        }
        fn lease_slot<'a>(
            &'a self,
            _: &'a str,
            _: u32,
            _: Duration,
        ) -> super::super::BoxFuture<'a, Result<Option<u64>, StoreError>> {
            self.answer()
        }
        fn release_slot(&self, _: &str, _: u64) {}
        fn note_budget<'a>(
            &'a self,
            _: &'a str,
            _: u64,
            _: Duration,
        ) -> super::super::BoxFuture<'a, Result<(), StoreError>> {
            self.answer()
        }
        fn take_budget<'a>(&'a self, _: &'a str) -> super::super::BoxFuture<'a, Result<Option<Duration>, StoreError>> {
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
                assert_eq!(waiting_for, Waiting::ConcurrencySlot);
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
