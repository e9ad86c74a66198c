//! The rule chain behind [`RetryRules`] (see the [`retry`](crate::retry) module docs).

use std::fmt;
use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

pub use crate::vendor_code::VendorCode;
use crate::Api;

/// What a rule sees of an answered attempt.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Answer<'a> {
    /// The response status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The vendor's error code from the body, when it has one.
    pub code: Option<&'a str>,
}

impl<'a> Answer<'a> {
    /// An answer with `status`, `headers` and the body's error `code`.
    pub fn new(status: StatusCode, headers: &'a HeaderMap, code: Option<&'a str>) -> Self {
        Self { status, headers, code }
    }
}

/// Whether, and how, an answer is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Not worth another attempt.
    Final,
    /// Worth another attempt when the request is safe to send twice; the server's wait, if any,
    /// is its `Retry-After`.
    Retry,
    /// As [`Verdict::Retry`], and the server's wait is its `Retry-After` or else the
    /// rate-limit reset (a 503 of a server that states its budget).
    RetryAfterReset,
    /// The server refused the request without acting on it (a 429): another attempt is safe
    /// even for a request that is not, after `Retry-After` or the rate-limit reset.
    Refused,
}

impl Verdict {
    /// Whether another attempt may help.
    pub fn is_retryable(self) -> bool {
        self != Verdict::Final
    }

    /// Whether the server's wait is the rate-limit reset when it sends no `Retry-After`.
    pub fn waits_for_reset(self) -> bool {
        matches!(self, Verdict::RetryAfterReset | Verdict::Refused)
    }
}

/// A retry rule: `None` when it has no opinion (the next rule is asked).
pub trait RetryRule: Send + Sync {
    /// The verdict on `answer`, if this rule has one.
    fn classify(&self, answer: &Answer<'_>) -> Option<Verdict>;
}

impl<F> RetryRule for F
where
    F: Fn(&Answer<'_>) -> Option<Verdict> + Send + Sync,
{
    fn classify(&self, answer: &Answer<'_>) -> Option<Verdict> {
        self(answer)
    }
}

/// What `api` documents about `code`, if it documents it.
pub fn documented(api: Api, code: &str) -> Option<&'static VendorCode> {
    api.error_codes().iter().find(|c| c.code == code)
}

/// The built-in status rule.
pub fn status_verdict(status: StatusCode) -> Verdict {
    match status.as_u16() {
        429 => Verdict::Refused,
        503 => Verdict::RetryAfterReset,
        408 | 500 | 502 | 504 => Verdict::Retry,
        _ => Verdict::Final,
    }
}

/// The verdict on a documented code: final when documented as not retryable; else retried as its
/// documented status would be (a `RATE_LIMITED` documented with 429 is a refusal, whatever
/// status it came with).
fn code_verdict(documented: &VendorCode) -> Verdict {
    if !documented.retryable {
        return Verdict::Final;
    }
    let by_status = StatusCode::from_u16(documented.status).map_or(Verdict::Retry, status_verdict);
    if by_status.is_retryable() {
        by_status
    } else {
        Verdict::Retry
    }
}

/// The ordered chain of retry rules a client asks (see the [`retry`](crate::retry) module docs).
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct RetryRules {
    user: Vec<Arc<dyn RetryRule>>,
}

impl fmt::Debug for RetryRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryRules")
            .field("user_rules", &self.user.len())
            .finish()
    }
}

impl RetryRules {
    /// The API's documented codes and the status rule, no rule of the user's.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `rule`, asked after the rules added before it and before the built-in ones.
    pub fn rule(mut self, rule: impl RetryRule + 'static) -> Self {
        self.user.push(Arc::new(rule));
        self
    }

    /// Adds a rule giving every answer with `status` the verdict `verdict`.
    pub fn status(self, status: StatusCode, verdict: Verdict) -> Self {
        self.rule(move |answer: &Answer<'_>| (answer.status == status).then_some(verdict))
    }

    /// The chain's verdict on `answer`, an answer of `api`. A success is always final.
    pub fn classify(&self, api: Api, answer: &Answer<'_>) -> Verdict {
        if answer.status.is_success() {
            return Verdict::Final;
        }
        self.user
            .iter()
            .find_map(|rule| rule.classify(answer))
            .or_else(|| answer.code.and_then(|code| documented(api, code)).map(code_verdict))
            .unwrap_or_else(|| status_verdict(answer.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: Option<&str>) -> Verdict {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).expect("status");
        RetryRules::new().classify(Api::Agentiv, &Answer::new(status, &headers, code))
    }

    #[test]
    fn the_status_rule_is_the_last_word() {
        let verdicts: Vec<Verdict> = [200, 400, 404, 408, 429, 500, 501, 502, 503, 504]
            .into_iter()
            .map(|s| answer(s, None))
            .collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [
                Final,
                Final,
                Final,
                Retry,
                Refused,
                Retry,
                Final,
                Retry,
                RetryAfterReset,
                Retry
            ]
        );
    }

    #[test]
    fn documented_codes_decide_before_the_status() {
        // Agentiv's x-error-codes: INVALID_INPUT is not retryable, whatever status it came with.
        assert_eq!(answer(503, Some("INVALID_INPUT")), Verdict::Final);
        assert_eq!(answer(400, Some("RATE_LIMITED")), Verdict::Refused);
        assert_eq!(answer(500, Some("EXECUTION_FAILED")), Verdict::Retry);
        // A code the spec does not know: the status decides.
        assert_eq!(answer(503, Some("SOMETHING_NEW")), Verdict::RetryAfterReset);
        let headers = HeaderMap::new();
        let other_api = RetryRules::new().classify(
            Api::Invent,
            &Answer::new(StatusCode::SERVICE_UNAVAILABLE, &headers, Some("INVALID_INPUT")),
        );
        assert_eq!(other_api, Verdict::RetryAfterReset, "codes are per API");
    }

    #[test]
    fn user_rules_come_first_in_the_order_added() {
        let headers = HeaderMap::new();
        let rules = RetryRules::new()
            .status(StatusCode::from_u16(529).expect("status"), Verdict::Retry)
            .rule(|a: &Answer<'_>| (a.code == Some("INVALID_INPUT")).then_some(Verdict::Retry))
            .status(StatusCode::from_u16(529).expect("status"), Verdict::Final);
        let classify = |status: u16, code| {
            rules.classify(
                Api::Agentiv,
                &Answer::new(StatusCode::from_u16(status).expect("status"), &headers, code),
            )
        };
        assert_eq!(classify(529, None), Verdict::Retry);
        assert_eq!(classify(400, Some("INVALID_INPUT")), Verdict::Retry);
        assert_eq!(
            classify(200, Some("INVALID_INPUT")),
            Verdict::Final,
            "a success is final"
        );
        assert!(format!("{rules:?}").contains("user_rules: 3"));
    }
}
