//! Server configuration: defaults, overridden by a TOML file, overridden by flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// Default data directory.
pub const DEFAULT_DATA: &str = "./provlog-data";
/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7300";

/// The URL a log bound to `addr` is reached at when no `--public-url` is
/// given: `http://IP:PORT` (`http://[IPV6]:PORT`), or, for an unspecified
/// address (`0.0.0.0`, `::`), `http://HOSTNAME:PORT` with the machine's
/// host name (see [`host_name`]).
pub fn url_for_listen(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://{}:{}", host_name(), addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// The machine's host name (Linux: `/proc/sys/kernel/hostname`, else
/// `/etc/hostname`), if it is a usable URL host; else `localhost`.
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .find(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .unwrap_or_else(|| "localhost".into())
}

/// The origin tlog-tiles recommends for a log at `url`: the URL without its
/// scheme and trailing slash (`https://log.example/a/` -> `log.example/a`).
pub fn origin_from_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("--public-url {url:?}: must start with http:// or https://"))?;
    let origin = rest.trim_end_matches('/');
    if origin.is_empty() || origin.contains(char::is_whitespace) || origin.contains(['?', '#']) {
        return Err(format!(
            "--public-url {url:?}: needs a host, and no spaces, query or fragment"
        ));
    }
    Ok(origin.to_string())
}

/// Flags of `provlog-server` (every one may also be set in the TOML file).
#[derive(Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// TOML config file; flags override its values.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (fjall database and log key).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Log origin (checkpoint first line); used when the key is first created.
    /// Default: the public URL without its scheme (as tlog-tiles
    /// recommends); without `--public-url`, the URL derived from the bound
    /// listen address (`127.0.0.1:7300`). Stored in the key: a log keeps
    /// its origin forever.
    #[arg(long)]
    pub origin: Option<String>,
    /// The URL clients reach this log at (e.g. `https://log.example/v1`);
    /// the default origin, and what the start-up line tells clients to use.
    /// Default: `http://` and the bound listen address (an unspecified
    /// address such as 0.0.0.0: the machine's host name and the port).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Commit the pool at least this often, in milliseconds.
    #[arg(long)]
    pub batch_interval_ms: Option<u64>,
    /// Commit as soon as this many claims are pooled.
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Most claims that may wait for sequencing; beyond it submissions get 503.
    #[arg(long)]
    pub pool_size: Option<usize>,
    /// Most bytes in a `POST /v1/claims/batch` body.
    #[arg(long)]
    pub max_batch_body: Option<usize>,
    /// Most claims in one `POST /v1/claims/batch` request.
    #[arg(long)]
    pub max_batch_claims: Option<usize>,
    /// File of accepted vendor vkeys, one per line; without it any valid
    /// signature is accepted. With --verifiable-index the file is recorded
    /// in the log at start (vendor-key entries: add / revoke the
    /// differences), so acceptance is provable.
    #[arg(long)]
    pub accept_keys: Option<PathBuf>,
    /// Accept signed batches from stateless frontends
    /// (`provlog-server frontend`) at `/internal/v1/forward`: FILE lists
    /// the trusted frontends' Ed25519 vkeys, one per line
    /// (spec/frontend.md). Without it the endpoint does not exist.
    #[arg(long)]
    pub frontend_keys: Option<PathBuf>,
    /// Per-vendor-key rate limit in claims per second (0 = no limit).
    #[arg(long)]
    pub rate_limit: Option<f64>,
    /// Per-vendor-key burst allowance, in claims.
    #[arg(long)]
    pub rate_burst: Option<f64>,
    /// Re-sign the checkpoint with a fresh timestamp after this many seconds
    /// without new entries, so an idle log can be told from a frozen one.
    #[arg(long)]
    pub checkpoint_refresh_secs: Option<u64>,
    /// A witness to ask for cosignatures, as `VKEY=URL` (repeatable): a
    /// cosignature/v1 or ML-DSA-44 witness vkey; the keys given with one
    /// URL are one witness (asked once, each key's cosignature counted).
    #[arg(long = "witness", value_name = "VKEY=URL")]
    pub witness: Vec<String>,
    /// Cosignatures each checkpoint should get (a warning below it; default: all).
    #[arg(long)]
    pub witness_quorum: Option<usize>,
    /// Timeout of one add-checkpoint call, in milliseconds (default 3000).
    #[arg(long)]
    pub witness_timeout_ms: Option<u64>,
    /// Keep the verifiable index: every batch ends with an index-commit
    /// entry and `GET /v1/lookup` serves lookup proofs (spec/lookup.md).
    #[arg(long)]
    pub verifiable_index: bool,
    /// TEST ONLY: leave the first key of entry N out of the index (a lying
    /// log, for the end-to-end test that a monitor catches it).
    #[arg(long, hide = true, value_name = "N")]
    pub unsafe_test_index_omit: Option<u64>,
    /// Connection limits (also the `[connections]` table of the file).
    #[command(flatten)]
    pub conn: provlog_serve::ConnArgs,
}

