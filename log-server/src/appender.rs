//! Admission: everything between a verified request and its receipts.
//!
//! [`Appender::admit`] takes a request's claims (already parsed and
//! signature-checked) and, in order: refuses a request larger than a key's
//! burst; takes every key's rate-limit tokens, all or nothing; reserves room
//! in the pool, all or nothing; hands the claims to the sequencer. A request
//! refused at any step changes nothing: the tokens it took are **refunded**
//! (pool full, another key of the request refused, shutting down), and so
//! are the tokens of claims the sequencer then fails to log. Each admitted
//! claim holds its pool room until the sequencer has answered it (see
//! [`PoolSlot`]), so a client that disconnects cannot make the pool
//! overflow.
//!
//! [`Admitted::receipts`] waits for the sequencer's answers, then (quorum >
//! 0) for the witness round covering them, bounded (see
//! [`crate::publisher`]).
//!
//! Shutdown is ordered: [`Appender::close`] stops admitting (later requests
//! get [`AppendError::ShuttingDown`]) and lets go of the sequencer's channel,
//! so the sequencer drains and commits what was admitted, answers it, and
//! stops.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use provlog_core::receipt::Receipt;
use provlog_core::tree::inclusion_proof;
use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::node_cache::NodeCache;
use crate::publisher::{Publication, PublishedCheckpoint};
use crate::ratelimit::RateLimiter;
use crate::sequencer::{Claim, Pending, PoolSlot, Sequenced, SequencerError};
use crate::storage::LogStorage;

/// One claim of a request: the claim and the vendor key that pays for it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The claim to log.
    pub claim: Claim,
    /// Its vendor key (the COSE `kid`), for rate limiting.
    pub key: String,
}

/// Why a request got no receipts. Each maps to one problem response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// More claims for one key than its burst: waiting cannot help.
    #[error(
        "a request of {count} claims for one vendor key exceeds the per-key burst of {burst}; split it"
    )]
    OverBurst {
        /// Claims for that key.
        count: usize,
        /// The burst.
        burst: f64,
    },
    /// The key is over its rate limit.
    #[error("vendor key {key} is over its rate limit; retry after {retry_after} s")]
    RateLimited {
        /// The vendor key.
        key: String,
        /// Seconds until enough tokens are back.
        retry_after: u64,
    },
    /// The pool has no room for the request.
    #[error("the log's pool of {capacity} pending claims is full; retry shortly")]
    PoolFull {
        /// Pool capacity.
        capacity: usize,
    },
    /// The log is shutting down.
    #[error("the log is shutting down")]
    ShuttingDown,
    /// The sequencer could not log a claim.
    #[error(transparent)]
    Sequencer(#[from] SequencerError),
}

/// Whether a response's receipts carry the witness quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumStatus {
    /// Every receipt's checkpoint meets the quorum.
    pub met: bool,
    /// The fewest cosignatures on any receipt's checkpoint.
    pub cosignatures: usize,
    /// The configured quorum.
    pub quorum: usize,
}

impl QuorumStatus {
    /// The `Provlog-Witness-Quorum` header value.
    pub fn header(&self) -> String {
        crate::publisher::quorum_header(self.met, self.cosignatures, self.quorum)
    }
}

/// A request's receipts.
#[derive(Debug, Clone)]
pub struct Appended {
    /// One receipt per claim, in request order.
    pub receipts: Vec<Receipt>,
    /// Whether they carry the quorum.
    pub witnesses: QuorumStatus,
}

/// Admission control and the hand-off to the sequencer. See the module docs.
pub struct Appender {
    limiter: RateLimiter,
    capacity: usize,
    pending: Arc<AtomicUsize>,
    sender: Mutex<Option<mpsc::Sender<Pending>>>,
    publication: Arc<Publication>,
    log: Arc<dyn LogStorage>,
    nodes: Arc<NodeCache>,
    metrics: Arc<Metrics>,
}

/// A request in the pool: its claims' answers to come.
#[must_use = "an admitted request is answered through Admitted::receipts"]
pub struct Admitted {
    waiting: Vec<(String, oneshot::Receiver<Result<Sequenced, SequencerError>>)>,
}

impl Appender {
    /// An appender handing claims to `sender` (the sequencer's channel),
    /// with `limiter`, a pool of `capacity` claims, and the publication the
    /// receipts' checkpoints come from (`log` and `nodes` rebuild a proof
    /// for a newer, witnessed checkpoint).
    pub fn new(
        limiter: RateLimiter,
        capacity: usize,
        sender: mpsc::Sender<Pending>,
        publication: Arc<Publication>,
        log: Arc<dyn LogStorage>,
        nodes: Arc<NodeCache>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Appender {
            limiter,
            capacity,
            pending: Arc::new(AtomicUsize::new(0)),
            sender: Mutex::new(Some(sender)),
            publication,
            log,
            nodes,
            metrics,
        }
    }

