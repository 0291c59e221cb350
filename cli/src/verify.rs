//! `provlog verify`: offline check of a file against its receipt: a
//! provlog receipt (`FILE.provlog`, `FILE.tlog-proof`, or embedded in the
//! C2PA manifest) or a SCITT transparent statement (`FILE.scitt`, see
//! [`crate::scitt`]).

use std::fs;
use std::path::{Path, PathBuf};

use provlog_c2pa::C2paOptions;
use provlog_core::asset_match::{AssetMatch, AssetMismatch, ObservedAsset, match_asset};
use provlog_core::policy::Policy;
use provlog_core::policy::PolicyError;
use provlog_core::receipt::{Receipt, ReceiptError, TLOG_PROOF_HEADER, VerifiedReceipt};
use provlog_core::scitt::TransparentStatement;

use crate::claim_args::{c2pa_options, hash_file, read_c2pa, sniff_media_type};
use crate::fail::{Fail, Kind, not_verified};
use crate::key_status::KeyStatusAnswer;
use crate::out::{outln, utc};
use crate::scitt::{SCITT_EXT, looks_like_transparent_statement, verify_transparent};
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
/// A receipt that cannot be read is a failure to check (exit 3); one that
/// does not decode does not verify (exit 1).
pub fn read_receipt(path: &Path) -> Result<Receipt, Fail> {
    let bytes =
        fs::read(path).map_err(|e| format!("cannot read receipt {}: {e}", path.display()))?;
    if bytes.starts_with(TLOG_PROOF_HEADER.as_bytes()) {
        let text = String::from_utf8(bytes)
            .map_err(|_| not_verified(format!("{}: not UTF-8", path.display())))?;
        Receipt::from_tlog_proof(&text)
            .map_err(|e| not_verified(format!("{}: {e}", path.display())))
    } else {
        Receipt::from_cbor(&bytes).map_err(|e| not_verified(format!("{}: {e}", path.display())))
    }
}

/// A receipt of either kind.
enum AnyReceipt {
    /// A provlog receipt (checkpoint, witness cosignatures).
    Provlog(Receipt),
    /// A SCITT transparent statement (COSE receipts).
    Scitt(Box<TransparentStatement>),
}

impl AnyReceipt {
    /// Verifies it under `policy`; for a transparent statement, also says
    /// which receipts verified.
    fn verify(&self, policy: &Policy) -> Result<(VerifiedReceipt, Option<String>), Fail> {
        match self {
            AnyReceipt::Provlog(r) => r.verify(policy).map(|v| (v, None)).map_err(|e| {
                let origin = match &e {
                    ReceiptError::Checkpoint(PolicyError::NotSignedByLog) => {
                        r.checkpoint.split(|b| *b == b'\n').next().map(|o| {
                            String::from_utf8_lossy(o)
                                .chars()
                                .take(80)
                                .collect::<String>()
                        })
                    }
                    _ => None,
                };
                match origin {
                    // Say which log it is from (with --log-list: not a shard).
                    Some(o) => not_verified(format!(
                        "{e} (the receipt is from log {o:?}, which is not among the trusted logs)"
                    )),
                    None => not_verified(e.to_string()),
                }
            }),
            AnyReceipt::Scitt(t) => verify_transparent(t, policy).map(|(v, algs)| {
                let what = format!(
                    "SCITT transparent statement, COSE receipts verified: {}",
                    algs.join(", ")
                );
                (v, Some(what))
            }),
        }
    }
}

/// Reads a receipt file of any kind: a transparent statement (a tagged
/// COSE_Sign1), else a provlog receipt in either encoding.
fn read_any(path: &Path) -> Result<AnyReceipt, Fail> {
    let bytes =
        fs::read(path).map_err(|e| format!("cannot read receipt {}: {e}", path.display()))?;
    if looks_like_transparent_statement(&bytes) {
        return TransparentStatement::from_bytes(&bytes)
            .map(|t| AnyReceipt::Scitt(Box::new(t)))
            .map_err(|e| not_verified(format!("{}: {e}", path.display())));
    }
    read_receipt(path).map(AnyReceipt::Provlog)
}

