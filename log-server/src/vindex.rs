//! The verifiable index the log commits to (spec/lookup.md §9.1): a prefix
//! tree over the keys of every entry, whose root the sequencer appends as an
//! index-commit entry at the end of every batch, and which serves lookup
//! proofs (`GET /v1/lookup`).
//!
//! **Derived state.** The index is a pure function of the entries, so it is
//! kept in memory and rebuilt from the entry bundles at start-up (and after
//! any failed batch): nothing of it needs to be durable for the log to be
//! correct. The index-commit entry is appended to the tree *inside* the
//! batch, so it is staged, swapped and settled with the batch's own entries:
//! a crash either loses the whole batch, commit included, or keeps it all,
//! and a checkpoint can never end with an index-commit that disagrees with
//! the index the entries give. Cost of the rebuild: one read of every entry
//! bundle and one parse of every entry (BENCHMARKS.md).
//!
//! **Concurrency.** The sequencer holds the write lock ([`BatchGuard`]) from
//! the index update of a batch until the batch is settled (or failed);
//! lookups hold the read lock while they build a proof, so a proof is always
//! against the index of the latest commit and the checkpoint that ends with
//! it. Lookups therefore wait while a batch is being made durable (one
//! fsync). A failed batch leaves the index marked stale; it is rebuilt
//! before the next batch, and lookups answer 503 meanwhile.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use provlog_core::hash::Hash;
use provlog_core::index::entry::{IndexCommit, LogEntry, PROVLOG_TAG_PREFIX, VendorKeyEvent};
use provlog_core::index::key::{IndexKey, claim_keys, log_entry_keys};
use provlog_core::index::proof::LookupProof;
use provlog_core::index::store::MemoryStore;
use provlog_core::index::tree::{Batch, Index};
use provlog_core::index::{KeyHash, key::entry_key_hashes};
use provlog_core::signed_claim::KeyCache;
use provlog_core::tile_builder::TileBuilder;
use provlog_core::tiles::TILE_WIDTH;

use crate::storage::{LogStorage, StorageError, read_bundle};

/// Why the index cannot answer or be updated.
#[derive(Debug, thiserror::Error)]
pub enum VIndexError {
    /// The index is being rebuilt, or a failed batch left it stale.
    #[error("the verifiable index is not ready (rebuilding)")]
    NotReady,
    /// The log has no index-commit yet (no batch since the index was enabled).
    #[error("the log has no index-commit yet")]
    NoCommit,
    /// Reading the entries failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The in-memory index failed (arena full) or is inconsistent.
    #[error("index: {0}")]
    Index(String),
}

/// The latest index-commit and the tree that ends with it.
#[derive(Clone, Debug)]
pub struct Published {
    /// The index-commit entry bytes, as logged.
    pub commit: Vec<u8>,
    /// Its log index (= the size it covers).
    pub commit_index: u64,
    /// The size of the tree whose last entry is the commit (`commit_index + 1`).
    pub tree_size: u64,
}

struct State {
    index: Index<MemoryStore>,
    /// Keys of logged entries in `[index.size(), log_size)`: entries that no
    /// commit covers yet (a log upgraded to the index, or the entries after
    /// the last commit when it was written without one).
    carry: Batch,
    /// Entries of the log this state accounts for.
    log_size: u64,
    published: Option<Published>,
    /// False after a failed batch until rebuilt.
    valid: bool,
    /// Every vendor key a vendor-key entry of the log names: accepted or
    /// not after the last such entry (spec/lookup.md §4.2), with its index.
    vendor_keys: BTreeMap<String, (bool, u64)>,
}

/// Applies one logged vendor-key event at log index `at` to `keys`.
fn apply_event(keys: &mut BTreeMap<String, (bool, u64)>, ev: &VendorKeyEvent, at: u64) {
    for k in std::iter::once(&ev.key).chain(ev.old.as_ref()) {
        if let Some(accepted) = ev.effect_on(k) {
            keys.insert(k.clone(), (accepted, at));
        }
    }
}

