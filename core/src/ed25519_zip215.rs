//! Ed25519 under the ZIP-215 rules: the one validity rule for vendor
//! signatures on claims (`spec/signed-claim.md` §1.1), in single and batch
//! form, through `ed25519-zebra` (the Zcash Foundation's implementation of
//! ZIP-215).
//!
//! A signature `(R_bytes, S_bytes)` on message `M` under key `A_bytes` is
//! valid when:
//!
//! - `A_bytes` and `R_bytes` decode to curve points, non-canonical
//!   encodings (y ≥ p, or x = 0 with the sign bit set) included, and points
//!   of small or mixed order included;
//! - `S_bytes` is the little-endian encoding of an integer `S < L`;
//! - `[8][S]B = [8]R + [8][k]A` with `k = SHA-512(R_bytes || A_bytes || M)
//!   mod L`, over the bytes exactly as given (never re-encoded).
//!
//! Why this rule and not `verify_strict`: it is the one rule for which batch
//! verification gives exactly the single-signature answer. The cofactor
//! multiplication removes every torsion component, so a batch's random
//! linear combination holds for a set of valid signatures and (except with
//! probability about 2^-128 per batch, over randomness the signer cannot
//! see) fails as soon as one is invalid. Under `verify_strict` a signer can
//! add a torsion point to `R` and get a signature that strict verification
//! always rejects but a batch sometimes accepts; under ZIP-215 that
//! signature is simply valid, everywhere.
//!
//! The rule adds nothing about keys: provlog refuses small-order vendor keys
//! when it parses a claim's kid (`spec/signed-claim.md` §2), before any
//! signature check, so single and batch verification see the same keys.
//!
//! Cost: one verification is a double-scalar multiplication plus a point
//! decompression of `R` and `A` (about as much as `verify_strict`); a batch
//! of n is one multiscalar multiplication of size about 2n + 1 (n + m + 1
//! for m distinct keys), roughly half the cost per signature. A failing
//! batch costs the batch plus one single verification per item to name the
//! bad ones.

use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes, batch};
use sha2::{Digest as _, Sha512};

/// One signature to check: the public key and signature bytes as they
/// appear in the entry, and the signed message.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    /// The 32-byte public key encoding `A_bytes`.
    pub key: [u8; 32],
    /// The signed message.
    pub msg: &'a [u8],
    /// The 64-byte signature `R_bytes || S_bytes`.
    pub sig: [u8; 64],
}

/// Reports whether `sig` is a valid ZIP-215 signature by `key` on `msg`.
pub fn verify_one(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    match VerificationKey::try_from(*key) {
        Ok(vk) => vk.verify(&Signature::from_bytes(sig), msg).is_ok(),
        Err(_) => false,
    }
}

/// [`verify_one`] for an [`Item`].
pub fn verify_item(item: &Item<'_>) -> bool {
    verify_one(&item.key, item.msg, &item.sig)
}

/// The batch equation alone: `true` when every item is valid (an empty
/// batch is valid), `false` when at least one is not (the batch does not say
/// which; [`verify_batch`] does). `None` when no randomness could be had for
/// the batch's coefficients: the caller must then check the items singly.
pub fn batch_equation(items: &[Item<'_>]) -> Option<bool> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).ok()?;
    let mut v = batch::Verifier::new();
    for it in items {
        v.queue((
            VerificationKeyBytes::from(it.key),
            Signature::from_bytes(&it.sig),
            it.msg,
        ));
    }
    Some(v.verify(HashRng::new(seed)).is_ok())
}

/// The items of a batch that do not verify, by index (ascending, never empty).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} of the signatures do not verify (first: item {})", bad.len(), bad[0])]
pub struct BatchFailure {
    /// Indexes into the batch of the invalid items.
    pub bad: Vec<usize>,
}

/// Verifies every item: one batch equation, and only when it fails (or no
/// randomness is available) a single verification of each item to name the
/// invalid ones. The answer for each item is exactly [`verify_item`]'s.
pub fn verify_batch(items: &[Item<'_>]) -> Result<(), BatchFailure> {
    if items.len() == 1 {
        // A batch of one costs more than the single check.
        return if verify_item(&items[0]) {
            Ok(())
        } else {
            Err(BatchFailure { bad: vec![0] })
        };
    }
    if batch_equation(items) == Some(true) {
        return Ok(());
    }
    let bad: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| !verify_item(it))
        .map(|(i, _)| i)
        .collect();
    if bad.is_empty() {
        // The batch equation fails only with an invalid item (or, with
        // probability ~2^-128, never in practice); the singles are
        // authoritative either way.
        Ok(())
    } else {
        Err(BatchFailure { bad })
    }
}

/// The batch coefficients' randomness: SHA-512 in counter mode over a
/// 32-byte seed from the OS (one `getrandom` call per batch rather than one
/// per signature). The coefficients must be unpredictable to the signers,
/// which a fresh OS seed per batch gives.
struct HashRng {
    seed: [u8; 32],
    counter: u64,
    buf: [u8; 64],
    used: usize,
}

impl HashRng {
    fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            buf: [0; 64],
            used: 64,
        }
    }

    fn refill(&mut self) {
        let mut h = Sha512::new();
        h.update(b"provlog zip215 batch coefficients");
        h.update(self.seed);
        h.update(self.counter.to_le_bytes());
        self.buf.copy_from_slice(&h.finalize());
        self.counter += 1;
        self.used = 0;
    }
}

impl rand_core::TryRng for HashRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let mut out = 0;
        while out < dst.len() {
            if self.used == self.buf.len() {
                self.refill();
            }
            let n = (dst.len() - out).min(self.buf.len() - self.used);
            dst[out..out + n].copy_from_slice(&self.buf[self.used..self.used + n]);
            out += n;
            self.used += n;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for HashRng {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn item(seed: u8, msg: &'static [u8]) -> Item<'static> {
        let k = SigningKey::from_bytes(&[seed; 32]);
        Item {
            key: k.verifying_key().to_bytes(),
            msg,
            sig: k.sign(msg).to_bytes(),
        }
    }

    #[test]
    fn batch_names_every_bad_item() {
        let mut items: Vec<Item<'_>> = (0..10).map(|i| item(i, b"message")).collect();
        assert_eq!(verify_batch(&items), Ok(()));
        items[3].sig[40] ^= 1;
        items[7].msg = b"other";
        assert_eq!(verify_batch(&items), Err(BatchFailure { bad: vec![3, 7] }));
        assert_eq!(batch_equation(&items), Some(false));
        assert_eq!(verify_batch(&items[..1]), Ok(()));
        assert_eq!(
            verify_batch(&items[3..4]),
            Err(BatchFailure { bad: vec![0] })
        );
        assert_eq!(verify_batch(&[]), Ok(()));
    }

    #[test]
    fn rng_streams_past_one_block() {
        use rand_core::TryRng as _;
        let mut a = HashRng::new([1; 32]);
        let mut b = HashRng::new([1; 32]);
        let mut long = [0u8; 200];
        a.try_fill_bytes(&mut long).unwrap();
        let mut parts = [0u8; 200];
        for c in parts.chunks_mut(16) {
            b.try_fill_bytes(c).unwrap();
        }
        assert_eq!(long, parts);
        assert_ne!(long[..64], long[64..128]);
    }
}
