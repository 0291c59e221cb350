//! `provlog lookup --vendor VKEY --seq A..B` (spec/lookup.md §2.3, §9.3): a
//! vendor's proof that a range of its sequence numbers is complete.
//!
//! One complete lookup (whole list, with entries) per sequence bucket
//! `[5, vkey, j]`, `j` from `A >> 8` to `B >> 8`. Each bundle is verified on
//! its own (checkpoint under the trust policy, index proof, inclusion and
//! key carriage of every listed entry, each claim's signature). The bundles
//! may end at different index-commits when the log grows during the run, so
//! they are tied together instead of fetched again: every bundle's
//! checkpoint is proven consistent with the largest one (a consistency
//! proof from the log), and the answer is stated as of the smallest covered
//! size `C`, counting only entries below it. That is sound because a list
//! complete as of a later commit is, restricted to indexes below `C`, the
//! complete list as of `C`.
//!
//! Cost: one request per bucket (at most [`MAX_SEQ_BUCKETS`], [`IN_FLIGHT`]
//! at a time), each bundle bounded by the client's lookup-proof limit, and
//! verification on blocking threads.

use std::collections::BTreeMap;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use provlog_client::http::{HttpError, LogClient};
use provlog_core::index::IndexKey;
use provlog_core::index::key::SEQ_BUCKET_BITS;
use provlog_core::index::proof::{LookupOutcome, VerifiedLookup};
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_core::proof::verify_consistency;
use provlog_core::signed_claim::SignedClaim;
use tokio::sync::Semaphore;

use crate::fail::{Fail, Kind, not_verified, usage};
use crate::out::outln;

/// Most buckets one run asks for: 4,096 buckets = 1,048,576 sequence
/// numbers (a larger range is several runs).
pub const MAX_SEQ_BUCKETS: u64 = 4096;
/// Bucket lookups in flight at once.
const IN_FLIGHT: usize = 8;
/// Gap ranges and repeats printed before `... N more` (all in `--json`).
const PRINT_LIMIT: usize = 50;

/// An inclusive range of sequence numbers, `A..B` (or one number `A`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    /// First sequence number.
    pub from: u64,
    /// Last sequence number (inclusive).
    pub to: u64,
}

impl SeqRange {
    /// Parses `A..B` or `A` (decimal, `A <= B`), refusing a range over
    /// [`MAX_SEQ_BUCKETS`] buckets.
    pub fn parse(s: &str) -> Result<SeqRange, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("--seq {s:?}: {t:?} is not a sequence number"))
        };
        let (from, to) = match s.split_once("..") {
            Some((a, b)) => (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?),
            None => {
                let a = num(s)?;
                (a, a)
            }
        };
        if from > to {
            return Err(format!("--seq {s:?}: the range is empty ({from} > {to})"));
        }
        let r = SeqRange { from, to };
        if r.buckets() > MAX_SEQ_BUCKETS {
            return Err(format!(
                "--seq {s:?} spans {} buckets of 256; at most {MAX_SEQ_BUCKETS} \
                 ({} sequence numbers) per run: split the range",
                r.buckets(),
                MAX_SEQ_BUCKETS << SEQ_BUCKET_BITS
            ));
        }
        Ok(r)
    }

    fn first_bucket(&self) -> u64 {
        self.from >> SEQ_BUCKET_BITS
    }

    fn last_bucket(&self) -> u64 {
        self.to >> SEQ_BUCKET_BITS
    }

    /// Number of buckets the range touches.
    pub fn buckets(&self) -> u64 {
        self.last_bucket() - self.first_bucket() + 1
    }
}

/// The vkey of `--vendor`: a vkey, or a vendor key file (its vkey is used).
pub fn vendor_vkey(arg: &str) -> Result<String, Fail> {
    let arg = arg.trim();
    if VerifierKey::parse(arg).is_ok() {
        return Ok(arg.to_owned());
    }
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let signer = crate::keys::load_key(path).map_err(usage)?;
        return Ok(signer.verifier_key().to_vkey());
    }
    Err(usage(format!(
        "--vendor {arg:?} is neither a vendor vkey nor a vendor key file"
    )))
}

