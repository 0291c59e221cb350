//! # provlog-client
//!
//! The async HTTP client over [`provlog_core`]: a client for a provlog log
//! ([`http`]) and for a C2SP tlog-witness ([`witness`]). Verification lives
//! in the core; this crate only moves bytes, with bounded reads
//! ([`bounded::read_limited`]: every response body is limited while it
//! streams).

pub mod bounded;
pub mod http;
pub mod witness;
