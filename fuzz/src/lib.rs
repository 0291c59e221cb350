//! Shared items for the fuzz targets in `fuzz_targets/`.

/// What most targets use: the parsers under test and the vector log key.
pub mod prelude {
    pub use provlog_core::{
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
    pub fn key() -> VerifierKey {
        VerifierKey::parse(include_str!("../../spec/vectors/keys/log.vkey").trim())
            .expect("vector key")
    }
}
