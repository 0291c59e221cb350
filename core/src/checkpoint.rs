//! C2SP tlog-checkpoint bodies, with provlog's signed timestamp line.
//!
//! A checkpoint is the text of a signed note:
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <base64 of the 32-byte root hash>
//! [extension lines, each non-empty]
//! ```
//!
//! Every provlog checkpoint carries a time signed by the log, so a log that
//! has stopped (frozen) can be told from one that is merely idle: an idle log
//! keeps re-signing the same tree with fresh times. Since the 2026 C2SP
//! revisions that time is a **timestamped cosignature by the log's own
//! key** ([`LogSigner`]): a cosignature/v1 line by the log's Ed25519 key
//! (as key type 0x04) and, when the log has one, its ML-DSA-44 subtree/v1
//! line; no extension line (tlog-checkpoint no longer recommends them and
//! ML-DSA-44 cosignatures do not sign them). Older checkpoints carry the
//! time as a first extension line `timestamp <unix milliseconds>`; they are
//! still read and verified ([`Checkpoint::timestamp_ms`]). See
//! `spec/checkpoint.md`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use thiserror::Error;

use crate::hash::Hash;
use crate::note::{
    MlDsa44NoteSigner, Note, NoteError, NoteSignature, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519,
    SIG_ML_DSA_44, VerifiedSignature, VerifierKey,
};

/// Keyword of provlog's timestamp extension line.
const TIMESTAMP_KEYWORD: &str = "timestamp";

/// Errors from parsing, signing or verifying checkpoints.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed or its signature is bad.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The checkpoint text does not end with a newline.
    #[error("checkpoint text must end with a newline")]
    MissingNewline,
    /// Fewer than the three mandatory lines.
    #[error("checkpoint has {found} lines, needs at least origin, size and root")]
    TooFewLines {
        /// Number of lines found.
        found: usize,
    },
    /// The origin line is empty.
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    /// A line contains a control character.
    #[error("checkpoint line {line} contains a control character")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
    },
    /// The size line is not a canonical decimal u64.
    #[error(
        "checkpoint size {0:?} is not a decimal number without leading zeros that fits in 64 bits"
    )]
    BadSize(String),
    /// The root line is not canonical base64 of 32 bytes.
    #[error("checkpoint root {0:?} is not the canonical base64 encoding of 32 bytes")]
    BadRoot(String),
    /// An extension line is empty.
    #[error("checkpoint extension line {line} is empty")]
    EmptyExtensionLine {
        /// 1-based line number.
        line: usize,
    },
    /// The timestamp extension line is malformed or misplaced.
    #[error("checkpoint timestamp line {line}: {reason}")]
    BadTimestamp {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The origin does not equal the log key's name.
    #[error("checkpoint origin {origin:?} does not match log key name {key_name:?}")]
    OriginMismatch {
        /// Origin line.
        origin: String,
        /// Key name.
        key_name: String,
    },
    /// A log key must be an Ed25519 (0x01) or ML-DSA-44 (0x06) key (for
    /// signing: 0x01, plus 0x06 in a [`LogSigner`]).
    #[error("log key {0:?} is not an Ed25519 (type 0x01) or ML-DSA-44 (type 0x06) key")]
    NotALogKey(String),
    /// A log key demanded by the verifier did not sign the checkpoint.
    #[error("checkpoint is not signed by required log key {0:?}")]
    MissingLogSignature(String),
    /// The log keys given to a verifier or signer have different names.
    #[error("log keys must all have the checkpoint origin as name, found {0:?} and {1:?}")]
    LogKeyNames(String, String),
    /// The checkpoint's timestamps disagree (the log's cosignature/v1 time,
    /// its ML-DSA-44 time, and the legacy extension line, where present).
    #[error("the checkpoint's signed log timestamps disagree: {0}")]
    TimestampMismatch(String),
    /// Only ML-DSA-44 log signatures verified, and those do not cover
    /// extension lines, so the checkpoint's extension lines are unsigned.
    #[error(
        "checkpoint has extension lines but only an ML-DSA-44 log signature, which does not sign them"
    )]
    UnsignedExtensions,
    /// [`LogSigner`] signs checkpoints without extension lines only.
    #[error(
        "a timestamped checkpoint has no extension lines (the time is in the log's cosignature)"
    )]
    ExtensionLinesNotSigned,
    /// The checkpoint fields do not survive formatting (e.g. a newline inside the origin).
    #[error("checkpoint fields cannot be formatted canonically: {0}")]
    NotCanonical(String),
}

