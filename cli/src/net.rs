//! Commands that talk to a log: `lookup`, `checkpoint`, `audit`.

use std::path::PathBuf;

use clap::Args;
use provlog_c2pa::read::ManifestFacts;
use provlog_client::http::{LogClient, LookupEntry};
use provlog_core::asset_match::{ObservedAsset, match_asset};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::claim::SoftBindingKind;
use provlog_core::hash::{Hash, leaf_hash, sha256};
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::signed_claim::SignedClaim;

use crate::atomic::write_atomic;
use crate::claim_args::{c2pa_options, hash_file, read_c2pa, sniff_media_type};
use crate::fail::{Fail, not_verified, usage};
use crate::out::{outln, utc};
use crate::trust::TrustArgs;

/// Options of `provlog lookup`.
#[derive(Args, Debug)]
pub struct LookupArgs {
    /// Base URL of the log (with --log-list, every shard's URL is asked instead).
    #[arg(long, env = "PROVLOG_LOG", conflicts_with = "log_list")]
    pub log: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Lookup proofs (crate::lookup_verify).
    #[command(flatten)]
    pub proof: crate::lookup_verify::ProofArgs,
    /// The asset's SHA-256 in hex, instead of a file.
    #[arg(long, conflicts_with = "file")]
    pub sha256: Option<String>,
    /// Find claims for re-encoded, resized or stripped copies of the image:
    /// the log's C2PA Soft Binding Resolution API (`/matches/byContent`)
    /// returns entries whose perceptual hash is near this file's.
    #[arg(long, requires = "file")]
    pub similar: bool,
    /// With --similar: the largest Hamming distance (0-19; default: the log's).
    #[arg(long, requires = "similar")]
    pub max_distance: Option<u32>,
    /// With --similar: the most matches to return.
    #[arg(long, default_value_t = 10)]
    pub max_results: usize,
    /// PEM bundle of C2PA trust anchors for reading the file's manifest.
    #[arg(long)]
    pub c2pa_trust_anchors: Option<PathBuf>,
    /// The asset file.
    pub file: Option<PathBuf>,
    /// Print JSON.
    #[arg(skip)]
    pub json: bool,
}

/// Verifies a lookup answer: the checkpoint under the log key, each
/// inclusion proof against it, each signed claim's signature.
pub(crate) fn verify_entries(
    checkpoint: &[u8],
    entries: &[LookupEntry],
    log_key: &provlog_core::note::VerifierKey,
) -> Result<
    (
        provlog_core::checkpoint::Checkpoint,
        Vec<(u64, SignedClaim)>,
    ),
    Fail,
> {
    let cp = verify_checkpoint(checkpoint, log_key)
        .map_err(|e| not_verified(format!("the log's checkpoint does not verify: {e}")))?
        .checkpoint;
    let mut rows = Vec::new();
    for e in entries {
        verify_inclusion(&leaf_hash(&e.entry), e.index, cp.size, &e.proof, &cp.root).map_err(
            |err| not_verified(format!("entry {}: inclusion proof fails: {err}", e.index)),
        )?;
        let signed = SignedClaim::from_bytes(&e.entry)
            .map_err(|err| not_verified(format!("entry {}: {err}", e.index)))?;
        signed
            .verify_signature()
            .map_err(|err| not_verified(format!("entry {}: {err}", e.index)))?;
        rows.push((e.index, signed));
    }
    Ok((cp, rows))
}

