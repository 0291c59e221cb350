//! Server hot paths: the sequencer committing a 4096-entry batch (append,
//! tiles, indexes, signed checkpoint, one fsync'd commit, then every
//! receipt's proof), reading a tile, and building an inclusion proof from
//! stored tiles with and without the node cache.
#![allow(missing_docs)]

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::note::NoteSigner;
use provlog_core::tiles::{TileLevel, TileNodeReader};
use provlog_core::tree::inclusion_proof;
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::sequencer::{Pending, Sequencer, SequencerConfig};
use provlog_server::store::{Store, StoreTiles};

const BATCH: usize = 4096;

/// A distinct ~400-byte entry (the sequencer does not parse entries).
fn entry(n: u64) -> Vec<u8> {
    let mut e = vec![0x5au8; 400];
    e[..8].copy_from_slice(&n.to_be_bytes());
    e
}

struct Running {
    tx: mpsc::Sender<Pending>,
    next: u64,
    store: Store,
    _dir: tempfile::TempDir,
}

fn start() -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let signer = NoteSigner::generate("bench.example/log").expect("key");
    let seq = Sequencer::open(
        store.clone(),
        signer,
        Arc::new(Metrics::new()),
        SequencerConfig {
            batch_interval: Duration::from_secs(10),
            max_batch: BATCH,
            checkpoint_refresh: Duration::from_secs(3600),
        },
    )
    .expect("sequencer");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || seq.run(rx, Arc::new(AtomicUsize::new(usize::MAX / 2))));
    Running {
        tx,
        next: 0,
        store,
        _dir: dir,
    }
}

/// Sends one full batch and waits for every receipt.
fn one_batch(r: &mut Running) -> Duration {
    let entries: Vec<Vec<u8>> = (r.next..r.next + BATCH as u64).map(entry).collect();
    r.next += BATCH as u64;
    let t0 = Instant::now();
    let mut waiting = Vec::with_capacity(BATCH);
    for e in entries {
        let (tx, rx) = tokio::sync::oneshot::channel();
        r.tx.send(Pending {
            leaf: leaf_hash(&e),
            asset: sha256(&e),
            entry: e,
            admitted: Instant::now(),
            reply: tx,
        })
        .expect("send");
        waiting.push(rx);
    }
    for rx in waiting {
        rx.blocking_recv().expect("reply").expect("receipt");
    }
    t0.elapsed()
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
                .raw_tile(TileLevel::Hash(0), i)
                .expect("read")
                .expect("tile")
        })
    });
    c.bench_function("inclusion proof from stored tiles (no cache)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % size;
            inclusion_proof(&TileNodeReader::new(StoreTiles(&store), size), i, size).expect("proof")
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

criterion_group!(benches, bench);
criterion_main!(benches);