/// A checkpoint body: origin, tree size, root hash and extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity (the first line). provlog requires it to equal the log key's name.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree at `size`.
    pub root: Hash,
    /// Extension lines, without their newlines. provlog's first extension line
    /// is `timestamp <unix milliseconds>`.
    pub extensions: Vec<String>,
}

/// Parses a canonical decimal u64: ASCII digits only, no sign, no leading zeros.
pub(crate) fn parse_canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Parses the value of a timestamp extension line, if `line` is one.
/// `Some(Err)` means the line uses the keyword but is malformed.
fn timestamp_value(line: &str) -> Option<Result<u64, &'static str>> {
    let rest = line.strip_prefix(TIMESTAMP_KEYWORD)?;
    if rest.is_empty() {
        return Some(Err("missing value"));
    }
    let value = rest.strip_prefix(' ')?;
    Some(
        parse_canonical_u64(value)
            .ok_or("value must be decimal milliseconds without leading zeros"),
    )
}

impl Checkpoint {
    /// Builds a checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint body strictly: newline-terminated lines, a
    /// non-empty origin, a canonical decimal size, canonical base64 of a
    /// 32-byte root, non-empty extension lines, no control characters. A
    /// `timestamp` extension line must be the first extension line and hold
    /// a canonical decimal; a second one is rejected.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines { found: lines.len() });
        }
        for (i, line) in lines.iter().enumerate() {
            if line.chars().any(|c| c < ' ') {
                return Err(CheckpointError::ControlCharacter { line: i + 1 });
            }
        }
        let (origin, size, root, extensions) = match lines.as_slice() {
            [origin, size, root, ext @ ..] => (*origin, *size, *root, ext),
            _ => return Err(CheckpointError::TooFewLines { found: lines.len() }),
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size =
            parse_canonical_u64(size).ok_or_else(|| CheckpointError::BadSize(size.to_owned()))?;
        let root_bytes = B64
            .decode(root)
            .map_err(|_| CheckpointError::BadRoot(root.to_owned()))?;
        let root: Hash = root_bytes
            .as_slice()
            .try_into()
            .map_err(|_| CheckpointError::BadRoot(root.to_owned()))?;
        for (i, ext) in extensions.iter().enumerate() {
            let line = i + 4;
            if ext.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine { line });
            }
            match timestamp_value(ext) {
                None | Some(Ok(_)) if i == 0 => {}
                None => {}
                Some(Err(reason)) => return Err(CheckpointError::BadTimestamp { line, reason }),
                Some(Ok(_)) => {
                    return Err(CheckpointError::BadTimestamp {
                        line,
                        reason: "must be the first extension line and appear once",
                    });
                }
            }
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Formats the checkpoint body (each line newline-terminated).
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// provlog's signed timestamp, in Unix milliseconds: the value of a first
    /// extension line `timestamp <ms>`, if there is one.
    pub fn timestamp_ms(&self) -> Option<u64> {
        self.extensions
            .first()
            .and_then(|l| timestamp_value(l))
            .and_then(Result::ok)
    }

    /// Sets provlog's timestamp line (replacing an existing one) as the first
    /// extension line.
    pub fn with_timestamp(mut self, ms: u64) -> Self {
        let line = format!("{TIMESTAMP_KEYWORD} {ms}");
        if self
            .extensions
            .first()
            .and_then(|l| timestamp_value(l))
            .is_some()
        {
            if let Some(first) = self.extensions.first_mut() {
                *first = line;
            }
        } else {
            self.extensions.insert(0, line);
        }
        self
    }
}

