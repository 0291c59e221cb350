//! `provlog verify-evidence FILE --key VKEY`: checks an evidence bundle
//! offline with nothing but the accused log's (or witness's) verifier key.

use std::path::Path;

use provlog_core::evidence::{
    AnyVerifiedEvidence, MAX_EVIDENCE_SIZE, VerifiedIndexEvidence, verify_any_evidence,
};
use provlog_core::note::VerifierKey;

use crate::fail::{Fail, not_verified, usage};
use crate::out::outln;

/// Reads `file`, verifies it under `key`, and prints what it proves.
pub fn verify_evidence_command(file: &Path, key: &str, json: bool) -> Result<(), Fail> {
    let key = VerifierKey::parse(key.trim()).map_err(|e| usage(format!("--key: {e}")))?;
    let meta = std::fs::metadata(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if meta.len() > MAX_EVIDENCE_SIZE as u64 {
        return Err(not_verified(format!(
            "{}: {} bytes is over the evidence size limit",
            file.display(),
            meta.len()
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let v = match verify_any_evidence(&bytes, &key)
        .map_err(|e| not_verified(format!("{}: NOT valid evidence: {e}", file.display())))?
    {
        AnyVerifiedEvidence::Checkpoints(v) => v,
        AnyVerifiedEvidence::Index(v) => return print_index(&v, json),
    };
    if json {
        let out = serde_json::json!({
            "valid": true,
            "kind": v.kind.as_str(),
            "signer": v.signer.to_vkey(),
            "origin": v.smaller.origin,
            "smaller_size": v.smaller.size,
            "larger_size": v.larger.size,
        });
        outln!("{out}");
    } else {
        outln!(
            "VALID evidence ({}): {} signed two checkpoints of {} that cannot both be true (sizes {} and {})",
            v.kind.as_str(),
            v.signer.to_vkey(),
            v.smaller.origin,
            v.smaller.size,
            v.larger.size
        );
    }
    Ok(())
}

/// A verified index contradiction (spec/lookup.md §7.2).
fn print_index(v: &VerifiedIndexEvidence, json: bool) -> Result<(), Fail> {
    let kind = match v.kind {
        provlog_core::evidence::IndexEvidenceKind::IndexOmission => "index-omission",
        provlog_core::evidence::IndexEvidenceKind::IndexFalseEntry => "index-false-entry",
        provlog_core::evidence::IndexEvidenceKind::IndexCommitSize => "index-commit-size",
    };
    let key = v.key.as_ref().map(|k| k.describe());
    if json {
        let out = serde_json::json!({
            "valid": true,
            "kind": kind,
            "origin": v.checkpoint.origin,
            "key": key,
            "index": v.index,
            "commit_size": v.commit.size,
            "checkpoint_size": v.checkpoint.size,
        });
        outln!("{out}");
    } else {
        outln!(
            "VALID evidence ({kind}): {} signed checkpoint {} whose index-commit (covering [0, {})) contradicts entry {}{}",
            v.checkpoint.origin,
            v.checkpoint.size,
            v.commit.size,
            v.index,
            key.map(|k| format!(" for key {k}")).unwrap_or_default()
        );
    }
    Ok(())
}
