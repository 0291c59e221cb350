//! The follower/auditor: one task per log. Each round fetches and verifies
//! the checkpoint, checks freshness, that the size never shrinks and that
//! it agrees with the audited tree, then downloads the new entry bundles
//! (several at a time), re-derives the tree from them (the root must match
//! the checkpoint), checks every claim, applies the watch rules, and commits
//! the new audited state atomically so a restart resumes from it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use provlog_client::http::{HttpError, LogClient};
use provlog_core::checkpoint::{Checkpoint, verify_checkpoint};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::tiles::{TILE_WIDTH, Tile, TileLevel};
use serde_json::json;

use crate::audit::{AuditStop, Bundle, ClaimCheck, audit_bundles};
use crate::config::WatchMatch;
use crate::metrics::LogLabel;
use crate::monitor::{LogCtx, LogState, Monitor};

/// Why a round failed.
#[derive(Debug)]
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

/// Runs the follower for `log` forever.
pub async fn run(mon: Arc<Monitor>, log: Arc<LogCtx>) {
    let client = match LogClient::new(&log.cfg.url) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build an HTTP client");
            return;
        }
    };
    let label = LogLabel {
        log: log.origin().to_owned(),
    };
    loop {
        match round(&mon, &log, &client).await {
            Ok(()) => {}
            Err(Fault::Transient(detail)) => {
                mon.metrics.unreachable.get_or_create(&label).inc();
                let prev = log.set_state(LogState::Unreachable, detail.clone());
                if prev != LogState::Unreachable {
                    mon.alerts.send(json!({
                        "alert": "unreachable",
                        "log": log.origin(),
                        "url": log.cfg.url,
                        "detail": detail,
                    }));
                }
            }
            Err(Fault::Misbehaviour(reason, detail)) => mon.misbehaviour(&log, reason, detail),
        }
        tokio::time::sleep(log.cfg.poll_interval).await;
    }
}

