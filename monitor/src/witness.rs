//! The witness state machine (C2SP tlog-witness, spec/witness.md) as plain
//! types: [`Witness::add_checkpoint`] takes a request body and returns the
//! cosignature lines or a typed [`AddCheckpointError`]; the HTTP layer only
//! maps those to status codes ([`AddCheckpointError::status`]) and bodies.
//!
//! The witness owns its lock: the comparison with the latest cosigned
//! checkpoint and the durable write of the new one happen in one critical
//! section inside [`Witness::add_checkpoint`], so no caller can forget it
//! and two requests from one old size can never both be cosigned. Calls
//! block (they fsync, and ML-DSA-44 signing is CPU work): run them on a
//! blocking thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use provlog_core::checkpoint::{Checkpoint, CheckpointError, LogTime, verify_checkpoint};
use provlog_core::hash::EMPTY_ROOT;
use provlog_core::note::{
    MlDsa44NoteSigner, Note, NoteError, NoteSignature, NoteSigner, VerifierKey,
};
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

/// Why a checkpoint was not cosigned. The variants are listed in the order
/// the checks run (spec/witness.md, the add-checkpoint table).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointError {
    /// The body, the note or the checkpoint text is malformed (400).
    #[error("{0}")]
    Malformed(String),
    /// The note's origin is not a log this witness knows (404).
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// No signature by the log's key is present, or a signature line names
    /// the log's key (name and key ID) but does not verify (403).
    #[error("{0}")]
    BadSignature(String),
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
    /// A checkpoint of size 0 whose root is not the empty tree's,
    /// SHA-256("") (422).
    #[error("a checkpoint of size 0 must have the empty tree's root, SHA-256(\"\")")]
    EmptyTreeRoot,
    /// Old size 0 with a non-empty consistency proof (422): the empty tree
    /// is consistent with every tree, so no proof is sent.
    #[error("old size 0 takes no consistency proof, got {lines} lines")]
    ProofFromEmpty {
        /// How many proof lines the request carried.
        lines: usize,
    },
    /// The consistency proof does not verify (422).
    #[error("consistency proof: {0}")]
    BadProof(String),
    /// Same size as the latest cosigned checkpoint, different root (422):
    /// a split view.
    #[error("same size as the latest cosigned checkpoint ({size}), different root")]
    Fork {
        /// The size.
        size: u64,
    },
    /// The stored state or the signer failed (500); nothing was cosigned.
    #[error("witness storage: {0}")]
    Internal(String),
}

impl AddCheckpointError {
    /// The tlog-witness HTTP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::BadSignature(_) => 403,
            Self::UnknownLog(_) => 404,
            Self::Stale { .. } => 409,
            Self::EmptyTreeRoot
            | Self::ProofFromEmpty { .. }
            | Self::BadProof(_)
            | Self::Fork { .. } => 422,
            Self::Internal(_) => 500,
        }
    }

    /// A stable short name (the problem document's type is
    /// `urn:provlog:problem:<slug>`).
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed-request",
            Self::UnknownLog(_) => "unknown-log",
            Self::BadSignature(_) => "bad-signature",
            Self::OldSizeTooLarge { .. } => "old-size-too-large",
            Self::Stale { .. } => "stale-old-size",
            Self::EmptyTreeRoot => "empty-tree-root",
            Self::ProofFromEmpty { .. } => "proof-from-empty-tree",
            Self::BadProof(_) => "inconsistent",
            Self::Fork { .. } => "same-size-different-root",
            Self::Internal(_) => "internal",
        }
    }

    /// Whether the refused checkpoint, validly signed by the log, contradicts
    /// what this witness cosigned (rows 7 to 10: logged as possible
    /// misbehaviour, never cosigned).
    pub fn is_inconsistent(&self) -> bool {
        self.status() == 422
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
    /// The log time its verification found (spec/checkpoint.md §2.4).
    pub log_time: Option<LogTime>,
}

