//! Crash safety of the monitor as a witness and as an evidence store: the
//! test acts as the log (it holds the log key the monitor is configured
//! with), drives `POST /add-checkpoint` from several concurrent clients
//! (racing from the same old size), mixes in conflicting checkpoints and
//! gossiped split views, SIGKILLs `provlog-monitor` at random moments with
//! requests in flight, restarts it on the same data directory, and checks
//!
//! - no double cosignature from one old size: among all 200 answers of the
//!   whole run, each old size (below the new size) was cosigned from once;
//!   a witness that forgot a cosignature on a crash would accept the same
//!   old size again;
//! - no conflicting cosignature: every cosignature verifies with the
//!   witness key (the same key after every restart) over the exact
//!   checkpoint sent, no two cosigned checkpoints of one size have
//!   different roots, and a checkpoint from the fork is never cosigned
//!   (before or after a crash: from an old size the witness moved past,
//!   at a size it cosigned, or ahead of it);
//! - the witness never goes backwards: no 200 or 409-with-size answer is
//!   below a size it answered earlier, before or after a kill; after a
//!   restart the checkpoint it serves as cosigned is at least that size,
//!   of the honest tree, and a request from any older size gets 409 with
//!   exactly its size;
//! - no lost evidence: every evidence bundle the monitor served or
//!   acknowledged (in a gossip answer) before a kill is served after the
//!   restart and verifies with the log key; a conflicting checkpoint at the
//!   size the witness cosigned before the crash becomes evidence after it.
//!
//! Cycles: `PROVLOG_MONITOR_CRASH_CYCLES` (default 4, for CI). Long mode:
//! `scripts/crash-long.sh --monitor [CYCLES]`. A run prints its seed;
//! `PROVLOG_MONITOR_CRASH_SEED=<seed>` replays the same kill schedule.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use provlog_core::checkpoint::{Checkpoint, sign_checkpoint, verify_checkpoint};
use provlog_core::evidence::{Evidence, verify_evidence};
use provlog_core::hash::{Hash, sha256};
use provlog_core::note::{Note, NoteSigner, VerifierKey};
use provlog_core::tree::{MemoryTree, consistency_proof, tree_root};
use provlog_core::witness::{
    AddCheckpointRequest, SIZE_CONTENT_TYPE, attach_cosignatures, monitoring_path,
    parse_cosignature_response, parse_size_body,
};
use provlog_e2e::{MonitorProcess, Rng, env_u64, free_port};
use serde_json::{Value, json};

/// Concurrent log clients per cycle.
const WORKERS: u64 = 6;
/// Upper bound on requests per worker per cycle (loops are bounded).
const MAX_REQUESTS_PER_WORKER: u64 = 20_000;
/// Conflicting requests per worker per cycle, at most (bounds the evidence).
const MAX_CONFLICTS_PER_WORKER: u64 = 2;
/// The witness grows by at most this much per cycle (the trees are finite).
const GROWTH_PER_CYCLE: u64 = 1_500;
/// Gossiped split views per cycle.
const GOSSIP_PER_CYCLE: u64 = 2;
/// Sizes of gossiped split views (far beyond the witnessed trees).
const GOSSIP_BASE: u64 = 1 << 40;
/// Checkpoint timestamp: fixed, so a note of a size is the same bytes every
/// time it is signed (Ed25519 is deterministic), and evidence ids can be
/// predicted.
const TS_MS: u64 = 1_790_000_000_000;
/// The monitor lists at most this many bundles (its `MAX_EVIDENCE_LIST`).
const MAX_EVIDENCE_LIST: usize = 1000;

/// The test's log: its key, the honest tree and a fork with other entries
/// (no consistency proof links the fork to the honest tree).
struct TestLog {
    key: NoteSigner,
    vkey: VerifierKey,
    honest: MemoryTree,
    fork: MemoryTree,
}

impl TestLog {
    fn new(capacity: u64) -> TestLog {
        let key = NoteSigner::generate("moncrash.example/log").expect("log key");
        TestLog {
            vkey: key.verifier_key(),
            key,
            honest: MemoryTree::from_entries((0..capacity).map(|i| format!("honest entry {i}"))),
            fork: MemoryTree::from_entries((0..capacity).map(|i| format!("fork entry {i}"))),
        }
    }

