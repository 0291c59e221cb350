//! C2SP signed-note: text signed by one or more keys, and the key formats
//! that go with it.
//!
//! Supported signature types are Ed25519 (`0x01`, used by logs),
//! timestamped Ed25519 cosignatures (`0x04`, c2sp.org/tlog-cosignature,
//! "cosignature/v1") and timestamped ML-DSA-44 checkpoint cosignatures
//! (`0x06`, tlog-cosignature "subtree/v1", used by witnesses and, as
//! tlog-checkpoint now recommends, by logs). The normative description is
//! `spec/notes.md`.
//!
//! [`VerifierKey`] holds any of the three; [`NoteSigner`] signs with the
//! Ed25519 types and [`MlDsa44NoteSigner`] with `0x06`.
//!
//! Parsing is strict and bounded: a note larger than [`MAX_NOTE_SIZE`] bytes or
//! with more than [`MAX_SIGNATURES`] signature lines is rejected before any
//! signature work is done, and every malformed input is an error, never a panic.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::checkpoint::Checkpoint;
use crate::mldsa::{
    ML_DSA_44_PUBLIC_KEY_LEN, ML_DSA_44_SIGNATURE_LEN, ML_DSA_SEED_LEN, MlDsa44PublicKey,
    MlDsa44SigningKey, MlDsaError,
};

/// Signature type byte of plain Ed25519 note signatures (C2SP signed-note).
pub const SIG_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 witness cosignatures
/// (C2SP tlog-cosignature, "cosignature/v1").
pub const SIG_COSIGNATURE_V1: u8 = 0x04;
/// Signature type byte of timestamped ML-DSA-44 (sub)tree cosignatures
/// (C2SP signed-note and tlog-cosignature, "subtree/v1").
pub const SIG_ML_DSA_44: u8 = 0x06;
/// Domain-separation label of the ML-DSA-44 signed message (tlog-cosignature).
pub const SUBTREE_V1_LABEL: &[u8; 12] = b"subtree/v1\n\0";

/// Largest signed note (text plus signature lines) that [`Note::parse`] accepts, in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Largest number of signature lines that [`Note::parse`] accepts. The spec
/// requires at least 16 to be accepted.
pub const MAX_SIGNATURES: usize = 100;

/// Length of an Ed25519 signature.
const ED25519_SIG_LEN: usize = 64;
/// Length of a cosignature/v1 signature: u64 timestamp then the Ed25519 signature.
const COSIG_LEN: usize = 8 + ED25519_SIG_LEN;
/// Length of a subtree/v1 signature: u64 timestamp then the ML-DSA-44 signature.
const ML_DSA_COSIG_LEN: usize = 8 + ML_DSA_44_SIGNATURE_LEN;
/// Longest name or origin the subtree/v1 message can carry (`opaque <1..2^8-1>`).
const MAX_SUBTREE_NAME_LEN: usize = 255;
/// Prefix of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Prefix of a private key string (Go's sumdb/note format).
const SKEY_PREFIX: &str = "PRIVATE+KEY+";
/// Cosignature timestamps must fit in a signed 64-bit integer (tlog-cosignature).
const MAX_COSIG_TIMESTAMP: u64 = i64::MAX as u64;

