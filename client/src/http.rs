//! HTTP client for a provlog log: submission, C2SP tlog-tiles reads, proofs
//! and lookup. Everything it fetches is untrusted: callers verify it with
//! the rest of this crate (and [`LogClient::verified_checkpoint`] does so).

mod bindings;
mod scrapi;
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

use crate::bounded::{BodyError, read_limited};
use crate::cause::{check_url, describe};
use crate::limits;

/// Default time one call may take, from connecting to the end of the body.
/// A submission waits for the batch to be sequenced (and witnessed), so
/// this is generous; it is also what bounds a peer that trickles bytes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Time to open the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors talking to a log.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The log's base URL cannot be used (no scheme, no host...): nothing
    /// was sent, and retrying cannot help.
    #[error("bad log URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The log could not be reached, the connection failed, or the call
    /// timed out.
    #[error("{url}: {}", describe(.source))]
    Transport {
        /// What was asked.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The answer is larger than any honest answer to this call; reading
    /// stopped at the limit.
    #[error("{url}: the response is larger than the {limit}-byte limit for this endpoint")]
    TooLarge {
        /// What was asked.
        url: String,
        /// The endpoint's limit, in bytes (see [`crate::limits`]).
        limit: usize,
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
    /// Whether retrying later may help (unreachable, timed out, 429, 5xx).
    /// A bad URL, a malformed or oversized answer, or a 4xx is permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Transport { source, .. } => !source.is_builder(),
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
    /// A client for the log at `base` (e.g. `http://127.0.0.1:7300`), with
    /// [`DEFAULT_TIMEOUT`] per call. Fails at once, with the reason, if
    /// `base` is not an `http://` or `https://` URL.
    pub fn new(base: &str) -> Result<Self, HttpError> {
        Self::with_timeout(base, DEFAULT_TIMEOUT)
    }

    /// Like [`LogClient::new`], with `timeout` for each whole call
    /// (connect, request, and reading the body).
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<Self, HttpError> {
        check_url(base).map_err(|reason| HttpError::BadUrl {
            url: base.to_string(),
            reason,
        })?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
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

    /// Sends `req` and reads a success body of at most `limit` bytes (an
    /// error body of at most [`limits::ERROR_BODY`]), cut off while it
    /// streams.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
        limit: usize,
    ) -> Result<Vec<u8>, HttpError> {
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
        if !status.is_success() {
            let (kind, detail) = match read_limited(resp, limits::ERROR_BODY).await {
                Ok(body) => match serde_json::from_slice::<ProblemBody>(&body) {
                    Ok(p) => (p.kind, p.detail.unwrap_or_default()),
                    Err(_) => (
                        None,
                        String::from_utf8_lossy(&body).chars().take(500).collect(),
                    ),
                },
                Err(BodyError::TooLarge { limit }) => {
                    (None, format!("(error body over {limit} bytes, not read)"))
                }
                Err(BodyError::Transport(e)) => {
                    (None, format!("(error body unreadable: {})", describe(&e)))
                }
            };
            return Err(HttpError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                detail,
                kind,
                retry_after,
            });
        }
        read_limited(resp, limit).await.map_err(|e| match e {
            BodyError::TooLarge { limit } => HttpError::TooLarge {
                url: url.to_string(),
                limit,
            },
            BodyError::Transport(source) => HttpError::Transport {
                url: url.to_string(),
                source,
            },
        })
    }

    async fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, HttpError> {
        let url = self.url(path);
        self.send(self.http.get(&url), &url, limit).await
    }

    /// `GET /checkpoint`: the latest signed checkpoint note (unverified).
    pub async fn checkpoint(&self) -> Result<Vec<u8>, HttpError> {
        self.get("checkpoint", limits::CHECKPOINT).await
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
        self.get(&tile.path(), limits::tile(tile)).await
    }

    /// `POST /v1/claims`: submits one signed claim; returns its receipt (unverified).
    pub async fn submit(&self, signed_claim: &[u8]) -> Result<Receipt, HttpError> {
        let url = self.url("v1/claims");
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/cose")
            .body(signed_claim.to_vec());
        let body = self.send(req, &url, limits::RECEIPT).await?;
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
        let resp = self
            .send(req, &url, limits::batch_receipts(signed_claims.len()))
            .await?;
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
        self.get(&format!("v1/entries/{index}"), limits::ENTRY)
            .await
    }

    /// `GET /v1/lookup?asset=`: every logged claim for an asset (unverified).
    pub async fn lookup(&self, asset: &Hash) -> Result<Lookup, HttpError> {
        let path = format!("v1/lookup?asset={}", hex::encode(asset));
        let url = self.url(&path);
        let body = self.get(&path, limits::LOOKUP).await?;
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

    /// `GET /v1/lookup?key=<CLI form>`: the lookup-proof bundle for `key`
    /// (spec/lookup.md §6.1), raw and unverified (verify it with
    /// [`provlog_core::index::proof::verify_lookup`]). `from` asks for a
    /// list tail; `entries` for the listed entries with their proofs. Read
    /// with at most [`limits::LOOKUP_PROOF`] bytes.
    pub async fn lookup_proof(
        &self,
        key: &provlog_core::index::IndexKey,
        from: u64,
        entries: bool,
    ) -> Result<Vec<u8>, HttpError> {
        let url = self.url(&format!(
            "v1/lookup?key={}&from={from}&entries={}",
            percent_encode(&key.describe()),
            u8::from(entries)
        ));
        let req = self.http.get(&url).header(
            reqwest::header::ACCEPT,
            "application/vnd.provlog.lookup+cbor",
        );
        self.send(req, &url, limits::LOOKUP_PROOF).await
    }

    /// `GET /v1/proof/inclusion?index=&size=` (unverified).
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, HttpError> {
        let path = format!("v1/proof/inclusion?index={index}&size={size}");
        let url = self.url(&path);
        let body = self.get(&path, limits::PROOF).await?;
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
        let body = self.get(&path, limits::PROOF).await?;
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

/// Percent-encodes a query value: every byte but RFC 3986 unreserved
/// characters (a vkey's `+` and `/` must not reach the server as a space or
/// a path separator).
fn percent_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Rust debug text that must never reach an operator.
    fn assert_plain_words(msg: &str) {
        for leak in ["builder error", "Io(", "Error {", "kind:", "client error ("] {
            assert!(!msg.contains(leak), "{msg:?} leaks {leak:?}");
        }
    }

    /// A server that answers every connection with `answer` and closes.
    async fn answering(answer: &'static [u8]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer).await;
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_refused_connection_says_connection_refused_and_is_transient() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = LogClient::new(&url)
            .unwrap()
            .checkpoint()
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("connection refused"), "{msg}");
        assert!(msg.contains(&url), "{msg}");
        assert_plain_words(&msg);
        assert!(err.is_transient());
        let w = crate::witness::WitnessClient::new(&url, Duration::from_secs(5)).unwrap();
        let req = provlog_core::witness::AddCheckpointRequest {
            old_size: 0,
            proof: vec![],
            checkpoint: b"x\n".to_vec(),
        };
        let msg = w.add_checkpoint(&req).await.unwrap_err().to_string();
        assert!(msg.contains("connection refused"), "{msg}");
        assert_plain_words(&msg);
    }

    #[test]
    fn a_url_without_a_scheme_fails_at_once_and_is_not_retried() {
        for url in ["localhost:7300", "127.0.0.1:7300"] {
            let err = LogClient::new(url).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("no scheme in URL"), "{msg}");
            assert!(
                msg.contains(&format!("http://{url}")),
                "says what to write: {msg}"
            );
            assert_plain_words(&msg);
            assert!(!err.is_transient());
            let msg = crate::witness::WitnessClient::new(url, Duration::from_secs(1))
                .unwrap_err()
                .to_string();
            assert!(msg.contains("no scheme in URL"), "{msg}");
        }
    }

    #[tokio::test]
    async fn a_body_cut_short_and_a_timeout_are_named() {
        let url =
            answering(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nshort")
                .await;
        let err = LogClient::new(&url)
            .unwrap()
            .checkpoint()
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("broke off") || msg.contains("closed the connection"),
            "{msg}"
        );
        assert_plain_words(&msg);
        assert!(err.is_transient());

        // Headers, then nothing: the call's timeout ends it, and says so.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n")
                    .await;
                held.push(s);
            }
        });
        let client = LogClient::with_timeout(&url, Duration::from_millis(300)).unwrap();
        let msg = client.checkpoint().await.unwrap_err().to_string();
        assert!(msg.contains("timed out"), "{msg}");
        assert_plain_words(&msg);
    }

    #[tokio::test]
    async fn an_oversized_error_body_is_not_read_and_still_reported() {
        // 500 declaring a 1 TB problem body.
        let url = answering(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1000000000000\r\n\r\n{}",
        )
        .await;
        let err = LogClient::new(&url)
            .unwrap()
            .checkpoint()
            .await
            .unwrap_err();
        match &err {
            HttpError::Status { status, detail, .. } => {
                assert_eq!(*status, 500);
                assert!(detail.contains("not read"), "{detail}");
            }
            other => panic!("expected a status error, got {other}"),
        }
    }
}
