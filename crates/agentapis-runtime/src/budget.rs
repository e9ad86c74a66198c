//! The client-wide retry budget (see [`RetryBudget`]).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::policy::RetryBudget;

/// Tokens left in a client's retry budget. Shared by every call of one runtime.
#[derive(Debug)]
pub(crate) struct Bucket {
    config: RetryBudget,
    tokens: AtomicU32,
}

impl Bucket {
    pub(crate) fn new(config: RetryBudget) -> Self {
        Self {
            config,
            tokens: AtomicU32::new(config.capacity),
        }
    }

    /// Takes the cost of one retry; false (and nothing taken) when the bucket cannot pay it.
    pub(crate) fn withdraw(&self, after_timeout: bool) -> bool {
        let cost = if after_timeout {
            self.config.timeout_cost
        } else {
            self.config.retry_cost
        };
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Puts back what a successful call earns, up to the capacity.
    pub(crate) fn refund(&self) {
        let (refund, capacity) = (self.config.success_refund, self.config.capacity);
        let _ = self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
            (t < capacity).then(|| t.saturating_add(refund).min(capacity))
        });
    }

    /// Tokens left.
    pub(crate) fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_refunds_and_never_overflows() {
        let bucket = Bucket::new(RetryBudget::default().capacity(12));
        assert!(bucket.withdraw(false)); // 7
        assert!(!bucket.withdraw(true)); // timeout costs 10
        assert!(bucket.withdraw(false)); // 2
        assert!(!bucket.withdraw(false));
        assert_eq!(bucket.available(), 2);
        for _ in 0..100 {
            bucket.refund();
        }
        assert_eq!(bucket.available(), 12);
        let unlimited = Bucket::new(RetryBudget::unlimited());
        for _ in 0..1000 {
            assert!(unlimited.withdraw(true));
            unlimited.refund();
        }
    }
}
