//! The node store: where the prefix tree's nodes live (spec/lookup.md §8).
//!
//! The tree code ([`super::tree::Index`]) reads and writes nodes only
//! through [`NodeStore`], so the same algorithm runs over the in-memory
//! arena here (tests, monitors, benchmarks) and over a persistent store
//! (the server's, round 2). A store hands out opaque references; every
//! write also says *where* the node sits (its depth and a key below it),
//! so a position-addressed store (key = depth ‖ prefix bits, as AKD and
//! KEYTRANS store their trees) needs no references at all: it can use the
//! position as the reference.
//!
//! An interior node holds its two children's hashes, so an update reads
//! only the nodes on the updated paths (never a sibling) and a proof reads
//! one node per level.
//!
//! Contract: between [`NodeStore::set_root`] calls, the tree code writes
//! each changed node once; a node passed as `reuse` to
//! [`NodeStore::write`] is dead after that call (its slot may be
//! overwritten). Nothing is ever deleted: keys are never removed. A store
//! that must serve proofs for an older root (e.g. the one under the latest
//! *cosigned* checkpoint) keeps versions itself and ignores `reuse`.

use crate::hash::Hash;

use super::key::KeyHash;
use super::list::ListState;

/// A prefix-tree leaf: a key and its list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The key hash.
    pub key: KeyHash,
    /// Its list of entry indexes (count and peaks).
    pub list: ListState,
}

impl Leaf {
    /// The leaf hash (`0x10 ‖ key ‖ count ‖ list root`).
    pub fn hash(&self) -> Hash {
        super::hashing::leaf_hash(&self.key, self.list.count, &self.list.root())
    }
}

/// A prefix-tree interior node: its children and their hashes
/// ([`super::hashing::EMPTY`] and `None` for an empty side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interior<R> {
    /// Hashes of the left (bit 0) and right (bit 1) children.
    pub hashes: [Hash; 2],
    /// The children.
    pub children: [Option<R>; 2],
}

/// A node as read from or written to a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node<R> {
    /// Interior node.
    Interior(Interior<R>),
    /// Leaf.
    Leaf(Leaf),
}

/// Storage for the prefix tree's nodes and, optionally, each key's list of
/// indexes (needed to *serve* lookups, not to compute roots).
pub trait NodeStore {
    /// A reference to a stored node.
    type Ref: Copy + Eq + std::fmt::Debug;
    /// A storage fault.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The root node, `None` for the empty index.
    fn root(&self) -> Option<Self::Ref>;

    /// Reads a node.
    fn read(&self, r: Self::Ref) -> Result<Node<Self::Ref>, Self::Error>;

    /// Writes `node` at depth `depth` on the path of `under` (any key hash
    /// below the node), replacing `reuse` if given, and returns its reference.
    fn write(
        &mut self,
        depth: u16,
        under: &KeyHash,
        node: Node<Self::Ref>,
        reuse: Option<Self::Ref>,
    ) -> Result<Self::Ref, Self::Error>;

    /// Sets the root after a batch's writes.
    fn set_root(&mut self, root: Option<Self::Ref>) -> Result<(), Self::Error>;

    /// Records that `key`'s list grew by `indexes` (increasing, all larger
    /// than the list's previous elements). A store that does not serve
    /// lookups may ignore it.
    fn append_list(&mut self, key: &KeyHash, indexes: &[u64]) -> Result<(), Self::Error>;

    /// The whole list of `key`, or `None` if the key is absent or the store
    /// does not keep lists.
    fn list(&self, key: &KeyHash) -> Result<Option<Vec<u64>>, Self::Error>;
}

/// A reference into a [`MemoryStore`]: an interior slot or, with the top
/// bit set, a leaf slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemRef(u32);

const LEAF_BIT: u32 = 1 << 31;
const NONE: u32 = u32::MAX;

impl MemRef {
    fn leaf(i: usize) -> Self {
        MemRef(i as u32 | LEAF_BIT)
    }
    fn interior(i: usize) -> Self {
        MemRef(i as u32)
    }
    fn is_leaf(self) -> bool {
        self.0 & LEAF_BIT != 0
    }
    fn slot(self) -> usize {
        (self.0 & !LEAF_BIT) as usize
    }
}

/// Interior node as the arena packs it: 72 bytes.
#[derive(Clone, Copy)]
struct PackedInterior {
    hashes: [Hash; 2],
    children: [u32; 2],
}

fn pack(r: Option<MemRef>) -> u32 {
    r.map_or(NONE, |r| r.0)
}

