//! What to do after one attempt: a pure function of the attempt's outcome (with the retry
//! rules' verdict on it) and the call's state, tested without HTTP. The attempt loop in
//! `execute.rs` performs what it decides.

use std::time::Duration;

use reqwest::StatusCode;

use super::Verdict;
use crate::call::StopReason;
use crate::policy::RetryPolicy;

/// How one attempt ended, as far as deciding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered `status`, which the retry rules judged `verdict`; `server_wait` is
    /// how long it asked us to wait, if it did.
    Answered {
        status: StatusCode,
        verdict: Verdict,
        server_wait: Option<Duration>,
    },
    /// No answer: the connection failed, or the attempt timed out.
    Failed {
        /// Nothing reached the server (connection refused, DNS): always safe to send again.
        before_send: bool,
        /// The attempt ran out of time.
        timeout: bool,
    },
}

/// What the call knows besides the outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct State {
    /// Attempts made so far, including the one just finished.
    pub(crate) attempt: u32,
    /// The request may be sent twice (idempotent method, idempotency key, or the caller opted in).
    pub(crate) safe_to_repeat: bool,
    /// A token refresh may fix a 401 (a refreshable token, not yet refreshed by this call).
    pub(crate) can_refresh: bool,
    /// Time left before the call's deadline (`None`: no deadline).
    pub(crate) time_left: Option<Duration>,
    /// A uniform random fraction in `[0, 1)` for jitter (passed in to keep this pure).
    pub(crate) jitter: f64,
}

/// The next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Stop and hand back the outcome; `retry_after` is the server's wait when that matters.
    Stop {
        reason: StopReason,
        retry_after: Option<Duration>,
    },
    /// Refresh the token, then resend at once (the server refused the request, so resending
    /// cannot do anything twice; it does not count as an attempt).
    RefreshThenResend,
    /// Wait `delay`, then try again; `after_timeout` prices the retry in the budget.
    Retry { delay: Duration, after_timeout: bool },
}

