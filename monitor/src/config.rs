//! The monitor's TOML configuration (see spec/monitor.md).

use std::path::Path;
use std::time::Duration;

use provlog_core::hash::Hash;
use provlog_core::log_list::{LogList, MAX_LOG_LIST_SIZE};
use provlog_core::note::{SIG_COSIGNATURE_V1, SIG_ED25519, SIG_ML_DSA_44, VerifierKey};
use serde::Deserialize;

/// Largest config file read, in bytes.
const MAX_CONFIG: u64 = 1 << 20;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("{path}: {source}")]
    Parse {
        /// File.
        path: String,
        /// Why.
        source: toml::de::Error,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// Default of `seq_gap_grace`: entries a `seq` gap may stay open.
pub const DEFAULT_SEQ_GAP_GRACE: u64 = 10_000;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    witness_name: Option<String>,
    witness_ml_dsa_44: Option<bool>,
    public_url: Option<String>,
    gossip_interval_ms: Option<u64>,
    gossip_rate: Option<f64>,
    gossip_burst: Option<f64>,
    max_clock_skew_secs: Option<u64>,
    fetch_parallelism: Option<usize>,
    seq_gap_grace: Option<u64>,
    #[serde(default)]
    log: Vec<FileLog>,
    /// A log list (spec/log-list.md): every shard is followed as a log.
    log_list: Option<std::path::PathBuf>,
    #[serde(default)]
    peer: Vec<FilePeer>,
    #[serde(default)]
    watch: Vec<FileWatch>,
    #[serde(default)]
    alerts: FileAlerts,
    connections: Option<provlog_serve::ConnFile>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileLog {
    url: String,
    vkey: String,
    origin: Option<String>,
    poll_interval_ms: Option<u64>,
    freshness_secs: Option<u64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FilePeer {
    url: String,
    vkey: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileWatch {
    name: String,
    vendor_key: Option<String>,
    generator: Option<String>,
    asset: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileAlerts {
    stdout: Option<bool>,
    webhook: Option<String>,
    command: Option<String>,
}

impl Default for FileAlerts {
    fn default() -> Self {
        FileAlerts {
            stdout: Some(true),
            webhook: None,
            command: None,
        }
    }
}

/// One log to follow and witness.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Base URL of its tlog-tiles API.
    pub url: String,
    /// Its verifier key; the key name is the origin.
    pub key: VerifierKey,
    /// How often to fetch the checkpoint.
    pub poll_interval: Duration,
    /// A checkpoint whose timestamp is older than this means a frozen log.
    pub freshness: Duration,
}

impl LogConfig {
    /// The log's origin (its key name).
    pub fn origin(&self) -> &str {
        self.key.name()
    }
}

/// A peer monitor to gossip with.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Base URL of the peer monitor.
    pub url: String,
    /// The peer's witness key (cosignature/v1), if known.
    pub key: Option<VerifierKey>,
}

/// What a watch rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMatch {
    /// The claim's COSE `kid` (the vendor's vkey).
    VendorKey(String),
    /// The generator's vendor or tool name, exactly.
    Generator(String),
    /// The asset's SHA-256.
    Asset(Hash),
}

/// A named watch rule.
#[derive(Debug, Clone)]
pub struct WatchRule {
    /// Name reported in alerts.
    pub name: String,
    /// What it matches (any of them).
    pub matches: Vec<WatchMatch>,
}

/// Where alerts go.
#[derive(Debug, Clone, Default)]
pub struct AlertConfig {
    /// JSON lines on stdout.
    pub stdout: bool,
    /// POST each alert as JSON to this URL.
    pub webhook: Option<String>,
    /// Run this program with the alert JSON on stdin.
    pub command: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name of the witness key; must match the stored key's name when
    /// given (`None`: whatever the stored key is named, `provlog-monitor`
    /// for a new one).
    pub witness_name: Option<String>,
    /// Whether to create an ML-DSA-44 witness key (subtree/v1 cosignatures,
    /// `DATA/witness-ml-dsa-44.key`) if there is none. One that exists is
    /// used either way.
    pub witness_ml_dsa_44: bool,
    /// The monitor's own base URL, used in alert links.
    pub public_url: Option<String>,
    /// Gossip period.
    pub gossip_interval: Duration,
    /// Gossip requests per second accepted from one peer address.
    pub gossip_rate: f64,
    /// Gossip request burst per peer address.
    pub gossip_burst: f64,
    /// How far ahead of this monitor's clock a log's timestamp may be
    /// before it is misbehaviour (`future-timestamp`).
    pub max_clock_skew: Duration,
    /// Concurrent entry-bundle downloads per log.
    pub fetch_parallelism: usize,
    /// Entries a vendor's `seq` gap may stay open before it is alerted
    /// (`seq_gap_grace`, default 10,000; see `seq_watch.rs`).
    pub seq_gap_grace: u64,
    /// Logs followed and witnessed.
    pub logs: Vec<LogConfig>,
    /// Peers.
    pub peers: Vec<PeerConfig>,
    /// Watch rules.
    pub watch: Vec<WatchRule>,
    /// Alert hooks.
    pub alerts: AlertConfig,
    /// The `[connections]` table (cap and timeouts; flags override it).
    pub connections: Option<provlog_serve::ConnFile>,
}

fn invalid<T>(m: String) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid(m))
}

