//! The audit pipeline: re-derives a log's tree from its entry bundles and
//! checks every claim, with the signature checks spread over all cores.
//!
//! Bundles arrive in order (the follower downloads several at once and
//! hands them over in order). For each bundle, on the calling task:
//!
//! 1. parse the bundle (a bundle that does not parse stops the audit);
//! 2. hash every new entry into the [`OwnTree`] (leaf hash, compact-range
//!    append, hash tiles) — cheap and inherently sequential;
//! 3. hand the bundle to a blocking worker that parses every claim and
//!    checks all its signatures as one ZIP-215 batch
//!    ([`crate::claim_batch::check_entries`]);
//!
//! with up to `2 * workers` bundles being checked at once. Results are
//! reported in entry order, so misbehaviour and watch alerts come out in
//! the same order, with the same contents, as with a single sequential
//! loop; if the audit stops (bad bundle, download failure) every entry of
//! the bundles before the failing one has been reported first, exactly as
//! before.
//!
//! # Batch verification
//!
//! Claim signatures are valid under the ZIP-215 rule
//! (`spec/signed-claim.md` §1.1), the one rule for which batch and single
//! verification agree on every input (torsion components, small-order and
//! non-canonical points included). So the monitor checks each bundle's
//! signatures in one batch equation (about half the cost per signature) and
//! only when it fails checks them one by one, to name the bad entries; the
//! answer per entry is exactly [`check_claim`]'s. (Under the previous rule,
//! `verify_strict`, batching was unsound: a signer could add a torsion point
//! to `R` and make strict and batch answers differ.)

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use provlog_core::hash::leaf_hash;
use provlog_core::signed_claim::{SignedClaim, SignedClaimError};
use provlog_core::tile_builder::BuilderError;
use provlog_core::tiles::{TILE_WIDTH, Tile};

use crate::owntree::OwnTree;

/// The outcome of checking one entry: the parsed claim, or why it is invalid.
pub type ClaimCheck = Result<SignedClaim, SignedClaimError>;

/// One downloaded entry bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Which bundle (entries level, index, width).
    pub tile: Tile,
    /// Entries at its start that are already audited (only ever non-zero
    /// for the first bundle of a range).
    pub skip: usize,
    /// The bytes as served.
    pub data: Vec<u8>,
}

/// Why [`audit_bundles`] stopped early.
#[derive(Debug)]
pub enum AuditStop<E> {
    /// The bundle source failed (e.g. a download).
    Source(E),
    /// A bundle does not parse, or the tree cannot take its entries.
    BadBundle(String),
    /// A verification worker failed (panicked or was cancelled).
    Worker(String),
}

/// Parses one entry and checks its structure, schema and signature
/// (ZIP-215): the per-entry answer the monitor applies.
pub fn check_claim(entry: &[u8]) -> ClaimCheck {
    SignedClaim::from_bytes(entry).and_then(|c| c.verify_signature().map(|()| c))
}

/// [`check_claim`] for each entry, in order, on the calling thread, with
/// the signatures checked as one batch ([`crate::claim_batch`]).
pub fn check_claims(entries: &[&[u8]]) -> Vec<ClaimCheck> {
    crate::claim_batch::check_entries(entries)
}

/// Entries per unit of work in [`check_claims_parallel`].
const CHUNK: usize = 64;

/// [`check_claims`] on `threads` threads; the result is identical, in the
/// same order. Threads take chunks of [`CHUNK`] entries from a shared
/// counter, so one descheduled thread (on a busy machine) does not hold the
/// others up at the end.
pub fn check_claims_parallel(entries: &[&[u8]], threads: usize) -> Vec<ClaimCheck> {
    let chunks: Vec<&[&[u8]]> = entries.chunks(CHUNK).collect();
    let threads = threads.clamp(1, chunks.len().max(1));
    if threads == 1 {
        return check_claims(entries);
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Vec<ClaimCheck>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else {
                            break;
                        };
                        out.push((i, check_claims(chunk)));
                    }
                    out
                })
            })
            .collect();
        // A panicking check (a bug) propagates, as it would sequentially.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, c)| c).collect()
}

/// Hashes `entries` into `tree` (leaf hash, compact-range append, hash
/// tiles): the re-derivation without any claim checks.
pub fn rederive(tree: &mut OwnTree, entries: &[&[u8]]) -> Result<(), BuilderError> {
    for e in entries {
        tree.append(leaf_hash(e))?;
    }
    Ok(())
}

/// How many claim-checking workers to use: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A bundle whose hashing is done and whose claims are being checked.
struct InFlight {
    tile: Tile,
    skip: usize,
    data: Arc<Vec<u8>>,
    /// Byte ranges of the entries being checked (after `skip`).
    ranges: Arc<Vec<Range<usize>>>,
    job: tokio::task::JoinHandle<Vec<ClaimCheck>>,
}