/// One claim found in the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqClaim {
    /// Its sequence number.
    pub seq: u64,
    /// Its log index.
    pub index: u64,
}

/// What the bucket lookups prove, as of `covered_size`.
#[derive(Clone, Debug)]
pub struct SeqAnswer {
    /// The vendor vkey.
    pub vendor: String,
    /// The range asked for.
    pub range: SeqRange,
    /// Every claim with `seq` in the range at an index below
    /// `covered_size`, by (seq, index).
    pub claims: Vec<SeqClaim>,
    /// The answer is complete for entries `[0, covered_size)`.
    pub covered_size: u64,
    /// The largest checkpoint among the bundles (all proven consistent).
    pub checkpoint_size: u64,
    /// Claims the later bundles listed at or after `covered_size` (not counted).
    pub not_covered: usize,
    /// Witness names on the largest checkpoint.
    pub witnesses: Vec<String>,
}

impl SeqAnswer {
    /// Inclusive ranges of sequence numbers with no claim.
    pub fn gaps(&self) -> Vec<(u64, u64)> {
        let mut gaps = Vec::new();
        // The first sequence number not yet accounted for (None: past u64::MAX).
        let mut next = Some(self.range.from);
        for c in &self.claims {
            let Some(n) = next else { break };
            if c.seq > n {
                gaps.push((n, c.seq - 1));
            }
            if c.seq >= n {
                next = c.seq.checked_add(1);
            }
        }
        if let Some(n) = next
            && n <= self.range.to
        {
            gaps.push((n, self.range.to));
        }
        gaps
    }

    /// Sequence numbers carried by more than one claim, with their indexes.
    pub fn repeats(&self) -> Vec<(u64, Vec<u64>)> {
        let mut by_seq: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for c in &self.claims {
            by_seq.entry(c.seq).or_default().push(c.index);
        }
        by_seq.into_iter().filter(|(_, v)| v.len() > 1).collect()
    }

    /// The verdict line.
    pub fn summary(&self) -> String {
        format!(
            "VERIFIED: {} claims with seq in [{}, {}] (complete as of checkpoint {})",
            self.claims.len(),
            self.range.from,
            self.range.to,
            self.covered_size
        )
    }
}

/// Combines verified bucket lookups (one per bucket of `range`, any order)
/// into the answer. `consistent(old_size, old_root)` must have been checked
/// for every bundle's checkpoint against the largest; this only uses the
/// sizes. Fails if a bundle is for another key, or is a tail or has no
/// entries (it would not prove completeness).
pub fn combine(
    vendor: &str,
    range: SeqRange,
    lookups: &[VerifiedLookup],
) -> Result<SeqAnswer, Fail> {
    let Some(largest) = lookups.iter().max_by_key(|v| v.checkpoint.checkpoint.size) else {
        return Err(not_verified("NOT VERIFIED: no bucket lookups"));
    };
    let covered = lookups
        .iter()
        .map(VerifiedLookup::covered_size)
        .min()
        .unwrap_or(0);
    let mut claims = Vec::new();
    let mut not_covered = 0usize;
    let mut seen = std::collections::BTreeSet::new();
    for v in lookups {
        let IndexKey::VendorSeq { vendor: kv, bucket } = &v.key else {
            return Err(not_verified(format!(
                "NOT VERIFIED: a bucket answer is for the key {}",
                v.key.describe()
            )));
        };
        if kv != vendor || *bucket < range.first_bucket() || *bucket > range.last_bucket() {
            return Err(not_verified(format!(
                "NOT VERIFIED: a bucket answer is for the key {}",
                v.key.describe()
            )));
        }
        if !seen.insert(*bucket) {
            return Err(not_verified(format!(
                "NOT VERIFIED: two answers for bucket {bucket}"
            )));
        }
        match &v.outcome {
            LookupOutcome::Absent => continue,
            LookupOutcome::Found {
                from: 0,
                entries_checked: true,
                indexes,
                ..
            } if indexes.len() == v.entries.len() => {}
            LookupOutcome::Found { .. } => {
                return Err(not_verified(format!(
                    "NOT VERIFIED: the answer for bucket {bucket} is not the whole list with its entries"
                )));
            }
        }
        for (index, entry) in &v.entries {
            let claim = SignedClaim::from_bytes(entry).map_err(|e| {
                not_verified(format!("NOT VERIFIED: entry {index} is not a claim: {e}"))
            })?;
            let Some(seq) = claim.claim().sequence else {
                return Err(not_verified(format!(
                    "NOT VERIFIED: entry {index} is listed in bucket {bucket} but has no seq"
                )));
            };
            if seq >> SEQ_BUCKET_BITS != *bucket {
                return Err(not_verified(format!(
                    "NOT VERIFIED: entry {index} (seq {seq}) is listed in bucket {bucket}"
                )));
            }
            if *index >= covered {
                not_covered += 1;
                continue;
            }
            if (range.from..=range.to).contains(&seq) {
                claims.push(SeqClaim { seq, index: *index });
            }
        }
    }
    if seen.len() as u64 != range.buckets() {
        return Err(not_verified(format!(
            "NOT VERIFIED: {} of the {} buckets were answered",
            seen.len(),
            range.buckets()
        )));
    }
    claims.sort_by_key(|c| (c.seq, c.index));
    Ok(SeqAnswer {
        vendor: vendor.to_owned(),
        range,
        claims,
        covered_size: covered,
        checkpoint_size: largest.checkpoint.checkpoint.size,
        not_covered,
        witnesses: largest
            .checkpoint
            .cosignatures
            .iter()
            .map(|w| w.name.clone())
            .collect(),
    })
}