/// Test-only fault injection: the server leaves keys out of its index, to
/// show that a monitor catches a lying log (tests/tests/lookup_e2e.rs).
#[derive(Clone, Copy, Debug)]
pub struct OmitFault {
    /// Leave this entry's first key (its asset key, for a claim) out.
    pub entry: u64,
}

/// The verifiable index of one log.
pub struct VIndex {
    state: RwLock<State>,
    omit: Option<OmitFault>,
    rebuild_chunk: usize,
    /// The inclusion proof of the latest commit into its checkpoint's tree,
    /// keyed by that tree's size: every lookup against one checkpoint
    /// carries the same one, and a tree of a given size never changes.
    commit_proof: Mutex<Option<(u64, Vec<Hash>)>>,
}

/// What a lookup built: the bundle without the checkpoint's parts, which the
/// caller attaches (the commit's inclusion proof, the entries and the note of
/// the tree of size [`Published::tree_size`]).
pub struct LookupAnswer {
    /// The bundle; `commit_proof`, `checkpoint` and `entries` are empty.
    pub proof: LookupProof,
    /// The commit it is against.
    pub published: Published,
}

impl Default for VIndex {
    fn default() -> Self {
        Self::new(None)
    }
}

impl VIndex {
    /// An empty index, not yet synchronised with a log (see
    /// [`VIndex::sync`]). `omit` is the test-only fault; `None` in service.
    pub fn new(omit: Option<OmitFault>) -> Self {
        VIndex {
            state: RwLock::new(State {
                index: Index::new(MemoryStore::with_lists()),
                carry: Batch::new(),
                log_size: 0,
                published: None,
                valid: false,
                vendor_keys: BTreeMap::new(),
            }),
            omit,
            rebuild_chunk: REBUILD_CHUNK_PAIRS,
            commit_proof: Mutex::new(None),
        }
    }

    /// The inclusion proof of the commit that ends the tree of `size`
    /// entries: the cached one if it is for that tree, else `compute`'s,
    /// which then replaces it. Cost: one copy of O(log size) hashes after
    /// the first lookup against a checkpoint.
    pub fn commit_proof<E>(
        &self,
        size: u64,
        compute: impl FnOnce() -> Result<Vec<Hash>, E>,
    ) -> Result<Vec<Hash>, E> {
        let cached = |c: &Option<(u64, Vec<Hash>)>| {
            c.as_ref()
                .filter(|(s, _)| *s == size)
                .map(|(_, p)| p.clone())
        };
        if let Some(p) = cached(&self.commit_proof.lock().unwrap_or_else(|p| p.into_inner())) {
            return Ok(p);
        }
        let p = compute()?;
        let mut c = self.commit_proof.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the larger tree's: a slow lookup of an older checkpoint must
        // not evict the proof every newer lookup uses.
        if c.as_ref().is_none_or(|(s, _)| *s <= size) {
            *c = Some((size, p.clone()));
        }
        Ok(p)
    }

