//! A storage fault the backend recovers from (an object store that is
//! unreachable for a while; here the memory backend's outage switch), seen
//! from outside: the write that meets it is refused with 503 +
//! `Retry-After` and a problem document, `/healthz` answers 503 `failing`
//! with the cause and `/metrics` `provlog_storage_failing 1`; once storage
//! works again the sequencer's retry (a checkpoint refresh every second
//! while failing) clears it without any traffic, and writes succeed. In
//! process: the real router, appender and sequencer thread on a memory
//! store.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{checkpoint_signer, signed_claim};
use provlog_server::api::{AppState, router};
use provlog_server::appender::Appender;
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::publisher::Publication;
use provlog_server::ratelimit::RateLimiter;
use provlog_server::sequencer::{Sequencer, SequencerConfig};
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn post_claim(i: u64) -> Request<Body> {
    Request::post("/v1/claims")
        .header("content-type", "application/cose")
        .body(Body::from(signed_claim(i)))
        .expect("request")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_outage_is_refused_reported_and_recovered_from() {
    let store = Arc::new(MemoryStorage::new());
    let metrics = Arc::new(Metrics::new());
    let mut seq = Sequencer::open(
        store.clone(),
        store.clone(),
        checkpoint_signer(),
        metrics.clone(),
        1_800_000_000_000,
    )
    .expect("open");
    let publication = Publication::new(
        seq.committed().expect("committed"),
        &[],
        0,
        Duration::from_secs(1),
    );
    seq.set_publication(publication.clone());
    let (tx, rx) = mpsc::channel();
    let cfg = SequencerConfig {
        batch_interval: Duration::from_millis(5),
        max_batch: 256,
        // Long: only the failing-storage retry can refresh within the test.
        checkpoint_refresh: Duration::from_secs(3600),
    };
    let seq_thread = std::thread::spawn(move || seq.run(rx, cfg));
    let nodes = Arc::new(NodeCache::new(64));
    let appender = Arc::new(Appender::new(
        RateLimiter::new(1e9, 1e9),
        1000,
        tx,
        publication.clone(),
        store.clone(),
        nodes.clone(),
        metrics.clone(),
    ));
    let app = router(Arc::new(AppState {
        log: store.clone(),
        index: store.clone(),
        publication,
        appender: appender.clone(),
        accepted: None,
        metrics: metrics.clone(),
        max_batch_body: 1 << 20,
        max_batch_claims: 256,
        nodes,
        vindex: None,
        tiles: Arc::new(provlog_server::tile_cache::TileCache::with_defaults()),
    }));

    let (status, _, body) = call(&app, post_claim(1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = call(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);

    store.set_outage(true);
    let (status, headers, body) = call(&app, post_claim(2)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.get("retry-after").is_some(), "Retry-After");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let (status, _, body) = call(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(health["status"], "failing");
    assert!(
        health["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("storage: ")),
        "{health}"
    );
    let (_, _, text) = call(&app, get("/metrics")).await;
    assert!(text.contains("provlog_storage_failing 1"), "{text}");

    store.set_outage(false);
    // Bounded wait for the sequencer's retry (every second while failing);
    // no request is sent meanwhile.
    let mut recovered = false;
    for _ in 0..300 {
        if call(&app, get("/healthz")).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "healthz is ok again once storage works");
    let (_, _, text) = call(&app, get("/metrics")).await;
    assert!(text.contains("provlog_storage_failing 0"), "{text}");
    let (status, _, body) = call(&app, post_claim(2)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    appender.close();
    drop(app);
    drop(appender);
    seq_thread.join().expect("sequencer thread");
}
