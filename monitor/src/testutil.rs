//! Helpers for the in-process tests.
#![allow(clippy::unwrap_used)]

use provlog_core::note::{MlDsa44NoteSigner, NoteSigner};

use crate::config::Config;
use crate::monitor::Monitor;
use crate::store::Store;
use crate::witness::WitnessKeys;

/// A monitor following one log `origin` (unreachable URL, no alerts on
/// stdout), with `extra` top-level config lines, on a temporary data dir.
pub fn monitor(origin: &str, extra: &str) -> (tempfile::TempDir, NoteSigner, Monitor) {
    monitor_with(origin, extra, false)
}

/// As [`monitor`], the witness also cosigning with an ML-DSA-44 key when
/// `ml_dsa` is set.
pub fn monitor_with(
    origin: &str,
    extra: &str,
    ml_dsa: bool,
) -> (tempfile::TempDir, NoteSigner, Monitor) {
    let dir = tempfile::tempdir().unwrap();
    let log = NoteSigner::generate(origin).unwrap();
    let cfg = Config::parse(&format!(
        "{extra}\n[[log]]\nurl = \"http://127.0.0.1:9\"\nvkey = \"{}\"\n[alerts]\nstdout = false\n",
        log.verifier_key()
    ))
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    let keys = WitnessKeys {
        cosigner: NoteSigner::generate_cosigner("w.example").unwrap(),
        ml_dsa_44: ml_dsa.then(|| MlDsa44NoteSigner::generate("w.example").unwrap()),
    };
    let mon = Monitor::new(cfg, store, keys).unwrap();
    (dir, log, mon)
}
