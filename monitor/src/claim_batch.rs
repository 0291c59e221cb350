//! The audit's claim checks for one entry bundle, batched: every entry is
//! parsed (vendor keys from a shared cache) and the signatures of all the
//! entries that parse are checked as one ZIP-215 batch
//! (`spec/signed-claim.md` §1.1), falling back to single checks only when
//! the batch fails, to name the bad entries.
//!
//! The answer for each entry is exactly [`SignedClaim::from_bytes`] then
//! [`SignedClaim::verify_signature`]: ZIP-215 is the one rule for which
//! batch and single verification agree, which is why the monitor may batch
//! at all (an honest log checks claims under the same rule on ingest, so an
//! entry flagged here is one that log should have refused).

use std::sync::LazyLock;

use provlog_core::signed_claim::{KeyCache, SignedClaim, SignedClaimError, verify_claims};

use crate::audit::ClaimCheck;

/// Parsed vendor keys kept across bundles (bounded: a log full of distinct
/// kids costs a re-parse each, not memory).
static KEYS: LazyLock<KeyCache> = LazyLock::new(|| KeyCache::new(4096));

/// Checks every entry (structure, schema, kid, signature), in order.
pub fn check_entries(entries: &[&[u8]]) -> Vec<ClaimCheck> {
    let mut out: Vec<ClaimCheck> = entries
        .iter()
        .map(|e| SignedClaim::from_bytes_cached(e, &KEYS))
        .collect();
    let parsed: Vec<(usize, &SignedClaim)> = out
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().ok().map(|c| (i, c)))
        .collect();
    let claims: Vec<&SignedClaim> = parsed.iter().map(|(_, c)| *c).collect();
    let bad: Vec<usize> = match verify_claims(&claims) {
        Ok(()) => Vec::new(),
        Err(f) => f.bad.iter().map(|&j| parsed[j].0).collect(),
    };
    for i in bad {
        out[i] = Err(SignedClaimError::BadSignature);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::check_claim;
    use provlog_core::claim::*;
    use provlog_core::hash::sha256;
    use provlog_core::note::{SIG_ED25519, VerifierKey};

    fn entry(seed: u8, seq: u64) -> Vec<u8> {
        let k = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let vkey = VerifierKey::new("vendor.example", SIG_ED25519, k.verifying_key())
            .unwrap()
            .to_vkey();
        let claim = Claim {
            version: 1,
            asset: Asset {
                sha256: sha256(&seq.to_be_bytes()),
                media_type: "image/png".into(),
                size: 1,
            },
            c2pa: None,
            soft_bindings: vec![],
            generator: Generator {
                vendor: "v".into(),
                tool: "t".into(),
                version: "1".into(),
            },
            created: 1,
            source_type: DigitalSourceType::DigitalCapture,
            disclosure: Disclosure {
                direct: vec![],
                indirect: vec![],
            },
            consent: None,
            sequence: Some(seq),
        };
        SignedClaim::sign(&claim, &k, &vkey)
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    /// Batched answers equal the per-entry answers, for valid entries,
    /// forged signatures and entries that do not parse, in any mix.
    #[test]
    fn batched_checks_equal_single_checks() {
        let mut entries: Vec<Vec<u8>> = (0..40).map(|i| entry(1 + (i % 3) as u8, i)).collect();
        let n = entries[5].len();
        entries[5][n - 3] ^= 0x40; // signature bit
        entries[17][0] = 0xd3; // wrong tag: does not parse
        let n = entries[30].len();
        entries[30][n - 40] ^= 1;
        for bad in [vec![], vec![5], vec![5, 17, 30]] {
            let mut es = entries.clone();
            for (i, e) in es.iter_mut().enumerate() {
                if ![5, 17, 30].contains(&i) || bad.contains(&i) {
                    continue;
                }
                *e = entry(1 + (i % 3) as u8, i as u64);
            }
            let refs: Vec<&[u8]> = es.iter().map(|e| e.as_slice()).collect();
            let single: Vec<ClaimCheck> = refs.iter().map(|e| check_claim(e)).collect();
            assert_eq!(check_entries(&refs), single);
            assert_eq!(
                single.iter().filter(|c| c.is_err()).count(),
                bad.len(),
                "{bad:?}"
            );
        }
        assert_eq!(check_entries(&[]), vec![]);
    }
}
