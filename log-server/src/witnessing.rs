//! The log side of one C2SP tlog-witness: who the witness is
//! ([`WitnessTarget`]), how it is called ([`WitnessCaller`], a seam so the
//! publisher can be tested with in-process witnesses), and one
//! add-checkpoint exchange ([`ask`]): it sends the size the log last saw
//! the witness cosign with a consistency proof from it (built from the
//! log's tiles); a 409 answer names the witness's size, and the request is
//! retried once from it; a 422 answer ([`CallError::Inconsistent`]) says
//! the witness holds a checkpoint this one contradicts, and is not retried.
//! Each call is bounded by the witness timeout. Rounds over all witnesses,
//! and what is published, are in [`crate::publisher`].
//!
//! A witness may have several keys (a cosignature/v1 key `0x04` and an
//! ML-DSA-44 subtree/v1 key `0x06`): configured as one `VKEY=URL` per key,
//! the keys with the same URL are one witness ([`group_targets`]), asked
//! once per checkpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use provlog_client::witness::{WitnessCallError, WitnessClient};
use provlog_core::hash::Hash;
use provlog_core::note::{SIG_COSIGNATURE_V1, SIG_ML_DSA_44, VerifierKey};
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::consistency_proof;
use provlog_core::witness::{AddCheckpointRequest, AddOutcome};

use crate::storage::{LogStorage, StorageTiles};

/// One configured witness key: a cosignature/v1 (`0x04`) or ML-DSA-44
/// subtree/v1 (`0x06`) key, and the witness's submission prefix.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// The witness's verifier key.
    pub key: VerifierKey,
    /// Its submission prefix (`add-checkpoint` is appended).
    pub url: String,
}

impl WitnessTarget {
    /// Parses `VKEY=URL`. The split is at the `=` before `http://` or
    /// `https://` (an Ed25519 vkey's base64 of 33 bytes has no `=` padding;
    /// an ML-DSA-44 vkey's ends in one `=`, which the search skips).
    pub fn parse(s: &str) -> Result<Self, String> {
        let at = s
            .find("=http://")
            .or_else(|| s.find("=https://"))
            .ok_or_else(|| format!("witness {s:?}: expected VKEY=URL"))?;
        let (vkey, url) = s.split_at(at);
        let key = VerifierKey::parse(vkey).map_err(|e| format!("witness vkey {vkey}: {e}"))?;
        if !matches!(key.key_type(), SIG_COSIGNATURE_V1 | SIG_ML_DSA_44) {
            return Err(format!(
                "witness vkey {vkey} is neither a cosignature/v1 (0x04) nor an ML-DSA-44 (0x06) key"
            ));
        }
        Ok(WitnessTarget {
            key,
            url: url.trim_start_matches('=').trim_end_matches('/').to_owned(),
        })
    }
}

/// One witness with all its configured keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessGroup {
    /// Its keys, in configuration order; each key's cosignature counts
    /// toward the quorum.
    pub keys: Vec<VerifierKey>,
    /// Its submission prefix.
    pub url: String,
}

/// Groups configured witness keys by URL (first appearance order): the
/// keys of one URL are one witness, asked once per checkpoint. A key
/// configured twice is an error (it would count twice toward the quorum).
pub fn group_targets(targets: &[WitnessTarget]) -> Result<Vec<WitnessGroup>, String> {
    let mut groups: Vec<WitnessGroup> = Vec::new();
    for t in targets {
        if groups.iter().any(|g| g.keys.contains(&t.key)) {
            return Err(format!("witness vkey {} is configured twice", t.key));
        }
        match groups.iter_mut().find(|g| g.url == t.url) {
            Some(g) => g.keys.push(t.key.clone()),
            None => groups.push(WitnessGroup {
                keys: vec![t.key.clone()],
                url: t.url.clone(),
            }),
        }
    }
    Ok(groups)
}

/// Why an add-checkpoint call gave no answer the log can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// 422: the witness refuses the checkpoint as inconsistent with what it
    /// cosigned before. An alert; the same checkpoint is not sent again.
    #[error("{0}")]
    Inconsistent(String),
    /// Anything else (unreachable, timeout, another status, a bad answer):
    /// the next checkpoint is sent as usual.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for CallError {
    fn from(e: String) -> Self {
        CallError::Failed(e)
    }
}

impl CallError {
    /// Whether this is the 422 refusal.
    pub fn is_inconsistent(&self) -> bool {
        matches!(self, CallError::Inconsistent(_))
    }
}

/// The future of one add-checkpoint call.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<AddOutcome, CallError>> + Send>>;

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
        Box::pin(async move {
            client.add_checkpoint(&req).await.map_err(|e| match e {
                WitnessCallError::Inconsistent { .. } => CallError::Inconsistent(e.to_string()),
                e => CallError::Failed(e.to_string()),
            })
        })
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
    pub outcome: Result<AddOutcome, CallError>,
    /// The size the witness is now believed to have cosigned last.
    pub known_size: u64,
    /// The old size of the last request sent.
    pub old_size: u64,
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
                    outcome: Err(CallError::Failed(format!(
                        "cannot build the consistency proof from {old}: {e}"
                    ))),
                    known_size: known,
                    old_size: old,
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
            Err(_) => Err(CallError::Failed(format!(
                "no answer within {} ms",
                timeout.as_millis()
            ))),
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
                    old_size: old,
                    requests,
                };
            }
            Ok(AddOutcome::Cosigned(sigs)) => {
                return Exchange {
                    outcome: Ok(AddOutcome::Cosigned(sigs)),
                    known_size: size,
                    old_size: old,
                    requests,
                };
            }
            Err(e) => {
                // A 422 (also after a 409's retry) ends the exchange: the
                // witness's view contradicts this checkpoint.
                return Exchange {
                    outcome: Err(e),
                    known_size: known,
                    old_size: old,
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
    use provlog_core::note::{MlDsa44NoteSigner, NoteSigner};

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

    #[test]
    fn ml_dsa_44_witness_keys_parse_and_group_with_their_url() {
        let ed = NoteSigner::generate_cosigner("w.example")
            .unwrap()
            .verifier_key();
        let pq = MlDsa44NoteSigner::generate("w.example")
            .unwrap()
            .verifier_key();
        // Its base64 ends in '=' padding, right before "=http://".
        assert!(pq.to_vkey().ends_with('='));
        let t = WitnessTarget::parse(&format!("{pq}=http://127.0.0.1:9")).unwrap();
        assert_eq!(
            (t.key.key_type(), t.url.as_str()),
            (0x06, "http://127.0.0.1:9")
        );
        let other = NoteSigner::generate_cosigner("v.example")
            .unwrap()
            .verifier_key();
        let targets: Vec<WitnessTarget> = [
            format!("{ed}=http://127.0.0.1:9/"),
            format!("{other}=http://127.0.0.1:8"),
            format!("{pq}=http://127.0.0.1:9"),
        ]
        .iter()
        .map(|s| WitnessTarget::parse(s).unwrap())
        .collect();
        let groups = group_targets(&targets).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].keys, vec![ed.clone(), pq.clone()]);
        assert_eq!(groups[1].keys, vec![other]);
        let twice = [targets[0].clone(), targets[0].clone()];
        assert!(group_targets(&twice).unwrap_err().contains("twice"));
    }
}
