//! # provlog-client
//!
//! The async HTTP client over [`provlog_core`]: a client for a provlog log
//! ([`http`]) and for a C2SP tlog-witness ([`witness`]). Verification lives
//! in the core; this crate only moves bytes, with bounded reads.

pub mod http;
pub mod witness;