/// Fetches and verifies every bucket, ties the checkpoints together, and
/// prints the answer. Exit 0 when verified (gaps and repeats are facts the
/// answer states, not failures).
pub async fn lookup_seq(
    client: &LogClient,
    policy: Policy,
    vendor: &str,
    range: SeqRange,
    json: bool,
) -> Result<(), Fail> {
    let vendor = vendor_vkey(vendor)?;
    let lookups = fetch_all(client, Arc::new(policy), &vendor, range).await?;
    tie_checkpoints(client, &lookups).await?;
    let answer = combine(&vendor, range, &lookups)?;
    print(&answer, json);
    Ok(())
}

async fn fetch_all(
    client: &LogClient,
    policy: Arc<Policy>,
    vendor: &str,
    range: SeqRange,
) -> Result<Vec<VerifiedLookup>, Fail> {
    let bar = ProgressBar::with_draw_target(Some(range.buckets()), ProgressDrawTarget::stderr());
    if range.buckets() < 16 {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} buckets  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let sem = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut out = Vec::with_capacity(range.buckets() as usize);
    let mut tasks = tokio::task::JoinSet::new();
    for bucket in range.first_bucket()..=range.last_bucket() {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| format!("internal: {e}"))?;
        let (client, policy) = (client.clone(), policy.clone());
        let key = IndexKey::VendorSeq {
            vendor: vendor.to_owned(),
            bucket,
        };
        tasks.spawn(async move {
            let _permit = permit;
            let bytes = match client.lookup_proof(&key, 0, true).await {
                Ok(b) => b,
                Err(HttpError::Status { status: 404, .. }) => {
                    return Err(Fail::new(
                        Kind::CouldNotCheck,
                        "the log keeps no verifiable index: it cannot prove sequence ranges",
                    ));
                }
                Err(e) => return Err(Fail::from(e)),
            };
            tokio::task::spawn_blocking(move || {
                crate::lookup_verify::verify_bundle(&bytes, &policy, Some(&key))
            })
            .await
            .map_err(|e| Fail::from(format!("internal: {e}")))?
        });
        // Collect finished ones as we go, so an early failure stops the run.
        while let Some(done) = tasks.try_join_next() {
            out.push(done.map_err(|e| format!("internal: {e}"))??);
            bar.inc(1);
        }
    }
    while let Some(done) = tasks.join_next().await {
        out.push(done.map_err(|e| format!("internal: {e}"))??);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Proves every bundle's checkpoint consistent with the largest one (the
/// same checkpoint needs no proof; the same size with another root is a
/// fork, and fails).
async fn tie_checkpoints(client: &LogClient, lookups: &[VerifiedLookup]) -> Result<(), Fail> {
    let Some(largest) = lookups.iter().max_by_key(|v| v.checkpoint.checkpoint.size) else {
        return Ok(());
    };
    let new = &largest.checkpoint.checkpoint;
    let mut done = std::collections::BTreeSet::new();
    for v in lookups {
        let old = &v.checkpoint.checkpoint;
        if old.origin != new.origin {
            return Err(not_verified(format!(
                "NOT VERIFIED: the bucket answers come from two logs ({} and {})",
                old.origin, new.origin
            )));
        }
        if old.size == new.size {
            if old.root != new.root {
                return Err(not_verified(format!(
                    "NOT VERIFIED: two signed checkpoints of size {} with different roots: the log forked",
                    old.size
                )));
            }
            continue;
        }
        if !done.insert((old.size, old.root)) {
            continue;
        }
        let proof = client.consistency_proof(old.size, new.size).await?;
        verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
            not_verified(format!(
                "NOT VERIFIED: checkpoint {} is not consistent with checkpoint {}: {e}",
                old.size, new.size
            ))
        })?;
    }
    Ok(())
}

