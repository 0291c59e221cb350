//! The signed claim: a [`Claim`] in a COSE_Sign1 envelope (RFC 9052), the
//! exact bytes of one log entry.
//!
//! ```text
//! 18([                                   ; tag 18 = COSE_Sign1, required
//!   << {  1: -8,                         ; alg: EdDSA
//!         3: "application/vnd.provlog.claim+cbor",
//!         4: h'<UTF-8 vkey string>' } >>, ; kid
//!   {},                                  ; unprotected header: empty
//!   << claim >>,                         ; payload, attached
//!   h'<64-byte Ed25519 signature>'
//! ])
//! ```
//!
//! The `kid` is the vendor key's whole C2SP verifier-key string
//! (`name+hexid+base64(0x01||pk)`), so a claim is self-describing: anyone
//! can check its signature from the entry alone, and the 4-byte signed-note
//! key ID is inside it. The signature covers the RFC 9052 `Sig_structure`
//! `["Signature1", protected, h'', payload]`.
//!
//! Since the 2026 revision a signed claim may also be a SCITT *signed
//! statement* in full: its protected header then carries the CWT Claims
//! parameter (label 15, RFC 9597) with `iss` = the vendor key's name and
//! `sub` = the asset (`ni:///sha-256;…`, RFC 6920), and the vendor may sign
//! with ML-DSA-44 (COSE alg -48, kid = its type 0x06 vkey) instead of
//! Ed25519. [`SignedClaim::sign`] still makes the original form;
//! [`SignedClaim::sign_statement`] makes the SCITT form. Both verify.
//!
//! [`SignedClaim::from_bytes`] accepts exactly one encoding of each signed
//! claim: after checking the structure it rebuilds the canonical bytes from
//! the parsed parts and compares, so a log entry's hash is a function of its
//! content. `spec/signed-claim.md` is the normative description.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

use crate::cbor::{Cbor, CborError, decode as read_cbor, write_bytes, write_head, write_text};
use crate::claim::{Claim, ClaimError, MAX_CLAIM_SIZE};
use crate::cose::{self, Algorithm, CoseSigner};
use crate::ed25519_zip215::{self, BatchFailure, Item};
use crate::note::{NoteError, SIG_ED25519, SIG_ML_DSA_44, VerifierKey};

/// Largest signed claim (log entry) accepted, in bytes.
pub const MAX_ENTRY_SIZE: usize = 16 * 1024;
/// The COSE content type of the payload.
pub const CONTENT_TYPE: &str = "application/vnd.provlog.claim+cbor";
/// CBOR tag of a COSE_Sign1 message (RFC 9052 §2).
pub const COSE_SIGN1_TAG: u64 = cose::COSE_SIGN1_TAG;
/// Longest Ed25519 `kid` (vkey string) accepted, in bytes.
pub const MAX_KID_LEN: usize = 512;
/// Longest ML-DSA-44 `kid` accepted: a 255-byte name, `+`, 8 hex digits,
/// `+` and 1,752 base64 characters fit in it.
pub const MAX_ML_DSA_KID_LEN: usize = 2048;
/// Prefix of a claim's SCITT subject: an RFC 6920 Named Information URI of
/// the asset's SHA-256 (`ni:///sha-256;` then unpadded base64url).
pub const SUBJECT_PREFIX: &str = "ni:///sha-256;";
/// Nesting limit for the envelope: tag, array, and one level inside the
/// (required empty) unprotected map, so a non-empty one gets a precise error.
const MAX_ENVELOPE_DEPTH: usize = 4;
/// Nesting limit for the protected header: the map and one level inside.
const MAX_HEADER_DEPTH: usize = 2;