    fn capacity(&self) -> u64 {
        self.honest.size()
    }

    fn root(t: &MemoryTree, size: u64) -> Hash {
        tree_root(&t.at_size(size).expect("size within the tree"), size).expect("root")
    }

    fn sign(&self, size: u64, root: Hash) -> Vec<u8> {
        let cp = Checkpoint::new(self.key.name(), size, root).with_timestamp(TS_MS);
        sign_checkpoint(&cp, &self.key).expect("sign checkpoint")
    }

    fn honest_root(&self, size: u64) -> Hash {
        Self::root(&self.honest, size)
    }

    fn honest_note(&self, size: u64) -> Vec<u8> {
        self.sign(size, self.honest_root(size))
    }

    fn fork_note(&self, size: u64) -> Vec<u8> {
        self.sign(size, Self::root(&self.fork, size))
    }

    /// The honest consistency proof (empty from 0 or to the same size).
    fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old == new {
            return Vec::new();
        }
        consistency_proof(&self.honest.at_size(new).expect("size"), old, new).expect("proof")
    }

    /// The evidence bundle the monitor builds from two notes of one size.
    fn same_size_evidence(&self, a: &[u8], b: &[u8]) -> Evidence {
        Evidence::same_size(&self.vkey, self.key.name(), a, b)
    }
}

/// What the test, acting as the log, has seen across all cycles.
#[derive(Default)]
struct Seen {
    /// Every cosigned checkpoint: size -> root.
    cosigned: BTreeMap<u64, Hash>,
    /// Old size -> new size of every 200 with old < new.
    cosigned_from: HashMap<u64, u64>,
    /// Largest size the witness answered with (200: the new size; 409: the
    /// size in the body). The witness must never be below it again.
    floor: u64,
    /// 200 answers (cosignatures issued and verified).
    cosignatures: u64,
    /// Old sizes at least two requests raced from.
    raced_olds: u64,
    /// Conflicting (fork) checkpoints refused.
    conflicts_refused: u64,
    /// Stale requests answered 409 with the witness's size.
    stale: u64,
    /// Requests whose answer was lost to a kill.
    unknown: u64,
    /// Evidence served or acknowledged: id -> bundle.
    evidence: BTreeMap<String, Evidence>,
    /// Violations found while the monitor was running.
    violations: Vec<String>,
}

/// An answer to add-checkpoint.
enum Answer {
    /// 200 with cosignature lines.
    Cosigned(Vec<u8>),
    /// 409 with `text/x.tlog.size`.
    Size(u64),
    /// Any other status (409 without a size, 422, ...), with its body.
    Refused(u16, String),
}

/// Sends one add-checkpoint request; `Err` when the answer was lost.
async fn add(
    http: &reqwest::Client,
    url: &str,
    old: u64,
    proof: Vec<Hash>,
    note: Vec<u8>,
) -> Result<Answer, String> {
    let body = AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint: note,
    }
    .to_bytes();
    let r = http
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = r.bytes().await.map_err(|e| e.to_string())?.to_vec();
    Ok(match status {
        200 => Answer::Cosigned(body),
        409 if ct == SIZE_CONTENT_TYPE => match parse_size_body(&body) {
            Ok(size) => Answer::Size(size),
            Err(_) => Answer::Refused(409, String::from_utf8_lossy(&body).into_owned()),
        },
        _ => Answer::Refused(status, String::from_utf8_lossy(&body).into_owned()),
    })
}