    /// The same index, rebuilding in chunks of `pairs` (key, entry) pairs
    /// (at least 1) instead of [`REBUILD_CHUNK_PAIRS`]: the answer is the
    /// same, only memory and the number of tree updates change (tests use
    /// small chunks to exercise the chunk boundaries).
    pub fn with_rebuild_chunk(mut self, pairs: usize) -> Self {
        self.rebuild_chunk = pairs.max(1);
        self
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        // A panic while holding the lock leaves the index to be rebuilt.
        self.state.write().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.valid = false;
            g
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the index in line with the log tree of `size` entries: a no-op
    /// if it already accounts for exactly that tree, otherwise a rebuild
    /// from the entry bundles. Called by the sequencer at start-up and
    /// before a batch. Cost of a rebuild: O(size) reads and parses.
    pub fn sync(&self, log: &dyn LogStorage, size: u64) -> Result<(), VIndexError> {
        let mut g = self.write();
        if g.valid && g.log_size == size {
            return Ok(());
        }
        let started = Instant::now();
        g.valid = false;
        let rebuilt = self.rebuild(log, size)?;
        *g = rebuilt;
        tracing::info!(
            size,
            keys = g.index.key_count(),
            seconds = started.elapsed().as_secs_f64(),
            "verifiable index rebuilt from the entries"
        );
        Ok(())
    }

    /// The index as of the tree's last index-commit, rebuilt from the
    /// entries. The prefix tree is a function of its (key, list) pairs
    /// alone (spec/lookup.md §3), so the pairs before a commit are applied
    /// in a few large batches, each ending at a logged commit (whose root
    /// is checked there), not in one batch per logged commit; the entries
    /// after the last commit stay pending for the next batch. Cost: one
    /// claim parse per entry (each vendor key decoded once) and one tree
    /// update per `rebuild_chunk` pairs; memory: that many pairs
    /// beyond the index itself.
    fn rebuild(&self, log: &dyn LogStorage, size: u64) -> Result<State, VIndexError> {
        let mut st = State {
            index: Index::new(MemoryStore::with_lists()),
            carry: Batch::new(),
            log_size: 0,
            published: None,
            valid: false,
            vendor_keys: BTreeMap::new(),
        };
        let cache = KeyCache::new(REBUILD_KEY_CACHE);
        // Pairs of the entries before the last commit seen, not applied yet.
        let mut before = Batch::new();
        let mut last: Option<(u64, IndexCommit)> = None;
        let bundles = size.div_ceil(TILE_WIDTH);
        for b in 0..bundles {
            for (k, entry) in read_bundle(log, b, size)?.iter().enumerate() {
                let j = b * TILE_WIDTH + k as u64;
                let classified = LogEntry::classify_cached(entry, &cache);
                if let LogEntry::IndexCommit(c) = &classified {
                    if c.size != j {
                        tracing::error!(
                            at = j,
                            size = c.size,
                            "a logged index-commit is misplaced"
                        );
                        continue;
                    }
                    before.append(std::mem::take(&mut st.carry));
                    st.published = Some(Published {
                        commit: entry.clone(),
                        commit_index: j,
                        tree_size: j + 1,
                    });
                    if before.len() >= self.rebuild_chunk {
                        apply_chunk(&mut st.index, std::mem::take(&mut before), j, c)?;
                    }
                    last = Some((j, c.clone()));
                    continue;
                }
                if let LogEntry::VendorKey(ev) = &classified {
                    // The server wrote it (only the log key signs these);
                    // its status counts from here on.
                    apply_event(&mut st.vendor_keys, ev, j);
                }
                let hashes = log_entry_keys(&classified)
                    .iter()
                    .map(IndexKey::hash)
                    .collect();
                let keys = self.keys_of(j, hashes);
                st.carry.add(j, &keys);
            }
        }
        if let Some((j, c)) = &last
            && !before.is_empty()
        {
            apply_chunk(&mut st.index, before, *j, c)?;
        }
        // Only the commit of the tree's last entry is served: if entries
        // follow it, the next batch's commit covers them.
        if st.published.as_ref().is_some_and(|p| p.tree_size != size) {
            st.published = None;
        }
        st.log_size = size;
        st.valid = true;
        Ok(st)
    }

    fn keys_of(&self, index: u64, mut keys: Vec<KeyHash>) -> Vec<KeyHash> {
        if let Some(f) = self.omit
            && f.entry == index
            && !keys.is_empty()
        {
            tracing::warn!(
                index,
                "TEST FAULT: leaving a key of this entry out of the index"
            );
            keys.remove(0);
        }
        keys
    }

    /// Starts a batch: takes the write lock until the returned guard is
    /// finished or dropped. The index must already account for the tree of
    /// `old_size` entries (the sequencer calls [`VIndex::sync`] first).
    pub fn begin(&self, old_size: u64) -> Result<BatchGuard<'_>, VIndexError> {
        let g = self.write();
        if !g.valid || g.log_size != old_size {
            return Err(VIndexError::NotReady);
        }
        Ok(BatchGuard {
            vindex: self,
            g,
            done: false,
        })
    }

