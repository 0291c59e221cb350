//! Crash safety of the log server: run the real server under concurrent
//! submissions, SIGKILL it at random moments, restart it, and check that
//!
//! - the start-up self-check passes after every kill;
//! - every claim ever acknowledged (a receipt was returned) is still in the
//!   tree at its receipt's index, and provable against the new checkpoint
//!   from the tiles the server serves now (and from its proof endpoint);
//! - every checkpoint ever served (from `/checkpoint` or inside a receipt)
//!   is a prefix of the new tree: no fork, no rewrite, no shrinking;
//! - there are no duplicate entries, and a claim resubmitted after a crash
//!   (whether or not its first submission was answered) gets one index.
//!
//! Cycles: `PROVLOG_CRASH_CYCLES` (default 4, for CI). The long mode is
//! `scripts/crash-long.sh` (50+ cycles, release build). A run prints its
//! seed; `PROVLOG_CRASH_SEED=<seed>` replays the same kill schedule.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use provlog_client::http::LogClient;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::tiles::TileNodeReader;
use provlog_core::tree::{CompactRange, inclusion_proof};
use provlog_e2e::{LogProcess, Rng, Vendor, download_tree, env_u64};

/// Server flags: short batches so kills land inside commits often.
const SERVER_ARGS: &[&str] = &["--batch-interval-ms", "3", "--max-batch", "64"];
/// Concurrent submitters per cycle.
const WORKERS: u64 = 6;
/// Upper bound on submissions per worker per cycle (loops are bounded).
const MAX_SUBMITS_PER_WORKER: u64 = 5_000;

/// One acknowledged claim: the first receipt the log returned for it.
#[derive(Clone)]
struct Ack {
    entry: Vec<u8>,
    index: u64,
}

/// What the clients have seen across all cycles.
#[derive(Default)]
struct Seen {
    /// Acknowledged claims by leaf hash.
    acks: HashMap<Hash, Ack>,
    /// Every verified checkpoint seen: size -> root.
    checkpoints: BTreeMap<u64, Hash>,
    /// Claims whose submission failed (outcome unknown): retried later.
    retry: Vec<Vec<u8>>,
    /// Receipts returned (including duplicates' receipts).
    receipts: u64,
    /// Violations found while the server was running.
    violations: Vec<String>,
}

impl Seen {
    fn checkpoint(&mut self, note: &[u8], key: &VerifierKey) {
        match verify_checkpoint(note, key) {
            Ok(v) => {
                let cp = v.checkpoint;
                if let Some(old) = self.checkpoints.insert(cp.size, cp.root)
                    && old != cp.root
                {
                    self.violations.push(format!(
                        "fork: two checkpoints of size {} with different roots",
                        cp.size
                    ));
                }
            }
            Err(e) => self
                .violations
                .push(format!("served checkpoint does not verify: {e}")),
        }
    }

