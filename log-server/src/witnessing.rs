//! The log side of one C2SP tlog-witness: who the witness is
//! ([`WitnessTarget`]), how it is called ([`WitnessCaller`], a seam so the
//! publisher can be tested with in-process witnesses), and one
//! add-checkpoint exchange ([`ask`]): it sends the size the log last saw
//! the witness cosign with a consistency proof from it (built from the
//! log's tiles); a 409 answer names the witness's size, and the request is
//! retried once from it. Each call is bounded by the witness timeout.
//! Rounds over all witnesses, and what is published, are in
//! [`crate::publisher`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use provlog_client::witness::WitnessClient;
use provlog_core::hash::Hash;
use provlog_core::note::{SIG_COSIGNATURE_V1, VerifierKey};
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::consistency_proof;
use provlog_core::witness::{AddCheckpointRequest, AddOutcome};

use crate::storage::{LogStorage, StorageTiles};

/// A configured witness: its cosignature/v1 key and submission prefix.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// The witness's verifier key.
    pub key: VerifierKey,
    /// Its submission prefix (`add-checkpoint` is appended).
    pub url: String,
}

impl WitnessTarget {
    /// Parses `VKEY=URL`. The split is at the `=` before `http://` or
    /// `https://` (a vkey's base64 of 33 bytes has no `=` padding).
    pub fn parse(s: &str) -> Result<Self, String> {
        let at = s
            .find("=http://")
            .or_else(|| s.find("=https://"))
            .ok_or_else(|| format!("witness {s:?}: expected VKEY=URL"))?;
        let (vkey, url) = s.split_at(at);
        let key = VerifierKey::parse(vkey).map_err(|e| format!("witness vkey {vkey}: {e}"))?;
        if key.key_type() != SIG_COSIGNATURE_V1 {
            return Err(format!("witness vkey {vkey} is not a cosignature/v1 key"));
        }
        Ok(WitnessTarget {
            key,
            url: url.trim_start_matches('=').trim_end_matches('/').to_owned(),
        })
    }
}

/// The future of one add-checkpoint call.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<AddOutcome, String>> + Send>>;

/// Sends one add-checkpoint request to a witness.
pub trait WitnessCaller: Send + Sync {
    /// One request; the caller bounds it with the witness timeout.
    fn add_checkpoint(&self, req: AddCheckpointRequest) -> CallFuture;
}

/// The HTTP caller: [`WitnessClient`] (its reads are bounded there).
pub struct HttpWitness(pub WitnessClient);

impl WitnessCaller for HttpWitness {
    fn add_checkpoint(&self, req: AddCheckpointRequest) -> CallFuture {
        let client = self.0.clone();
        Box::pin(async move { client.add_checkpoint(&req).await.map_err(|e| e.to_string()) })
    }
}

/// A consistency proof from `old` to `size` from the stored tiles (empty for
/// 0 and for `size` itself), on a blocking thread: tile reads may be I/O.
async fn proof_from(log: Arc<dyn LogStorage>, old: u64, size: u64) -> Result<Vec<Hash>, String> {
    if old == 0 || old >= size {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || {
        let reader = TileNodeReader::new(StorageTiles(&*log), size);
        consistency_proof(&reader, old, size).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("proof task failed: {e}"))?
}

/// What one exchange with a witness ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The witness's answer to the last request sent, or why there was none.
    pub outcome: Result<AddOutcome, String>,
    /// The size the witness is now believed to have cosigned last.
    pub known_size: u64,
    /// Requests sent (1, or 2 after a 409).
    pub requests: u32,
}

/// One add-checkpoint exchange for the log-signed `note` of a tree of
/// `size`: from `known_size` (0 if it is beyond `size`), retried once from
/// the size a 409 names. Each request is bounded by `timeout`.
pub async fn ask(
    caller: Arc<dyn WitnessCaller>,
    log: Arc<dyn LogStorage>,
    note: Vec<u8>,
    size: u64,
    known_size: u64,
    timeout: Duration,
) -> Exchange {
    let mut old = if known_size > size { 0 } else { known_size };
    let mut known = known_size;
    let mut requests = 0;
    loop {
        let proof = match proof_from(log.clone(), old, size).await {
            Ok(p) => p,
            Err(e) => {
                return Exchange {
                    outcome: Err(format!(
                        "cannot build the consistency proof from {old}: {e}"
                    )),
                    known_size: known,
                    requests,
                };
            }
        };
        let req = AddCheckpointRequest {
            old_size: old,
            proof,
            checkpoint: note.clone(),
        };
        requests += 1;
        let outcome = match tokio::time::timeout(timeout, caller.add_checkpoint(req)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        };
        match outcome {
            Ok(AddOutcome::Conflict(s)) => {
                known = s;
                if requests == 1 && s <= size && s != old {
                    old = s;
                    continue;
                }
                return Exchange {
                    outcome: Ok(AddOutcome::Conflict(s)),
                    known_size: known,
                    requests,
                };
            }
            Ok(AddOutcome::Cosigned(sigs)) => {
                return Exchange {
                    outcome: Ok(AddOutcome::Cosigned(sigs)),
                    known_size: size,
                    requests,
                };
            }
            Err(e) => {
                return Exchange {
                    outcome: Err(e),
                    known_size: known,
                    requests,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::note::NoteSigner;

    #[test]
    fn parses_vkey_equals_url() {
        let w = NoteSigner::generate_cosigner("w.example/1")
            .unwrap()
            .verifier_key();
        let t = WitnessTarget::parse(&format!("{w}=http://127.0.0.1:9/")).unwrap();
        assert_eq!(t.key, w);
        assert_eq!(t.url, "http://127.0.0.1:9");
        assert!(WitnessTarget::parse("http://x").is_err());
        let log = NoteSigner::generate("log").unwrap().verifier_key();
        assert!(WitnessTarget::parse(&format!("{log}=http://x")).is_err());
    }
}
