//! HTTP client for a provlog log: submission, C2SP tlog-tiles reads, proofs
//! and lookup. Everything it fetches is untrusted: callers verify it with
//! the rest of this crate (and [`LogClient::verified_checkpoint`] does so).

mod bindings;
pub use bindings::{SoftMatch, SoftMatches};

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use provlog_core::cbor::{decode_bytes_array, encode_bytes_array};
use provlog_core::checkpoint::{SignedCheckpoint, verify_checkpoint};
use provlog_core::hash::Hash;
use provlog_core::note::VerifierKey;
use provlog_core::receipt::{Receipt, ReceiptError};
use provlog_core::tiles::Tile;

/// Largest response body the client reads (a batch of receipts).
pub const MAX_RESPONSE: usize = 64 << 20;

/// Errors talking to a log.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The log could not be reached, or the connection failed.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// What was asked.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The log answered with an error status.
    #[error("{url}: HTTP {status}: {detail}")]
    Status {
        /// What was asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// The problem detail (or body text).
        detail: String,
        /// The problem type URI, if the body was a problem document.
        kind: Option<String>,
        /// Retry-After seconds, for 429 and 503.
        retry_after: Option<u64>,
    },
    /// The log's answer is not what the protocol says it should be.
    #[error("{url}: bad response: {detail}")]
    BadResponse {
        /// What was asked.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// A receipt in the answer does not decode.
    #[error("bad receipt from the log: {0}")]
    Receipt(#[from] ReceiptError),
    /// The checkpoint does not verify.
    #[error("checkpoint from the log does not verify: {0}")]
    Checkpoint(String),
}

impl HttpError {
    /// Whether retrying later may help (unreachable, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Transport { .. } => true,
            HttpError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Seconds the server asked us to wait, if any.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// One logged claim returned by a lookup, with its inclusion proof.
#[derive(Debug, Clone)]
pub struct LookupEntry {
    /// Index in the log.
    pub index: u64,
    /// The signed claim bytes.
    pub entry: Vec<u8>,
    /// Inclusion proof against [`Lookup::checkpoint`].
    pub proof: Vec<Hash>,
}

/// The answer to an asset lookup (unverified).
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The signed checkpoint the proofs are against.
    pub checkpoint: Vec<u8>,
    /// Every logged claim for the asset.
    pub entries: Vec<LookupEntry>,
}

#[derive(Deserialize)]
struct ProblemBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    detail: Option<String>,
}

