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

// Claim CBOR: strict deterministic decoding; anything accepted round-trips.
fuzz_target!(|data: &[u8]| {
    if let Ok(claim) = Claim::from_cbor(data) {
        assert_eq!(
            claim.to_cbor(),
            data,
            "an accepted claim re-encodes to the same bytes"
        );
    }
});
