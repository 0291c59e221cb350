//! The monitor's HTTP API: the tlog-witness endpoints, gossip, evidence,
//! health and metrics (spec/monitor.md, spec/witness.md). Handlers parse,
//! call the monitor or the witness on a blocking thread, and map typed
//! results to responses; no protocol decision is made here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use provlog_core::hash::sha256;
use provlog_core::witness::{
    COSIGNATURE_CONTENT_TYPE, MAX_REQUEST_SIZE, SIZE_CONTENT_TYPE, cosignature_response, size_body,
};
use serde_json::json;

use crate::gossip::{MAX_GOSSIP_BODY, ingest_blocking, parse_blocking};
use crate::metrics::CodeLabel;
use crate::monitor::{MAX_EVIDENCE_LIST, Monitor};
use crate::witness::AddCheckpointError;

/// Builds the router. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: gossip is
/// rate-limited per peer address.
pub fn router(mon: Arc<Monitor>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(add_checkpoint).layer(provlog_serve::BodyLimit(MAX_REQUEST_SIZE)),
        )
        .route("/{log}/checkpoint", get(witnessed_checkpoint))
        .route(
            "/v1/gossip",
            get(get_gossip)
                .post(post_gossip)
                .layer(provlog_serve::BodyLimit(MAX_GOSSIP_BODY)),
        )
        .route("/v1/evidence", get(list_evidence))
        .route("/v1/evidence/{id}", get(one_evidence))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(mon)
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into(),
    )
        .into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// The tlog-witness response for a refusal.
fn refusal(e: &AddCheckpointError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        AddCheckpointError::Stale { latest } => (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            size_body(*latest),
        )
            .into_response(),
        e => text(status, e.to_string()),
    }
}

/// `POST /add-checkpoint` (C2SP tlog-witness).
async fn add_checkpoint(State(mon): State<Arc<Monitor>>, body: Bytes) -> Response {
    let m = mon.clone();
    let resp = match tokio::task::spawn_blocking(move || {
        let (result, seen) = m.witness().add_checkpoint(&body);
        // Every validly signed checkpoint is also compared with what the
        // monitor holds, in the background: the log is waiting for the
        // answer, which does not depend on it.
        if let Some(sub) = seen {
            let m2 = m.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(log) = m2.log(&sub.origin) {
                    m2.check_seen(log, &sub.note, &sub.checkpoint);
                }
            });
        }
        result
    })
    .await
    {
        Ok(Ok(sig)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, COSIGNATURE_CONTENT_TYPE)],
            cosignature_response(&[sig]),
        )
            .into_response(),
        Ok(Err(e)) => refusal(&e),
        Err(e) => internal(format!("witness task failed: {e}")),
    };
    mon.metrics()
        .witness_requests
        .get_or_create(&CodeLabel {
            code: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// `GET /<hex sha256(origin)>/checkpoint`: the latest cosigned checkpoint.
async fn witnessed_checkpoint(
    State(mon): State<Arc<Monitor>>,
    Path(log): Path<String>,
) -> Response {
    let Some(ctx) = mon
        .logs()
        .find(|l| hex::encode(sha256(l.origin().as_bytes())) == log)
    else {
        return text(StatusCode::NOT_FOUND, "unknown log");
    };
    match mon.witness().latest(ctx.origin()) {
        Ok(Some(note)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            note,
        )
            .into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "nothing cosigned yet"),
        Err(e) => internal(e),
    }
}

fn rate_limited(mon: &Monitor, peer: SocketAddr) -> Option<Response> {
    let wait = mon.gossip_allowed(peer.ip()).err()?;
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    Some(
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, secs.to_string()),
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".into()),
            ],
            "gossip rate limit for this address exceeded",
        )
            .into_response(),
    )
}

async fn view(mon: &Arc<Monitor>) -> Response {
    let m = mon.clone();
    match tokio::task::spawn_blocking(move || m.gossip_view()).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => internal(e),
    }
}

async fn get_gossip(
    State(mon): State<Arc<Monitor>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if let Some(r) = rate_limited(&mon, peer) {
        return r;
    }
    view(&mon).await
}

/// `POST /v1/gossip`: takes a peer's view, answers with ours (after
/// processing theirs, so evidence found from it is in the answer).
async fn post_gossip(
    State(mon): State<Arc<Monitor>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    if let Some(r) = rate_limited(&mon, peer) {
        return r;
    }
    let msg = match parse_blocking(body.to_vec()).await {
        Ok(m) => m,
        Err(e) => return text(StatusCode::BAD_REQUEST, e),
    };
    ingest_blocking(&mon, msg).await;
    view(&mon).await
}

