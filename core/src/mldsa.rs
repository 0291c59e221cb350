//! ML-DSA-44 (NIST FIPS 204) keys and signatures: the one place provlog
//! touches the `ml-dsa` crate (RustCrypto, pure Rust, no I/O).
//!
//! provlog uses ML-DSA-44 in three places, all with the pure (not
//! pre-hashed) `ML-DSA.Sign` / `ML-DSA.Verify` of FIPS 204 Algorithms 2
//! and 3 and the **empty context string**:
//!
//! - C2SP tlog-cosignature `subtree/v1` note signatures (signature type
//!   `0x06`): logs sign their checkpoints with them, witnesses cosign
//!   (`note.rs`, `cosignature.rs`);
//! - COSE `alg` ML-DSA-44 (-48) signatures on signed claims and COSE
//!   receipts (draft-ietf-cose-dilithium: "the ctx parameter MUST be the
//!   empty string").
//!
//! Keys are stored as their 32-byte seed ξ (FIPS 204 Algorithm 6,
//! `ML-DSA.KeyGen_internal`), the form draft-ietf-cose-dilithium and C2SP
//! use; public keys are the 1,312-byte `pkEncode` output and signatures the
//! 2,420-byte `sigEncode` output. Every length is checked before decoding.
//!
//! Cost (BENCHMARKS.md, "Post-quantum"): signing takes about 28 times an
//! Ed25519 signature and verification about twice an Ed25519
//! `verify_strict`; a signature is 38 times larger (2,420 bytes).

use std::fmt;

use ml_dsa::signature::rand_core::{TryCryptoRng, TryRng};
use ml_dsa::{EncodedSignature, EncodedVerifyingKey, MlDsa44, Signature, SigningKey, VerifyingKey};

/// Length of an ML-DSA-44 public key (FIPS 204 Table 2).
pub const ML_DSA_44_PUBLIC_KEY_LEN: usize = 1312;
/// Length of an ML-DSA-44 signature (FIPS 204 Table 2).
pub const ML_DSA_44_SIGNATURE_LEN: usize = 2420;
/// Length of an ML-DSA seed (the private key as stored).
pub const ML_DSA_SEED_LEN: usize = 32;

/// Errors from ML-DSA-44 key handling and signing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MlDsaError {
    /// A public key is not exactly 1,312 bytes.
    #[error("ML-DSA-44 public key is {0} bytes, expected 1312")]
    PublicKeyLength(usize),
    /// The operating system random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// The signer's rejection-sampling loop ran out of nonces (FIPS 204
    /// allows this to fail with negligible probability).
    #[error("ML-DSA-44 signing failed (rejection sampling exhausted)")]
    SigningFailed,
}

/// An ML-DSA-44 signing key, kept with its seed.
#[derive(Clone)]
pub struct MlDsa44SigningKey {
    key: Box<SigningKey<MlDsa44>>,
}

impl fmt::Debug for MlDsa44SigningKey {
    // Never print the seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlDsa44SigningKey").finish_non_exhaustive()
    }
}

/// Hands `ml-dsa` the 32 bytes of `rnd` drawn beforehand from the OS RNG
/// (so this crate keeps one RNG, getrandom, and one error path).
struct Prefilled([u8; 32], bool);

impl TryRng for Prefilled {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        // ml-dsa asks for exactly one 32-byte `rnd`; anything else (never
        // requested) gets zeros rather than reused randomness.
        for (i, b) in dst.iter_mut().enumerate() {
            *b = if self.1 {
                0
            } else {
                self.0.get(i).copied().unwrap_or(0)
            };
        }
        self.1 = true;
        Ok(())
    }
}
impl TryCryptoRng for Prefilled {}

impl MlDsa44SigningKey {
    /// `ML-DSA.KeyGen_internal(ξ)` (FIPS 204 Algorithm 6) from a 32-byte seed.
    pub fn from_seed(seed: [u8; ML_DSA_SEED_LEN]) -> Self {
        Self {
            key: Box::new(SigningKey::<MlDsa44>::from_seed(&seed.into())),
        }
    }

