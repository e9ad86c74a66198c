//! The attempt loop: it waits for pacing, the concurrency slot and the client-side limiter
//! (each within the call's deadline), sends one attempt with a bounded body read, asks the
//! retry rules for their verdict and [`decide`](crate::retry::decide) what next, and does it. Facts for a typed error go to the call's
//! [`CallRecord`](crate::CallRecord).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Request, Response, ResponseBuilderExt as _, StatusCode};
use tracing::Instrument;

use crate::admission::Stated;
use crate::body::{read_limited, Read};
use crate::call::{self, Refusal, StopReason, Waiting};
use crate::error_body::ErrorBody;
use crate::millis;
use crate::paging::PageHeaders;
use crate::policy::{has_idempotency_key, idempotent_method};
use crate::rate_limit::RateLimit;
use crate::retry::decide::{decide, Decision, Outcome, State};
use crate::retry::{Answer, Verdict};
use crate::token::{RefreshOutcome, TokenStore};
use crate::Runtime;

/// One attempt's result.
enum Sent {
    /// A response, rebuilt around its buffered body (kept here too, for error records).
    Answer(Response, Bytes),
    Failed(reqwest::Error),
}

/// A success body over the limit (nothing past the limit was read): the call ends there.
struct TooLarge {
    status: StatusCode,
    headers: HeaderMap,
    limit: u64,
    declared: Option<u64>,
}

/// The fixed facts of one call.
struct Call {
    operation: &'static str,
    /// Whether the operation pages (its `pagination-*` headers are read).
    paginated: bool,
    started: Instant,
    deadline: Option<Instant>,
    safe_to_repeat: bool,
    /// The token store and the generation the request goes out with (to refresh once on 401).
    token: Option<(Arc<TokenStore>, u64)>,
}

