//! Audit-path benchmarks (BENCHMARKS-monitor.md):
//!
//! - `rederive`: hashing only — leaf hash, compact-range append and hash
//!   tiles, as the monitor does it, over 65,536 ~400-byte signed claims;
//! - `claims`: per-entry claim checks — parse only, parse + `verify_strict`
//!   sequentially and on all cores, and (for reference, not used by the
//!   monitor) dalek's `verify_batch`;
//! - `audit`: the whole in-memory pipeline ([`audit_bundles`]): bundles in,
//!   tree re-derived, every claim checked and reported in order.
//!
//! `cargo bench -p provlog-monitor --bench audit -- --warm-up-time 1 --measurement-time 5`

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, VerifyingKey};
use provlog_core::claim::{
    Asset, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
    IndirectDisclosure,
};
use provlog_core::note::NoteSigner;
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tiles::{TILE_WIDTH, Tile, TileLevel, encode_bundle};
use provlog_monitor::audit::{
    Bundle, audit_bundles, check_claims, check_claims_parallel, default_workers, rederive,
};
use provlog_monitor::owntree::OwnTree;

/// Entries for the hashing benchmark.
const HASH_ENTRIES: usize = 65_536;
/// Entries per claim-check iteration.
const CHECK_ENTRIES: usize = 2_048;
/// Entries for the whole-pipeline benchmark (64 bundles).
const AUDIT_ENTRIES: usize = 16_384;

/// A claim shaped like `provlog load`'s; signed, the entry is about 440
/// bytes (the kid vkey string is a good part of it).
fn claim(i: u64) -> Claim {
    Claim {
        version: 1,
        asset: Asset {
            sha256: provlog_core::hash::sha256(format!("bench asset {i}").as_bytes()),
            media_type: "image/png".into(),
            size: 1_048_576 + i,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "Load Test AI".into(),
            tool: "imagegen-xl".into(),
            version: "3.2.1".into(),
        },
        created: 1_790_000_000 + i,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa, IndirectDisclosure::Watermark],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(i),
    }
}

/// `n` signed claims (entry bytes), signed on every core.
fn entries(n: usize) -> Vec<Vec<u8>> {
    let signer = NoteSigner::generate("bench.provlog.example").expect("keygen");
    let vkey = signer.verifier_key().to_vkey();
    let threads = default_workers();
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let (signer, vkey) = (&signer, &vkey);
                s.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|i| {
                            SignedClaim::sign(&claim(i as u64), signer.signing_key(), vkey)
                                .expect("sign")
                                .to_bytes()
                                .to_vec()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread"))
            .collect()
    })
}

fn bundles(entries: &[Vec<u8>]) -> Vec<Bundle> {
    entries
        .chunks(TILE_WIDTH as usize)
        .enumerate()
        .map(|(i, chunk)| {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            Bundle {
                tile: Tile {
                    level: TileLevel::Entries,
                    index: i as u64,
                    width: chunk.len() as u16,
                },
                skip: 0,
                data: encode_bundle(&refs).expect("encode"),
            }
        })
        .collect()
}

fn bench_rederive(c: &mut Criterion) {
    let all = entries(HASH_ENTRIES);
    let avg = all.iter().map(Vec::len).sum::<usize>() / all.len();
    eprintln!("entries: {} of {avg} bytes on average", all.len());
    let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
    let mut g = c.benchmark_group("rederive");
    g.throughput(Throughput::Elements(HASH_ENTRIES as u64));
    g.sample_size(20);
    g.bench_function("leaf_hash_only", |b| {
        b.iter(|| {
            for e in &refs {
                black_box(provlog_core::hash::leaf_hash(e));
            }
        })
    });
    g.bench_function("hash_append_tiles", |b| {
        b.iter(|| {
            let mut tree = OwnTree::new();
            rederive(&mut tree, &refs).expect("rederive");
            black_box((tree.root(), tree.take_tiles().len()))
        })
    });
    g.finish();
}

fn bench_claims(c: &mut Criterion) {
    let all = entries(CHECK_ENTRIES);
    let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
    let parsed: Vec<SignedClaim> = refs
        .iter()
        .map(|e| SignedClaim::from_bytes(e).expect("parse"))
        .collect();
    let messages: Vec<Vec<u8>> = parsed.iter().map(SignedClaim::signed_message).collect();
    let msg_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let sigs: Vec<Signature> = parsed.iter().map(SignedClaim::signature).collect();
    let keys: Vec<VerifyingKey> = parsed.iter().map(SignedClaim::public_key).collect();
    let threads = default_workers();

    let mut g = c.benchmark_group("claims");
    g.throughput(Throughput::Elements(CHECK_ENTRIES as u64));
    g.sample_size(10);
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            for e in &refs {
                black_box(SignedClaim::from_bytes(e).is_ok());
            }
        })
    });
    g.bench_function("verify_strict_only", |b| {
        b.iter(|| {
            for p in &parsed {
                black_box(p.verify_signature().is_ok());
            }
        })
    });
    g.bench_function("verify_batch_only_reference", |b| {
        b.iter(|| {
            black_box(
                msg_refs
                    .chunks(256)
                    .zip(sigs.chunks(256).zip(keys.chunks(256)))
                    .all(|(m, (s, k))| ed25519_dalek::verify_batch(m, s, k).is_ok()),
            )
        })
    });
    g.bench_function("check_sequential", |b| {
        b.iter(|| black_box(check_claims(&refs).len()))
    });
    g.bench_function(format!("check_parallel_{threads}_threads"), |b| {
        b.iter(|| black_box(check_claims_parallel(&refs, threads).len()))
    });
    g.finish();
}

fn bench_audit(c: &mut Criterion) {
    let all = entries(AUDIT_ENTRIES);
    let input = bundles(&all);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(AUDIT_ENTRIES as u64));
    g.sample_size(10);
    for workers in [1, default_workers()] {
        g.bench_function(format!("pipeline_{workers}_workers"), |b| {
            b.iter_batched(
                || input.clone(),
                |input| {
                    rt.block_on(async {
                        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bundle, ()>>(4);
                        let feeder = tokio::spawn(async move {
                            for b in input {
                                if tx.send(Ok(b)).await.is_err() {
                                    break;
                                }
                            }
                        });
                        let mut tree = OwnTree::new();
                        let mut valid = 0u64;
                        let n = audit_bundles(&mut tree, &mut rx, workers, |_, _, c| {
                            valid += u64::from(c.is_ok());
                        })
                        .await
                        .map_err(|_| "audit stopped")
                        .expect("audit");
                        let _ = feeder.await;
                        assert_eq!((n, valid), (AUDIT_ENTRIES as u64, AUDIT_ENTRIES as u64));
                        black_box(tree.root())
                    })
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_rederive, bench_claims, bench_audit);
criterion_main!(benches);