    /// Builds the lookup proof of `key` against the latest commit (see
    /// [`LookupProof::build`] for `from`) and runs `with` on it, all under
    /// the read lock: `with` attaches the checkpoint of
    /// [`Published::tree_size`] and the inclusion proofs, and no batch can
    /// move the log past that tree meanwhile. Cost: one node read per level
    /// plus the key's list.
    pub fn lookup<T>(
        &self,
        key: &IndexKey,
        from: u64,
        with: impl FnOnce(LookupAnswer) -> T,
    ) -> Result<T, VIndexError> {
        Self::lookup_in(&self.read(), key, from, with)
    }

    /// [`VIndex::lookup`] if the index can be read without waiting, `None`
    /// while a batch holds it (the sequencer holds it from the batch's index
    /// update until the batch is durable). Never blocks, so it may run on
    /// the async reactor.
    pub fn try_lookup<T>(
        &self,
        key: &IndexKey,
        from: u64,
        with: impl FnOnce(LookupAnswer) -> T,
    ) -> Option<Result<T, VIndexError>> {
        let g = match self.state.try_read() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(Self::lookup_in(&g, key, from, with))
    }

    fn lookup_in<T>(
        g: &State,
        key: &IndexKey,
        from: u64,
        with: impl FnOnce(LookupAnswer) -> T,
    ) -> Result<T, VIndexError> {
        if !g.valid {
            return Err(VIndexError::NotReady);
        }
        let published = g.published.clone().ok_or(VIndexError::NoCommit)?;
        let proof = LookupProof::build(
            &g.index,
            key,
            from,
            published.commit.clone(),
            Vec::new(),
            Vec::new(),
        )
        .map_err(|e| VIndexError::Index(e.to_string()))?;
        Ok(with(LookupAnswer { proof, published }))
    }

    /// The latest commit, if the index is ready.
    pub fn published(&self) -> Option<Published> {
        let g = self.read();
        if g.valid { g.published.clone() } else { None }
    }

    /// The vendor keys the log's vendor-key entries name, each with whether
    /// it is accepted after the last of them and that entry's index (as of
    /// the entries the index accounts for; empty in an open log).
    pub fn vendor_keys(&self) -> BTreeMap<String, (bool, u64)> {
        self.read().vendor_keys.clone()
    }

    /// Number of distinct keys in the index.
    pub fn key_count(&self) -> u64 {
        self.read().index.key_count()
    }
}

/// One batch's hold on the index: [`BatchGuard::append_commit`] updates the
/// index and appends the commit entry; [`BatchGuard::finish`] after the batch
/// is settled publishes it. Dropped unfinished (any failure), it marks the
/// index stale, to be rebuilt from storage before the next batch.
pub struct BatchGuard<'a> {
    vindex: &'a VIndex,
    g: RwLockWriteGuard<'a, State>,
    done: bool,
}

