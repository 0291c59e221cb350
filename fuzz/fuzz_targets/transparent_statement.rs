#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// SCITT transparent statements: strict decode (statement + receipts in
// header 394), then verification against the vector log keys.
fuzz_target!(|data: &[u8]| {
    if let Ok(t) = TransparentStatement::from_bytes(data) {
        assert_eq!(t.to_bytes(), data, "decoded statements are canonical");
        let _ = t.verify(&scitt_keys());
        let again = TransparentStatement::new(t.statement(), t.receipts()).expect("rebuild");
        assert_eq!(again, t);
    }
});