/// What is wrong with a signed claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedClaimError {
    /// The entry is over [`MAX_ENTRY_SIZE`].
    #[error("signed claim is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not one well-formed CBOR item within the limits.
    #[error("signed claim: {0}")]
    Cbor(CborError),
    /// The COSE_Sign1 is not wrapped in CBOR tag 18.
    #[error("signed claim must be a tagged COSE_Sign1 (CBOR tag 18)")]
    NotTagged,
    /// The item carries a tag other than 18.
    #[error("signed claim has CBOR tag {0}, expected 18 (COSE_Sign1)")]
    WrongTag(u64),
    /// The tagged item is not a 4-element array of the right types.
    #[error("malformed COSE_Sign1: {0}")]
    Structure(&'static str),
    /// The protected header bytes are not a CBOR map within the limits.
    #[error("protected header: {0}")]
    ProtectedHeaderCbor(CborError),
    /// The protected header is not a valid COSE header map.
    #[error("protected header is not a valid COSE header: {0}")]
    ProtectedHeader(String),
    /// The protected header has no `alg`.
    #[error("protected header has no alg (1); EdDSA (-8) or ML-DSA-44 (-48) is required")]
    MissingAlgorithm,
    /// The protected header's `alg` is not EdDSA or ML-DSA-44.
    #[error("protected header alg is {0}, but only EdDSA (-8) and ML-DSA-44 (-48) are accepted")]
    WrongAlgorithm(String),
    /// The CWT Claims parameter (15) is malformed or disagrees with the claim.
    #[error("CWT claims (15): {0}")]
    CwtClaims(String),
    /// The protected header has no content type.
    #[error("protected header has no content type (3); {CONTENT_TYPE:?} is required")]
    MissingContentType,
    /// The protected header's content type is not [`CONTENT_TYPE`].
    #[error("protected header content type is {0}, expected {CONTENT_TYPE:?}")]
    WrongContentType(String),
    /// The protected header has a parameter provlog does not define.
    #[error("protected header has unexpected parameter {0}")]
    UnexpectedHeaderParameter(String),
    /// The unprotected header is not empty.
    #[error("unprotected header must be empty, but has {0} entries")]
    UnprotectedNotEmpty(usize),
    /// The protected header has no `kid`.
    #[error("protected header has no kid (4); the vendor's vkey is required")]
    MissingKid,
    /// The `kid` is not a valid C2SP vkey string of the algorithm's type.
    #[error("kid is not a valid vkey for the algorithm: {0}")]
    InvalidKid(String),
    /// The `kid`'s public key is a small-order (weak) point.
    #[error("kid public key is a weak (small-order) Ed25519 key")]
    WeakKey,
    /// The payload is detached (nil).
    #[error("payload must be attached, but is nil (detached)")]
    DetachedPayload,
    /// The signature is not 64 (EdDSA) or 2,420 (ML-DSA-44) bytes.
    #[error("signature is {0} bytes, the wrong length for the algorithm")]
    BadSignatureLength(usize),
    /// ML-DSA-44 signing failed.
    #[error("signing: {0}")]
    Signing(String),
    /// The payload is not a valid claim.
    #[error("payload: {0}")]
    Claim(#[from] ClaimError),
    /// The message is valid but not in its one canonical encoding.
    #[error(
        "signed claim is not in canonical encoding (deterministic CBOR, protected header \
         exactly {{1: alg, 3: content type, 4: kid[, 15: {{1: iss, 2: sub}}]}})"
    )]
    NotCanonical,
    /// Signing: the vkey given as kid is not the signing key's public key.
    #[error("kid vkey does not belong to the signing key")]
    KeyMismatch,
    /// The signature does not verify under the kid's key.
    #[error("signature does not verify under the kid's public key")]
    BadSignature,
}

