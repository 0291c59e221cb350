//! The shared monitor state: followed logs and their audited trees, the
//! witness key, evidence handling and the gossip view.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use provlog_core::checkpoint::{Checkpoint, verify_checkpoint};
use provlog_core::evidence::Evidence;
use provlog_core::note::{Note, NoteSigner, VerifierKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;

use crate::alerts::Alerter;
use crate::config::{Config, LogConfig};
use crate::metrics::{LogLabel, Metrics, ReasonLabel};
use crate::owntree::OwnTree;
use crate::store::{Store, StoreError};

/// Most foreign checkpoints (ahead of the audited tree) kept per log.
const MAX_PENDING: usize = 64;
/// Most evidence bundles served or gossiped at once.
pub const MAX_EVIDENCE_LIST: usize = 1000;

/// What a log looks like from here.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LogState {
    /// Not polled yet.
    Starting,
    /// Reachable, fresh and consistent.
    Ok,
    /// Transient fault: unreachable or answering 5xx/429.
    Unreachable,
    /// Its newest checkpoint is older than the freshness bound.
    Frozen,
    /// It served something an honest log never serves.
    Misbehaving,
}

/// Status of one log, served at `/healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct LogStatus {
    /// The state.
    pub state: LogState,
    /// Why (empty when ok).
    pub detail: String,
    /// Latest size the log announced.
    pub log_size: u64,
    /// Entries audited.
    pub audited_size: u64,
}

/// One followed log.
pub struct LogCtx {
    /// Its configuration.
    pub cfg: LogConfig,
    /// The audited tree (the lock serializes audits and comparisons).
    pub tree: tokio::sync::Mutex<OwnTree>,
    /// Its status.
    pub status: Mutex<LogStatus>,
    /// Validly signed checkpoints seen (gossip, witnessing) that are ahead
    /// of the audited tree, re-checked as the audit advances.
    pub pending: Mutex<Vec<(Checkpoint, Vec<u8>)>>,
}

impl LogCtx {
    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.cfg.origin()
    }

    /// Updates the status; returns the previous state.
    pub fn set_state(&self, state: LogState, detail: String) -> LogState {
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let prev = s.state.clone();
        s.state = state;
        s.detail = detail;
        prev
    }
}

/// A gossip message: signed checkpoints and evidence (spec/monitor.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Gossip {
    /// Signed checkpoint notes.
    #[serde(default)]
    pub checkpoints: Vec<String>,
    /// Evidence bundles.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The monitor.
pub struct Monitor {
    /// Configuration.
    pub cfg: Config,
    /// Durable state.
    pub store: Store,
    /// Followed logs by origin.
    pub logs: HashMap<String, Arc<LogCtx>>,
    /// This monitor's witness key (cosignature/v1).
    pub witness: NoteSigner,
    /// Makes the witness's size check and write one atomic step.
    pub witness_lock: Mutex<()>,
    /// Metrics.
    pub metrics: Metrics,
    /// Alert delivery.
    pub alerts: Alerter,
    /// Signalled when there is news to gossip.
    pub news: Notify,
}

impl Monitor {
    /// Builds the monitor, loading every log's audited tree.
    pub fn new(cfg: Config, store: Store, witness: NoteSigner) -> Result<Self, StoreError> {
        let metrics = Metrics::new();
        let mut logs = HashMap::new();
        for l in &cfg.logs {
            let tree = OwnTree::load(&store, l.origin())?;
            metrics
                .audited_size
                .get_or_create(&LogLabel {
                    log: l.origin().to_owned(),
                })
                .set(tree.size() as i64);
            let status = LogStatus {
                state: LogState::Starting,
                detail: String::new(),
                log_size: tree.size(),
                audited_size: tree.size(),
            };
            logs.insert(
                l.origin().to_owned(),
                Arc::new(LogCtx {
                    cfg: l.clone(),
                    tree: tokio::sync::Mutex::new(tree),
                    status: Mutex::new(status),
                    pending: Mutex::new(Vec::new()),
                }),
            );
        }
        let count = store.all_evidence(usize::MAX)?.len();
        metrics.evidence.set(count as i64);
        Ok(Monitor {
            alerts: Alerter::new(cfg.alerts.clone()),
            cfg,
            store,
            logs,
            witness,
            witness_lock: Mutex::new(()),
            metrics,
            news: Notify::new(),
        })
    }

