//! Phase three of an attempt: read what came back once (rate-limit headers, paging headers, the
//! error body with credentials scrubbed), note the server's budget in the gate, ask the retry
//! rules for their verdict, record it all for the typed error, and hand `decide` the outcome.

use std::time::SystemTime;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::send::Sent;
use super::Call;
use crate::admission::{Flight, Stated};
use crate::call;
use crate::error_body::ErrorBody;
use crate::millis;
use crate::paging::PageHeaders;
use crate::rate_limit::RateLimit;
use crate::retry::decide::Outcome;
use crate::retry::{Answer, Verdict};
use crate::Runtime;

impl Runtime {
    /// The outcome of the attempt `attempt` of `call`, admitted as `flight`, recorded.
    pub(super) async fn observe_attempt(&self, sent: &mut Sent, call: &Call, flight: Flight, attempt: u32) -> Outcome {
        match sent {
            Sent::Answer(response, body) => self.answered(response, body, call, flight, attempt).await,
            Sent::Failed(e) => {
                let before_send = e.is_connect();
                call::update(|r| r.sent |= !before_send);
                tracing::debug!(attempt, error = %e, connect = before_send, "transport error");
                Outcome::Failed {
                    before_send,
                    timeout: e.is_timeout(),
                }
            }
        }
    }

    async fn answered(
        &self,
        response: &mut reqwest::Response,
        body: &mut bytes::Bytes,
        call: &Call,
        flight: Flight,
        attempt: u32,
    ) -> Outcome {
        let status = response.status();
        let rate_limit = self.observe(response.headers());
        let stated = Stated {
            accepted: status != StatusCode::TOO_MANY_REQUESTS,
            remaining: rate_limit.remaining,
            reset_in: rate_limit.reset_in,
        };
        self.inner
            .gate
            .note(call.operation, call.deadline, flight, stated)
            .await;
        let failed = status.is_client_error() || status.is_server_error();
        // Server text can quote the credential it was sent (a "bad key sk_..."): the
        // error a caller sees never does. Only on the error path.
        let error = failed.then(|| {
            let secrets = self.inner.auth.current_secrets();
            let secrets: Vec<&str> = secrets.iter().map(crate::Secret::expose).collect();
            *body = crate::secret::scrub_bytes(std::mem::take(body), &secrets);
            ErrorBody::parse(body)
        });
        let verdict = match &error {
            Some(error) => {
                let answer = Answer::new(status, response.headers(), error.code.as_deref());
                self.inner.settings.retry_rules.classify(self.inner.api, &answer)
            }
            None => Verdict::Final,
        };
        let pages = if call.paginated {
            PageHeaders::from_headers(response.headers())
        } else {
            PageHeaders::default()
        };
        // Moved when the facade records the call (it answers with the record's headers);
        // an upgrade keeps its own.
        let headers = if call::in_scope() && status != StatusCode::SWITCHING_PROTOCOLS {
            std::mem::take(response.headers_mut())
        } else {
            response.headers().clone()
        };
        call::update(|r| {
            r.status = Some(status);
            r.headers = Some(headers);
            r.rate_limit = rate_limit;
            r.pages = pages;
            r.sent = true;
            r.retryable = failed.then_some(verdict.is_retryable());
            r.error = error;
            r.error_body = failed.then(|| body.clone());
        });
        tracing::debug!(
            attempt,
            status = status.as_u16(),
            total_ms = millis(self.inner.env.now().saturating_duration_since(call.started)),
            "response"
        );
        let server_wait = if verdict.waits_for_reset() {
            rate_limit.wait(SystemTime::now())
        } else {
            rate_limit.retry_after
        };
        Outcome::Answered {
            status,
            verdict,
            server_wait,
        }
    }

    /// Parses a response's rate-limit headers once, for the client-wide snapshot (the gate
    /// notes the budget they state).
    pub(super) fn observe(&self, headers: &HeaderMap) -> RateLimit {
        let rate_limit = RateLimit::from_headers(headers, SystemTime::now());
        if let Ok(mut shared) = self.inner.rate_limit.lock() {
            shared.merge(&rate_limit);
        }
        rate_limit
    }
}
