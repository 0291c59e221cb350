//! # provlog-serve
//!
//! Server-side HTTP plumbing shared by `provlog-server` and
//! `provlog-monitor`: [`serve`] runs an axum [`Router`] on a listener with
//! the connection limits axum's own `serve` lacks ([`ConnLimits`]):
//!
//! - a **connection cap**: at the cap a new connection takes the place of
//!   the oldest one with no request in progress (idle keep-alive, or still
//!   sending headers), so connections that send nothing cannot lock others
//!   out; if every connection is busy the new one gets an immediate `503`
//!   problem document with `Retry-After: 1` and is closed;
//! - a **header-read timeout** for a new connection's first request;
//! - an **idle timeout** for a connection with no request in progress;
//! - a **body timeout** for each request body;
//!
//! and, per route, [`BodyLimit`]: a body declared over the limit is refused
//! with `413` before any of it is read, one without a declared length is
//! cut off at the limit.
//!
//! HTTP/1.1 and HTTP/2 are both served (hyper-util's auto builder). Each
//! request carries the peer's address as axum's
//! `ConnectInfo<SocketAddr>` extension, as with
//! `into_make_service_with_connect_info`.
//! Graceful shutdown: when `shutdown` completes, no connection is accepted,
//! idle connections close, and requests in progress finish.

mod body_limit;
mod config;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower_service::Service as _;

pub use body_limit::{BodyLimit, BodyLimitService, too_large};
pub use config::{
    ConnArgs, ConnFile, ConnLimits, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, open_files_limit,
};

/// Counters of what the connection limits did (for tests and metrics).
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections accepted and served.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections refused with 503 (at the cap, every connection busy).
    pub refused: AtomicU64,
    /// Idle or header-pending connections closed to make room at the cap.
    pub evicted: AtomicU64,
    /// Connections closed for not sending their first headers in time.
    pub header_timeouts: AtomicU64,
    /// Connections closed after the idle timeout.
    pub idle_closed: AtomicU64,
}

/// The body of the `503` sent to a connection over the cap.
const REFUSAL: &str = r#"{"type":"urn:provlog:problem:unavailable","title":"Service unavailable","status":503,"detail":"the server is at its connection limit and every connection is busy; retry after 1 s","retry_after":1}"#;

/// How long a refused connection is given to take its 503 before it is closed.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` under `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with_stats(
        listener,
        router,
        limits,
        shutdown,
        Arc::new(ConnStats::default()),
    )
    .await
}

/// What a connection's task and its requests share.
struct ConnState {
    /// Requests in progress (from their headers to the end of the response body).
    busy: AtomicUsize,
    /// Whether any request has started on this connection.
    served: AtomicBool,
    /// When the connection went idle (accepted, or its last response ended).
    idle_since: Mutex<Instant>,
    /// Woken when `busy` changes, so the watchdog recomputes its deadline.
    activity: Notify,
    /// Woken to close the connection at once (eviction at the cap).
    evict: Notify,
}

impl ConnState {
    fn new() -> Self {
        ConnState {
            busy: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
            activity: Notify::new(),
            evict: Notify::new(),
        }
    }

    /// When an idle connection is to be closed; `None` while busy.
    fn deadline(&self, limits: &ConnLimits) -> Option<(Instant, bool)> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        if self.served.load(Ordering::SeqCst) {
            Some((since + limits.idle_timeout, false))
        } else {
            Some((since + limits.header_read_timeout, true))
        }
    }
}

/// Marks a request in progress for as long as it lives (it is moved into
/// the response body, so it ends when the body has been sent).
struct Busy(Arc<ConnState>);