/// `GET /v1/evidence`: the newest bundles' ids, kinds, sizes and times.
async fn list_evidence(State(mon): State<Arc<Monitor>>) -> Response {
    let m = mon.clone();
    let listed = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::store::StoreError>((
            m.evidence_list(MAX_EVIDENCE_LIST)?,
            m.evidence_count()?,
        ))
    })
    .await;
    match listed {
        Ok(Ok((list, total))) => {
            let items: Vec<serde_json::Value> = list
                .into_iter()
                .map(|m| {
                    let url = format!("/v1/evidence/{}", m.id);
                    let mut v = json!(m);
                    v["url"] = json!(url);
                    v
                })
                .collect();
            axum::Json(json!({
                "evidence": items,
                "total": total,
            }))
            .into_response()
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

async fn one_evidence(State(mon): State<Arc<Monitor>>, Path(id): Path<String>) -> Response {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return text(StatusCode::NOT_FOUND, "no such evidence");
    }
    match mon.evidence_json(&id) {
        Ok(Some(j)) => ([(header::CONTENT_TYPE, "application/json")], j).into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such evidence"),
        Err(e) => internal(e),
    }
}

async fn healthz(State(mon): State<Arc<Monitor>>) -> Response {
    axum::Json(mon.health()).into_response()
}

async fn metrics(State(mon): State<Arc<Monitor>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        mon.metrics().render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn serve(mon: Monitor) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = router(Arc::new(mon)).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gossip_is_rate_limited_per_peer_with_retry_after() {
        let (_dir, _log, mon) =
            crate::testutil::monitor("api.example/log", "gossip_rate = 0.5\ngossip_burst = 3\n");
        let url = serve(mon).await;
        let http = reqwest::Client::new();
        let mut codes = Vec::new();
        let mut retry = None;
        for _ in 0..6 {
            let r = http
                .post(format!("{url}/v1/gossip"))
                .json(&serde_json::json!({"checkpoints": []}))
                .send()
                .await
                .unwrap();
            codes.push(r.status().as_u16());
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                retry = r
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
            }
        }
        // The burst is served; the rest is refused until tokens come back
        // (one per 2 s: no refill during this loop's few milliseconds is
        // enough to turn a 429 into a 200 more than once).
        assert_eq!(&codes[..3], &[200, 200, 200], "{codes:?}");
        assert!(
            codes[3..].iter().filter(|&&c| c == 429).count() >= 2,
            "{codes:?}"
        );
        assert!(retry.is_some_and(|s| (1..=2).contains(&s)), "{retry:?}");
        // Other endpoints are not limited.
        assert_eq!(
            reqwest::get(format!("{url}/healthz"))
                .await
                .unwrap()
                .status(),
            200
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gossip_bodies_over_the_limit_are_refused() {
        // A raw request that declares a body one byte over the limit and
        // sends none: the monitor must refuse it from the header alone.
        // (Sending the body too would race the early 413 against our
        // writes, so the client might see a broken pipe instead.)
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (_dir, _log, mon) = crate::testutil::monitor("api.example/log", "");
        let url = serve(mon).await;
        let addr = url.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /v1/gossip HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            MAX_GOSSIP_BODY + 1
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut reply = Vec::new();
        // Bounded: a monitor that waited for the body would fail here.
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            conn.read_to_end(&mut reply),
        )
        .await
        .expect("the monitor answers without the body")
        .unwrap();
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_evidence_listing_has_ids_kinds_and_times() {
        let (_dir, log, mon) = crate::testutil::monitor("api.example/log", "");
        let key = log.verifier_key();
        let note = |root: u8| {
            let cp = provlog_core::checkpoint::Checkpoint::new(log.name(), 4, [root; 32])
                .with_timestamp(9);
            provlog_core::checkpoint::sign_checkpoint(&cp, &log).unwrap()
        };
        let ev = provlog_core::evidence::Evidence::same_size(&key, log.name(), &note(1), &note(2));
        assert!(mon.record_evidence(&ev));
        let url = serve(mon).await;
        let v: serde_json::Value = reqwest::get(format!("{url}/v1/evidence"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let item = &v["evidence"][0];
        assert_eq!(item["id"], ev.id());
        assert_eq!(item["kind"], "same-size-different-roots");
        assert_eq!(item["origin"], log.name());
        assert_eq!(item["sizes"], serde_json::json!([4, 4]));
        assert!(item["time_ms"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(item["url"], format!("/v1/evidence/{}", ev.id()));
        assert_eq!(v["total"], 1);
        let one = reqwest::get(format!("{url}/v1/evidence/{}", ev.id()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        provlog_core::evidence::verify_evidence(&one, &key).unwrap();
    }
}
