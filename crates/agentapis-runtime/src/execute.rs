//! The attempt loop: pacing, client-side limits, per-attempt and overall timeouts, retries with
//! full-jitter backoff, and the rule that nothing unsafe is sent twice.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, Request, Response, StatusCode};

use crate::call::{self, StopReason};
use crate::policy::Pacing;
use crate::rate_limit::RateLimit;
use crate::Runtime;
use tracing::Instrument;

/// Statuses worth another attempt (when the request is safe to repeat): the one rule the
/// runtime retries by and the facade reports as `retryable`.
pub fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn idempotent_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// True when the request carries an idempotency key: an `Idempotency-Key` header, or an
/// `idempotency_key` field at the top of a JSON body (ArchAstro message posts).
pub(crate) fn has_idempotency_key(request: &Request) -> bool {
    if request.headers().contains_key("idempotency-key") {
        return true;
    }
    let Some(bytes) = request.body().and_then(reqwest::Body::as_bytes) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("idempotency_key").map(|k| !k.is_null()))
        .unwrap_or(false)
}

enum Outcome {
    /// A response, and its body (already inside the response; kept here for error records).
    Response(Response, bytes::Bytes),
    Error(reqwest::Error),
}

impl Runtime {
    /// Sends `request` (prepared with credentials and query encoding) with `client`, retrying
    /// what is safe to retry. Returns the last response or transport error; the facts a typed
    /// error needs (attempts, why it stopped) go to the enclosing [`call::scope`].
    pub async fn execute(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        operation_id: &str,
    ) -> reqwest::Result<Response> {
        // The token generation this request goes out with, to refresh at most once on a 401.
        let token = self
            .inner
            .auth
            .token_store()
            .map(|store| (std::sync::Arc::clone(store), store.current().0));
        self.prepare(&mut request, operation_id);
        let started = Instant::now();
        let deadline = self.inner.timeouts.overall.map(|d| started + d);
        let safe_anyway =
            idempotent_method(request.method()) || has_idempotency_key(&request) || call::options().retry_unsafe;
        let span = tracing::info_span!(
            "request",
            api = self.inner.api,
            operation = operation_id,
            method = %request.method(),
            path = self.operation(operation_id).map_or("", |op| op.path),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let result = self
            .attempts(client, request, started, deadline, safe_anyway, token)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        call::update(|r| r.elapsed = elapsed);
        // The span's outcome fields: what a log line for the whole call needs.
        span.record("duration_ms", elapsed.as_millis() as u64);
        if let Ok(response) = &result {
            span.record("status", response.status().as_u16());
        }
        call::update(|r| {
            span.record("attempts", r.attempts);
        });
        result
    }

    async fn attempts(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        started: Instant,
        deadline: Option<Instant>,
        safe_anyway: bool,
        mut token: Option<(std::sync::Arc<crate::TokenStore>, u64)>,
    ) -> reqwest::Result<Response> {
        let policy = self.inner.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Some(stop) = self.pace(deadline).await {
                call::update(|r| {
                    r.stop = Some(stop.0);
                    r.retry_after = Some(stop.1);
                    r.status = Some(StatusCode::TOO_MANY_REQUESTS);
                    r.error_body = Some(bytes::Bytes::from_static(PACED_BODY.as_bytes()));
                });
                return Ok(synthesized_429(stop.1));
            }
            let Some(mut this) = request.try_clone() else {
                // A streaming body: one attempt only.
                call::update(|r| r.stop = Some(StopReason::BodyNotReplayable));
                return client.execute(request).await;
            };
            let mut per_attempt = self.inner.timeouts.per_attempt;
            if let Some(deadline) = deadline {
                per_attempt = per_attempt.min(deadline.saturating_duration_since(Instant::now()));
            }
            *this.timeout_mut() = Some(per_attempt);
            let attempt_started = Instant::now();
            let outcome = {
                let _permit = match &self.inner.concurrency {
                    Some(sem) => sem.acquire().await.ok(),
                    None => None,
                };
                if let Some(limiter) = &self.inner.limiter {
                    limiter.until_ready().await;
                }
                send_buffered(client, this).await
            };
            call::update(|r| r.attempts = attempt);
            // Why another attempt is wanted, and how long the server asked us to wait.
            let (reason, server_wait, may_have_reached_server) = match &outcome {
                Outcome::Response(resp, body) => {
                    let rl = RateLimit::from_headers(resp.headers(), SystemTime::now());
                    if let Ok(mut shared) = self.inner.rate_limit.lock() {
                        shared.merge(&rl);
                    }
                    let status = resp.status();
                    call::update(|r| {
                        r.status = Some(status);
                        r.headers = Some(resp.headers().clone());
                        r.rate_limit = rl;
                        r.sent = true;
                        r.error_body =
                            Some(body.clone()).filter(|_| status.is_client_error() || status.is_server_error());
                    });
                    tracing::debug!(
                        attempt,
                        status = status.as_u16(),
                        attempt_ms = attempt_started.elapsed().as_millis() as u64,
                        total_ms = started.elapsed().as_millis() as u64,
                        "response"
                    );
                    // A rejected token: refresh once (single flight across calls) and resend.
                    // The server refused the request, so resending cannot do it twice.
                    if status == StatusCode::UNAUTHORIZED {
                        if let Some((store, seen)) = token.take().filter(|(store, _)| store.can_refresh()) {
                            if store.refresh_after(seen).await {
                                self.inner.auth.apply(request.headers_mut());
                                tracing::info!(attempt, "retrying with a refreshed token");
                                attempt -= 1;
                                continue;
                            }
                        }
                    }
                    if !retryable_status(status) {
                        call::update(|r| r.stop = Some(StopReason::Final));
                        return into_result(outcome);
                    }
                    // A 429 means the server refused the request: repeating it is safe.
                    let safe = safe_anyway || status == StatusCode::TOO_MANY_REQUESTS;
                    let wait = if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                        rl.wait(SystemTime::now())
                    } else {
                        rl.retry_after
                    };
                    (format!("status {status}"), wait, !safe)
                }
                Outcome::Error(e) => {
                    let before_send = e.is_connect();
                    call::update(|r| r.sent |= !before_send);
                    tracing::debug!(attempt, error = %e, connect = before_send, "transport error");
                    (
                        if e.is_timeout() {
                            "timeout".to_owned()
                        } else {
                            format!("transport: {e}")
                        },
                        None,
                        !(safe_anyway || before_send),
                    )
                }
            };
            if may_have_reached_server {
                tracing::info!(attempt, reason, "not retrying: request is not idempotent");
                call::update(|r| r.stop = Some(StopReason::NotIdempotent));
                return into_result(outcome);
            }
            if attempt >= policy.max_attempts {
                tracing::info!(attempt, reason, "not retrying: attempts exhausted");
                call::update(|r| {
                    r.stop = Some(StopReason::AttemptsExhausted);
                    r.retry_after = server_wait;
                });
                return into_result(outcome);
            }
            let delay = server_wait.unwrap_or_else(|| policy.backoff(attempt + 1));
            let past_deadline = deadline.is_some_and(|d| Instant::now() + delay >= d);
            if server_wait.is_some_and(|w| w > policy.max_retry_after) || (server_wait.is_some() && past_deadline) {
                tracing::info!(
                    attempt,
                    reason,
                    delay_ms = delay.as_millis() as u64,
                    "not retrying: server asks for a longer wait than allowed"
                );
                call::update(|r| {
                    r.stop = Some(StopReason::RetryAfterTooLong);
                    r.retry_after = Some(delay);
                });
                return into_result(outcome);
            }
            if past_deadline {
                tracing::info!(attempt, reason, "not retrying: overall deadline reached");
                call::update(|r| r.stop = Some(StopReason::Deadline));
                return into_result(outcome);
            }
            tracing::info!(attempt, reason, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits while the server says nothing remains until a reset; `Some` when it will not wait.
    async fn pace(&self, deadline: Option<Instant>) -> Option<(StopReason, Duration)> {
        let wait = {
            let shared = self.inner.rate_limit.lock().ok()?;
            match (shared.remaining, shared.reset_at) {
                (Some(0), Some(reset)) => reset.duration_since(SystemTime::now()).ok()?,
                _ => return None,
            }
        };
        let too_long = wait > self.inner.retry.max_retry_after || deadline.is_some_and(|d| Instant::now() + wait >= d);
        if self.inner.pacing == Pacing::FailFast || too_long {
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "not sending: no requests remain until the rate-limit reset"
            );
            return Some((StopReason::PacedFailFast, wait));
        }
        tracing::info!(
            wait_ms = wait.as_millis() as u64,
            "pacing: waiting for the rate-limit reset"
        );
        tokio::time::sleep(wait).await;
        if let Ok(mut shared) = self.inner.rate_limit.lock() {
            shared.remaining = None;
        }
        None
    }
}

fn into_result(outcome: Outcome) -> reqwest::Result<Response> {
    match outcome {
        Outcome::Response(r, _) => Ok(r),
        Outcome::Error(e) => Err(e),
    }
}

/// Sends and reads the whole body within the attempt, so a connection dropped mid-body is a
/// transport error of this attempt (and can be retried) rather than a failure after we return.
async fn send_buffered(client: &reqwest::Client, request: Request) -> Outcome {
    let response = match client.execute(request).await {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e),
    };
    let status = response.status();
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // An upgraded connection is handed over as is: it has no body to buffer, and only the
        // original response can be upgraded.
        return Outcome::Response(response, bytes::Bytes::new());
    }
    let version = response.version();
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(bytes) => {
            let mut rebuilt = http::Response::new(bytes.clone());
            *rebuilt.status_mut() = status;
            *rebuilt.version_mut() = version;
            *rebuilt.headers_mut() = headers;
            Outcome::Response(Response::from(rebuilt), bytes)
        }
        Err(e) => Outcome::Error(e),
    }
}

/// Body of the 429 the runtime answers itself when pacing refuses to send.
const PACED_BODY: &str =
    r#"{"error":{"code":"client_rate_limited","message":"no requests remain until the rate-limit reset"}}"#;

/// The response handed back when pacing refuses to send: a 429 with the wait as `Retry-After`,
/// so callers outside the facade see a rate-limit response too.
fn synthesized_429(wait: Duration) -> Response {
    let mut r = http::Response::new(bytes_of(PACED_BODY));
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(v) = http::HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Response::from(r)
}

fn bytes_of(s: &'static str) -> Vec<u8> {
    s.as_bytes().to_vec()
}
