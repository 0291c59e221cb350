#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_core::evidence::{Evidence, verify_evidence};
use provlog_fuzz::prelude::key;

// Evidence bundles come from gossip peers and from files anyone can hand a
// verifier: parse, verify, and re-encode what parses.
fuzz_target!(|data: &[u8]| {
    let _ = verify_evidence(data, &key());
    if let Ok(e) = Evidence::from_json(data) {
        let again = Evidence::from_json(&e.to_json()).expect("re-parse evidence");
        assert_eq!(again.to_json(), e.to_json());
    }
});
