//! Evidence bundles: two signed checkpoints of one log that cannot both be
//! true, packaged so anyone can check them offline with nothing but the
//! signer's verifier key. The normative format is `spec/evidence.md`.
//!
//! The bundle is a JSON object:
//!
//! ```json
//! {
//!   "format": "provlog-evidence/v1",
//!   "kind": "same-size-different-roots" | "inconsistent-prefix" | "timestamp-decreased",
//!   "signer": "<vkey of the accused log or witness>",
//!   "origin": "<log origin>",
//!   "smaller": "<signed checkpoint note>",
//!   "larger": "<signed checkpoint note>",
//!   "proof": ["<base64 hash>", ...]
//! }
//! ```
//!
//! - `same-size-different-roots`: both checkpoints have the same size and
//!   different roots; `proof` is empty.
//! - `inconsistent-prefix`: `smaller` has fewer leaves, and `proof` (the
//!   RFC 9162 consistency proof from the smaller size to the larger, with the
//!   old root prepended when the smaller size is a power of two) reproduces
//!   the larger root but implies a different root for the smaller size.
//! - `timestamp-decreased`: `smaller` has fewer leaves but a later log time
//!   than `larger` (spec/checkpoint.md §2.4: the log's timestamp
//!   cosignature, or the legacy `timestamp` line; it never decreases; see
//!   [`log_time_decreased`]); `proof` is empty. Only a log key can be
//!   accused of it: a witness does not vouch for the log's time.
//!
//! With a log key (type 0x01) both notes must carry a valid log signature
//! (the log equivocated). With a witness key (cosignature/v1, type 0x04)
//! both must carry a valid cosignature by that witness (the witness cosigned
//! two checkpoints that cannot both be true).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError, LogTime, verify_checkpoint};
use crate::hash::Hash;
use crate::note::{Note, NoteError, SIG_COSIGNATURE_V1, SIG_ED25519, VerifierKey};
use crate::proof::{ProofError, implied_old_root};

/// The `format` value of a version 1 bundle.
pub const EVIDENCE_FORMAT: &str = "provlog-evidence/v1";
/// Largest evidence bundle accepted, in bytes.
pub const MAX_EVIDENCE_SIZE: usize = 256 * 1024;
/// Most proof hashes a bundle may carry.
pub const MAX_EVIDENCE_PROOF: usize = 65;

/// What kind of contradiction a bundle shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// Two checkpoints of equal size with different roots.
    SameSizeDifferentRoots,
    /// A smaller checkpoint whose root is not the prefix root the larger
    /// checkpoint's tree implies.
    InconsistentPrefix,
    /// A smaller checkpoint with a later timestamp than a larger one.
    TimestampDecreased,
}

impl EvidenceKind {
    /// The kebab-case name used in the JSON format.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::SameSizeDifferentRoots => "same-size-different-roots",
            EvidenceKind::InconsistentPrefix => "inconsistent-prefix",
            EvidenceKind::TimestampDecreased => "timestamp-decreased",
        }
    }
}

/// An evidence bundle (unverified until [`Evidence::verify`] succeeds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Always [`EVIDENCE_FORMAT`].
    pub format: String,
    /// The contradiction shown.
    pub kind: EvidenceKind,
    /// The accused key, as a vkey (informational; verification uses the
    /// key the verifier trusts).
    pub signer: String,
    /// The log's origin.
    pub origin: String,
    /// The smaller (or, for equal sizes, the first) signed checkpoint note.
    pub smaller: String,
    /// The larger (or, for equal sizes, the second) signed checkpoint note.
    pub larger: String,
    /// Base64 proof hashes (see the module docs).
    #[serde(default)]
    pub proof: Vec<String>,
}

