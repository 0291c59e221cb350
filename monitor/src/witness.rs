//! The witness state machine (C2SP tlog-witness, spec/witness.md) as plain
//! types: [`Witness::add_checkpoint`] takes a request body and returns a
//! cosignature or a typed [`AddCheckpointError`]; the HTTP layer only maps
//! those to status codes ([`AddCheckpointError::status`]).
//!
//! The witness owns its lock: the comparison with the latest cosigned
//! checkpoint and the durable write of the new one happen in one critical
//! section inside [`Witness::add_checkpoint`], so no caller can forget it
//! and two requests from one old size can never both be cosigned. Calls
//! block (they fsync): run them on a blocking thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use provlog_core::checkpoint::{Checkpoint, CheckpointError, verify_checkpoint};
use provlog_core::hash::EMPTY_ROOT;
use provlog_core::note::{Note, NoteError, NoteSignature, NoteSigner, VerifierKey};
use provlog_core::proof::verify_consistency;
use provlog_core::witness::AddCheckpointRequest;

use crate::store::StoreError;

/// Where the witness keeps the latest checkpoint it cosigned per log.
pub trait WitnessStore: Send + Sync {
    /// The latest cosigned checkpoint of `origin` (with this witness's
    /// cosignature), if any.
    fn latest(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records `note` as the latest cosigned checkpoint of `origin`. Must be
    /// durable (fsync'd) when it returns Ok: the cosignature is released
    /// only after it.
    fn set_latest(&self, origin: &str, note: &[u8]) -> Result<(), StoreError>;
}

/// Why a checkpoint was not cosigned, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointError {
    /// The body or the note is malformed (400).
    #[error("{0}")]
    Malformed(String),
    /// The note's origin is not a log this witness knows (404).
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// No signature by the log's key verifies (403).
    #[error("no valid signature by the log's key")]
    BadSignature,
    /// `old` is larger than the checkpoint's size (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// `old` is not the size this witness last cosigned (409, with it).
    #[error("old size is not the latest cosigned size {latest}")]
    Stale {
        /// The size of the latest checkpoint cosigned (0 if none).
        latest: u64,
    },
    /// Same size as the latest cosigned checkpoint, different root (409):
    /// a split view.
    #[error("same size as the latest cosigned checkpoint ({size}), different root")]
    Fork {
        /// The size.
        size: u64,
    },
    /// The consistency proof does not verify (422).
    #[error("consistency proof: {0}")]
    BadProof(String),
    /// The stored state or the signer failed (500); nothing was cosigned.
    #[error("witness storage: {0}")]
    Internal(String),
}

impl AddCheckpointError {
    /// The tlog-witness HTTP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::BadSignature => 403,
            Self::UnknownLog(_) => 404,
            Self::Stale { .. } | Self::Fork { .. } => 409,
            Self::BadProof(_) => 422,
            Self::Internal(_) => 500,
        }
    }
}

/// A request whose checkpoint verified under the log's key (whatever the
/// outcome, the monitor compares it with what it audited).
#[derive(Debug, Clone)]
pub struct Submission {
    /// The log's origin.
    pub origin: String,
    /// The checkpoint note as received.
    pub note: Vec<u8>,
    /// Its parsed body.
    pub checkpoint: Checkpoint,
}

/// The witness: its key, the logs it witnesses, and their latest state.
pub struct Witness {
    signer: NoteSigner,
    logs: HashMap<String, VerifierKey>,
    store: Arc<dyn WitnessStore>,
    /// Held across the size check and the write of each update.
    update: Mutex<()>,
    clock: fn() -> u64,
}

fn now_secs() -> u64 {
    crate::now_ms() / 1000
}

impl Witness {
    /// A witness signing with `signer` for the logs `logs` (log keys; the
    /// origin is the key name), keeping its state in `store`.
    pub fn new(
        signer: NoteSigner,
        logs: impl IntoIterator<Item = VerifierKey>,
        store: Arc<dyn WitnessStore>,
    ) -> Self {
        Witness {
            signer,
            logs: logs.into_iter().map(|k| (k.name().to_owned(), k)).collect(),
            store,
            update: Mutex::new(()),
            clock: now_secs,
        }
    }