fn unpack(r: u32) -> Option<MemRef> {
    (r != NONE).then_some(MemRef(r))
}

/// The in-memory arena store. Memory: 72 bytes per interior node (about
/// 1.44 per key for uniformly hashed keys), about 80 bytes per leaf (plus
/// the peaks of lists with a count that is not a power of two), plus, if
/// lists are kept, a hash-map entry and 8 bytes per index.
/// Holds at most 2^31 - 1 interior nodes and as many leaves.
#[derive(Default)]
pub struct MemoryStore {
    interiors: Vec<PackedInterior>,
    leaves: Vec<Leaf>,
    root: Option<MemRef>,
    lists: Option<std::collections::HashMap<KeyHash, Vec<u64>>>,
}

impl MemoryStore {
    /// A store that computes roots and proofs but keeps no lists (a monitor's).
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that also keeps every key's list (to serve lookups; tests).
    pub fn with_lists() -> Self {
        Self {
            lists: Some(Default::default()),
            ..Self::default()
        }
    }

    /// Number of (interior, leaf) nodes.
    pub fn node_counts(&self) -> (usize, usize) {
        (self.interiors.len(), self.leaves.len())
    }

    /// Approximate heap bytes held (capacity of the arenas and lists).
    pub fn approx_bytes(&self) -> usize {
        let peaks: usize = self
            .leaves
            .iter()
            .map(|l| match &l.list.peaks {
                super::list::Peaks::One(_) => 0,
                super::list::Peaks::Many(v) => v.len() * 32,
            })
            .sum();
        let lists = self.lists.as_ref().map_or(0, |m| {
            m.capacity() * (32 + 24 + 8) + m.values().map(|v| v.capacity() * 8).sum::<usize>()
        });
        self.interiors.capacity() * std::mem::size_of::<PackedInterior>()
            + self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + peaks
            + lists
    }
}

/// The arena is full (over 2^31 - 1 nodes of one kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the in-memory index holds at most 2^31 - 1 nodes of each kind")]
pub struct ArenaFull;

impl NodeStore for MemoryStore {
    type Ref = MemRef;
    type Error = ArenaFull;

    fn root(&self) -> Option<MemRef> {
        self.root
    }

    fn read(&self, r: MemRef) -> Result<Node<MemRef>, ArenaFull> {
        // References come only from this store, so the slots exist.
        if r.is_leaf() {
            Ok(Node::Leaf(self.leaves[r.slot()].clone()))
        } else {
            let p = self.interiors[r.slot()];
            Ok(Node::Interior(Interior {
                hashes: p.hashes,
                children: [unpack(p.children[0]), unpack(p.children[1])],
            }))
        }
    }

    fn write(
        &mut self,
        _depth: u16,
        _under: &KeyHash,
        node: Node<MemRef>,
        reuse: Option<MemRef>,
    ) -> Result<MemRef, ArenaFull> {
        match node {
            Node::Leaf(l) => match reuse.filter(|r| r.is_leaf()) {
                Some(r) => {
                    self.leaves[r.slot()] = l;
                    Ok(r)
                }
                None => {
                    if self.leaves.len() >= (LEAF_BIT - 1) as usize {
                        return Err(ArenaFull);
                    }
                    self.leaves.push(l);
                    Ok(MemRef::leaf(self.leaves.len() - 1))
                }
            },
            Node::Interior(i) => {
                let p = PackedInterior {
                    hashes: i.hashes,
                    children: [pack(i.children[0]), pack(i.children[1])],
                };
                match reuse.filter(|r| !r.is_leaf()) {
                    Some(r) => {
                        self.interiors[r.slot()] = p;
                        Ok(r)
                    }
                    None => {
                        if self.interiors.len() >= (LEAF_BIT - 1) as usize {
                            return Err(ArenaFull);
                        }
                        self.interiors.push(p);
                        Ok(MemRef::interior(self.interiors.len() - 1))
                    }
                }
            }
        }
    }

    fn set_root(&mut self, root: Option<MemRef>) -> Result<(), ArenaFull> {
        self.root = root;
        Ok(())
    }

    fn append_list(&mut self, key: &KeyHash, indexes: &[u64]) -> Result<(), ArenaFull> {
        if let Some(m) = &mut self.lists {
            m.entry(*key).or_default().extend_from_slice(indexes);
        }
        Ok(())
    }

    fn list(&self, key: &KeyHash) -> Result<Option<Vec<u64>>, ArenaFull> {
        Ok(self.lists.as_ref().and_then(|m| m.get(key).cloned()))
    }
}