    fn ack(&mut self, entry: Vec<u8>, index: u64) {
        let leaf = leaf_hash(&entry);
        if let Some(a) = self.acks.get(&leaf) {
            if a.index != index {
                self.violations.push(format!(
                    "claim acknowledged at index {} was later acknowledged at {index} (duplicate entry)",
                    a.index
                ));
            }
        } else {
            self.acks.insert(leaf, Ack { entry, index });
        }
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs one load phase against `log` until it is killed after `kill_after`.
#[allow(clippy::too_many_arguments)]
fn load_then_kill(
    rt: &tokio::runtime::Runtime,
    log: LogProcess,
    seen: &Arc<Mutex<Seen>>,
    vendor: &Arc<Vendor>,
    next_claim: &mut u64,
    kill_after: Duration,
    resubmit: Vec<Vec<u8>>,
    key: &VerifierKey,
) {
    let client = LogClient::new(&log.url).expect("client");
    let policy = Arc::new(Policy::single_log(key.clone()));
    // Claims to submit this cycle: earlier failures first (a client retrying
    // after a crash), acknowledged ones again (dedup across restarts), then new.
    let retry = std::mem::take(&mut seen.lock().expect("lock").retry);
    let mut queue: Vec<Vec<u8>> = retry;
    queue.extend(resubmit);
    let queue = Arc::new(Mutex::new(queue));
    let base = *next_claim;
    *next_claim += WORKERS * MAX_SUBMITS_PER_WORKER * 8;
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for w in 0..WORKERS {
            let (client, seen, vendor, policy, queue) = (
                client.clone(),
                seen.clone(),
                vendor.clone(),
                policy.clone(),
                queue.clone(),
            );
            let key = key.clone();
            set.spawn(async move {
                for i in 0..MAX_SUBMITS_PER_WORKER {
                    // Every third request is a small batch.
                    let n = if (w + i) % 3 == 0 { 8 } else { 1 };
                    let mut claims = Vec::with_capacity(n);
                    for k in 0..n {
                        let queued = queue.lock().expect("lock").pop();
                        claims.push(queued.unwrap_or_else(|| {
                            vendor.claim(base + (w * MAX_SUBMITS_PER_WORKER + i) * 8 + k as u64)
                        }));
                    }
                    let result = if n == 1 {
                        client.submit(&claims[0]).await.map(|r| vec![r])
                    } else {
                        client.submit_batch(&claims).await
                    };
                    match result {
                        Ok(receipts) => {
                            let mut s = seen.lock().expect("lock");
                            for (claim, r) in claims.into_iter().zip(receipts) {
                                s.receipts += 1;
                                if r.entry != claim {
                                    s.violations
                                        .push(format!("receipt {} is for another entry", r.index));
                                }
                                if let Err(e) = r.verify(&policy) {
                                    s.violations
                                        .push(format!("receipt {} does not verify: {e}", r.index));
                                }
                                s.checkpoint(&r.checkpoint, &key);
                                s.ack(claim, r.index);
                            }
                        }
                        Err(_) => {
                            // Unknown outcome: it may or may not be logged.
                            seen.lock().expect("lock").retry.extend(claims);
                            return;
                        }
                    }
                }
            });
        }
        // A reader polling /checkpoint, as monitors do.
        {
            let (client, seen, key) = (client.clone(), seen.clone(), key.clone());
            set.spawn(async move {
                for _ in 0..100_000 {
                    match client.checkpoint().await {
                        Ok(note) => seen.lock().expect("lock").checkpoint(&note, &key),
                        Err(_) => return,
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            });
        }
        tokio::time::sleep(kill_after).await;
        log.kill9();
        while let Some(r) = set.join_next().await {
            r.expect("worker task");
        }
    });
    // Claims still queued were never sent this cycle: retry them later.
    let left = std::mem::take(&mut *queue.lock().expect("lock"));
    seen.lock().expect("lock").retry.extend(left);
}

/// Numbers from one verification after a restart.
struct Checked {
    size: u64,
    lost: u64,
}

/// After a restart: checks everything the clients ever saw against the log.
fn verify_log(
    rt: &tokio::runtime::Runtime,
    log: &LogProcess,
    seen: &Arc<Mutex<Seen>>,
    key: &VerifierKey,
    rng: &mut Rng,
    cycle: u64,
) -> Checked {
    let client = LogClient::new(&log.url).expect("client");
    let note = rt.block_on(client.checkpoint()).expect("checkpoint");
    let cp = verify_checkpoint(&note, key)
        .expect("the restarted log's checkpoint verifies")
        .checkpoint;
    let tree = rt
        .block_on(download_tree(&client, cp.size))
        .unwrap_or_else(|e| panic!("cycle {cycle}: cannot download the tree: {e}"));
    let s = seen.lock().expect("lock");
    assert!(
        s.violations.is_empty(),
        "cycle {cycle}: violations while running: {:?}",
        s.violations
    );

    // No duplicates: every entry is distinct.
    let leaves: Vec<Hash> = tree.entries.iter().map(|e| leaf_hash(e)).collect();
    let distinct: HashSet<&Hash> = leaves.iter().collect();
    assert_eq!(
        distinct.len() as u64,
        cp.size,
        "cycle {cycle}: the tree holds duplicate entries"
    );

    // Every checkpoint ever seen is a prefix of this tree (no fork, no
    // rollback): recompute the root at each seen size from the served entries.
    let max_seen = s.checkpoints.keys().next_back().copied().unwrap_or(0);
    assert!(
        cp.size >= max_seen,
        "cycle {cycle}: the log shrank from {max_seen} to {} after a crash",
        cp.size
    );
    let seen_sizes: Vec<(u64, Hash)> = s
        .checkpoints
        .iter()
        .map(|(k, v)| (*k, *v))
        .filter(|(k, _)| *k > 0)
        .collect();
    let mut range = CompactRange::new();
    let mut next = 0usize;
    for leaf in &leaves {
        range.append(*leaf, |_, _| {}).expect("append");
        while let Some(&(size, root)) = seen_sizes.get(next) {
            if size != range.size() {
                break;
            }
            assert_eq!(
                range.root(),
                root,
                "cycle {cycle}: the checkpoint of size {size} seen earlier is not a prefix of the tree now (fork)"
            );
            next += 1;
        }
    }
    assert_eq!(
        range.root(),
        cp.root,
        "cycle {cycle}: served entries do not hash to the checkpoint root"
    );

    // Every acknowledged claim is at its index, provable from the served tiles.
    let reader = TileNodeReader::new(&tree.tiles, cp.size);
    let mut lost = 0u64;
    let mut first_lost = None;
    for (leaf, a) in &s.acks {
        let at = tree.entries.get(a.index as usize);
        if at != Some(&a.entry) {
            lost += 1;
            first_lost.get_or_insert(a.index);
            continue;
        }
        let proof = inclusion_proof(&reader, a.index, cp.size)
            .unwrap_or_else(|e| panic!("cycle {cycle}: proof for {} from tiles: {e}", a.index));
        verify_inclusion(leaf, a.index, cp.size, &proof, &cp.root).unwrap_or_else(|e| {
            panic!(
                "cycle {cycle}: entry {} is not provable from the served tiles: {e}",
                a.index
            )
        });
    }
    assert_eq!(
        lost, 0,
        "cycle {cycle}: {lost} acknowledged claims lost (first at index {first_lost:?})"
    );

    // The server's own proof endpoints agree, for a sample.
    let acks: Vec<Ack> = s.acks.values().cloned().collect();
    drop(s);
    let sizes = seen_sizes;
    rt.block_on(async {
        for _ in 0..acks.len().min(16) {
            let a = &acks[rng.below(acks.len() as u64) as usize];
            let proof = client
                .inclusion_proof(a.index, cp.size)
                .await
                .expect("inclusion proof");
            verify_inclusion(&leaf_hash(&a.entry), a.index, cp.size, &proof, &cp.root)
                .expect("served inclusion proof verifies");
        }
        for _ in 0..sizes.len().min(8) {
            let (old, old_root) = sizes[rng.below(sizes.len() as u64) as usize];
            let proof = client
                .consistency_proof(old, cp.size)
                .await
                .expect("consistency proof");
            verify_consistency(old, cp.size, &old_root, &cp.root, &proof).unwrap_or_else(|e| {
                panic!("cycle {cycle}: {old} -> {} inconsistent: {e}", cp.size)
            });
        }
    });
    Checked {
        size: cp.size,
        lost,
    }
}

fn start_after_crash(data: &Path, cycle: u64, storage: &[&str]) -> LogProcess {
    let args: Vec<&str> = SERVER_ARGS.iter().chain(storage).copied().collect();
    LogProcess::try_start(data, &args).unwrap_or_else(|e| {
        panic!("cycle {cycle}: the start-up self-check failed after SIGKILL: {e}")
    })
}

#[test]
fn sigkill_under_load_never_loses_or_rewrites_acknowledged_claims() {
    crash_cycles(env_u64("PROVLOG_CRASH_CYCLES", 4), &[]);
}

/// The same on the S3 backend, against a real SeaweedFS (skipped without
/// `weed` unless `CI=true`): a kill can land between staging, the
/// checkpoint's compare-and-swap and settling. `PROVLOG_S3_CRASH_CYCLES`
/// (default 3).
#[test]
fn sigkill_under_load_on_s3_never_loses_or_forks() {
    let Some(sw) = provlog_e2e::seaweed::Seaweed::start("crash") else {
        return;
    };
    let storage = sw.storage("log");
    crash_cycles(
        env_u64("PROVLOG_S3_CRASH_CYCLES", 3),
        &["--storage", &storage, "--s3-endpoint", &sw.endpoint],
    );
}

/// `cycles` kill cycles against a server with the `storage` flags.
fn crash_cycles(cycles: u64, storage: &[&str]) {
    let cycles = cycles.max(1);
    let (mut rng, seed) = Rng::from_env("PROVLOG_CRASH_SEED");
    println!("crash test: {cycles} kill cycles, seed {seed} (PROVLOG_CRASH_SEED to replay)");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let vendor = Arc::new(Vendor::new("crash.example"));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let rt = rt();
    let mut next_claim = 0u64;
    let mut log = start_after_crash(&data, 0, storage);
    let key = VerifierKey::parse(&log.vkey).expect("vkey");
    let mut kills = 0u64;
    for cycle in 1..=cycles {
        // Kill somewhere in the first 40..700 ms of load; a few very early
        // kills land while the first batches are being committed.
        let kill_after = Duration::from_millis(if rng.below(5) == 0 {
            rng.below(40)
        } else {
            40 + rng.below(660)
        });
        // Resubmit a few acknowledged claims: dedup must hold across crashes.
        let resubmit: Vec<Vec<u8>> = {
            let s = seen.lock().expect("lock");
            s.acks
                .values()
                .take(rng.below(8) as usize)
                .map(|a| a.entry.clone())
                .collect()
        };
        load_then_kill(
            &rt,
            log,
            &seen,
            &vendor,
            &mut next_claim,
            kill_after,
            resubmit,
            &key,
        );
        kills += 1;
        log = start_after_crash(&data, cycle, storage);
        assert_eq!(log.vkey, key.to_vkey(), "the log key survives a crash");
        let checked = verify_log(&rt, &log, &seen, &key, &mut rng, cycle);
        let s = seen.lock().expect("lock");
        println!(
            "cycle {cycle}: killed after {} ms; tree size {}; acknowledged {} claims ({} receipts), lost {}; {} checkpoints seen, all consistent",
            kill_after.as_millis(),
            checked.size,
            s.acks.len(),
            s.receipts,
            checked.lost,
            s.checkpoints.len()
        );
    }
    // Finally: claims whose outcome is unknown are retried on a healthy log;
    // each is logged exactly once, and a clean shutdown keeps everything.
    let retry = std::mem::take(&mut seen.lock().expect("lock").retry);
    let client = LogClient::new(&log.url).expect("client");
    for chunk in retry.chunks(64) {
        let receipts = rt
            .block_on(client.submit_batch(chunk))
            .expect("retry on a healthy log");
        let mut s = seen.lock().expect("lock");
        for (claim, r) in chunk.iter().zip(receipts) {
            s.receipts += 1;
            s.ack(claim.clone(), r.index);
        }
    }
    let checked = verify_log(&rt, &log, &seen, &key, &mut rng, cycles + 1);
    assert!(log.stop(), "clean shutdown after the crash cycles");
    let log = start_after_crash(&data, cycles + 2, storage);
    let after = verify_log(&rt, &log, &seen, &key, &mut rng, cycles + 2);
    assert_eq!(after.size, checked.size, "a clean restart keeps the tree");
    let s = seen.lock().expect("lock");
    println!(
        "crash summary: seed {seed}; {kills} SIGKILL cycles survived; {} claims acknowledged ({} receipts); 0 acknowledged claims lost; final tree size {}; {} distinct checkpoints seen, none forked",
        s.acks.len(),
        s.receipts,
        after.size,
        s.checkpoints.len()
    );
    // Every entry in the log is a claim some client had acknowledged once
    // its unknown-outcome submissions were retried: nothing else appeared.
    assert_eq!(
        s.acks.len() as u64,
        after.size,
        "entries in the log that no client had acknowledged"
    );
    drop(s);
    assert!(log.stop());
}
