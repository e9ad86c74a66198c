//! The one path every facade call takes: run the generated operation inside a runtime scope, then
//! turn its result and the runtime's record into a [`Response`] or a typed [`Error`].

use std::future::Future;

use agentapis_runtime::{call, CallOptions};
use progenitor_client::ResponseValue;

use crate::error::{from_generated, Decoding};
use crate::{Error, Response};

/// Runs `operation` (a generated builder's `send()` future) with `options`. Not an `async fn`,
/// which would hold `operation` twice (see [`call::scope`]).
pub(crate) fn run<T, E, Fut>(
    decoding: Decoding,
    options: CallOptions,
    operation: Fut,
) -> impl Future<Output = Result<Response<T>, Error>>
where
    Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
{
    use futures::FutureExt as _;
    call::scope(options, operation).map(move |(result, record)| answer(decoding, result, record))
}

fn answer<T, E>(
    decoding: Decoding,
    result: Result<ResponseValue<T>, progenitor_client::Error<E>>,
    mut record: agentapis_runtime::CallRecord,
) -> Result<Response<T>, Error> {
    match result {
        Ok(value) => {
            let status = value.status();
            // The runtime moved the headers into the record (the value's are empty).
            let headers = record.headers.take().unwrap_or_default();
            Ok(Response {
                body: value.into_inner(),
                status,
                headers,
                // Parsed once, by the runtime, from this very response.
                rate_limit: record.rate_limit,
                pages: record.pages,
                attempts: record.attempts.max(1),
            })
        }
        Err(error) => Err(from_generated(decoding, error, record)),
    }
}
