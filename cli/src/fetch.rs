//! `provlog receipt fetch FILE...`: rebuilds a lost receipt from the log.
//!
//! The log already holds everything a receipt is made of (the entry, its
//! index, an inclusion proof and a signed checkpoint), so a lost receipt is
//! never lost for good. If an interrupted `provlog submit` left the claim
//! it sent recorded as `RECEIPT.pending`, those same bytes are sent again
//! and the log's deduplication (by leaf hash) answers with the original
//! entry's receipt. Otherwise the log is asked for the claims on the
//! file's SHA-256 (`/v1/lookup`), each verified, and the earliest one by
//! the vendor (`--key`/`--vendor-key`, else anyone) becomes the receipt.
//! Every receipt is verified under the trust policy before it is written.

use std::path::{Path, PathBuf};

use clap::Args;
use provlog_client::http::LogClient;
use provlog_core::policy::Policy;
use provlog_core::receipt::Receipt;
use provlog_core::signed_claim::SignedClaim;

use crate::atomic::write_atomic;
use crate::claim_args::hash_file;
use crate::fail::{Fail, Kind, not_verified};
use crate::keys::load_key;
use crate::net::verify_entries;
use crate::out::outln;
use crate::submit::PENDING_EXT;
use crate::trust::TrustArgs;
use crate::verify::{RECEIPT_EXT, TLOG_PROOF_EXT, read_receipt, sidecar};

/// Options of `provlog receipt fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Base URL of the log.
    #[arg(long, env = "PROVLOG_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The vendor's private key file: only claims it signed count.
    #[arg(long, conflicts_with = "vendor_key")]
    pub key: Option<PathBuf>,
    /// The vendor's vkey (instead of --key): only claims it signed count.
    #[arg(long)]
    pub vendor_key: Option<String>,
    /// Where the receipts are (FILE's name + .provlog in this directory)
    /// instead of next to each file.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Also write the C2SP tlog-proof text form (FILE.tlog-proof).
    #[arg(long)]
    pub tlog_proof: bool,
    /// The asset files whose receipts to rebuild.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `provlog receipt fetch`.
pub async fn fetch(args: FetchArgs, json: bool) -> Result<(), Fail> {
    let policy = args.trust.policy()?;
    let log_key = args.trust.log_key()?;
    let vendor = match (&args.vendor_key, &args.key) {
        (Some(v), _) => Some(v.trim().to_string()),
        (None, Some(k)) => Some(load_key(k)?.verifier_key().to_vkey()),
        (None, None) => None,
    };
    let client = LogClient::new(&args.log)?;
    let mut failed = 0usize;
    let mut kind = None;
    for file in &args.files {
        let receipt_path = match &args.out_dir {
            Some(dir) => sidecar(&dir.join(file.file_name().unwrap_or_default()), RECEIPT_EXT),
            None => sidecar(file, RECEIPT_EXT),
        };
        match fetch_one(
            &client,
            &policy,
            &log_key,
            vendor.as_deref(),
            file,
            &receipt_path,
        )
        .await
        {
            Ok((receipt, how)) => {
                if let Some(r) = &receipt {
                    write_atomic(&receipt_path, &r.to_cbor())
                        .map_err(|e| format!("cannot write {}: {e}", receipt_path.display()))?;
                    let _ = std::fs::remove_file(sidecar(&receipt_path, PENDING_EXT));
                }
                let r = match receipt {
                    Some(r) => r,
                    None => read_receipt(&receipt_path)?,
                };
                if args.tlog_proof {
                    let text = receipt_path.with_extension(TLOG_PROOF_EXT);
                    write_atomic(&text, r.to_tlog_proof().as_bytes())
                        .map_err(|e| format!("cannot write {}: {e}", text.display()))?;
                }
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"file": file.display().to_string(), "fetched": true,
                            "index": r.index, "receipt": receipt_path.display().to_string(), "how": how})
                    );
                } else {
                    outln!(
                        "{}: {} (entry {}) -> {}",
                        file.display(),
                        how,
                        r.index,
                        receipt_path.display()
                    );
                }
            }
            Err(e) => {
                failed += 1;
                kind = Some(kind.map_or(e.kind, |k: Kind| k.worst(e.kind)));
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"file": file.display().to_string(), "fetched": false,
                            "error": e.message, "kind": e.kind.as_str()})
                    );
                }
                eprintln!("provlog: {}: {e}", file.display());
            }
        }
    }
    match kind {
        None => Ok(()),
        Some(kind) => {
            let fail = Fail::new(
                kind,
                format!(
                    "{failed} of {} receipts could not be rebuilt",
                    args.files.len()
                ),
            );
            Err(if json { fail.reported() } else { fail })
        }
    }
}

/// The receipt for one file (`None`: the existing one verifies) and how it
/// was obtained.
async fn fetch_one(
    client: &LogClient,
    policy: &Policy,
    log_key: &provlog_core::note::VerifierKey,
    vendor: Option<&str>,
    file: &Path,
    receipt_path: &Path,
) -> Result<(Option<Receipt>, &'static str), Fail> {
    let (sha, _, _) = hash_file(file)?;
    if receipt_path.exists()
        && let Ok(r) = read_receipt(receipt_path)
        && r.verify_for_asset(policy, &sha).is_ok()
    {
        return Ok((None, "the receipt already verifies"));
    }
    // The claim an interrupted submit sent: the log deduplicates it.
    let pending = sidecar(receipt_path, PENDING_EXT);
    if let Ok(bytes) = std::fs::read(&pending)
        && let Ok(signed) = SignedClaim::from_bytes(&bytes)
        && signed.claim().asset.sha256 == sha
        && vendor.is_none_or(|v| v == signed.kid())
    {
        let receipt = client.submit(&bytes).await?;
        receipt
            .verify_for_asset(policy, &sha)
            .map_err(|e| not_verified(format!("the log's receipt does not verify: {e}")))?;
        return Ok((
            Some(receipt),
            "rebuilt from the pending claim (log deduplicated)",
        ));
    }
    let found = client.lookup(&sha).await?;
    verify_entries(&found.checkpoint, &found.entries, log_key)?;
    let entry = found
        .entries
        .iter()
        .filter(|e| {
            SignedClaim::from_bytes(&e.entry)
                .is_ok_and(|s| s.claim().asset.sha256 == sha && vendor.is_none_or(|v| v == s.kid()))
        })
        .min_by_key(|e| e.index)
        .ok_or_else(|| {
            not_verified(format!(
                "the log has no claim for sha256:{}{}",
                hex::encode(sha),
                vendor
                    .map(|v| format!(" signed by {v}"))
                    .unwrap_or_default()
            ))
        })?;
    let receipt = Receipt {
        entry: entry.entry.clone(),
        index: entry.index,
        proof: entry.proof.clone(),
        checkpoint: found.checkpoint.clone(),
    };
    receipt
        .verify_for_asset(policy, &sha)
        .map_err(|e| not_verified(format!("the rebuilt receipt does not verify: {e}")))?;
    Ok((Some(receipt), "rebuilt from the log"))
}
