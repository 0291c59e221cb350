//! The connection limits, in process: slow-header connections cannot lock
//! out a normal client, a connection over the cap with every connection
//! busy gets a 503 problem at once, and header, idle and body timeouts
//! close what they should. Every wait is bounded by a generous socket
//! timeout that only keeps a broken server from hanging the test.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use provlog_serve::{ConnLimits, ConnStats, serve_with_stats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

/// Lets the `/block` handlers finish (no wake-up can be lost: they wait
/// for the value, not for a notification), and counts those that entered.
#[derive(Clone)]
struct Gate {
    open: watch::Sender<bool>,
    entered: Arc<std::sync::atomic::AtomicUsize>,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            open: watch::channel(false).0,
            entered: Arc::default(),
        }
    }

    async fn wait_entered(&self, n: usize) {
        let ok = tokio::time::timeout(PATIENCE, async {
            while self.entered.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(ok.is_ok(), "{n} requests reached the handler");
    }
}

/// Upper bound on any single wait in these tests.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    addr: std::net::SocketAddr,
    stats: Arc<ConnStats>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(limits: ConnLimits, gate: Gate) -> Server {
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route(
                "/peer",
                get(
                    |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<
                        std::net::SocketAddr,
                    >| async move { peer.ip().to_string() },
                ),
            )
            .route(
                "/block",
                get(move || {
                    let gate = gate.clone();
                    async move {
                        let mut open = gate.open.subscribe();
                        gate.entered.fetch_add(1, Ordering::SeqCst);
                        let _ = open.wait_for(|o| *o).await;
                        "released"
                    }
                }),
            )
            .route(
                "/echo",
                post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(ConnStats::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(serve_with_stats(
            listener,
            router,
            limits,
            async move {
                let _ = stopped.await;
            },
            stats.clone(),
        ));
        Server {
            addr,
            stats,
            stop: Some(stop),
            done,
        }
    }

    async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(PATIENCE, self.done)
            .await
            .expect("shutdown is bounded")
            .unwrap()
            .unwrap();
    }
}

/// Reads until the peer closes (or `PATIENCE`); returns what it sent.
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let r = tokio::time::timeout(PATIENCE, s.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "the server closed the connection in time");
    String::from_utf8_lossy(&out).into_owned()
}

async fn get_ok(addr: std::net::SocketAddr) -> reqwest::Response {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("a normal client gets an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_connections_cannot_lock_out_a_normal_client() {
    let limits = ConnLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_secs(3),
        idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
    };
    let server = Server::start(limits, Gate::new()).await;
    // 371 connections that start a request and never finish its headers.
    let mut slow = Vec::new();
    for _ in 0..371 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // A normal client is answered at once, on its first try, while the
    // slow connections hold every slot.
    let resp = get_ok(server.addr).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    assert!(
        server.stats.open.load(Ordering::SeqCst) <= 64,
        "never more than the cap open"
    );
    assert!(server.stats.evicted.load(Ordering::SeqCst) >= 371 - 64);
    assert_eq!(server.stats.refused.load(Ordering::SeqCst), 0);
    // Every slow connection is closed: evicted, or after the header timeout.
    for s in &mut slow {
        let got = read_to_close(s).await;
        assert!(
            !got.starts_with("HTTP/1.1 200"),
            "a partial request was not served"
        );
    }
    assert!(server.stats.header_timeouts.load(Ordering::SeqCst) >= 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_with_every_connection_busy_gets_503_at_once() {
    let limits = ConnLimits {
        max_connections: 4,
        ..ConnLimits::default()
    };
    let gate = Gate::new();
    let server = Server::start(limits, gate.clone()).await;
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        busy.push(s);
    }
    gate.wait_entered(4).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut s).await;
    let refused = got.starts_with("HTTP/1.1 503").then_some(got.clone());
    let got = refused.expect("a connection over the cap is refused with 503");
    assert!(got.to_ascii_lowercase().contains("retry-after: 1"), "{got}");
    let body = got.split("\r\n\r\n").nth(1).unwrap();
    let problem: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["type"], "urn:provlog:problem:unavailable");
    assert_eq!(problem["status"], 503);
    assert!(server.stats.refused.load(Ordering::SeqCst) >= 1);
    // Once the busy requests finish, new clients are served again.
    gate.open.send_replace(true);
    for s in &mut busy {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200") || n == 0, "{head}");
    }
    assert_eq!(get_ok(server.addr).await.status(), 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_body_connections_are_closed() {
    let limits = ConnLimits {
        max_connections: 16,
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
    };
    let server = Server::start(limits, Gate::new()).await;
    // A keep-alive connection after one answered request: closed when idle.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut s).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(server.stats.idle_closed.load(Ordering::SeqCst) >= 1);
    // A connection that sends nothing at all.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(read_to_close(&mut s).await, "");
    // A body that stops short: the handler's read fails, the request is
    // answered with an error and the connection freed.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let got = read_to_close(&mut s).await;
    assert!(
        !got.starts_with("HTTP/1.1 200"),
        "a cut-off body is not accepted: {got}"
    );
    assert!(
        got.is_empty() || got.starts_with("HTTP/1.1 4"),
        "answered 4xx or closed: {got}"
    );
    // Normal requests still work, and see their peer's address.
    assert_eq!(get_ok(server.addr).await.status(), 200);
    let peer = reqwest::get(format!("http://{}/peer", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(peer, "127.0.0.1");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_progress_finish() {
    let gate = Gate::new();
    let server = Server::start(ConnLimits::default(), gate.clone()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    gate.wait_entered(1).await;
    let addr = server.addr;
    let stopping = tokio::spawn(server.shutdown());
    // New connections are no longer accepted...
    let refused = tokio::time::timeout(PATIENCE, async {
        loop {
            match TcpStream::connect(addr).await {
                Err(_) => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    assert!(refused.is_ok(), "the listener closes on shutdown");
    // ...and the request in progress is answered.
    gate.open.send_replace(true);
    let got = read_to_close(&mut s).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.ends_with("released"), "{got}");
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .unwrap()
        .unwrap();
}
