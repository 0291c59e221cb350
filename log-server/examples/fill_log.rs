//! Fills a data directory with N entries through the real sequencer (one
//! fsync'd commit per 4096-entry batch, tiles, indexes, signed checkpoints),
//! without HTTP or signatures, so restart time can be measured on a large
//! log: `cargo run --release -p provlog-server --example fill_log -- DIR N`,
//! then time `provlog-server --data DIR` to its first `/healthz` answer.
//! Entries are 439 bytes (the size of a typical signed claim) and are not
//! valid claims: this builds a storage-shaped log, not an auditable one.
#![allow(missing_docs)]

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use provlog_core::hash::{leaf_hash, sha256};
use provlog_server::keys::load_or_create_log_key;
use provlog_server::metrics::Metrics;
use provlog_server::sequencer::{Pending, Sequencer, SequencerConfig};
use provlog_server::store::Store;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: fill_log DIR N"));
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: fill_log DIR N");
    let (signer, _) = load_or_create_log_key(&dir, "localhost/provlog").expect("key");
    let store = Store::open(&dir).expect("store");
    let seq = Sequencer::open(
        store,
        signer,
        Arc::new(Metrics::new()),
        SequencerConfig {
            batch_interval: Duration::from_millis(100),
            max_batch: 4096,
            checkpoint_refresh: Duration::from_secs(3600),
        },
    )
    .expect("sequencer");
    let start_size = seq
        .published()
        .read()
        .map(|p| p.checkpoint.size)
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel();
    let handle =
        std::thread::spawn(move || seq.run(rx, Arc::new(AtomicUsize::new(usize::MAX / 2))));
    let t0 = Instant::now();
    let mut waiting = std::collections::VecDeque::new();
    for i in start_size..start_size + n {
        let mut e = vec![0x5au8; 439];
        e[..8].copy_from_slice(&i.to_be_bytes());
        let (rtx, rrx) = tokio::sync::oneshot::channel();
        tx.send(Pending {
            leaf: leaf_hash(&e),
            asset: sha256(&e),
            entry: e,
            admitted: Instant::now(),
            reply: rtx,
        })
        .expect("send");
        waiting.push_back(rrx);
        // Keep at most two batches in flight, like a steady client load.
        while waiting.len() > 8192 {
            if let Some(r) = waiting.pop_front() {
                r.blocking_recv().expect("reply").expect("receipt");
            }
        }
        if i % 1_000_000 == 0 && i > start_size {
            eprintln!(
                "{i} entries, {:.0}/s",
                (i - start_size) as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    for r in waiting {
        r.blocking_recv().expect("reply").expect("receipt");
    }
    drop(tx);
    handle.join().expect("sequencer");
    println!(
        "appended {n} entries in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