/// Parses the kid as a C2SP vkey of the algorithm's type: Ed25519
/// (`name+hexid+base64(0x01||pk)`) for EdDSA, ML-DSA-44 (type 0x06) for
/// ML-DSA-44. [`VerifierKey::parse`] is strict (lowercase hex ID that must
/// match the key, no weak keys), which keeps the kid string, and so the
/// entry bytes, unique per key.
fn parse_vkey(vkey: &str, alg: Algorithm) -> Result<VerifierKey, SignedClaimError> {
    let max = match alg {
        Algorithm::EdDsa => MAX_KID_LEN,
        Algorithm::MlDsa44 => MAX_ML_DSA_KID_LEN,
    };
    if vkey.len() > max {
        return Err(SignedClaimError::InvalidKid(format!(
            "{} bytes, over the {max}-byte limit",
            vkey.len()
        )));
    }
    let key = VerifierKey::parse(vkey).map_err(|e| match e {
        NoteError::WeakPublicKey => SignedClaimError::WeakKey,
        e => SignedClaimError::InvalidKid(e.to_string()),
    })?;
    let want = match alg {
        Algorithm::EdDsa => SIG_ED25519,
        Algorithm::MlDsa44 => SIG_ML_DSA_44,
    };
    if key.key_type() != want {
        return Err(SignedClaimError::InvalidKid(format!(
            "key type 0x{:02x} does not match alg {} (needs type 0x{want:02x})",
            key.key_type(),
            alg.cose_value()
        )));
    }
    if key.to_vkey() != vkey {
        return Err(SignedClaimError::InvalidKid(
            "vkey is not in its canonical form".to_string(),
        ));
    }
    Ok(key)
}

/// The SCITT statement identity of a signed claim in its statement form
/// (CWT Claims, protected header label 15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementClaims {
    /// `iss`: the name of the vendor key (the kid's key name).
    pub iss: String,
    /// `sub`: the asset, `ni:///sha-256;<base64url of asset.sha256>`.
    pub sub: String,
}

/// The SCITT subject of an asset: `ni:///sha-256;` + unpadded base64url
/// of its SHA-256 (RFC 6920 §3).
pub fn asset_subject(sha256: &[u8; 32]) -> String {
    format!("{SUBJECT_PREFIX}{}", B64URL.encode(sha256))
}

/// A signed claim: the log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedClaim {
    bytes: Vec<u8>,
    claim: Claim,
    kid: String,
    vendor_key: VerifierKey,
    algorithm: Algorithm,
    statement: Option<StatementClaims>,
    protected: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// The canonical protected header bytes: `{1: alg, 3: CONTENT_TYPE, 4:
/// kid}` or, in the statement form, `{1: alg, 3: CONTENT_TYPE, 4: kid, 15:
/// {1: iss, 2: sub}}` (keys in this order: deterministic CBOR). For EdDSA
/// without claims these are the bytes coset produces; a test checks that.
fn canonical_protected(alg: Algorithm, kid: &str, cwt: Option<&StatementClaims>) -> Vec<u8> {
    let mut out = Vec::with_capacity(kid.len() + CONTENT_TYPE.len() + 96);
    write_head(&mut out, 5, if cwt.is_some() { 4 } else { 3 });
    out.push(0x01); // 1:
    crate::cbor::write_int(&mut out, alg.cose_value());
    out.push(0x03); // 3:
    write_text(&mut out, CONTENT_TYPE);
    out.push(0x04); // 4:
    write_bytes(&mut out, kid.as_bytes());
    if let Some(c) = cwt {
        out.push(0x0f); // 15:
        write_head(&mut out, 5, 2);
        out.push(0x01); // iss
        write_text(&mut out, &c.iss);
        out.push(0x02); // sub
        write_text(&mut out, &c.sub);
    }
    out
}

/// The canonical entry bytes: tag 18, array of 4, protected, `{}`, payload, signature.
fn canonical_entry(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + signature.len() + 16);
    write_head(&mut out, 6, COSE_SIGN1_TAG);
    write_head(&mut out, 4, 4);
    write_bytes(&mut out, protected);
    write_head(&mut out, 5, 0);
    write_bytes(&mut out, payload);
    write_bytes(&mut out, signature);
    out
}

