//! `provlog lookup` with proofs (spec/lookup.md §6.3, §9.3): fetches the
//! log's lookup-proof bundle for a key, verifies it offline under the trust
//! policy, and prints `VERIFIED: N claims (complete as of checkpoint S)` or
//! `VERIFIED ABSENT as of checkpoint S`; `--save FILE` keeps the bundle and
//! `--bundle FILE` verifies a saved one with no network. Exit 0 only when
//! the bundle verifies.
//!
//! The asset forms (`FILE`, `--sha256`) keep the earlier output (one line
//! per claim, every inclusion verified) and add the verdict line; against a
//! log that keeps no verifiable index they print the earlier output only.

use std::path::PathBuf;

use clap::Args;
use provlog_client::http::{HttpError, LogClient};
use provlog_core::index::IndexKey;
use provlog_core::index::proof::{LookupError, LookupOutcome, VerifiedLookup, verify_lookup};
use provlog_core::policy::Policy;
use provlog_core::signed_claim::SignedClaim;

use crate::atomic::write_atomic;
use crate::fail::{Fail, Kind, not_verified, usage};
use crate::lookup_seq::SeqRange;
use crate::net::LookupArgs;
use crate::out::{outln, utc};

/// The proof options of `provlog lookup`.
#[derive(Args, Debug, Default)]
pub struct ProofArgs {
    /// Look up any index key by its CLI form: `asset:<hex>`,
    /// `hard:<alg>:<hex>`, `soft:<alg>:<hex>`, `vendor:<vkey>`,
    /// `vendor-seq:<vkey>:<bucket>`, `vendor-key:<vkey>` (spec/lookup.md §2.1).
    // Not the id `key`: the config file's `key` (the vendor key file) is
    // the default of every argument with that id.
    #[arg(long = "key", id = "index_key", value_name = "KEY",
          conflicts_with_all = ["file", "sha256", "similar"])]
    pub key: Option<String>,
    /// Ask for the key's list from this list position on (a tail).
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Save the verified proof bundle (CBOR) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Verify a saved proof bundle offline (no --log needed).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "sha256", "similar", "save"])]
    pub bundle: Option<PathBuf>,
    /// With --seq: the vendor whose sequence numbers to account for (its
    /// vkey, or its key file).
    #[arg(long, value_name = "VKEY|KEYFILE", requires = "seq",
          conflicts_with_all = ["file", "sha256", "similar", "index_key", "bundle", "save"])]
    pub vendor: Option<String>,
    /// `A..B`: prove which claims the vendor logged with `seq` in [A, B]
    /// (every one, as of a checkpoint), and print the gaps and repeats.
    #[arg(long, value_name = "A..B", requires = "vendor", value_parser = SeqRange::parse)]
    pub seq: Option<SeqRange>,
}

/// Dispatches `provlog lookup`.
pub async fn lookup(args: LookupArgs) -> Result<(), Fail> {
    if let Some(path) = &args.proof.bundle {
        let bytes = read_bounded(path)?;
        let asked = match &args.proof.key {
            Some(k) => Some(parse_key(k)?),
            None => None,
        };
        let v = verify(&bytes, &args, asked.as_ref())?;
        return print(&v, &args);
    }
    if let Some(list) = args.trust.log_list()? {
        return crate::lookup_shards::lookup(&args, list).await;
    }
    if args.similar {
        return crate::net::lookup(args).await;
    }
    let log = args
        .log
        .clone()
        .ok_or_else(|| usage("give --log URL (or --bundle FILE to verify a saved proof)"))?;
    let client = LogClient::new(&log)?;
    if let (Some(vendor), Some(range)) = (&args.proof.vendor, args.proof.seq) {
        let policy = args.trust.policy()?;
        return crate::lookup_seq::lookup_seq(&client, policy, vendor, range, args.json).await;
    }
    if let Some(k) = &args.proof.key {
        let key = parse_key(k)?;
        let bytes = fetch(&client, &key, args.proof.from)
            .await?
            .ok_or_else(|| {
                Fail::new(
                    Kind::CouldNotCheck,
                    format!("{log} keeps no verifiable index: it cannot prove lookups"),
                )
            })?;
        let v = verify(&bytes, &args, Some(&key))?;
        save(&args, &bytes)?;
        return print(&v, &args);
    }
    // The asset forms.
    let asset = match (&args.sha256, &args.file) {
        (Some(h), None) => {
            let mut a = [0u8; 32];
            hex::decode_to_slice(h.trim(), &mut a)
                .map_err(|_| usage(format!("--sha256 {h:?} is not 64 hex digits")))?;
            a
        }
        (None, Some(f)) => crate::claim_args::hash_file(f)?.0,
        _ => {
            return Err(usage(
                "give a FILE, --sha256 HEX, --key KEY, --vendor VKEY --seq A..B or --bundle FILE",
            ));
        }
    };
    let key = IndexKey::Asset(asset);
    let Some(bytes) = fetch(&client, &key, args.proof.from).await? else {
        // A log without the index: the earlier, unproven answer.
        return crate::net::lookup(args).await;
    };
    let v = verify(&bytes, &args, Some(&key))?;
    save(&args, &bytes)?;
    if args.json {
        return print(&v, &args);
    }
    // The earlier lines (and, for a file with a C2PA manifest, claims found
    // by its hard binding), then the verdict. A verified absence stands even
    // though the earlier lookup found nothing.
    let absent = matches!(v.outcome, LookupOutcome::Absent);
    match crate::net::lookup(args).await {
        Ok(()) => {}
        Err(e) if absent && e.kind == Kind::NotVerified => {}
        Err(e) => return Err(e),
    }
    outln!("{}", v.summary());
    Ok(())
}

