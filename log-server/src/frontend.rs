//! Stateless verifying frontends and the sequencer's side of their channel
//! (`spec/frontend.md`; linked from `spec/log-server.md` and
//! `spec/http-api.md`).
//!
//! A frontend (`provlog-server frontend --sequencer URL`) serves the public
//! write API (`POST /v1/claims`, `POST /v1/claims/batch`). It does every
//! admission check the log itself does, with the same code
//! ([`crate::api::check_claim_with`], [`crate::api::verify_signatures`]:
//! parse with the vendor-key cache, schema and canonical encoding, the
//! accepted-keys policy, one ZIP-215 batch of signatures), derives what the
//! sequencer needs from its parse (asset hash, vendor key, verifiable-index
//! keys), and forwards the request as one [`ForwardBody`] to the sequencer's
//! [`FORWARD_PATH`], signed with its own Ed25519 key over
//! [`signed_message`]. The sequencer (`provlog-server --frontend-keys
//! FILE`) checks the signature before it decodes anything, then hashes each
//! entry's leaf and appends: it neither parses claims nor verifies vendor
//! signatures again. Its answer is the public API's answer to the same
//! request, which the frontend relays unchanged (bounded while it streams);
//! the channel's own refusals become the frontend's `502`. The frontend also
//! relays `GET /checkpoint`, so a client can check the log key first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use provlog_core::claim::MAX_SOFT_BINDINGS;
use provlog_core::hash::{Hash, leaf_hash, sha256};
use provlog_core::note::{NoteSigner, VerifierKey};
use provlog_core::receipt::encode_receipt_array;
use provlog_core::signed_claim::MAX_ENTRY_SIZE;

use crate::api::{
    AppState, CBOR_MEDIA_TYPE, COSE_MEDIA_TYPE, Checked, QUORUM_HEADER, check_claim_with,
    check_content_type, decode_batch, read_body_bounded, receipt_response, verify_signatures,
};
use crate::appender::Submission;
use crate::binding_index::EntryBindings;
use crate::keys::{AcceptedKeys, KeyError, load_private_key};
use crate::metrics::{Metrics, ReasonLabel};
use crate::problem::Problem;
use crate::sequencer::{Claim, now_ms};

/// The sequencer's internal endpoint for frontends.
pub const FORWARD_PATH: &str = "/internal/v1/forward";
/// Media type of a [`ForwardBody`].
pub const FORWARD_MEDIA_TYPE: &str = "application/vnd.provlog.forward";
/// File name of a frontend's key inside its data directory.
pub const FRONTEND_KEY_FILE: &str = "frontend.key";
/// Default name of a frontend key.
pub const DEFAULT_FRONTEND_NAME: &str = "provlog-frontend";
/// First line of every signed message: the domain separator.
pub const CONTEXT: &str = "provlog-frontend-forward/v1";
/// Header: the frontend's vkey, exactly as in the sequencer's file.
pub const KEY_HEADER: &str = "provlog-frontend-key";
/// Header: the frontend's time, decimal milliseconds since the Unix epoch.
pub const TIME_HEADER: &str = "provlog-frontend-time";
/// Header: 16 random bytes, 32 lowercase hex digits.
pub const NONCE_HEADER: &str = "provlog-frontend-nonce";
/// Header: base64 (standard, padded) of the 64-byte Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "provlog-frontend-signature";
/// Largest difference between a forward's time and the sequencer's clock.
pub const MAX_SKEW_MS: u64 = 30_000;
/// Most nonces remembered (those within the skew window); beyond, 503.
pub const MAX_NONCES: usize = 4 << 20;
/// Body format version a frontend sends: 2 (with binding-index records).
pub const FORWARD_VERSION: u8 = 2;
/// The first body version (no binding-index records), still decoded: a
/// sequencer takes forwards from frontends not yet upgraded.
pub const FORWARD_VERSION_1: u8 = 1;
/// Kind: answer as `POST /v1/claims` (exactly one claim).
pub const KIND_SINGLE: u8 = 0;
/// Kind: answer as `POST /v1/claims/batch`.
pub const KIND_BATCH: u8 = 1;
/// Longest a frontend waits for the sequencer's whole answer (receipts may
/// wait for a witness round).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(120);

/// The most bytes an item adds to its entry and kid: the lengths and the
/// asset hash (42), 20 index keys (640), and the binding-index records at
/// their bounds (1 + 32, 1 + 16 x 32, 1 + 16 x 8: 675).
pub const MAX_ITEM_OVERHEAD: usize = 42 + 20 * 32 + 675;

/// The largest forward body a sequencer reads, for a log whose largest
/// public batch body is `max_batch_body` and whose batches have at most
/// `max_batch_claims` claims: each claim and its kid (shorter than it)
/// twice over, plus [`MAX_ITEM_OVERHEAD`] per claim (spec/frontend.md §9).
pub fn forward_limit(max_batch_body: usize, max_batch_claims: usize) -> usize {
    max_batch_body
        .saturating_mul(2)
        .saturating_add(max_batch_claims.saturating_mul(MAX_ITEM_OVERHEAD))
}

/// The bytes a frontend signs (spec/frontend.md §5): five lines, each
/// ended by `\n`: [`CONTEXT`], the sequencer's origin, the time, the nonce
/// and the lowercase hex SHA-256 of the body.
pub fn signed_message(origin: &str, time_ms: u64, nonce_hex: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "{CONTEXT}\n{origin}\n{time_ms}\n{nonce_hex}\n{}\n",
        hex::encode(sha256(body))
    )
    .into_bytes()
}