/// `provlog lookup`: by SHA-256, and for a file with a C2PA manifest also by
/// its hard binding (so a file whose manifest store was updated is found);
/// or `--similar`, by perceptual hash. Every answer is verified.
pub async fn lookup(args: LookupArgs) -> Result<(), Fail> {
    let log_key = args.trust.log_key()?;
    let log = args.log.as_deref().ok_or_else(|| usage("give --log URL"))?;
    let client = LogClient::new(log)?;
    if args.similar {
        return lookup_similar(&args, &client, &log_key).await;
    }
    let (asset, manifest): (Hash, Option<ManifestFacts>) = match (&args.sha256, &args.file) {
        (Some(hex_str), None) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(hex_str.trim(), &mut h)
                .map_err(|_| usage(format!("--sha256 {hex_str:?} is not 64 hex digits")))?;
            (h, None)
        }
        (None, Some(file)) => {
            let (sha, _, head) = hash_file(file)?;
            let opts = c2pa_options(args.c2pa_trust_anchors.as_deref())?;
            let file = file.clone();
            let media = sniff_media_type(&head);
            let m = tokio::task::spawn_blocking(move || read_c2pa(&file, &media, &opts))
                .await
                .map_err(|e| format!("internal: {e}"))?
                // A manifest that cannot be read only loses the hard-binding lookup.
                .unwrap_or_else(|e| {
                    eprintln!("warning: {e}; looking up by SHA-256 only");
                    None
                });
            (sha, m)
        }
        _ => return Err(usage("give a FILE or --sha256 HEX")),
    };
    let observed = ObservedAsset {
        sha256: asset,
        c2pa: manifest.as_ref().map(ManifestFacts::observed),
    };
    let found = client.lookup(&asset).await?;
    let (mut cp, mut rows) = verify_entries(&found.checkpoint, &found.entries, &log_key)?;
    let mut by_hard = false;
    if let Some(m) = &manifest
        && m.hard_binding_verified
    {
        let hard = client.lookup_hard_binding(&m.hard_binding).await?;
        let (cp2, rows2) = verify_entries(&hard.checkpoint, &hard.entries, &log_key)?;
        if cp2.size >= cp.size {
            cp = cp2;
        }
        for (i, s) in rows2 {
            if !rows.iter().any(|(j, _)| *j == i) {
                rows.push((i, s));
                by_hard = true;
            }
        }
    }
    rows.sort_by_key(|(i, _)| *i);
    for (i, s) in &rows {
        match_asset(s.claim(), &observed).map_err(|e| {
            not_verified(format!(
                "entry {i} is not for this asset ({e}): the log answered wrongly"
            ))
        })?;
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
            "{} claim(s) for sha256:{}{} in {} (checkpoint size {}), every inclusion verified",
            rows.len(),
            hex::encode(asset),
            if by_hard {
                " or its C2PA hard binding"
            } else {
                ""
            },
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
        return Err(not_verified(format!(
            "no claims found for sha256:{} in {} (checkpoint size {})",
            hex::encode(asset),
            cp.origin,
            cp.size
        )));
    }
    Ok(())
}

