//! The storage seam: what the sequencer, the publisher, the HTTP reads and
//! the offline audit need from storage, shaped so that an object store (S3)
//! can implement it as well as the embedded fjall database.
//!
//! The model is Sunlight's (`Backend` + `LockBackend`): a log is a set of
//! immutable objects (tiles and entry bundles; a partial tile is overwritten
//! by a wider copy as it grows, a full tile never changes) plus ONE mutable
//! object, the checkpoint, replaced only by compare-and-swap. A batch is
//! committed in three steps:
//!
//! 1. **stage**: [`LogStorage::stage`] the batch's tiles and
//!    [`IndexStorage::stage_indexes`] its index entries. Nothing staged is
//!    visible to readers of the log yet.
//! 2. **swap**: [`LogStorage::swap_checkpoint`] replaces the checkpoint the
//!    sequencer last read or wrote by the new one, atomically, and only if it
//!    is still that one. This is the commit point: a batch is in the log if
//!    and only if its checkpoint was swapped in. Two sequencers can never
//!    both publish: the second swap fails with [`StorageError::Conflict`].
//! 3. **settle**: [`LogStorage::settle`] makes the tiles staged for the
//!    current checkpoint's tree readable where readers look for them, and
//!    forgets every other staged batch.
//!
//! The sequencer issues receipts only after all three succeed. After any
//! failure, and at start-up, it reads the checkpoint back and calls `settle`
//! with that checkpoint's tree: this finishes a batch whose swap succeeded
//! (even if the caller saw an error) and discards one whose swap did not.
//!
//! A backend may buffer what is staged and make it durable together with the
//! swap: fjall does exactly that, writing tiles, indexes and the checkpoint in
//! one atomic, fsync'd batch ([`crate::store::Store`]). That is a valid
//! implementation of stage-then-swap: a crash before the write leaves none of
//! the batch, after it all of it, so the checkpoint never names a tree whose
//! tiles are missing. An object store instead uploads a staging object per
//! batch (keyed by the new tree head), swaps the checkpoint with a
//! conditional put, then copies the staged tiles to their public keys.
//!
//! Every method is blocking: the sequencer runs on its own thread, and async
//! callers use `spawn_blocking` for anything that is not a cached read.

use provlog_core::hash::Hash;
use provlog_core::tiles::{Tile, TileError, TileLevel, TileReader, tile_at_size};

/// The tree a checkpoint names and a staged batch builds: its size and root.
/// A staged batch is identified by the head it grows the tree to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root.
    pub root: Hash,
}

/// What one batch stages before its checkpoint is swapped in.
#[derive(Clone, Debug, Default)]
pub struct StagedBatch {
    /// The tiles to write, each at its width at the new size: the full tiles
    /// the batch completed, then the partial right-edge tiles it changed.
    pub tiles: Vec<(Tile, Vec<u8>)>,
    /// The compact range's peaks of the new tree (left to right), for
    /// backends that keep them as a start-up cross-check.
    pub peaks: Vec<Hash>,
}

/// Storage failures. None of them has changed the log unless the method's
/// contract says so (see each method).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The backend failed (I/O, network, engine). Whether a write took
    /// effect is unknown: the caller must read the state back.
    #[error("storage failed: {0}")]
    Backend(String),
    /// Stored bytes are not what the log wrote.
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
    /// The compare-and-swap of the checkpoint found another checkpoint than
    /// the expected one (another sequencer, or an earlier swap that succeeded
    /// although its caller saw an error).
    #[error("the stored checkpoint is not the one this sequencer expected: {0}")]
    Conflict(String),
    /// The backend cannot write again in this process (fjall is poisoned
    /// after a failed journal write, e.g. disk full or a read-only file
    /// system; the data directory was removed). Everything acknowledged is
    /// durable; the process must exit so that a supervisor restarts it once
    /// the cause is fixed. Whether the failed write took effect is unknown,
    /// as for [`StorageError::Backend`].
    #[error("storage cannot continue in this process: {0}")]
    Unrecoverable(String),
}

/// The log's tiles, entry bundles and checkpoint. See the module docs for
/// the commit protocol. Every method may be called from any thread; the
/// write methods (`stage`, `swap_checkpoint`, `settle`) are only called by
/// the one sequencer, never concurrently with each other.
pub trait LogStorage: Send + Sync {
    /// The current checkpoint: the `new` note of the last successful
    /// [`LogStorage::swap_checkpoint`], `None` before the first. Strongly
    /// consistent: once a swap has returned `Ok`, this returns its note (or a
    /// later one), in this and every other process.
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError>;