    /// The same witness with a fixed clock (tests).
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    /// The witness's verifier key (cosignature/v1).
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    /// Handles one add-checkpoint body. Returns the cosignature and, when
    /// the checkpoint verified under the log's key, the [`Submission`]
    /// (also when it was refused: a refused fork is still something the
    /// monitor must compare with its audited tree).
    pub fn add_checkpoint(
        &self,
        body: &[u8],
    ) -> (
        Result<NoteSignature, AddCheckpointError>,
        Option<Submission>,
    ) {
        let (req, sub) = match self.verify(body) {
            Ok(v) => v,
            Err(e) => return (Err(e), None),
        };
        let result = self.update(&req, &sub);
        (result, Some(sub))
    }

    /// Parses the body and verifies the checkpoint under the log's key.
    fn verify(
        &self,
        body: &[u8],
    ) -> Result<(AddCheckpointRequest, Submission), AddCheckpointError> {
        let req = AddCheckpointRequest::parse(body)
            .map_err(|e| AddCheckpointError::Malformed(e.to_string()))?;
        let note = Note::parse(&req.checkpoint)
            .map_err(|_| AddCheckpointError::Malformed("malformed checkpoint note".into()))?;
        let origin = note.text.split('\n').next().unwrap_or_default().to_owned();
        let key = self
            .logs
            .get(&origin)
            .ok_or_else(|| AddCheckpointError::UnknownLog(origin.clone()))?;
        let verified = verify_checkpoint(&req.checkpoint, key).map_err(|e| match e {
            CheckpointError::Note(
                NoteError::NoKnownSignature | NoteError::InvalidSignature { .. },
            ) => AddCheckpointError::BadSignature,
            e => AddCheckpointError::Malformed(e.to_string()),
        })?;
        let sub = Submission {
            origin,
            note: req.checkpoint.clone(),
            checkpoint: verified.checkpoint,
        };
        Ok((req, sub))
    }

    /// The state transition, under the lock: compare with the latest
    /// cosigned checkpoint, check the proof, cosign, store durably.
    fn update(
        &self,
        req: &AddCheckpointRequest,
        sub: &Submission,
    ) -> Result<NoteSignature, AddCheckpointError> {
        let cp = &sub.checkpoint;
        if req.old_size > cp.size {
            return Err(AddCheckpointError::OldSizeTooLarge {
                old: req.old_size,
                size: cp.size,
            });
        }
        let _guard = self.update.lock().unwrap_or_else(|e| e.into_inner());
        let (latest_size, latest_root) = match self.latest_checkpoint(&sub.origin)? {
            Some(c) => (c.size, c.root),
            None => (0, EMPTY_ROOT),
        };
        if req.old_size != latest_size {
            return Err(AddCheckpointError::Stale {
                latest: latest_size,
            });
        }
        if req.old_size == cp.size {
            if cp.root != latest_root {
                return Err(AddCheckpointError::Fork { size: cp.size });
            }
        } else {
            verify_consistency(req.old_size, cp.size, &latest_root, &cp.root, &req.proof)
                .map_err(|e| AddCheckpointError::BadProof(e.to_string()))?;
        }
        let text = String::from_utf8_lossy(&sub.note);
        let mut note = Note::parse(text.as_bytes())
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        let sig = Note::sign(&note.text, &self.signer, (self.clock)())
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        note.signatures.retain(|s| !self.is_own(s));
        note.signatures.push(sig.clone());
        self.store
            .set_latest(&sub.origin, &note.to_bytes())
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        tracing::debug!(origin = sub.origin, size = cp.size, "cosigned");
        Ok(sig)
    }

    fn is_own(&self, s: &NoteSignature) -> bool {
        s.name == self.signer.name() && s.key_id == self.signer.key_id()
    }

    /// The latest cosigned checkpoint of `origin`, re-verified under the
    /// log's key.
    fn latest_checkpoint(&self, origin: &str) -> Result<Option<Checkpoint>, AddCheckpointError> {
        let Some(key) = self.logs.get(origin) else {
            return Ok(None);
        };
        match self.store.latest(origin) {
            Ok(Some(n)) => verify_checkpoint(&n, key)
                .map(|v| Some(v.checkpoint))
                .map_err(|e| AddCheckpointError::Internal(format!("stored state: {e}"))),
            Ok(None) => Ok(None),
            Err(e) => Err(AddCheckpointError::Internal(e.to_string())),
        }
    }

