//! Evidence that the log's index is wrong (spec/lookup.md §7.2), checkable
//! offline with nothing but the log's verifier key. A separate format from
//! checkpoint evidence (`crate::evidence`), which dispatches to it by its
//! `format` field.
//!
//! ```json
//! {
//!   "format": "provlog-index-evidence/v1",
//!   "kind": "index-omission" | "index-false-entry" | "index-commit-size",
//!   "signer": "<log vkey>",
//!   "lookup": "<base64 lookup proof (CBOR)>",     // omission, false-entry
//!   "checkpoint": "<signed checkpoint note>",    // commit-size
//!   "index": 123,
//!   "entry": "<base64 entry>",
//!   "proof": ["<base64 hash>", ...]               // entry's inclusion proof
//! }
//! ```
//!
//! - `index-omission`: the lookup proof (valid under the log key) says the
//!   key is absent, or lists it without `index`, although entry `index`
//!   (below the commit's size, included in the *same* checkpoint) carries
//!   the key.
//! - `index-false-entry`: the lookup proof lists `index` under the key, but
//!   entry `index` (included in the same checkpoint) does not carry it.
//! - `index-commit-size`: entry `index`, included in the checkpoint, is an
//!   index-commit whose `size` is not `index`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError, verify_checkpoint};
use crate::hash::{Hash, leaf_hash};
use crate::note::{SIG_ED25519, VerifierKey};
use crate::policy::Policy;
use crate::proof::verify_inclusion;
use crate::receipt::MAX_PROOF_HASHES;

use super::entry::IndexCommit;
use super::key::{IndexKey, entry_keys};
use super::proof::{LookupError, LookupProof, LookupResult};

/// The `format` value.
pub const INDEX_EVIDENCE_FORMAT: &str = "provlog-index-evidence/v1";
/// Largest index evidence file, in bytes.
pub const MAX_INDEX_EVIDENCE_SIZE: usize = 1024 * 1024;

/// What an index evidence bundle shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexEvidenceKind {
    /// An entry carrying the key is missing from the key's list.
    IndexOmission,
    /// The key's list names an entry that does not carry the key.
    IndexFalseEntry,
    /// An index-commit is not at the log index equal to its size.
    IndexCommitSize,
}

/// An index evidence bundle (unverified until [`IndexEvidence::verify`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEvidence {
    /// Always [`INDEX_EVIDENCE_FORMAT`].
    pub format: String,
    /// What it shows.
    pub kind: IndexEvidenceKind,
    /// The accused log's vkey.
    pub signer: String,
    /// Base64 lookup proof (omission, false-entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<String>,
    /// Signed checkpoint note (commit-size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The entry's log index.
    pub index: u64,
    /// Base64 entry bytes.
    pub entry: String,
    /// Base64 inclusion proof of the entry into the checkpoint.
    pub proof: Vec<String>,
}

