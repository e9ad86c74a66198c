//! Admission: what a request waits for before it goes out, in one model with one refusal path.
//! Each request passes, in order and each within the call's deadline:
//! 1. a **concurrency slot** ([`slot`]), when the client limits concurrency: a fair
//!    first-come-first-served semaphore, or a lease in the fleet's store;
//! 2. the **client-side rate** ([`rate`]), when the client limits its rate: a place in a GCRA
//!    schedule, in memory or in the fleet's store;
//! 3. the **server-stated budget** ([`server_budget`]): what the last answers' `X-RateLimit-*`
//!    headers said remains until the reset, counted down by every request sent since; when it is
//!    spent, requests wait for the reset (or fail fast), and after the probe interval one goes
//!    through as the probe whose answer states the budget afresh, so a wrong or hostile reset
//!    time cannot lock a client out.
//!
//! Every wait that cannot end in time is a [`Refusal`]: `Deadline` (with what it waited for),
//! `Paced` (the budget is spent and the caller fails fast, or the reset lies past the
//! deadline) or `Fleet` (a failing-closed fleet's store is out). Without a fleet (or while a
//! failing-open fleet's store is out, see [`outage`]) the process's own limits apply.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use crate::call::Refusal;
use crate::fleet::{Fleet, Keys, MemoryStore, Quota, StoreError};
use crate::policy::Pacing;
use crate::LimitScope;
use crate::Settings;

mod outage;
mod rate;
mod server_budget;
mod slot;
#[cfg(test)]
mod tests;

pub(crate) use server_budget::Stated;
pub(crate) use slot::Slot;

/// How long past the call's deadline a shared lease lives: a worker that crashed mid-request
/// frees its slot this long after the request could have ended anyway.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

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
    /// Where this client's limits are kept (under `<namespace>:<api>:<credential hash>` in a
    /// fleet; see [`Keys`]).
    keys: Keys,
    quota: Option<Quota>,
    concurrency: Option<u32>,
    /// One attempt and a margin: how long a shared lease outlives the call's deadline.
    lease_ttl: Duration,
    scope: LimitScope,
    /// Whether a spent budget is waited out or refused at once.
    pacing: Pacing,
    /// How long a spent budget holds requests before one goes as a probe
    /// (`RetryPolicy::max_retry_after`).
    probe_interval: Duration,
    /// Shared slots given back in this process.
    released: Arc<Notify>,
    /// While the shared store is out: until when it is left alone, and how it failed.
    outage: Mutex<Option<(Instant, StoreError)>>,
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

impl Gate {
    /// The gate of a runtime with `settings` (its limits, attempt timeout, pacing and probe
    /// interval, read once here), keeping server budgets per `scope`.
    pub(crate) fn new(settings: &Settings, scope: LimitScope, fleet: Option<(Fleet, String)>) -> Self {
        let limits = settings.limits;
        let attempt_timeout = settings.timeouts.per_attempt;
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
            keys: Keys::under(prefix),
            quota: limits
                .per_minute
                .filter(|n| *n > 0)
                .map(|n| Quota::new(n, limits.burst.unwrap_or(n))),
            concurrency,
            lease_ttl: attempt_timeout.saturating_add(LEASE_MARGIN),
            scope,
            pacing: settings.pacing,
            probe_interval: settings.retry.max_retry_after,
            released: Arc::new(Notify::new()),
            outage: Mutex::new(None),
        }
    }

    fn budget_key(&self, operation: &str) -> std::borrow::Cow<'_, str> {
        self.keys.budget(self.scope, operation)
    }

    /// Waits for a concurrency slot (when limited), then the client-side rate (when limited),
    /// then the server-stated budget (shared in a fleet), each within the deadline. Returns the
    /// slot to hold while the attempt runs, and the request's place among those in flight. The slot comes first so that requests go out at their places in the
    /// rate's schedule (a slot taken after the rate would let requests whose places passed while
    /// they waited go out together).
    pub(crate) async fn admit(&self, operation: &str, deadline: Option<Instant>) -> Result<Admitted, Refusal> {
        let slot = match self.concurrency {
            Some(max) => Some(self.slot(max, deadline).await?),
            None => None,
        };
        if let Some(quota) = self.quota {
            self.rate(quota, deadline).await?;
        }
        self.budget(operation, deadline).await?;
        let flight = Flight(self.sent.fetch_add(1, Ordering::AcqRel));
        Ok(Admitted { slot, flight })
    }
}