/// One poll of the log.
async fn round(mon: &Monitor, log: &LogCtx, client: &LogClient) -> Result<(), Fault> {
    let label = LogLabel {
        log: log.origin().to_owned(),
    };
    let note = client
        .checkpoint()
        .await
        .map_err(|e| http_fault("checkpoint", e))?;
    let verified = verify_checkpoint(&note, &log.cfg.key)
        .map_err(|e| Fault::Misbehaviour("bad-checkpoint", e.to_string()))?;
    let cp = verified.checkpoint;
    let ts = cp.timestamp_ms().ok_or_else(|| {
        Fault::Misbehaviour("bad-checkpoint", "checkpoint has no timestamp line".into())
    })?;
    let age_ms = crate::now_ms().saturating_sub(ts);
    mon.metrics
        .checkpoint_age_seconds
        .get_or_create(&label)
        .set((age_ms / 1000) as i64);
    mon.metrics
        .log_size
        .get_or_create(&label)
        .set(cp.size as i64);
    {
        let mut s = log.status.lock().unwrap_or_else(|e| e.into_inner());
        s.log_size = cp.size;
    }

    let mut tree = log.tree.lock().await;
    if cp.size < tree.size() {
        // Also evidence if its root is not our prefix root.
        mon.check_locked(log, &tree, &note, &cp);
        return Err(Fault::Misbehaviour(
            "size-shrank",
            format!(
                "checkpoint size {} is smaller than the audited size {}",
                cp.size,
                tree.size()
            ),
        ));
    }
    if !mon.check_locked(log, &tree, &note, &cp) {
        return Err(Fault::Misbehaviour(
            "equivocation",
            format!(
                "checkpoint of size {} contradicts the audited tree",
                cp.size
            ),
        ));
    }
    if cp.size > tree.size() {
        let before = tree.size();
        let started = Instant::now();
        let mut work = (*tree).clone();
        audit_range(mon, log, client, &mut work, &cp).await?;
        work.checkpoint = note.clone();
        let tiles = work.take_tiles();
        let state = work.state();
        let store = mon.store.clone();
        let origin = log.origin().to_owned();
        tokio::task::spawn_blocking(move || store.commit_audit(&origin, &tiles, &state))
            .await
            .map_err(|e| Fault::Transient(format!("commit task: {e}")))?
            .map_err(|e| Fault::Transient(format!("cannot store the audit: {e}")))?;
        *tree = work;
        mon.metrics
            .audited_size
            .get_or_create(&label)
            .set(tree.size() as i64);
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            origin = log.origin(),
            from = before,
            to = tree.size(),
            elapsed_ms = (secs * 1000.0) as u64,
            entries_per_sec = ((tree.size() - before) as f64 / secs.max(1e-9)) as u64,
            "audited"
        );
        mon.recheck_pending(log, &tree);
        mon.news.notify_one();
    } else if cp.size == tree.size() && tree.checkpoint.is_empty() {
        // Size 0: nothing to audit, but remember the signed checkpoint.
        if cp.root != provlog_core::hash::EMPTY_ROOT {
            return Err(Fault::Misbehaviour(
                "bad-checkpoint",
                "empty tree with a non-empty root".into(),
            ));
        }
        tree.checkpoint = note.clone();
        let state = tree.state();
        mon.store
            .commit_audit(log.origin(), &[], &state)
            .map_err(|e| Fault::Transient(e.to_string()))?;
    } else if tree.checkpoint != note {
        // Same tree, fresher signature: keep the newest for gossip.
        tree.checkpoint = note.clone();
        let state = tree.state();
        let store = mon.store.clone();
        let origin = log.origin().to_owned();
        let _ = tokio::task::spawn_blocking(move || store.commit_audit(&origin, &[], &state)).await;
    }
    {
        let mut s = log.status.lock().unwrap_or_else(|e| e.into_inner());
        s.audited_size = tree.size();
    }
    mon.metrics
        .lag_entries
        .get_or_create(&label)
        .set(cp.size.saturating_sub(tree.size()) as i64);
    drop(tree);
    let misbehaved = log
        .status
        .lock()
        .map(|s| s.state == LogState::Misbehaving)
        .unwrap_or(false);
    if misbehaved {
        // Misbehaviour is sticky: an operator has to look at it.
    } else if age_ms > log.cfg.freshness.as_millis() as u64 {
        let prev = log.set_state(
            LogState::Frozen,
            format!("newest checkpoint is {} s old", age_ms / 1000),
        );
        if prev != LogState::Frozen {
            mon.alerts.send(json!({
                "alert": "frozen",
                "log": log.origin(),
                "url": log.cfg.url,
                "checkpoint_age_ms": age_ms,
            }));
        }
    } else {
        let prev = log.set_state(LogState::Ok, String::new());
        if prev == LogState::Unreachable || prev == LogState::Frozen {
            mon.alerts
                .send(json!({"alert": "recovered", "log": log.origin()}));
        }
    }
    Ok(())
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
    tree: &mut crate::owntree::OwnTree,
    cp: &Checkpoint,
) -> Result<(), Fault> {
    let start = tree.size();
    let first = start / TILE_WIDTH;
    let last = cp.size.div_ceil(TILE_WIDTH);
    let label = LogLabel {
        log: log.origin().to_owned(),
    };
    let audited = mon.metrics.entries_audited.get_or_create(&label).clone();
    let mut bundles = spawn_downloader(
        client,
        first,
        last,
        start,
        cp.size,
        mon.cfg.fetch_parallelism,
    );
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

/// Checks one claim's structure and signature, and the watch rules.
fn check_entry(mon: &Monitor, log: &LogCtx, index: u64, entry: &[u8], check: ClaimCheck) {
    let claim = match check {
        Ok(c) => c,
        Err(e) => {
            let entry_url = format!("{}/v1/entries/{index}", log.cfg.url);
            mon.misbehaviour(
                log,
                "invalid-entry",
                format!("entry {index} ({entry_url}): {e}"),
            );
            return;
        }
    };
    if mon.cfg.watch.is_empty() {
        return;
    }
    let entry_url = format!("{}/v1/entries/{index}", log.cfg.url);
    for rule in &mon.cfg.watch {
        for m in &rule.matches {
            let c = claim.claim();
            let matched = match m {
                WatchMatch::VendorKey(k) => (claim.kid() == k).then(|| ("vendor_key", k.clone())),
                WatchMatch::Generator(g) => (c.generator.tool == *g || c.generator.vendor == *g)
                    .then(|| ("generator", g.clone())),
                WatchMatch::Asset(h) => (c.asset.sha256 == *h).then(|| ("asset", hex::encode(h))),
            };
            if let Some((field, value)) = matched {
                mon.alerts.send(json!({
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
