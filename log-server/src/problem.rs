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

    /// A problem for an error status the framework produced (a 405, an
    /// extractor's rejection): slug and title from the status.
    pub fn from_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let slug = match status.as_u16() {
            400 => "bad-request",
            404 => "not-found",
            405 => "method-not-allowed",
            408 => "request-timeout",
            413 => "too-large",
            415 => "unsupported-media-type",
            422 => "unprocessable",
            s if s >= 500 => "internal",
            _ => "http-error",
        };
        Self::new(
            status,
            slug,
            status.canonical_reason().unwrap_or("Error"),
            detail,
        )
    }

    /// A problem with any status, slug and title (the frontend channel's
    /// 401 and 409 answers).
    pub fn with_status(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(status, slug, title, detail)
    }

    /// The stable slug at the end of `type`, used as the metrics label.
    pub fn slug(&self) -> &str {
        self.kind.rsplit(':').next().unwrap_or("unknown")
    }
}

/// Media type of RFC 9457 problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Largest error body the layer reads to rewrite it.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Outermost layer of the log's router: every error response (status 4xx
/// or 5xx) leaves as a problem document. Errors axum makes itself (405
/// with an empty body, text/plain `Path`/`Query`/`Json` rejections) become
/// `application/problem+json` with their text as `detail`, keeping their
/// headers (`Allow`, `Retry-After`); on the SCRAPI routes
/// ([`crate::scrapi::is_scrapi_path`]) every error becomes RFC 9290
/// `application/concise-problem-details+cbor`, as SCRAPI requires.
pub async fn error_bodies(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let scrapi = crate::scrapi::is_scrapi_path(req.uri().path());
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let essence = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let want = if scrapi {
        crate::scrapi::CONCISE_PROBLEM
    } else {
        PROBLEM_JSON
    };
    if essence == want {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let problem = if essence == PROBLEM_JSON {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .map(|v| {
                let mut p = Problem::from_status(
                    status,
                    v.get("detail").and_then(|d| d.as_str()).unwrap_or_default(),
                );
                if let Some(kind) = v.get("type").and_then(|t| t.as_str()) {
                    p.kind = kind.to_owned();
                }
                p
            })
            .unwrap_or_else(|| Problem::from_status(status, ""))
    } else {
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        let detail = if text.is_empty() {
            match status {
                StatusCode::METHOD_NOT_ALLOWED => {
                    let allow = parts
                        .headers
                        .get(header::ALLOW)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    format!("method not allowed here; allowed: {allow}")
                }
                s => s.canonical_reason().unwrap_or("error").to_owned(),
            }
        } else {
            text
        };
        Problem::from_status(status, detail)
    };
    let fresh = if scrapi {
        crate::scrapi::concise_problem(status, problem.title, &problem.detail)
    } else {
        problem.into_response()
    };
    let (fresh_parts, fresh_body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (k, v) in &fresh_parts.headers {
        parts.headers.insert(k.clone(), v.clone());
    }
    Response::from_parts(parts, fresh_body)
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
