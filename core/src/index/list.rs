//! The per-key list commitment (spec/lookup.md §3.2).
//!
//! A key's entry indexes, in increasing order, are the leaves of an
//! RFC 6962-shaped Merkle tree: leaf `i` is `list_leaf_hash(index_i)`
//! (prefix 0x12), interior nodes are RFC 6962 nodes. The prefix-tree leaf
//! commits to `(count, list root)`. A tree rather than a flat hash because
//! it costs nothing for short lists (the verifier rebuilds it from the
//! indexes, <= 3 node hashes for 4 entries) and, for long ones (a vendor's
//! key), lets a proof carry only a *tail* of the list: the peaks of the
//! first `from` elements (popcount(from) hashes) plus the elements after.
//!
//! [`ListState`] is the incremental state a writer keeps per key: the count
//! and the peaks (RFC 6962 compact range), popcount(count) hashes; append is
//! amortised O(1) hashes.

use crate::hash::{Hash, node_hash};

use super::hashing::list_leaf_hash;

/// Peaks of a list tree: popcount(count) hashes, largest subtree first.
/// One peak (a count that is a power of two, e.g. every single-entry key)
/// is stored inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peaks {
    /// Exactly one peak.
    One(Hash),
    /// Zero or several peaks.
    Many(Box<[Hash]>),
}

impl Peaks {
    /// The peaks as a slice.
    pub fn as_slice(&self) -> &[Hash] {
        match self {
            Peaks::One(h) => std::slice::from_ref(h),
            Peaks::Many(v) => v,
        }
    }

    fn from_vec(v: Vec<Hash>) -> Self {
        match v.as_slice() {
            [h] => Peaks::One(*h),
            _ => Peaks::Many(v.into_boxed_slice()),
        }
    }
}

/// A key's list: number of indexes and the peaks of their tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListState {
    /// Number of indexes in the list.
    pub count: u64,
    /// Peaks of the list tree, popcount(count) of them.
    pub peaks: Peaks,
}

/// Why a list (tail) does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// `peaks` does not have popcount(from) hashes.
    #[error("a list tail from position {from} needs {need} peak hashes, got {got}")]
    PeakCount {
        /// Start position.
        from: u64,
        /// Required.
        need: u32,
        /// Given.
        got: usize,
    },
    /// Indexes not strictly increasing.
    #[error("list indexes are not strictly increasing")]
    NotIncreasing,
    /// The list (tail) has no index: a key always has at least one, and a
    /// tail from position `from` has at least the element at `from`.
    #[error("an index list or list tail is never empty")]
    Empty,
    /// Count overflows.
    #[error("list count overflows")]
    Overflow,
}

/// Appends one leaf hash to peaks of a tree of `count` leaves (RFC 6962
/// compact range, spec/tree.md §6).
fn push_leaf(peaks: &mut Vec<Hash>, count: u64, leaf: Hash) {
    let mut h = leaf;
    let mut n = count;
    while n & 1 == 1 {
        // popcount(count) == peaks.len(), so a set bit always has a peak.
        let Some(p) = peaks.pop() else { break };
        h = node_hash(&p, &h);
        n >>= 1;
    }
    peaks.push(h);
}

/// The root of a tree given its peaks (right-to-left fold).
fn fold(peaks: &[Hash]) -> Hash {
    let mut it = peaks.iter().rev();
    let Some(last) = it.next() else {
        return crate::hash::EMPTY_ROOT;
    };
    it.fold(*last, |acc, p| node_hash(p, &acc))
}

impl ListState {
    /// The list of `indexes` (non-empty, strictly increasing; not checked).
    pub fn new(indexes: &[u64]) -> Self {
        let mut peaks = Vec::with_capacity(4);
        for (n, &i) in indexes.iter().enumerate() {
            push_leaf(&mut peaks, n as u64, list_leaf_hash(i));
        }
        ListState {
            count: indexes.len() as u64,
            peaks: Peaks::from_vec(peaks),
        }
    }

