//! RFC 9457 `application/problem+json` error responses of the monitor's
//! HTTP API. Every error the API sends is a [`Problem`], except the one
//! body tlog-witness mandates: the `409` of add-checkpoint, which is the
//! witness's size as `text/x.tlog.size` (spec/witness.md).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Content type of every error body but the tlog-witness 409.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// A problem report (RFC 9457).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `urn:provlog:problem:<slug>`: stable, for scripts to match on.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, fixed summary of the status.
    pub title: &'static str,
    /// HTTP status code, repeated in the body as RFC 9457 recommends.
    pub status: u16,
    /// What exactly went wrong with this request.
    pub detail: String,
    /// Seconds to wait before retrying (429 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Methods the path allows (405 only; also the `Allow` header).
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

impl Problem {
    /// A problem of `status`, type `urn:provlog:problem:<slug>`.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:provlog:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
            allow: None,
        }
    }

    /// 400.
    pub fn bad_request(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, slug, detail)
    }

    /// 404: nothing at this path.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 405, with the methods the path allows.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut p = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            format!("this path allows {allow}"),
        );
        p.allow = Some(allow);
        p
    }

    /// 429, with the seconds to wait.
    pub fn rate_limited(retry_after: u64, detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail);
        p.retry_after = Some(retry_after.max(1));
        p
    }

    /// 500: the monitor failed; nothing was changed by the request.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.to_string(),
        )
    }

    /// The slug at the end of `type`.
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
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        resp
    }
}
