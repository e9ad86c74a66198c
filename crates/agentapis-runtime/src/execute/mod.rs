//! The attempt loop, in phases: **admit** (the gate: slot, client rate, server budget, each
//! within the call's deadline), **send** ([`send`]: one attempt, its body read under the
//! limits), **observe** ([`observe`]: headers and error body read once, the budget noted, the
//! retry rules' verdict, the call's record), **decide** ([`decide`](crate::retry::decide), a
//! pure function) and **act** (refresh and resend, stop, or wait and retry). Time, waits and
//! jitter come from the runtime's [`Env`](crate::env), so the loop runs on a fake clock in its
//! tests.

mod observe;
mod refuse;
mod send;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use reqwest::{Request, Response};
use tracing::Instrument;

use crate::call::{self, Refusal, StopReason, Waiting};
use crate::millis;
use crate::policy::{has_idempotency_key, idempotent_method};
use crate::retry::decide::{decide, Decision, State};
use crate::token::{RefreshOutcome, TokenStore};
use crate::Runtime;
use send::{copy_of, take_byte_body, Sent};

/// The fixed facts of one call.
pub(super) struct Call {
    operation: &'static str,
    /// Whether the operation pages (its `pagination-*` headers are read).
    paginated: bool,
    started: Instant,
    deadline: Option<Instant>,
    safe_to_repeat: bool,
    /// The token store and the generation the request goes out with (to refresh once on 401).
    token: Option<(Arc<TokenStore>, u64)>,
}

/// What changes from one attempt to the next.
struct Run {
    /// The request's byte body, taken out once: every attempt's copy shares it.
    body: Option<Bytes>,
    attempt: u32,
    /// The next send is a resend with a refreshed token: it does not count as an attempt.
    free_resend: bool,
    token: Option<(Arc<TokenStore>, u64)>,
}

/// What the loop does after acting on a decision.
enum Next {
    Again,
    Finish,
    Refuse(Refusal),
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
        let started = self.inner.env.now();
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
        let elapsed = self.inner.env.now().saturating_duration_since(started);
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
        let mut run = Run {
            body: take_byte_body(&mut request).await,
            attempt: 0,
            free_resend: false,
            token: call.token.clone(),
        };
        loop {
            // Admit. A body that cannot be cloned (a stream) gets one attempt: every decision
            // after it returns, so the placeholder left behind is never sent.
            let (this, replayable) = match copy_of(&request, run.body.as_ref()) {
                Some(copy) => (copy, true),
                None => {
                    let placeholder = Request::new(request.method().clone(), request.url().clone());
                    (std::mem::replace(&mut request, placeholder), false)
                }
            };
            let admitted = match self.inner.gate.admit(call.operation, call.deadline).await {
                Ok(admitted) => admitted,
                Err(refusal) => return Ok(self.refuse(refusal)),
            };
            if !std::mem::take(&mut run.free_resend) {
                run.attempt = run.attempt.saturating_add(1);
            }
            // Send.
            let sent = self.send_once(client, this, call.deadline).await;
            drop(admitted.slot);
            call::update(|r| r.attempts = run.attempt);
            let mut sent = match sent {
                Ok(sent) => sent,
                Err(too_large) => return Ok(self.too_large(too_large)),
            };
            // Observe, decide, act.
            let outcome = self
                .observe_attempt(&mut sent, call, admitted.flight, run.attempt)
                .await;
            let state = State {
                attempt: run.attempt,
                safe_to_repeat: call.safe_to_repeat,
                can_refresh: replayable && run.token.as_ref().is_some_and(|(store, _)| store.can_refresh()),
                time_left: call.deadline.map(|d| d.saturating_duration_since(self.inner.env.now())),
                jitter: self.inner.env.fraction(),
            };
            let succeeded = matches!(&sent, Sent::Answer(r, _) if r.status().is_success());
            let decision = decide(outcome, state, &self.inner.settings.retry);
            match self
                .act(decision, &mut run, call, &mut request, replayable, succeeded)
                .await
            {
                Next::Again => {}
                Next::Finish => return sent.finish(),
                Next::Refuse(refusal) => return Ok(self.refuse(refusal)),
            }
        }
    }

    /// Acts on `decision`: refresh the token and resend, stop, or wait and retry.
    async fn act(
        &self,
        decision: Decision,
        run: &mut Run,
        call: &Call,
        request: &mut Request,
        replayable: bool,
        succeeded: bool,
    ) -> Next {
        let attempt = run.attempt;
        match decision {
            Decision::RefreshThenResend => {
                let Some((store, seen)) = run.token.take() else {
                    return Next::Finish;
                };
                match store.refresh_after(seen, call.deadline).await {
                    RefreshOutcome::Refreshed => {
                        let _ = self.inner.credentials.apply(request.headers_mut());
                        tracing::info!(attempt, "resending with a refreshed token");
                        run.free_resend = true;
                        Next::Again
                    }
                    RefreshOutcome::Failed => {
                        call::update(|r| r.stop = Some(StopReason::Final));
                        Next::Finish
                    }
                    RefreshOutcome::DeadlinePassed => Next::Refuse(Refusal::Deadline {
                        waiting_for: Waiting::TokenRefresh,
                    }),
                }
            }
            Decision::Stop { reason, retry_after } => {
                tracing::info!(attempt, ?reason, "done");
                if succeeded {
                    self.inner.budget.refund();
                }
                call::update(|r| {
                    r.stop = Some(reason);
                    r.retry_after = retry_after;
                });
                Next::Finish
            }
            Decision::Retry { .. } if !replayable => {
                call::update(|r| r.stop = Some(StopReason::BodyNotReplayable));
                Next::Finish
            }
            Decision::Retry { delay, after_timeout } => {
                if !self.inner.budget.withdraw(after_timeout) {
                    tracing::warn!(attempt, "not retrying: the client's retry budget is spent");
                    call::update(|r| r.stop = Some(StopReason::RetryBudgetExhausted));
                    return Next::Finish;
                }
                tracing::info!(attempt, delay_ms = millis(delay), "retrying");
                self.inner.env.sleep(delay).await;
                Next::Again
            }
        }
    }
}
