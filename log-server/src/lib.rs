//! provlog-server: the log's admission, sequencer, publisher, storage and
//! HTTP API.
//!
//! - [`config`]: defaults, TOML file and flags.
//! - [`keys`]: the log key file and the accepted vendor keys.
//! - [`storage`]: the storage seam ([`storage::LogStorage`],
//!   [`storage::IndexStorage`]) and its commit protocol (stage, swap the
//!   checkpoint, settle), with each method's durability contract.
//! - [`store`]: the fjall backend (one atomic, fsync'd batch per commit; the
//!   high-water mark).
//! - [`s3`]: the S3 backend (tiles at their tlog-tiles paths, a
//!   compare-and-swap checkpoint, a staging object per batch);
//!   [`local_index`]: its derived indexes in a local fjall;
//!   [`backend`]: `--storage` selection and `reindex`.
//! - [`memory`]: an object-store-shaped memory backend with fault injection,
//!   for tests.
//! - [`appender`]: admission (rate limits with refunds, pool reservation,
//!   hand-off to the sequencer, ordered shutdown), with typed errors.
//! - [`sequencer`]: the single writer; [`sequencer::Sequencer::commit`]
//!   sequences one batch, [`sequencer::Sequencer::run`] loops over it.
//! - [`publisher`]: the committed and published checkpoints, and witness
//!   rounds off the sequencer thread.
//! - [`witnessing`]: one witness (target, caller, one add-checkpoint
//!   exchange with the 409 retry).
//! - [`api`]: the HTTP endpoints (parse, call, map typed errors).
//! - [`problem`]: RFC 9457 error bodies, and the layer that makes every
//!   error one.
//! - [`scrapi`]: SCITT SCRAPI (`/entries`, `/.well-known/scitt-keys`) with
//!   RFC 9942 COSE receipts.
//! - [`bundle_gzip`]: gzip and the `Accept-Encoding` test for bundles.
//! - [`tile_cache`]: full tiles and bundles (raw and gzip) kept in memory.
//! - [`ratelimit`]: per-key token buckets.
//! - [`metrics`]: Prometheus metrics.
//! - [`node_cache`]: cached node trees of full tiles, for fast proofs.
//! - [`audit`]: the full offline audit behind `provlog-server check`.
//! - [`binding_index`]: C2PA hard/soft-binding and perceptual-hash indexes.
//! - [`near_index`]: multi-index hashing for Hamming-distance search.
//! - [`sbr`]: the C2PA Soft Binding Resolution API and hard-binding lookup.
//! - [`verify`]: admission-time parsing (vendor-key cache) and batched
//!   ZIP-215 signature checks off the reactor.
//! - [`web`]: the verifier page at `/` and `GET /v1/log`.
//! - [`vindex`]: the verifiable index the sequencer commits to (index-commit entries).
//! - [`vendor_keys`]: the operator's accepted-keys file issued as vendor-key entries.
//! - [`frontend`]: stateless verifying frontends and the sequencer's
//!   signed channel for them (`--frontend-keys`).
//! - [`lookup_api`]: `GET /v1/lookup` lookup proofs.

pub mod api;
pub mod appender;
pub mod audit;
pub mod backend;
pub mod binding_index;
pub mod bundle_gzip;
pub mod config;
pub mod dedup_filter;
pub mod frontend;
pub mod keys;
pub mod local_index;
pub mod lookup_api;
pub mod memory;
pub mod metrics;
pub mod near_index;
pub mod node_cache;
pub mod problem;
pub mod publisher;
pub mod ratelimit;
pub mod s3;
pub mod sbr;
pub mod scrapi;
pub mod sequencer;
pub mod storage;
pub mod storage_health;
pub mod store;
pub mod tile_cache;
pub mod vendor_keys;
pub mod verify;
pub mod vindex;
pub mod web;
pub mod witnessing;
