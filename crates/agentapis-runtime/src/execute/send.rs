//! Phase two of an attempt: send it, and read its body under the body limits, within the
//! attempt's timeout. Also the per-attempt copy of the request (a byte body is shared, not
//! copied).

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Request, Response, ResponseBuilderExt as _, StatusCode};

use crate::body::{read_limited, Read};
use crate::Runtime;

/// One attempt's result.
pub(super) enum Sent {
    /// A response, rebuilt around its buffered body (kept here too, for error records).
    Answer(Response, Bytes),
    Failed(reqwest::Error),
}

impl Sent {
    /// The response or the transport error, as the hooks take them.
    pub(super) fn finish(self) -> reqwest::Result<Response> {
        match self {
            Sent::Answer(response, _) => Ok(response),
            Sent::Failed(e) => Err(e),
        }
    }
}

/// A success body over the limit (nothing past the limit was read): the call ends there.
pub(super) struct TooLarge {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) limit: u64,
    pub(super) declared: Option<u64>,
}

impl Runtime {
    /// Sends one attempt and reads its body under the body limits, all within the attempt's
    /// timeout (so a connection dropped mid-body is a transport error of this attempt).
    pub(super) async fn send_once(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        deadline: Option<Instant>,
    ) -> Result<Sent, TooLarge> {
        let per_attempt = self.inner.settings.timeouts.per_attempt;
        let left = deadline.map(|d| d.saturating_duration_since(self.inner.env.now()));
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
}

/// Takes `request`'s body out when it is bytes (what the generated clients send), as one shared
/// buffer; a streaming body stays in the request.
pub(super) async fn take_byte_body(request: &mut Request) -> Option<Bytes> {
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
pub(super) fn copy_of(request: &Request, body: Option<&Bytes>) -> Option<Request> {
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