    /// The latest cosigned checkpoint note of `origin`, with this witness's
    /// cosignature (the monitoring endpoint serves it).
    pub fn latest(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.latest(origin)
    }

    /// The latest cosigned checkpoint of `origin` as the log signed it
    /// (this witness's cosignature removed), so evidence built from it
    /// matches the note as received.
    pub fn latest_as_signed(&self, origin: &str) -> Option<(Checkpoint, Vec<u8>)> {
        let key = self.logs.get(origin)?;
        let stored = self.store.latest(origin).ok()??;
        let mut note = Note::parse(&stored).ok()?;
        note.signatures.retain(|s| !self.is_own(s));
        let bytes = note.to_bytes();
        let cp = verify_checkpoint(&bytes, key).ok()?.checkpoint;
        Some((cp, bytes))
    }
}

/// A [`WitnessStore`] in memory, with fault injection (tests).
#[derive(Default)]
pub struct MemoryWitnessStore {
    state: Mutex<HashMap<String, Vec<u8>>>,
    /// When set, every write fails (and stores nothing).
    pub fail_writes: std::sync::atomic::AtomicBool,
}

impl WitnessStore for MemoryWitnessStore {
    fn latest(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
            .cloned())
    }

    fn set_latest(&self, origin: &str, note: &[u8]) -> Result<(), StoreError> {
        if self.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Corrupt("injected write failure".into()));
        }
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(origin.to_owned(), note.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::checkpoint::sign_checkpoint;
    use provlog_core::hash::Hash;
    use provlog_core::tree::{MemoryTree, consistency_proof, tree_root};
    use std::sync::atomic::Ordering;

    const ORIGIN: &str = "witnessed.example/log";

    struct Fixture {
        log: NoteSigner,
        honest: MemoryTree,
        fork: MemoryTree,
        witness: Witness,
        store: Arc<MemoryWitnessStore>,
        stranger: NoteSigner,
        impostor: NoteSigner,
    }

    fn fixture() -> Fixture {
        let log = NoteSigner::generate(ORIGIN).unwrap();
        let store = Arc::new(MemoryWitnessStore::default());
        let signer = NoteSigner::generate_cosigner("w.example").unwrap();
        let witness =
            Witness::new(signer, [log.verifier_key()], store.clone()).with_clock(|| 1_790_000_000);
        Fixture {
            log,
            honest: MemoryTree::from_entries((0..40u32).map(|i| format!("honest {i}"))),
            fork: MemoryTree::from_entries((0..40u32).map(|i| format!("fork {i}"))),
            witness,
            store,
            stranger: NoteSigner::generate("stranger.example").unwrap(),
            impostor: NoteSigner::generate(ORIGIN).unwrap(),
        }
    }

    fn root(t: &MemoryTree, size: u64) -> Hash {
        tree_root(&t.at_size(size).unwrap(), size).unwrap()
    }

    fn note(signer: &NoteSigner, t: &MemoryTree, size: u64) -> Vec<u8> {
        let cp = Checkpoint::new(signer.name(), size, root(t, size)).with_timestamp(1);
        sign_checkpoint(&cp, signer).unwrap()
    }

    fn proof(t: &MemoryTree, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old == new {
            return vec![];
        }
        consistency_proof(&t.at_size(new).unwrap(), old, new).unwrap()
    }

    fn body(old: u64, proof: Vec<Hash>, note: Vec<u8>) -> Vec<u8> {
        AddCheckpointRequest {
            old_size: old,
            proof,
            checkpoint: note,
        }
        .to_bytes()
    }

    /// What one request should produce.
    #[derive(Debug, PartialEq)]
    enum Want {
        Cosigned,
        Refused(AddCheckpointError),
    }

    fn latest_size(f: &Fixture) -> Option<u64> {
        f.witness.latest(ORIGIN).unwrap().map(|n| {
            Checkpoint::parse(&Note::parse(&n).unwrap().text)
                .unwrap()
                .size
        })
    }

    #[test]
    fn every_outcome_of_add_checkpoint() {
        use AddCheckpointError::*;
        // Each case: the witness state before (cosigned size, None = nothing),
        // the request, and what must happen; the state after is the new
        // size on success and unchanged otherwise.
        type Case = (&'static str, Option<u64>, fn(&Fixture) -> Vec<u8>, Want);
        let cases: Vec<Case> = vec![
            (
                "first checkpoint, old 0",
                None,
                |f| body(0, vec![], note(&f.log, &f.honest, 5)),
                Want::Cosigned,
            ),
            (
                "first checkpoint of size 0",
                None,
                |f| body(0, vec![], note(&f.log, &f.honest, 0)),
                Want::Cosigned,
            ),
            (
                "from a cosigned size 0 to 5, no proof",
                Some(0),
                |f| body(0, vec![], note(&f.log, &f.honest, 5)),
                Want::Cosigned,
            ),
            (
                "old 0 when 5 is cosigned",
                Some(5),
                |f| body(0, vec![], note(&f.log, &f.honest, 9)),
                Want::Refused(Stale { latest: 5 }),
            ),
            (
                "old 0, size 0, when 5 is cosigned",
                Some(5),
                |f| body(0, vec![], note(&f.log, &f.honest, 0)),
                Want::Refused(Stale { latest: 5 }),
            ),
            (
                "old 3 when nothing is cosigned",
                None,
                |f| body(3, proof(&f.honest, 3, 9), note(&f.log, &f.honest, 9)),
                Want::Refused(Stale { latest: 0 }),
            ),
            (
                "stale old size",
                Some(9),
                |f| body(5, proof(&f.honest, 5, 12), note(&f.log, &f.honest, 12)),
                Want::Refused(Stale { latest: 9 }),
            ),
            (
                "consistent growth",
                Some(5),
                |f| body(5, proof(&f.honest, 5, 9), note(&f.log, &f.honest, 9)),
                Want::Cosigned,
            ),
            (
                "same size, same root (fresh timestamp)",
                Some(9),
                |f| body(9, vec![], note(&f.log, &f.honest, 9)),
                Want::Cosigned,
            ),
            (
                "same size, different root",
                Some(9),
                |f| body(9, vec![], note(&f.log, &f.fork, 9)),
                Want::Refused(Fork { size: 9 }),
            ),
            (
                "growth into a fork",
                Some(5),
                |f| body(5, proof(&f.honest, 5, 9), note(&f.log, &f.fork, 9)),
                Want::Refused(BadProof(String::new())),
            ),
            (
                "tampered proof",
                Some(5),
                |f| {
                    let mut p = proof(&f.honest, 5, 9);
                    p[0][0] ^= 1;
                    body(5, p, note(&f.log, &f.honest, 9))
                },
                Want::Refused(BadProof(String::new())),
            ),
            (
                "proof from 0 is not empty",
                Some(0),
                |f| body(0, vec![[7; 32]], note(&f.log, &f.honest, 5)),
                Want::Refused(BadProof(String::new())),
            ),
            (
                "old above size",
                Some(5),
                |f| body(6, vec![], note(&f.log, &f.honest, 5)),
                Want::Refused(OldSizeTooLarge { old: 6, size: 5 }),
            ),
            (
                "unknown origin",
                Some(5),
                |f| body(5, vec![], note(&f.stranger, &f.honest, 5)),
                Want::Refused(UnknownLog("stranger.example".into())),
            ),
            (
                "right origin, unknown key",
                Some(5),
                |f| body(5, vec![], note(&f.impostor, &f.honest, 9)),
                Want::Refused(BadSignature),
            ),
            (
                "bad signature by the log's key",
                Some(5),
                |f| {
                    let mut n = Note::parse(&note(&f.log, &f.honest, 9)).unwrap();
                    n.signatures[0].signature[3] ^= 1;
                    body(5, proof(&f.honest, 5, 9), n.to_bytes())
                },
                Want::Refused(BadSignature),
            ),
            (
                "malformed body",
                Some(5),
                |_| b"old 5\nnot a note".to_vec(),
                Want::Refused(Malformed(String::new())),
            ),
            (
                "malformed note",
                Some(5),
                |_| b"old 5\n\nno signature\n".to_vec(),
                Want::Refused(Malformed(String::new())),
            ),
        ];
        for (name, before, make, want) in cases {
            let f = fixture();
            if let Some(size) = before {
                let (r, _) =
                    f.witness
                        .add_checkpoint(&body(0, vec![], note(&f.log, &f.honest, size)));
                r.unwrap();
            }
            let (got, sub) = f.witness.add_checkpoint(&make(&f));
            let after = latest_size(&f);
            match (&want, &got) {
                (Want::Cosigned, Ok(sig)) => {
                    let sub = sub.expect("a cosigned checkpoint verified");
                    assert_eq!(after, Some(sub.checkpoint.size), "{name}: new state");
                    // The cosignature verifies over the checkpoint sent.
                    let mut n = Note::parse(&sub.note).unwrap();
                    n.signatures.push(sig.clone());
                    n.verify(&[f.witness.verifier_key()]).unwrap();
                }
                (Want::Refused(w), Err(e)) => {
                    // Messages are free text: compare the variants.
                    assert_eq!(
                        std::mem::discriminant(w),
                        std::mem::discriminant(e),
                        "{name}: {e}"
                    );
                    if !matches!(w, BadProof(_) | Malformed(_)) {
                        assert_eq!(w, e, "{name}");
                    }
                    assert_eq!(after, before, "{name}: a refusal changes nothing");
                    let verified = !matches!(e, Malformed(_) | UnknownLog(_) | BadSignature);
                    assert_eq!(
                        sub.is_some(),
                        verified,
                        "{name}: submission iff the log's signature verified"
                    );
                }
                _ => panic!("{name}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn status_codes_follow_the_spec_table() {
        use AddCheckpointError::*;
        for (e, code) in [
            (Malformed(String::new()), 400),
            (OldSizeTooLarge { old: 2, size: 1 }, 400),
            (UnknownLog(String::new()), 404),
            (BadSignature, 403),
            (Stale { latest: 3 }, 409),
            (Fork { size: 3 }, 409),
            (BadProof(String::new()), 422),
            (Internal(String::new()), 500),
        ] {
            assert_eq!(e.status(), code, "{e:?}");
        }
    }

    #[test]
    fn a_failed_write_cosigns_nothing() {
        let f = fixture();
        f.witness
            .add_checkpoint(&body(0, vec![], note(&f.log, &f.honest, 5)))
            .0
            .unwrap();
        f.store.fail_writes.store(true, Ordering::SeqCst);
        let (r, _) =
            f.witness
                .add_checkpoint(&body(5, proof(&f.honest, 5, 9), note(&f.log, &f.honest, 9)));
        assert!(matches!(r, Err(AddCheckpointError::Internal(_))), "{r:?}");
        f.store.fail_writes.store(false, Ordering::SeqCst);
        assert_eq!(latest_size(&f), Some(5));
        // The log retries from the size it was told and succeeds.
        f.witness
            .add_checkpoint(&body(5, proof(&f.honest, 5, 9), note(&f.log, &f.honest, 9)))
            .0
            .unwrap();
        assert_eq!(latest_size(&f), Some(9));
    }

    #[test]
    fn concurrent_requests_from_one_old_size_cosign_once() {
        let f = fixture();
        f.witness
            .add_checkpoint(&body(0, vec![], note(&f.log, &f.honest, 9)))
            .0
            .unwrap();
        let bodies: Vec<Vec<u8>> = (10..26)
            .map(|n| body(9, proof(&f.honest, 9, n), note(&f.log, &f.honest, n)))
            .collect();
        let results: Vec<Result<NoteSignature, AddCheckpointError>> = std::thread::scope(|s| {
            let handles: Vec<_> = bodies
                .iter()
                .map(|b| s.spawn(|| f.witness.add_checkpoint(b).0))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{results:?}");
        let won = latest_size(&f).unwrap();
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r, &AddCheckpointError::Stale { latest: won });
        }
    }

    #[test]
    fn latest_as_signed_strips_only_our_cosignature() {
        let f = fixture();
        let sent = note(&f.log, &f.honest, 7);
        f.witness
            .add_checkpoint(&body(0, vec![], sent.clone()))
            .0
            .unwrap();
        let (cp, bytes) = f.witness.latest_as_signed(ORIGIN).unwrap();
        assert_eq!(cp.size, 7);
        assert_eq!(bytes, sent);
        assert!(f.witness.latest_as_signed("stranger.example").is_none());
    }
}
