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
