//! The monitor's HTTP API: the tlog-witness endpoints, gossip, evidence,
//! health and metrics (spec/monitor.md, spec/witness.md).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use provlog_core::checkpoint::{Checkpoint, verify_checkpoint};
use provlog_core::evidence::Evidence;
use provlog_core::hash::sha256;
use provlog_core::note::{Note, NoteError};
use provlog_core::proof::verify_consistency;
use provlog_core::witness::{
    AddCheckpointRequest, COSIGNATURE_CONTENT_TYPE, MAX_REQUEST_SIZE, SIZE_CONTENT_TYPE,
    cosignature_response, size_body,
};
use serde_json::json;

use crate::metrics::CodeLabel;
use crate::monitor::{Gossip, Monitor};

/// Largest gossip body accepted.
pub const MAX_GOSSIP_BODY: usize = 8 << 20;

/// Builds the router.
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

/// `POST /add-checkpoint` (C2SP tlog-witness).
async fn add_checkpoint(State(mon): State<Arc<Monitor>>, body: Bytes) -> Response {
    let m = mon.clone();
    let (resp, seen) = match tokio::task::spawn_blocking(move || witness(&m, &body)).await {
        Ok(r) => r,
        Err(e) => (
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("witness task failed: {e}"),
            ),
            None,
        ),
    };
    mon.metrics
        .witness_requests
        .get_or_create(&CodeLabel {
            code: resp.status().as_u16(),
        })
        .inc();
    // Every validly signed checkpoint is also compared with the audited tree.
    // In the background: an audit in progress holds the tree lock, and the
    // log is waiting for this answer.
    if let Some((origin, note, cp)) = seen
        && let Some(log) = mon.logs.get(&origin).cloned()
    {
        let m = mon.clone();
        tokio::spawn(async move { m.check(&log, &note, &cp).await });
    }
    resp
}

type Seen = Option<(String, Vec<u8>, Checkpoint)>;

/// The witness decision; runs on a blocking thread because it fsyncs.
fn witness(mon: &Monitor, body: &[u8]) -> (Response, Seen) {
    let req = match AddCheckpointRequest::parse(body) {
        Ok(r) => r,
        Err(e) => return (text(StatusCode::BAD_REQUEST, e.to_string()), None),
    };
    let Ok(note) = Note::parse(&req.checkpoint) else {
        return (
            text(StatusCode::BAD_REQUEST, "malformed checkpoint note"),
            None,
        );
    };
    let origin = note.text.split('\n').next().unwrap_or_default().to_owned();
    let Some(log) = mon.logs.get(&origin) else {
        return (
            text(StatusCode::NOT_FOUND, format!("unknown log {origin:?}")),
            None,
        );
    };
    let verified = match verify_checkpoint(&req.checkpoint, &log.cfg.key) {
        Ok(v) => v,
        Err(provlog_core::checkpoint::CheckpointError::Note(
            NoteError::NoKnownSignature | NoteError::InvalidSignature { .. },
        )) => {
            return (
                text(StatusCode::FORBIDDEN, "no valid signature by the log's key"),
                None,
            );
        }
        Err(e) => return (text(StatusCode::BAD_REQUEST, e.to_string()), None),
    };
    let cp = verified.checkpoint;
    let seen = Some((origin.clone(), req.checkpoint.clone(), cp.clone()));
    if req.old_size > cp.size {
        return (
            text(
                StatusCode::BAD_REQUEST,
                "old size is larger than the checkpoint size",
            ),
            seen,
        );
    }
    // The check and the write below happen under one lock: atomic.
    let _guard = mon.witness_lock.lock().unwrap_or_else(|e| e.into_inner());
    let latest = match mon.store.witnessed(&origin) {
        Ok(Some(n)) => match verify_checkpoint(&n, &log.cfg.key) {
            Ok(v) => Some(v.checkpoint),
            Err(e) => {
                return (
                    text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("stored state: {e}"),
                    ),
                    seen,
                );
            }
        },
        Ok(None) => None,
        Err(e) => return (text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()), seen),
    };
    let (latest_size, latest_root) = latest
        .as_ref()
        .map(|c| (c.size, c.root))
        .unwrap_or((0, provlog_core::hash::EMPTY_ROOT));
    if req.old_size != latest_size {
        let resp = (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            size_body(latest_size),
        )
            .into_response();
        return (resp, seen);
    }
    if req.old_size == cp.size {
        if cp.root != latest_root {
            return (
                text(
                    StatusCode::CONFLICT,
                    "same size as the latest cosigned checkpoint, different root",
                ),
                seen,
            );
        }
    } else if let Err(e) =
        verify_consistency(req.old_size, cp.size, &latest_root, &cp.root, &req.proof)
    {
        return (
            text(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("consistency proof: {e}"),
            ),
            seen,
        );
    }
    let ts = crate::now_ms() / 1000;
    let sig = match Note::sign(&note.text, &mon.witness, ts) {
        Ok(s) => s,
        Err(e) => return (text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()), seen),
    };
    let mut stored = note.clone();
    stored
        .signatures
        .retain(|s| s.name != mon.witness.name() || s.key_id != mon.witness.key_id());
    stored.signatures.push(sig.clone());
    if let Err(e) = mon.store.set_witnessed(&origin, &stored.to_bytes()) {
        return (text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()), seen);
    }
    tracing::debug!(origin, size = cp.size, "cosigned");
    let resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, COSIGNATURE_CONTENT_TYPE)],
        cosignature_response(&[sig]),
    )
        .into_response();
    (resp, seen)
}

