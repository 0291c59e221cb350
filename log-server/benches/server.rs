//! Server hot paths: the sequencer committing a 4096-entry batch (append,
//! tiles, indexes, signed checkpoint, every receipt's proof, then stage,
//! swap and settle: one fsync'd fjall commit), reading a tile, and building an inclusion proof from
//! stored tiles with and without the node cache; and the per-checkpoint
//! cost of the log's signatures with and without ML-DSA-44 (`LogSigner`
//! alone, and a one-entry commit on in-memory storage, so the signing is
//! not hidden behind an fsync), printing checkpoint and receipt sizes.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use provlog_core::checkpoint::{Checkpoint, LogSigner};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::note::MlDsa44NoteSigner;
use provlog_core::note::NoteSigner;
use provlog_core::tiles::{TileLevel, TileNodeReader};
use provlog_core::tree::inclusion_proof;
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::sequencer::{Claim, Sequencer, now_ms};
use provlog_server::storage::{LogStorage, StorageTiles};
use provlog_server::store::Store;

const BATCH: usize = 4096;

/// A distinct ~400-byte entry (the sequencer does not parse entries).
fn entry(n: u64) -> Vec<u8> {
    let mut e = vec![0x5au8; 400];
    e[..8].copy_from_slice(&n.to_be_bytes());
    e
}

struct Running {
    seq: Sequencer,
    next: u64,
    store: Store,
    _dir: tempfile::TempDir,
}

fn start() -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let signer = provlog_core::checkpoint::LogSigner::new(
        NoteSigner::generate("bench.example/log").expect("key"),
        Some(provlog_core::note::MlDsa44NoteSigner::generate("bench.example/log").expect("key")),
    )
    .expect("log signer");
    let seq = Sequencer::open(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        signer,
        Arc::new(Metrics::new()),
        now_ms(),
    )
    .expect("sequencer");
    Running {
        seq,
        next: 0,
        store,
        _dir: dir,
    }
}

/// Commits one full batch (the sequencer stepped directly, as its thread
/// would) and checks every receipt came back.
fn one_batch(r: &mut Running) -> Duration {
    let claims: Vec<Claim> = (r.next..r.next + BATCH as u64)
        .map(|n| {
            let e = entry(n);
            Claim {
                leaf: leaf_hash(&e),
                asset: sha256(&e),
                entry: e,
                index_keys: None,
                bindings: None,
            }
        })
        .collect();
    r.next += BATCH as u64;
    let t0 = std::time::Instant::now();
    let results = r.seq.commit(claims, now_ms());
    let took = t0.elapsed();
    assert!(results.iter().all(Result::is_ok), "every receipt");
    took
}

fn bench(c: &mut Criterion) {
    let mut running = start();
    // Grow the log first so the batch lands in a tree of realistic depth.
    for _ in 0..16 {
        one_batch(&mut running);
    }
    let mut g = c.benchmark_group("sequencer");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(BATCH as u64));
    g.bench_function("commit 4096-entry batch with receipts (fsync)", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one_batch(&mut running)).sum())
    });
    g.finish();

    let store = running.store.clone();
    let size = running.next;
    c.bench_function("tile read (full level-0 tile)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7) % (size / 256);
            store
                .tile(TileLevel::Hash(0), i)
                .expect("read")
                .expect("tile")
        })
    });
    c.bench_function("inclusion proof from stored tiles (no cache)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % size;
            inclusion_proof(&TileNodeReader::new(StorageTiles(&store), size), i, size)
                .expect("proof")
        })
    });
    let cache = NodeCache::new(4096);
    c.bench_function("inclusion proof from stored tiles (node cache)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % size;
            inclusion_proof(&cache.reader(&store, size), i, size).expect("proof")
        })
    });
}

fn log_signer(ml_dsa: bool) -> LogSigner {
    let name = "bench.example/log";
    LogSigner::new(
        NoteSigner::from_seed(name, 0x01, [3u8; 32]).expect("key"),
        ml_dsa.then(|| MlDsa44NoteSigner::from_seed(name, [4u8; 32]).expect("key")),
    )
    .expect("log signer")
}

/// What the sequencer signs per checkpoint, with and without the
/// ML-DSA-44 key: the signing alone, and a whole one-entry commit on
/// in-memory storage (sign + tiles + indexes + receipt, no fsync).
fn checkpoint_signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("per checkpoint");
    g.sample_size(30);
    for ml_dsa in [false, true] {
        let label = if ml_dsa {
            "Ed25519 + ML-DSA-44"
        } else {
            "Ed25519"
        };
        let signer = log_signer(ml_dsa);
        let cp = Checkpoint::new("bench.example/log", 1 << 20, [9u8; 32]);
        let note = signer.sign(&cp, 1_800_000_000).expect("sign");
        let store = Arc::new(MemoryStorage::new());
        let mut seq = Sequencer::open(
            store.clone(),
            store.clone(),
            log_signer(ml_dsa),
            Arc::new(Metrics::new()),
            1_800_000_000_000,
        )
        .expect("sequencer");
        let mut next = 0u64;
        let mut now = 1_800_000_000_000u64;
        let mut commit_one = |seq: &mut Sequencer| {
            let e = entry(next);
            next += 1;
            // A new second each time: every checkpoint is signed afresh.
            now += 1000;
            let r = seq.commit(
                vec![Claim {
                    leaf: leaf_hash(&e),
                    asset: sha256(&e),
                    entry: e,
                    index_keys: None,
                    bindings: None,
                }],
                now,
            );
            r.into_iter()
                .next()
                .and_then(Result::ok)
                .expect("a receipt")
        };
        for _ in 0..1000 {
            commit_one(&mut seq);
        }
        let receipt = commit_one(&mut seq).receipt;
        println!(
            "sizes, {label}: checkpoint note {} bytes; provlog receipt (CBOR, tree of 1001) {} bytes",
            note.len(),
            receipt.to_cbor().len()
        );
        g.bench_function(format!("LogSigner::sign, {label}"), |b| {
            let mut t = 1_800_000_000u64;
            b.iter(|| {
                t += 1;
                signer.sign(&cp, t).expect("sign")
            })
        });
        g.bench_function(format!("one-entry commit (memory storage), {label}"), |b| {
            b.iter(|| commit_one(&mut seq))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, checkpoint_signing);
criterion_main!(benches);
