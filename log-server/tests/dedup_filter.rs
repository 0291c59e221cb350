//! The sequencer with a dedup filter: a duplicate always gets its original
//! index (before the filter is filled, after, and for leaves staged while
//! it was attached but not yet filled), and certainly new claims skip the
//! look-up once it is filled.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use provlog_server::dedup_filter::DedupFilter;
use provlog_server::memory::MemoryStorage;

/// Commits claims `ids` at `now`; returns (index, duplicate) per claim.
fn commit(
    seq: &mut provlog_server::sequencer::Sequencer,
    ids: &[u64],
    now: u64,
) -> Vec<(u64, bool)> {
    seq.commit(ids.iter().map(|&i| common::claim(i)).collect(), now)
        .into_iter()
        .map(|r| {
            let s = r.unwrap();
            (s.receipt.index, s.duplicate)
        })
        .collect()
}

#[test]
fn duplicates_keep_their_index_with_the_filter() {
    let store = Arc::new(MemoryStorage::new());
    let first: Vec<u64> = (0..100).collect();
    {
        let mut seq = common::open(&store, 1_000).unwrap();
        let got = commit(&mut seq, &first, 2_000);
        assert_eq!(got, (0..100).map(|i| (i, false)).collect::<Vec<_>>());
    }
    // Restarted with a filter, not yet filled: every claim is looked up.
    let mut seq = common::open(&store, 3_000).unwrap();
    let filter = Arc::new(DedupFilter::for_leaves(100).unwrap());
    seq.set_dedup_filter(filter.clone());
    let mut ids: Vec<u64> = (100..150).collect();
    ids.push(5);
    ids.push(120); // and again in the same batch
    let got = commit(&mut seq, &ids, 4_000);
    assert_eq!(
        &got[..50],
        &(100..150).map(|i| (i, false)).collect::<Vec<_>>()[..]
    );
    assert_eq!(got[50], (5, true));
    assert_eq!(got[51], (120, true));
    assert_eq!(filter.skipped(), 0, "not filled: nothing skipped");
    // Filled from the index: the 100 claims before the restart and the 50
    // staged since (which the sequencer also added itself).
    assert_eq!(filter.fill(&*store).unwrap(), Some(150));
    assert!(filter.ready());
    // Every logged claim is still a duplicate at its index; new ones are
    // appended, and their look-ups (almost all) skipped.
    let dups: Vec<u64> = (0..150).step_by(7).collect();
    let new: Vec<u64> = (150..250).collect();
    let mut ids = dups.clone();
    ids.extend(&new);
    let got = commit(&mut seq, &ids, 5_000);
    for (k, &i) in dups.iter().enumerate() {
        assert_eq!(got[k], (i, true), "claim {i} keeps its index");
    }
    for (k, &i) in new.iter().enumerate() {
        assert_eq!(
            got[dups.len() + k],
            (150 + k as u64, false),
            "claim {i} is new"
        );
    }
    assert!(filter.skipped() >= 95, "skipped {}", filter.skipped());
    // Those just logged are found again through the filter.
    let again: Vec<u64> = (150..250).step_by(3).collect();
    let got = commit(&mut seq, &again, 6_000);
    for (k, &i) in again.iter().enumerate() {
        assert_eq!(got[k], (i, true), "claim {i} keeps its index");
    }
}