impl Seen {
    /// Records a 200 for the checkpoint `note` (size `new`, root `root`)
    /// sent from `old`, after checking the cosignature.
    #[allow(clippy::too_many_arguments)]
    fn cosigned(
        &mut self,
        wkey: &VerifierKey,
        body: &[u8],
        note: &[u8],
        old: u64,
        new: u64,
        root: Hash,
        floor_before: u64,
    ) {
        let ok = parse_cosignature_response(body)
            .map_err(|e| e.to_string())
            .and_then(|sigs| {
                let parsed = Note::parse(note).map_err(|e| e.to_string())?;
                let with = attach_cosignatures(&parsed, &sigs, wkey).map_err(|e| e.to_string())?;
                with.verify(std::slice::from_ref(wkey))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = ok {
            self.violations
                .push(format!("cosignature of size {new} does not verify: {e}"));
        }
        self.cosignatures += 1;
        if old < floor_before {
            self.violations.push(format!(
                "cosigned from old size {old} after having answered with size {floor_before} (the witness went back)"
            ));
        }
        if let Some(prev) = self.cosigned.insert(new, root)
            && prev != root
        {
            self.violations.push(format!(
                "two cosigned checkpoints of size {new} with different roots"
            ));
        }
        if old < new
            && let Some(prev) = self.cosigned_from.insert(old, new)
        {
            self.violations.push(format!(
                "double cosignature from old size {old}: to {prev} and to {new}"
            ));
        }
        self.floor = self.floor.max(new);
    }

    /// Records a 409 carrying the witness's size.
    fn size(&mut self, size: u64, floor_before: u64) {
        if size < floor_before {
            self.violations.push(format!(
                "409 with size {size} after the witness had answered with size {floor_before}"
            ));
        }
        self.floor = self.floor.max(size);
    }

    fn evidence(&mut self, ev: Evidence) {
        self.evidence.insert(ev.id(), ev);
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// The monitor's configuration: the test log (its URL is a closed loopback
/// port: the witness works without the follower), no peers.
fn config(log: &TestLog, closed_port: u16) -> String {
    format!(
        "witness_name = \"moncrash-witness.example\"\ngossip_interval_ms = 60000\n\n[[log]]\nurl = \"http://127.0.0.1:{closed_port}\"\nvkey = \"{}\"\npoll_interval_ms = 60000\n\n[alerts]\nstdout = false\n",
        log.vkey
    )
}

/// A gossiped split view: two signed checkpoints of one size, different
/// roots. Returns the notes.
fn split_view(log: &TestLog, size: u64) -> (Vec<u8>, Vec<u8>) {
    let a = log.sign(size, sha256(format!("split view {size} a").as_bytes()));
    let b = log.sign(size, sha256(format!("split view {size} b").as_bytes()));
    (a, b)
}

/// Every evidence bundle the monitor lists now (its listed id must be the
/// id of what it proves).
async fn list_evidence(http: &reqwest::Client, url: &str) -> Result<Vec<Evidence>, String> {
    let mut out = Vec::new();
    for (id, ev) in provlog_e2e::monitor_evidence(http, url).await? {
        if ev.id() != id {
            return Err(format!("evidence listed as {id} has id {}", ev.id()));
        }
        out.push(ev);
    }
    Ok(out)
}

struct Cycle<'a> {
    log: &'a Arc<TestLog>,
    wkey: &'a VerifierKey,
    seen: &'a Arc<Mutex<Seen>>,
    seed: u64,
    number: u64,
}

/// One load phase: concurrent witness clients, conflicting checkpoints, a
/// gossip pusher and an evidence reader, until the monitor is killed after
/// `kill_after`.
fn load_then_kill(
    rt: &tokio::runtime::Runtime,
    m: MonitorProcess,
    c: &Cycle<'_>,
    start: u64,
    kill_after: Duration,
) {
    let known = Arc::new(AtomicU64::new(start));
    let limit = (start + GROWTH_PER_CYCLE).min(c.log.capacity() - 8);
    // How many requests went out from each old size (for the race count).
    let sent_from: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for w in 0..WORKERS {
            let (log, wkey, seen, known, sent_from) = (
                c.log.clone(),
                c.wkey.clone(),
                c.seen.clone(),
                known.clone(),
                sent_from.clone(),
            );
            let url = m.url.clone();
            let mut rng = Rng::new(c.seed ^ (c.number << 8) ^ (w + 1));
            set.spawn(async move {
                let http = http();
                let mut conflicts = 0;
                for _ in 0..MAX_REQUESTS_PER_WORKER {
                    let old = known.load(Ordering::SeqCst);
                    let conflict = conflicts < MAX_CONFLICTS_PER_WORKER && rng.below(25) == 0;
                    let (req_old, size, note, root, proof) = if conflict {
                        conflicts += 1;
                        // A fork checkpoint: at the witness's size, ahead of
                        // it (no proof can link it), or from an old size.
                        match rng.below(3) {
                            0 => (old, old, log.fork_note(old), None, Vec::new()),
                            1 => {
                                let new = old + 1 + rng.below(4);
                                (old, new, log.fork_note(new), None, log.proof(old, new))
                            }
                            _ => {
                                let o = 1 + rng.below(old.max(1));
                                (o, o, log.fork_note(o), None, Vec::new())
                            }
                        }
                    } else {
                        let new = if old >= limit {
                            old // the tree budget is spent: cosign the same size again
                        } else {
                            (old + 1 + rng.below(3)).min(limit)
                        };
                        let root = log.honest_root(new);
                        (
                            old,
                            new,
                            log.sign(new, root),
                            Some(root),
                            log.proof(old, new),
                        )
                    };
                    let floor = {
                        *sent_from
                            .lock()
                            .expect("lock")
                            .entry(req_old)
                            .or_default() += 1;
                        seen.lock().expect("lock").floor
                    };
                    let answer = add(&http, &url, req_old, proof, note.clone()).await;
                    let mut s = seen.lock().expect("lock");
                    match (answer, root) {
                        (Err(_), _) => {
                            // Killed: the outcome is unknown.
                            s.unknown += 1;
                            return;
                        }
                        (Ok(Answer::Cosigned(body)), Some(root)) => {
                            s.cosigned(&wkey, &body, &note, req_old, size, root, floor);
                            known.fetch_max(size, Ordering::SeqCst);
                        }
                        (Ok(Answer::Cosigned(_)), None) => s.violations.push(format!(
                            "cosigned a fork checkpoint of size {size} (old {req_old})"
                        )),
                        (Ok(Answer::Size(n)), root) => {
                            s.size(n, floor);
                            if root.is_none() {
                                s.conflicts_refused += 1;
                            } else {
                                s.stale += 1;
                            }
                            known.fetch_max(n, Ordering::SeqCst);
                        }
                        (Ok(Answer::Refused(status, _)), None)
                            if status == 409 || status == 422 =>
                        {
                            s.conflicts_refused += 1;
                        }
                        (Ok(Answer::Refused(status, body)), _) => s.violations.push(format!(
                            "add-checkpoint old {req_old} size {size} (fork: {}): unexpected {status}: {body}",
                            root.is_none()
                        )),
                    }
                }
            });
        }
        // Gossip pusher: split views whose evidence must be in the answer.
        {
            let (log, seen) = (c.log.clone(), c.seen.clone());
            let url = m.url.clone();
            let mut rng = Rng::new(c.seed ^ (c.number << 8) ^ 0xff);
            let number = c.number;
            set.spawn(async move {
                let http = http();
                for k in 0..GOSSIP_PER_CYCLE {
                    tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
                    let size = GOSSIP_BASE + number * 16 + k;
                    let (a, b) = split_view(&log, size);
                    let want = log.same_size_evidence(&a, &b).id();
                    let msg = json!({
                        "checkpoints": [
                            String::from_utf8_lossy(&a),
                            String::from_utf8_lossy(&b),
                        ],
                    });
                    let Ok(r) = http
                        .post(format!("{url}/v1/gossip"))
                        .json(&msg)
                        .send()
                        .await
                    else {
                        return;
                    };
                    let Ok(view) = r.json::<Value>().await else {
                        return;
                    };
                    let got: Vec<Evidence> =
                        serde_json::from_value(view["evidence"].clone()).unwrap_or_default();
                    let mut s = seen.lock().expect("lock");
                    match got.into_iter().find(|e| e.id() == want) {
                        Some(ev) => s.evidence(ev),
                        None => s.violations.push(format!(
                            "the gossip answer lacks the evidence of the split view at size {size}"
                        )),
                    }
                }
            });
        }
        // Evidence reader: everything served is evidence that must survive.
        {
            let seen = c.seen.clone();
            let url = m.url.clone();
            set.spawn(async move {
                let http = http();
                for _ in 0..10_000 {
                    let Ok(list) = list_evidence(&http, &url).await else {
                        return;
                    };
                    {
                        let mut s = seen.lock().expect("lock");
                        for ev in list {
                            s.evidence(ev);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
        tokio::time::sleep(kill_after).await;
        m.kill9();
        while let Some(r) = set.join_next().await {
            r.expect("load task");
        }
    });
    let raced = sent_from
        .lock()
        .expect("lock")
        .values()
        .filter(|&&n| n >= 2)
        .count() as u64;
    c.seen.lock().expect("lock").raced_olds += raced;
}

/// Numbers from one check after a restart.
struct Checked {
    witnessed: u64,
    evidence: usize,
}

/// After a restart: the witness is where it was (or ahead), refuses every
/// conflicting checkpoint, still cosigns the honest tree, and every
/// evidence bundle seen before the kill is still served.
fn verify_after_restart(
    rt: &tokio::runtime::Runtime,
    m: &MonitorProcess,
    c: &Cycle<'_>,
) -> Checked {
    let cycle = c.number;
    let log = c.log;
    let wkey = c.wkey;
    assert_eq!(
        m.witness_vkey,
        wkey.to_vkey(),
        "cycle {cycle}: the witness key changed across a crash"
    );
    {
        let s = c.seen.lock().expect("lock");
        assert!(
            s.violations.is_empty(),
            "cycle {cycle}: violations while running: {:#?}",
            s.violations
        );
    }
    let http = http();
    rt.block_on(async {
        // The latest cosigned checkpoint, from the monitoring endpoint.
        let url = format!("{}/{}", m.url, monitoring_path(log.key.name()));
        let r = http.get(&url).send().await.expect("monitoring endpoint");
        assert_eq!(r.status().as_u16(), 200, "cycle {cycle}: nothing cosigned after the crash");
        let stored = r.bytes().await.expect("body").to_vec();
        let cp = verify_checkpoint(&stored, &log.vkey)
            .unwrap_or_else(|e| panic!("cycle {cycle}: the stored checkpoint does not verify: {e}"))
            .checkpoint;
        Note::parse(&stored)
            .expect("note")
            .verify(std::slice::from_ref(wkey))
            .unwrap_or_else(|e| panic!("cycle {cycle}: the stored checkpoint is not cosigned: {e}"));
        let w = cp.size;
        let floor = c.seen.lock().expect("lock").floor;
        assert!(
            w >= floor,
            "cycle {cycle}: the witness forgot: it is at size {w} after the crash, but had answered with size {floor} before it"
        );
        assert_eq!(
            cp.root,
            log.honest_root(w),
            "cycle {cycle}: the witness holds a fork checkpoint at size {w}"
        );
        if let Some(root) = c.seen.lock().expect("lock").cosigned.get(&w) {
            assert_eq!(&cp.root, root, "cycle {cycle}: stored root differs from the cosigned one");
        }

        // Stale requests (from an older size) get 409 with exactly that size.
        let older = c.seen.lock().expect("lock").cosigned.range(..w).next_back().map(|(k, _)| *k);
        for old in [Some(0), older].into_iter().flatten() {
            match add(&http, &m.url, old, log.proof(old, w + 1), log.honest_note(w + 1)).await {
                Ok(Answer::Size(n)) => {
                    assert_eq!(n, w, "cycle {cycle}: stale request from {old}: 409 with {n}, witness at {w}");
                    c.seen.lock().expect("lock").stale += 1;
                }
                Ok(Answer::Cosigned(_)) => panic!(
                    "cycle {cycle}: cosigned from old size {old} after the witness had reached {w} (double cosignature from one old size)"
                ),
                Ok(Answer::Refused(st, b)) => panic!("cycle {cycle}: stale request: {st} {b}"),
                Err(e) => panic!("cycle {cycle}: stale request: {e}"),
            }
        }

        // A conflicting checkpoint at the size it cosigned before the crash:
        // refused, and it becomes evidence against the log.
        let refused = |a: Result<Answer, String>, what: &str| match a {
            Ok(Answer::Cosigned(_)) => {
                panic!("cycle {cycle}: cosigned a conflicting checkpoint ({what})")
            }
            Ok(Answer::Size(n)) => {
                assert_eq!(n, w, "cycle {cycle}: {what}: 409 with size {n}, witness at {w}")
            }
            Ok(Answer::Refused(st, b)) => assert!(
                st == 409 || st == 422,
                "cycle {cycle}: {what}: unexpected {st}: {b}"
            ),
            Err(e) => panic!("cycle {cycle}: {what}: {e}"),
        };
        refused(
            add(&http, &m.url, w, Vec::new(), log.fork_note(w)).await,
            "fork at the cosigned size",
        );
        let want = log.same_size_evidence(&log.honest_note(w), &log.fork_note(w));
        let want_id = want.id();
        // Bounded poll: the monitor compares in the background.
        let mut found = None;
        for _ in 0..100 {
            let list = list_evidence(&http, &m.url).await.expect("evidence list");
            found = list.into_iter().find(|e| e.id() == want_id);
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ev = found.unwrap_or_else(|| {
            panic!("cycle {cycle}: a fork of the checkpoint cosigned before the crash (size {w}) did not become evidence")
        });
        verify_evidence(&serde_json::to_vec(&ev).expect("json"), &log.vkey)
            .unwrap_or_else(|e| panic!("cycle {cycle}: evidence does not verify: {e}"));
        c.seen.lock().expect("lock").evidence(ev);

        // Other conflicts: from an old size it moved past, and ahead of it.
        let mut n_refused = 1;
        if let Some(o) = older {
            refused(add(&http, &m.url, o, Vec::new(), log.fork_note(o)).await, "fork from a passed old size");
            refused(add(&http, &m.url, 0, Vec::new(), log.fork_note(o)).await, "fork from size 0");
            n_refused += 2;
        }
        refused(
            add(&http, &m.url, w, log.proof(w, w + 2), log.fork_note(w + 2)).await,
            "fork ahead of the witness",
        );
        n_refused += 1;
        c.seen.lock().expect("lock").conflicts_refused += n_refused;

        // The witness still cosigns the honest tree from where it is.
        let floor = c.seen.lock().expect("lock").floor;
        match add(&http, &m.url, w, log.proof(w, w + 1), log.honest_note(w + 1)).await {
            Ok(Answer::Cosigned(body)) => c.seen.lock().expect("lock").cosigned(
                wkey,
                &body,
                &log.honest_note(w + 1),
                w,
                w + 1,
                log.honest_root(w + 1),
                floor,
            ),
            Ok(Answer::Size(n)) => panic!("cycle {cycle}: honest request from {w}: 409 with {n}"),
            Ok(Answer::Refused(st, b)) => panic!("cycle {cycle}: honest request from {w}: {st} {b}"),
            Err(e) => panic!("cycle {cycle}: honest request from {w}: {e}"),
        }

        // No lost evidence: everything served or acknowledged before the
        // kill is served now, by id and in the list, and verifies.
        let list = list_evidence(&http, &m.url).await.expect("evidence list");
        let listed: HashMap<String, Evidence> = list.into_iter().map(|e| (e.id(), e)).collect();
        for ev in listed.values() {
            assert_eq!(
                ev.signer,
                log.vkey.to_vkey(),
                "cycle {cycle}: evidence against someone else (the witness itself?)"
            );
            verify_evidence(&serde_json::to_vec(ev).expect("json"), &log.vkey)
                .unwrap_or_else(|e| panic!("cycle {cycle}: served evidence does not verify: {e}"));
        }
        let kept = c.seen.lock().expect("lock").evidence.clone();
        let mut missing = Vec::new();
        for (id, ev) in &kept {
            let r = http
                .get(format!("{}/v1/evidence/{id}", m.url))
                .send()
                .await
                .expect("evidence by id");
            if r.status().as_u16() != 200 {
                missing.push(id.clone());
                continue;
            }
            let bytes = r.bytes().await.expect("body");
            let got = Evidence::from_json(&bytes).expect("served evidence parses");
            assert_eq!(&got, ev, "cycle {cycle}: evidence {id} changed");
            verify_evidence(&bytes, &log.vkey)
                .unwrap_or_else(|e| panic!("cycle {cycle}: evidence {id} does not verify: {e}"));
            if listed.len() < MAX_EVIDENCE_LIST {
                assert!(listed.contains_key(id), "cycle {cycle}: evidence {id} not listed");
            }
        }
        assert!(
            missing.is_empty(),
            "cycle {cycle}: {} of {} evidence bundles lost in the crash: {missing:?}",
            missing.len(),
            kept.len()
        );
        Checked {
            witnessed: w + 1,
            evidence: kept.len(),
        }
    })
}

#[test]
fn sigkill_never_loses_evidence_or_cosigns_twice_from_one_old_size() {
    let cycles = env_u64("PROVLOG_MONITOR_CRASH_CYCLES", 4).max(1);
    let (mut rng, seed) = Rng::from_env("PROVLOG_MONITOR_CRASH_SEED");
    println!(
        "monitor crash test: {cycles} kill cycles, seed {seed} (PROVLOG_MONITOR_CRASH_SEED to replay)"
    );
    let log = Arc::new(TestLog::new((cycles + 2) * (GROWTH_PER_CYCLE + 8) + 64));
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("monitor");
    let cfg = config(&log, free_port());
    let rt = rt();
    let seen = Arc::new(Mutex::new(Seen::default()));

    let mut m = MonitorProcess::start(&data, &cfg);
    let wkey = VerifierKey::parse(&m.witness_vkey).expect("witness vkey");
    // The first cosignature, so every later fork has something to contradict.
    {
        let http = http();
        let answer = rt.block_on(add(&http, &m.url, 0, Vec::new(), log.honest_note(1)));
        let Ok(Answer::Cosigned(body)) = answer else {
            panic!("the first checkpoint was not cosigned");
        };
        seen.lock().expect("lock").cosigned(
            &wkey,
            &body,
            &log.honest_note(1),
            0,
            1,
            log.honest_root(1),
            0,
        );
    }
    let mut start_size = 1;
    for number in 1..=cycles {
        let kill_after = Duration::from_millis(if rng.below(5) == 0 {
            rng.below(40)
        } else {
            40 + rng.below(460)
        });
        let c = Cycle {
            log: &log,
            wkey: &wkey,
            seen: &seen,
            seed,
            number,
        };
        load_then_kill(&rt, m, &c, start_size, kill_after);
        m = MonitorProcess::start(&data, &cfg);
        let checked = verify_after_restart(&rt, &m, &c);
        start_size = checked.witnessed;
        let s = seen.lock().expect("lock");
        println!(
            "cycle {number}: killed after {} ms; witness at {}; {} cosignatures, {} conflicting requests refused, {} stale requests answered with the size, {} answers lost to kills, {} old sizes raced; {} evidence bundles retained",
            kill_after.as_millis(),
            checked.witnessed,
            s.cosignatures,
            s.conflicts_refused,
            s.stale,
            s.unknown,
            s.raced_olds,
            checked.evidence
        );
    }
    let s = seen.lock().expect("lock");
    assert!(s.violations.is_empty(), "violations: {:#?}", s.violations);
    assert!(
        s.raced_olds > 0,
        "no two requests ever raced from one old size"
    );
    println!(
        "monitor crash summary: seed {seed}; {cycles} SIGKILL cycles survived; {} cosignatures issued, none conflicting, none twice from one old size ({} old sizes raced); {} conflicting requests refused; {} stale requests answered with the size; witness never went back (final size {start_size}); {} evidence bundles retained, 0 lost",
        s.cosignatures,
        s.raced_olds,
        s.conflicts_refused,
        s.stale,
        s.evidence.len()
    );
}

/// Starts `provlog-monitor` on `data` with `config` and waits until it
/// serves (its `listening on` line); on exit before that, returns its
/// stderr. The child is returned running.
fn try_start(
    data: &std::path::Path,
    config: &std::path::Path,
) -> Result<(std::process::Child, String), String> {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let mut child = Command::new(provlog_e2e::bin("provlog-monitor"))
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let url = url.to_owned();
                    std::thread::spawn(move || for _ in lines {});
                    return Ok((child, url));
                }
            }
            _ => {
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(err);
            }
        }
    }
}

/// SIGKILL at random points of the very first start (creating the witness
/// key and the database) never leaves a data directory that cannot start:
/// the next start serves, with one witness key from then on.
///
/// Runs: `PROVLOG_MONITOR_FIRST_START_RUNS` (default 20); seed:
/// `PROVLOG_MONITOR_FIRST_START_SEED`.
#[test]
fn sigkill_during_the_first_start_never_leaves_a_dir_that_cannot_start() {
    let runs = env_u64("PROVLOG_MONITOR_FIRST_START_RUNS", 20);
    let (mut rng, seed) = Rng::from_env("PROVLOG_MONITOR_FIRST_START_SEED");
    println!(
        "first-start kill test: {runs} runs, seed {seed} (PROVLOG_MONITOR_FIRST_START_SEED to replay)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let log = NoteSigner::generate("firststart.example/log").expect("key");
    let config = dir.path().join("m.toml");
    std::fs::write(
        &config,
        format!(
            "witness_name = \"first-start.example\"\n[[log]]\nurl = \"http://127.0.0.1:{}\"\nvkey = \"{}\"\npoll_interval_ms = 60000\n[alerts]\nstdout = false\n",
            free_port(),
            log.verifier_key()
        ),
    )
    .expect("config");
    // How long a first start takes here, so the kill points cover all of it.
    let started = std::time::Instant::now();
    let (mut c, _) = try_start(&dir.path().join("probe"), &config).expect("a first start serves");
    let full = started.elapsed();
    let _ = c.kill();
    let _ = c.wait();
    let span_us = (full.as_micros() as u64 * 3 / 2).max(1000);
    // Where the kills landed: (no key yet, key but no database, database
    // half-built, database complete).
    let mut landed = [0u32; 4];
    for run in 0..runs {
        let data = dir.path().join(format!("d{run}"));
        let mut first = std::process::Command::new(provlog_e2e::bin("provlog-monitor"))
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Half the kills in the first eighth of the start, where the key
        // and the database are created; the rest anywhere in it.
        let window = if rng.below(2) == 0 {
            span_us / 8
        } else {
            span_us
        };
        std::thread::sleep(Duration::from_micros(rng.below(window)));
        let _ = first.kill();
        let _ = first.wait();
        landed[if !data.join("witness.key").exists() {
            0
        } else if data.join("db").exists() {
            3
        } else if data.join("db.creating").exists() {
            2
        } else {
            1
        }] += 1;
        let (mut second, url) = try_start(&data, &config).unwrap_or_else(|e| {
            panic!("run {run} (seed {seed}): the data directory left by a kill during the first start cannot start: {e}")
        });
        let vkey = rt().block_on(async {
            let h: Value = reqwest::get(format!("{url}/healthz"))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            h["witness"].as_str().map(str::to_owned)
        });
        let _ = second.kill();
        let _ = second.wait();
        // The key is settled: a third start has the same one.
        let (mut third, url3) = try_start(&data, &config).expect("third start");
        let vkey3 = rt().block_on(async {
            let h: Value = reqwest::get(format!("{url3}/healthz"))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            h["witness"].as_str().map(str::to_owned)
        });
        let _ = third.kill();
        let _ = third.wait();
        assert!(vkey.is_some(), "run {run}: no witness key served");
        assert_eq!(
            vkey, vkey3,
            "run {run} (seed {seed}): the witness key changed"
        );
    }
    println!(
        "first-start kill test: {runs} runs survived; kills landed (no key, key only, database half-built, database complete): {landed:?}, within {span_us} us of spawning"
    );
}

/// A second monitor on a data directory in use is told so, with the pid of
/// the one using it, and is never told the directory is damaged.
#[test]
fn a_data_dir_in_use_is_reported_with_the_pid_not_as_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = NoteSigner::generate("inuse.example/log").expect("key");
    let text = format!(
        "[[log]]\nurl = \"http://127.0.0.1:{}\"\nvkey = \"{}\"\npoll_interval_ms = 60000\n[alerts]\nstdout = false\n",
        free_port(),
        log.verifier_key()
    );
    let data = dir.path().join("m");
    let first = MonitorProcess::start(&data, &text);
    let pid = first.pid().expect("pid");
    let err = try_start(&data, &data.with_extension("toml"))
        .map(|(mut c, _)| {
            let _ = c.kill();
        })
        .expect_err("a second monitor on the same data directory is refused");
    assert!(
        err.contains("in use by another process") && err.contains(&format!("(pid {pid})")),
        "{err}"
    );
    assert!(!err.contains("damaged") && !err.contains("backup"), "{err}");
    drop(first);
}
