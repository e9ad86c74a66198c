//! The fleet's store failing: after a failure the store is left alone for [`OUTAGE_PAUSE`], so
//! an outage costs one store timeout, not one per request, and the fleet's [`FailurePolicy`]
//! says whether the process's own limits apply meanwhile (fail open) or requests are refused
//! (fail closed).

use std::time::{Duration, Instant};

use super::Gate;
use crate::call::{Refusal, Waiting};
use crate::fleet::{BoxFuture, FailurePolicy, LimitStore, StoreError};

/// How long a failed store is left alone before it is tried again.
const OUTAGE_PAUSE: Duration = Duration::from_secs(2);

impl Gate {
    /// The store failure to act on while the store is left alone.
    pub(super) fn out(&self) -> Option<StoreError> {
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

    pub(super) fn failed(&self, problem: &StoreError, policy: FailurePolicy) {
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

    pub(super) fn answered(&self) {
        if let Ok(mut outage) = self.outage.lock() {
            if outage.take().is_some() {
                tracing::info!("fleet: the limit store answers again; limits are shared again");
            }
        }
    }

    /// Runs `op` on the fleet's store: `Some(answer)`, or `None` when the process's own limits
    /// apply (no fleet, or a failing-open fleet whose store is out); a refusal when a
    /// failing-closed fleet's store is out, or the deadline passes.
    pub(super) async fn shared<'s, T>(
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
}
