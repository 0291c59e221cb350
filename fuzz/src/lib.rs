//! Shared items for the fuzz targets in `fuzz_targets/`.

/// What most targets use: the parsers under test and the vector log key.
pub mod prelude {
    pub use provlog_core::{
        checkpoint::{Checkpoint, verify_checkpoint, verify_checkpoint_keys},
        claim::Claim,
        note::{Note, VerifierKey},
        policy::Policy,
        proof::{verify_consistency, verify_inclusion},
        receipt::Receipt,
        scitt::{CoseReceipt, TransparentStatement},
        signed_claim::SignedClaim,
        tiles::{Tile, decode_bundle, encode_bundle},
    };

    /// The vector log's Ed25519 and ML-DSA-44 keys (COSE receipts and
    /// 2026-form checkpoints verify against them).
    pub fn scitt_keys() -> [VerifierKey; 2] {
        [
            key(),
            VerifierKey::parse(include_str!("../../spec/vectors/keys/log-mldsa.vkey").trim())
                .expect("vector key"),
        ]
    }

    /// The vector statement the SCITT receipts are for.
    pub fn statement() -> &'static [u8] {
        include_bytes!("../../spec/vectors/scitt/statement-1.mldsa.cose")
    }

    /// The vector policy demanding both log algorithms and the ML-DSA-44 witness.
    pub fn pq_policy() -> Policy {
        Policy::parse(include_str!("../../spec/vectors/policy-mldsa.txt")).expect("policy")
    }

    /// The spec's test-vector log key (checkpoints and receipts verify against it).
    pub fn key() -> VerifierKey {
        VerifierKey::parse(include_str!("../../spec/vectors/keys/log.vkey").trim())
            .expect("vector key")
    }
}
