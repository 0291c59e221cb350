//! The C2PA **Soft Binding Resolution API** (C2PA Soft Binding API 1.1:
//! `GET /matches/byBinding`, `POST /matches/byBinding`,
//! `POST /matches/byContent`, `GET /services/supportedAlgorithms`) and the
//! hard-binding lookup (`GET /v1/lookup/hard-binding`), over the
//! [`BindingIndex`]. spec/http-api.md is the normative description.
//!
//! Every match carries the log entry (`entryIndex`, `entry`) and its
//! inclusion `proof` against the `checkpoint` of the response, so a client
//! verifies each one instead of trusting the resolver.
//!
//! `byContent` reads at most [`MAX_IMAGE_BYTES`] of body (a larger declared
//! `Content-Length` is refused before reading; the body is cut off while it
//! streams), then decodes and hashes the image on a blocking thread with the
//! bounded decoder of `provlog-media` (dimensions checked before pixels are
//! allocated).

use std::sync::Arc;
use std::time::Duration;

use crate::storage::read_entry;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use provlog_core::claim::{HardBinding, HardBindingKind, HashAlg};
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tree::inclusion_proof;
use provlog_media::{MAX_IMAGE_BYTES, MediaError, PHASH_ALG};
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::binding_index::{BindingIndex, IndexError};
use crate::problem::Problem;

/// Default number of matches (`maxResults`), as in the C2PA API.
pub const DEFAULT_MAX_RESULTS: usize = 10;
/// Most matches returned by one query.
pub const MAX_RESULTS: usize = 100;
/// Default Hamming-distance threshold of `byContent` (64-bit hashes); the
/// measurements behind it are in BENCHMARKS.md.
pub const DEFAULT_MAX_DISTANCE: u32 = 8;
/// Longest a `byContent` upload may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// The binding index, once its thread has opened it (opening a large fjall
/// database can take a second; the log does not wait for it).
pub type IndexSlot = Arc<std::sync::OnceLock<BindingIndex>>;

/// Shared state of these routes.
#[derive(Clone)]
pub struct SbrState {
    /// The log's state (storage, checkpoint, node cache).
    pub app: Arc<AppState>,
    /// The binding indexes.
    pub index: IndexSlot,
}

impl SbrState {
    fn index(&self) -> Result<&BindingIndex, Problem> {
        self.index.get().ok_or_else(|| {
            Problem::unavailable(
                1,
                "the binding index is being opened after a restart; retry shortly",
            )
        })
    }
}

/// The routes, to merge into the log's router.
pub fn router(app: Arc<AppState>, index: IndexSlot) -> Router {
    Router::new()
        .route("/services/supportedAlgorithms", get(supported_algorithms))
        .route(
            "/matches/byBinding",
            get(by_binding_get).post(by_binding_post),
        )
        .route(
            "/matches/byContent",
            axum::routing::post(by_content)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_IMAGE_BYTES)),
        )
        .route("/v1/lookup/hard-binding", get(lookup_hard))
        .with_state(SbrState { app, index })
}

fn index_problem(e: IndexError) -> Problem {
    match e {
        IndexError::Loading => Problem::unavailable(
            1,
            "the near-match index is being rebuilt after a restart; retry shortly",
        ),
        IndexError::Behind { behind } => Problem::unavailable(
            1,
            format!("the binding index is {behind} entries behind the log and catching up"),
        ),
        e => Problem::internal(e.to_string()),
    }
}

#[derive(Serialize)]
struct AlgList {
    watermarks: Vec<Alg>,
    fingerprints: Vec<Alg>,
}

#[derive(Serialize)]
struct Alg {
    alg: &'static str,
}

async fn supported_algorithms() -> Response {
    axum::Json(AlgList {
        watermarks: vec![],
        fingerprints: vec![Alg { alg: PHASH_ALG }],
    })
    .into_response()
}

/// One match (C2PA `softBindingQueryResult.matches[]` plus provlog's fields).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Match {
    /// The claim's C2PA manifest label, else `urn:provlog:entry:<index>`.
    manifest_id: String,
    /// 0-100, 100 for an exact match.
    similarity_score: u32,
    /// Hamming distance (byContent only).
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<u32>,
    /// Log entry index.
    entry_index: u64,
    /// Base64 signed claim.
    entry: String,
    /// Base64 inclusion proof against the response's checkpoint.
    proof: Vec<String>,
}

#[derive(Serialize)]
struct Matches {
    matches: Vec<Match>,
    /// The signed checkpoint every proof is against.
    checkpoint: String,
}

