#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_core::index::proof::{LookupProof, verify_lookup};
use provlog_fuzz::prelude::{Policy, key};

// Lookup proof bundles come from the log's API and from saved files:
// parse, verify, and re-encode what parses.
fuzz_target!(|data: &[u8]| {
    let policy = Policy::single_log(key());
    let _ = verify_lookup(data, &policy, None);
    if let Ok(p) = LookupProof::from_cbor(data) {
        assert_eq!(p.to_cbor(), data, "an accepted bundle re-encodes byte for byte");
        let _ = p.verify_index(&policy);
    }
});