/// Errors from parsing, signing or verifying notes and keys. Each message
/// says which part of the input was wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// A key name is empty, or contains a Unicode space, a `+` or a control character.
    #[error("invalid key name {0:?}: must be non-empty, without spaces, '+' or control characters")]
    InvalidKeyName(String),
    /// A verifier key string does not have the `name+hexid+base64` shape.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A private key string does not have the `PRIVATE+KEY+name+hexid+base64` shape.
    #[error("malformed private key: {0}")]
    MalformedSignerKey(&'static str),
    /// The key ID written in a key string is not the one computed from its name and key.
    #[error("key id {found:08x} of key {name:?} does not match the computed id {computed:08x}")]
    KeyIdMismatch {
        /// Key name.
        name: String,
        /// The ID written in the key string.
        found: u32,
        /// The ID computed from name, type and public key.
        computed: u32,
    },
    /// The signature type byte is not one this implementation supports
    /// (or not one the operation supports, e.g. an Ed25519 signer of type 0x06).
    #[error(
        "unsupported signature type 0x{0:02x} (supported: 0x01 Ed25519, 0x04 cosignature/v1, 0x06 ML-DSA-44 subtree/v1)"
    )]
    UnsupportedKeyType(u8),
    /// An ML-DSA-44 (0x06) key name longer than the 255 bytes its signed message can carry.
    #[error("ML-DSA-44 key name {0:?} is longer than 255 bytes")]
    KeyNameTooLong(String),
    /// ML-DSA-44 signing failed.
    #[error("ML-DSA-44: {0}")]
    MlDsa(#[from] MlDsaError),
    /// The public key bytes are not a valid Ed25519 point.
    #[error("invalid Ed25519 public key: {0}")]
    InvalidPublicKey(&'static str),
    /// The public key is a weak (small-order) point: signatures by it prove nothing.
    #[error("invalid Ed25519 public key: small-order (weak) key")]
    WeakPublicKey,
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The note contains an ASCII control character other than newline.
    #[error("note contains control character 0x{byte:02x} at byte offset {offset}")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
        /// The character.
        byte: u8,
    },
    /// The note text is empty or does not end with a newline.
    #[error("note text must be non-empty and end with a newline")]
    TextMissingNewline,
    /// No blank line separates the text from a newline-terminated signature block.
    #[error(
        "note has no signature block: expected text, a blank line, then signature lines each ending in a newline"
    )]
    MissingSignatureBlock,
    /// A signature line is malformed.
    #[error("signature line {line}: {reason}")]
    MalformedSignatureLine {
        /// 1-based index of the signature line within the signature block.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature whose name and key ID match a known key did not verify.
    #[error("signature by known key {name}+{key_id:08x} does not verify")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// Two different known keys share the same name and key ID, so a
    /// signature cannot be attributed.
    #[error("two different known keys share name {name:?} and key id {key_id:08x}")]
    AmbiguousKey {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No signature on the note is from a known key.
    #[error("note has no signature from any known key")]
    NoKnownSignature,
    /// A cosignature timestamp is larger than 2^63 - 1.
    #[error("cosignature timestamp {0} exceeds 2^63-1")]
    TimestampOutOfRange(u64),
    /// [`Note::sign_text`] was given no signers: a note needs at least one signature.
    #[error("a signed note needs at least one signer")]
    NoSigners,
    /// The operating system random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// Computes a C2SP key ID: the first four bytes, big-endian, of
/// SHA-256(name || 0x0A || key_type || public_key).
pub fn key_id(name: &str, key_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Reports whether `name` may be used as a key name: non-empty, no Unicode
/// white space, no `+`, and (so it can appear in a note at all) no control
/// characters.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// The Ed25519 signature types (what [`NoteSigner`] and [`VerifierKey::new`] take).
fn check_type(key_type: u8) -> Result<(), NoteError> {
    match key_type {
        SIG_ED25519 | SIG_COSIGNATURE_V1 => Ok(()),
        other => Err(NoteError::UnsupportedKeyType(other)),
    }
}

/// An ML-DSA-44 key name must also fit the subtree/v1 message (1..=255 bytes).
fn check_ml_dsa_name(name: &str) -> Result<(), NoteError> {
    check_name(name)?;
    if name.len() > MAX_SUBTREE_NAME_LEN {
        return Err(NoteError::KeyNameTooLong(name.to_owned()));
    }
    Ok(())
}

/// Parses exactly eight lowercase hex digits (the canonical form C2SP uses).
fn parse_hex_id(s: &str) -> Option<u32> {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Splits and syntax-checks `name+hexid+base64(type||key bytes)`, the shape
/// shared by vkeys and (after `PRIVATE+KEY+`) skeys. `err` wraps a message in
/// the caller's error variant; `shape` and `bytes` describe what was
/// expected. `key_len` gives the key length a type byte requires (`None`:
/// unsupported type, reported as such).
fn parse_key_fields<'a>(
    s: &'a str,
    err: fn(&'static str) -> NoteError,
    shape: &'static str,
    bytes: &'static str,
    key_len: fn(u8) -> Option<usize>,
) -> Result<(&'a str, u32, u8, Vec<u8>), NoteError> {
    // The name cannot contain '+', but base64 can, so split at most twice.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hex_id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(shape));
    };
    check_name(name)?;
    let id = parse_hex_id(hex_id).ok_or(err("key id must be 8 lowercase hex digits"))?;
    // The longest key (ML-DSA-44, 1 + 1312 bytes) is 1,752 base64
    // characters: refuse anything longer before decoding.
    if b64.len() > 1800 {
        return Err(err(bytes));
    }
    let raw = B64
        .decode(b64)
        .map_err(|_| err("key is not canonical base64"))?;
    let (&key_type, key) = raw.split_first().ok_or(err(bytes))?;
    let want = key_len(key_type).ok_or(NoteError::UnsupportedKeyType(key_type))?;
    if key.len() != want {
        return Err(err(bytes));
    }
    Ok((name, id, key_type, key.to_vec()))
}

/// Public key length of each supported vkey type.
fn public_key_len(key_type: u8) -> Option<usize> {
    match key_type {
        SIG_ED25519 | SIG_COSIGNATURE_V1 => Some(32),
        SIG_ML_DSA_44 => Some(ML_DSA_44_PUBLIC_KEY_LEN),
        _ => None,
    }
}

/// The public key of a [`VerifierKey`]: Ed25519 (types 0x01, 0x04) or
/// ML-DSA-44 (type 0x06).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An RFC 8032 Ed25519 public key (not small-order).
    Ed25519(VerifyingKey),
    /// A FIPS 204 ML-DSA-44 public key.
    MlDsa44(Box<MlDsa44PublicKey>),
}

impl PublicKey {
    /// The encoded key: 32 bytes (Ed25519) or 1,312 bytes (ML-DSA-44).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(k) => k.as_bytes(),
            PublicKey::MlDsa44(k) => k.as_bytes(),
        }
    }
}

