//! The prefix tree (spec/lookup.md §3): a binary Merkle trie over 256-bit
//! key hashes in which every leaf sits at the shallowest depth where it is
//! the only key of its subtree (as in the KEYTRANS prefix tree). The tree —
//! and so its root — is a function of the set of (key, list) pairs alone,
//! whatever order they were inserted in, which is what lets a monitor
//! recompute it and compare.
//!
//! Cost of [`Index::commit_batch`] with `u` distinct keys changed among
//! `k` keys in the index: the batch is sorted (O(u log u)), then every node
//! on a changed path is read, rehashed and written once: about
//! `u * (log2(k / u) + 2)` interior hashes (the top `log2 u` levels are
//! shared by the batch), plus per changed key one leaf hash and one list
//! leaf hash (and, for keys with more than one index, amortised one list
//! node hash). Nothing is read that is not on a changed path.

use crate::hash::Hash;

use super::hashing::{EMPTY, bit, interior_hash};
use super::key::KeyHash;
use super::list::ListState;
use super::store::{Interior, Leaf, Node, NodeStore};

/// The deepest a leaf can be: two distinct 256-bit keys differ at bit 255 at the latest.
pub const MAX_DEPTH: usize = 256;

/// Why an index update or proof failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("index store: {0}")]
    Store(#[source] E),
    /// A batch names an entry outside the range it must cover (or would
    /// shrink the covered size: then `index` is the new size).
    #[error("batch entry {index} is outside [{from}, {to})")]
    OutOfRange {
        /// The entry index.
        index: u64,
        /// The index's size before the batch.
        from: u64,
        /// The size the batch brings the index to.
        to: u64,
    },
    /// The store's tree is not a canonical prefix tree (corrupt store).
    #[error("index store is corrupt: {0}")]
    Corrupt(&'static str),
}

/// The keys of one batch of entries, collected before a commit.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pairs: Vec<(KeyHash, u64)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that entry `index` carries `keys` (duplicates are harmless).
    pub fn add(&mut self, index: u64, keys: &[KeyHash]) {
        self.pairs.extend(keys.iter().map(|k| (*k, index)));
    }

    /// Moves every pair of `other` into this batch.
    pub fn append(&mut self, mut other: Batch) {
        self.pairs.append(&mut other.pairs);
    }

    /// Number of (key, index) pairs recorded.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// One key's new indexes, for the recursive update.
struct Update<'a> {
    key: KeyHash,
    indexes: &'a [u64],
}

/// Where a lookup walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminal {
    /// The key's leaf.
    Found(Leaf),
    /// Another key's leaf, sharing the first `depth` bits (the key is absent).
    Other(Leaf),
    /// An empty subtree (the key is absent).
    Empty,
}

/// A prefix-tree path for one key: the sibling hashes from the root down
/// (`None` for an empty sibling) and where the walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathProof {
    /// Siblings, root level first; its length is the terminal's depth.
    pub siblings: Vec<Option<Hash>>,
    /// The terminal.
    pub terminal: Terminal,
}

/// The verifiable index over a [`NodeStore`].
pub struct Index<S: NodeStore> {
    store: S,
    root: Hash,
    size: u64,
    keys: u64,
}

type Res<T, S> = Result<T, IndexError<<S as NodeStore>::Error>>;

