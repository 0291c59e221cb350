//! Witnessing off the sequencer thread, in process: in-memory witnesses
//! (answering, silent, down, or already ahead of the log) and tokio's
//! paused clock, so every timeout is exact virtual time, never a sleep.
//! The sequencer is stepped by the test; it never waits for a witness.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{claim, log_key, open};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{EMPTY_ROOT, Hash};
use provlog_core::note::{Note, NoteSigner, VerifierKey};
use provlog_core::policy::{Policy, Quorum, Threshold};
use provlog_core::proof::verify_consistency;
use provlog_core::receipt::Receipt;
use provlog_core::witness::{AddCheckpointRequest, AddOutcome};
use provlog_server::appender::{Appended, Appender, Submission};
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::publisher::{Publication, Publisher, WitnessSlot};
use provlog_server::ratelimit::RateLimiter;
use provlog_server::sequencer::{Pending, Sequencer};
use provlog_server::witnessing::{CallFuture, WitnessCaller};
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Answer,
    Silent,
    Down,
}

/// A tlog-witness in memory: checks the log's signature, the old size and
/// the consistency proof, then cosigns.
struct FakeWitness {
    signer: NoteSigner,
    log: VerifierKey,
    state: Mutex<(u64, Hash)>,
    mode: Mutex<Mode>,
    calls: AtomicUsize,
}

impl FakeWitness {
    fn new(name: &str, mode: Mode) -> Arc<Self> {
        Arc::new(FakeWitness {
            signer: NoteSigner::generate_cosigner(name).expect("witness key"),
            log: log_key(),
            state: Mutex::new((0, EMPTY_ROOT)),
            mode: Mutex::new(mode),
            calls: AtomicUsize::new(0),
        })
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    fn key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn decide(&self, req: &AddCheckpointRequest) -> Result<AddOutcome, String> {
        let cp = verify_checkpoint(&req.checkpoint, &self.log)
            .map_err(|e| e.to_string())?
            .checkpoint;
        let mut st = self.state.lock().expect("lock");
        if req.old_size != st.0 {
            return Ok(AddOutcome::Conflict(st.0));
        }
        if req.old_size > 0 && req.old_size < cp.size {
            verify_consistency(req.old_size, cp.size, &st.1, &cp.root, &req.proof)
                .map_err(|e| format!("422 bad proof: {e}"))?;
        }
        let note = Note::parse(&req.checkpoint).map_err(|e| e.to_string())?;
        let sig = Note::sign(&note.text, &self.signer, 1_800_000_000).map_err(|e| e.to_string())?;
        *st = (cp.size, cp.root);
        Ok(AddOutcome::Cosigned(vec![sig]))
    }
}

impl WitnessCaller for FakeWitness {
    fn add_checkpoint(&self, req: AddCheckpointRequest) -> CallFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mode = *self.mode.lock().expect("lock");
        match mode {
            Mode::Silent => Box::pin(std::future::pending()),
            Mode::Down => Box::pin(async { Err("connection refused".to_string()) }),
            Mode::Answer => {
                let r = self.decide(&req);
                Box::pin(async move { r })
            }
        }
    }
}

struct Log {
    store: Arc<MemoryStorage>,
    seq: Sequencer,
    publication: Arc<Publication>,
    appender: Arc<Appender>,
    rx: mpsc::Receiver<Pending>,
    now: u64,
    next_claim: u64,
}