/// Reads and validates a log list file, reading at most
/// [`MAX_LOG_LIST_SIZE`] + 1 bytes.
fn read_log_list(path: &Path) -> Result<LogList, ConfigError> {
    use std::io::Read as _;
    let read = |source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(MAX_LOG_LIST_SIZE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    LogList::parse(&bytes)
        .map_err(|e| ConfigError::Invalid(format!("log_list {}: {e}", path.display())))
}

impl Config {
    /// Reads and checks the config file (`None`: an empty config).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let file = match path {
            None => FileConfig::default(),
            Some(p) => {
                let read = |source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                };
                let len = std::fs::metadata(p).map_err(read)?.len();
                if len > MAX_CONFIG {
                    return invalid(format!("{} is over 1 MiB", p.display()));
                }
                let text = std::fs::read_to_string(p).map_err(read)?;
                let mut file: FileConfig =
                    toml::from_str(&text).map_err(|source| ConfigError::Parse {
                        path: p.display().to_string(),
                        source,
                    })?;
                // A relative log list is relative to the config file.
                if let (Some(list), Some(dir)) = (&file.log_list, p.parent()) {
                    file.log_list = Some(dir.join(list));
                }
                file
            }
        };
        Self::from_file(file)
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let file = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: "<config>".into(),
            source,
        })?;
        Self::from_file(file)
    }

    fn from_file(mut f: FileConfig) -> Result<Config, ConfigError> {
        let mut logs: Vec<LogConfig> = Vec::new();
        if let Some(path) = &f.log_list {
            // Each shard is one more [[log]] with the default intervals,
            // in list order, before the [[log]] entries.
            let mut shards: Vec<FileLog> = read_log_list(path)?
                .shards()
                .iter()
                .map(|shard| FileLog {
                    url: shard.url.clone(),
                    vkey: shard.key.to_vkey(),
                    origin: Some(shard.origin.clone()),
                    poll_interval_ms: None,
                    freshness_secs: None,
                })
                .collect();
            shards.append(&mut f.log);
            f.log = shards;
        }
        for l in f.log {
            let key = VerifierKey::parse(&l.vkey)
                .map_err(|e| ConfigError::Invalid(format!("log vkey {}: {e}", l.vkey)))?;
            if !matches!(key.key_type(), SIG_ED25519 | SIG_ML_DSA_44) {
                return invalid(format!(
                    "log vkey {} is not a log key (Ed25519, type 0x01, or ML-DSA-44, type 0x06)",
                    l.vkey
                ));
            }
            if let Some(o) = &l.origin
                && o != key.name()
            {
                return invalid(format!(
                    "log origin {o} differs from its key name {}",
                    key.name()
                ));
            }
            if logs.iter().any(|x| x.origin() == key.name()) {
                return invalid(format!("log {} is listed twice", key.name()));
            }
            let poll = l.poll_interval_ms.unwrap_or(1000);
            if !(10..=3_600_000).contains(&poll) {
                return invalid("poll_interval_ms must be between 10 and 3600000".into());
            }
            let fresh = l.freshness_secs.unwrap_or(60);
            if fresh == 0 {
                return invalid("freshness_secs must be at least 1".into());
            }
            check_url(&l.url)?;
            logs.push(LogConfig {
                url: l.url.trim_end_matches('/').to_owned(),
                key,
                poll_interval: Duration::from_millis(poll),
                freshness: Duration::from_secs(fresh),
            });
        }
        let mut peers = Vec::new();
        for p in f.peer {
            check_url(&p.url)?;
            let key = match p.vkey {
                Some(v) => {
                    let k = VerifierKey::parse(&v)
                        .map_err(|e| ConfigError::Invalid(format!("peer vkey {v}: {e}")))?;
                    if !matches!(k.key_type(), SIG_COSIGNATURE_V1 | SIG_ML_DSA_44) {
                        return invalid(format!(
                            "peer vkey {v} is not a witness key (cosignature/v1, type 0x04, or ML-DSA-44, type 0x06)"
                        ));
                    }
                    Some(k)
                }
                None => None,
            };
            peers.push(PeerConfig {
                url: p.url.trim_end_matches('/').to_owned(),
                key,
            });
        }
        let mut watch = Vec::new();
        for w in f.watch {
            let mut matches = Vec::new();
            if let Some(k) = w.vendor_key {
                VerifierKey::parse(&k).map_err(|e| {
                    ConfigError::Invalid(format!("watch {}: vendor_key: {e}", w.name))
                })?;
                matches.push(WatchMatch::VendorKey(k));
            }
            if let Some(g) = w.generator {
                matches.push(WatchMatch::Generator(g));
            }
            if let Some(a) = w.asset {
                let h: Hash = hex::decode(&a)
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .ok_or_else(|| {
                        ConfigError::Invalid(format!(
                            "watch {}: asset is not 64 hex digits",
                            w.name
                        ))
                    })?;
                matches.push(WatchMatch::Asset(h));
            }
            if matches.is_empty() {
                return invalid(format!("watch {} matches nothing", w.name));
            }
            watch.push(WatchRule {
                name: w.name,
                matches,
            });
        }
        let gossip = f.gossip_interval_ms.unwrap_or(5000);
        if !(10..=3_600_000).contains(&gossip) {
            return invalid("gossip_interval_ms must be between 10 and 3600000".into());
        }
        let par = f.fetch_parallelism.unwrap_or(4);
        if !(1..=64).contains(&par) {
            return invalid("fetch_parallelism must be between 1 and 64".into());
        }
        if let Some(w) = &f.alerts.webhook {
            check_url(w)?;
        }
        let gossip_rate = f.gossip_rate.unwrap_or(10.0);
        if !(0.01..=10_000.0).contains(&gossip_rate) {
            return invalid(
                "gossip_rate must be between 0.01 and 10000 requests per second".into(),
            );
        }
        let gossip_burst = f.gossip_burst.unwrap_or(40.0);
        if !(1.0..=100_000.0).contains(&gossip_burst) {
            return invalid("gossip_burst must be between 1 and 100000".into());
        }
        let skew = f.max_clock_skew_secs.unwrap_or(300);
        if skew > 86_400 {
            return invalid("max_clock_skew_secs must be at most 86400".into());
        }
        if let Some(n) = &f.witness_name
            && !provlog_core::note::is_valid_key_name(n)
        {
            return invalid(format!("witness_name {n:?} is not a valid key name"));
        }
        Ok(Config {
            witness_name: f.witness_name,
            witness_ml_dsa_44: f.witness_ml_dsa_44.unwrap_or(false),
            public_url: f.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            gossip_interval: Duration::from_millis(gossip),
            gossip_rate,
            gossip_burst,
            max_clock_skew: Duration::from_secs(skew),
            fetch_parallelism: par,
            seq_gap_grace: f.seq_gap_grace.unwrap_or(DEFAULT_SEQ_GAP_GRACE),
            logs,
            peers,
            watch,
            alerts: AlertConfig {
                stdout: f.alerts.stdout.unwrap_or(true),
                webhook: f.alerts.webhook,
                command: f.alerts.command,
            },
            connections: f.connections,
        })
    }
}