    /// Reports misbehaviour once per distinct detail.
    pub fn misbehaviour(&self, log: &LogCtx, reason: &str, detail: String) {
        self.metrics
            .misbehaviour
            .get_or_create(&ReasonLabel {
                log: log.origin().to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
        let prev = {
            let s = log.status.lock().unwrap_or_else(|e| e.into_inner());
            (s.state.clone(), s.detail.clone())
        };
        let text = format!("{reason}: {detail}");
        log.set_state(LogState::Misbehaving, text.clone());
        if prev != (LogState::Misbehaving, text) {
            self.alerts.send(json!({
                "alert": "misbehaviour",
                "log": log.origin(),
                "url": log.cfg.url,
                "reason": reason,
                "detail": detail,
            }));
        }
    }

    /// Witness keys whose cosignatures can make a witness accountable:
    /// this monitor's and every peer's.
    pub fn witness_keys(&self) -> Vec<VerifierKey> {
        let mut keys = vec![self.witness.verifier_key()];
        keys.extend(self.cfg.peers.iter().filter_map(|p| p.key.clone()));
        keys
    }

    /// The key a bundle accuses, if this monitor knows it.
    fn key_for(&self, ev: &Evidence) -> Option<VerifierKey> {
        if let Some(log) = self.logs.get(&ev.origin)
            && log.cfg.key.to_vkey() == ev.signer
        {
            return Some(log.cfg.key.clone());
        }
        self.witness_keys()
            .into_iter()
            .find(|k| k.to_vkey() == ev.signer)
    }

    /// Verifies, stores, announces and gossips a bundle. Returns whether
    /// it was new. Bundles against unknown keys, or that do not verify, are
    /// dropped.
    pub fn record_evidence(&self, ev: &Evidence) -> bool {
        let Some(key) = self.key_for(ev) else {
            tracing::debug!(
                signer = ev.signer,
                "evidence against an unknown key ignored"
            );
            return false;
        };
        if let Err(e) = ev.verify(&key) {
            tracing::warn!(error = %e, "invalid evidence ignored");
            return false;
        }
        let id = ev.id();
        match self.store.put_evidence(&id, &ev.to_json()) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::error!(error = %e, "cannot store evidence");
                return false;
            }
        }
        self.metrics.evidence.inc();
        if let Some(log) = self.logs.get(&ev.origin)
            && key == log.cfg.key
        {
            self.misbehaviour(log, "equivocation", format!("evidence {id}"));
        }
        let link = self
            .cfg
            .public_url
            .as_ref()
            .map(|u| format!("{u}/v1/evidence/{id}"));
        self.alerts.send(json!({
            "alert": "evidence",
            "log": ev.origin,
            "kind": ev.kind.as_str(),
            "accused": ev.signer,
            "evidence_id": id,
            "evidence_url": link,
            "evidence": ev,
        }));
        self.news.notify_one();
        true
    }

    /// After a log-accused contradiction, also accuses every known witness
    /// that cosigned both checkpoints.
    fn accuse_witnesses(&self, ev: &Evidence) {
        for w in self.witness_keys() {
            let cosigned = |n: &str| {
                Note::parse(n.as_bytes())
                    .ok()
                    .is_some_and(|note| note.verify(std::slice::from_ref(&w)).is_ok())
            };
            if cosigned(&ev.smaller) && cosigned(&ev.larger) {
                let mut wev = ev.clone();
                wev.signer = w.to_vkey();
                self.record_evidence(&wev);
            }
        }
    }

    fn record_log_evidence(&self, ev: Evidence) {
        self.record_evidence(&ev);
        self.accuse_witnesses(&ev);
    }

    /// Compares a validly signed checkpoint of `log` with the audited tree:
    /// a contradiction becomes evidence; a checkpoint ahead of the tree is
    /// kept and checked once the audit catches up. Returns false if it
    /// contradicts what this monitor holds.
    pub async fn check(&self, log: &LogCtx, note: &[u8], cp: &Checkpoint) -> bool {
        let tree = log.tree.lock().await;
        self.check_locked(log, &tree, note, cp)
    }