/// Awaits the oldest in-flight bundle and reports its entries in order.
async fn report_oldest<E>(
    pending: &mut VecDeque<InFlight>,
    report: &mut impl FnMut(u64, &[u8], ClaimCheck),
) -> Result<(), AuditStop<E>> {
    let Some(f) = pending.pop_front() else {
        return Ok(());
    };
    let checks = f
        .job
        .await
        .map_err(|e| AuditStop::Worker(format!("claim check of {}: {e}", f.tile.path())))?;
    let base = f.tile.index * TILE_WIDTH + f.skip as u64;
    for (k, (check, range)) in checks.into_iter().zip(f.ranges.iter()).enumerate() {
        let entry = f.data.get(range.clone()).unwrap_or_default();
        report(base + k as u64, entry, check);
    }
    Ok(())
}

/// Re-derives the tree from `bundles` (in order) and checks every claim on
/// blocking threads (up to `2 * workers` bundles at once), calling
/// `report(index, entry, check)` for every new entry in index order. Returns the number of entries
/// audited. Stops at the first source error or bad bundle, after reporting
/// every entry before it (see the module docs). The caller compares the
/// resulting root with the checkpoint.
pub async fn audit_bundles<E>(
    tree: &mut OwnTree,
    bundles: &mut tokio::sync::mpsc::Receiver<Result<Bundle, E>>,
    workers: usize,
    mut report: impl FnMut(u64, &[u8], ClaimCheck),
) -> Result<u64, AuditStop<E>> {
    let workers = workers.max(1);
    let mut pending: VecDeque<InFlight> = VecDeque::new();
    let mut stop = None;
    let mut audited = 0u64;
    while let Some(item) = bundles.recv().await {
        let b = match item {
            Ok(b) => b,
            Err(e) => {
                stop = Some(AuditStop::Source(e));
                break;
            }
        };
        let entries = match b.tile.parse_bundle(&b.data) {
            Ok(entries) => entries,
            Err(e) => {
                stop = Some(AuditStop::BadBundle(e.to_string()));
                break;
            }
        };
        let base = b.data.as_ptr() as usize;
        let mut ranges = Vec::with_capacity(entries.len().saturating_sub(b.skip));
        for entry in entries.iter().skip(b.skip) {
            if let Err(e) = tree.append(leaf_hash(entry)) {
                stop = Some(AuditStop::BadBundle(e.to_string()));
                break;
            }
            let start = entry.as_ptr() as usize - base;
            ranges.push(start..start + entry.len());
        }
        drop(entries);
        audited += ranges.len() as u64;
        let data = Arc::new(b.data);
        let ranges = Arc::new(ranges);
        let job = {
            let (data, ranges) = (data.clone(), ranges.clone());
            tokio::task::spawn_blocking(move || {
                let entries: Vec<&[u8]> = ranges
                    .iter()
                    .map(|r| data.get(r.clone()).unwrap_or_default())
                    .collect();
                check_claims(&entries)
            })
        };
        pending.push_back(InFlight {
            tile: b.tile,
            skip: b.skip,
            data,
            ranges,
            job,
        });
        if stop.is_some() {
            break;
        }
        // Two bundles per worker in flight: a worker that finishes while
        // the oldest bundle is still being checked has the next one to do.
        while pending.len() >= 2 * workers {
            report_oldest(&mut pending, &mut report).await?;
        }
    }
    while !pending.is_empty() {
        report_oldest(&mut pending, &mut report).await?;
    }
    match stop {
        Some(s) => Err(s),
        None => Ok(audited),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provlog_core::tiles::{TileLevel, encode_bundle};

    /// A tree whose leaves are `entries`, re-derived one leaf at a time.
    fn reference(entries: &[Vec<u8>]) -> OwnTree {
        let mut t = OwnTree::new();
        for e in entries {
            t.append(leaf_hash(e)).expect("append");
        }
        t
    }

    fn bundles(entries: &[Vec<u8>], start: usize) -> Vec<Bundle> {
        let width = TILE_WIDTH as usize;
        entries
            .chunks(width)
            .enumerate()
            .skip(start / width)
            .map(|(i, chunk)| {
                let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
                Bundle {
                    tile: Tile {
                        level: TileLevel::Entries,
                        index: i as u64,
                        width: chunk.len() as u16,
                    },
                    skip: if i == start / width { start % width } else { 0 },
                    data: encode_bundle(&refs).expect("encode"),
                }
            })
            .collect()
    }

    async fn run(
        tree: &mut OwnTree,
        items: Vec<Result<Bundle, &'static str>>,
        workers: usize,
    ) -> (Result<u64, AuditStop<&'static str>>, Vec<(u64, bool)>) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(items.len().max(1));
        for it in items {
            tx.send(it).await.expect("send");
        }
        drop(tx);
        let mut seen = Vec::new();
        let r = audit_bundles(tree, &mut rx, workers, |i, _, c| seen.push((i, c.is_ok()))).await;
        (r, seen)
    }

    /// Non-claims: every check fails, but hashing and ordering are what
    /// is under test here (valid claims are covered end to end).
    fn junk(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn same_tree_and_order_as_sequential() {
        let entries = junk(1000);
        for start in [0usize, 1, 255, 256, 300] {
            for workers in [1, 2, 5] {
                let mut tree = reference(&entries[..start]);
                let items = bundles(&entries, start).into_iter().map(Ok).collect();
                let (r, seen) = run(&mut tree, items, workers).await;
                assert_eq!(r.ok(), Some((1000 - start) as u64));
                assert_eq!(tree.root(), reference(&entries).root());
                let want: Vec<(u64, bool)> = (start as u64..1000).map(|i| (i, false)).collect();
                assert_eq!(seen, want);
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stops_after_reporting_earlier_bundles() {
        let entries = junk(1000);
        let mut items: Vec<Result<Bundle, &str>> =
            bundles(&entries, 0).into_iter().map(Ok).collect();
        // Bundle 2 does not parse; bundle 3 must not be touched.
        if let Some(Ok(b)) = items.get_mut(2) {
            b.data.truncate(10);
        }
        let mut tree = OwnTree::new();
        let (r, seen) = run(&mut tree, items, 2).await;
        assert!(matches!(r, Err(AuditStop::BadBundle(_))));
        assert_eq!(seen.len(), 512);
        assert_eq!(seen.last().map(|s| s.0), Some(511));

        let mut items: Vec<Result<Bundle, &str>> =
            bundles(&entries, 0).into_iter().map(Ok).collect();
        items[1] = Err("download failed");
        let mut tree = OwnTree::new();
        let (r, seen) = run(&mut tree, items, 2).await;
        assert!(matches!(r, Err(AuditStop::Source("download failed"))));
        assert_eq!(seen.len(), 256);
    }

    /// `n` validly signed claims (about 400 bytes each).
    fn signed(n: usize) -> Vec<Vec<u8>> {
        use provlog_core::claim::{
            Asset, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
            IndirectDisclosure,
        };
        use provlog_core::note::NoteSigner;
        let signer = NoteSigner::generate("vendor.example").expect("keygen");
        let vkey = signer.verifier_key().to_vkey();
        (0..n as u64)
            .map(|i| {
                let claim = Claim {
                    version: 1,
                    asset: Asset {
                        sha256: provlog_core::hash::sha256(&i.to_be_bytes()),
                        media_type: "image/png".into(),
                        size: 1000 + i,
                    },
                    c2pa: None,
                    soft_bindings: vec![],
                    generator: Generator {
                        vendor: "Example AI".into(),
                        tool: "imagegen".into(),
                        version: "1".into(),
                    },
                    created: 1_790_000_000 + i,
                    source_type: DigitalSourceType::TrainedAlgorithmicMedia,
                    disclosure: Disclosure {
                        direct: vec![DirectDisclosure::Label],
                        indirect: vec![IndirectDisclosure::C2pa],
                    },
                    consent: Some(Consent::NotApplicable),
                    sequence: Some(i),
                };
                SignedClaim::sign(&claim, signer.signing_key(), &vkey)
                    .expect("sign")
                    .to_bytes()
                    .to_vec()
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reports_exactly_the_invalid_claims() {
        let mut entries = signed(600);
        // A flipped signature bit (bad signature), and a flipped payload
        // byte (bad signature or bad structure): both must be reported.
        let bad = [3usize, 257, 599];
        for &i in &bad[..2] {
            if let Some(b) = entries[i].last_mut() {
                *b ^= 1;
            }
        }
        entries[599][40] ^= 0x55;
        let mut tree = OwnTree::new();
        let items = bundles(&entries, 0).into_iter().map(Ok).collect();
        let (r, seen) = run(&mut tree, items, 2).await;
        assert_eq!(r.ok(), Some(600));
        assert_eq!(tree.root(), reference(&entries).root());
        let want: Vec<(u64, bool)> = (0..600u64)
            .map(|i| (i, !bad.contains(&(i as usize))))
            .collect();
        assert_eq!(seen, want);
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        assert_eq!(check_claims_parallel(&refs, 2), check_claims(&refs));
    }

    #[test]
    fn parallel_checks_match_sequential() {
        let entries = junk(37);
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let seq = check_claims(&refs);
        for threads in [1, 2, 3, 8, 64] {
            assert_eq!(check_claims_parallel(&refs, threads), seq);
        }
    }
}
