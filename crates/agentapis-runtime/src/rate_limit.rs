//! Rate-limit and paging headers, parsed into typed values.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// Waits longer than this are treated as absurd and clamped.
const ABSURD: Duration = Duration::from_secs(24 * 3600);

/// What a response's headers say about rate limits and paging. Absent or unparsable headers are
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`, as the moment the window resets.
    pub reset_at: Option<SystemTime>,
    /// `Retry-After` (seconds or HTTP-date), clamped to `[0, 24h]`.
    pub retry_after: Option<Duration>,
    /// Invent's `pagination-count` (total items).
    pub page_count: Option<u64>,
    /// Invent's `pagination-page`.
    pub page: Option<u64>,
    /// Invent's `pagination-take`.
    pub page_take: Option<u64>,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl RateLimit {
    /// Parses the headers of a response received at `now`.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Self {
        Self {
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
            page_count: header_u64(headers, "pagination-count"),
            page: header_u64(headers, "pagination-page"),
            page_take: header_u64(headers, "pagination-take"),
        }
    }

    /// How long the server asks us to wait before the next request, if it says so: `Retry-After`
    /// first, else the reset time when nothing remains.
    pub fn wait(&self, now: SystemTime) -> Option<Duration> {
        self.retry_after.or_else(|| match (self.remaining, self.reset_at) {
            (Some(0), Some(reset)) => Some(reset.duration_since(now).unwrap_or_default()),
            _ => None,
        })
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

/// `Retry-After`: delay-seconds or an HTTP-date. Negative or garbage → `None`; huge → clamped.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(ABSURD));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default().min(ABSURD))
}

/// `X-RateLimit-Reset`: the vendors do not document the unit. Values above 10⁹ are read as Unix
/// epoch seconds (the common convention), smaller ones as seconds from now.
pub fn parse_reset(value: &str, now: SystemTime) -> Option<SystemTime> {
    let n: u64 = value.trim().parse().ok()?;
    let at = if n > 1_000_000_000 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(n)
    } else {
        now + Duration::from_secs(n)
    };
    Some(at.min(now + ABSURD))
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
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(5)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn reset_accepts_epoch_or_delta() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_reset("30", now), Some(now + Duration::from_secs(30)));
        assert_eq!(parse_reset("1700000010", now), Some(now + Duration::from_secs(10)));
        assert_eq!(parse_reset("x", now), None);
    }
}
