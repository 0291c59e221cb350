//! Fills a data directory with N entries through the real sequencer, stepped
//! directly in 4096-entry batches (one fsync'd commit each: tiles, indexes,
//! signed checkpoint),
//! without HTTP or signatures, so restart time can be measured on a large
//! log: `cargo run --release -p provlog-server --example fill_log -- DIR N`,
//! then time `provlog-server --data DIR` to its first `/healthz` answer.
//! Entries are 439 bytes (the size of a typical signed claim) and are not
//! valid claims: this builds a storage-shaped log, not an auditable one.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use provlog_core::hash::{leaf_hash, sha256};
use provlog_server::keys::load_or_create_log_signer;
use provlog_server::metrics::Metrics;
use provlog_server::sequencer::{Claim, Sequencer, now_ms};
use provlog_server::store::Store;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: fill_log DIR N"));
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: fill_log DIR N");
    let (signer, _, _) = load_or_create_log_signer(&dir, "localhost/provlog").expect("key");
    let store = Store::open(&dir).expect("store");
    let mut seq = Sequencer::open(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        signer,
        Arc::new(Metrics::new()),
        now_ms(),
    )
    .expect("sequencer");
    let start_size = seq.committed().map(|c| c.checkpoint.size).unwrap_or(0);
    let t0 = Instant::now();
    let mut i = start_size;
    let end = start_size + n;
    while i < end {
        let batch: Vec<Claim> = (i..end.min(i + 4096))
            .map(|i| {
                let mut e = vec![0x5au8; 439];
                e[..8].copy_from_slice(&i.to_be_bytes());
                Claim {
                    leaf: leaf_hash(&e),
                    asset: sha256(&e),
                    entry: e,
                    index_keys: None,
                    bindings: None,
                }
            })
            .collect();
        let before = i;
        i += batch.len() as u64;
        for r in seq.commit(batch, now_ms()) {
            r.expect("receipt");
        }
        if i / 1_000_000 != before / 1_000_000 {
            eprintln!(
                "{i} entries, {:.0}/s",
                (i - start_size) as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    // No flush: the next start replays the journal, as after a crash.
    drop(seq);
    println!(
        "appended {n} entries in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
