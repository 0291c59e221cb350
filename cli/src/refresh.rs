//! `provlog receipt refresh FILE`: moves a receipt onto the log's current
//! checkpoint. A receipt issued while the log's witnesses were down carries
//! the log's signature only (the log says so: `Provlog-Witness-Quorum:
//! not-met`); once the witnesses are back, this fetches the log's current,
//! cosigned checkpoint, verifies it (under the policy: log key, witnesses,
//! quorum), proves it consistent with the receipt's checkpoint (so the log
//! did not rewrite history in between), fetches and verifies a fresh
//! inclusion proof, verifies the whole new receipt, and only then replaces
//! the file (temporary file, fsync, rename, fsync of the directory), in the
//! encoding it had. Nothing is written unless everything verified.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use provlog_client::http::LogClient;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::leaf_hash;
use provlog_core::policy::Policy;
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::receipt::{Receipt, TLOG_PROOF_HEADER};

use crate::out::outln;
use crate::trust::TrustArgs;

/// `provlog receipt ...`.
#[derive(Subcommand, Debug)]
pub enum ReceiptCommand {
    /// Move a receipt onto the log's current (cosigned) checkpoint: verify
    /// it, a consistency proof from the receipt's checkpoint and a fresh
    /// inclusion proof, then rewrite the file.
    Refresh(RefreshArgs),
}

/// Options of `provlog receipt refresh`.
#[derive(Args, Debug)]
pub struct RefreshArgs {
    /// The receipt file (CBOR `.provlog` or text `.tlog-proof`).
    pub file: PathBuf,
    /// Base URL of the log (default: the policy's log URL).
    #[arg(long, env = "PROVLOG_LOG")]
    pub log: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Runs a `provlog receipt` subcommand.
pub async fn run(cmd: ReceiptCommand) -> Result<(), String> {
    match cmd {
        ReceiptCommand::Refresh(args) => refresh(args).await,
    }
}

/// `provlog receipt refresh`.
pub async fn refresh(args: RefreshArgs) -> Result<(), String> {
    let policy = args.trust.policy()?;
    let log_key = args.trust.log_key()?;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read receipt {}: {e}", args.file.display()))?;
    let text = bytes.starts_with(TLOG_PROOF_HEADER.as_bytes());
    let old = if text {
        let s = std::str::from_utf8(&bytes)
            .map_err(|_| format!("{}: not UTF-8", args.file.display()))?;
        Receipt::from_tlog_proof(s)
    } else {
        Receipt::from_cbor(&bytes)
    }
    .map_err(|e| format!("{}: {e}", args.file.display()))?;
    // The receipt must already be valid as the log issued it.
    let was = old
        .verify(&Policy::single_log(log_key.clone()))
        .map_err(|e| format!("the receipt does not verify with the log key: {e}"))?;
    let old_cp = was.checkpoint;
    let url = match &args.log {
        Some(u) => u.clone(),
        None => policy
            .logs()
            .iter()
            .find(|l| l.key == log_key)
            .and_then(|l| l.url.clone())
            .ok_or("give the log's URL with --log (the policy names none)")?,
    };
    let client = LogClient::new(&url).map_err(|e| e.to_string())?;
    let note = client.checkpoint().await.map_err(|e| e.to_string())?;
    let new_cp = verify_checkpoint(&note, &log_key)
        .map_err(|e| format!("the log's current checkpoint does not verify: {e}"))?
        .checkpoint;
    policy.verify_checkpoint(&note).map_err(|e| {
        format!(
            "the log's current checkpoint (size {}) does not satisfy the policy yet: {e}; its witnesses may still be catching up, try again later",
            new_cp.size
        )
    })?;
    if new_cp.size < old_cp.size {
        return Err(format!(
            "INCONSISTENT: the log's checkpoint (size {}) is smaller than the receipt's (size {})",
            new_cp.size, old_cp.size
        ));
    }
    let consistency = client
        .consistency_proof(old_cp.size, new_cp.size)
        .await
        .map_err(|e| e.to_string())?;
    verify_consistency(
        old_cp.size,
        new_cp.size,
        &old_cp.root,
        &new_cp.root,
        &consistency,
    )
    .map_err(|e| {
        format!(
            "INCONSISTENT: the log's checkpoint at size {} does not extend the receipt's at size {}: {e}",
            new_cp.size, old_cp.size
        )
    })?;
    let leaf = leaf_hash(&old.entry);
    let proof = client
        .inclusion_proof(old.index, new_cp.size)
        .await
        .map_err(|e| e.to_string())?;
    verify_inclusion(&leaf, old.index, new_cp.size, &proof, &new_cp.root).map_err(|e| {
        format!(
            "the log's inclusion proof at size {} fails: {e}",
            new_cp.size
        )
    })?;
    let new = Receipt {
        entry: old.entry.clone(),
        index: old.index,
        proof,
        checkpoint: note,
    };
    let verified = new
        .verify(&policy)
        .map_err(|e| format!("the refreshed receipt does not verify: {e}"))?;
    let out = if text {
        new.to_tlog_proof().into_bytes()
    } else {
        new.to_cbor()
    };
    replace_file(&args.file, &out)?;
    outln!(
        "REFRESHED {}: entry {} now proven in the checkpoint of size {} (was {}){}",
        args.file.display(),
        new.index,
        new_cp.size,
        old_cp.size,
        if verified.witnesses.is_empty() {
            String::new()
        } else {
            format!(", cosigned by {}", verified.witnesses.join(", "))
        }
    );
    Ok(())
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same
/// directory, fsync'd, renamed over it, then the directory fsync'd.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".refresh-tmp");
    let tmp = dir.join(tmp_name);
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(err)
}
