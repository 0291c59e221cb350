//! The single sequencer: takes admitted claims, appends them to the tree
//! with the core [`TileBuilder`], and commits each batch through the storage
//! seam ([`crate::storage`]): stage the batch's tiles and index entries,
//! swap the checkpoint in (compare-and-swap against the one it last read or
//! wrote), settle. Only after all of that succeeds are receipts issued.
//! On any failure nothing is acknowledged and the in-memory state is
//! reloaded from storage (the same recovery as at start-up), so it never
//! runs ahead of what is durable; if storage cannot even be read, every
//! later batch first retries that recovery.
//!
//! [`Sequencer::commit`] sequences one batch at a given time, with no
//! threads, channels or sleeps (tests step it directly);
//! [`Sequencer::run`] is the thin loop around it that the server runs on
//! its own OS thread (hashing, signing, fsync and proof building block).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use provlog_core::checkpoint::{Checkpoint, LogSigner, verify_checkpoint};
use provlog_core::hash::{EMPTY_ROOT, Hash};
use provlog_core::index::KeyHash;
use provlog_core::index::entry::PROVLOG_TAG_PREFIX;
use provlog_core::receipt::Receipt;
use provlog_core::tile_builder::TileBuilder;
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::{NodeId, NodeReader, TreeError, inclusion_proof};
use tokio::sync::oneshot;

use crate::binding_index::{BindingHints, EntryBindings};
use crate::dedup_filter::DedupFilter;
use crate::metrics::Metrics;
use crate::publisher::{Committed, Publication};
use crate::storage::{IndexStorage, LogStorage, StagedBatch, StorageError, StorageTiles, TreeHead};
use crate::vindex::VIndex;

/// How often a failing storage is retried with a checkpoint refresh.
const STORAGE_RETRY: Duration = Duration::from_secs(1);

/// A claim to sequence: the entry exactly as it will be logged.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The signed claim bytes.
    pub entry: Vec<u8>,
    /// RFC 6962 leaf hash of `entry`.
    pub leaf: Hash,
    /// SHA-256 of the asset the claim is about (for the lookup index).
    pub asset: Hash,
    /// The entry's verifiable-index keys (spec/lookup.md §2.2), when
    /// admission already derived them from its parse (so the sequencer's
    /// one thread does not parse the claim again); `None`: derived from
    /// `entry` at commit.
    pub index_keys: Option<Vec<KeyHash>>,
    /// The entry's binding-index records, when admission already derived
    /// them from its parse; handed to the binding index once the entry is
    /// durable ([`BindingHints`]). `None`: the binding index parses the
    /// entry.
    pub bindings: Option<EntryBindings>,
}

/// One claim of a batch committed: its receipt (against the committed,
/// log-signed checkpoint).
#[derive(Debug, Clone)]
pub struct Sequenced {
    /// The receipt.
    pub receipt: Receipt,
    /// The checkpoint's (size, log time in ms), to wait for witnesses.
    pub checkpoint_order: (u64, u64),
    /// Whether the claim was already logged (or earlier in the batch).
    pub duplicate: bool,
}

