//! Fixtures shared by the merkle integration tests: a cached 5,000-leaf
//! in-memory tree, and a "sparse" tree of any size up to 2^62 whose node
//! hashes are all genuinely derived from its leaves.
#![allow(dead_code, clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use provlog_core::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use provlog_core::tree::{MemoryTree, NodeId, NodeReader, TreeError, tree_root};

/// Number of leaves in the cached tree.
pub const BIG: u64 = 5000;

/// The entry at index `i` of every test tree.
pub fn entry(i: u64) -> Vec<u8> {
    format!("provlog test entry {i}").into_bytes()
}

/// A tree of [`BIG`] leaves, built once per test binary.
pub fn big_tree() -> &'static MemoryTree {
    static T: OnceLock<MemoryTree> = OnceLock::new();
    T.get_or_init(|| MemoryTree::from_entries((0..BIG).map(entry)))
}

/// Roots of every prefix of [`big_tree`], computed by recursion straight
/// from the RFC 6962 definition (MTH) over the leaf hashes, so they are
/// independent of the node-based code under test.
pub fn big_roots() -> &'static [Hash] {
    static R: OnceLock<Vec<Hash>> = OnceLock::new();
    R.get_or_init(|| {
        let leaves: Vec<Hash> = (0..BIG).map(|i| leaf_hash(&entry(i))).collect();
        let mut memo = HashMap::new();
        (0..=BIG as usize)
            .map(|n| mth(&leaves, 0, n, &mut memo))
            .collect()
    })
}

/// RFC 6962 §2.1 MTH(D[lo:hi]), written as literally as possible; `memo`
/// only caches power-of-two ranges so all 5,001 prefixes stay cheap.
pub fn mth(
    leaves: &[Hash],
    lo: usize,
    hi: usize,
    memo: &mut HashMap<(usize, usize), Hash>,
) -> Hash {
    let n = hi - lo;
    match n {
        0 => EMPTY_ROOT,
        1 => leaves[lo],
        _ => {
            if let Some(h) = memo.get(&(lo, hi)) {
                return *h;
            }
            // k = the largest power of two strictly smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let h = node_hash(
                &mth(leaves, lo, lo + k, memo),
                &mth(leaves, lo + k, hi, memo),
            );
            if n.is_power_of_two() {
                memo.insert((lo, hi), h);
            }
            h
        }
    }
}

/// A consistent tree of up to 2^62 leaves held in O(|special| · 64) memory:
/// the leaves at `special` indexes are `leaf_hash(entry(i))`, every other
/// leaf is the same filler hash, and every node is the real RFC 6962 hash of
/// its children (subtrees without special leaves share one hash per level).
pub struct SparseTree {
    special: BTreeSet<u64>,
    uniform: Vec<Hash>,
    memo: RefCell<HashMap<NodeId, Hash>>,
}

impl SparseTree {
    /// A sparse tree whose `special` leaves are distinct.
    pub fn new(special: impl IntoIterator<Item = u64>) -> Self {
        let mut uniform = vec![leaf_hash(b"filler")];
        for l in 0..64 {
            let u = uniform[l];
            uniform.push(node_hash(&u, &u));
        }
        SparseTree {
            special: special.into_iter().collect(),
            uniform,
            memo: RefCell::new(HashMap::new()),
        }
    }

    /// Leaf hash at `i`.
    pub fn leaf(&self, i: u64) -> Hash {
        self.node(NodeId::new(0, i))
    }

    /// Hash of a complete node (any node whose range fits in u64).
    pub fn node(&self, id: NodeId) -> Hash {
        let lo = u128::from(id.index) << id.level;
        let hi = (u128::from(id.index) + 1) << id.level;
        let lo64 = u64::try_from(lo).unwrap();
        let has_special = match u64::try_from(hi) {
            Ok(hi) => self.special.range(lo64..hi).next().is_some(),
            Err(_) => self.special.range(lo64..).next().is_some(),
        };
        if !has_special {
            return self.uniform[usize::from(id.level)];
        }
        if id.level == 0 {
            return leaf_hash(&entry(id.index));
        }
        if let Some(h) = self.memo.borrow().get(&id) {
            return *h;
        }
        let l = self.node(NodeId::new(id.level - 1, id.index * 2));
        let r = self.node(NodeId::new(id.level - 1, id.index * 2 + 1));
        let h = node_hash(&l, &r);
        self.memo.borrow_mut().insert(id, h);
        h
    }

    /// Root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Hash {
        tree_root(self, size).unwrap()
    }
}

impl NodeReader for SparseTree {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        Ok(ids.iter().map(|id| self.node(*id)).collect())
    }
}
