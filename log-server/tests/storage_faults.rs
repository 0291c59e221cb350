//! The sequencer against a storage that fails: in process, deterministic,
//! no threads, sleeps or processes. The store is the object-store-shaped
//! memory backend ([`MemoryStorage`]): each tile staged, the index write,
//! the checkpoint swap and each tile settled is one write that can fail
//! before persisting or after persisting (written, but the caller sees an
//! error). A restart is a new sequencer opened on the same store.
//!
//! Properties, under any sequence of batches, refreshes, outages, restarts
//! and injected faults:
//! - every receipt verifies (log signature, inclusion proof);
//! - no acknowledged entry is lost: after a restart it is at its index,
//!   its bytes intact, and the dedup index finds it there; resubmitting it
//!   returns the same index;
//! - every checkpoint anyone could have seen (every one ever stored, every
//!   one published, every one in a receipt) is a prefix of the final tree:
//!   so no two checkpoints of one size ever differ;
//! - restart recovers to a state that verifies: the tiles reproduce the
//!   checkpoint root, nothing stays staged, and the full audit
//!   (`provlog-server check`'s [`check_storage`]) passes.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use common::{claim, log_key, open, signed_claim, size_root};
use proptest::prelude::*;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::proof::verify_inclusion;
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::tree_root;
use provlog_server::audit::check_storage;
use provlog_server::memory::{Fault, MemoryStorage, Step};
use provlog_server::publisher::Publication;
use provlog_server::sequencer::{Sequencer, logged_at};
use provlog_server::storage::{LogStorage, StorageTiles, read_entry};

/// A log under test and everything anyone has seen of it.
struct World {
    store: Arc<MemoryStorage>,
    seq: Option<Sequencer>,
    publication: Option<Arc<Publication>>,
    now: u64,
    /// Acknowledged entries: leaf -> (index, entry).
    acked: HashMap<Hash, (u64, Vec<u8>)>,
    /// Checkpoint notes seen in receipts and publications.
    seen: BTreeSet<Vec<u8>>,
    /// Failed batches, restarts that needed retries (for the report).
    failures: u64,
}

impl World {
    fn new() -> World {
        let mut w = World {
            store: Arc::new(MemoryStorage::new()),
            seq: None,
            publication: None,
            now: 1_800_000_000_000,
            acked: HashMap::new(),
            seen: BTreeSet::new(),
            failures: 0,
        };
        w.restart();
        w
    }

    fn tick(&mut self) -> u64 {
        self.now += 7;
        self.now
    }

    /// Drops the sequencer and opens a new one on the same store, retrying
    /// while injected faults (or an outage, then lifted) make it fail.
    fn restart(&mut self) {
        self.seq = None;
        for attempt in 0.. {
            let now = self.tick();
            match open(&self.store, now) {
                Ok(mut seq) => {
                    let c = seq.committed().expect("an opened log knows its checkpoint");
                    let p = Publication::new(c, &[], 0, std::time::Duration::ZERO);
                    seq.set_publication(p.clone());
                    self.seen.insert(p.current().note.clone());
                    self.publication = Some(p);
                    self.seq = Some(seq);
                    break;
                }
                Err(e) => {
                    // An operator brings storage back after a few tries.
                    assert!(attempt < 200, "the log never reopened: {e}");
                    self.failures += 1;
                    if attempt > 3 {
                        self.store.set_outage(false);
                    }
                }
            }
        }
    }

    fn seq(&mut self) -> &mut Sequencer {
        if self.seq.is_none() {
            self.restart();
        }
        self.seq.as_mut().expect("opened")
    }

    fn record_published(&mut self) {
        if let Some(p) = &self.publication {
            self.seen.insert(p.current().note.clone());
        }
    }

    /// Submits claims `ids` as one batch and checks every answer.
    fn batch(&mut self, ids: &[u64]) {
        let claims = ids.iter().map(|&i| claim(i)).collect();
        let now = self.tick();
        let results = self.seq().commit(claims, now);
        assert_eq!(results.len(), ids.len());
        let mut any_err = false;
        for (&i, r) in ids.iter().zip(results) {
            let entry = signed_claim(i);
            let leaf = leaf_hash(&entry);
            match r {
                Ok(s) => {
                    let r = s.receipt;
                    assert_eq!(r.entry, entry);
                    let cp = verify_checkpoint(&r.checkpoint, &log_key())
                        .expect("a receipt's checkpoint verifies")
                        .checkpoint;
                    verify_inclusion(&leaf, r.index, cp.size, &r.proof, &cp.root)
                        .expect("a receipt's inclusion proof verifies");
                    if let Some(&(was, _)) = self.acked.get(&leaf) {
                        assert_eq!(was, r.index, "a resubmission returns the original index");
                    }
                    self.acked.insert(leaf, (r.index, entry));
                    self.seen.insert(r.checkpoint);
                }
                Err(_) => any_err = true,
            }
        }
        if any_err {
            self.failures += 1;
        }
        self.record_published();
    }

