#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_core::index::entry::{IndexCommit, LogEntry, VendorKeyEvent};
use provlog_core::index::key::{IndexKey, entry_keys};
use provlog_fuzz::prelude::key;

// Log entries reach every monitor and verifier: classify them, parse the
// index's own entry kinds and key material; accepted input re-encodes.
fuzz_target!(|data: &[u8]| {
    let _ = LogEntry::classify(data);
    let _ = entry_keys(data);
    if let Ok(c) = IndexCommit::from_bytes(data) {
        assert_eq!(c.to_bytes(), data);
    }
    if let Ok(v) = VendorKeyEvent::from_bytes(data) {
        assert_eq!(v.to_bytes(), data);
        let _ = v.verify(&key());
    }
    if let Ok(k) = IndexKey::from_material(data) {
        assert_eq!(k.material(), data);
    }
});