/// Builds the response for candidate entries (nearest first), with proofs.
fn respond(
    st: &SbrState,
    size: u64,
    note: &[u8],
    candidates: Vec<(u64, Option<u32>)>,
) -> Result<Response, Problem> {
    let reader = st.app.nodes.reader(&*st.app.log, size);
    let mut matches = Vec::with_capacity(candidates.len());
    for (index, distance) in candidates {
        if index >= size {
            continue;
        }
        let entry =
            read_entry(&*st.app.log, index, size).map_err(|e| Problem::internal(e.to_string()))?;
        let entry = entry.as_slice();
        let proof =
            inclusion_proof(&reader, index, size).map_err(|e| Problem::internal(e.to_string()))?;
        let manifest_id = SignedClaim::from_bytes_cached(entry, &crate::verify::KEYS)
            .ok()
            .and_then(|s| s.claim().c2pa.as_ref().map(|c| c.manifest_label.clone()))
            .unwrap_or_else(|| format!("urn:provlog:entry:{index}"));
        matches.push(Match {
            manifest_id,
            similarity_score: distance.map_or(100, |d| (100 * (40 - d.min(40))) / 40),
            distance,
            entry_index: index,
            entry: B64.encode(entry),
            proof: proof.iter().map(|h| B64.encode(h)).collect(),
        });
    }
    Ok(axum::Json(Matches {
        matches,
        checkpoint: String::from_utf8_lossy(note).into_owned(),
    })
    .into_response())
}

fn max_results(v: Option<&str>) -> Result<usize, Problem> {
    match v {
        None => Ok(DEFAULT_MAX_RESULTS),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(MAX_RESULTS)),
            _ => Err(Problem::bad_request(
                "bad-parameter",
                format!("maxResults must be an integer >= 1, got {s:?}"),
            )),
        },
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByBindingQuery {
    alg: Option<String>,
    value: Option<String>,
    max_results: Option<String>,
}

#[derive(Deserialize)]
struct ByBindingBody {
    alg: String,
    value: String,
}

async fn by_binding(
    st: SbrState,
    alg: String,
    value: String,
    max: usize,
) -> Result<Response, Problem> {
    if alg.is_empty() || alg.len() > provlog_core::claim::MAX_ALG_NAME_LEN {
        return Err(Problem::bad_request(
            "bad-parameter",
            "alg must be 1-128 bytes",
        ));
    }
    let value = B64
        .decode(value.trim())
        .map_err(|_| Problem::bad_request("bad-parameter", "value must be base64"))?;
    let cur = current(&st);
    tokio::task::spawn_blocking(move || {
        let index = st.index()?;
        index
            .catch_up_for_request(&*st.app.log, cur.checkpoint.size)
            .map_err(index_problem)?;
        let found = index
            .lookup_soft(&alg, &value, max)
            .map_err(index_problem)?;
        respond(
            &st,
            cur.checkpoint.size,
            &cur.note,
            found.into_iter().map(|i| (i, None)).collect(),
        )
    })
    .await
    .map_err(|e| Problem::internal(e.to_string()))?
}

fn current(st: &SbrState) -> Arc<crate::publisher::PublishedCheckpoint> {
    st.app.publication.current()
}

async fn by_binding_get(
    State(st): State<SbrState>,
    Query(q): Query<ByBindingQuery>,
) -> Result<Response, Problem> {
    let (Some(alg), Some(value)) = (q.alg, q.value) else {
        return Err(Problem::bad_request(
            "bad-parameter",
            "byBinding needs alg=<algorithm> and value=<base64>",
        ));
    };
    let max = max_results(q.max_results.as_deref())?;
    by_binding(st, alg, value, max).await
}

async fn by_binding_post(
    State(st): State<SbrState>,
    Query(q): Query<ByBindingQuery>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let b: ByBindingBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "bad-parameter",
            format!("body must be {{\"alg\":...,\"value\":<base64>}}: {e}"),
        )
    })?;
    let max = max_results(q.max_results.as_deref())?;
    by_binding(st, b.alg, b.value, max).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByContentQuery {
    alg: Option<String>,
    max_results: Option<String>,
    /// provlog extension: the Hamming-distance threshold (default
    /// [`DEFAULT_MAX_DISTANCE`], at most the near index's maximum).
    max_distance: Option<String>,
}

/// Reads a body of at most `limit` bytes: a larger declared length is
/// refused at once, a longer body is cut off while it streams, a stalled one
/// times out.
async fn read_bounded(body: Body, declared: Option<u64>, limit: usize) -> Result<Vec<u8>, Problem> {
    let too_large = || {
        Problem::too_large(format!(
            "the upload is larger than the limit of {limit} bytes"
        ))
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(b)) => Ok(b.to_vec()),
        Ok(Err(e)) => {
            let mut cause: Option<&dyn std::error::Error> = Some(&e);
            while let Some(c) = cause {
                if c.to_string().contains("length limit exceeded") {
                    return Err(too_large());
                }
                cause = c.source();
            }
            Err(Problem::bad_request(
                "unreadable-body",
                format!("cannot read the upload: {e}"),
            ))
        }
        Err(_) => Err(Problem::request_timeout(format!(
            "the upload did not arrive within {} s",
            BODY_TIMEOUT.as_secs()
        ))),
    }
}

