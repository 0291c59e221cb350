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
//! [`SignedClaim::from_bytes`] accepts exactly one encoding of each signed
//! claim: after checking the structure it rebuilds the canonical bytes from
//! the parsed parts and compares, so a log entry's hash is a function of its
//! content. `spec/signed-claim.md` is the normative description.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::cbor::{Cbor, CborError, decode as read_cbor, write_bytes, write_head, write_text};
use crate::claim::{Claim, ClaimError, MAX_CLAIM_SIZE};
use crate::note::{NoteError, SIG_ED25519, VerifierKey};

/// Largest signed claim (log entry) accepted, in bytes.
pub const MAX_ENTRY_SIZE: usize = 16 * 1024;
/// The COSE content type of the payload.
pub const CONTENT_TYPE: &str = "application/vnd.provlog.claim+cbor";
/// CBOR tag of a COSE_Sign1 message (RFC 9052 §2).
pub const COSE_SIGN1_TAG: u64 = 18;
/// Longest `kid` (vkey string) accepted, in bytes.
pub const MAX_KID_LEN: usize = 512;
/// Signed-note signature type byte of an Ed25519 key (C2SP signed-note).
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
    #[error("protected header has no alg (1); EdDSA (-8) is required")]
    MissingAlgorithm,
    /// The protected header's `alg` is not EdDSA.
    #[error("protected header alg is {0}, but only EdDSA (-8) is accepted")]
    WrongAlgorithm(String),
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
    /// The `kid` is not a valid Ed25519 C2SP vkey string.
    #[error("kid is not a valid Ed25519 vkey: {0}")]
    InvalidKid(String),
    /// The `kid`'s public key is a small-order (weak) point.
    #[error("kid public key is a weak (small-order) Ed25519 key")]
    WeakKey,
    /// The payload is detached (nil).
    #[error("payload must be attached, but is nil (detached)")]
    DetachedPayload,
    /// The signature is not 64 bytes.
    #[error("signature is {0} bytes, expected 64")]
    BadSignatureLength(usize),
    /// The payload is not a valid claim.
    #[error("payload: {0}")]
    Claim(#[from] ClaimError),
    /// The message is valid but not in its one canonical encoding.
    #[error(
        "signed claim is not in canonical encoding (deterministic CBOR, protected header \
         exactly {{1: -8, 3: content type, 4: kid}})"
    )]
    NotCanonical,
    /// Signing: the vkey given as kid is not the signing key's public key.
    #[error("kid vkey does not belong to the signing key")]
    KeyMismatch,
    /// The signature does not verify under the kid's key.
    #[error("signature does not verify under the kid's public key")]
    BadSignature,
}

/// Parses the kid as an Ed25519 C2SP vkey (`name+hexid+base64(0x01||pk)`).
/// [`VerifierKey::parse`] is strict (lowercase hex ID that must match the
/// key, no weak keys), which keeps the kid string, and so the entry bytes,
/// unique per key.
fn parse_vkey(vkey: &str) -> Result<VerifierKey, SignedClaimError> {
    let key = VerifierKey::parse(vkey).map_err(|e| match e {
        NoteError::WeakPublicKey => SignedClaimError::WeakKey,
        e => SignedClaimError::InvalidKid(e.to_string()),
    })?;
    if key.key_type() != SIG_ED25519 {
        return Err(SignedClaimError::InvalidKid(format!(
            "key type 0x{:02x} is not Ed25519 (0x01)",
            key.key_type()
        )));
    }
    if key.to_vkey() != vkey {
        return Err(SignedClaimError::InvalidKid(
            "vkey is not in its canonical form".to_string(),
        ));
    }
    Ok(key)
}

/// A signed claim: the log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedClaim {
    bytes: Vec<u8>,
    claim: Claim,
    kid: String,
    public_key: VerifyingKey,
    protected: Vec<u8>,
    payload: Vec<u8>,
    signature: Signature,
}

/// RFC 9052 §4.4 `Sig_structure` for a COSE_Sign1 with empty external AAD:
/// `["Signature1", protected, h'', payload]`.
fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    write_head(&mut out, 4, 4);
    write_text(&mut out, "Signature1");
    write_bytes(&mut out, protected);
    write_bytes(&mut out, &[]);
    write_bytes(&mut out, payload);
    out
}

/// The canonical protected header bytes `{1: -8, 3: CONTENT_TYPE, 4: kid}`
/// (the same bytes coset produces for that header; a test checks that).
fn canonical_protected(kid: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(kid.len() + CONTENT_TYPE.len() + 12);
    write_head(&mut out, 5, 3);
    out.extend_from_slice(&[0x01, 0x27, 0x03]); // 1: -8, 3:
    write_text(&mut out, CONTENT_TYPE);
    out.push(0x04); // 4:
    write_bytes(&mut out, kid.as_bytes());
    out
}