/// The witness's signing keys: its cosignature/v1 key (type 0x04, always)
/// and optionally an ML-DSA-44 key (type 0x06, subtree/v1 cosignatures),
/// both under the witness's name.
#[derive(Debug, Clone)]
pub struct WitnessKeys {
    /// The cosignature/v1 (Ed25519) key.
    pub cosigner: NoteSigner,
    /// The ML-DSA-44 key, if configured.
    pub ml_dsa_44: Option<MlDsa44NoteSigner>,
}

impl From<NoteSigner> for WitnessKeys {
    fn from(cosigner: NoteSigner) -> Self {
        WitnessKeys {
            cosigner,
            ml_dsa_44: None,
        }
    }
}

impl WitnessKeys {
    /// The verifier keys: cosignature/v1 first, then ML-DSA-44 if any.
    pub fn verifier_keys(&self) -> Vec<VerifierKey> {
        let mut keys = vec![self.cosigner.verifier_key()];
        keys.extend(self.ml_dsa_44.iter().map(MlDsa44NoteSigner::verifier_key));
        keys
    }
}

/// The witness: its keys, the logs it witnesses, and their latest state.
pub struct Witness {
    keys: WitnessKeys,
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
    /// A witness signing with `keys` for the logs `logs` (log keys, Ed25519
    /// or ML-DSA-44; the origin is the key name), keeping its state in
    /// `store`.
    pub fn new(
        keys: impl Into<WitnessKeys>,
        logs: impl IntoIterator<Item = VerifierKey>,
        store: Arc<dyn WitnessStore>,
    ) -> Self {
        Witness {
            keys: keys.into(),
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

    /// The witness's cosignature/v1 verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        self.keys.cosigner.verifier_key()
    }

    /// Every verifier key of the witness (cosignature/v1, then ML-DSA-44
    /// if configured).
    pub fn verifier_keys(&self) -> Vec<VerifierKey> {
        self.keys.verifier_keys()
    }

    /// Handles one add-checkpoint body. Returns the cosignature lines (one
    /// per witness key) and, when the checkpoint verified under the log's
    /// key, the [`Submission`] (also when it was refused: a refused fork is
    /// still something the monitor must compare with its audited tree).
    pub fn add_checkpoint(
        &self,
        body: &[u8],
    ) -> (
        Result<Vec<NoteSignature>, AddCheckpointError>,
        Option<Submission>,
    ) {
        let (req, sub) = match self.verify(body) {
            Ok(v) => v,
            Err(e) => return (Err(e), None),
        };
        let result = self.update(&req, &sub);
        if let Err(e) = &result
            && e.is_inconsistent()
        {
            tracing::warn!(
                origin = sub.origin,
                size = sub.checkpoint.size,
                old = req.old_size,
                error = %e,
                "refused a validly signed checkpoint inconsistent with the one cosigned: possible log misbehaviour"
            );
        }
        (result, Some(sub))
    }

    /// Parses the body and verifies the checkpoint under the log's key:
    /// rows 1 to 4 of the table.
    fn verify(
        &self,
        body: &[u8],
    ) -> Result<(AddCheckpointRequest, Submission), AddCheckpointError> {
        let req = AddCheckpointRequest::parse(body)
            .map_err(|e| AddCheckpointError::Malformed(e.to_string()))?;
        let note = Note::parse(&req.checkpoint)
            .map_err(|e| AddCheckpointError::Malformed(format!("checkpoint note: {e}")))?;
        let origin = note.text.split('\n').next().unwrap_or_default().to_owned();
        let key = self
            .logs
            .get(&origin)
            .ok_or_else(|| AddCheckpointError::UnknownLog(origin.clone()))?;
        let verified = verify_checkpoint(&req.checkpoint, key).map_err(|e| match e {
            CheckpointError::Note(
                NoteError::NoKnownSignature | NoteError::InvalidSignature { .. },
            )
            | CheckpointError::MissingLogSignature(_) => {
                AddCheckpointError::BadSignature(e.to_string())
            }
            e => AddCheckpointError::Malformed(e.to_string()),
        })?;
        let sub = Submission {
            origin,
            note: req.checkpoint.clone(),
            checkpoint: verified.checkpoint,
            log_time: verified.log_time,
        };
        Ok((req, sub))
    }

    /// The state transition, under the lock: rows 5 to 11 of the table
    /// (compare with the latest cosigned checkpoint, check the proof,
    /// cosign, store durably).
    fn update(
        &self,
        req: &AddCheckpointRequest,
        sub: &Submission,
    ) -> Result<Vec<NoteSignature>, AddCheckpointError> {
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
        if cp.size == 0 && cp.root != EMPTY_ROOT {
            return Err(AddCheckpointError::EmptyTreeRoot);
        }
        if req.old_size == 0 {
            if !req.proof.is_empty() {
                return Err(AddCheckpointError::ProofFromEmpty {
                    lines: req.proof.len(),
                });
            }
        } else if req.old_size < cp.size {
            verify_consistency(req.old_size, cp.size, &latest_root, &cp.root, &req.proof)
                .map_err(|e| AddCheckpointError::BadProof(e.to_string()))?;
        } else if !req.proof.is_empty() {
            // From a size to itself the RFC 6962 proof is empty.
            return Err(AddCheckpointError::BadProof(format!(
                "a proof from size {} to itself is empty, got {} lines",
                cp.size,
                req.proof.len()
            )));
        }
        if req.old_size == cp.size && cp.root != latest_root {
            return Err(AddCheckpointError::Fork { size: cp.size });
        }
        let sigs = self.cosign(sub)?;
        let mut note =
            Note::parse(&sub.note).map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        note.signatures.retain(|s| !self.is_own(s));
        note.signatures.extend(sigs.iter().cloned());
        self.store
            .set_latest(&sub.origin, &note.to_bytes())
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        tracing::debug!(origin = sub.origin, size = cp.size, "cosigned");
        Ok(sigs)
    }

    /// This witness's cosignatures on `sub`: cosignature/v1, then
    /// subtree/v1 (start 0, end = size) if an ML-DSA-44 key is configured.
    /// The timestamp is the current time, never 0 (tlog-witness).
    fn cosign(&self, sub: &Submission) -> Result<Vec<NoteSignature>, AddCheckpointError> {
        let internal = |e: NoteError| AddCheckpointError::Internal(e.to_string());
        let now = (self.clock)().max(1);
        let text = Note::parse(&sub.note).map_err(internal)?.text;
        let mut sigs = vec![Note::sign(&text, &self.keys.cosigner, now).map_err(internal)?];
        if let Some(ml) = &self.keys.ml_dsa_44 {
            sigs.push(ml.cosign(&sub.checkpoint, now).map_err(internal)?);
        }
        Ok(sigs)
    }

    /// Whether `s` was made by one of this witness's keys.
    fn is_own(&self, s: &NoteSignature) -> bool {
        self.keys
            .verifier_keys()
            .iter()
            .any(|k| s.name == k.name() && s.key_id == k.key_id())
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
    /// (this witness's cosignatures removed), so evidence built from it
    /// matches the note as received, with its log time.
    pub fn latest_as_signed(&self, origin: &str) -> Option<(Checkpoint, Vec<u8>, Option<LogTime>)> {
        let key = self.logs.get(origin)?;
        let stored = self.store.latest(origin).ok()??;
        let mut note = Note::parse(&stored).ok()?;
        note.signatures.retain(|s| !self.is_own(s));
        let bytes = note.to_bytes();
        let v = verify_checkpoint(&bytes, key).ok()?;
        Some((v.checkpoint, bytes, v.log_time))
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
    use provlog_core::checkpoint::{LogSigner, sign_checkpoint};
    use provlog_core::hash::Hash;
    use provlog_core::note::SIG_ML_DSA_44;
    use provlog_core::tree::{MemoryTree, consistency_proof, tree_root};
    use provlog_core::witness::MAX_PROOF_LINES;
    use std::sync::atomic::Ordering;

    const ORIGIN: &str = "witnessed.example/log";
    const NOW: u64 = 1_790_000_000;

    /// spec/witness.md's add-checkpoint table: row number and status.
    const TABLE: [(u8, u16); 11] = [
        (1, 400),
        (2, 404),
        (3, 403),
        (4, 403),
        (5, 400),
        (6, 409),
        (7, 422),
        (8, 422),
        (9, 422),
        (10, 422),
        (11, 200),
    ];

    fn row_status(row: u8) -> u16 {
        TABLE.iter().find(|(r, _)| *r == row).unwrap().1
    }

    struct Fixture {
        log: LogSigner,
        honest: MemoryTree,
        fork: MemoryTree,
        witness: Witness,
        store: Arc<MemoryWitnessStore>,
        stranger: NoteSigner,
        impostor: NoteSigner,
    }

    fn fixture(ml_dsa: bool) -> Fixture {
        let log = LogSigner::new(NoteSigner::generate(ORIGIN).unwrap(), None).unwrap();
        let store = Arc::new(MemoryWitnessStore::default());
        let keys = WitnessKeys {
            cosigner: NoteSigner::generate_cosigner("w.example").unwrap(),
            ml_dsa_44: ml_dsa.then(|| MlDsa44NoteSigner::generate("w.example").unwrap()),
        };
        let witness =
            Witness::new(keys, [log.ed25519().verifier_key()], store.clone()).with_clock(|| NOW);
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

    /// A checkpoint in the current form (time in the log's cosignature).
    fn note(f: &Fixture, t: &MemoryTree, size: u64) -> Vec<u8> {
        f.log
            .sign(&Checkpoint::new(ORIGIN, size, root(t, size)), 1_789_999_000)
            .unwrap()
    }

    /// A checkpoint in the legacy form (one Ed25519 line, `timestamp` line).
    fn legacy(signer: &NoteSigner, t: &MemoryTree, size: u64) -> Vec<u8> {
        let cp = Checkpoint::new(signer.name(), size, root(t, size)).with_timestamp(1);
        sign_checkpoint(&cp, signer).unwrap()
    }

    fn with_root(f: &Fixture, size: u64, root: Hash) -> Vec<u8> {
        f.log
            .sign(&Checkpoint::new(ORIGIN, size, root), 1_789_999_000)
            .unwrap()
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

    /// Flips a bit of signature line `i` of a note.
    fn corrupt(note: &[u8], i: usize) -> Vec<u8> {
        let mut n = Note::parse(note).unwrap();
        n.signatures[i].signature[9] ^= 1;
        n.to_bytes()
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

    type Case = (u8, &'static str, Option<u64>, fn(&Fixture) -> Vec<u8>, Want);

    /// One case or more per row of the table, plus cases that meet two
    /// rows at once (the earlier row wins: the order of checks).
    fn cases() -> Vec<Case> {
        use AddCheckpointError::*;
        let bad_sig = || Want::Refused(BadSignature(String::new()));
        let malformed = || Want::Refused(Malformed(String::new()));
        let bad_proof = || Want::Refused(BadProof(String::new()));
        vec![
            // Row 1: malformed body.
            (
                1,
                "no old line",
                Some(5),
                |f| {
                    let mut b = b"new 5\n\n".to_vec();
                    b.extend(note(f, &f.honest, 5));
                    b
                },
                malformed(),
            ),
            (
                1,
                "old size with a leading zero",
                Some(5),
                |f| {
                    let mut b = b"old 05\n\n".to_vec();
                    b.extend(note(f, &f.honest, 5));
                    b
                },
                malformed(),
            ),
            (
                1,
                "more than 63 proof lines",
                Some(5),
                |f| body(5, vec![[1; 32]; MAX_PROOF_LINES + 1], note(f, &f.honest, 9)),
                malformed(),
            ),
            (
                1,
                "proof line not base64",
                Some(5),
                |f| {
                    let mut b = b"old 5\n!!!!\n\n".to_vec();
                    b.extend(note(f, &f.honest, 9));
                    b
                },
                malformed(),
            ),
            (
                1,
                "proof line of 31 bytes",
                Some(5),
                |f| {
                    let mut b = format!("old 5\n{}\n\n", "A".repeat(40) + "AA==").into_bytes();
                    b.extend(note(f, &f.honest, 9));
                    b
                },
                malformed(),
            ),
            (
                1,
                "body without a note",
                Some(5),
                |_| b"old 5\nnot a note".to_vec(),
                malformed(),
            ),
            (
                1,
                "note without a signature",
                Some(5),
                |_| b"old 5\n\nno signature\n".to_vec(),
                malformed(),
            ),
            (
                1,
                "checkpoint text malformed (size 05), validly signed",
                Some(5),
                |f| {
                    let text = format!("{ORIGIN}\n05\n{}\n", base64_root(&root(&f.honest, 5)));
                    body(
                        5,
                        vec![],
                        Note::sign_text(&text, &[f.log.ed25519()], 0).unwrap(),
                    )
                },
                malformed(),
            ),
            // Row 2: unknown origin.
            (
                2,
                "unknown origin",
                Some(5),
                |f| body(5, vec![], legacy(&f.stranger, &f.honest, 5)),
                Want::Refused(UnknownLog("stranger.example".into())),
            ),
            (
                2,
                "unknown origin beats old > size",
                Some(5),
                |f| body(9, vec![], legacy(&f.stranger, &f.honest, 5)),
                Want::Refused(UnknownLog("stranger.example".into())),
            ),
            // Row 3: no signature from a trusted key.
            (
                3,
                "right origin, unknown key",
                Some(5),
                |f| body(5, vec![], legacy(&f.impostor, &f.honest, 9)),
                bad_sig(),
            ),
            (
                3,
                "only the log's timestamp cosignature, no log signature",
                Some(5),
                |f| {
                    let mut n = Note::parse(&note(f, &f.honest, 9)).unwrap();
                    n.signatures.remove(0);
                    body(5, proof(&f.honest, 5, 9), n.to_bytes())
                },
                bad_sig(),
            ),
            // Row 4: a trusted key's line that does not verify.
            (
                4,
                "bad signature by the log's key",
                Some(5),
                |f| {
                    body(
                        5,
                        proof(&f.honest, 5, 9),
                        corrupt(&note(f, &f.honest, 9), 0),
                    )
                },
                bad_sig(),
            ),
            (
                4,
                "bad log timestamp cosignature (same log key, type 0x04)",
                Some(5),
                |f| {
                    body(
                        5,
                        proof(&f.honest, 5, 9),
                        corrupt(&note(f, &f.honest, 9), 1),
                    )
                },
                bad_sig(),
            ),
            (
                4,
                "a good log signature and a bad copy of it",
                Some(5),
                |f| {
                    let mut n = Note::parse(&note(f, &f.honest, 9)).unwrap();
                    let mut bad = n.signatures[0].clone();
                    bad.signature[9] ^= 1;
                    n.signatures.push(bad);
                    body(5, proof(&f.honest, 5, 9), n.to_bytes())
                },
                bad_sig(),
            ),
            (
                4,
                "bad signature beats old > size",
                Some(5),
                |f| body(9, vec![], corrupt(&note(f, &f.honest, 5), 0)),
                bad_sig(),
            ),
            // Row 5: old > size.
            (
                5,
                "old above size",
                Some(5),
                |f| body(6, vec![], note(f, &f.honest, 5)),
                Want::Refused(OldSizeTooLarge { old: 6, size: 5 }),
            ),
            (
                5,
                "old above size beats stale",
                None,
                |f| body(6, vec![], note(f, &f.honest, 5)),
                Want::Refused(OldSizeTooLarge { old: 6, size: 5 }),
            ),
            // Row 6: old is not the latest cosigned size.
            (
                6,
                "old 0 when 5 is cosigned",
                Some(5),
                |f| body(0, vec![], note(f, &f.honest, 9)),
                Want::Refused(Stale { latest: 5 }),
            ),
            (
                6,
                "old 0, size 0, when 5 is cosigned",
                Some(5),
                |f| body(0, vec![], note(f, &f.honest, 0)),
                Want::Refused(Stale { latest: 5 }),
            ),
            (
                6,
                "old 3 when nothing is cosigned",
                None,
                |f| body(3, proof(&f.honest, 3, 9), note(f, &f.honest, 9)),
                Want::Refused(Stale { latest: 0 }),
            ),
            (
                6,
                "stale old size",
                Some(9),
                |f| body(5, proof(&f.honest, 5, 12), note(f, &f.honest, 12)),
                Want::Refused(Stale { latest: 9 }),
            ),
            (
                6,
                "stale beats a bad proof",
                Some(9),
                |f| body(5, vec![[3; 32]], note(f, &f.honest, 12)),
                Want::Refused(Stale { latest: 9 }),
            ),
            (
                6,
                "stale beats a bad size-0 root",
                Some(5),
                |f| body(0, vec![], with_root(f, 0, [7; 32])),
                Want::Refused(Stale { latest: 5 }),
            ),
            // Row 7: size 0 with a root that is not SHA-256("").
            (
                7,
                "first checkpoint of size 0, wrong root",
                None,
                |f| body(0, vec![], with_root(f, 0, [7; 32])),
                Want::Refused(EmptyTreeRoot),
            ),
            (
                7,
                "size 0 again, wrong root",
                Some(0),
                |f| body(0, vec![], with_root(f, 0, [7; 32])),
                Want::Refused(EmptyTreeRoot),
            ),
            (
                7,
                "wrong size-0 root beats a proof from 0",
                None,
                |f| body(0, vec![[1; 32]], with_root(f, 0, [7; 32])),
                Want::Refused(EmptyTreeRoot),
            ),
            // Row 8: old 0 with a proof.
            (
                8,
                "proof from 0 is not empty (nothing cosigned)",
                None,
                |f| body(0, vec![[7; 32]], note(f, &f.honest, 5)),
                Want::Refused(ProofFromEmpty { lines: 1 }),
            ),
            (
                8,
                "proof from 0 is not empty (0 cosigned)",
                Some(0),
                |f| body(0, vec![[7; 32]; 2], note(f, &f.honest, 5)),
                Want::Refused(ProofFromEmpty { lines: 2 }),
            ),
            // Row 9: the consistency proof does not verify.
            (
                9,
                "growth into a fork",
                Some(5),
                |f| body(5, proof(&f.honest, 5, 9), note(f, &f.fork, 9)),
                bad_proof(),
            ),
            (
                9,
                "tampered proof",
                Some(5),
                |f| {
                    let mut p = proof(&f.honest, 5, 9);
                    p[0][0] ^= 1;
                    body(5, p, note(f, &f.honest, 9))
                },
                bad_proof(),
            ),
            (
                9,
                "proof one hash short",
                Some(5),
                |f| {
                    let mut p = proof(&f.honest, 5, 9);
                    p.pop();
                    body(5, p, note(f, &f.honest, 9))
                },
                bad_proof(),
            ),
            (
                9,
                "a proof from a size to itself",
                Some(9),
                |f| body(9, vec![[1; 32]], note(f, &f.honest, 9)),
                bad_proof(),
            ),
            // Row 10: same size, different root.
            (
                10,
                "same size, different root",
                Some(9),
                |f| body(9, vec![], note(f, &f.fork, 9)),
                Want::Refused(Fork { size: 9 }),
            ),
            // Row 11: cosigned.
            (
                11,
                "first checkpoint, old 0",
                None,
                |f| body(0, vec![], note(f, &f.honest, 5)),
                Want::Cosigned,
            ),
            (
                11,
                "first checkpoint, legacy form",
                None,
                |f| body(0, vec![], legacy(f.log.ed25519(), &f.honest, 5)),
                Want::Cosigned,
            ),
            (
                11,
                "first checkpoint of size 0",
                None,
                |f| body(0, vec![], note(f, &f.honest, 0)),
                Want::Cosigned,
            ),
            (
                11,
                "from a cosigned size 0 to 5, no proof",
                Some(0),
                |f| body(0, vec![], note(f, &f.honest, 5)),
                Want::Cosigned,
            ),
            (
                11,
                "consistent growth",
                Some(5),
                |f| body(5, proof(&f.honest, 5, 9), note(f, &f.honest, 9)),
                Want::Cosigned,
            ),
            (
                11,
                "consistent growth from a power of two",
                Some(8),
                |f| body(8, proof(&f.honest, 8, 21), note(f, &f.honest, 21)),
                Want::Cosigned,
            ),
            (
                11,
                "same size, same root (fresh signature)",
                Some(9),
                |f| body(9, vec![], note(f, &f.honest, 9)),
                Want::Cosigned,
            ),
            (
                11,
                "other signers' lines are ignored",
                Some(5),
                |f| {
                    let mut n = Note::parse(&note(f, &f.honest, 9)).unwrap();
                    let other = Note::sign(&n.text, &f.impostor, 0).unwrap();
                    n.signatures.insert(0, other);
                    body(5, proof(&f.honest, 5, 9), n.to_bytes())
                },
                Want::Cosigned,
            ),
        ]
    }

    fn base64_root(h: &Hash) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(h)
    }

    fn run_table(ml_dsa: bool) {
        use AddCheckpointError::*;
        let mut rows_seen = std::collections::BTreeSet::new();
        for (row, name, before, make, want) in cases() {
            rows_seen.insert(row);
            let f = fixture(ml_dsa);
            if let Some(size) = before {
                let (r, _) = f
                    .witness
                    .add_checkpoint(&body(0, vec![], note(&f, &f.honest, size)));
                r.unwrap();
            }
            let (got, sub) = f.witness.add_checkpoint(&make(&f));
            let after = latest_size(&f);
            match (&want, &got) {
                (Want::Cosigned, Ok(sigs)) => {
                    assert_eq!(row_status(row), 200, "{name}");
                    let sub = sub.expect("a cosigned checkpoint verified");
                    assert_eq!(after, Some(sub.checkpoint.size), "{name}: new state");
                    // One line per witness key, each verifying over the
                    // checkpoint sent, with the (non-zero) time of signing.
                    let keys = f.witness.verifier_keys();
                    assert_eq!(sigs.len(), keys.len(), "{name}");
                    for (sig, key) in sigs.iter().zip(&keys) {
                        let mut n = Note::parse(&sub.note).unwrap();
                        n.signatures.push(sig.clone());
                        let v = n.verify(std::slice::from_ref(key)).unwrap();
                        assert_eq!(v[0].timestamp, Some(NOW), "{name}");
                    }
                    assert_eq!(
                        keys.iter().any(|k| k.key_type() == SIG_ML_DSA_44),
                        ml_dsa,
                        "{name}"
                    );
                    // The stored note carries the log's lines and ours.
                    let stored = Note::parse(&f.witness.latest(ORIGIN).unwrap().unwrap()).unwrap();
                    stored.verify(&keys).unwrap();
                    verify_checkpoint(&stored.to_bytes(), &f.log.ed25519().verifier_key()).unwrap();
                }
                (Want::Refused(w), Err(e)) => {
                    assert_eq!(e.status(), row_status(row), "{name}: row {row}");
                    // Messages are free text: compare the variants.
                    assert_eq!(
                        std::mem::discriminant(w),
                        std::mem::discriminant(e),
                        "{name}: {e}"
                    );
                    if !matches!(w, BadProof(_) | Malformed(_) | BadSignature(_)) {
                        assert_eq!(w, e, "{name}");
                    }
                    assert_eq!(after, before, "{name}: a refusal changes nothing");
                    let verified = !matches!(e, Malformed(_) | UnknownLog(_) | BadSignature(_));
                    assert_eq!(
                        sub.is_some(),
                        verified,
                        "{name}: a submission iff the checkpoint verified"
                    );
                }
                _ => panic!("{name}: wanted {want:?}, got {got:?}"),
            }
        }
        let all: std::collections::BTreeSet<u8> = TABLE.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows_seen, all, "every row of the table has a case");
    }

    #[test]
    fn every_row_of_the_add_checkpoint_table() {
        run_table(false);
    }

    #[test]
    fn every_row_of_the_add_checkpoint_table_with_an_ml_dsa_44_key() {
        run_table(true);
    }

    #[test]
    fn status_codes_follow_the_spec_table() {
        use AddCheckpointError::*;
        for (e, row) in [
            (Malformed(String::new()), 1),
            (UnknownLog(String::new()), 2),
            (BadSignature(String::new()), 3),
            (OldSizeTooLarge { old: 2, size: 1 }, 5),
            (Stale { latest: 3 }, 6),
            (EmptyTreeRoot, 7),
            (ProofFromEmpty { lines: 1 }, 8),
            (BadProof(String::new()), 9),
            (Fork { size: 3 }, 10),
        ] {
            assert_eq!(e.status(), row_status(row), "{e:?}");
            assert_eq!(e.is_inconsistent(), (7..=10).contains(&row), "{e:?}");
        }
        assert_eq!(Internal(String::new()).status(), 500);
    }

    #[test]
    fn a_witness_for_an_ml_dsa_44_log_key() {
        let ed = NoteSigner::generate(ORIGIN).unwrap();
        let ml = MlDsa44NoteSigner::generate(ORIGIN).unwrap();
        let log = LogSigner::new(ed, Some(ml.clone())).unwrap();
        let store = Arc::new(MemoryWitnessStore::default());
        let w = Witness::new(
            NoteSigner::generate_cosigner("w.example").unwrap(),
            [ml.verifier_key()],
            store,
        );
        let t = MemoryTree::from_entries((0..9u32).map(|i| format!("e {i}")));
        let sign = |n: u64| {
            log.sign(&Checkpoint::new(ORIGIN, n, root(&t, n)), 5)
                .unwrap()
        };
        w.add_checkpoint(&body(0, vec![], sign(4))).0.unwrap();
        w.add_checkpoint(&body(4, proof(&t, 4, 9), sign(9)))
            .0
            .unwrap();
        // A note without the ML-DSA-44 line has no trusted signature.
        let mut n = Note::parse(&sign(9)).unwrap();
        n.signatures.truncate(2);
        let (r, _) = w.add_checkpoint(&body(9, vec![], n.to_bytes()));
        assert!(
            matches!(r, Err(AddCheckpointError::BadSignature(_))),
            "{r:?}"
        );
    }

    #[test]
    fn a_failed_write_cosigns_nothing() {
        let f = fixture(false);
        f.witness
            .add_checkpoint(&body(0, vec![], note(&f, &f.honest, 5)))
            .0
            .unwrap();
        f.store.fail_writes.store(true, Ordering::SeqCst);
        let (r, _) =
            f.witness
                .add_checkpoint(&body(5, proof(&f.honest, 5, 9), note(&f, &f.honest, 9)));
        assert!(matches!(r, Err(AddCheckpointError::Internal(_))), "{r:?}");
        f.store.fail_writes.store(false, Ordering::SeqCst);
        assert_eq!(latest_size(&f), Some(5));
        // The log retries from the size it was told and succeeds.
        f.witness
            .add_checkpoint(&body(5, proof(&f.honest, 5, 9), note(&f, &f.honest, 9)))
            .0
            .unwrap();
        assert_eq!(latest_size(&f), Some(9));
    }

    #[test]
    fn concurrent_requests_from_one_old_size_cosign_once() {
        let f = fixture(false);
        f.witness
            .add_checkpoint(&body(0, vec![], note(&f, &f.honest, 9)))
            .0
            .unwrap();
        let bodies: Vec<Vec<u8>> = (10..26)
            .map(|n| body(9, proof(&f.honest, 9, n), note(&f, &f.honest, n)))
            .collect();
        let results: Vec<Result<Vec<NoteSignature>, AddCheckpointError>> =
            std::thread::scope(|s| {
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
    fn latest_as_signed_strips_only_our_cosignatures() {
        let f = fixture(true);
        let sent = note(&f, &f.honest, 7);
        f.witness
            .add_checkpoint(&body(0, vec![], sent.clone()))
            .0
            .unwrap();
        let stored = Note::parse(&f.witness.latest(ORIGIN).unwrap().unwrap()).unwrap();
        assert_eq!(stored.signatures.len(), 4, "log, log time, ours x2");
        let (cp, bytes, time) = f.witness.latest_as_signed(ORIGIN).unwrap();
        assert_eq!(cp.size, 7);
        assert_eq!(time.unwrap().unix_ms, 1_789_999_000_000);
        assert_eq!(bytes, sent);
        assert!(f.witness.latest_as_signed("stranger.example").is_none());
    }
}