    /// The stored bytes of the tile or entry bundle at (`level`, `index`),
    /// `None` if none is stored. Only tiles of trees a swapped checkpoint
    /// named, and that [`LogStorage::settle`] made readable, are returned;
    /// a stored partial tile may be wider than the width a given tree size
    /// needs (its first `w` hashes or entries are that tile at width `w`,
    /// since they never change). Readers ask only for tiles of trees no
    /// larger than the newest settled checkpoint.
    fn tile(&self, level: TileLevel, index: u64) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stages the tiles of the batch that grows the tree to `head`.
    /// Durability: durable no later than the return of the successful
    /// [`LogStorage::swap_checkpoint`] naming `head` (a backend may persist
    /// them now, or buffer them and persist them atomically with the swap).
    /// Visibility: not returned by [`LogStorage::tile`] until `settle(head)`
    /// (so a full tile of a batch that is never committed can never be
    /// read, cached, and later contradicted). Staging a batch forgets any
    /// earlier batch staged but not swapped in. On error, nothing is
    /// visible and the batch must not be swapped in.
    fn stage(&self, head: &TreeHead, batch: &StagedBatch) -> Result<(), StorageError>;

    /// Replaces the checkpoint `old` (`None`: no checkpoint is stored yet)
    /// by `new`, the signed checkpoint of `head`, atomically and only if the
    /// stored checkpoint is still exactly `old`; otherwise
    /// [`StorageError::Conflict`] and nothing changes. This is the commit
    /// point of the batch staged for `head` (a refresh of the same tree with
    /// a new timestamp stages nothing). Durability: when it returns `Ok`,
    /// the checkpoint and everything staged for `head` (tiles and index
    /// entries) are durable. On [`StorageError::Backend`] the swap may or may
    /// not have happened: read [`LogStorage::checkpoint`] back.
    fn swap_checkpoint(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        head: &TreeHead,
    ) -> Result<(), StorageError>;

    /// Settles storage on `head`, the tree of the current checkpoint: makes
    /// the tiles staged for `head`, if any, readable by
    /// [`LogStorage::tile`] (overwriting partial tiles with their wider
    /// copies; a full tile is written once and never changes), then forgets
    /// every staged batch. Idempotent. Called after every successful swap,
    /// and at start-up and after any failure with the head of the
    /// checkpoint read back: it finishes a batch whose swap took effect and
    /// discards one whose swap did not. When it returns `Ok`, every tile of
    /// the tree `head` is readable. On error, call it again before the next
    /// batch.
    fn settle(&self, head: &TreeHead) -> Result<(), StorageError>;

    /// Backend-specific checks of the stored state against `head`, the tree
    /// of the verified, current checkpoint (fjall: the stored compact range).
    /// Run at start-up and by the offline audit. O(1) reads.
    fn self_check(&self, head: &TreeHead) -> Result<(), StorageError> {
        let _ = head;
        Ok(())
    }
}

/// The log's indexes: leaf hash -> entry index (dedup, inclusion by hash)
/// and asset hash -> entry indexes (lookup). They are derived state: every
/// entry can be recomputed from the entry bundles.
///
/// **Stale entries.** Index entries are staged before the checkpoint swap;
/// a batch whose swap fails may leave entries that name indexes beyond the
/// tree or, once later batches have reused those indexes, entries the tree
/// does not hold there. So every answer is a hint that readers check
/// against the tree (the leaf hash at that index; the asset of the entry
/// there): a stale entry is a miss, never a wrong answer, and a later batch
/// that logs the same leaf or asset overwrites or adds to it.
/// **Completeness.** Every entry of a tree that a swapped-in checkpoint
/// names is in both indexes, because its batch staged its index entries
/// before the swap.
pub trait IndexStorage: Send + Sync {
    /// The index last staged for `leaf`, if any (check it against the tree).
    fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StorageError>;

    /// Indexes staged for `asset`, in increasing order, at most `limit`
    /// (check each against the tree).
    fn lookup_asset(&self, asset: &Hash, limit: usize) -> Result<Vec<u64>, StorageError>;

    /// Whether `index` is staged under `asset`.
    fn has_asset_entry(&self, asset: &Hash, index: u64) -> Result<bool, StorageError>;