/// The same settings as they may appear in the TOML file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    origin: Option<String>,
    public_url: Option<String>,
    batch_interval_ms: Option<u64>,
    max_batch: Option<usize>,
    pool_size: Option<usize>,
    max_batch_body: Option<usize>,
    max_batch_claims: Option<usize>,
    accept_keys: Option<PathBuf>,
    rate_limit: Option<f64>,
    rate_burst: Option<f64>,
    checkpoint_refresh_secs: Option<u64>,
    witness: Option<Vec<String>>,
    witness_quorum: Option<usize>,
    witness_timeout_ms: Option<u64>,
    connections: Option<provlog_serve::ConnFile>,
}

/// Resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Origin for a new log, if given (`--origin`, else the public URL
    /// without its scheme); `None`: derived from the bound address
    /// ([`Config::new_log_origin`]).
    pub origin: Option<String>,
    /// The URL clients reach the log at, if configured.
    pub public_url: Option<String>,
    /// Longest time a claim waits in the pool.
    pub batch_interval: Duration,
    /// Pool size that triggers an immediate commit.
    pub max_batch: usize,
    /// Most claims waiting in the pool.
    pub pool_size: usize,
    /// Body limit for batch submissions.
    pub max_batch_body: usize,
    /// Claim count limit for batch submissions.
    pub max_batch_claims: usize,
    /// Accepted-keys file.
    pub accept_keys: Option<PathBuf>,
    /// Claims per second per key (0 = unlimited).
    pub rate_limit: f64,
    /// Burst per key.
    pub rate_burst: f64,
    /// Idle checkpoint refresh period.
    pub checkpoint_refresh: Duration,
    /// Witnesses asked to cosign each checkpoint.
    pub witnesses: Vec<crate::witnessing::WitnessTarget>,
    /// Cosignatures wanted per checkpoint.
    pub witness_quorum: usize,
    /// Timeout of one add-checkpoint call.
    pub witness_timeout: Duration,
    /// Connection cap and timeouts.
    pub conn: provlog_serve::ConnLimits,
}