    /// [`Monitor::check`] with the tree lock already held.
    pub fn check_locked(&self, log: &LogCtx, tree: &OwnTree, note: &[u8], cp: &Checkpoint) -> bool {
        let origin = log.origin();
        if cp.size <= tree.size() && !tree.checkpoint.is_empty() {
            let own = match tree.root_at(&self.store, origin, cp.size) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, origin, "cannot read own tree");
                    return true;
                }
            };
            if own == cp.root {
                return true;
            }
            let ev = if cp.size == tree.size() {
                Evidence::same_size(&log.cfg.key, origin, &tree.checkpoint, note)
            } else {
                match tree.seeded_proof(&self.store, origin, cp.size) {
                    Ok(proof) => {
                        Evidence::prefix(&log.cfg.key, origin, note, &tree.checkpoint, &proof)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, origin, "cannot build a proof from own tree");
                        return false;
                    }
                }
            };
            self.record_log_evidence(ev);
            return false;
        }
        // Ahead of the audit: compare with the checkpoint this witness
        // cosigned (durable, unlike `pending`: a crash must not lose the
        // contradiction), keep it, and compare with others of its size.
        let mut consistent = true;
        if let Some((wcp, wnote)) = self.witnessed_as_signed(log)
            && wcp.size == cp.size
            && wcp.root != cp.root
        {
            self.record_log_evidence(Evidence::same_size(&log.cfg.key, origin, &wnote, note));
            consistent = false;
        }
        let mut pending = log.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (other, other_note) in pending.iter() {
            if other.size == cp.size && other.root != cp.root {
                self.record_log_evidence(Evidence::same_size(
                    &log.cfg.key,
                    origin,
                    other_note,
                    note,
                ));
                consistent = false;
            }
        }
        if !pending
            .iter()
            .any(|(o, _)| o.size == cp.size && o.root == cp.root)
        {
            if pending.len() >= MAX_PENDING {
                pending.remove(0);
            }
            pending.push((cp.clone(), note.to_vec()));
        }
        consistent
    }

    /// The latest checkpoint this witness cosigned for `log`, as the log
    /// signed it (this witness's cosignature removed, so the evidence it
    /// yields is the one built from the note as received).
    fn witnessed_as_signed(&self, log: &LogCtx) -> Option<(Checkpoint, Vec<u8>)> {
        let stored = self.store.witnessed(log.origin()).ok()??;
        let mut note = Note::parse(&stored).ok()?;
        note.signatures
            .retain(|s| s.name != self.witness.name() || s.key_id != self.witness.key_id());
        let bytes = note.to_bytes();
        let cp = verify_checkpoint(&bytes, &log.cfg.key).ok()?.checkpoint;
        Some((cp, bytes))
    }

    /// Re-checks kept checkpoints that the audited tree now covers.
    pub fn recheck_pending(&self, log: &LogCtx, tree: &OwnTree) {
        let due: Vec<(Checkpoint, Vec<u8>)> = {
            let mut pending = log.pending.lock().unwrap_or_else(|e| e.into_inner());
            let (due, keep) = pending.drain(..).partition(|(c, _)| c.size <= tree.size());
            *pending = keep;
            due
        };
        for (cp, note) in due {
            self.check_locked(log, tree, &note, &cp);
        }
    }

    /// Verifies a gossiped checkpoint note and checks it.
    pub async fn ingest_checkpoint(&self, note: &str) {
        let Some(origin) = note.split('\n').next() else {
            return;
        };
        let Some(log) = self.logs.get(origin) else {
            return;
        };
        match verify_checkpoint(note.as_bytes(), &log.cfg.key) {
            Ok(v) => {
                self.check(log, note.as_bytes(), &v.checkpoint).await;
            }
            Err(e) => tracing::debug!(error = %e, origin, "gossiped checkpoint does not verify"),
        }
    }

    /// Processes a gossip message from a peer.
    pub async fn ingest(&self, msg: &Gossip) {
        for note in msg.checkpoints.iter().take(256) {
            self.ingest_checkpoint(note).await;
        }
        for ev in msg.evidence.iter().take(MAX_EVIDENCE_LIST) {
            self.record_evidence(ev);
        }
    }

    /// What this monitor tells peers: every audited checkpoint, every
    /// cosigned one, and all evidence.
    pub async fn gossip_view(&self) -> Gossip {
        let mut checkpoints = Vec::new();
        for log in self.logs.values() {
            let note = log.tree.lock().await.checkpoint.clone();
            if !note.is_empty() {
                checkpoints.push(String::from_utf8_lossy(&note).into_owned());
            }
            if let Ok(Some(w)) = self.store.witnessed(log.origin()) {
                checkpoints.push(String::from_utf8_lossy(&w).into_owned());
            }
        }
        let evidence = self
            .store
            .all_evidence(MAX_EVIDENCE_LIST)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, j)| Evidence::from_json(&j).ok())
            .collect();
        Gossip {
            checkpoints,
            evidence,
        }
    }
}