/// `GET /<hex sha256(origin)>/checkpoint`: the latest cosigned checkpoint.
async fn witnessed_checkpoint(
    State(mon): State<Arc<Monitor>>,
    Path(log): Path<String>,
) -> Response {
    let Some(ctx) = mon
        .logs
        .values()
        .find(|l| hex::encode(sha256(l.origin().as_bytes())) == log)
    else {
        return text(StatusCode::NOT_FOUND, "unknown log");
    };
    match mon.store.witnessed(ctx.origin()) {
        Ok(Some(note)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            note,
        )
            .into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "nothing cosigned yet"),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn get_gossip(State(mon): State<Arc<Monitor>>) -> Response {
    axum::Json(mon.gossip_view().await).into_response()
}

/// `POST /v1/gossip`: takes a peer's view, answers with ours (after
/// processing theirs, so evidence found from it is in the answer).
async fn post_gossip(State(mon): State<Arc<Monitor>>, body: Bytes) -> Response {
    let msg: Gossip = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("bad gossip: {e}")),
    };
    mon.ingest(&msg).await;
    axum::Json(mon.gossip_view().await).into_response()
}

async fn list_evidence(State(mon): State<Arc<Monitor>>) -> Response {
    match mon.store.all_evidence(crate::monitor::MAX_EVIDENCE_LIST) {
        Ok(all) => {
            let list: Vec<Evidence> = all
                .into_iter()
                .filter_map(|(_, j)| Evidence::from_json(&j).ok())
                .collect();
            axum::Json(json!({ "evidence": list })).into_response()
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn one_evidence(State(mon): State<Arc<Monitor>>, Path(id): Path<String>) -> Response {
    match mon.store.evidence(&id) {
        Ok(Some(j)) => ([(header::CONTENT_TYPE, "application/json")], j).into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such evidence"),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn healthz(State(mon): State<Arc<Monitor>>) -> Response {
    let mut logs = serde_json::Map::new();
    for (origin, l) in &mon.logs {
        let s = l.status.lock().map(|s| s.clone()).ok();
        logs.insert(origin.clone(), json!(s));
    }
    let evidence = mon
        .store
        .all_evidence(usize::MAX)
        .map(|v| v.len())
        .unwrap_or(0);
    axum::Json(json!({
        "witness": mon.witness.verifier_key().to_vkey(),
        "logs": logs,
        "evidence": evidence,
    }))
    .into_response()
}

async fn metrics(State(mon): State<Arc<Monitor>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        mon.metrics.render(),
    )
        .into_response()
}
