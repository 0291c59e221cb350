//! The HTTP API: C2SP tlog-tiles reads, claim submission, entries, lookup,
//! proofs, health and metrics. Every error is an RFC 9457 problem.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use provlog_core::cbor::{ArrayError, decode_bytes_array, encode_bytes_array};
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::note::VerifierKey;
use provlog_core::receipt::Receipt;
use provlog_core::signed_claim::{MAX_ENTRY_SIZE, SignedClaim};
use provlog_core::tiles::{Tile, TileLevel};
use provlog_core::tree::{consistency_proof, inclusion_proof};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::keys::AcceptedKeys;
use crate::metrics::Metrics;
use crate::node_cache::NodeCache;
use crate::problem::Problem;
use crate::ratelimit::RateLimiter;
use crate::sequencer::{Pending, Published, SharedCheckpoint};
use crate::store::{Store, tile_prefix};

/// Media type of a signed claim.
pub const COSE_MEDIA_TYPE: &str = "application/cose";
/// Media type of receipts and batch bodies.
pub const CBOR_MEDIA_TYPE: &str = "application/cbor";
/// Cache header for full tiles and bundles: they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Most entries returned by one lookup.
const MAX_LOOKUP_RESULTS: usize = 1000;

/// Everything a handler needs.
pub struct AppState {
    /// Storage, for reads.
    pub store: Store,
    /// Latest published checkpoint.
    pub published: SharedCheckpoint,
    /// Channel into the sequencer. `None` once shutting down.
    pub pool: std::sync::Mutex<Option<mpsc::Sender<Pending>>>,
    /// Claims admitted but not yet sequenced (the sequencer decrements it).
    pub pending: Arc<AtomicUsize>,
    /// Pool capacity.
    pub pool_size: usize,
    /// Accepted vendor keys, `None` for an open log.
    pub accepted: Option<AcceptedKeys>,
    /// Per-key rate limits.
    pub limiter: RateLimiter,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Largest batch body.
    pub max_batch_body: usize,
    /// Most claims per batch request.
    pub max_batch_claims: usize,
    /// Full tiles' node trees, so proofs are lookups rather than rehashing.
    pub nodes: NodeCache,
}

type Shared = Arc<AppState>;

/// Builds the router.
pub fn router(state: Shared) -> Router {
    let single_limit = MAX_ENTRY_SIZE;
    let batch_limit = state.max_batch_body;
    Router::new()
        .route("/checkpoint", get(get_checkpoint))
        .route("/tile/{*path}", get(get_tile))
        .route(
            "/v1/claims",
            post(post_claim)
                .layer(DefaultBodyLimit::max(single_limit))
                .layer(axum::middleware::from_fn(move |r, n| {
                    read_body_bounded(r, n, single_limit)
                })),
        )
        .route(
            "/v1/claims/batch",
            post(post_batch)
                .layer(DefaultBodyLimit::max(batch_limit))
                .layer(axum::middleware::from_fn(move |r, n| {
                    read_body_bounded(r, n, batch_limit)
                })),
        )
        .route("/v1/entries/{index}", get(get_entry))
        .route("/v1/lookup", get(get_lookup))
        .route("/v1/proof/inclusion", get(get_inclusion))
        .route("/v1/proof/consistency", get(get_consistency))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { Problem::not_found("no such endpoint") })
        .with_state(state)
}

/// Longest a submission's body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Refuses a declared `Content-Length` over `limit` at once (413, without
/// waiting for a body that may never come), and reads the body within
/// [`BODY_TIMEOUT`] (else 408), so a slow or stalled sender cannot hold a
/// request open indefinitely. The body is at most `limit` bytes in memory.
async fn read_body_bounded(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    limit: usize,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Problem::too_large(format!(
            "the body is larger than the limit of {limit} bytes"
        ))
        .into_response();
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Ok(Err(e)) => {
            // http-body-util's LengthLimitError, somewhere in the chain.
            let mut too_large = false;
            let mut cause: Option<&dyn std::error::Error> = Some(&e);
            while let Some(c) = cause {
                too_large |= c.to_string().contains("length limit exceeded");
                cause = c.source();
            }
            if too_large {
                Problem::too_large(format!(
                    "the body is larger than the limit of {limit} bytes"
                ))
                .into_response()
            } else {
                Problem::bad_request(
                    "unreadable-body",
                    format!("cannot read the request body: {e}"),
                )
                .into_response()
            }
        }
        Err(_) => Problem::request_timeout(format!(
            "the body did not arrive within {} s",
            BODY_TIMEOUT.as_secs()
        ))
        .into_response(),
    }
}

