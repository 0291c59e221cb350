//! What readers are shown, and witnessing off the sequencer thread.
//!
//! [`Publication`] holds two views: the newest **committed** checkpoint
//! (durable, signed by the log only; the sequencer sets it after each
//! swap) and the **published** one (what `GET /checkpoint` serves: a
//! committed checkpoint with the witness cosignatures it got). Published
//! checkpoints only move forward (by size, then timestamp), and each
//! carries how many cosignatures it has against the quorum, so a checkpoint
//! below the quorum is never presented as meeting it.
//!
//! Without witnesses, or with quorum 0, the sequencer publishes each
//! committed checkpoint at once (receipts never wait on the network). With
//! witnesses, the [`Publisher`] task runs rounds: it takes the newest
//! committed checkpoint (checkpoints committed while a round runs are
//! coalesced into the next one), asks every idle witness in parallel, each
//! call bounded by the witness timeout, and publishes the checkpoint with
//! the cosignatures that verified once the quorum is met, can no longer be
//! met, or every witness answered. A witness still busy with an earlier
//! request sits the round out, so one silent witness delays nobody but
//! itself. The sequencer never waits for any of this: batches keep being
//! committed while a round runs.
//!
//! The quorum counts witness **keys**: a witness with a cosignature/v1 key
//! and an ML-DSA-44 key (configured as two `VKEY=URL` with one URL, asked
//! once) adds one cosignature per key whose line verified
//! ([`attach_cosignatures`] per key), as a tlog-policy listing both keys
//! as witnesses counts them. A witness that answers 422 (its view
//! contradicts the checkpoint) is an alert: logged at error level with the
//! sizes, counted in `witness_inconsistent_total`, shown in `/healthz`, and
//! that checkpoint (same size and root, even re-signed) is not sent to it
//! again; the next tree size is.
//!
//! A submitter's receipt first carries the committed checkpoint (log
//! signature only). With quorum > 0 the appender waits, at most
//! [`Publication::witness_wait`], for the round that covers it: if a
//! checkpoint that meets the quorum and includes the entry is published, the
//! receipt carries it (its proof rebuilt for that size); otherwise the
//! receipt keeps the log's signature only and the response says so.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provlog_core::checkpoint::Checkpoint;
use provlog_core::hash::Hash;
use provlog_core::note::{Note, VerifierKey};
use provlog_core::witness::{AddOutcome, attach_cosignatures};
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;
use crate::storage::LogStorage;
use crate::witnessing::{CallError, Exchange, WitnessCaller, ask};

/// A checkpoint the sequencer committed: durable, signed by the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The log-signed checkpoint note, as stored.
    pub note: Vec<u8>,
    /// Its parsed body.
    pub checkpoint: Checkpoint,
    /// The log's signed time of the note in Unix milliseconds
    /// (`SignedCheckpoint::log_time_ms`; 0 if it carries none).
    pub log_time_ms: u64,
}

impl Committed {
    /// The order of checkpoints: by size, then log time.
    pub fn order(&self) -> (u64, u64) {
        (self.checkpoint.size, self.log_time_ms)
    }
}

/// A checkpoint as readers are shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    /// The note: the log's signature and the cosignatures that verified.
    pub note: Vec<u8>,
    /// Its parsed body.
    pub checkpoint: Checkpoint,
    /// The log's signed time in Unix milliseconds (0 if none).
    pub log_time_ms: u64,
    /// Witness cosignatures on it.
    pub cosignatures: usize,
    /// The configured quorum.
    pub quorum: usize,
}

impl PublishedCheckpoint {
    /// Whether it carries at least the quorum of cosignatures.
    pub fn quorum_met(&self) -> bool {
        self.cosignatures >= self.quorum
    }

    /// The order of checkpoints: by size, then log time.
    pub fn order(&self) -> (u64, u64) {
        (self.checkpoint.size, self.log_time_ms)
    }

