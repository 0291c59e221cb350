#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// C2SP tlog-checkpoint bodies and signed checkpoints.
fuzz_target!(|data: &[u8]| {
    let _ = verify_checkpoint(data, &key());
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse(text) {
            let again = Checkpoint::parse(&cp.to_text()).expect("re-parse");
            assert_eq!(again, cp);
            let _ = cp.timestamp_ms();
        }
    }
});
