//! `provlog submit`: sign and register files in batches, with bounded
//! concurrency, retries as the server's Retry-After says, a progress bar,
//! and a receipt verified before it is written.
//!
//! Resumable and idempotent (spec: README "Re-running and interrupting a
//! submit"): before anything is sent the log's key is checked against its
//! `/checkpoint`; a file whose receipt already verifies is skipped; every
//! signed claim is recorded in `RECEIPT.pending` (atomically) before it is
//! sent and removed once its receipt is written, so a re-run after an
//! interruption or crash sends the *same* claim again and the log's
//! deduplication returns the original entry's receipt instead of logging a
//! second one. SIGINT/SIGTERM stop dispatching new batches; the batches in
//! flight finish (or stay recorded as pending), and the run says how far it
//! got.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_core::asset_match::{ObservedAsset, match_asset};
use provlog_core::policy::PolicyError;
use tokio::sync::watch;

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
use crate::claim_args::{hash_file, read_c2pa, sniff_media_type};
use crate::fail::{Fail, Kind, not_verified, usage};
use crate::keys::load_key;
use crate::out::outln;
use crate::seq_counter::SeqCounter;
use crate::trust::TrustArgs;
use crate::verify::{RECEIPT_EXT, TLOG_PROOF_EXT, read_receipt, sidecar};

/// Suffix of the file that records a signed claim sent but not yet
/// answered with a receipt: `FILE.provlog.pending`.
pub const PENDING_EXT: &str = "pending";

/// Options of `provlog submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Base URL of the log (e.g. http://127.0.0.1:7300; or the config
    /// file's `log`). Required unless --log-list is given: then the chosen
    /// shard's URL is used.
    // Checked when the command runs, not by clap: clap's
    // required_unless_present would ignore the config file's default.
    #[arg(long, env = "PROVLOG_LOG", conflicts_with = "log_list")]
    pub log: Option<String>,
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
    /// Register each claim as a SCITT signed statement over SCRAPI
    /// (`POST /entries`) and write FILE.scitt, a transparent statement (the
    /// statement with the log's COSE receipts, Ed25519 and ML-DSA-44), which
    /// `provlog verify` accepts; one file at a time.
    #[arg(long, conflicts_with_all = ["embed", "tlog_proof", "log_list"])]
    pub scitt: bool,
    /// Leave `seq` out of the claims. By default each new claim carries
    /// the next number of the key's counter `KEY.seq` (one run per key at
    /// a time; `--sequence N` numbers this run's files N, N+1, ... instead).
    #[arg(long, conflicts_with = "sequence")]
    pub no_seq: bool,
    /// Files or directories (walked recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// One file to register: where it is and where its receipt goes.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) file: PathBuf,
    pub(crate) receipt_path: PathBuf,
}

impl Job {
    /// `RECEIPT.pending`: the signed claim sent for this file, until its
    /// receipt is written.
    fn pending_path(&self) -> PathBuf {
        sidecar(&self.receipt_path, PENDING_EXT)
    }
}

/// Where receipts go: sidecar files, or (`--embed`) into the file's own
/// C2PA manifest store.
struct Output {
    tlog_proof: bool,
    embed: Option<(C2paSigner, provlog_c2pa::C2paOptions)>,
    /// The key's sequence counter, unless `--sequence` or `--no-seq`.
    seq: Option<SeqCounter>,
    /// With `--log-list`: the shard this run submits to.
    shard: Option<ShardRun>,
}

/// The shard a `--log-list` run submits to (spec/log-list.md §4): every
/// claim it sends has its creation time in the shard's period, and an
/// existing receipt from any shard of the list counts.
struct ShardRun {
    /// The shard's origin.
    origin: String,
    /// Its period, Unix seconds, `[start, end)`.
    period: (u64, u64),
    /// Every shard's key (for existing receipts).
    any_shard: Policy,
}