pub(crate) fn parse_key(k: &str) -> Result<IndexKey, Fail> {
    IndexKey::parse_cli(k.trim()).map_err(|e| usage(format!("--key {k:?}: {e}")))
}

/// The bundle, or `None` if the log keeps no verifiable index (404).
pub(crate) async fn fetch(
    client: &LogClient,
    key: &IndexKey,
    from: u64,
) -> Result<Option<Vec<u8>>, Fail> {
    match client.lookup_proof(key, from, true).await {
        Ok(b) => Ok(Some(b)),
        Err(HttpError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, Fail> {
    use std::io::Read;
    let limit = provlog_core::index::proof::MAX_LOOKUP_SIZE;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() > limit {
        return Err(not_verified(format!(
            "{} is over the {limit}-byte limit of a lookup proof",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Verifies the bundle under the `--log-key`/`--policy`/`--log-list` trust.
fn verify(
    bytes: &[u8],
    args: &LookupArgs,
    asked: Option<&IndexKey>,
) -> Result<VerifiedLookup, Fail> {
    verify_bundle(bytes, &args.trust.policy()?, asked)
}

/// Verifies the bundle, and each carried claim's signature (the bundle
/// proves which entries carry the key; a claim's signature is checked
/// separately, as for receipts). CPU work: call it off the reactor.
pub(crate) fn verify_bundle(
    bytes: &[u8],
    policy: &Policy,
    asked: Option<&IndexKey>,
) -> Result<VerifiedLookup, Fail> {
    let v = verify_lookup(bytes, policy, asked).map_err(|e| match e {
        LookupError::EntryLacksKey { index } => not_verified(format!(
            "NOT VERIFIED: entry {index} is listed under the key but does not carry it: the log's index is wrong (keep the bundle: it is evidence)"
        )),
        e => not_verified(format!("NOT VERIFIED: {e}")),
    })?;
    for (i, entry) in &v.entries {
        if entry.first() == Some(&0xd2) {
            let c = SignedClaim::from_bytes(entry)
                .map_err(|e| not_verified(format!("NOT VERIFIED: entry {i}: {e}")))?;
            c.verify_signature()
                .map_err(|e| not_verified(format!("NOT VERIFIED: entry {i}: {e}")))?;
        }
    }
    Ok(v)
}

/// `--save FILE`: written atomically (temp file, fsync, rename).
fn save(args: &LookupArgs, bytes: &[u8]) -> Result<(), Fail> {
    if let Some(path) = &args.proof.save {
        write_atomic(path, bytes).map_err(|e| format!("cannot save {}: {e}", path.display()))?;
        eprintln!("saved the proof bundle to {}", path.display());
    }
    Ok(())
}

/// The §6.3 JSON object.
pub(crate) fn json_of(v: &VerifiedLookup) -> serde_json::Value {
    let (outcome, count, from, indexes) = match &v.outcome {
        LookupOutcome::Found {
            count,
            from,
            indexes,
            ..
        } => ("found", *count, *from, indexes.clone()),
        LookupOutcome::Absent => ("absent", 0, 0, Vec::new()),
    };
    let claims: Vec<_> = v
        .entries
        .iter()
        .filter_map(|(i, e)| {
            let c = SignedClaim::from_bytes(e).ok()?;
            Some(serde_json::json!({"index": i, "vendor_key": c.kid(), "claim": c.claim()}))
        })
        .collect();
    serde_json::json!({
        "key": v.key.describe(),
        "verified": true,
        "outcome": outcome,
        "count": count,
        "from": from,
        "indexes": indexes,
        "covered_size": v.covered_size(),
        "checkpoint_size": v.checkpoint.checkpoint.size,
        "witnesses": v.checkpoint.cosignatures.iter().map(|w| w.name.clone()).collect::<Vec<_>>(),
        "entries": claims,
    })
}

/// The verdict line, then one line per carried claim (`--json`: the §6.3
/// object).
fn print(v: &VerifiedLookup, args: &LookupArgs) -> Result<(), Fail> {
    if args.json {
        outln!("{}", json_of(v));
        return Ok(());
    }
    outln!("{}", v.summary());
    print_entries(v);
    Ok(())
}

/// One line per claim a verified lookup carries (indented under its verdict).
pub fn print_entries(v: &VerifiedLookup) {
    for (i, e) in &v.entries {
        match SignedClaim::from_bytes(e) {
            Ok(s) => {
                let c = s.claim();
                outln!(
                    "  #{i}: {} / {} {} | created {} | signed by {}",
                    c.generator.vendor,
                    c.generator.tool,
                    c.generator.version,
                    utc(c.created),
                    s.kid()
                );
            }
            Err(_) => outln!("  #{i}: (not a claim: a log entry of another kind)"),
        }
    }
}