/// Releases one claim's room in the pool when dropped: whoever drops the
/// claim (the sequencer after answering, or a channel at shutdown), the
/// room is given back exactly once.
pub struct PoolSlot {
    pending: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl PoolSlot {
    /// Takes the room already reserved in `pending` for one claim.
    pub fn reserved(pending: Arc<AtomicUsize>, metrics: Arc<Metrics>) -> Self {
        metrics.pool_pending.inc();
        PoolSlot { pending, metrics }
    }
}

impl Drop for PoolSlot {
    fn drop(&mut self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
        self.metrics.pool_pending.dec();
    }
}

/// A claim in the pool, with where its receipt goes.
pub struct Pending {
    /// The claim.
    pub claim: Claim,
    /// When it entered the pool (for the latency metric).
    pub admitted: Instant,
    /// Where the result goes.
    pub reply: oneshot::Sender<Result<Sequenced, SequencerError>>,
    /// Its room in the pool.
    pub slot: PoolSlot,
}

/// Why a claim got no receipt.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SequencerError {
    /// Storage failed; the claim may be retried (a claim whose batch did
    /// reach storage is then answered from the dedup index).
    #[error("storage failed, the claim was not acknowledged: {0}")]
    Storage(String),
    /// The claim cannot be logged at all.
    #[error("the claim cannot be logged: {0}")]
    Rejected(String),
    /// Building the inclusion proof failed (the claim may be logged).
    #[error("claim at index {index} but its proof could not be built: {detail}")]
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
    Storage(#[from] StorageError),
    /// The stored state is inconsistent; the server must not serve it.
    #[error("self-check failed, refusing to serve: {0}")]
    SelfCheck(String),
}

/// Settings of the loop around [`Sequencer::commit`].
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// Longest a claim waits before its batch is committed.
    pub batch_interval: Duration,
    /// Batch size that triggers an immediate commit.
    pub max_batch: usize,
    /// Re-sign an unchanged checkpoint after this long without entries.
    pub checkpoint_refresh: Duration,
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The durable state the sequencer builds on.
struct Durable {
    /// The stored checkpoint note (what the next swap expects).
    note: Vec<u8>,
    checkpoint: Checkpoint,
    /// The note's signed log time, Unix ms (0 if none).
    log_time_ms: u64,
    builder: TileBuilder,
}

/// The sequencer. Owns the tree.
pub struct Sequencer {
    log: Arc<dyn LogStorage>,
    index: Arc<dyn IndexStorage>,
    signer: LogSigner,
    /// `None` after a failure until storage has been read back.
    state: Option<Durable>,
    /// The last log time signed or read back, POSIX seconds.
    last_timestamp: u64,
    publication: Option<Arc<Publication>>,
    metrics: Arc<Metrics>,
    /// The verifiable index (spec/lookup.md §9.1), `None`: no index-commits.
    vindex: Option<Arc<VIndex>>,
    /// Where committed claims' binding records go, `None`: nowhere.
    binding_hints: Option<Arc<BindingHints>>,
    /// Spares the dedup look-up of a certainly new claim, `None`: every
    /// claim is looked up.
    dedup_filter: Option<Arc<DedupFilter>>,
}

impl Sequencer {
    /// Opens the log: creates the empty tree on first start (at `now_ms`),
    /// otherwise recovers (settles a batch its last run left staged) and
    /// runs the start-up self-check: the stored checkpoint must verify with
    /// the log key and the stored right-edge tiles must reproduce its root.
    /// Checkpoints are signed with `signer` ([`LogSigner::sign`]: Ed25519,
    /// the log's timestamp cosignature, ML-DSA-44 if configured).
    pub fn open(
        log: Arc<dyn LogStorage>,
        index: Arc<dyn IndexStorage>,
        signer: LogSigner,
        metrics: Arc<Metrics>,
        now_ms: u64,
    ) -> Result<Self, OpenError> {
        let mut seq = Sequencer {
            log,
            index,
            signer,
            state: None,
            last_timestamp: 0,
            publication: None,
            metrics,
            vindex: None,
            binding_hints: None,
            dedup_filter: None,
        };
        if seq.log.checkpoint()?.is_none() {
            seq.create(now_ms)?;
        }
        seq.recover()?;
        Ok(seq)
    }

    /// Writes the empty tree's checkpoint (first start).
    fn create(&mut self, now_ms: u64) -> Result<(), OpenError> {
        let cp = Checkpoint::new(self.signer.ed25519().name(), 0, EMPTY_ROOT);
        let ts = self.next_timestamp(now_ms);
        let note = self
            .signer
            .sign(&cp, ts)
            .map_err(|e| OpenError::SelfCheck(format!("cannot sign: {e}")))?;
        let head = TreeHead {
            size: 0,
            root: EMPTY_ROOT,
        };
        self.log.stage(&head, &StagedBatch::default())?;
        self.log.swap_checkpoint(None, &note, &head)?;
        self.log.settle(&head)?;
        Ok(())
    }