/// What an ML-DSA-44 claim answers to the Ed25519-only accessors
/// [`SignedClaim::public_key`] / [`SignedClaim::signature`]: a fixed key
/// (seed of zeros) and the all-zero signature, which never verify for any
/// message (R would have to be a point of order 4), so an Ed25519 batch
/// containing them fails and callers fall back to
/// [`SignedClaim::verify_signature`], which is authoritative.
fn placeholder_ed25519() -> (VerifyingKey, Signature) {
    (
        SigningKey::from_bytes(&[0u8; 32]).verifying_key(),
        Signature::from_bytes(&[0u8; 64]),
    )
}

impl SignedClaim {
    /// Validates and encodes `claim`, signs it with `key`, and names the key
    /// by `kid_vkey` (the vendor's C2SP vkey string, which must be `key`'s).
    ///
    /// This is the original form (EdDSA, no CWT Claims); its bytes are
    /// unchanged by the 2026 revision. New signers should use
    /// [`SignedClaim::sign_statement`], which adds the SCITT CWT Claims.
    pub fn sign(claim: &Claim, key: &SigningKey, kid_vkey: &str) -> Result<Self, SignedClaimError> {
        Self::sign_with(claim, CoseSigner::Ed25519(key), kid_vkey, false)
    }

    /// Signs `claim` as a SCITT signed statement: protected header `{1:
    /// alg, 3: content type, 4: kid, 15: {1: iss, 2: sub}}` with `iss` the
    /// kid's key name and `sub` the asset's [`asset_subject`]. `signer` is
    /// the vendor's Ed25519 key (alg EdDSA, kid a type 0x01 vkey) or
    /// ML-DSA-44 key (alg -48, kid a type 0x06 vkey).
    pub fn sign_statement(
        claim: &Claim,
        signer: CoseSigner<'_>,
        kid_vkey: &str,
    ) -> Result<Self, SignedClaimError> {
        Self::sign_with(claim, signer, kid_vkey, true)
    }

    fn sign_with(
        claim: &Claim,
        signer: CoseSigner<'_>,
        kid_vkey: &str,
        statement: bool,
    ) -> Result<Self, SignedClaimError> {
        claim.validate()?;
        let payload = claim.to_cbor();
        if payload.len() > MAX_CLAIM_SIZE {
            return Err(ClaimError::TooLarge {
                size: payload.len(),
                max: MAX_CLAIM_SIZE,
            }
            .into());
        }
        let alg = signer.algorithm();
        let vk = parse_vkey(kid_vkey, alg)?;
        if !signer.matches(&vk) {
            return Err(SignedClaimError::KeyMismatch);
        }
        let cwt = statement.then(|| StatementClaims {
            iss: vk.name().to_owned(),
            sub: asset_subject(&claim.asset.sha256),
        });
        let protected = canonical_protected(alg, kid_vkey, cwt.as_ref());
        let signature = signer
            .sign(&cose::sig_structure(&protected, &payload))
            .map_err(|e| SignedClaimError::Signing(e.to_string()))?;
        let bytes = canonical_entry(&protected, &payload, &signature);
        // Parse what we produced, so that signing can never create an entry
        // the decoder (and so the log) would refuse.
        Self::from_bytes(&bytes)
    }

