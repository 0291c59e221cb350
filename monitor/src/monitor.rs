//! The monitor's shared state behind narrow methods: the followed logs
//! ([`LogCtx`]: audited tree, health, checkpoints seen ahead of the audit),
//! the witness, evidence handling and the gossip view. Other modules never
//! reach into its fields: the follower reports what it saw
//! ([`Monitor::observe`], [`Monitor::check_locked`],
//! [`Monitor::commit_audit`]), the HTTP layer asks for views, gossip hands
//! over sanitised messages ([`Monitor::ingest`]).
//!
//! Methods that compare checkpoints or record evidence read the store and
//! may fsync: call them from blocking threads (or the follower, which holds
//! the tree lock).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provlog_core::checkpoint::{Checkpoint, LogTime, verify_checkpoint};
use provlog_core::evidence::{Evidence, EvidenceKind, log_time_decreased};
use provlog_core::note::{Note, SIG_ED25519, VerifierKey};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::alerts::Alerter;
use crate::config::{Config, LogConfig, PeerConfig, WatchRule};
use crate::follower::TimeSeen;
use crate::gossip::{Gossip, PeerLimiter, Sanitized};
use crate::health::{Alert, Event, LogHealth};
use crate::metrics::{LogLabel, Metrics, ReasonLabel};
use crate::owntree::OwnTree;
use crate::store::{EvidenceMeta, Store, StoreError, meta_of};
use crate::witness::{Witness, WitnessKeys};

/// Most foreign checkpoints (ahead of the audited tree) kept per log.
const MAX_PENDING: usize = 64;

/// A validly signed checkpoint seen (witnessing, gossip) but not yet
/// audited: its body, its note, and the log time its verification found.
type Seen = (Checkpoint, Vec<u8>, Option<LogTime>);

/// A borrowed [`Seen`].
type SeenRef<'a> = (&'a Checkpoint, &'a [u8], Option<LogTime>);
/// Most evidence bundles listed or gossiped at once.
pub const MAX_EVIDENCE_LIST: usize = 1000;
/// Most bytes of evidence put in one gossip view (half the body limit, so
/// the view always fits in a peer's request limit).
const MAX_GOSSIP_EVIDENCE_BYTES: usize = crate::gossip::MAX_GOSSIP_BODY / 2;

/// One followed log.
pub struct LogCtx {
    cfg: LogConfig,
    /// The audited tree (the lock serializes audits and comparisons).
    tree: tokio::sync::Mutex<OwnTree>,
    health: Mutex<LogHealth>,
    /// Validly signed checkpoints seen (gossip, witnessing) that are ahead
    /// of the audited tree, re-checked as the audit advances.
    pending: Mutex<Vec<Seen>>,
    /// The newest audited checkpoint note (for gossip, without the tree lock).
    published: Mutex<Vec<u8>>,
    times: Mutex<TimeSeen>,
    /// The recomputation of the log's verifiable index.
    index_audit: crate::index_audit::IndexAudit,
    /// The per-vendor sequence watch (fed in entry order by the audit).
    seq_watch: Mutex<crate::seq_watch::SeqWatch>,
}

impl LogCtx {
    /// The audit of the log's verifiable index.
    pub fn index_audit(&self) -> &crate::index_audit::IndexAudit {
        &self.index_audit
    }

    /// The per-vendor sequence watch of this log.
    pub fn seq_watch(&self) -> &Mutex<crate::seq_watch::SeqWatch> {
        &self.seq_watch
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.cfg.origin()
    }

    /// Its configuration.
    pub fn config(&self) -> &LogConfig {
        &self.cfg
    }

    /// The audited tree. Hold the lock across an audit and its commit.
    pub fn tree(&self) -> &tokio::sync::Mutex<OwnTree> {
        &self.tree
    }

    /// Records the signed timestamp of a checkpoint the log served now;
    /// returns the checkpoint age this implies (see [`TimeSeen`]).
    pub fn observe_timestamp(&self, ts_ms: u64, now_ms: u64) -> u64 {
        let mut t = self.times.lock().unwrap_or_else(|e| e.into_inner());
        t.observe(ts_ms, now_ms);
        t.age_ms(now_ms)
    }

