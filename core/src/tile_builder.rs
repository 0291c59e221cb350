//! The one tile builder: appends entries (or leaf hashes) to a tree and
//! produces the C2SP tlog-tiles hash tiles and entry bundles to store.
//!
//! Every writer of tiles uses it: the log's sequencer (hash tiles and
//! bundles), the monitor's own copy of a log's tree (hash tiles only) and
//! the log server's offline `check` (which rebuilds tiles and compares).
//! Like Go's `tlog.NewTiles` it is a pure write side: it does no I/O. The
//! caller hands it the stored right edge once ([`TileBuilder::resume`]) and
//! stores what [`TileBuilder::take_tiles`] returns.
//!
//! **The one rule for partial tiles.** A tile of a tree of `size` leaves
//! has the width [`crate::tiles::hash_tile`] / [`crate::tiles::entry_bundle`]
//! give at that size; a partial tile is always read and written at exactly
//! that width (a store may hold a wider copy and serve its prefix, since the
//! first `w` hashes or entries of a tile never change). The builder refuses a
//! right edge whose tiles are not exactly that long.
//!
//! **Cost.** Appending is O(1) amortised hashing (one leaf hash for
//! [`TileBuilder::append`], plus the node hashes the compact range needs,
//! on average one per leaf) and copies each entry once into its bundle.
//! Memory: one partial tile per tile level (at most 8 KiB each), the partial
//! bundle, and the tiles completed since the last `take_tiles`. With
//! [`TileBuilder::keep_nodes`], every node hash computed since the last
//! `take_tiles` is kept as well (about two per leaf), so a batch's inclusion
//! proofs need not re-read what it just wrote.

use std::collections::HashMap;

use crate::hash::{HASH_SIZE, Hash, leaf_hash};
use crate::tiles::{
    MAX_BUNDLE_ENTRY, TILE_HEIGHT, TILE_WIDTH, Tile, TileError, TileLevel, TileNodeReader,
    TileReader, decode_bundle, entry_bundle, hash_tile,
};
use crate::tree::{CompactRange, NodeId, TreeError};