    /// Calls `f` with every leaf hash the dedup index holds, as of one
    /// snapshot (fills [`crate::dedup_filter::DedupFilter`]; O(entries)).
    /// Returns `false` if this backend cannot list them (nothing is
    /// called; the default).
    fn for_each_leaf(&self, f: &mut dyn FnMut(&Hash)) -> Result<bool, StorageError> {
        let _ = f;
        Ok(false)
    }

    /// Stages the index entries of the batch that grows the tree to `head`:
    /// `dedup` (leaf hash, index) pairs, each replacing any earlier entry for
    /// that leaf, and `assets` (asset hash, index) pairs, added. Durability:
    /// durable no later than the return of the successful
    /// [`LogStorage::swap_checkpoint`] naming `head` (a backend that
    /// implements both traits may write them atomically with it; a backend
    /// of derived indexes may instead re-derive, before the sequencer next
    /// opens, whatever a crash lost, as [`crate::local_index`] does from the
    /// entry bundles). On error,
    /// some entries may have been written (see the stale-entry rule) and the
    /// batch must not be swapped in.
    fn stage_indexes(
        &self,
        head: &TreeHead,
        dedup: &[(Hash, u64)],
        assets: &[(Hash, u64)],
    ) -> Result<(), StorageError>;
}

/// A [`TileReader`] over a [`LogStorage`] that serves each tile at the
/// width asked for, from the stored (possibly wider) copy.
pub struct StorageTiles<'a>(pub &'a dyn LogStorage);

impl TileReader for StorageTiles<'_> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let raw = self
            .0
            .tile(tile.level, tile.index)
            .map_err(|e| TileError::Read {
                path: tile.path(),
                message: e.to_string(),
            })?
            .ok_or_else(|| TileError::NotFound(tile.path()))?;
        tile_prefix(tile, raw).map_err(|message| TileError::Read {
            path: tile.path(),
            message,
        })
    }
}

/// Cuts a stored tile down to the width `tile` asks for, in place (no copy).
pub fn tile_prefix(tile: &Tile, mut raw: Vec<u8>) -> Result<Vec<u8>, String> {
    let width = usize::from(tile.width);
    match tile.level {
        TileLevel::Hash(_) => {
            let want = width * provlog_core::hash::HASH_SIZE;
            if raw.len() < want {
                return Err(format!(
                    "tile {} is stored with width {}, narrower than asked",
                    tile.path(),
                    raw.len() / provlog_core::hash::HASH_SIZE
                ));
            }
            raw.truncate(want);
            Ok(raw)
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
            raw.truncate(pos);
            Ok(raw)
        }
    }
}

/// The entries of bundle `bundle` in a tree of `size` entries (its width at
/// that size, however wide the stored copy is). One tile read and decode.
pub fn read_bundle(
    log: &dyn LogStorage,
    bundle: u64,
    size: u64,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let tile = tile_at_size(TileLevel::Entries, bundle, size).ok_or_else(|| {
        StorageError::Corrupt(format!(
            "entry bundle {bundle} is beyond the tree (size {size})"
        ))
    })?;
    let raw = log
        .tile(TileLevel::Entries, bundle)?
        .ok_or_else(|| StorageError::Corrupt(format!("entry bundle {bundle} is not stored")))?;
    let raw = tile_prefix(&tile, raw).map_err(StorageError::Corrupt)?;
    let entries = provlog_core::tiles::decode_bundle(&raw)
        .map_err(|e| StorageError::Corrupt(format!("entry bundle {bundle} is corrupt: {e}")))?;
    Ok(entries.into_iter().map(|e| e.to_vec()).collect())
}

/// The entry at `index` in a tree of `size` entries, read from its bundle.
pub fn read_entry(log: &dyn LogStorage, index: u64, size: u64) -> Result<Vec<u8>, StorageError> {
    if index >= size {
        return Err(StorageError::Corrupt(format!(
            "entry {index} is beyond the tree (size {size})"
        )));
    }
    let bundle = index / provlog_core::tiles::TILE_WIDTH;
    let mut entries = read_bundle(log, bundle, size)?;
    let at = (index % provlog_core::tiles::TILE_WIDTH) as usize;
    if at < entries.len() {
        Ok(entries.swap_remove(at))
    } else {
        Err(StorageError::Corrupt(format!(
            "entry {index} missing from its bundle"
        )))
    }
}