impl AppState {
    fn current(&self) -> Arc<Published> {
        self.published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn reject(&self, p: Problem) -> Problem {
        self.metrics.reject(p.slug());
        p
    }
}

fn body_problem(r: BytesRejection, limit: usize) -> Problem {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::too_large(format!(
            "the body is larger than the limit of {limit} bytes"
        ))
    } else {
        Problem::bad_request(
            "unreadable-body",
            format!("cannot read the request body: {r}"),
        )
    }
}

fn check_content_type(headers: &HeaderMap, want: &str) -> Result<(), Problem> {
    let got = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = got.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(Problem::unsupported_media_type(format!(
            "Content-Type must be {want}, got {got:?}"
        )))
    }
}

/// A claim that passed the stateless checks.
struct Checked {
    entry: Vec<u8>,
    claim: SignedClaim,
}

/// Structure, schema, canonical encoding and accepted-key checks (no signature).
fn check_claim(state: &AppState, bytes: &[u8], which: &str) -> Result<Checked, Problem> {
    let claim = SignedClaim::from_bytes(bytes)
        .map_err(|e| Problem::bad_request("invalid-claim", format!("{which}{e}")))?;
    if let Some(accepted) = &state.accepted
        && !accepted.contains(claim.kid())
    {
        return Err(Problem::forbidden(format!(
            "{which}vendor key {} (key ID {}) is not on this log's accepted-keys list; ask the log operator to add its vkey",
            claim.kid(),
            VerifierKey::parse(claim.kid())
                .map(|k| format!("{:08x}", k.key_id()))
                .unwrap_or_else(|_| "unknown".into())
        )));
    }
    Ok(Checked {
        entry: bytes.to_vec(),
        claim,
    })
}

/// Verifies signatures off the async reactor; names the first bad claim.
async fn verify_signatures(claims: Vec<Checked>, batch: bool) -> Result<Vec<Checked>, Problem> {
    tokio::task::spawn_blocking(move || {
        for (i, c) in claims.iter().enumerate() {
            if let Err(e) = c.claim.verify_signature() {
                let which = if batch {
                    format!("claim {i}: ")
                } else {
                    String::new()
                };
                return Err(Problem::bad_request("bad-signature", format!("{which}{e}")));
            }
        }
        Ok(claims)
    })
    .await
    .map_err(|e| Problem::internal(format!("verification task failed: {e}")))?
}