    /// Appends `indexes` (each larger than every index already in the list;
    /// not checked). Cost: one list leaf hash per index plus amortised one
    /// node hash.
    pub fn append(&mut self, indexes: &[u64]) {
        if let ([i], Peaks::One(p)) = (indexes, &self.peaks)
            && self.count == 1
        {
            // The common 1 -> 2 case without allocating.
            self.peaks = Peaks::One(node_hash(p, &list_leaf_hash(*i)));
            self.count = 2;
            return;
        }
        let mut peaks = self.peaks.as_slice().to_vec();
        for &i in indexes {
            push_leaf(&mut peaks, self.count, list_leaf_hash(i));
            self.count += 1;
        }
        self.peaks = Peaks::from_vec(peaks);
    }

    /// The list root (RFC 6962 root of the list tree). Cost: popcount(count)-1 node hashes.
    pub fn root(&self) -> Hash {
        match &self.peaks {
            Peaks::One(h) => *h,
            Peaks::Many(v) => fold(v),
        }
    }
}

/// Verifies a list tail: the peaks of the first `from` elements and the
/// elements from position `from` on. Returns `(count, root)`. With
/// `from = 0` and no peaks this is the whole list. A tail has at least one
/// element (spec/lookup.md §3.2, `0 <= from < count`; §6.2 step 5): a
/// tail of no elements is refused even when `from > 0`.
pub fn tail_root(from: u64, peaks: &[Hash], indexes: &[u64]) -> Result<(u64, Hash), ListError> {
    let need = from.count_ones();
    if peaks.len() != need as usize {
        return Err(ListError::PeakCount {
            from,
            need,
            got: peaks.len(),
        });
    }
    if indexes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ListError::NotIncreasing);
    }
    if indexes.is_empty() {
        return Err(ListError::Empty);
    }
    let count = from
        .checked_add(indexes.len() as u64)
        .ok_or(ListError::Overflow)?;
    let mut p = peaks.to_vec();
    for (n, &i) in (from..).zip(indexes) {
        push_leaf(&mut p, n, list_leaf_hash(i));
    }
    Ok((count, fold(&p)))
}

/// The peaks of the first `from` elements of `indexes` (to build a tail proof).
pub fn prefix_peaks(indexes: &[u64], from: usize) -> Vec<Hash> {
    let mut peaks = Vec::new();
    for (n, &i) in indexes.iter().take(from).enumerate() {
        push_leaf(&mut peaks, n as u64, list_leaf_hash(i));
    }
    peaks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tree::MemoryTree;

    #[test]
    fn list_root_is_rfc6962_over_list_leaves() {
        for n in 1..40u64 {
            let idx: Vec<u64> = (0..n).map(|i| i * 3 + 1).collect();
            let mut t = MemoryTree::new();
            for &i in &idx {
                t.push_leaf_hash(list_leaf_hash(i));
            }
            let whole = ListState::new(&idx);
            assert_eq!(whole.root(), t.root());
            assert_eq!(whole.peaks.as_slice().len(), n.count_ones() as usize);
            // Incremental appends in any split give the same state.
            for split in 1..n as usize {
                let mut s = ListState::new(&idx[..split]);
                s.append(&idx[split..]);
                assert_eq!(s, whole);
                let (c, r) =
                    tail_root(split as u64, &prefix_peaks(&idx, split), &idx[split..]).unwrap();
                assert_eq!((c, r), (n, t.root()));
            }
            assert_eq!(tail_root(0, &[], &idx).unwrap(), (n, t.root()));
        }
        assert_eq!(tail_root(0, &[], &[]), Err(ListError::Empty));
        // An empty tail after a valid prefix is refused too (it would make
        // `from == count`, outside §3.2's `from < count`).
        let idx = [1u64, 5, 9];
        for from in 1..=3usize {
            assert_eq!(
                tail_root(from as u64, &prefix_peaks(&idx, from), &[]),
                Err(ListError::Empty)
            );
        }
        assert_eq!(tail_root(0, &[], &[2, 2]), Err(ListError::NotIncreasing));
        assert!(matches!(
            tail_root(3, &[[0; 32]], &[9]),
            Err(ListError::PeakCount { .. })
        ));
    }
}