/// The log's own signed time for a checkpoint, and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogTime {
    /// Unix time in milliseconds. From a cosignature (whole seconds) this is
    /// the timestamp times 1000.
    pub unix_ms: u64,
    /// True when it came from the legacy `timestamp <ms>` extension line
    /// (checkpoints signed before the 2026 revision), false when from the
    /// log's timestamped cosignature(s).
    pub legacy_extension_line: bool,
}

/// A checkpoint whose log signature has been verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The whole signed note, including any cosignatures (not verified here).
    pub note: Note,
    /// The parsed checkpoint body.
    pub checkpoint: Checkpoint,
    /// The log signature that verified (the first required log key's).
    pub log_signature: VerifiedSignature,
    /// Every log signature that verified: the required log keys and the
    /// log's cosignature/v1 timestamp key, in note order.
    pub log_signatures: Vec<VerifiedSignature>,
    /// The log's signed time, if the checkpoint carries one.
    pub log_time: Option<LogTime>,
}

impl SignedCheckpoint {
    /// The log's signed time in Unix milliseconds, if any (new
    /// checkpoints: from its timestamped cosignature; old ones: from the
    /// `timestamp` extension line). Callers should switch from
    /// [`Checkpoint::timestamp_ms`], which only reads the legacy line.
    pub fn log_time_ms(&self) -> Option<u64> {
        self.log_time.map(|t| t.unix_ms)
    }
}

/// Parses a signed checkpoint note, verifies the log's signature with
/// `log_key` (Ed25519 0x01, or ML-DSA-44 0x06), parses the body, and checks
/// that the origin equals the log key's name. Signatures by other keys
/// (e.g. witnesses) are ignored; the log's own timestamp cosignature (by
/// the same Ed25519 key as type 0x04, see [`VerifierKey::timestamp_key`]) is
/// verified when present and gives [`SignedCheckpoint::log_time`].
/// Equivalent to [`verify_checkpoint_keys`] with one key.
pub fn verify_checkpoint(
    note_bytes: &[u8],
    log_key: &VerifierKey,
) -> Result<SignedCheckpoint, CheckpointError> {
    verify_checkpoint_keys(note_bytes, std::slice::from_ref(log_key))
}

/// Verifies a checkpoint signed by **every** key in `log_keys` (one
/// log's keys: all with the origin as name, each Ed25519 0x01 or ML-DSA-44
/// 0x06; pass both to demand both). Then:
///
/// - for each Ed25519 key, its timestamp key (same public key as type
///   0x04) is checked too: a bad timestamp cosignature rejects the note;
/// - the log's time is the timestamp of those cosignatures and of the
///   ML-DSA-44 signatures, which must all agree, or else the legacy
///   `timestamp` extension line (which must agree with them, to the
///   second, if both are present);
/// - if no Ed25519 key is among `log_keys`, the body must have no
///   extension lines (ML-DSA-44 signatures do not cover them).
pub fn verify_checkpoint_keys(
    note_bytes: &[u8],
    log_keys: &[VerifierKey],
) -> Result<SignedCheckpoint, CheckpointError> {
    let first = log_keys
        .first()
        .ok_or(CheckpointError::Note(NoteError::NoKnownSignature))?;
    for k in log_keys {
        if !matches!(k.key_type(), SIG_ED25519 | SIG_ML_DSA_44) {
            return Err(CheckpointError::NotALogKey(k.to_vkey()));
        }
        if k.name() != first.name() {
            return Err(CheckpointError::LogKeyNames(
                first.name().to_owned(),
                k.name().to_owned(),
            ));
        }
    }
    let note = Note::parse(note_bytes)?;
    let mut keys: Vec<VerifierKey> = log_keys.to_vec();
    keys.extend(log_keys.iter().filter_map(VerifierKey::timestamp_key));
    // Verify before reading the text: unverified note text must be ignored.
    let verified = note.verify(&keys)?;
    let mut log_signature = None;
    for k in log_keys {
        // With one log key, "not signed by it" is the note-level error it
        // always was (a witness answers 403 to it).
        let v = verified.iter().find(|v| v.key == *k).ok_or_else(|| {
            if log_keys.len() == 1 {
                CheckpointError::Note(NoteError::NoKnownSignature)
            } else {
                CheckpointError::MissingLogSignature(k.to_vkey())
            }
        })?;
        log_signature.get_or_insert_with(|| v.clone());
    }
    let log_signature = log_signature.ok_or(NoteError::NoKnownSignature)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    if checkpoint.origin != first.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            key_name: first.name().to_owned(),
        });
    }
    let text_signed = log_keys.iter().any(|k| k.key_type() == SIG_ED25519);
    if !text_signed && !checkpoint.extensions.is_empty() {
        return Err(CheckpointError::UnsignedExtensions);
    }
    let log_time = log_time(&checkpoint, &verified, text_signed)?;
    Ok(SignedCheckpoint {
        note,
        checkpoint,
        log_signature,
        log_signatures: verified,
        log_time,
    })
}

