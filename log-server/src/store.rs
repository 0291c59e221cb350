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
//!
//! Next to the database, `tree-head` holds a high-water mark: the size and
//! root of the newest tree committed, written after each commit is durable
//! (see [`HighWater`]). On open, a database that holds less than the mark, or
//! a different tree at the mark's size, has lost or changed acknowledged
//! entries (a truncated journal, a restored stale copy) and is refused.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use provlog_core::hash::{EMPTY_ROOT, HASH_SIZE, Hash, sha256};
use provlog_core::tiles::{Tile, TileError, TileLevel, TileNodeReader, TileReader};
use provlog_core::tree::{CompactRange, tree_root};

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
    /// The database cannot be opened (damaged journal or tables).
    #[error(
        "cannot open the log database in {dir}: {source}; the data directory is damaged, refusing to serve (restore it from a backup, or run `provlog-server check --data DIR` for details)"
    )]
    Open {
        /// The database directory.
        dir: String,
        /// What fjall reported.
        source: fjall::Error,
    },
    /// The storage engine panicked while recovering the database.
    #[error(
        "cannot open the log database in {dir}: recovery failed ({detail}); the data directory is damaged, refusing to serve (restore it from a backup)"
    )]
    Damaged {
        /// The database directory.
        dir: String,
        /// The panic message.
        detail: String,
    },
    /// The database holds less than (or other than) what was acknowledged.
    #[error(
        "storage lost acknowledged entries, refusing to serve: {0} (a truncated journal or a restored stale copy; serving it would fork the log)"
    )]
    RolledBack(String),
    /// The high-water mark file cannot be read or written.
    #[error("high-water mark {path}: {message}")]
    HighWater {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// The log's persistent state.
#[derive(Clone)]
pub struct Store {
    db: Database,
    tiles: Keyspace,
    dedup: Keyspace,
    assets: Keyspace,
    meta: Keyspace,
    high_water: Arc<Mutex<HighWater>>,
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
    /// Refuses a database that holds less than the high-water mark.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db_dir = dir.join("db");
        // fjall's journal recovery can panic on some damaged bytes (a
        // `debug_assert` on an on-disk length in fjall 3.1's journal entry
        // decoder); turn that into the same clear refusal as other damage.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let db = Database::builder(&db_dir)
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
            Ok::<_, fjall::Error>((db, tiles, dedup, assets, meta))
        }))
        .map_err(|panic| StoreError::Damaged {
            dir: db_dir.display().to_string(),
            detail: panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "fjall panicked while recovering".into()),
        })?;
        let (db, tiles, dedup, assets, meta) = opened.map_err(|source| StoreError::Open {
            dir: db_dir.display().to_string(),
            source,
        })?;
        let high_water = HighWater::open(&dir.join(HIGH_WATER_FILE))?;
        let store = Store {
            db,
            tiles,
            dedup,
            assets,
            meta,
            high_water: Arc::new(Mutex::new(high_water)),
        };
        store.check_high_water()?;
        Ok(store)
    }

    /// Checks that the database holds the tree the high-water mark names:
    /// at least that many entries, and the same root at that size.
    fn check_high_water(&self) -> Result<(), StoreError> {
        let mark = self
            .high_water
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .mark;
        let Some((size, root)) = mark else {
            return Ok(());
        };
        let stored = self.tree_state()?.map(|t| t.size).unwrap_or(0);
        if stored < size {
            return Err(StoreError::RolledBack(format!(
                "the log committed a tree of {size} entries but the database holds {stored}"
            )));
        }
        let at_mark = if size == 0 {
            EMPTY_ROOT
        } else {
            tree_root(&TileNodeReader::new(StoreTiles(self), stored), size).map_err(|e| {
                StoreError::Corrupt(format!(
                    "cannot recompute the committed tree of {size} entries from the stored tiles: {e}; refusing to serve"
                ))
            })?
        };
        if at_mark != root {
            return Err(StoreError::Corrupt(format!(
                "the stored tiles do not reproduce the tree the log committed at size {size}; refusing to serve"
            )));
        }
        Ok(())
    }

    /// Writes every memtable out to table files and waits (tests, audits).
    pub fn flush(&self) -> Result<(), StoreError> {
        for ks in [&self.tiles, &self.dedup, &self.assets, &self.meta] {
            ks.rotate_memtable_and_wait()?;
        }
        Ok(())
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
        let mark = c
            .tree
            .as_ref()
            .and_then(|t| CompactRange::from_parts(t.size, t.peaks.clone()).ok())
            .map(|r| (r.size(), r.root()));
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
        // Only after the commit is durable: the mark never runs ahead of it.
        if let Some((size, root)) = mark {
            self.high_water
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record(size, root)?;
        }
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

    /// Whether the asset index has `index` under `asset`.
    pub fn lookup_asset_at(&self, asset: &Hash, index: u64) -> Result<bool, StoreError> {
        let mut k = [0u8; 40];
        k[..32].copy_from_slice(asset);
        k[32..].copy_from_slice(&index.to_be_bytes());
        Ok(self.assets.contains_key(k)?)
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

/// File name of the high-water mark inside the data directory.
pub const HIGH_WATER_FILE: &str = "tree-head";
const HW_MAGIC: &[u8; 4] = b"PLHW";
const HW_SLOT: usize = 64;
/// magic, size, root, then the first 8 bytes of SHA-256 over those.
const HW_RECORD: usize = 4 + 8 + HASH_SIZE + 8;

/// The high-water mark: the size and root of the newest committed tree, in
/// two checksummed slots written alternately, so a torn write of one slot
/// leaves the previous mark in the other. It is written after each commit
/// is durable and not fsynced itself: a crash can only leave it behind the
/// database (a weaker check), never ahead of it (a false alarm). It catches
/// a database that lost its tail or was replaced by an older copy while the
/// mark survived; witnesses catch a rollback of the whole data directory.
struct HighWater {
    file: File,
    path: String,
    next_slot: usize,
    /// Newest valid mark: (size, root).
    mark: Option<(u64, Hash)>,
}

impl HighWater {
    fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let err = |e: std::io::Error| StoreError::HighWater {
            path: shown.clone(),
            message: e.to_string(),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(err)?;
        let mut buf = Vec::new();
        Read::by_ref(&mut file)
            .take(2 * HW_SLOT as u64)
            .read_to_end(&mut buf)
            .map_err(err)?;
        let slots: Vec<Option<(u64, Hash)>> = (0..2)
            .map(|i| {
                buf.get(i * HW_SLOT..i * HW_SLOT + HW_RECORD)
                    .and_then(decode_mark)
            })
            .collect();
        let any_bytes = buf.iter().any(|&b| b != 0);
        if any_bytes && slots.iter().all(Option::is_none) {
            return Err(StoreError::HighWater {
                path: shown,
                message: "both slots are corrupt; the data directory is damaged, refusing to serve"
                    .into(),
            });
        }
        // The newer (larger) mark wins; write next over the older slot.
        let (next_slot, mark) = match (slots[0], slots[1]) {
            (Some(a), Some(b)) if b.0 > a.0 => (0, Some(b)),
            (Some(a), _) => (1, Some(a)),
            (None, Some(b)) => (0, Some(b)),
            (None, None) => (0, None),
        };
        Ok(HighWater {
            file,
            path: shown,
            next_slot,
            mark,
        })
    }

    fn record(&mut self, size: u64, root: Hash) -> Result<(), StoreError> {
        if self.mark == Some((size, root)) {
            return Ok(());
        }
        let mut rec = [0u8; HW_RECORD];
        rec[..4].copy_from_slice(HW_MAGIC);
        rec[4..12].copy_from_slice(&size.to_be_bytes());
        rec[12..44].copy_from_slice(&root);
        let sum = sha256(&rec[..44]);
        rec[44..].copy_from_slice(&sum[..8]);
        let offset = (self.next_slot * HW_SLOT) as u64;
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(&rec))
            .map_err(|e| StoreError::HighWater {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        self.next_slot ^= 1;
        self.mark = Some((size, root));
        Ok(())
    }
}

fn decode_mark(rec: &[u8]) -> Option<(u64, Hash)> {
    let (body, sum) = rec.split_at_checked(44)?;
    if body.get(..4)? != HW_MAGIC || sum != &sha256(body)[..8] {
        return None;
    }
    let size = u64::from_be_bytes(body.get(4..12)?.try_into().ok()?);
    let root: Hash = body.get(12..44)?.try_into().ok()?;
    Some((size, root))
}