/// Rate limits, reserves pool room, queues, and waits for the receipts.
async fn submit(state: &AppState, claims: Vec<Checked>) -> Result<Vec<Receipt>, Problem> {
    // Rate limit per key, all-or-nothing per request.
    let mut per_key: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for c in &claims {
        *per_key.entry(c.claim.kid()).or_default() += 1;
    }
    for (key, n) in per_key {
        if let Err(wait) = state.limiter.take(key, n) {
            return Err(if wait == u64::MAX {
                // Waiting can never help: the request is larger than the
                // bucket. 413 tells clients to split, not to retry.
                Problem::too_large(format!(
                    "a request of {n} claims exceeds the per-key burst of {}; split it",
                    state.limiter.burst()
                ))
            } else {
                Problem::rate_limited(
                    wait,
                    format!("vendor key {key} is over its rate limit; retry after {wait} s"),
                )
            });
        }
    }
    let n = claims.len();
    // Reserve room in the pool, or refuse without queueing anything.
    let reserved = state
        .pending
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
            (p + n <= state.pool_size).then_some(p + n)
        });
    if reserved.is_err() {
        return Err(Problem::unavailable(
            1,
            format!(
                "the log's pool of {} pending claims is full; retry shortly",
                state.pool_size
            ),
        ));
    }
    let sender = state.pool.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(sender) = sender else {
        state.pending.fetch_sub(n, Ordering::AcqRel);
        return Err(Problem::unavailable(5, "the log is shutting down"));
    };
    state.metrics.pool_pending.inc_by(n as i64);
    let admitted = Instant::now();
    let mut waiting = Vec::with_capacity(n);
    for (sent, c) in claims.into_iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        let asset = c.claim.claim().asset.sha256;
        let pending = Pending {
            leaf: leaf_hash(&c.entry),
            entry: c.entry,
            asset,
            admitted,
            reply: tx,
        };
        if sender.send(pending).is_err() {
            // The sequencer is gone; release the room nobody will use.
            state.pending.fetch_sub(n - sent, Ordering::AcqRel);
            return Err(Problem::unavailable(5, "the log is shutting down"));
        }
        waiting.push(rx);
    }
    let mut receipts = Vec::with_capacity(n);
    for rx in waiting {
        match rx.await {
            Ok(Ok(r)) => receipts.push(r),
            Ok(Err(e)) => return Err(Problem::internal(e.to_string())),
            Err(_) => return Err(Problem::internal("the sequencer stopped before answering")),
        }
    }
    Ok(receipts)
}

fn cbor_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, CBOR_MEDIA_TYPE)], body).into_response()
}

async fn post_claim(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let run = async {
        check_content_type(&headers, COSE_MEDIA_TYPE)?;
        let body = body.map_err(|r| body_problem(r, MAX_ENTRY_SIZE))?;
        let checked = check_claim(&state, &body, "")?;
        let claims = verify_signatures(vec![checked], false).await?;
        let receipts = submit(&state, claims).await?;
        let receipt = receipts
            .into_iter()
            .next()
            .ok_or_else(|| Problem::internal("no receipt"))?;
        Ok(cbor_response(receipt.to_cbor()))
    };
    run.await.map_err(|p| state.reject(p))
}

async fn post_batch(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let run = async {
        check_content_type(&headers, CBOR_MEDIA_TYPE)?;
        let body = body.map_err(|r| body_problem(r, state.max_batch_body))?;
        let items = decode_batch(&body, state.max_batch_claims)?;
        let mut checked = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            checked.push(check_claim(&state, item, &format!("claim {i}: "))?);
        }
        let claims = verify_signatures(checked, true).await?;
        let receipts = submit(&state, claims).await?;
        let encoded: Vec<Vec<u8>> = receipts.iter().map(Receipt::to_cbor).collect();
        Ok(cbor_response(encode_bytes_array(&encoded)))
    };
    run.await.map_err(|p| state.reject(p))
}

/// A batch body is a CBOR array of byte strings, each one signed claim.
/// The count is checked against the limit before anything is allocated,
/// and bytes after the array are refused.
fn decode_batch(body: &[u8], max_claims: usize) -> Result<Vec<&[u8]>, Problem> {
    decode_bytes_array(body, max_claims).map_err(|e| match e {
        ArrayError::TooMany { count, max } => Problem::too_large(format!(
            "the batch has {count} claims; the limit is {max} per request"
        )),
        ArrayError::Empty => Problem::bad_request("invalid-batch", "the batch is empty"),
        ArrayError::NotArray => Problem::bad_request(
            "invalid-batch",
            "body must be a CBOR array of byte strings, one signed claim each",
        ),
        e => Problem::bad_request("invalid-batch", format!("body is not a valid batch: {e}")),
    })
}

async fn get_checkpoint(State(state): State<Shared>) -> Response {
    let cur = state.current();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        cur.note.clone(),
    )
        .into_response()
}

