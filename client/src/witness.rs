//! The async client a log uses to ask a C2SP tlog-witness for a
//! cosignature (`POST <prefix>/add-checkpoint`). Formats are in
//! [`provlog_core::witness`].
//!
//! How answers map (tlog-witness main, spec/witness.md):
//!
//! | answer | result | what the log does |
//! |---|---|---|
//! | 200, signature lines | `Ok(AddOutcome::Cosigned(lines))`: every line, of any key type (cosignature/v1 `0x04`, subtree/v1 `0x06`), unverified | keep the lines that verify under the witness's configured keys ([`provlog_core::witness::attach_cosignatures_any`]) |
//! | 409, `<size>\n` | `Ok(AddOutcome::Conflict(size))` | retry once from `size` |
//! | 422 | `Err(WitnessCallError::Inconsistent)` | alert: the witness holds a checkpoint this one contradicts (same size, other root; or no consistency proof from its size); do not retry |
//! | other status, or a 409 without a size | `Err(WitnessCallError::Witness(WitnessError::Status { .. }))` | log, try again on the next checkpoint |
//! | too large, unreachable, timeout | `TooLarge`, `Transport` | log, try again on the next checkpoint |

use provlog_core::witness::{
    AddCheckpointRequest, AddOutcome, WitnessError, parse_cosignature_response, parse_size_body,
};

use crate::bounded::{BodyError, read_limited};
use crate::cause::{check_url, describe};
use crate::limits;

/// Why an add-checkpoint call failed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessCallError {
    /// The witness URL cannot be used (no scheme, no host...).
    #[error("bad witness URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The witness could not be reached, the connection failed, or the call
    /// timed out.
    #[error("witness {url}: {}", describe(.source))]
    Transport {
        /// The add-checkpoint URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The answer is larger than any honest answer; reading stopped at the limit.
    #[error("witness {url}: the response is larger than the {limit}-byte limit")]
    TooLarge {
        /// The add-checkpoint URL.
        url: String,
        /// The limit ([`limits::COSIGNATURE`]).
        limit: usize,
    },
    /// The witness answered, but not with a valid answer.
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// 422: the witness refuses the checkpoint as inconsistent with the
    /// latest one it cosigned (same size with another root, a consistency
    /// proof that does not verify, a size-0 checkpoint with another root,
    /// or a proof from size 0). Either the log forked or the witness was
    /// told another history: alert, and do not retry the same request.
    #[error(
        "witness {url} refuses the checkpoint as inconsistent with what it cosigned (HTTP 422): {detail}"
    )]
    Inconsistent {
        /// The add-checkpoint URL.
        url: String,
        /// The witness's reason (a problem document's `detail`, or the
        /// start of the body).
        detail: String,
    },
}

impl WitnessCallError {
    /// Whether this is the 422 "inconsistent" refusal (alert, no retry).
    pub fn is_inconsistent(&self) -> bool {
        matches!(self, Self::Inconsistent { .. })
    }
}