/// A log with `witnesses` and `quorum`; its publisher runs as a task.
fn log_with(witnesses: &[Arc<FakeWitness>], quorum: usize) -> Log {
    let store = Arc::new(MemoryStorage::new());
    let mut seq = open(&store, 1_800_000_000_000).expect("open");
    let targets: Vec<(VerifierKey, String)> = witnesses
        .iter()
        .enumerate()
        .map(|(i, w)| (w.key(), format!("memory://w{i}")))
        .collect();
    let publication = Publication::new(
        seq.committed().expect("committed"),
        &targets,
        quorum,
        TIMEOUT * 2 + Duration::from_secs(1),
    );
    seq.set_publication(publication.clone());
    let metrics = Arc::new(Metrics::new());
    let slots = witnesses
        .iter()
        .zip(&targets)
        .map(|(w, (k, url))| WitnessSlot::new(k.clone(), url.clone(), w.clone()))
        .collect();
    start_publisher(&publication, slots, &store, &metrics);
    let (tx, rx) = mpsc::channel();
    let appender = Arc::new(Appender::new(
        RateLimiter::new(0.0, 0.0),
        1 << 16,
        tx,
        publication.clone(),
        store.clone(),
        Arc::new(NodeCache::new(64)),
        metrics,
    ));
    Log {
        store,
        seq,
        publication,
        appender,
        rx,
        now: 1_800_000_000_000,
        next_claim: 0,
    }
}

fn start_publisher(
    publication: &Arc<Publication>,
    slots: Vec<WitnessSlot>,
    store: &Arc<MemoryStorage>,
    metrics: &Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(
        Publisher::new(
            publication.clone(),
            slots,
            TIMEOUT,
            store.clone(),
            metrics.clone(),
        )
        .run(),
    )
}

impl Log {
    /// Admits `n` new claims and steps the sequencer once (it commits them
    /// without waiting for anything); returns the pending receipts.
    fn submit(&mut self, n: u64) -> tokio::task::JoinHandle<Appended> {
        let subs: Vec<Submission> = (self.next_claim..self.next_claim + n)
            .map(|i| Submission {
                claim: claim(i),
                key: "vendor".into(),
            })
            .collect();
        self.next_claim += n;
        let admitted = self.appender.admit(subs).expect("admitted");
        let batch: Vec<Pending> = self.rx.try_iter().collect();
        self.now += 100;
        self.seq.process(batch, self.now);
        let app = self.appender.clone();
        tokio::spawn(async move { admitted.receipts(&app).await.expect("receipts") })
    }
}

fn policy(witnesses: &[&Arc<FakeWitness>], quorum: usize) -> Policy {
    let mut p = Policy::single_log(log_key());
    let mut names = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        let name = format!("w{i}");
        p.add_witness(&name, w.key(), None).expect("witness");
        names.push(name);
    }
    p.add_group("g", Threshold::AtLeast(quorum), names)
        .expect("group");
    p.set_quorum(Quorum::Named("g".into())).expect("quorum");
    p
}