/// Why a bundle is not valid evidence.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EvidenceError {
    /// Over [`MAX_EVIDENCE_SIZE`].
    #[error("evidence of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Not the JSON format.
    #[error("evidence is not a provlog-evidence/v1 JSON object: {0}")]
    Malformed(String),
    /// A checkpoint does not verify under the given key.
    #[error("{which} checkpoint does not verify: {source}")]
    Checkpoint {
        /// `smaller` or `larger`.
        which: &'static str,
        /// Why.
        source: CheckpointError,
    },
    /// The two checkpoints are of different logs.
    #[error("the checkpoints have different origins")]
    OriginMismatch,
    /// The bundle's `signer` differs from the key the verifier trusts.
    #[error("the bundle accuses {bundle}, not the trusted key {trusted}")]
    SignerMismatch {
        /// The bundle's signer field.
        bundle: String,
        /// The trusted key.
        trusted: String,
    },
    /// The two checkpoints do not contradict each other.
    #[error("the checkpoints are consistent: {0}")]
    NotContradictory(&'static str),
    /// The proof is malformed or does not reproduce the larger root.
    #[error("proof: {0}")]
    Proof(String),
}

/// A verified contradiction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvidence {
    /// The contradiction shown.
    pub kind: EvidenceKind,
    /// The key that signed both checkpoints.
    pub signer: VerifierKey,
    /// The smaller (or first) checkpoint.
    pub smaller: Checkpoint,
    /// The larger (or second) checkpoint.
    pub larger: Checkpoint,
    /// For [`EvidenceKind::InconsistentPrefix`], the root the larger tree
    /// implies for the smaller size.
    pub implied_root: Option<Hash>,
}

/// The id of a contradiction: hex SHA-256 of what it proves (kind, accused
/// key, origin, and the two sizes and roots), never of the note bytes, so
/// the same contradiction re-sent with other signature lines, other
/// timestamps or another proof has the same id (spec/evidence.md).
fn content_id(
    kind: EvidenceKind,
    signer: &str,
    origin: &str,
    a: (u64, Hash),
    b: (u64, Hash),
) -> String {
    // Same-size bundles prove the same thing in either order.
    let (a, b) = if kind == EvidenceKind::SameSizeDifferentRoots && b.1 < a.1 {
        (b, a)
    } else {
        (a, b)
    };
    let text = format!(
        "provlog-evidence-id/v1\n{}\n{signer}\n{origin}\n{} {}\n{} {}\n",
        kind.as_str(),
        a.0,
        B64.encode(a.1),
        b.0,
        B64.encode(b.1)
    );
    hex::encode(crate::hash::sha256(text.as_bytes()))
}

impl VerifiedEvidence {
    /// The bundle's id (see [`Evidence::id`]).
    pub fn id(&self) -> String {
        content_id(
            self.kind,
            &self.signer.to_vkey(),
            &self.smaller.origin,
            (self.smaller.size, self.smaller.root),
            (self.larger.size, self.larger.root),
        )
    }
}

/// Whether a log time went back from the checkpoint signed at `smaller`
/// (fewer leaves) to the one signed at `larger` (spec/evidence.md, rule 6):
/// in milliseconds when both come from legacy `timestamp` lines, in whole
/// seconds (`floor(ms / 1000)`) when either comes from a timestamp
/// cosignature, which states seconds only (so `timestamp 5999` then a
/// cosignature time of 5 s is not a decrease).
pub fn log_time_decreased(smaller: LogTime, larger: LogTime) -> bool {
    if smaller.legacy_extension_line && larger.legacy_extension_line {
        smaller.unix_ms > larger.unix_ms
    } else {
        smaller.unix_ms / 1000 > larger.unix_ms / 1000
    }
}

/// Verifies a note under `key` (log or witness) and parses its checkpoint;
/// with a log key, also returns the log time (spec/checkpoint.md §2.4).
fn verified_body(
    note: &str,
    key: &VerifierKey,
    which: &'static str,
) -> Result<(Checkpoint, Option<LogTime>), EvidenceError> {
    let err = |source| EvidenceError::Checkpoint { which, source };
    match key.key_type() {
        SIG_ED25519 => {
            let v = verify_checkpoint(note.as_bytes(), key).map_err(err)?;
            Ok((v.checkpoint, v.log_time))
        }
        SIG_COSIGNATURE_V1 => {
            let parsed = Note::parse(note.as_bytes()).map_err(|e| err(e.into()))?;
            parsed
                .verify(std::slice::from_ref(key))
                .map_err(|e| err(e.into()))?;
            Ok((Checkpoint::parse(&parsed.text).map_err(err)?, None))
        }
        other => Err(err(NoteError::UnsupportedKeyType(other).into())),
    }
}