impl Busy {
    fn new(state: &Arc<ConnState>) -> Busy {
        state.served.store(true, Ordering::SeqCst);
        state.busy.fetch_add(1, Ordering::SeqCst);
        state.activity.notify_one();
        Busy(state.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
        self.0.activity.notify_one();
    }
}

/// The open connections, oldest first (ids increase).
type Registry = Arc<Mutex<BTreeMap<u64, Arc<ConnState>>>>;

/// [`serve`], counting what the limits do in `stats`.
pub async fn serve_with_stats(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send,
    stats: Arc<ConnStats>,
) -> std::io::Result<()> {
    if let Some(fds) = open_files_limit()
        && (limits.max_connections as u64).saturating_add(128) > fds
    {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_files_limit = fds,
            "max_connections is close to the open-files limit (ulimit -n): accepts may fail before the cap"
        );
    }
    let registry: Registry = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone; all are gone when recv() is None.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut next_id = 0u64;
    let mut last_refusal_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = {
            let mut open = registry.lock().unwrap_or_else(|e| e.into_inner());
            if open.len() >= limits.max_connections {
                let idle = open
                    .iter()
                    .find(|(_, s)| s.busy.load(Ordering::SeqCst) == 0)
                    .map(|(id, _)| *id);
                match idle.and_then(|id| open.remove(&id)) {
                    Some(victim) => {
                        victim.evict.notify_one();
                        stats.evicted.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        drop(open);
                        stats.refused.fetch_add(1, Ordering::Relaxed);
                        if last_refusal_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                            tracing::warn!(
                                max_connections = limits.max_connections,
                                "at the connection limit with every connection busy: refusing with 503"
                            );
                            last_refusal_log = Some(Instant::now());
                        }
                        tokio::spawn(refuse(stream));
                        continue;
                    }
                }
            }
            let state = Arc::new(ConnState::new());
            open.insert(next_id, state.clone());
            state
        };
        let id = next_id;
        next_id += 1;
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::SeqCst);
        let conn = Connection {
            id,
            state,
            registry: registry.clone(),
            stats: stats.clone(),
            limits,
            stop: stop_rx.clone(),
            _done: done_tx.clone(),
        };
        tokio::spawn(conn.run(stream, peer, router.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await;
    Ok(())
}

/// Reads the request head (so an HTTP client sees the answer to its
/// request, not an unexpected message), sends the 503 refusal, and closes,
/// all within [`REFUSAL_GRACE`].
async fn refuse(mut stream: TcpStream) {
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{REFUSAL}",
        REFUSAL.len()
    );
    let _ = tokio::time::timeout(REFUSAL_GRACE, async {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        stream.write_all(resp.as_bytes()).await?;
        stream.shutdown().await?;
        // Drain what else the client sends, so closing does not reset the
        // connection before it has read the answer.
        while stream.read(&mut buf).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

struct Connection {
    id: u64,
    state: Arc<ConnState>,
    registry: Registry,
    stats: Arc<ConnStats>,
    limits: ConnLimits,
    stop: watch::Receiver<bool>,
    _done: tokio::sync::mpsc::Sender<()>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: std::net::SocketAddr, router: Router) {
        let state = self.state.clone();
        let body_timeout = self.limits.body_timeout;
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let busy = Busy::new(&state);
            let mut req = req.map(|b| Body::new(DeadlineBody::new(b, body_timeout)));
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let mut router = router.clone();
            async move {
                let resp = router.call(req).await?;
                Ok::<_, Infallible>(resp.map(|b| {
                    Body::new(BusyBody {
                        inner: b,
                        _busy: busy,
                    })
                }))
            }
        });
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            let deadline = self.state.deadline(&self.limits);
            let sleep_until =
                deadline.map_or_else(|| Instant::now() + Duration::from_secs(3600), |d| d.0);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                () = self.state.evict.notified() => {
                    tracing::debug!(conn = self.id, "closed to make room at the connection limit");
                    break;
                }
                () = self.state.activity.notified() => {}
                r = self.stop.changed(), if !stopping => {
                    let _ = r;
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep_until(sleep_until), if deadline.is_some() => {
                    // Re-check: a request may have started as the timer fired.
                    if let Some((at, first)) = self.state.deadline(&self.limits)
                        && at <= Instant::now()
                    {
                        let counter = if first { &self.stats.header_timeouts } else { &self.stats.idle_closed };
                        counter.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(conn = self.id, headers = first, "closed after the header-read or idle timeout");
                        break;
                    }
                }
            }
        }
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.stats.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as in progress until
/// the body has been sent (or dropped).
struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for BusyBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Why a request body was cut off.
#[derive(Debug)]
struct BodyTimedOut(Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyTimedOut {}

/// A request body that fails once `timeout` has passed since the headers.
struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
