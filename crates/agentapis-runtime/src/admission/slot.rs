//! Concurrency slots: this process's own (a fair semaphore) or leases in the fleet's store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::Gate;
use crate::call::{Refusal, Waiting};
use crate::fleet::LimitStore;

/// How often a caller waiting for a slot held in another process looks again (a release in this
/// process wakes it at once).
const SLOT_POLL: Duration = Duration::from_millis(20);

/// A held concurrency slot; dropping it gives the slot back (held only for that).
#[derive(Debug)]
pub(crate) enum Slot {
    /// One of this process's own slots.
    Local { _permit: OwnedSemaphorePermit },
    /// A lease in the fleet's store.
    Shared { _lease: SharedSlot },
}

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
    pub(super) async fn slot(&self, max: u32, deadline: Option<Instant>) -> Result<Slot, Refusal> {
        if let Some(fleet) = &self.fleet {
            let key = self.keys.slots();
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
                                key: key.to_owned(),
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
}
