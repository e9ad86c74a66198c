//! Turning a generated client's error, plus what the runtime recorded, into an [`Error`].

use std::time::{Duration, SystemTime};

use agentapis_runtime::{retryable_status, CallRecord, RateLimit, StopReason};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{body, Api, ApiError, Error, ErrorCode, Phase, StatusClass};

/// How many bytes of an undecodable body an error quotes.
const SNIPPET_CHARS: usize = 200;

/// Maps every variant of the generated client's error. `record` holds what the runtime saw,
/// which fills in what the variant lacks (e.g. the status behind an undecodable error body).
pub(crate) fn from_generated<E>(api: Api, error: progenitor_client::Error<E>, record: &CallRecord) -> Error {
    use progenitor_client::Error as G;
    match error {
        G::InvalidRequest(message) | G::Custom(message) => Error::InvalidArgument(message),
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => transport(api, e, record),
        G::ErrorResponse(value) => {
            let status = value.status();
            let headers = value.headers().clone();
            server_error(
                api,
                status,
                headers,
                record.error_body.clone().unwrap_or_default(),
                record,
            )
        }
        G::InvalidResponsePayload(bytes, e) => match record.status {
            // An error status whose body is not what the spec says (an HTML 502 from a proxy).
            Some(status) if status.is_client_error() || status.is_server_error() => {
                server_error(api, status, record.headers.clone().unwrap_or_default(), bytes, record)
            }
            status => decode(api, status.unwrap_or(StatusCode::OK), e.to_string(), bytes),
        },
        G::UnexpectedResponse(response) => {
            let status = response.status();
            if status.is_client_error() || status.is_server_error() {
                let body = record.error_body.clone().unwrap_or_default();
                server_error(api, status, response.headers().clone(), body, record)
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

fn transport(api: Api, e: reqwest::Error, record: &CallRecord) -> Error {
    let attempts = record.attempts.max(1);
    if e.is_timeout() || record.stop == Some(StopReason::Deadline) {
        return Error::Timeout {
            api,
            attempts,
            elapsed: record.elapsed,
            deadline: record.stop == Some(StopReason::Deadline),
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
        String::from_utf8_lossy(&body).chars().take(SNIPPET_CHARS).collect()
    };
    Error::Decode {
        api,
        status,
        reason,
        snippet,
        body,
    }
}

/// Builds the typed error for an error status: 429 becomes [`Error::RateLimited`].
pub(crate) fn server_error(
    api: Api,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    record: &CallRecord,
) -> Error {
    let parsed = body::parse(&body);
    let (code, code_retryable) = vendor_code(api, parsed.code, status);
    let retry_after = record
        .retry_after
        .or_else(|| RateLimit::from_headers(&headers, SystemTime::now()).wait(SystemTime::now()))
        .filter(|d| *d > Duration::ZERO || status == StatusCode::TOO_MANY_REQUESTS);
    let error = Box::new(ApiError {
        api,
        status,
        retryable: code_retryable.unwrap_or_else(|| retryable_status(status)),
        message: parsed
            .message
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error status").to_owned()),
        code,
        request_id: body::request_id(&headers),
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

/// The typed code for `code` as `api` names it, and whether that code alone says if retrying
/// helps (`None`: decide by status).
fn vendor_code(api: Api, code: Option<String>, status: StatusCode) -> (ErrorCode, Option<bool>) {
    match (api, code) {
        #[cfg(feature = "agentiv")]
        (Api::Agentiv, Some(code)) => {
            let code = crate::agentiv::ErrorCode::parse(&code);
            let retryable = code.retryable();
            (ErrorCode::Agentiv(code), retryable)
        }
        (_, Some(code)) => (ErrorCode::Vendor(code), None),
        (_, None) => (ErrorCode::Status(StatusClass::of(status)), None),
    }
}