/// The log's time from its verified timestamped signatures (all of which
/// must agree) or, failing those, the legacy extension line.
pub(crate) fn log_time(
    cp: &Checkpoint,
    verified: &[VerifiedSignature],
    text_signed: bool,
) -> Result<Option<LogTime>, CheckpointError> {
    let mut secs: Option<u64> = None;
    for v in verified {
        let Some(t) = v.timestamp else { continue };
        match secs {
            Some(s) if s != t => {
                return Err(CheckpointError::TimestampMismatch(format!(
                    "cosignature times {s} and {t}"
                )));
            }
            _ => secs = Some(t),
        }
    }
    let legacy = if text_signed { cp.timestamp_ms() } else { None };
    match (secs, legacy) {
        (Some(s), Some(ms)) if ms / 1000 != s => Err(CheckpointError::TimestampMismatch(format!(
            "cosignature time {s} s and extension line {ms} ms"
        ))),
        (Some(s), _) => Ok(Some(LogTime {
            unix_ms: s.saturating_mul(1000),
            legacy_extension_line: false,
        })),
        (None, Some(ms)) => Ok(Some(LogTime {
            unix_ms: ms,
            legacy_extension_line: true,
        })),
        (None, None) => Ok(None),
    }
}

/// A log's checkpoint signing keys: its Ed25519 note key (type 0x01,
/// required, the key every current verifier and witness knows) and
/// optionally an ML-DSA-44 key (type 0x06), both named by the origin.
///
/// [`LogSigner::sign`] produces, for a checkpoint **without extension
/// lines**, the note
///
/// ```text
/// <origin>\n<size>\n<root>\n
/// \n
/// — <origin> base64(id01 || Ed25519 signature of the text)
/// — <origin> base64(id04 || be64(t) || Ed25519 signature of "cosignature/v1\ntime t\n" || text)
/// — <origin> base64(id06 || be64(t) || ML-DSA-44 subtree/v1 signature)   (if configured)
/// ```
///
/// The second line is the signed log timestamp: a tlog-cosignature
/// cosignature/v1 by the log's own Ed25519 key used as a type 0x04 key
/// ([`VerifierKey::timestamp_key`]; same public key, different key ID).
/// Verifiers and witnesses that do not know that key ignore it.
#[derive(Clone, Debug)]
pub struct LogSigner {
    ed25519: NoteSigner,
    timestamp: NoteSigner,
    ml_dsa_44: Option<MlDsa44NoteSigner>,
}

impl LogSigner {
    /// Builds the signer. `ed25519` must be a type 0x01 key; `ml_dsa_44`,
    /// if given, must have the same name.
    pub fn new(
        ed25519: NoteSigner,
        ml_dsa_44: Option<MlDsa44NoteSigner>,
    ) -> Result<Self, CheckpointError> {
        if ed25519.key_type() != SIG_ED25519 {
            return Err(CheckpointError::NotALogKey(
                ed25519.verifier_key().to_vkey(),
            ));
        }
        if let Some(m) = &ml_dsa_44
            && m.name() != ed25519.name()
        {
            return Err(CheckpointError::LogKeyNames(
                ed25519.name().to_owned(),
                m.name().to_owned(),
            ));
        }
        let timestamp = NoteSigner::from_seed(
            ed25519.name(),
            SIG_COSIGNATURE_V1,
            ed25519.signing_key().to_bytes(),
        )?;
        Ok(Self {
            ed25519,
            timestamp,
            ml_dsa_44,
        })
    }

