//! A cache of full tiles' internal node trees, for serving proofs.
//!
//! Tiles store only every eighth level of the tree; a node in between is
//! the hash of up to 128 stored hashes, so a proof computed from tiles alone
//! costs hundreds of SHA-256 calls. A full tile never changes, so the
//! complete subtree over its 256 hashes (all 511 nodes) can be computed once
//! and kept: then every node inside it is a lookup. A partial tile at the
//! right edge is cached the same way under its width: its content at a given
//! width never changes either, and a wider version replaces it in the LRU as
//! the log grows.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use provlog_core::hash::{HASH_SIZE, Hash, node_hash};
use provlog_core::tiles::{TILE_HEIGHT, TILE_WIDTH as WIDTH, TileLevel, TileNodeReader};
use provlog_core::tree::{NodeId, NodeReader, TreeError};

use crate::storage::{LogStorage, StorageTiles};

/// The complete nodes over one tile's hashes: level k holds `width >> k`
/// nodes (for a full tile: 256, 128, ..., 1).
struct TileTree {
    levels: Vec<Vec<Hash>>,
}

impl TileTree {
    fn build(raw: &[u8]) -> Option<TileTree> {
        if raw.is_empty()
            || !raw.len().is_multiple_of(HASH_SIZE)
            || raw.len() > WIDTH as usize * HASH_SIZE
        {
            return None;
        }
        let base: Vec<Hash> = raw
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        let mut levels = vec![base];
        while let Some(last) = levels.last() {
            if last.len() < 2 {
                break;
            }
            let next = last
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Some(TileTree { levels })
    }
}

/// Shared LRU cache of tile trees, keyed by (tile level, tile index, width).
pub struct NodeCache {
    tiles: Mutex<lru::LruCache<(u8, u64, u16), Arc<TileTree>>>,
}

impl NodeCache {
    /// A cache holding up to `tiles` full tiles (about 16 KiB each).
    pub fn new(tiles: usize) -> Self {
        NodeCache {
            tiles: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(tiles.max(1)).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    fn get(&self, key: (u8, u64, u16)) -> Option<Arc<TileTree>> {
        self.tiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
    }

    fn put(&self, key: (u8, u64, u16), tree: Arc<TileTree>) {
        self.tiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, tree);
    }

    /// A node reader for the tree of `size` entries backed by this cache.
    pub fn reader<'a>(&'a self, store: &'a dyn LogStorage, size: u64) -> CachedTileNodes<'a> {
        CachedTileNodes {
            cache: self,
            store,
            size,
        }
    }
}

/// [`NodeReader`] over stored tiles with full tiles' trees cached.
pub struct CachedTileNodes<'a> {
    cache: &'a NodeCache,
    store: &'a dyn LogStorage,
    size: u64,
}

impl CachedTileNodes<'_> {
    /// The node from its tile's cached tree (the tile read at the width it
    /// has at this size), or `None` if that tile does not exist at this size.
    fn node_in_tile(&self, id: NodeId) -> Result<Option<Hash>, TreeError> {
        let tile_level = id.level / TILE_HEIGHT;
        let k = u32::from(id.level % TILE_HEIGHT);
        let base_shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
        // Position of the node's first base-level hash within tile level.
        let Some(first) = id.index.checked_shl(k) else {
            return Ok(None);
        };
        let tile_index = first / WIDTH;
        let hashes_at_level = if base_shift >= 64 {
            0
        } else {
            self.size >> base_shift
        };
        let width = hashes_at_level
            .saturating_sub(tile_index.saturating_mul(WIDTH))
            .min(WIDTH);
        if width == 0 {
            return Ok(None);
        }
        let key = (tile_level, tile_index, width as u16);
        let tree = match self.cache.get(key) {
            Some(t) => t,
            None => {
                let raw = self
                    .store
                    .tile(TileLevel::Hash(tile_level), tile_index)
                    .map_err(|e| TreeError::read_msg(e.to_string()))?
                    .ok_or_else(|| {
                        TreeError::read_msg(format!("hash tile {tile_level}/{tile_index} missing"))
                    })?;
                // The stored tile may be wider than this size needs (it grew
                // since); its first `width` hashes are the tile at this size.
                let tree = raw
                    .get(..width as usize * HASH_SIZE)
                    .and_then(TileTree::build)
                    .ok_or_else(|| {
                        TreeError::read_msg(format!("hash tile {tile_level}/{tile_index} is short"))
                    })?;
                let tree = Arc::new(tree);
                self.cache.put(key, tree.clone());
                tree
            }
        };
        let pos = ((first % WIDTH) >> k) as usize;
        Ok(tree
            .levels
            .get(k as usize)
            .and_then(|l| l.get(pos))
            .copied())
    }
}

impl NodeReader for CachedTileNodes<'_> {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        let mut out: Vec<Option<Hash>> = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            let h = self.node_in_tile(*id)?;
            if h.is_none() {
                missing.push(*id);
            }
            out.push(h);
        }
        if !missing.is_empty() {
            let edge =
                TileNodeReader::new(StorageTiles(self.store), self.size).read_nodes(&missing)?;
            let mut edge = edge.into_iter();
            for slot in out.iter_mut().filter(|s| s.is_none()) {
                *slot = edge.next();
            }
        }
        out.into_iter()
            .map(|h| h.ok_or_else(|| TreeError::read_msg("node missing after read")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provlog_core::tree::{MemoryTree, inclusion_proof, tree_root};

    #[test]
    fn tile_tree_root_matches_a_memory_tree() {
        let mut t = MemoryTree::new();
        for i in 0..256u32 {
            t.push_entry(&i.to_be_bytes());
        }
        let raw: Vec<u8> = (0..256u64)
            .flat_map(|i| t.node(NodeId { level: 0, index: i }).unwrap_or_default())
            .collect();
        let tree = TileTree::build(&raw).expect("full tile");
        assert_eq!(tree.levels.len(), 9);
        assert_eq!(
            tree.levels[8][0],
            tree_root(&t.at_size(256).expect("view"), 256).expect("root")
        );
        assert_eq!(
            inclusion_proof(&t.at_size(256).expect("view"), 5, 256).expect("proof")[1],
            tree.levels[1][3]
        );
        // A partial tile holds the complete nodes of its width only.
        let partial = TileTree::build(&raw[..32 * 5]).expect("partial tile");
        assert_eq!(
            partial.levels.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![5, 2, 1]
        );
        assert_eq!(partial.levels[2][0], tree.levels[2][0]);
        assert!(TileTree::build(&raw[..31]).is_none());
    }
}
