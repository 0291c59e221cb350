//! The HTTP API: C2SP tlog-tiles reads, claim submission, entries, lookup,
//! proofs, health and metrics. Every error is an RFC 9457 problem.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use provlog_core::cbor::{ArrayError, decode_bytes_array};
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::note::VerifierKey;
use provlog_core::receipt::encode_receipt_array;
use provlog_core::signed_claim::{MAX_ENTRY_SIZE, SignedClaim, SignedClaimError};
use provlog_core::tiles::{Tile, TileLevel, TileNodeReader, tile_at_size};
use provlog_core::tree::{consistency_proof, inclusion_proof};
use serde::{Deserialize, Serialize};

use crate::appender::{AppendError, Appended, Appender, QuorumStatus, Submission};
use crate::bundle_gzip::accepts_gzip;
use crate::keys::AcceptedKeys;
use crate::metrics::Metrics;
use crate::node_cache::NodeCache;
use crate::problem::Problem;
use crate::publisher::{Publication, PublishedCheckpoint};
use crate::sequencer::{Claim, SequencerError, logged_at};
use crate::storage::{IndexStorage, LogStorage, StorageTiles, read_entry, tile_prefix};
use crate::storage_health::STORAGE_RETRY_AFTER_SECS;
use crate::tile_cache::TileCache;

/// Media type of a signed claim.
pub const COSE_MEDIA_TYPE: &str = "application/cose";
/// Media type of receipts and batch bodies.
pub const CBOR_MEDIA_TYPE: &str = "application/cbor";
/// Cache header for full tiles and bundles: they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Most entries returned by one lookup.
const MAX_LOOKUP_RESULTS: usize = 1000;
/// The response header saying whether a checkpoint meets the witness quorum.
pub const QUORUM_HEADER: &str = "provlog-witness-quorum";

/// Everything a handler needs.
pub struct AppState {
    /// The log's tiles and checkpoint, for reads.
    pub log: Arc<dyn LogStorage>,
    /// The indexes, for reads.
    pub index: Arc<dyn IndexStorage>,
    /// The committed and published checkpoints.
    pub publication: Arc<Publication>,
    /// Admission and the hand-off to the sequencer.
    pub appender: Arc<Appender>,
    /// Accepted vendor keys, `None` for an open log.
    pub accepted: Option<AcceptedKeys>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Largest batch body.
    pub max_batch_body: usize,
    /// Most claims per batch request.
    pub max_batch_claims: usize,
    /// Full tiles' node trees, so proofs are lookups rather than rehashing.
    pub nodes: Arc<NodeCache>,
    /// The verifiable index (lookup proofs), `None` if the log keeps none.
    pub vindex: Option<Arc<crate::vindex::VIndex>>,
    /// Full tiles and bundles in memory (raw, and bundles' gzip bytes).
    pub tiles: Arc<TileCache>,
}

type Shared = Arc<AppState>;

/// Builds the router. Serve it with [`crate::problem::error_bodies`] as
/// the outermost layer, so that errors axum makes itself (405, extractor
/// rejections) are problem documents too.
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
        .route("/v1/lookup", get(crate::lookup_api::get_lookup))
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
pub(crate) async fn read_body_bounded(
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
    /// The published checkpoint (what `/checkpoint` serves).
    fn current(&self) -> Arc<PublishedCheckpoint> {
        self.publication.current()
    }

    /// The largest tree readers may ask about: the committed one (its tiles
    /// are durable and settled; witnesses are asked to cosign it before it
    /// is published).
    pub(crate) fn readable_size(&self) -> u64 {
        self.publication.committed().checkpoint.size
    }

    pub(crate) fn reject(&self, p: Problem) -> Problem {
        self.metrics.reject(p.slug());
        p
    }
}