impl ShardRun {
    /// Refuses a claim whose creation time is outside the shard's period.
    fn check(&self, created: u64, pending: bool) -> Result<(), Fail> {
        let (start, end) = self.period;
        if (start..end).contains(&created) {
            return Ok(());
        }
        let when = provlog_core::log_list::format_time(created);
        let period = format!(
            "[{}, {})",
            provlog_core::log_list::format_time(start),
            provlog_core::log_list::format_time(end)
        );
        Err(usage(if pending {
            format!(
                "its pending claim (from an earlier run) was created at {when}, outside the \
                 period {period} of shard {}: re-run with --created {created} to send it to its \
                 own shard (the log deduplicates it), or remove the .pending file",
                self.origin
            )
        } else {
            format!(
                "the claim's creation time {when} is past the period {period} of shard {} this \
                 run submits to; re-run to submit it to the next shard",
                self.origin
            )
        }))
    }
}

/// Whether `name` is a file submit writes itself (receipts, pending claims,
/// temporary files), never an asset to register.
pub fn is_own_file(name: &str) -> bool {
    name.ends_with(&format!(".{RECEIPT_EXT}"))
        || name.ends_with(&format!(".{TLOG_PROOF_EXT}"))
        || name.ends_with(&format!(".{RECEIPT_EXT}.{PENDING_EXT}"))
        || name.ends_with(&format!(".{}", crate::scitt::SCITT_EXT))
        || crate::atomic::is_temp_name(name)
}

/// A path submit did not register, and why.
#[derive(Debug)]
pub(crate) struct NotRegistered {
    pub(crate) path: PathBuf,
    pub(crate) reason: String,
    /// It should have been registered but could not be read (a failure),
    /// rather than skipped on purpose (a symlink, an empty file).
    failed: bool,
}

/// Why a walked entry is not a file to register, if it is not.
fn unregistrable(entry: &walkdir::DirEntry) -> Option<(String, bool)> {
    let ft = entry.file_type();
    if ft.is_symlink() {
        return Some((
            "a symbolic link, not followed (name its target to register it)".into(),
            false,
        ));
    }
    if ft.is_dir() {
        return None;
    }
    if !ft.is_file() {
        return Some((
            "not a regular file (a device, socket or pipe)".into(),
            false,
        ));
    }
    match entry.metadata() {
        Ok(m) if m.len() == 0 => {
            return Some(("an empty file: there is nothing to register".into(), false));
        }
        Ok(_) => {}
        Err(e) => return Some((format!("cannot read it: {}", io_words(e.io_error())), true)),
    }
    if let Err(e) = std::fs::File::open(entry.path()) {
        return Some((format!("cannot read it: {}", io_words(Some(&e))), true));
    }
    None
}

/// An I/O error in words, without the `(os error N)` suffix.
fn io_words(e: Option<&std::io::Error>) -> String {
    match e.map(std::io::Error::kind) {
        Some(std::io::ErrorKind::PermissionDenied) => "permission denied".into(),
        Some(std::io::ErrorKind::NotFound) => "it disappeared".into(),
        _ => e.map_or_else(
            || "unknown error".to_string(),
            |e| {
                let t = e.to_string();
                t.split(" (os error").next().unwrap_or(&t).to_string()
            },
        ),
    }
}

