//! `provlog submit`: sign and register files in batches, with bounded
//! concurrency, retries as the server's Retry-After says, a progress bar,
//! and a receipt verified before it is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use provlog_client::http::{HttpError, LogClient};
use provlog_core::note::NoteSigner;
use provlog_core::policy::Policy;
use provlog_core::receipt::Receipt;
use provlog_core::signed_claim::SignedClaim;
use tokio::sync::Semaphore;

use provlog_c2pa::embed::{C2paSigner, embed_receipt};

use crate::atomic::write_atomic;
use crate::claim_args::{ClaimArgs, c2pa_options};
use crate::keys::load_key;
use crate::trust::TrustArgs;
use crate::verify::{RECEIPT_EXT, TLOG_PROOF_EXT, sidecar};

/// Options of `provlog submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Base URL of the log (e.g. http://127.0.0.1:7300).
    #[arg(long, env = "PROVLOG_LOG")]
    pub log: String,
    /// Vendor private key file.
    #[arg(long)]
    pub key: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub claim: ClaimArgs,
    /// Claims per batch request.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Batch requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Write receipts here (mirroring the input tree) instead of next to each file.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Also write the C2SP tlog-proof text form (FILE.tlog-proof).
    #[arg(long)]
    pub tlog_proof: bool,
    /// Attempts per batch on 429, 503 or an unreachable log.
    #[arg(long, default_value_t = 8)]
    pub retries: u32,
    /// Put each verified receipt inside its file, as an `org.provlog.receipt`
    /// assertion in a C2PA update manifest signed with --c2pa-cert/--c2pa-key
    /// (instead of a FILE.provlog sidecar). Files must already carry a C2PA
    /// manifest.
    #[arg(long, requires_all = ["c2pa_cert", "c2pa_key"])]
    pub embed: bool,
    /// C2PA signing certificate chain (PEM, leaf first) for --embed.
    #[arg(long)]
    pub c2pa_cert: Option<PathBuf>,
    /// C2PA signing private key (PKCS#8 PEM) for --embed.
    #[arg(long)]
    pub c2pa_key: Option<PathBuf>,
    /// C2PA signature algorithm of --c2pa-key: es256, es384, es512, ps256,
    /// ps384, ps512, ed25519.
    #[arg(long, default_value = "es256")]
    pub c2pa_alg: String,
    /// Files or directories (walked recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// One file to register: where it is and where its receipt goes.
#[derive(Clone, Debug)]
struct Job {
    file: PathBuf,
    receipt_path: PathBuf,
}

/// Where receipts go: sidecar files, or (`--embed`) into the file's own
/// C2PA manifest store.
struct Output {
    tlog_proof: bool,
    embed: Option<(C2paSigner, provlog_c2pa::C2paOptions)>,
}

/// Collects the files under `paths`, skipping receipt files and files
/// named twice; refuses two files whose receipts would land on one path.
fn collect(paths: &[PathBuf], out_dir: Option<&Path>) -> Result<Vec<Job>, String> {
    let mut jobs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut receipts: std::collections::HashMap<PathBuf, PathBuf> =
        std::collections::HashMap::new();
    for root in paths {
        if !root.exists() {
            return Err(format!("{}: no such file or directory", root.display()));
        }
        for entry in walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| format!("cannot walk {}: {e}", root.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let file = entry.path().to_path_buf();
            let canonical = std::fs::canonicalize(&file)
                .map_err(|e| format!("cannot resolve {}: {e}", file.display()))?;
            if !seen.insert(canonical) {
                continue;
            }
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(&format!(".{RECEIPT_EXT}"))
                || name.ends_with(&format!(".{TLOG_PROOF_EXT}"))
            {
                continue;
            }
            let receipt_path = match out_dir {
                Some(dir) => {
                    let rel = if root.is_dir() {
                        file.strip_prefix(root).unwrap_or(&file).to_path_buf()
                    } else {
                        PathBuf::from(file.file_name().unwrap_or_default())
                    };
                    sidecar(&dir.join(rel), RECEIPT_EXT)
                }
                None => sidecar(&file, RECEIPT_EXT),
            };
            if let Some(other) = receipts.insert(receipt_path.clone(), file.clone()) {
                return Err(format!(
                    "{} and {} would both write the receipt {}; submit them separately",
                    other.display(),
                    file.display(),
                    receipt_path.display()
                ));
            }
            jobs.push(Job { file, receipt_path });
        }
    }
    Ok(jobs)
}

/// What happened to each file.
struct Outcome {
    file: PathBuf,
    result: Result<u64, String>,
}