/// The receipt next to `file`: `FILE.provlog`, else `FILE.tlog-proof`,
/// else `FILE.scitt`.
fn default_receipt(file: &Path) -> Result<PathBuf, String> {
    let candidates = [RECEIPT_EXT, TLOG_PROOF_EXT, SCITT_EXT].map(|ext| sidecar(file, ext));
    if let Some(found) = candidates.iter().find(|p| p.exists()) {
        return Ok(found.clone());
    }
    Err(format!(
        "no receipt for {}: looked for {}, {} and {}; name one with --receipt",
        file.display(),
        candidates[0].display(),
        candidates[1].display(),
        candidates[2].display()
    ))
}

/// How the file matched the claim, for display.
fn match_text(m: AssetMatch, c: &provlog_core::claim::Claim) -> String {
    match (m, &c.c2pa) {
        (AssetMatch::File, _) => "file SHA-256".to_string(),
        (AssetMatch::HardBinding, Some(b)) => format!(
            "C2PA hard binding of manifest {} (the manifest store changed since, the content did not)",
            b.manifest_label
        ),
        (AssetMatch::HardBinding, None) => "C2PA hard binding".to_string(),
    }
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
            "timestamp_ms": v.log_time_ms,
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
    if let Some(seq) = c.sequence {
        outln!("  seq         {seq} (the vendor's claim number)");
    }
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
    if let Some(b) = &c.c2pa {
        let state = match &b.validation {
            Some(v) if v.codes.is_empty() => format!("{} when logged", v.state),
            Some(v) => format!("{} when logged ({})", v.state, v.codes.join(", ")),
            None => "binding given by hand, not validated when logged".to_string(),
        };
        outln!("  c2pa        {} [{}]", b.manifest_label, state);
    }
    outln!("  log         {} entry #{}", v.checkpoint.origin, v.index);
    outln!(
        "  checkpoint  size {} root {}{}",
        v.checkpoint.size,
        hex::encode(v.checkpoint.root),
        v.log_time_ms
            .map(|t| format!(" signed at {}", utc(t / 1000)))
            .unwrap_or_default()
    );
    if !v.witnesses.is_empty() {
        let cosigned: Vec<String> = v
            .witnesses
            .iter()
            .zip(&v.witness_times)
            .map(|(w, t)| format!("{w} (cosigned {})", utc(*t)))
            .collect();
        outln!("  witnesses   {}", cosigned.join(", "));
    }
}

/// Where a receipt came from.
enum Source {
    File(PathBuf),
    Embedded(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Embedded(label) => write!(f, "embedded in the C2PA manifest store ({label})"),
        }
    }
}

/// A file checked against its receipt.
pub struct Checked {
    verified: VerifiedReceipt,
    matched: AssetMatch,
    source: Source,
    /// For a transparent statement: what it is and which receipts verified.
    scitt: Option<String>,
}

/// Checks one file: the receipt is `receipt`, else the sidecar, else an
/// `org.provlog.receipt` assertion in the file's C2PA manifest store. The
/// file matches by its SHA-256, or by the claim's C2PA hard binding
/// (spec/claim.md §5).
fn check_file(
    file: &Path,
    receipt: Option<&Path>,
    policy: &Policy,
    opts: &C2paOptions,
) -> Result<Checked, Fail> {
    let (sha256, _, head) = hash_file(file)?;
    let media_type = sniff_media_type(&head);
    // A store that cannot be read is reported if (and only if) it mattered.
    let manifest = read_c2pa(file, &media_type, opts);
    let mut receipts: Vec<(Source, Result<AnyReceipt, Fail>)> = Vec::new();
    match receipt {
        Some(r) => receipts.push((Source::File(r.to_path_buf()), read_any(r))),
        None => match default_receipt(file) {
            Ok(path) => receipts.push((Source::File(path.clone()), read_any(&path))),
            Err(none) => {
                if let Ok(Some(m)) = &manifest {
                    for r in &m.receipts {
                        receipts.push((
                            Source::Embedded(m.active_manifest.clone()),
                            Receipt::from_cbor(r)
                                .map(AnyReceipt::Provlog)
                                .map_err(|e| not_verified(e.to_string())),
                        ));
                    }
                }
                if receipts.is_empty() {
                    return Err(Fail::from(match &manifest {
                        Err(e) => format!("{none}; and {e}"),
                        _ => format!("{none}, or embed it (provlog submit --embed)"),
                    }));
                }
            }
        },
    }
    let observed = ObservedAsset {
        sha256,
        c2pa: manifest
            .as_ref()
            .ok()
            .and_then(|m| m.as_ref())
            .map(|m| m.observed()),
    };
    let mut first_error = None;
    for (source, r) in receipts {
        let result = r.and_then(|r| r.verify(policy)).and_then(|(v, scitt)| {
            match match_asset(v.claim(), &observed) {
                Ok(m) => Ok((v, m, scitt)),
                Err(e) => Err(not_verified(match (&e, &manifest) {
                    (AssetMismatch::NoManifest { .. }, Err(read)) => format!("{e}: {read}"),
                    _ => e.to_string(),
                })),
            }
        });
        match result {
            Ok((verified, matched, scitt)) => {
                return Ok(Checked {
                    verified,
                    matched,
                    source,
                    scitt,
                });
            }
            Err(e) => {
                first_error.get_or_insert(Fail::new(
                    e.kind,
                    format!("{} (receipt {source})", e.message),
                ));
            }
        }
    }
    Err(first_error.unwrap_or_else(|| Fail::from("no receipt")))
}