impl Evidence {
    /// Builds a same-size bundle (no verification).
    pub fn same_size(signer: &VerifierKey, origin: &str, a: &[u8], b: &[u8]) -> Self {
        Self {
            format: EVIDENCE_FORMAT.to_owned(),
            kind: EvidenceKind::SameSizeDifferentRoots,
            signer: signer.to_vkey(),
            origin: origin.to_owned(),
            smaller: String::from_utf8_lossy(a).into_owned(),
            larger: String::from_utf8_lossy(b).into_owned(),
            proof: Vec::new(),
        }
    }

    /// Builds an inconsistent-prefix bundle (no verification). `proof` is
    /// in the form [`implied_old_root`] takes.
    pub fn prefix(
        signer: &VerifierKey,
        origin: &str,
        smaller: &[u8],
        larger: &[u8],
        proof: &[Hash],
    ) -> Self {
        Self {
            format: EVIDENCE_FORMAT.to_owned(),
            kind: EvidenceKind::InconsistentPrefix,
            signer: signer.to_vkey(),
            origin: origin.to_owned(),
            smaller: String::from_utf8_lossy(smaller).into_owned(),
            larger: String::from_utf8_lossy(larger).into_owned(),
            proof: proof.iter().map(|h| B64.encode(h)).collect(),
        }
    }

    /// Builds a timestamp-decreased bundle (no verification): `smaller` has
    /// fewer leaves and a later timestamp than `larger`.
    pub fn timestamp_decreased(
        signer: &VerifierKey,
        origin: &str,
        smaller: &[u8],
        larger: &[u8],
    ) -> Self {
        Self {
            format: EVIDENCE_FORMAT.to_owned(),
            kind: EvidenceKind::TimestampDecreased,
            signer: signer.to_vkey(),
            origin: origin.to_owned(),
            smaller: String::from_utf8_lossy(smaller).into_owned(),
            larger: String::from_utf8_lossy(larger).into_owned(),
            proof: Vec::new(),
        }
    }

