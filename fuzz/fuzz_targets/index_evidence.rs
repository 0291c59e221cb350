#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_core::evidence::verify_any_evidence;
use provlog_core::index::evidence::{IndexEvidence, verify_index_evidence};
use provlog_fuzz::prelude::key;

// Index evidence comes from gossip peers and from files: parse, verify,
// and re-encode what parses.
fuzz_target!(|data: &[u8]| {
    let _ = verify_index_evidence(data, &key());
    let _ = verify_any_evidence(data, &key());
    if let Ok(e) = IndexEvidence::from_json(data) {
        let again = IndexEvidence::from_json(&e.to_json()).expect("re-parse index evidence");
        assert_eq!(again.to_json(), e.to_json());
    }
});