#[derive(Deserialize)]
struct ProofBody {
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct LookupBody {
    checkpoint: String,
    entries: Vec<LookupEntryBody>,
}

#[derive(Deserialize)]
struct LookupEntryBody {
    index: u64,
    entry: String,
    proof: Vec<String>,
}

/// A client for one log.
#[derive(Clone, Debug)]
pub struct LogClient {
    base: String,
    http: reqwest::Client,
}

impl LogClient {
    /// A client for the log at `base` (e.g. `http://127.0.0.1:7300`).
    pub fn new(base: &str) -> Result<Self, HttpError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| HttpError::Transport {
                url: base.to_string(),
                source,
            })?;
        Ok(LogClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The log's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Vec<u8>, HttpError> {
        let resp = req.send().await.map_err(|source| HttpError::Transport {
            url: url.to_string(),
            source,
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if let Some(len) = resp.content_length()
            && len > MAX_RESPONSE as u64
        {
            return Err(HttpError::BadResponse {
                url: url.to_string(),
                detail: format!("response of {len} bytes is over the limit"),
            });
        }
        let body = resp.bytes().await.map_err(|source| HttpError::Transport {
            url: url.to_string(),
            source,
        })?;
        if body.len() > MAX_RESPONSE {
            return Err(HttpError::BadResponse {
                url: url.to_string(),
                detail: "response over the size limit".into(),
            });
        }
        if !status.is_success() {
            let (kind, detail) = match serde_json::from_slice::<ProblemBody>(&body) {
                Ok(p) => (p.kind, p.detail.unwrap_or_default()),
                Err(_) => (
                    None,
                    String::from_utf8_lossy(&body).chars().take(500).collect(),
                ),
            };
            return Err(HttpError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                detail,
                kind,
                retry_after,
            });
        }
        Ok(body.to_vec())
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, HttpError> {
        let url = self.url(path);
        self.send(self.http.get(&url), &url).await
    }

    /// `GET /checkpoint`: the latest signed checkpoint note (unverified).
    pub async fn checkpoint(&self) -> Result<Vec<u8>, HttpError> {
        self.get("checkpoint").await
    }

    /// Fetches the latest checkpoint and verifies it with the log's key.
    pub async fn verified_checkpoint(
        &self,
        log_key: &VerifierKey,
    ) -> Result<SignedCheckpoint, HttpError> {
        let note = self.checkpoint().await?;
        verify_checkpoint(&note, log_key).map_err(|e| HttpError::Checkpoint(e.to_string()))
    }

    /// `GET /tile/...`: raw tile or entry bundle bytes.
    pub async fn tile(&self, tile: &Tile) -> Result<Vec<u8>, HttpError> {
        self.get(&tile.path()).await
    }

    /// `POST /v1/claims`: submits one signed claim; returns its receipt (unverified).
    pub async fn submit(&self, signed_claim: &[u8]) -> Result<Receipt, HttpError> {
        let url = self.url("v1/claims");
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/cose")
            .body(signed_claim.to_vec());
        let body = self.send(req, &url).await?;
        Ok(Receipt::from_cbor(&body)?)
    }

    /// `POST /v1/claims/batch`: submits signed claims; receipts in the same order.
    pub async fn submit_batch(&self, signed_claims: &[Vec<u8>]) -> Result<Vec<Receipt>, HttpError> {
        let url = self.url("v1/claims/batch");
        let body = encode_bytes_array(signed_claims);
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/cbor")
            .body(body);
        let resp = self.send(req, &url).await?;
        let bad = |detail: &str| HttpError::BadResponse {
            url: url.clone(),
            detail: detail.to_string(),
        };
        let items = decode_bytes_array(&resp, signed_claims.len())
            .map_err(|e| bad(&format!("batch response: {e}")))?;
        if items.len() != signed_claims.len() {
            return Err(bad("batch response has the wrong number of receipts"));
        }
        items
            .into_iter()
            .map(|b| Ok(Receipt::from_cbor(b)?))
            .collect()
    }

    /// `GET /v1/entries/<index>`: the signed claim at `index` (unverified).
    pub async fn entry(&self, index: u64) -> Result<Vec<u8>, HttpError> {
        self.get(&format!("v1/entries/{index}")).await
    }

    /// `GET /v1/lookup?asset=`: every logged claim for an asset (unverified).
    pub async fn lookup(&self, asset: &Hash) -> Result<Lookup, HttpError> {
        let path = format!("v1/lookup?asset={}", hex::encode(asset));
        let url = self.url(&path);
        let body = self.get(&path).await?;
        let parsed: LookupBody =
            serde_json::from_slice(&body).map_err(|e| HttpError::BadResponse {
                url: url.clone(),
                detail: format!("lookup response: {e}"),
            })?;
        let entries = parsed
            .entries
            .into_iter()
            .map(|e| {
                Ok(LookupEntry {
                    index: e.index,
                    entry: B64.decode(&e.entry).map_err(|_| HttpError::BadResponse {
                        url: url.clone(),
                        detail: "entry is not base64".into(),
                    })?,
                    proof: decode_hashes(&e.proof, &url)?,
                })
            })
            .collect::<Result<Vec<_>, HttpError>>()?;
        Ok(Lookup {
            checkpoint: parsed.checkpoint.into_bytes(),
            entries,
        })
    }

    /// `GET /v1/proof/inclusion?index=&size=` (unverified).
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, HttpError> {
        let path = format!("v1/proof/inclusion?index={index}&size={size}");
        let url = self.url(&path);
        let body = self.get(&path).await?;
        let p: ProofBody = serde_json::from_slice(&body).map_err(|e| HttpError::BadResponse {
            url: url.clone(),
            detail: format!("proof response: {e}"),
        })?;
        decode_hashes(&p.proof, &url)
    }

    /// `GET /v1/proof/consistency?old=&new=` (unverified).
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, HttpError> {
        let path = format!("v1/proof/consistency?old={old}&new={new}");
        let url = self.url(&path);
        let body = self.get(&path).await?;
        let p: ProofBody = serde_json::from_slice(&body).map_err(|e| HttpError::BadResponse {
            url: url.clone(),
            detail: format!("proof response: {e}"),
        })?;
        decode_hashes(&p.proof, &url)
    }
}

fn decode_hashes(items: &[String], url: &str) -> Result<Vec<Hash>, HttpError> {
    if items.len() > 64 {
        return Err(HttpError::BadResponse {
            url: url.to_string(),
            detail: "proof longer than 64 hashes".into(),
        });
    }
    items
        .iter()
        .map(|s| {
            B64.decode(s)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| HttpError::BadResponse {
                    url: url.to_string(),
                    detail: format!("{s:?} is not a base64 SHA-256 hash"),
                })
        })
        .collect()
}
