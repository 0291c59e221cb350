//! The single sequencer: takes validated claims from the pool, appends them
//! to the tree, and commits entries, tiles, indexes and the new signed
//! checkpoint in one atomic, fsync'd write. Only then are receipts issued.
//!
//! It runs on its own OS thread because everything it does (hashing,
//! signing, fsync, proof building) blocks; the HTTP side talks to it over a
//! channel and gets each receipt back through a oneshot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use provlog_core::checkpoint::{Checkpoint, sign_checkpoint, verify_checkpoint};
use provlog_core::hash::{EMPTY_ROOT, HASH_SIZE, Hash, leaf_hash};
use provlog_core::note::NoteSigner;
use provlog_core::receipt::Receipt;
use provlog_core::tiles::{Tile, TileLevel, TileNodeReader, decode_bundle};
use provlog_core::tree::{CompactRange, NodeId, NodeReader, TreeError, inclusion_proof, tree_root};
use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::store::{Commit, Store, StoreError, StoreTiles, TreeState};
use crate::witnessing::Witnessing;

/// Entries (and hashes) per tile.
const TILE_WIDTH: usize = 256;

/// A claim that passed every check and waits to be sequenced.
pub struct Pending {
    /// The signed claim bytes, exactly as they will be logged.
    pub entry: Vec<u8>,
    /// RFC 6962 leaf hash of `entry`.
    pub leaf: Hash,
    /// SHA-256 of the asset the claim is about (for the lookup index).
    pub asset: Hash,
    /// When the claim entered the pool (for the latency metric).
    pub admitted: Instant,
    /// Where the receipt goes.
    pub reply: oneshot::Sender<Result<Receipt, SequencerError>>,
}

/// Why a claim got no receipt.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SequencerError {
    /// Storage failed; nothing from this batch was logged.
    #[error("storage failed, the claim was not logged: {0}")]
    Storage(String),
    /// Building the inclusion proof failed after the commit (the claim is logged).
    #[error("claim logged at index {index} but its proof could not be built: {detail}")]
    Proof {
        /// Where the claim is.
        index: u64,
        /// Why.
        detail: String,
    },
}

/// Start-up failures: the stored log does not check out.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored state is inconsistent; the server must not serve it.
    #[error("self-check failed, refusing to serve: {0}")]
    SelfCheck(String),
}

/// What readers see: the latest committed, signed checkpoint.
#[derive(Debug, Clone)]
pub struct Published {
    /// The signed checkpoint note.
    pub note: Vec<u8>,
    /// Its parsed body.
    pub checkpoint: Checkpoint,
}

/// Shared handle to the latest published checkpoint.
pub type SharedCheckpoint = Arc<RwLock<Arc<Published>>>;

/// Sequencer settings.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// Longest a claim waits before its batch is committed.
    pub batch_interval: Duration,
    /// Batch size that triggers an immediate commit.
    pub max_batch: usize,
    /// Re-sign an unchanged checkpoint after this long without entries.
    pub checkpoint_refresh: Duration,
}

/// The right-most, growing tile of one level.
#[derive(Debug, Clone, Default)]
struct OpenTile {
    index: u64,
    data: Vec<u8>,
    count: usize,
    dirty: bool,
}