fn print(a: &SeqAnswer, json: bool) {
    let gaps = a.gaps();
    let repeats = a.repeats();
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "vendor": a.vendor,
                "seq_from": a.range.from,
                "seq_to": a.range.to,
                "verified": true,
                "count": a.claims.len(),
                "covered_size": a.covered_size,
                "checkpoint_size": a.checkpoint_size,
                "not_covered": a.not_covered,
                "witnesses": a.witnesses,
                "claims": a.claims.iter().map(|c| serde_json::json!({"seq": c.seq, "index": c.index})).collect::<Vec<_>>(),
                "gaps": gaps.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>(),
                "repeats": repeats.iter().map(|(s, ix)| serde_json::json!({"seq": s, "indexes": ix})).collect::<Vec<_>>(),
            })
        );
        return;
    }
    outln!("{}", a.summary());
    if gaps.is_empty() && repeats.is_empty() {
        outln!("  no gaps, no repeats");
    }
    for (x, y) in gaps.iter().take(PRINT_LIMIT) {
        if x == y {
            outln!("  gap: seq {x} (no claim)");
        } else {
            outln!(
                "  gap: seq {x}..{y} ({} sequence numbers, no claim)",
                y - x + 1
            );
        }
    }
    if gaps.len() > PRINT_LIMIT {
        outln!(
            "  ... {} more gaps (--json lists all)",
            gaps.len() - PRINT_LIMIT
        );
    }
    for (s, ix) in repeats.iter().take(PRINT_LIMIT) {
        let list: Vec<String> = ix.iter().map(|i| format!("#{i}")).collect();
        outln!("  repeat: seq {s} at entries {}", list.join(", "));
    }
    if repeats.len() > PRINT_LIMIT {
        outln!(
            "  ... {} more repeats (--json lists all)",
            repeats.len() - PRINT_LIMIT
        );
    }
    if a.not_covered > 0 {
        outln!(
            "  ({} claims logged after checkpoint {} are not counted: the log grew during the lookup)",
            a.not_covered,
            a.covered_size
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_are_bounded() {
        assert_eq!(SeqRange::parse("3..9"), Ok(SeqRange { from: 3, to: 9 }));
        assert_eq!(SeqRange::parse("3..=9"), Ok(SeqRange { from: 3, to: 9 }));
        assert_eq!(SeqRange::parse("7"), Ok(SeqRange { from: 7, to: 7 }));
        assert!(SeqRange::parse("9..3").is_err());
        assert!(SeqRange::parse("a..3").is_err());
        assert!(SeqRange::parse("1..").is_err());
        assert_eq!(SeqRange::parse("0..255").map(|r| r.buckets()), Ok(1));
        assert_eq!(SeqRange::parse("255..256").map(|r| r.buckets()), Ok(2));
        let max = (MAX_SEQ_BUCKETS << 8) - 1;
        assert!(SeqRange::parse(&format!("0..{max}")).is_ok());
        assert!(SeqRange::parse(&format!("0..{}", max + 1)).is_err());
        assert!(SeqRange::parse(&format!("{}..{}", u64::MAX - 5, u64::MAX)).is_ok());
    }
}
