//! What the user trusts: a log key, a full policy file with witnesses, or
//! a log list (every shard of a temporally sharded deployment).

use std::path::{Path, PathBuf};

use clap::Args;
use provlog_core::log_list::{LogList, MAX_LOG_LIST_SIZE};
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;

use crate::fail::{Fail, usage};

/// `--log-key VKEY`, `--policy FILE` or `--log-list FILE`.
#[derive(Args, Debug, Clone)]
pub struct TrustArgs {
    /// The log's verifier key (C2SP vkey), as printed by `provlog-server vkey`.
    #[arg(long, env = "PROVLOG_LOG_KEY")]
    pub log_key: Option<String>,
    /// A trust policy file (log keys, witnesses, quorum); see spec/policy.md.
    #[arg(long, conflicts_with = "log_key")]
    pub policy: Option<PathBuf>,
    /// A log list (JSON, spec/log-list.md): trust every shard's key.
    /// `submit` sends to the shard whose period covers the claims'
    /// creation time, `lookup` asks every shard, `verify` accepts a receipt
    /// of any listed shard.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["log_key", "policy"])]
    pub log_list: Option<PathBuf>,
}

/// Reads and validates a log list file (read bounded: at most
/// [`MAX_LOG_LIST_SIZE`] + 1 bytes are read).
pub fn read_log_list(path: &Path) -> Result<LogList, Fail> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| format!("cannot read log list {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_LOG_LIST_SIZE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read log list {}: {e}", path.display()))?;
    LogList::parse(&bytes).map_err(|e| usage(format!("{}: {e}", path.display())))
}

impl TrustArgs {
    /// The log list, if `--log-list` was given.
    pub fn log_list(&self) -> Result<Option<LogList>, Fail> {
        self.log_list.as_deref().map(read_log_list).transpose()
    }

    /// Builds the policy to verify against (with `--log-list`: every
    /// shard's key, no witnesses).
    pub fn policy(&self) -> Result<Policy, Fail> {
        match (&self.log_key, &self.policy, &self.log_list) {
            (Some(vkey), None, None) => {
                let key = VerifierKey::parse(vkey.trim())
                    .map_err(|e| usage(format!("--log-key: {e}")))?;
                Ok(Policy::single_log(key))
            }
            (None, Some(path), None) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
                Policy::parse(&text).map_err(|e| usage(format!("policy {}: {e}", path.display())))
            }
            (None, None, Some(path)) => Ok(read_log_list(path)?.policy()),
            _ => Err(usage(
                "say what to trust: --log-key VKEY (from `provlog-server vkey`), --policy FILE \
                 or --log-list FILE",
            )),
        }
    }

    /// The log key, when given directly or as the policy's (or log list's)
    /// only log.
    pub fn log_key(&self) -> Result<VerifierKey, Fail> {
        match &self.log_key {
            Some(vkey) => {
                VerifierKey::parse(vkey.trim()).map_err(|e| usage(format!("--log-key: {e}")))
            }
            None => {
                let policy = self.policy()?;
                match policy.logs() {
                    [one] => Ok(one.key.clone()),
                    [first, ..] if self.log_list.is_none() => Ok(first.key.clone()),
                    [] => Err(usage("the policy names no log")),
                    many => Err(usage(format!(
                        "the log list names {} shards and this command talks to one log: \
                         give that log's key with --log-key",
                        many.len()
                    ))),
                }
            }
        }
    }
}
