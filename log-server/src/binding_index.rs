//! The C2PA binding indexes: hard-binding hash, soft-binding value and
//! perceptual hash -> log entries. Derived state, rebuilt from the log.
//!
//! The index follows the published tree: [`BindingIndex::catch_up`] reads
//! the entry bundles past what it has indexed, decodes each signed claim
//! and records
//! - its C2PA hard binding under [`hard_binding_key`] (`hard` keyspace),
//! - each soft binding under SHA-256(alg || 0x00 || value) (`soft`),
//! - each perceptual hash of the algorithm [`PHASH_ALG`] (`phash`, and the
//!   in-memory [`NearIndex`] for Hamming-distance search),
//!
//! and the indexed size, all in one atomic fjall batch. It lives in its own
//! fjall database (`DATA/bindings`), apart from the log's storage: the log
//! never waits for it, and losing it loses nothing (delete the directory and
//! it is rebuilt from the entry bundles).
//!
//! Persistence and restart: the hard and soft indexes are fjall keyspaces
//! (nothing to rebuild). The near-match index is in memory. At start a
//! background thread opens this database and then rebuilds the near-match
//! index by scanning the `phash` keyspace (17 bytes per hash), so the server
//! starts serving at once; the binding endpoints answer 503 until the
//! database is open, and `/matches/byContent` until the scan is done
//! (measured in BENCHMARKS.md: 1.1 s and 3.9 s at 10 million hashes). A crash can leave the index behind the log, never ahead:
//! the indexed size is written in the same batch as the keys.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch};
use provlog_core::asset_match::hard_binding_key;
use provlog_core::claim::{Claim, HardBinding, SoftBindingKind};
use provlog_core::hash::{Hash, sha256};
use provlog_media::{PHASH_ALG, phash_from_value};

use crate::near_index::{NearIndex, NearMatch};
use crate::storage::{LogStorage, read_bundle};

/// Directory of the index under the data directory.
pub const INDEX_DIR: &str = "bindings";
/// Most entries a lookup request indexes itself before answering; further
/// behind, it answers 503 and the follower thread catches up.
pub const MAX_REQUEST_CATCH_UP: u64 = 64 * 1024;

const META_INDEXED: &[u8] = b"indexed";
/// Entries indexed per fjall batch.
const BATCH_ENTRIES: u64 = 4096;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// fjall failed.
    #[error("binding index storage: {0}")]
    Storage(#[from] fjall::Error),
    /// The log's storage failed or holds something unreadable.
    #[error("binding index: reading the log: {0}")]
    Log(String),
    /// The near-match index is still being rebuilt.
    #[error("the near-match index is loading")]
    Loading,
    /// The index is far behind the log (it is catching up).
    #[error("the binding index is {behind} entries behind the log and catching up")]
    Behind {
        /// How far.
        behind: u64,
    },
}

/// The indexes. Share it in an `Arc`.
pub struct BindingIndex {
    db: Database,
    hard: Keyspace,
    soft: Keyspace,
    phash: Keyspace,
    meta: Keyspace,
    near: RwLock<NearIndex>,
    near_ready: AtomicBool,
    indexed: AtomicU64,
    /// Serialises catch-up (and the near-index load) so every entry is
    /// indexed once.
    writer: Mutex<()>,
    /// Records of freshly appended entries, from admission (see
    /// [`BindingHints`]); `None`: every entry is parsed.
    hints: Option<Arc<BindingHints>>,
}

/// What the binding index records for one claim: its C2PA hard-binding key
/// ([`hard_binding_key`]), each soft binding's [`soft_key`] in the claim's
/// order, and each perceptual hash of [`PHASH_ALG`] in the claim's order.
/// Derived from a parse ([`EntryBindings::of_claim`]), once: at admission,
/// by a frontend (spec/frontend.md §4), or by the index itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryBindings {
    /// The hard-binding key, if the claim has a C2PA binding.
    pub hard: Option<Hash>,
    /// The soft-binding keys (at most
    /// [`provlog_core::claim::MAX_SOFT_BINDINGS`]).
    pub soft: Vec<Hash>,
    /// The perceptual hashes (at most one per soft binding).
    pub phash: Vec<u64>,
}

