#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// Claim CBOR: strict deterministic decoding; anything accepted round-trips.
fuzz_target!(|data: &[u8]| {
    if let Ok(claim) = Claim::from_cbor(data) {
        assert_eq!(
            claim.to_cbor(),
            data,
            "an accepted claim re-encodes to the same bytes"
        );
    }
});
