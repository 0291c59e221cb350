//! Commands that talk to a log: `lookup`, `checkpoint`, `audit`.

use std::path::PathBuf;

use clap::Args;
use provlog_client::http::LogClient;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{Hash, leaf_hash, sha256};
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::signed_claim::SignedClaim;

use crate::claim_args::hash_file;
use crate::out::{outln, utc};
use crate::trust::TrustArgs;

/// Options of `provlog lookup`.
#[derive(Args, Debug)]
pub struct LookupArgs {
    /// Base URL of the log.
    #[arg(long, env = "PROVLOG_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The asset's SHA-256 in hex, instead of a file.
    #[arg(long, conflicts_with = "file")]
    pub sha256: Option<String>,
    /// The asset file.
    pub file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `provlog lookup`.
pub async fn lookup(args: LookupArgs) -> Result<(), String> {
    let log_key = args.trust.log_key()?;
    let asset: Hash = match (&args.sha256, &args.file) {
        (Some(hex_str), None) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(hex_str.trim(), &mut h)
                .map_err(|_| format!("--sha256 {hex_str:?} is not 64 hex digits"))?;
            h
        }
        (None, Some(file)) => hash_file(file)?.0,
        _ => return Err("give a FILE or --sha256 HEX".into()),
    };
    let client = LogClient::new(&args.log).map_err(|e| e.to_string())?;
    let found = client.lookup(&asset).await.map_err(|e| e.to_string())?;
    let cp = verify_checkpoint(&found.checkpoint, &log_key)
        .map_err(|e| format!("the log's checkpoint does not verify: {e}"))?
        .checkpoint;
    let mut rows = Vec::new();
    for e in &found.entries {
        verify_inclusion(&leaf_hash(&e.entry), e.index, cp.size, &e.proof, &cp.root)
            .map_err(|err| format!("entry {}: inclusion proof fails: {err}", e.index))?;
        let signed =
            SignedClaim::from_bytes(&e.entry).map_err(|err| format!("entry {}: {err}", e.index))?;
        signed
            .verify_signature()
            .map_err(|err| format!("entry {}: {err}", e.index))?;
        if signed.claim().asset.sha256 != asset {
            return Err(format!(
                "entry {} is for another asset: the log answered wrongly",
                e.index
            ));
        }
        rows.push((e.index, signed));
    }
    if args.json {
        let items: Vec<_> = rows
            .iter()
            .map(
                |(i, s)| serde_json::json!({"index": i, "vendor_key": s.kid(), "claim": s.claim()}),
            )
            .collect();
        outln!(
            "{}",
            serde_json::json!({"asset": hex::encode(asset), "checkpoint_size": cp.size, "entries": items})
        );
    } else if !rows.is_empty() {
        outln!(
            "{} claim(s) for sha256:{} in {} (checkpoint size {}), every inclusion verified",
            rows.len(),
            hex::encode(asset),
            cp.origin,
            cp.size
        );
        for (i, s) in &rows {
            let c = s.claim();
            outln!(
                "  #{i}: {} / {} {} | {} | created {} | signed by {}",
                c.generator.vendor,
                c.generator.tool,
                c.generator.version,
                c.source_type,
                utc(c.created),
                s.kid()
            );
        }
    }
    if rows.is_empty() {
        return Err(format!(
            "no claims found for sha256:{} in {} (checkpoint size {})",
            hex::encode(asset),
            cp.origin,
            cp.size
        ));
    }
    Ok(())
}

/// Options of `provlog checkpoint` and `provlog audit`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// Base URL of the log.
    #[arg(long, env = "PROVLOG_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Where remembered checkpoints are kept (one file per log origin).
    #[arg(long, env = "PROVLOG_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

fn state_dir(args: &CheckpointArgs) -> PathBuf {
    if let Some(d) = &args.state_dir {
        return d.clone();
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(d).join("provlog");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/provlog"),
        None => PathBuf::from(".provlog-state"),
    }
}

/// `provlog checkpoint` (`audit = false`) and `provlog audit` (`audit = true`).
///
/// Both fetch and verify the latest checkpoint and, when one is remembered
/// for this log, prove the two consistent before remembering the new one.
/// `audit` insists that there is a remembered checkpoint to compare with.
pub async fn checkpoint(args: CheckpointArgs, audit: bool) -> Result<(), String> {
    let log_key = args.trust.log_key()?;
    let client = LogClient::new(&args.log).map_err(|e| e.to_string())?;
    let latest = client
        .verified_checkpoint(&log_key)
        .await
        .map_err(|e| e.to_string())?;
    let new = &latest.checkpoint;
    let dir = state_dir(&args);
    let file = dir.join(format!(
        "{}.checkpoint",
        hex::encode(&sha256(new.origin.as_bytes())[..16])
    ));
    let remembered = match std::fs::read(&file) {
        Ok(bytes) => Some(
            verify_checkpoint(&bytes, &log_key)
                .map_err(|e| {
                    format!(
                        "remembered checkpoint {} does not verify: {e}",
                        file.display()
                    )
                })?
                .checkpoint,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    match &remembered {
        None if audit => {
            return Err(format!(
                "no remembered checkpoint for {}: run `provlog checkpoint` first",
                new.origin
            ));
        }
        None => {}
        Some(old) => {
            if new.size < old.size {
                return Err(format!(
                    "INCONSISTENT: the log shrank from size {} to {}",
                    old.size, new.size
                ));
            }
            let proof = client
                .consistency_proof(old.size, new.size)
                .await
                .map_err(|e| e.to_string())?;
            verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
                format!(
                    "INCONSISTENT: checkpoint at size {} is not an extension of the remembered one at size {}: {e}",
                    new.size, old.size
                )
            })?;
            outln!(
                "consistent: size {} -> {} ({} new entries)",
                old.size,
                new.size,
                new.size - old.size
            );
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, latest.note.to_bytes())
        .and_then(|()| std::fs::rename(&tmp, &file))
        .map_err(|e| format!("cannot remember the checkpoint in {}: {e}", file.display()))?;
    outln!(
        "checkpoint {} size {} root {}{}",
        new.origin,
        new.size,
        hex::encode(new.root),
        new.timestamp_ms()
            .map(|t| format!(" signed at {}", utc(t / 1000)))
            .unwrap_or_default()
    );
    Ok(())
}
