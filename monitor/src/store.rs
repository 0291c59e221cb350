//! The monitor's durable state in fjall (one database in `DATA/db`):
//!
//! - `audit`: per log, the audited tree (size and compact-range peaks) and
//!   the log-signed checkpoint it matched, written together;
//! - `tiles`: per log, the hash tiles the monitor re-derived (its own copy
//!   of the tree, used to compute roots and consistency proofs);
//! - `witness`: per log, the latest checkpoint this monitor cosigned;
//! - `evidence`: evidence bundles by id; `evidence_index`: a small record
//!   per bundle (id, kind, sizes, time) in the order they were stored, and
//!   `meta`: the bundle count, so listing and `/healthz` never load bundles.
//!
//! Every write is one atomic batch, fsync'd before it returns.
//!
//! **Opening.** The data directory is locked for the life of the process
//! (`DATA/monitor.lock`, holding the pid): a second monitor on the same
//! directory is told it is in use, by which process, and never that it is
//! damaged. The database is created atomically: built complete in
//! `DATA/db.creating` and renamed to `DATA/db`, so a kill at any point of a
//! first start leaves either no database (the next start creates it) or a
//! complete one. A `DATA/db` left by an older version killed while
//! creating it (no fjall version marker yet, so nothing was ever written in
//! it) is recognised and created again.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use provlog_core::hash::{HASH_SIZE, Hash, sha256};
use provlog_core::tiles::{Tile, TileError, TileLevel, TileReader};
use serde::{Deserialize, Serialize};

use crate::witness::WitnessStore;

/// File in the data directory that is locked while a monitor uses it.
pub const LOCK_FILE: &str = "monitor.lock";
/// The database directory inside the data directory.
const DB_DIR: &str = "db";
/// Where a new database is built before it is renamed to [`DB_DIR`].
const DB_CREATING: &str = "db.creating";
/// fjall's version marker, the last file it writes when creating a database.
const FJALL_VERSION_MARKER: &str = "version";
/// `meta` key of the evidence count.
const EVIDENCE_COUNT: &[u8] = b"evidence_count";

