//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Label set for rejections: the problem slug (e.g. `rate-limited`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The problem slug.
    pub reason: String,
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
            registry: Registry::default(),
        };
        registry.register("entries", "Entries appended to the log", m.entries.clone());
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
        Metrics { registry, ..m }
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