/// Errors loading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl Config {
    /// The URL clients reach the log at: `--public-url`, else derived from
    /// `bound`, the address actually listened on ([`url_for_listen`]).
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| url_for_listen(bound))
    }

    /// The origin a log created now gets, and whether it was derived from
    /// `bound` (no `--origin`, no `--public-url`): the derived public URL
    /// without its scheme, e.g. `127.0.0.1:7300`, so two logs on one
    /// machine never share a default origin.
    pub fn new_log_origin(&self, bound: SocketAddr) -> Result<(String, bool), ConfigError> {
        match &self.origin {
            Some(o) => Ok((o.clone(), false)),
            None => origin_from_url(&url_for_listen(bound))
                .map(|o| (o, true))
                .map_err(ConfigError::Invalid),
        }
    }

    /// Resolves flags over the optional TOML file over the defaults.
    pub fn resolve(args: &RunArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let public_url = args.public_url.clone().or(file.public_url.clone());
        let cfg = Config {
            data: args
                .data
                .clone()
                .or(file.data)
                .unwrap_or_else(|| DEFAULT_DATA.into()),
            listen: args.listen.or(file.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7300)))
            }),
            origin: match args.origin.clone().or(file.origin) {
                Some(o) => Some(o),
                None => match &public_url {
                    Some(u) => Some(origin_from_url(u).map_err(ConfigError::Invalid)?),
                    None => None,
                },
            },
            public_url: public_url.clone(),
            batch_interval: Duration::from_millis(
                args.batch_interval_ms
                    .or(file.batch_interval_ms)
                    .unwrap_or(100),
            ),
            max_batch: args.max_batch.or(file.max_batch).unwrap_or(4096),
            pool_size: args.pool_size.or(file.pool_size).unwrap_or(65_536),
            max_batch_body: args
                .max_batch_body
                .or(file.max_batch_body)
                .unwrap_or(8 << 20),
            max_batch_claims: args
                .max_batch_claims
                .or(file.max_batch_claims)
                .unwrap_or(1024),
            accept_keys: args.accept_keys.clone().or(file.accept_keys),
            rate_limit: args.rate_limit.or(file.rate_limit).unwrap_or(0.0),
            rate_burst: args.rate_burst.or(file.rate_burst).unwrap_or(0.0),
            checkpoint_refresh: Duration::from_secs(
                args.checkpoint_refresh_secs
                    .or(file.checkpoint_refresh_secs)
                    .unwrap_or(10),
            ),
            witnesses: Vec::new(),
            witness_quorum: 0,
            witness_timeout: Duration::from_millis(
                args.witness_timeout_ms
                    .or(file.witness_timeout_ms)
                    .unwrap_or(3000),
            ),
            conn: provlog_serve::ConnLimits::resolve(&args.conn, file.connections.as_ref())
                .map_err(ConfigError::Invalid)?,
        };
        let mut cfg = cfg;
        let specs = if args.witness.is_empty() {
            file.witness.unwrap_or_default()
        } else {
            args.witness.clone()
        };
        for spec in &specs {
            cfg.witnesses
                .push(crate::witnessing::WitnessTarget::parse(spec).map_err(ConfigError::Invalid)?);
        }
        // A key twice would count twice toward the quorum.
        crate::witnessing::group_targets(&cfg.witnesses).map_err(ConfigError::Invalid)?;
        cfg.witness_quorum = args
            .witness_quorum
            .or(file.witness_quorum)
            .unwrap_or(cfg.witnesses.len());
        if cfg.witness_quorum > cfg.witnesses.len() {
            return Err(ConfigError::Invalid(
                "witness_quorum is larger than the number of witnesses".into(),
            ));
        }
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if self.batch_interval.is_zero() || self.batch_interval > Duration::from_secs(60) {
            return bad("batch_interval_ms must be between 1 and 60000");
        }
        if self.max_batch == 0 || self.max_batch > 1 << 20 {
            return bad("max_batch must be between 1 and 1048576");
        }
        if self.pool_size < self.max_batch_claims {
            return bad("pool_size must be at least max_batch_claims");
        }
        if self.max_batch_claims == 0 {
            return bad("max_batch_claims must be at least 1");
        }
        if !(self.rate_limit >= 0.0 && self.rate_limit.is_finite()) {
            return bad("rate_limit must be a non-negative number");
        }
        if !(self.rate_burst >= 0.0 && self.rate_burst.is_finite()) {
            return bad("rate_burst must be a non-negative number");
        }
        if self.checkpoint_refresh.is_zero() {
            return bad("checkpoint_refresh_secs must be at least 1");
        }
        Ok(())
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "max_batch = 10\nbatch_interval_ms = 50\n").expect("write");
        let args = RunArgs {
            config: Some(path),
            batch_interval_ms: Some(20),
            ..Default::default()
        };
        let cfg = Config::resolve(&args).expect("resolve");
        assert_eq!(cfg.max_batch, 10);
        assert_eq!(cfg.batch_interval, Duration::from_millis(20));
        assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cfg.data, PathBuf::from(DEFAULT_DATA));
    }

    #[test]
    fn the_default_origin_is_the_public_url_without_its_scheme() {
        let args = |url: &str| RunArgs {
            public_url: Some(url.into()),
            ..Default::default()
        };
        let origin = |url: &str| Config::resolve(&args(url)).map(|c| c.origin.unwrap_or_default());
        assert_eq!(
            origin("https://log.example/").ok().as_deref(),
            Some("log.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:7300/a/b").ok().as_deref(),
            Some("127.0.0.1:7300/a/b")
        );
        // Two logs at different URLs never share the default origin.
        assert_ne!(
            origin("https://a.example/log").ok(),
            origin("https://b.example/log").ok()
        );
        for bad in [
            "log.example",
            "ftp://x",
            "https://",
            "https://a b",
            "https://a?x=1",
        ] {
            assert!(
                matches!(origin(bad), Err(ConfigError::Invalid(_))),
                "{bad} is refused"
            );
        }
        // An explicit origin wins; without a URL it is left to the bound address.
        let both = RunArgs {
            origin: Some("o.example/x".into()),
            public_url: Some("https://log.example".into()),
            ..Default::default()
        };
        assert_eq!(
            Config::resolve(&both).expect("resolve").origin.as_deref(),
            Some("o.example/x")
        );
        assert_eq!(
            Config::resolve(&RunArgs::default())
                .expect("resolve")
                .origin,
            None
        );
    }

    #[test]
    fn without_a_public_url_the_origin_is_the_bound_address() {
        let cfg = Config::resolve(&RunArgs::default()).expect("resolve");
        let origin = |a: &str| {
            cfg.new_log_origin(a.parse().expect("addr"))
                .expect("origin")
        };
        assert_eq!(origin("127.0.0.1:7300"), ("127.0.0.1:7300".into(), true));
        assert_eq!(origin("[::1]:7301"), ("[::1]:7301".into(), true));
        // Two logs on one machine listen on two ports: two origins.
        assert_ne!(origin("127.0.0.1:7300"), origin("127.0.0.1:7301"));
        // An unspecified address is named by the host name.
        let (o, derived) = origin("0.0.0.0:7300");
        assert!(derived);
        assert_eq!(o, format!("{}:7300", host_name()));
        assert!(!o.starts_with("0.0.0.0"));
        assert_eq!(
            cfg.public_url_for("127.0.0.1:7300".parse().expect("addr")),
            "http://127.0.0.1:7300"
        );
        // Given a public URL, that is the origin and the URL.
        let given = Config::resolve(&RunArgs {
            public_url: Some("https://log.example/p".into()),
            ..Default::default()
        })
        .expect("resolve");
        let bound = "127.0.0.1:7300".parse().expect("addr");
        assert_eq!(
            given.new_log_origin(bound).expect("origin"),
            ("log.example/p".into(), false)
        );
        assert_eq!(given.public_url_for(bound), "https://log.example/p");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "max_bach = 10\n").expect("write");
        let args = RunArgs {
            config: Some(path),
            ..Default::default()
        };
        assert!(matches!(
            Config::resolve(&args),
            Err(ConfigError::Parse { .. })
        ));
        let args = RunArgs {
            max_batch: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            Config::resolve(&args),
            Err(ConfigError::Invalid(_))
        ));
    }
}
