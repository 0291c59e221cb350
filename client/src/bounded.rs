//! Reading response bodies with a size limit enforced while they stream.
//!
//! Every body this crate (and every provlog component) reads from the
//! network goes through [`read_limited`]: a declared `Content-Length` over
//! the limit is refused before anything is read, and a body without one
//! (chunked, or a lying peer) is cut off as soon as the bytes received pass
//! the limit. Memory held is at most `limit` plus one chunk. Time is bounded
//! by the caller's client timeout.

/// Why a body could not be read within its limit.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is (or declares itself) larger than the limit.
    #[error("response body is larger than the {limit}-byte limit for this endpoint")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The connection failed or timed out while reading.
    #[error("reading the response body: {0}")]
    Transport(#[from] reqwest::Error),
}

/// Reads `resp`'s body, refusing more than `limit` bytes while streaming.
pub async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(resp.content_length().map_or(0, |n| n as usize));
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
