//! Was a claim's vendor key accepted at the claim's index? (spec/lookup.md §5)
//!
//! Vendor-key entries (add, rotate, revoke) are indexed under
//! `[6, vkey]`. A *complete* lookup of that key, with its entries, lists
//! every event that ever named the vkey up to the commit; replaying those
//! before the claim's index gives the key's status there. Completeness is
//! what makes this sound: the log cannot hide a revocation.

use crate::note::VerifierKey;

use super::entry::{LogEntry, VendorKeyEvent};
use super::key::IndexKey;
use super::proof::{LookupOutcome, VerifiedLookup};

/// A vendor key's status at one log index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Accepted: the last event before the index added it (or rotated to it).
    Accepted {
        /// Log index of that event.
        since: u64,
    },
    /// Revoked (or rotated away) by the last event before the index.
    Revoked {
        /// Log index of that event.
        at: u64,
    },
    /// No event before the index names the key.
    NeverAdded,
}

/// Why the status cannot be decided from this lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptanceError {
    /// The lookup is not for `[6, vkey]`.
    #[error("the lookup is not the vendor-key status of {0}")]
    WrongKey(String),
    /// The lookup carries only a tail of the list, or no entries.
    #[error("a complete lookup with its entries is needed")]
    Incomplete,
    /// The index is not covered by the lookup's commit.
    #[error("index {index} is not covered by the lookup (covered size {covered})")]
    NotCovered {
        /// The claim's index.
        index: u64,
        /// The lookup's covered size.
        covered: u64,
    },
    /// A listed entry is not a vendor-key event, or its signature fails.
    #[error("entry {0} is not a vendor-key event signed by the log key")]
    BadEvent(u64),
}

/// The status of `vkey` at log index `index`, from a verified complete
/// lookup of `IndexKey::VendorKeyStatus(vkey)` with its entries; each event's
/// signature is checked with `log_key`. An event at the claim's own index
/// or later does not count.
pub fn key_status_at(
    lookup: &VerifiedLookup,
    vkey: &str,
    index: u64,
    log_key: &VerifierKey,
) -> Result<KeyStatus, AcceptanceError> {
    if lookup.key != IndexKey::VendorKeyStatus(vkey.to_owned()) {
        return Err(AcceptanceError::WrongKey(vkey.to_owned()));
    }
    if index >= lookup.covered_size() {
        return Err(AcceptanceError::NotCovered {
            index,
            covered: lookup.covered_size(),
        });
    }
    let events: &[(u64, Vec<u8>)] = match &lookup.outcome {
        LookupOutcome::Absent => &[],
        LookupOutcome::Found {
            from: 0,
            entries_checked: true,
            ..
        } => &lookup.entries,
        LookupOutcome::Found { .. } => return Err(AcceptanceError::Incomplete),
    };
    let mut status = KeyStatus::NeverAdded;
    for (at, bytes) in events.iter().filter(|(i, _)| *i < index) {
        let LogEntry::VendorKey(ev) = LogEntry::classify(bytes) else {
            return Err(AcceptanceError::BadEvent(*at));
        };
        let ev: VendorKeyEvent = ev;
        ev.verify(log_key)
            .map_err(|_| AcceptanceError::BadEvent(*at))?;
        match ev.effect_on(vkey) {
            Some(true) => status = KeyStatus::Accepted { since: *at },
            Some(false) => status = KeyStatus::Revoked { at: *at },
            None => return Err(AcceptanceError::BadEvent(*at)),
        }
    }
    Ok(status)
}
