//! The appender, in process and without timing: a table of admission cases
//! (rate limits with refunds, pool reservation, shutdown, sequencer
//! failures), and the pool filling while the sequencer is not stepped.
//! The sequencer's channel is held by the test, which steps the sequencer
//! itself when it wants the pooled claims answered.

mod common;

use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{claim, open};
use provlog_server::appender::{AppendError, Appender, Submission};
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::publisher::Publication;
use provlog_server::ratelimit::RateLimiter;
use provlog_server::sequencer::{Pending, Sequencer, SequencerError};

struct Harness {
    store: Arc<MemoryStorage>,
    seq: Sequencer,
    appender: Appender,
    rx: Option<mpsc::Receiver<Pending>>,
    rt: tokio::runtime::Runtime,
}

fn harness(rate: f64, burst: f64, capacity: usize) -> Harness {
    let store = Arc::new(MemoryStorage::new());
    let mut seq = open(&store, 1_800_000_000_000).expect("open");
    let publication = Publication::new(seq.committed().expect("committed"), &[], 0, Duration::ZERO);
    seq.set_publication(publication.clone());
    let (tx, rx) = mpsc::channel();
    let appender = Appender::new(
        RateLimiter::new(rate, burst),
        capacity,
        tx,
        publication,
        store.clone(),
        Arc::new(NodeCache::new(16)),
        Arc::new(Metrics::new()),
    );
    Harness {
        store,
        seq,
        appender,
        rx: Some(rx),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    }
}

impl Harness {
    /// Steps the sequencer over everything pooled so far.
    fn step(&mut self) -> usize {
        let Some(rx) = &self.rx else { return 0 };
        let batch: Vec<Pending> = rx.try_iter().collect();
        let n = batch.len();
        if n > 0 {
            self.seq.process(batch, 1_800_000_001_000);
        }
        n
    }

    fn pooled(&self) -> usize {
        self.appender.pending()
    }
}

/// `count` claims for `key`, claim ids from `first`.
fn request(parts: &[(&str, u64, u64)]) -> Vec<Submission> {
    parts
        .iter()
        .flat_map(|&(key, first, count)| {
            (first..first + count).map(move |i| Submission {
                claim: claim(i),
                key: key.to_string(),
            })
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Receipts(usize),
    OverBurst,
    RateLimited(&'static str),
    PoolFull,
    ShuttingDown,
    Storage,
}

fn kind(r: &Result<usize, AppendError>) -> Want {
    match r {
        Ok(n) => Want::Receipts(*n),
        Err(AppendError::OverBurst { .. }) => Want::OverBurst,
        Err(AppendError::RateLimited { key, .. }) => {
            Want::RateLimited(if key == "a" { "a" } else { "b" })
        }
        Err(AppendError::PoolFull { .. }) => Want::PoolFull,
        Err(AppendError::ShuttingDown) => Want::ShuttingDown,
        Err(AppendError::Sequencer(SequencerError::Storage(_))) => Want::Storage,
        Err(e) => panic!("unexpected {e}"),
    }
}

struct Case {
    name: &'static str,
    burst: f64,
    capacity: usize,
    /// Tokens spent by earlier requests: (key, tokens).
    spent: &'static [(&'static str, usize)],
    /// Claims pooled by an earlier request nobody answers yet (key "f").
    pooled: u64,
    /// `close()` called before the request.
    closed: bool,
    /// The sequencer's end of the channel dropped before the request.
    sequencer_gone: bool,
    /// Storage down when the sequencer commits the request.
    storage_down: bool,
    /// (key, first claim id, count).
    request: &'static [(&'static str, u64, u64)],
    want: Want,
    /// Tokens each key has afterwards.
    tokens_after: &'static [(&'static str, f64)],
    /// Claims still pooled afterwards.
    pooled_after: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "admitted: tokens paid, pool used then released",
        burst: 10.0,
        capacity: 16,
        spent: &[],
        pooled: 0,
        closed: false,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 0, 3), ("b", 3, 2)],
        want: Want::Receipts(5),
        tokens_after: &[("a", 7.0), ("b", 8.0)],
        pooled_after: 0,
    },
    Case {
        name: "a later key refused: the earlier key's tokens are refunded",
        burst: 10.0,
        capacity: 16,
        spent: &[("b", 9)],
        pooled: 0,
        closed: false,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 0, 3), ("b", 3, 2)],
        want: Want::RateLimited("b"),
        tokens_after: &[("a", 10.0), ("b", 1.0)],
        pooled_after: 0,
    },
    Case {
        name: "the first key refused: nothing is taken from the other",
        burst: 10.0,
        capacity: 16,
        spent: &[("a", 9)],
        pooled: 0,
        closed: false,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 0, 3), ("b", 3, 2)],
        want: Want::RateLimited("a"),
        tokens_after: &[("a", 1.0), ("b", 10.0)],
        pooled_after: 0,
    },
    Case {
        name: "pool full: every key refunded, nothing pooled",
        burst: 10.0,
        capacity: 4,
        spent: &[],
        pooled: 3,
        closed: false,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 10, 1), ("b", 11, 1)],
        want: Want::PoolFull,
        tokens_after: &[("a", 10.0), ("b", 10.0)],
        pooled_after: 3,
    },
    Case {
        name: "exactly full is still admitted",
        burst: 10.0,
        capacity: 4,
        spent: &[],
        pooled: 3,
        closed: false,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 10, 1)],
        want: Want::Receipts(1),
        tokens_after: &[("a", 9.0)],
        pooled_after: 0,
    },
    Case {
        name: "shutting down: refunded",
        burst: 10.0,
        capacity: 16,
        spent: &[],
        pooled: 0,
        closed: true,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 0, 2)],
        want: Want::ShuttingDown,
        tokens_after: &[("a", 10.0)],
        pooled_after: 0,
    },
    Case {
        name: "the sequencer is gone: refunded and the pool room released",
        burst: 10.0,
        capacity: 16,
        spent: &[],
        pooled: 0,
        closed: false,
        sequencer_gone: true,
        storage_down: false,
        request: &[("a", 0, 2)],
        want: Want::ShuttingDown,
        tokens_after: &[("a", 10.0)],
        pooled_after: 0,
    },
    Case {
        name: "storage fails: nothing logged, refunded, pool released",
        burst: 10.0,
        capacity: 16,
        spent: &[],
        pooled: 0,
        closed: false,
        sequencer_gone: false,
        storage_down: true,
        request: &[("a", 0, 2), ("b", 2, 1)],
        want: Want::Storage,
        tokens_after: &[("a", 10.0), ("b", 10.0)],
        pooled_after: 0,
    },
    Case {
        name: "more claims for one key than its burst: refused, nothing taken",
        burst: 2.0,
        capacity: 16,
        spent: &[],
        pooled: 0,
        closed: false,
        sequencer_gone: false,
        storage_down: false,
        request: &[("a", 0, 3)],
        want: Want::OverBurst,
        tokens_after: &[("a", 2.0)],
        pooled_after: 0,
    },
];

