//! An in-memory [`LogStorage`] + [`IndexStorage`] for tests, modelled on an
//! object store (not on fjall's single atomic batch), with fault injection.
//!
//! Every write is one numbered step, as separate requests would be on S3:
//! each staged tile, the index write of a batch, the checkpoint swap, and
//! each tile that `settle` copies to its public place. A fault planned at
//! step `n` makes that step fail either **before** persisting (nothing of
//! the step happened) or **after** persisting (the write happened, but the
//! caller sees an error, like a request whose response was lost). Writes
//! that happened stay: this store is "durable", and a restart is modelled by
//! opening a new sequencer on the same store. An outage makes every call,
//! reads included, fail until it is lifted.
//!
//! It also records every checkpoint that was ever stored (every note a
//! reader of the bucket could have seen), so tests can check that no two
//! checkpoints of one size name different trees.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use provlog_core::hash::Hash;
use provlog_core::tiles::{Tile, TileLevel};

use crate::storage::{IndexStorage, LogStorage, StagedBatch, StorageError, TreeHead};

/// How a planned fault fails its write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The write does not happen and the caller gets an error.
    BeforePersist,
    /// The write happens and the caller still gets an error.
    AfterPersist,
}

/// The kinds of write step, for the step log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// One tile written to staging.
    StageTile,
    /// The index entries of one batch.
    Indexes,
    /// The checkpoint compare-and-swap.
    Swap,
    /// One staged tile copied to its public place by `settle`.
    SettleTile,
}

#[derive(Default)]
struct State {
    checkpoint: Option<Vec<u8>>,
    /// Public tiles, by (level, index).
    tiles: HashMap<(TileLevel, u64), Vec<u8>>,
    /// Staged batches: head -> tiles written to staging so far.
    staged: HashMap<TreeHead, Vec<(Tile, Vec<u8>)>>,
    dedup: HashMap<Hash, u64>,
    assets: BTreeSet<(Hash, u64)>,
    /// Write steps done so far (faulted ones included).
    steps: u64,
    /// Planned faults by step number.
    faults: BTreeMap<u64, Fault>,
    /// Every write step attempted: (number, kind, fault).
    log: Vec<(u64, Step, Option<Fault>)>,
    /// Every checkpoint ever stored, in order.
    history: Vec<Vec<u8>>,
    outage: bool,
}

impl State {
    /// Numbers the next write step; returns its planned fault, if any.
    fn step(&mut self, kind: Step) -> Option<Fault> {
        let n = self.steps;
        self.steps += 1;
        let fault = self.faults.remove(&n);
        self.log.push((n, kind, fault));
        fault
    }

    fn up(&self) -> Result<(), StorageError> {
        if self.outage {
            Err(StorageError::Backend("injected outage".into()))
        } else {
            Ok(())
        }
    }
}

fn injected(kind: Step, fault: Fault) -> StorageError {
    StorageError::Backend(format!("injected fault {fault:?} at {kind:?}"))
}

/// The in-memory store. See the module docs.
#[derive(Default)]
pub struct MemoryStorage {
    state: Mutex<State>,
}

impl MemoryStorage {
    /// An empty store with no faults planned.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Plans `fault` at write step number `step` (counted from 0 over the
    /// store's life; see [`MemoryStorage::steps`]).
    pub fn inject(&self, step: u64, fault: Fault) {
        self.lock().faults.insert(step, fault);
    }

    /// Forgets every planned fault not yet reached.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Write steps done so far.
    pub fn steps(&self) -> u64 {
        self.lock().steps
    }

    /// Every write step attempted: (number, kind, fault injected).
    pub fn step_log(&self) -> Vec<(u64, Step, Option<Fault>)> {
        self.lock().log.clone()
    }

    /// Makes every call fail (`true`) or work again (`false`).
    pub fn set_outage(&self, down: bool) {
        self.lock().outage = down;
    }

    /// Every checkpoint note ever stored, oldest first.
    pub fn checkpoint_history(&self) -> Vec<Vec<u8>> {
        self.lock().history.clone()
    }

    /// Number of staged batches not yet settled or discarded.
    pub fn staged_batches(&self) -> usize {
        self.lock().staged.len()
    }

    /// Overwrites a public tile (tests of the audit and the self-check).
    pub fn corrupt_tile(&self, level: TileLevel, index: u64, bytes: Vec<u8>) {
        self.lock().tiles.insert((level, index), bytes);
    }
}