async fn get_tile(
    State(state): State<Shared>,
    Path(path): Path<String>,
) -> Result<Response, Problem> {
    let full_path = format!("tile/{path}");
    let tile = Tile::parse_path(&full_path)
        .map_err(|e| Problem::not_found(format!("{full_path} is not a tile path: {e}")))?;
    let size = state.current().checkpoint.size;
    // How many items does this tile hold at the current size?
    let items_at_level = match tile.level {
        TileLevel::Entries => size,
        TileLevel::Hash(l) => {
            let shift = u32::from(l) * 8;
            if shift >= 64 { 0 } else { size >> shift }
        }
    };
    let available = items_at_level
        .saturating_sub(tile.index.saturating_mul(256))
        .min(256);
    if available == 0 || u64::from(tile.width) > available {
        return Err(Problem::not_found(format!(
            "{full_path} is beyond the tree (size {size})"
        )));
    }
    // Reads here are a few microseconds (cached fjall gets, cached tile
    // trees); handing the worker to a blocking thread costs far more.
    let raw = state
        .store
        .raw_tile(tile.level, tile.index)
        .map_err(|e| Problem::internal(e.to_string()))?
        .ok_or_else(|| Problem::internal(format!("{full_path} should exist but is not stored")))?;
    let bytes = tile_prefix(&tile, &raw).map_err(Problem::internal)?;
    let cache = if tile.width == 256 {
        IMMUTABLE
    } else {
        "public, max-age=60"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response())
}

/// Reads the entry at `index` from its bundle.
fn read_entry(store: &Store, index: u64, size: u64) -> Result<Vec<u8>, Problem> {
    if index >= size {
        return Err(Problem::not_found(format!(
            "entry {index} is beyond the tree (size {size})"
        )));
    }
    let bundle = index / 256;
    let raw = store
        .raw_tile(TileLevel::Entries, bundle)
        .map_err(|e| Problem::internal(e.to_string()))?
        .ok_or_else(|| Problem::internal(format!("entry bundle {bundle} is not stored")))?;
    let entries = provlog_core::tiles::decode_bundle(&raw)
        .map_err(|e| Problem::internal(format!("entry bundle {bundle} is corrupt: {e}")))?;
    entries
        .get((index % 256) as usize)
        .map(|e| e.to_vec())
        .ok_or_else(|| Problem::internal(format!("entry {index} missing from its bundle")))
}

async fn get_entry(
    State(state): State<Shared>,
    Path(index): Path<String>,
) -> Result<Response, Problem> {
    let index: u64 = parse_u64(&index, "index")?;
    let size = state.current().checkpoint.size;
    let entry = read_entry(&state.store, index, size)?;
    let leaf = hex::encode(leaf_hash(&entry));
    Ok((
        [
            (header::CONTENT_TYPE, COSE_MEDIA_TYPE.to_string()),
            (header::CACHE_CONTROL, IMMUTABLE.to_string()),
            (header::HeaderName::from_static("provlog-leaf-hash"), leaf),
        ],
        entry,
    )
        .into_response())
}

fn parse_u64(s: &str, name: &str) -> Result<u64, Problem> {
    s.parse::<u64>().map_err(|_| {
        Problem::bad_request(
            "bad-parameter",
            format!("{name} must be a non-negative integer, got {s:?}"),
        )
    })
}

fn parse_hash(s: &str, name: &str) -> Result<Hash, Problem> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(s, &mut h).map_err(|_| {
        Problem::bad_request(
            "bad-parameter",
            format!("{name} must be 64 hex digits (a SHA-256), got {s:?}"),
        )
    })?;
    Ok(h)
}

#[derive(Deserialize)]
struct LookupQuery {
    asset: Option<String>,
}

/// One logged claim for an asset, with its inclusion proof.
#[derive(Serialize)]
struct LookupEntry {
    index: u64,
    /// Base64 signed claim.
    entry: String,
    /// Base64 proof hashes against the response's checkpoint.
    proof: Vec<String>,
}

#[derive(Serialize)]
struct LookupResponse {
    asset: String,
    /// The signed checkpoint every proof is against.
    checkpoint: String,
    entries: Vec<LookupEntry>,
}

