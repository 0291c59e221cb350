//! Auditing the log's verifiable index (spec/lookup.md §7, §9.4).
//!
//! The follower feeds every audited entry, in log order, to a
//! [`Recomputer`] (core): claims by their already-parsed keys, other entries
//! through the map function. At every index-commit the recomputed root and
//! key count are compared with the committed ones. A wrong commit raises an
//! `index-mismatch` alert at once (anyone who replays the log can reproduce
//! it, but it is not offline evidence), and is queued for the **probe**
//! ([`probe`]), run after the audited range: the monitor asks the log for a
//! lookup proof of every key of that batch's entries and turns any proof
//! that verifies yet contradicts an entry into `provlog-index-evidence/v1`
//! (index-omission, index-false-entry), which `provlog verify-evidence`
//! checks offline with the log's key alone. A misplaced commit becomes
//! index-commit-size evidence directly.
//!
//! State is in memory. The recomputation needs every entry from index 0: a
//! monitor that resumes a log audited in an earlier run (the audited tree is
//! persisted, the index is not) does not audit that log's index until it is
//! restarted with an empty data directory; it says so once in its log.
//! Memory: the index (~200 bytes per key) plus the entries of the current
//! batch (at most [`MAX_BATCH_KEPT`] kept for the probe).

use std::sync::{LazyLock, Mutex};

use provlog_client::http::LogClient;
use provlog_core::hash::{Hash, sha256};
use provlog_core::index::KeyHash;
use provlog_core::index::entry::{IndexCommit, LogEntry};
use provlog_core::index::evidence::{IndexEvidence, IndexEvidenceKind};
use provlog_core::index::key::{IndexKey, claim_keys, log_entry_keys};
use provlog_core::index::proof::{LookupError, LookupOutcome, LookupProof};
use provlog_core::index::recompute::{CommitCheck, Recomputer};
use provlog_core::policy::Policy;
use provlog_core::signed_claim::{KeyCache, SignedClaim};

use crate::monitor::{LogCtx, Monitor};

/// Vendor keys decoded once for the entries the index audit classifies.
static KEYS: LazyLock<KeyCache> = LazyLock::new(|| KeyCache::new(4096));

/// Most entries of one batch kept for the probe (a log whose batches are
/// larger is still checked root by root; the probe covers the last ones).
pub const MAX_BATCH_KEPT: usize = 4096;
/// Most keys probed per wrong commit.
pub const MAX_PROBE_KEYS: usize = 4096;

/// A wrong commit waiting for the probe.
struct Suspect {
    /// The commit's log index (= its size, when well placed).
    at: u64,
    commit: IndexCommit,
    /// The batch's entries (index, bytes, keys).
    entries: Vec<(u64, Vec<u8>, Vec<IndexKey>)>,
    /// The commit entry bytes (for commit-size evidence).
    commit_entry: Vec<u8>,
    misplaced: bool,
}

struct Inner {
    /// `None` once disabled (the audit did not start at entry 0).
    rec: Option<Recomputer>,
    /// The current batch's entries, for the probe.
    batch: Vec<(u64, Vec<u8>, Vec<IndexKey>)>,
    suspects: Vec<Suspect>,
    said_disabled: bool,
}

/// One log's index audit.
pub struct IndexAudit {
    inner: Mutex<Inner>,
}

impl Default for IndexAudit {
    fn default() -> Self {
        IndexAudit {
            inner: Mutex::new(Inner {
                rec: Some(Recomputer::default()),
                batch: Vec::new(),
                suspects: Vec::new(),
                said_disabled: false,
            }),
        }
    }
}

/// Whether `entry` is one of the index's own entry kinds (index-commit,
/// vendor-key): the follower then does not report it as an invalid claim.
pub fn is_index_entry(entry: &[u8]) -> bool {
    matches!(
        LogEntry::classify_cached(entry, &KEYS),
        LogEntry::IndexCommit(_) | LogEntry::VendorKey(_)
    )
}