/// A checked file as JSON.
fn checked_json(file: &Path, c: &Checked) -> serde_json::Value {
    let mut j = verdict_json(file, &c.verified);
    j["asset_match"] = serde_json::json!(match c.matched {
        AssetMatch::File => "file",
        AssetMatch::HardBinding => "c2pa-hard-binding",
    });
    j["receipt"] = serde_json::json!(c.source.to_string());
    j["receipt_format"] = serde_json::json!(if c.scitt.is_some() {
        "scitt-transparent-statement"
    } else {
        "provlog"
    });
    j["c2pa_manifest"] =
        serde_json::json!(c.verified.claim().c2pa.as_ref().map(|b| &b.manifest_label));
    j
}

/// A failed file as JSON.
fn failed_json(file: &Path, e: &Fail) -> serde_json::Value {
    serde_json::json!({"verified": false, "file": file.display().to_string(),
        "error": e.message, "kind": e.kind.as_str()})
}

/// The files `paths` name: files as given, directories walked (receipts
/// and other files provlog writes left out).
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(p)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
        {
            let name = entry.file_name().to_str().unwrap_or("");
            if entry.file_type().is_file() && !crate::submit::is_own_file(name) {
                files.push(entry.path().to_path_buf());
            }
        }
    }
    files
}

/// `--check-key-status`: how to ask the log about a claim's vendor key.
pub struct KeyStatusCheck {
    rt: tokio::runtime::Runtime,
    log: Option<String>,
    /// The last log asked (a folder's files are usually from one log).
    client: std::sync::Mutex<Option<(String, provlog_client::http::LogClient)>>,
}

impl KeyStatusCheck {
    /// `log`: the `--log` URL (else the policy's URL for the receipt's origin).
    pub fn new(log: Option<String>) -> Result<Self, Fail> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        Ok(KeyStatusCheck {
            rt,
            log,
            client: std::sync::Mutex::new(None),
        })
    }

    fn run(&self, policy: &Policy, v: &VerifiedReceipt) -> Result<KeyStatusAnswer, Fail> {
        let url = crate::key_status::log_url(self.log.as_deref(), policy, &v.checkpoint.origin)?;
        let client = {
            let mut last = self.client.lock().map_err(|_| "internal: lock poisoned")?;
            match &*last {
                Some((u, c)) if *u == url => c.clone(),
                _ => {
                    let c = provlog_client::http::LogClient::new(&url)?;
                    *last = Some((url, c.clone()));
                    c
                }
            }
        };
        let answer = self
            .rt
            .block_on(crate::key_status::check(&client, policy, v))?;
        if !answer.accepted() {
            return Err(not_verified(format!(
                "the claim's vendor key {} is {}",
                v.signed_claim.kid(),
                answer.describe()
            )));
        }
        Ok(answer)
    }
}

/// [`check_file`], then (with `--check-key-status`) the key's status.
fn check_one(
    file: &Path,
    receipt: Option<&Path>,
    policy: &Policy,
    opts: &C2paOptions,
    key_status: Option<&KeyStatusCheck>,
) -> Result<(Checked, Option<KeyStatusAnswer>), Fail> {
    let c = check_file(file, receipt, policy, opts)?;
    let status = match key_status {
        Some(k) => Some(k.run(policy, &c.verified)?),
        None => None,
    };
    Ok((c, status))
}