/// What to show of an error body: a problem document's `detail` (or
/// `title`), else the start of the text.
fn error_detail(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("detail")
                .or_else(|| v.get("title"))
                .and_then(|d| d.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
        .chars()
        .take(200)
        .collect()
}

/// An async client for one witness's submission prefix.
#[derive(Clone, Debug)]
pub struct WitnessClient {
    url: String,
    http: reqwest::Client,
}

impl WitnessClient {
    /// A client for the witness whose submission prefix is `prefix`, with a
    /// per-request `timeout` (connect, request and the whole answer: it is
    /// what bounds a witness that trickles its answer).
    pub fn new(prefix: &str, timeout: std::time::Duration) -> Result<Self, WitnessCallError> {
        check_url(prefix).map_err(|reason| WitnessCallError::BadUrl {
            url: prefix.to_string(),
            reason,
        })?;
        let url = format!("{}/add-checkpoint", prefix.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|source| WitnessCallError::Transport {
                url: url.clone(),
                source,
            })?;
        Ok(Self { url, http })
    }

    /// The add-checkpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one add-checkpoint request. The answer is read up to
    /// [`limits::COSIGNATURE`] bytes, cut off while it streams; the module
    /// documentation says how each answer maps.
    pub async fn add_checkpoint(
        &self,
        req: &AddCheckpointRequest,
    ) -> Result<AddOutcome, WitnessCallError> {
        let transport = |source| WitnessCallError::Transport {
            url: self.url.clone(),
            source,
        };
        let resp = self
            .http
            .post(&self.url)
            .body(req.to_bytes())
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let body = read_limited(resp, limits::COSIGNATURE)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { limit } => WitnessCallError::TooLarge {
                    url: self.url.clone(),
                    limit,
                },
                BodyError::Transport(source) => transport(source),
            })?;
        match status {
            200 => Ok(AddOutcome::Cosigned(parse_cosignature_response(&body)?)),
            409 => match parse_size_body(&body) {
                Ok(size) => Ok(AddOutcome::Conflict(size)),
                // tlog-witness requires the size; a witness following the
                // v1.0.0 text answered a same-size fork with a 409 and no
                // size: reported as it is, not retried.
                Err(_) => Err(WitnessError::Status {
                    url: self.url.clone(),
                    status,
                    body: error_detail(&body),
                }
                .into()),
            },
            422 => Err(WitnessCallError::Inconsistent {
                url: self.url.clone(),
                detail: error_detail(&body),
            }),
            _ => Err(WitnessError::Status {
                url: self.url.clone(),
                status,
                body: error_detail(&body),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::checkpoint::{Checkpoint, LogSigner};
    use provlog_core::hash::EMPTY_ROOT;
    use provlog_core::note::{MlDsa44NoteSigner, Note, NoteSigner};
    use provlog_core::witness::{attach_cosignatures_any, cosignature_response};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A witness that answers every request with `status`, `content_type`
    /// and `body` (after reading the request's headers and body).
    async fn fake(status: u16, content_type: &'static str, body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    // Headers, then the declared body.
                    loop {
                        let Ok(n) = s.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        req.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&req).into_owned();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let len = text
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if req.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&body).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        url
    }

    fn request() -> (AddCheckpointRequest, Note) {
        let log =
            LogSigner::new(NoteSigner::generate("client.example/log").unwrap(), None).unwrap();
        let note = log
            .sign(
                &Checkpoint::new("client.example/log", 0, EMPTY_ROOT),
                1_790_000_000,
            )
            .unwrap();
        let parsed = Note::parse(&note).unwrap();
        (
            AddCheckpointRequest {
                old_size: 0,
                proof: vec![],
                checkpoint: note,
            },
            parsed,
        )
    }

    async fn call(url: &str, req: &AddCheckpointRequest) -> Result<AddOutcome, WitnessCallError> {
        WitnessClient::new(url, std::time::Duration::from_secs(10))
            .unwrap()
            .add_checkpoint(req)
            .await
    }

    #[tokio::test]
    async fn cosignature_lines_of_both_key_types_are_kept() {
        let (req, note) = request();
        let cp = Checkpoint::parse(&note.text).unwrap();
        let ed = NoteSigner::generate_cosigner("w.example").unwrap();
        let ml = MlDsa44NoteSigner::generate("w.example").unwrap();
        let lines = vec![
            Note::sign(&note.text, &ed, 1_790_000_001).unwrap(),
            ml.cosign(&cp, 1_790_000_001).unwrap(),
        ];
        let url = fake(
            200,
            "text/plain; charset=utf-8",
            cosignature_response(&lines),
        )
        .await;
        let Ok(AddOutcome::Cosigned(got)) = call(&url, &req).await else {
            panic!("cosigned")
        };
        assert_eq!(got, lines);
        // The log keeps the lines of the keys it configured for the witness.
        let keys = [ed.verifier_key(), ml.verifier_key()];
        let with = attach_cosignatures_any(&note, &got, &keys).unwrap();
        assert_eq!(with.signatures.len(), note.signatures.len() + 2);
        assert_eq!(with.verify(&keys).unwrap().len(), 2);
        let only_ml = attach_cosignatures_any(&note, &got, &keys[1..]).unwrap();
        assert_eq!(only_ml.signatures.len(), note.signatures.len() + 1);
    }

    #[tokio::test]
    async fn every_status_maps_to_its_outcome() {
        let (req, _) = request();
        let problem = |status: u16, detail: &str| {
            serde_json::json!({
                "type": "urn:provlog:problem:x", "title": "t", "status": status, "detail": detail
            })
            .to_string()
            .into_bytes()
        };
        // 409 with a size: retry from it.
        let url = fake(409, "text/x.tlog.size", b"42\n".to_vec()).await;
        assert!(matches!(
            call(&url, &req).await,
            Ok(AddOutcome::Conflict(42))
        ));
        // 422: inconsistent, a distinct error with the witness's reason.
        let url = fake(
            422,
            "application/problem+json",
            problem(
                422,
                "same size as the latest cosigned checkpoint (9), different root",
            ),
        )
        .await;
        let e = call(&url, &req).await.unwrap_err();
        assert!(e.is_inconsistent(), "{e:?}");
        let WitnessCallError::Inconsistent { detail, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(detail.contains("different root"), "{detail}");
        assert!(e.to_string().contains("422"), "{e}");
        // A v1.0.0 witness's 409 without a size, and every other refusal:
        // a status error (not inconsistent, not a conflict).
        for (status, ct, body) in [
            (409u16, "text/plain", b"same size, different root".to_vec()),
            (400, "application/problem+json", problem(400, "malformed")),
            (
                403,
                "application/problem+json",
                problem(403, "bad signature"),
            ),
            (404, "application/problem+json", problem(404, "unknown log")),
            (500, "text/plain", b"boom".to_vec()),
        ] {
            let url = fake(status, ct, body).await;
            let e = call(&url, &req).await.unwrap_err();
            assert!(!e.is_inconsistent(), "{status}");
            assert!(
                matches!(&e, WitnessCallError::Witness(WitnessError::Status { status: s, .. }) if *s == status),
                "{status}: {e:?}"
            );
        }
        // A 200 that is not signature lines is malformed.
        let url = fake(200, "text/plain", b"not a line\n".to_vec()).await;
        assert!(matches!(
            call(&url, &req).await,
            Err(WitnessCallError::Witness(WitnessError::MalformedResponse(
                _
            )))
        ));
    }
}