impl EntryBindings {
    /// The records of `claim`, exactly as the index derives them from the
    /// entry.
    pub fn of_claim(claim: &Claim) -> EntryBindings {
        EntryBindings {
            hard: claim
                .c2pa
                .as_ref()
                .map(|c| hard_binding_key(&c.hard_binding)),
            soft: claim
                .soft_bindings
                .iter()
                .map(|s| soft_key(&s.alg, &s.value))
                .collect(),
            phash: claim
                .soft_bindings
                .iter()
                .filter(|s| s.kind == SoftBindingKind::Perceptual && s.alg == PHASH_ALG)
                .filter_map(|s| phash_from_value(&s.value))
                .collect(),
        }
    }

    /// Heap and inline bytes, for [`BindingHints`]' budget.
    fn weight(&self) -> usize {
        // Never below an empty slot's weight (`take` subtracts the difference).
        NONE_WEIGHT + 32 * self.soft.len() + 8 * self.phash.len()
    }
}

/// Most bytes of [`EntryBindings`] a [`BindingHints`] holds: at about 100
/// bytes per plain claim, some 300,000 entries, several seconds of ingest
/// at full rate, while the index follows within 200 ms.
pub const MAX_HINT_BYTES: usize = 32 << 20;

/// The binding records of entries the sequencer has just committed, in
/// memory, for the binding index to take instead of reading the entry
/// bundles back and parsing every claim a second time (the claims were
/// parsed at admission, here or by a frontend).
///
/// Contract: a hint is pushed for index `i` only once the entry at `i` is
/// durable, and it is the record of exactly that entry; an index without a
/// hint is read from the log and parsed as before. So a hint can only save
/// work, never change what is indexed (for claims from frontends it is the
/// frontend's word, as their verifiable-index keys are: spec/frontend.md
/// §1). Bounded by [`MAX_HINT_BYTES`]: when the index falls behind, the
/// oldest hints are dropped and those entries parsed.
#[derive(Default)]
pub struct BindingHints {
    queue: Mutex<HintQueue>,
}

#[derive(Default)]
struct HintQueue {
    /// Runs of consecutive indexes: (first index, one hint per index), in
    /// increasing order.
    runs: VecDeque<(u64, Vec<Option<EntryBindings>>)>,
    bytes: usize,
}

/// What an empty slot of a run weighs.
const NONE_WEIGHT: usize = std::mem::size_of::<Option<EntryBindings>>();

fn run_weight(run: &[Option<EntryBindings>]) -> usize {
    run.iter()
        .map(|h| h.as_ref().map_or(NONE_WEIGHT, EntryBindings::weight))
        .sum()
}

impl BindingHints {
    /// An empty queue.
    pub fn new() -> BindingHints {
        BindingHints::default()
    }

    /// Records hints for the entries `start..start + hints.len()` (`None`:
    /// that entry has none; it is parsed). Runs are pushed in increasing
    /// index order (the sequencer's commit order); a run that does not
    /// start past the last one is dropped. Drops the oldest runs while over
    /// [`MAX_HINT_BYTES`].
    pub fn push(&self, start: u64, hints: Vec<Option<EntryBindings>>) {
        if hints.iter().all(Option::is_none) {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, run)) = q.runs.back()
            && start < s + run.len() as u64
        {
            return;
        }
        q.bytes += run_weight(&hints);
        q.runs.push_back((start, hints));
        while q.bytes > MAX_HINT_BYTES {
            let Some((_, old)) = q.runs.pop_front() else {
                break;
            };
            q.bytes = q.bytes.saturating_sub(run_weight(&old));
        }
    }

    /// Takes the hints of the entries `from..to` (one per index, `None`
    /// where there is none) and forgets every hint below `to`.
    pub fn take(&self, from: u64, to: u64) -> Vec<Option<EntryBindings>> {
        let mut out: Vec<Option<EntryBindings>> = (from..to).map(|_| None).collect();
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let HintQueue { runs, bytes } = &mut *q;
        while let Some((start, run)) = runs.front_mut() {
            let start = *start;
            if start >= to {
                break;
            }
            let end = start + run.len() as u64;
            for i in start.max(from)..end.min(to) {
                if let (Some(slot), Some(h)) = (
                    out.get_mut((i - from) as usize),
                    run.get_mut((i - start) as usize),
                ) && let Some(taken) = h.take()
                {
                    // The slot stays, as a `None`.
                    *bytes = bytes.saturating_sub(taken.weight() - NONE_WEIGHT);
                    *slot = Some(taken);
                }
            }
            if end > to {
                break;
            }
            let w = run_weight(run);
            runs.pop_front();
            *bytes = bytes.saturating_sub(w);
        }
        out
    }

    /// How many runs are held (for tests).
    pub fn runs(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .runs
            .len()
    }
}

