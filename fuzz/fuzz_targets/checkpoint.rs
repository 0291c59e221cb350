#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
#[allow(unused_imports)]
use provlog_client::{
    checkpoint::{Checkpoint, verify_checkpoint},
    claim::Claim,
    note::{Note, VerifierKey},
    policy::Policy,
    proof::{verify_consistency, verify_inclusion},
    receipt::Receipt,
    signed_claim::SignedClaim,
    tiles::{Tile, decode_bundle, encode_bundle},
};

/// The spec's test-vector log key (checkpoints and receipts verify against it).
#[allow(dead_code)]
fn key() -> VerifierKey {
    VerifierKey::parse(include_str!("../../spec/vectors/keys/log.vkey").trim()).expect("vector key")
}

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
