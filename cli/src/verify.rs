//! `provlog verify`: offline check of a file against its receipt.

use std::fs;
use std::path::{Path, PathBuf};

use provlog_core::receipt::{Receipt, TLOG_PROOF_HEADER, VerifiedReceipt};

use crate::claim_args::hash_file;
use crate::out::{outln, utc};
use crate::trust::TrustArgs;

/// Receipt file extension (CBOR).
pub const RECEIPT_EXT: &str = "provlog";
/// Text receipt file extension (C2SP tlog-proof).
pub const TLOG_PROOF_EXT: &str = "tlog-proof";

/// `FILE` + `.ext`.
pub fn sidecar(file: &Path, ext: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Reads a receipt in either encoding (told apart by the tlog-proof header).
pub fn read_receipt(path: &Path) -> Result<Receipt, String> {
    let bytes =
        fs::read(path).map_err(|e| format!("cannot read receipt {}: {e}", path.display()))?;
    if bytes.starts_with(TLOG_PROOF_HEADER.as_bytes()) {
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        Receipt::from_tlog_proof(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        Receipt::from_cbor(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The receipt next to `file`: `FILE.provlog`, else `FILE.tlog-proof`.
fn default_receipt(file: &Path) -> Result<PathBuf, String> {
    let cbor = sidecar(file, RECEIPT_EXT);
    if cbor.exists() {
        return Ok(cbor);
    }
    let text = sidecar(file, TLOG_PROOF_EXT);
    if text.exists() {
        return Ok(text);
    }
    Err(format!(
        "no receipt for {}: looked for {} and {}; name one with --receipt",
        file.display(),
        cbor.display(),
        text.display()
    ))
}

/// A verdict as JSON.
pub fn verdict_json(file: &Path, v: &VerifiedReceipt) -> serde_json::Value {
    serde_json::json!({
        "verified": true,
        "file": file.display().to_string(),
        "log": v.checkpoint.origin,
        "index": v.index,
        "checkpoint": {
            "size": v.checkpoint.size,
            "root": hex::encode(v.checkpoint.root),
            "timestamp_ms": v.checkpoint.timestamp_ms(),
        },
        "witnesses": v.witnesses,
        "vendor_key": v.signed_claim.kid(),
        "claim": v.claim(),
    })
}

/// Prints a human verdict.
pub fn print_verdict(file: &Path, v: &VerifiedReceipt) {
    let c = v.claim();
    outln!("VERIFIED {}", file.display());
    outln!(
        "  asset       sha256:{} ({}, {} bytes)",
        hex::encode(c.asset.sha256),
        c.asset.media_type,
        c.asset.size
    );
    outln!(
        "  generator   {} / {} {}",
        c.generator.vendor,
        c.generator.tool,
        c.generator.version
    );
    outln!("  signed by   {}", v.signed_claim.kid());
    outln!("  created     {} ({})", utc(c.created), c.created);
    outln!("  source type {}", c.source_type);
    let disclosures: Vec<String> = c
        .disclosure
        .direct
        .iter()
        .map(|d| format!("{d} (direct)"))
        .chain(
            c.disclosure
                .indirect
                .iter()
                .map(|d| format!("{d} (indirect)")),
        )
        .collect();
    outln!(
        "  disclosure  {}",
        if disclosures.is_empty() {
            "none".to_string()
        } else {
            disclosures.join(", ")
        }
    );
    if let Some(consent) = &c.consent {
        outln!("  consent     {consent}");
    }
    outln!("  log         {} entry #{}", v.checkpoint.origin, v.index);
    outln!(
        "  checkpoint  size {} root {}{}",
        v.checkpoint.size,
        hex::encode(v.checkpoint.root),
        v.checkpoint
            .timestamp_ms()
            .map(|t| format!(" signed at {}", utc(t / 1000)))
            .unwrap_or_default()
    );
    if !v.witnesses.is_empty() {
        outln!("  witnesses   {}", v.witnesses.join(", "));
    }
}

/// `provlog verify`.
pub fn verify_command(
    file: &Path,
    receipt: Option<&Path>,
    trust: &TrustArgs,
    json: bool,
) -> Result<(), String> {
    let policy = trust.policy()?;
    let (sha256, _, _) = hash_file(file)?;
    let receipt_path = match receipt {
        Some(r) => r.to_path_buf(),
        None => default_receipt(file)?,
    };
    let receipt = read_receipt(&receipt_path)?;
    match receipt.verify_for_asset(&policy, &sha256) {
        Ok(v) => {
            if json {
                outln!("{}", verdict_json(file, &v));
            } else {
                print_verdict(file, &v);
            }
            Ok(())
        }
        Err(e) => {
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"verified": false, "file": file.display().to_string(), "error": e.to_string()})
                );
            }
            Err(format!("NOT VERIFIED {}: {e}", file.display()))
        }
    }
}
