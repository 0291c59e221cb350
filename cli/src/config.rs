//! The user's config file: `$XDG_CONFIG_HOME/provlog/config.toml` (else
//! `~/.config/provlog/config.toml`; `PROVLOG_CONFIG=FILE` names another,
//! `PROVLOG_CONFIG=` with an empty value reads none).
//!
//! ```toml
//! log = "http://127.0.0.1:7300"          # --log
//! log_key = "127.0.0.1:7300+..."         # --log-key (or: policy = "FILE",
//!                                        #  or: log_list = "FILE")
//! key = "vendor.key"                     # --key, the vendor key file
//! ```
//!
//! A flag wins over an environment variable (`PROVLOG_LOG`,
//! `PROVLOG_LOG_KEY`), which wins over the config file: the file's values
//! become the arguments' defaults. Relative paths are relative to the
//! file's directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::fail::{Fail, usage};

/// What the config file may say.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The log's base URL.
    pub log: Option<String>,
    /// The log's vkey.
    pub log_key: Option<String>,
    /// A trust policy file.
    pub policy: Option<PathBuf>,
    /// A log list file (temporal shards, spec/log-list.md).
    pub log_list: Option<PathBuf>,
    /// The vendor private key file.
    pub key: Option<PathBuf>,
}

/// The config file's path, if one is to be read.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROVLOG_CONFIG") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("provlog").join("config.toml"))
}

/// Reads the config file (none: an empty config).
pub fn load() -> Result<Config, Fail> {
    let Some(path) = path() else {
        return Ok(Config::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(format!("cannot read config {}: {e}", path.display()).into()),
    };
    let mut c: Config = toml::from_str(&text)
        .map_err(|e| usage(format!("config {}: {}", path.display(), e.message())))?;
    let trusts = [
        c.log_key.is_some(),
        c.policy.is_some(),
        c.log_list.is_some(),
    ];
    if trusts.iter().filter(|t| **t).count() > 1 {
        return Err(usage(format!(
            "config {}: give one of log_key, policy and log_list",
            path.display()
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    c.policy = c.policy.map(|p| dir.join(p));
    c.log_list = c.log_list.map(|p| dir.join(p));
    c.key = c.key.map(|p| dir.join(p));
    Ok(c)
}

/// Whether the user chose what to trust on the command line or in the
/// environment (then the config file's trust is not used).
fn trust_given() -> bool {
    std::env::var_os("PROVLOG_LOG_KEY").is_some()
        || std::env::args_os().any(|a| {
            let a = a.to_string_lossy();
            a == "--log-key"
                || a == "--policy"
                || a == "--log-list"
                || a.starts_with("--log-key=")
                || a.starts_with("--policy=")
                || a.starts_with("--log-list=")
        })
}

/// Makes the config's values the defaults of the matching arguments of
/// every (sub)command.
pub fn apply(cmd: clap::Command, c: &Config) -> clap::Command {
    let trust = !trust_given();
    let mut defaults: Vec<(&str, String)> = Vec::new();
    if let Some(v) = &c.log {
        defaults.push(("log", v.clone()));
    }
    if trust {
        if let Some(v) = &c.log_key {
            defaults.push(("log_key", v.clone()));
        }
        if let Some(v) = &c.policy {
            defaults.push(("policy", v.display().to_string()));
        }
        if let Some(v) = &c.log_list {
            defaults.push(("log_list", v.display().to_string()));
        }
    }
    if let Some(v) = &c.key {
        defaults.push(("key", v.display().to_string()));
    }
    with_defaults(cmd, &defaults)
}

fn with_defaults(mut cmd: clap::Command, defaults: &[(&str, String)]) -> clap::Command {
    for (id, value) in defaults {
        if cmd.get_arguments().any(|a| a.get_id() == id) {
            // clap keeps defaults as `&'static str` (without its `string`
            // feature); a few short strings per process.
            let value: &'static str = Box::leak(value.clone().into_boxed_str());
            cmd = cmd.mut_arg(*id, move |a| a.required(false).default_value(value));
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        // verify-evidence's --key is the accused log's vkey, not a key file.
        if name != "verify-evidence" {
            cmd = cmd.mut_subcommand(name, |s| with_defaults(s, defaults));
        }
    }
    cmd
}