    /// Parses an entry: size, COSE structure, header contents, kid, claim
    /// schema and canonical encoding. Does NOT check the signature; call
    /// [`SignedClaim::verify_signature`] (or batch-verify
    /// [`SignedClaim::signed_message`] / [`SignedClaim::signature`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignedClaimError> {
        Self::from_bytes_with(bytes, parse_vkey)
    }

    /// [`SignedClaim::from_bytes`] with the kid looked up in `cache` (and
    /// parsed and added when absent): the same answer, without the base64
    /// decoding, key-ID hash and point decompression for a known key.
    pub fn from_bytes_cached(bytes: &[u8], cache: &KeyCache) -> Result<Self, SignedClaimError> {
        Self::from_bytes_with(bytes, |kid, alg| cache.get_or_parse(kid, alg))
    }

    fn from_bytes_with(
        bytes: &[u8],
        resolve: impl FnOnce(&str, Algorithm) -> Result<VerifierKey, SignedClaimError>,
    ) -> Result<Self, SignedClaimError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(SignedClaimError::TooLarge {
                size: bytes.len(),
                max: MAX_ENTRY_SIZE,
            });
        }
        let value = read_cbor(bytes, MAX_ENVELOPE_DEPTH).map_err(SignedClaimError::Cbor)?;
        let inner = match value {
            Cbor::Tag(COSE_SIGN1_TAG, inner) => *inner,
            Cbor::Tag(t, _) => return Err(SignedClaimError::WrongTag(t)),
            _ => return Err(SignedClaimError::NotTagged),
        };
        let Cbor::Array(items) = inner else {
            return Err(SignedClaimError::Structure("expected an array"));
        };
        let [protected, unprotected, payload, signature]: [Cbor<'_>; 4] = items
            .try_into()
            .map_err(|_| SignedClaimError::Structure("expected an array of 4 items"))?;
        let Cbor::Bytes(protected) = protected else {
            return Err(SignedClaimError::Structure(
                "protected header must be a byte string",
            ));
        };
        match unprotected {
            Cbor::Map(m) if m.is_empty() => {}
            Cbor::Map(m) => return Err(SignedClaimError::UnprotectedNotEmpty(m.len())),
            _ => {
                return Err(SignedClaimError::Structure(
                    "unprotected header must be a map",
                ));
            }
        }
        let payload = match payload {
            Cbor::Bytes(p) => p,
            Cbor::Simple(22) => return Err(SignedClaimError::DetachedPayload),
            _ => {
                return Err(SignedClaimError::Structure("payload must be a byte string"));
            }
        };
        let Cbor::Bytes(signature) = signature else {
            return Err(SignedClaimError::Structure(
                "signature must be a byte string",
            ));
        };

        let header = parse_protected(protected)?;
        if signature.len() != header.alg.signature_len() {
            return Err(SignedClaimError::BadSignatureLength(signature.len()));
        }
        let vk = resolve(&header.kid, header.alg)?;
        if vk.ed25519_public_key().is_some_and(|k| k.is_weak()) {
            return Err(SignedClaimError::WeakKey);
        }
        let claim = Claim::from_cbor(payload)?;
        if let Some(c) = &header.cwt {
            if c.iss != vk.name() {
                return Err(SignedClaimError::CwtClaims(format!(
                    "iss {:?} is not the kid's key name {:?}",
                    c.iss,
                    vk.name()
                )));
            }
            let sub = asset_subject(&claim.asset.sha256);
            if c.sub != sub {
                return Err(SignedClaimError::CwtClaims(format!(
                    "sub {:?} is not the claim's asset {sub:?}",
                    c.sub
                )));
            }
        }

        // Everything parsed; the one remaining freedom is the encoding
        // (e.g. the order of the header keys). Rebuild the one canonical
        // form and compare.
        let protected_canonical = canonical_protected(header.alg, &header.kid, header.cwt.as_ref());
        if protected_canonical != protected
            || canonical_entry(&protected_canonical, payload, signature) != bytes
        {
            return Err(SignedClaimError::NotCanonical);
        }
        Ok(SignedClaim {
            bytes: bytes.to_vec(),
            claim,
            kid: header.kid,
            vendor_key: vk,
            algorithm: header.alg,
            statement: header.cwt,
            protected: protected_canonical,
            payload: payload.to_vec(),
            signature: signature.to_vec(),
        })
    }

    /// The entry bytes, exactly as logged (and as hashed into the tree).
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The claim (payload).
    pub fn claim(&self) -> &Claim {
        &self.claim
    }

    /// The kid: the vendor's vkey string.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The vendor's key, parsed from the kid (type 0x01 or 0x06).
    pub fn vendor_key(&self) -> &VerifierKey {
        &self.vendor_key
    }

    /// The signature algorithm: EdDSA or ML-DSA-44.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The CWT Claims (`iss`, `sub`) of the SCITT statement form, if present.
    pub fn statement_claims(&self) -> Option<&StatementClaims> {
        self.statement.as_ref()
    }

    /// The vendor's Ed25519 public key, parsed from the kid. (For batch
    /// verification use [`verify_claims`]: dalek's batch equation is not the
    /// claim rule.) For an ML-DSA-44 claim (check
    /// [`SignedClaim::algorithm`]) this is a fixed key that, with
    /// [`SignedClaim::signature`], never verifies.
    pub fn public_key(&self) -> VerifyingKey {
        match self.vendor_key.ed25519_public_key() {
            Some(k) => *k,
            None => placeholder_ed25519().0,
        }
    }

    /// The claim's CBOR bytes, as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Checks the signature: Ed25519 under the ZIP-215 rules
    /// ([`ed25519_zip215`], `spec/signed-claim.md` §1.1), ML-DSA-44 with the
    /// empty context. [`verify_claims`] gives the same answer for many
    /// claims at once.
    pub fn verify_signature(&self) -> Result<(), SignedClaimError> {
        let msg = self.signed_message();
        let ok = match self.zip215_item(&msg) {
            Some(item) => ed25519_zip215::verify_item(&item),
            None => cose::verify_signature(&self.vendor_key, self.algorithm, &msg, &self.signature),
        };
        if ok {
            Ok(())
        } else {
            Err(SignedClaimError::BadSignature)
        }
    }

    /// For an Ed25519 claim, its signature as a ZIP-215 [`Item`] over `msg`
    /// (which must be [`SignedClaim::signed_message`]); `None` for
    /// ML-DSA-44.
    pub fn zip215_item<'m>(&self, msg: &'m [u8]) -> Option<Item<'m>> {
        let pk = self.vendor_key.ed25519_public_key()?;
        let sig: [u8; 64] = self.signature.as_slice().try_into().ok()?;
        (self.algorithm == Algorithm::EdDsa).then(|| Item {
            key: pk.to_bytes(),
            msg,
            sig,
        })
    }

    /// The bytes the signature covers (the RFC 9052 `Sig_structure`).
    pub fn signed_message(&self) -> Vec<u8> {
        cose::sig_structure(&self.protected, &self.payload)
    }

    /// The Ed25519 signature. For an ML-DSA-44
    /// claim this is the all-zero signature, which never verifies (see
    /// [`SignedClaim::public_key`]); use [`SignedClaim::signature_bytes`].
    pub fn signature(&self) -> Signature {
        match self.algorithm {
            Algorithm::EdDsa => {
                Signature::from_slice(&self.signature).unwrap_or_else(|_| placeholder_ed25519().1)
            }
            Algorithm::MlDsa44 => placeholder_ed25519().1,
        }
    }

    /// The signature bytes (64 for EdDSA, 2,420 for ML-DSA-44).
    pub fn signature_bytes(&self) -> &[u8] {
        &self.signature
    }

    /// The protected header bytes, exactly as signed.
    pub fn protected_header(&self) -> &[u8] {
        &self.protected
    }
}

