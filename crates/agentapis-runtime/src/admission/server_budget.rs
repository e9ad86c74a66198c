//! The server-stated budget: what the answers' `X-RateLimit-*` headers said remains until the
//! reset, noted after every answer and taken from before every request (see the module docs of
//! [`super`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Flight, Gate};
use crate::call::{Refusal, Waiting};
use crate::millis;
use crate::policy::Pacing;

/// The largest count a Lua number holds exactly (2^53): a server-stated budget is clamped to it.
const EXACT_IN_LUA: u64 = 1 << 53;

/// What an answer said about the server's budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stated {
    /// The server took the request (anything but a 429).
    pub(crate) accepted: bool,
    /// `X-RateLimit-Remaining`.
    pub(crate) remaining: Option<u64>,
    /// Until the reset.
    pub(crate) reset_in: Option<Duration>,
}

impl Gate {
    /// Waits while the server-stated budget (the fleet's, or this process's) is spent.
    pub(super) async fn budget(&self, operation: &str, deadline: Option<Instant>) -> Result<(), Refusal> {
        let (key, probe_interval) = (self.budget_key(operation), self.probe_interval);
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
            if self.pacing == Pacing::FailFast || past_deadline {
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

    /// Notes what the answer to request `flight` said about the server's budget (in the fleet's
    /// store, or this process's), within the call's deadline, lowered by the requests sent after
    /// it (the server had not counted them yet). Wakes the callers waiting on the budget. A
    /// store failure here only counts as an outage: the call has its answer. A budget spent
    /// until a reset more than the probe interval away holds every request for one interval
    /// before the first probe.
    pub(crate) async fn note(&self, operation: &str, deadline: Option<Instant>, flight: Flight, stated: Stated) {
        let probe_interval = self.probe_interval;
        let Stated {
            accepted,
            remaining,
            reset_in,
        } = stated;
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
                    .bounded(
                        deadline,
                        fleet.limits.note_budget(&key, remaining, reset_in, probe_interval),
                    )
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
            let _ = self.local.note_now(&key, remaining, reset_in, probe_interval);
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