/// One claim of a forward: the entry and what the frontend took from its
/// parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardItem {
    /// The signed claim bytes, as the client sent them.
    pub entry: Vec<u8>,
    /// SHA-256 of the asset.
    pub asset: Hash,
    /// The COSE `kid` (the vendor's vkey), for rate limiting.
    pub kid: String,
    /// The verifiable-index keys.
    pub index_keys: Vec<Hash>,
    /// The binding-index records (version 2); `None` from a version-1
    /// body, whose entries the sequencer's binding index parses itself.
    pub bindings: Option<EntryBindings>,
}

/// A forwarded request (spec/frontend.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardBody {
    /// [`KIND_SINGLE`] or [`KIND_BATCH`].
    pub kind: u8,
    /// The claims, in request order.
    pub items: Vec<ForwardItem>,
}

/// Why a forward body does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// The body ends early.
    #[error("the body ends inside {0}")]
    Truncated(&'static str),
    /// An unknown version.
    #[error("unknown forward version {0}")]
    Version(u8),
    /// An unknown kind.
    #[error("unknown forward kind {0}")]
    Kind(u8),
    /// A count out of range.
    #[error("{what} {count} is out of range (at most {max})")]
    Count {
        /// Which count.
        what: &'static str,
        /// It.
        count: u64,
        /// Its bound.
        max: u64,
    },
    /// A kid that is not UTF-8.
    #[error("a kid is not UTF-8")]
    Kid,
    /// Bytes after the last item.
    #[error("{0} bytes after the last claim")]
    Trailing(usize),
}

impl ForwardBody {
    /// Encodes the body (big-endian integers, see the spec).
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .items
            .iter()
            .map(|i| {
                let b = i.bindings.as_ref();
                4 + i.entry.len()
                    + 32
                    + 2
                    + i.kid.len()
                    + 4
                    + 32 * i.index_keys.len()
                    + 3
                    + b.map_or(0, |b| {
                        32 * usize::from(b.hard.is_some()) + 32 * b.soft.len() + 8 * b.phash.len()
                    })
            })
            .sum();
        let mut out = Vec::with_capacity(6 + size);
        out.push(FORWARD_VERSION);
        out.push(self.kind);
        out.extend_from_slice(&(self.items.len() as u32).to_be_bytes());
        for i in &self.items {
            out.extend_from_slice(&(i.entry.len() as u32).to_be_bytes());
            out.extend_from_slice(&i.entry);
            out.extend_from_slice(&i.asset);
            out.extend_from_slice(&(i.kid.len() as u16).to_be_bytes());
            out.extend_from_slice(i.kid.as_bytes());
            out.extend_from_slice(&(i.index_keys.len() as u32).to_be_bytes());
            for k in &i.index_keys {
                out.extend_from_slice(k);
            }
            // Version 2: an item without records is sent as one without
            // bindings. A valid claim's counts are within the decoder's
            // bounds (its schema check), so the cuts below never drop a
            // record of one; they keep the encoding within the format.
            let empty = EntryBindings::default();
            let b = i.bindings.as_ref().unwrap_or(&empty);
            match &b.hard {
                Some(h) => {
                    out.push(1);
                    out.extend_from_slice(h);
                }
                None => out.push(0),
            }
            let soft = &b.soft[..b.soft.len().min(MAX_SOFT_BINDINGS)];
            out.push(soft.len() as u8);
            for k in soft {
                out.extend_from_slice(k);
            }
            let phash = &b.phash[..b.phash.len().min(soft.len())];
            out.push(phash.len() as u8);
            for h in phash {
                out.extend_from_slice(&h.to_be_bytes());
            }
        }
        out
    }

    /// Decodes a body of at most `max_claims` claims; every length is
    /// checked against what is left before anything is allocated.
    pub fn decode(body: &[u8], max_claims: usize) -> Result<ForwardBody, ForwardError> {
        let mut r = Reader(body);
        let version = r.u8("the header")?;
        if version != FORWARD_VERSION && version != FORWARD_VERSION_1 {
            return Err(ForwardError::Version(version));
        }
        let kind = r.u8("the header")?;
        if kind != KIND_SINGLE && kind != KIND_BATCH {
            return Err(ForwardError::Kind(kind));
        }
        let count = u64::from(r.u32("the header")?);
        let max = if kind == KIND_SINGLE {
            1
        } else {
            max_claims as u64
        };
        if count == 0 || count > max {
            return Err(ForwardError::Count {
                what: "claim count",
                count,
                max,
            });
        }
        // Each item takes at least MIN_ITEM bytes: a count the body cannot
        // hold is refused before the item vector is allocated.
        if count > (r.0.len() / MIN_ITEM) as u64 {
            return Err(ForwardError::Truncated("the claims"));
        }
        let mut items = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = u64::from(r.u32("an entry length")?);
            if len == 0 || len > MAX_ENTRY_SIZE as u64 {
                return Err(ForwardError::Count {
                    what: "entry length",
                    count: len,
                    max: MAX_ENTRY_SIZE as u64,
                });
            }
            let entry = r.take(len as usize, "an entry")?.to_vec();
            let asset = r.hash("an asset hash")?;
            let kid_len = usize::from(r.u16("a kid length")?);
            let kid = std::str::from_utf8(r.take(kid_len, "a kid")?)
                .map_err(|_| ForwardError::Kid)?
                .to_string();
            let nkeys = u64::from(r.u32("an index-key count")?);
            if nkeys > (r.0.len() / 32) as u64 {
                return Err(ForwardError::Truncated("the index keys"));
            }
            let mut index_keys = Vec::with_capacity(nkeys as usize);
            for _ in 0..nkeys {
                index_keys.push(r.hash("an index key")?);
            }
            let bindings = if version == FORWARD_VERSION_1 {
                None
            } else {
                Some(r.bindings()?)
            };
            items.push(ForwardItem {
                entry,
                asset,
                kid,
                index_keys,
                bindings,
            });
        }
        if !r.0.is_empty() {
            return Err(ForwardError::Trailing(r.0.len()));
        }
        Ok(ForwardBody { kind, items })
    }
}

