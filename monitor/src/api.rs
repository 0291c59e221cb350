//! The monitor's HTTP API: the tlog-witness endpoints, gossip, evidence,
//! health and metrics (spec/monitor.md, spec/witness.md). Handlers parse,
//! call the monitor or the witness on a blocking thread, and map typed
//! results to responses; no protocol decision is made here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use provlog_core::hash::sha256;
use provlog_core::witness::{
    COSIGNATURE_CONTENT_TYPE, MAX_REQUEST_SIZE, SIZE_CONTENT_TYPE, cosignature_response, size_body,
};
use serde_json::json;

use crate::gossip::{MAX_GOSSIP_BODY, ingest_blocking, parse_blocking};
use crate::metrics::CodeLabel;
use crate::monitor::{MAX_EVIDENCE_LIST, Monitor};
use crate::problem::Problem;
use crate::witness::AddCheckpointError;

/// Builds the router. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: gossip is
/// rate-limited per peer address.
///
/// Every error is an RFC 9457 problem document ([`Problem`]) but the
/// tlog-witness 409 (`text/x.tlog.size`): unknown paths (404), methods a
/// path does not allow (405, with `Allow`), non-canonical URLs (see
/// [`canonical_url`]) and bodies that cannot be read are problems too.
pub fn router(mon: Arc<Monitor>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            only(post(add_checkpoint), "POST").layer(provlog_serve::BodyLimit(MAX_REQUEST_SIZE)),
        )
        .route(
            "/{log}/checkpoint",
            only(get(witnessed_checkpoint), "GET, HEAD"),
        )
        .route(
            "/v1/gossip",
            only(get(get_gossip).post(post_gossip), "GET, HEAD, POST")
                .layer(provlog_serve::BodyLimit(MAX_GOSSIP_BODY)),
        )
        .route("/v1/evidence", only(get(list_evidence), "GET, HEAD"))
        .route("/v1/evidence/{id}", only(get(one_evidence), "GET, HEAD"))
        .route("/healthz", only(get(healthz), "GET, HEAD"))
        .route("/metrics", only(get(metrics), "GET, HEAD"))
        .fallback(|| async { Problem::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn(canonical_url))
        .with_state(mon)
}

/// `route` answering 405 (problem+json, `Allow: allow`) to other methods.
fn only(route: MethodRouter<Arc<Monitor>>, allow: &'static str) -> MethodRouter<Arc<Monitor>> {
    route.fallback(move || async move { Problem::method_not_allowed(allow) })
}

/// One URL per resource: no monitor URL has a query or a percent-encoded
/// byte, so a request with either is refused before routing (a query: 400;
/// a `%` in the path: 404, it names no resource) instead of being decoded
/// into an alias of a canonical path.
async fn canonical_url(req: Request, next: Next) -> Response {
    if req.uri().query().is_some() {
        return Problem::bad_request(
            "query-not-allowed",
            "monitor endpoints take no query parameters",
        )
        .into_response();
    }
    if req.uri().path().contains('%') {
        return Problem::not_found("percent-encoded paths are not served: use the canonical path")
            .into_response();
    }
    next.run(req).await
}

/// Whether `s` is 64 lowercase hex digits (an origin hash, an evidence id).
fn is_lower_hex_64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a body error is serve's body timeout.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.to_string().contains("did not arrive within") {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The problem for a body that could not be read whole within `limit`.
fn body_problem(
    status: StatusCode,
    e: &(dyn std::error::Error + 'static),
    limit: usize,
) -> Problem {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body is larger than the limit of {limit} bytes"),
        )
    } else if timed_out(e) {
        Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            e.to_string(),
        )
    } else {
        Problem::bad_request(
            "unreadable-body",
            format!("cannot read the request body: {e}"),
        )
    }
}

fn bytes_problem(r: &BytesRejection, limit: usize) -> Problem {
    body_problem(r.status(), r, limit)
}

/// The tlog-witness response for a refusal: the 409 size body, else a
/// problem document of the refusal's status.
fn refusal(e: &AddCheckpointError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        AddCheckpointError::Stale { latest } => (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            size_body(*latest),
        )
            .into_response(),
        e => Problem::new(status, e.slug(), e.to_string()).into_response(),
    }
}

/// `POST /add-checkpoint` (C2SP tlog-witness).
async fn add_checkpoint(
    State(mon): State<Arc<Monitor>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let resp = match body {
        Err(r) => bytes_problem(&r, MAX_REQUEST_SIZE).into_response(),
        Ok(body) => witness_call(&mon, body).await,
    };
    mon.metrics()
        .witness_requests
        .get_or_create(&CodeLabel {
            code: resp.status().as_u16(),
        })
        .inc();
    resp
}