/// Collects the files under `paths`, skipping receipt files and files
/// named twice; refuses two files whose receipts would land on one path.
/// Symlinks, empty, special and unreadable files are not registered: each
/// is returned with the reason.
pub(crate) fn collect(
    paths: &[PathBuf],
    out_dir: Option<&Path>,
) -> Result<(Vec<Job>, Vec<NotRegistered>), Fail> {
    let mut jobs = Vec::new();
    let mut not = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut receipts: std::collections::HashMap<PathBuf, PathBuf> =
        std::collections::HashMap::new();
    for root in paths {
        if std::fs::symlink_metadata(root).is_err() {
            return Err(format!("{}: no such file or directory", root.display()).into());
        }
        for entry in walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(root).to_path_buf();
                    not.push(NotRegistered {
                        reason: format!("cannot read the directory: {}", io_words(e.io_error())),
                        path,
                        failed: true,
                    });
                    continue;
                }
            };
            let name = entry.file_name().to_str().unwrap_or("");
            if is_own_file(name) && !entry.file_type().is_dir() {
                continue;
            }
            // The root named on the command line is followed if it is a link.
            let named_link = entry.depth() == 0 && entry.path_is_symlink();
            let reason = if named_link {
                match std::fs::metadata(root) {
                    Ok(m) if m.is_file() && m.len() == 0 => Some((
                        "an empty file: there is nothing to register".to_string(),
                        false,
                    )),
                    Ok(_) => None,
                    Err(e) => Some((format!("cannot read it: {}", io_words(Some(&e))), true)),
                }
            } else {
                unregistrable(&entry)
            };
            if let Some((reason, failed)) = reason {
                not.push(NotRegistered {
                    path: entry.path().to_path_buf(),
                    reason,
                    failed,
                });
                continue;
            }
            let is_file = if named_link {
                std::fs::metadata(root).is_ok_and(|m| m.is_file())
            } else {
                entry.file_type().is_file()
            };
            if !is_file {
                continue;
            }
            let file = entry.path().to_path_buf();
            let canonical = std::fs::canonicalize(&file)
                .map_err(|e| format!("cannot resolve {}: {e}", file.display()))?;
            if !seen.insert(canonical) {
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
                return Err(usage(format!(
                    "{} and {} would both write the receipt {}; submit them separately",
                    other.display(),
                    file.display(),
                    receipt_path.display()
                )));
            }
            jobs.push(Job { file, receipt_path });
        }
    }
    Ok((jobs, not))
}

/// What became of one file.
#[derive(Debug)]
enum Done {
    /// Logged now; the receipt verified and was written.
    Logged(u64),
    /// Its existing receipt verifies: nothing was sent.
    Skipped(u64),
}

/// What happened to each file.
struct Outcome {
    file: PathBuf,
    result: Result<Done, Fail>,
}

