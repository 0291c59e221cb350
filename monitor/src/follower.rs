//! The follower/auditor: one task per log. Each round fetches and verifies
//! the checkpoint, checks its timestamp (freshness, clock skew), that the
//! size never shrinks and that it agrees with the audited tree, then
//! downloads the new entry bundles (several at a time), re-derives the tree
//! from them (the root must match the checkpoint), checks every claim,
//! applies the watch rules, and commits the new audited state atomically so
//! a restart resumes from it.
//!
//! The decisions are plain functions ([`plan`], [`TimeSeen`],
//! [`timing`]) with table-driven tests; [`round`] does the I/O and reports
//! to the monitor through its methods.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use provlog_client::http::{HttpError, LogClient};
use provlog_core::checkpoint::{Checkpoint, LogTime, verify_checkpoint};
use provlog_core::evidence::log_time_decreased;
use provlog_core::hash::{EMPTY_ROOT, leaf_hash, sha256};
use provlog_core::index::entry::{LogEntry, VendorKeyEvent};
use provlog_core::note::VerifierKey;
use provlog_core::tiles::{TILE_WIDTH, Tile, TileLevel};
use serde_json::json;

use crate::audit::{AuditStop, Bundle, ClaimCheck, audit_bundles};
use crate::config::WatchMatch;
use crate::health::Event;
use crate::metrics::LogLabel;
use crate::monitor::{LogCtx, Monitor};
use crate::owntree::OwnTree;

/// Why a round failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The log is unreachable or answered 5xx/429: try again later.
    Transient(String),
    /// The log served something an honest log never serves.
    Misbehaviour(&'static str, String),
}

fn http_fault(what: &str, e: HttpError) -> Fault {
    if e.is_transient() {
        Fault::Transient(format!("{what}: {e}"))
    } else {
        Fault::Misbehaviour("bad-response", format!("{what}: {e}"))
    }
}

/// When the newest signed timestamp of a log was first seen here.
///
/// A checkpoint's age is measured from the *earlier* of its signed time
/// and the moment this monitor first saw that time: a log cannot make a
/// checkpoint look newer than when it was first served, so a frozen log
/// serving a far-future timestamp still turns frozen after the freshness
/// bound (without this, `now - timestamp` saturates at zero forever).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeSeen {
    newest_ts_ms: u64,
    first_seen_ms: u64,
}

impl TimeSeen {
    /// Records a checkpoint timestamp served at `now_ms`.
    pub fn observe(&mut self, ts_ms: u64, now_ms: u64) {
        if ts_ms > self.newest_ts_ms || self.first_seen_ms == 0 {
            self.newest_ts_ms = self.newest_ts_ms.max(ts_ms);
            self.first_seen_ms = now_ms;
        }
    }

    /// The age of the newest checkpoint at `now_ms`.
    pub fn age_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.newest_ts_ms.min(self.first_seen_ms))
    }
}

/// What a checkpoint's timestamp says about the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Whether the newest checkpoint is within the freshness bound.
    pub fresh: bool,
    /// The checkpoint age (see [`TimeSeen`]).
    pub age_ms: u64,
    /// How far the timestamp is ahead of this monitor's clock, when it is
    /// more than the tolerated skew ahead (misbehaviour).
    pub ahead_ms: Option<u64>,
}

/// Judges a timestamp: `age_ms` from [`TimeSeen::age_ms`].
pub fn timing(ts_ms: u64, now_ms: u64, age_ms: u64, freshness_ms: u64, skew_ms: u64) -> Timing {
    Timing {
        fresh: age_ms <= freshness_ms,
        age_ms,
        ahead_ms: (ts_ms > now_ms.saturating_add(skew_ms)).then(|| ts_ms - now_ms),
    }
}