/// Why the builder cannot resume or append.
#[derive(Debug, thiserror::Error)]
pub enum BuilderError {
    /// A right-edge tile could not be read.
    #[error("reading right-edge tile {path}: {source}")]
    Read {
        /// The tile's path.
        path: String,
        /// The reader's error.
        source: TileError,
    },
    /// A right-edge tile has the wrong length or contents.
    #[error("right-edge tile {path} is inconsistent: {detail}")]
    Inconsistent {
        /// The tile's path.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The tree cannot be rebuilt from the right edge, or cannot grow.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// An entry is too large for an entry bundle (u16 length prefix).
    #[error("entry of {0} bytes is larger than an entry bundle can hold (65535)")]
    EntryTooLarge(usize),
    /// `append` on a builder that keeps no bundles, or `append_leaf` on one
    /// that does (its bundles would miss the entry).
    #[error("this tile builder {0}")]
    WrongMode(&'static str),
}

/// The right-most, growing tile of one kind.
#[derive(Debug, Clone)]
struct OpenTile {
    index: u64,
    data: Vec<u8>,
    count: u16,
    dirty: bool,
}

impl OpenTile {
    fn empty(index: u64) -> Self {
        OpenTile {
            index,
            data: Vec::new(),
            count: 0,
            dirty: false,
        }
    }
}

/// Appends to a tree and produces its tiles. See the module docs.
#[derive(Debug, Clone)]
pub struct TileBuilder {
    range: CompactRange,
    /// The open hash tile of each tile level, level 0 first.
    levels: Vec<OpenTile>,
    /// The open entry bundle, when bundles are built.
    bundle: Option<OpenTile>,
    /// Full tiles completed since the last `take_tiles`.
    completed: Vec<(Tile, Vec<u8>)>,
    /// Whether to keep the nodes computed.
    keep_nodes: bool,
    /// Nodes computed since the last `take_tiles`, when kept.
    nodes: HashMap<NodeId, Hash>,
}

/// Number of hashes at tree level `8 * level` in a tree of `size` leaves.
fn hashes_at(level: usize, size: u64) -> u64 {
    size.checked_shr((level * usize::from(TILE_HEIGHT)) as u32)
        .unwrap_or(0)
}

impl TileBuilder {
    /// The empty tree. With `bundles`, entries are appended with
    /// [`TileBuilder::append`] and entry bundles are built; without, leaf
    /// hashes are appended with [`TileBuilder::append_leaf`] and only hash
    /// tiles are built.
    pub fn new(bundles: bool) -> Self {
        TileBuilder {
            range: CompactRange::new(),
            levels: vec![OpenTile::empty(0)],
            bundle: bundles.then(|| OpenTile::empty(0)),
            completed: Vec::new(),
            keep_nodes: false,
            nodes: HashMap::new(),
        }
    }

    /// Resumes the tree of `size` leaves from its stored right edge: the
    /// partial hash tile of every tile level (and the partial entry bundle,
    /// with `bundles`), each read from `edge` at its width at `size`. The
    /// compact range is recomputed from those tiles, so the caller checks
    /// [`TileBuilder::root`] against its signed checkpoint. Checks that each
    /// tile has exactly its width and that the partial bundle's entries hash
    /// to the partial level-0 tile. Cost: O(log n) tile reads and hashes.
    pub fn resume(size: u64, edge: &impl TileReader, bundles: bool) -> Result<Self, BuilderError> {
        let read = |tile: &Tile| {
            edge.read_tile(tile).map_err(|source| BuilderError::Read {
                path: tile.path(),
                source,
            })
        };
        let mut levels = Vec::new();
        let mut level = 0usize;
        loop {
            let count = hashes_at(level, size);
            let index = count / TILE_WIDTH;
            let mut open = OpenTile::empty(index);
            if let Some(tile) = hash_tile(level as u8, index, size) {
                let data = read(&tile)?;
                let hashes = tile
                    .parse_hashes(&data)
                    .map_err(|e| BuilderError::Inconsistent {
                        path: tile.path(),
                        detail: e.to_string(),
                    })?;
                open.count = hashes.len() as u16;
                open.data = data;
            }
            levels.push(open);
            if count < TILE_WIDTH {
                break;
            }
            level += 1;
        }
        let bundle = if bundles {
            let index = size / TILE_WIDTH;
            let mut open = OpenTile::empty(index);
            if let Some(tile) = entry_bundle(index, size) {
                let data = read(&tile)?;
                let entries = tile
                    .parse_bundle(&data)
                    .map_err(|e| BuilderError::Inconsistent {
                        path: tile.path(),
                        detail: e.to_string(),
                    })?;
                let level0 = &levels[0].data;
                for (i, e) in entries.iter().enumerate() {
                    let stored = level0.get(i * HASH_SIZE..(i + 1) * HASH_SIZE);
                    if stored != Some(&leaf_hash(e)[..]) {
                        return Err(BuilderError::Inconsistent {
                            path: tile.path(),
                            detail: format!(
                                "entry {} does not hash to its leaf in the level-0 tile",
                                index * TILE_WIDTH + i as u64
                            ),
                        });
                    }
                }
                open.count = entries.len() as u16;
                open.data = data;
            }
            Some(open)
        } else {
            None
        };
        // The peaks are complete nodes at the right edge, so the partial
        // tiles alone determine them.
        let range =
            CompactRange::from_reader(&TileNodeReader::new(EdgeTiles(&levels), size), size)?;
        Ok(TileBuilder {
            range,
            levels,
            bundle,
            completed: Vec::new(),
            keep_nodes: false,
            nodes: HashMap::new(),
        })
    }

    /// Keeps every node hash computed from now until each `take_tiles`
    /// (see [`TileBuilder::nodes`]).
    pub fn keep_nodes(mut self) -> Self {
        self.keep_nodes = true;
        self
    }

    /// Entries in the tree.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The RFC 6962 root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The compact range (size and peaks).
    pub fn range(&self) -> &CompactRange {
        &self.range
    }

    /// Nodes computed since the last `take_tiles` (empty unless
    /// [`TileBuilder::keep_nodes`]).
    pub fn nodes(&self) -> &HashMap<NodeId, Hash> {
        &self.nodes
    }

    /// Appends one entry: its bundle slot, its leaf hash and every hash tile
    /// node it completes. Returns the entry's index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, BuilderError> {
        let Some(bundle) = &mut self.bundle else {
            return Err(BuilderError::WrongMode(
                "builds hash tiles only; append leaf hashes",
            ));
        };
        if entry.len() > MAX_BUNDLE_ENTRY {
            return Err(BuilderError::EntryTooLarge(entry.len()));
        }
        if self.range.size() == u64::MAX {
            return Err(TreeError::TreeFull { size: u64::MAX }.into());
        }
        bundle
            .data
            .extend_from_slice(&(entry.len() as u16).to_be_bytes());
        bundle.data.extend_from_slice(entry);
        bundle.count += 1;
        bundle.dirty = true;
        if u64::from(bundle.count) == TILE_WIDTH {
            let full = std::mem::replace(bundle, OpenTile::empty(bundle.index + 1));
            self.completed.push((
                Tile {
                    level: TileLevel::Entries,
                    index: full.index,
                    width: TILE_WIDTH as u16,
                },
                full.data,
            ));
        }
        self.push_leaf(leaf_hash(entry))
    }

    /// Appends one leaf hash (hash tiles only). Returns its index.
    pub fn append_leaf(&mut self, leaf: Hash) -> Result<u64, BuilderError> {
        if self.bundle.is_some() {
            return Err(BuilderError::WrongMode(
                "builds entry bundles; append entries",
            ));
        }
        self.push_leaf(leaf)
    }

    fn push_leaf(&mut self, leaf: Hash) -> Result<u64, BuilderError> {
        let index = self.range.size();
        let levels = &mut self.levels;
        let completed = &mut self.completed;
        let nodes = &mut self.nodes;
        let keep = self.keep_nodes;
        self.range.append(leaf, |node: NodeId, hash: Hash| {
            if keep {
                nodes.insert(node, hash);
            }
            if !node.level.is_multiple_of(TILE_HEIGHT) {
                return;
            }
            let tl = usize::from(node.level / TILE_HEIGHT);
            if levels.len() <= tl {
                levels.push(OpenTile::empty(0));
            }
            let t = &mut levels[tl];
            t.data.extend_from_slice(&hash);
            t.count += 1;
            t.dirty = true;
            if u64::from(t.count) == TILE_WIDTH {
                let full = std::mem::replace(t, OpenTile::empty(t.index + 1));
                completed.push((
                    Tile {
                        level: TileLevel::Hash(tl as u8),
                        index: full.index,
                        width: TILE_WIDTH as u16,
                    },
                    full.data,
                ));
            }
        })?;
        Ok(index)
    }

    /// The tiles to store for everything appended since the last call:
    /// every tile completed (full, immutable), then the current bytes of
    /// every partial tile that changed, at its width at the current size.
    /// Also forgets the kept nodes.
    pub fn take_tiles(&mut self) -> Vec<(Tile, Vec<u8>)> {
        let mut out = std::mem::take(&mut self.completed);
        for (level, t) in self.levels.iter_mut().enumerate() {
            if t.dirty && t.count > 0 {
                out.push((
                    Tile {
                        level: TileLevel::Hash(level as u8),
                        index: t.index,
                        width: t.count,
                    },
                    t.data.clone(),
                ));
            }
            t.dirty = false;
        }
        if let Some(b) = &mut self.bundle {
            if b.dirty && b.count > 0 {
                out.push((
                    Tile {
                        level: TileLevel::Entries,
                        index: b.index,
                        width: b.count,
                    },
                    b.data.clone(),
                ));
            }
            b.dirty = false;
        }
        self.nodes.clear();
        out
    }

    /// The partial entry bundle's entries (for checks and tests).
    pub fn partial_bundle(&self) -> Result<Vec<&[u8]>, TileError> {
        match &self.bundle {
            Some(b) => decode_bundle(&b.data),
            None => Ok(Vec::new()),
        }
    }
}

/// The open hash tiles as a [`TileReader`], for recomputing the peaks.
struct EdgeTiles<'a>(&'a [OpenTile]);