fn check_url(u: &str) -> Result<(), ConfigError> {
    if u.starts_with("http://") || u.starts_with("https://") {
        Ok(())
    } else {
        invalid(format!("{u} is not an http(s) URL"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::note::NoteSigner;

    #[test]
    fn parses_and_rejects() {
        let log = NoteSigner::generate("log.example").unwrap().verifier_key();
        let w = NoteSigner::generate_cosigner("w.example")
            .unwrap()
            .verifier_key();
        let text = format!(
            "witness_name = \"m1\"\n[[log]]\nurl = \"http://127.0.0.1:1\"\nvkey = \"{log}\"\n\
             [[peer]]\nurl = \"http://127.0.0.1:2\"\nvkey = \"{w}\"\n\
             [[watch]]\nname = \"gen\"\ngenerator = \"imagegen\"\n"
        );
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.logs[0].origin(), "log.example");
        assert_eq!(c.peers[0].key.as_ref().unwrap(), &w);
        assert_eq!(
            c.watch[0].matches,
            vec![WatchMatch::Generator("imagegen".into())]
        );
        assert!(!c.witness_ml_dsa_44);
        // A witness key is not a log key, and unknown keys are rejected.
        let bad = format!("[[log]]\nurl = \"http://x\"\nvkey = \"{w}\"\n");
        assert!(Config::parse(&bad).is_err());
        // A log key is not a peer's witness key.
        let bad = format!("[[peer]]\nurl = \"http://x\"\nvkey = \"{log}\"\n");
        assert!(Config::parse(&bad).is_err());
        assert!(Config::parse("bogus = 1\n").is_err());
        assert!(Config::parse("witness_ml_dsa_44 = \"yes\"\n").is_err());
        assert!(Config::parse("[[watch]]\nname = \"x\"\n").is_err());
    }

    #[test]
    fn a_log_list_adds_one_followed_log_per_shard() {
        let a = NoteSigner::generate("shard-a.example")
            .unwrap()
            .verifier_key();
        let b = NoteSigner::generate("shard-b.example")
            .unwrap()
            .verifier_key();
        let extra = NoteSigner::generate("other.example")
            .unwrap()
            .verifier_key();
        let dir = tempfile::tempdir().unwrap();
        let list = serde_json::json!({"version": "provlog-log-list/v1", "shards": [
            {"origin": "shard-a.example", "vkey": a.to_vkey(), "url": "http://127.0.0.1:1/",
             "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}},
            {"origin": "shard-b.example", "vkey": b.to_vkey(), "url": "http://127.0.0.1:2",
             "period": {"start": "2026-07-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}},
        ]});
        std::fs::write(dir.path().join("list.json"), list.to_string()).unwrap();
        let config = dir.path().join("config.toml");
        // Relative to the config file; explicit [[log]] entries stay.
        std::fs::write(
            &config,
            format!("log_list = \"list.json\"\n[[log]]\nurl = \"http://127.0.0.1:3\"\nvkey = \"{extra}\"\n"),
        )
        .unwrap();
        let c = Config::load(Some(&config)).unwrap();
        let logs: Vec<(&str, &str)> = c
            .logs
            .iter()
            .map(|l| (l.origin(), l.url.as_str()))
            .collect();
        assert_eq!(
            logs,
            vec![
                ("shard-a.example", "http://127.0.0.1:1"),
                ("shard-b.example", "http://127.0.0.1:2"),
                ("other.example", "http://127.0.0.1:3"),
            ]
        );
        assert_eq!(c.logs[1].key, b);
        // A shard also given as a [[log]] is listed twice.
        std::fs::write(
            &config,
            format!(
                "log_list = \"list.json\"\n[[log]]\nurl = \"http://127.0.0.1:3\"\nvkey = \"{a}\"\n"
            ),
        )
        .unwrap();
        let e = Config::load(Some(&config)).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
        // An invalid list (here: unsorted) and a missing one are errors.
        let mut bad = list.clone();
        bad["shards"].as_array_mut().unwrap().reverse();
        std::fs::write(dir.path().join("list.json"), bad.to_string()).unwrap();
        std::fs::write(&config, "log_list = \"list.json\"\n").unwrap();
        let e = Config::load(Some(&config)).unwrap_err().to_string();
        assert!(e.contains("sorted"), "{e}");
        std::fs::write(&config, "log_list = \"missing.json\"\n").unwrap();
        assert!(Config::load(Some(&config)).is_err());
    }

    #[test]
    fn ml_dsa_44_log_and_witness_keys_are_accepted() {
        use provlog_core::note::MlDsa44NoteSigner;
        let log = MlDsa44NoteSigner::generate("pq.example/log")
            .unwrap()
            .verifier_key();
        let peer = MlDsa44NoteSigner::generate("peer.example")
            .unwrap()
            .verifier_key();
        let text = format!(
            "witness_ml_dsa_44 = true\n[[log]]\nurl = \"http://127.0.0.1:1\"\nvkey = \"{log}\"\n\
             [[peer]]\nurl = \"http://127.0.0.1:2\"\nvkey = \"{peer}\"\n"
        );
        let c = Config::parse(&text).unwrap();
        assert!(c.witness_ml_dsa_44);
        assert_eq!(c.logs[0].key, log);
        assert_eq!(c.logs[0].origin(), "pq.example/log");
        assert_eq!(c.peers[0].key.as_ref().unwrap(), &peer);
        // An Ed25519 (0x01) key is not a peer's witness key; a type 0x04
        // key is not a log key.
        let ed = NoteSigner::generate("x.example").unwrap().verifier_key();
        let bad = format!("[[peer]]\nurl = \"http://x\"\nvkey = \"{ed}\"\n");
        assert!(Config::parse(&bad).is_err());
    }
}
