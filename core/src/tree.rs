//! RFC 6962 tree hashes and proof *generation* from stored complete-subtree
//! nodes, plus the compact range used to append leaves in O(log n) state.
//!
//! A log stores only the hashes of *complete* subtrees (see [`NodeId`]): a
//! subtree at `level` whose `2^level` leaves are all present. Once such a node
//! exists its hash never changes, which is what makes full tiles immutable.
//! Every other hash a root or proof needs (the "ragged" right edge of a tree
//! whose size is not a power of two) is recomputed here from complete nodes:
//! the RFC 6962 hash of a range `[k·2^m, min((k+1)·2^m, n))` is the
//! right-to-left fold of the complete subtrees that partition it, largest
//! first (spec/tree.md §3).
//!
//! The `*_nodes` functions list exactly which complete nodes a root or proof
//! needs, so a caller can batch its reads (one tile fetch per tile).

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Errors from computing tree hashes and proofs.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// An inclusion proof was asked for a leaf that is not in the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// Old tree size.
        old: u64,
        /// New tree size.
        new: u64,
    },
    /// A node was asked that is not a complete subtree of the tree the reader serves.
    #[error(
        "node at level {level}, index {index} is not a complete subtree of a tree of size {size}"
    )]
    NodeBeyondSize {
        /// Node level.
        level: u8,
        /// Node index within its level.
        index: u64,
        /// Tree size the reader serves.
        size: u64,
    },
    /// A node id whose leaf range does not fit in 64 bits.
    #[error("node at level {level}, index {index} has a leaf range that overflows 64 bits")]
    NodeOutOfBounds {
        /// Node level.
        level: u8,
        /// Node index within its level.
        index: u64,
    },
    /// The reader does not hold a node it should.
    #[error("node at level {level}, index {index} is missing from storage")]
    MissingNode {
        /// Node level.
        level: u8,
        /// Node index within its level.
        index: u64,
    },
    /// A [`NodeReader`] returned a different number of hashes than asked.
    #[error("node reader returned {got} hashes for {asked} requested nodes")]
    ReaderLength {
        /// Number of nodes requested.
        asked: usize,
        /// Number of hashes returned.
        got: usize,
    },
    /// Compact range state whose peak count does not match its size.
    #[error("a tree of size {size} has {expected} peaks, but {got} were given")]
    PeakCount {
        /// Tree size.
        size: u64,
        /// popcount(size).
        expected: usize,
        /// Number of peaks supplied.
        got: usize,
    },
    /// The tree already holds 2^64 - 1 leaves and cannot grow.
    #[error("tree of size {size} cannot grow any further")]
    TreeFull {
        /// Current tree size.
        size: u64,
    },
    /// The [`NodeReader`] failed (storage, network, a malformed tile). The
    /// reader's own error is the source; the Merkle math does not look
    /// inside it.
    #[error("reading nodes: {0}")]
    Read(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl TreeError {
    /// A reader failure from any error type.
    pub fn read(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        TreeError::Read(Box::new(e))
    }

    /// A reader failure described by a message.
    pub fn read_msg(message: impl Into<String>) -> Self {
        TreeError::Read(message.into().into())
    }
}

/// A node = hash of the complete subtree at `level` covering leaves
/// `[index << level, (index + 1) << level)`. Level 0 nodes are leaf hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height of the subtree above the leaves (0 = a leaf).
    pub level: u8,
    /// Position of the subtree among the subtrees of this level, left to right.
    pub index: u64,
}

impl NodeId {
    /// Creates a node id.
    pub fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// The half-open leaf range `[start, end)` this node covers, or `None`
    /// when that range does not fit in 64 bits (such a node cannot exist).
    pub fn leaf_range(&self) -> Option<(u64, u64)> {
        if self.level >= 64 {
            return None;
        }
        let start = self.index.checked_mul(1u64 << self.level)?;
        let end = self.index.checked_add(1)?.checked_mul(1u64 << self.level)?;
        Some((start, end))
    }

    /// True when all leaves of this node are present in a tree of `size` leaves,
    /// i.e. the node is a complete subtree of that tree.
    pub fn is_complete_in(&self, size: u64) -> bool {
        matches!(self.leaf_range(), Some((_, end)) if end <= size)
    }
}