    /// The `Provlog-Witness-Quorum` header value for a response carrying it.
    pub fn quorum_header(&self) -> String {
        quorum_header(self.quorum_met(), self.cosignatures, self.quorum)
    }
}

/// `met|not-met; cosignatures=N; quorum=Q` (spec/http-api.md).
pub fn quorum_header(met: bool, cosignatures: usize, quorum: usize) -> String {
    format!(
        "{}; cosignatures={cosignatures}; quorum={quorum}",
        if met { "met" } else { "not-met" }
    )
}

/// The published view.
#[derive(Debug, Clone)]
pub struct PublishedState {
    /// The newest published checkpoint (served at `/checkpoint`).
    pub current: Arc<PublishedCheckpoint>,
    /// The newest published checkpoint that met the quorum, if any.
    pub last_met: Option<Arc<PublishedCheckpoint>>,
}

/// One witness's state as `/healthz` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WitnessStatus {
    /// The witness key's name.
    pub name: String,
    /// Its submission prefix.
    pub url: String,
    /// The size it last cosigned for this log, if any since start.
    pub cosigned_size: Option<u64>,
    /// Why its last exchange failed; `None` if it cosigned.
    pub last_error: Option<String>,
}

/// Both views, shared by the sequencer, the publisher, the appender and
/// the HTTP handlers.
pub struct Publication {
    quorum: usize,
    witnessed: bool,
    witness_wait: Duration,
    committed: watch::Sender<Arc<Committed>>,
    published: watch::Sender<PublishedState>,
    witnesses: Mutex<Vec<WitnessStatus>>,
}

impl Publication {
    /// The views of a log whose stored checkpoint is `initial`. `quorum`
    /// cosignatures are wanted from `witnesses` (one entry per witness: its
    /// first key, for its name, and its URL; none: quorum 0); with quorum
    /// > 0 receipts wait at most `witness_wait` for them.
    pub fn new(
        initial: Committed,
        witnesses: &[(VerifierKey, String)],
        quorum: usize,
        witness_wait: Duration,
    ) -> Arc<Self> {
        let current = Arc::new(PublishedCheckpoint {
            note: initial.note.clone(),
            checkpoint: initial.checkpoint.clone(),
            log_time_ms: initial.log_time_ms,
            cosignatures: 0,
            quorum,
        });
        let last_met = current.quorum_met().then(|| current.clone());
        Arc::new(Publication {
            quorum,
            witnessed: !witnesses.is_empty(),
            witness_wait,
            committed: watch::Sender::new(Arc::new(initial)),
            published: watch::Sender::new(PublishedState { current, last_met }),
            witnesses: Mutex::new(
                witnesses
                    .iter()
                    .map(|(k, url)| WitnessStatus {
                        name: k.name().to_string(),
                        url: url.clone(),
                        cosigned_size: None,
                        last_error: None,
                    })
                    .collect(),
            ),
        })
    }

    /// The configured quorum.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// How long a receipt waits for the quorum (irrelevant with quorum 0).
    pub fn witness_wait(&self) -> Duration {
        self.witness_wait
    }

    /// The newest committed checkpoint.
    pub fn committed(&self) -> Arc<Committed> {
        self.committed.borrow().clone()
    }

    /// The newest published checkpoint.
    pub fn current(&self) -> Arc<PublishedCheckpoint> {
        self.published.borrow().current.clone()
    }

    /// The published view.
    pub fn state(&self) -> PublishedState {
        self.published.borrow().clone()
    }

    /// Follows the committed checkpoints (the publisher).
    pub fn subscribe_committed(&self) -> watch::Receiver<Arc<Committed>> {
        self.committed.subscribe()
    }

    /// The sequencer: `c` is durable. With quorum 0 it is published at once
    /// (with no cosignatures; a witness round may add them later).
    pub fn commit(&self, c: Committed) {
        let c = Arc::new(c);
        self.committed.send_replace(c.clone());
        if self.quorum == 0 {
            self.publish(PublishedCheckpoint {
                note: c.note.clone(),
                checkpoint: c.checkpoint.clone(),
                log_time_ms: c.log_time_ms,
                cosignatures: 0,
                quorum: 0,
            });
        }
    }