/// What to do with a verified checkpoint, given the audited tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Smaller than the audited size: misbehaviour (and evidence if its
    /// root is not the audited prefix root).
    Shrank,
    /// Larger: compare, then audit `from..to`.
    Audit {
        /// The audited size.
        from: u64,
        /// The checkpoint size.
        to: u64,
    },
    /// The first checkpoint, of size 0: remember it (its root must be the
    /// empty root).
    FirstEmpty,
    /// The audited size, signed again: compare, and keep the newer
    /// signature if its timestamp is not older.
    Resigned,
    /// The very note already held.
    Unchanged,
}

/// Decides what a round does with checkpoint `cp` (note bytes `note`)
/// against the audited tree (`size`, and the note it matched, empty before
/// the first audit).
pub fn plan(size: u64, audited_note: &[u8], cp: &Checkpoint, note: &[u8]) -> Plan {
    if cp.size < size {
        Plan::Shrank
    } else if cp.size > size {
        Plan::Audit {
            from: size,
            to: cp.size,
        }
    } else if audited_note.is_empty() {
        Plan::FirstEmpty
    } else if audited_note == note {
        Plan::Unchanged
    } else {
        Plan::Resigned
    }
}

/// Whether a note re-signing the audited tree, signed at log time `new`,
/// should replace the `held` note (verified under the log's `key` for its
/// log time): only if its log time is not older (a stale cache must not
/// make the monitor forget the newer signature). Log times of either form
/// (spec/checkpoint.md §2.4) compare as in timestamp evidence.
pub fn keep_resigned(held: &[u8], new: Option<LogTime>, key: &VerifierKey) -> bool {
    let held_time = verify_checkpoint(held, key).ok().and_then(|v| v.log_time);
    match (held_time, new) {
        (Some(h), Some(n)) => !log_time_decreased(h, n),
        _ => true,
    }
}

/// Runs the follower for `log` forever.
pub async fn run(mon: Arc<Monitor>, log: Arc<LogCtx>) {
    let client = match LogClient::new(&log.config().url) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build an HTTP client");
            return;
        }
    };
    loop {
        let (timing, result) = round(&mon, &log, &client).await;
        let transient = matches!(result, Err(Fault::Transient(_)));
        match result {
            Ok(()) => {}
            Err(Fault::Transient(detail)) => mon.observe(&log, Event::Unreachable { detail }),
            Err(Fault::Misbehaviour(reason, detail)) => mon.misbehaviour(&log, reason, detail),
        }
        // The log answered: its freshness is known even if the round found
        // misbehaviour. A transient failure after the checkpoint (a
        // download) leaves the log unreachable until a round completes.
        if let Some(t) = timing
            && !transient
        {
            let event = if t.fresh {
                Event::Fresh
            } else {
                Event::Frozen { age_ms: t.age_ms }
            };
            mon.observe(&log, event);
        }
        tokio::time::sleep(log.config().poll_interval).await;
    }
}

/// One poll of the log: the timing of its checkpoint (once verified) and
/// how the round ended.
pub async fn round(
    mon: &Arc<Monitor>,
    log: &Arc<LogCtx>,
    client: &LogClient,
) -> (Option<Timing>, Result<(), Fault>) {
    let mut timing = None;
    let r = round_inner(mon, log, client, &mut timing).await;
    (timing, r)
}