    /// Reads the durable state back: the stored checkpoint (it must verify
    /// with the log key), settles storage on its tree (finishing a batch
    /// whose swap took effect, discarding one whose swap did not), runs the
    /// backend's own checks, and resumes the tile builder from the stored
    /// right edge, whose root must be the checkpoint's. O(log n) reads.
    fn recover(&mut self) -> Result<(), OpenError> {
        self.state = None;
        let fail = |m: String| Err(OpenError::SelfCheck(m));
        let Some(note) = self.log.checkpoint()? else {
            return fail("no checkpoint is stored".into());
        };
        // The Ed25519 key alone: checkpoints stored before the log had an
        // ML-DSA-44 key carry no signature by it.
        let (cp, log_time_ms) =
            match verify_checkpoint(&note, &self.signer.ed25519().verifier_key()) {
                Ok(v) => {
                    let t = v.log_time_ms();
                    (v.checkpoint, t.unwrap_or(0))
                }
                Err(e) => {
                    return fail(format!(
                        "the stored checkpoint does not verify with this log's key: {e}"
                    ));
                }
            };
        let head = TreeHead {
            size: cp.size,
            root: cp.root,
        };
        self.log.settle(&head)?;
        self.log.self_check(&head).map_err(|e| match e {
            StorageError::Corrupt(m) => OpenError::SelfCheck(m),
            e => OpenError::Storage(e),
        })?;
        let builder = match TileBuilder::resume(cp.size, &StorageTiles(&*self.log), true) {
            Ok(b) => b.keep_nodes(),
            Err(e) => return fail(format!("cannot resume from the stored right edge: {e}")),
        };
        if builder.root() != cp.root {
            return fail(format!(
                "the root recomputed from stored tiles differs from the checkpoint root at size {}",
                cp.size
            ));
        }
        // Never below the stored time (a legacy time in ms rounds up).
        self.last_timestamp = self.last_timestamp.max(log_time_ms.div_ceil(1000));
        self.metrics.tree_size.set(cp.size as i64);
        self.state = Some(Durable {
            note,
            checkpoint: cp,
            log_time_ms,
            builder,
        });
        Ok(())
    }

    /// Maintains `vindex` from now on: every batch ends with an index-commit
    /// entry (spec/lookup.md §4.1). Synchronises it with the stored tree
    /// first (a rebuild from the entries, O(size)).
    pub fn set_vindex(&mut self, vindex: Arc<VIndex>) -> Result<(), OpenError> {
        let size = self
            .state
            .as_ref()
            .map(|d| d.checkpoint.size)
            .ok_or_else(|| OpenError::SelfCheck("no durable state".into()))?;
        vindex.sync(&*self.log, size).map_err(|e| match e {
            crate::vindex::VIndexError::Storage(e) => OpenError::Storage(e),
            e => OpenError::SelfCheck(e.to_string()),
        })?;
        self.vindex = Some(vindex);
        Ok(())
    }

    /// Hands the binding records of every claim that carries them to
    /// `hints` once its batch is durable, from now on.
    pub fn set_binding_hints(&mut self, hints: Arc<BindingHints>) {
        self.binding_hints = Some(hints);
    }

    /// Consults `filter` before each dedup look-up from now on, and adds
    /// every leaf to it before staging it (the rule in
    /// [`crate::dedup_filter`]: fill the filter only after this call).
    pub fn set_dedup_filter(&mut self, filter: Arc<DedupFilter>) {
        self.dedup_filter = Some(filter);
    }

    /// Reports every commit to `publication` from now on.
    pub fn set_publication(&mut self, publication: Arc<Publication>) {
        self.publication = Some(publication);
    }

