#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// COSE_Sign1 signed claims (the log entry): structure, kid, claim, signature.
fuzz_target!(|data: &[u8]| {
    if let Ok(sc) = SignedClaim::from_bytes(data) {
        assert_eq!(sc.to_bytes(), data, "the entry is kept byte for byte");
        let _ = sc.verify_signature();
        let _ = sc.signed_message();
        let again = SignedClaim::from_bytes(sc.to_bytes()).expect("re-parse");
        assert_eq!(again.claim(), sc.claim());
    }
});
