//! Witnessing off the sequencer thread, in process: in-memory witnesses
//! (answering, silent, down, or already ahead of the log) and tokio's
//! paused clock, so every timeout is exact virtual time, never a sleep.
//! The sequencer is stepped by the test; it never waits for a witness.
//! The same witnesses also speak real HTTP on 127.0.0.1 (through the log's
//! `HttpWitness` and `WitnessClient`): one with an ML-DSA-44 key as well
//! (both cosignatures attached and counted), one that answers 422 (an
//! alert, counted, and the checkpoint not sent to it again).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{claim, log_key, open};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{EMPTY_ROOT, Hash};
use provlog_core::note::{MlDsa44NoteSigner, Note, NoteSigner, VerifierKey};
use provlog_core::policy::{Policy, Quorum, Threshold};
use provlog_core::proof::verify_consistency;
use provlog_core::receipt::Receipt;
use provlog_core::witness::{AddCheckpointRequest, AddOutcome, cosignature_response, size_body};
use provlog_server::appender::{Appended, Appender, Submission};
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::publisher::{Publication, Publisher, WitnessSlot};
use provlog_server::ratelimit::RateLimiter;
use provlog_server::sequencer::{Pending, Sequencer};
use provlog_server::witnessing::{CallError, CallFuture, HttpWitness, WitnessCaller};
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Answer,
    Silent,
    Down,
    /// Answers 422 to everything: it holds another view of the log.
    Inconsistent,
}

/// A tlog-witness in memory: checks the log's signature, the old size and
/// the consistency proof, then cosigns.
struct FakeWitness {
    signer: NoteSigner,
    /// Also cosigns with subtree/v1 (ML-DSA-44) when set.
    ml_dsa: Option<MlDsa44NoteSigner>,
    log: VerifierKey,
    state: Mutex<(u64, Hash)>,
    mode: Mutex<Mode>,
    calls: AtomicUsize,
    /// Checkpoint sizes asked over HTTP, in order (`serve_http`).
    sizes: Mutex<Vec<u64>>,
}

impl FakeWitness {
    fn new(name: &str, mode: Mode) -> Arc<Self> {
        Arc::new(FakeWitness {
            signer: NoteSigner::generate_cosigner(name).expect("witness key"),
            ml_dsa: None,
            log: log_key(),
            state: Mutex::new((0, EMPTY_ROOT)),
            mode: Mutex::new(mode),
            calls: AtomicUsize::new(0),
            sizes: Mutex::new(Vec::new()),
        })
    }

    /// A witness with a cosignature/v1 and an ML-DSA-44 key, one name.
    fn new_with_ml_dsa(name: &str) -> Arc<Self> {
        Arc::new(FakeWitness {
            signer: NoteSigner::generate_cosigner(name).expect("witness key"),
            ml_dsa: Some(MlDsa44NoteSigner::generate(name).expect("ML-DSA-44 key")),
            log: log_key(),
            state: Mutex::new((0, EMPTY_ROOT)),
            mode: Mutex::new(Mode::Answer),
            calls: AtomicUsize::new(0),
            sizes: Mutex::new(Vec::new()),
        })
    }