fn verify_all(r: &Appended, policy: &Policy) -> Vec<usize> {
    r.receipts
        .iter()
        .map(|rc: &Receipt| rc.verify(policy).expect("receipt verifies").witnesses.len())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn with_the_quorum_answering_receipts_carry_the_cosignatures() {
    let (w0, w1) = (
        FakeWitness::new("w0.example", Mode::Answer),
        FakeWitness::new("w1.example", Mode::Answer),
    );
    let mut log = log_with(&[w0.clone(), w1.clone()], 2);
    let t0 = Instant::now();
    let r = log.submit(5).await.expect("join");
    assert!(t0.elapsed() < TIMEOUT, "no timeout was waited");
    assert!(r.witnesses.met);
    assert_eq!(r.witnesses.header(), "met; cosignatures=2; quorum=2");
    assert_eq!(verify_all(&r, &policy(&[&w0, &w1], 2)), vec![2; 5]);
    let cur = log.publication.current();
    assert_eq!(cur.checkpoint.size, 5);
    assert!(cur.quorum_met());
    assert!(log.publication.degraded().is_empty());
    // A second batch: the witnesses go on from the size they cosigned.
    let r = log.submit(300).await.expect("join");
    assert_eq!(verify_all(&r, &policy(&[&w0, &w1], 2)), vec![2; 300]);
    assert!(w0.calls() >= 2);
}

#[tokio::test(start_paused = true)]
async fn a_silent_witness_with_quorum_zero_holds_nothing() {
    let silent = FakeWitness::new("silent.example", Mode::Silent);
    let mut log = log_with(std::slice::from_ref(&silent), 0);
    let t0 = Instant::now();
    let r = log.submit(3).await.expect("join");
    assert_eq!(t0.elapsed(), Duration::ZERO, "receipts do not wait at all");
    assert!(r.witnesses.met);
    assert_eq!(r.witnesses.header(), "met; cosignatures=0; quorum=0");
    // Published at once, with the log's signature.
    assert_eq!(log.publication.current().checkpoint.size, 3);
    // Many batches while the witness sits on its first request.
    for _ in 0..20 {
        let r = log.submit(2).await.expect("join");
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert_eq!(r.receipts.len(), 2);
    }
    assert_eq!(silent.calls(), 1, "one request in flight at a time");
    assert_eq!(log.publication.current().checkpoint.size, 43);
    // Once its timeout passes, the log says it is degraded, and why.
    tokio::time::sleep(TIMEOUT + Duration::from_millis(1)).await;
    let why = log.publication.degraded().join("; ");
    assert!(
        why.contains("silent.example") && why.contains("no answer"),
        "{why}"
    );
}

#[tokio::test(start_paused = true)]
async fn below_the_quorum_is_never_presented_as_meeting_it() {
    let w = FakeWitness::new("w.example", Mode::Silent);
    let mut log = log_with(std::slice::from_ref(&w), 1);
    let t0 = Instant::now();
    let r = log.submit(4).await.expect("join");
    let waited = t0.elapsed();
    assert!(waited >= TIMEOUT, "waited for the witness: {waited:?}");
    assert!(waited <= TIMEOUT * 2 + Duration::from_secs(1));
    assert!(!r.witnesses.met);
    assert_eq!(r.witnesses.header(), "not-met; cosignatures=0; quorum=1");
    // Each receipt carries the log's signature only, and says so.
    assert_eq!(verify_all(&r, &Policy::single_log(log_key())), vec![0; 4]);
    assert!(r.receipts[0].verify(&policy(&[&w], 1)).is_err());
    let cur = log.publication.current();
    assert_eq!(cur.checkpoint.size, 4);
    assert!(!cur.quorum_met());
    assert!(cur.quorum_header().starts_with("not-met"));
    assert!(log.publication.state().last_met.is_none());
    let why = log.publication.degraded().join("; ");
    assert!(why.contains("0 of the 1"), "{why}");
    // The witness comes back: the next checkpoint is cosigned.
    w.set(Mode::Answer);
    let r = log.submit(1).await.expect("join");
    assert!(r.witnesses.met);
    assert_eq!(verify_all(&r, &policy(&[&w], 1)), vec![1]);
    assert!(log.publication.degraded().is_empty());
}

#[tokio::test(start_paused = true)]
async fn one_silent_witness_of_two_delays_nobody_at_quorum_one() {
    let (ok, silent) = (
        FakeWitness::new("ok.example", Mode::Answer),
        FakeWitness::new("silent.example", Mode::Silent),
    );
    let mut log = log_with(&[ok.clone(), silent.clone()], 1);
    let t0 = Instant::now();
    for _ in 0..5 {
        let r = log.submit(3).await.expect("join");
        assert!(r.witnesses.met);
        assert_eq!(verify_all(&r, &policy(&[&ok, &silent], 1)), vec![1; 3]);
    }
    assert!(t0.elapsed() < TIMEOUT, "never waited for the silent one");
    assert_eq!(silent.calls(), 1, "the busy witness sits rounds out");
}

#[tokio::test(start_paused = true)]
async fn checkpoints_committed_during_a_round_are_coalesced_and_proofs_rebuilt() {
    let w = FakeWitness::new("w.example", Mode::Silent);
    let mut log = log_with(std::slice::from_ref(&w), 1);
    // A round for the first batch is stuck on the silent witness...
    let first = log.submit(10);
    tokio::task::yield_now().await;
    // ...while two more batches commit; the witness then comes back.
    let second = log.submit(20);
    let third = log.submit(30);
    w.set(Mode::Answer);
    let first = first.await.expect("join");
    assert!(!first.witnesses.met, "its round timed out");
    // The next round covers the newest checkpoint (60): the second batch's
    // receipts move onto it, with proofs rebuilt for size 60.
    let second = second.await.expect("join");
    let third = third.await.expect("join");
    for r in [&second, &third] {
        assert!(r.witnesses.met);
        assert_eq!(verify_all(r, &policy(&[&w], 1)), vec![1; r.receipts.len()]);
        for rc in &r.receipts {
            let cp = verify_checkpoint(&rc.checkpoint, &log_key()).expect("cp");
            assert_eq!(cp.checkpoint.size, 60);
        }
    }
    // One timed-out call, then one round for size 60 (not one per batch).
    assert_eq!(w.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_witness_ahead_of_the_log_is_retried_from_its_size() {
    let w = FakeWitness::new("w.example", Mode::Answer);
    let mut log = log_with(std::slice::from_ref(&w), 1);
    let r = log.submit(5).await.expect("join");
    assert!(r.witnesses.met);
    assert_eq!(w.calls(), 1);
    // A new publisher (as after a restart) believes the witness is at 0;
    // the witness answers 409 with 5, and the retry from 5 (with a
    // consistency proof the witness checks) is cosigned.
    let metrics = Arc::new(Metrics::new());
    let fresh = Publication::new(
        log.seq.committed().expect("committed"),
        &[(w.key(), "memory://w".into())],
        1,
        TIMEOUT * 2 + Duration::from_secs(1),
    );
    log.seq.set_publication(fresh.clone());
    let slots = vec![WitnessSlot::new(w.key(), "memory://w".into(), w.clone())];
    start_publisher(&fresh, slots, &log.store, &metrics);
    // The fresh publisher's first round re-sends the current checkpoint.
    tokio::task::yield_now().await;
    log.publication = fresh.clone();
    let r2 = {
        let subs: Vec<Submission> = (100..108)
            .map(|i| Submission {
                claim: claim(i),
                key: "vendor".into(),
            })
            .collect();
        // Admission through an appender on the fresh publication.
        let (tx, rx) = mpsc::channel();
        let app = Arc::new(Appender::new(
            RateLimiter::new(0.0, 0.0),
            64,
            tx,
            fresh.clone(),
            log.store.clone(),
            Arc::new(NodeCache::new(8)),
            metrics.clone(),
        ));
        let admitted = app.admit(subs).expect("admitted");
        log.seq.process(rx.try_iter().collect(), log.now + 1000);
        admitted.receipts(&app).await.expect("receipts")
    };
    assert!(r2.witnesses.met);
    assert_eq!(verify_all(&r2, &policy(&[&w], 1)), vec![1; 8]);
    // 1 before; then a 409 and its retry; then the round for size 13.
    assert_eq!(w.calls(), 4);
    let m = metrics.render();
    assert!(
        m.contains("provlog_witness_cosigned_size{witness=\"w.example\"} 13"),
        "{m}"
    );
    assert!(m.contains("provlog_witness_requests_total{witness=\"w.example\"}"));
}

#[tokio::test(start_paused = true)]
async fn a_witness_that_is_down_is_reported_per_witness() {
    let (ok, down) = (
        FakeWitness::new("ok.example", Mode::Answer),
        FakeWitness::new("down.example", Mode::Down),
    );
    let mut log = log_with(&[ok.clone(), down.clone()], 2);
    let r = log.submit(2).await.expect("join");
    assert!(!r.witnesses.met);
    assert_eq!(r.witnesses.header(), "not-met; cosignatures=0; quorum=2");
    let ws = log.publication.witnesses();
    assert_eq!(ws[0].cosigned_size, Some(2));
    assert!(ws[0].last_error.is_none());
    assert!(
        ws[1]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("refused"))
    );
    // The published checkpoint carries the one cosignature it got, and
    // says it is below the quorum.
    let cur = log.publication.current();
    assert_eq!((cur.cosignatures, cur.quorum), (1, 2));
    assert_eq!(cur.quorum_header(), "not-met; cosignatures=1; quorum=2");
}