/// The soft-binding key: SHA-256(alg || 0x00 || value).
pub fn soft_key(alg: &str, value: &[u8]) -> Hash {
    let mut b = Vec::with_capacity(alg.len() + 1 + value.len());
    b.extend_from_slice(alg.as_bytes());
    b.push(0);
    b.extend_from_slice(value);
    sha256(&b)
}

fn key_with_index(prefix: &Hash, index: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(prefix);
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

impl BindingIndex {
    /// Opens (or creates) the index in `data/bindings`. Cheap: the
    /// near-match index is loaded later by [`BindingIndex::load_near`].
    pub fn open(data: &Path) -> Result<Self, IndexError> {
        let db = Database::builder(data.join(INDEX_DIR)).open()?;
        let opts = KeyspaceCreateOptions::default;
        let hard = db.keyspace("hard", opts)?;
        let soft = db.keyspace("soft", opts)?;
        let phash = db.keyspace("phash", opts)?;
        let meta = db.keyspace("meta", opts)?;
        let indexed = match meta.get(META_INDEXED)? {
            Some(v) => <[u8; 8]>::try_from(v.as_ref())
                .map(u64::from_be_bytes)
                .unwrap_or(0),
            None => 0,
        };
        Ok(BindingIndex {
            db,
            hard,
            soft,
            phash,
            meta,
            near: RwLock::new(NearIndex::new()),
            near_ready: AtomicBool::new(false),
            indexed: AtomicU64::new(indexed),
            writer: Mutex::new(()),
            hints: None,
        })
    }

    /// Takes the records of fresh entries from `hints` from now on, instead
    /// of reading those entries back and parsing them.
    pub fn with_hints(mut self, hints: Arc<BindingHints>) -> Self {
        self.hints = Some(hints);
        self
    }

    /// Adds entry `i`'s records to `batch` (and its perceptual hashes to
    /// `near_new`).
    fn record(
        &self,
        batch: &mut OwnedWriteBatch,
        near_new: &mut Vec<(u64, u64)>,
        i: u64,
        b: &EntryBindings,
    ) {
        if let Some(hard) = &b.hard {
            batch.insert(&self.hard, key_with_index(hard, i), []);
        }
        for soft in &b.soft {
            batch.insert(&self.soft, key_with_index(soft, i), []);
        }
        for (n, h) in b.phash.iter().enumerate() {
            let mut k = [0u8; 9];
            k[..8].copy_from_slice(&i.to_be_bytes());
            k[8] = u8::try_from(n).unwrap_or(u8::MAX);
            batch.insert(&self.phash, k, h.to_be_bytes());
            near_new.push((*h, i));
        }
    }

    /// How many log entries are indexed.
    pub fn indexed(&self) -> u64 {
        self.indexed.load(Ordering::Acquire)
    }

    /// Whether the near-match index is loaded.
    pub fn near_ready(&self) -> bool {
        self.near_ready.load(Ordering::Acquire)
    }

    /// Rebuilds the in-memory near-match index from the `phash` keyspace.
    /// O(stored hashes); run once at start, off the request path.
    pub fn load_near(&self) -> Result<usize, IndexError> {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut near = NearIndex::new();
        for kv in self.phash.iter() {
            let (k, v) = kv.into_inner()?;
            let (Ok(k), Ok(v)) = (
                <[u8; 9]>::try_from(k.as_ref()),
                <[u8; 8]>::try_from(v.as_ref()),
            ) else {
                return Err(IndexError::Log("phash record of the wrong size".into()));
            };
            let mut idx = [0u8; 8];
            idx.copy_from_slice(&k[..8]);
            near.insert(u64::from_be_bytes(v), u64::from_be_bytes(idx));
        }
        let n = near.len();
        *self.near.write().unwrap_or_else(|e| e.into_inner()) = near;
        self.near_ready.store(true, Ordering::Release);
        Ok(n)
    }

    /// Indexes the log's entries up to `size` (the published tree size).
    /// Idempotent; concurrent callers wait for each other.
    pub fn catch_up(&self, log: &dyn LogStorage, size: u64) -> Result<u64, IndexError> {
        if self.indexed() >= size {
            return Ok(self.indexed());
        }
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut from = self.indexed();
        while from < size {
            let to = size.min((from / BATCH_ENTRIES + 1) * BATCH_ENTRIES);
            let mut batch = self.db.batch();
            let mut near_new = Vec::new();
            let mut hints = match &self.hints {
                Some(h) => h.take(from, to),
                None => Vec::new(),
            };
            let mut i = from;
            while i < to {
                let bundle = i / 256;
                let end = to.min((bundle + 1) * 256);
                let hinted = |j: u64| matches!(hints.get((j - from) as usize), Some(Some(_)));
                // A bundle whose entries all have hints is not read at all.
                let entries = if (i..end).all(hinted) {
                    Vec::new()
                } else {
                    read_bundle(log, bundle, to).map_err(|e| IndexError::Log(e.to_string()))?
                };
                while i < end {
                    if let Some(Some(b)) = hints.get_mut((i - from) as usize).map(Option::take) {
                        self.record(&mut batch, &mut near_new, i, &b);
                        i += 1;
                        continue;
                    }
                    let entry = entries
                        .get((i % 256) as usize)
                        .ok_or_else(|| IndexError::Log(format!("entry {i} missing")))?;
                    // Entries were validated at admission; one that does
                    // not parse now is skipped (it has no bindings to find).
                    // The cached parse: decoding the vendor key again per
                    // entry was a fifth of the server's CPU at full ingest
                    // (BENCHMARKS.md).
                    if let Ok(signed) = crate::verify::parse(entry) {
                        let b = EntryBindings::of_claim(signed.claim());
                        self.record(&mut batch, &mut near_new, i, &b);
                    }
                    i += 1;
                }
            }
            batch.insert(&self.meta, META_INDEXED, to.to_be_bytes());
            batch.commit()?;
            if self.near_ready() {
                let mut near = self.near.write().unwrap_or_else(|e| e.into_inner());
                for (h, e) in near_new {
                    near.insert(h, e);
                }
            }
            self.indexed.store(to, Ordering::Release);
            from = to;
        }
        Ok(self.indexed())
    }

    /// Catches up for a request: indexes what is missing if it is at most
    /// [`MAX_REQUEST_CATCH_UP`] entries, else says how far behind it is.
    pub fn catch_up_for_request(&self, log: &dyn LogStorage, size: u64) -> Result<u64, IndexError> {
        let behind = size.saturating_sub(self.indexed());
        if behind > MAX_REQUEST_CATCH_UP {
            return Err(IndexError::Behind { behind });
        }
        self.catch_up(log, size)
    }

    fn scan(ks: &Keyspace, prefix: &Hash, limit: usize) -> Result<Vec<u64>, IndexError> {
        let mut out = Vec::new();
        for kv in ks.prefix(prefix).take(limit) {
            let k = kv.key()?;
            let idx: [u8; 8] = k
                .get(32..40)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| IndexError::Log("index key is not 40 bytes".into()))?;
            out.push(u64::from_be_bytes(idx));
        }
        Ok(out)
    }

    /// Entries whose claim has this hard binding (by [`hard_binding_key`]).
    pub fn lookup_hard(&self, hb: &HardBinding, limit: usize) -> Result<Vec<u64>, IndexError> {
        Self::scan(&self.hard, &hard_binding_key(hb), limit)
    }

    /// Entries whose claim has a soft binding with exactly this alg and value.
    pub fn lookup_soft(
        &self,
        alg: &str,
        value: &[u8],
        limit: usize,
    ) -> Result<Vec<u64>, IndexError> {
        Self::scan(&self.soft, &soft_key(alg, value), limit)
    }

    /// Entries with a perceptual hash within `radius` of `hash`, nearest first.
    pub fn near(&self, hash: u64, radius: u32, limit: usize) -> Result<Vec<NearMatch>, IndexError> {
        if !self.near_ready() {
            return Err(IndexError::Loading);
        }
        let near = self.near.read().unwrap_or_else(|e| e.into_inner());
        Ok(near.search(hash, radius, limit))
    }
}

/// Writes perceptual-hash records (entry `i` has `hashes[i]`) into a fresh
/// index in `data`, as `catch_up` would, for the restart benchmark
/// (`examples/near_bench.rs`). Not used by the server.
#[doc(hidden)]
pub fn fill_phash_for_bench(data: &Path, hashes: &[u64]) -> Result<(), IndexError> {
    let idx = BindingIndex::open(data)?;
    for (chunk_no, chunk) in hashes.chunks(100_000).enumerate() {
        let mut batch = idx.db.batch();
        for (j, h) in chunk.iter().enumerate() {
            let i = (chunk_no * 100_000 + j) as u64;
            let mut k = [0u8; 9];
            k[..8].copy_from_slice(&i.to_be_bytes());
            batch.insert(&idx.phash, k, h.to_be_bytes());
        }
        batch.commit()?;
    }
    idx.db.persist(fjall::PersistMode::SyncAll)?;
    Ok(())
}
