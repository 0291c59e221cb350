//! The prefix-tree root, and the proof paths of chosen keys, from a
//! *sorted* list of leaves in one pass with O(depth) working memory
//! (spec/lookup.md §8.3).
//!
//! In a sorted key list every prefix-tree subtree is a contiguous range,
//! so the tree need not be stored to hash it: each node is hashed once
//! (about 2.44 hashes per key), and the siblings of the chosen targets are
//! recorded on the way. This is how BENCHMARKS.md measures proof sizes at
//! 10^8 keys, and how an index can be rebuilt from scratch without the
//! node store's random writes. It yields exactly [`super::tree::Index`]'s
//! root for the same leaves (a test checks it).

use crate::hash::Hash;

use super::hashing::{EMPTY, bit, interior_hash};
use super::key::KeyHash;
use super::tree::Terminal;

/// A key whose path to record, and what was found.
#[derive(Clone, Debug)]
pub struct Target {
    /// The key hash to walk to.
    pub key: KeyHash,
    /// Siblings, root level first (filled in by [`stream_root`]).
    pub siblings: Vec<Option<Hash>>,
    /// Where the walk ended: an index into the leaves (present or other), or empty.
    pub terminal: StreamTerminal,
}

/// Where a target's walk ended in a streamed tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamTerminal {
    /// Not walked yet.
    Unset,
    /// At leaf number `i` (the target itself if its key matches).
    Leaf(usize),
    /// At an empty subtree.
    Empty,
}

impl Target {
    /// A target for `key`.
    pub fn new(key: KeyHash) -> Self {
        Self {
            key,
            siblings: Vec::new(),
            terminal: StreamTerminal::Unset,
        }
    }
}

/// The root of the prefix tree over `keys` (sorted, distinct), where
/// `leaf(i)` is the leaf hash of `keys[i]`, recording every target's path.
/// `targets` must be sorted by key. Cost: one hash per node; recursion depth
/// at most 256.
pub fn stream_root(
    keys: &[KeyHash],
    leaf: &impl Fn(usize) -> Hash,
    targets: &mut [Target],
) -> Hash {
    walk(keys, 0, 0, leaf, targets)
}

fn walk(
    keys: &[KeyHash],
    base: usize,
    depth: usize,
    leaf: &impl Fn(usize) -> Hash,
    targets: &mut [Target],
) -> Hash {
    match keys.len() {
        0 => {
            for t in targets.iter_mut() {
                t.siblings.truncate(depth);
                t.terminal = StreamTerminal::Empty;
            }
            EMPTY
        }
        1 => {
            for t in targets.iter_mut() {
                t.siblings.truncate(depth);
                t.terminal = StreamTerminal::Leaf(base);
            }
            leaf(base)
        }
        _ => {
            let split = keys.partition_point(|k| bit(k, depth) == 0);
            let tsplit = targets.partition_point(|t| bit(&t.key, depth) == 0);
            let (t0, t1) = targets.split_at_mut(tsplit);
            let h0 = walk(&keys[..split], base, depth + 1, leaf, t0);
            let h1 = walk(&keys[split..], base + split, depth + 1, leaf, t1);
            for (ts, sib) in [(t0, h1), (t1, h0)] {
                for t in ts.iter_mut() {
                    if t.siblings.len() <= depth {
                        t.siblings.resize(depth + 1, None);
                    }
                    t.siblings[depth] = (sib != EMPTY).then_some(sib);
                }
            }
            interior_hash(&h0, &h1)
        }
    }
}

/// Converts a streamed target into a [`Terminal`]-like verdict: whether the
/// leaf it ended at is its own key.
pub fn found(keys: &[KeyHash], t: &Target) -> Option<bool> {
    match t.terminal {
        StreamTerminal::Leaf(i) => Some(keys.get(i) == Some(&t.key)),
        StreamTerminal::Empty => Some(false),
        StreamTerminal::Unset => None,
    }
}

/// For tests: the terminal of a [`super::tree::Index`] proof in stream terms.
pub fn same_shape(t: &Target, terminal: &Terminal) -> bool {
    matches!(
        (t.terminal, terminal),
        (StreamTerminal::Empty, Terminal::Empty)
            | (
                StreamTerminal::Leaf(_),
                Terminal::Found(_) | Terminal::Other(_)
            )
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::hash::sha256;
    use crate::index::hashing::leaf_hash;
    use crate::index::list::ListState;
    use crate::index::store::MemoryStore;
    use crate::index::tree::{Batch, Index, path_root};

    #[test]
    fn stream_matches_the_index() {
        for n in [0usize, 1, 2, 3, 17, 500] {
            let mut idx = Index::new(MemoryStore::new());
            let mut b = Batch::new();
            let mut keys: Vec<KeyHash> = (0..n as u64).map(|i| sha256(&i.to_be_bytes())).collect();
            for (i, k) in keys.iter().enumerate() {
                b.add(i as u64, &[*k]);
            }
            idx.commit_batch(b, n as u64).unwrap();
            // Leaf i of the sorted keys: its index is its position before sorting.
            let pos: std::collections::HashMap<KeyHash, u64> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (*k, i as u64))
                .collect();
            keys.sort_unstable();
            let leaf = |i: usize| leaf_hash(&keys[i], 1, &ListState::new(&[pos[&keys[i]]]).root());
            let mut targets: Vec<Target> = (0..20u64)
                .map(|i| Target::new(sha256(&(i * 7).to_be_bytes())))
                .collect();
            targets.sort_by_key(|t| t.key);
            let root = stream_root(&keys, &leaf, &mut targets);
            assert_eq!(root, idx.root(), "n = {n}");
            for t in &targets {
                let p = idx.prove(&t.key).unwrap();
                assert_eq!(t.siblings, p.siblings);
                assert!(same_shape(t, &p.terminal));
                assert_eq!(
                    path_root(&t.key, &p.siblings, &p.terminal.to_path_terminal()).unwrap(),
                    root
                );
            }
        }
    }
}