/// Reads the hashes of complete-subtree nodes from some storage.
pub trait NodeReader {
    /// Hashes of complete-subtree nodes, in the same order as `ids`.
    /// Implementations must return exactly `ids.len()` hashes or an error.
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError>;
}

impl<T: NodeReader + ?Sized> NodeReader for &T {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        (**self).read_nodes(ids)
    }
}

/// The complete subtrees that partition the leaf range `[lo, hi)`, largest
/// (leftmost) first. `lo` must be a multiple of the largest power of two not
/// above `hi - lo`, which holds for every range RFC 6962 hashes.
fn range_nodes(mut lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    while lo < hi {
        let remaining = hi - lo;
        // The biggest complete subtree starting at `lo` that fits: limited both by
        // the alignment of `lo` and by the number of leaves left.
        let fit = 63 - remaining.leading_zeros();
        let align = if lo == 0 { 63 } else { lo.trailing_zeros() };
        let level = fit.min(align);
        out.push(NodeId {
            // `level` <= 63, so the cast and shifts are in range.
            level: level as u8,
            index: lo >> level,
        });
        lo += 1u64 << level;
    }
}

/// Folds the complete subtrees of a range right to left into its RFC 6962 hash.
fn fold_range(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// Largest power of two strictly less than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A proof or root as a list of leaf ranges, each hashed by folding its
/// complete subtrees. Ranges come in output order.
struct Plan {
    ranges: Vec<(u64, u64)>,
}

impl Plan {
    /// The complete nodes each range needs, and for each range how many of the
    /// flattened nodes belong to it.
    fn nodes(&self) -> (Vec<NodeId>, Vec<usize>) {
        let mut ids = Vec::new();
        let mut counts = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            let before = ids.len();
            range_nodes(lo, hi, &mut ids);
            counts.push(ids.len() - before);
        }
        (ids, counts)
    }

    fn execute(&self, r: &impl NodeReader) -> Result<Vec<Hash>, TreeError> {
        let (ids, counts) = self.nodes();
        let hashes = read_checked(r, &ids)?;
        let mut out = Vec::with_capacity(counts.len());
        let mut rest = hashes.as_slice();
        for n in counts {
            let (mine, tail) = rest.split_at(n);
            rest = tail;
            // Every range in a plan is non-empty, so it has at least one node.
            out.push(fold_range(mine).ok_or(TreeError::ReaderLength {
                asked: ids.len(),
                got: hashes.len(),
            })?);
        }
        Ok(out)
    }
}

