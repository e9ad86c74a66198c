//! Trying again: which answers are worth another attempt ([`RetryRules`], an ordered chain the
//! user can extend), and what to do after an attempt (`decide`, a pure function the attempt
//! loop acts on). How long to wait between attempts is the runtime's one
//! [`Backoff`](crate::backoff::Backoff), configured by [`RetryPolicy`](crate::RetryPolicy).
//!
//! The chain is asked after every answered attempt; `decide` acts on its verdict and the typed
//! error reports it as `retryable`. First opinion wins:
//! 1. the user's rules ([`RetryRules::rule`], [`RetryRules::status`]), in the order added;
//! 2. the API's documented error codes ([`Api::error_codes`](crate::Api::error_codes), generated from the spec's
//!    `x-error-codes`): a code documented as not retryable is final whatever the status;
//! 3. the status rule ([`status_verdict`]): 408, 500, 502 and 504 are worth a retry, 503 too
//!    with the rate-limit reset as the server's wait, 429 is a refusal (the server did nothing,
//!    so even a POST may go again after the wait); anything else is final.
//!
//! ```
//! use agentapis_runtime::retry::{RetryRules, Verdict};
//! use reqwest::StatusCode;
//! // An overloaded upstream that answers 529 with a Retry-After.
//! let rules = RetryRules::new().status(StatusCode::from_u16(529).unwrap(), Verdict::Retry);
//! # let _ = rules;
//! ```

pub(crate) mod decide;
mod rules;

pub use rules::{documented, status_verdict, Answer, RetryRule, RetryRules, VendorCode, Verdict};