/// Decides the step after an attempt.
pub(crate) fn decide(outcome: Outcome, state: State, policy: &RetryPolicy) -> Decision {
    let stop = |reason, retry_after| Decision::Stop { reason, retry_after };
    let (server_wait, safe, after_timeout) = match outcome {
        Outcome::Answered { status, .. } if status == StatusCode::UNAUTHORIZED && state.can_refresh => {
            return Decision::RefreshThenResend
        }
        Outcome::Answered { verdict, .. } if !verdict.is_retryable() => return stop(StopReason::Final, None),
        // A refusal (a 429) means the server did nothing: repeating it is safe.
        Outcome::Answered {
            verdict, server_wait, ..
        } => (server_wait, state.safe_to_repeat || verdict == Verdict::Refused, false),
        Outcome::Failed { before_send, timeout } => (None, state.safe_to_repeat || before_send, timeout),
    };
    if !safe {
        return stop(StopReason::NotIdempotent, None);
    }
    if state.attempt >= policy.max_attempts {
        return stop(StopReason::AttemptsExhausted, server_wait);
    }
    let backoff = policy.backoff_at(state.attempt.saturating_add(1), state.jitter);
    let delay = match server_wait {
        // Jitter on top of the server's wait, so many calls told the same `Retry-After` do not
        // come back in one wave.
        Some(wait) => wait.saturating_add(backoff),
        None => backoff,
    };
    let past_deadline = state.time_left.is_some_and(|left| delay >= left);
    if let Some(wait) = server_wait {
        if wait > policy.max_retry_after || past_deadline {
            return stop(StopReason::RetryAfterTooLong, Some(wait));
        }
    }
    if past_deadline {
        return stop(StopReason::Deadline, None);
    }
    Decision::Retry { delay, after_timeout }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::status_verdict;

    fn state(attempt: u32) -> State {
        State {
            attempt,
            safe_to_repeat: true,
            can_refresh: false,
            time_left: None,
            jitter: 0.5,
        }
    }

    /// An answer judged by the built-in status rule.
    fn answered(status: u16, server_wait: Option<Duration>) -> Outcome {
        let status = StatusCode::from_u16(status).expect("status");
        Outcome::Answered {
            status,
            verdict: status_verdict(status),
            server_wait,
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn final_statuses_stop() {
        let p = RetryPolicy::default();
        for status in [200, 201, 400, 404, 409, 422] {
            assert_eq!(
                decide(answered(status, None), state(1), &p),
                Decision::Stop {
                    reason: StopReason::Final,
                    retry_after: None
                }
            );
        }
    }

    #[test]
    fn unauthorized_refreshes_once_when_it_can() {
        let p = RetryPolicy::default();
        let can = State {
            can_refresh: true,
            ..state(1)
        };
        assert_eq!(decide(answered(401, None), can, &p), Decision::RefreshThenResend);
        assert!(matches!(
            decide(answered(401, None), state(1), &p),
            Decision::Stop {
                reason: StopReason::Final,
                ..
            }
        ));
    }

    #[test]
    fn unsafe_requests_are_not_repeated_except_after_429_or_before_send() {
        let p = RetryPolicy::default();
        let unsafe_state = State {
            safe_to_repeat: false,
            ..state(1)
        };
        assert!(matches!(
            decide(answered(500, None), unsafe_state, &p),
            Decision::Stop {
                reason: StopReason::NotIdempotent,
                ..
            }
        ));
        let after_send = Outcome::Failed {
            before_send: false,
            timeout: true,
        };
        assert!(matches!(
            decide(after_send, unsafe_state, &p),
            Decision::Stop {
                reason: StopReason::NotIdempotent,
                ..
            }
        ));
        assert!(matches!(
            decide(answered(429, None), unsafe_state, &p),
            Decision::Retry { .. }
        ));
        let refused = Outcome::Failed {
            before_send: true,
            timeout: false,
        };
        assert!(matches!(decide(refused, unsafe_state, &p), Decision::Retry { .. }));
    }

    #[test]
    fn attempts_run_out() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide(answered(503, Some(SECOND)), state(3), &p),
            Decision::Stop {
                reason: StopReason::AttemptsExhausted,
                retry_after: Some(SECOND)
            }
        );
    }

    #[test]
    fn server_waits_get_jitter_on_top() {
        let p = RetryPolicy::default();
        let low = decide(
            answered(429, Some(SECOND)),
            State {
                jitter: 0.0,
                ..state(1)
            },
            &p,
        );
        let high = decide(
            answered(429, Some(SECOND)),
            State {
                jitter: 0.99,
                ..state(1)
            },
            &p,
        );
        assert_eq!(
            low,
            Decision::Retry {
                delay: SECOND,
                after_timeout: false
            }
        );
        let Decision::Retry { delay, .. } = high else {
            panic!("{high:?}")
        };
        assert!(delay > SECOND && delay < SECOND + p.base_delay, "{delay:?}");
    }

    #[test]
    fn long_waits_and_deadlines_stop() {
        let p = RetryPolicy::default();
        let long = Duration::from_secs(61);
        assert_eq!(
            decide(answered(429, Some(long)), state(1), &p),
            Decision::Stop {
                reason: StopReason::RetryAfterTooLong,
                retry_after: Some(long)
            }
        );
        let short_deadline = State {
            time_left: Some(Duration::from_millis(500)),
            ..state(1)
        };
        assert!(matches!(
            decide(answered(429, Some(SECOND)), short_deadline, &p),
            Decision::Stop {
                reason: StopReason::RetryAfterTooLong,
                ..
            }
        ));
        let no_time = State {
            time_left: Some(Duration::ZERO),
            ..state(1)
        };
        assert!(matches!(
            decide(answered(503, None), no_time, &p),
            Decision::Stop {
                reason: StopReason::Deadline,
                ..
            }
        ));
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let p = RetryPolicy::default()
            .max_attempts(u32::MAX)
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX)
            .max_retry_after(Duration::MAX);
        let d = decide(answered(429, Some(Duration::MAX)), state(u32::MAX - 1), &p);
        assert!(matches!(d, Decision::Retry { .. }), "{d:?}");
        let timeout = Outcome::Failed {
            before_send: false,
            timeout: true,
        };
        assert_eq!(
            decide(
                timeout,
                State {
                    jitter: 0.0,
                    ..state(1)
                },
                &RetryPolicy::default()
            ),
            Decision::Retry {
                delay: Duration::ZERO,
                after_timeout: true
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn decisions_are_total_and_keep_their_promises(
            status in 100u16..600,
            server_wait in proptest::option::of(0u64..u64::MAX),
            before_send in proptest::bool::ANY,
            timeout in proptest::bool::ANY,
            answered in proptest::bool::ANY,
            attempt in 1u32..u32::MAX,
            max_attempts in 0u32..10,
            safe in proptest::bool::ANY,
            can_refresh in proptest::bool::ANY,
            time_left in proptest::option::of(0u64..u64::MAX),
            jitter in 0.0f64..1.0,
            base in 0u64..u64::MAX,
        ) {
            let outcome = if answered {
                let status = StatusCode::from_u16(status).expect("100..600 is a status");
                Outcome::Answered { status, verdict: status_verdict(status), server_wait: server_wait.map(Duration::from_nanos) }
            } else {
                Outcome::Failed { before_send, timeout }
            };
            let state = State {
                attempt,
                safe_to_repeat: safe,
                can_refresh,
                time_left: time_left.map(Duration::from_nanos),
                jitter,
            };
            let policy = RetryPolicy::default()
                .max_attempts(max_attempts)
                .base_delay(Duration::from_nanos(base))
                .max_delay(Duration::MAX);
            match decide(outcome, state, &policy) {
                Decision::Retry { delay, .. } => {
                    proptest::prop_assert!(attempt < max_attempts);
                    proptest::prop_assert!(state.time_left.is_none_or(|left| delay < left));
                    let may_repeat = safe || match outcome {
                        Outcome::Answered { verdict, .. } => verdict == Verdict::Refused,
                        Outcome::Failed { before_send, .. } => before_send,
                    };
                    proptest::prop_assert!(may_repeat, "an unsafe request would be sent twice");
                }
                Decision::RefreshThenResend => proptest::prop_assert!(can_refresh),
                Decision::Stop { .. } => {}
            }
        }
    }
}