/// Checks the signature of every claim, with the answer
/// [`SignedClaim::verify_signature`] gives for each: the Ed25519 claims in
/// one ZIP-215 batch (falling back to single checks only when the batch
/// fails, to name the bad claims), ML-DSA-44 claims one by one. The error
/// lists the indexes (into `claims`) of every claim whose signature does not
/// verify, ascending.
pub fn verify_claims(claims: &[&SignedClaim]) -> Result<(), BatchFailure> {
    let msgs: Vec<Vec<u8>> = claims.iter().map(|c| c.signed_message()).collect();
    let mut items = Vec::with_capacity(claims.len());
    let mut at = Vec::with_capacity(claims.len());
    let mut bad = Vec::new();
    for (i, (c, msg)) in claims.iter().zip(&msgs).enumerate() {
        match c.zip215_item(msg) {
            Some(item) => {
                items.push(item);
                at.push(i);
            }
            None => {
                if c.verify_signature().is_err() {
                    bad.push(i);
                }
            }
        }
    }
    if let Err(f) = ed25519_zip215::verify_batch(&items) {
        bad.extend(f.bad.iter().map(|&j| at[j]));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        bad.sort_unstable();
        Err(BatchFailure { bad })
    }
}

/// A bounded cache of parsed vendor keys (kid string → [`VerifierKey`],
/// with its point decompressed and checked), shared by threads. Only keys
/// that parsed are kept; when the cache holds `capacity` keys, an arbitrary
/// one is dropped to make room, so memory stays bounded whatever kids an
/// attacker sends. A hit gives exactly what parsing would.
#[derive(Debug)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, VerifierKey>>,
    capacity: usize,
}

