//! The monitor's own copy of a log's tree: the core [`TileBuilder`] (hash
//! tiles only) that re-derives roots as leaves are appended and produces
//! the hash tiles to store, plus the log-signed checkpoint it matched.

use provlog_core::checkpoint::Checkpoint;
use provlog_core::hash::Hash;
use provlog_core::note::Note;
use provlog_core::tile_builder::{BuilderError, TileBuilder};
use provlog_core::tiles::{Tile, TileNodeReader};
use provlog_core::tree::{TreeError, consistency_proof, tree_root};

use crate::store::{AuditState, OwnTiles, Store, StoreError};

/// One log's audited tree.
#[derive(Debug, Clone)]
pub struct OwnTree {
    builder: TileBuilder,
    /// The log-signed checkpoint matching the tree (empty before the first audit).
    checkpoint: Vec<u8>,
}

impl Default for OwnTree {
    fn default() -> Self {
        Self::new()
    }
}

impl OwnTree {
    /// The empty tree (nothing audited yet, no checkpoint).
    pub fn new() -> Self {
        OwnTree {
            builder: TileBuilder::new(false),
            checkpoint: Vec::new(),
        }
    }

    /// Loads the audited tree of `origin` from the store: resumes the tile
    /// builder from the stored right edge and checks it against the stored
    /// peaks and the stored checkpoint's root.
    pub fn load(store: &Store, origin: &str) -> Result<Self, StoreError> {
        let st = store.audit_state(origin)?;
        let builder = TileBuilder::resume(st.size, &OwnTiles { store, origin }, false)
            .map_err(|e| StoreError::Corrupt(format!("audited tree of {origin}: {e}")))?;
        if builder.range().peaks() != st.peaks.as_slice() {
            return Err(StoreError::Corrupt(format!(
                "audited tree of {origin}: the stored tiles do not match the stored tree state"
            )));
        }
        if !st.checkpoint.is_empty() {
            let root = Note::parse(&st.checkpoint)
                .ok()
                .and_then(|n| Checkpoint::parse(&n.text).ok())
                .map(|c| (c.size, c.root));
            if root != Some((builder.size(), builder.root())) {
                return Err(StoreError::Corrupt(format!(
                    "audited tree of {origin}: the stored checkpoint is not the stored tree's"
                )));
            }
        }
        Ok(OwnTree {
            builder,
            checkpoint: st.checkpoint,
        })
    }

    /// Entries in the tree.
    pub fn size(&self) -> u64 {
        self.builder.size()
    }

    /// The RFC 6962 root.
    pub fn root(&self) -> Hash {
        self.builder.root()
    }

    /// The log-signed checkpoint the tree matched (empty before the first
    /// audit).
    pub fn checkpoint(&self) -> &[u8] {
        &self.checkpoint
    }

    /// Replaces the matching checkpoint (same tree, newer signature).
    pub fn set_checkpoint(&mut self, note: Vec<u8>) {
        self.checkpoint = note;
    }

    /// Appends one leaf hash.
    pub fn append(&mut self, leaf: Hash) -> Result<(), BuilderError> {
        self.builder.append_leaf(leaf).map(|_| ())
    }

    /// The hash tiles to write with the next commit (see
    /// [`TileBuilder::take_tiles`]).
    pub fn take_tiles(&mut self) -> Vec<(Tile, Vec<u8>)> {
        self.builder.take_tiles()
    }

    /// The state to persist with the tiles.
    pub fn state(&self) -> AuditState {
        AuditState {
            size: self.builder.size(),
            peaks: self.builder.range().peaks().to_vec(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    /// The root of the first `size` leaves, from the stored tiles
    /// (`size` ≤ the audited size, and the tree must be committed).
    pub fn root_at(&self, store: &Store, origin: &str, size: u64) -> Result<Hash, TreeError> {
        if size == self.size() {
            return Ok(self.root());
        }
        let reader = TileNodeReader::new(OwnTiles { store, origin }, self.size());
        tree_root(&reader, size)
    }

    /// The consistency proof from `old` to the audited size, in the form
    /// evidence uses: with the old root first when `old` is a power of two.
    pub fn seeded_proof(
        &self,
        store: &Store,
        origin: &str,
        old: u64,
    ) -> Result<Vec<Hash>, TreeError> {
        let reader = TileNodeReader::new(OwnTiles { store, origin }, self.size());
        let mut proof = consistency_proof(&reader, old, self.size())?;
        if old.is_power_of_two() {
            proof.insert(0, tree_root(&reader, old)?);
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::checkpoint::sign_checkpoint;
    use provlog_core::hash::leaf_hash;
    use provlog_core::note::NoteSigner;
    use provlog_core::tree::MemoryTree;

    #[test]
    fn committed_trees_reload_with_the_same_root_proofs_and_tiles() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = NoteSigner::generate("own.example").unwrap();
        let mut tree = OwnTree::new();
        let mut reference = MemoryTree::new();
        let mut n = 0u64;
        for batch in [1u64, 255, 1, 300, 65_536 - 557, 3] {
            for _ in 0..batch {
                let leaf = leaf_hash(format!("e{n}").as_bytes());
                tree.append(leaf).unwrap();
                reference.push_leaf_hash(leaf);
                n += 1;
            }
            let cp = Checkpoint::new(log.name(), n, tree.root());
            tree.set_checkpoint(sign_checkpoint(&cp, &log).unwrap());
            let tiles = tree.take_tiles();
            store
                .commit_audit(log.name(), &tiles, &tree.state())
                .unwrap();
            let loaded = OwnTree::load(&store, log.name()).unwrap();
            assert_eq!(loaded.root(), reference.root());
            assert_eq!(loaded.size(), n);
            for old in [1, n / 2, n - 1].into_iter().filter(|&o| o > 0 && o < n) {
                let view = reference.at_size(n).unwrap();
                assert_eq!(
                    loaded.root_at(&store, log.name(), old).unwrap(),
                    tree_root(&view, old).unwrap()
                );
                let mut want = consistency_proof(&view, old, n).unwrap();
                if old.is_power_of_two() {
                    want.insert(0, tree_root(&view, old).unwrap());
                }
                assert_eq!(loaded.seeded_proof(&store, log.name(), old).unwrap(), want);
            }
            // Appending to the reloaded tree gives the same tiles as to the original.
            let (mut a, mut b) = (loaded, tree.clone());
            a.append([9; 32]).unwrap();
            b.append([9; 32]).unwrap();
            assert_eq!(a.take_tiles(), b.take_tiles());
        }
    }

    #[test]
    fn a_state_that_contradicts_its_tiles_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut tree = OwnTree::new();
        for i in 0..300u32 {
            tree.append(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        let tiles = tree.take_tiles();
        let mut state = tree.state();
        state.peaks[0][0] ^= 1;
        store.commit_audit("o", &tiles, &state).unwrap();
        let err = OwnTree::load(&store, "o").unwrap_err();
        assert!(err.to_string().contains("do not match"), "{err}");
    }
}
