//! The operator's accepted-keys file, issued as vendor-key entries
//! (spec/lookup.md §4.2, §9.1).
//!
//! A log with the verifiable index records which vendor keys it accepts in
//! the log itself, so that a verifier can prove a claim's key was accepted
//! at the claim's index (§5) and a monitor sees every change. At start-up
//! the server compares the `--accept-keys` file with the status the log's
//! vendor-key entries give and appends, signed with the log key, an `add`
//! for every listed key the log does not accept and a `revoke` for every
//! key the log accepts that the file no longer lists. They are one batch,
//! committed (and made durable) before the server takes claims, so every
//! claim admitted afterwards is at an index where its key's status in the
//! log is what admission checked.

use std::collections::{BTreeMap, BTreeSet};

use provlog_core::hash::leaf_hash;
use provlog_core::index::entry::{KeyOp, VendorKeyEvent};
use provlog_core::note::NoteSigner;

use crate::keys::AcceptedKeys;
use crate::sequencer::{Claim, Sequencer};
use crate::vindex::VIndex;

/// One change the file asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyChange {
    /// `add`, `revoke` or `rotate`.
    pub op: KeyOp,
    /// The vendor vkey (for `rotate`, the new one).
    pub key: String,
    /// For `rotate`, the vkey replaced.
    pub old: Option<String>,
}

/// Why the file cannot be issued.
#[derive(Debug, thiserror::Error)]
pub enum VendorKeysError {
    /// A listed key is not Ed25519 (vendor-key entries name Ed25519 keys
    /// only, spec/lookup.md §5).
    #[error(
        "{0}: vendor-key entries name Ed25519 keys only (spec/lookup.md §5); a log with --verifiable-index cannot list this key in --accept-keys"
    )]
    NotEd25519(String),
    /// Signing or committing the entries failed; nothing was admitted.
    #[error("issuing vendor-key entries: {0}")]
    Issue(String),
}

/// The changes that bring the log's key status (`in_log`: vkey → accepted,
/// from [`VIndex::vendor_keys`]) to the file: adds and rotations first (a
/// listed key the log does not accept is a `rotate` if the file says it
/// replaces a key the log accepts, else an `add`), then revokes of accepted
/// keys the file no longer lists; each group in vkey order, so the same
/// inputs always give the same entries.
pub fn changes(
    file: &AcceptedKeys,
    in_log: &BTreeMap<String, (bool, u64)>,
) -> Result<Vec<KeyChange>, VendorKeysError> {
    let mut listed = BTreeSet::new();
    for (vkey, key) in file.iter() {
        if key.ed25519_public_key().is_none() {
            return Err(VendorKeysError::NotEd25519(vkey.to_owned()));
        }
        listed.insert(vkey.to_owned());
    }
    let accepted = |k: &str| in_log.get(k).is_some_and(|(a, _)| *a);
    let mut out = Vec::new();
    let mut rotated = BTreeSet::new();
    for k in listed.iter().filter(|k| !accepted(k)) {
        match file.replaced_by(k).filter(|old| accepted(old)) {
            Some(old) => {
                rotated.insert(old.to_owned());
                out.push(KeyChange {
                    op: KeyOp::Rotate,
                    key: k.clone(),
                    old: Some(old.to_owned()),
                });
            }
            None => out.push(KeyChange {
                op: KeyOp::Add,
                key: k.clone(),
                old: None,
            }),
        }
    }
    for (k, (a, _)) in in_log {
        if *a && !listed.contains(k) && !rotated.contains(k) {
            out.push(KeyChange {
                op: KeyOp::Revoke,
                key: k.clone(),
                old: None,
            });
        }
    }
    Ok(out)
}

