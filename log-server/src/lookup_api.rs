//! `GET /v1/lookup`: verifiable lookup proofs (spec/lookup.md §9.2,
//! spec/http-api.md).
//!
//! For one key the answer is a lookup-proof bundle (spec/lookup.md §6.1):
//! the prefix-tree path against the latest index-commit, the key's list (or
//! the neighbouring leaf, for an absence), the commit's inclusion proof into
//! the checkpoint that ends with it, that checkpoint (with the witnesses'
//! cosignatures when the published checkpoint is that one), and by default
//! every listed entry with its inclusion proof. The client verifies it
//! offline with the log's key.
//!
//! Bounds: each parameter is at most [`MAX_PARAM_LEN`] bytes and parsed as
//! key material with its limits; at most `MAX_LOOKUP_INDEXES` (1,024)
//! indexes and entries per answer (a longer list is served as a tail). The
//! proof is built on the blocking pool, never on the reactor.
//!
//! The legacy answer (`?asset=<hex>` without asking for the bundle, JSON,
//! unverified completeness) is kept for existing clients: a request gets the
//! bundle when it names its key any other way than `asset=`, passes `from=`,
//! `entries=` or `cosigned=`, or sends `Accept:
//! application/vnd.provlog.lookup+cbor`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use provlog_core::index::key::{IndexKey, MAX_KEY_MATERIAL};
use provlog_core::index::proof::{LookupProof, ProvenEntry};
use provlog_core::tiles::{TILE_WIDTH, TileLevel, bundle_entry, tile_at_size};
use provlog_core::tree::inclusion_proof;
use serde::Deserialize;

use crate::api::AppState;
use crate::problem::Problem;
use crate::storage::tile_prefix;
use crate::vindex::{LookupAnswer, Published, VIndexError};

/// Media type of a lookup-proof bundle.
pub const LOOKUP_MEDIA_TYPE: &str = "application/vnd.provlog.lookup+cbor";
/// Longest query parameter accepted (a key's CLI form is at most about
/// twice its material: hex).
pub const MAX_PARAM_LEN: usize = 2 * MAX_KEY_MATERIAL + 64;

/// The query of `GET /v1/lookup`.
#[derive(Deserialize, Default)]
pub struct LookupParams {
    key: Option<String>,
    asset: Option<String>,
    hard: Option<String>,
    soft: Option<String>,
    vendor: Option<String>,
    bucket: Option<String>,
    #[serde(rename = "key-status")]
    key_status: Option<String>,
    from: Option<String>,
    entries: Option<String>,
    cosigned: Option<String>,
}