async fn by_content(
    State(st): State<SbrState>,
    Query(q): Query<ByContentQuery>,
    req: Request,
) -> Result<Response, Problem> {
    if let Some(alg) = &q.alg
        && alg != PHASH_ALG
    {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("alg {alg:?} is not supported for byContent; this log computes {PHASH_ALG}"),
        ));
    }
    let max = max_results(q.max_results.as_deref())?;
    let radius = match q.max_distance.as_deref() {
        None => DEFAULT_MAX_DISTANCE,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|&d| d <= crate::near_index::MAX_RADIUS)
            .ok_or_else(|| {
                Problem::bad_request(
                    "bad-parameter",
                    format!(
                        "maxDistance must be an integer 0-{}, got {s:?}",
                        crate::near_index::MAX_RADIUS
                    ),
                )
            })?,
    };
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !(ctype.starts_with("image/") || ctype.starts_with("application/octet-stream")) {
        return Err(Problem::unsupported_media_type(format!(
            "byContent takes an image (Content-Type image/*), got {ctype:?}"
        )));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bytes = read_bounded(req.into_body(), declared, MAX_IMAGE_BYTES).await?;
    let cur = current(&st);
    tokio::task::spawn_blocking(move || {
        // Decoding and hashing are CPU work: off the reactor.
        let hash = provlog_media::perceptual_hash_of(&bytes).map_err(|e| match e {
            MediaError::Unsupported => Problem::unsupported_media_type(e.to_string()),
            MediaError::TooLarge { .. } | MediaError::TooManyPixels { .. } => {
                Problem::too_large(e.to_string())
            }
            MediaError::Decode(_) => Problem::bad_request("bad-image", e.to_string()),
        })?;
        let index = st.index()?;
        index
            .catch_up_for_request(&*st.app.log, cur.checkpoint.size)
            .map_err(index_problem)?;
        let found = index.near(hash, radius, max).map_err(index_problem)?;
        let mut seen = std::collections::HashSet::new();
        let candidates = found
            .into_iter()
            .filter(|m| seen.insert(m.entry))
            .map(|m| (m.entry, Some(m.distance)))
            .collect();
        respond(&st, cur.checkpoint.size, &cur.note, candidates)
    })
    .await
    .map_err(|e| Problem::internal(e.to_string()))?
}

#[derive(Deserialize)]
struct HardQuery {
    kind: Option<String>,
    alg: Option<String>,
    hash: Option<String>,
}

/// One entry, as in `/v1/lookup`.
#[derive(Serialize)]
struct LookupEntry {
    index: u64,
    entry: String,
    proof: Vec<String>,
}

#[derive(Serialize)]
struct HardResponse {
    kind: String,
    alg: String,
    hash: String,
    checkpoint: String,
    entries: Vec<LookupEntry>,
}

async fn lookup_hard(
    State(st): State<SbrState>,
    Query(q): Query<HardQuery>,
) -> Result<Response, Problem> {
    let bad = |m: String| Problem::bad_request("bad-parameter", m);
    let kind: HardBindingKind = q
        .kind
        .as_deref()
        .unwrap_or("data")
        .parse()
        .map_err(|_| bad("kind must be data, bmff or boxes".into()))?;
    let alg: HashAlg = q
        .alg
        .as_deref()
        .unwrap_or("sha256")
        .parse()
        .map_err(|_| bad("alg must be sha256, sha384 or sha512".into()))?;
    let hash_hex = q.hash.ok_or_else(|| bad("missing hash=<hex>".into()))?;
    let hash = hex::decode(hash_hex.trim()).map_err(|_| bad("hash must be hex".into()))?;
    if hash.len() != alg.digest_len() {
        return Err(bad(format!(
            "hash must be {} bytes for {alg}",
            alg.digest_len()
        )));
    }
    let hb = HardBinding {
        kind,
        alg,
        hash: hash.clone(),
        exclusions: vec![],
    };
    let cur = current(&st);
    let resp = tokio::task::spawn_blocking(move || -> Result<HardResponse, Problem> {
        let size = cur.checkpoint.size;
        let index = st.index()?;
        index
            .catch_up_for_request(&*st.app.log, size)
            .map_err(index_problem)?;
        let found = index
            .lookup_hard(&hb, crate::sbr::MAX_RESULTS * 10)
            .map_err(index_problem)?;
        let reader = st.app.nodes.reader(&*st.app.log, size);
        let mut entries = Vec::new();
        for index in found.into_iter().filter(|&i| i < size) {
            let entry = read_entry(&*st.app.log, index, size)
                .map_err(|e| Problem::internal(e.to_string()))?;
            let entry = entry.as_slice();
            let proof = inclusion_proof(&reader, index, size)
                .map_err(|e| Problem::internal(e.to_string()))?;
            entries.push(LookupEntry {
                index,
                entry: B64.encode(entry),
                proof: proof.iter().map(|h| B64.encode(h)).collect(),
            });
        }
        Ok(HardResponse {
            kind: hb.kind.to_string(),
            alg: hb.alg.to_string(),
            hash: hex::encode(&hb.hash),
            checkpoint: String::from_utf8_lossy(&cur.note).into_owned(),
            entries,
        })
    })
    .await
    .map_err(|e| Problem::internal(e.to_string()))??;
    Ok((StatusCode::OK, axum::Json(resp)).into_response())
}
