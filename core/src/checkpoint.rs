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
//! provlog logs put one extension line first: `timestamp <unix milliseconds>`.
//! Because it is inside the signed text, a verifier learns when the log last
//! signed, so a log that has stopped (frozen) can be told from one that is
//! merely idle: an idle log keeps re-signing the same tree with fresh
//! timestamps. See `spec/checkpoint.md`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use thiserror::Error;

use crate::hash::Hash;
use crate::note::{Note, NoteError, NoteSigner, SIG_ED25519, VerifiedSignature, VerifierKey};

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
    /// A log key must be an Ed25519 (0x01) key.
    #[error("log key {0:?} is not an Ed25519 (type 0x01) key")]
    NotALogKey(String),
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

/// A checkpoint whose log signature has been verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The whole signed note, including any cosignatures (not verified here).
    pub note: Note,
    /// The parsed checkpoint body.
    pub checkpoint: Checkpoint,
    /// The log signature that verified.
    pub log_signature: VerifiedSignature,
}

/// Parses a signed checkpoint note, verifies the log's Ed25519 signature
/// with `log_key`, parses the body, and checks that the origin equals the log
/// key's name. Signatures by other keys (e.g. witnesses) are ignored.
pub fn verify_checkpoint(
    note_bytes: &[u8],
    log_key: &VerifierKey,
) -> Result<SignedCheckpoint, CheckpointError> {
    if log_key.key_type() != SIG_ED25519 {
        return Err(CheckpointError::NotALogKey(log_key.to_vkey()));
    }
    let note = Note::parse(note_bytes)?;
    // Verify before reading the text: unverified note text must be ignored.
    let verified = note.verify(std::slice::from_ref(log_key))?;
    let log_signature = verified
        .into_iter()
        .next()
        .ok_or(NoteError::NoKnownSignature)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    if checkpoint.origin != log_key.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            key_name: log_key.name().to_owned(),
        });
    }
    Ok(SignedCheckpoint {
        note,
        checkpoint,
        log_signature,
    })
}

/// Signs a checkpoint with the log's Ed25519 key and returns the signed note
/// bytes. The origin must equal the signer's name, and the fields must
/// format to a body that parses back to the same checkpoint.
pub fn sign_checkpoint(cp: &Checkpoint, signer: &NoteSigner) -> Result<Vec<u8>, CheckpointError> {
    if signer.key_type() != SIG_ED25519 {
        return Err(CheckpointError::NotALogKey(signer.verifier_key().to_vkey()));
    }
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
        Ok(parsed) if parsed == *cp => {}
        Ok(_) => {
            return Err(CheckpointError::NotCanonical(
                "formatted text parses to different fields (a newline inside a field?)".into(),
            ));
        }
        Err(e) => return Err(CheckpointError::NotCanonical(e.to_string())),
    }
    Ok(Note::sign_text(&text, &[signer], 0)?)
}