/// The smallest encoded item (version 1): entry length, a one-byte entry,
/// the asset hash, the kid length, an empty kid and the index-key count.
/// A version-2 item adds at least three bytes.
const MIN_ITEM: usize = 4 + 1 + 32 + 2 + 4;

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ForwardError> {
        if self.0.len() < n {
            return Err(ForwardError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, ForwardError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, ForwardError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ForwardError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn hash(&mut self, what: &'static str) -> Result<Hash, ForwardError> {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.take(32, what)?);
        Ok(h)
    }
    /// A version-2 item's binding-index records: each count checked
    /// against its bound and the bytes left before anything is allocated.
    fn bindings(&mut self) -> Result<EntryBindings, ForwardError> {
        let hard = match self.u8("a hard-binding flag")? {
            0 => None,
            1 => Some(self.hash("a hard-binding key")?),
            n => {
                return Err(ForwardError::Count {
                    what: "hard-binding flag",
                    count: u64::from(n),
                    max: 1,
                });
            }
        };
        let nsoft = usize::from(self.u8("a soft-binding count")?);
        if nsoft > MAX_SOFT_BINDINGS {
            return Err(ForwardError::Count {
                what: "soft-binding count",
                count: nsoft as u64,
                max: MAX_SOFT_BINDINGS as u64,
            });
        }
        let soft_bytes = self.take(32 * nsoft, "the soft-binding keys")?;
        let soft = soft_bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        let nphash = usize::from(self.u8("a perceptual-hash count")?);
        if nphash > nsoft {
            return Err(ForwardError::Count {
                what: "perceptual-hash count",
                count: nphash as u64,
                max: nsoft as u64,
            });
        }
        let phash_bytes = self.take(8 * nphash, "the perceptual hashes")?;
        let phash = phash_bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_be_bytes(b)
            })
            .collect();
        Ok(EntryBindings { hard, soft, phash })
    }
}

/// Loads the frontend key from `dir`, creating it (mode 0600, named
/// `name`) on first start. Returns the signer and whether it was created.
pub fn load_or_create_frontend_key(dir: &Path, name: &str) -> Result<(NoteSigner, bool), KeyError> {
    let path = dir.join(FRONTEND_KEY_FILE);
    if path.exists() {
        return load_private_key(&path).map(|k| (k, false));
    }
    let signer = NoteSigner::generate(name).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    if crate::keys::create_key_file(dir, &path, &signer.to_skey())? {
        Ok((signer, true))
    } else {
        load_private_key(&path).map(|k| (k, false))
    }
}

/// The frontend keys a sequencer trusts (`--frontend-keys FILE`: one
/// Ed25519 vkey per line; blank lines and `#` comments ignored), and the
/// nonces it has seen.
pub struct FrontendTrust {
    origin: String,
    keys: HashMap<String, VerifyingKey>,
    nonces: Mutex<Nonces>,
}

#[derive(Default)]
struct Nonces {
    seen: HashSet<[u8; 16]>,
    order: VecDeque<(u64, [u8; 16])>,
}

impl FrontendTrust {
    /// Loads the keys file, for a sequencer of log `origin`.
    pub fn load(path: &Path, origin: &str) -> Result<FrontendTrust, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut keys = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let invalid = |detail: String| KeyError::Invalid {
                path: path.display().to_string(),
                detail: format!("line {}: {detail}", n + 1),
            };
            let key = VerifierKey::parse(line).map_err(|e| invalid(e.to_string()))?;
            let ed = *key
                .ed25519_public_key()
                .ok_or_else(|| invalid("not an Ed25519 vkey".into()))?;
            keys.insert(key.to_vkey(), ed);
        }
        Ok(Self::new(origin, keys))
    }

    /// Trust in `keys` (vkey string → public key).
    pub fn new(origin: &str, keys: HashMap<String, VerifyingKey>) -> FrontendTrust {
        FrontendTrust {
            origin: origin.to_string(),
            keys,
            nonces: Mutex::new(Nonces::default()),
        }
    }

    /// How many keys are trusted.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a forward's signature headers against `body`, in the order
    /// of spec/frontend.md §6; remembers its nonce. Nothing of the
    /// body is decoded here.
    pub fn check(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<(), Problem> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(key), Some(time), Some(nonce), Some(sig)) = (
            get(KEY_HEADER),
            get(TIME_HEADER),
            get(NONCE_HEADER),
            get(SIGNATURE_HEADER),
        ) else {
            return Err(unauthorized(
                "unsigned-forward",
                format!(
                    "a forward needs the {KEY_HEADER}, {TIME_HEADER}, {NONCE_HEADER} and {SIGNATURE_HEADER} headers"
                ),
            ));
        };
        let Some(vk) = self.keys.get(key) else {
            return Err(Problem::with_status(
                StatusCode::FORBIDDEN,
                "unknown-frontend",
                "Unknown frontend",
                format!("frontend key {key:?} is not in this sequencer's --frontend-keys file"),
            ));
        };
        // Canonical decimal only (digits, no sign, no leading zero but
        // `0`): the header is exactly the line that was signed.
        let time: u64 = time
            .parse()
            .ok()
            .filter(|t: &u64| time.bytes().all(|b| b.is_ascii_digit()) && t.to_string() == time)
            .ok_or_else(|| {
                unauthorized(
                    "bad-forward-signature",
                    "the time is not canonical decimal milliseconds",
                )
            })?;
        if time.abs_diff(now) > MAX_SKEW_MS {
            return Err(unauthorized(
                "stale-forward",
                format!(
                    "the forward's time {time} is more than {MAX_SKEW_MS} ms from the sequencer's {now}"
                ),
            ));
        }
        let nonce_bytes: [u8; 16] = hex::decode(nonce)
            .ok()
            .filter(|_| {
                nonce
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                unauthorized(
                    "bad-forward-signature",
                    "the nonce is not 32 lowercase hex digits",
                )
            })?;
        let sig = B64
            .decode(sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| {
                unauthorized(
                    "bad-forward-signature",
                    "the signature is not base64 of 64 bytes",
                )
            })?;
        let msg = signed_message(&self.origin, time, nonce, body);
        vk.verify_strict(&msg, &sig).map_err(|_| {
            unauthorized(
                "bad-forward-signature",
                "the frontend signature does not verify over this body",
            )
        })?;
        let mut n = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        // Nonces older than the window are refused by their time anyway.
        while let Some(&(t, old)) = n.order.front() {
            if t.saturating_add(2 * MAX_SKEW_MS) >= now && n.order.len() < MAX_NONCES {
                break;
            }
            if t.saturating_add(MAX_SKEW_MS) >= now {
                // Full with nonces still in the window.
                return Err(Problem::unavailable(
                    1,
                    "too many forwards in the replay window",
                ));
            }
            n.order.pop_front();
            n.seen.remove(&old);
        }
        if !n.seen.insert(nonce_bytes) {
            return Err(Problem::with_status(
                StatusCode::CONFLICT,
                "replayed-forward",
                "Replayed forward",
                "this nonce was already used",
            ));
        }
        n.order.push_back((time.max(now), nonce_bytes));
        Ok(())
    }
}