    /// The committed checkpoint: durable, log-signed. `None` while storage
    /// is unreadable after a failure.
    pub fn committed(&self) -> Option<Committed> {
        self.state.as_ref().map(|s| Committed {
            note: s.note.clone(),
            checkpoint: s.checkpoint.clone(),
            log_time_ms: s.log_time_ms,
        })
    }

    /// The log time for the next signature, in whole POSIX seconds: the
    /// wall clock, but never below the last one signed or stored (also if
    /// the clock steps back), at most 2^63 - 1.
    fn next_timestamp(&mut self, now_ms: u64) -> u64 {
        let ts = (now_ms / 1000)
            .max(self.last_timestamp)
            .min(i64::MAX as u64);
        self.last_timestamp = ts;
        ts
    }

    /// The durable state, reading it back from storage first if a failure
    /// left it unknown.
    fn durable(&mut self) -> Result<&mut Durable, SequencerError> {
        if self.state.is_none() {
            let metrics = self.metrics.clone();
            let health = &metrics.storage;
            self.recover().map_err(|e| {
                tracing::error!(error = %e, "cannot read the log back from storage");
                match &e {
                    OpenError::Storage(se) => health.failed(se),
                    other => health.failed(&StorageError::Backend(other.to_string())),
                }
                SequencerError::Storage(format!("cannot read the log back from storage: {e}"))
            })?;
        }
        self.state
            .as_mut()
            .ok_or_else(|| SequencerError::Storage("no durable state".into()))
    }

    /// After a failed write: nothing is acknowledged, and the in-memory state
    /// is reloaded from storage (or marked unknown until it can be).
    fn failed(&mut self, what: &str, e: &StorageError) -> SequencerError {
        tracing::error!(error = %e, "{what} failed; reloading the log from storage");
        self.metrics.commit_failures.inc();
        self.metrics.storage.failed(e);
        if let Err(re) = self.recover() {
            tracing::error!(error = %re, "cannot read the log back yet; retrying before the next batch");
        }
        SequencerError::Storage(format!("{what}: {e}"))
    }