/// Issues `file` into the log: computes [`changes`] against the index, signs
/// one entry per change with `log` (`time` = `now_ms`) and commits them as
/// one batch. Returns each change with its log index. Durable when it
/// returns `Ok` (the batch's checkpoint is stored). Cost: one batch.
pub fn issue(
    seq: &mut Sequencer,
    vindex: &VIndex,
    log: &NoteSigner,
    file: &AcceptedKeys,
    now_ms: u64,
) -> Result<Vec<(KeyChange, u64)>, VendorKeysError> {
    let todo = changes(file, &vindex.vendor_keys())?;
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let mut claims = Vec::with_capacity(todo.len());
    for c in &todo {
        let ev = VendorKeyEvent::sign(c.op, &c.key, c.old.as_deref(), now_ms, log)
            .map_err(|e| VendorKeysError::Issue(format!("{}: {e}", c.key)))?;
        let entry = ev.to_bytes();
        claims.push(Claim {
            leaf: leaf_hash(&entry),
            entry,
            // Not a claim: the sequencer keeps the log's own entries out
            // of the asset and dedup indexes.
            asset: [0; 32],
            index_keys: None,
            bindings: None,
        });
    }
    let results = seq.commit(claims, now_ms);
    let mut out = Vec::with_capacity(todo.len());
    for (c, r) in todo.into_iter().zip(results) {
        let s = r.map_err(|e| VendorKeysError::Issue(e.to_string()))?;
        out.push((c, s.receipt.index));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use provlog_core::note::NoteSigner;

    fn vkey(name: &str) -> String {
        NoteSigner::generate(name)
            .expect("key")
            .verifier_key()
            .to_vkey()
    }

    fn file(keys: &[&str]) -> AcceptedKeys {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("accepted");
        std::fs::write(&p, keys.join("\n")).expect("write");
        AcceptedKeys::load(&p).expect("load")
    }

    #[test]
    fn the_file_is_diffed_against_the_log() {
        let (a, b, c) = (vkey("a.example"), vkey("b.example"), vkey("c.example"));
        // Nothing in the log: every listed key is added, in vkey order.
        let ch = changes(&file(&[&b, &a]), &BTreeMap::new()).expect("changes");
        let mut sorted = [a.clone(), b.clone()];
        sorted.sort();
        assert_eq!(
            ch,
            sorted
                .iter()
                .map(|k| KeyChange {
                    op: KeyOp::Add,
                    key: k.clone(),
                    old: None,
                })
                .collect::<Vec<_>>()
        );
        // a accepted, c accepted, b revoked earlier; the file lists a and b:
        // b is added again, c revoked, a unchanged.
        let log: BTreeMap<_, _> = [
            (a.clone(), (true, 1)),
            (b.clone(), (false, 2)),
            (c.clone(), (true, 3)),
        ]
        .into_iter()
        .collect();
        let ch = changes(&file(&[&a, &b]), &log).expect("changes");
        assert_eq!(
            ch,
            vec![
                KeyChange {
                    op: KeyOp::Add,
                    key: b.clone(),
                    old: None,
                },
                KeyChange {
                    op: KeyOp::Revoke,
                    key: c.clone(),
                    old: None,
                },
            ]
        );
        // The same file again after those: nothing to do.
        let log: BTreeMap<_, _> = [
            (a.clone(), (true, 1)),
            (b.clone(), (true, 4)),
            (c.clone(), (false, 5)),
        ]
        .into_iter()
        .collect();
        assert!(changes(&file(&[&a, &b]), &log).expect("changes").is_empty());
        // An empty file revokes everything accepted.
        let ch = changes(&file(&[]), &log).expect("changes");
        assert_eq!(ch.len(), 2);
        assert!(ch.iter().all(|c| c.op == KeyOp::Revoke));
    }

    #[test]
    fn a_replaces_line_is_a_rotation_once() {
        let (a, b, c) = (vkey("a.example"), vkey("b.example"), vkey("c.example"));
        let rot = format!("{b} replaces {a}");
        let log: BTreeMap<_, _> = [(a.clone(), (true, 0))].into_iter().collect();
        // A accepted in the log, the file says B replaces A: one rotate.
        assert_eq!(
            changes(&file(&[&rot]), &log).expect("changes"),
            vec![KeyChange {
                op: KeyOp::Rotate,
                key: b.clone(),
                old: Some(a.clone()),
            }]
        );
        // After the rotation (A not accepted, B accepted): nothing.
        let after: BTreeMap<_, _> = [(a.clone(), (false, 2)), (b.clone(), (true, 2))]
            .into_iter()
            .collect();
        assert!(changes(&file(&[&rot]), &after).expect("changes").is_empty());
        // A never accepted here: B is simply added.
        assert_eq!(
            changes(&file(&[&rot]), &BTreeMap::new()).expect("changes")[0].op,
            KeyOp::Add
        );
        // Malformed files are refused with the line.
        let dir = tempfile::tempdir().expect("tempdir");
        for bad in [
            format!("{a} replaces {a}"),
            format!("{b} replaces {a}\n{c} replaces {a}"),
            format!("{b} replaces {a}\n{a}"),
            format!("{b} supersedes {a}"),
        ] {
            let p = dir.path().join("k");
            std::fs::write(&p, &bad).expect("write");
            assert!(AcceptedKeys::load(&p).is_err(), "{bad}");
        }
    }
}
