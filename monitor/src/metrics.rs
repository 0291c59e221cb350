//! Prometheus metrics, served at `/metrics` (OpenMetrics text).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label: the log origin.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LogLabel {
    /// Log origin.
    pub log: String,
}

/// Label: a log and a reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Log origin.
    pub log: String,
    /// Short reason slug.
    pub reason: String,
}

/// Label: an HTTP status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    /// Status code.
    pub code: u16,
}

/// Every metric the monitor exports.
pub struct Metrics {
    registry: Registry,
    /// Entries downloaded, re-hashed and checked, per log.
    pub entries_audited: Family<LogLabel, Counter>,
    /// Audited tree size per log.
    pub audited_size: Family<LogLabel, Gauge>,
    /// Latest size the log announced, per log.
    pub log_size: Family<LogLabel, Gauge>,
    /// Entries announced but not yet audited, per log.
    pub lag_entries: Family<LogLabel, Gauge>,
    /// Age of the log's latest checkpoint timestamp, in seconds.
    pub checkpoint_age_seconds: Family<LogLabel, Gauge>,
    /// Misbehaviour reports by log and reason.
    pub misbehaviour: Family<ReasonLabel, Counter>,
    /// Failed polls that look transient (unreachable, 5xx).
    pub unreachable: Family<LogLabel, Counter>,
    /// Evidence bundles held.
    pub evidence: Gauge,
    /// add-checkpoint answers by status.
    pub witness_requests: Family<CodeLabel, Counter>,
    /// Gossip exchanges that failed.
    pub gossip_failures: Counter,
    /// Gossip requests refused by the per-peer rate limit.
    pub gossip_rate_limited: Counter,
    /// Gossiped notes and bundles dropped by the bounds (duplicates, too
    /// many signature lines, over the per-request limits).
    pub gossip_dropped: Counter,
}

impl Metrics {
    /// Creates and registers all metrics.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("provlog_monitor");
        let m = Metrics {
            registry: Registry::default(),
            entries_audited: Family::default(),
            audited_size: Family::default(),
            log_size: Family::default(),
            lag_entries: Family::default(),
            checkpoint_age_seconds: Family::default(),
            misbehaviour: Family::default(),
            unreachable: Family::default(),
            evidence: Gauge::default(),
            witness_requests: Family::default(),
            gossip_failures: Counter::default(),
            gossip_rate_limited: Counter::default(),
            gossip_dropped: Counter::default(),
        };
        r.register(
            "entries_audited",
            "Entries re-derived and checked",
            m.entries_audited.clone(),
        );
        r.register("audited_size", "Audited tree size", m.audited_size.clone());
        r.register(
            "log_size",
            "Latest tree size the log announced",
            m.log_size.clone(),
        );
        r.register(
            "lag_entries",
            "Announced entries not yet audited",
            m.lag_entries.clone(),
        );
        r.register(
            "checkpoint_age_seconds",
            "Age of the latest checkpoint's timestamp",
            m.checkpoint_age_seconds.clone(),
        );
        r.register(
            "misbehaviour",
            "Log misbehaviour reports",
            m.misbehaviour.clone(),
        );
        r.register(
            "unreachable",
            "Polls that failed transiently",
            m.unreachable.clone(),
        );
        r.register("evidence", "Evidence bundles held", m.evidence.clone());
        r.register(
            "witness_requests",
            "add-checkpoint answers by HTTP status",
            m.witness_requests.clone(),
        );
        r.register(
            "gossip_failures",
            "Failed gossip exchanges",
            m.gossip_failures.clone(),
        );
        r.register(
            "gossip_rate_limited",
            "Gossip requests refused by the per-peer rate limit",
            m.gossip_rate_limited.clone(),
        );
        r.register(
            "gossip_dropped",
            "Gossiped notes and bundles dropped by the bounds",
            m.gossip_dropped.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Renders the registry.
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