impl IndexAudit {
    /// Feeds entry `index` (in log order; an entry already fed, after a
    /// retried audit, is skipped). `claim` is the follower's parse of it
    /// as a valid signed claim, if it is one. Raises the mismatch alert.
    pub fn push(
        &self,
        mon: &Monitor,
        log: &LogCtx,
        index: u64,
        entry: &[u8],
        claim: Option<&SignedClaim>,
    ) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *g;
        let Some(rec) = st.rec.as_mut() else {
            return;
        };
        let next = rec.next_index();
        if index < next {
            return;
        }
        if index > next {
            st.rec = None;
            if !st.said_disabled {
                st.said_disabled = true;
                tracing::warn!(
                    origin = log.origin(),
                    from = index,
                    "the index audit needs every entry from 0; not auditing this log's index in this run"
                );
            }
            return;
        }
        // The follower has parsed a valid claim already; anything else is
        // classified here (vendor keys decoded once per process).
        let classified = match claim {
            Some(_) => None,
            None => Some(LogEntry::classify_cached(entry, &KEYS)),
        };
        let check = match classified {
            Some(LogEntry::IndexCommit(c)) => match rec.push_commit(&c) {
                Ok(check) => Some((c, check)),
                Err(e) => {
                    tracing::error!(error = %e, "index recomputation failed; index audit stopped");
                    st.rec = None;
                    return;
                }
            },
            other => {
                let keys: Vec<IndexKey> = match (claim, &other) {
                    (Some(c), _) => claim_keys(c),
                    (None, Some(e)) => log_entry_keys(e),
                    (None, None) => Vec::new(),
                };
                let hashes: Vec<KeyHash> = keys.iter().map(IndexKey::hash).collect();
                rec.push_keys(&hashes);
                if st.batch.len() < MAX_BATCH_KEPT && !keys.is_empty() {
                    st.batch.push((index, entry.to_vec(), keys));
                }
                None
            }
        };
        let Some((commit, check)) = check else {
            return;
        };
        match check {
            CommitCheck::Ok { .. } => st.batch.clear(),
            CommitCheck::SizeNotIndex { at, committed } => {
                mon.misbehaviour(
                    log,
                    "index-commit-size",
                    format!(
                        "the index-commit at entry {at} says size {}: a commit must cover exactly the entries before it",
                        committed.size
                    ),
                );
                // The batch carries on to the next well-placed commit.
                st.suspects.push(Suspect {
                    at,
                    commit,
                    entries: Vec::new(),
                    commit_entry: entry.to_vec(),
                    misplaced: true,
                });
            }
            CommitCheck::Mismatch {
                at,
                committed,
                expected_root,
                expected_keys,
            } => {
                mon.misbehaviour(
                    log,
                    "index-mismatch",
                    format!(
                        "the index-commit at entry {at} has root {} and {} keys; the entries give root {} and {expected_keys} keys",
                        hex::encode(committed.root),
                        committed.keys,
                        hex::encode(expected_root)
                    ),
                );
                mon.alert(serde_json::json!({
                    "alert": "index-mismatch",
                    "log": log.origin(),
                    "index": at,
                    "committed_root": hex::encode(committed.root),
                    "expected_root": hex::encode(expected_root),
                }));
                st.suspects.push(Suspect {
                    at,
                    commit,
                    entries: std::mem::take(&mut st.batch),
                    commit_entry: entry.to_vec(),
                    misplaced: false,
                });
            }
        }
    }

    fn take_suspects(&self) -> Vec<Suspect> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut g.suspects)
    }

    /// Whether the index of this log is being audited.
    pub fn active(&self) -> bool {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.rec.is_some()
    }
}

/// Runs the probe for every wrong commit found so far, against the log's
/// checkpoint `note` (verified, size `size`): lookup proofs of the keys of
/// the batch, compared with the entries. Returns the number of evidence
/// bundles recorded. Network errors are logged and the suspect dropped
/// (the mismatch alert already went out).
pub async fn probe(
    mon: &Monitor,
    log: &LogCtx,
    client: &LogClient,
    note: &[u8],
    size: u64,
) -> usize {
    let key = log.config().key.clone();
    let policy = Policy::single_log(key.clone());
    let mut found = 0;
    for s in log.index_audit().take_suspects() {
        if s.misplaced {
            match client.inclusion_proof(s.at, size).await {
                Ok(proof) => {
                    let ev = IndexEvidence::commit_size(&key, note, s.at, &s.commit_entry, &proof);
                    if mon.record_index_evidence(log, &ev) {
                        found += 1;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "index probe: no inclusion proof"),
            }
            continue;
        }
        let mut probed = 0;
        'keys: for (j, entry, keys) in &s.entries {
            for k in keys {
                if probed >= MAX_PROBE_KEYS {
                    break 'keys;
                }
                probed += 1;
                match probe_key(client, &policy, &key, k, *j, entry).await {
                    Ok(Some(ev)) => {
                        if mon.record_index_evidence(log, &ev) {
                            found += 1;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(
                        origin = log.origin(),
                        commit = s.at,
                        key = k.describe(),
                        error = e,
                        "index probe: the log served no usable proof (availability, not offline evidence)"
                    ),
                }
            }
        }
        let _ = s.commit;
    }
    found
}

/// One key of entry `j`: the log's proof, and evidence if it contradicts
/// the entry.
async fn probe_key(
    client: &LogClient,
    policy: &Policy,
    log_key: &provlog_core::note::VerifierKey,
    k: &IndexKey,
    j: u64,
    entry: &[u8],
) -> Result<Option<IndexEvidence>, String> {
    let bytes = client
        .lookup_proof(k, 0, true)
        .await
        .map_err(|e| e.to_string())?;
    let proof = LookupProof::from_cbor(&bytes).map_err(|e| e.to_string())?;
    let verified = match proof.verify(policy, Some(k)) {
        Ok(v) => v,
        Err(LookupError::EntryLacksKey { index }) => {
            // A listed entry that does not carry the key.
            let Some(e) = proof.entries.iter().find(|e| e.index == index) else {
                return Ok(None);
            };
            return Ok(Some(IndexEvidence::from_lookup(
                IndexEvidenceKind::IndexFalseEntry,
                log_key,
                &proof,
                index,
                &e.entry,
                &e.proof,
            )));
        }
        Err(e) => return Err(e.to_string()),
    };
    if j >= verified.commit.size {
        return Ok(None);
    }
    let listed_or_unknown = match &verified.outcome {
        LookupOutcome::Absent => false,
        LookupOutcome::Found { from, indexes, .. } => {
            indexes.contains(&j) || (*from > 0 && indexes.first().is_none_or(|f| *f > j))
        }
    };
    if listed_or_unknown {
        return Ok(None);
    }
    let size = verified.checkpoint.checkpoint.size;
    let incl = client
        .inclusion_proof(j, size)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(IndexEvidence::from_lookup(
        IndexEvidenceKind::IndexOmission,
        log_key,
        &proof,
        j,
        entry,
        &incl,
    )))
}

/// The evidence id: hex SHA-256 of the JSON bytes (spec/lookup.md §9.4).
pub fn evidence_id(json: &[u8]) -> String {
    let h: Hash = sha256(json);
    hex::encode(h)
}