    /// Its keys: cosignature/v1, then ML-DSA-44 if it has one.
    fn keys(&self) -> Vec<VerifierKey> {
        let mut k = vec![self.key()];
        k.extend(self.ml_dsa.as_ref().map(MlDsa44NoteSigner::verifier_key));
        k
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

    /// How many times checkpoints of `size` were asked over HTTP. (The
    /// publisher may or may not ask for the log's first checkpoint before a
    /// test's first batch lands, so tests count per size, not in total.)
    fn asked(&self, size: u64) -> usize {
        self.sizes
            .lock()
            .expect("lock")
            .iter()
            .filter(|&&s| s == size)
            .count()
    }

    /// Every size asked over HTTP.
    fn sizes(&self) -> Vec<u64> {
        self.sizes.lock().expect("lock").clone()
    }

    fn decide(&self, req: &AddCheckpointRequest) -> Result<AddOutcome, CallError> {
        let cp = verify_checkpoint(&req.checkpoint, &self.log)
            .map_err(|e| e.to_string())?
            .checkpoint;
        if *self.mode.lock().expect("lock") == Mode::Inconsistent {
            return Err(CallError::Inconsistent("422 another view".into()));
        }
        let mut st = self.state.lock().expect("lock");
        if req.old_size != st.0 {
            return Ok(AddOutcome::Conflict(st.0));
        }
        if req.old_size > 0 && req.old_size < cp.size {
            verify_consistency(req.old_size, cp.size, &st.1, &cp.root, &req.proof)
                .map_err(|e| CallError::Inconsistent(format!("422 bad proof: {e}")))?;
        }
        let note = Note::parse(&req.checkpoint).map_err(|e| e.to_string())?;
        let sig = Note::sign(&note.text, &self.signer, 1_800_000_000).map_err(|e| e.to_string())?;
        let mut sigs = vec![sig];
        if let Some(m) = &self.ml_dsa {
            sigs.push(m.cosign(&cp, 1_800_000_000).map_err(|e| e.to_string())?);
        }
        *st = (cp.size, cp.root);
        Ok(AddOutcome::Cosigned(sigs))
    }
}

impl WitnessCaller for FakeWitness {
    fn add_checkpoint(&self, req: AddCheckpointRequest) -> CallFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mode = *self.mode.lock().expect("lock");
        match mode {
            Mode::Silent => Box::pin(std::future::pending()),
            Mode::Down => Box::pin(async { Err(CallError::Failed("connection refused".into())) }),
            Mode::Answer | Mode::Inconsistent => {
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
    metrics: Arc<Metrics>,
    rx: mpsc::Receiver<Pending>,
    now: u64,
    next_claim: u64,
}

/// A log with `witnesses` and `quorum`; its publisher runs as a task.
fn log_with(witnesses: &[Arc<FakeWitness>], quorum: usize) -> Log {
    let targets: Vec<(VerifierKey, String)> = witnesses
        .iter()
        .enumerate()
        .map(|(i, w)| (w.key(), format!("memory://w{i}")))
        .collect();
    let slots = witnesses
        .iter()
        .zip(&targets)
        .map(|(w, (k, url))| WitnessSlot::new(k.clone(), url.clone(), w.clone()))
        .collect();
    log_with_slots(&targets, slots, quorum)
}

/// A log whose witnesses are the fakes served over HTTP at their URLs,
/// called as the server calls witnesses (`HttpWitness`), each with all its
/// keys.
fn log_over_http(witnesses: &[(Arc<FakeWitness>, String)], quorum: usize) -> Log {
    let targets: Vec<(VerifierKey, String)> = witnesses
        .iter()
        .map(|(w, url)| (w.key(), url.clone()))
        .collect();
    let slots = witnesses
        .iter()
        .map(|(w, url)| {
            let client = provlog_client::witness::WitnessClient::new(url, TIMEOUT).expect("client");
            WitnessSlot::with_keys(w.keys(), url.clone(), Arc::new(HttpWitness(client)))
        })
        .collect();
    log_with_slots(&targets, slots, quorum)
}

fn log_with_slots(
    targets: &[(VerifierKey, String)],
    slots: Vec<WitnessSlot>,
    quorum: usize,
) -> Log {
    let store = Arc::new(MemoryStorage::new());
    let mut seq = open(&store, 1_800_000_000_000).expect("open");
    let publication = Publication::new(
        seq.committed().expect("committed"),
        targets,
        quorum,
        TIMEOUT * 2 + Duration::from_secs(1),
    );
    seq.set_publication(publication.clone());
    let metrics = Arc::new(Metrics::new());
    start_publisher(&publication, slots, &store, &metrics);
    let (tx, rx) = mpsc::channel();
    let appender = Arc::new(Appender::new(
        RateLimiter::new(0.0, 0.0),
        1 << 16,
        tx,
        publication.clone(),
        store.clone(),
        Arc::new(NodeCache::new(64)),
        metrics.clone(),
    ));
    Log {
        store,
        seq,
        publication,
        appender,
        metrics,
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

/// Serves `w` as a tlog-witness over real HTTP on 127.0.0.1 (200 with the
/// cosignature lines, 409 with the size, 422 when inconsistent); returns
/// its submission prefix.
async fn serve_http(w: Arc<FakeWitness>) -> String {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::StatusCode;
    async fn add(State(w): State<Arc<FakeWitness>>, body: Bytes) -> (StatusCode, Vec<u8>) {
        w.calls.fetch_add(1, Ordering::SeqCst);
        let req = match AddCheckpointRequest::parse(&body) {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string().into_bytes()),
        };
        if let Ok(v) = verify_checkpoint(&req.checkpoint, &w.log) {
            w.sizes.lock().expect("lock").push(v.checkpoint.size);
        }
        match w.decide(&req) {
            Ok(AddOutcome::Cosigned(sigs)) => (StatusCode::OK, cosignature_response(&sigs)),
            Ok(AddOutcome::Conflict(s)) => (StatusCode::CONFLICT, size_body(s)),
            Err(CallError::Inconsistent(e)) => (StatusCode::UNPROCESSABLE_ENTITY, e.into_bytes()),
            Err(CallError::Failed(e)) => (StatusCode::FORBIDDEN, e.into_bytes()),
        }
    }
    let app = axum::Router::new()
        .route("/add-checkpoint", axum::routing::post(add))
        .with_state(w);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Waits (real time, at most 10 s) until `f` holds; panics with `what`.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_both_cosignatures_of_a_witness_with_an_ml_dsa_44_key_count() {
    let w = FakeWitness::new_with_ml_dsa("pq.example");
    let url = serve_http(w.clone()).await;
    let mut log = log_over_http(&[(w.clone(), url)], 2);
    let r = log.submit(4).await.expect("join");
    assert!(r.witnesses.met);
    assert_eq!(r.witnesses.header(), "met; cosignatures=2; quorum=2");
    assert_eq!(w.asked(4), 1, "one request for both keys: {:?}", w.sizes());
    let keys = w.keys();
    assert_eq!(keys[1].key_type(), 0x06);
    // A policy demanding both of the witness's keys (policy.md §6).
    let mut both = Policy::single_log(log_key());
    both.add_witness("w-ed", keys[0].clone(), None)
        .expect("w-ed");
    both.add_witness("w-pq", keys[1].clone(), None)
        .expect("w-pq");
    both.add_group("w", Threshold::All, vec!["w-ed".into(), "w-pq".into()])
        .expect("group");
    both.set_quorum(Quorum::Named("w".into())).expect("quorum");
    assert_eq!(verify_all(&r, &both), vec![2; 4]);
    // The ML-DSA-44 line alone meets a policy that names only that key.
    let mut pq = Policy::single_log(log_key());
    pq.add_witness("w-pq", keys[1].clone(), None).expect("w-pq");
    pq.set_quorum(Quorum::Named("w-pq".into())).expect("quorum");
    assert_eq!(verify_all(&r, &pq), vec![1; 4]);
    let note = Note::parse(&r.receipts[0].checkpoint).expect("note");
    assert!(
        note.signatures
            .iter()
            .any(|s| s.key_id == keys[1].key_id() && s.signature.len() > 2420),
        "a subtree/v1 line (8-byte time + 2,420-byte signature)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_422_is_an_alert_counted_and_that_checkpoint_not_sent_again() {
    let ok = FakeWitness::new("ok.example", Mode::Answer);
    let bad = FakeWitness::new("bad.example", Mode::Inconsistent);
    let (ok_url, bad_url) = (serve_http(ok.clone()).await, serve_http(bad.clone()).await);
    let mut log = log_over_http(&[(ok.clone(), ok_url), (bad.clone(), bad_url)], 1);
    let r = log.submit(3).await.expect("join");
    assert!(r.witnesses.met, "the other witness meets quorum 1");
    let count = |m: &Metrics, name: &str| -> usize {
        let prefix = format!("{name}{{witness=\"bad.example\"}} ");
        m.render()
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()).and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    };
    // Every refusal is counted once (the log's first checkpoint, size 0,
    // may have been refused too), and size 3 was asked once.
    until("the 422 for size 3 is counted", || {
        bad.asked(3) == 1
            && count(&log.metrics, "provlog_witness_inconsistent_total") == bad.sizes().len()
    })
    .await;
    let refused = bad.sizes();
    let mut distinct = refused.clone();
    distinct.dedup();
    assert_eq!(distinct, refused, "a 422 is not retried: {refused:?}");
    let why = log.publication.degraded().join("; ");
    assert!(
        why.contains("bad.example") && why.contains("INCONSISTENT") && why.contains("size 3"),
        "{why}"
    );
    let m = log.metrics.render();
    assert_eq!(
        count(&log.metrics, "provlog_witness_failures_total"),
        refused.len(),
        "{m}"
    );
    assert!(!m.contains("provlog_witness_inconsistent_total{witness=\"ok.example\"} 1"));
    // The same tree re-signed (an idle log's refresh): published with the
    // good witness's cosignature, and not sent to the one that refused it.
    log.now += 5_000;
    log.seq.refresh(log.now).expect("refresh");
    let at = log.publication.committed().order();
    assert_eq!(at.0, 3);
    let met = log.publication.wait_for_quorum(at).await;
    assert!(
        met.is_some_and(|p| p.order() == at),
        "the re-signed checkpoint is cosigned"
    );
    assert_eq!(
        ok.asked(3),
        2,
        "the good witness cosigns the re-signed tree"
    );
    assert_eq!(bad.asked(3), 1, "the refused checkpoint is not sent again");
    // A new tree size is a new checkpoint: asked again, refused again.
    let r = log.submit(2).await.expect("join");
    assert!(r.witnesses.met);
    until("the 422 for size 5 is counted", || {
        bad.asked(5) == 1
            && count(&log.metrics, "provlog_witness_inconsistent_total") == bad.sizes().len()
    })
    .await;
    assert_eq!(bad.asked(3), 1);
}