impl<S: NodeStore> Index<S> {
    /// An empty index (covering no entries) over an empty `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            root: EMPTY,
            size: 0,
            keys: 0,
        }
    }

    /// Re-opens an index over a store that already holds a tree, with the
    /// root hash, covered size and key count recorded with it.
    pub fn resume(store: S, root: Hash, size: u64, keys: u64) -> Self {
        Self {
            store,
            root,
            size,
            keys,
        }
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Entries covered: the index is of entries `[0, size)`.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of distinct keys.
    pub fn key_count(&self) -> u64 {
        self.keys
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Applies a batch covering entries `[self.size(), new_size)` (entries
    /// without keys need not appear) and returns the new root. On a store
    /// error the index must be re-opened from the store's last committed
    /// state. Cost: see the module docs.
    pub fn commit_batch(&mut self, mut batch: Batch, new_size: u64) -> Res<Hash, S> {
        let (from, to) = (self.size, new_size);
        if to < from {
            return Err(IndexError::OutOfRange {
                index: to,
                from,
                to,
            });
        }
        if let Some(&(_, index)) = batch.pairs.iter().find(|(_, i)| *i < from || *i >= to) {
            return Err(IndexError::OutOfRange { index, from, to });
        }
        batch.pairs.sort_unstable();
        batch.pairs.dedup();
        let indexes: Vec<u64> = batch.pairs.iter().map(|p| p.1).collect();
        let mut updates = Vec::new();
        let mut start = 0;
        for i in 1..=batch.pairs.len() {
            if i == batch.pairs.len() || batch.pairs[i].0 != batch.pairs[start].0 {
                updates.push(Update {
                    key: batch.pairs[start].0,
                    indexes: &indexes[start..i],
                });
                start = i;
            }
        }
        if !updates.is_empty() {
            let root = self.store.root();
            let (r, h) = self.update(root, 0, &updates)?;
            self.store.set_root(r).map_err(IndexError::Store)?;
            self.root = h;
        }
        self.size = to;
        Ok(self.root)
    }

    fn write(
        &mut self,
        depth: usize,
        under: &KeyHash,
        node: Node<S::Ref>,
        reuse: Option<S::Ref>,
    ) -> Res<S::Ref, S> {
        self.store
            .write(depth as u16, under, node, reuse)
            .map_err(IndexError::Store)
    }

    /// Updates the subtree at `node` (depth `depth`) with `ups` (non-empty,
    /// sorted, all under this subtree); returns the new subtree and its hash.
    fn update(
        &mut self,
        node: Option<S::Ref>,
        depth: usize,
        ups: &[Update<'_>],
    ) -> Res<(Option<S::Ref>, Hash), S> {
        let Some(r) = node else {
            return self.build(depth, None, ups);
        };
        match self.store.read(r).map_err(IndexError::Store)? {
            Node::Leaf(l) => self.build(depth, Some((r, l)), ups),
            Node::Interior(mut i) => {
                if depth >= MAX_DEPTH {
                    return Err(IndexError::Corrupt("interior node below depth 255"));
                }
                let split = ups.partition_point(|u| bit(&u.key, depth) == 0);
                let (lo, hi) = ups.split_at(split);
                for (side, part) in [(0, lo), (1, hi)] {
                    if !part.is_empty() {
                        let (c, h) = self.update(i.children[side], depth + 1, part)?;
                        i.children[side] = c;
                        i.hashes[side] = h;
                    }
                }
                let h = interior_hash(&i.hashes[0], &i.hashes[1]);
                let under = ups[0].key;
                let r = self.write(depth, &under, Node::Interior(i), Some(r))?;
                Ok((Some(r), h))
            }
        }
    }

    /// Builds the subtree at depth `depth` holding `existing` (a leaf that
    /// was here, if any) and `ups`.
    fn build(
        &mut self,
        depth: usize,
        existing: Option<(S::Ref, Leaf)>,
        ups: &[Update<'_>],
    ) -> Res<(Option<S::Ref>, Hash), S> {
        match (existing, ups) {
            (None, []) => Ok((None, EMPTY)),
            (Some((r, l)), []) => {
                // A leaf pushed down by a new key sharing its prefix.
                let h = l.hash();
                let key = l.key;
                let r = self.write(depth, &key, Node::Leaf(l), Some(r))?;
                Ok((Some(r), h))
            }
            (None, [u]) => {
                let l = Leaf {
                    key: u.key,
                    list: ListState::new(u.indexes),
                };
                self.keys += 1;
                self.store
                    .append_list(&u.key, u.indexes)
                    .map_err(IndexError::Store)?;
                let h = l.hash();
                let r = self.write(depth, &u.key, Node::Leaf(l), None)?;
                Ok((Some(r), h))
            }
            (Some((r, mut l)), [u]) if l.key == u.key => {
                l.list.append(u.indexes);
                self.store
                    .append_list(&u.key, u.indexes)
                    .map_err(IndexError::Store)?;
                let h = l.hash();
                let r = self.write(depth, &u.key, Node::Leaf(l), Some(r))?;
                Ok((Some(r), h))
            }
            (existing, ups) => {
                if depth >= MAX_DEPTH {
                    return Err(IndexError::Corrupt("two equal keys in one batch"));
                }
                let split = ups.partition_point(|u| bit(&u.key, depth) == 0);
                let (lo, hi) = ups.split_at(split);
                let under = existing.as_ref().map_or(ups[0].key, |(_, l)| l.key);
                let (mut e0, mut e1) = (None, None);
                if let Some((r, l)) = existing {
                    if bit(&l.key, depth) == 0 {
                        e0 = Some((r, l));
                    } else {
                        e1 = Some((r, l));
                    }
                }
                let (c0, h0) = self.build(depth + 1, e0, lo)?;
                let (c1, h1) = self.build(depth + 1, e1, hi)?;
                let node = Node::Interior(Interior {
                    hashes: [h0, h1],
                    children: [c0, c1],
                });
                let r = self.write(depth, &under, node, None)?;
                Ok((Some(r), interior_hash(&h0, &h1)))
            }
        }
    }

    /// The path proof for `key`: one node read per level.
    pub fn prove(&self, key: &KeyHash) -> Res<PathProof, S> {
        let mut siblings = Vec::with_capacity(40);
        let mut node = self.store.root();
        let mut depth = 0;
        loop {
            let Some(r) = node else {
                return Ok(PathProof {
                    siblings,
                    terminal: Terminal::Empty,
                });
            };
            match self.store.read(r).map_err(IndexError::Store)? {
                Node::Leaf(l) => {
                    let terminal = if l.key == *key {
                        Terminal::Found(l)
                    } else {
                        Terminal::Other(l)
                    };
                    return Ok(PathProof { siblings, terminal });
                }
                Node::Interior(i) => {
                    if depth >= MAX_DEPTH {
                        return Err(IndexError::Corrupt("interior node below depth 255"));
                    }
                    let b = bit(key, depth) as usize;
                    let s = i.hashes[1 - b];
                    siblings.push((s != EMPTY).then_some(s));
                    node = i.children[b];
                    depth += 1;
                }
            }
        }
    }

    /// The list of `key` as the store keeps it (`None` if absent or not kept).
    pub fn list(&self, key: &KeyHash) -> Res<Option<Vec<u64>>, S> {
        self.store.list(key).map_err(IndexError::Store)
    }
}

/// The root a path proof leads to, or why it is not a canonical path for
/// `key` (spec/lookup.md §6.2). `found` is the key's own (count, list root)
/// when the terminal is its leaf.
pub fn path_root(
    key: &KeyHash,
    siblings: &[Option<Hash>],
    terminal: &PathTerminal,
) -> Result<Hash, PathError> {
    let d = siblings.len();
    if d > MAX_DEPTH {
        return Err(PathError::TooDeep(d));
    }
    let mut h = match terminal {
        PathTerminal::Found { count, list_root } => {
            super::hashing::leaf_hash(key, *count, list_root)
        }
        PathTerminal::Other {
            key: other,
            count,
            list_root,
        } => {
            if other == key {
                return Err(PathError::OtherIsKey);
            }
            if super::hashing::common_prefix_bits(key, other) < d {
                return Err(PathError::OtherOffPath);
            }
            super::hashing::leaf_hash(other, *count, list_root)
        }
        PathTerminal::Empty => EMPTY,
    };
    if let PathTerminal::Found { count: 0, .. } | PathTerminal::Other { count: 0, .. } = terminal {
        return Err(PathError::EmptyList);
    }
    // Canonical shape: a leaf never has an empty sibling (it would sit one
    // level up), and an empty subtree's sibling is never empty (the parent
    // would not exist).
    if d > 0 && siblings[d - 1].is_none() {
        return Err(PathError::NotCanonical);
    }
    for (depth, s) in siblings.iter().enumerate().rev() {
        let s = s.unwrap_or(EMPTY);
        h = if bit(key, depth) == 0 {
            interior_hash(&h, &s)
        } else {
            interior_hash(&s, &h)
        };
    }
    Ok(h)
}

/// What a path ends in, as a verifier sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathTerminal {
    /// The key's own leaf, with its list's count and root.
    Found {
        /// Number of indexes.
        count: u64,
        /// List root.
        list_root: Hash,
    },
    /// Another key's leaf.
    Other {
        /// That key's hash.
        key: KeyHash,
        /// Its count.
        count: u64,
        /// Its list root.
        list_root: Hash,
    },
    /// An empty subtree.
    Empty,
}

/// Why a path proof is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// More than 256 siblings.
    #[error("path of {0} siblings is deeper than 256")]
    TooDeep(usize),
    /// The "other" leaf is the looked-up key itself.
    #[error("the other leaf has the looked-up key")]
    OtherIsKey,
    /// The "other" leaf does not share the path's prefix with the key.
    #[error("the other leaf is not on the key's path")]
    OtherOffPath,
    /// A leaf with an empty list.
    #[error("a leaf with count 0")]
    EmptyList,
    /// An empty sibling where a canonical tree has none.
    #[error("the path is not the canonical prefix-tree shape")]
    NotCanonical,
}

impl Terminal {
    /// The verifier's view of this terminal.
    pub fn to_path_terminal(&self) -> PathTerminal {
        match self {
            Terminal::Found(l) => PathTerminal::Found {
                count: l.list.count,
                list_root: l.list.root(),
            },
            Terminal::Other(l) => PathTerminal::Other {
                key: l.key,
                count: l.list.count,
                list_root: l.list.root(),
            },
            Terminal::Empty => PathTerminal::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::hash::sha256;
    use crate::index::store::MemoryStore;

    fn k(i: u64) -> KeyHash {
        sha256(&i.to_be_bytes())
    }

    #[test]
    fn insertion_order_does_not_matter_and_proofs_verify() {
        let mut a = Index::new(MemoryStore::with_lists());
        let mut b = Index::new(MemoryStore::new());
        // a: one batch per entry; b: everything in one batch.
        let mut all = Batch::new();
        for i in 0..300u64 {
            let keys = [k(i % 97), k(1000 + i)];
            let mut one = Batch::new();
            one.add(i, &keys);
            a.commit_batch(one, i + 1).unwrap();
            all.add(i, &keys);
        }
        b.commit_batch(all, 300).unwrap();
        assert_eq!(a.root(), b.root());
        assert_eq!(a.key_count(), 97 + 300);
        for q in (0..120).chain(1000..1010).chain(5000..5010) {
            let key = k(q);
            let p = a.prove(&key).unwrap();
            let root = path_root(&key, &p.siblings, &p.terminal.to_path_terminal()).unwrap();
            assert_eq!(root, a.root());
            let present = q < 97 || (1000..1300).contains(&q);
            assert_eq!(matches!(p.terminal, Terminal::Found(_)), present, "key {q}");
            if let Terminal::Found(l) = &p.terminal {
                let list = a.list(&key).unwrap().unwrap();
                assert_eq!(list.len() as u64, l.list.count);
                assert_eq!(ListState::new(&list), l.list);
            }
        }
    }

    #[test]
    fn empty_index_and_out_of_range() {
        let mut idx = Index::new(MemoryStore::new());
        assert_eq!(idx.root(), EMPTY);
        let p = idx.prove(&k(1)).unwrap();
        assert_eq!(p.terminal, Terminal::Empty);
        assert_eq!(path_root(&k(1), &[], &PathTerminal::Empty).unwrap(), EMPTY);
        idx.commit_batch(Batch::new(), 10).unwrap();
        let mut b = Batch::new();
        b.add(3, &[k(1)]);
        assert!(matches!(
            idx.commit_batch(b, 20),
            Err(IndexError::OutOfRange { index: 3, .. })
        ));
    }
}
