//! The stand-in's rate limit: a fixed window, stated in `X-RateLimit-*` headers, 429 past it.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{error, Reply, State};

/// Counts the request against the window: the headers to send, or the 429 to answer.
pub(crate) fn rate_limit(state: &State) -> Result<Vec<(&'static str, String)>, Box<Reply>> {
    let Some((limit, window)) = state.settings.rate_limit else {
        return Ok(Vec::new());
    };
    let Ok(mut w) = state.window.lock() else {
        return Ok(Vec::new());
    };
    if w.0.elapsed() >= window {
        *w = (Instant::now(), 0);
    }
    let left = window.saturating_sub(w.0.elapsed());
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + left;
    if w.1 >= limit {
        state.rate_limited.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let wait = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        return Err(Box::new(error(
            state.api,
            429,
            "RATE_LIMITED",
            "rate limit exceeded",
            &[
                ("retry-after", wait.max(1).to_string()),
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-remaining", "0".into()),
                // Rounded up: the moment requests are accepted again, never before it.
                (
                    "x-ratelimit-reset",
                    (reset.as_secs() + u64::from(reset.subsec_nanos() > 0)).to_string(),
                ),
            ],
        )));
    }
    w.1 += 1;
    Ok(vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", (limit - w.1).to_string()),
        ("x-ratelimit-reset", (reset.as_secs() + 1).to_string()),
    ])
}