impl KeyCache {
    /// An empty cache holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            keys: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.keys.lock().map_or(0, |m| m.len())
    }

    /// Reports whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get_or_parse(&self, kid: &str, alg: Algorithm) -> Result<VerifierKey, SignedClaimError> {
        let want = match alg {
            Algorithm::EdDsa => SIG_ED25519,
            Algorithm::MlDsa44 => SIG_ML_DSA_44,
        };
        if let Ok(m) = self.keys.lock()
            && let Some(k) = m.get(kid)
            && k.key_type() == want
        {
            return Ok(k.clone());
        }
        // Parse outside the lock (it is the expensive part).
        let key = parse_vkey(kid, alg)?;
        if let Ok(mut m) = self.keys.lock() {
            if m.len() >= self.capacity
                && !m.contains_key(kid)
                && let Some(victim) = m.keys().next().cloned()
            {
                m.remove(&victim);
            }
            m.insert(kid.to_owned(), key.clone());
        }
        Ok(key)
    }
}

/// COSE header labels (RFC 9052 §3.1, RFC 9597).
const LABEL_ALG: u64 = 1;
const LABEL_CONTENT_TYPE: u64 = 3;
const LABEL_KID: u64 = 4;
const LABEL_CWT_CLAIMS: u64 = 15;

/// The parsed protected header.
struct Header {
    alg: Algorithm,
    kid: String,
    cwt: Option<StatementClaims>,
}

/// The name of a COSE header label, for error messages.
fn label_name(label: &Cbor<'_>) -> String {
    match label.as_i64() {
        Some(2) => "crit (2)".into(),
        Some(5) => "IV (5)".into(),
        Some(6) => "partial IV (6)".into(),
        Some(7) => "counter signature (7)".into(),
        Some(n) => format!("label {n}"),
        None => match label {
            Cbor::Text(t) => format!("label {t:?}"),
            other => format!("a {} label", other.kind()),
        },
    }
}

/// The name of a COSE algorithm value, for error messages.
fn alg_name(alg: &Cbor<'_>) -> String {
    match alg.as_i64() {
        Some(-7) => "ES256 (-7)".into(),
        Some(-35) => "ES384 (-35)".into(),
        Some(-36) => "ES512 (-36)".into(),
        Some(-37) => "PS256 (-37)".into(),
        Some(-257) => "RS256 (-257)".into(),
        Some(n) => n.to_string(),
        None => match alg {
            Cbor::Text(t) => format!("{t:?} (a text algorithm name)"),
            other => format!("a {}", other.kind()),
        },
    }
}

/// Parses the CWT Claims map: exactly `iss` (1) and `sub` (2), both text.
fn parse_cwt(v: &Cbor<'_>) -> Result<StatementClaims, SignedClaimError> {
    let bad = |m: &str| SignedClaimError::CwtClaims(m.to_owned());
    let Cbor::Map(entries) = v else {
        return Err(bad("not a map"));
    };
    let (mut iss, mut sub) = (None, None);
    for (k, v) in entries {
        let slot = match k {
            Cbor::Uint(1) => &mut iss,
            Cbor::Uint(2) => &mut sub,
            _ => return Err(bad("only iss (1) and sub (2) are allowed")),
        };
        let Cbor::Text(t) = v else {
            return Err(bad("iss and sub must be text strings"));
        };
        if slot.replace((*t).to_owned()).is_some() {
            return Err(bad("duplicate claim"));
        }
    }
    match (iss, sub) {
        (Some(iss), Some(sub)) => Ok(StatementClaims { iss, sub }),
        _ => Err(bad("iss (1) and sub (2) are both required")),
    }
}

