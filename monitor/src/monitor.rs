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

use provlog_core::checkpoint::{Checkpoint, verify_checkpoint};
use provlog_core::evidence::{Evidence, EvidenceKind};
use provlog_core::note::{Note, NoteSigner, VerifierKey};
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
use crate::witness::Witness;

/// Most foreign checkpoints (ahead of the audited tree) kept per log.
const MAX_PENDING: usize = 64;
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
    pending: Mutex<Vec<(Checkpoint, Vec<u8>)>>,
    /// The newest audited checkpoint note (for gossip, without the tree lock).
    published: Mutex<Vec<u8>>,
    times: Mutex<TimeSeen>,
}

impl LogCtx {
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

    fn defer(&self, cp: &Checkpoint, note: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !pending
            .iter()
            .any(|(o, _)| o.size == cp.size && o.root == cp.root)
        {
            if pending.len() >= MAX_PENDING {
                pending.remove(0);
            }
            pending.push((cp.clone(), note.to_vec()));
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
            logs.insert(
                l.origin().to_owned(),
                Arc::new(LogCtx {
                    cfg: l.clone(),
                    health: Mutex::new(LogHealth::new(tree.size())),
                    pending: Mutex::new(Vec::new()),
                    published: Mutex::new(tree.checkpoint().to_vec()),
                    times: Mutex::new(TimeSeen::default()),
                    tree: tokio::sync::Mutex::new(tree),
                }),
            );
        }
        metrics.evidence.set(store.evidence_count()? as i64);
        let witness_name = witness.name().to_owned();
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

    fn record_log_evidence(&self, ev: Evidence) {
        self.record_evidence(&ev);
        self.accuse_witnesses(&ev);
    }

    /// Records timestamp evidence if, of two validly signed checkpoints of
    /// `log` with different sizes, the smaller has the later timestamp.
    fn check_timestamps(&self, log: &LogCtx, a: (&Checkpoint, &[u8]), b: (&Checkpoint, &[u8])) {
        let (small, large) = if a.0.size < b.0.size { (a, b) } else { (b, a) };
        if small.0.size == large.0.size {
            return;
        }
        if let (Some(ts_small), Some(ts_large)) = (small.0.timestamp_ms(), large.0.timestamp_ms())
            && ts_small > ts_large
        {
            self.record_log_evidence(Evidence::timestamp_decreased(
                &log.cfg.key,
                log.origin(),
                small.1,
                large.1,
            ));
        }
    }

    /// Compares a validly signed checkpoint of `log` with the audited tree
    /// (whose lock the caller holds): a contradiction becomes evidence; a
    /// checkpoint ahead of the tree is kept and checked once the audit
    /// catches up; a timestamp that went back becomes evidence too. Returns
    /// false if its root contradicts what this monitor holds. Blocking.
    pub fn check_locked(&self, log: &LogCtx, tree: &OwnTree, note: &[u8], cp: &Checkpoint) -> bool {
        let origin = log.origin();
        let audited = tree.checkpoint();
        if !audited.is_empty()
            && let Some(acp) = Note::parse(audited)
                .ok()
                .and_then(|n| Checkpoint::parse(&n.text).ok())
        {
            self.check_timestamps(log, (&acp, audited), (cp, note));
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
            self.record_log_evidence(ev);
            return false;
        }
        // Ahead of the audit: compare with the checkpoint this witness
        // cosigned (durable, unlike `pending`: a crash must not lose the
        // contradiction), keep it, and compare with others of its size.
        let mut consistent = true;
        if let Some((wcp, wnote)) = self.witness.latest_as_signed(origin) {
            if wcp.size == cp.size && wcp.root != cp.root {
                self.record_log_evidence(Evidence::same_size(&log.cfg.key, origin, &wnote, note));
                consistent = false;
            }
            self.check_timestamps(log, (&wcp, &wnote), (cp, note));
        }
        let others: Vec<(Checkpoint, Vec<u8>)> =
            log.pending.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (other, other_note) in &others {
            if other.size == cp.size && other.root != cp.root {
                self.record_log_evidence(Evidence::same_size(
                    &log.cfg.key,
                    origin,
                    other_note,
                    note,
                ));
                consistent = false;
            }
            self.check_timestamps(log, (other, other_note), (cp, note));
        }
        log.defer(cp, note);
        consistent
    }

    /// [`Monitor::check_locked`] for a checkpoint seen by the witness or in
    /// gossip: if an audit holds the tree, it is kept and checked when the
    /// audit has committed (the follower re-checks kept checkpoints every
    /// round). Blocking.
    pub fn check_seen(&self, log: &LogCtx, note: &[u8], cp: &Checkpoint) {
        match log.tree.try_lock() {
            Ok(tree) => {
                self.check_locked(log, &tree, note, cp);
            }
            Err(_) => log.defer(cp, note),
        }
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

    /// Processes a sanitised gossip message from a peer: verifies every
    /// checkpoint under its log's key and compares it, verifies and keeps
    /// evidence. Blocking (signature checks, reads, fsyncs): run it on a
    /// blocking thread.
    pub fn ingest(&self, msg: &Sanitized) {
        for note in &msg.checkpoints {
            let Some(origin) = note.split(|&b| b == b'\n').next() else {
                continue;
            };
            let Some(log) = std::str::from_utf8(origin).ok().and_then(|o| self.logs.get(o)) else {
                continue;
            };
            match verify_checkpoint(note, &log.cfg.key) {
                Ok(v) => self.check_seen(log, note, &v.checkpoint),
                Err(e) => tracing::debug!(error = %e, origin = log.origin(), "gossiped checkpoint does not verify"),
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
            let note = log.published.lock().unwrap_or_else(|e| e.into_inner()).clone();
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
            "logs": logs,
            "evidence": self.evidence_count().unwrap_or(0),
        })
    }
}