/// A verifier key: a key name, its key ID, the signature type and the
/// public key. Text form (a "vkey"): `name+hexid+base64(type||pk)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key_type: u8,
    public: PublicKey,
}

impl VerifierKey {
    /// Builds an Ed25519 verifier key (type 0x01 or 0x04) from its parts,
    /// computing the key ID.
    pub fn new(name: &str, key_type: u8, public: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        check_type(key_type)?;
        if public.is_weak() {
            return Err(NoteError::WeakPublicKey);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key_type, public.as_bytes()),
            key_type,
            public: PublicKey::Ed25519(public),
        })
    }

    /// Builds an ML-DSA-44 (type 0x06) verifier key, computing the key ID.
    /// The name must be at most 255 bytes (it is part of the signed message).
    pub fn new_ml_dsa_44(name: &str, public: MlDsa44PublicKey) -> Result<Self, NoteError> {
        check_ml_dsa_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, SIG_ML_DSA_44, public.as_bytes()),
            key_type: SIG_ML_DSA_44,
            public: PublicKey::MlDsa44(Box::new(public)),
        })
    }

    /// Parses a vkey string `name+hexid+base64(type||pk)`. The hex ID must be
    /// eight lowercase digits, the base64 canonical standard encoding, the
    /// type 0x01 or 0x04 with a valid non-weak 32-byte Ed25519 point, or
    /// 0x06 with a 1,312-byte ML-DSA-44 key (and a name of at most 255
    /// bytes), and the ID must equal the one computed from the name, type
    /// and key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, found, key_type, pk) = parse_key_fields(
            vkey,
            NoteError::MalformedVerifierKey,
            "expected name+hexid+base64key",
            "key must be a type byte followed by a 32-byte Ed25519 or 1312-byte ML-DSA-44 public key",
            public_key_len,
        )?;
        let computed = key_id(name, key_type, &pk);
        if computed != found {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                found,
                computed,
            });
        }
        if key_type == SIG_ML_DSA_44 {
            let public = MlDsa44PublicKey::from_bytes(&pk)?;
            return Self::new_ml_dsa_44(name, public);
        }
        let pk: [u8; 32] = pk
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::InvalidPublicKey("not 32 bytes"))?;
        let public = VerifyingKey::from_bytes(&pk)
            .map_err(|_| NoteError::InvalidPublicKey("not a valid curve point"))?;
        Self::new(name, key_type, public)
    }

    /// Formats the key as a vkey string `name+hexid+base64(type||pk)`.
    pub fn to_vkey(&self) -> String {
        let pk = self.public.as_bytes();
        let mut raw = Vec::with_capacity(1 + pk.len());
        raw.push(self.key_type);
        raw.extend_from_slice(pk);
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }

    /// For an Ed25519 log key (type 0x01), the key it signs its checkpoint
    /// timestamps with: the same public key as a cosignature/v1 (0x04) key
    /// of the same name (so a different key ID). `None` for other types.
    /// See `spec/checkpoint.md` §2 for why the one key serves both.
    pub fn timestamp_key(&self) -> Option<VerifierKey> {
        match (&self.public, self.key_type) {
            (PublicKey::Ed25519(pk), SIG_ED25519) => {
                VerifierKey::new(&self.name, SIG_COSIGNATURE_V1, *pk).ok()
            }
            _ => None,
        }
    }

    /// The key name (which appears in signature lines).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type: [`SIG_ED25519`], [`SIG_COSIGNATURE_V1`] or [`SIG_ML_DSA_44`].
    pub fn key_type(&self) -> u8 {
        self.key_type
    }

    /// The public key (Ed25519 or ML-DSA-44; `.as_bytes()` gives its
    /// encoding). Before ML-DSA-44 support this returned the Ed25519
    /// `VerifyingKey`: use [`VerifierKey::ed25519_public_key`] for that.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The Ed25519 public key, for types 0x01 and 0x04 (`None` for ML-DSA-44).
    pub fn ed25519_public_key(&self) -> Option<&VerifyingKey> {
        match &self.public {
            PublicKey::Ed25519(k) => Some(k),
            PublicKey::MlDsa44(_) => None,
        }
    }

    /// The ML-DSA-44 public key, for type 0x06.
    pub fn ml_dsa_44_public_key(&self) -> Option<&MlDsa44PublicKey> {
        match &self.public {
            PublicKey::MlDsa44(k) => Some(k),
            PublicKey::Ed25519(_) => None,
        }
    }

    /// The encoded public key (32 or 1,312 bytes), as in the vkey and key ID.
    pub fn public_key_bytes(&self) -> &[u8] {
        self.public.as_bytes()
    }

    /// Verifies one signature (the bytes after the key ID) over `text`.
    /// Returns the cosignature timestamp for types 0x04 and 0x06. For 0x06
    /// the text must be a checkpoint (`checkpoint` is its parse, done once
    /// per note by the caller); anything else cannot verify.
    fn verify_sig(
        &self,
        text: &str,
        checkpoint: Option<&Checkpoint>,
        sig: &[u8],
    ) -> Result<Option<u64>, ()> {
        match (&self.public, self.key_type) {
            (PublicKey::Ed25519(pk), SIG_ED25519) => {
                let bytes: [u8; ED25519_SIG_LEN] = sig.try_into().map_err(|_| ())?;
                pk.verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
                    .map_err(|_| ())?;
                Ok(None)
            }
            (PublicKey::Ed25519(pk), SIG_COSIGNATURE_V1) => {
                let (ts, rest) = split_timestamp(sig, COSIG_LEN)?;
                let bytes: [u8; ED25519_SIG_LEN] = rest.try_into().map_err(|_| ())?;
                let msg = cosignature_message(text, ts);
                pk.verify_strict(&msg, &Signature::from_bytes(&bytes))
                    .map_err(|_| ())?;
                Ok(Some(ts))
            }
            (PublicKey::MlDsa44(pk), SIG_ML_DSA_44) => {
                let (ts, rest) = split_timestamp(sig, ML_DSA_COSIG_LEN)?;
                let cp = checkpoint.ok_or(())?;
                let msg =
                    subtree_message(&self.name, ts, &cp.origin, 0, cp.size, &cp.root).ok_or(())?;
                if pk.verify(&msg, rest) {
                    Ok(Some(ts))
                } else {
                    Err(())
                }
            }
            // Construction only admits the three pairs above.
            _ => Err(()),
        }
    }
}

