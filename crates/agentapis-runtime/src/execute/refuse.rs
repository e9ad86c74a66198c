//! The answers the runtime makes up instead of sending or reading on: a refusal (pacing, the
//! deadline, a path parameter, the fleet) or a body over its limit, recorded in the call's
//! record and carried to the client hooks in the response's extensions.

use bytes::Bytes;
use reqwest::{Response, StatusCode};

use super::send::TooLarge;
use crate::call::{self, Refusal, StopReason};
use crate::Runtime;

impl Runtime {
    /// Records the response whose body was too large and refuses to read on.
    pub(super) fn too_large(&self, big: TooLarge) -> Response {
        let rate_limit = self.observe(&big.headers);
        call::update(|r| {
            r.status = Some(big.status);
            r.headers = Some(big.headers);
            r.rate_limit = rate_limit;
            r.sent = true;
        });
        self.refuse(Refusal::BodyTooLarge {
            status: big.status,
            limit: big.limit,
            declared: big.declared,
        })
    }

    /// Records `refusal` and returns the stand-in response that carries it to the client hooks.
    pub(super) fn refuse(&self, refusal: Refusal) -> Response {
        let (status, stop) = match &refusal {
            Refusal::Paced { .. } => (StatusCode::TOO_MANY_REQUESTS, StopReason::PacedFailFast),
            Refusal::Deadline { .. } => (StatusCode::REQUEST_TIMEOUT, StopReason::Deadline),
            Refusal::BodyTooLarge { status, .. } => (*status, StopReason::Refused),
            Refusal::PathParameter { .. } => (StatusCode::BAD_REQUEST, StopReason::Refused),
            Refusal::Fleet { .. } => (StatusCode::SERVICE_UNAVAILABLE, StopReason::Refused),
        };
        tracing::info!(%refusal, "refused");
        call::update(|r| {
            if let Refusal::Paced { wait } = &refusal {
                r.retry_after = Some(*wait);
                r.status.get_or_insert(StatusCode::TOO_MANY_REQUESTS);
            }
            r.stop = Some(stop);
            r.refusal = Some(refusal.clone());
        });
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = status;
        if let Refusal::Paced { wait } = &refusal {
            let secs = wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0));
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response.extensions_mut().insert(refusal);
        Response::from(response)
    }
}