/// Checks, before anything is sent, that the log at `client` signs its
/// checkpoints with the key the user trusts: a wrong `--log-key` or policy
/// must fail here, not after the claims are logged.
pub(crate) async fn check_log_key(client: &LogClient, policy: &Policy) -> Result<(), Fail> {
    let note = client.checkpoint().await.map_err(|e| {
        Fail::from(e).context("cannot read the log's checkpoint (nothing was sent)")
    })?;
    match policy.verify_checkpoint(&note) {
        Ok(_) => Ok(()),
        // The log's own signature verified; the witnesses have not (yet)
        // cosigned. Receipts are checked against the full policy anyway.
        Err(PolicyError::QuorumNotMet { quorum, cosigned }) => {
            eprintln!(
                "warning: the log's current checkpoint does not meet the policy's witness quorum \
                 {quorum:?} (cosigned by [{}]); receipts that do not meet it are not written",
                cosigned.join(", ")
            );
            Ok(())
        }
        Err(e) => {
            let signer = provlog_core::note::Note::parse(&note)
                .ok()
                .map(|n| {
                    n.signatures
                        .iter()
                        .map(|s| s.name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            Err(not_verified(format!(
                "the log at {} does not sign with the key you gave ({e}; its checkpoint is signed \
                 by [{signer}]): nothing was sent. Get the log's key from its operator \
                 (`provlog-server vkey --data DIR`) and pass it with --log-key or --policy",
                client.base()
            )))
        }
    }
}

/// Stop requests: 0 while running, else the signal number received.
type StopRx = watch::Receiver<i32>;

/// Turns the first SIGINT or SIGTERM into a stop request, and a second one
/// into an immediate exit (what is in flight stays recorded as pending).
fn watch_signals(bar: ProgressBar) -> Result<StopRx, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(0);
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch SIGINT: {e}"))?;
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    tokio::spawn(async move {
        let sig = tokio::select! {
            _ = int.recv() => 2,
            _ = term.recv() => 15,
        };
        let _ = tx.send(sig);
        bar.suspend(|| {
            eprintln!(
                "stopping: finishing the batches in flight (signal again to quit at once; \
                 re-running the same command resumes)"
            )
        });
        tokio::select! {
            _ = int.recv() => {},
            _ = term.recv() => {},
        }
        bar.suspend(|| {
            eprintln!(
                "interrupted again: quitting now; claims in flight are recorded as pending and \
                 re-running the same command resumes"
            )
        });
        std::process::exit(128 + sig);
    });
    Ok(rx)
}

/// `provlog submit`.
pub async fn submit(args: SubmitArgs, json: bool) -> Result<(), Fail> {
    if args.trust.log_key.is_none() && args.trust.policy.is_none() && args.trust.log_list.is_none()
    {
        return Err(usage(
            "submit verifies every receipt before writing it, so it needs the log's key: \
             --log-key VKEY (the log operator publishes it; `provlog-server vkey --data DIR` \
             prints it), --policy FILE or --log-list FILE",
        ));
    }
    if args.scitt {
        return crate::scitt::submit(args, json).await;
    }
    args.claim.check().map_err(usage)?;
    let (policy, shard, submit_url, read_url) = match args.trust.log_list()? {
        None => {
            let log = args
                .log
                .clone()
                .ok_or_else(|| usage("give --log URL (or --log-list FILE)"))?;
            (args.trust.policy()?, None, log.clone(), log)
        }
        Some(list) => {
            // The claims' creation time: --created, else now (one shard for
            // the whole run).
            let at = match args.claim.created {
                Some(t) => t,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(|e| format!("the clock is before 1970: {e}"))?
                    .as_secs(),
            };
            let shard = list.shard_at(at).ok_or_else(|| {
                let periods: Vec<String> = list
                    .shards()
                    .iter()
                    .map(|s| format!("{} {}", s.origin, s.period_text()))
                    .collect();
                usage(format!(
                    "no shard of the log list covers the claims' creation time {} (shards: {}); \
                     nothing was sent",
                    provlog_core::log_list::format_time(at),
                    periods.join(", ")
                ))
            })?;
            eprintln!(
                "log list: submitting to shard {} (period {}) at {}",
                shard.origin,
                shard.period_text(),
                shard.submit_url()
            );
            let run = ShardRun {
                origin: shard.origin.clone(),
                period: (shard.start, shard.end),
                any_shard: list.policy(),
            };
            (
                provlog_core::log_list::LogList::shard_policy(shard),
                Some(run),
                shard.submit_url().to_string(),
                shard.url.clone(),
            )
        }
    };
    let policy = Arc::new(policy);
    let signer = Arc::new(load_key(&args.key)?);
    let embed = match (&args.c2pa_cert, &args.c2pa_key) {
        (Some(cert), Some(key)) if args.embed => Some((
            C2paSigner::from_files(cert, key, &args.c2pa_alg).map_err(|e| usage(e.to_string()))?,
            c2pa_options(args.claim.c2pa_trust_anchors.as_deref())?,
        )),
        _ => None,
    };
    let seq = if args.no_seq || args.claim.sequence.is_some() {
        None
    } else {
        Some(SeqCounter::open(&args.key).map_err(|e| Fail::new(Kind::CouldNotCheck, e))?)
    };
    let output = Arc::new(Output {
        tlog_proof: args.tlog_proof,
        embed,
        seq,
        shard,
    });
    let client = LogClient::new(&submit_url)?;
    let read_client = LogClient::new(&read_url)?;
    let (mut jobs, mut not_registered) = collect(&args.paths, args.out_dir.as_deref())?;
    // The vendor key and its counter are never assets (a folder holding
    // the key may be submitted).
    let own: Vec<PathBuf> = [
        args.key.clone(),
        crate::seq_counter::counter_path(&args.key),
        crate::seq_counter::lock_path(&args.key),
    ]
    .iter()
    .filter_map(|p| std::fs::canonicalize(p).ok())
    .collect();
    if !own.is_empty() {
        jobs.retain(|j| {
            let mine = std::fs::canonicalize(&j.file).is_ok_and(|c| own.contains(&c));
            if mine {
                not_registered.push(NotRegistered {
                    path: j.file.clone(),
                    reason: "the vendor key or its seq counter, never registered".into(),
                    failed: false,
                });
            }
            !mine
        });
    }
    for n in &not_registered {
        eprintln!("skipped {}: {}", n.path.display(), n.reason);
        if json {
            outln!(
                "{}",
                serde_json::json!({"file": n.path.display().to_string(),
                    "status": if n.failed { "failed" } else { "not-registered" },
                    "reason": n.reason, "kind": n.failed.then_some("could-not-check")})
            );
        }
    }
    let unreadable = not_registered.iter().filter(|n| n.failed).count();
    if jobs.is_empty() {
        return Err(Fail::new(
            if unreadable > 0 {
                Kind::CouldNotCheck
            } else {
                Kind::Usage
            },
            if not_registered.is_empty() {
                "no files to submit".to_string()
            } else {
                format!(
                    "no files to submit ({} skipped, see above)",
                    not_registered.len()
                )
            },
        ));
    }
    check_log_key(&read_client, &policy).await?;
    let batch = args.batch.clamp(1, 1024);
    let total = jobs.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} files  {per_sec}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut stop = watch_signals(bar.clone())?;
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let claim_args = Arc::new(args.claim.clone());
    let mut tasks = tokio::task::JoinSet::new();
    let mut dispatched = 0usize;
    for (n, chunk) in jobs.chunks(batch).enumerate() {
        let permit = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s != 0) => break,
            p = sem.clone().acquire_owned() => p.map_err(|e| format!("internal: {e}"))?,
        };
        if *stop.borrow() != 0 {
            break;
        }
        dispatched += chunk.len();
        let chunk = chunk.to_vec();
        let (client, policy, signer, claim_args, bar, output, stop) = (
            client.clone(),
            policy.clone(),
            signer.clone(),
            claim_args.clone(),
            bar.clone(),
            output.clone(),
            stop.clone(),
        );
        let opts = (args.retries, (n * batch) as u64);
        tasks.spawn(async move {
            let out = run_batch(
                &client,
                &policy,
                &signer,
                &claim_args,
                &output,
                chunk,
                opts,
                &stop,
            )
            .await;
            bar.inc(out.len() as u64);
            drop(permit);
            out
        });
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(res) = tasks.join_next().await {
        let batch = res.map_err(|e| format!("internal: a batch task failed: {e}"))?;
        bar.suspend(|| {
            for o in &batch {
                if let Ok(Done::Skipped(i)) = &o.result {
                    eprintln!("skipped {}: receipt verifies (entry {i})", o.file.display());
                }
                if json {
                    outln!("{}", outcome_json(o));
                }
            }
        });
        outcomes.extend(batch);
    }
    bar.finish_and_clear();
    if let Some(c) = &output.seq {
        // The unused reservation goes back (the run's numbers stay used).
        c.close().map_err(|e| Fail::new(Kind::CouldNotCheck, e))?;
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    let skipped = outcomes
        .iter()
        .filter(|o| matches!(o.result, Ok(Done::Skipped(_))))
        .count();
    let logged = outcomes.len() - failed.len() - skipped;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "submitted {} files in {:.1} s ({:.0} files/s): {} logged with verified receipts, {} failed{}",
        outcomes.len(),
        secs,
        outcomes.len() as f64 / secs.max(1e-9),
        logged,
        failed.len(),
        if skipped > 0 {
            format!(", {skipped} skipped (their receipts already verify)")
        } else {
            String::new()
        }
    );
    if !not_registered.is_empty() {
        eprintln!(
            "not registered: {} ({} symlinks, empty or special files; {unreadable} unreadable), \
             each named above",
            not_registered.len(),
            not_registered.len() - unreadable
        );
    }
    let mut kind = None;
    for o in &failed {
        if let Err(e) = &o.result {
            eprintln!("  FAILED {}: {e}", o.file.display());
            kind = Some(kind.map_or(e.kind, |k: Kind| k.worst(e.kind)));
        }
    }
    let sig = *stop.borrow();
    if json {
        let mut summary = serde_json::json!({"summary": {"files": total, "logged": logged, "skipped": skipped,
            "not_registered": not_registered.len(), "failed": failed.len() + unreadable, "not_started": total - dispatched,
            "interrupted": sig != 0, "seconds": secs}});
        if let Some(s) = &output.shard {
            summary["summary"]["shard"] = serde_json::json!(s.origin);
        }
        outln!("{summary}");
    }
    if sig != 0 {
        return Err(Fail::new(
            Kind::Interrupted(sig),
            format!(
                "interrupted: {} of {total} files have receipts; re-run the same command to resume",
                logged + skipped
            ),
        ));
    }
    if unreadable > 0 {
        kind = Some(kind.map_or(Kind::CouldNotCheck, |k| k.worst(Kind::CouldNotCheck)));
    }
    match kind {
        None => Ok(()),
        Some(kind) => Err(Fail::new(
            kind,
            format!(
                "{} of {} files failed",
                failed.len() + unreadable,
                total + unreadable
            ),
        )),
    }
}