/// The canonical entry bytes: tag 18, array of 4, protected, `{}`, payload, signature.
fn canonical_entry(protected: &[u8], payload: &[u8], signature: &Signature) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 80);
    write_head(&mut out, 6, COSE_SIGN1_TAG);
    write_head(&mut out, 4, 4);
    write_bytes(&mut out, protected);
    write_head(&mut out, 5, 0);
    write_bytes(&mut out, payload);
    write_bytes(&mut out, &signature.to_bytes());
    out
}

impl SignedClaim {
    /// Validates and encodes `claim`, signs it with `key`, and names the key
    /// by `kid_vkey` (the vendor's C2SP vkey string, which must be `key`'s).
    pub fn sign(claim: &Claim, key: &SigningKey, kid_vkey: &str) -> Result<Self, SignedClaimError> {
        claim.validate()?;
        let payload = claim.to_cbor();
        if payload.len() > MAX_CLAIM_SIZE {
            return Err(ClaimError::TooLarge {
                size: payload.len(),
                max: MAX_CLAIM_SIZE,
            }
            .into());
        }
        if kid_vkey.len() > MAX_KID_LEN {
            return Err(SignedClaimError::InvalidKid(format!(
                "{} bytes, over the {MAX_KID_LEN}-byte limit",
                kid_vkey.len()
            )));
        }
        let vk = parse_vkey(kid_vkey)?;
        if vk.ed25519_public_key() != Some(&key.verifying_key()) {
            return Err(SignedClaimError::KeyMismatch);
        }
        let protected = canonical_protected(kid_vkey);
        let signature = key.sign(&sig_structure(&protected, &payload));
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
        let signature = Signature::from_slice(signature)
            .map_err(|_| SignedClaimError::BadSignatureLength(signature.len()))?;

        let kid = parse_protected(protected)?;
        if kid.len() > MAX_KID_LEN {
            return Err(SignedClaimError::InvalidKid(format!(
                "{} bytes, over the {MAX_KID_LEN}-byte limit",
                kid.len()
            )));
        }
        let vk = parse_vkey(&kid)?;
        if vk.ed25519_public_key().is_none_or(|k| k.is_weak()) {
            return Err(SignedClaimError::WeakKey);
        }
        let claim = Claim::from_cbor(payload)?;

        // Everything parsed; the one remaining freedom is the encoding
        // (e.g. the order of the header keys). Rebuild the one canonical
        // form and compare.
        let protected_canonical = canonical_protected(&kid);
        if protected_canonical != protected
            || canonical_entry(&protected_canonical, payload, &signature) != bytes
        {
            return Err(SignedClaimError::NotCanonical);
        }
        Ok(SignedClaim {
            bytes: bytes.to_vec(),
            claim,
            kid,
            public_key: *vk.ed25519_public_key().ok_or(SignedClaimError::WeakKey)?,
            protected: protected_canonical,
            payload: payload.to_vec(),
            signature,
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

    /// The vendor's public key, parsed from the kid.
    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// The claim's CBOR bytes, as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Checks the signature with `verify_strict` (rejects non-canonical
    /// signatures and small-order keys/points).
    pub fn verify_signature(&self) -> Result<(), SignedClaimError> {
        self.public_key
            .verify_strict(&self.signed_message(), &self.signature)
            .map_err(|_| SignedClaimError::BadSignature)
    }

    /// The bytes the signature covers (the RFC 9052 `Sig_structure`), for
    /// batch verification with [`ed25519_dalek::verify_batch`].
    pub fn signed_message(&self) -> Vec<u8> {
        sig_structure(&self.protected, &self.payload)
    }

    /// The Ed25519 signature.
    pub fn signature(&self) -> Signature {
        self.signature
    }
}

/// COSE header labels (RFC 9052 §3.1) and the EdDSA algorithm value.
const LABEL_ALG: u64 = 1;
const LABEL_CONTENT_TYPE: u64 = 3;
const LABEL_KID: u64 = 4;
const ALG_EDDSA: i64 = -8;

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

/// Checks the protected header and returns the kid string. The header must
/// be a map with integer labels, each at most once: alg (1) = EdDSA (-8),
/// content type (3) = [`CONTENT_TYPE`], kid (4) = the vkey bytes, and
/// nothing else.
fn parse_protected(protected: &[u8]) -> Result<String, SignedClaimError> {
    let value =
        read_cbor(protected, MAX_HEADER_DEPTH).map_err(SignedClaimError::ProtectedHeaderCbor)?;
    let Cbor::Map(entries) = value else {
        return Err(SignedClaimError::ProtectedHeader(
            "the header is not a map".into(),
        ));
    };
    let (mut alg, mut ct, mut kid) = (None, None, None);
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
    match alg {
        None => return Err(SignedClaimError::MissingAlgorithm),
        Some(a) if a.as_i64() == Some(ALG_EDDSA) => {}
        Some(a) => return Err(SignedClaimError::WrongAlgorithm(alg_name(a))),
    }
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
    match kid {
        None | Some([]) => Err(SignedClaimError::MissingKid),
        Some(b) => String::from_utf8(b.to_vec())
            .map_err(|_| SignedClaimError::InvalidKid("not UTF-8".to_string())),
    }
}