/// Checks the protected header. The header must be a map with integer
/// labels, each at most once: alg (1) = EdDSA (-8) or ML-DSA-44 (-48),
/// content type (3) = [`CONTENT_TYPE`], kid (4) = the vkey bytes,
/// optionally CWT Claims (15), and nothing else.
fn parse_protected(protected: &[u8]) -> Result<Header, SignedClaimError> {
    let value =
        read_cbor(protected, MAX_HEADER_DEPTH).map_err(SignedClaimError::ProtectedHeaderCbor)?;
    let Cbor::Map(entries) = value else {
        return Err(SignedClaimError::ProtectedHeader(
            "the header is not a map".into(),
        ));
    };
    let (mut alg, mut ct, mut kid, mut cwt) = (None, None, None, None);
    let mut unexpected = None;
    for (i, (label, v)) in entries.iter().enumerate() {
        if entries[..i].iter().any(|(l, _)| l == label) {
            return Err(SignedClaimError::ProtectedHeader(format!(
                "duplicate {}",
                label_name(label)
            )));
        }
        match label {
            Cbor::Uint(LABEL_ALG) => match v {
                Cbor::Uint(_) | Cbor::Nint(_) | Cbor::Text(_) => alg = Some(v),
                other => {
                    return Err(SignedClaimError::ProtectedHeader(format!(
                        "alg is a {}",
                        other.kind()
                    )));
                }
            },
            Cbor::Uint(LABEL_CONTENT_TYPE) => match v {
                Cbor::Uint(_) | Cbor::Text(_) => ct = Some(v),
                other => {
                    return Err(SignedClaimError::ProtectedHeader(format!(
                        "content type is a {}",
                        other.kind()
                    )));
                }
            },
            Cbor::Uint(LABEL_KID) => match v {
                Cbor::Bytes(b) => kid = Some(*b),
                other => {
                    return Err(SignedClaimError::ProtectedHeader(format!(
                        "kid is a {}, not a byte string",
                        other.kind()
                    )));
                }
            },
            Cbor::Uint(LABEL_CWT_CLAIMS) => cwt = Some(parse_cwt(v)?),
            Cbor::Uint(_) | Cbor::Nint(_) | Cbor::Text(_) => {
                unexpected.get_or_insert_with(|| label_name(label));
            }
            other => {
                return Err(SignedClaimError::ProtectedHeader(format!(
                    "a {} label",
                    other.kind()
                )));
            }
        }
    }
    let alg = match alg {
        None => return Err(SignedClaimError::MissingAlgorithm),
        Some(a) => match a.as_i64().and_then(Algorithm::from_cose) {
            Some(alg) => alg,
            None => return Err(SignedClaimError::WrongAlgorithm(alg_name(a))),
        },
    };
    match ct {
        None => return Err(SignedClaimError::MissingContentType),
        Some(Cbor::Text(t)) if *t == CONTENT_TYPE => {}
        Some(Cbor::Text(t)) => return Err(SignedClaimError::WrongContentType(format!("{t:?}"))),
        Some(other) => {
            return Err(SignedClaimError::WrongContentType(format!(
                "CoAP content format {}",
                other.as_i64().unwrap_or(-1)
            )));
        }
    }
    if let Some(label) = unexpected {
        return Err(SignedClaimError::UnexpectedHeaderParameter(label));
    }
    let kid = match kid {
        None | Some([]) => return Err(SignedClaimError::MissingKid),
        Some(b) => String::from_utf8(b.to_vec())
            .map_err(|_| SignedClaimError::InvalidKid("not UTF-8".to_string()))?,
    };
    Ok(Header { alg, kid, cwt })
}
