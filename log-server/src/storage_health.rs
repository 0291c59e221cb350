//! Whether the log's storage is writing: the sequencer records each
//! commit's outcome here; `/healthz`, `/metrics`, the write API and the
//! process's exit read it.
//!
//! A failed write leaves the log as it was (nothing is acknowledged before
//! its batch is durable, see [`crate::storage`]), so a fault only needs to
//! be reported and retried: writes are refused with 503 + `Retry-After`
//! while it lasts, and the next successful commit clears it. A fault the
//! backend cannot recover from in-process ([`StorageError::Unrecoverable`])
//! makes the sequencer stop and the server exit with an error, so that a
//! supervisor restarts it once the cause (disk full, read-only file system,
//! removed data directory) is fixed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::gauge::Gauge;

use crate::storage::StorageError;

/// Seconds a refused write is told to wait before retrying.
pub const STORAGE_RETRY_AFTER_SECS: u64 = 5;

/// The current storage fault, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fault {
    /// What failed, as the backend reported it.
    pub error: String,
    /// When the fault was first seen (Unix ms).
    pub since_ms: u64,
    /// Whether the backend cannot recover in this process.
    pub unrecoverable: bool,
}

/// Shared storage state. Cheap to read (one lock, uncontended).
#[derive(Default)]
pub struct StorageHealth {
    fault: Mutex<Option<Fault>>,
    unrecoverable: AtomicBool,
    /// 1 while storage writes fail (exported as `provlog_storage_failing`).
    pub failing_gauge: Gauge,
}

impl StorageHealth {
    /// Records a failed write (keeps the time of the first failure).
    pub fn failed(&self, e: &StorageError) {
        let unrecoverable = matches!(e, StorageError::Unrecoverable(_));
        if unrecoverable {
            self.unrecoverable.store(true, Ordering::Release);
        }
        let mut f = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        let since_ms = f.as_ref().map_or_else(now_ms, |f| f.since_ms);
        *f = Some(Fault {
            error: e.to_string(),
            since_ms,
            unrecoverable: unrecoverable || f.as_ref().is_some_and(|f| f.unrecoverable),
        });
        self.failing_gauge.set(1);
    }

    /// Records a successful commit: the fault, if any, is over (an
    /// unrecoverable one never is).
    pub fn succeeded(&self) {
        if self.unrecoverable() {
            return;
        }
        let mut f = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        if f.take().is_some() {
            tracing::info!("storage writes succeed again");
        }
        self.failing_gauge.set(0);
    }

    /// The current fault.
    pub fn fault(&self) -> Option<Fault> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the backend reported a fault it cannot recover from.
    pub fn unrecoverable(&self) -> bool {
        self.unrecoverable.load(Ordering::Acquire)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
