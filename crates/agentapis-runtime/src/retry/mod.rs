//! Trying again: which answers are worth another attempt ([`RetryRules`], an ordered chain the
//! user can extend), and what to do after an attempt (`decide`, a pure function the attempt
//! loop acts on). How long to wait between attempts is the runtime's one
//! [`Backoff`](crate::backoff::Backoff), configured by [`RetryPolicy`](crate::RetryPolicy).

pub(crate) mod decide;
mod rules;

pub use rules::{documented, status_verdict, Answer, RetryRule, RetryRules, VendorCode, Verdict};
