//! provlog-monitor as a library: the follower/auditor, witness, gossip and
//! evidence handling behind the `provlog-monitor` binary (see
//! spec/monitor.md). The binary is a thin wrapper; the library exists so the
//! audit path can be benchmarked (`benches/audit.rs`) and tested in-process.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod claim_batch;
pub mod commands;
pub mod config;
pub mod follower;
pub mod gossip;
pub mod health;
pub mod index_audit;
pub mod keys;
pub mod metrics;
pub mod monitor;
pub mod owntree;
pub mod problem;
pub mod seq_watch;
pub mod store;
pub mod witness;

#[cfg(test)]
mod testutil;

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