    /// A new key from 32 bytes of the OS CSPRNG.
    pub fn generate() -> Result<Self, MlDsaError> {
        let mut seed = [0u8; ML_DSA_SEED_LEN];
        getrandom::fill(&mut seed).map_err(|e| MlDsaError::Random(e.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    /// The 32-byte seed. Treat it as a secret.
    pub fn seed(&self) -> [u8; ML_DSA_SEED_LEN] {
        self.key.to_seed().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> MlDsa44PublicKey {
        let vk = self.key.expanded_key().verifying_key();
        MlDsa44PublicKey {
            bytes: Box::new(vk.encode().into()),
            key: Box::new(vk),
        }
    }

    /// `ML-DSA.Sign` (FIPS 204 Algorithm 2) with the empty context, in its
    /// default *hedged* form: `rnd` is 32 fresh bytes from the OS RNG, so
    /// signing the same message twice gives different signatures.
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; ML_DSA_44_SIGNATURE_LEN], MlDsaError> {
        let mut rnd = [0u8; 32];
        getrandom::fill(&mut rnd).map_err(|e| MlDsaError::Random(e.to_string()))?;
        let sig = self
            .key
            .expanded_key()
            .sign_randomized(msg, &[], &mut Prefilled(rnd, false))
            .map_err(|_| MlDsaError::SigningFailed)?;
        Ok(sig.encode().into())
    }

    /// The deterministic variant of `ML-DSA.Sign` (FIPS 204 §3.4, `rnd` =
    /// 32 zero bytes), empty context: the same key and message always give
    /// the same signature. Used for test vectors.
    pub fn sign_deterministic(
        &self,
        msg: &[u8],
    ) -> Result<[u8; ML_DSA_44_SIGNATURE_LEN], MlDsaError> {
        let sig = self
            .key
            .expanded_key()
            .sign_deterministic(msg, &[])
            .map_err(|_| MlDsaError::SigningFailed)?;
        Ok(sig.encode().into())
    }
}

/// An ML-DSA-44 public key: its 1,312-byte encoding and the decoded key.
#[derive(Clone)]
pub struct MlDsa44PublicKey {
    bytes: Box<[u8; ML_DSA_44_PUBLIC_KEY_LEN]>,
    key: Box<VerifyingKey<MlDsa44>>,
}

impl fmt::Debug for MlDsa44PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bytes.as_slice();
        write!(
            f,
            "MlDsa44PublicKey({}…)",
            hex::encode(b.get(..8).unwrap_or(b))
        )
    }
}

impl PartialEq for MlDsa44PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for MlDsa44PublicKey {}

impl MlDsa44PublicKey {
    /// `pkDecode` (FIPS 204 Algorithm 23). Any 1,312 bytes decode to a key
    /// (`t1` is packed 10-bit values, all in range), so only the length can
    /// be wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MlDsaError> {
        let arr: [u8; ML_DSA_44_PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| MlDsaError::PublicKeyLength(bytes.len()))?;
        let enc: EncodedVerifyingKey<MlDsa44> = arr.into();
        Ok(Self {
            key: Box::new(VerifyingKey::<MlDsa44>::decode(&enc)),
            bytes: Box::new(arr),
        })
    }

    /// The 1,312-byte encoding.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// `ML-DSA.Verify` (FIPS 204 Algorithm 3) with the empty context. A
    /// signature of the wrong length, or whose encoding is invalid (hint
    /// or `z` out of range), is simply false.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(arr) = <[u8; ML_DSA_44_SIGNATURE_LEN]>::try_from(sig) else {
            return false;
        };
        let enc: EncodedSignature<MlDsa44> = arr.into();
        let Some(sig) = Signature::<MlDsa44>::decode(&enc) else {
            return false;
        };
        self.key.verify_with_context(msg, &[], &sig)
    }
}