impl LookupParams {
    fn wants_bundle(&self, headers: &HeaderMap) -> bool {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(LOOKUP_MEDIA_TYPE));
        accept
            || self.key.is_some()
            || self.hard.is_some()
            || self.soft.is_some()
            || self.vendor.is_some()
            || self.key_status.is_some()
            || self.from.is_some()
            || self.entries.is_some()
            || self.cosigned.is_some()
    }

    /// The one key the query names.
    fn key(&self) -> Result<IndexKey, Problem> {
        let all = [
            &self.key,
            &self.asset,
            &self.hard,
            &self.soft,
            &self.vendor,
            &self.key_status,
            &self.bucket,
            &self.from,
            &self.entries,
            &self.cosigned,
        ];
        if all
            .iter()
            .any(|p| p.as_ref().is_some_and(|s| s.len() > MAX_PARAM_LEN))
        {
            return Err(bad(format!(
                "a lookup parameter is over {MAX_PARAM_LEN} bytes"
            )));
        }
        let given: Vec<String> = [
            self.key.clone(),
            self.asset.as_ref().map(|a| format!("asset:{a}")),
            self.hard.as_ref().map(|h| format!("hard:{h}")),
            self.soft.as_ref().map(|s| format!("soft:{s}")),
            self.vendor.as_ref().map(|v| match &self.bucket {
                Some(b) => format!("vendor-seq:{v}:{b}"),
                None => format!("vendor:{v}"),
            }),
            self.key_status.as_ref().map(|v| format!("vendor-key:{v}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if self.bucket.is_some() && self.vendor.is_none() {
            return Err(bad("bucket= needs vendor=".into()));
        }
        let [one] = given.as_slice() else {
            return Err(bad(
                "give exactly one of key=, asset=, hard=, soft=, vendor= (with optional bucket=), key-status="
                    .into(),
            ));
        };
        IndexKey::parse_cli(one).map_err(|e| bad(format!("malformed key: {e}")))
    }
}

fn bad(detail: String) -> Problem {
    Problem::bad_request("bad-key", detail)
}

fn flag(v: &Option<String>, name: &str, default: bool) -> Result<bool, Problem> {
    match v.as_deref() {
        None => Ok(default),
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(o) => Err(Problem::bad_request(
            "bad-parameter",
            format!("{name} must be 0 or 1, got {o:?}"),
        )),
    }
}

/// The handler: the bundle, or the legacy JSON answer (see the module docs).
pub async fn get_lookup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LookupParams>,
) -> Result<Response, Problem> {
    if !q.wants_bundle(&headers) {
        return crate::api::get_lookup_json(state, q.asset).await;
    }
    let key = q.key()?;
    let from = match &q.from {
        Some(s) => s.parse::<u64>().map_err(|_| {
            Problem::bad_request(
                "bad-parameter",
                format!("from must be an integer, got {s:?}"),
            )
        })?,
        None => 0,
    };
    let with_entries = flag(&q.entries, "entries", true)?;
    let cosigned = flag(&q.cosigned, "cosigned", false)?;
    let Some(vindex) = state.vindex.clone() else {
        return Err(Problem::not_found(
            "this log does not keep a verifiable index (start it with --verifiable-index)",
        ));
    };
    // The index proof, from the index under its read lock: on the reactor
    // when the lock is free (an in-memory walk of O(depth) nodes), else on
    // the blocking pool, as the sequencer holds the lock while a batch
    // becomes durable.
    let answer = {
        let st = state.clone();
        match vindex.try_lookup(&key, from, |a| choose_checkpoint(&st, a, cosigned)) {
            Some(r) => r,
            None => {
                let vindex = vindex.clone();
                tokio::task::spawn_blocking(move || {
                    vindex.lookup(&key, from, |a| choose_checkpoint(&st, a, cosigned))
                })
                .await
                .map_err(|e| Problem::internal(format!("lookup task failed: {e}")))?
            }
        }
    };
    let (proof, at) = match answer {
        Ok(r) => r?,
        Err(VIndexError::NotReady) => {
            return Err(Problem::unavailable(
                2,
                "the verifiable index is being rebuilt",
            ));
        }
        Err(VIndexError::NoCommit) => {
            return Err(Problem::unavailable(
                2,
                "the log has no index-commit yet (it is written with the next batch)",
            ));
        }
        Err(e) => return Err(Problem::internal(e.to_string())),
    };
    // The rest reads immutable tree state (the tree of the commit's
    // checkpoint) through the shared caches. A short answer is finished
    // here, as an inclusion proof is; a long list (up to
    // MAX_LOOKUP_INDEXES entries, each a bundle read and an inclusion
    // proof) goes to the blocking pool.
    let listed = if with_entries {
        proof.indexes().len()
    } else {
        0
    };
    let bundle = if listed <= INLINE_ENTRIES {
        finish_bundle(&state, proof, &at, with_entries)?
    } else {
        let st = state.clone();
        tokio::task::spawn_blocking(move || finish_bundle(&st, proof, &at, with_entries))
            .await
            .map_err(|e| Problem::internal(format!("lookup task failed: {e}")))??
    };
    state.metrics.lookups.inc();
    Ok((
        [
            (header::CONTENT_TYPE, LOOKUP_MEDIA_TYPE),
            // Immutable per (key, checkpoint); the next batch makes a newer one.
            (header::CACHE_CONTROL, "public, max-age=1"),
        ],
        bundle,
    )
        .into_response())
}

/// Answers with at most this many entries are finished on the reactor: the
/// issue's typical key (<= 4 entries) costs about what as many inclusion
/// proofs do, which are also served there.
const INLINE_ENTRIES: usize = 4;

