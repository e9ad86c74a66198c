//! Reading a response body without letting the server choose how much memory it takes.

use bytes::{Bytes, BytesMut};
use reqwest::Response;

use crate::policy::BodyLimits;

/// A body read under a limit.
pub(crate) enum Read {
    /// The whole body (for error statuses, possibly only its first `limit` bytes).
    Body(Bytes),
    /// A success body over the limit; reading stopped there and the connection is dropped.
    TooLarge {
        /// The limit that was passed.
        limit: u64,
        /// The declared `Content-Length`, when there was one.
        declared: Option<u64>,
    },
}

/// Reads `response`'s body chunk by chunk. A declared length over the limit is refused before
/// reading; a chunked body is counted as it arrives. Error bodies are cut to their limit instead
/// of refused: a prefix is all an error report needs.
pub(crate) async fn read_limited(mut response: Response, limits: &BodyLimits) -> reqwest::Result<Read> {
    let status = response.status();
    let limit = limits.for_status(status);
    let keep_prefix = status.is_client_error() || status.is_server_error();
    let declared = response.content_length();
    if !keep_prefix && declared.is_some_and(|n| n > limit) {
        return Ok(Read::TooLarge { limit, declared });
    }
    // Pre-size for a declared length (within the limit), never for more.
    let capacity = declared.unwrap_or(0).min(limit).min(1024 * 1024);
    let mut buffer = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(buffer.len() as u64);
        if (chunk.len() as u64) > room {
            if keep_prefix {
                buffer.extend_from_slice(&chunk[..usize::try_from(room).unwrap_or(0)]);
                break;
            }
            return Ok(Read::TooLarge { limit, declared });
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Read::Body(buffer.freeze()))
}
