//! SCITT SCRAPI (draft-ietf-scitt-scrapi): provlog as a Transparency
//! Service, next to its own API (spec/scitt.md §6).
//!
//! - `POST /entries` (`application/cose`): a signed statement = a signed
//!   claim in either form (signed-claim.md). Checked and sequenced exactly
//!   as `POST /v1/claims`; once committed: `201`, the RFC 9942 COSE receipt
//!   (`application/cose`) and `Location: /entries/<id>`; still pending
//!   after [`REGISTER_WAIT`]: `303` + `Location` + `Retry-After`.
//! - `GET /entries/<id>`: `200` receipt, `302` while pending, `404`.
//! - `GET /entries/<id>/receipts`: every receipt of the entry, one per log
//!   key (Ed25519 first, then ML-DSA-44), as the CBOR array
//!   `[+ bstr .cbor receipt]` that a transparent statement carries in
//!   header 394 (`application/cbor`); `302` while pending, `404`.
//!   `<id>` is the lowercase hex leaf hash SHA-256(0x00 ‖ statement): the
//!   log's dedup key, so it is stable, computable by the client, and
//!   answerable from the dedup index after a restart.
//! - `GET /.well-known/scitt-keys` (COSE_KeySet, `application/cbor`) and
//!   `GET /.well-known/scitt-keys/<base64url kid>` (one COSE_Key).
//! - Errors: RFC 9290 `application/concise-problem-details+cbor`
//!   (`{-1: title, -2: detail}`), also for errors the framework makes
//!   ([`crate::problem::error_bodies`]).
//!
//! Receipts are made from signed tree heads: one [`SignedTreeHead::sign`]
//! per log key (Ed25519 and ML-DSA-44) per committed checkpoint, `iat` = the
//! checkpoint's log time, signed on the first SCRAPI request that needs
//! them and cached; an entry's receipt is only `sth.receipt(index, proof)`.
//! A tree head signed again after a restart is as valid as the first
//! signature (same tree head; Ed25519 gives the same bytes).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use provlog_core::cbor::Item;
use provlog_core::checkpoint::LogSigner;
use provlog_core::cose::{CoseSigner, cose_key, cose_key_set, key_thumbprint};
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::note::VerifierKey;
use provlog_core::scitt::SignedTreeHead;
use provlog_core::signed_claim::MAX_ENTRY_SIZE;
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::inclusion_proof;

use crate::api::{
    AppState, COSE_MEDIA_TYPE, body_problem, check_claim, check_content_type, read_body_bounded,
    submit, verify_signatures,
};
use crate::problem::Problem;
use crate::publisher::Committed;
use crate::sequencer::logged_at;
use crate::storage::StorageTiles;

/// RFC 9290 media type of SCRAPI errors.
pub const CONCISE_PROBLEM: &str = "application/concise-problem-details+cbor";
/// Media type of the COSE_KeySet and COSE_Key answers.
pub const CBOR_MEDIA_TYPE: &str = "application/cbor";
/// How long `POST /entries` waits for the commit before answering `303`.
pub const REGISTER_WAIT: Duration = Duration::from_secs(2);
/// `Retry-After` of the pending answers, seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Whether `path` is one of the SCRAPI routes (whose errors are CBOR).
pub fn is_scrapi_path(path: &str) -> bool {
    path == "/entries"
        || path.starts_with("/entries/")
        || path == "/.well-known/scitt-keys"
        || path.starts_with("/.well-known/scitt-keys/")
}

/// An RFC 9290 concise problem details response: `{-1: title, -2: detail}`.
pub fn concise_problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = Item::Map(vec![
        (Item::Int(-1), Item::Text(title)),
        (Item::Int(-2), Item::Text(detail)),
    ])
    .to_vec();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(CONCISE_PROBLEM),
        )],
        body,
    )
        .into_response()
}

/// A [`Problem`] answered as concise problem details, with a SCRAPI-style
/// title for each kind.
struct ScrapiError(Problem);