/// What every message about a damaged data directory says about backups.
pub const ROLLBACK_WARNING: &str = "do not restore an older backup of it: a witness restored from a backup has forgotten what it cosigned since, so it can cosign a fork (that is a rollback); move the directory aside and create a new monitor with `provlog-monitor init` (a new witness key, which logs and verifiers must be told)";

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error(
        "the data directory {dir} is in use by another process{}; stop it first, or give this one another --data directory",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    InUse {
        /// The data directory.
        dir: String,
        /// The holder's pid, if it recorded one.
        pid: Option<u32>,
    },
    /// The database cannot be opened: damaged journal or tables.
    #[error(
        "cannot open the monitor database in {dir}: {detail}; the data directory is damaged, refusing to start ({ROLLBACK_WARNING})"
    )]
    Damaged {
        /// The database directory.
        dir: String,
        /// What failed.
        detail: String,
    },
    /// A file-system operation failed (permissions, disk full).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// fjall failed.
    #[error("storage: {0}")]
    Fjall(#[from] fjall::Error),
    /// Stored bytes do not decode.
    #[error("stored state is corrupt: {0} ({ROLLBACK_WARNING})")]
    Corrupt(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
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

/// The listing record of one stored evidence bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceMeta {
    /// The bundle id (spec/evidence.md).
    pub id: String,
    /// Its kind (`same-size-different-roots`, ...).
    pub kind: String,
    /// The log's origin.
    pub origin: String,
    /// The accused key (vkey).
    pub signer: String,
    /// The two checkpoint sizes (smaller, larger).
    pub sizes: [u64; 2],
    /// When this monitor stored it (Unix milliseconds).
    pub time_ms: u64,
}

/// The held lock on a data directory (released when the last clone drops).
struct DirLock {
    _file: File,
}

/// The database handle (cheap to clone).
#[derive(Clone)]
pub struct Store {
    db: Database,
    audit: Keyspace,
    tiles: Keyspace,
    witness: Keyspace,
    evidence: Keyspace,
    evidence_index: Keyspace,
    meta: Keyspace,
    /// Evidence bundles read so far (listing and counting read none).
    bundle_reads: Arc<std::sync::atomic::AtomicU64>,
    _lock: Arc<DirLock>,
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

/// Locks `dir` (creating it and the lock file), recording our pid.
fn lock_dir(dir: &Path) -> Result<DirLock, StoreError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(StoreError::InUse {
                dir: dir.display().to_string(),
                pid: text.trim().parse().ok(),
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
    }
    // Best effort: the pid only makes the "in use" message more useful.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()));
    Ok(DirLock { _file: file })
}

fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Whether `db` is a database an interrupted creation left behind: fjall
/// writes and fsyncs its version marker last when it creates a database,
/// and nothing is written to a database before its creation returns, so a
/// database without a complete marker has never held any state.
fn interrupted_creation(db: &Path) -> bool {
    match fs::metadata(db.join(FJALL_VERSION_MARKER)) {
        Ok(m) => m.len() == 0,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The keyspaces, in one place so creation and opening agree.
struct Keyspaces {
    audit: Keyspace,
    tiles: Keyspace,
    witness: Keyspace,
    evidence: Keyspace,
    evidence_index: Keyspace,
    meta: Keyspace,
}

fn open_db(path: &Path) -> Result<(Database, Keyspaces), StoreError> {
    // fjall's journal recovery can panic on some damaged bytes; turn that
    // into the same clear refusal as other damage.
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let db = Database::builder(path)
            .manual_journal_persist(true)
            .open()?;
        let ks = Keyspaces {
            audit: db.keyspace("audit", KeyspaceCreateOptions::default)?,
            tiles: db.keyspace("tiles", KeyspaceCreateOptions::default)?,
            witness: db.keyspace("witness", KeyspaceCreateOptions::default)?,
            evidence: db.keyspace("evidence", KeyspaceCreateOptions::default)?,
            evidence_index: db.keyspace("evidence_index", KeyspaceCreateOptions::default)?,
            meta: db.keyspace("meta", KeyspaceCreateOptions::default)?,
        };
        Ok::<_, fjall::Error>((db, ks))
    }));
    let dir = path.display().to_string();
    match opened {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(fjall::Error::Locked)) => Err(StoreError::InUse {
            dir: path.parent().unwrap_or(path).display().to_string(),
            pid: None,
        }),
        Ok(Err(fjall::Error::Io(source))) => Err(StoreError::Io { path: dir, source }),
        Ok(Err(e)) => Err(StoreError::Damaged {
            dir,
            detail: e.to_string(),
        }),
        Err(panic) => Err(StoreError::Damaged {
            dir,
            detail: panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "fjall panicked while recovering".into()),
        }),
    }
}

/// Creates the database atomically at `dir/db` (see the module docs).
fn create_db(dir: &Path) -> Result<(), StoreError> {
    let tmp = dir.join(DB_CREATING);
    if tmp.exists() {
        // An earlier first start was killed while building it.
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    {
        let (db, ks) = open_db(&tmp)?;
        let mut batch = db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&ks.meta, EVIDENCE_COUNT, 0u64.to_be_bytes());
        batch.commit()?;
        db.persist(PersistMode::SyncAll)?;
        // Dropping every handle stops fjall's workers before the rename.
        drop(ks);
        drop(db);
    }
    fsync_dir(&tmp)?;
    let db = dir.join(DB_DIR);
    fs::rename(&tmp, &db).map_err(io_err(&db))?;
    fsync_dir(dir)
}