/// `provlog lookup --similar FILE`.
async fn lookup_similar(
    args: &LookupArgs,
    client: &LogClient,
    log_key: &provlog_core::note::VerifierKey,
) -> Result<(), Fail> {
    let file = args
        .file
        .as_ref()
        .ok_or_else(|| usage("--similar needs a FILE"))?;
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    if size > provlog_media::MAX_IMAGE_BYTES as u64 {
        return Err(usage(format!(
            "{} is {size} bytes; --similar uploads at most {} bytes",
            file.display(),
            provlog_media::MAX_IMAGE_BYTES
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if !provlog_media::is_supported_image(&bytes) {
        return Err(usage(format!(
            "{} is not a JPEG, PNG, WebP or GIF image",
            file.display()
        )));
    }
    let media_type = sniff_media_type(&bytes[..bytes.len().min(8192)]);
    // The same perceptual hash the log computes, to check its answer.
    let local = {
        let b = bytes.clone();
        tokio::task::spawn_blocking(move || provlog_media::perceptual_hash_of(&b))
            .await
            .map_err(|e| format!("internal: {e}"))?
            .map_err(|e| format!("{}: {e}", file.display()))?
    };
    let found = client
        .matches_by_content(
            bytes,
            &media_type,
            args.max_results.clamp(1, 100),
            args.max_distance,
        )
        .await?;
    let entries: Vec<LookupEntry> = found.matches.iter().map(|m| m.entry.clone()).collect();
    let (cp, rows) = verify_entries(&found.checkpoint, &entries, log_key)?;
    for (m, (i, s)) in found.matches.iter().zip(&rows) {
        let nearest = s
            .claim()
            .soft_bindings
            .iter()
            .filter(|b| b.kind == SoftBindingKind::Perceptual && b.alg == provlog_media::PHASH_ALG)
            .filter_map(|b| provlog_media::phash_from_value(&b.value))
            .map(|h| provlog_media::hamming(h, local))
            .min();
        if nearest.is_none() || m.distance.is_some_and(|d| Some(d) != nearest) {
            return Err(not_verified(format!(
                "entry {i}: the log reports distance {:?}, but the claim's perceptual hash is at \
                 {nearest:?} from this file's: the log answered wrongly",
                m.distance
            )));
        }
    }
    if args.json {
        let items: Vec<_> = found
            .matches
            .iter()
            .zip(&rows)
            .map(|(m, (i, s))| {
                serde_json::json!({"index": i, "distance": m.distance, "similarity": m.similarity_score,
                    "manifest_id": m.manifest_id, "vendor_key": s.kid(), "claim": s.claim()})
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({"file": file.display().to_string(), "checkpoint_size": cp.size, "matches": items})
        );
    } else if !rows.is_empty() {
        outln!(
            "{} similar claim(s) for {} in {} (checkpoint size {}), nearest first, every inclusion verified",
            rows.len(),
            file.display(),
            cp.origin,
            cp.size
        );
        for (m, (i, s)) in found.matches.iter().zip(&rows) {
            let c = s.claim();
            outln!(
                "  #{i}: distance {} (similarity {}) | {} / {} {} | {} | created {} | sha256:{}",
                m.distance.map_or("?".to_string(), |d| d.to_string()),
                m.similarity_score,
                c.generator.vendor,
                c.generator.tool,
                c.generator.version,
                c.source_type,
                utc(c.created),
                hex::encode(c.asset.sha256)
            );
        }
    }
    if rows.is_empty() {
        return Err(not_verified(format!(
            "no similar claims found for {} in {} (checkpoint size {})",
            file.display(),
            cp.origin,
            cp.size
        )));
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
pub async fn checkpoint(args: CheckpointArgs, audit: bool, json: bool) -> Result<(), Fail> {
    let log_key = args.trust.log_key()?;
    let client = LogClient::new(&args.log)?;
    let latest = client.verified_checkpoint(&log_key).await?;
    let new = &latest.checkpoint;
    let dir = state_dir(&args);
    // Keyed by the log's key as well as its origin: two logs with the same
    // (default) origin and different keys do not share a remembered
    // checkpoint. A log that keeps its key and forks keeps its file, so the
    // fork is caught.
    let file = dir.join(format!(
        "{}.checkpoint",
        hex::encode(&sha256(format!("{}\n{}", new.origin, log_key.to_vkey()).as_bytes())[..16])
    ));
    // Before this, state was keyed by origin only: read such a file if it
    // is this log's (it verifies under this key), and move on to the new name.
    let legacy = dir.join(format!(
        "{}.checkpoint",
        hex::encode(&sha256(new.origin.as_bytes())[..16])
    ));
    let read_state = |path: &std::path::Path| std::fs::read(path);
    let found = match read_state(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match read_state(&legacy) {
            Ok(bytes) if verify_checkpoint(&bytes, &log_key).is_ok() => Ok(bytes),
            Ok(_) => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
            Err(e) => Err(e),
        },
        other => other,
    };
    let remembered = match found {
        Ok(bytes) => Some(
            verify_checkpoint(&bytes, &log_key)
                .map_err(|e| {
                    not_verified(format!(
                        "remembered checkpoint {} does not verify: {e}",
                        file.display()
                    ))
                })?
                .checkpoint,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", file.display()).into()),
    };
    match &remembered {
        None if audit => {
            return Err(format!(
                "no remembered checkpoint for {}: run `provlog checkpoint` first",
                new.origin
            )
            .into());
        }
        None => {}
        Some(old) => {
            if new.size < old.size {
                return Err(not_verified(format!(
                    "INCONSISTENT: the log shrank from size {} to {}",
                    old.size, new.size
                )));
            }
            let proof = client.consistency_proof(old.size, new.size).await?;
            verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
                not_verified(format!(
                    "INCONSISTENT: checkpoint at size {} is not an extension of the remembered one at size {}: {e}",
                    new.size, old.size
                ))
            })?;
            if !json {
                outln!(
                    "consistent: size {} -> {} ({} new entries)",
                    old.size,
                    new.size,
                    new.size - old.size
                );
            }
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write_atomic(&file, &latest.note.to_bytes())
        .map_err(|e| format!("cannot remember the checkpoint in {}: {e}", file.display()))?;
    if json {
        outln!(
            "{}",
            serde_json::json!({"origin": new.origin, "size": new.size,
                "root": hex::encode(new.root), "timestamp_ms": new.timestamp_ms(),
                "consistent_from": remembered.as_ref().map(|o| o.size)})
        );
        return Ok(());
    }
    outln!(
        "checkpoint {} size {} root {}{}",
        new.origin,
        new.size,
        hex::encode(new.root),
        latest
            .log_time_ms()
            .map(|t| format!(" signed at {}", utc(t / 1000)))
            .unwrap_or_default()
    );
    Ok(())
}
