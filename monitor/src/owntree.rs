//! The monitor's own copy of a log's tree: the compact range used to
//! re-derive roots, and the hash tiles it writes as leaves are appended.

use provlog_core::hash::{HASH_SIZE, Hash};
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::{CompactRange, NodeId, TreeError, consistency_proof, tree_root};

use crate::store::{AuditState, OwnTiles, Store, StoreError};

const WIDTH: usize = 256;

#[derive(Debug, Clone, Default)]
struct OpenTile {
    index: u64,
    data: Vec<u8>,
    dirty: bool,
}

/// One log's audited tree.
#[derive(Debug, Clone)]
pub struct OwnTree {
    range: CompactRange,
    open: Vec<OpenTile>,
    /// The log-signed checkpoint matching the tree (empty before the first audit).
    pub checkpoint: Vec<u8>,
    /// Tiles completed or changed since the last [`OwnTree::take_tiles`].
    full: Vec<(u8, u64, Vec<u8>)>,
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
            range: CompactRange::new(),
            open: vec![OpenTile::default()],
            checkpoint: Vec::new(),
            full: Vec::new(),
        }
    }

    /// Loads the audited tree of `origin` from the store.
    pub fn load(store: &Store, origin: &str) -> Result<Self, StoreError> {
        let st = store.audit_state(origin)?;
        let range = CompactRange::from_parts(st.size, st.peaks)
            .map_err(|e| StoreError::Corrupt(format!("audit state of {origin}: {e}")))?;
        let mut open = Vec::new();
        let mut level = 0u8;
        loop {
            let nodes = if u32::from(level) * 8 >= 64 {
                0
            } else {
                st.size >> (u32::from(level) * 8)
            };
            let index = nodes / WIDTH as u64;
            let count = (nodes % WIDTH as u64) as usize;
            let mut t = OpenTile {
                index,
                ..OpenTile::default()
            };
            if count > 0 {
                let raw = store.raw_tile(origin, level, index)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("{origin}: tile {level}/{index} missing"))
                })?;
                t.data = raw
                    .get(..count * HASH_SIZE)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("{origin}: tile {level}/{index} too short"))
                    })?
                    .to_vec();
            }
            open.push(t);
            if nodes < WIDTH as u64 {
                break;
            }
            level += 1;
        }
        Ok(OwnTree {
            range,
            open,
            checkpoint: st.checkpoint,
            full: Vec::new(),
        })
    }

    /// Entries in the tree.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The RFC 6962 root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// Appends one leaf hash, collecting the tiles it completes.
    pub fn append(&mut self, leaf: Hash) -> Result<(), TreeError> {
        let open = &mut self.open;
        let full = &mut self.full;
        self.range.append(leaf, |node: NodeId, hash: Hash| {
            if !node.level.is_multiple_of(8) {
                return;
            }
            let tl = usize::from(node.level / 8);
            while open.len() <= tl {
                open.push(OpenTile::default());
            }
            let t = &mut open[tl];
            t.data.extend_from_slice(&hash);
            t.dirty = true;
            if t.data.len() == WIDTH * HASH_SIZE {
                full.push((tl as u8, t.index, std::mem::take(&mut t.data)));
                *t = OpenTile {
                    index: t.index + 1,
                    ..OpenTile::default()
                };
            }
        })
    }

    /// The tiles to write with the next commit: every completed tile and
    /// the current bytes of every changed partial tile.
    pub fn take_tiles(&mut self) -> Vec<(u8, u64, Vec<u8>)> {
        let mut out = std::mem::take(&mut self.full);
        for (level, t) in self.open.iter_mut().enumerate() {
            if t.dirty && !t.data.is_empty() {
                out.push((level as u8, t.index, t.data.clone()));
            }
            t.dirty = false;
        }
        out
    }

    /// The state to persist with the tiles.
    pub fn state(&self) -> AuditState {
        AuditState {
            size: self.range.size(),
            peaks: self.range.peaks().to_vec(),
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
