//! The embedded default backend: the log in fjall, implementing both
//! [`LogStorage`] and [`IndexStorage`]. Tiles, entry bundles, index entries
//! and the signed checkpoint of a batch are always written together in one
//! atomic, fsync'd fjall batch: [`LogStorage::stage`] and
//! [`IndexStorage::stage_indexes`] only buffer, and
//! [`LogStorage::swap_checkpoint`] compares the stored checkpoint with the
//! expected one and writes the buffer with the new checkpoint. That is a
//! valid implementation of stage-then-swap (see [`crate::storage`]): a crash
//! before the write leaves none of the batch, after it all of it, and
//! nothing staged is readable before the swap. `settle` has nothing to do.
//! fjall locks its directory, so no second process can open the log; in
//! this process the compare and the write happen under one lock.
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

use fjall::{
    Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch as WriteBatch, PersistMode,
};
use provlog_core::hash::{EMPTY_ROOT, HASH_SIZE, Hash, sha256};
use provlog_core::tiles::{TileLevel, TileNodeReader};
use provlog_core::tree::{CompactRange, tree_root};

use crate::storage::{IndexStorage, LogStorage, StagedBatch, StorageError, StorageTiles, TreeHead};

/// Key byte used for entry-bundle tiles in the `tiles` keyspace.
const ENTRIES_LEVEL: u8 = 0xff;
const META_CHECKPOINT: &[u8] = b"checkpoint";
const META_TREE: &[u8] = b"tree";
/// Memtable size of the random-key index keyspaces.
const INDEX_MEMTABLE_BYTES: u64 = 8 << 20;

/// What every message about a damaged data directory says about backups.
pub const ROLLBACK_WARNING: &str = "do not simply restore an older backup: a log restored from a backup has forgotten the entries it acknowledged since, and logging new ones at their indexes forks the log, which its witnesses and monitors will prove; if a backup is all there is, start a new log with a new key and origin from it";

/// The data directory's lock file (holding the pid of the server using it).
pub const LOCK_FILE: &str = "provlog-server.lock";

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
        "cannot open the log database in {dir}: {source}; the data directory is damaged, refusing to serve (run `provlog-server check --data DIR` for details; {ROLLBACK_WARNING})"
    )]
    Open {
        /// The database directory.
        dir: String,
        /// What fjall reported.
        source: fjall::Error,
    },
    /// The storage engine panicked while recovering the database.
    #[error(
        "cannot open the log database in {dir}: recovery failed ({detail}); the data directory is damaged, refusing to serve ({ROLLBACK_WARNING})"
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
    /// Another process holds the data directory.
    #[error(
        "the data directory {dir} is in use by another process{}; stop it first (the directory is not damaged)",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    InUse {
        /// The data directory.
        dir: String,
        /// The holder's pid, if it recorded one.
        pid: Option<u32>,
    },
    /// The database directory cannot be examined.
    #[error("data directory {path}: {message}")]
    Dir {
        /// The directory.
        path: String,
        /// Why.
        message: String,
    },
    /// The high-water mark file cannot be read or written.
    #[error("high-water mark {path}: {message}")]
    HighWater {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// The log's persistent state in fjall. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct Store {
    db: Database,
    tiles: Keyspace,
    dedup: Keyspace,
    assets: Keyspace,
    meta: Keyspace,
    high_water: Arc<Mutex<HighWater>>,
    /// The staged batch, buffered until its swap (see the module docs).
    staged: Arc<Mutex<Option<Staged>>>,
    /// The data directory's lock (`provlog-server.lock`, holding our pid),
    /// held while any handle is alive.
    _lock: Arc<File>,
    /// The database directory and its identity (device, inode) at open.
    dir: std::path::PathBuf,
    dir_id: (u64, u64),
}

/// What is buffered for the batch growing the tree to `head`.
struct Staged {
    head: TreeHead,
    batch: WriteBatch,
}

/// The tree state saved with every batch: the compact range. Kept (as in
/// every earlier version of the layout) as a start-up cross-check of the
/// checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    /// Number of entries.
    pub size: u64,
    /// The compact range's peaks (left to right).
    pub peaks: Vec<Hash>,
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

