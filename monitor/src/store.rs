//! The monitor's durable state in fjall (one database under `--data`):
//!
//! - `audit`: per log, the audited tree (size and compact-range peaks) and
//!   the log-signed checkpoint it matched, written together;
//! - `tiles`: per log, the hash tiles the monitor re-derived (its own copy
//!   of the tree, used to compute roots and consistency proofs);
//! - `witness`: per log, the latest checkpoint this monitor cosigned;
//! - `evidence`: evidence bundles by id.
//!
//! Every write is one atomic batch, fsync'd before it returns.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use provlog_core::hash::{HASH_SIZE, Hash, sha256};
use provlog_core::tiles::{Tile, TileError, TileLevel, TileReader};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// fjall failed.
    #[error("storage: {0}")]
    Fjall(#[from] fjall::Error),
    /// Stored bytes do not decode.
    #[error("stored state is corrupt: {0}")]
    Corrupt(String),
}

/// The audited state of one log.
#[derive(Debug, Clone, Default)]
pub struct AuditState {
    /// Entries audited.
    pub size: u64,
    /// Compact-range peaks of the audited tree.
    pub peaks: Vec<Hash>,
    /// The log-signed checkpoint at `size` (empty before the first audit).
    pub checkpoint: Vec<u8>,
}

/// The database handle (cheap to clone).
#[derive(Clone)]
pub struct Store {
    db: Database,
    audit: Keyspace,
    tiles: Keyspace,
    witness: Keyspace,
    evidence: Keyspace,
}

/// 8-byte per-log key prefix: the start of SHA-256(origin).
fn log_prefix(origin: &str) -> [u8; 8] {
    let h = sha256(origin.as_bytes());
    let mut p = [0u8; 8];
    p.copy_from_slice(&h[..8]);
    p
}

fn tile_key(origin: &str, level: u8, index: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[..8].copy_from_slice(&log_prefix(origin));
    k[8] = level;
    k[9..].copy_from_slice(&index.to_be_bytes());
    k
}

impl Store {
    /// Opens (or creates) the database in `dir/db`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = Database::builder(dir.join("db"))
            .manual_journal_persist(true)
            .open()?;
        Ok(Store {
            audit: db.keyspace("audit", KeyspaceCreateOptions::default)?,
            tiles: db.keyspace("tiles", KeyspaceCreateOptions::default)?,
            witness: db.keyspace("witness", KeyspaceCreateOptions::default)?,
            evidence: db.keyspace("evidence", KeyspaceCreateOptions::default)?,
            db,
        })
    }

    /// The audited state of `origin` (default: nothing audited).
    pub fn audit_state(&self, origin: &str) -> Result<AuditState, StoreError> {
        let Some(v) = self.audit.get(origin.as_bytes())? else {
            return Ok(AuditState::default());
        };
        let bad = |m: &str| StoreError::Corrupt(format!("audit state of {origin}: {m}"));
        let (size, rest) = v.split_first_chunk::<8>().ok_or_else(|| bad("short"))?;
        let (n, rest) = rest.split_first_chunk::<2>().ok_or_else(|| bad("short"))?;
        let n = usize::from(u16::from_be_bytes(*n));
        let peaks_len = n * HASH_SIZE;
        let peaks_raw = rest
            .get(..peaks_len)
            .ok_or_else(|| bad("truncated peaks"))?;
        let checkpoint = rest
            .get(peaks_len..)
            .ok_or_else(|| bad("truncated"))?
            .to_vec();
        let peaks = peaks_raw
            .chunks_exact(HASH_SIZE)
            .filter_map(|c| Hash::try_from(c).ok())
            .collect();
        Ok(AuditState {
            size: u64::from_be_bytes(*size),
            peaks,
            checkpoint,
        })
    }

    /// Writes new hash tiles and the new audited state of `origin` in one
    /// atomic, fsync'd batch.
    pub fn commit_audit(
        &self,
        origin: &str,
        tiles: &[(u8, u64, Vec<u8>)],
        state: &AuditState,
    ) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (level, index, data) in tiles {
            batch.insert(
                &self.tiles,
                tile_key(origin, *level, *index),
                data.as_slice(),
            );
        }
        let mut v = Vec::with_capacity(10 + state.peaks.len() * HASH_SIZE + state.checkpoint.len());
        v.extend_from_slice(&state.size.to_be_bytes());
        v.extend_from_slice(&(state.peaks.len() as u16).to_be_bytes());
        for p in &state.peaks {
            v.extend_from_slice(p);
        }
        v.extend_from_slice(&state.checkpoint);
        batch.insert(&self.audit, origin.as_bytes(), v);
        batch.commit()?;
        Ok(())
    }

    /// Raw stored hash tile of `origin` at (level, index), whatever its width.
    pub fn raw_tile(
        &self,
        origin: &str,
        level: u8,
        index: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tiles
            .get(tile_key(origin, level, index))?
            .map(|v| v.to_vec()))
    }

    /// The latest checkpoint this witness cosigned for `origin`.
    pub fn witnessed(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.witness.get(origin.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Records (fsync'd) the latest checkpoint cosigned for `origin`.
    pub fn set_witnessed(&self, origin: &str, note: &[u8]) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.witness, origin.as_bytes(), note);
        batch.commit()?;
        Ok(())
    }

    /// Stores an evidence bundle; returns false if it was already stored.
    pub fn put_evidence(&self, id: &str, json: &[u8]) -> Result<bool, StoreError> {
        if self.evidence.get(id.as_bytes())?.is_some() {
            return Ok(false);
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.evidence, id.as_bytes(), json);
        batch.commit()?;
        Ok(true)
    }

    /// One evidence bundle by id.
    pub fn evidence(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.evidence.get(id.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Every stored evidence bundle (id, JSON), at most `limit`.
    pub fn all_evidence(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.evidence.iter().take(limit) {
            let (k, v) = kv.into_inner()?;
            out.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
        Ok(out)
    }
}

/// A [`TileReader`] over one log's stored hash tiles, serving the prefix a
/// narrower tile asks for (hash tiles only grow at the right).
pub struct OwnTiles<'a> {
    /// The store.
    pub store: &'a Store,
    /// The log.
    pub origin: &'a str,
}

impl TileReader for OwnTiles<'_> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let TileLevel::Hash(level) = tile.level else {
            return Err(TileError::NotFound(tile.path()));
        };
        let raw = self
            .store
            .raw_tile(self.origin, level, tile.index)
            .map_err(|e| TileError::Read {
                path: tile.path(),
                message: e.to_string(),
            })?
            .ok_or_else(|| TileError::NotFound(tile.path()))?;
        raw.get(..usize::from(tile.width) * HASH_SIZE)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| TileError::NotFound(tile.path()))
    }
}
