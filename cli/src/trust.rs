//! What the user trusts: a log key, or a full policy file with witnesses.

use std::path::PathBuf;

use clap::Args;
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;

use crate::fail::{Fail, usage};

/// `--log-key VKEY` or `--policy FILE`.
#[derive(Args, Debug, Clone)]
pub struct TrustArgs {
    /// The log's verifier key (C2SP vkey), as printed by `provlog-server vkey`.
    #[arg(long, env = "PROVLOG_LOG_KEY")]
    pub log_key: Option<String>,
    /// A trust policy file (log keys, witnesses, quorum); see spec/policy.md.
    #[arg(long, conflicts_with = "log_key")]
    pub policy: Option<PathBuf>,
}

impl TrustArgs {
    /// Builds the policy to verify against.
    pub fn policy(&self) -> Result<Policy, Fail> {
        match (&self.log_key, &self.policy) {
            (Some(vkey), None) => {
                let key = VerifierKey::parse(vkey.trim())
                    .map_err(|e| usage(format!("--log-key: {e}")))?;
                Ok(Policy::single_log(key))
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
                Policy::parse(&text).map_err(|e| usage(format!("policy {}: {e}", path.display())))
            }
            _ => Err(usage(
                "say what to trust: --log-key VKEY (from `provlog-server vkey`) or --policy FILE",
            )),
        }
    }

    /// The log key, when given directly or as the policy's only log.
    pub fn log_key(&self) -> Result<VerifierKey, Fail> {
        match &self.log_key {
            Some(vkey) => {
                VerifierKey::parse(vkey.trim()).map_err(|e| usage(format!("--log-key: {e}")))
            }
            None => {
                let policy = self.policy()?;
                policy
                    .logs()
                    .first()
                    .map(|l| l.key.clone())
                    .ok_or_else(|| usage("the policy names no log"))
            }
        }
    }
}
