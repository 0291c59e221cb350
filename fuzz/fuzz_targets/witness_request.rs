#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_core::witness::{AddCheckpointRequest, parse_cosignature_response, parse_size_body};

// C2SP tlog-witness bodies: the add-checkpoint request a witness receives
// from anyone, and the two answers a log parses from a witness.
fuzz_target!(|data: &[u8]| {
    if let Ok(req) = AddCheckpointRequest::parse(data) {
        let again = AddCheckpointRequest::parse(&req.to_bytes()).expect("re-parse request");
        assert_eq!(again.to_bytes(), req.to_bytes());
    }
    let _ = parse_cosignature_response(data);
    let _ = parse_size_body(data);
});
