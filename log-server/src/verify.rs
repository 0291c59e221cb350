//! Admission-time claim checks off the async reactor: parsing (with a
//! shared cache of parsed vendor keys) and signature verification, the
//! signatures of a batch request in one ZIP-215 batch
//! (`spec/signed-claim.md` §1.1).
//!
//! The handler hands a closure to [`off_reactor`], which runs it on the
//! blocking pool: parsing, the accepted-keys check and the signatures are
//! CPU work (about 30 µs per Ed25519 claim singly, about half that in a
//! batch) that must not hold a reactor thread. Inside it, [`parse`] reads a
//! claim with [`KEYS`] and [`first_bad_signature`] checks all of a
//! request's signatures at once: one batch equation, and only if it fails
//! one single check per claim, so the problem response names the first bad
//! claim exactly as checking them one by one did. Each claim is parsed once;
//! the sequencer receives the entry bytes and the values taken from that
//! parse (leaf hash, asset, key) and never parses it again.

use std::sync::LazyLock;

use provlog_core::signed_claim::{KeyCache, SignedClaim, SignedClaimError, verify_claims};

use crate::problem::Problem;

/// Vendor keys kept parsed (decompressed, checked) across requests. A
/// bounded cache: an attacker sending many kids costs a re-parse each, not
/// memory.
pub const KEY_CACHE_CAPACITY: usize = 4096;

/// The process's cache of parsed vendor keys (a kid string always parses
/// to the same key, so one cache serves every log in the process).
pub static KEYS: LazyLock<KeyCache> = LazyLock::new(|| KeyCache::new(KEY_CACHE_CAPACITY));

/// Parses one signed claim, with the kid looked up in [`KEYS`]; the same
/// answer as [`SignedClaim::from_bytes`].
pub fn parse(bytes: &[u8]) -> Result<SignedClaim, SignedClaimError> {
    SignedClaim::from_bytes_cached(bytes, &KEYS)
}

/// Checks every claim's signature (one ZIP-215 batch for the Ed25519 ones)
/// and returns the index of the first claim whose signature does not
/// verify, if any.
pub fn first_bad_signature(claims: &[&SignedClaim]) -> Option<usize> {
    verify_claims(claims).err().map(|f| f.bad[0])
}

/// Runs `f` (admission CPU work) on the blocking pool.
pub async fn off_reactor<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, Problem> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("verification task failed: {e}")))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use provlog_core::claim::*;
    use provlog_core::hash::sha256;
    use provlog_core::note::{SIG_ED25519, VerifierKey};

    fn signed(seed: u8, seq: u64) -> SignedClaim {
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
        SignedClaim::sign(&claim, &k, &vkey).unwrap()
    }

    #[test]
    fn cached_parse_is_parse_and_batch_names_the_first_bad_claim() {
        let good: Vec<SignedClaim> = (0..8).map(|i| signed(1 + i as u8 % 2, i)).collect();
        for c in &good {
            assert_eq!(parse(c.to_bytes()), SignedClaim::from_bytes(c.to_bytes()));
            assert_eq!(parse(c.to_bytes()).unwrap(), *c);
        }
        assert!(KEYS.len() >= 2);
        let refs: Vec<&SignedClaim> = good.iter().collect();
        assert_eq!(first_bad_signature(&refs), None);
        // Forge claims 5 and 2 (signature bit flips): the first is named.
        let forge = |c: &SignedClaim| {
            let mut b = c.to_bytes().to_vec();
            let n = b.len();
            b[n - 10] ^= 1;
            parse(&b).unwrap()
        };
        let mut bad = good.clone();
        bad[5] = forge(&good[5]);
        bad[2] = forge(&good[2]);
        let refs: Vec<&SignedClaim> = bad.iter().collect();
        assert_eq!(first_bad_signature(&refs), Some(2));
        assert_eq!(
            bad[2].verify_signature(),
            Err(SignedClaimError::BadSignature)
        );
    }
}