    /// Sequences one batch at time `now_ms`: dedup, append, sign, stage,
    /// swap, settle; then returns one result per claim, in order. Claims
    /// already logged (or earlier in the batch) get a receipt for their
    /// original index. Nothing is returned as `Ok` unless the batch is
    /// durable and readable. A batch of duplicates only commits nothing.
    pub fn commit(
        &mut self,
        claims: Vec<Claim>,
        now_ms: u64,
    ) -> Vec<Result<Sequenced, SequencerError>> {
        let started = Instant::now();
        let n = claims.len();
        let all = |e: SequencerError| (0..n).map(|_| Err(e.clone())).collect();
        let log = self.log.clone();
        let index = self.index.clone();
        let (old_size, old_note) = match self.durable() {
            Ok(d) => (d.checkpoint.size, d.note.clone()),
            Err(e) => return all(e),
        };
        // The verifiable index, held for the whole batch (see vindex.rs);
        // rebuilt first if a failed batch left it stale.
        let vindex = self.vindex.clone();
        let mut vguard = match vindex.as_deref().map(|v| {
            v.sync(&*log, old_size)?;
            v.begin(old_size)
        }) {
            None => None,
            Some(Ok(g)) => Some(g),
            Some(Err(e)) => {
                return all(SequencerError::Storage(format!("verifiable index: {e}")));
            }
        };
        // Where each claim goes: Ok((index, duplicate)) or why not.
        let mut slots: Vec<Result<(u64, bool), SequencerError>> = Vec::with_capacity(n);
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut dedup = Vec::new();
        let mut assets = Vec::new();
        let mut appended = 0u64;
        let old_tiles = TileNodeReader::new(StorageTiles(&*log), old_size);
        let mut index_failed = None;
        {
            let Some(d) = self.state.as_mut() else {
                return all(SequencerError::Storage("no durable state".into()));
            };
            for c in &claims {
                if let Some(&i) = in_batch.get(&c.leaf) {
                    slots.push(Ok((i, true)));
                    continue;
                }
                // Certainly not in the dedup index: certainly not logged
                // (what a look-up finding nothing says), without reading.
                let look_up = self
                    .dedup_filter
                    .as_ref()
                    .is_none_or(|f| f.may_hold(&c.leaf));
                let at = if look_up {
                    logged_at(&*index, &old_tiles, &c.leaf, old_size)
                } else {
                    Ok(None)
                };
                match at {
                    Ok(Some(i)) => {
                        slots.push(Ok((i, true)));
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.metrics.storage.failed(&e);
                        slots.push(Err(SequencerError::Storage(e.to_string())));
                        continue;
                    }
                }
                match d.builder.append(&c.entry) {
                    Ok(i) => {
                        in_batch.insert(c.leaf, i);
                        appended += 1;
                        // The dedup and asset indexes hold claims only; the
                        // log's own entries (vendor-key, spec/lookup.md §4)
                        // are in the verifiable index instead.
                        if !c.entry.starts_with(&PROVLOG_TAG_PREFIX) {
                            // In the filter before it can be in the index.
                            if let Some(f) = &self.dedup_filter {
                                f.add(&c.leaf);
                            }
                            dedup.push((c.leaf, i));
                            assets.push((c.asset, i));
                        }
                        slots.push(Ok((i, false)));
                    }
                    Err(e) => slots.push(Err(SequencerError::Rejected(e.to_string()))),
                }
            }
            if let Some(g) = vguard.as_mut()
                && appended > 0
            {
                // The batch's last entry: the index-commit over everything
                // before it (in the same staged tiles as the entries).
                let fresh: Vec<(&[u8], Option<&[KeyHash]>)> = claims
                    .iter()
                    .zip(&slots)
                    .filter(|(_, s)| matches!(s, Ok((_, false))))
                    .map(|(c, _)| (c.entry.as_slice(), c.index_keys.as_deref()))
                    .collect();
                let t = Instant::now();
                match g.append_commit(&mut d.builder, old_size, &fresh) {
                    Ok((_, pairs)) => {
                        self.metrics.index_batch_keys.observe(pairs as f64);
                        self.metrics
                            .index_commit_seconds
                            .observe(t.elapsed().as_secs_f64());
                    }
                    Err(e) => index_failed = Some(e),
                }
            }
        }
        if let Some(e) = index_failed {
            // Nothing was staged: reload the tree (the builder holds the
            // unstaged entries) and rebuild the index before the next batch.
            drop(vguard);
            let _ = self.recover();
            return all(SequencerError::Storage(format!("verifiable index: {e}")));
        }
        let size;
        let note;
        let cp;
        let log_time_ms;
        if appended == 0 {
            // Nothing new: answer against the checkpoint already stored.
            let Some(d) = self.state.as_ref() else {
                return all(SequencerError::Storage("no durable state".into()));
            };
            size = old_size;
            note = d.note.clone();
            cp = d.checkpoint.clone();
            log_time_ms = d.log_time_ms;
        } else {
            let ts = self.next_timestamp(now_ms);
            let Some(d) = self.state.as_mut() else {
                return all(SequencerError::Storage("no durable state".into()));
            };
            size = d.builder.size();
            cp = Checkpoint::new(self.signer.ed25519().name(), size, d.builder.root());
            log_time_ms = ts * 1000;
            note = match self.signer.sign(&cp, ts) {
                Ok(n) => n,
                Err(e) => {
                    let _ = self.recover();
                    return all(SequencerError::Storage(format!("cannot sign: {e}")));
                }
            };
        }
        // One binding-index hint per new index (the index-commit entry has
        // none), pushed once the batch is durable.
        let mut hint_run: Vec<Option<EntryBindings>> = if self.binding_hints.is_some() {
            (old_size..size).map(|_| None).collect()
        } else {
            Vec::new()
        };
        // Receipts, built from the nodes this batch computed and the tiles
        // of the old tree (every node of the new tree is one or the other).
        let results: Vec<Result<Sequenced, SequencerError>> = {
            let Some(d) = self.state.as_ref() else {
                return all(SequencerError::Storage("no durable state".into()));
            };
            let reader = CachedNodes::new(d.builder.nodes(), &old_tiles);
            let hints = &mut hint_run;
            claims
                .into_iter()
                .zip(slots)
                .map(|(c, slot)| {
                    let (i, duplicate) = slot?;
                    if !duplicate
                        && let Some(h) = i
                            .checked_sub(old_size)
                            .and_then(|j| hints.get_mut(j as usize))
                    {
                        *h = c.bindings;
                    }
                    let proof =
                        inclusion_proof(&reader, i, size).map_err(|e| SequencerError::Proof {
                            index: i,
                            detail: e.to_string(),
                        })?;
                    Ok(Sequenced {
                        receipt: Receipt {
                            entry: c.entry,
                            index: i,
                            proof,
                            checkpoint: note.clone(),
                        },
                        checkpoint_order: (size, log_time_ms),
                        duplicate,
                    })
                })
                .collect()
        };
        if appended > 0 {
            let head = TreeHead {
                size,
                root: cp.root,
            };
            let Some(d) = self.state.as_mut() else {
                return all(SequencerError::Storage("no durable state".into()));
            };
            let batch = StagedBatch {
                tiles: d.builder.take_tiles(),
                peaks: d.builder.range().peaks().to_vec(),
            };
            if let Err(e) = log.stage(&head, &batch) {
                return all(self.failed("staging the batch's tiles", &e));
            }
            if let Err(e) = index.stage_indexes(&head, &dedup, &assets) {
                return all(self.failed("staging the batch's index entries", &e));
            }
            if let Err(e) = log.swap_checkpoint(Some(&old_note), &note, &head) {
                return all(self.failed("swapping the checkpoint in", &e));
            }
            if let Err(e) = log.settle(&head) {
                return all(self.failed("settling the batch's tiles", &e));
            }
            self.metrics.storage.succeeded();
            if let Some(d) = self.state.as_mut() {
                d.note = note.clone();
                d.checkpoint = cp.clone();
                d.log_time_ms = log_time_ms;
            }
            // Durable: the binding index may take these records from now
            // on (before the publication, which the index follows).
            if let Some(h) = &self.binding_hints {
                h.push(old_size, hint_run);
            }
            self.metrics.entries.inc_by(appended);
            self.metrics.batches.inc();
            self.metrics.tree_size.set(size as i64);
            self.metrics
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            self.report(note, cp, log_time_ms);
            if let Some(g) = vguard.take() {
                g.finish();
                if let Some(v) = &vindex {
                    self.metrics.index_keys.set(v.key_count() as i64);
                }
            }
        }
        self.metrics.batch_size.observe(n as f64);
        self.metrics.duplicates.inc_by(
            results
                .iter()
                .filter(|r| matches!(r, Ok(s) if s.duplicate))
                .count() as u64,
        );
        tracing::debug!(size, appended, batch = n, "committed batch");
        results
    }

