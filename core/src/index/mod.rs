//! The verifiable index: lookups that are proofs, not promises
//! (normative text: `spec/lookup.md`).
//!
//! The log commits, after every batch, to a **prefix tree** (a binary
//! Merkle trie over 256-bit hashed keys, each leaf at the shallowest depth
//! where it is alone in its subtree) whose leaves commit to the append-only
//! list of entry indexes that carry the key. The commitment is an ordinary
//! log entry (an *index-commit*), so checkpoints, witnesses and gossip cover
//! the index with no new trust. A lookup proof shows, for one key, either
//! every entry index (complete as of the commit) or that there is none.
//!
//! Module map:
//! - [`key`]: what is indexed (asset hash, C2PA hard binding, soft binding,
//!   vendor key, per-vendor sequence bucket, vendor-key status) and the key
//!   hash; the map function from a log entry to its keys.
//! - [`hashing`]: the domain-separated hashes of the prefix tree and of the
//!   per-key index lists.
//! - [`list`]: the per-key list commitment (an RFC 6962-shaped tree of the
//!   indexes) and its incremental state.
//! - [`store`]: the storage-agnostic node store trait and the in-memory
//!   arena store.
//! - [`tree`]: the prefix tree: batched incremental update, root, proofs.
//! - [`entry`]: the log entries the index adds: index-commit and vendor-key
//!   events (CBOR tag [`entry::PROVLOG_TAG`]), and entry classification.
//! - [`proof`]: the lookup proof bundle (deterministic CBOR) and its offline
//!   verification.
//! - [`acceptance`]: whether a vendor key was accepted at a claim's index.
//! - [`recompute`]: a monitor's recomputation of the index from the entries,
//!   checking every index-commit.
//! - [`evidence`]: evidence that an index-commit is wrong, verifiable offline
//!   with the log's key alone.
//! - [`stream`]: the root and one key's proof from a *sorted* key set in one
//!   pass with O(depth) memory (for measuring proofs at 10^8 keys and for
//!   rebuilding an index from scratch).

pub mod acceptance;
pub mod entry;
pub mod evidence;
pub mod hashing;
pub mod key;
pub mod list;
pub mod proof;
pub mod recompute;
pub mod store;
pub mod stream;
pub mod tree;

pub use key::{IndexKey, KeyHash};