async fn get_lookup(
    State(state): State<Shared>,
    Query(q): Query<LookupQuery>,
) -> Result<Response, Problem> {
    let asset_hex = q
        .asset
        .ok_or_else(|| Problem::bad_request("bad-parameter", "missing asset=<sha256 hex>"))?;
    let asset = parse_hash(&asset_hex, "asset")?;
    let cur = state.current();
    let size = cur.checkpoint.size;
    let entries = tokio::task::block_in_place(|| -> Result<Vec<LookupEntry>, Problem> {
        let indexes = state
            .store
            .lookup_asset(&asset, MAX_LOOKUP_RESULTS)
            .map_err(|e| Problem::internal(e.to_string()))?;
        let reader = state.nodes.reader(&state.store, size);
        indexes
            .into_iter()
            // The index may be ahead of the checkpoint we hold; skip those.
            .filter(|&i| i < size)
            .map(|i| {
                let entry = read_entry(&state.store, i, size)?;
                let proof = inclusion_proof(&reader, i, size)
                    .map_err(|e| Problem::internal(e.to_string()))?;
                Ok(LookupEntry {
                    index: i,
                    entry: B64.encode(entry),
                    proof: proof.iter().map(|h| B64.encode(h)).collect(),
                })
            })
            .collect()
    })?;
    Ok(axum::Json(LookupResponse {
        asset: hex::encode(asset),
        checkpoint: String::from_utf8_lossy(&cur.note).into_owned(),
        entries,
    })
    .into_response())
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: Option<String>,
    hash: Option<String>,
    size: Option<String>,
}

/// An inclusion or consistency proof.
#[derive(Serialize)]
struct ProofResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<u64>,
    proof: Vec<String>,
}

async fn get_inclusion(
    State(state): State<Shared>,
    Query(q): Query<InclusionQuery>,
) -> Result<Response, Problem> {
    let current = state.current().checkpoint.size;
    let size = match &q.size {
        Some(s) => parse_u64(s, "size")?,
        None => current,
    };
    if size > current {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("size {size} is larger than the current tree ({current})"),
        ));
    }
    let index = match (&q.index, &q.hash) {
        (Some(i), None) => parse_u64(i, "index")?,
        (None, Some(h)) => {
            let leaf = parse_hash(h, "hash")?;
            state
                .store
                .index_of_leaf(&leaf)
                .map_err(|e| Problem::internal(e.to_string()))?
                .ok_or_else(|| Problem::not_found(format!("no entry with leaf hash {h}")))?
        }
        _ => {
            return Err(Problem::bad_request(
                "bad-parameter",
                "give exactly one of index=<i> or hash=<leaf hash hex>",
            ));
        }
    };
    if index >= size {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("index {index} is not in a tree of size {size}"),
        ));
    }
    let proof = inclusion_proof(&state.nodes.reader(&state.store, size), index, size)
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(axum::Json(ProofResponse {
        index: Some(index),
        size: Some(size),
        old: None,
        new: None,
        proof: proof.iter().map(|h| B64.encode(h)).collect(),
    })
    .into_response())
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: Option<String>,
    new: Option<String>,
}

async fn get_consistency(
    State(state): State<Shared>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Response, Problem> {
    let current = state.current().checkpoint.size;
    let old = parse_u64(
        q.old
            .as_deref()
            .ok_or_else(|| Problem::bad_request("bad-parameter", "missing old=<size>"))?,
        "old",
    )?;
    let new = match &q.new {
        Some(s) => parse_u64(s, "new")?,
        None => current,
    };
    if old > new || new > current {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("need old <= new <= current tree size ({current}); got old={old} new={new}"),
        ));
    }
    let proof = consistency_proof(&state.nodes.reader(&state.store, new), old, new)
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(axum::Json(ProofResponse {
        index: None,
        size: None,
        old: Some(old),
        new: Some(new),
        proof: proof.iter().map(|h| B64.encode(h)).collect(),
    })
    .into_response())
}

async fn healthz(State(state): State<Shared>) -> Response {
    let cur = state.current();
    axum::Json(serde_json::json!({
        "status": "ok",
        "origin": cur.checkpoint.origin,
        "tree_size": cur.checkpoint.size,
        "checkpoint_timestamp_ms": cur.checkpoint.timestamp_ms(),
        "pool_pending": state.pending.load(Ordering::Relaxed),
    }))
    .into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