/// The asset index key: asset hash, then the entry index (big-endian), so
/// a prefix scan lists an asset's entries in log order.
pub(crate) fn asset_key(asset: &Hash, index: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(asset);
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The index stored for `leaf` in a dedup keyspace (8 bytes, big-endian).
/// Shared by the embedded store and the S3 backend's local index.
/// Calls `f` with every key of a dedup keyspace (a snapshot: fjall's
/// iterator), each a leaf hash. Keys of another length cannot be found by
/// a leaf look-up and are passed over.
pub(crate) fn dedup_leaves(dedup: &Keyspace, f: &mut dyn FnMut(&Hash)) -> Result<(), StorageError> {
    for kv in dedup.iter() {
        let k = kv.key()?;
        if let Ok(leaf) = <Hash>::try_from(k.as_ref()) {
            f(&leaf);
        }
    }
    Ok(())
}

pub(crate) fn dedup_get(dedup: &Keyspace, leaf: &Hash) -> Result<Option<u64>, StorageError> {
    match dedup.get(leaf)? {
        None => Ok(None),
        Some(v) => {
            let b: [u8; 8] = v
                .as_ref()
                .try_into()
                .map_err(|_| StorageError::Corrupt("dedup value is not 8 bytes".into()))?;
            Ok(Some(u64::from_be_bytes(b)))
        }
    }
}

/// Up to `limit` entry indexes of `asset` in an asset keyspace, in log
/// order (see [`asset_key`]).
pub(crate) fn assets_scan(
    assets: &Keyspace,
    asset: &Hash,
    limit: usize,
) -> Result<Vec<u64>, StorageError> {
    let mut out = Vec::new();
    for kv in assets.prefix(asset).take(limit) {
        let key = kv.key()?;
        let b: [u8; 8] = key
            .get(32..40)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| StorageError::Corrupt("asset key is not 40 bytes".into()))?;
        out.push(u64::from_be_bytes(b));
    }
    Ok(out)
}

/// Locks `dir` (creating it and the lock file), recording our pid, so that a
/// second server on the same directory is told it is in use (by whom),
/// rather than that it is damaged.
fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |e: std::io::Error| StoreError::Dir {
            path,
            message: e.to_string(),
        }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(StoreError::InUse {
                dir: dir.display().to_string(),
                pid: text.trim().parse().ok(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
    }
    // Best effort: the pid only makes the "in use" message more useful.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()));
    Ok(file)
}

/// Creates an empty database atomically: built in `db.creating` (removing
/// what an interrupted creation left there), then renamed to `db` and the
/// rename made durable. So a kill during the first start leaves either no
/// `db` (the next start creates it) or a complete, empty one.
fn create_db(dir: &Path, db_dir: &Path) -> Result<(), StoreError> {
    let creating = dir.join("db.creating");
    let fail = |e: String| StoreError::Dir {
        path: creating.display().to_string(),
        message: e,
    };
    if creating.exists() {
        std::fs::remove_dir_all(&creating).map_err(|e| fail(e.to_string()))?;
    }
    {
        let db = Database::builder(&creating)
            .manual_journal_persist(true)
            .open()
            .map_err(|e| fail(e.to_string()))?;
        // The same options as `Store::open` gives them.
        let index_opts =
            || KeyspaceCreateOptions::default().max_memtable_size(INDEX_MEMTABLE_BYTES);
        for (name, index) in [
            ("tiles", false),
            ("dedup", true),
            ("assets", true),
            ("meta", false),
        ] {
            let made = if index {
                db.keyspace(name, index_opts)
            } else {
                db.keyspace(name, KeyspaceCreateOptions::default)
            };
            made.map_err(|e| fail(e.to_string()))?;
        }
        db.persist(PersistMode::SyncAll)
            .map_err(|e| fail(e.to_string()))?;
    }
    std::fs::rename(&creating, db_dir).map_err(|e| fail(e.to_string()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| fail(e.to_string()))
}

impl From<fjall::Error> for StorageError {
    fn from(e: fjall::Error) -> Self {
        // fjall refuses every write after a failed journal write (it is
        // "poisoned"); disk full and a read-only file system are such
        // failures. Only a restart (once the cause is fixed) recovers.
        let fatal_io = |k: std::io::ErrorKind| {
            matches!(
                k,
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::ReadOnlyFilesystem
            )
        };
        match &e {
            fjall::Error::Poisoned => StorageError::Unrecoverable(
                "the storage engine refuses writes after a failed write (was the disk full or read-only?)"
                    .into(),
            ),
            fjall::Error::Io(io) if fatal_io(io.kind()) => {
                StorageError::Unrecoverable(format!("writing the log failed: {io}"))
            }
            _ => StorageError::Backend(e.to_string()),
        }
    }
}

impl From<StoreError> for StorageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(m) => StorageError::Corrupt(m),
            e => StorageError::Backend(e.to_string()),
        }
    }
}