pub(crate) fn body_problem(r: BytesRejection, limit: usize) -> Problem {
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

pub(crate) fn check_content_type(headers: &HeaderMap, want: &str) -> Result<(), Problem> {
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
pub(crate) struct Checked {
    pub(crate) entry: Vec<u8>,
    pub(crate) claim: SignedClaim,
    /// Its verifiable-index keys, derived here (off the reactor, in
    /// parallel) when the log keeps the index.
    pub(crate) index_keys: Option<Vec<provlog_core::index::KeyHash>>,
    /// Its binding-index records, derived here too, so the binding index
    /// does not parse the entry again.
    pub(crate) bindings: crate::binding_index::EntryBindings,
}

/// Structure, schema, canonical encoding and accepted-key checks (no signature).
pub(crate) fn check_claim(state: &AppState, bytes: &[u8], which: &str) -> Result<Checked, Problem> {
    check_claim_with(
        state.accepted.as_ref(),
        state.vindex.is_some(),
        bytes,
        which,
    )
}

/// [`check_claim`] for a caller without an [`AppState`] (a frontend):
/// `accepted` is the accepted-keys policy, `index` whether to derive the
/// verifiable-index keys.
pub(crate) fn check_claim_with(
    accepted: Option<&AcceptedKeys>,
    index: bool,
    bytes: &[u8],
    which: &str,
) -> Result<Checked, Problem> {
    let claim = crate::verify::parse(bytes)
        .map_err(|e| Problem::bad_request("invalid-claim", format!("{which}{e}")))?;
    if let Some(accepted) = accepted
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
    let index_keys = index.then(|| crate::vindex::keys_of_claim(&claim));
    let bindings = crate::binding_index::EntryBindings::of_claim(claim.claim());
    Ok(Checked {
        entry: bytes.to_vec(),
        claim,
        index_keys,
        bindings,
    })
}

/// Verifies the signatures (one batch, `crate::verify`); names the first
/// bad claim. Blocking: call it inside `verify::off_reactor`.
pub(crate) fn verify_signatures(
    claims: Vec<Checked>,
    batch: bool,
) -> Result<Vec<Checked>, Problem> {
    let refs: Vec<&SignedClaim> = claims.iter().map(|c| &c.claim).collect();
    if let Some(i) = crate::verify::first_bad_signature(&refs) {
        let which = if batch {
            format!("claim {i}: ")
        } else {
            String::new()
        };
        let e = SignedClaimError::BadSignature;
        return Err(Problem::bad_request("bad-signature", format!("{which}{e}")));
    }
    Ok(claims)
}

/// Hands the verified claims to the appender; maps its typed errors.
pub(crate) async fn submit(state: &AppState, claims: Vec<Checked>) -> Result<Appended, Problem> {
    let submissions = claims
        .into_iter()
        .map(|c| Submission {
            key: c.claim.kid().to_string(),
            claim: Claim {
                leaf: leaf_hash(&c.entry),
                asset: c.claim.claim().asset.sha256,
                entry: c.entry,
                index_keys: c.index_keys,
                bindings: Some(c.bindings),
            },
        })
        .collect();
    state
        .appender
        .append(submissions)
        .await
        .map_err(append_problem)
}

/// The problem response for each way admission or sequencing can fail.
pub(crate) fn append_problem(e: AppendError) -> Problem {
    match e {
        // Waiting can never help: 413 tells clients to split, not to retry.
        AppendError::OverBurst { .. } => Problem::too_large(e.to_string()),
        AppendError::RateLimited { retry_after, .. } => {
            Problem::rate_limited(retry_after, e.to_string())
        }
        AppendError::PoolFull { .. } => Problem::unavailable(1, e.to_string()),
        AppendError::ShuttingDown => Problem::unavailable(5, e.to_string()),
        AppendError::Sequencer(SequencerError::Rejected(_)) => {
            Problem::bad_request("invalid-claim", e.to_string())
        }
        // Nothing of the batch was acknowledged; the log is as it was.
        AppendError::Sequencer(SequencerError::Storage(_)) => {
            Problem::unavailable(STORAGE_RETRY_AFTER_SECS, e.to_string())
        }
        AppendError::Sequencer(_) => Problem::internal(e.to_string()),
    }
}

pub(crate) fn receipt_response(body: Vec<u8>, witnesses: QuorumStatus) -> Response {
    let mut resp = cbor_response(body);
    if let Ok(v) = HeaderValue::from_str(&witnesses.header()) {
        resp.headers_mut().insert(QUORUM_HEADER, v);
    }
    resp
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
        let st = state.clone();
        let claims = crate::verify::off_reactor(move || {
            verify_signatures(vec![check_claim(&st, &body, "")?], false)
        })
        .await?;
        let appended = submit(&state, claims).await?;
        let receipt = appended
            .receipts
            .first()
            .ok_or_else(|| Problem::internal("no receipt"))?;
        Ok(receipt_response(receipt.to_cbor(), appended.witnesses))
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
        let st = state.clone();
        let claims = crate::verify::off_reactor(move || {
            let items = decode_batch(&body, st.max_batch_claims)?;
            let mut checked = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                checked.push(check_claim(&st, item, &format!("claim {i}: "))?);
            }
            verify_signatures(checked, true)
        })
        .await?;
        let appended = submit(&state, claims).await?;
        Ok(receipt_response(
            encode_receipt_array(&appended.receipts),
            appended.witnesses,
        ))
    };
    run.await.map_err(|p| state.reject(p))
}