/// Splits a timestamped signature of exactly `len` bytes into its
/// big-endian timestamp (at most 2^63 - 1) and the signature proper.
fn split_timestamp(sig: &[u8], len: usize) -> Result<(u64, &[u8]), ()> {
    if sig.len() != len {
        return Err(());
    }
    let (ts, rest) = sig.split_at(8);
    let ts = u64::from_be_bytes(ts.try_into().map_err(|_| ())?);
    if ts > MAX_COSIG_TIMESTAMP {
        return Err(());
    }
    Ok((ts, rest))
}

/// The message an ML-DSA-44 cosignature signs (tlog-cosignature
/// "ML-DSA-44 signed message", TLS presentation language):
///
/// ```text
/// "subtree/v1\n\0" || u8(len(name)) || name || u64(timestamp)
///   || u8(len(origin)) || origin || u64(start) || u64(end) || hash[32]
/// ```
///
/// For a checkpoint `start` is 0 and `end` its size. `None` if the name
/// or origin is empty or longer than 255 bytes (not representable).
pub fn subtree_message(
    cosigner_name: &str,
    timestamp: u64,
    origin: &str,
    start: u64,
    end: u64,
    hash: &[u8; 32],
) -> Option<Vec<u8>> {
    let name_len = u8::try_from(cosigner_name.len()).ok().filter(|&n| n > 0)?;
    let origin_len = u8::try_from(origin.len()).ok().filter(|&n| n > 0)?;
    let mut msg = Vec::with_capacity(12 + 2 + cosigner_name.len() + origin.len() + 24 + 32);
    msg.extend_from_slice(SUBTREE_V1_LABEL);
    msg.push(name_len);
    msg.extend_from_slice(cosigner_name.as_bytes());
    msg.extend_from_slice(&timestamp.to_be_bytes());
    msg.push(origin_len);
    msg.extend_from_slice(origin.as_bytes());
    msg.extend_from_slice(&start.to_be_bytes());
    msg.extend_from_slice(&end.to_be_bytes());
    msg.extend_from_slice(hash);
    Some(msg)
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The message a cosignature/v1 signs: `cosignature/v1\ntime <ts>\n` then the
/// note text (tlog-cosignature, "Ed25519 signed message").
pub fn cosignature_message(text: &str, timestamp: u64) -> Vec<u8> {
    let header = format!("cosignature/v1\ntime {timestamp}\n");
    let mut msg = Vec::with_capacity(header.len() + text.len());
    msg.extend_from_slice(header.as_bytes());
    msg.extend_from_slice(text.as_bytes());
    msg
}

/// A signing key with its name and signature type. Text form (Go's
/// sumdb/note private key format): `PRIVATE+KEY+name+hexid+base64(type||seed)`,
/// where hexid is the ID of the matching verifier key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key_type: u8,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    // Never print the seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// Generates a new Ed25519 (type 0x01) note signing key from the OS RNG.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        Self::generate_typed(name, SIG_ED25519)
    }

    /// Generates a new cosignature/v1 (type 0x04) witness key from the OS RNG.
    pub fn generate_cosigner(name: &str) -> Result<Self, NoteError> {
        Self::generate_typed(name, SIG_COSIGNATURE_V1)
    }

    fn generate_typed(name: &str, key_type: u8) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Random(e.to_string()))?;
        Self::from_seed(name, key_type, seed)
    }

    /// Builds a signer from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, key_type: u8, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        check_type(key_type)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key_type, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id: id,
            key_type,
            key,
        })
    }

    /// Parses a private key string `PRIVATE+KEY+name+hexid+base64(type||seed)`.
    /// The ID must match the ID of the derived public key.
    pub fn parse_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix(SKEY_PREFIX)
            .ok_or(NoteError::MalformedSignerKey(
                "must start with PRIVATE+KEY+",
            ))?;
        let (name, found, key_type, seed) = parse_key_fields(
            rest,
            NoteError::MalformedSignerKey,
            "expected PRIVATE+KEY+name+hexid+base64key",
            "key must be a type byte followed by a 32-byte Ed25519 seed",
            |t| matches!(t, SIG_ED25519 | SIG_COSIGNATURE_V1).then_some(32),
        )?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::MalformedSignerKey("seed must be 32 bytes"))?;
        let signer = Self::from_seed(name, key_type, seed)?;
        if signer.key_id != found {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                found,
                computed: signer.key_id,
            });
        }
        Ok(signer)
    }

    /// Formats the private key string. Treat the result as a secret.
    pub fn to_skey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.key_type);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "{SKEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            B64.encode(raw)
        )
    }

    /// The matching verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: self.key_type,
            public: PublicKey::Ed25519(self.key.verifying_key()),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type: [`SIG_ED25519`] or [`SIG_COSIGNATURE_V1`].
    pub fn key_type(&self) -> u8 {
        self.key_type
    }

    /// The underlying Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