impl Store {
    /// Opens (or creates) the database in `dir/db`.
    /// Refuses a database that holds less than the high-water mark.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let lock = lock_dir(dir)?;
        let db_dir = dir.join("db");
        if !db_dir.exists() {
            create_db(dir, &db_dir)?;
        }
        // fjall's journal recovery can panic on some damaged bytes (a
        // `debug_assert` on an on-disk length in fjall 3.1's journal entry
        // decoder); turn that into the same clear refusal as other damage.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let db = Database::builder(&db_dir)
                // Durability is explicit: every swap fsyncs.
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
        let (db, tiles, dedup, assets, meta) = opened.map_err(|source| match source {
            // Our own lock is taken first, so this is another program.
            fjall::Error::Locked => StoreError::InUse {
                dir: dir.display().to_string(),
                pid: None,
            },
            source => StoreError::Open {
                dir: db_dir.display().to_string(),
                source,
            },
        })?;
        let high_water = HighWater::open(&dir.join(HIGH_WATER_FILE))?;
        let store = Store {
            db,
            tiles,
            dedup,
            assets,
            meta,
            high_water: Arc::new(Mutex::new(high_water)),
            staged: Arc::new(Mutex::new(None)),
            _lock: Arc::new(lock),
            dir: db_dir.clone(),
            dir_id: {
                use std::os::unix::fs::MetadataExt;
                let m = std::fs::metadata(&db_dir).map_err(|e| StoreError::Dir {
                    path: db_dir.display().to_string(),
                    message: e.to_string(),
                })?;
                (m.dev(), m.ino())
            },
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
            tree_root(&TileNodeReader::new(StorageTiles(self), stored), size).map_err(|e| {
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

    /// Writes every memtable out to table files and waits (shutdown, tests,
    /// audits): everything is already durable in the journal; this spares
    /// the next start from replaying it.
    pub fn flush(&self) -> Result<(), StoreError> {
        for ks in [&self.tiles, &self.dedup, &self.assets, &self.meta] {
            ks.rotate_memtable_and_wait()?;
        }
        Ok(())
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

    /// Refuses to write when the data directory is no longer the one the
    /// store opened (removed or replaced under the running server): fjall
    /// would go on writing into unlinked files, and acknowledge claims that
    /// no restart can find. One `stat` per commit.
    fn check_dir(&self) -> Result<(), StorageError> {
        use std::os::unix::fs::MetadataExt;
        let gone = |why: String| {
            StorageError::Unrecoverable(format!(
                "the data directory {} {why} while the log was running",
                self.dir.display()
            ))
        };
        match std::fs::metadata(&self.dir) {
            Ok(m) if (m.dev(), m.ino()) == self.dir_id => Ok(()),
            Ok(_) => Err(gone("was replaced".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(gone("was removed".into())),
            Err(e) => Err(gone(format!("cannot be read ({e})"))),
        }
    }

    /// Bytes on disk used by the database.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }

    /// The buffer of the batch growing the tree to `head`, started afresh
    /// if another batch (never swapped in) was buffered.
    fn staged_for<'a>(&self, slot: &'a mut Option<Staged>, head: &TreeHead) -> &'a mut WriteBatch {
        if slot.as_ref().is_some_and(|s| s.head != *head) {
            *slot = None;
        }
        &mut slot
            .get_or_insert_with(|| Staged {
                head: *head,
                batch: self.db.batch(),
            })
            .batch
    }
}

impl LogStorage for Store {
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.meta.get(META_CHECKPOINT)?.map(|v| v.to_vec()))
    }

    fn tile(&self, level: TileLevel, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.raw_tile(level, index)?)
    }

    /// Buffers the tiles and the tree state; nothing is written until the swap.
    fn stage(&self, head: &TreeHead, batch: &StagedBatch) -> Result<(), StorageError> {
        let mut guard = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        // A new batch: forget whatever an unswapped one buffered.
        *guard = None;
        let b = self.staged_for(&mut guard, head);
        for (tile, bytes) in &batch.tiles {
            b.insert(
                &self.tiles,
                tile_key(tile.level, tile.index),
                bytes.as_slice(),
            );
        }
        let mut v = Vec::with_capacity(8 + batch.peaks.len() * HASH_SIZE);
        v.extend_from_slice(&head.size.to_be_bytes());
        for p in &batch.peaks {
            v.extend_from_slice(p);
        }
        b.insert(&self.meta, META_TREE, v);
        Ok(())
    }

    /// Compares under a lock, then writes the buffered batch with the new
    /// checkpoint in one fsync'd fjall batch; records the high-water mark
    /// once that is durable.
    fn swap_checkpoint(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        head: &TreeHead,
    ) -> Result<(), StorageError> {
        let mut guard = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        self.check_dir()?;
        let current = self.meta.get(META_CHECKPOINT)?;
        if current.as_deref() != old {
            *guard = None;
            return Err(StorageError::Conflict(format!(
                "expected {}, found {}",
                if old.is_some() {
                    "a checkpoint"
                } else {
                    "none"
                },
                if current.is_some() {
                    "another checkpoint"
                } else {
                    "none"
                }
            )));
        }
        let staged = match guard.take() {
            Some(s) if s.head == *head => s.batch,
            // Staged for another tree, or nothing staged (a refresh).
            _ => self.db.batch(),
        };
        let mut batch = staged.durability(Some(PersistMode::SyncAll));
        batch.insert(&self.meta, META_CHECKPOINT, new);
        batch.commit()?;
        // Only after the commit is durable: the mark never runs ahead of it.
        self.high_water
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(head.size, head.root)?;
        Ok(())
    }

    /// Everything was written by the swap; drops a buffer never swapped in.
    fn settle(&self, head: &TreeHead) -> Result<(), StorageError> {
        let mut guard = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        let _ = head;
        *guard = None;
        Ok(())
    }

    /// The stored compact range must be the checkpoint's tree.
    fn self_check(&self, head: &TreeHead) -> Result<(), StorageError> {
        let tree = self.tree_state()?.ok_or_else(|| {
            StorageError::Corrupt("a checkpoint is stored but no tree state".into())
        })?;
        if tree.size != head.size {
            return Err(StorageError::Corrupt(format!(
                "stored checkpoint has size {} but the stored tree has {} entries",
                head.size, tree.size
            )));
        }
        let range = CompactRange::from_parts(tree.size, tree.peaks)
            .map_err(|e| StorageError::Corrupt(format!("stored tree state is invalid: {e}")))?;
        if range.root() != head.root {
            return Err(StorageError::Corrupt(
                "stored tree state does not hash to the checkpoint root".into(),
            ));
        }
        Ok(())
    }
}

impl IndexStorage for Store {
    fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StorageError> {
        dedup_get(&self.dedup, leaf)
    }

    fn lookup_asset(&self, asset: &Hash, limit: usize) -> Result<Vec<u64>, StorageError> {
        assets_scan(&self.assets, asset, limit)
    }

    fn has_asset_entry(&self, asset: &Hash, index: u64) -> Result<bool, StorageError> {
        Ok(self.assets.contains_key(asset_key(asset, index))?)
    }

    fn for_each_leaf(&self, f: &mut dyn FnMut(&Hash)) -> Result<bool, StorageError> {
        dedup_leaves(&self.dedup, f)?;
        Ok(true)
    }

    /// Buffers the entries into the batch staged for `head`.
    fn stage_indexes(
        &self,
        head: &TreeHead,
        dedup: &[(Hash, u64)],
        assets: &[(Hash, u64)],
    ) -> Result<(), StorageError> {
        let mut guard = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        let b = self.staged_for(&mut guard, head);
        for (leaf, index) in dedup {
            b.insert(&self.dedup, leaf, index.to_be_bytes());
        }
        for (asset, index) in assets {
            b.insert(&self.assets, asset_key(asset, *index), []);
        }
        Ok(())
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