async fn round_inner(
    mon: &Arc<Monitor>,
    log: &Arc<LogCtx>,
    client: &LogClient,
    timing_out: &mut Option<Timing>,
) -> Result<(), Fault> {
    let label = LogLabel {
        log: log.origin().to_owned(),
    };
    let note = client
        .checkpoint()
        .await
        .map_err(|e| http_fault("checkpoint", e))?;
    let key = log.config().key.clone();
    let verify_note = note.clone();
    let verified = tokio::task::spawn_blocking(move || verify_checkpoint(&verify_note, &key))
        .await
        .map_err(|e| Fault::Transient(format!("verify task: {e}")))?
        .map_err(|e| Fault::Misbehaviour("bad-checkpoint", e.to_string()))?;
    let log_time = verified.log_time;
    let cp = verified.checkpoint;
    // The log's signed time: its timestamp cosignature, or the legacy
    // `timestamp` line of older checkpoints (spec/checkpoint.md §2.4).
    let ts = log_time.map(|t| t.unix_ms).ok_or_else(|| {
        Fault::Misbehaviour(
            "bad-checkpoint",
            "checkpoint has no signed log time (no timestamp cosignature by the log's key, no timestamp line)"
                .into(),
        )
    })?;
    let now = crate::now_ms();
    let age = log.observe_timestamp(ts, now);
    let t = timing(
        ts,
        now,
        age,
        log.config().freshness.as_millis() as u64,
        mon.max_clock_skew().as_millis() as u64,
    );
    *timing_out = Some(t);
    if t.ahead_ms.is_some() {
        // The detail names the checkpoint, not how far ahead it is now, so
        // the same checkpoint is one finding however often it is served.
        mon.misbehaviour(
            log,
            "future-timestamp",
            format!(
                "checkpoint of size {} is signed at {ts} ms, more than {} s ahead of this monitor's clock",
                cp.size,
                mon.max_clock_skew().as_secs()
            ),
        );
    }
    mon.metrics()
        .checkpoint_age_seconds
        .get_or_create(&label)
        .set((age / 1000) as i64);
    mon.metrics()
        .log_size
        .get_or_create(&label)
        .set(cp.size as i64);
    log.set_sizes(Some(cp.size), None);

    let mut tree = log.tree().lock().await;
    let step = plan(tree.size(), tree.checkpoint(), &cp, &note);
    if step == Plan::Shrank {
        // Also evidence if its root is not our prefix root.
        mon.check_locked(log, &tree, &note, &cp, log_time);
        return Err(Fault::Misbehaviour(
            "size-shrank",
            format!(
                "checkpoint size {} is smaller than the audited size {}",
                cp.size,
                tree.size()
            ),
        ));
    }
    if step != Plan::Unchanged && !mon.check_locked(log, &tree, &note, &cp, log_time) {
        return Err(Fault::Misbehaviour(
            "equivocation",
            format!(
                "checkpoint of size {} contradicts the audited tree",
                cp.size
            ),
        ));
    }
    match step {
        Plan::Audit { from, to } => {
            let started = Instant::now();
            let mut work = tree.clone();
            audit_range(mon, log, client, &mut work, &cp).await?;
            // Wrong index-commits found in the range: ask the log for proofs.
            crate::index_audit::probe(mon, log, client, &note, cp.size).await;
            work.set_checkpoint(note.clone());
            commit(mon, log, &mut work).await?;
            *tree = work;
            mon.metrics()
                .audited_size
                .get_or_create(&label)
                .set(tree.size() as i64);
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(
                origin = log.origin(),
                from,
                to,
                elapsed_ms = (secs * 1000.0) as u64,
                entries_per_sec = ((to - from) as f64 / secs.max(1e-9)) as u64,
                "audited"
            );
            mon.news().notify_one();
        }
        Plan::FirstEmpty => {
            if cp.root != EMPTY_ROOT {
                return Err(Fault::Misbehaviour(
                    "bad-checkpoint",
                    "empty tree with a non-empty root".into(),
                ));
            }
            let mut work = tree.clone();
            work.set_checkpoint(note.clone());
            commit(mon, log, &mut work).await?;
            *tree = work;
        }
        Plan::Resigned => {
            // Same tree, fresher signature: keep the newest for gossip.
            if keep_resigned(tree.checkpoint(), log_time, &log.config().key) {
                let mut work = tree.clone();
                work.set_checkpoint(note.clone());
                if commit(mon, log, &mut work).await.is_ok() {
                    *tree = work;
                }
            }
        }
        Plan::Unchanged | Plan::Shrank => {}
    }
    // Checkpoints kept from gossip or witnessing while the tree was busy.
    mon.recheck_pending(log, &tree);
    log.set_sizes(None, Some(tree.size()));
    mon.metrics()
        .lag_entries
        .get_or_create(&label)
        .set(cp.size.saturating_sub(tree.size()) as i64);
    Ok(())
}

