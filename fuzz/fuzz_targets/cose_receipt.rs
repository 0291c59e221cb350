#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// RFC 9942 COSE receipts: strict decode, then verification against the
// vector log's Ed25519 and ML-DSA-44 keys for the vector statement.
fuzz_target!(|data: &[u8]| {
    if let Ok(r) = CoseReceipt::from_bytes(data) {
        assert_eq!(r.to_bytes(), data, "decoded receipts are canonical");
        let _ = r.verify(statement(), &scitt_keys());
        let again = CoseReceipt::from_bytes(r.to_bytes()).expect("re-parse");
        assert_eq!(again, r);
    }
});