    fn refresh(&mut self) {
        let now = self.tick();
        if self.seq().refresh(now).is_err() {
            self.failures += 1;
        }
        self.record_published();
    }

    /// Restarts and checks that the recovered log holds everything
    /// acknowledged, verifies in full, and is consistent with every
    /// checkpoint ever seen.
    fn check_recovered(&mut self) {
        self.store.set_outage(false);
        self.restart();
        let store: &MemoryStorage = &self.store;
        let note = store.checkpoint().expect("read").expect("a checkpoint");
        let (size, root) = size_root(&note);
        assert_eq!(store.staged_batches(), 0, "nothing stays staged");
        let report = check_storage(store, store, &log_key()).expect("audit runs");
        assert!(report.ok(), "the full audit passes: {:?}", report.listed);
        assert_eq!(report.size, size);
        let tiles = TileNodeReader::new(StorageTiles(store), size);
        assert_eq!(tree_root(&tiles, size).expect("root"), root);
        for (leaf, (index, entry)) in &self.acked {
            assert!(
                *index < size,
                "acknowledged entry {index} lost (size {size})"
            );
            assert_eq!(
                &read_entry(store, *index, size).expect("entry"),
                entry,
                "entry {index} changed"
            );
            assert_eq!(
                logged_at(store, &tiles, leaf, size).expect("dedup"),
                Some(*index),
                "the dedup index finds entry {index}"
            );
        }
        // Every checkpoint ever stored, published or received is a prefix
        // of this tree: none of one size differs from another.
        let mut by_size: BTreeMap<u64, Hash> = BTreeMap::new();
        let history: BTreeSet<Vec<u8>> = store.checkpoint_history().into_iter().collect();
        for n in history.iter().chain(&self.seen) {
            let (s, r) = size_root(n);
            if let Some(prev) = by_size.insert(s, r) {
                assert_eq!(prev, r, "two checkpoints of size {s} differ");
            }
        }
        for (&s, &r) in &by_size {
            assert!(
                s <= size,
                "a checkpoint of size {s} beyond the recovered {size}"
            );
            assert_eq!(
                tree_root(&tiles, s).expect("prefix root"),
                r,
                "the checkpoint of size {s} is not a prefix of the recovered tree"
            );
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Batch(Vec<u64>),
    Refresh,
    Restart,
    Outage,
    Heal,
}

fn op() -> impl Strategy<Value = Op> {
    // Claims from a small range (many duplicates) or the whole pool (the
    // tree crosses tile boundaries).
    let id = prop_oneof![0..48u64, 0..common::POOL_SIZE];
    prop_oneof![
        8 => prop::collection::vec(id, 0..90).prop_map(Op::Batch),
        1 => Just(Op::Refresh),
        2 => Just(Op::Restart),
        1 => Just(Op::Outage),
        1 => Just(Op::Heal),
    ]
}

fn faults() -> impl Strategy<Value = Vec<(u64, bool)>> {
    prop::collection::vec((0..160u64, any::<bool>()), 0..20)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn no_acknowledged_entry_is_lost_and_no_checkpoint_forks(
        ops in prop::collection::vec(op(), 1..24),
        plan in faults(),
    ) {
        let mut w = World::new();
        for (step, before) in plan {
            w.store.inject(
                step,
                if before { Fault::BeforePersist } else { Fault::AfterPersist },
            );
        }
        for op in ops {
            match op {
                Op::Batch(ids) => w.batch(&ids),
                Op::Refresh => w.refresh(),
                Op::Restart => w.restart(),
                Op::Outage => w.store.set_outage(true),
                Op::Heal => w.store.set_outage(false),
            }
        }
        w.check_recovered();
        // Faults over: the log takes every claim again, at its old index
        // for those already acknowledged.
        w.store.clear_faults();
        let again: Vec<u64> = (0..40).collect();
        w.batch(&again);
        w.check_recovered();
    }
}

/// The steps one commit writes, by kind, in order.
fn commit_steps(store: &MemoryStorage, from: u64) -> Vec<(u64, Step)> {
    store
        .step_log()
        .into_iter()
        .filter(|(n, _, _)| *n >= from)
        .map(|(n, k, _)| (n, k))
        .collect()
}

#[test]
fn every_write_of_a_commit_can_fail_before_or_after_persisting() {
    // A batch that completes full tiles at two levels' worth of edges.
    let first: Vec<u64> = (0..250).collect();
    let second: Vec<u64> = (250..300).collect();
    // Count the writes of the second commit on a clean store.
    let probe = {
        let mut w = World::new();
        w.batch(&first);
        let from = w.store.steps();
        w.batch(&second);
        commit_steps(&w.store, from)
    };
    let kinds: Vec<Step> = probe.iter().map(|(_, k)| *k).collect();
    assert!(kinds.contains(&Step::StageTile) && kinds.contains(&Step::SettleTile));
    assert!(kinds.contains(&Step::Indexes) && kinds.contains(&Step::Swap));
    for k in 0..probe.len() as u64 {
        for fault in [Fault::BeforePersist, Fault::AfterPersist] {
            let mut w = World::new();
            w.batch(&first);
            let from = w.store.steps();
            w.store.inject(from + k, fault);
            let claims = second.iter().map(|&i| claim(i)).collect();
            let now = w.tick();
            let results = w.seq().commit(claims, now);
            assert!(
                results.iter().all(Result::is_err),
                "{fault:?} at write {k} ({:?}): nothing is acknowledged",
                probe[k as usize].1
            );
            // The same sequencer goes on: another batch reuses the indexes
            // the failed one would have had (stale index hints must not
            // make these claims duplicates of something else).
            let other: Vec<u64> = (300..330).collect();
            w.batch(&other);
            // The failed claims are accepted now, exactly once.
            w.batch(&second);
            for &i in &second {
                assert!(w.acked.contains_key(&leaf_hash(&signed_claim(i))));
            }
            w.check_recovered();
        }
    }
}

#[test]
fn a_second_sequencer_cannot_publish_over_the_first() {
    let mut w = World::new();
    w.batch(&[1, 2, 3]);
    // Another sequencer on the same storage commits first.
    let now = w.tick();
    let mut other = open(&w.store, now).expect("second sequencer");
    let now = w.tick();
    assert!(other.commit(vec![claim(4)], now).iter().all(Result::is_ok));
    // The first one's expected checkpoint is stale: its swap must fail and
    // acknowledge nothing; it reloads and then goes on from the new tree.
    let now = w.tick();
    let r = w.seq().commit(vec![claim(5)], now);
    assert!(
        r.iter().all(Result::is_err),
        "a stale sequencer publishes nothing"
    );
    w.batch(&[5]);
    assert_eq!(w.acked[&leaf_hash(&signed_claim(5))].0, 4);
    w.check_recovered();
}

#[test]
fn an_outage_acknowledges_nothing_and_recovery_waits_for_storage() {
    let mut w = World::new();
    w.batch(&[1, 2, 3]);
    w.store.set_outage(true);
    let now = w.tick();
    assert!(
        w.seq()
            .commit(vec![claim(7)], now)
            .iter()
            .all(Result::is_err)
    );
    let now = w.tick();
    assert!(w.seq().refresh(now).is_err());
    w.store.set_outage(false);
    w.batch(&[7, 1]);
    assert_eq!(w.acked[&leaf_hash(&signed_claim(7))].0, 3);
    assert_eq!(w.acked[&leaf_hash(&signed_claim(1))].0, 0);
    w.check_recovered();
}

#[test]
fn duplicates_in_and_across_batches_get_the_original_index() {
    let mut w = World::new();
    let seq = w.seq();
    let r = seq.commit(vec![claim(1), claim(2), claim(1)], 1_800_000_000_100);
    let idx: Vec<(u64, bool)> = r
        .iter()
        .map(|r| {
            let s = r.as_ref().expect("ok");
            (s.receipt.index, s.duplicate)
        })
        .collect();
    assert_eq!(idx, vec![(0, false), (1, false), (0, true)]);
    // A batch of duplicates only commits nothing: same checkpoint.
    let before = w.store.checkpoint_history().len();
    let r = w.seq().commit(vec![claim(2)], 1_800_000_000_200);
    let s = r[0].as_ref().expect("ok");
    assert_eq!((s.receipt.index, s.duplicate), (1, true));
    assert_eq!(w.store.checkpoint_history().len(), before);
    w.check_recovered();
}

#[test]
fn a_corrupt_right_edge_is_refused_at_start() {
    let mut w = World::new();
    w.batch(&(0..300).collect::<Vec<_>>());
    w.seq = None;
    let mut bad = w
        .store
        .tile(provlog_core::tiles::TileLevel::Hash(0), 1)
        .expect("read")
        .expect("tile");
    bad[5] ^= 1;
    w.store
        .corrupt_tile(provlog_core::tiles::TileLevel::Hash(0), 1, bad);
    let now = w.tick();
    let err = open(&w.store, now).err().expect("refused");
    assert!(err.to_string().contains("refusing to serve"), "{err}");
}
