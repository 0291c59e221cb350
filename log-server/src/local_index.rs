//! The derived indexes of a log whose tiles live elsewhere (the S3
//! backend): leaf hash -> entry index and asset hash -> entry indexes, in a
//! local fjall database beside the sequencer. They are derived state: every
//! entry can be recomputed from the entry bundles, and
//! [`LocalIndex::catch_up`] does exactly that for whatever the index is
//! missing (at start-up, and for `provlog-server reindex` from nothing).
//!
//! Durability differs from the [`IndexStorage`] contract's "durable by the
//! swap", on purpose: writes are not fsynced. The `indexed` mark (how many
//! leading entries of the log the index holds) is written in the same
//! atomic fjall batch as the entries it covers, so a crash can only lose a
//! suffix of marks and entries together; the start-up catch-up then
//! re-derives everything from the mark up to the checkpoint's size from
//! the bundles, before the sequencer answers anything. So every entry of
//! the current tree is in both indexes whenever the sequencer runs, which
//! is what dedup and lookup rely on, at no fsync per batch.
//!
//! Keyspaces: `dedup` (leaf hash -> index, u64 BE), `assets` (asset hash ||
//! index u64 BE -> empty), `meta` (`indexed` -> u64 BE).

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions};

use crate::store::{asset_key, assets_scan, dedup_get};
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::index::entry::PROVLOG_TAG_PREFIX;
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tiles::{TILE_WIDTH, TileLevel, decode_bundle, tile_at_size};

use crate::storage::{IndexStorage, LogStorage, StorageError, TreeHead, tile_prefix};

const META_INDEXED: &[u8] = b"indexed";

/// The indexes in a local fjall database. Cheap to clone.
#[derive(Clone)]
pub struct LocalIndex {
    db: Database,
    dedup: Keyspace,
    assets: Keyspace,
    meta: Keyspace,
}

impl LocalIndex {
    /// Opens (or creates) the index database in `dir`.
    pub fn open(dir: &Path) -> Result<LocalIndex, StorageError> {
        let db = Database::builder(dir)
            .open()
            .map_err(|e| StorageError::Backend(format!("index in {}: {e}", dir.display())))?;
        let opts = || KeyspaceCreateOptions::default().max_memtable_size(8 << 20);
        let dedup = db.keyspace("dedup", opts)?;
        let assets = db.keyspace("assets", opts)?;
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default)?;
        Ok(LocalIndex {
            db,
            dedup,
            assets,
            meta,
        })
    }

    /// How many leading entries of the log the index holds.
    pub fn indexed(&self) -> Result<u64, StorageError> {
        match self.meta.get(META_INDEXED)? {
            None => Ok(0),
            Some(v) => Ok(u64::from_be_bytes(v.as_ref().try_into().map_err(|_| {
                StorageError::Corrupt("index mark is not 8 bytes".into())
            })?)),
        }
    }

    /// Indexes the entries the index is missing, from its mark up to
    /// `head.size`, read from `log`'s entry bundles (which must be settled
    /// on `head`). Calls `progress(done, total)` after each bundle.
    /// Returns how many entries it indexed. O(missing entries).
    pub fn catch_up(
        &self,
        log: &dyn LogStorage,
        head: &TreeHead,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        let from = self.indexed()?;
        if from >= head.size {
            return Ok(0);
        }
        let total = head.size - from;
        let mut done = 0;
        for bundle in from / TILE_WIDTH..head.size.div_ceil(TILE_WIDTH) {
            let tile = tile_at_size(TileLevel::Entries, bundle, head.size).ok_or_else(|| {
                StorageError::Corrupt(format!("bundle {bundle} is beyond the tree"))
            })?;
            let raw = log.tile(TileLevel::Entries, bundle)?.ok_or_else(|| {
                StorageError::Corrupt(format!("entry bundle {} is not stored", tile.path()))
            })?;
            let raw = tile_prefix(&tile, raw).map_err(StorageError::Corrupt)?;
            let entries = decode_bundle(&raw).map_err(|e| {
                StorageError::Corrupt(format!("entry bundle {} is corrupt: {e}", tile.path()))
            })?;
            let mut batch = self.db.batch();
            let mut last = from;
            for (k, entry) in entries.iter().enumerate() {
                let index = bundle * TILE_WIDTH + k as u64;
                if index < from {
                    continue;
                }
                last = index + 1;
                done += 1;
                // The verifiable index's own entries (index-commits) are not
                // claims: the sequencer puts them in neither index.
                if entry.starts_with(&PROVLOG_TAG_PREFIX) {
                    continue;
                }
                batch.insert(&self.dedup, leaf_hash(entry), index.to_be_bytes());
                match SignedClaim::from_bytes_cached(entry, &crate::verify::KEYS) {
                    Ok(c) => {
                        batch.insert(&self.assets, asset_key(&c.claim().asset.sha256, index), [])
                    }
                    Err(e) => {
                        tracing::warn!(index, error = %e, "a logged entry does not parse as a signed claim; it is not in the asset index");
                    }
                }
            }
            batch.insert(&self.meta, META_INDEXED, last.to_be_bytes());
            batch.commit()?;
            progress(done, total);
        }
        Ok(done)
    }

    /// Writes every memtable out (shutdown): spares the next start the
    /// journal replay.
    pub fn flush(&self) -> Result<(), StorageError> {
        for ks in [&self.dedup, &self.assets, &self.meta] {
            ks.rotate_memtable_and_wait()?;
        }
        Ok(())
    }
}

impl IndexStorage for LocalIndex {
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
        crate::store::dedup_leaves(&self.dedup, f)?;
        Ok(true)
    }

    /// One atomic, unsynced fjall batch: the entries and the mark
    /// `head.size` (see the module docs for why no fsync).
    fn stage_indexes(
        &self,
        head: &TreeHead,
        dedup: &[(Hash, u64)],
        assets: &[(Hash, u64)],
    ) -> Result<(), StorageError> {
        let mut batch = self.db.batch();
        for (leaf, index) in dedup {
            batch.insert(&self.dedup, leaf, index.to_be_bytes());
        }
        for (asset, index) in assets {
            batch.insert(&self.assets, asset_key(asset, *index), []);
        }
        batch.insert(&self.meta, META_INDEXED, head.size.to_be_bytes());
        batch.commit()?;
        Ok(())
    }
}
