//! Reading a response body without letting the server choose how much memory it takes.

use bytes::Bytes;
use reqwest::Response;

use crate::policy::BodyLimits;

/// The most a declared `Content-Length` reserves before any byte has arrived.
const PRESIZE_MAX: u64 = 1024 * 1024;

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
    // Pre-size for a declared length, but never more than 1 MiB on the server's word alone:
    // `grow` doubles from there as bytes actually arrive.
    let capacity = declared.unwrap_or(0).min(limit).min(PRESIZE_MAX);
    let limit_bytes = usize::try_from(limit).unwrap_or(usize::MAX);
    // Most bodies arrive in one chunk: that chunk is the body, with no copy. A second chunk
    // starts the buffer.
    let Some(first) = response.chunk().await? else {
        return Ok(Read::Body(Bytes::new()));
    };
    if first.len() <= limit_bytes {
        match response.chunk().await? {
            None => return Ok(Read::Body(first)),
            Some(second) => {
                let mut buffer: Vec<u8> = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
                grow(&mut buffer, first.len(), limit_bytes);
                buffer.extend_from_slice(&first);
                return read_rest(response, buffer, second, limit, limit_bytes, keep_prefix, declared).await;
            }
        }
    }
    let buffer: Vec<u8> = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    read_rest(response, buffer, first, limit, limit_bytes, keep_prefix, declared).await
}

/// Reads on from `chunk` into `buffer`, under the limit.
async fn read_rest(
    mut response: Response,
    mut buffer: Vec<u8>,
    chunk: Bytes,
    limit: u64,
    limit_bytes: usize,
    keep_prefix: bool,
    declared: Option<u64>,
) -> reqwest::Result<Read> {
    let mut next = Some(chunk);
    while let Some(chunk) = next.take() {
        let room = limit_bytes.saturating_sub(buffer.len());
        let take = if chunk.len() > room {
            if !keep_prefix {
                return Ok(Read::TooLarge { limit, declared });
            }
            room
        } else {
            chunk.len()
        };
        grow(&mut buffer, take, limit_bytes);
        buffer.extend_from_slice(&chunk[..take]);
        if take < chunk.len() {
            break;
        }
        next = response.chunk().await?;
    }
    Ok(Read::Body(Bytes::from(buffer)))
}

/// Makes room for `more` bytes: doubling, but never past `limit`, so the buffer's capacity (and
/// the peak while it grows) stays within the limit.
fn grow(buffer: &mut Vec<u8>, more: usize, limit: usize) {
    let needed = buffer.len().saturating_add(more);
    if needed <= buffer.capacity() {
        return;
    }
    let target = needed.max(buffer.capacity().saturating_mul(2)).min(limit.max(needed));
    buffer.reserve_exact(target - buffer.len());
}
