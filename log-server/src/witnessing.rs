//! The log side of witnessing (C2SP tlog-witness): after each checkpoint is
//! committed, the sequencer asks every configured witness to cosign it,
//! sending the size it last saw the witness cosign and a consistency proof
//! from it (built from the log's tiles). A 409 answer names the witness's
//! size; the request is retried once from it. Calls run concurrently, each
//! with a timeout; the checkpoint is published with the cosignatures that
//! verified. Fewer than the quorum is logged and counted, never fatal: the
//! log keeps serving, and clients' policies decide what they accept.

use std::time::Duration;

use provlog_client::witness::WitnessClient;
use provlog_core::hash::Hash;
use provlog_core::note::{Note, SIG_COSIGNATURE_V1, VerifierKey};
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::consistency_proof;
use provlog_core::witness::{AddCheckpointRequest, AddOutcome, attach_cosignatures};

use crate::store::{Store, StoreTiles};

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

struct Witness {
    target: WitnessTarget,
    client: WitnessClient,
    /// The size we believe the witness last cosigned (learned from 200s and 409s).
    known_size: u64,
}

/// Drives the witness calls from the sequencer thread.
pub struct Witnessing {
    witnesses: Vec<Witness>,
    quorum: usize,
    runtime: tokio::runtime::Runtime,
}

impl Witnessing {
    /// Sets up clients for `targets` with a per-request `timeout`.
    pub fn new(
        targets: Vec<WitnessTarget>,
        quorum: usize,
        timeout: Duration,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the witnessing runtime: {e}"))?;
        let mut witnesses = Vec::new();
        for t in targets {
            let client = WitnessClient::new(&t.url, timeout).map_err(|e| e.to_string())?;
            witnesses.push(Witness {
                target: t,
                client,
                known_size: 0,
            });
        }
        Ok(Witnessing {
            witnesses,
            quorum,
            runtime,
        })
    }

    /// Asks every witness to cosign `note` (a checkpoint of `size` leaves
    /// with `root`, already committed) and returns the note with the valid
    /// cosignatures appended.
    pub fn cosign(&mut self, note: &[u8], size: u64, store: &Store) -> Vec<u8> {
        let Ok(parsed) = Note::parse(note) else {
            return note.to_vec();
        };
        let proof_for = |old: u64| -> Option<Vec<Hash>> {
            if old == 0 || old >= size {
                return Some(Vec::new());
            }
            let reader = TileNodeReader::new(StoreTiles(store), size);
            consistency_proof(&reader, old, size).ok()
        };
        // Proofs are computed here (the store is not Send across the runtime).
        let mut jobs = Vec::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            let old = if w.known_size > size { 0 } else { w.known_size };
            let Some(proof) = proof_for(old) else {
                continue;
            };
            jobs.push((i, old, proof));
        }
        let mut results = self.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, old, proof) in jobs {
                let client = self.witnesses[i].client.clone();
                let req = AddCheckpointRequest {
                    old_size: old,
                    proof,
                    checkpoint: note.to_vec(),
                };
                set.spawn(async move { (i, client.add_checkpoint(&req).await) });
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                if let Ok(r) = r {
                    out.push(r);
                }
            }
            out
        });
        // Retry 409s once from the size the witness reported.
        let retries: Vec<(usize, u64)> = results
            .iter()
            .filter_map(|(i, r)| match r {
                Ok(AddOutcome::Conflict(s)) if *s <= size => Some((*i, *s)),
                _ => None,
            })
            .collect();
        for (i, s) in retries {
            self.witnesses[i].known_size = s;
            let Some(proof) = proof_for(s) else { continue };
            let req = AddCheckpointRequest {
                old_size: s,
                proof,
                checkpoint: note.to_vec(),
            };
            let client = self.witnesses[i].client.clone();
            let r = self
                .runtime
                .block_on(async move { client.add_checkpoint(&req).await });
            results.retain(|(j, _)| *j != i);
            results.push((i, r));
        }
        let mut out = parsed.clone();
        let mut got = 0usize;
        for (i, r) in results {
            let w = &mut self.witnesses[i];
            match r {
                Ok(AddOutcome::Cosigned(sigs)) => {
                    match attach_cosignatures(&out, &sigs, &w.target.key) {
                        Ok(n) => {
                            out = n;
                            got += 1;
                            w.known_size = size;
                        }
                        Err(e) => {
                            tracing::warn!(witness = w.target.url, error = %e, "witness answer rejected")
                        }
                    }
                }
                Ok(AddOutcome::Conflict(s)) => {
                    w.known_size = s;
                    tracing::warn!(
                        witness = w.target.url,
                        witness_size = s,
                        size,
                        "witness is at another size"
                    );
                }
                Err(e) => {
                    tracing::warn!(witness = w.target.url, error = %e, "witness did not cosign")
                }
            }
        }
        if got < self.quorum {
            tracing::warn!(
                got,
                quorum = self.quorum,
                size,
                "checkpoint published below the witness quorum"
            );
        }
        out.to_bytes()
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