    /// Publishes `p` if it is newer than the current one, or the same
    /// checkpoint with at least as many cosignatures. Returns whether it did.
    pub fn publish(&self, p: PublishedCheckpoint) -> bool {
        let p = Arc::new(p);
        self.published.send_if_modified(|st| {
            let newer = p.order() > st.current.order()
                || (p.order() == st.current.order()
                    && p.checkpoint == st.current.checkpoint
                    && p.cosignatures >= st.current.cosignatures);
            if !newer {
                return false;
            }
            st.current = p.clone();
            if p.quorum_met() && st.last_met.as_ref().is_none_or(|m| p.order() >= m.order()) {
                st.last_met = Some(p.clone());
            }
            true
        })
    }

    /// Waits (at most [`Publication::witness_wait`]) until a checkpoint at
    /// least as new as `at` (size, timestamp) is published, then returns the
    /// newest published checkpoint that meets the quorum and is at least
    /// that new, if any.
    pub async fn wait_for_quorum(&self, at: (u64, u64)) -> Option<Arc<PublishedCheckpoint>> {
        let mut rx = self.published.subscribe();
        let _ = tokio::time::timeout(
            self.witness_wait,
            rx.wait_for(|st| st.current.order() >= at),
        )
        .await;
        let st = self.published.borrow().clone();
        st.last_met.filter(|m| m.order() >= at)
    }

    /// Each witness's last exchange.
    pub fn witnesses(&self) -> Vec<WitnessStatus> {
        self.witnesses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the log is degraded (empty: it is not): a witness whose last
    /// exchange failed, or a published checkpoint below the quorum.
    pub fn degraded(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.witnessed {
            let cur = self.current();
            if !cur.quorum_met() {
                why.push(format!(
                    "the published checkpoint (size {}) has {} of the {} witness cosignatures wanted; receipts carry the log's signature only",
                    cur.checkpoint.size, cur.cosignatures, cur.quorum
                ));
            }
        }
        for w in self.witnesses() {
            if let Some(e) = &w.last_error {
                why.push(format!("witness {} ({}): {e}", w.name, w.url));
            }
        }
        why
    }

    fn witness_answered(&self, i: usize, cosigned: Option<u64>, error: Option<String>) {
        let mut ws = self.witnesses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = ws.get_mut(i) {
            if cosigned.is_some() {
                w.cosigned_size = cosigned;
            }
            w.last_error = error;
        }
    }
}

/// A witness the publisher asks.
pub struct WitnessSlot {
    /// Its verifier keys (`0x04` and/or `0x06`; its cosignature lines must
    /// verify with one of them). The first key's name labels its metrics.
    pub keys: Vec<VerifierKey>,
    /// For logs and metrics.
    pub url: String,
    /// How it is called.
    pub caller: Arc<dyn WitnessCaller>,
    known_size: u64,
    busy: bool,
    /// The checkpoint (size, root) it refused as inconsistent (422): not
    /// sent to it again.
    refused: Option<(u64, Hash)>,
}

impl WitnessSlot {
    /// A witness with one key nobody has asked yet.
    pub fn new(key: VerifierKey, url: String, caller: Arc<dyn WitnessCaller>) -> Self {
        Self::with_keys(vec![key], url, caller)
    }

    /// A witness with several keys (one request per checkpoint; each key's
    /// verified cosignature counts toward the quorum).
    pub fn with_keys(keys: Vec<VerifierKey>, url: String, caller: Arc<dyn WitnessCaller>) -> Self {
        WitnessSlot {
            keys,
            url,
            caller,
            known_size: 0,
            busy: false,
            refused: None,
        }
    }

