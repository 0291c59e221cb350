//! Durable storage of the log in fjall: tiles, entry bundles, indexes and
//! the signed checkpoint, always changed together in one atomic, fsync'd batch.
//!
//! Keyspaces:
//! - `tiles`: `[tile level (0xff = entries)] [tile index u64 BE]` -> tile bytes.
//!   A partial tile is overwritten as it grows; once full it never changes.
//! - `dedup`: leaf hash -> entry index (u64 BE). Also serves inclusion-by-hash.
//! - `assets`: asset SHA-256 || entry index (u64 BE) -> empty. Lookup is a prefix scan.
//! - `meta`: `checkpoint` -> signed checkpoint note; `tree` -> size (u64 BE)
//!   followed by the compact range's peak hashes.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use provlog_client::hash::{HASH_SIZE, Hash};
use provlog_client::tiles::{Tile, TileError, TileLevel, TileReader};

/// Key byte used for entry-bundle tiles in the `tiles` keyspace.
const ENTRIES_LEVEL: u8 = 0xff;
const META_CHECKPOINT: &[u8] = b"checkpoint";
const META_TREE: &[u8] = b"tree";
/// Memtable size of the random-key index keyspaces.
const INDEX_MEMTABLE_BYTES: u64 = 8 << 20;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// fjall failed.
    #[error("storage: {0}")]
    Db(#[from] fjall::Error),
    /// Stored bytes are not what the server wrote.
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
}

/// The log's persistent state.
#[derive(Clone)]
pub struct Store {
    db: Database,
    tiles: Keyspace,
    dedup: Keyspace,
    assets: Keyspace,
    meta: Keyspace,
}

/// The tree state saved with every commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    /// Number of entries.
    pub size: u64,
    /// The compact range's peaks (left to right).
    pub peaks: Vec<Hash>,
}

/// One atomic commit: everything a sequenced batch changes.
#[derive(Default)]
pub struct Commit {
    /// Tiles (hash tiles and entry bundles) with their new bytes.
    pub tiles: Vec<(Tile, Vec<u8>)>,
    /// New leaf hash -> index entries.
    pub dedup: Vec<(Hash, u64)>,
    /// New asset hash -> index entries.
    pub assets: Vec<(Hash, u64)>,
    /// The tree state after the batch.
    pub tree: Option<TreeState>,
    /// The signed checkpoint note after the batch.
    pub checkpoint: Vec<u8>,
}

