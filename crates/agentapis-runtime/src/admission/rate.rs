//! The client-side rate: a place in the schedule of the client's quota (the fleet's, or this
//! process's), slept until.

use std::time::{Duration, Instant};

use super::Gate;
use crate::call::{Refusal, Waiting};
use crate::fleet::{Quota, RateAnswer};

impl Gate {
    /// Takes a place in the rate's schedule and sleeps until it.
    pub(super) async fn rate(&self, quota: Quota, deadline: Option<Instant>) -> Result<(), Refusal> {
        let key = self.keys.rate();
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
}
