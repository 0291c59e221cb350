//! An in-memory Bloom filter over the dedup index's leaf hashes, so the
//! sequencer can skip the dedup look-up (a storage-engine read per claim)
//! for a claim that is certainly new.
//!
//! **The one rule: never a false "absent".** [`DedupFilter::may_hold`]
//! answers `false` only for a leaf the dedup index does not hold; the
//! sequencer then knows without reading that the claim is not logged
//! (exactly what a look-up that finds nothing tells it). Any doubt is
//! `true`, and the sequencer reads the index as it always did. So the
//! filter can cost a look-up, never a duplicate. That holds because:
//!
//! - the filter answers `true` for everything until it is *ready*: it is
//!   attached to the sequencer empty, and a scan of the whole index
//!   ([`IndexStorage::for_each_leaf`]) then fills it and marks it ready
//!   (release/acquire: whoever sees it ready sees every bit the scan set);
//! - the sequencer adds each leaf it is about to stage *before* staging it,
//!   from the moment the filter is attached, so a leaf staged after the
//!   scan's snapshot is in the filter as surely as one the scan saw (a batch
//!   that then fails leaves a bit set for nothing: a false "maybe" only);
//! - bits are only ever set, never cleared; once more leaves were added
//!   than it was sized for, it answers `true` for everything again (the
//!   false-positive rate would grow; it is never wrong either way);
//! - the dedup index is written by the sequencer alone while it runs (the
//!   S3 backend's local index catches up from the bucket before the
//!   sequencer opens, and `reindex` runs with the server stopped).
//!
//! Leaf hashes are SHA-256 outputs, so their bytes serve as the filter's
//! hash functions (double hashing of two 64-bit words). A vendor that grinds
//! claims to collide in the filter only makes its own claims cost the
//! look-up they cost without a filter.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use provlog_core::hash::Hash;

use crate::storage::{IndexStorage, StorageError};

/// Bits per leaf the filter is sized for (with [`PROBES`] probes: about
/// 1% false positives when full).
pub const BITS_PER_LEAF: usize = 10;
/// Probes per leaf.
pub const PROBES: u64 = 7;
/// The fewest leaves a filter is sized for.
pub const MIN_CAPACITY: usize = 1 << 22;
/// The most memory a filter takes (a larger log looks every claim up).
pub const MAX_FILTER_BYTES: usize = 256 << 20;

/// The filter. Share it in an `Arc`; see the module docs for the rule.
pub struct DedupFilter {
    words: Vec<AtomicU64>,
    /// Number of bits, a power of two.
    mask: u64,
    capacity: usize,
    added: AtomicUsize,
    ready: AtomicBool,
    /// Look-ups the filter spared (metrics and tests).
    skipped: AtomicU64,
}

impl DedupFilter {
    /// A filter for a log expected to hold up to about `leaves` leaves (it
    /// is sized for twice that, at least [`MIN_CAPACITY`]); `None` if that
    /// needs more than [`MAX_FILTER_BYTES`].
    pub fn for_leaves(leaves: u64) -> Option<DedupFilter> {
        let capacity = usize::try_from(leaves)
            .ok()?
            .checked_mul(2)?
            .max(MIN_CAPACITY);
        let bits = capacity
            .checked_mul(BITS_PER_LEAF)?
            .checked_next_power_of_two()?;
        if bits / 8 > MAX_FILTER_BYTES {
            return None;
        }
        Some(DedupFilter {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            mask: bits as u64 - 1,
            capacity,
            added: AtomicUsize::new(0),
            ready: AtomicBool::new(false),
            skipped: AtomicU64::new(0),
        })
    }

    fn probes(&self, leaf: &Hash) -> impl Iterator<Item = u64> + '_ {
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&leaf[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let (h1, h2) = (word(0), word(8) | 1);
        (0..PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) & self.mask)
    }

    /// Adds `leaf`. Call it before the leaf can be in the index.
    pub fn add(&self, leaf: &Hash) {
        for bit in self.probes(leaf) {
            if let Some(w) = self.words.get((bit / 64) as usize) {
                w.fetch_or(1 << (bit % 64), Ordering::Relaxed);
            }
        }
        self.added.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the dedup index may hold `leaf`: `false` only if it
    /// certainly does not (the filter is ready, within its capacity, and a
    /// probe bit is clear).
    pub fn may_hold(&self, leaf: &Hash) -> bool {
        if !self.ready.load(Ordering::Acquire) || self.added.load(Ordering::Relaxed) > self.capacity
        {
            return true;
        }
        let held = self.probes(leaf).all(|bit| {
            self.words
                .get((bit / 64) as usize)
                .is_none_or(|w| w.load(Ordering::Relaxed) & (1 << (bit % 64)) != 0)
        });
        if !held {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        held
    }

    /// Adds every leaf of `index` and marks the filter ready. Run it after
    /// the filter is attached to the sequencer (which adds what it stages
    /// from then on), typically on its own thread; O(leaves). Returns how
    /// many leaves it read, or `None` if the backend cannot list its leaves
    /// (the filter then stays not ready: every claim is looked up).
    pub fn fill(&self, index: &dyn IndexStorage) -> Result<Option<u64>, StorageError> {
        let mut n = 0u64;
        if !index.for_each_leaf(&mut |leaf| {
            self.add(leaf);
            n += 1;
        })? {
            return Ok(None);
        }
        self.ready.store(true, Ordering::Release);
        Ok(Some(n))
    }

    /// Whether the filter answers (it has been filled).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Look-ups spared so far.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Bytes of memory the bits take.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use provlog_core::hash::sha256;

    fn leaf(i: u64) -> Hash {
        sha256(&i.to_be_bytes())
    }

    #[test]
    fn never_absent_for_an_added_leaf_and_mostly_absent_otherwise() {
        let f = DedupFilter::for_leaves(0).unwrap();
        assert_eq!(
            f.bytes(),
            (MIN_CAPACITY * BITS_PER_LEAF).next_power_of_two() / 8
        );
        f.add(&leaf(1));
        assert!(f.may_hold(&leaf(2)), "not ready: always maybe");
        f.ready.store(true, Ordering::Release);
        for i in 0..100_000 {
            f.add(&leaf(i));
        }
        assert!((0..100_000).all(|i| f.may_hold(&leaf(i))));
        let false_maybes = (100_000..200_000).filter(|&i| f.may_hold(&leaf(i))).count();
        assert!(
            false_maybes < 100,
            "{false_maybes} false positives in 100,000"
        );
        assert!(f.skipped() > 99_000);
    }

    #[test]
    fn over_capacity_every_answer_is_maybe() {
        let f = DedupFilter::for_leaves(0).unwrap();
        f.ready.store(true, Ordering::Release);
        assert!(!f.may_hold(&leaf(7)));
        f.added.store(f.capacity + 1, Ordering::Relaxed);
        assert!(f.may_hold(&leaf(7)));
    }

    #[test]
    fn too_large_a_log_gets_no_filter() {
        assert!(DedupFilter::for_leaves(u64::MAX).is_none());
        assert!(DedupFilter::for_leaves((MAX_FILTER_BYTES * 8 / BITS_PER_LEAF) as u64).is_none());
        assert!(DedupFilter::for_leaves(1_000_000).is_some());
    }
}