    /// Updates the sizes shown in `/healthz`.
    pub fn set_sizes(&self, log_size: Option<u64>, audited: Option<u64>) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = log_size {
            h.log_size = s;
        }
        if let Some(s) = audited {
            h.audited_size = s;
        }
    }
}

/// The monitor.
pub struct Monitor {
    cfg: Config,
    store: Store,
    logs: HashMap<String, Arc<LogCtx>>,
    witness: Witness,
    witness_name: String,
    metrics: Metrics,
    alerts: Alerter,
    news: Notify,
    gossip_limiter: PeerLimiter,
}

/// The misbehaviour reason a kind of evidence against a log stands for.
fn reason_of(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::SameSizeDifferentRoots | EvidenceKind::InconsistentPrefix => "equivocation",
        EvidenceKind::TimestampDecreased => "timestamp-decreased",
    }
}

impl Monitor {
    /// Builds the monitor, loading every log's audited tree.
    pub fn new(
        cfg: Config,
        store: Store,
        witness: impl Into<WitnessKeys>,
    ) -> Result<Self, StoreError> {
        let witness: WitnessKeys = witness.into();
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
            logs.insert(
                l.origin().to_owned(),
                Arc::new(LogCtx {
                    cfg: l.clone(),
                    health: Mutex::new(LogHealth::new(tree.size())),
                    pending: Mutex::new(Vec::new()),
                    published: Mutex::new(tree.checkpoint().to_vec()),
                    times: Mutex::new(TimeSeen::default()),
                    index_audit: Default::default(),
                    seq_watch: Mutex::new(crate::seq_watch::SeqWatch::new(cfg.seq_gap_grace)),
                    tree: tokio::sync::Mutex::new(tree),
                }),
            );
        }
        metrics.evidence.set(store.evidence_count()? as i64);
        let witness_name = witness.cosigner.name().to_owned();
        let witness = Witness::new(
            witness,
            cfg.logs.iter().map(|l| l.key.clone()),
            Arc::new(store.clone()),
        );
        Ok(Monitor {
            alerts: Alerter::new(cfg.alerts.clone()),
            gossip_limiter: PeerLimiter::new(cfg.gossip_rate, cfg.gossip_burst),
            cfg,
            store,
            logs,
            witness,
            witness_name,
            metrics,
            news: Notify::new(),
        })
    }

    /// The followed logs.
    pub fn logs(&self) -> impl Iterator<Item = &Arc<LogCtx>> {
        self.logs.values()
    }

    /// A followed log by origin.
    pub fn log(&self, origin: &str) -> Option<&Arc<LogCtx>> {
        self.logs.get(origin)
    }

    /// The witness.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// The witness key's name.
    pub fn witness_name(&self) -> &str {
        &self.witness_name
    }

    /// Metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Peers to gossip with.
    pub fn peers(&self) -> &[PeerConfig] {
        &self.cfg.peers
    }

    /// Gossip period.
    pub fn gossip_interval(&self) -> Duration {
        self.cfg.gossip_interval
    }

    /// Concurrent entry-bundle downloads per log.
    pub fn fetch_parallelism(&self) -> usize {
        self.cfg.fetch_parallelism
    }

    /// Largest clock skew tolerated in a log's timestamps.
    pub fn max_clock_skew(&self) -> Duration {
        self.cfg.max_clock_skew
    }

    /// Watch rules.
    pub fn watch_rules(&self) -> &[WatchRule] {
        &self.cfg.watch
    }

    /// Signalled when there is news to gossip.
    pub fn news(&self) -> &Notify {
        &self.news
    }

    /// Sends an alert.
    pub fn alert(&self, alert: Value) {
        self.alerts.send(alert);
    }

    /// Whether a gossip request from `peer` is within its rate; if not,
    /// how long until it is.
    pub fn gossip_allowed(&self, peer: IpAddr) -> Result<(), Duration> {
        let r = self.gossip_limiter.allow(peer, Instant::now());
        if r.is_err() {
            self.metrics.gossip_rate_limited.inc();
        }
        r
    }

    /// Applies an event to `log`'s health: metrics and the alert it calls for.
    pub fn observe(&self, log: &LogCtx, event: Event) {
        if let Event::Misbehaved { reason, .. } = &event {
            self.metrics
                .misbehaviour
                .get_or_create(&ReasonLabel {
                    log: log.origin().to_owned(),
                    reason: reason.clone(),
                })
                .inc();
        }
        if matches!(event, Event::Unreachable { .. }) {
            self.metrics
                .unreachable
                .get_or_create(&LogLabel {
                    log: log.origin().to_owned(),
                })
                .inc();
        }
        let alert = log
            .health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(event, crate::now_ms());
        let (origin, url) = (log.origin(), &log.cfg.url);
        let msg = match alert {
            None => return,
            Some(Alert::Unreachable { detail }) => {
                json!({"alert": "unreachable", "log": origin, "url": url, "detail": detail})
            }
            Some(Alert::Frozen { age_ms }) => {
                json!({"alert": "frozen", "log": origin, "url": url, "checkpoint_age_ms": age_ms})
            }
            Some(Alert::Recovered) => json!({"alert": "recovered", "log": origin}),
            Some(Alert::Misbehaviour { reason, detail }) => json!({
                "alert": "misbehaviour", "log": origin, "url": url,
                "reason": reason, "detail": detail,
            }),
        };
        self.alerts.send(msg);
    }

    /// Reports misbehaviour of `log` without evidence.
    pub fn misbehaviour(&self, log: &LogCtx, reason: &str, detail: String) {
        self.observe(
            log,
            Event::Misbehaved {
                reason: reason.to_owned(),
                detail,
                evidence: None,
            },
        );
    }

    /// Writes an audit's tiles and state (blocking: fsyncs) and publishes
    /// its checkpoint for gossip.
    pub fn commit_audit(
        &self,
        log: &LogCtx,
        tiles: &[(provlog_core::tiles::Tile, Vec<u8>)],
        state: &crate::store::AuditState,
    ) -> Result<(), StoreError> {
        self.store.commit_audit(log.origin(), tiles, state)?;
        *log.published.lock().unwrap_or_else(|e| e.into_inner()) = state.checkpoint.clone();
        Ok(())
    }

    /// Witness keys whose cosignatures can make a witness accountable:
    /// this monitor's and every peer's.
    pub fn witness_keys(&self) -> Vec<VerifierKey> {
        let mut keys = self.witness.verifier_keys();
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
    /// it was new: a bundle is kept once per contradiction (its id names
    /// what it proves, not its bytes). Bundles against unknown keys, or that
    /// do not verify, are dropped. Blocking (fsync).
    pub fn record_evidence(&self, ev: &Evidence) -> bool {
        let Some(key) = self.key_for(ev) else {
            tracing::debug!(
                signer = ev.signer,
                "evidence against an unknown key ignored"
            );
            return false;
        };
        let verified = match ev.verify(&key) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "invalid evidence ignored");
                return false;
            }
        };
        let id = verified.id();
        let meta = meta_of(&id, ev, crate::now_ms());
        match self.store.put_evidence(&meta, &ev.to_json()) {
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
            self.observe(
                log,
                Event::Misbehaved {
                    reason: reason_of(ev.kind).to_owned(),
                    detail: format!("evidence {id}"),
                    evidence: Some(id.clone()),
                },
            );
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

    /// Verifies, stores and announces index evidence against `log`
    /// (spec/lookup.md §7.2; id: hex SHA-256 of the JSON). Returns whether
    /// it was new. Served at `/v1/evidence/<id>` with the other bundles;
    /// not gossiped (the gossip format carries checkpoint evidence only).
    /// Blocking (fsync).
    pub fn record_index_evidence(
        &self,
        log: &LogCtx,
        ev: &provlog_core::index::evidence::IndexEvidence,
    ) -> bool {
        let verified = match ev.verify(&log.cfg.key) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "index evidence does not verify; dropped");
                return false;
            }
        };
        let json = ev.to_json();
        let id = crate::index_audit::evidence_id(&json);
        let kind = serde_json::to_value(ev.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let meta = EvidenceMeta {
            id: id.clone(),
            kind: kind.clone(),
            origin: log.origin().to_owned(),
            signer: ev.signer.clone(),
            sizes: [verified.commit.size, verified.checkpoint.size],
            time_ms: crate::now_ms(),
        };
        match self.store.put_evidence(&meta, &json) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::error!(error = %e, "cannot store evidence");
                return false;
            }
        }
        self.metrics.evidence.inc();
        self.observe(
            log,
            Event::Misbehaved {
                reason: kind.clone(),
                detail: format!(
                    "evidence {id}: entry {} against the index-commit at {}",
                    verified.index, verified.commit.size
                ),
                evidence: Some(id.clone()),
            },
        );
        let link = self
            .cfg
            .public_url
            .as_ref()
            .map(|u| format!("{u}/v1/evidence/{id}"));
        self.alerts.send(json!({
            "alert": "evidence",
            "log": log.origin(),
            "kind": kind,
            "accused": ev.signer,
            "evidence_id": id,
            "evidence_url": link,
            "evidence": ev,
        }));
        self.news.notify_one();
        true
    }

    /// After a log-accused contradiction, also accuses every known witness
    /// that cosigned both checkpoints (never for timestamps: witnesses do
    /// not vouch for them).
    fn accuse_witnesses(&self, ev: &Evidence) {
        if ev.kind == EvidenceKind::TimestampDecreased {
            return;
        }
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

    /// Records evidence against `log` (and the witnesses that cosigned
    /// both notes). A log known by a key the evidence format cannot accuse
    /// (ML-DSA-44, spec/evidence.md) gets the finding as misbehaviour
    /// without a bundle instead, so it is never silent.
    fn record_log_evidence(&self, log: &LogCtx, ev: Evidence) {
        if log.cfg.key.key_type() != SIG_ED25519 {
            let sizes = [&ev.smaller, &ev.larger].map(|n| {
                Note::parse(n.as_bytes())
                    .ok()
                    .and_then(|n| Checkpoint::parse(&n.text).ok())
                    .map_or(0, |c| c.size)
            });
            self.misbehaviour(
                log,
                reason_of(ev.kind),
                format!(
                    "{} between checkpoints of sizes {} and {} (no evidence bundle: format v1 cannot accuse a {} key)",
                    ev.kind.as_str(),
                    sizes[0],
                    sizes[1],
                    if log.cfg.key.key_type() == provlog_core::note::SIG_ML_DSA_44 {
                        "ML-DSA-44"
                    } else {
                        "non-Ed25519"
                    }
                ),
            );
            return;
        }
        self.record_evidence(&ev);
        self.accuse_witnesses(&ev);
    }

    /// Records timestamp evidence if, of two validly signed checkpoints of
    /// `log` with different sizes, the smaller has the later log time
    /// (spec/checkpoint.md §2.4: the log's timestamp cosignature, or the
    /// legacy `timestamp` line; compared as spec/evidence.md says).
    fn check_timestamps(&self, log: &LogCtx, a: SeenRef<'_>, b: SeenRef<'_>) {
        let (small, large) = if a.0.size < b.0.size { (a, b) } else { (b, a) };
        if small.0.size == large.0.size {
            return;
        }
        if let (Some(t_small), Some(t_large)) = (small.2, large.2)
            && log_time_decreased(t_small, t_large)
        {
            self.record_log_evidence(
                log,
                Evidence::timestamp_decreased(&log.cfg.key, log.origin(), small.1, large.1),
            );
        }
    }

    /// Compares a validly signed checkpoint of `log` with the audited tree
    /// (whose lock the caller holds): a contradiction becomes evidence; a
    /// checkpoint ahead of the tree is compared with the other checkpoints
    /// seen ([`Monitor::compare_with_seen`]) and kept until the audit
    /// reaches it; a timestamp that went back becomes evidence too.
    /// Returns false if its root contradicts what this monitor holds.
    /// Blocking.
    pub fn check_locked(
        &self,
        log: &LogCtx,
        tree: &OwnTree,
        note: &[u8],
        cp: &Checkpoint,
        time: Option<LogTime>,
    ) -> bool {
        let origin = log.origin();
        let audited = tree.checkpoint();
        if !audited.is_empty()
            && let Ok(a) = verify_checkpoint(audited, &log.cfg.key)
        {
            self.check_timestamps(log, (&a.checkpoint, audited, a.log_time), (cp, note, time));
        }
        if cp.size <= tree.size() && !audited.is_empty() {
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
                Evidence::same_size(&log.cfg.key, origin, audited, note)
            } else {
                match tree.seeded_proof(&self.store, origin, cp.size) {
                    Ok(proof) => Evidence::prefix(&log.cfg.key, origin, note, audited, &proof),
                    Err(e) => {
                        tracing::error!(error = %e, origin, "cannot build a proof from own tree");
                        return false;
                    }
                }
            };
            self.record_log_evidence(log, ev);
            return false;
        }
        self.compare_with_seen(log, note, cp, time)
    }

    /// Compares a validly signed checkpoint with the others of its log seen
    /// but not yet audited (kept in memory, at most [`MAX_PENDING`]) and with
    /// the latest one this witness cosigned (durable, so a crash cannot
    /// lose the contradiction): two of one size with different roots, or a
    /// timestamp that went back, become evidence. Then keeps it. Needs no
    /// tree lock. Returns false if it contradicts one of them. Blocking.
    fn compare_with_seen(
        &self,
        log: &LogCtx,
        note: &[u8],
        cp: &Checkpoint,
        time: Option<LogTime>,
    ) -> bool {
        let mut others = Vec::new();
        if let Some(w) = self.witness.latest_as_signed(log.origin()) {
            others.push(w);
        }
        {
            // Compared and kept under one lock: of two contradicting
            // checkpoints arriving at once, the second sees the first.
            let mut pending = log.pending.lock().unwrap_or_else(|e| e.into_inner());
            others.extend(pending.iter().cloned());
            if !pending
                .iter()
                .any(|(o, _, _)| o.size == cp.size && o.root == cp.root)
            {
                if pending.len() >= MAX_PENDING {
                    pending.remove(0);
                }
                pending.push((cp.clone(), note.to_vec(), time));
            }
        }
        let mut consistent = true;
        for (other, other_note, other_time) in &others {
            if other.size == cp.size && other.root != cp.root {
                self.record_log_evidence(
                    log,
                    Evidence::same_size(&log.cfg.key, log.origin(), other_note, note),
                );
                consistent = false;
            }
            self.check_timestamps(log, (other, other_note, *other_time), (cp, note, time));
        }
        consistent
    }

    /// [`Monitor::check_locked`] for a checkpoint seen by the witness or in
    /// gossip. It is compared with the other checkpoints seen at once; the
    /// comparison with the audited tree happens now if no audit holds the
    /// tree, else when the follower's round re-checks what was kept.
    /// Blocking.
    pub fn check_seen(&self, log: &LogCtx, note: &[u8], cp: &Checkpoint, time: Option<LogTime>) {
        self.compare_with_seen(log, note, cp, time);
        if let Ok(tree) = log.tree.try_lock() {
            self.recheck_pending(log, &tree);
        }
    }

    /// Compares the kept checkpoints that the audited tree now covers with
    /// it (the others stay kept).
    pub fn recheck_pending(&self, log: &LogCtx, tree: &OwnTree) {
        if tree.checkpoint().is_empty() {
            return;
        }
        let due: Vec<Seen> = {
            let mut pending = log.pending.lock().unwrap_or_else(|e| e.into_inner());
            let (due, keep) = pending
                .drain(..)
                .partition(|(c, _, _)| c.size <= tree.size());
            *pending = keep;
            due
        };
        for (cp, note, time) in due {
            self.check_locked(log, tree, &note, &cp, time);
        }
    }

    /// Processes a sanitised gossip message from a peer: verifies every
    /// checkpoint under its log's key and compares it, verifies and keeps
    /// evidence. Blocking (signature checks, reads, fsyncs): run it on a
    /// blocking thread.
    pub fn ingest(&self, msg: &Sanitized) {
        for note in &msg.checkpoints {
            let Some(origin) = note.split(|&b| b == b'\n').next() else {
                continue;
            };
            let Some(log) = std::str::from_utf8(origin)
                .ok()
                .and_then(|o| self.logs.get(o))
            else {
                continue;
            };
            match verify_checkpoint(note, &log.cfg.key) {
                Ok(v) => self.check_seen(log, note, &v.checkpoint, v.log_time),
                Err(e) => {
                    tracing::debug!(error = %e, origin = log.origin(), "gossiped checkpoint does not verify")
                }
            }
        }
        for ev in &msg.evidence {
            self.record_evidence(ev);
        }
    }

    /// What this monitor tells peers: every audited checkpoint, every
    /// cosigned one, and the newest evidence (bounded in count and bytes).
    pub fn gossip_view(&self) -> Gossip {
        let mut checkpoints = Vec::new();
        for log in self.logs.values() {
            let note = log
                .published
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if !note.is_empty() {
                checkpoints.push(String::from_utf8_lossy(&note).into_owned());
            }
            if let Ok(Some(w)) = self.witness.latest(log.origin()) {
                checkpoints.push(String::from_utf8_lossy(&w).into_owned());
            }
        }
        let evidence = self
            .store
            .evidence_bundles(MAX_EVIDENCE_LIST, MAX_GOSSIP_EVIDENCE_BYTES)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|j| Evidence::from_json(&j).ok())
            .collect();
        Gossip {
            checkpoints,
            evidence,
        }
    }

    /// The newest evidence listing records (no bundle is read).
    pub fn evidence_list(&self, limit: usize) -> Result<Vec<EvidenceMeta>, StoreError> {
        self.store.evidence_list(limit)
    }

    /// One bundle's JSON by id.
    pub fn evidence_json(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.evidence(id)
    }

    /// How many bundles are held (one point read).
    pub fn evidence_count(&self) -> Result<u64, StoreError> {
        self.store.evidence_count()
    }

    /// How many evidence bundles have been read from the store.
    pub fn bundle_reads(&self) -> u64 {
        self.store.bundle_reads()
    }

    /// The `/healthz` document: per log its health, the evidence count and
    /// the witness key. Reads no evidence bundle.
    pub fn health(&self) -> Value {
        let mut logs = serde_json::Map::new();
        for (origin, l) in &self.logs {
            let view = l.health.lock().unwrap_or_else(|e| e.into_inner()).view();
            logs.insert(origin.clone(), json!(view));
        }
        json!({
            "witness": self.witness.verifier_key().to_vkey(),
            "witness_keys": self.witness.verifier_keys().iter().map(VerifierKey::to_vkey).collect::<Vec<_>>(),
            "logs": logs,
            "evidence": self.evidence_count().unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::gossip::sanitize;
    use provlog_core::checkpoint::sign_checkpoint;
    use provlog_core::hash::{Hash, sha256};
    use provlog_core::note::NoteSigner;

    const ORIGIN: &str = "inproc.example/log";

    struct Fixture {
        _dir: tempfile::TempDir,
        log: NoteSigner,
        mon: Monitor,
    }

    fn fixture() -> Fixture {
        let (dir, log, mon) = crate::testutil::monitor(ORIGIN, "");
        Fixture {
            _dir: dir,
            log,
            mon,
        }
    }

    fn root(tag: &str) -> Hash {
        sha256(tag.as_bytes())
    }

    fn signed(f: &Fixture, size: u64, root: Hash, ts: u64) -> (Checkpoint, Vec<u8>) {
        let cp = Checkpoint::new(ORIGIN, size, root).with_timestamp(ts);
        (cp.clone(), sign_checkpoint(&cp, &f.log).unwrap())
    }

    /// A checkpoint in the current form: the time (seconds) in the log's
    /// timestamp cosignature, no extension line.
    fn timed(f: &Fixture, size: u64, root: Hash, secs: u64) -> (Checkpoint, Vec<u8>) {
        let cp = Checkpoint::new(ORIGIN, size, root);
        let signer = provlog_core::checkpoint::LogSigner::new(f.log.clone(), None).unwrap();
        (cp.clone(), signer.sign(&cp, secs).unwrap())
    }

    fn see(f: &Fixture, (cp, note): &(Checkpoint, Vec<u8>)) {
        let log = f.mon.log(ORIGIN).unwrap();
        let v = verify_checkpoint(note, &f.log.verifier_key()).unwrap();
        f.mon.check_seen(log, note, cp, v.log_time);
    }

    fn state(f: &Fixture) -> Value {
        f.mon.health()["logs"][ORIGIN].clone()
    }

    #[test]
    fn a_split_view_seen_ahead_of_the_audit_is_evidence_once() {
        let f = fixture();
        let a = signed(&f, 100, root("a"), 1000);
        let b = signed(&f, 100, root("b"), 1000);
        see(&f, &a);
        assert_eq!(
            f.mon.evidence_count().unwrap(),
            0,
            "one checkpoint is no evidence"
        );
        see(&f, &b);
        see(&f, &b);
        see(&f, &a);
        assert_eq!(f.mon.evidence_count().unwrap(), 1);
        let list = f.mon.evidence_list(10).unwrap();
        assert_eq!(list[0].kind, "same-size-different-roots");
        assert_eq!(list[0].sizes, [100, 100]);
        let s = state(&f);
        assert_eq!(s["state"], "misbehaving");
        assert_eq!(s["misbehaviour"][0]["evidence"], list[0].id);
        let json = f.mon.evidence_json(&list[0].id).unwrap().unwrap();
        provlog_core::evidence::verify_evidence(&json, &f.log.verifier_key()).unwrap();
    }

    #[test]
    fn a_timestamp_that_goes_back_is_evidence() {
        let f = fixture();
        // Size 5 signed "later" than size 9.
        see(&f, &signed(&f, 5, root("5"), 2_000));
        see(&f, &signed(&f, 9, root("9"), 1_000));
        let list = f.mon.evidence_list(10).unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].kind, "timestamp-decreased");
        assert_eq!(list[0].sizes, [5, 9]);
        let json = f.mon.evidence_json(&list[0].id).unwrap().unwrap();
        let v = provlog_core::evidence::verify_evidence(&json, &f.log.verifier_key()).unwrap();
        assert_eq!(v.kind, EvidenceKind::TimestampDecreased);
        assert_eq!(
            state(&f)["misbehaviour"][0]["reason"],
            "timestamp-decreased"
        );
        // Increasing times, and equal sizes, are not evidence.
        let g = fixture();
        see(&g, &signed(&g, 5, root("5"), 1_000));
        see(&g, &signed(&g, 9, root("9"), 2_000));
        see(&g, &signed(&g, 9, root("9"), 1_500));
        assert_eq!(g.mon.evidence_count().unwrap(), 0);
        assert_eq!(state(&g)["state"], "starting");
    }

    #[test]
    fn a_log_time_that_goes_back_is_evidence_in_either_checkpoint_form() {
        // Both in the current form (no timestamp line), then one of each:
        // each pair is one timestamp-decreased bundle that verifies.
        type Make = fn(&Fixture) -> [(Checkpoint, Vec<u8>); 2];
        let pairs: [(&str, Make); 3] = [
            ("cosignature times", |f| {
                [timed(f, 5, root("5"), 2_000), timed(f, 9, root("9"), 1_000)]
            }),
            ("legacy line, then cosignature time", |f| {
                [
                    signed(f, 5, root("5"), 2_000_000),
                    timed(f, 9, root("9"), 1_999),
                ]
            }),
            ("cosignature time, then legacy line", |f| {
                [
                    timed(f, 5, root("5"), 2_000),
                    signed(f, 9, root("9"), 1_999_999),
                ]
            }),
        ];
        for (name, make) in pairs {
            let f = fixture();
            for seen in make(&f) {
                see(&f, &seen);
            }
            let list = f.mon.evidence_list(10).unwrap();
            assert_eq!(list.len(), 1, "{name}: {list:?}");
            assert_eq!(list[0].kind, "timestamp-decreased", "{name}");
            let json = f.mon.evidence_json(&list[0].id).unwrap().unwrap();
            provlog_core::evidence::verify_evidence(&json, &f.log.verifier_key()).unwrap();
        }
        // Within one second across the forms, or increasing: nothing.
        let g = fixture();
        see(&g, &signed(&g, 5, root("5"), 5_999));
        see(&g, &timed(&g, 9, root("9"), 5));
        see(&g, &timed(&g, 12, root("12"), 6));
        assert_eq!(g.mon.evidence_count().unwrap(), 0);
    }

    #[test]
    fn a_split_view_of_an_ml_dsa_44_log_is_misbehaviour_without_a_bundle() {
        use provlog_core::checkpoint::LogSigner;
        use provlog_core::note::MlDsa44NoteSigner;
        let dir = tempfile::tempdir().unwrap();
        let ml = MlDsa44NoteSigner::generate(ORIGIN).unwrap();
        let signer =
            LogSigner::new(NoteSigner::generate(ORIGIN).unwrap(), Some(ml.clone())).unwrap();
        let cfg = Config::parse(&format!(
            "[[log]]\nurl = \"http://127.0.0.1:9\"\nvkey = \"{}\"\n[alerts]\nstdout = false\n",
            ml.verifier_key()
        ))
        .unwrap();
        let mon = Monitor::new(
            cfg,
            crate::store::Store::open(dir.path()).unwrap(),
            NoteSigner::generate_cosigner("w.example").unwrap(),
        )
        .unwrap();
        let log = mon.log(ORIGIN).unwrap();
        for tag in ["a", "b"] {
            let cp = Checkpoint::new(ORIGIN, 7, root(tag));
            let note = signer.sign(&cp, 1_790_000_000).unwrap();
            let v = verify_checkpoint(&note, &ml.verifier_key()).unwrap();
            assert!(
                v.log_time.is_some(),
                "the ML-DSA-44 signature carries the log time"
            );
            mon.check_seen(log, &note, &v.checkpoint, v.log_time);
        }
        assert_eq!(mon.evidence_count().unwrap(), 0);
        let h = mon.health();
        let found = &h["logs"][ORIGIN]["misbehaviour"][0];
        assert_eq!(found["reason"], "equivocation", "{h}");
        assert!(
            found["detail"]
                .as_str()
                .unwrap()
                .contains("no evidence bundle"),
            "{found}"
        );
    }

    #[test]
    fn padded_copies_of_one_contradiction_are_one_bundle() {
        let f = fixture();
        let a = signed(&f, 7, root("a"), 1);
        let b = signed(&f, 7, root("b"), 1);
        let key = f.log.verifier_key();
        // The same contradiction with extra signature lines by unknown keys
        // and with other timestamps: one bundle, however it is dressed.
        let mut sent = Vec::new();
        for i in 0..20u64 {
            let mut n = Note::parse(&b.1).unwrap();
            for j in 0..(i % 4) {
                let k = NoteSigner::generate(&format!("junk{j}.example")).unwrap();
                n.signatures.push(Note::sign(&n.text, &k, 0).unwrap());
            }
            let (_, other_time) = signed(&f, 7, root("a"), 100 + i);
            sent.push(Evidence::same_size(
                &key,
                ORIGIN,
                &other_time,
                &n.to_bytes(),
            ));
        }
        sent.push(Evidence::same_size(&key, ORIGIN, &a.1, &b.1));
        for ev in &sent {
            f.mon.record_evidence(ev);
        }
        assert_eq!(f.mon.evidence_count().unwrap(), 1);
        assert_eq!(state(&f)["misbehaviour"].as_array().unwrap().len(), 1);
        // Gossip drops the duplicates before any signature is checked.
        let s = sanitize(Gossip {
            checkpoints: vec![],
            evidence: sent,
        });
        assert_eq!(s.evidence.len(), 1);
    }

    #[test]
    fn health_and_listing_read_no_bundle() {
        let f = fixture();
        for i in 0..5u64 {
            let a = signed(&f, 10 + i, root(&format!("a{i}")), 1);
            let b = signed(&f, 10 + i, root(&format!("b{i}")), 1);
            f.mon.record_evidence(&Evidence::same_size(
                &f.log.verifier_key(),
                ORIGIN,
                &a.1,
                &b.1,
            ));
        }
        let before = f.mon.bundle_reads();
        assert_eq!(f.mon.health()["evidence"], 5);
        assert_eq!(f.mon.evidence_list(100).unwrap().len(), 5);
        assert_eq!(
            f.mon.bundle_reads(),
            before,
            "health and listing read no bundle"
        );
        // The gossip view does read them (it carries them).
        assert_eq!(f.mon.gossip_view().evidence.len(), 5);
        assert!(f.mon.bundle_reads() > before);
    }
}