    /// The log's Ed25519 note key.
    pub fn ed25519(&self) -> &NoteSigner {
        &self.ed25519
    }

    /// The log's ML-DSA-44 key, if it has one.
    pub fn ml_dsa_44(&self) -> Option<&MlDsa44NoteSigner> {
        self.ml_dsa_44.as_ref()
    }

    /// The log's verifier keys: the Ed25519 key, then the ML-DSA-44 key if any.
    pub fn verifier_keys(&self) -> Vec<VerifierKey> {
        let mut keys = vec![self.ed25519.verifier_key()];
        keys.extend(self.ml_dsa_44.as_ref().map(MlDsa44NoteSigner::verifier_key));
        keys
    }

    /// Signs `cp` at `timestamp` (POSIX seconds, at most 2^63 - 1): plain
    /// Ed25519, the log's cosignature/v1 timestamp, and the ML-DSA-44
    /// subtree/v1 cosignature (hedged) if configured. The origin must be the
    /// keys' name and `cp` must have no extension lines.
    pub fn sign(&self, cp: &Checkpoint, timestamp: u64) -> Result<Vec<u8>, CheckpointError> {
        self.sign_inner(cp, timestamp, false)
    }

    /// As [`LogSigner::sign`] with deterministic ML-DSA-44, so the same
    /// inputs give the same bytes (test vectors).
    pub fn sign_deterministic(
        &self,
        cp: &Checkpoint,
        timestamp: u64,
    ) -> Result<Vec<u8>, CheckpointError> {
        self.sign_inner(cp, timestamp, true)
    }

    fn sign_inner(
        &self,
        cp: &Checkpoint,
        timestamp: u64,
        deterministic: bool,
    ) -> Result<Vec<u8>, CheckpointError> {
        if !cp.extensions.is_empty() {
            return Err(CheckpointError::ExtensionLinesNotSigned);
        }
        let text = canonical_text(cp, &self.ed25519)?;
        let mut signatures: Vec<NoteSignature> = vec![
            Note::sign(&text, &self.ed25519, 0)?,
            Note::sign(&text, &self.timestamp, timestamp)?,
        ];
        if let Some(m) = &self.ml_dsa_44 {
            signatures.push(if deterministic {
                m.cosign_deterministic(cp, timestamp)?
            } else {
                m.cosign(cp, timestamp)?
            });
        }
        Ok(Note { text, signatures }.to_bytes())
    }
}

/// Checks that `cp` can be signed by `signer` and returns its text: the
/// origin must equal the signer's name, and the fields must format to a
/// body that parses back to the same checkpoint.
fn canonical_text(cp: &Checkpoint, signer: &NoteSigner) -> Result<String, CheckpointError> {
    if cp.origin != signer.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: cp.origin.clone(),
            key_name: signer.name().to_owned(),
        });
    }
    let text = cp.to_text();
    // Round-trip check: rejects fields that would change meaning once
    // formatted (a newline in the origin, an empty extension line, ...).
    match Checkpoint::parse(&text) {
        Ok(parsed) if parsed == *cp => Ok(text),
        Ok(_) => Err(CheckpointError::NotCanonical(
            "formatted text parses to different fields (a newline inside a field?)".into(),
        )),
        Err(e) => Err(CheckpointError::NotCanonical(e.to_string())),
    }
}

/// Signs a checkpoint with the log's Ed25519 key only and returns the signed
/// note bytes. The origin must equal the signer's name, and the fields must
/// format to a body that parses back to the same checkpoint.
///
/// Legacy form: the time, if any, is whatever `timestamp` extension line
/// `cp` carries. Sequencers should switch to [`LogSigner::sign`], which
/// carries the time in the log's timestamped cosignature instead.
pub fn sign_checkpoint(cp: &Checkpoint, signer: &NoteSigner) -> Result<Vec<u8>, CheckpointError> {
    if signer.key_type() != SIG_ED25519 {
        return Err(CheckpointError::NotALogKey(signer.verifier_key().to_vkey()));
    }
    let text = canonical_text(cp, signer)?;
    Ok(Note::sign_text(&text, &[signer], 0)?)
}
