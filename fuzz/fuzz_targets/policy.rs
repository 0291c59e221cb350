#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// Trust policies (tlog-policy style).
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = Policy::parse(text) {
            let again = Policy::parse(&p.to_text()).expect("a parsed policy re-parses");
            assert_eq!(again.to_text(), p.to_text());
            let _ = p.verify_checkpoint(data);
        }
    }
});
