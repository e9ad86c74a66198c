//! Turning a generated client's error, plus what the runtime recorded, into an [`Error`]. The
//! runtime read the headers and the error body once; nothing here reads them again. The one body
//! read here is a success-status body the generated client could not decode (the runtime does not
//! read success bodies), to tell a vendor's failure answer from a malformed one.

use std::time::Duration;

use agentapis_runtime::retry::{documented, status_verdict};
use agentapis_runtime::{request_id, Api, CallRecord, ErrorBody, Refusal, StopReason};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{ApiError, ArgumentError, Error, ErrorCode, Phase, StatusClass};

/// How one API's errors read: the per-API part of error conversion, as plain values so the
/// pager and token refresh (which are not generic over the API) carry it too.
#[derive(Clone, Copy)]
pub(crate) struct Decoding {
    pub(crate) api: Api,
    /// The typed code for a vendor code.
    pub(crate) error_code: fn(String) -> ErrorCode,
    /// Whether a body sent with a success status is the vendor's failure answer.
    pub(crate) failure_in_success: fn(&ErrorBody) -> bool,
}

/// How many characters of an undecodable body an error quotes.
const SNIPPET_CHARS: usize = 200;
/// How much of an undecodable body an error keeps: what is kept of an error body by default
/// (the same cap, by the same constant, not by coincidence).
const DECODE_BODY_KEEP: usize = agentapis_runtime::BodyLimits::DEFAULT_ERROR as usize;

/// Maps every variant of the generated client's error. `record` holds what the runtime saw,
/// which fills in what the variant lacks (e.g. the status behind an undecodable error body).
pub(crate) fn from_generated<E>(
    decoding: Decoding,
    error: progenitor_client::Error<E>,
    mut record: CallRecord,
) -> Error {
    use progenitor_client::Error as G;
    let api = decoding.api;
    // What the runtime refused is typed in the record; the generated error only echoes it.
    if let Some(refusal) = &record.refusal {
        return refused(api, refusal, &record);
    }
    // Moved out of the record: the runtime took them from the response (which has none left).
    let headers = record.headers.take().unwrap_or_default();
    match error {
        G::InvalidRequest(message) | G::Custom(message) => ArgumentError::Request(message).into(),
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => transport(api, e, &record),
        G::ErrorResponse(value) => {
            let status = value.status();
            let body = record.error_body.take().unwrap_or_default();
            let parsed = record.error.take().unwrap_or_default();
            server_error(decoding, status, headers, body, parsed, &record)
        }
        G::InvalidResponsePayload(bytes, e) => {
            let (status, parsed) = match record.status {
                // An error status whose body is not what the spec says (an HTML 502 from a proxy).
                Some(status) if status.is_client_error() || status.is_server_error() => {
                    (status, record.error.take().unwrap_or_default())
                }
                // A success status with a body that did not decode: read once, as an error.
                status => {
                    let parsed = ErrorBody::parse(&bytes);
                    let status = status.unwrap_or(StatusCode::OK);
                    if !(decoding.failure_in_success)(&parsed) {
                        return decode(api, status, e.to_string(), bytes);
                    }
                    (status, parsed)
                }
            };
            server_error(decoding, status, headers, bytes, parsed, &record)
        }
        G::UnexpectedResponse(response) => {
            let status = response.status();
            if status.is_client_error() || status.is_server_error() {
                let body = record.error_body.take().unwrap_or_default();
                let parsed = record.error.take().unwrap_or_default();
                server_error(decoding, status, headers, body, parsed, &record)
            } else {
                decode(
                    api,
                    status,
                    format!("status {} is not documented for this operation", status.as_u16()),
                    Bytes::new(),
                )
            }
        }
    }
}

