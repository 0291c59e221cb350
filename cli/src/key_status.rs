//! `provlog verify --check-key-status` (spec/lookup.md §5, §9.3): was the
//! claim's vendor key accepted by the log at the claim's index?
//!
//! Fetches the complete lookup of `vendor-key:<kid>` (whole list, with
//! entries), verifies it under the trust policy, proves its checkpoint
//! consistent with the receipt's (so the answer is about the same log the
//! receipt is from), and replays the vendor-key entries before the claim's
//! index (`index::acceptance::key_status_at`, which checks each entry's
//! signature with the log's key). Only `accepted` passes.

use provlog_client::http::{HttpError, LogClient};
use provlog_core::index::IndexKey;
use provlog_core::index::acceptance::{AcceptanceError, KeyStatus, key_status_at};
use provlog_core::note::{SIG_ED25519, VerifierKey};
use provlog_core::policy::Policy;
use provlog_core::proof::verify_consistency;
use provlog_core::receipt::VerifiedReceipt;

use crate::fail::{Fail, Kind, not_verified};

/// What the check found for one claim.
#[derive(Clone, Debug)]
pub struct KeyStatusAnswer {
    /// The status at the claim's index.
    pub status: KeyStatus,
    /// The lookup is complete for entries `[0, covered_size)`.
    pub covered_size: u64,
}

impl KeyStatusAnswer {
    /// The text after `key status  `.
    pub fn describe(&self) -> String {
        match self.status {
            KeyStatus::Accepted { since } => format!(
                "accepted (added at entry #{since}; complete as of checkpoint {})",
                self.covered_size
            ),
            KeyStatus::Revoked { at } => format!(
                "REVOKED at entry #{at}, before this claim (complete as of checkpoint {})",
                self.covered_size
            ),
            KeyStatus::NeverAdded => format!(
                "NEVER ADDED: no vendor-key entry before this claim names the key \
                 (complete as of checkpoint {}; an open log adds none)",
                self.covered_size
            ),
        }
    }

    /// The `key_status` object of `--json`.
    pub fn json(&self) -> serde_json::Value {
        let (status, at) = match self.status {
            KeyStatus::Accepted { since } => ("accepted", Some(since)),
            KeyStatus::Revoked { at } => ("revoked", Some(at)),
            KeyStatus::NeverAdded => ("never-added", None),
        };
        serde_json::json!({"status": status, "entry": at, "covered_size": self.covered_size})
    }

    /// Whether the claim passes.
    pub fn accepted(&self) -> bool {
        matches!(self.status, KeyStatus::Accepted { .. })
    }
}

/// The log to ask: `--log`, else the policy's URL for the receipt's origin.
pub fn log_url(log: Option<&str>, policy: &Policy, origin: &str) -> Result<String, Fail> {
    if let Some(l) = log {
        return Ok(l.to_owned());
    }
    policy
        .logs()
        .iter()
        .find(|l| l.key.name() == origin)
        .and_then(|l| l.url.clone())
        .ok_or_else(|| {
            crate::fail::usage(format!(
                "--check-key-status asks the log: give --log URL (the policy has no URL for {origin})"
            ))
        })
}

/// The Ed25519 key of the log named `origin` in the policy (vendor-key
/// entries are signed with it, spec/lookup.md §4.2).
fn log_key(policy: &Policy, origin: &str) -> Result<VerifierKey, Fail> {
    policy
        .logs()
        .iter()
        .map(|l| &l.key)
        .find(|k| k.name() == origin && k.key_type() == SIG_ED25519)
        .or_else(|| {
            policy
                .logs()
                .iter()
                .map(|l| &l.key)
                .find(|k| k.name() == origin)
        })
        .cloned()
        .ok_or_else(|| not_verified(format!("the trust policy names no log {origin}")))
}

/// Runs the check for one verified receipt.
pub async fn check(
    client: &LogClient,
    policy: &Policy,
    receipt: &VerifiedReceipt,
) -> Result<KeyStatusAnswer, Fail> {
    let kid = receipt.signed_claim.kid().to_owned();
    let key = IndexKey::VendorKeyStatus(kid.clone());
    let bytes = match client.lookup_proof(&key, 0, true).await {
        Ok(b) => b,
        Err(HttpError::Status { status: 404, .. }) => {
            return Err(Fail::new(
                Kind::CouldNotCheck,
                "the log keeps no verifiable index: it cannot prove a key's status",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let lookup = {
        let (policy, key) = (policy.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            crate::lookup_verify::verify_bundle(&bytes, &policy, Some(&key))
        })
        .await
        .map_err(|e| Fail::from(format!("internal: {e}")))??
    };
    let origin = &receipt.checkpoint.origin;
    let lcp = &lookup.checkpoint.checkpoint;
    if &lcp.origin != origin {
        return Err(not_verified(format!(
            "key status: the lookup is from {} but the receipt from {origin}",
            lcp.origin
        )));
    }
    // Tie the two checkpoints: same size, same root; else a consistency proof.
    let rcp = &receipt.checkpoint;
    let (old, new) = if rcp.size <= lcp.size {
        (rcp, lcp)
    } else {
        (lcp, rcp)
    };
    if old.size == new.size {
        if old.root != new.root {
            return Err(not_verified(format!(
                "key status: two signed checkpoints of size {} with different roots: the log forked",
                old.size
            )));
        }
    } else {
        let proof = client.consistency_proof(old.size, new.size).await?;
        verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
            not_verified(format!(
                "key status: checkpoint {} is not consistent with checkpoint {}: {e}",
                old.size, new.size
            ))
        })?;
    }
    let log_key = log_key(policy, origin)?;
    let status = key_status_at(&lookup, &kid, receipt.index, &log_key).map_err(|e| match e {
        // The log listed something it should not have: keep the evidence.
        AcceptanceError::BadEvent(_) => not_verified(format!("key status: {e}")),
        e => Fail::new(
            Kind::CouldNotCheck,
            format!("key status could not be decided: {e}"),
        ),
    })?;
    Ok(KeyStatusAnswer {
        status,
        covered_size: lookup.covered_size(),
    })
}