/// The sequencer state. Owns the tree.
pub struct Sequencer {
    store: Store,
    signer: NoteSigner,
    origin: String,
    range: CompactRange,
    /// Open hash tile per tile level (index = tile level).
    hash_tiles: Vec<OpenTile>,
    bundle: OpenTile,
    /// Every node (all levels) completed by the batch being sequenced, so
    /// its receipts' proofs need not re-read the tiles just written.
    fresh: HashMap<NodeId, Hash>,
    last_timestamp: u64,
    published: SharedCheckpoint,
    metrics: Arc<Metrics>,
    cfg: SequencerConfig,
    witnessing: Option<Witnessing>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Sequencer {
    /// Opens the log in `store`: creates the empty tree on first start,
    /// otherwise runs the start-up self-check (stored tiles must reproduce the
    /// stored, validly signed checkpoint) and loads the open tiles.
    pub fn open(
        store: Store,
        signer: NoteSigner,
        metrics: Arc<Metrics>,
        cfg: SequencerConfig,
    ) -> Result<Self, OpenError> {
        let origin = signer.name().to_string();
        let stored_note = store.checkpoint()?;
        let tree = store.tree_state()?;
        let fail = |m: String| Err(OpenError::SelfCheck(m));
        let (range, note, checkpoint) = match (stored_note, tree) {
            (None, None) => {
                let cp = Checkpoint {
                    origin: origin.clone(),
                    size: 0,
                    root: EMPTY_ROOT,
                    extensions: vec![],
                }
                .with_timestamp(now_ms());
                let note = sign_checkpoint(&cp, &signer)
                    .map_err(|e| OpenError::SelfCheck(format!("cannot sign: {e}")))?;
                store.commit(Commit {
                    tree: Some(TreeState {
                        size: 0,
                        peaks: vec![],
                    }),
                    checkpoint: note.clone(),
                    ..Commit::default()
                })?;
                (CompactRange::new(), note, cp)
            }
            (Some(note), Some(tree)) => {
                let verified = match verify_checkpoint(&note, &signer.verifier_key()) {
                    Ok(v) => v,
                    Err(e) => {
                        return fail(format!(
                            "the stored checkpoint does not verify with this log's key: {e}"
                        ));
                    }
                };
                let cp = verified.checkpoint;
                if cp.size != tree.size {
                    return fail(format!(
                        "stored checkpoint has size {} but the stored tree has {} entries",
                        cp.size, tree.size
                    ));
                }
                let range = match CompactRange::from_parts(tree.size, tree.peaks) {
                    Ok(r) => r,
                    Err(e) => return fail(format!("stored tree state is invalid: {e}")),
                };
                if range.root() != cp.root {
                    return fail("stored tree state does not hash to the checkpoint root".into());
                }
                let reader = TileNodeReader::new(StoreTiles(&store), cp.size);
                match tree_root(&reader, cp.size) {
                    Ok(root) if root == cp.root => {}
                    Ok(_) => {
                        return fail(format!(
                            "the root recomputed from stored tiles differs from the checkpoint root at size {}",
                            cp.size
                        ));
                    }
                    Err(e) => {
                        return fail(format!("cannot recompute the root from stored tiles: {e}"));
                    }
                }
                (range, note, cp)
            }
            (Some(_), None) => return fail("a checkpoint is stored but no tree state".into()),
            (None, Some(_)) => return fail("a tree state is stored but no checkpoint".into()),
        };
        let mut seq = Sequencer {
            store,
            signer,
            origin,
            range,
            hash_tiles: Vec::new(),
            bundle: OpenTile::default(),
            fresh: HashMap::new(),
            last_timestamp: checkpoint.timestamp_ms().unwrap_or(0),
            published: Arc::new(RwLock::new(Arc::new(Published { note, checkpoint }))),
            metrics,
            cfg,
            witnessing: None,
        };
        seq.load_open_tiles()?;
        seq.metrics.tree_size.set(seq.range.size() as i64);
        Ok(seq)
    }

    /// Loads the right-most partial tile of every level, and checks that
    /// the partial entry bundle hashes to the partial level-0 hash tile.
    fn load_open_tiles(&mut self) -> Result<(), OpenError> {
        let size = self.range.size();
        let mut level = 0u8;
        self.hash_tiles.clear();
        loop {
            let nodes = if u32::from(level) * 8 >= 64 {
                0
            } else {
                size >> (u32::from(level) * 8)
            };
            if nodes == 0 && level > 0 {
                break;
            }
            let index = nodes / TILE_WIDTH as u64;
            let count = (nodes % TILE_WIDTH as u64) as usize;
            let mut open = OpenTile {
                index,
                ..OpenTile::default()
            };
            if count > 0 {
                let raw = self
                    .store
                    .raw_tile(TileLevel::Hash(level), index)?
                    .ok_or_else(|| {
                        OpenError::SelfCheck(format!(
                            "partial hash tile level {level} index {index} is missing"
                        ))
                    })?;
                if raw.len() != count * HASH_SIZE {
                    return Err(OpenError::SelfCheck(format!(
                        "partial hash tile level {level} index {index} holds {} bytes, expected {}",
                        raw.len(),
                        count * HASH_SIZE
                    )));
                }
                open.data = raw;
                open.count = count;
            }
            self.hash_tiles.push(open);
            if nodes < TILE_WIDTH as u64 {
                break;
            }
            level += 1;
        }
        let index = size / TILE_WIDTH as u64;
        let count = (size % TILE_WIDTH as u64) as usize;
        self.bundle = OpenTile {
            index,
            ..OpenTile::default()
        };
        if count > 0 {
            let raw = self
                .store
                .raw_tile(TileLevel::Entries, index)?
                .ok_or_else(|| {
                    OpenError::SelfCheck(format!("partial entry bundle {index} is missing"))
                })?;
            let entries = decode_bundle(&raw).map_err(|e| {
                OpenError::SelfCheck(format!("partial entry bundle {index} is corrupt: {e}"))
            })?;
            if entries.len() != count {
                return Err(OpenError::SelfCheck(format!(
                    "partial entry bundle {index} holds {} entries, expected {count}",
                    entries.len()
                )));
            }
            let level0 = &self.hash_tiles[0].data;
            for (i, e) in entries.iter().enumerate() {
                if level0.get(i * HASH_SIZE..(i + 1) * HASH_SIZE) != Some(&leaf_hash(e)[..]) {
                    return Err(OpenError::SelfCheck(format!(
                        "entry {} in the partial bundle does not match its leaf hash",
                        index * TILE_WIDTH as u64 + i as u64
                    )));
                }
            }
            self.bundle.data = raw;
            self.bundle.count = count;
        }
        Ok(())
    }

    /// Asks these witnesses to cosign every checkpoint from now on; the
    /// checkpoint is published (and put in receipts) with their cosignatures.
    pub fn set_witnessing(&mut self, w: Witnessing) {
        self.witnessing = Some(w);
    }

    /// The committed note with witness cosignatures, if witnessing is on.
    fn cosigned(&mut self, note: Vec<u8>, size: u64) -> Vec<u8> {
        match &mut self.witnessing {
            Some(w) => w.cosign(&note, size, &self.store),
            None => note,
        }
    }

    /// Handle readers use to see the latest checkpoint.
    pub fn published(&self) -> SharedCheckpoint {
        self.published.clone()
    }

    /// Runs the sequencer until every sender is gone, then commits what is
    /// left and returns.
    /// `pending` is the pool counter the HTTP side increments on admission;
    /// the sequencer releases each claim's slot once it has been handled.
    pub fn run(mut self, rx: mpsc::Receiver<Pending>, pending: Arc<AtomicUsize>) {
        let mut last_commit = Instant::now();
        loop {
            let wait = self
                .cfg
                .checkpoint_refresh
                .saturating_sub(last_commit.elapsed());
            let first = match rx.recv_timeout(wait) {
                Ok(p) => p,
                Err(RecvTimeoutError::Timeout) => {
                    self.refresh_checkpoint();
                    last_commit = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let deadline = Instant::now() + self.cfg.batch_interval;
            let mut batch = vec![first];
            let mut closed = false;
            while batch.len() < self.cfg.max_batch {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(p) => batch.push(p),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let n = batch.len();
            self.process(batch);
            pending.fetch_sub(n, Ordering::AcqRel);
            last_commit = Instant::now();
            if closed {
                return;
            }
        }
    }

    fn next_timestamp(&mut self) -> u64 {
        // Strictly increasing, even if the wall clock steps back.
        let ts = now_ms().max(self.last_timestamp + 1);
        self.last_timestamp = ts;
        ts
    }

    /// Signs the current tree again with a fresh timestamp (idle log).
    fn refresh_checkpoint(&mut self) {
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: self.range.size(),
            root: self.range.root(),
            extensions: vec![],
        }
        .with_timestamp(self.next_timestamp());
        let Ok(note) = sign_checkpoint(&cp, &self.signer) else {
            tracing::error!("cannot sign checkpoint");
            return;
        };
        let commit = Commit {
            checkpoint: note.clone(),
            ..Commit::default()
        };
        match self.store.commit(commit) {
            Ok(()) => {
                let note = self.cosigned(note, cp.size);
                self.publish(note, cp);
            }
            Err(e) => tracing::error!(error = %e, "checkpoint refresh failed"),
        }
    }

    fn publish(&self, note: Vec<u8>, checkpoint: Checkpoint) {
        let mut guard = self.published.write().unwrap_or_else(|e| e.into_inner());
        *guard = Arc::new(Published { note, checkpoint });
    }

    /// Sequences one batch: dedup, append, commit, publish, then reply.
    fn process(&mut self, batch: Vec<Pending>) {
        let started = Instant::now();
        let n = batch.len();
        self.metrics.pool_pending.dec_by(n as i64);
        let mut commit = Commit::default();
        self.fresh.clear();
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        // (pending, index) for every reply to send after the commit.
        let mut answers: Vec<(Pending, u64)> = Vec::with_capacity(n);
        let mut appended = 0u64;
        for p in batch {
            if let Some(&i) = in_batch.get(&p.leaf) {
                self.metrics.duplicates.inc();
                answers.push((p, i));
                continue;
            }
            match self.store.index_of_leaf(&p.leaf) {
                Ok(Some(i)) => {
                    self.metrics.duplicates.inc();
                    answers.push((p, i));
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = p.reply.send(Err(SequencerError::Storage(e.to_string())));
                    continue;
                }
            }
            let index = self.range.size();
            if let Err(e) = self.append(&p.entry, p.leaf, &mut commit) {
                let _ = p.reply.send(Err(SequencerError::Storage(e)));
                continue;
            }
            appended += 1;
            in_batch.insert(p.leaf, index);
            commit.dedup.push((p.leaf, index));
            commit.assets.push((p.asset, index));
            answers.push((p, index));
        }
        self.flush_open_tiles(&mut commit);

        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: self.range.size(),
            root: self.range.root(),
            extensions: vec![],
        }
        .with_timestamp(self.next_timestamp());
        let note = match sign_checkpoint(&cp, &self.signer) {
            Ok(n) => n,
            Err(e) => {
                self.fail_batch(answers, format!("cannot sign checkpoint: {e}"));
                return;
            }
        };
        commit.tree = Some(TreeState {
            size: self.range.size(),
            peaks: self.range.peaks().to_vec(),
        });
        commit.checkpoint = note.clone();
        if let Err(e) = self.store.commit(commit) {
            tracing::error!(error = %e, "batch commit failed; rolling back to stored state");
            self.fail_batch(answers, e.to_string());
            return;
        }
        let size = cp.size;
        let note = self.cosigned(note, size);
        self.publish(note.clone(), cp);
        self.metrics.entries.inc_by(appended);
        self.metrics.batches.inc();
        self.metrics.batch_size.observe(n as f64);
        self.metrics.tree_size.set(size as i64);
        self.metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        tracing::debug!(size, appended, batch = n, "committed batch");

        let reader = CachedNodes::new(
            &self.fresh,
            TileNodeReader::new(StoreTiles(&self.store), size),
        );
        for (p, index) in answers {
            let result = inclusion_proof(&reader, index, size)
                .map(|proof| Receipt {
                    entry: p.entry,
                    index,
                    proof,
                    checkpoint: note.clone(),
                })
                .map_err(|e| SequencerError::Proof {
                    index,
                    detail: e.to_string(),
                });
            self.metrics
                .receipt_seconds
                .observe(p.admitted.elapsed().as_secs_f64());
            let _ = p.reply.send(result);
        }
    }

    /// Answers every waiting submitter with an error and reloads the tree
    /// from storage, so the in-memory state never runs ahead of the disk.
    fn fail_batch(&mut self, answers: Vec<(Pending, u64)>, why: String) {
        for (p, _) in answers {
            let _ = p.reply.send(Err(SequencerError::Storage(why.clone())));
        }
        match self.store.tree_state() {
            Ok(Some(tree)) => match CompactRange::from_parts(tree.size, tree.peaks) {
                Ok(r) => self.range = r,
                Err(e) => tracing::error!(error = %e, "stored tree state invalid after failure"),
            },
            Ok(None) => self.range = CompactRange::new(),
            Err(e) => tracing::error!(error = %e, "cannot reload tree state"),
        }
        if let Err(e) = self.load_open_tiles() {
            tracing::error!(error = %e, "cannot reload open tiles after a failed commit");
        }
    }

    /// Appends one entry: its bundle slot, and every hash tile node it completes.
    fn append(&mut self, entry: &[u8], leaf: Hash, commit: &mut Commit) -> Result<(), String> {
        let len =
            u16::try_from(entry.len()).map_err(|_| "entry longer than 65535 bytes".to_string())?;
        self.bundle.data.extend_from_slice(&len.to_be_bytes());
        self.bundle.data.extend_from_slice(entry);
        self.bundle.count += 1;
        self.bundle.dirty = true;
        if self.bundle.count == TILE_WIDTH {
            let full = std::mem::take(&mut self.bundle.data);
            commit.tiles.push((
                Tile {
                    level: TileLevel::Entries,
                    index: self.bundle.index,
                    width: TILE_WIDTH as u16,
                },
                full,
            ));
            self.bundle = OpenTile {
                index: self.bundle.index + 1,
                ..OpenTile::default()
            };
        }
        let hash_tiles = &mut self.hash_tiles;
        let fresh = &mut self.fresh;
        let appended = self.range.append(leaf, |node: NodeId, hash: Hash| {
            fresh.insert(node, hash);
            if !node.level.is_multiple_of(8) {
                return;
            }
            let tl = usize::from(node.level / 8);
            while hash_tiles.len() <= tl {
                hash_tiles.push(OpenTile::default());
            }
            let t = &mut hash_tiles[tl];
            t.data.extend_from_slice(&hash);
            t.count += 1;
            t.dirty = true;
            if t.count == TILE_WIDTH {
                commit.tiles.push((
                    Tile {
                        level: TileLevel::Hash(node.level / 8),
                        index: t.index,
                        width: TILE_WIDTH as u16,
                    },
                    std::mem::take(&mut t.data),
                ));
                *t = OpenTile {
                    index: t.index + 1,
                    ..OpenTile::default()
                };
            }
        });
        appended.map_err(|e| e.to_string())
    }

    /// Adds the current bytes of every open tile changed in this batch.
    fn flush_open_tiles(&mut self, commit: &mut Commit) {
        for (level, t) in self.hash_tiles.iter_mut().enumerate() {
            if t.dirty && t.count > 0 {
                commit.tiles.push((
                    Tile {
                        level: TileLevel::Hash(level as u8),
                        index: t.index,
                        width: t.count as u16,
                    },
                    t.data.clone(),
                ));
            }
            t.dirty = false;
        }
        if self.bundle.dirty && self.bundle.count > 0 {
            commit.tiles.push((
                Tile {
                    level: TileLevel::Entries,
                    index: self.bundle.index,
                    width: self.bundle.count as u16,
                },
                self.bundle.data.clone(),
            ));
        }
        self.bundle.dirty = false;
    }
}

/// Node reader for a batch's receipts: nodes the batch itself completed
/// come from memory (they are exactly what was just written to the tiles);
/// older nodes are read from the stored tiles once and memoised, since the
/// proofs of neighbouring leaves share them.
pub struct CachedNodes<'a, R> {
    fresh: &'a HashMap<NodeId, Hash>,
    inner: R,
    cache: std::cell::RefCell<HashMap<NodeId, Hash>>,
}

impl<'a, R: NodeReader> CachedNodes<'a, R> {
    /// Wraps a node reader, serving `fresh` nodes from memory.
    pub fn new(fresh: &'a HashMap<NodeId, Hash>, inner: R) -> Self {
        CachedNodes {
            fresh,
            inner,
            cache: std::cell::RefCell::new(HashMap::new()),
        }
    }
}

impl<R: NodeReader> NodeReader for CachedNodes<'_, R> {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        let missing: Vec<NodeId> = {
            let cache = self.cache.borrow();
            ids.iter()
                .filter(|id| !self.fresh.contains_key(id) && !cache.contains_key(id))
                .copied()
                .collect()
        };
        if !missing.is_empty() {
            let got = self.inner.read_nodes(&missing)?;
            let mut cache = self.cache.borrow_mut();
            for (id, h) in missing.into_iter().zip(got) {
                cache.insert(id, h);
            }
        }
        let cache = self.cache.borrow();
        ids.iter()
            .map(|id| {
                self.fresh
                    .get(id)
                    .or_else(|| cache.get(id))
                    .copied()
                    .ok_or_else(|| TreeError::read_msg(format!("node {id:?} missing after read")))
            })
            .collect()
    }
}