/// Attaches to a lookup answer the note of the checkpoint that ends with its
/// commit: the published one (with cosignatures) if it is that tree, else
/// the committed one. Called under the index's read lock, so the sequencer
/// cannot publish in between. Returns the proof with its checkpoint, and the
/// commit.
fn choose_checkpoint(
    state: &AppState,
    a: LookupAnswer,
    cosigned: bool,
) -> Result<(LookupProof, Published), Problem> {
    let s = a.published.tree_size;
    let published = state.publication.current();
    let note = if published.checkpoint.size == s {
        if cosigned && !published.quorum_met() {
            return Err(not_cosigned());
        }
        published.note.clone()
    } else {
        if cosigned {
            return Err(not_cosigned());
        }
        let c = state.publication.committed();
        if c.checkpoint.size != s {
            return Err(Problem::unavailable(1, "the index is between batches"));
        }
        c.note.clone()
    };
    let mut proof = a.proof;
    proof.checkpoint = note;
    Ok((proof, a.published))
}

/// Adds the commit's inclusion proof and (if asked) each listed entry with
/// its inclusion proof, all in the tree of the proof's checkpoint, and
/// encodes the bundle.
fn finish_bundle(
    state: &AppState,
    mut proof: LookupProof,
    at: &Published,
    with_entries: bool,
) -> Result<Vec<u8>, Problem> {
    // The checkpoint's tree ends with the commit (spec/lookup.md §6.1).
    let s = at.tree_size;
    let reader = state.nodes.reader(&*state.log, s);
    // The same for every lookup against this checkpoint: computed once.
    proof.commit_proof = match &state.vindex {
        Some(v) => v.commit_proof(s, || inclusion_proof(&reader, at.commit_index, s)),
        None => inclusion_proof(&reader, at.commit_index, s),
    }
    .map_err(|e| Problem::internal(e.to_string()))?;
    if with_entries {
        // Consecutive indexes share a bundle: read each once, from the tile
        // cache when it is full (no copy), and copy out only the entries the
        // proof names.
        let mut bundle: Option<(u64, Bytes)> = None;
        let indexes = proof.indexes().to_vec();
        for i in indexes {
            let b = i / TILE_WIDTH;
            if bundle.as_ref().is_none_or(|(n, _)| *n != b) {
                bundle = Some((b, bundle_bytes(state, b, s)?));
            }
            let entry = bundle
                .as_ref()
                .map(|(_, raw)| bundle_entry(raw, (i % TILE_WIDTH) as usize))
                .transpose()
                .map_err(|e| Problem::internal(format!("entry bundle {b} is corrupt: {e}")))?
                .flatten()
                .map(<[u8]>::to_vec)
                .ok_or_else(|| Problem::internal(format!("entry {i} missing")))?;
            let p = inclusion_proof(&reader, i, s).map_err(|e| Problem::internal(e.to_string()))?;
            proof.entries.push(ProvenEntry {
                index: i,
                entry,
                proof: p,
            });
        }
    }
    Ok(proof.to_cbor())
}

/// The raw bytes of entry bundle `b` as of tree size `s`: a full bundle
/// from the shared tile cache (it never changes), a partial one read and
/// cut to its width at `s`.
fn bundle_bytes(state: &AppState, b: u64, s: u64) -> Result<Bytes, Problem> {
    let tile = tile_at_size(TileLevel::Entries, b, s).ok_or_else(|| {
        Problem::internal(format!("entry bundle {b} is beyond the tree (size {s})"))
    })?;
    let read = || -> Result<Vec<u8>, Problem> {
        let raw = state
            .log
            .tile(TileLevel::Entries, b)
            .map_err(|e| Problem::internal(e.to_string()))?
            .ok_or_else(|| Problem::internal(format!("entry bundle {b} is not stored")))?;
        tile_prefix(&tile, raw).map_err(Problem::internal)
    };
    if tile.is_full() {
        state.tiles.full(TileLevel::Entries, b, read)
    } else {
        read().map(Bytes::from)
    }
}

fn not_cosigned() -> Problem {
    Problem::unavailable(
        1,
        "cosigned=1: the checkpoint of the latest index-commit does not meet the witness quorum yet",
    )
}