fn unauthorized(slug: &str, detail: impl Into<String>) -> Problem {
    Problem::with_status(StatusCode::UNAUTHORIZED, slug, "Unauthorized", detail)
}

// ---------------------------------------------------------------------------
// The sequencer's side.

/// The sequencer's [`FORWARD_PATH`], trusting `trust`.
pub fn sequencer_router(state: Arc<AppState>, trust: Arc<FrontendTrust>) -> Router {
    let limit = forward_limit(state.max_batch_body, state.max_batch_claims);
    Router::new()
        .route(
            FORWARD_PATH,
            post(post_forward)
                .layer(DefaultBodyLimit::max(limit))
                .layer(axum::middleware::from_fn(move |r, n| {
                    read_body_bounded(r, n, limit)
                })),
        )
        .with_state((state, trust))
}

async fn post_forward(
    State((state, trust)): State<(Arc<AppState>, Arc<FrontendTrust>)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let metrics = state.metrics.clone();
    let run = async {
        let limit = forward_limit(state.max_batch_body, state.max_batch_claims);
        let body = body.map_err(|r| crate::api::body_problem(r, limit))?;
        let st = state.clone();
        let (kind, submissions) = crate::verify::off_reactor(move || {
            // The signature first: nothing of an unauthenticated body is read.
            trust.check(&headers, &body, now_ms())?;
            check_content_type(&headers, FORWARD_MEDIA_TYPE)?;
            let fwd = ForwardBody::decode(&body, st.max_batch_claims).map_err(|e| match e {
                ForwardError::Count {
                    what: "claim count",
                    count,
                    max,
                } if count > 0 => Problem::too_large(format!(
                    "the batch has {count} claims; the limit is {max} per request"
                )),
                e => Problem::bad_request("invalid-forward", e.to_string()),
            })?;
            // The log's own accepted-keys policy holds for forwarded claims
            // too (a frontend started without --accept-keys cannot widen
            // it): a set lookup per claim, no parse.
            if let Some(accepted) = &st.accepted
                && let Some((i, item)) = fwd
                    .items
                    .iter()
                    .enumerate()
                    .find(|(_, item)| !accepted.contains(&item.kid))
            {
                let which = if fwd.kind == KIND_BATCH {
                    format!("claim {i}: ")
                } else {
                    String::new()
                };
                return Err(Problem::forbidden(format!(
                    "{which}vendor key {} is not on this log's accepted-keys list",
                    item.kid
                )));
            }
            let index = st.vindex.is_some();
            let subs: Vec<Submission> = fwd
                .items
                .into_iter()
                .map(|i| Submission {
                    key: i.kid,
                    claim: Claim {
                        leaf: leaf_hash(&i.entry),
                        asset: i.asset,
                        entry: i.entry,
                        index_keys: index.then_some(i.index_keys),
                        bindings: i.bindings,
                    },
                })
                .collect();
            Ok((fwd.kind, subs))
        })
        .await?;
        let n = submissions.len();
        let appended = state
            .appender
            .append(submissions)
            .await
            .map_err(crate::api::append_problem)?;
        state.metrics.forwarded_batches.inc();
        state.metrics.forwarded_claims.inc_by(n as u64);
        if kind == KIND_SINGLE {
            let receipt = appended
                .receipts
                .first()
                .ok_or_else(|| Problem::internal("no receipt"))?;
            Ok(receipt_response(receipt.to_cbor(), appended.witnesses))
        } else {
            Ok(receipt_response(
                encode_receipt_array(&appended.receipts),
                appended.witnesses,
            ))
        }
    };
    run.await.inspect_err(|p: &Problem| {
        metrics
            .forward_refusals
            .get_or_create(&ReasonLabel {
                reason: p.slug().to_string(),
            })
            .inc();
    })
}

