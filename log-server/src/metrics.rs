//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::storage_health::StorageHealth;

/// Label set for rejections: the problem slug (e.g. `rate-limited`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The problem slug.
    pub reason: String,
}

/// Label set for per-witness metrics: the witness key's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WitnessLabel {
    /// The witness key's name.
    pub witness: String,
}

/// Handles on one witness's metrics.
pub struct WitnessMetrics {
    /// add-checkpoint requests sent.
    pub requests: Counter,
    /// Exchanges that ended without a valid cosignature.
    pub failures: Counter,
    /// Time of one exchange (including a 409 retry).
    pub latency: Histogram,
    /// The last size it cosigned.
    pub cosigned_size: Gauge,
    /// 422 answers: the witness holds a checkpoint this log's contradicts.
    pub inconsistent: Counter,
}

fn witness_latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Entries appended to the log (duplicates excluded).
    pub entries: Counter,
    /// Batches committed.
    pub batches: Counter,
    /// Duplicate submissions answered with the original receipt.
    pub duplicates: Counter,
    /// Time to build, commit and fsync one batch.
    pub commit_seconds: Histogram,
    /// Claims per committed batch.
    pub batch_size: Histogram,
    /// Time from a claim being accepted into the pool to its receipt.
    pub receipt_seconds: Histogram,
    /// Rejected requests by reason.
    pub rejections: Family<ReasonLabel, Counter>,
    /// Current tree size.
    pub tree_size: Gauge,
    /// Claims waiting in the pool.
    pub pool_pending: Gauge,
    /// Batches whose storage writes failed (nothing acknowledged).
    pub commit_failures: Counter,
    /// Per-witness requests.
    pub witness_requests: Family<WitnessLabel, Counter>,
    /// Per-witness failed exchanges.
    pub witness_failures: Family<WitnessLabel, Counter>,
    /// Per-witness exchange latency.
    pub witness_latency: Family<WitnessLabel, Histogram, fn() -> Histogram>,
    /// Per-witness last cosigned size.
    pub witness_cosigned_size: Family<WitnessLabel, Gauge>,
    /// Distinct keys in the verifiable index.
    pub index_keys: Gauge,
    /// Time to update the verifiable index and build a batch's index-commit.
    pub index_commit_seconds: Histogram,
    /// (key, entry) pairs indexed per batch.
    pub index_batch_keys: Histogram,
    /// Lookup proofs served.
    pub lookups: Counter,
    /// Per-witness 422 ("inconsistent") answers.
    pub witness_inconsistent: Family<WitnessLabel, Counter>,
    /// Whether storage writes are failing (see [`StorageHealth`]).
    pub storage: StorageHealth,
    /// Frontend channel (`crate::frontend`): signed batches forwarded (on
    /// a frontend) or accepted (on the sequencer).
    pub forwarded_batches: Counter,
    /// Claims in those batches.
    pub forwarded_claims: Counter,
    /// Forwarded batches refused (on the sequencer: bad signature, unknown
    /// key, replay...; on a frontend: the sequencer unreachable or hostile).
    pub forward_refusals: Family<ReasonLabel, Counter>,
}