#[test]
fn admission_table() {
    for c in CASES {
        // A refill rate so low that no token comes back during the test.
        let mut h = harness(1e-9, c.burst, c.capacity);
        for &(key, n) in c.spent {
            h.appender.limiter().take(key, n).expect("spend");
        }
        let _earlier = (c.pooled > 0).then(|| {
            h.appender
                .admit(request(&[("f", 100, c.pooled)]))
                .expect("earlier request pooled")
        });
        if c.closed {
            h.appender.close();
        }
        if c.sequencer_gone {
            h.rx = None;
        }
        let admitted = h.appender.admit(request(c.request));
        let got = match admitted {
            Err(e) => Err(e),
            Ok(a) => {
                if c.storage_down {
                    h.store.set_outage(true);
                }
                h.step();
                h.store.set_outage(false);
                let r = h.rt.block_on(a.receipts(&h.appender));
                r.map(|ap| ap.receipts.len())
            }
        };
        assert_eq!(kind(&got), c.want, "{}: got {got:?}", c.name);
        for &(key, want) in c.tokens_after {
            let have = h.appender.limiter().available(key);
            assert!(
                (have - want).abs() < 1e-3,
                "{}: key {key} has {have} tokens, want {want}",
                c.name
            );
        }
        assert_eq!(h.pooled(), c.pooled_after, "{}: pooled", c.name);
    }
}

#[test]
fn pool_fills_while_the_sequencer_is_not_stepped_then_drains() {
    let mut h = harness(0.0, 0.0, 4);
    // The sequencer is not stepped: admitted claims stay pooled.
    let first = h
        .appender
        .admit(request(&[("a", 0, 3)]))
        .expect("room for 3");
    let second = h
        .appender
        .admit(request(&[("a", 3, 1)]))
        .expect("room for the 4th");
    assert_eq!(h.pooled(), 4);
    for _ in 0..3 {
        assert!(matches!(
            h.appender.admit(request(&[("a", 4, 1)])),
            Err(AppendError::PoolFull { capacity: 4 })
        ));
    }
    assert_eq!(h.pooled(), 4, "a refused request pools nothing");
    // One step answers everything pooled, and the room comes back.
    assert_eq!(h.step(), 4);
    assert_eq!(h.pooled(), 0);
    let r1 =
        h.rt.block_on(first.receipts(&h.appender))
            .expect("receipts");
    let r2 =
        h.rt.block_on(second.receipts(&h.appender))
            .expect("receipt");
    let idx: Vec<u64> = r1
        .receipts
        .iter()
        .chain(&r2.receipts)
        .map(|r| r.index)
        .collect();
    assert_eq!(idx, vec![0, 1, 2, 3]);
    assert!(r1.witnesses.met, "quorum 0 is met without witnesses");
    assert_eq!(
        r1.witnesses.header(),
        "met; cosignatures=0; quorum=0",
        "the response header"
    );
    assert!(h.appender.admit(request(&[("a", 4, 1)])).is_ok());
}

#[test]
fn ordered_shutdown_answers_what_was_admitted() {
    let mut h = harness(0.0, 0.0, 16);
    let admitted = h.appender.admit(request(&[("a", 0, 2)])).expect("admitted");
    h.appender.close();
    assert!(matches!(
        h.appender.admit(request(&[("a", 5, 1)])),
        Err(AppendError::ShuttingDown)
    ));
    // The sequencer drains what is pooled; its channel then reports the end.
    assert_eq!(h.step(), 2);
    let rx = h.rx.take().expect("rx");
    assert!(matches!(rx.recv(), Err(mpsc::RecvError),));
    let r =
        h.rt.block_on(admitted.receipts(&h.appender))
            .expect("answered");
    assert_eq!(r.receipts.len(), 2);
}