    /// Claims admitted and not yet answered by the sequencer.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Pool capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The rate limiter (for tests and metrics).
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Stops admitting and lets go of the sequencer's channel: the
    /// sequencer commits what was admitted, answers it, and stops.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    fn refund(&self, taken: &[(&str, usize)]) {
        for (key, n) in taken {
            self.limiter.refund(key, *n);
        }
    }

    /// Admits a request's claims, all or none. See the module docs.
    pub fn admit(&self, claims: Vec<Submission>) -> Result<Admitted, AppendError> {
        let n = claims.len();
        let mut per_key: Vec<(String, usize)> = Vec::new();
        {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for c in &claims {
                *counts.entry(c.key.as_str()).or_default() += 1;
            }
            per_key.extend(counts.into_iter().map(|(k, n)| (k.to_string(), n)));
            // A fixed order, so refusals are the same whatever the hashing.
            per_key.sort_unstable();
        }
        if self.limiter.enabled()
            && let Some(&(_, count)) = per_key
                .iter()
                .find(|(_, count)| *count as f64 > self.limiter.burst())
        {
            return Err(AppendError::OverBurst {
                count,
                burst: self.limiter.burst(),
            });
        }
        let mut taken: Vec<(&str, usize)> = Vec::with_capacity(per_key.len());
        for (key, count) in &per_key {
            let (key, count) = (key.as_str(), *count);
            match self.limiter.take(key, count) {
                Ok(()) => taken.push((key, count)),
                Err(wait) => {
                    self.refund(&taken);
                    if wait == u64::MAX {
                        return Err(AppendError::OverBurst {
                            count,
                            burst: self.limiter.burst(),
                        });
                    }
                    return Err(AppendError::RateLimited {
                        key: key.to_string(),
                        retry_after: wait,
                    });
                }
            }
        }
        // Under the lock: `close` cannot interleave with a hand-off, and a
        // request's claims reach the sequencer together.
        let guard = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = guard.as_ref() else {
            self.refund(&taken);
            return Err(AppendError::ShuttingDown);
        };
        let reserved = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p + n <= self.capacity).then_some(p + n)
            });
        if reserved.is_err() {
            self.refund(&taken);
            return Err(AppendError::PoolFull {
                capacity: self.capacity,
            });
        }
        let admitted = Instant::now();
        let mut waiting = Vec::with_capacity(n);
        let mut slots: Vec<PoolSlot> = (0..n)
            .map(|_| PoolSlot::reserved(self.pending.clone(), self.metrics.clone()))
            .collect();
        for c in claims {
            let (tx, rx) = oneshot::channel();
            let Some(slot) = slots.pop() else { break };
            let p = Pending {
                claim: c.claim,
                admitted,
                reply: tx,
                slot,
            };
            if sender.send(p).is_err() {
                // The sequencer is gone: every claim sent or not is dropped
                // with its slot; refund them all.
                drop(slots);
                self.refund(&taken);
                return Err(AppendError::ShuttingDown);
            }
            waiting.push((c.key, rx));
        }
        Ok(Admitted { waiting })
    }

    /// Admits the claims and waits for their receipts.
    pub async fn append(&self, claims: Vec<Submission>) -> Result<Appended, AppendError> {
        self.admit(claims)?.receipts(self).await
    }

    /// With quorum > 0: waits for the witness round covering the batch and
    /// moves the receipts onto the newest checkpoint that meets the quorum
    /// and includes them, if one is published in time.
    async fn witnessed(&self, seq: Vec<Sequenced>) -> Appended {
        let quorum = self.publication.quorum();
        let unwitnessed = |seq: Vec<Sequenced>| Appended {
            receipts: seq.into_iter().map(|s| s.receipt).collect(),
            witnesses: QuorumStatus {
                met: quorum == 0,
                cosignatures: 0,
                quorum,
            },
        };
        if quorum == 0 {
            return unwitnessed(seq);
        }
        let Some(newest) = seq.iter().map(|s| s.checkpoint_order).max() else {
            return unwitnessed(seq);
        };
        let Some(cp) = self.publication.wait_for_quorum(newest).await else {
            return unwitnessed(seq);
        };
        match self.move_to(seq.clone(), cp.clone()).await {
            Some(receipts) => Appended {
                receipts,
                witnesses: QuorumStatus {
                    met: true,
                    cosignatures: cp.cosignatures,
                    quorum,
                },
            },
            None => unwitnessed(seq),
        }
    }

    /// The receipts with `cp`'s note, their proofs rebuilt for its size
    /// (from the stored tiles, on a blocking thread).
    async fn move_to(
        &self,
        seq: Vec<Sequenced>,
        cp: Arc<PublishedCheckpoint>,
    ) -> Option<Vec<Receipt>> {
        let log = self.log.clone();
        let nodes = self.nodes.clone();
        tokio::task::spawn_blocking(move || {
            let size = cp.checkpoint.size;
            let reader = nodes.reader(&*log, size);
            seq.into_iter()
                .map(|s| {
                    let mut r = s.receipt;
                    if s.checkpoint_order.0 != size {
                        r.proof = inclusion_proof(&reader, r.index, size)
                            .map_err(|e| {
                                tracing::error!(error = %e, index = r.index, size, "cannot rebuild a receipt's proof");
                            })
                            .ok()?;
                    }
                    r.checkpoint = cp.note.clone();
                    Some(r)
                })
                .collect()
        })
        .await
        .ok()
        .flatten()
    }
}

impl Admitted {
    /// Waits for every claim's answer; refunds the tokens of claims that
    /// were not logged. The first error fails the request.
    pub async fn receipts(self, appender: &Appender) -> Result<Appended, AppendError> {
        let mut out = Vec::with_capacity(self.waiting.len());
        let mut first_error = None;
        for (key, rx) in self.waiting {
            let answer = match rx.await {
                Ok(r) => r.map_err(AppendError::from),
                Err(_) => Err(AppendError::ShuttingDown),
            };
            match answer {
                Ok(s) => out.push(s),
                Err(e) => {
                    if matches!(
                        e,
                        AppendError::ShuttingDown
                            | AppendError::Sequencer(
                                SequencerError::Storage(_) | SequencerError::Rejected(_)
                            )
                    ) {
                        appender.limiter.refund(&key, 1);
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(appender.witnessed(out).await)
    }
}