fn tile_key(level: TileLevel, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = match level {
        TileLevel::Hash(l) => l,
        TileLevel::Entries => ENTRIES_LEVEL,
    };
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

impl Store {
    /// Opens (or creates) the database in `dir/db`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = Database::builder(dir.join("db"))
            // Durability is explicit: every commit fsyncs (see `commit`).
            .manual_journal_persist(true)
            .open()?;
        // The indexes take random 32-byte keys; a smaller memtable keeps
        // their skiplists shallow and cache-friendly (profiled: with the
        // 64 MiB default, memtable inserts and lookups dominated commits).
        let index_opts =
            || KeyspaceCreateOptions::default().max_memtable_size(INDEX_MEMTABLE_BYTES);
        let tiles = db.keyspace("tiles", KeyspaceCreateOptions::default)?;
        let dedup = db.keyspace("dedup", index_opts)?;
        let assets = db.keyspace("assets", index_opts)?;
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default)?;
        Ok(Store {
            db,
            tiles,
            dedup,
            assets,
            meta,
        })
    }

    /// Writes a commit atomically and fsyncs it before returning.
    pub fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (tile, bytes) in c.tiles {
            batch.insert(&self.tiles, tile_key(tile.level, tile.index), bytes);
        }
        for (leaf, index) in c.dedup {
            batch.insert(&self.dedup, leaf, index.to_be_bytes());
        }
        for (asset, index) in c.assets {
            let mut k = [0u8; 40];
            k[..32].copy_from_slice(&asset);
            k[32..].copy_from_slice(&index.to_be_bytes());
            batch.insert(&self.assets, k, []);
        }
        if let Some(tree) = c.tree {
            let mut v = Vec::with_capacity(8 + tree.peaks.len() * HASH_SIZE);
            v.extend_from_slice(&tree.size.to_be_bytes());
            for p in &tree.peaks {
                v.extend_from_slice(p);
            }
            batch.insert(&self.meta, META_TREE, v);
        }
        batch.insert(&self.meta, META_CHECKPOINT, c.checkpoint);
        batch.commit()?;
        Ok(())
    }

    /// The stored checkpoint note, if the log has been initialised.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(META_CHECKPOINT)?.map(|v| v.to_vec()))
    }

    /// The stored tree state, if any.
    pub fn tree_state(&self) -> Result<Option<TreeState>, StoreError> {
        let Some(v) = self.meta.get(META_TREE)? else {
            return Ok(None);
        };
        let Some((size, rest)) = v.split_first_chunk::<8>() else {
            return Err(StoreError::Corrupt(
                "tree state shorter than 8 bytes".into(),
            ));
        };
        if rest.len() % HASH_SIZE != 0 {
            return Err(StoreError::Corrupt("tree state has a partial hash".into()));
        }
        let peaks = rest
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Some(TreeState {
            size: u64::from_be_bytes(*size),
            peaks,
        }))
    }

    /// Raw stored bytes of the tile at (level, index), whatever its width.
    pub fn raw_tile(&self, level: TileLevel, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tiles.get(tile_key(level, index))?.map(|v| v.to_vec()))
    }

    /// Index of the entry with this leaf hash, if logged.
    pub fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        match self.dedup.get(leaf)? {
            None => Ok(None),
            Some(v) => {
                let b: [u8; 8] = v
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("dedup value is not 8 bytes".into()))?;
                Ok(Some(u64::from_be_bytes(b)))
            }
        }
    }

    /// Indexes of every entry that claims this asset, at most `limit`.
    pub fn lookup_asset(&self, asset: &Hash, limit: usize) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for kv in self.assets.prefix(asset).take(limit) {
            let key = kv.key()?;
            let b: [u8; 8] = key
                .get(32..40)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| StoreError::Corrupt("asset key is not 40 bytes".into()))?;
            out.push(u64::from_be_bytes(b));
        }
        Ok(out)
    }

    /// Bytes on disk used by the database.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}

/// A [`TileReader`] over the store that serves a tile of the asked width
/// from the stored (possibly wider) tile. Widths only grow and the first
/// `w` hashes or entries of a tile never change, so a prefix is exact.
pub struct StoreTiles<'a>(pub &'a Store);

impl TileReader for StoreTiles<'_> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let raw = self
            .0
            .raw_tile(tile.level, tile.index)
            .map_err(|e| TileError::Read {
                path: tile.path(),
                message: e.to_string(),
            })?
            .ok_or_else(|| TileError::NotFound(tile.path()))?;
        tile_prefix(tile, &raw).map_err(|message| TileError::Read {
            path: tile.path(),
            message,
        })
    }
}

/// Cuts a stored tile down to the width `tile` asks for.
pub fn tile_prefix(tile: &Tile, raw: &[u8]) -> Result<Vec<u8>, String> {
    let width = usize::from(tile.width);
    match tile.level {
        TileLevel::Hash(_) => {
            let want = width * HASH_SIZE;
            raw.get(..want).map(<[u8]>::to_vec).ok_or_else(|| {
                format!(
                    "tile {} is stored with width {}, narrower than asked",
                    tile.path(),
                    raw.len() / HASH_SIZE
                )
            })
        }
        TileLevel::Entries => {
            // Walk `width` length-prefixed entries.
            let mut pos = 0usize;
            for _ in 0..width {
                let len = raw
                    .get(pos..pos + 2)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    .ok_or_else(|| format!("bundle {} is shorter than asked", tile.path()))?;
                pos += 2 + len;
                if pos > raw.len() {
                    return Err(format!("bundle {} is truncated", tile.path()));
                }
            }
            Ok(raw[..pos].to_vec())
        }
    }
}