    fn name(&self) -> &str {
        self.keys.first().map(VerifierKey::name).unwrap_or("")
    }
}

struct Round {
    id: u64,
    committed: Arc<Committed>,
    note: Note,
    /// Witness keys whose cosignature verified.
    cosigners: usize,
    /// Witnesses asked that have not answered.
    pending: usize,
    /// Their keys: the most cosignatures still to come.
    pending_keys: usize,
    decided: bool,
}

struct Answer {
    round: u64,
    witness: usize,
    exchange: Exchange,
    elapsed: Duration,
}

/// Witness rounds, as a task on the server's runtime. See the module docs.
pub struct Publisher {
    publication: Arc<Publication>,
    witnesses: Vec<WitnessSlot>,
    timeout: Duration,
    log: Arc<dyn LogStorage>,
    metrics: Arc<Metrics>,
}

impl Publisher {
    /// A publisher asking `witnesses` (each call bounded by `timeout`),
    /// building consistency proofs from `log`'s tiles.
    pub fn new(
        publication: Arc<Publication>,
        witnesses: Vec<WitnessSlot>,
        timeout: Duration,
        log: Arc<dyn LogStorage>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Publisher {
            publication,
            witnesses,
            timeout,
            log,
            metrics,
        }
    }

    /// Runs rounds until its task is dropped (the runtime shuts down) or
    /// the committed view is closed.
    pub async fn run(mut self) {
        let mut committed = self.publication.subscribe_committed();
        let (tx, mut rx) = mpsc::unbounded_channel::<Answer>();
        let mut rounds: Vec<Round> = Vec::new();
        let mut last: Option<(u64, u64)> = None;
        let mut next_id = 0u64;
        loop {
            let deciding = rounds.iter().any(|r| !r.decided);
            if !deciding {
                let c = committed.borrow_and_update().clone();
                if last != Some(c.order()) {
                    last = Some(c.order());
                    // The sequencer signed this note: it always parses.
                    let note = match Note::parse(&c.note) {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot parse the committed checkpoint; not witnessing it");
                            continue;
                        }
                    };
                    let round = self.start_round(next_id, c, note, &tx);
                    next_id += 1;
                    rounds.push(round);
                    if let Some(r) = rounds.last_mut() {
                        self.decide(r);
                    }
                    rounds.retain(|r| !(r.decided && r.pending == 0));
                    continue;
                }
            }
            tokio::select! {
                changed = committed.changed(), if !deciding => {
                    if changed.is_err() {
                        return;
                    }
                }
                Some(a) = rx.recv() => self.on_answer(a, &mut rounds),
            }
            rounds.retain(|r| !(r.decided && r.pending == 0));
        }
    }

    fn start_round(
        &mut self,
        id: u64,
        committed: Arc<Committed>,
        note: Note,
        tx: &mpsc::UnboundedSender<Answer>,
    ) -> Round {
        let mut pending = 0;
        let mut pending_keys = 0;
        let tree = (committed.checkpoint.size, committed.checkpoint.root);
        for (i, w) in self.witnesses.iter_mut().enumerate() {
            if w.busy || w.refused == Some(tree) {
                continue;
            }
            w.busy = true;
            pending += 1;
            pending_keys += w.keys.len();
            let (caller, log, tx) = (w.caller.clone(), self.log.clone(), tx.clone());
            let (note, size, known, timeout) = (
                committed.note.clone(),
                committed.checkpoint.size,
                w.known_size,
                self.timeout,
            );
            tokio::spawn(async move {
                let started = Instant::now();
                let exchange = ask(caller, log, note, size, known, timeout).await;
                let _ = tx.send(Answer {
                    round: id,
                    witness: i,
                    exchange,
                    elapsed: started.elapsed(),
                });
            });
        }
        Round {
            id,
            committed,
            note,
            cosigners: 0,
            pending,
            pending_keys,
            decided: false,
        }
    }