impl LogStorage for MemoryStorage {
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let s = self.lock();
        s.up()?;
        Ok(s.checkpoint.clone())
    }

    fn tile(&self, level: TileLevel, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let s = self.lock();
        s.up()?;
        Ok(s.tiles.get(&(level, index)).cloned())
    }

    fn stage(&self, head: &TreeHead, batch: &StagedBatch) -> Result<(), StorageError> {
        let mut s = self.lock();
        s.up()?;
        s.staged.insert(*head, Vec::new());
        for (tile, bytes) in &batch.tiles {
            let fault = s.step(Step::StageTile);
            if fault == Some(Fault::BeforePersist) {
                return Err(injected(Step::StageTile, Fault::BeforePersist));
            }
            if let Some(list) = s.staged.get_mut(head) {
                list.push((*tile, bytes.clone()));
            }
            if let Some(f) = fault {
                return Err(injected(Step::StageTile, f));
            }
        }
        Ok(())
    }

    fn swap_checkpoint(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        _head: &TreeHead,
    ) -> Result<(), StorageError> {
        let mut s = self.lock();
        s.up()?;
        if s.checkpoint.as_deref() != old {
            return Err(StorageError::Conflict(
                "the stored checkpoint changed".into(),
            ));
        }
        let fault = s.step(Step::Swap);
        if fault == Some(Fault::BeforePersist) {
            return Err(injected(Step::Swap, Fault::BeforePersist));
        }
        s.checkpoint = Some(new.to_vec());
        s.history.push(new.to_vec());
        match fault {
            Some(f) => Err(injected(Step::Swap, f)),
            None => Ok(()),
        }
    }

    fn settle(&self, head: &TreeHead) -> Result<(), StorageError> {
        let mut s = self.lock();
        s.up()?;
        let tiles = s.staged.get(head).cloned().unwrap_or_default();
        for (tile, bytes) in tiles {
            let fault = s.step(Step::SettleTile);
            if fault == Some(Fault::BeforePersist) {
                return Err(injected(Step::SettleTile, Fault::BeforePersist));
            }
            let key = (tile.level, tile.index);
            // A full tile is written once: the same bytes, or a bug.
            if tile.is_full()
                && let Some(existing) = s.tiles.get(&key)
                && existing.len() == bytes.len()
                && *existing != bytes
            {
                return Err(StorageError::Corrupt(format!(
                    "full tile {} would change",
                    tile.path()
                )));
            }
            s.tiles.insert(key, bytes);
            if let Some(f) = fault {
                return Err(injected(Step::SettleTile, f));
            }
        }
        s.staged.clear();
        Ok(())
    }
}

impl IndexStorage for MemoryStorage {
    fn index_of_leaf(&self, leaf: &Hash) -> Result<Option<u64>, StorageError> {
        let s = self.lock();
        s.up()?;
        Ok(s.dedup.get(leaf).copied())
    }

    fn lookup_asset(&self, asset: &Hash, limit: usize) -> Result<Vec<u64>, StorageError> {
        let s = self.lock();
        s.up()?;
        Ok(s.assets
            .range((*asset, 0)..=(*asset, u64::MAX))
            .take(limit)
            .map(|(_, i)| *i)
            .collect())
    }

    fn has_asset_entry(&self, asset: &Hash, index: u64) -> Result<bool, StorageError> {
        let s = self.lock();
        s.up()?;
        Ok(s.assets.contains(&(*asset, index)))
    }

    fn for_each_leaf(&self, f: &mut dyn FnMut(&Hash)) -> Result<bool, StorageError> {
        let s = self.lock();
        s.up()?;
        for leaf in s.dedup.keys() {
            f(leaf);
        }
        Ok(true)
    }

    fn stage_indexes(
        &self,
        _head: &TreeHead,
        dedup: &[(Hash, u64)],
        assets: &[(Hash, u64)],
    ) -> Result<(), StorageError> {
        let mut s = self.lock();
        s.up()?;
        let fault = s.step(Step::Indexes);
        if fault == Some(Fault::BeforePersist) {
            return Err(injected(Step::Indexes, Fault::BeforePersist));
        }
        for (leaf, index) in dedup {
            s.dedup.insert(*leaf, *index);
        }
        for (asset, index) in assets {
            s.assets.insert((*asset, *index));
        }
        match fault {
            Some(f) => Err(injected(Step::Indexes, f)),
            None => Ok(()),
        }
    }
}
