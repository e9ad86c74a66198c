//! Turning a generated client's error, plus what the runtime recorded, into an [`Error`].

use std::time::Duration;

use agentapis_runtime::{retryable_status, CallRecord, Refusal, StopReason};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{body, Api, ApiError, Error, ErrorCode, Phase, StatusClass};

/// How many characters of an undecodable body an error quotes.
const SNIPPET_CHARS: usize = 200;
/// How much of an undecodable body an error keeps.
const DECODE_BODY_KEEP: usize = 64 * 1024;

/// Maps every variant of the generated client's error. `record` holds what the runtime saw,
/// which fills in what the variant lacks (e.g. the status behind an undecodable error body).
pub(crate) fn from_generated<E>(api: Api, error: progenitor_client::Error<E>, record: &CallRecord) -> Error {
    use progenitor_client::Error as G;
    // What the runtime refused is typed in the record; the generated error only echoes it.
    if let Some(refusal) = &record.refusal {
        return refused(api, refusal, record);
    }
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
            status => {
                let status = status.unwrap_or(StatusCode::OK);
                match failed_envelope(api, status, &bytes, record) {
                    Some(error) => error,
                    None => decode(api, status, e.to_string(), bytes),
                }
            }
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
        other => Error::InvalidArgument(other.to_string()),
    }
}

/// Agentiv's failure envelope (`{"success":false,"error":{..}}`) sent with a success status:
/// the server's error, not a body that failed to decode.
fn failed_envelope(api: Api, status: StatusCode, body: &Bytes, record: &CallRecord) -> Option<Error> {
    if api != Api::Agentiv {
        return None;
    }
    let root: serde_json::Value = serde_json::from_slice(body).ok()?;
    if root.get("success")? != &serde_json::Value::Bool(false) || !root.get("error")?.is_object() {
        return None;
    }
    Some(server_error(
        api,
        status,
        record.headers.clone().unwrap_or_default(),
        body.clone(),
        record,
    ))
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
    // The runtime parsed the last response's headers once; nothing is parsed again here.
    let retry_after = record
        .retry_after
        .or_else(|| record.rate_limit.wait(std::time::SystemTime::now()))
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
            let code = crate::agentiv::ErrorCode::from(code);
            let retryable = crate::agentiv::retryable(&code);
            (ErrorCode::Agentiv(code), retryable)
        }
        (_, Some(code)) => (ErrorCode::Vendor(code), None),
        (_, None) => (ErrorCode::Status(StatusClass::of(status)), None),
    }
}
