//! # provlog-core
//!
//! The provlog protocol core: everything a verifier needs and nothing a
//! server needs. It does no I/O: no async runtime, HTTP, CLI or storage
//! crate is in its dependency tree, so it can be embedded anywhere. It holds the byte-exact formats (RFC 6962 hashing, C2SP
//! tlog-tiles, signed-note, tlog-checkpoint, cosignature/v1, tlog-proof,
//! tlog-policy), the provenance claim and its COSE_Sign1 envelope, the
//! receipt, and the verification of all of them.
//!
//! Module map:
//! - [`cbor`]: the one strict CBOR reader and deterministic writer.
//! - [`hash`]: RFC 6962 leaf and node hashing.
//! - [`tree`]: tree hashes from stored nodes, the compact range used for
//!   appending, and inclusion/consistency proof *generation*.
//! - [`proof`]: inclusion and consistency proof *verification* (RFC 9162).
//! - [`tiles`]: C2SP tlog-tiles coordinates, paths, hash tiles and entry bundles.
//! - [`tile_builder`]: the one tile builder (appends, produces hash tiles
//!   and bundles to store) used by the sequencer, monitor and `check`.
//! - [`note`]: C2SP signed-note signing/verification, keys, cosignature/v1.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies, with provlog's timestamp line.
//! - [`policy`]: trust policy (log keys, witnesses, groups, quorum).
//! - [`claim`]: the provenance claim (schema v1 and v2) in deterministic CBOR.
//! - [`asset_match`]: whether a file is a claim's asset (file hash, or the
//!   C2PA hard binding of an updated manifest store).
//! - [`signed_claim`]: the claim signed as a COSE_Sign1 (the log entry, a
//!   SCITT signed statement), with Ed25519 or ML-DSA-44.
//! - [`ed25519_zip215`]: Ed25519 under ZIP-215, single and batch (the
//!   claim-signature rule).
//! - [`mldsa`]: ML-DSA-44 (FIPS 204) keys and signatures.
//! - [`cose`]: COSE algorithms, `Sig_structure`, COSE_Key and thumbprints.
//! - [`scitt`]: RFC 9942 COSE receipts and SCITT transparent statements.
//! - [`receipt`]: the receipt (CBOR bundle and C2SP tlog-proof text) and its
//!   offline verification.
//! - [`witness`]: C2SP tlog-witness add-checkpoint formats and client.
//! - [`index`]: the verifiable index (prefix tree, index-commit and
//!   vendor-key entries, lookup proofs, recomputation, index evidence).
//! - [`log_list`]: log lists (temporal shards: one log per period).
//! - [`evidence`]: evidence bundles (contradictory checkpoints) and their
//!   offline verification.

pub mod asset_match;
pub mod cbor;
pub mod checkpoint;
pub mod claim;
pub mod cose;
pub mod ed25519_zip215;
pub mod evidence;
pub mod hash;
pub mod index;
pub mod log_list;
pub mod mldsa;
pub mod note;
pub mod policy;
pub mod proof;
pub mod receipt;
pub mod scitt;
pub mod signed_claim;
pub mod tile_builder;
pub mod tiles;
pub mod tree;
pub mod witness;