    fn report(&self, note: Vec<u8>, checkpoint: Checkpoint, log_time_ms: u64) {
        if let Some(p) = &self.publication {
            p.commit(Committed {
                note,
                checkpoint,
                log_time_ms,
            });
        }
    }

    /// Signs the current tree again with a fresh timestamp (an idle log, so
    /// that it can be told from a frozen one) and swaps it in.
    pub fn refresh(&mut self, now_ms: u64) -> Result<(), SequencerError> {
        let log = self.log.clone();
        let ts = self.next_timestamp(now_ms);
        let d = self.durable()?;
        let cp = Checkpoint::new(&d.checkpoint.origin, d.checkpoint.size, d.checkpoint.root);
        let old = d.note.clone();
        let note = self
            .signer
            .sign(&cp, ts)
            .map_err(|e| SequencerError::Storage(format!("cannot sign: {e}")))?;
        let head = TreeHead {
            size: cp.size,
            root: cp.root,
        };
        if let Err(e) = log.swap_checkpoint(Some(&old), &note, &head) {
            return Err(self.failed("refreshing the checkpoint", &e));
        }
        if let Err(e) = log.settle(&head) {
            return Err(self.failed("settling after a refresh", &e));
        }
        self.metrics.storage.succeeded();
        if let Some(d) = self.state.as_mut() {
            d.note = note.clone();
            d.checkpoint = cp.clone();
            d.log_time_ms = ts * 1000;
        }
        self.report(note, cp, ts * 1000);
        Ok(())
    }

