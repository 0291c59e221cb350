//! # provlog-client
//!
//! The provlog protocol crate: everything a verifier needs and nothing a
//! server needs. It holds the byte-exact formats (RFC 6962 hashing, C2SP
//! tlog-tiles, signed-note, tlog-checkpoint, cosignature/v1, tlog-proof,
//! tlog-policy), the provenance claim and its COSE_Sign1 envelope, the
//! receipt, and the verification of all of them.
//!
//! Module map:
//! - [`hash`]: RFC 6962 leaf and node hashing.
//! - [`tree`]: tree hashes from stored nodes, the compact range used for
//!   appending, and inclusion/consistency proof *generation*.
//! - [`proof`]: inclusion and consistency proof *verification* (RFC 9162).
//! - [`tiles`]: C2SP tlog-tiles coordinates, paths, hash tiles and entry bundles.
//! - [`note`]: C2SP signed-note signing/verification, keys, cosignature/v1.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies, with provlog's timestamp line.
//! - [`policy`]: trust policy (log keys, witnesses, groups, quorum).
//! - [`claim`]: the provenance claim (schema v1) in deterministic CBOR.
//! - [`signed_claim`]: the claim signed as a COSE_Sign1 (the log entry).
//! - [`receipt`]: the receipt (CBOR bundle and C2SP tlog-proof text) and its
//!   offline verification.
//! - [`witness`]: C2SP tlog-witness add-checkpoint formats and client.
//! - [`evidence`]: evidence bundles (contradictory checkpoints) and their
//!   offline verification.
//! - `http` (feature `http`): an async client for a provlog log.

pub mod checkpoint;
pub mod claim;
pub mod evidence;
pub mod hash;
#[cfg(feature = "http")]
pub mod http;
pub mod note;
pub mod policy;
pub mod proof;
pub mod receipt;
pub mod signed_claim;
pub mod tiles;
pub mod tree;
pub mod witness;