impl Metrics {
    /// Creates and registers all metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("provlog");
        let m = Metrics {
            entries: Counter::default(),
            batches: Counter::default(),
            duplicates: Counter::default(),
            commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            receipt_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            rejections: Family::default(),
            tree_size: Gauge::default(),
            pool_pending: Gauge::default(),
            commit_failures: Counter::default(),
            witness_requests: Family::default(),
            witness_failures: Family::default(),
            witness_latency: Family::new_with_constructor(witness_latency),
            witness_cosigned_size: Family::default(),
            index_keys: Gauge::default(),
            index_commit_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 16)),
            index_batch_keys: Histogram::new(exponential_buckets(1.0, 2.0, 16)),
            lookups: Counter::default(),
            witness_inconsistent: Family::default(),
            storage: StorageHealth::default(),
            forwarded_batches: Counter::default(),
            forwarded_claims: Counter::default(),
            forward_refusals: Family::default(),
            registry: Registry::default(),
        };
        registry.register("entries", "Entries appended to the log", m.entries.clone());
        registry.register(
            "forwarded_batches",
            "Signed frontend batches forwarded (frontend) or accepted (sequencer)",
            m.forwarded_batches.clone(),
        );
        registry.register(
            "forwarded_claims",
            "Claims in forwarded frontend batches",
            m.forwarded_claims.clone(),
        );
        registry.register(
            "forward_refusals",
            "Forwarded frontend batches refused, by reason",
            m.forward_refusals.clone(),
        );
        registry.register("batches", "Batches committed", m.batches.clone());
        registry.register(
            "duplicates",
            "Resubmitted claims answered with their original receipt",
            m.duplicates.clone(),
        );
        registry.register(
            "batch_commit_seconds",
            "Time to build, commit and fsync a batch",
            m.commit_seconds.clone(),
        );
        registry.register(
            "batch_size",
            "Claims per committed batch",
            m.batch_size.clone(),
        );
        registry.register(
            "receipt_seconds",
            "Time from pool admission to receipt",
            m.receipt_seconds.clone(),
        );
        registry.register(
            "rejections",
            "Rejected requests by reason",
            m.rejections.clone(),
        );
        registry.register("tree_size", "Entries in the log", m.tree_size.clone());
        registry.register(
            "pool_pending",
            "Claims waiting to be sequenced",
            m.pool_pending.clone(),
        );
        registry.register(
            "commit_failures",
            "Batches whose storage writes failed; nothing of them was acknowledged",
            m.commit_failures.clone(),
        );
        registry.register(
            "witness_requests",
            "add-checkpoint requests sent, per witness",
            m.witness_requests.clone(),
        );
        registry.register(
            "witness_failures",
            "Witness exchanges that ended without a valid cosignature, per witness",
            m.witness_failures.clone(),
        );
        registry.register(
            "witness_latency_seconds",
            "Time of one witness exchange (a 409 retry included), per witness",
            m.witness_latency.clone(),
        );
        registry.register(
            "witness_cosigned_size",
            "The last tree size each witness cosigned",
            m.witness_cosigned_size.clone(),
        );
        registry.register(
            "index_keys",
            "Distinct keys in the verifiable index",
            m.index_keys.clone(),
        );
        registry.register(
            "index_commit_seconds",
            "Time to update the verifiable index and build a batch's index-commit",
            m.index_commit_seconds.clone(),
        );
        registry.register(
            "index_batch_keys",
            "(key, entry) pairs indexed per batch",
            m.index_batch_keys.clone(),
        );
        registry.register("lookup_proofs", "Lookup proofs served", m.lookups.clone());
        registry.register(
            "witness_inconsistent",
            "422 answers: the witness refused a checkpoint as inconsistent with one it cosigned (alert), per witness",
            m.witness_inconsistent.clone(),
        );
        registry.register(
            "storage_failing",
            "1 while the log's storage writes fail (writes are refused with 503)",
            m.storage.failing_gauge.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Handles on the metrics of the witness named `name`.
    pub fn witness(&self, name: &str) -> WitnessMetrics {
        let l = WitnessLabel {
            witness: name.to_string(),
        };
        WitnessMetrics {
            requests: self.witness_requests.get_or_create(&l).clone(),
            failures: self.witness_failures.get_or_create(&l).clone(),
            latency: self.witness_latency.get_or_create(&l).clone(),
            cosigned_size: self.witness_cosigned_size.get_or_create(&l).clone(),
            inconsistent: self.witness_inconsistent.get_or_create(&l).clone(),
        }
    }

    /// Counts a rejection.
    pub fn reject(&self, reason: &str) {
        self.rejections
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Renders the registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
