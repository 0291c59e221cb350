//! # provlog-client
//!
//! The async HTTP client over [`provlog_core`]: a client for a provlog log
//! ([`http`]) and for a C2SP tlog-witness ([`witness`]). Verification lives
//! in the core; this crate only moves bytes, with bounded reads
//! ([`bounded::read_limited`]: every response body is limited while it
//! streams, with a limit per endpoint in [`limits`]) and errors that name
//! their cause ([`cause`]).

pub mod bounded;
pub mod cause;
pub mod http;
pub mod limits;
pub mod witness;