impl Store {
    /// Opens the database in `dir/db`, creating it (atomically) on first
    /// start. Holds the directory lock until every clone is dropped.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let lock = lock_dir(dir)?;
        let db_path: PathBuf = dir.join(DB_DIR);
        if db_path.exists() && interrupted_creation(&db_path) {
            tracing::info!(dir = %db_path.display(), "finishing a database creation that was interrupted");
            fs::remove_dir_all(&db_path).map_err(io_err(&db_path))?;
        }
        if !db_path.exists() {
            create_db(dir)?;
        }
        let (db, ks) = open_db(&db_path)?;
        let store = Store {
            db,
            audit: ks.audit,
            tiles: ks.tiles,
            witness: ks.witness,
            evidence: ks.evidence,
            evidence_index: ks.evidence_index,
            meta: ks.meta,
            bundle_reads: Arc::default(),
            _lock: Arc::new(lock),
        };
        store.index_old_evidence()?;
        Ok(store)
    }

    /// Builds the evidence index of a database written before it existed
    /// (once: it is recognised by the missing count).
    fn index_old_evidence(&self) -> Result<(), StoreError> {
        if self.meta.get(EVIDENCE_COUNT)?.is_some() {
            return Ok(());
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        let mut count = 0u64;
        for kv in self.evidence.iter() {
            let (k, v) = kv.into_inner()?;
            let id = String::from_utf8_lossy(&k).into_owned();
            let Ok(ev) = provlog_core::evidence::Evidence::from_json(&v) else {
                continue;
            };
            let meta = meta_of(&id, &ev, 0);
            batch.insert(&self.evidence_index, index_key(&meta), meta_bytes(&meta));
            count += 1;
        }
        batch.insert(&self.meta, EVIDENCE_COUNT, count.to_be_bytes());
        batch.commit()?;
        Ok(())
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

    /// Writes new hash tiles (entry bundles are never stored) and the new
    /// audited state of `origin` in one atomic, fsync'd batch.
    pub fn commit_audit(
        &self,
        origin: &str,
        tiles: &[(Tile, Vec<u8>)],
        state: &AuditState,
    ) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (tile, data) in tiles {
            if let TileLevel::Hash(level) = tile.level {
                batch.insert(
                    &self.tiles,
                    tile_key(origin, level, tile.index),
                    data.as_slice(),
                );
            }
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

    /// Stores an evidence bundle with its listing record and the new count,
    /// in one fsync'd batch; returns false if a bundle with this id is
    /// already stored (nothing is written then).
    pub fn put_evidence(&self, meta: &EvidenceMeta, json: &[u8]) -> Result<bool, StoreError> {
        if self.evidence.get(meta.id.as_bytes())?.is_some() {
            return Ok(false);
        }
        let count = self.evidence_count()?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.evidence, meta.id.as_bytes(), json);
        batch.insert(&self.evidence_index, index_key(meta), meta_bytes(meta));
        batch.insert(&self.meta, EVIDENCE_COUNT, (count + 1).to_be_bytes());
        batch.commit()?;
        Ok(true)
    }

    /// One evidence bundle by id.
    pub fn evidence(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bundle_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.evidence.get(id.as_bytes())?.map(|v| v.to_vec()))
    }

    /// How many evidence bundles this handle has read (for tests that
    /// check listing and health never load bundles).
    pub fn bundle_reads(&self) -> u64 {
        self.bundle_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many bundles are stored (one point read).
    pub fn evidence_count(&self) -> Result<u64, StoreError> {
        let Some(v) = self.meta.get(EVIDENCE_COUNT)? else {
            return Ok(0);
        };
        let b: [u8; 8] = v
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("evidence count".into()))?;
        Ok(u64::from_be_bytes(b))
    }

    /// The listing records of the newest `limit` bundles, newest first
    /// (bundles themselves are not read).
    pub fn evidence_list(&self, limit: usize) -> Result<Vec<EvidenceMeta>, StoreError> {
        let mut out = Vec::new();
        for kv in self.evidence_index.iter().rev().take(limit) {
            let (_, v) = kv.into_inner()?;
            let meta = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt(format!("evidence index: {e}")))?;
            out.push(meta);
        }
        Ok(out)
    }

    /// The newest bundles (JSON), newest first, at most `limit` of them and
    /// `max_bytes` in total.
    pub fn evidence_bundles(
        &self,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for meta in self.evidence_list(limit)? {
            let Some(json) = self.evidence(&meta.id)? else {
                continue;
            };
            bytes += json.len();
            if bytes > max_bytes {
                break;
            }
            out.push(json);
        }
        Ok(out)
    }
}

impl WitnessStore for Store {
    fn latest(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.witness.get(origin.as_bytes())?.map(|v| v.to_vec()))
    }

    fn set_latest(&self, origin: &str, note: &[u8]) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.witness, origin.as_bytes(), note);
        batch.commit()?;
        Ok(())
    }
}

/// The listing record of a bundle stored at `time_ms`.
pub fn meta_of(id: &str, ev: &provlog_core::evidence::Evidence, time_ms: u64) -> EvidenceMeta {
    let size = |n: &str| {
        provlog_core::note::Note::parse(n.as_bytes())
            .ok()
            .and_then(|n| provlog_core::checkpoint::Checkpoint::parse(&n.text).ok())
            .map_or(0, |c| c.size)
    };
    EvidenceMeta {
        id: id.to_owned(),
        kind: ev.kind.as_str().to_owned(),
        origin: ev.origin.clone(),
        signer: ev.signer.clone(),
        sizes: [size(&ev.smaller), size(&ev.larger)],
        time_ms,
    }
}