/// A batch body is a CBOR array of byte strings, each one signed claim.
/// The count is checked against the limit before anything is allocated,
/// and bytes after the array are refused.
pub(crate) fn decode_batch(body: &[u8], max_claims: usize) -> Result<Vec<&[u8]>, Problem> {
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
    let mut resp = (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        cur.note.clone(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&cur.quorum_header()) {
        resp.headers_mut().insert(QUORUM_HEADER, v);
    }
    resp
}

async fn get_tile(
    State(state): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    // The path as sent, not percent-decoded: one canonical form per tile
    // (`/tile/0/%30%30%30` is not `/tile/0/000`).
    let full_path = uri.path().strip_prefix('/').unwrap_or_default();
    let tile = Tile::parse_path(full_path)
        .map_err(|e| Problem::not_found(format!("{full_path} is not a tile path: {e}")))?;
    let size = state.readable_size();
    // The tile must exist at this size, at least as wide as asked.
    let available = tile_at_size(tile.level, tile.index, size).map_or(0, |t| t.width);
    if available == 0 || tile.width > available {
        return Err(Problem::not_found(format!(
            "{full_path} is beyond the tree (size {size})"
        )));
    }
    let full = tile.is_full();
    let bundle = tile.level == TileLevel::Entries;
    // Reads the tile from storage (cut to the asked width).
    let read = {
        let state = state.clone();
        move || -> Result<Vec<u8>, Problem> {
            let raw = state
                .log
                .tile(tile.level, tile.index)
                .map_err(|e| Problem::internal(e.to_string()))?
                .ok_or_else(|| {
                    Problem::internal(format!("{} should exist but is not stored", tile.path()))
                })?;
            tile_prefix(&tile, raw).map_err(Problem::internal)
        }
    };
    let mut encoding = None;
    // Full tiles never change: served from memory after their first read,
    // with no copy (reads of a cached tile are a lookup and a reference
    // count). Reads here are a few microseconds (cached fjall gets);
    // handing the worker to a blocking thread costs far more. Compression
    // is not, so it runs off the reactor, once per bundle while cached.
    let body = if full && bundle && accepts_gzip(&headers) {
        let cache = state.tiles.clone();
        let index = tile.index;
        encoding = Some(HeaderValue::from_static("gzip"));
        tokio::task::spawn_blocking(move || {
            let raw_cache = cache.clone();
            cache.full_bundle_gzip(index, || {
                raw_cache
                    .full(TileLevel::Entries, index, read)
                    .map_err(|p| p.detail)
            })
        })
        .await
        .map_err(|e| Problem::internal(format!("compression task failed: {e}")))?
        .map_err(Problem::internal)?
    } else if full {
        state.tiles.full(tile.level, tile.index, read)?
    } else {
        axum::body::Bytes::from(read()?)
    };
    let mut resp = axum::body::Body::from(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if full {
            IMMUTABLE
        } else {
            "public, max-age=60"
        }),
    );
    if bundle {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(e) = encoding {
        h.insert(header::CONTENT_ENCODING, e);
    }
    Ok(resp)
}

/// Reads the entry at `index` from its bundle.
fn entry_at(log: &dyn LogStorage, index: u64, size: u64) -> Result<Vec<u8>, Problem> {
    if index >= size {
        return Err(Problem::not_found(format!(
            "entry {index} is beyond the tree (size {size})"
        )));
    }
    read_entry(log, index, size).map_err(|e| Problem::internal(e.to_string()))
}

async fn get_entry(State(state): State<Shared>, uri: axum::http::Uri) -> Result<Response, Problem> {
    // The path segment as sent (not percent-decoded), canonical decimal.
    let raw = uri.path().strip_prefix("/v1/entries/").unwrap_or_default();
    let index: u64 = parse_u64(raw, "index")?;
    let size = state.readable_size();
    let entry = entry_at(&*state.log, index, size)?;
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

/// A canonical decimal `u64`: ASCII digits only, no sign, no leading
/// zero (but `0` itself). Every other spelling is refused, so each number
/// has one form.
pub(crate) fn parse_u64(s: &str, name: &str) -> Result<u64, Problem> {
    let canonical = !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    canonical
        .then(|| s.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| {
            Problem::bad_request(
                "bad-parameter",
                format!(
                    "{name} must be a non-negative integer in canonical decimal, got {:?}",
                    s.chars().take(64).collect::<String>()
                ),
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

/// The legacy, unverified lookup answer (JSON; `crate::lookup_api` serves
/// the verifiable bundle and dispatches here).
pub(crate) async fn get_lookup_json(
    state: Shared,
    asset: Option<String>,
) -> Result<Response, Problem> {
    let asset_hex =
        asset.ok_or_else(|| Problem::bad_request("bad-parameter", "missing asset=<sha256 hex>"))?;
    let asset = parse_hash(&asset_hex, "asset")?;
    let cur = state.current();
    let size = cur.checkpoint.size;
    let entries = tokio::task::block_in_place(|| -> Result<Vec<LookupEntry>, Problem> {
        let indexes = state
            .index
            .lookup_asset(&asset, MAX_LOOKUP_RESULTS)
            .map_err(|e| Problem::internal(e.to_string()))?;
        let reader = state.nodes.reader(&*state.log, size);
        let mut out = Vec::new();
        // The index may be ahead of the checkpoint we hold, or hold a stale
        // hint (see IndexStorage): only entries that are there and claim
        // this asset are answers.
        for i in indexes.into_iter().filter(|&i| i < size) {
            let entry = entry_at(&*state.log, i, size)?;
            let claims_asset =
                SignedClaim::from_bytes(&entry).is_ok_and(|c| c.claim().asset.sha256 == asset);
            if !claims_asset {
                continue;
            }
            let proof =
                inclusion_proof(&reader, i, size).map_err(|e| Problem::internal(e.to_string()))?;
            out.push(LookupEntry {
                index: i,
                entry: B64.encode(entry),
                proof: proof.iter().map(|h| B64.encode(h)).collect(),
            });
        }
        Ok(out)
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

/// An inclusion or consistency proof as its JSON answer,
/// `{"<a>":A,"<b>":B,"proof":["<base64>",...]}`, written straight into one
/// buffer of the final size (no intermediate strings or JSON values: this
/// is the hot read path).
fn proof_response(a: (&str, u64), b: (&str, u64), proof: &[Hash]) -> Response {
    use std::fmt::Write as _;
    // 44 base64 characters + quotes and comma per hash, two numbers, keys.
    let mut out = String::with_capacity(64 + proof.len() * 47);
    let _ = write!(out, "{{\"{}\":{},\"{}\":{},\"proof\":[", a.0, a.1, b.0, b.1);
    for (i, h) in proof.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        B64.encode_string(h, &mut out);
        out.push('"');
    }
    out.push_str("]}");
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        out,
    )
        .into_response()
}

async fn get_inclusion(
    State(state): State<Shared>,
    Query(q): Query<InclusionQuery>,
) -> Result<Response, Problem> {
    let current = state.readable_size();
    let size = match &q.size {
        Some(s) => parse_u64(s, "size")?,
        None => state.current().checkpoint.size,
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
            let tiles = TileNodeReader::new(StorageTiles(&*state.log), current);
            logged_at(&*state.index, &tiles, &leaf, current)
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
    let proof = inclusion_proof(&state.nodes.reader(&*state.log, size), index, size)
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(proof_response(("index", index), ("size", size), &proof))
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
    let current = state.readable_size();
    let old = parse_u64(
        q.old
            .as_deref()
            .ok_or_else(|| Problem::bad_request("bad-parameter", "missing old=<size>"))?,
        "old",
    )?;
    let new = match &q.new {
        Some(s) => parse_u64(s, "new")?,
        None => state.current().checkpoint.size,
    };
    if old > new || new > current {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("need old <= new <= current tree size ({current}); got old={old} new={new}"),
        ));
    }
    let proof = consistency_proof(&state.nodes.reader(&*state.log, new), old, new)
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(proof_response(("old", old), ("new", new), &proof))
}

/// `/healthz`: 200 with `ok` or `degraded` (witness quorum not met), 503
/// with `failing` while storage writes fail (see [`crate::storage_health::StorageHealth`]).
async fn healthz(State(state): State<Shared>) -> Response {
    let cur = state.current();
    let mut reasons = state.publication.degraded();
    let storage = state.metrics.storage.fault();
    if let Some(f) = &storage {
        reasons.insert(0, format!("storage: {}", f.error));
    }
    let status = match (&storage, reasons.is_empty()) {
        (Some(_), _) => "failing",
        (None, true) => "ok",
        (None, false) => "degraded",
    };
    let code = if storage.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = axum::Json(serde_json::json!({
        "status": status,
        "reasons": reasons,
        "storage_fault": storage,
        "origin": cur.checkpoint.origin,
        "tree_size": cur.checkpoint.size,
        "committed_size": state.readable_size(),
        "checkpoint_timestamp_ms": (cur.log_time_ms > 0).then_some(cur.log_time_ms),
        "pool_pending": state.appender.pending(),
        "witness_quorum": {
            "quorum": cur.quorum,
            "cosignatures": cur.cosignatures,
            "met": cur.quorum_met(),
        },
        "witnesses": state.publication.witnesses(),
    }));
    (code, body).into_response()
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