// ---------------------------------------------------------------------------
// The frontend.

/// Everything a frontend needs.
pub struct Frontend {
    /// Base URL of the sequencer (no trailing `/`).
    pub sequencer: String,
    /// The sequencer's log origin (signed into every forward).
    pub origin: String,
    /// The frontend's key.
    pub signer: NoteSigner,
    /// Its vkey (the [`KEY_HEADER`] value).
    pub vkey: String,
    /// The accepted vendor keys, `None` for an open log.
    pub accepted: Option<AcceptedKeys>,
    /// Largest batch body.
    pub max_batch_body: usize,
    /// Most claims per batch request.
    pub max_batch_claims: usize,
    /// HTTP client for the sequencer.
    pub client: reqwest::Client,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// Errors starting a frontend.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The sequencer's checkpoint could not be read.
    #[error("cannot read the sequencer's checkpoint at {url}: {detail}")]
    Checkpoint {
        /// Its URL.
        url: String,
        /// Why.
        detail: String,
    },
}

/// An HTTP client for the sequencer: whole exchanges bounded by
/// [`FORWARD_TIMEOUT`], no redirects.
pub fn sequencer_client() -> Result<reqwest::Client, FrontendError> {
    reqwest::Client::builder()
        .timeout(FORWARD_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| FrontendError::Client(e.to_string()))
}

/// Reads the sequencer's origin (its checkpoint's first line), the
/// checkpoint read bounded.
pub async fn sequencer_origin(
    client: &reqwest::Client,
    sequencer: &str,
) -> Result<String, FrontendError> {
    let url = format!("{sequencer}/checkpoint");
    let err = |detail: String| FrontendError::Checkpoint {
        url: url.clone(),
        detail,
    };
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(err(format!("status {}", resp.status())));
    }
    let body = read_bounded(resp, provlog_client::limits::CHECKPOINT)
        .await
        .map_err(err)?;
    let text = String::from_utf8(body).map_err(|_| err("not UTF-8".into()))?;
    text.lines()
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .ok_or_else(|| err("empty checkpoint".into()))
}

/// Reads a response body of at most `limit` bytes, refusing a declared
/// `Content-Length` over it at once and stopping as soon as the streamed
/// bytes pass it.
pub async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if let Some(n) = resp.content_length()
        && n > limit as u64
    {
        return Err(format!(
            "the answer declares {n} bytes; at most {limit} are read"
        ));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the answer is longer than {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The frontend's router: the public write API, `/checkpoint` (relayed
/// from the sequencer), `/healthz`, `/metrics`.
pub fn frontend_router(state: Arc<Frontend>) -> Router {
    let single = MAX_ENTRY_SIZE;
    let batch = state.max_batch_body;
    Router::new()
        .route(
            "/v1/claims",
            post(fe_claim)
                .layer(DefaultBodyLimit::max(single))
                .layer(axum::middleware::from_fn(move |r, n| {
                    read_body_bounded(r, n, single)
                })),
        )
        .route(
            "/v1/claims/batch",
            post(fe_batch)
                .layer(DefaultBodyLimit::max(batch))
                .layer(axum::middleware::from_fn(move |r, n| {
                    read_body_bounded(r, n, batch)
                })),
        )
        .route("/checkpoint", get(fe_checkpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(|State(s): State<Arc<Frontend>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    s.metrics.render(),
                )
            }),
        )
        .fallback(|| async {
            Problem::not_found(
                "no such endpoint (a frontend serves only the write API and /checkpoint; read the log at its sequencer or bucket)",
            )
        })
        .with_state(state)
}

impl Frontend {
    fn reject(&self, p: Problem) -> Problem {
        self.metrics.reject(p.slug());
        p
    }

    /// Checks the request's claims (off the reactor) into a forward body.
    async fn check(self: &Arc<Self>, body: Bytes, batch: bool) -> Result<ForwardBody, Problem> {
        let st = self.clone();
        crate::verify::off_reactor(move || {
            let checked: Vec<Checked> = if batch {
                let items = decode_batch(&body, st.max_batch_claims)?;
                let mut checked = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    checked.push(check_claim_with(
                        st.accepted.as_ref(),
                        true,
                        item,
                        &format!("claim {i}: "),
                    )?);
                }
                checked
            } else {
                vec![check_claim_with(st.accepted.as_ref(), true, &body, "")?]
            };
            let checked = verify_signatures(checked, batch)?;
            Ok(ForwardBody {
                kind: if batch { KIND_BATCH } else { KIND_SINGLE },
                items: checked
                    .into_iter()
                    .map(|c| ForwardItem {
                        asset: c.claim.claim().asset.sha256,
                        kid: c.claim.kid().to_string(),
                        index_keys: c.index_keys.unwrap_or_default(),
                        bindings: Some(c.bindings),
                        entry: c.entry,
                    })
                    .collect(),
            })
        })
        .await
    }

    /// Signs and sends a forward; relays the sequencer's answer, bounded.
    async fn forward(&self, fwd: ForwardBody) -> Result<Response, Problem> {
        let n = fwd.items.len();
        let limit_ok = if fwd.kind == KIND_SINGLE {
            provlog_client::limits::RECEIPT
        } else {
            provlog_client::limits::batch_receipts(n)
        };
        let body = fwd.encode();
        let time = now_ms();
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)
            .map_err(|e| Problem::internal(format!("no randomness: {e}")))?;
        let nonce = hex::encode(nonce);
        let msg = signed_message(&self.origin, time, &nonce, &body);
        let sig = B64.encode(self.signer.signing_key().sign(&msg).to_bytes());
        let resp = self
            .client
            .post(format!("{}{FORWARD_PATH}", self.sequencer))
            .header(header::CONTENT_TYPE, FORWARD_MEDIA_TYPE)
            .header(KEY_HEADER, &self.vkey)
            .header(TIME_HEADER, time.to_string())
            .header(NONCE_HEADER, &nonce)
            .header(SIGNATURE_HEADER, sig)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                self.refused("sequencer-unavailable");
                tracing::warn!(error = %e, "cannot reach the sequencer");
                Problem::unavailable(1, format!("cannot reach the sequencer: {e}"))
            })?;
        let status = resp.status();
        let limit = if status.is_success() {
            limit_ok
        } else {
            provlog_client::limits::ERROR_BODY
        };
        let relay: Vec<(header::HeaderName, HeaderValue)> = [
            header::CONTENT_TYPE,
            header::RETRY_AFTER,
            header::HeaderName::from_static(QUORUM_HEADER),
        ]
        .into_iter()
        .filter_map(|h| resp.headers().get(&h).cloned().map(|v| (h, v)))
        .collect();
        let bytes = read_bounded(resp, limit).await.map_err(|e| {
            self.refused("bad-sequencer-answer");
            tracing::warn!(error = %e, "refusing the sequencer's answer");
            Problem::with_status(
                StatusCode::BAD_GATEWAY,
                "bad-sequencer-answer",
                "Bad Gateway",
                format!("the sequencer's answer was refused: {e}"),
            )
        })?;
        if status.is_success() {
            self.metrics.forwarded_batches.inc();
            self.metrics.forwarded_claims.inc_by(n as u64);
        } else {
            tracing::debug!(%status, "the sequencer refused a forward");
            self.refused(&format!("status-{}", status.as_u16()));
            if let Some(p) = channel_refusal(status, &bytes) {
                tracing::error!(detail = %p.detail, "the sequencer refuses this frontend's channel");
                return Err(p);
            }
        }
        let mut out = Response::new(axum::body::Body::from(bytes));
        *out.status_mut() = status;
        for (h, v) in relay {
            out.headers_mut().insert(h, v);
        }
        Ok(out)
    }

    fn refused(&self, reason: &str) {
        self.metrics
            .forward_refusals
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }
}

