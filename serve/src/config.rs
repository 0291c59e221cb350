//! Connection limits: defaults, the TOML `[connections]` table, and flags.

use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// Default [`ConnLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default [`ConnLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ConnLimits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ConnLimits::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What one server allows its clients' connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Most connections open at once. At the cap, a new connection takes
    /// the place of the oldest one that has no request in progress (idle,
    /// or still sending its headers); if every connection is busy it gets
    /// `503` (problem+json, `Retry-After: 1`) and is closed.
    pub max_connections: usize,
    /// A new connection must deliver its first request's headers within
    /// this, or it is closed.
    pub header_read_timeout: Duration,
    /// A connection with no request in progress is closed after this (a
    /// keep-alive connection between requests, or one sending a later
    /// request's headers).
    pub idle_timeout: Duration,
    /// A request's body must have arrived in full within this from the
    /// moment its headers did; after it the body read fails (the handler
    /// answers 4xx) so a slow sender cannot keep a connection busy.
    pub body_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// The connection flags, for `#[command(flatten)]` in a server's CLI.
#[derive(Args, Debug, Default, Clone)]
pub struct ConnArgs {
    /// Most client connections open at once (default 512); beyond it the
    /// oldest idle connection is closed, or the new one gets 503.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Milliseconds a new connection has to send its request headers (default 10000).
    #[arg(long)]
    pub header_read_timeout_ms: Option<u64>,
    /// Milliseconds a connection may stay open with no request in progress (default 60000).
    #[arg(long)]
    pub idle_timeout_ms: Option<u64>,
    /// Milliseconds a request body has to arrive in full (default 30000).
    #[arg(long)]
    pub body_timeout_ms: Option<u64>,
}

/// The `[connections]` table of a server's TOML config (same names as the flags).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConnFile {
    /// See [`ConnArgs::max_connections`].
    pub max_connections: Option<usize>,
    /// See [`ConnArgs::header_read_timeout_ms`].
    pub header_read_timeout_ms: Option<u64>,
    /// See [`ConnArgs::idle_timeout_ms`].
    pub idle_timeout_ms: Option<u64>,
    /// See [`ConnArgs::body_timeout_ms`].
    pub body_timeout_ms: Option<u64>,
}

impl ConnLimits {
    /// Flags over the file's `[connections]` table over the defaults;
    /// refuses a zero cap or timeout (each would refuse every client).
    pub fn resolve(args: &ConnArgs, file: Option<&ConnFile>) -> Result<ConnLimits, String> {
        let file = file.cloned().unwrap_or_default();
        let ms = |flag: Option<u64>, key: Option<u64>, default: Duration, name: &str| match flag
            .or(key)
        {
            None => Ok(default),
            Some(0) => Err(format!("{name} must be at least 1")),
            Some(n) => Ok(Duration::from_millis(n)),
        };
        let max_connections = args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        Ok(ConnLimits {
            max_connections,
            header_read_timeout: ms(
                args.header_read_timeout_ms,
                file.header_read_timeout_ms,
                DEFAULT_HEADER_READ_TIMEOUT,
                "header_read_timeout_ms",
            )?,
            idle_timeout: ms(
                args.idle_timeout_ms,
                file.idle_timeout_ms,
                DEFAULT_IDLE_TIMEOUT,
                "idle_timeout_ms",
            )?,
            body_timeout: ms(
                args.body_timeout_ms,
                file.body_timeout_ms,
                DEFAULT_BODY_TIMEOUT,
                "body_timeout_ms",
            )?,
        })
    }
}

/// The soft limit on open files of this process, from `/proc/self/limits`
/// (Linux; `None` elsewhere or if unreadable).
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let file: ConnFile = serde_json::from_str(
            r#"{"max_connections": 10, "idle_timeout_ms": 500, "body_timeout_ms": 700}"#,
        )
        .unwrap();
        let args = ConnArgs {
            max_connections: Some(20),
            header_read_timeout_ms: Some(300),
            ..Default::default()
        };
        let l = ConnLimits::resolve(&args, Some(&file)).unwrap();
        assert_eq!(l.max_connections, 20);
        assert_eq!(l.header_read_timeout, Duration::from_millis(300));
        assert_eq!(l.idle_timeout, Duration::from_millis(500));
        assert_eq!(l.body_timeout, Duration::from_millis(700));
        assert_eq!(
            ConnLimits::resolve(&ConnArgs::default(), None).unwrap(),
            ConnLimits::default()
        );
        for bad in [
            ConnArgs {
                max_connections: Some(0),
                ..Default::default()
            },
            ConnArgs {
                idle_timeout_ms: Some(0),
                ..Default::default()
            },
        ] {
            assert!(ConnLimits::resolve(&bad, None).is_err());
        }
        assert!(serde_json::from_str::<ConnFile>(r#"{"max_conections": 1}"#).is_err());
    }
}