fn index_key(meta: &EvidenceMeta) -> Vec<u8> {
    let mut k = meta.time_ms.to_be_bytes().to_vec();
    k.extend_from_slice(meta.id.as_bytes());
    k
}

fn meta_bytes(meta: &EvidenceMeta) -> Vec<u8> {
    serde_json::to_vec(meta).unwrap_or_default()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_second_opener_is_told_the_directory_is_in_use_with_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().expect("second open refused");
        let text = err.to_string();
        assert!(
            matches!(err, StoreError::InUse { pid: Some(p), .. } if p == std::process::id()),
            "{text}"
        );
        assert!(text.contains("in use by another process"), "{text}");
        assert!(
            !text.contains("damaged") && !text.contains("backup"),
            "{text}"
        );
        drop(first);
        Store::open(dir.path()).expect("free again once the first is closed");
    }

    #[test]
    fn every_interrupted_first_start_can_start_again() {
        // The states a kill during the first start can leave: a half-built
        // `db.creating`, and (from older versions, which created `db` in
        // place) a `db` without fjall's version marker or with an empty one.
        let cases: [&dyn Fn(&Path); 4] = [
            &|d| fs::create_dir_all(d.join(DB_CREATING).join("keyspaces")).unwrap(),
            &|d| {
                let db = d.join(DB_DIR);
                fs::create_dir_all(db.join("keyspaces")).unwrap();
                fs::write(db.join("lock"), b"").unwrap();
                fs::write(db.join("0.jnl"), b"").unwrap();
            },
            &|d| {
                let db = d.join(DB_DIR);
                fs::create_dir_all(&db).unwrap();
                fs::write(db.join(FJALL_VERSION_MARKER), b"").unwrap();
                fs::write(db.join("0.jnl"), b"").unwrap();
            },
            &|d| fs::write(d.join(LOCK_FILE), b"12345\n").unwrap(),
        ];
        for (i, make) in cases.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            make(dir.path());
            let s = Store::open(dir.path()).unwrap_or_else(|e| panic!("case {i}: {e}"));
            s.set_latest("o", b"note").unwrap();
            drop(s);
            let s = Store::open(dir.path()).unwrap();
            assert_eq!(
                s.latest("o").unwrap().as_deref(),
                Some(&b"note"[..]),
                "case {i}"
            );
            assert!(!dir.path().join(DB_CREATING).exists());
        }
    }

    #[test]
    fn a_damaged_database_is_refused_with_the_rollback_warning() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        // A version marker from "the future": damage, not an interrupted creation.
        fs::write(
            dir.path().join(DB_DIR).join(FJALL_VERSION_MARKER),
            b"garbage!",
        )
        .unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Damaged { .. }), "{text}");
        assert!(
            text.contains("damaged") && text.contains("rollback"),
            "{text}"
        );
    }

    #[test]
    fn evidence_is_listed_and_counted_without_reading_bundles() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.evidence_count().unwrap(), 0);
        let meta = |id: &str, t| EvidenceMeta {
            id: id.into(),
            kind: "same-size-different-roots".into(),
            origin: "o".into(),
            signer: "s".into(),
            sizes: [3, 3],
            time_ms: t,
        };
        assert!(s.put_evidence(&meta("aa", 5), b"{1}").unwrap());
        assert!(s.put_evidence(&meta("bb", 7), b"{2}").unwrap());
        assert!(!s.put_evidence(&meta("aa", 9), b"{3}").unwrap());
        assert_eq!(s.evidence_count().unwrap(), 2);
        let ids: Vec<String> = s
            .evidence_list(10)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["bb", "aa"], "newest first");
        assert_eq!(s.evidence("aa").unwrap().as_deref(), Some(&b"{1}"[..]));
        assert_eq!(s.evidence_bundles(10, 3).unwrap(), vec![b"{2}".to_vec()]);
        drop(s);
        assert_eq!(
            Store::open(dir.path()).unwrap().evidence_count().unwrap(),
            2
        );
    }
}