    /// Commits one batch of pooled claims at time `now_ms` and answers each
    /// submitter (dropping each claim releases its pool room).
    pub fn process(&mut self, batch: Vec<Pending>, now_ms: u64) {
        let mut claims = Vec::with_capacity(batch.len());
        let mut waiting = Vec::with_capacity(batch.len());
        for p in batch {
            claims.push(p.claim);
            waiting.push((p.admitted, p.reply, p.slot));
        }
        let results = self.commit(claims, now_ms);
        for ((admitted, reply, slot), r) in waiting.into_iter().zip(results) {
            self.metrics
                .receipt_seconds
                .observe(admitted.elapsed().as_secs_f64());
            let _ = reply.send(r);
            // Answered: the claim's pool room is free again.
            drop(slot);
        }
    }

    /// Runs until every sender is gone, then commits what is left and
    /// returns: waits for a first claim (or the refresh period), gathers
    /// more until `max_batch` or `batch_interval`, and calls
    /// [`Sequencer::process`].
    pub fn run(mut self, rx: mpsc::Receiver<Pending>, cfg: SequencerConfig) {
        let mut last_commit = Instant::now();
        loop {
            if self.metrics.storage.unrecoverable() {
                // Everything acknowledged is durable; what is pooled is
                // answered "shutting down" (503) once `rx` is dropped.
                tracing::error!(
                    "storage cannot continue in this process; the sequencer stops and the server exits"
                );
                return;
            }
            let mut wait = cfg.checkpoint_refresh.saturating_sub(last_commit.elapsed());
            if self.metrics.storage.fault().is_some() {
                // Retry (a checkpoint refresh is a write) soon, so the log
                // recovers without waiting for traffic.
                wait = wait.min(STORAGE_RETRY);
            }
            let first = match rx.recv_timeout(wait) {
                Ok(p) => p,
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = self.refresh(now_ms()) {
                        tracing::error!(error = %e, "checkpoint refresh failed");
                    }
                    last_commit = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let deadline = Instant::now() + cfg.batch_interval;
            let mut batch = vec![first];
            let mut closed = false;
            while batch.len() < cfg.max_batch {
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
            self.process(batch, now_ms());
            last_commit = Instant::now();
            if closed {
                return;
            }
        }
    }
}

/// Where `leaf` is logged in the tree of `size`, checking the dedup index's
/// hint against the tree (a stale index entry is a miss; see
/// [`IndexStorage`]).
pub fn logged_at(
    index: &dyn IndexStorage,
    tiles: &impl NodeReader,
    leaf: &Hash,
    size: u64,
) -> Result<Option<u64>, StorageError> {
    let Some(i) = index.index_of_leaf(leaf)? else {
        return Ok(None);
    };
    if i >= size {
        return Ok(None);
    }
    let at = tiles
        .read_nodes(&[NodeId::new(0, i)])
        .map_err(|e| StorageError::Backend(format!("reading leaf {i}: {e}")))?;
    Ok((at.first() == Some(leaf)).then_some(i))
}

/// Node reader for a batch's receipts: nodes the batch itself computed come
/// from memory (they are exactly what it writes into the tiles); older nodes
/// are read from the old tree's tiles once and memoised, since the proofs
/// of neighbouring leaves share them.
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
