//! SCITT in the CLI (spec/scitt.md §4, §6): `provlog submit --scitt`
//! registers each file's claim as a signed statement over SCRAPI and
//! writes `FILE.scitt`, a transparent statement (the statement with its
//! COSE receipts, one per log key, in unprotected header 394);
//! `provlog verify` reads such a file like a receipt.
//!
//! Trust: a transparent statement's receipts are checked against the
//! policy's log keys, and against a policy witness key of type `0x06`
//! named like a log (the log's own ML-DSA-44 key listed as a witness to
//! demand both algorithms, policy.md §6). COSE receipts carry no witness
//! cosignatures, so a policy whose quorum needs real witnesses is not met
//! by a transparent statement: use the `.provlog` receipt for that.

use std::path::{Path, PathBuf};
use std::time::Duration;

use provlog_client::http::LogClient;
use provlog_core::checkpoint::Checkpoint;
use provlog_core::cose::CoseSigner;
use provlog_core::note::{SIG_ML_DSA_44, VerifierKey};
use provlog_core::policy::Policy;
use provlog_core::receipt::VerifiedReceipt;
use provlog_core::scitt::{CoseReceipt, TransparentStatement};
use provlog_core::signed_claim::SignedClaim;

use crate::atomic::write_atomic;
use crate::fail::{Fail, Kind, not_verified, usage};
use crate::keys::load_key;
use crate::out::outln;
use crate::submit::SubmitArgs;

/// Transparent statement file extension: `FILE.scitt`.
pub const SCITT_EXT: &str = "scitt";

/// How long one registration may wait for its commit (`303`/`302` polls).
const REGISTER_MAX_WAIT: Duration = Duration::from_secs(120);

/// The CBOR head of a tagged COSE_Sign1 (tag 18): how a transparent
/// statement file starts (a `.provlog` receipt is a map).
pub fn looks_like_transparent_statement(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0xd2)
}

/// The keys a transparent statement's receipts may be signed by under
/// `policy`: its log keys, and `0x06` witness keys named like a log.
fn receipt_keys(policy: &Policy) -> Vec<VerifierKey> {
    let logs: Vec<VerifierKey> = policy.logs().iter().map(|l| l.key.clone()).collect();
    let mut keys = logs.clone();
    for w in policy.witnesses() {
        if w.key.key_type() == SIG_ML_DSA_44 && logs.iter().any(|l| l.name() == w.key.name()) {
            keys.push(w.key.clone());
        }
    }
    keys
}

/// A verified transparent statement, as [`VerifiedReceipt`] (the tree head
/// of its first trusted receipt as the checkpoint; `iat` as the log time;
/// as witnesses the policy witnesses whose keys signed a receipt), and the
/// algorithms of the receipts that verified.
pub fn verify_transparent(
    ts: &TransparentStatement,
    policy: &Policy,
) -> Result<(VerifiedReceipt, Vec<&'static str>), Fail> {
    let v = ts
        .verify(&receipt_keys(policy))
        .map_err(|e| not_verified(format!("transparent statement: {e}")))?;
    let first = v
        .receipts
        .first()
        .ok_or_else(|| not_verified("transparent statement: no receipt by a trusted key"))?;
    let mut witnesses = Vec::new();
    let mut witness_times = Vec::new();
    for r in &v.receipts {
        if let Some(w) = policy.witnesses().iter().find(|w| w.key == r.key) {
            witnesses.push(w.name.clone());
            witness_times.push(r.iat.unwrap_or(0));
        }
    }
    let names: Vec<&str> = witnesses.iter().map(String::as_str).collect();
    if !policy.quorum_met(&names) {
        return Err(not_verified(
            "the policy's witness quorum is not met: a transparent statement's COSE receipts carry \
             the log's signatures only, no witness cosignatures (verify the .provlog receipt for that)",
        ));
    }
    let algs = v
        .receipts
        .iter()
        .map(|r| {
            if r.key.key_type() == SIG_ML_DSA_44 {
                "ML-DSA-44"
            } else {
                "Ed25519"
            }
        })
        .collect();
    Ok((
        VerifiedReceipt {
            signed_claim: v.statement,
            index: first.leaf_index,
            checkpoint: Checkpoint::new(first.key.name(), first.tree_size, first.root),
            witnesses,
            witness_times,
            log_time_ms: first.iat.map(|s| s.saturating_mul(1000)),
        },
        algs,
    ))
}

