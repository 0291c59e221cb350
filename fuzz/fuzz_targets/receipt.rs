#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// Receipts: the CBOR bundle and the C2SP tlog-proof text, then offline verification.
fuzz_target!(|data: &[u8]| {
    let policy = Policy::single_log(key());
    if let Ok(r) = Receipt::from_cbor(data) {
        let _ = r.verify(&policy);
        let again = Receipt::from_cbor(&r.to_cbor()).expect("re-parse cbor");
        assert_eq!(again, r);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(r) = Receipt::from_tlog_proof(text) {
            let _ = r.verify(&policy);
            let again = Receipt::from_tlog_proof(&r.to_tlog_proof()).expect("re-parse text");
            assert_eq!(again, r);
        }
    }
});