    /// Parses a bundle from JSON, with a size limit.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EvidenceError> {
        if bytes.len() > MAX_EVIDENCE_SIZE {
            return Err(EvidenceError::TooLarge(bytes.len()));
        }
        let ev: Evidence =
            serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed(e.to_string()))?;
        if ev.format != EVIDENCE_FORMAT {
            return Err(EvidenceError::Malformed(format!(
                "format {:?} is not {EVIDENCE_FORMAT}",
                ev.format
            )));
        }
        if ev.proof.len() > MAX_EVIDENCE_PROOF {
            return Err(EvidenceError::Malformed("too many proof hashes".into()));
        }
        Ok(ev)
    }

    /// Serializes the bundle as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// A stable identifier of what the bundle proves: hex SHA-256 of its
    /// kind, `signer`, `origin` and the two checkpoints' sizes and roots
    /// (same-size: in root order), read from the notes without checking
    /// signatures. Two bundles of one contradiction have one id however
    /// their notes differ (extra signature lines, timestamps, proof), so a
    /// store keyed by it keeps each contradiction once. For a bundle whose
    /// notes do not parse (never valid evidence) it is the hash of the raw
    /// fields instead. Equals [`VerifiedEvidence::id`] after verification.
    pub fn id(&self) -> String {
        let body = |n: &str| {
            Note::parse(n.as_bytes())
                .ok()
                .and_then(|note| Checkpoint::parse(&note.text).ok())
        };
        if let (Some(a), Some(b)) = (body(&self.smaller), body(&self.larger)) {
            return content_id(
                self.kind,
                &self.signer,
                &self.origin,
                (a.size, a.root),
                (b.size, b.root),
            );
        }
        let mut buf = Vec::new();
        for part in [
            self.kind.as_str(),
            &self.signer,
            &self.origin,
            &self.smaller,
            &self.larger,
        ] {
            buf.extend_from_slice(part.as_bytes());
            buf.push(0);
        }
        hex::encode(crate::hash::sha256(&buf))
    }

    /// Verifies the bundle with nothing but `key`: a log key (type 0x01)
    /// or a witness key (cosignature/v1). Succeeds only if both checkpoints
    /// are signed by `key`, share an origin, and contradict each other as
    /// the bundle's kind says.
    pub fn verify(&self, key: &VerifierKey) -> Result<VerifiedEvidence, EvidenceError> {
        if self.format != EVIDENCE_FORMAT {
            return Err(EvidenceError::Malformed("wrong format".into()));
        }
        if self.signer != key.to_vkey() {
            return Err(EvidenceError::SignerMismatch {
                bundle: self.signer.clone(),
                trusted: key.to_vkey(),
            });
        }
        let (smaller, smaller_time) = verified_body(&self.smaller, key, "smaller")?;
        let (larger, larger_time) = verified_body(&self.larger, key, "larger")?;
        if smaller.origin != larger.origin || smaller.origin != self.origin {
            return Err(EvidenceError::OriginMismatch);
        }
        let proof = self
            .proof
            .iter()
            .take(MAX_EVIDENCE_PROOF + 1)
            .map(|p| {
                B64.decode(p)
                    .ok()
                    .and_then(|v| Hash::try_from(v.as_slice()).ok())
                    .ok_or_else(|| EvidenceError::Proof("hash is not base64 of 32 bytes".into()))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        if proof.len() > MAX_EVIDENCE_PROOF {
            return Err(EvidenceError::Proof("too many hashes".into()));
        }
        let implied_root = match self.kind {
            EvidenceKind::SameSizeDifferentRoots => {
                if smaller.size != larger.size {
                    return Err(EvidenceError::NotContradictory("sizes differ"));
                }
                if smaller.root == larger.root {
                    return Err(EvidenceError::NotContradictory("roots are equal"));
                }
                if !proof.is_empty() {
                    return Err(EvidenceError::Proof(
                        "same-size evidence carries no proof".into(),
                    ));
                }
                None
            }
            EvidenceKind::InconsistentPrefix => {
                if smaller.size >= larger.size || smaller.size == 0 {
                    return Err(EvidenceError::NotContradictory(
                        "smaller size must be between 1 and the larger size",
                    ));
                }
                let implied = implied_old_root(smaller.size, larger.size, &larger.root, &proof)
                    .map_err(|e: ProofError| EvidenceError::Proof(e.to_string()))?;
                if implied == smaller.root {
                    return Err(EvidenceError::NotContradictory(
                        "the larger tree implies the smaller root",
                    ));
                }
                Some(implied)
            }
            EvidenceKind::TimestampDecreased => {
                if key.key_type() != SIG_ED25519 {
                    return Err(EvidenceError::NotContradictory(
                        "only a log key signs timestamps; witnesses do not vouch for them",
                    ));
                }
                if smaller.size >= larger.size {
                    return Err(EvidenceError::NotContradictory(
                        "the smaller checkpoint must have fewer leaves",
                    ));
                }
                let (Some(t_small), Some(t_large)) = (smaller_time, larger_time) else {
                    return Err(EvidenceError::NotContradictory(
                        "both checkpoints need a log time (a timestamp cosignature by the log's key, or a timestamp line)",
                    ));
                };
                if !log_time_decreased(t_small, t_large) {
                    return Err(EvidenceError::NotContradictory(
                        "the log time does not decrease",
                    ));
                }
                if !proof.is_empty() {
                    return Err(EvidenceError::Proof(
                        "timestamp evidence carries no proof".into(),
                    ));
                }
                None
            }
        };
        Ok(VerifiedEvidence {
            kind: self.kind,
            signer: key.clone(),
            smaller,
            larger,
            implied_root,
        })
    }
}

/// Parses and verifies an evidence file with nothing but `key`.
pub fn verify_evidence(bytes: &[u8], key: &VerifierKey) -> Result<VerifiedEvidence, EvidenceError> {
    Evidence::from_json(bytes)?.verify(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::checkpoint::sign_checkpoint;
    use crate::note::NoteSigner;
    use crate::tree::{MemoryTree, consistency_proof, tree_root};

    fn signed(log: &NoteSigner, tree: &MemoryTree, size: u64) -> Vec<u8> {
        let root = tree_root(&tree.at_size(size).unwrap(), size).unwrap();
        sign_checkpoint(&Checkpoint::new(log.name(), size, root), log).unwrap()
    }

    #[test]
    fn split_view_evidence_verifies_and_tampering_fails() {
        let log = NoteSigner::generate("log.example/a").unwrap();
        let a = MemoryTree::from_entries((0..10u32).map(|i| i.to_be_bytes()));
        let b = MemoryTree::from_entries((100..110u32).map(|i| i.to_be_bytes()));
        let key = log.verifier_key();
        let ev = Evidence::same_size(
            &key,
            log.name(),
            &signed(&log, &a, 10),
            &signed(&log, &b, 10),
        );
        let json = ev.to_json();
        let v = verify_evidence(&json, &key).unwrap();
        assert_eq!(v.kind, EvidenceKind::SameSizeDifferentRoots);
        // Same checkpoint twice is not evidence.
        let same = Evidence::same_size(
            &key,
            log.name(),
            &signed(&log, &a, 10),
            &signed(&log, &a, 10),
        );
        assert!(matches!(
            same.verify(&key),
            Err(EvidenceError::NotContradictory(_))
        ));
        // Another key does not verify it.
        let other = NoteSigner::generate("log.example/a")
            .unwrap()
            .verifier_key();
        assert!(verify_evidence(&json, &other).is_err());
        // A flipped byte in a note breaks it.
        let mut t = ev.clone();
        t.larger = t.larger.replacen("10\n", "11\n", 1);
        assert!(matches!(
            t.verify(&key),
            Err(EvidenceError::Checkpoint { .. })
        ));
        assert!(verify_evidence(b"{}", &key).is_err());
        assert!(verify_evidence(&vec![b' '; MAX_EVIDENCE_SIZE + 1], &key).is_err());
    }

    #[test]
    fn prefix_evidence_for_every_split() {
        let log = NoteSigner::generate("log.example/b").unwrap();
        let key = log.verifier_key();
        let honest = MemoryTree::from_entries((0..40u32).map(|i| i.to_be_bytes()));
        let fork = MemoryTree::from_entries((0..40u32).map(|i| (i + 7).to_be_bytes()));
        for old in [1u64, 2, 3, 8, 13, 32, 39] {
            let view = honest.at_size(40).unwrap();
            let mut proof = consistency_proof(&view, old, 40).unwrap();
            if old.is_power_of_two() {
                proof.insert(0, tree_root(&view, old).unwrap());
            }
            let ev = Evidence::prefix(
                &key,
                log.name(),
                &signed(&log, &fork, old),
                &signed(&log, &honest, 40),
                &proof,
            );
            let v = Evidence::from_json(&ev.to_json())
                .unwrap()
                .verify(&key)
                .unwrap();
            assert_eq!(v.implied_root, Some(tree_root(&view, old).unwrap()));
            // The honest smaller checkpoint is not evidence.
            let ok = Evidence::prefix(
                &key,
                log.name(),
                &signed(&log, &honest, old),
                &signed(&log, &honest, 40),
                &proof,
            );
            assert!(matches!(
                ok.verify(&key),
                Err(EvidenceError::NotContradictory(_))
            ));
            // A doctored proof does not reproduce the larger root.
            let mut bad = ev.clone();
            bad.proof[0] = B64.encode([9u8; 32]);
            assert!(matches!(bad.verify(&key), Err(EvidenceError::Proof(_))));
        }
    }

    #[test]
    fn witness_evidence_uses_cosignatures() {
        let log = NoteSigner::generate("log.example/c").unwrap();
        let w = NoteSigner::generate_cosigner("witness.example").unwrap();
        let a = MemoryTree::from_entries((0..5u32).map(|i| i.to_be_bytes()));
        let b = MemoryTree::from_entries((5..10u32).map(|i| i.to_be_bytes()));
        let cosign = |note: Vec<u8>| {
            let mut n = Note::parse(&note).unwrap();
            n.signatures
                .push(Note::sign(&n.text, &w, 1_700_000_000).unwrap());
            n.to_bytes()
        };
        let wkey = w.verifier_key();
        let ev = Evidence::same_size(
            &wkey,
            log.name(),
            &cosign(signed(&log, &a, 5)),
            &cosign(signed(&log, &b, 5)),
        );
        ev.verify(&wkey).unwrap();
        // Without the witness's cosignature on one of them it is not evidence against it.
        let ev2 = Evidence::same_size(
            &wkey,
            log.name(),
            &cosign(signed(&log, &a, 5)),
            &signed(&log, &b, 5),
        );
        assert!(ev2.verify(&wkey).is_err());
    }

    fn stamped(log: &NoteSigner, tree: &MemoryTree, size: u64, ts: u64) -> Vec<u8> {
        let root = tree_root(&tree.at_size(size).unwrap(), size).unwrap();
        sign_checkpoint(
            &Checkpoint::new(log.name(), size, root).with_timestamp(ts),
            log,
        )
        .unwrap()
    }

    #[test]
    fn timestamp_decrease_is_evidence_only_when_it_decreases() {
        let log = NoteSigner::generate("log.example/t").unwrap();
        let key = log.verifier_key();
        let t = MemoryTree::from_entries((0..20u32).map(|i| i.to_be_bytes()));
        let ev = |a: (u64, u64), b: (u64, u64)| {
            Evidence::timestamp_decreased(
                &key,
                log.name(),
                &stamped(&log, &t, a.0, a.1),
                &stamped(&log, &t, b.0, b.1),
            )
        };
        // Size 5 signed at t=2000, size 9 at t=1000: the time went back.
        let v = Evidence::from_json(&ev((5, 2000), (9, 1000)).to_json())
            .unwrap()
            .verify(&key)
            .unwrap();
        assert_eq!(v.kind, EvidenceKind::TimestampDecreased);
        assert_eq!(v.id(), ev((5, 2000), (9, 1000)).id());
        // Equal or increasing times, equal sizes, or the order reversed are not.
        for (a, b) in [
            ((5, 1000), (9, 1000)),
            ((5, 1000), (9, 2000)),
            ((9, 2000), (9, 1000)),
            ((9, 1000), (5, 2000)),
        ] {
            assert!(
                matches!(
                    ev(a, b).verify(&key),
                    Err(EvidenceError::NotContradictory(_))
                ),
                "{a:?} {b:?}"
            );
        }
        // No timestamp line: nothing to compare.
        let plain = Evidence::timestamp_decreased(
            &key,
            log.name(),
            &signed(&log, &t, 5),
            &signed(&log, &t, 9),
        );
        assert!(plain.verify(&key).is_err());
        // A witness is never accused of it.
        let w = NoteSigner::generate_cosigner("w.example").unwrap();
        let cosign = |note: Vec<u8>| {
            let mut n = Note::parse(&note).unwrap();
            n.signatures
                .push(Note::sign(&n.text, &w, 1_700_000_000).unwrap());
            n.to_bytes()
        };
        let wev = Evidence::timestamp_decreased(
            &w.verifier_key(),
            log.name(),
            &cosign(stamped(&log, &t, 5, 2000)),
            &cosign(stamped(&log, &t, 9, 1000)),
        );
        assert!(matches!(
            wev.verify(&w.verifier_key()),
            Err(EvidenceError::NotContradictory(_))
        ));
        // A proof makes it malformed.
        let mut p = ev((5, 2000), (9, 1000));
        p.proof.push(B64.encode([0u8; 32]));
        assert!(matches!(p.verify(&key), Err(EvidenceError::Proof(_))));
    }

    /// A checkpoint in the current form: no extension line, the time in
    /// the log's timestamp cosignature (whole seconds).
    fn timed(log: &NoteSigner, tree: &MemoryTree, size: u64, secs: u64) -> Vec<u8> {
        let root = tree_root(&tree.at_size(size).unwrap(), size).unwrap();
        crate::checkpoint::LogSigner::new(log.clone(), None)
            .unwrap()
            .sign(&Checkpoint::new(log.name(), size, root), secs)
            .unwrap()
    }

    #[test]
    fn timestamp_decrease_uses_the_log_time_of_either_form() {
        let log = NoteSigner::generate("log.example/lt").unwrap();
        let key = log.verifier_key();
        let t = MemoryTree::from_entries((0..20u32).map(|i| i.to_be_bytes()));
        let check = |small: Vec<u8>, large: Vec<u8>| {
            Evidence::timestamp_decreased(&key, log.name(), &small, &large).verify(&key)
        };
        // Both in the current form (no timestamp line at all).
        let v = check(timed(&log, &t, 5, 2000), timed(&log, &t, 9, 1000)).unwrap();
        assert_eq!(v.kind, EvidenceKind::TimestampDecreased);
        for (a, b) in [(1000, 1000), (1000, 2000)] {
            assert!(
                matches!(
                    check(timed(&log, &t, 5, a), timed(&log, &t, 9, b)),
                    Err(EvidenceError::NotContradictory(_))
                ),
                "{a} {b}"
            );
        }
        // One of each form: compared in whole seconds.
        assert!(check(stamped(&log, &t, 5, 2_000_000), timed(&log, &t, 9, 1999)).is_ok());
        assert!(check(timed(&log, &t, 5, 2000), stamped(&log, &t, 9, 1_999_999)).is_ok());
        for (small, large) in [
            // 5999 ms is second 5: no decrease.
            (stamped(&log, &t, 5, 5999), timed(&log, &t, 9, 5)),
            (timed(&log, &t, 5, 5), stamped(&log, &t, 9, 5000)),
            (timed(&log, &t, 5, 5), stamped(&log, &t, 9, 5999)),
            (stamped(&log, &t, 5, 1000), timed(&log, &t, 9, 2)),
        ] {
            assert!(
                matches!(check(small, large), Err(EvidenceError::NotContradictory(_))),
                "same or later second"
            );
        }
        // Two legacy lines: milliseconds.
        assert!(check(stamped(&log, &t, 5, 5999), stamped(&log, &t, 9, 5001)).is_ok());
        // A checkpoint with no log time at all: nothing to compare.
        assert!(check(signed(&log, &t, 5), timed(&log, &t, 9, 1)).is_err());
        // The time of a forged timestamp line is not a log time: a bad
        // timestamp cosignature rejects the note.
        let mut forged = Note::parse(&timed(&log, &t, 5, 2000)).unwrap();
        forged.signatures[1].signature[9] ^= 1;
        assert!(matches!(
            check(forged.to_bytes(), timed(&log, &t, 9, 1000)),
            Err(EvidenceError::Checkpoint { .. })
        ));
    }

    #[test]
    fn log_time_comparison_rule() {
        let legacy = |ms| LogTime {
            unix_ms: ms,
            legacy_extension_line: true,
        };
        let cosig = |s: u64| LogTime {
            unix_ms: s * 1000,
            legacy_extension_line: false,
        };
        assert!(log_time_decreased(legacy(5001), legacy(5000)));
        assert!(!log_time_decreased(legacy(5000), legacy(5000)));
        assert!(!log_time_decreased(legacy(5999), cosig(5)));
        assert!(log_time_decreased(legacy(6000), cosig(5)));
        assert!(!log_time_decreased(cosig(5), legacy(5000)));
        assert!(log_time_decreased(cosig(6), legacy(5999)));
        assert!(log_time_decreased(cosig(6), cosig(5)));
        assert!(!log_time_decreased(cosig(5), cosig(6)));
    }

    #[test]
    fn the_id_is_what_the_bundle_proves_not_its_bytes() {
        let log = NoteSigner::generate("log.example/id").unwrap();
        let key = log.verifier_key();
        let a = MemoryTree::from_entries((0..10u32).map(|i| i.to_be_bytes()));
        let b = MemoryTree::from_entries((100..110u32).map(|i| i.to_be_bytes()));
        let base = Evidence::same_size(
            &key,
            log.name(),
            &stamped(&log, &a, 10, 1),
            &stamped(&log, &b, 10, 2),
        );
        // Other timestamps, the notes swapped, extra signature lines by
        // unknown keys: one contradiction, one id.
        let retimed = Evidence::same_size(
            &key,
            log.name(),
            &stamped(&log, &b, 10, 7),
            &stamped(&log, &a, 10, 8),
        );
        assert_eq!(retimed.id(), base.id());
        let mut padded = Note::parse(base.larger.as_bytes()).unwrap();
        for i in 0..5 {
            let stranger = NoteSigner::generate(&format!("stranger{i}.example")).unwrap();
            padded
                .signatures
                .push(Note::sign(&padded.text, &stranger, 0).unwrap());
        }
        let mut spam = base.clone();
        spam.larger = String::from_utf8(padded.to_bytes()).unwrap();
        assert_ne!(spam.larger, base.larger);
        assert_eq!(spam.id(), base.id());
        assert_eq!(spam.verify(&key).unwrap().id(), base.id());
        // Another pair of sizes or roots, another kind, another signer: another id.
        let other = Evidence::same_size(
            &key,
            log.name(),
            &stamped(&log, &a, 9, 1),
            &stamped(&log, &b, 9, 2),
        );
        assert_ne!(other.id(), base.id());
        let mut kind = base.clone();
        kind.kind = EvidenceKind::InconsistentPrefix;
        assert_ne!(kind.id(), base.id());
        let mut signer = base.clone();
        signer.signer = NoteSigner::generate("log.example/id")
            .unwrap()
            .verifier_key()
            .to_vkey();
        assert_ne!(signer.id(), base.id());
    }
}

// ===========================================================================
// Index evidence (spec/lookup.md §7.2). A separate evidence format with its
// own module (`crate::index::evidence`); this block only lets one entry
// point verify either kind of file, dispatching on its `format` field.

pub use crate::index::evidence::{
    INDEX_EVIDENCE_FORMAT, IndexEvidence, IndexEvidenceError, IndexEvidenceKind,
    VerifiedIndexEvidence, verify_index_evidence,
};

/// Either kind of verified evidence.
#[derive(Clone, Debug)]
pub enum AnyVerifiedEvidence {
    /// Contradictory checkpoints ([`verify_evidence`]).
    Checkpoints(Box<VerifiedEvidence>),
    /// A wrong index ([`verify_index_evidence`]).
    Index(Box<VerifiedIndexEvidence>),
}

/// Why a file is not valid evidence of either kind.
#[derive(Debug, Error)]
pub enum AnyEvidenceError {
    /// Checkpoint evidence that does not verify.
    #[error("{0}")]
    Checkpoints(#[from] EvidenceError),
    /// Index evidence that does not verify.
    #[error("{0}")]
    Index(#[from] IndexEvidenceError),
}

/// Verifies an evidence file of either format with nothing but `key`.
pub fn verify_any_evidence(
    bytes: &[u8],
    key: &VerifierKey,
) -> Result<AnyVerifiedEvidence, AnyEvidenceError> {
    #[derive(Deserialize)]
    struct Format {
        format: String,
    }
    let is_index = bytes.len() <= crate::index::evidence::MAX_INDEX_EVIDENCE_SIZE
        && serde_json::from_slice::<Format>(bytes).is_ok_and(|f| f.format == INDEX_EVIDENCE_FORMAT);
    if is_index {
        Ok(AnyVerifiedEvidence::Index(Box::new(verify_index_evidence(
            bytes, key,
        )?)))
    } else {
        Ok(AnyVerifiedEvidence::Checkpoints(Box::new(verify_evidence(
            bytes, key,
        )?)))
    }
}