impl Runtime {
    /// Sends `request` (prepared with credentials and query encoding) with `client`, retrying
    /// what is safe to retry. Returns the last response or transport error; the facts a typed
    /// error needs (attempts, why it stopped, a refusal) go to the enclosing [`call::scope`].
    ///
    /// When the runtime refuses (pacing, the deadline, an oversized body), the response handed
    /// back carries the [`Refusal`] in its extensions; [`refusal_of`](crate::refusal_of) finds it.
    pub async fn execute(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        operation_id: &str,
    ) -> reqwest::Result<Response> {
        let meta = self.operation(operation_id);
        // The generation of the very token applied, so a 401 refreshes exactly that one.
        let generation = self.prepare(&mut request, operation_id);
        let token = self
            .inner
            .auth
            .token_store()
            .zip(generation)
            .map(|(store, seen)| (Arc::clone(store), seen));
        let started = Instant::now();
        let call = Call {
            operation: meta.map_or("", |op| op.id),
            paginated: meta.is_some_and(|op| op.paging.is_some()),
            started,
            // A limit too large to add to now is no limit.
            deadline: self
                .inner
                .settings
                .timeouts
                .overall
                .and_then(|d| started.checked_add(d)),
            safe_to_repeat: idempotent_method(request.method())
                || has_idempotency_key(&request)
                || call::options().retry_unsafe,
            token,
        };
        let span = tracing::info_span!(
            "request",
            api = self.inner.api.name(),
            operation = operation_id,
            method = %request.method(),
            path = meta.map_or("", |op| op.path),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let result = self.attempts(client, request, &call).instrument(span.clone()).await;
        let elapsed = started.elapsed();
        span.record("duration_ms", millis(elapsed));
        if let Ok(response) = &result {
            span.record("status", response.status().as_u16());
        }
        call::update(|r| {
            r.elapsed = elapsed;
            span.record("attempts", r.attempts);
        });
        result
    }

    async fn attempts(&self, client: &reqwest::Client, mut request: Request, call: &Call) -> reqwest::Result<Response> {
        let policy = self.inner.settings.retry;
        let mut attempt: u32 = 0;
        let mut free_resend = false;
        let mut token = call.token.clone();
        // A byte body is kept once: every attempt's copy shares it (no copy of the bytes).
        let body = take_byte_body(&mut request).await;
        loop {
            // A body that cannot be cloned (a stream) gets one attempt: every decision after it
            // returns, so the placeholder left behind is never sent.
            let (this, replayable) = match copy_of(&request, body.as_ref()) {
                Some(copy) => (copy, true),
                None => {
                    let placeholder = Request::new(request.method().clone(), request.url().clone());
                    (std::mem::replace(&mut request, placeholder), false)
                }
            };
            let admitted = match self
                .inner
                .gate
                .admit(
                    call.operation,
                    call.deadline,
                    self.inner.settings.pacing,
                    policy.max_retry_after,
                )
                .await
            {
                Ok(admitted) => admitted,
                Err(refusal) => return Ok(self.refuse(refusal)),
            };
            let (permit, flight) = (admitted.slot, admitted.flight);
            if !std::mem::take(&mut free_resend) {
                attempt = attempt.saturating_add(1);
            }
            let attempt_started = Instant::now();
            let sent = self.send_once(client, this, call.deadline).await;
            drop(permit);
            call::update(|r| r.attempts = attempt);
            let sent = match sent {
                Ok(sent) => sent,
                Err(too_large) => return Ok(self.too_large(too_large)),
            };
            let mut sent = sent;
            let outcome = match &mut sent {
                Sent::Answer(response, body) => {
                    let status = response.status();
                    let rate_limit = self.observe(response.headers());
                    let stated = Stated {
                        accepted: status != StatusCode::TOO_MANY_REQUESTS,
                        remaining: rate_limit.remaining,
                        reset_in: rate_limit.reset_in,
                    };
                    self.inner
                        .gate
                        .note(call.operation, call.deadline, flight, stated, policy.max_retry_after)
                        .await;
                    let failed = status.is_client_error() || status.is_server_error();
                    // Server text can quote the credential it was sent (a "bad key sk_..."):
                    // the error a caller sees never does. Only on the error path.
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
                    // Moved when the facade records the call (it answers with the record's
                    // headers); an upgrade keeps its own.
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
                        attempt_ms = millis(attempt_started.elapsed()),
                        total_ms = millis(call.started.elapsed()),
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
                Sent::Failed(e) => {
                    let before_send = e.is_connect();
                    call::update(|r| r.sent |= !before_send);
                    tracing::debug!(attempt, error = %e, connect = before_send, "transport error");
                    Outcome::Failed {
                        before_send,
                        timeout: e.is_timeout(),
                    }
                }
            };
            let state = State {
                attempt,
                safe_to_repeat: call.safe_to_repeat,
                can_refresh: replayable && token.as_ref().is_some_and(|(store, _)| store.can_refresh()),
                time_left: call.deadline.map(|d| d.saturating_duration_since(Instant::now())),
                jitter: rand::random::<f64>(),
            };
            match decide(outcome, state, &policy) {
                Decision::RefreshThenResend => {
                    let Some((store, seen)) = token.take() else {
                        return finish(sent);
                    };
                    match store.refresh_after(seen, call.deadline).await {
                        RefreshOutcome::Refreshed => {
                            let _ = self.inner.credentials.apply(request.headers_mut());
                            tracing::info!(attempt, "resending with a refreshed token");
                            free_resend = true;
                        }
                        RefreshOutcome::Failed => {
                            call::update(|r| r.stop = Some(StopReason::Final));
                            return finish(sent);
                        }
                        RefreshOutcome::DeadlinePassed => {
                            return Ok(self.refuse(Refusal::Deadline {
                                waiting_for: Waiting::TokenRefresh,
                            }))
                        }
                    }
                }
                Decision::Stop { reason, retry_after } => {
                    tracing::info!(attempt, ?reason, "done");
                    if matches!(&sent, Sent::Answer(r, _) if r.status().is_success()) {
                        self.inner.budget.refund();
                    }
                    call::update(|r| {
                        r.stop = Some(reason);
                        r.retry_after = retry_after;
                    });
                    return finish(sent);
                }
                Decision::Retry { .. } if !replayable => {
                    call::update(|r| r.stop = Some(StopReason::BodyNotReplayable));
                    return finish(sent);
                }
                Decision::Retry { delay, after_timeout } => {
                    if !self.inner.budget.withdraw(after_timeout) {
                        tracing::warn!(attempt, "not retrying: the client's retry budget is spent");
                        call::update(|r| r.stop = Some(StopReason::RetryBudgetExhausted));
                        return finish(sent);
                    }
                    tracing::info!(attempt, delay_ms = millis(delay), "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Parses a response's rate-limit headers once, for the client-wide snapshot (the gate
    /// notes the budget they state).
    fn observe(&self, headers: &HeaderMap) -> RateLimit {
        let rate_limit = RateLimit::from_headers(headers, SystemTime::now());
        if let Ok(mut shared) = self.inner.rate_limit.lock() {
            shared.merge(&rate_limit);
        }
        rate_limit
    }

    /// Sends one attempt and reads its body under the body limits, all within the attempt's
    /// timeout (so a connection dropped mid-body is a transport error of this attempt).
    async fn send_once(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        deadline: Option<Instant>,
    ) -> Result<Sent, TooLarge> {
        let per_attempt = self.inner.settings.timeouts.per_attempt;
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let deadline_closer = left.is_some_and(|left| left < per_attempt);
        if deadline_closer || !self.inner.attempt_timeout_in_client {
            let limit = left.map_or(per_attempt, |left| left.min(per_attempt));
            *request.timeout_mut() = Some(limit.max(Duration::from_millis(1)));
        }
        let response = match client.execute(request).await {
            Ok(r) => r,
            Err(e) => return Ok(Sent::Failed(e)),
        };
        let (status, version) = (response.status(), response.version());
        if status == StatusCode::SWITCHING_PROTOCOLS {
            // An upgraded connection is handed over as is: only the original can be upgraded.
            return Ok(Sent::Answer(response, Bytes::new()));
        }
        let mut response = response;
        // Moved out, not cloned: the body is read from what is left.
        let headers = std::mem::take(response.headers_mut());
        // The rebuilt response keeps the URL (a copy is cheaper than the parse of a placeholder
        // reqwest makes for a response without one).
        let url = response.url().clone();
        match read_limited(response, &self.inner.settings.body_limits).await {
            Ok(Read::Body(bytes)) => {
                let rebuilt = http::Response::builder().url(url).body(bytes.clone());
                let mut rebuilt = rebuilt.unwrap_or_else(|_| http::Response::new(bytes.clone()));
                *rebuilt.status_mut() = status;
                *rebuilt.version_mut() = version;
                *rebuilt.headers_mut() = headers;
                // An error body may have been cut to a prefix: its length header follows.
                let declared = rebuilt.headers().get(http::header::CONTENT_LENGTH);
                if declared.is_some_and(|d| parse_length(d.as_bytes()) != Some(bytes.len())) {
                    rebuilt
                        .headers_mut()
                        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
                }
                Ok(Sent::Answer(Response::from(rebuilt), bytes))
            }
            Ok(Read::TooLarge { limit, declared }) => Err(TooLarge {
                status,
                headers,
                limit,
                declared,
            }),
            Err(e) => Ok(Sent::Failed(e)),
        }
    }

    /// Records the response whose body was too large and refuses to read on.
    fn too_large(&self, big: TooLarge) -> Response {
        let rate_limit = self.observe(&big.headers);
        call::update(|r| {
            r.status = Some(big.status);
            r.headers = Some(big.headers);
            r.rate_limit = rate_limit;
            r.sent = true;
        });
        self.refuse(Refusal::BodyTooLarge {
            status: big.status,
            limit: big.limit,
            declared: big.declared,
        })
    }

    /// Records `refusal` and returns the stand-in response that carries it to the client hooks.
    fn refuse(&self, refusal: Refusal) -> Response {
        let (status, stop) = match &refusal {
            Refusal::Paced { .. } => (StatusCode::TOO_MANY_REQUESTS, StopReason::PacedFailFast),
            Refusal::Deadline { .. } => (StatusCode::REQUEST_TIMEOUT, StopReason::Deadline),
            Refusal::BodyTooLarge { status, .. } => (*status, StopReason::Refused),
            Refusal::PathParameter { .. } => (StatusCode::BAD_REQUEST, StopReason::Refused),
            Refusal::Fleet { .. } => (StatusCode::SERVICE_UNAVAILABLE, StopReason::Refused),
        };
        tracing::info!(%refusal, "refused");
        call::update(|r| {
            if let Refusal::Paced { wait } = &refusal {
                r.retry_after = Some(*wait);
                r.status.get_or_insert(StatusCode::TOO_MANY_REQUESTS);
            }
            r.stop = Some(stop);
            r.refusal = Some(refusal.clone());
        });
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = status;
        if let Refusal::Paced { wait } = &refusal {
            let secs = wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0));
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response.extensions_mut().insert(refusal);
        Response::from(response)
    }
}

/// Takes `request`'s body out when it is bytes (what the generated clients send), as one shared
/// buffer; a streaming body stays in the request.
async fn take_byte_body(request: &mut Request) -> Option<Bytes> {
    use http_body_util::BodyExt as _;
    request.body().and_then(reqwest::Body::as_bytes)?;
    let mut body = request.body_mut().take()?;
    // A byte body is one frame (none when empty), ready at once.
    match body.frame().await {
        None => Some(Bytes::new()),
        Some(Ok(frame)) => frame.into_data().ok(),
        Some(Err(_)) => None,
    }
}

/// A copy of `request` with `body` for one attempt. reqwest's `try_clone` also writes an empty
/// timeout into the copy's extensions (an allocated map); a request whose body was taken out as
/// bytes, or has none, and has no timeout (every request the generated clients make: their
/// builders set nothing else a copy could miss) is copied field by field instead.
fn copy_of(request: &Request, body: Option<&Bytes>) -> Option<Request> {
    if request.body().is_some() || request.timeout().is_some() {
        return request.try_clone();
    }
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    *copy.body_mut() = body.cloned().map(reqwest::Body::from);
    Some(copy)
}

/// A `Content-Length` value as a number (`None` when it is not one).
fn parse_length(value: &[u8]) -> Option<usize> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

fn finish(sent: Sent) -> reqwest::Result<Response> {
    match sent {
        Sent::Answer(response, _) => Ok(response),
        Sent::Failed(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempts_copy_is_the_request() {
        let url = reqwest::Url::parse("https://api.example/v1/agents?page=2").expect("url");
        let mut get = Request::new(reqwest::Method::GET, url.clone());
        get.headers_mut()
            .insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        *get.version_mut() = http::Version::HTTP_11;
        let copy = copy_of(&get, None).expect("copied");
        assert_eq!(
            (copy.method(), copy.url(), copy.headers(), copy.version()),
            (get.method(), get.url(), get.headers(), get.version())
        );
        assert!(copy.body().is_none() && copy.timeout().is_none());
        let mut post = Request::new(reqwest::Method::POST, url);
        *post.body_mut() = Some(reqwest::Body::from("{\"a\":1}"));
        let body = futures_util::FutureExt::now_or_never(take_byte_body(&mut post))
            .flatten()
            .expect("a byte body is taken at once");
        assert!(post.body().is_none());
        for _ in 0..2 {
            let copy = copy_of(&post, Some(&body)).expect("a byte body copies");
            assert_eq!(copy.body().and_then(reqwest::Body::as_bytes), Some(&b"{\"a\":1}"[..]));
        }
        // A request with a timeout of its own goes through reqwest's copy.
        *post.timeout_mut() = Some(Duration::from_secs(3));
        *post.body_mut() = Some(reqwest::Body::from("x"));
        let copy = copy_of(&post, None).expect("copied");
        assert_eq!(copy.timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(copy.body().and_then(reqwest::Body::as_bytes), Some(&b"x"[..]));
    }

    #[test]
    fn content_lengths_parse_or_not() {
        assert_eq!(parse_length(b"10240"), Some(10240));
        assert_eq!(parse_length(b" 7 "), Some(7));
        assert_eq!(parse_length(b"-1"), None);
        assert_eq!(parse_length(b"\xff"), None);
    }
}
