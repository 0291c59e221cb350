#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// Checkpoints under the 2026 rules: Ed25519 + the log's timestamp
// cosignature + ML-DSA-44 (subtree/v1) signatures, verified with each key
// alone, both, and under the ML-DSA-44 policy; also ML-DSA-44 vkeys.
fuzz_target!(|data: &[u8]| {
    let keys = scitt_keys();
    let _ = verify_checkpoint_keys(data, &keys);
    let _ = verify_checkpoint_keys(data, &keys[1..]);
    let _ = verify_checkpoint(data, &keys[0]);
    let _ = pq_policy().verify_checkpoint(data);
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(k) = VerifierKey::parse(s)
    {
        assert_eq!(VerifierKey::parse(&k.to_vkey()).expect("re-parse"), k);
    }
});