fn read_checked(r: &impl NodeReader, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = r.read_nodes(ids)?;
    if hashes.len() != ids.len() {
        return Err(TreeError::ReaderLength {
            asked: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

fn inclusion_plan(index: u64, size: u64) -> Result<Plan, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), unrolled from the root down; the
    // recursion emits the deepest sibling first, hence the reversal.
    let (mut lo, mut hi) = (0u64, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    Ok(Plan { ranges })
}

fn consistency_plan(old: u64, new: u64) -> Result<Plan, TreeError> {
    if old > new {
        return Err(TreeError::OldLargerThanNew { old, new });
    }
    let mut ranges = Vec::new();
    if old == 0 || old == new {
        return Ok(Plan { ranges });
    }
    // RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b), unrolled; `whole` is b: true
    // while the old tree's root is still the left edge of the current range.
    let (mut lo, mut hi) = (0u64, new);
    let mut whole = true;
    loop {
        if old == hi {
            if !whole {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if old <= lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            whole = false;
        }
    }
    ranges.reverse();
    Ok(Plan { ranges })
}

/// The complete nodes [`tree_root`] reads for a tree of `size` leaves (its
/// peaks, largest first). Empty for size 0.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    range_nodes(0, size, &mut out);
    out
}

/// The complete nodes [`inclusion_proof`] reads.
pub fn inclusion_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, TreeError> {
    Ok(inclusion_plan(index, size)?.nodes().0)
}

/// The complete nodes [`consistency_proof`] reads.
pub fn consistency_nodes(old: u64, new: u64) -> Result<Vec<NodeId>, TreeError> {
    Ok(consistency_plan(old, new)?.nodes().0)
}

/// The RFC 6962 root hash of the first `size` leaves.
pub fn tree_root(r: &impl NodeReader, size: u64) -> Result<Hash, TreeError> {
    let ids = root_nodes(size);
    let hashes = read_checked(r, &ids)?;
    Ok(fold_range(&hashes).unwrap_or(EMPTY_ROOT))
}

/// The RFC 9162 inclusion proof (audit path, leaf to root) for leaf `index`
/// in the tree of `size` leaves.
pub fn inclusion_proof(r: &impl NodeReader, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
    inclusion_plan(index, size)?.execute(r)
}

/// The RFC 9162 consistency proof from the tree of `old` leaves to the tree
/// of `new` leaves. Empty when `old` is 0 or equal to `new`.
pub fn consistency_proof(r: &impl NodeReader, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
    consistency_plan(old, new)?.execute(r)
}

/// O(log n) append state: the peaks (maximal complete subtrees) of a tree of
/// `size` leaves, largest first. Peak `j` corresponds to the `j`-th set bit of
/// `size` counting from the most significant one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The state of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores the state from a size and its peaks (largest first); the
    /// number of peaks must equal the number of set bits in `size`.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Self, TreeError> {
        let expected = size.count_ones() as usize;
        if peaks.len() != expected {
            return Err(TreeError::PeakCount {
                size,
                expected,
                got: peaks.len(),
            });
        }
        Ok(CompactRange { size, peaks })
    }

    /// Restores the state of the tree of `size` leaves by reading its peaks.
    pub fn from_reader(r: &impl NodeReader, size: u64) -> Result<Self, TreeError> {
        let peaks = read_checked(r, &root_nodes(size))?;
        Self::from_parts(size, peaks)
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// The node ids of the peaks, in the same order as [`CompactRange::peaks`].
    pub fn peak_ids(&self) -> Vec<NodeId> {
        root_nodes(self.size)
    }

    /// Appends a leaf hash. Calls `sink(NodeId, Hash)` for every complete
    /// node that becomes known — the leaf itself at level 0, then each parent
    /// it completes — so a server can store them into tiles.
    ///
    /// Fails only when the tree already has 2^64 - 1 leaves.
    pub fn append(
        &mut self,
        leaf: Hash,
        mut sink: impl FnMut(NodeId, Hash),
    ) -> Result<(), TreeError> {
        let new_size = self
            .size
            .checked_add(1)
            .ok_or(TreeError::TreeFull { size: self.size })?;
        let mut index = self.size;
        let mut level: u8 = 0;
        let mut h = leaf;
        sink(NodeId { level, index }, h);
        // Each trailing one bit of the old size is a peak of that height that
        // the new leaf's subtree now completes a parent with.
        while index & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // Unreachable while the peaks/size invariant holds (enforced by
                // from_parts); refuse rather than corrupt the state.
                return Err(TreeError::PeakCount {
                    size: self.size,
                    expected: self.size.count_ones() as usize,
                    got: self.peaks.len(),
                });
            };
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
            sink(NodeId { level, index }, h);
        }
        self.peaks.push(h);
        self.size = new_size;
        Ok(())
    }

    /// The RFC 6962 root of the tree (SHA-256("") when empty).
    pub fn root(&self) -> Hash {
        fold_range(&self.peaks).unwrap_or(EMPTY_ROOT)
    }
}

/// In-memory [`NodeReader`] holding every complete node, level by level.
/// For tests, tools and small trees: it costs about 64 bytes per leaf.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a tree from entries (each hashed as an RFC 6962 leaf).
    pub fn from_entries<E: AsRef<[u8]>>(entries: impl IntoIterator<Item = E>) -> Self {
        let mut t = Self::new();
        for e in entries {
            t.push_entry(e.as_ref());
        }
        t
    }

    /// Appends an entry (hashed as an RFC 6962 leaf); returns its index.
    pub fn push_entry(&mut self, entry: &[u8]) -> u64 {
        self.push_leaf_hash(crate::hash::leaf_hash(entry))
    }

    /// Appends an already computed leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut h = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                break;
            };
            row.push(h);
            // A row of even length just completed a pair: its parent is new.
            if row.len() % 2 != 0 {
                break;
            }
            match row.get(row.len() - 2..) {
                Some([l, r]) => h = node_hash(l, r),
                _ => break,
            }
            level += 1;
        }
        index
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The hash of a complete node, if present.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let row = self.levels.get(usize::from(id.level))?;
        row.get(usize::try_from(id.index).ok()?).copied()
    }

    /// Every stored node, level by level (level 0 first), left to right.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        self.levels.iter().enumerate().flat_map(|(level, row)| {
            row.iter().enumerate().map(move |(index, h)| {
                (
                    NodeId {
                        // At most 64 levels exist for a u64 leaf count.
                        level: level as u8,
                        index: index as u64,
                    },
                    *h,
                )
            })
        })
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        // Reading our own nodes for our own size cannot fail.
        tree_root(self, self.size()).unwrap_or(EMPTY_ROOT)
    }

    /// A reader restricted to the first `size` leaves: it refuses nodes that
    /// are not complete in a tree of that size, so tests can check that proofs
    /// for a size never look past it.
    pub fn at_size(&self, size: u64) -> Result<MemoryTreeView<'_>, TreeError> {
        if size > self.size() {
            return Err(TreeError::IndexOutOfRange {
                index: size,
                size: self.size(),
            });
        }
        Ok(MemoryTreeView { tree: self, size })
    }
}