impl TileReader for EdgeTiles<'_> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let TileLevel::Hash(level) = tile.level else {
            return Err(TileError::NotFound(tile.path()));
        };
        let open = self
            .0
            .get(usize::from(level))
            .filter(|t| t.index == tile.index && t.count == tile.width)
            .ok_or_else(|| TileError::NotFound(tile.path()))?;
        Ok(open.data.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tiles::{MemoryTiles, TileReader};
    use crate::tree::{MemoryTree, tree_root};

    fn entry(i: u64) -> Vec<u8> {
        format!("entry {i}").into_bytes()
    }

    /// Stores tiles as a log would: each write replaces the narrower copy.
    fn store(tiles: &mut MemoryTiles, written: Vec<(Tile, Vec<u8>)>) {
        for (t, d) in written {
            tiles.insert(&t, d);
        }
    }

    #[test]
    fn tiles_match_the_memory_tree_at_every_batch_boundary() {
        // Batches of awkward sizes cross tile and level boundaries.
        let mut b = TileBuilder::new(true);
        let mut tiles = MemoryTiles::new();
        let mut tree = MemoryTree::new();
        let mut n = 0u64;
        for batch in [1u64, 255, 1, 256, 300, 65_536 - 813, 7, 256 * 3] {
            for _ in 0..batch {
                assert_eq!(b.append(&entry(n)).unwrap(), n);
                tree.push_entry(&entry(n));
                n += 1;
            }
            store(&mut tiles, b.take_tiles());
            assert_eq!(b.root(), tree.root());
            let from_tiles = tree_root(&TileNodeReader::new(&tiles, n), n).unwrap();
            assert_eq!(from_tiles, tree.root(), "size {n}");
            let want = MemoryTiles::from_nodes(&tree, n).unwrap();
            for t in crate::tiles::hash_tiles_for_size(n) {
                assert_eq!(tiles.read_tile(&t).unwrap(), want.read_tile(&t).unwrap());
            }
            // Resuming from the stored edge gives the same builder state.
            let mut r = TileBuilder::resume(n, &tiles, true).unwrap();
            assert_eq!(r.root(), b.root());
            assert_eq!(r.range().peaks(), b.range().peaks());
            let mut c = b.clone();
            r.append(b"next").unwrap();
            c.append(b"next").unwrap();
            assert_eq!(r.take_tiles(), c.take_tiles());
        }
    }

    #[test]
    fn resume_refuses_inconsistent_edges() {
        let mut b = TileBuilder::new(true);
        for i in 0..300 {
            b.append(&entry(i)).unwrap();
        }
        let mut tiles = MemoryTiles::new();
        store(&mut tiles, b.take_tiles());
        // A bundle whose entry differs from its leaf hash.
        let mut edited: Vec<Vec<u8>> = (256..300).map(entry).collect();
        edited[43] = b"x".to_vec();
        let refs: Vec<&[u8]> = edited.iter().map(Vec::as_slice).collect();
        let bad = crate::tiles::encode_bundle(&refs).unwrap();
        let mut t2 = tiles.clone();
        t2.insert(&Tile::entries(1, 44).unwrap(), bad);
        assert!(matches!(
            TileBuilder::resume(300, &t2, true),
            Err(BuilderError::Inconsistent { .. })
        ));
        // A missing partial tile.
        assert!(matches!(
            TileBuilder::resume(300, &MemoryTiles::new(), false),
            Err(BuilderError::Read { .. })
        ));
        // Hash-only mode does not need bundles.
        assert_eq!(
            TileBuilder::resume(300, &tiles, false).unwrap().root(),
            b.root()
        );
    }

    #[test]
    fn modes_do_not_mix() {
        assert!(TileBuilder::new(false).append(b"x").is_err());
        assert!(TileBuilder::new(true).append_leaf([0; 32]).is_err());
        assert!(matches!(
            TileBuilder::new(true).append(&vec![0; 65_536]),
            Err(BuilderError::EntryTooLarge(65_536))
        ));
    }

    #[test]
    fn kept_nodes_are_the_batch_nodes() {
        let mut b = TileBuilder::new(false).keep_nodes();
        let mut tree = MemoryTree::new();
        for i in 0..1000u64 {
            let leaf = leaf_hash(&entry(i));
            b.append_leaf(leaf).unwrap();
            tree.push_leaf_hash(leaf);
        }
        for (id, h) in b.nodes() {
            assert_eq!(tree.node(*id), Some(*h));
        }
        assert!(b.nodes().contains_key(&NodeId::new(9, 0)));
        b.take_tiles();
        assert!(b.nodes().is_empty());
    }
}