impl IntoResponse for ScrapiError {
    fn into_response(self) -> Response {
        let p = self.0;
        let title = match p.slug() {
            "invalid-claim" => "Invalid Statement",
            "bad-signature" => "Bad Signature",
            "key-not-accepted" => "Rejected",
            "not-found" => "Not Found",
            "unsupported-media-type" => "Unsupported Media Type",
            "too-large" => "Payload Too Large",
            "rate-limited" => "Too Many Requests",
            "unavailable" => "Service Unavailable",
            "request-timeout" => "Request Timeout",
            "unreadable-body" => "Payload Missing",
            _ => p.title,
        };
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = concise_problem(status, title, &p.detail);
        if let Some(secs) = p.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The log's signatures over one committed tree head, one per log key
/// (Ed25519 first).
struct TreeHeads {
    size: u64,
    root: Hash,
    log_time_ms: u64,
    heads: Vec<SignedTreeHead>,
}

/// SCRAPI state: the log's keys, the signed tree heads of the newest
/// committed checkpoint, and the statements registered through `POST
/// /entries` that are not committed yet.
pub struct Scitt {
    signer: LogSigner,
    keys: Vec<VerifierKey>,
    heads: Mutex<Option<Arc<TreeHeads>>>,
    pending: Mutex<HashSet<Hash>>,
    register_wait: Duration,
}

impl Scitt {
    /// SCRAPI for a log signing with `signer`; `POST /entries` waits at
    /// most `register_wait` for the commit before answering `303`.
    pub fn new(signer: LogSigner, register_wait: Duration) -> Arc<Self> {
        let keys = signer.verifier_keys();
        Arc::new(Scitt {
            signer,
            keys,
            heads: Mutex::new(None),
            pending: Mutex::new(HashSet::new()),
            register_wait,
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashSet<Hash>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The signed tree heads of `c`: cached, or signed now (one signature
    /// per log key; blocking, ML-DSA-44 takes about a millisecond).
    fn tree_heads(&self, c: &Committed) -> Result<Arc<TreeHeads>, Problem> {
        let mut slot = self.heads.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = slot.as_ref()
            && h.size == c.checkpoint.size
            && h.root == c.checkpoint.root
            && h.log_time_ms == c.log_time_ms
        {
            return Ok(h.clone());
        }
        let iat = (c.log_time_ms > 0).then_some(c.log_time_ms / 1000);
        let (size, root) = (c.checkpoint.size, c.checkpoint.root);
        let sign_err = |e: provlog_core::scitt::ScittError| {
            Problem::internal(format!("cannot sign the tree head: {e}"))
        };
        let ed = self.signer.ed25519();
        let mut heads = vec![
            SignedTreeHead::sign(
                &ed.verifier_key(),
                CoseSigner::Ed25519(ed.signing_key()),
                size,
                &root,
                iat,
            )
            .map_err(sign_err)?,
        ];
        if let Some(m) = self.signer.ml_dsa_44() {
            heads.push(
                SignedTreeHead::sign(
                    &m.verifier_key(),
                    CoseSigner::MlDsa44(m.signing_key()),
                    size,
                    &root,
                    iat,
                )
                .map_err(sign_err)?,
            );
        }
        let h = Arc::new(TreeHeads {
            size,
            root,
            log_time_ms: c.log_time_ms,
            heads,
        });
        *slot = Some(h.clone());
        Ok(h)
    }

    /// The COSE receipts for the statement with leaf hash `leaf` against
    /// the newest committed checkpoint, one per log key (Ed25519 first), or
    /// `None` if it is not in that tree. Blocking (storage reads, maybe
    /// signing).
    fn receipts(&self, state: &AppState, leaf: &Hash) -> Result<Option<Vec<Vec<u8>>>, Problem> {
        let committed = state.publication.committed();
        let size = committed.checkpoint.size;
        let tiles = TileNodeReader::new(StorageTiles(&*state.log), size);
        let Some(index) = logged_at(&*state.index, &tiles, leaf, size)
            .map_err(|e| Problem::internal(e.to_string()))?
        else {
            return Ok(None);
        };
        let proof = inclusion_proof(&state.nodes.reader(&*state.log, size), index, size)
            .map_err(|e| Problem::internal(e.to_string()))?;
        let heads = self.tree_heads(&committed)?;
        let receipts = heads
            .heads
            .iter()
            .map(|head| {
                head.receipt(index, &proof)
                    .map(|r| r.to_bytes().to_vec())
                    .map_err(|e| Problem::internal(format!("cannot build the receipt: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if receipts.is_empty() {
            return Err(Problem::internal("no signed tree head"));
        }
        Ok(Some(receipts))
    }
}

type Shared = (Arc<AppState>, Arc<Scitt>);

/// The SCRAPI routes. Serve them under [`crate::problem::error_bodies`].
pub fn router(state: Arc<AppState>, scitt: Arc<Scitt>) -> Router {
    let limit = MAX_ENTRY_SIZE;
    Router::new()
        .route(
            "/entries",
            post(post_entries)
                .layer(DefaultBodyLimit::max(limit))
                .layer(axum::middleware::from_fn(move |r, n| {
                    read_body_bounded(r, n, limit)
                })),
        )
        .route("/entries/{id}", get(get_entry))
        .route("/entries/{id}/receipts", get(get_receipts))
        .route("/.well-known/scitt-keys", get(get_keys))
        .route("/.well-known/scitt-keys/{kid}", get(get_key))
        .with_state((state, scitt))
}

/// The receipts of `leaf` (Ed25519 first), off the reactor.
async fn receipts_off_reactor(
    state: &Arc<AppState>,
    scitt: &Arc<Scitt>,
    leaf: Hash,
) -> Result<Option<Vec<Vec<u8>>>, Problem> {
    let (state, scitt) = (state.clone(), scitt.clone());
    tokio::task::spawn_blocking(move || scitt.receipts(&state, &leaf))
        .await
        .map_err(|e| Problem::internal(format!("receipt task failed: {e}")))?
}

/// The Ed25519 receipt of `leaf` (what SCRAPI answers), off the reactor.
async fn receipt_off_reactor(
    state: &Arc<AppState>,
    scitt: &Arc<Scitt>,
    leaf: Hash,
) -> Result<Option<Vec<u8>>, Problem> {
    Ok(receipts_off_reactor(state, scitt, leaf)
        .await?
        .and_then(|r| r.into_iter().next()))
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    resp
}

fn receipt_response(status: StatusCode, location: Option<&str>, receipt: Vec<u8>) -> Response {
    let mut resp = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(COSE_MEDIA_TYPE),
        )],
        receipt,
    )
        .into_response();
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn post_entries(
    State((state, scitt)): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match register(&state, &scitt, &headers, body).await {
        Ok(r) => r,
        Err(p) => ScrapiError(state.reject(p)).into_response(),
    }
}

/// Checks as `POST /v1/claims` (body size, then content type, structure,
/// accepted keys, signature), hands the statement to the appender on a
/// task of its own (it completes even if this request answers 303), and
/// answers with the receipt once committed.
async fn register(
    state: &Arc<AppState>,
    scitt: &Arc<Scitt>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    check_content_type(headers, COSE_MEDIA_TYPE)?;
    let body = body.map_err(|r| body_problem(r, MAX_ENTRY_SIZE))?;
    if body.is_empty() {
        return Err(Problem::bad_request(
            "unreadable-body",
            "the body is empty: send a COSE_Sign1 signed statement",
        ));
    }
    let (st, bytes) = (state.clone(), body.clone());
    let claims = crate::verify::off_reactor(move || {
        verify_signatures(vec![check_claim(&st, &bytes, "")?], false)
    })
    .await?;
    let leaf = leaf_hash(&body);
    let location = format!("/entries/{}", hex::encode(leaf));
    scitt.pending().insert(leaf);
    let mut task = {
        let (state, scitt) = (state.clone(), scitt.clone());
        tokio::spawn(async move {
            let r = submit(&state, claims).await;
            scitt.pending().remove(&leaf);
            r
        })
    };
    match tokio::time::timeout(scitt.register_wait, &mut task).await {
        Err(_) => Ok(redirect(StatusCode::SEE_OTHER, &location)),
        Ok(Err(e)) => Err(Problem::internal(format!("registration task failed: {e}"))),
        Ok(Ok(Err(p))) => Err(p),
        Ok(Ok(Ok(_))) => match receipt_off_reactor(state, scitt, leaf).await? {
            Some(r) => Ok(receipt_response(StatusCode::CREATED, Some(&location), r)),
            None => Err(Problem::internal(
                "the statement was committed but is not in the committed tree",
            )),
        },
    }
}

/// `<id>`: exactly 64 lowercase hex digits, as sent (not percent-decoded).
fn parse_id(raw: &str) -> Option<Hash> {
    if raw.len() != 64 || !raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut h = [0u8; 32];
    hex::decode_to_slice(raw, &mut h).ok()?;
    Some(h)
}

async fn get_entry(State((state, scitt)): State<Shared>, uri: Uri) -> Response {
    let raw = uri.path().strip_prefix("/entries/").unwrap_or_default();
    let Some(leaf) = parse_id(raw) else {
        return ScrapiError(Problem::not_found(
            "an entry id is the statement's leaf hash: 64 lowercase hex digits",
        ))
        .into_response();
    };
    match receipt_off_reactor(&state, &scitt, leaf).await {
        Ok(Some(r)) => receipt_response(StatusCode::OK, None, r),
        Ok(None) if scitt.pending().contains(&leaf) => {
            redirect(StatusCode::FOUND, &format!("/entries/{raw}"))
        }
        Ok(None) => ScrapiError(Problem::not_found(format!(
            "no statement with id {raw} is registered"
        )))
        .into_response(),
        Err(p) => ScrapiError(p).into_response(),
    }
}

/// `GET /entries/<id>/receipts`: the CBOR array of every receipt.
async fn get_receipts(State((state, scitt)): State<Shared>, uri: Uri) -> Response {
    let raw = uri
        .path()
        .strip_prefix("/entries/")
        .and_then(|p| p.strip_suffix("/receipts"))
        .unwrap_or_default();
    let Some(leaf) = parse_id(raw) else {
        return ScrapiError(Problem::not_found(
            "an entry id is the statement's leaf hash: 64 lowercase hex digits",
        ))
        .into_response();
    };
    match receipts_off_reactor(&state, &scitt, leaf).await {
        Ok(Some(receipts)) => {
            let body = Item::Array(receipts.iter().map(|r| Item::Bytes(r)).collect()).to_vec();
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(CBOR_MEDIA_TYPE),
                )],
                body,
            )
                .into_response()
        }
        Ok(None) if scitt.pending().contains(&leaf) => {
            redirect(StatusCode::FOUND, &format!("/entries/{raw}/receipts"))
        }
        Ok(None) => ScrapiError(Problem::not_found(format!(
            "no statement with id {raw} is registered"
        )))
        .into_response(),
        Err(p) => ScrapiError(p).into_response(),
    }
}

async fn get_keys(State((_, scitt)): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(CBOR_MEDIA_TYPE),
        )],
        cose_key_set(&scitt.keys),
    )
        .into_response()
}

async fn get_key(State((_, scitt)): State<Shared>, uri: Uri) -> Response {
    let raw = uri
        .path()
        .strip_prefix("/.well-known/scitt-keys/")
        .unwrap_or_default();
    let kid = URL_SAFE_NO_PAD.decode(raw).ok();
    match kid.and_then(|kid| scitt.keys.iter().find(|k| key_thumbprint(k)[..] == kid[..])) {
        Some(k) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(CBOR_MEDIA_TYPE),
            )],
            cose_key(k),
        )
            .into_response(),
        None => ScrapiError(Problem::not_found(
            "no log key has this kid (base64url, unpadded, of the RFC 9679 thumbprint)",
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical() {
        let id = "ab".repeat(32);
        assert!(parse_id(&id).is_some());
        assert!(parse_id(&id.to_uppercase()).is_none());
        assert!(parse_id(&id[..62]).is_none());
        assert!(parse_id(&format!("{id}0")).is_none());
        assert!(parse_id(&format!("+{}", &id[1..])).is_none());
    }

    #[test]
    fn scrapi_paths() {
        assert!(is_scrapi_path("/entries"));
        assert!(is_scrapi_path("/entries/x"));
        assert!(is_scrapi_path("/.well-known/scitt-keys"));
        assert!(!is_scrapi_path("/v1/entries/0"));
        assert!(!is_scrapi_path("/entriesx"));
    }
}