/// An ML-DSA-44 (type 0x06) signing key with its name: makes
/// tlog-cosignature subtree/v1 cosignatures of checkpoints. Logs sign their
/// own checkpoints with one (tlog-checkpoint: "Logs SHOULD use ML-DSA-44
/// cosignatures"), witnesses cosign with one.
///
/// Text form, extending Go's sumdb/note private key format to this type:
/// `PRIVATE+KEY+name+hexid+base64(0x06||32-byte seed)`, hexid being the ID
/// of the matching verifier key.
#[derive(Clone)]
pub struct MlDsa44NoteSigner {
    name: String,
    key_id: u32,
    key: MlDsa44SigningKey,
    public: MlDsa44PublicKey,
}

impl fmt::Debug for MlDsa44NoteSigner {
    // Never print the seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlDsa44NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl MlDsa44NoteSigner {
    /// Builds a signer from a 32-byte ML-DSA seed (FIPS 204 KeyGen_internal).
    pub fn from_seed(name: &str, seed: [u8; ML_DSA_SEED_LEN]) -> Result<Self, NoteError> {
        check_ml_dsa_name(name)?;
        let key = MlDsa44SigningKey::from_seed(seed);
        let public = key.public_key();
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, SIG_ML_DSA_44, public.as_bytes()),
            key,
            public,
        })
    }

    /// Generates a new key from the OS RNG.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let mut seed = [0u8; ML_DSA_SEED_LEN];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Random(e.to_string()))?;
        Self::from_seed(name, seed)
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(0x06||seed)`; the ID must match
    /// the derived public key.
    pub fn parse_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix(SKEY_PREFIX)
            .ok_or(NoteError::MalformedSignerKey(
                "must start with PRIVATE+KEY+",
            ))?;
        let (name, found, _, seed) = parse_key_fields(
            rest,
            NoteError::MalformedSignerKey,
            "expected PRIVATE+KEY+name+hexid+base64key",
            "key must be the type byte 0x06 followed by a 32-byte ML-DSA seed",
            |t| (t == SIG_ML_DSA_44).then_some(ML_DSA_SEED_LEN),
        )?;
        let seed: [u8; ML_DSA_SEED_LEN] = seed
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::MalformedSignerKey("seed must be 32 bytes"))?;
        let signer = Self::from_seed(name, seed)?;
        if signer.key_id != found {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                found,
                computed: signer.key_id,
            });
        }
        Ok(signer)
    }

    /// Formats the private key string. Treat the result as a secret.
    pub fn to_skey(&self) -> String {
        let mut raw = Vec::with_capacity(1 + ML_DSA_SEED_LEN);
        raw.push(SIG_ML_DSA_44);
        raw.extend_from_slice(&self.key.seed());
        format!(
            "{SKEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            B64.encode(raw)
        )
    }

    /// The matching verifier key (type 0x06).
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: SIG_ML_DSA_44,
            public: PublicKey::MlDsa44(Box::new(self.public.clone())),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The underlying ML-DSA-44 key (for COSE signatures with the same key).
    pub fn signing_key(&self) -> &MlDsa44SigningKey {
        &self.key
    }

    /// Cosigns a checkpoint (subtree/v1 with start 0, end = size) at
    /// `timestamp` (POSIX seconds, at most 2^63 - 1; tlog-witness requires
    /// it non-zero in add-checkpoint responses). Hedged ML-DSA signing.
    pub fn cosign(&self, cp: &Checkpoint, timestamp: u64) -> Result<NoteSignature, NoteError> {
        self.cosign_with(cp, timestamp, |msg| self.key.sign(msg))
    }

    /// As [`MlDsa44NoteSigner::cosign`] but with deterministic ML-DSA (the
    /// same inputs give the same bytes), for test vectors.
    pub fn cosign_deterministic(
        &self,
        cp: &Checkpoint,
        timestamp: u64,
    ) -> Result<NoteSignature, NoteError> {
        self.cosign_with(cp, timestamp, |msg| self.key.sign_deterministic(msg))
    }

    fn cosign_with(
        &self,
        cp: &Checkpoint,
        timestamp: u64,
        sign: impl Fn(&[u8]) -> Result<[u8; ML_DSA_44_SIGNATURE_LEN], MlDsaError>,
    ) -> Result<NoteSignature, NoteError> {
        if timestamp > MAX_COSIG_TIMESTAMP {
            return Err(NoteError::TimestampOutOfRange(timestamp));
        }
        check_note_text(&cp.to_text())?;
        let msg = subtree_message(&self.name, timestamp, &cp.origin, 0, cp.size, &cp.root)
            .ok_or_else(|| NoteError::KeyNameTooLong(cp.origin.clone()))?;
        let sig = sign(&msg)?;
        let mut signature = Vec::with_capacity(ML_DSA_COSIG_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig);
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        })
    }
}

/// One signature line of a note: `— name base64(key_id || signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID (big-endian first four bytes of the decoded signature).
    pub key_id: u32,
    /// The signature bytes after the key ID. For cosignature/v1 this is the
    /// 8-byte big-endian timestamp followed by the 64-byte Ed25519 signature.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Formats the signature line, including the trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    /// For a cosignature/v1 or subtree/v1 signature (by its length: 72 or
    /// 2,428 bytes), the timestamp it carries (not verified).
    pub fn cosignature_timestamp(&self) -> Option<u64> {
        let ts: [u8; 8] = self.signature.get(..8)?.try_into().ok()?;
        matches!(self.signature.len(), COSIG_LEN | ML_DSA_COSIG_LEN).then(|| u64::from_be_bytes(ts))
    }

    fn parse_line(line: &str, index: usize) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedSignatureLine {
            line: index,
            reason,
        };
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(bad("must start with an em dash (U+2014) and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(bad("expected a key name, a space and a base64 signature"))?;
        if !is_valid_key_name(name) {
            return Err(bad("invalid key name"));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| bad("signature is not canonical base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature shorter than a key id plus one byte"));
        }
        let (id, sig) = raw.split_at(4);
        let id: [u8; 4] = id.try_into().map_err(|_| bad("missing key id"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(id),
            signature: sig.to_vec(),
        })
    }
}

