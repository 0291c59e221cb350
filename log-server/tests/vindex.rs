//! The verifiable index in the sequencer, against a storage that fails (the
//! fault-injecting memory store; in process, no threads or sleeps).
//!
//! Properties, under any sequence of batches, injected faults and restarts:
//! - the stored checkpoint always ends with an index-commit at
//!   `size - 1`, and the full offline audit (which recomputes every
//!   index-commit from the entries) passes: a crash or failed write never
//!   leaves a checkpoint whose index-commit disagrees with its entries;
//! - every lookup proof the index serves, for the keys of every logged entry
//!   and for random absent keys, verifies under the log key against the
//!   stored checkpoint and lists exactly the entries that carry the key;
//! - a restart rebuilds the same index whatever chunks the rebuild applies
//!   the entries in (as small as one pair, or all at once).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{claim, log_key, open};
use proptest::prelude::*;
use provlog_core::index::IndexKey;
use provlog_core::index::entry::LogEntry;
use provlog_core::index::key::entry_keys;
use provlog_core::index::proof::LookupOutcome;
use provlog_core::policy::Policy;
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::inclusion_proof;
use provlog_server::audit::check_storage;
use provlog_server::memory::{Fault, MemoryStorage};
use provlog_server::sequencer::Sequencer;
use provlog_server::storage::{LogStorage, StorageTiles, read_entry};
use provlog_server::vindex::VIndex;

/// The sequencer and its index, rebuilt from the stored entries in chunks
/// of `chunk` (key, entry) pairs.
fn open_indexed(
    store: &Arc<MemoryStorage>,
    now: u64,
    chunk: usize,
) -> Option<(Sequencer, Arc<VIndex>)> {
    let mut seq = open(store, now).ok()?;
    let v = Arc::new(VIndex::default().with_rebuild_chunk(chunk));
    seq.set_vindex(v.clone()).ok()?;
    Some((seq, v))
}

/// Checks the stored log and every proof the index serves.
fn check(store: &MemoryStorage, v: &VIndex, absent_seed: u64) {
    let note = store
        .checkpoint()
        .expect("the in-memory test store answers")
        .expect("the in-memory test store answers");
    let cp = provlog_core::checkpoint::verify_checkpoint(&note, &log_key())
        .expect("the in-memory test store answers")
        .checkpoint;
    let report = check_storage(store, store, &log_key()).expect("the in-memory test store answers");
    assert!(report.ok(), "audit: {:?}", report.listed);
    if cp.size == 0 {
        return;
    }
    let last = read_entry(store, cp.size - 1, cp.size).expect("the in-memory test store answers");
    let LogEntry::IndexCommit(c) = LogEntry::classify(&last) else {
        panic!(
            "the checkpoint of size {} does not end with an index-commit",
            cp.size
        );
    };
    assert_eq!(c.size, cp.size - 1);
    // Ground truth from the stored entries.
    let mut truth: BTreeMap<IndexKey, Vec<u64>> = BTreeMap::new();
    for i in 0..cp.size {
        for k in
            entry_keys(&read_entry(store, i, cp.size).expect("the in-memory test store answers"))
        {
            truth.entry(k).or_default().push(i);
        }
    }
    let mut keys: Vec<IndexKey> = truth.keys().cloned().collect();
    for j in 0..8u64 {
        keys.push(IndexKey::Asset(provlog_core::hash::sha256(
            format!("absent {absent_seed} {j}").as_bytes(),
        )));
    }
    let policy = Policy::single_log(log_key());
    let tiles = TileNodeReader::new(StorageTiles(store), cp.size);
    for k in &keys {
        let bytes = v
            .lookup(k, 0, |a| {
                assert_eq!(a.published.tree_size, cp.size);
                let mut p = a.proof;
                p.commit_proof = inclusion_proof(&tiles, a.published.commit_index, cp.size)
                    .expect("the in-memory test store answers");
                p.checkpoint = note.clone();
                p.to_cbor()
            })
            .expect("the in-memory test store answers");
        let got = provlog_core::index::proof::verify_lookup(&bytes, &policy, Some(k))
            .unwrap_or_else(|e| panic!("{}: {e}", k.describe()));
        match (truth.get(k), got.outcome) {
            (
                Some(want),
                LookupOutcome::Found {
                    indexes, from: 0, ..
                },
            ) => {
                assert_eq!(&indexes, want)
            }
            (None, LookupOutcome::Absent) => {}
            (w, o) => panic!("{}: want {w:?}, got {o:?}", k.describe()),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A batch of these claims, with a fault `at` steps ahead.
    Batch(Vec<u64>, Option<(u64, bool)>),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            prop::collection::vec(0u64..60, 1..6),
            prop::option::of((0u64..6, any::<bool>()))
        )
            .prop_map(|(c, f)| Op::Batch(c, f)),
        1 => Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn index_commits_agree_with_the_entries_under_faults(
        ops in prop::collection::vec(op(), 1..12),
        chunk in prop_oneof![1usize..24, Just(provlog_server::vindex::REBUILD_CHUNK_PAIRS)],
    ) {
        let store = Arc::new(MemoryStorage::new());
        let mut now = 1_800_000_000_000u64;
        let (mut seq, mut v) = open_indexed(&store, now, chunk).expect("the in-memory test store answers");
        for (n, op) in ops.iter().enumerate() {
            now += 7;
            match op {
                Op::Batch(ids, fault) => {
                    if let Some((ahead, after)) = fault {
                        let f = if *after { Fault::AfterPersist } else { Fault::BeforePersist };
                        store.inject(store.steps() + ahead, f);
                    }
                    let _ = seq.commit(ids.iter().map(|&i| claim(i)).collect(), now);
                    store.clear_faults();
                }
                Op::Restart => {
                    drop(seq);
                    (seq, v) = open_indexed(&store, now, chunk).expect("the in-memory test store answers");
                }
            }
            // A failed batch leaves the index stale until the next batch or
            // restart; check the state a restart recovers.
            let (s2, v2) = open_indexed(&store, now, chunk).expect("the in-memory test store answers");
            check(&store, &v2, n as u64);
            drop(s2);
        }
        // And the live sequencer's own index, after one more clean batch.
        now += 7;
        let _ = seq.commit(vec![claim(61)], now);
        check(&store, &v, 999);
    }
}