impl NodeReader for MemoryTree {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        ids.iter()
            .map(|&id| {
                self.node(id).ok_or(TreeError::MissingNode {
                    level: id.level,
                    index: id.index,
                })
            })
            .collect()
    }
}

/// A [`MemoryTree`] seen at an earlier size; see [`MemoryTree::at_size`].
#[derive(Clone, Copy, Debug)]
pub struct MemoryTreeView<'a> {
    tree: &'a MemoryTree,
    size: u64,
}

impl NodeReader for MemoryTreeView<'_> {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        if let Some(id) = ids.iter().find(|id| !id.is_complete_in(self.size)) {
            return Err(TreeError::NodeBeyondSize {
                level: id.level,
                index: id.index,
                size: self.size,
            });
        }
        self.tree.read_nodes(ids)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn range_nodes_partition_ranges() {
        assert_eq!(
            root_nodes(13),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        assert!(root_nodes(0).is_empty());
        let mut v = Vec::new();
        range_nodes(8, 11, &mut v);
        assert_eq!(v, vec![NodeId::new(1, 4), NodeId::new(0, 10)]);
        // The largest possible tree: 64 peaks, first at level 63.
        let all = root_nodes(u64::MAX);
        assert_eq!(all.len(), 64);
        assert_eq!(all[0], NodeId::new(63, 0));
        assert_eq!(all[63], NodeId::new(0, u64::MAX - 1));
    }

    #[test]
    fn compact_range_matches_memory_tree() {
        let mut t = MemoryTree::new();
        let mut cr = CompactRange::new();
        assert_eq!(cr.root(), EMPTY_ROOT);
        for i in 0u32..100 {
            let leaf = leaf_hash(&i.to_be_bytes());
            t.push_leaf_hash(leaf);
            let mut seen = Vec::new();
            cr.append(leaf, |id, h| seen.push((id, h))).unwrap();
            for (id, h) in seen {
                assert_eq!(t.node(id), Some(h));
            }
            assert_eq!(cr.root(), t.root());
            assert_eq!(cr.peaks().len(), (i + 1).count_ones() as usize);
        }
    }

    #[test]
    fn from_parts_checks_peak_count() {
        assert!(CompactRange::from_parts(5, vec![[0; 32]; 2]).is_ok());
        assert!(matches!(
            CompactRange::from_parts(5, vec![[0; 32]; 1]),
            Err(TreeError::PeakCount {
                size: 5,
                expected: 2,
                got: 1
            })
        ));
        let mut full = CompactRange::from_parts(u64::MAX, vec![[0; 32]; 64]).unwrap();
        assert!(matches!(
            full.append([1; 32], |_, _| {}),
            Err(TreeError::TreeFull { .. })
        ));
        assert_eq!(full.size(), u64::MAX);
    }

    #[test]
    fn view_refuses_nodes_past_its_size() {
        let t = MemoryTree::from_entries((0u8..10).map(|i| [i]));
        let v = t.at_size(6).unwrap();
        assert!(v.read_nodes(&[NodeId::new(1, 2)]).is_ok());
        assert!(matches!(
            v.read_nodes(&[NodeId::new(1, 3)]),
            Err(TreeError::NodeBeyondSize { .. })
        ));
        assert!(t.at_size(11).is_err());
    }
}