    /// Decides the round once its outcome is known: the quorum met, out of
    /// reach, or every witness asked has answered.
    fn decide(&self, r: &mut Round) {
        let quorum = self.publication.quorum;
        let met = quorum > 0 && r.cosigners >= quorum;
        let out_of_reach = r.cosigners + r.pending_keys < quorum;
        if r.decided || !(met || out_of_reach || r.pending == 0) {
            return;
        }
        r.decided = true;
        self.publish(r);
        if !met && quorum > 0 {
            tracing::warn!(
                size = r.committed.checkpoint.size,
                cosignatures = r.cosigners,
                quorum,
                "checkpoint published below the witness quorum"
            );
        }
    }

    fn publish(&self, r: &Round) {
        self.publication.publish(PublishedCheckpoint {
            note: r.note.to_bytes(),
            checkpoint: r.committed.checkpoint.clone(),
            log_time_ms: r.committed.log_time_ms,
            cosignatures: r.cosigners,
            quorum: self.publication.quorum,
        });
    }

    fn on_answer(&mut self, a: Answer, rounds: &mut [Round]) {
        let Some(w) = self.witnesses.get_mut(a.witness) else {
            return;
        };
        w.busy = false;
        w.known_size = a.exchange.known_size;
        let label = w.name().to_string();
        let m = self.metrics.witness(&label);
        m.requests.inc_by(u64::from(a.exchange.requests));
        m.latency.observe(a.elapsed.as_secs_f64());
        let Some(r) = rounds.iter_mut().find(|r| r.id == a.round) else {
            return;
        };
        r.pending = r.pending.saturating_sub(1);
        r.pending_keys = r.pending_keys.saturating_sub(w.keys.len());
        let size = r.committed.checkpoint.size;
        let error = match a.exchange.outcome {
            Ok(AddOutcome::Cosigned(sigs)) => {
                // Each key separately: every key whose line verifies counts.
                let mut note = r.note.clone();
                let mut attached = 0;
                let mut why = None;
                for key in &w.keys {
                    match attach_cosignatures(&note, &sigs, key) {
                        Ok(n) => {
                            note = n;
                            attached += 1;
                        }
                        Err(e) => why = Some(e),
                    }
                }
                if attached > 0 {
                    r.note = note;
                    r.cosigners += attached;
                    m.cosigned_size.set(size as i64);
                }
                match why {
                    None => None,
                    // Some keys cosigned: the others' lines are missing or bad.
                    Some(e) if attached > 0 => {
                        tracing::warn!(witness = %w.url, size, error = %e, "a witness key did not cosign");
                        None
                    }
                    Some(e) => Some(format!("answer rejected: {e}")),
                }
            }
            Ok(AddOutcome::Conflict(s)) => Some(format!(
                "the witness has cosigned size {s}, cannot cosign size {size} from it"
            )),
            Err(CallError::Inconsistent(e)) => {
                m.inconsistent.inc();
                w.refused = Some((size, r.committed.checkpoint.root));
                tracing::error!(
                    alert = "witness-inconsistent",
                    witness = %label,
                    url = %w.url,
                    size,
                    old_size = a.exchange.old_size,
                    root = %hex::encode(r.committed.checkpoint.root),
                    error = %e,
                    "ALERT: the witness refuses this log's checkpoint as inconsistent with one it cosigned; not sending it this checkpoint again"
                );
                Some(format!(
                    "INCONSISTENT: refused checkpoint size {size} (from old size {}) as inconsistent with what it cosigned: {e}",
                    a.exchange.old_size
                ))
            }
            Err(CallError::Failed(e)) => Some(e),
        };
        match &error {
            None => self
                .publication
                .witness_answered(a.witness, Some(size), None),
            Some(e) => {
                m.failures.inc();
                tracing::warn!(witness = %w.url, size, error = %e, "witness did not cosign");
                self.publication
                    .witness_answered(a.witness, None, Some(e.clone()));
            }
        }
        if r.decided {
            // A late cosignature still improves the checkpoint if it is the
            // one being served.
            if error.is_none() {
                self.publish(r);
            }
        } else {
            self.decide(r);
        }
    }
}
