//! Pacing: holding requests back while the server says none remain until a reset.
//!
//! State is kept where the server's limit applies ([`LimitScope`]): one window per client, or
//! one per operation. A window never holds requests back longer than the probe interval
//! (`RetryPolicy::max_retry_after`, 60 s by default) without letting one request through as a
//! probe, so a wrong or hostile reset time cannot lock a client out: the probe's answer replaces
//! the window.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;

use crate::rate_limit::RateLimit;

/// Where a server's `X-RateLimit-*` headers apply, and so where pacing state is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LimitScope {
    /// One budget for everything the client sends (a per-key or per-IP limit).
    #[default]
    Client,
    /// A budget per operation (or where the API does not say: an exhausted budget on one route
    /// must not stop the others).
    Operation,
}

/// "Nothing remains until `reset_at`", as learned at `since` (or since the last probe).
#[derive(Debug, Clone, Copy)]
struct Window {
    reset_at: SystemTime,
    since: Instant,
}

/// The pacing windows of one runtime.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    scope: LimitScope,
    windows: Mutex<HashMap<&'static str, Window>>,
    /// How many windows are open, kept beside them: with none, a request asks and a response
    /// that opens none answers without taking the lock.
    open: AtomicUsize,
}

impl Pacer {
    pub(crate) fn new(scope: LimitScope) -> Self {
        Self {
            scope,
            windows: Mutex::default(),
            open: AtomicUsize::new(0),
        }
    }

    fn key(&self, operation: &'static str) -> &'static str {
        match self.scope {
            LimitScope::Client => "",
            LimitScope::Operation => operation,
        }
    }

    /// Records what a response to `operation` said. A window opens when the headers say none
    /// remain; it closes when they say some do, or when the server accepted a request without
    /// saying (a probe that got through).
    pub(crate) fn observe(&self, operation: &'static str, rate_limit: &RateLimit, status: StatusCode) {
        let opens = matches!((rate_limit.remaining, rate_limit.reset_at), (Some(0), Some(_)));
        if !opens && self.open.load(Ordering::SeqCst) == 0 {
            return;
        }
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        let windows = &mut *windows;
        self.observe_locked(windows, operation, rate_limit, status);
        self.open.store(windows.len(), Ordering::SeqCst);
    }

    fn observe_locked(
        &self,
        windows: &mut HashMap<&'static str, Window>,
        operation: &'static str,
        rate_limit: &RateLimit,
        status: StatusCode,
    ) {
        match (rate_limit.remaining, rate_limit.reset_at) {
            (Some(0), Some(reset_at)) => {
                windows.insert(
                    self.key(operation),
                    Window {
                        reset_at,
                        since: Instant::now(),
                    },
                );
            }
            (Some(_), _) => {
                windows.remove(self.key(operation));
            }
            _ if status != StatusCode::TOO_MANY_REQUESTS => {
                windows.remove(self.key(operation));
            }
            _ => {}
        }
    }

    /// How long a request to `operation` must wait before it may be sent (`None`: send now).
    /// When the probe interval has passed, this caller is let through as the probe and the others
    /// wait one more interval.
    pub(crate) fn wait(&self, operation: &'static str, probe_interval: Duration) -> Option<Duration> {
        if self.open.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut windows = self.windows.lock().ok()?;
        let key = self.key(operation);
        let window = windows.get_mut(key)?;
        let left = window.reset_at.duration_since(SystemTime::now()).unwrap_or_default();
        if left.is_zero() {
            windows.remove(key);
            self.open.store(windows.len(), Ordering::SeqCst);
            return None;
        }
        let probe_in = probe_interval.saturating_sub(window.since.elapsed());
        if probe_in.is_zero() {
            window.since = Instant::now();
            tracing::info!(
                wait_ms = millis(left),
                "pacing: sending a probe instead of waiting for a distant reset"
            );
            return None;
        }
        Some(left.min(probe_in))
    }
}

/// Milliseconds for log fields, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exhausted(for_secs: u64) -> RateLimit {
        RateLimit {
            remaining: Some(0),
            reset_at: SystemTime::now().checked_add(Duration::from_secs(for_secs)),
            ..RateLimit::default()
        }
    }

    #[test]
    fn a_distant_reset_is_probed_after_the_interval() {
        let pacer = Pacer::new(LimitScope::Client);
        pacer.observe("a", &exhausted(24 * 3600), StatusCode::OK);
        let wait = pacer.wait("a", Duration::from_secs(60)).expect("held back");
        assert!(wait <= Duration::from_secs(60), "{wait:?}");
        // With a zero interval, the next caller is the probe, and the one after it waits again.
        assert_eq!(pacer.wait("a", Duration::ZERO), None);
        assert!(pacer.wait("a", Duration::from_secs(60)).is_some());
        // A 429 without headers keeps the window; any answer with requests remaining, or a
        // request accepted without saying, clears it.
        pacer.observe("a", &RateLimit::default(), StatusCode::TOO_MANY_REQUESTS);
        assert!(pacer.wait("a", Duration::from_secs(60)).is_some());
        pacer.observe(
            "a",
            &RateLimit {
                remaining: Some(3),
                ..RateLimit::default()
            },
            StatusCode::OK,
        );
        assert_eq!(pacer.wait("a", Duration::from_secs(60)), None);
        pacer.observe("a", &exhausted(30), StatusCode::OK);
        pacer.observe("a", &RateLimit::default(), StatusCode::OK);
        assert_eq!(pacer.wait("a", Duration::from_secs(60)), None);
    }

    #[test]
    fn operation_scope_keeps_routes_apart() {
        let pacer = Pacer::new(LimitScope::Operation);
        pacer.observe("create", &exhausted(30), StatusCode::OK);
        assert!(pacer.wait("create", Duration::from_secs(60)).is_some());
        assert_eq!(pacer.wait("list", Duration::from_secs(60)), None);
        let client_wide = Pacer::new(LimitScope::Client);
        client_wide.observe("create", &exhausted(30), StatusCode::OK);
        assert!(client_wide.wait("list", Duration::from_secs(60)).is_some());
    }
}