/// `provlog submit`.
pub async fn submit(args: SubmitArgs) -> Result<(), String> {
    if args.trust.log_key.is_none() && args.trust.policy.is_none() {
        return Err(
            "submit verifies every receipt before writing it, so it needs the log's key: \
             --log-key VKEY (the log operator publishes it; `provlog-server vkey --data DIR` \
             prints it) or --policy FILE"
                .into(),
        );
    }
    let policy = Arc::new(args.trust.policy()?);
    let signer = Arc::new(load_key(&args.key)?);
    let embed = match (&args.c2pa_cert, &args.c2pa_key) {
        (Some(cert), Some(key)) if args.embed => Some((
            C2paSigner::from_files(cert, key, &args.c2pa_alg).map_err(|e| e.to_string())?,
            c2pa_options(args.claim.c2pa_trust_anchors.as_deref())?,
        )),
        _ => None,
    };
    let output = Arc::new(Output {
        tlog_proof: args.tlog_proof,
        embed,
    });
    let client = LogClient::new(&args.log).map_err(|e| e.to_string())?;
    let jobs = collect(&args.paths, args.out_dir.as_deref())?;
    if jobs.is_empty() {
        return Err("no files to submit".into());
    }
    let batch = args.batch.clamp(1, 1024);
    let total = jobs.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} files  {per_sec}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let claim_args = Arc::new(args.claim.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for (n, chunk) in jobs.chunks(batch).enumerate() {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| format!("internal: {e}"))?;
        let chunk = chunk.to_vec();
        let (client, policy, signer, claim_args, bar, output) = (
            client.clone(),
            policy.clone(),
            signer.clone(),
            claim_args.clone(),
            bar.clone(),
            output.clone(),
        );
        let opts = (args.retries, (n * batch) as u64);
        tasks.spawn(async move {
            let out = run_batch(&client, &policy, &signer, &claim_args, &output, chunk, opts).await;
            bar.inc(out.len() as u64);
            drop(permit);
            out
        });
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(res) = tasks.join_next().await {
        outcomes.extend(res.map_err(|e| format!("internal: a batch task failed: {e}"))?);
    }
    bar.finish_and_clear();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "submitted {} files in {:.1} s ({:.0} files/s): {} logged with verified receipts, {} failed",
        total,
        secs,
        total as f64 / secs.max(1e-9),
        total - failed.len(),
        failed.len()
    );
    for o in &failed {
        if let Err(e) = &o.result {
            eprintln!("  FAILED {}: {e}", o.file.display());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} of {total} files failed", failed.len()))
    }
}