/// One file's outcome as a `--json` line.
fn outcome_json(o: &Outcome) -> serde_json::Value {
    let file = o.file.display().to_string();
    match &o.result {
        Ok(Done::Logged(i)) => serde_json::json!({"file": file, "status": "logged", "index": i}),
        Ok(Done::Skipped(i)) => serde_json::json!({"file": file, "status": "skipped",
            "index": i, "reason": "receipt verifies"}),
        Err(e) => serde_json::json!({"file": file, "status": "failed",
            "error": e.message, "kind": e.kind.as_str()}),
    }
}

/// What [`prepare`] decided for one file.
enum Prep {
    /// Its existing receipt verifies (entry index): nothing to send.
    Skip(u64),
    /// A signed claim to send: new, or the pending one of an earlier run.
    Send(Vec<u8>, AssetId),
}

/// Signs, submits, verifies and writes the receipts for one batch.
#[allow(clippy::too_many_arguments)]
async fn run_batch(
    client: &LogClient,
    policy: &Arc<Policy>,
    signer: &NoteSigner,
    claim_args: &ClaimArgs,
    output: &Arc<Output>,
    jobs: Vec<Job>,
    (retries, first_seq): (u32, u64),
    stop: &StopRx,
) -> Vec<Outcome> {
    // Hash, check and sign off the async threads: it is file I/O and CPU work.
    let prepared = {
        let signer = signer.clone();
        let claim_args = claim_args.clone();
        let (policy, output) = (policy.clone(), output.clone());
        let list = jobs.clone();
        let n = list.len();
        tokio::task::spawn_blocking(move || {
            list.iter()
                .enumerate()
                .map(|(i, job)| {
                    prepare(
                        job,
                        &signer,
                        &claim_args,
                        first_seq + i as u64,
                        &policy,
                        &output,
                    )
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| {
            (0..n)
                .map(|_| Err(Fail::from(format!("internal: {e}"))))
                .collect()
        })
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut ready = Vec::new();
    for (job, prep) in jobs.into_iter().zip(prepared) {
        match prep {
            Ok(Prep::Skip(i)) => outcomes.push(Outcome {
                file: job.file,
                result: Ok(Done::Skipped(i)),
            }),
            Ok(Prep::Send(entry, sha)) => ready.push((job, entry, sha)),
            Err(e) => outcomes.push(Outcome {
                file: job.file,
                result: Err(e),
            }),
        }
    }
    if ready.is_empty() {
        return outcomes;
    }
    outcomes.extend(submit_ready(client, policy, output, ready, retries, stop).await);
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

/// After the log answered `e` for a claim: a refusal (4xx other than 413
/// and 429) means the claim was not logged, so its pending record goes.
fn forget_refused(job: &Job, e: &HttpError) {
    if let HttpError::Status { status, .. } = e
        && (400..500).contains(status)
        && *status != 413
        && *status != 429
    {
        let _ = std::fs::remove_file(job.pending_path());
    }
}

/// Submits prepared claims as one batch (halving it while the log says it
/// is too big), then verifies and writes each receipt.
fn submit_ready<'a>(
    client: &'a LogClient,
    policy: &'a Policy,
    output: &'a Output,
    ready: Vec<Ready>,
    retries: u32,
    stop: &'a StopRx,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Outcome>> + Send + 'a>> {
    Box::pin(async move {
        let mut outcomes = Vec::with_capacity(ready.len());
        let entries: Vec<Vec<u8>> = ready.iter().map(|(_, e, _)| e.clone()).collect();
        let result = if entries.len() == 1 {
            with_retries(retries, stop, || client.submit(&entries[0]))
                .await
                .map(|r| vec![r])
        } else {
            with_retries(retries, stop, || client.submit_batch(&entries)).await
        };
        match result {
            Ok(receipts) => {
                for ((job, _, sha), receipt) in ready.into_iter().zip(receipts) {
                    let result = finish(policy, &job, &sha, &receipt, output).map(Done::Logged);
                    outcomes.push(Outcome {
                        file: job.file,
                        result,
                    });
                }
            }
            Err(e) if ready.len() > 1 && too_big(&e) => {
                let mut first = ready;
                let second = first.split_off(first.len() / 2);
                outcomes.extend(submit_ready(client, policy, output, first, retries, stop).await);
                outcomes.extend(submit_ready(client, policy, output, second, retries, stop).await);
            }
            Err(e) if ready.len() > 1 && !e.is_transient() => {
                // The batch was refused as a whole (one bad claim fails it):
                // submit one by one so every file gets its own verdict.
                for (job, entry, sha) in ready {
                    let result = match with_retries(retries, stop, || client.submit(&entry)).await {
                        Ok(receipt) => {
                            finish(policy, &job, &sha, &receipt, output).map(Done::Logged)
                        }
                        Err(e) => {
                            forget_refused(&job, &e);
                            Err(Fail::from(e))
                        }
                    };
                    outcomes.push(Outcome {
                        file: job.file,
                        result,
                    });
                }
            }
            Err(e) => {
                let kind = crate::fail::http_kind(&e);
                for (job, _, _) in ready {
                    forget_refused(&job, &e);
                    outcomes.push(Outcome {
                        file: job.file,
                        result: Err(Fail::new(kind, e.to_string())),
                    });
                }
            }
        }
        outcomes
    })
}

/// The index of `file`'s existing receipt if it verifies under `policy`
/// for the file as it is now (a sidecar receipt, or with `--embed` one
/// embedded in its C2PA manifest store).
fn existing_receipt(
    job: &Job,
    sha: &[u8; 32],
    head: &[u8],
    policy: &Policy,
    output: &Output,
) -> Option<u64> {
    if let Some((_, opts)) = &output.embed {
        let media = sniff_media_type(head);
        let m = read_c2pa(&job.file, &media, opts).ok().flatten()?;
        let observed = ObservedAsset {
            sha256: *sha,
            c2pa: Some(m.observed()),
        };
        return m.receipts.iter().find_map(|r| {
            let v = Receipt::from_cbor(r).ok()?.verify(policy).ok()?;
            match_asset(v.claim(), &observed).ok()?;
            Some(v.index)
        });
    }
    if !job.receipt_path.exists() {
        return None;
    }
    let receipt = read_receipt(&job.receipt_path).ok()?;
    let v = receipt.verify_for_asset(policy, sha).ok()?;
    if output.tlog_proof {
        // The text form may be missing (an earlier run without --tlog-proof).
        let text_path = job.receipt_path.with_extension(TLOG_PROOF_EXT);
        if !text_path.exists() {
            write_atomic(&text_path, receipt.to_tlog_proof().as_bytes()).ok()?;
        }
    }
    Some(v.index)
}

/// The claim an earlier run recorded as pending for this file, if it is
/// still for this file's content and signed by this vendor key.
/// Returns its bytes, media type and creation time.
fn pending_claim(job: &Job, sha: &[u8; 32], vkey: &str) -> Option<(Vec<u8>, String, u64)> {
    let bytes = std::fs::read(job.pending_path()).ok()?;
    let signed = SignedClaim::from_bytes(&bytes).ok()?;
    (signed.kid() == vkey && &signed.claim().asset.sha256 == sha).then(|| {
        (
            bytes.clone(),
            signed.claim().asset.media_type.clone(),
            signed.claim().created,
        )
    })
}

/// Decides what to do with one file: skip it (its receipt verifies), send
/// its pending claim again, or build, sign and record a new claim (its
/// hash, its C2PA manifest validated by the SDK, its perceptual hash).
fn prepare(
    job: &Job,
    signer: &NoteSigner,
    args: &ClaimArgs,
    seq: u64,
    policy: &Policy,
    output: &Output,
) -> Result<Prep, Fail> {
    let vkey = signer.verifier_key().to_vkey();
    let pending = job.pending_path();
    // Only files with a trace of an earlier run are hashed twice.
    let earlier = output.embed.is_some() || job.receipt_path.exists() || pending.exists();
    if earlier {
        let (sha, _, head) = hash_file(&job.file)?;
        // With a log list, a receipt from any of its shards counts.
        let skip_policy = output.shard.as_ref().map_or(policy, |s| &s.any_shard);
        if let Some(index) = existing_receipt(job, &sha, &head, skip_policy, output) {
            let _ = std::fs::remove_file(&pending);
            return Ok(Prep::Skip(index));
        }
        if let Some((entry, media_type, created)) = pending_claim(job, &sha, &vkey) {
            if let Some(s) = &output.shard {
                s.check(created, true)?;
            }
            return Ok(Prep::Send(entry, (sha, media_type)));
        }
    }
    let mut args = args.clone();
    let facts = args.read_file(&job.file)?;
    // Taken (and durable in the counter) right before the claim is signed.
    args.sequence = match (args.sequence, &output.seq) {
        (Some(s), _) => Some(s + seq),
        (None, Some(counter)) => Some(
            counter
                .next()
                .map_err(|e| Fail::new(Kind::CouldNotCheck, e))?,
        ),
        (None, None) => None,
    };
    let claim = args.build_from(&facts).map_err(not_verified)?;
    if let Some(s) = &output.shard {
        s.check(claim.created, false)?;
    }
    let signed = SignedClaim::sign(&claim, signer.signing_key(), &vkey)
        .map_err(|e| format!("cannot sign: {e}"))?;
    let entry = signed.to_bytes().to_vec();
    // Recorded before it is sent: if the run stops before the receipt is
    // written, the next run sends these same bytes and the log answers
    // with the original entry (deduplicated by leaf hash).
    if let Some(dir) = pending.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    write_atomic(&pending, &entry)
        .map_err(|e| format!("cannot record the claim in {}: {e}", pending.display()))?;
    Ok(Prep::Send(entry, (facts.sha256, facts.media_type)))
}

/// Verifies a receipt for the file and writes it: into the file's C2PA
/// manifest store (`--embed`), else next to it (and the text form). The
/// pending record goes once the receipt is durable.
fn finish(
    policy: &Policy,
    job: &Job,
    (sha, media_type): &AssetId,
    receipt: &Receipt,
    output: &Output,
) -> Result<u64, Fail> {
    let verified = receipt
        .verify_for_asset(policy, sha)
        .map_err(|e| not_verified(format!("the log's receipt does not verify: {e}")))?;
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
    let _ = std::fs::remove_file(job.pending_path());
    Ok(verified.index)
}

/// Retries transient failures, waiting as long as the server asks
/// (Retry-After) or with capped exponential backoff. Once a stop is
/// requested it retries no more (the claim stays recorded as pending).
async fn with_retries<T, F, Fut>(attempts: u32, stop: &StopRx, mut f: F) -> Result<T, HttpError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, HttpError>>,
{
    let mut backoff = Duration::from_millis(200);
    let mut attempt = 1;
    let mut stop = stop.clone();
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            // A batch over the log's limits is split by the caller instead.
            Err(e)
                if e.is_transient()
                    && !too_big(&e)
                    && attempt < attempts.max(1)
                    && *stop.borrow() == 0 =>
            {
                let wait = e
                    .retry_after()
                    .map(|s| Duration::from_secs(s.min(60)))
                    .unwrap_or(backoff);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s != 0) => return Err(e),
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_own_file;

    #[test]
    fn own_files_are_never_registered() {
        for name in [
            "a.png.provlog",
            "a.png.tlog-proof",
            "a.png.provlog.pending",
            "a.png.scitt",
            ".a.png.provlog.tmp-12-0",
        ] {
            assert!(is_own_file(name), "{name}");
        }
        for name in ["a.png", "provlog", "a.pending", "notes.tmp"] {
            assert!(!is_own_file(name), "{name}");
        }
    }
}
