//! A per-route request body limit that refuses a declared `Content-Length`
//! over it at once (axum's `DefaultBodyLimit` alone only stops reading at
//! the limit, so a client declaring a huge body and sending none holds the
//! request until a timeout).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

/// Layer: a body over `0` bytes is refused with `413` (problem+json
/// `urn:provlog:problem:too-large`) from its declared length, before any
/// of it is read; a body without one (chunked) is cut off at the limit by
/// [`DefaultBodyLimit`], which this layer also sets.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S> Layer<S> for BodyLimit
where
    DefaultBodyLimit: Layer<S>,
{
    type Service = BodyLimitService<<DefaultBodyLimit as Layer<S>>::Service>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimitService {
            limit: self.0,
            inner: DefaultBodyLimit::max(self.0).layer(inner),
        }
    }
}

/// The service of [`BodyLimit`].
#[derive(Debug, Clone)]
pub struct BodyLimitService<S> {
    limit: usize,
    inner: S,
}

/// The 413 answer for a body declared over `limit`.
pub fn too_large(limit: usize) -> Response<Body> {
    let body = serde_json::json!({
        "type": "urn:provlog:problem:too-large",
        "title": "Body too large",
        "status": 413,
        "detail": format!("the body is larger than the limit of {limit} bytes"),
    });
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl<S, B> Service<Request<B>> for BodyLimitService<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // An unparseable length is refused by hyper before it gets here.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.limit as u64) {
            let resp = too_large(self.limit);
            return Box::pin(async move { Ok(resp) });
        }
        Box::pin(self.inner.call(req))
    }
}