/// The channel's own refusals (spec/frontend.md §7: 401, 403
/// `unknown-frontend`, 409, 400 `invalid-forward`, 415) are the frontend's
/// or the operator's fault, not the client's: they become `502
/// frontend-refused` naming the sequencer's problem, instead of being
/// relayed as if the claim were at fault.
fn channel_refusal(status: StatusCode, body: &[u8]) -> Option<Problem> {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let kind = field("type");
    let channel = match status.as_u16() {
        401 | 409 | 415 => true,
        403 => kind == "urn:provlog:problem:unknown-frontend",
        400 => kind == "urn:provlog:problem:invalid-forward",
        _ => false,
    };
    channel.then(|| {
        Problem::with_status(
            StatusCode::BAD_GATEWAY,
            "frontend-refused",
            "Bad Gateway",
            format!(
                "the sequencer refused this frontend's forward ({status}, {kind}): {}",
                field("detail")
            ),
        )
    })
}

/// Longest a frontend waits for the sequencer's checkpoint.
pub const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /checkpoint`, relayed from the sequencer (read bounded), so a
/// client pointed at a frontend can check the log key before it submits
/// (`provlog submit` does). The client verifies the note itself; the
/// frontend only checks that it names the sequencer's origin.
async fn fe_checkpoint(State(state): State<Arc<Frontend>>) -> Result<Response, Problem> {
    let bad = |detail: String| {
        state.refused("bad-sequencer-answer");
        tracing::warn!(%detail, "refusing the sequencer's checkpoint");
        Problem::with_status(
            StatusCode::BAD_GATEWAY,
            "bad-sequencer-answer",
            "Bad Gateway",
            format!("the sequencer's checkpoint was refused: {detail}"),
        )
    };
    let resp = state
        .client
        .get(format!("{}/checkpoint", state.sequencer))
        .timeout(CHECKPOINT_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            state.refused("sequencer-unavailable");
            Problem::unavailable(1, format!("cannot reach the sequencer: {e}"))
        })?;
    if !resp.status().is_success() {
        return Err(bad(format!("status {}", resp.status())));
    }
    let quorum = resp.headers().get(QUORUM_HEADER).cloned();
    let body = read_bounded(resp, provlog_client::limits::CHECKPOINT)
        .await
        .map_err(&bad)?;
    let first = body.split(|&b| b == b'\n').next().unwrap_or_default();
    if first != state.origin.as_bytes() {
        return Err(bad(format!(
            "its first line is not the origin {:?}",
            state.origin
        )));
    }
    let mut out = Response::new(axum::body::Body::from(body));
    let h = out.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(q) = quorum {
        h.insert(header::HeaderName::from_static(QUORUM_HEADER), q);
    }
    Ok(out)
}

async fn fe_claim(
    State(state): State<Arc<Frontend>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let run = async {
        check_content_type(&headers, COSE_MEDIA_TYPE)?;
        let body = body.map_err(|r| crate::api::body_problem(r, MAX_ENTRY_SIZE))?;
        let fwd = state.check(body, false).await?;
        state.forward(fwd).await
    };
    run.await.map_err(|p| state.reject(p))
}

async fn fe_batch(
    State(state): State<Arc<Frontend>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let run = async {
        check_content_type(&headers, CBOR_MEDIA_TYPE)?;
        let body = body.map_err(|r| crate::api::body_problem(r, state.max_batch_body))?;
        let fwd = state.check(body, true).await?;
        state.forward(fwd).await
    };
    run.await.map_err(|p| state.reject(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body() -> ForwardBody {
        ForwardBody {
            kind: KIND_BATCH,
            items: vec![
                ForwardItem {
                    entry: vec![1, 2, 3],
                    asset: [7; 32],
                    kid: "v+1+abc".into(),
                    index_keys: vec![[1; 32], [2; 32]],
                    bindings: Some(EntryBindings {
                        hard: Some([3; 32]),
                        soft: vec![[4; 32], [5; 32]],
                        phash: vec![0x0102_0304_0506_0708],
                    }),
                },
                ForwardItem {
                    entry: vec![9],
                    asset: [8; 32],
                    kid: String::new(),
                    index_keys: vec![],
                    bindings: Some(EntryBindings::default()),
                },
            ],
        }
    }

    #[test]
    fn forward_body_round_trips_and_refuses_damage() {
        let b = body();
        let enc = b.encode();
        assert_eq!(ForwardBody::decode(&enc, 10).unwrap(), b);
        assert!(matches!(
            ForwardBody::decode(&enc, 1),
            Err(ForwardError::Count { .. })
        ));
        for n in 0..enc.len() {
            assert!(ForwardBody::decode(&enc[..n], 10).is_err(), "prefix {n}");
        }
        let mut long = enc.clone();
        long.push(0);
        assert_eq!(
            ForwardBody::decode(&long, 10),
            Err(ForwardError::Trailing(1))
        );
        // A huge index-key count is refused before allocating.
        let mut huge = ForwardBody {
            kind: KIND_SINGLE,
            items: vec![b.items[1].clone()],
        }
        .encode();
        // (the empty records are the last 3 bytes)
        let at = huge.len() - 3 - 4;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(ForwardBody::decode(&huge, 10).is_err());
    }

    /// The offset of item 0's binding records in [`body`]'s encoding.
    fn records_at() -> usize {
        6 + 4 + 3 + 32 + 2 + 7 + 4 + 2 * 32
    }

    #[test]
    fn binding_records_are_bounded_and_strict() {
        let b = body();
        let enc = b.encode();
        let at = records_at();
        assert_eq!(enc[at], 1, "the hard-binding flag");
        assert_eq!(&enc[at + 1..at + 33], &[3; 32]);
        assert_eq!(enc[at + 33], 2, "two soft-binding keys");
        assert_eq!(enc[at + 33 + 65], 1, "one perceptual hash");
        assert_eq!(
            &enc[at + 33 + 66..at + 33 + 74],
            &0x0102_0304_0506_0708u64.to_be_bytes()
        );
        let with = |i: usize, v: u8| {
            let mut e = enc.clone();
            e[i] = v;
            ForwardBody::decode(&e, 10)
        };
        // A flag other than 0 or 1.
        assert!(matches!(
            with(at, 2),
            Err(ForwardError::Count {
                what: "hard-binding flag",
                ..
            })
        ));
        // More soft bindings than a claim may have: refused before the
        // bytes are even looked for.
        assert!(matches!(
            with(at + 33, 17),
            Err(ForwardError::Count {
                what: "soft-binding count",
                count: 17,
                max: 16
            })
        ));
        // More perceptual hashes than soft bindings.
        assert!(matches!(
            with(at + 33 + 65, 3),
            Err(ForwardError::Count {
                what: "perceptual-hash count",
                count: 3,
                max: 2
            })
        ));
        // Counts the bytes left cannot hold.
        assert!(matches!(with(at + 33, 16), Err(ForwardError::Truncated(_))));
        // Flag 0 reads the hard-binding key as the next fields: the body
        // no longer parses to the same items (here, the counts run out).
        assert_ne!(with(at, 0).ok(), Some(b.clone()));
        // The most records a claim can have round-trip.
        let full = ForwardBody {
            kind: KIND_SINGLE,
            items: vec![ForwardItem {
                bindings: Some(EntryBindings {
                    hard: Some([1; 32]),
                    soft: (0..16u8).map(|i| [i; 32]).collect(),
                    phash: (0..16).collect(),
                }),
                ..b.items[1].clone()
            }],
        };
        let enc_full = full.encode();
        assert_eq!(
            enc_full.len(),
            6 + 4 + 1 + 32 + 2 + 4 + 1 + 32 + 1 + 16 * 32 + 1 + 16 * 8
        );
        assert_eq!(ForwardBody::decode(&enc_full, 10).unwrap(), full);
        for n in 0..enc_full.len() {
            assert!(
                ForwardBody::decode(&enc_full[..n], 10).is_err(),
                "prefix {n}"
            );
        }
        // Within MAX_ITEM_OVERHEAD of the entry and kid, with 20 index keys.
        let mut twenty = full.clone();
        twenty.items[0].index_keys = vec![[9; 32]; 20];
        let item = twenty.encode().len() - 6;
        assert_eq!(item, 1 + MAX_ITEM_OVERHEAD);
    }

    #[test]
    fn a_version_1_body_decodes_without_records() {
        // Version 1 is version 2 without the three record fields.
        let b = ForwardBody {
            kind: KIND_SINGLE,
            items: vec![ForwardItem {
                bindings: None,
                ..body().items[0].clone()
            }],
        };
        let mut v1 = b.encode();
        v1[0] = FORWARD_VERSION_1;
        v1.truncate(v1.len() - 3);
        assert_eq!(ForwardBody::decode(&v1, 10).unwrap(), b);
        // Sent as version 2, an item without records has empty ones.
        let v2 = ForwardBody::decode(&b.encode(), 10).unwrap();
        assert_eq!(v2.items[0].bindings, Some(EntryBindings::default()));
        for version in [0u8, 3, 255] {
            let mut e = b.encode();
            e[0] = version;
            assert_eq!(
                ForwardBody::decode(&e, 10),
                Err(ForwardError::Version(version))
            );
        }
    }

    #[test]
    fn channel_refusals_are_the_frontends_502_and_claim_refusals_are_relayed() {
        let problem = |slug: &str| {
            format!(r#"{{"type":"urn:provlog:problem:{slug}","detail":"d"}}"#).into_bytes()
        };
        for (status, slug) in [
            (401, "bad-forward-signature"),
            (401, "stale-forward"),
            (403, "unknown-frontend"),
            (409, "replayed-forward"),
            (400, "invalid-forward"),
            (415, "unsupported-media-type"),
        ] {
            let p = channel_refusal(StatusCode::from_u16(status).unwrap(), &problem(slug))
                .unwrap_or_else(|| panic!("{status} {slug} is the channel's"));
            assert_eq!(p.slug(), "frontend-refused");
            assert_eq!(p.status, 502);
        }
        for (status, slug) in [
            (400, "invalid-claim"),
            (403, "key-not-accepted"),
            (413, "too-large"),
            (429, "rate-limited"),
            (503, "unavailable"),
        ] {
            assert!(
                channel_refusal(StatusCode::from_u16(status).unwrap(), &problem(slug)).is_none(),
                "{status} {slug} is relayed"
            );
        }
        // Not JSON at all: a 400 is relayed, a 401 still the channel's.
        assert!(channel_refusal(StatusCode::BAD_REQUEST, b"junk").is_none());
        assert!(channel_refusal(StatusCode::UNAUTHORIZED, b"junk").is_some());
    }

    #[test]
    fn a_time_must_be_canonical_decimal() {
        let signer = NoteSigner::generate("fe.example").unwrap();
        let vkey = signer.verifier_key().to_vkey();
        let trust = FrontendTrust::new(
            "log.example",
            HashMap::from([(vkey.clone(), signer.signing_key().verifying_key())]),
        );
        let body = body().encode();
        let now = 1_000_000_000u64;
        let nonce = "00112233445566778899aabbccddeeff";
        let sig = signer
            .signing_key()
            .sign(&signed_message("log.example", now, nonce, &body));
        for time in [
            format!("0{now}"),
            format!("+{now}"),
            String::new(),
            format!("{now} "),
        ] {
            let mut h = HeaderMap::new();
            h.insert(KEY_HEADER, vkey.parse().unwrap());
            h.insert(TIME_HEADER, time.parse().unwrap());
            h.insert(NONCE_HEADER, nonce.parse().unwrap());
            h.insert(
                SIGNATURE_HEADER,
                B64.encode(sig.to_bytes()).parse().unwrap(),
            );
            assert_eq!(
                trust.check(&h, &body, now).unwrap_err().slug(),
                "bad-forward-signature",
                "{time:?}"
            );
        }
    }

    #[test]
    fn signature_checks_in_order() {
        let signer = NoteSigner::generate("fe.example").unwrap();
        let vkey = signer.verifier_key().to_vkey();
        let mut keys = HashMap::new();
        keys.insert(vkey.clone(), signer.signing_key().verifying_key());
        let trust = FrontendTrust::new("log.example", keys);
        let body = body().encode();
        let now = 1_000_000_000;
        let sign = |origin: &str, time: u64, nonce: &str, body: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(KEY_HEADER, vkey.parse().unwrap());
            h.insert(TIME_HEADER, time.to_string().parse().unwrap());
            h.insert(NONCE_HEADER, nonce.parse().unwrap());
            let sig = signer
                .signing_key()
                .sign(&signed_message(origin, time, nonce, body));
            h.insert(
                SIGNATURE_HEADER,
                B64.encode(sig.to_bytes()).parse().unwrap(),
            );
            h
        };
        let n1 = "00112233445566778899aabbccddeeff";
        let h = sign("log.example", now, n1, &body);
        assert_eq!(
            trust
                .check(&HeaderMap::new(), &body, now)
                .unwrap_err()
                .slug(),
            "unsigned-forward"
        );
        let mut tampered = body.clone();
        tampered[7] ^= 1;
        assert_eq!(
            trust.check(&h, &tampered, now).unwrap_err().slug(),
            "bad-forward-signature"
        );
        let other = sign("other.example", now, n1, &body);
        assert_eq!(
            trust.check(&other, &body, now).unwrap_err().slug(),
            "bad-forward-signature"
        );
        assert_eq!(
            trust
                .check(&h, &body, now + MAX_SKEW_MS + 1)
                .unwrap_err()
                .slug(),
            "stale-forward"
        );
        trust.check(&h, &body, now).unwrap();
        assert_eq!(
            trust.check(&h, &body, now).unwrap_err().slug(),
            "replayed-forward"
        );
        let stranger = NoteSigner::generate("fe.example").unwrap();
        let mut h2 = h.clone();
        h2.insert(
            KEY_HEADER,
            stranger.verifier_key().to_vkey().parse().unwrap(),
        );
        assert_eq!(
            trust.check(&h2, &body, now).unwrap_err().slug(),
            "unknown-frontend"
        );
        // The message, byte for byte (spec/frontend.md §5).
        assert_eq!(
            signed_message("log.example", 5, n1, b""),
            format!(
                "provlog-frontend-forward/v1\nlog.example\n5\n{n1}\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            )
            .into_bytes()
        );
    }
}