/// A signature that verified under a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key that made it.
    pub key: VerifierKey,
    /// For cosignature/v1, the signed timestamp (POSIX seconds); `None` for Ed25519.
    pub timestamp: Option<u64>,
}

/// A signed note: text ending in a newline, plus signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The note text, including its final newline.
    pub text: String,
    /// The signatures in the order they appear.
    pub signatures: Vec<NoteSignature>,
}

/// Rejects bytes that cannot be part of a note: invalid UTF-8 and control
/// characters other than newline.
fn check_note_chars(bytes: &[u8]) -> Result<&str, NoteError> {
    let s = std::str::from_utf8(bytes).map_err(|e| NoteError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    // Control characters are ASCII, so a byte scan is exact on valid UTF-8.
    if let Some((offset, &byte)) = bytes
        .iter()
        .enumerate()
        .find(|&(_, &b)| b < 0x20 && b != b'\n')
    {
        return Err(NoteError::ControlCharacter { offset, byte });
    }
    Ok(s)
}

/// Checks that `text` can be the text of a note.
pub fn check_note_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge {
            size: text.len(),
            max: MAX_NOTE_SIZE,
        });
    }
    check_note_chars(text.as_bytes())?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingNewline);
    }
    Ok(())
}

impl Note {
    /// Parses a signed note strictly: at most [`MAX_NOTE_SIZE`] bytes, valid
    /// UTF-8 without control characters other than newline, text ending in a
    /// newline, a blank line, then one to [`MAX_SIGNATURES`] well-formed
    /// signature lines each ending in a newline. The text is separated at the
    /// last blank line. Signatures are not verified here.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: bytes.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        let s = check_note_chars(bytes)?;
        let split = s.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        // `split` indexes an ASCII newline, so both slices are on char boundaries.
        let text = s.get(..split + 1).ok_or(NoteError::MissingSignatureBlock)?;
        let block = s.get(split + 2..).ok_or(NoteError::MissingSignatureBlock)?;
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::MissingSignatureBlock)?;
        let mut signatures = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            signatures.push(NoteSignature::parse_line(line, i + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Serializes the note: text, a blank line, then one line per signature.
    /// The result parses back to an equal note when the text is valid and
    /// there is at least one signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.text
                .len()
                .saturating_add(self.signatures.len().saturating_mul(110)),
        );
        out.extend_from_slice(self.text.as_bytes());
        out.push(b'\n');
        for sig in &self.signatures {
            out.extend_from_slice(sig.to_line().as_bytes());
        }
        out
    }

    /// Signs `text` with `signer`. `timestamp` (POSIX seconds) is used only by
    /// cosignature/v1 keys, which sign `cosignature/v1\ntime <ts>\n` || text
    /// and prefix the signature with the big-endian timestamp.
    pub fn sign(
        text: &str,
        signer: &NoteSigner,
        timestamp: u64,
    ) -> Result<NoteSignature, NoteError> {
        check_note_text(text)?;
        let signature = match signer.key_type {
            SIG_COSIGNATURE_V1 => {
                if timestamp > MAX_COSIG_TIMESTAMP {
                    return Err(NoteError::TimestampOutOfRange(timestamp));
                }
                let sig = signer.key.sign(&cosignature_message(text, timestamp));
                let mut out = Vec::with_capacity(COSIG_LEN);
                out.extend_from_slice(&timestamp.to_be_bytes());
                out.extend_from_slice(&sig.to_bytes());
                out
            }
            _ => signer.key.sign(text.as_bytes()).to_bytes().to_vec(),
        };
        Ok(NoteSignature {
            name: signer.name.clone(),
            key_id: signer.key_id,
            signature,
        })
    }

    /// Signs `text` with each signer in turn and returns the serialized note.
    pub fn sign_text(
        text: &str,
        signers: &[&NoteSigner],
        timestamp: u64,
    ) -> Result<Vec<u8>, NoteError> {
        let signatures = signers
            .iter()
            .map(|s| Self::sign(text, s, timestamp))
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() {
            return Err(NoteError::NoSigners);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        }
        .to_bytes())
    }

    /// Verifies the signatures made by `keys`.
    ///
    /// Signatures whose (name, key ID) match no key are ignored. Every
    /// signature whose (name, key ID) match a known key must verify, or the
    /// whole note is rejected. Returns one entry per known key that signed, in
    /// the order of first appearance (repeated signatures by one key are all
    /// checked but reported once); it is an error if there is none.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
        check_note_text(&self.text)?;
        // ML-DSA-44 cosignatures sign the checkpoint's fields, not the
        // text: parse it once, only if such a key is among the candidates.
        let mut checkpoint: Option<Option<Checkpoint>> = None;
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            let mut matching = keys
                .iter()
                .filter(|k| k.name == sig.name && k.key_id == sig.key_id);
            let Some(key) = matching.next() else {
                continue;
            };
            if matching.any(|other| other != key) {
                return Err(NoteError::AmbiguousKey {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            let cp = if key.key_type == SIG_ML_DSA_44 {
                checkpoint
                    .get_or_insert_with(|| Checkpoint::parse(&self.text).ok())
                    .as_ref()
            } else {
                None
            };
            let timestamp = key
                .verify_sig(&self.text, cp, &sig.signature)
                .map_err(|()| NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                })?;
            if !verified.iter().any(|v| v.key == *key) {
                verified.push(VerifiedSignature {
                    key: key.clone(),
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}