impl BatchGuard<'_> {
    /// Indexes the batch's new entries (`entries[k]` is at log index
    /// `first + k`, with its keys if admission derived them from its parse,
    /// see [`keys_of_claim`]; else they are derived from the bytes here),
    /// together with any entries no commit covers yet,
    /// and appends the index-commit for the tree so far to `builder` as the
    /// batch's last entry. Returns the commit's log index and its key count
    /// in the batch. Cost: spec/lookup.md §8.2 plus one claim parse per entry.
    pub fn append_commit(
        &mut self,
        builder: &mut TileBuilder,
        first: u64,
        entries: &[(&[u8], Option<&[KeyHash]>)],
    ) -> Result<(u64, usize), VIndexError> {
        let st = &mut *self.g;
        let mut batch = std::mem::take(&mut st.carry);
        for (k, (e, given)) in entries.iter().enumerate() {
            let j = first + k as u64;
            let derived = match given {
                Some(keys) => keys.to_vec(),
                None => entry_key_hashes(e),
            };
            let keys = self.vindex.keys_of(j, derived);
            batch.add(j, &keys);
            if e.starts_with(&PROVLOG_TAG_PREFIX)
                && let LogEntry::VendorKey(ev) = LogEntry::classify(e)
            {
                apply_event(&mut st.vendor_keys, &ev, j);
            }
        }
        let pairs = batch.len();
        let n = builder.size();
        // From here on a failure leaves the index stale (guard drop).
        let root = st
            .index
            .commit_batch(batch, n)
            .map_err(|e| VIndexError::Index(e.to_string()))?;
        let commit = IndexCommit {
            size: n,
            root,
            keys: st.index.key_count(),
        }
        .to_bytes();
        let at = builder
            .append(&commit)
            .map_err(|e| VIndexError::Index(format!("appending the index-commit: {e}")))?;
        if at != n {
            return Err(VIndexError::Index(format!(
                "the index-commit went to {at}, not {n}"
            )));
        }
        st.log_size = n + 1;
        st.published = Some(Published {
            commit,
            commit_index: n,
            tree_size: n + 1,
        });
        Ok((n, pairs))
    }

    /// The batch is settled: lookups now answer against its commit.
    pub fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for BatchGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.g.valid = false;
        }
    }
}

/// The root the index has (for start-up logs and tests).
pub fn root_of(v: &VIndex) -> Hash {
    v.read().index.root()
}

/// The keys of an already-parsed claim (so admission's parse can be reused).
pub fn keys_of_claim(c: &provlog_core::signed_claim::SignedClaim) -> Vec<KeyHash> {
    claim_keys(c).iter().map(IndexKey::hash).collect()
}

/// Vendor keys kept decoded during a rebuild (a log has few vendors).
const REBUILD_KEY_CACHE: usize = 4096;
/// (key, entry) pairs a rebuild collects before applying them to the tree
/// (40 bytes each: at most 160 MiB).
pub const REBUILD_CHUNK_PAIRS: usize = 1 << 22;

/// Applies `batch` (pairs of entries before the commit at log index `at`)
/// to the index and checks the result against that logged commit `c`.
fn apply_chunk(
    index: &mut Index<MemoryStore>,
    batch: Batch,
    at: u64,
    c: &IndexCommit,
) -> Result<(), VIndexError> {
    let root = index
        .commit_batch(batch, at)
        .map_err(|e| VIndexError::Index(e.to_string()))?;
    if root != c.root || index.key_count() != c.keys {
        // Only a faulty (or fault-injected) writer gets here; lookups
        // against this commit will not verify, which clients and monitors
        // report.
        tracing::error!(
            at,
            "a logged index-commit differs from the index recomputed from the entries"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(n: u8) -> Vec<Hash> {
        vec![[n; 32]; 3]
    }

    #[test]
    fn the_commit_proof_is_computed_once_per_tree_size() {
        let v = VIndex::new(None);
        let computed = std::cell::Cell::new(0);
        let get = |size: u64, n: u8| {
            v.commit_proof(size, || -> Result<_, ()> {
                computed.set(computed.get() + 1);
                Ok(proof(n))
            })
            .expect("the computation cannot fail")
        };
        assert_eq!(get(10, 1), proof(1));
        // Same tree: the cached proof, not a new computation.
        assert_eq!(get(10, 2), proof(1));
        // A newer tree: computed, and it replaces the old one.
        assert_eq!(get(20, 3), proof(3));
        assert_eq!(get(20, 4), proof(3));
        // An older tree is answered with its own proof but does not evict
        // the newer one.
        assert_eq!(get(10, 5), proof(5));
        assert_eq!(get(20, 6), proof(3));
        assert_eq!(computed.get(), 3);
    }

    #[test]
    fn a_failed_computation_caches_nothing() {
        let v = VIndex::new(None);
        assert_eq!(
            v.commit_proof(10, || Err::<Vec<Hash>, _>("broken")),
            Err("broken")
        );
        assert_eq!(v.commit_proof(10, || Ok::<_, ()>(proof(7))), Ok(proof(7)));
    }
}
