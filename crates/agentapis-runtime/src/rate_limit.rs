//! Rate-limit headers, parsed into typed values (paging headers are `paging::PageHeaders`).

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// Clocks closer than this are taken to agree (a `Date` header has whole seconds).
const CLOCKS_AGREE: Duration = Duration::from_secs(2);

/// Waits longer than this are treated as absurd and clamped.
const ABSURD: Duration = Duration::from_secs(24 * 3600);

/// What a response's headers say about rate limits. Absent or unparsable headers are
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimit {
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`, as the moment the window resets.
    pub reset_at: Option<SystemTime>,
    /// `Retry-After` (seconds or HTTP-date), clamped to `[0, 24h]`.
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Reset` as a time from the response, on the server's own clock: a Unix-time
    /// reset is measured from the response's `Date` header when that differs from the local
    /// clock by more than 2 s, so a client whose clock is off still shares the right wait with
    /// a fleet (see `fleet`). Clamped to 24 h.
    pub reset_in: Option<Duration>,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl RateLimit {
    /// Parses the headers of a response received at `now`.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Self {
        let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok());
        // `Date` has whole seconds: it corrects a clock that is off, but would cost a clock that
        // is right up to a second of precision, so it is used only when the two disagree.
        // Read only when there is a reset to read against it (most responses state none).
        let server_now = reset
            .and(headers.get(http::header::DATE))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .filter(|date| {
                let skew = date.duration_since(now).or_else(|e| Ok::<_, ()>(e.duration()));
                skew.is_ok_and(|d| d > CLOCKS_AGREE)
            });
        Self {
            reset_in: reset.and_then(|v| parse_reset_in(v, server_now.unwrap_or(now))),
            limit: header_u64(headers, "x-ratelimit-limit"),
            remaining: header_u64(headers, "x-ratelimit-remaining"),
            reset_at: headers
                .get("x-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_reset(v, now)),
            retry_after: headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now)),
        }
    }

    /// How long the server asks us to wait before the next request, if it says so: until the
    /// reset when none remain (the exact time; `Retry-After` is rounded up to whole seconds, so
    /// sleeping it would waste most of a short window), else `Retry-After`.
    pub fn wait(&self, now: SystemTime) -> Option<Duration> {
        match (self.remaining, self.reset_at, self.reset_in) {
            (Some(0), Some(reset), _) => Some(reset.duration_since(now).unwrap_or_default()),
            (Some(0), None, Some(reset_in)) => Some(reset_in),
            _ => self.retry_after,
        }
    }

    /// Folds a newer response's values into this snapshot.
    pub fn merge(&mut self, newer: &RateLimit) {
        if newer.limit.is_some() {
            self.limit = newer.limit;
        }
        if newer.remaining.is_some() {
            self.remaining = newer.remaining;
            self.reset_at = newer.reset_at;
        }
    }
}

/// `X-RateLimit-Reset` as a duration from `server_now` (the response's `Date`, or the local
/// clock without one); read as [`parse_reset`] reads it.
pub fn parse_reset_in(value: &str, server_now: SystemTime) -> Option<Duration> {
    let at = parse_reset(value, server_now)?;
    Some(at.duration_since(server_now).unwrap_or_default())
}

/// `Retry-After`: delay-seconds or an HTTP-date. Negative or garbage → `None`; huge (even too
/// large for a `u64`) → clamped to 24 h, so it reads as "too long to wait", not as garbage.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(ABSURD));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default().min(ABSURD))
}

/// Below this, an `X-RateLimit-Reset` value is a number of seconds from now.
const EPOCH_SECONDS_FROM: u64 = 1_000_000_000;
/// From here on, the value is a Unix time in milliseconds (10¹¹ s would be the year 5138).
const EPOCH_MILLIS_FROM: u64 = 100_000_000_000;
/// From here on, the value is ignored (10¹⁴ ms would be the year 5138 too).
const IGNORED_FROM: u64 = 100_000_000_000_000;

/// `X-RateLimit-Reset`. The vendors do not document the unit, so it is decided by magnitude:
///
/// | value `n` | read as |
/// |---|---|
/// | `n < 10⁹` | seconds from now |
/// | `10⁹ ≤ n < 10¹¹` | Unix time in seconds (2001 to 5138) |
/// | `10¹¹ ≤ n < 10¹⁴` | Unix time in milliseconds (1973 to 5138) |
/// | larger, negative, not a number | ignored (`None`) |
///
/// The result is clamped to `[now, now + 24 h]`; pacing caps how long it holds requests back
/// anyway (see `RetryPolicy::max_retry_after`).
pub fn parse_reset(value: &str, now: SystemTime) -> Option<SystemTime> {
    let n: u64 = value.trim().parse().ok()?;
    let at = match n {
        n if n < EPOCH_SECONDS_FROM => now.checked_add(Duration::from_secs(n)),
        n if n < EPOCH_MILLIS_FROM => SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(n)),
        n if n < IGNORED_FROM => SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(n)),
        _ => return None,
    }?;
    let latest = now.checked_add(ABSURD).unwrap_or(now);
    Some(at.clamp(now, latest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("999999999", now), Some(ABSURD));
        assert_eq!(parse_retry_after("99999999999999999999999999", now), Some(ABSURD));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(5)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn reset_in_follows_the_server_clock_not_ours() {
        let server = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", "1700000030".parse().expect("value"));
        headers.insert(
            http::header::DATE,
            httpdate::fmt_http_date(server).parse().expect("value"),
        );
        // Our clock an hour ahead, or an hour behind: the wait the server means is 30 s.
        for skew in [3600i64, -3600] {
            let ours = if skew > 0 {
                server + Duration::from_secs(3600)
            } else {
                server - Duration::from_secs(3600)
            };
            let parsed = RateLimit::from_headers(&headers, ours);
            assert_eq!(parsed.reset_in, Some(Duration::from_secs(30)), "skew {skew}");
        }
        // A reset in seconds from now needs no clock at all.
        headers.insert("x-ratelimit-reset", "12".parse().expect("value"));
        let parsed = RateLimit::from_headers(&headers, server + Duration::from_secs(999));
        assert_eq!(parsed.reset_in, Some(Duration::from_secs(12)));
        // Without a Date header, our clock is all there is.
        headers.remove(http::header::DATE);
        headers.insert("x-ratelimit-reset", "1700000030".parse().expect("value"));
        assert_eq!(
            RateLimit::from_headers(&headers, server).reset_in,
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn reset_accepts_epoch_or_delta() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_reset("30", now), Some(now + Duration::from_secs(30)));
        assert_eq!(parse_reset("1700000010", now), Some(now + Duration::from_secs(10)));
        assert_eq!(parse_reset("x", now), None);
        // Epoch milliseconds are not read as seconds (which would lock the client out).
        assert_eq!(parse_reset("1700000010000", now), Some(now + Duration::from_secs(10)));
        // Past resets mean "now"; absurd ones are ignored or clamped, never overflow.
        assert_eq!(parse_reset("1600000000", now), Some(now));
        assert_eq!(parse_reset("9223372036854775808", now), None);
        assert_eq!(parse_reset("18446744073709551615", now), None);
        assert_eq!(parse_reset("99999999999", now), Some(now + ABSURD));
    }
}