/// Why a bundle is not valid index evidence.
#[derive(Debug, thiserror::Error)]
pub enum IndexEvidenceError {
    /// Over [`MAX_INDEX_EVIDENCE_SIZE`].
    #[error("index evidence of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Not the JSON format.
    #[error("not provlog-index-evidence/v1: {0}")]
    Malformed(String),
    /// The bundle accuses another key.
    #[error("the bundle accuses {bundle}, not the trusted key {trusted}")]
    SignerMismatch {
        /// The bundle's signer.
        bundle: String,
        /// The trusted key.
        trusted: String,
    },
    /// The lookup proof does not verify under the key.
    #[error("lookup proof: {0}")]
    Lookup(#[from] LookupError),
    /// The checkpoint does not verify under the key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The entry is not in the checkpoint.
    #[error("entry inclusion: {0}")]
    Inclusion(String),
    /// Everything verifies, and it shows no wrong.
    #[error("not evidence: {0}")]
    NotContradictory(&'static str),
}

/// A verified index contradiction.
#[derive(Clone, Debug)]
pub struct VerifiedIndexEvidence {
    /// What it shows.
    pub kind: IndexEvidenceKind,
    /// The key (omission, false-entry).
    pub key: Option<IndexKey>,
    /// The entry's index.
    pub index: u64,
    /// The commit at fault.
    pub commit: IndexCommit,
    /// The checkpoint both proofs lead to.
    pub checkpoint: Checkpoint,
}

fn malformed(s: impl Into<String>) -> IndexEvidenceError {
    IndexEvidenceError::Malformed(s.into())
}

impl IndexEvidence {
    /// Evidence from a lookup proof and an entry (with its inclusion proof
    /// into the lookup's checkpoint). The lookup's carried entries are dropped.
    pub fn from_lookup(
        kind: IndexEvidenceKind,
        signer: &VerifierKey,
        lookup: &LookupProof,
        index: u64,
        entry: &[u8],
        proof: &[Hash],
    ) -> Self {
        let mut l = lookup.clone();
        l.entries.clear();
        Self {
            format: INDEX_EVIDENCE_FORMAT.into(),
            kind,
            signer: signer.to_vkey(),
            lookup: Some(B64.encode(l.to_cbor())),
            checkpoint: None,
            index,
            entry: B64.encode(entry),
            proof: proof.iter().map(|h| B64.encode(h)).collect(),
        }
    }

    /// Evidence of a misplaced index-commit.
    pub fn commit_size(
        signer: &VerifierKey,
        checkpoint: &[u8],
        index: u64,
        entry: &[u8],
        proof: &[Hash],
    ) -> Self {
        Self {
            format: INDEX_EVIDENCE_FORMAT.into(),
            kind: IndexEvidenceKind::IndexCommitSize,
            signer: signer.to_vkey(),
            lookup: None,
            checkpoint: Some(String::from_utf8_lossy(checkpoint).into_owned()),
            index,
            entry: B64.encode(entry),
            proof: proof.iter().map(|h| B64.encode(h)).collect(),
        }
    }

    /// Parses a bundle from JSON, with the size limit.
    pub fn from_json(bytes: &[u8]) -> Result<Self, IndexEvidenceError> {
        if bytes.len() > MAX_INDEX_EVIDENCE_SIZE {
            return Err(IndexEvidenceError::TooLarge(bytes.len()));
        }
        let ev: Self = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if ev.format != INDEX_EVIDENCE_FORMAT {
            return Err(malformed(format!("format {:?}", ev.format)));
        }
        if ev.proof.len() > MAX_PROOF_HASHES {
            return Err(malformed("too many proof hashes"));
        }
        Ok(ev)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Verifies the bundle with nothing but the log's key.
    pub fn verify(&self, key: &VerifierKey) -> Result<VerifiedIndexEvidence, IndexEvidenceError> {
        if self.format != INDEX_EVIDENCE_FORMAT {
            return Err(malformed("wrong format"));
        }
        if self.signer != key.to_vkey() {
            return Err(IndexEvidenceError::SignerMismatch {
                bundle: self.signer.clone(),
                trusted: key.to_vkey(),
            });
        }
        if key.key_type() != SIG_ED25519 {
            return Err(malformed("index evidence accuses a log key (type 0x01)"));
        }
        let entry = B64
            .decode(&self.entry)
            .map_err(|_| malformed("entry is not base64"))?;
        let proof = self
            .proof
            .iter()
            .take(MAX_PROOF_HASHES + 1)
            .map(|p| {
                B64.decode(p)
                    .ok()
                    .and_then(|v| Hash::try_from(v.as_slice()).ok())
                    .ok_or_else(|| malformed("proof hash is not base64 of 32 bytes"))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        let included = |cp: &Checkpoint| {
            verify_inclusion(&leaf_hash(&entry), self.index, cp.size, &proof, &cp.root)
                .map_err(|e| IndexEvidenceError::Inclusion(e.to_string()))
        };
        match self.kind {
            IndexEvidenceKind::IndexCommitSize => {
                if self.lookup.is_some() {
                    return Err(malformed("commit-size evidence carries no lookup"));
                }
                let note = self
                    .checkpoint
                    .as_deref()
                    .ok_or_else(|| malformed("missing checkpoint"))?;
                let cp = verify_checkpoint(note.as_bytes(), key)?.checkpoint;
                included(&cp)?;
                let commit = IndexCommit::from_bytes(&entry).map_err(|_| {
                    IndexEvidenceError::NotContradictory("the entry is not an index-commit")
                })?;
                if commit.size == self.index {
                    return Err(IndexEvidenceError::NotContradictory(
                        "the index-commit is at the index equal to its size",
                    ));
                }
                Ok(VerifiedIndexEvidence {
                    kind: self.kind,
                    key: None,
                    index: self.index,
                    commit,
                    checkpoint: cp,
                })
            }
            IndexEvidenceKind::IndexOmission | IndexEvidenceKind::IndexFalseEntry => {
                if self.checkpoint.is_some() {
                    return Err(malformed(
                        "lookup evidence carries its checkpoint in the lookup",
                    ));
                }
                let bytes = B64
                    .decode(
                        self.lookup
                            .as_deref()
                            .ok_or_else(|| malformed("missing lookup"))?,
                    )
                    .map_err(|_| malformed("lookup is not base64"))?;
                let lookup = LookupProof::from_cbor(&bytes)?;
                let part = lookup.verify_index(&Policy::single_log(key.clone()))?;
                let cp = part.checkpoint.checkpoint.clone();
                included(&cp)?;
                let carries = entry_keys(&entry).contains(&part.key);
                let listed = lookup.indexes().contains(&self.index);
                let shows = match self.kind {
                    IndexEvidenceKind::IndexOmission => {
                        if self.index >= part.commit.size {
                            return Err(IndexEvidenceError::NotContradictory(
                                "the entry is not covered by the commit",
                            ));
                        }
                        // A tail proof only speaks for indexes after its first one.
                        let speaks = match &lookup.result {
                            LookupResult::Found(f) => {
                                f.from == 0 || f.indexes.first().is_some_and(|&i| self.index > i)
                            }
                            _ => true,
                        };
                        carries && !listed && speaks
                    }
                    _ => listed && !carries,
                };
                if !shows {
                    return Err(IndexEvidenceError::NotContradictory(
                        "the lookup and the entry agree",
                    ));
                }
                Ok(VerifiedIndexEvidence {
                    kind: self.kind,
                    key: Some(part.key),
                    index: self.index,
                    commit: part.commit,
                    checkpoint: cp,
                })
            }
        }
    }
}

/// Parses and verifies an index evidence file with nothing but `key`.
pub fn verify_index_evidence(
    bytes: &[u8],
    key: &VerifierKey,
) -> Result<VerifiedIndexEvidence, IndexEvidenceError> {
    IndexEvidence::from_json(bytes)?.verify(key)
}
