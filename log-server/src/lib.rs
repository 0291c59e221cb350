//! provlog-server: the log's sequencer, fjall storage and HTTP API.
//!
//! - [`config`]: defaults, TOML file and flags.
//! - [`keys`]: the log key file and the accepted vendor keys.
//! - [`store`]: fjall keyspaces and the atomic, fsync'd commit.
//! - [`sequencer`]: the single writer that batches, commits and issues receipts.
//! - [`api`]: the HTTP endpoints.
//! - [`problem`]: RFC 9457 error bodies.
//! - [`ratelimit`]: per-key token buckets.
//! - [`metrics`]: Prometheus metrics.
//! - [`node_cache`]: cached node trees of full tiles, for fast proofs.
//! - [`witnessing`]: asking tlog-witnesses to cosign each checkpoint.
//! - [`audit`]: the full offline audit behind `provlog-server check`.
//! - [`binding_index`]: C2PA hard/soft-binding and perceptual-hash indexes.
//! - [`near_index`]: multi-index hashing for Hamming-distance search.
//! - [`sbr`]: the C2PA Soft Binding Resolution API and hard-binding lookup.
//! - [`web`]: the verifier page at `/` and `GET /v1/log`.

pub mod api;
pub mod audit;
pub mod binding_index;
pub mod config;
pub mod keys;
pub mod metrics;
pub mod near_index;
pub mod node_cache;
pub mod problem;
pub mod ratelimit;
pub mod sbr;
pub mod sequencer;
pub mod store;
pub mod web;
pub mod witnessing;