/// `provlog verify`: one file gets the full verdict; several files or a
/// folder get one line each and a summary line (`--json`: one object each
/// and a `summary` object). With `key_status`, a file also needs its
/// claim's vendor key accepted at its index (a lookup proof from the log).
pub fn verify_command(
    paths: &[PathBuf],
    receipt: Option<&Path>,
    trust: &TrustArgs,
    json: bool,
    trust_anchors: Option<&Path>,
    key_status: Option<&KeyStatusCheck>,
) -> Result<(), Fail> {
    let policy = trust.policy()?;
    let opts = c2pa_options(trust_anchors)?;
    let single = paths.len() == 1 && !paths[0].is_dir();
    if !single && receipt.is_some() {
        return Err(crate::fail::usage(
            "--receipt names the receipt of one file; give one FILE with it",
        ));
    }
    if single {
        let file = &paths[0];
        return match check_one(file, receipt, &policy, &opts, key_status) {
            Ok((c, status)) => {
                if json {
                    let mut j = checked_json(file, &c);
                    if let Some(s) = &status {
                        j["key_status"] = s.json();
                    }
                    outln!("{j}");
                } else {
                    print_verdict(file, &c.verified);
                    outln!(
                        "  matched by  {}",
                        match_text(c.matched, c.verified.claim())
                    );
                    match &c.scitt {
                        Some(what) => outln!("  receipt     {} ({what})", c.source),
                        None => outln!("  receipt     {}", c.source),
                    }
                    if let Some(s) = &status {
                        outln!("  key status  {}", s.describe());
                    }
                }
                Ok(())
            }
            Err(e) => {
                if json {
                    outln!("{}", failed_json(file, &e));
                }
                let message = format!("NOT VERIFIED {}: {}", file.display(), e.message);
                Err(Fail::new(e.kind, message).reported())
            }
        };
    }
    let files = expand(paths);
    let (mut ok, mut not, mut unchecked) = (0usize, 0usize, 0usize);
    let mut kind = None;
    for file in &files {
        match check_one(file, None, &policy, &opts, key_status) {
            Ok((c, status)) => {
                ok += 1;
                if json {
                    let mut j = checked_json(file, &c);
                    if let Some(s) = &status {
                        j["key_status"] = s.json();
                    }
                    outln!("{j}");
                } else {
                    outln!("VERIFIED {}: {}", file.display(), one_line(&c));
                }
            }
            Err(e) => {
                if e.kind == Kind::NotVerified {
                    not += 1;
                } else {
                    unchecked += 1;
                }
                kind = Some(kind.map_or(e.kind, |k: Kind| k.worst(e.kind)));
                if json {
                    outln!("{}", failed_json(file, &e));
                } else {
                    let word = if e.kind == Kind::NotVerified {
                        "NOT VERIFIED"
                    } else {
                        "NOT CHECKED"
                    };
                    outln!("{word} {}: {}", file.display(), e.message);
                }
            }
        }
    }
    let summary = format!(
        "{ok} of {} files verified, {not} did not verify, {unchecked} could not be checked",
        files.len()
    );
    if json {
        outln!(
            "{}",
            serde_json::json!({"summary": {"files": files.len(), "verified": ok,
                "not_verified": not, "could_not_check": unchecked}})
        );
    } else {
        outln!("{summary}");
    }
    match kind {
        None if files.is_empty() => Err(crate::fail::usage("no files to verify")),
        None => Ok(()),
        Some(kind) => Err(Fail::new(kind, summary).reported()),
    }
}

/// One line about a verified file: where it is logged, who signed, who
/// cosigned, and its C2PA binding.
fn one_line(c: &Checked) -> String {
    let v = &c.verified;
    let mut line = format!(
        "{} entry #{}, signed by {}",
        v.checkpoint.origin,
        v.index,
        v.signed_claim.kid()
    );
    if !v.witnesses.is_empty() {
        line.push_str(&format!(", cosigned by {}", v.witnesses.join(", ")));
    }
    if let Some(b) = &v.claim().c2pa {
        line.push_str(&format!(", C2PA manifest {}", b.manifest_label));
    }
    if c.scitt.is_some() {
        line.push_str(", SCITT transparent statement");
    }
    if c.matched == AssetMatch::HardBinding {
        line.push_str(" (matched by its C2PA hard binding)");
    }
    line
}
