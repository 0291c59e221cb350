//! `provlog verify-evidence FILE --key VKEY`: checks an evidence bundle
//! offline with nothing but the accused log's (or witness's) verifier key.

use std::path::Path;

use provlog_core::evidence::{MAX_EVIDENCE_SIZE, verify_evidence};
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
    let v = verify_evidence(&bytes, &key)
        .map_err(|e| not_verified(format!("{}: NOT valid evidence: {e}", file.display())))?;
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