/// Commits `work`'s new tiles and state on a blocking thread.
async fn commit(mon: &Arc<Monitor>, log: &Arc<LogCtx>, work: &mut OwnTree) -> Result<(), Fault> {
    let tiles = work.take_tiles();
    let state = work.state();
    let (m, l) = (mon.clone(), log.clone());
    tokio::task::spawn_blocking(move || m.commit_audit(&l, &tiles, &state))
        .await
        .map_err(|e| Fault::Transient(format!("commit task: {e}")))?
        .map_err(|e| Fault::Transient(format!("cannot store the audit: {e}")))
}

/// Downloads the entry bundles `first..last` of a tree of `size` entries,
/// keeping `par` downloads in flight, and sends them in order. Stops after
/// the first failure, or when the receiver is dropped.
fn spawn_downloader(
    client: &LogClient,
    first: u64,
    last: u64,
    start: u64,
    size: u64,
    par: usize,
) -> tokio::sync::mpsc::Receiver<Result<Bundle, Fault>> {
    let par = par.max(1);
    let (tx, rx) = tokio::sync::mpsc::channel(par);
    let client = client.clone();
    tokio::spawn(async move {
        let mut next = first;
        let mut inflight = VecDeque::new();
        loop {
            while inflight.len() < par && next < last {
                let tile = Tile {
                    level: TileLevel::Entries,
                    index: next,
                    width: (size - next * TILE_WIDTH).min(TILE_WIDTH) as u16,
                };
                let c = client.clone();
                inflight.push_back((tile, tokio::spawn(async move { c.tile(&tile).await })));
                next += 1;
            }
            let Some((tile, task)) = inflight.pop_front() else {
                break;
            };
            let item = match task.await {
                Err(e) => Err(Fault::Transient(format!("download task: {e}"))),
                Ok(Err(e)) => Err(http_fault(&tile.path(), e)),
                Ok(Ok(data)) => Ok(Bundle {
                    tile,
                    skip: if tile.index == first {
                        (start % TILE_WIDTH) as usize
                    } else {
                        0
                    },
                    data,
                }),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
        for (_, task) in inflight {
            task.abort();
        }
    });
    rx
}

/// Downloads the entry bundles from `tree.size()` to `cp.size`, appends
/// them to `tree`, checks each claim (on every core, reported in entry
/// order) and the resulting root.
async fn audit_range(
    mon: &Monitor,
    log: &LogCtx,
    client: &LogClient,
    tree: &mut OwnTree,
    cp: &Checkpoint,
) -> Result<(), Fault> {
    let start = tree.size();
    let first = start / TILE_WIDTH;
    let last = cp.size.div_ceil(TILE_WIDTH);
    let label = LogLabel {
        log: log.origin().to_owned(),
    };
    let audited = mon.metrics().entries_audited.get_or_create(&label).clone();
    let mut bundles =
        spawn_downloader(client, first, last, start, cp.size, mon.fetch_parallelism());
    let result = audit_bundles(
        tree,
        &mut bundles,
        crate::audit::default_workers(),
        |index, entry, check| {
            audited.inc();
            check_entry(mon, log, index, entry, check);
        },
    )
    .await;
    match result {
        Ok(_) => {}
        Err(AuditStop::Source(fault)) => return Err(fault),
        Err(AuditStop::BadBundle(detail)) => {
            return Err(Fault::Misbehaviour("bad-bundle", detail));
        }
        Err(AuditStop::Worker(detail)) => return Err(Fault::Transient(detail)),
    }
    if tree.root() != cp.root {
        return Err(Fault::Misbehaviour(
            "tiles-inconsistent",
            format!(
                "entry bundles up to size {} hash to a root different from the signed checkpoint's",
                cp.size
            ),
        ));
    }
    Ok(())
}

/// Feeds entry `index` to the log's sequence watch and alerts what it
/// finds (`seq-repeat`, `seq-gap`; spec/monitor.md).
fn seq_findings(mon: &Monitor, log: &LogCtx, index: u64, numbered: Option<(&str, u64)>) {
    use crate::seq_watch::Finding;
    let found = match log.seq_watch().lock() {
        Ok(mut w) => w.entry(index, numbered),
        Err(_) => return,
    };
    let url = &log.config().url;
    for f in found {
        let alert = match f {
            Finding::Repeat { kid, seq } => json!({
                "alert": "seq-repeat",
                "log": log.origin(),
                "vendor_key": kid,
                "seq": seq,
                "index": index,
                "entry_url": format!("{url}/v1/entries/{index}"),
            }),
            Finding::Gap {
                kid,
                missing,
                opened_at,
            } => json!({
                "alert": "seq-gap",
                "log": log.origin(),
                "vendor_key": kid,
                "missing": missing.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
                "opened_at": opened_at,
                "index": index,
                "entry_url": format!("{url}/v1/entries/{opened_at}"),
            }),
            Finding::Stopped(why) => json!({
                "alert": "seq-watch-stopped",
                "log": log.origin(),
                "detail": why,
                "index": index,
            }),
        };
        mon.alert(alert);
    }
}

/// A vendor-key entry (spec/lookup.md §4.2): the log changed which vendor
/// keys it accepts. Alerted every time (key changes are rare and each one
/// matters to whoever relies on that vendor); one the log's key did not sign
/// is misbehaviour.
fn vendor_key_change(mon: &Monitor, log: &LogCtx, index: u64, entry: &[u8], ev: &VendorKeyEvent) {
    let entry_url = format!("{}/v1/entries/{index}", log.config().url);
    if let Err(e) = ev.verify(&log.config().key) {
        mon.misbehaviour(
            log,
            "invalid-entry",
            format!("entry {index} ({entry_url}): vendor-key entry: {e}"),
        );
        return;
    }
    mon.alert(json!({
        "alert": "vendor-key-change",
        "log": log.origin(),
        "index": index,
        "entry_url": entry_url,
        "op": ev.op.as_str(),
        "vendor_key": ev.key,
        "old": ev.old,
        "issued_ms": ev.time_ms,
        "leaf_hash": hex::encode(leaf_hash(entry)),
    }));
    // A `vendor_key` watch rule also fires on the log's changes to that
    // key (added, revoked, rotated to or away from), so whoever watches a
    // vendor hears when the log stops or starts accepting it.
    for rule in mon.watch_rules() {
        for m in &rule.matches {
            let WatchMatch::VendorKey(k) = m else {
                continue;
            };
            if ev.key != *k && ev.old.as_deref() != Some(k.as_str()) {
                continue;
            }
            mon.alert(json!({
                "alert": "watch",
                "rule": rule.name,
                "matched": "vendor_key",
                "value": k,
                "log": log.origin(),
                "index": index,
                "entry_url": entry_url,
                "leaf_hash": hex::encode(leaf_hash(entry)),
                "entry_sha256": hex::encode(sha256(entry)),
                "vendor_key_change": {
                    "op": ev.op.as_str(),
                    "vendor_key": ev.key,
                    "old": ev.old,
                    "issued_ms": ev.time_ms,
                },
            }));
        }
    }
}

/// Checks one claim's structure and signature, and the watch rules.
fn check_entry(mon: &Monitor, log: &LogCtx, index: u64, entry: &[u8], check: ClaimCheck) {
    let url = &log.config().url;
    // Every entry also feeds the index recomputation (index_audit.rs);
    // the index's own entries are not claims.
    log.index_audit()
        .push(mon, log, index, entry, check.as_ref().ok());
    let numbered = check
        .as_ref()
        .ok()
        .and_then(|c| c.claim().sequence.map(|s| (c.kid(), s)));
    seq_findings(mon, log, index, numbered);
    if check.is_err() && crate::index_audit::is_index_entry(entry) {
        if let LogEntry::VendorKey(ev) = LogEntry::classify(entry) {
            vendor_key_change(mon, log, index, entry, &ev);
        }
        return;
    }
    let claim = match check {
        Ok(c) => c,
        Err(e) => {
            let entry_url = format!("{url}/v1/entries/{index}");
            mon.misbehaviour(
                log,
                "invalid-entry",
                format!("entry {index} ({entry_url}): {e}"),
            );
            return;
        }
    };
    if mon.watch_rules().is_empty() {
        return;
    }
    let entry_url = format!("{url}/v1/entries/{index}");
    for rule in mon.watch_rules() {
        for m in &rule.matches {
            let c = claim.claim();
            let matched = match m {
                WatchMatch::VendorKey(k) => (claim.kid() == k).then(|| ("vendor_key", k.clone())),
                WatchMatch::Generator(g) => (c.generator.tool == *g || c.generator.vendor == *g)
                    .then(|| ("generator", g.clone())),
                WatchMatch::Asset(h) => (c.asset.sha256 == *h).then(|| ("asset", hex::encode(h))),
            };
            if let Some((field, value)) = matched {
                mon.alert(json!({
                    "alert": "watch",
                    "rule": rule.name,
                    "matched": field,
                    "value": value,
                    "log": log.origin(),
                    "index": index,
                    "entry_url": entry_url,
                    "leaf_hash": hex::encode(leaf_hash(entry)),
                    "entry_sha256": hex::encode(sha256(entry)),
                    "asset": hex::encode(c.asset.sha256),
                    "vendor_key": claim.kid(),
                    "generator": {
                        "vendor": c.generator.vendor,
                        "tool": c.generator.tool,
                        "version": c.generator.version,
                    },
                }));
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::checkpoint::sign_checkpoint;
    use provlog_core::note::{Note, NoteSigner};

    const MIN: u64 = 60_000;

    #[test]
    fn plans_for_every_size_relation() {
        let log = NoteSigner::generate("plan.example").unwrap();
        let sign = |size, ts| {
            let cp = Checkpoint::new(log.name(), size, [size as u8; 32]).with_timestamp(ts);
            (cp.clone(), sign_checkpoint(&cp, &log).unwrap())
        };
        let (_, held) = sign(10, 100);
        // (audited size, held note, served checkpoint, plan)
        type Case = (&'static str, u64, Vec<u8>, (Checkpoint, Vec<u8>), Plan);
        let cases: Vec<Case> = vec![
            ("shrank", 10, held.clone(), sign(9, 200), Plan::Shrank),
            (
                "shrank to zero",
                10,
                held.clone(),
                sign(0, 200),
                Plan::Shrank,
            ),
            (
                "grew",
                10,
                held.clone(),
                sign(11, 200),
                Plan::Audit { from: 10, to: 11 },
            ),
            (
                "first audit",
                0,
                vec![],
                sign(5, 200),
                Plan::Audit { from: 0, to: 5 },
            ),
            (
                "first checkpoint is empty",
                0,
                vec![],
                sign(0, 200),
                Plan::FirstEmpty,
            ),
            ("re-signed", 10, held.clone(), sign(10, 200), Plan::Resigned),
            (
                "the same note",
                10,
                held.clone(),
                (
                    Checkpoint::parse(&Note::parse(&held).unwrap().text).unwrap(),
                    held.clone(),
                ),
                Plan::Unchanged,
            ),
        ];
        for (name, size, held, (cp, note), want) in cases {
            assert_eq!(plan(size, &held, &cp, &note), want, "{name}");
        }
    }

    #[test]
    fn a_re_signature_is_kept_only_if_its_log_time_did_not_go_back() {
        use provlog_core::checkpoint::LogSigner;
        let log = NoteSigner::generate("resign.example").unwrap();
        let key = log.verifier_key();
        let cp = Checkpoint::new(log.name(), 10, [1; 32]);
        // The legacy form: the time in a `timestamp` line (ms).
        let legacy = |ms| sign_checkpoint(&cp.clone().with_timestamp(ms), &log).unwrap();
        // The current form: the time in the log's cosignature (s).
        let signer = LogSigner::new(log.clone(), None).unwrap();
        let timed = |secs| signer.sign(&cp, secs).unwrap();
        let time = |note: &[u8]| verify_checkpoint(note, &key).unwrap().log_time;
        // (held, new, kept)
        let cases: Vec<(&str, Vec<u8>, Vec<u8>, bool)> = vec![
            ("legacy, older", legacy(100_000), legacy(50_000), false),
            ("legacy, newer", legacy(100_000), legacy(150_000), true),
            ("legacy, same", legacy(100_000), legacy(100_000), true),
            ("current, older", timed(100), timed(50), false),
            ("current, newer", timed(100), timed(150), true),
            (
                "legacy held, current older",
                legacy(100_000),
                timed(99),
                false,
            ),
            (
                "legacy held, current same second",
                legacy(100_999),
                timed(100),
                true,
            ),
            (
                "current held, legacy older",
                timed(100),
                legacy(99_999),
                false,
            ),
            (
                "current held, legacy newer",
                timed(100),
                legacy(101_000),
                true,
            ),
            (
                "held without a log time",
                sign_checkpoint(&cp, &log).unwrap(),
                timed(1),
                true,
            ),
        ];
        for (name, held, new, kept) in cases {
            assert_eq!(keep_resigned(&held, time(&new), &key), kept, "{name}");
        }
    }

    #[test]
    fn far_future_timestamps_do_not_keep_a_frozen_log_fresh() {
        let t0 = 1_800_000_000_000u64;
        let fresh = MIN; // freshness bound
        let skew = 5 * MIN;
        // (served timestamps at successive monitor times) -> fresh?, ahead?
        type Case = (&'static str, Vec<(u64, u64)>, bool, bool);
        let cases: Vec<Case> = vec![
            (
                "honest, re-signed every poll",
                vec![(t0, t0), (t0 + MIN, t0 + MIN), (t0 + 2 * MIN, t0 + 2 * MIN)],
                true,
                false,
            ),
            (
                "frozen with an honest timestamp",
                vec![(t0, t0), (t0, t0 + 2 * MIN)],
                false,
                false,
            ),
            (
                "frozen with a far-future timestamp",
                vec![(t0 + 1000 * MIN, t0), (t0 + 1000 * MIN, t0 + 2 * MIN)],
                false,
                true,
            ),
            (
                "far future, just served",
                vec![(t0 + 1000 * MIN, t0)],
                true,
                true,
            ),
            (
                "a little ahead (within skew)",
                vec![(t0 + MIN, t0)],
                true,
                false,
            ),
            (
                "a log whose clock goes back is judged by its newest time",
                vec![(t0, t0), (t0 - 10 * MIN, t0 + 2 * MIN)],
                false,
                false,
            ),
        ];
        for (name, polls, want_fresh, want_ahead) in cases {
            let mut seen = TimeSeen::default();
            let mut last = None;
            for (ts, now) in polls {
                seen.observe(ts, now);
                last = Some(timing(ts, now, seen.age_ms(now), fresh, skew));
            }
            let t = last.unwrap();
            assert_eq!(t.fresh, want_fresh, "{name}: {t:?}");
            assert_eq!(t.ahead_ms.is_some(), want_ahead, "{name}: {t:?}");
        }
    }
}