/// One registered file.
struct Registered {
    index: u64,
    path: PathBuf,
    receipts: usize,
}

/// Registers one file: sign its claim as a statement, `POST /entries`,
/// fetch every receipt, verify the transparent statement for this file,
/// write it atomically.
async fn register_one(
    client: &LogClient,
    policy: &Policy,
    args: &SubmitArgs,
    signer: &provlog_core::note::NoteSigner,
    file: &Path,
    out: &Path,
    seq: u64,
) -> Result<Registered, Fail> {
    let mut claim_args = args.claim.clone();
    claim_args.sequence = claim_args.sequence.map(|s| s + seq);
    let facts = {
        let (claim_args, file) = (claim_args.clone(), file.to_path_buf());
        tokio::task::spawn_blocking(move || claim_args.read_file(&file))
            .await
            .map_err(|e| format!("internal: {e}"))??
    };
    let claim = claim_args.build_from(&facts).map_err(not_verified)?;
    let vkey = signer.verifier_key().to_vkey();
    let statement =
        SignedClaim::sign_statement(&claim, CoseSigner::Ed25519(signer.signing_key()), &vkey)
            .map_err(|e| format!("cannot sign: {e}"))?;
    let raw = client
        .register_statement(statement.to_bytes(), REGISTER_MAX_WAIT)
        .await?;
    let receipts = raw
        .iter()
        .map(|r| CoseReceipt::from_bytes(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| not_verified(format!("the log's receipt does not decode: {e}")))?;
    let ts = TransparentStatement::new(&statement, &receipts)
        .map_err(|e| not_verified(format!("cannot build the transparent statement: {e}")))?;
    let (verified, _) = verify_transparent(&ts, policy)
        .map_err(|e| e.context("the log's receipts do not verify"))?;
    if verified.claim().asset.sha256 != facts.sha256 {
        return Err(not_verified("the registered claim is not for this file"));
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    write_atomic(out, ts.to_bytes()).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(Registered {
        index: verified.index,
        path: out.to_path_buf(),
        receipts: receipts.len(),
    })
}

/// `provlog submit --scitt`: one registration per file, in order.
pub async fn submit(args: SubmitArgs, json: bool) -> Result<(), Fail> {
    if args.embed || args.tlog_proof {
        return Err(usage(
            "--scitt writes a transparent statement (FILE.scitt); it cannot be combined with \
             --embed or --tlog-proof",
        ));
    }
    args.claim.check().map_err(usage)?;
    let policy = args.trust.policy()?;
    let signer = load_key(&args.key)?;
    let log = args
        .log
        .as_deref()
        .ok_or_else(|| usage("--scitt needs --log URL (not --log-list)"))?;
    let client = LogClient::new(log)?;
    let (jobs, not_registered) = crate::submit::collect(&args.paths, args.out_dir.as_deref())?;
    for n in &not_registered {
        eprintln!("skipped {}: {}", n.path.display(), n.reason);
    }
    if jobs.is_empty() {
        return Err(usage("no files to submit"));
    }
    crate::submit::check_log_key(&client, &policy).await?;
    let mut kind: Option<Kind> = None;
    let (mut logged, mut failed) = (0usize, 0usize);
    for (i, job) in jobs.iter().enumerate() {
        let out = job.receipt_path.with_extension(SCITT_EXT);
        match register_one(&client, &policy, &args, &signer, &job.file, &out, i as u64).await {
            Ok(r) => {
                logged += 1;
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"file": job.file.display().to_string(),
                            "status": "logged", "index": r.index,
                            "transparent_statement": r.path.display().to_string(),
                            "receipts": r.receipts})
                    );
                } else {
                    outln!(
                        "logged {}: entry #{}, transparent statement {} ({} receipts)",
                        job.file.display(),
                        r.index,
                        r.path.display(),
                        r.receipts
                    );
                }
            }
            Err(e) => {
                failed += 1;
                kind = Some(kind.map_or(e.kind, |k| k.worst(e.kind)));
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"file": job.file.display().to_string(),
                            "status": "failed", "error": e.message, "kind": e.kind.as_str()})
                    );
                }
                eprintln!("  FAILED {}: {e}", job.file.display());
            }
        }
    }
    eprintln!(
        "registered {logged} of {} files over SCITT SCRAPI, {failed} failed",
        jobs.len()
    );
    match kind {
        None => Ok(()),
        Some(kind) => Err(Fail::new(
            kind,
            format!("{failed} of {} files failed", jobs.len()),
        )),
    }
}