/// Signs, submits, verifies and writes the receipts for one batch.
async fn run_batch(
    client: &LogClient,
    policy: &Policy,
    signer: &NoteSigner,
    claim_args: &ClaimArgs,
    output: &Output,
    jobs: Vec<Job>,
    (retries, first_seq): (u32, u64),
) -> Vec<Outcome> {
    // Hash and sign off the async threads: it is file I/O and CPU work.
    let prepared = {
        let signer = signer.clone();
        let claim_args = claim_args.clone();
        let files: Vec<PathBuf> = jobs.iter().map(|j| j.file.clone()).collect();
        let n = files.len();
        tokio::task::spawn_blocking(move || {
            files
                .iter()
                .enumerate()
                .map(|(i, file)| prepare(file, &signer, &claim_args, first_seq + i as u64))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| (0..n).map(|_| Err(format!("internal: {e}"))).collect())
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut ready = Vec::new();
    for (job, prep) in jobs.into_iter().zip(prepared) {
        match prep {
            Ok((entry, sha)) => ready.push((job, entry, sha)),
            Err(e) => outcomes.push(Outcome {
                file: job.file,
                result: Err(e),
            }),
        }
    }
    if ready.is_empty() {
        return outcomes;
    }
    outcomes.extend(submit_ready(client, policy, output, ready, retries).await);
    outcomes
}

/// An asset's SHA-256 and media type.
type AssetId = ([u8; 32], String);

/// A signed claim ready to submit: its job, entry bytes, asset hash and
/// media type.
type Ready = (Job, Vec<u8>, AssetId);

/// Whether the log refused a batch for its size (413: over the body or
/// claim-count limit, or over the per-key rate-limit burst), so halves of it
/// may pass.
fn too_big(e: &HttpError) -> bool {
    matches!(e, HttpError::Status { status: 413, .. })
}

/// Submits prepared claims as one batch (halving it while the log says it
/// is too big), then verifies and writes each receipt.
fn submit_ready<'a>(
    client: &'a LogClient,
    policy: &'a Policy,
    output: &'a Output,
    ready: Vec<Ready>,
    retries: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Outcome>> + Send + 'a>> {
    Box::pin(async move {
        let mut outcomes = Vec::with_capacity(ready.len());
        let entries: Vec<Vec<u8>> = ready.iter().map(|(_, e, _)| e.clone()).collect();
        let result = if entries.len() == 1 {
            with_retries(retries, || client.submit(&entries[0]))
                .await
                .map(|r| vec![r])
        } else {
            with_retries(retries, || client.submit_batch(&entries)).await
        };
        match result {
            Ok(receipts) => {
                for ((job, _, sha), receipt) in ready.into_iter().zip(receipts) {
                    let result = finish(policy, &job, &sha, &receipt, output);
                    outcomes.push(Outcome {
                        file: job.file,
                        result,
                    });
                }
            }
            Err(e) if ready.len() > 1 && too_big(&e) => {
                let mut first = ready;
                let second = first.split_off(first.len() / 2);
                outcomes.extend(submit_ready(client, policy, output, first, retries).await);
                outcomes.extend(submit_ready(client, policy, output, second, retries).await);
            }
            Err(e) if ready.len() > 1 && !e.is_transient() => {
                // The batch was refused as a whole (one bad claim fails it):
                // submit one by one so every file gets its own verdict.
                for (job, entry, sha) in ready {
                    let result = match with_retries(retries, || client.submit(&entry)).await {
                        Ok(receipt) => finish(policy, &job, &sha, &receipt, output),
                        Err(e) => Err(e.to_string()),
                    };
                    outcomes.push(Outcome {
                        file: job.file,
                        result,
                    });
                }
            }
            Err(e) => {
                for (job, _, _) in ready {
                    outcomes.push(Outcome {
                        file: job.file,
                        result: Err(e.to_string()),
                    });
                }
            }
        }
        outcomes
    })
}

/// Builds and signs the claim for one file: its hash, its C2PA manifest
/// (validated by the SDK) and its perceptual hash.
fn prepare(
    file: &Path,
    signer: &NoteSigner,
    args: &ClaimArgs,
    seq: u64,
) -> Result<(Vec<u8>, AssetId), String> {
    let mut args = args.clone();
    args.sequence = args.sequence.map(|s| s + seq);
    let facts = args.read_file(file)?;
    let claim = args.build_from(&facts)?;
    let vkey = signer.verifier_key().to_vkey();
    let signed = SignedClaim::sign(&claim, signer.signing_key(), &vkey)
        .map_err(|e| format!("cannot sign: {e}"))?;
    Ok((signed.to_bytes().to_vec(), (facts.sha256, facts.media_type)))
}

/// Verifies a receipt for the file and writes it: into the file's C2PA
/// manifest store (`--embed`), else next to it (and the text form).
fn finish(
    policy: &Policy,
    job: &Job,
    (sha, media_type): &AssetId,
    receipt: &Receipt,
    output: &Output,
) -> Result<u64, String> {
    let verified = receipt
        .verify_for_asset(policy, sha)
        .map_err(|e| format!("the log's receipt does not verify: {e}"))?;
    if let Some(dir) = job.receipt_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    if let Some((signer, opts)) = &output.embed {
        // Hashing and re-signing the file is blocking work.
        tokio::task::block_in_place(|| {
            embed_receipt(&job.file, media_type, &receipt.to_cbor(), signer, opts)
        })
        .map_err(|e| {
            format!(
                "logged as entry {}, but the receipt could not be embedded: {e}",
                verified.index
            )
        })?;
    } else {
        write_atomic(&job.receipt_path, &receipt.to_cbor())
            .map_err(|e| format!("cannot write {}: {e}", job.receipt_path.display()))?;
    }
    if output.tlog_proof {
        let text_path = job.receipt_path.with_extension(TLOG_PROOF_EXT);
        write_atomic(&text_path, receipt.to_tlog_proof().as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", text_path.display()))?;
    }
    Ok(verified.index)
}

/// Retries transient failures, waiting as long as the server asks
/// (Retry-After) or with capped exponential backoff.
async fn with_retries<T, F, Fut>(attempts: u32, mut f: F) -> Result<T, HttpError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, HttpError>>,
{
    let mut backoff = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            // A batch over the log's limits is split by the caller instead.
            Err(e) if e.is_transient() && !too_big(&e) && attempt < attempts.max(1) => {
                let wait = e
                    .retry_after()
                    .map(|s| Duration::from_secs(s.min(60)))
                    .unwrap_or(backoff);
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