async fn witness_call(mon: &Arc<Monitor>, body: Bytes) -> Response {
    let m = mon.clone();
    match tokio::task::spawn_blocking(move || {
        let (result, seen) = m.witness().add_checkpoint(&body);
        // Every validly signed checkpoint is also compared with what the
        // monitor holds, in the background: the log is waiting for the
        // answer, which does not depend on it.
        if let Some(sub) = seen {
            let m2 = m.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(log) = m2.log(&sub.origin) {
                    m2.check_seen(log, &sub.note, &sub.checkpoint, sub.log_time);
                }
            });
        }
        result
    })
    .await
    {
        Ok(Ok(sigs)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, COSIGNATURE_CONTENT_TYPE)],
            cosignature_response(&sigs),
        )
            .into_response(),
        Ok(Err(e)) => refusal(&e),
        Err(e) => Problem::internal(format!("witness task failed: {e}")).into_response(),
    }
}

/// `GET /<hex sha256(origin)>/checkpoint`: the latest cosigned checkpoint.
/// The hash is 64 lowercase hex digits (the only form tlog-witness
/// defines); any other segment is 404.
async fn witnessed_checkpoint(
    State(mon): State<Arc<Monitor>>,
    log: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(log) = log.ok().map(|Path(l)| l).filter(|l| is_lower_hex_64(l)) else {
        return Problem::not_found("no such endpoint").into_response();
    };
    let Some(ctx) = mon
        .logs()
        .find(|l| hex::encode(sha256(l.origin().as_bytes())) == log)
    else {
        return Problem::not_found("unknown log").into_response();
    };
    match mon.witness().latest(ctx.origin()) {
        Ok(Some(note)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            note,
        )
            .into_response(),
        Ok(None) => Problem::not_found("nothing cosigned yet for this log").into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

fn rate_limited(mon: &Monitor, peer: SocketAddr) -> Option<Response> {
    let wait = mon.gossip_allowed(peer.ip()).err()?;
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    Some(Problem::rate_limited(secs, "gossip rate limit for this address exceeded").into_response())
}

async fn view(mon: &Arc<Monitor>) -> Response {
    let m = mon.clone();
    match tokio::task::spawn_blocking(move || m.gossip_view()).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => Problem::internal(e).into_response(),
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

/// Whether the request's media type (parameters ignored) is `want`.
fn has_content_type(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(want))
}

/// `POST /v1/gossip`: takes a peer's view, answers with ours (after
/// processing theirs, so evidence found from it is in the answer). Checks,
/// in order: a declared length over the limit (413, before anything is
/// read), the peer's rate (429, before the body is read), the body read
/// within the limit and the body timeout (413, 408), the content type
/// (415), then the JSON (400).
async fn post_gossip(
    State(mon): State<Arc<Monitor>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(r) = rate_limited(&mon, peer) {
        return r;
    }
    let body = match axum::body::to_bytes(body, MAX_GOSSIP_BODY).await {
        Ok(b) => b,
        Err(e) => {
            // http-body-util's LengthLimitError, somewhere in the chain.
            let mut too_large = false;
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                too_large |= c.to_string().contains("length limit exceeded");
                cause = c.source();
            }
            let status = if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return body_problem(status, &e, MAX_GOSSIP_BODY).into_response();
        }
    };
    if !has_content_type(&headers, "application/json") {
        return Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "a gossip push is application/json",
        )
        .into_response();
    }
    let msg = match parse_blocking(body.to_vec()).await {
        Ok(m) => m,
        Err(e) => return Problem::bad_request("bad-gossip", e).into_response(),
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
        Ok(Err(e)) => Problem::internal(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// `GET /v1/evidence/<id>`: `id` is 64 lowercase hex digits; any other
/// segment is 404.
async fn one_evidence(
    State(mon): State<Arc<Monitor>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(id) = id.ok().map(|Path(i)| i).filter(|i| is_lower_hex_64(i)) else {
        return Problem::not_found("no such evidence").into_response();
    };
    match mon.evidence_json(&id) {
        Ok(Some(j)) => ([(header::CONTENT_TYPE, "application/json")], j).into_response(),
        Ok(None) => Problem::not_found("no such evidence").into_response(),
        Err(e) => Problem::internal(e).into_response(),
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
        let (_dir, _log, mon) = crate::testutil::monitor("api.example/log", "");
        let url = serve(mon).await;
        // Declared over the limit, no body sent: refused from the header
        // (a client still writing its body could see the connection close
        // first, which would make this test depend on timing).
        let head = format!(
            "POST /v1/gossip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            MAX_GOSSIP_BODY + 1
        );
        let (status, ct, _) = witness_http_tests::raw(&url, head, Vec::new()).await;
        assert_eq!(status, 413);
        assert_eq!(ct, "application/problem+json");
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

#[cfg(test)]
mod witness_http_tests {
    //! The add-checkpoint table over HTTP: status, content type and body of
    //! each row; and every route, malformed, answers a problem document.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::checkpoint::{Checkpoint, LogSigner, verify_checkpoint};
    use provlog_core::hash::{EMPTY_ROOT, Hash};
    use provlog_core::note::{Note, NoteSigner, SIG_COSIGNATURE_V1, SIG_ML_DSA_44};
    use provlog_core::tree::{MemoryTree, consistency_proof, tree_root};
    use provlog_core::witness::{
        AddCheckpointRequest, monitoring_path, parse_cosignature_response,
    };

    async fn serve(mon: Monitor) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = router(Arc::new(mon)).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn root(t: &MemoryTree, n: u64) -> Hash {
        tree_root(&t.at_size(n).unwrap(), n).unwrap()
    }

    fn body(old: u64, proof: Vec<Hash>, checkpoint: Vec<u8>) -> Vec<u8> {
        AddCheckpointRequest {
            old_size: old,
            proof,
            checkpoint,
        }
        .to_bytes()
    }

    /// Status, media type and body of one response.
    struct Answer {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    }

    async fn send(req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.unwrap();
        Answer {
            status: r.status().as_u16(),
            content_type: r
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: r.bytes().await.unwrap().to_vec(),
        }
    }

    /// Asserts `a` is a problem document of `status`; returns its `type`.
    fn assert_problem(a: &Answer, status: u16, what: &str) -> String {
        assert_eq!(
            a.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.content_type, "application/problem+json", "{what}");
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["status"], status, "{what}");
        assert!(
            v["title"].is_string() && v["detail"].is_string(),
            "{what}: {v}"
        );
        let kind = v["type"].as_str().unwrap().to_owned();
        assert!(kind.starts_with("urn:provlog:problem:"), "{what}: {kind}");
        kind
    }

    async fn every_row_over_http(ml_dsa: bool) {
        let stranger = NoteSigner::generate("stranger.example").unwrap();
        let second = NoteSigner::generate("second.example/log").unwrap();
        let extra = format!(
            "[[log]]\nurl = \"http://127.0.0.1:9\"\nvkey = \"{}\"\n",
            second.verifier_key()
        );
        let (_dir, log, mon) = crate::testutil::monitor_with("api.example/log", &extra, ml_dsa);
        let witness_keys = mon.witness().verifier_keys();
        let url = serve(mon).await;
        let add = format!("{url}/add-checkpoint");
        let http = reqwest::Client::new();
        let post = |b: Vec<u8>| http.post(&add).body(b);
        let signer = LogSigner::new(log.clone(), None).unwrap();
        let honest = MemoryTree::from_entries((0..12u32).map(|i| format!("h {i}")));
        let fork = MemoryTree::from_entries((0..12u32).map(|i| format!("f {i}")));
        let sign = |t: &MemoryTree, n: u64| {
            signer
                .sign(&Checkpoint::new(log.name(), n, root(t, n)), 1_789_000_000)
                .unwrap()
        };

        // Row 11: cosigned. One line per witness key, text/plain.
        let sent = sign(&honest, 5);
        let a = send(post(body(0, vec![], sent.clone()))).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.content_type, "text/plain; charset=utf-8");
        let sigs = parse_cosignature_response(&a.body).unwrap();
        assert_eq!(sigs.len(), if ml_dsa { 2 } else { 1 });
        let mut n = Note::parse(&sent).unwrap();
        n.signatures.extend(sigs);
        let v = n.verify(&witness_keys).unwrap();
        let types: Vec<u8> = v.iter().map(|s| s.key.key_type()).collect();
        let want: &[u8] = if ml_dsa {
            &[SIG_COSIGNATURE_V1, SIG_ML_DSA_44]
        } else {
            &[SIG_COSIGNATURE_V1]
        };
        assert_eq!(types, want);
        assert!(v.iter().all(|s| s.timestamp.is_some_and(|t| t > 0)));

        // Row 1: malformed body.
        let mut b = b"old 05\n\n".to_vec();
        b.extend_from_slice(&sign(&honest, 9));
        assert_problem(&send(post(b)).await, 400, "row 1");
        // Row 2: unknown origin.
        let cp = Checkpoint::new(stranger.name(), 5, root(&honest, 5)).with_timestamp(1);
        let n = provlog_core::checkpoint::sign_checkpoint(&cp, &stranger).unwrap();
        assert_problem(&send(post(body(5, vec![], n))).await, 404, "row 2");
        // Row 3: no signature by the log's key.
        let impostor = LogSigner::new(NoteSigner::generate(log.name()).unwrap(), None).unwrap();
        let n = impostor
            .sign(&Checkpoint::new(log.name(), 5, root(&honest, 5)), 1)
            .unwrap();
        assert_problem(&send(post(body(5, vec![], n))).await, 403, "row 3");
        // Row 4: the log's key, a signature that does not verify.
        let mut n = Note::parse(&sign(&honest, 5)).unwrap();
        n.signatures[0].signature[0] ^= 1;
        assert_problem(
            &send(post(body(5, vec![], n.to_bytes()))).await,
            403,
            "row 4",
        );
        // Row 5: old above the size.
        assert_problem(
            &send(post(body(6, vec![], sign(&honest, 5)))).await,
            400,
            "row 5",
        );
        // Row 6: stale old size: the size, as text/x.tlog.size.
        let a = send(post(body(0, vec![], sign(&honest, 9)))).await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_slice()),
            (409, SIZE_CONTENT_TYPE, &b"5\n"[..])
        );
        // Rows 7 and 8 on the second log, where nothing is cosigned yet.
        let second = LogSigner::new(second, None).unwrap();
        let n = second
            .sign(&Checkpoint::new("second.example/log", 0, [7; 32]), 1)
            .unwrap();
        let kind = assert_problem(&send(post(body(0, vec![], n))).await, 422, "row 7");
        assert_eq!(kind, "urn:provlog:problem:empty-tree-root");
        let n = second
            .sign(&Checkpoint::new("second.example/log", 0, EMPTY_ROOT), 1)
            .unwrap();
        let kind = assert_problem(&send(post(body(0, vec![[1; 32]], n))).await, 422, "row 8");
        assert_eq!(kind, "urn:provlog:problem:proof-from-empty-tree");
        // Row 9: a consistency proof that does not verify.
        let p = consistency_proof(&honest.at_size(9).unwrap(), 5, 9).unwrap();
        let kind = assert_problem(&send(post(body(5, p, sign(&fork, 9)))).await, 422, "row 9");
        assert_eq!(kind, "urn:provlog:problem:inconsistent");
        // Row 10: same size, different root.
        let kind = assert_problem(
            &send(post(body(5, vec![], sign(&fork, 5)))).await,
            422,
            "row 10",
        );
        assert_eq!(kind, "urn:provlog:problem:same-size-different-root");

        // Nothing refused changed the state: the monitoring endpoint has
        // the size-5 checkpoint, the log's lines and this witness's.
        let a = send(http.get(format!("{url}/{}", monitoring_path(log.name())))).await;
        assert_eq!(a.status, 200);
        let got = verify_checkpoint(&a.body, &log.verifier_key()).unwrap();
        assert_eq!(got.checkpoint.size, 5);
        assert_eq!(got.checkpoint.root, root(&honest, 5));
        Note::parse(&a.body).unwrap().verify(&witness_keys).unwrap();
        // Nothing was cosigned for the second log.
        let a = send(http.get(format!("{url}/{}", monitoring_path("second.example/log")))).await;
        assert_problem(&a, 404, "nothing cosigned");
    }

    /// Sends `head` then `body` over a fresh connection (the writing on
    /// its own thread, errors ignored: the server may answer first) and
    /// returns the status, the Content-Type and the body of the answer.
    pub(super) async fn raw(url: &str, head: String, body: Vec<u8>) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let addr = url.trim_start_matches("http://").to_owned();
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            let mut w = s.try_clone().unwrap();
            let writer = std::thread::spawn(move || {
                let _ = w
                    .write_all(head.as_bytes())
                    .and_then(|()| w.write_all(&body));
            });
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            let _ = writer.join();
            parse_answer(&out)
        })
        .await
        .unwrap()
    }

    /// As [`raw`], but the connection's write side stays open after `body`
    /// (the server sees a body that stalls, not one that ended).
    async fn raw_open(url: &str, head: String, body: Vec<u8>) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let addr = url.trim_start_matches("http://").to_owned();
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&body).unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            parse_answer(&out)
        })
        .await
        .unwrap()
    }

    fn parse_answer(out: &[u8]) -> (u16, String, Vec<u8>) {
        let text = String::from_utf8_lossy(out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let ct = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default();
        (status, ct, body.as_bytes().to_vec())
    }

    /// Every route of the monitor, sent malformed paths, queries, methods
    /// and bodies: each error is a problem document (and a 405 carries
    /// `Allow`); non-canonical spellings of a path parameter are 404, not
    /// aliases.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_route_answers_errors_as_problem_documents() {
        let (_dir, log, mon) = crate::testutil::monitor("walk.example/log", "");
        let key = log.verifier_key();
        let note = |root: u8| {
            let cp = Checkpoint::new(log.name(), 4, [root; 32]).with_timestamp(9);
            provlog_core::checkpoint::sign_checkpoint(&cp, &log).unwrap()
        };
        let ev = provlog_core::evidence::Evidence::same_size(&key, log.name(), &note(1), &note(2));
        assert!(mon.record_evidence(&ev));
        let id = ev.id();
        let url = serve(mon).await;
        let http = reqwest::Client::new();
        let hash = hex::encode(sha256(log.name().as_bytes()));
        // The canonical forms answer (so the 404s below are about the
        // spelling, not the resource).
        let a = send(http.get(format!("{url}/v1/evidence/{id}"))).await;
        assert_eq!(a.status, 200);
        let a = send(http.get(format!("{url}/{hash}/checkpoint"))).await;
        assert_problem(&a, 404, "nothing cosigned yet");
        let pct = |s: &str| {
            // The first character percent-encoded: an alias once decoded.
            format!("%{:02X}{}", s.as_bytes()[0], &s[1..])
        };
        let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
        let m = |s: &str| reqwest::Method::from_bytes(s.as_bytes()).unwrap();
        let cases: Vec<(reqwest::Method, String, u16, Option<&str>)> = vec![
            // Unknown paths.
            (get.clone(), "/".into(), 404, None),
            (get.clone(), "/nope".into(), 404, None),
            (get.clone(), "/healthz/".into(), 404, None),
            (get.clone(), "//healthz".into(), 404, None),
            (get.clone(), "/v1/evidence/".into(), 404, None),
            (get.clone(), format!("/v1/evidence/{id}/x"), 404, None),
            (get.clone(), format!("/{hash}/checkpoint/"), 404, None),
            (get.clone(), format!("/{hash}"), 404, None),
            // Path parameters in a non-canonical spelling.
            (
                get.clone(),
                format!("/{}/checkpoint", hash.to_uppercase()),
                404,
                None,
            ),
            (
                get.clone(),
                format!("/{}/checkpoint", pct(&hash)),
                404,
                None,
            ),
            (
                get.clone(),
                format!("/+{}/checkpoint", &hash[1..]),
                404,
                None,
            ),
            (
                get.clone(),
                format!("/{}/checkpoint", &hash[1..]),
                404,
                None,
            ),
            (get.clone(), format!("/{hash}0/checkpoint"), 404, None),
            (
                get.clone(),
                format!("/{}/checkpoint", "0".repeat(64)),
                404,
                None,
            ),
            (
                get.clone(),
                format!("/v1/evidence/{}", id.to_uppercase()),
                404,
                None,
            ),
            (get.clone(), format!("/v1/evidence/{}", pct(&id)), 404, None),
            (
                get.clone(),
                format!("/v1/evidence/+{}", &id[1..]),
                404,
                None,
            ),
            (get.clone(), "/v1/evidence/+0".into(), 404, None),
            (get.clone(), "/v1/evidence/0".into(), 404, None),
            (
                get.clone(),
                format!("/v1/evidence/{}", "0".repeat(64)),
                404,
                None,
            ),
            (get.clone(), "/v1/%65vidence".into(), 404, None),
            (get.clone(), "/%68ealthz".into(), 404, None),
            (post.clone(), "/add-check%70oint".into(), 404, None),
            // Queries: no endpoint takes one.
            (get.clone(), "/healthz?x=1".into(), 400, None),
            (get.clone(), "/metrics?".into(), 400, None),
            (get.clone(), "/v1/evidence?limit=5".into(), 400, None),
            (get.clone(), format!("/v1/evidence/{id}?a"), 400, None),
            (get.clone(), format!("/{hash}/checkpoint?x"), 400, None),
            (get.clone(), "/v1/gossip?x=%zz".into(), 400, None),
            (post.clone(), "/add-checkpoint?old=0".into(), 400, None),
            (get.clone(), "/nope?x".into(), 400, None),
            // Methods a path does not allow.
            (get.clone(), "/add-checkpoint".into(), 405, Some("POST")),
            (m("PUT"), "/add-checkpoint".into(), 405, Some("POST")),
            (
                post.clone(),
                format!("/{hash}/checkpoint"),
                405,
                Some("GET, HEAD"),
            ),
            (
                m("DELETE"),
                "/v1/gossip".into(),
                405,
                Some("GET, HEAD, POST"),
            ),
            (post.clone(), "/v1/evidence".into(), 405, Some("GET, HEAD")),
            (
                m("PATCH"),
                format!("/v1/evidence/{id}"),
                405,
                Some("GET, HEAD"),
            ),
            (post.clone(), "/healthz".into(), 405, Some("GET, HEAD")),
            (m("OPTIONS"), "/metrics".into(), 405, Some("GET, HEAD")),
            (m("BREW"), "/healthz".into(), 405, Some("GET, HEAD")),
        ];
        for (method, path, status, allow) in cases {
            let what = format!("{method} {path}");
            let r = http
                .request(method.clone(), format!("{url}{path}"))
                .send()
                .await
                .unwrap();
            let got_allow = r
                .headers()
                .get(header::ALLOW)
                .map(|v| v.to_str().unwrap().to_owned());
            let a = Answer {
                status: r.status().as_u16(),
                content_type: r
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default(),
                body: r.bytes().await.unwrap().to_vec(),
            };
            assert_problem(&a, status, &what);
            assert_eq!(got_allow.as_deref(), allow, "{what}");
        }

        // Bodies: declared too large (refused from the header), streamed
        // too large, the wrong media type, unparseable.
        for (path, limit) in [
            ("/add-checkpoint", MAX_REQUEST_SIZE),
            ("/v1/gossip", MAX_GOSSIP_BODY),
        ] {
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                limit + 1
            );
            let (status, ct, body) = raw(&url, head, Vec::new()).await;
            let a = Answer {
                status,
                content_type: ct,
                body,
            };
            assert_problem(&a, 413, &format!("{path} declared too large"));
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
            let body = chunk.repeat(limit / 0x10000 + 2).into_bytes();
            let (status, ct, body) = raw(&url, head, body).await;
            let a = Answer {
                status,
                content_type: ct,
                body,
            };
            assert_problem(&a, 413, &format!("{path} streamed too large"));
        }
        let a = send(
            http.post(format!("{url}/v1/gossip"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body("{}"),
        )
        .await;
        assert_problem(&a, 415, "gossip as text/plain");
        let a = send(
            http.post(format!("{url}/v1/gossip"))
                .header(header::CONTENT_TYPE, "application/json")
                .body("{not json"),
        )
        .await;
        assert_problem(&a, 400, "gossip not JSON");
        let a = send(http.post(format!("{url}/add-checkpoint")).body("old x\n\n")).await;
        assert_problem(&a, 400, "add-checkpoint malformed");
    }

    /// A body slower than the server's body timeout is a 408 problem on
    /// both POST routes (served as the binary serves, with provlog-serve).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_slower_than_the_body_timeout_is_408() {
        let (_dir, _log, mon) = crate::testutil::monitor("slow.example/log", "");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let limits = provlog_serve::ConnLimits {
            body_timeout: std::time::Duration::from_millis(300),
            ..provlog_serve::ConnLimits::default()
        };
        tokio::spawn(provlog_serve::serve(
            listener,
            router(Arc::new(mon)),
            limits,
            std::future::pending(),
        ));
        for path in ["/add-checkpoint", "/v1/gossip"] {
            // 100 bytes declared, 10 sent, then nothing: the answer comes
            // when the body timeout ends the read.
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            );
            let (status, content_type, body) = raw_open(&url, head, b"0123456789".to_vec()).await;
            let a = Answer {
                status,
                content_type,
                body,
            };
            let kind = assert_problem(&a, 408, path);
            assert_eq!(kind, "urn:provlog:problem:request-timeout", "{path}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_row_of_the_table_over_http() {
        every_row_over_http(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_row_of_the_table_over_http_with_an_ml_dsa_44_witness_key() {
        every_row_over_http(true).await;
    }
}
