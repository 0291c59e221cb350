//! RFC 9457 `application/problem+json` error responses.
//!
//! Every rejection the server makes goes through [`Problem`], so each one has
//! a status that says whose fault it was, a stable `type` a script can match
//! on, and a `detail` a person can act on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem report (RFC 9457).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:provlog:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, fixed summary of the kind.
    pub title: &'static str,
    /// HTTP status code, repeated in the body as RFC 9457 recommends.
    pub status: u16,
    /// What exactly went wrong with this request, and what to do about it.
    pub detail: String,
    /// Seconds to wait before retrying (429 and 503 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:provlog:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed or the claim is invalid.
    pub fn bad_request(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, slug, "Bad request", detail)
    }

    /// 403: the vendor key is not on the log's accepted-keys list.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "key-not-accepted",
            "Key not accepted",
            detail,
        )
    }

    /// 404: nothing at this path (e.g. a tile beyond the tree).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 413: the body is larger than the configured limit.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            detail,
        )
    }

    /// 408: the request body did not arrive in time.
    pub fn request_timeout(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "Request body too slow",
            detail,
        )
    }

    /// 415: wrong Content-Type.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    /// 429: this key submitted faster than its rate limit.
    pub fn rate_limited(retry_after: u64, detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Rate limited",
            detail,
        );
        p.retry_after = Some(retry_after.max(1));
        p
    }

    /// 503: the pool of claims waiting to be sequenced is full, or the log
    /// is shutting down.
    pub fn unavailable(retry_after: u64, detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        p.retry_after = Some(retry_after.max(1));
        p
    }

    /// 500: the server failed (storage error); the request may be retried.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            detail,
        )
    }

    /// The stable slug at the end of `type`, used as the metrics label.
    pub fn slug(&self) -> &str {
        self.kind.rsplit(':').next().unwrap_or("unknown")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