/// The typed error for something the runtime refused to do.
fn refused(api: Api, refusal: &Refusal, record: &CallRecord) -> Error {
    match refusal {
        Refusal::Paced { wait } => Error::RateLimited(Box::new(ApiError {
            api,
            status: StatusCode::TOO_MANY_REQUESTS,
            code: ErrorCode::Status(StatusClass::RateLimited),
            message: "not sent: no requests remain until the rate-limit reset (client-side pacing)".into(),
            retryable: true,
            request_id: None,
            retry_after: Some(*wait),
            details: serde_json::Map::new(),
            body: Bytes::new(),
            headers: HeaderMap::new(),
            attempts: record.attempts,
            stop: record.stop,
        })),
        Refusal::Deadline { waiting_for } => Error::Timeout {
            api,
            attempts: record.attempts,
            elapsed: record.elapsed,
            deadline: true,
            waiting_for: Some(*waiting_for),
        },
        Refusal::BodyTooLarge {
            status,
            limit,
            declared,
        } => Error::BodyTooLarge {
            api,
            status: *status,
            limit: *limit,
            declared: *declared,
        },
        Refusal::PathParameter { operation, template } => ArgumentError::PathParameter { operation, template }.into(),
        Refusal::Fleet { waiting_for, problem } => Error::FleetUnavailable {
            api,
            waiting_for: *waiting_for,
            problem: problem.clone(),
        },
        // A refusal this version does not know yet: the runtime's own words.
        other => ArgumentError::Request(other.to_string()).into(),
    }
}

fn transport(api: Api, e: reqwest::Error, record: &CallRecord) -> Error {
    let attempts = record.attempts.max(1);
    if e.is_timeout() || record.stop == Some(StopReason::Deadline) {
        return Error::Timeout {
            api,
            attempts,
            elapsed: record.elapsed,
            deadline: record.stop == Some(StopReason::Deadline),
            waiting_for: None,
        };
    }
    let phase = if e.is_connect() && !record.sent {
        Phase::BeforeSend
    } else {
        Phase::AfterSend
    };
    Error::Transport {
        api,
        phase,
        attempts,
        source: e,
    }
}

fn decode(api: Api, status: StatusCode, reason: String, body: Bytes) -> Error {
    let snippet = if body.is_empty() {
        "(empty body)".to_owned()
    } else {
        String::from_utf8_lossy(&body[..body.len().min(SNIPPET_CHARS * 4)])
            .chars()
            .take(SNIPPET_CHARS)
            .collect()
    };
    let body = body.slice(..body.len().min(DECODE_BODY_KEEP));
    Error::Decode {
        api,
        status,
        reason,
        snippet,
        body,
    }
}

/// Builds the typed error for an error status from what the runtime read: 429 becomes
/// [`Error::RateLimited`].
pub(crate) fn server_error(
    decoding: Decoding,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    parsed: ErrorBody,
    record: &CallRecord,
) -> Error {
    // The verdict the attempt loop acted on; for a failure the runtime did not judge (sent with
    // a success status), what the API documents about its code, else its status.
    let retryable = record.retryable.unwrap_or_else(|| {
        parsed
            .code
            .as_deref()
            .and_then(|code| documented(decoding.api, code))
            .map_or_else(|| status_verdict(status).is_retryable(), |c| c.retryable)
    });
    let code = match parsed.code {
        Some(code) => (decoding.error_code)(code),
        None => ErrorCode::Status(StatusClass::of(status)),
    };
    let retry_after = record
        .retry_after
        .or_else(|| record.rate_limit.wait(std::time::SystemTime::now()))
        .filter(|d| *d > Duration::ZERO || status == StatusCode::TOO_MANY_REQUESTS);
    let error = Box::new(ApiError {
        api: decoding.api,
        status,
        retryable,
        message: parsed
            .message
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error status").to_owned()),
        code,
        request_id: request_id(&headers).map(str::to_owned),
        retry_after,
        details: parsed.details,
        body,
        headers,
        attempts: record.attempts.max(1),
        stop: record.stop,
    });
    if status == StatusCode::TOO_MANY_REQUESTS {
        Error::RateLimited(error)
    } else {
        Error::Api(error)
    }
}

/// A vendor code no spec lists as a closed set.
pub(crate) fn vendor_code(code: String) -> ErrorCode {
    ErrorCode::Vendor(code)
}
