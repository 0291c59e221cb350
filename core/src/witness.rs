//! C2SP tlog-witness: the `add-checkpoint` request and response formats,
//! strict parsing of both. The async client a log uses to ask a witness
//! for a cosignature is in `provlog-client`. The normative text is
//! `spec/witness.md`.
//!
//! Request body (every line ends in `\n`):
//!
//! ```text
//! old <decimal size>
//! <base64 consistency proof hash>     (0 to 63 lines)
//!
//! <signed checkpoint note>
//! ```
//!
//! A 200 answer is one or more note signature lines (cosignature/v1 `0x04`,
//! and subtree/v1 `0x06` from an ML-DSA-44 witness key); a 409 answer is
//! the witness's latest cosigned size, `<decimal>\n`, with
//! `Content-Type: text/x.tlog.size`; a 422 means the checkpoint is
//! inconsistent with what the witness cosigned (spec/witness.md).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::checkpoint::parse_canonical_u64;
use crate::hash::Hash;
use crate::note::{MAX_NOTE_SIZE, Note, NoteError, NoteSignature, VerifierKey};

/// Most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;
/// Largest add-checkpoint request body accepted, in bytes: the proof lines
/// plus a checkpoint note of at most 64 KiB.
pub const MAX_REQUEST_SIZE: usize = 80 * 1024;
/// Largest add-checkpoint response body a client reads, in bytes.
pub const MAX_RESPONSE_SIZE: usize = 64 * 1024;
/// Content type of a 409 answer: the witness's latest cosigned size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// Content type of a 200 answer (note signature lines).
pub const COSIGNATURE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Errors in witness request/response formats and in talking to a witness.
#[derive(Debug, Error)]
pub enum WitnessError {
    /// The request body is malformed (a 400 for a witness).
    #[error("malformed add-checkpoint request: {0}")]
    MalformedRequest(&'static str),
    /// The request body is over [`MAX_REQUEST_SIZE`].
    #[error("add-checkpoint request of {0} bytes is over the limit")]
    RequestTooLarge(usize),
    /// The checkpoint inside the request is not a well-formed signed note.
    #[error("checkpoint in the request: {0}")]
    Note(#[from] NoteError),
    /// A 200 answer is not a sequence of signature lines.
    #[error("malformed cosignature response: {0}")]
    MalformedResponse(String),
    /// A 409 answer body is not `<decimal size>\n`.
    #[error("malformed text/x.tlog.size body")]
    MalformedSize,
    /// The witness answered with a status other than 200 or 409.
    #[error("witness {url} answered HTTP {status}: {body}")]
    Status {
        /// The add-checkpoint URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Start of the body, for the operator.
        body: String,
    },
    /// None of the returned cosignatures verified with the witness key.
    #[error("witness response carries no valid cosignature by {0}")]
    NoValidCosignature(String),
}

/// An `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// Size of the latest checkpoint the client believes the witness cosigned.
    pub old_size: u64,
    /// RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note (may carry several signatures).
    pub checkpoint: Vec<u8>,
}

impl AddCheckpointRequest {
    /// Serializes the request body byte-exactly.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(B64.encode(h).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body strictly: size limit, `old N` with canonical
    /// decimal, at most [`MAX_PROOF_LINES`] canonical base64 32-byte hashes,
    /// an empty line, then a well-formed signed note. Signatures are not
    /// verified here.
    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(WitnessError::RequestTooLarge(body.len()));
        }
        let mut rest = body;
        let mut next_line = || -> Result<&[u8], WitnessError> {
            let nl = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or(WitnessError::MalformedRequest("line without a newline"))?;
            let (line, tail) = rest.split_at(nl);
            rest = tail.get(1..).unwrap_or_default();
            Ok(line)
        };
        let first = std::str::from_utf8(next_line()?)
            .map_err(|_| WitnessError::MalformedRequest("old size line is not UTF-8"))?;
        let old = first
            .strip_prefix("old ")
            .ok_or(WitnessError::MalformedRequest(
                "first line must be `old <size>`",
            ))?;
        let old_size = parse_canonical_u64(old).ok_or(WitnessError::MalformedRequest(
            "old size is not a decimal without leading zeros",
        ))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessError::MalformedRequest(
                    "more than 63 consistency proof lines",
                ));
            }
            let raw = B64
                .decode(line)
                .map_err(|_| WitnessError::MalformedRequest("proof line is not base64"))?;
            let hash: Hash = raw
                .as_slice()
                .try_into()
                .map_err(|_| WitnessError::MalformedRequest("proof line is not 32 bytes"))?;
            proof.push(hash);
        }
        if rest.len() > MAX_NOTE_SIZE {
            return Err(WitnessError::RequestTooLarge(body.len()));
        }
        Note::parse(rest)?;
        Ok(Self {
            old_size,
            proof,
            checkpoint: rest.to_vec(),
        })
    }
}

/// Formats signature lines as a 200 answer body.
pub fn cosignature_response(sigs: &[NoteSignature]) -> Vec<u8> {
    sigs.iter().flat_map(|s| s.to_line().into_bytes()).collect()
}

/// Parses a 200 answer: one or more note signature lines, each ending in a
/// newline. Signatures are not verified here.
pub fn parse_cosignature_response(body: &[u8]) -> Result<Vec<NoteSignature>, WitnessError> {
    if body.len() > MAX_RESPONSE_SIZE {
        return Err(WitnessError::MalformedResponse(format!(
            "{} bytes is over the limit",
            body.len()
        )));
    }
    if body.is_empty() {
        return Err(WitnessError::MalformedResponse(
            "no signature lines".to_owned(),
        ));
    }
    // Reuse the note parser: a dummy text, a blank line, then the lines.
    let mut note = b"x\n\n".to_vec();
    note.extend_from_slice(body);
    let parsed = Note::parse(&note).map_err(|e| WitnessError::MalformedResponse(e.to_string()))?;
    if parsed.text != "x\n" {
        return Err(WitnessError::MalformedResponse(
            "blank line inside the signature lines".to_owned(),
        ));
    }
    Ok(parsed.signatures)
}

/// Formats a 409 answer body: `<size>\n`.
pub fn size_body(size: u64) -> Vec<u8> {
    format!("{size}\n").into_bytes()
}

/// Parses a 409 answer body `<decimal size>\n`.
pub fn parse_size_body(body: &[u8]) -> Result<u64, WitnessError> {
    let s = std::str::from_utf8(body).map_err(|_| WitnessError::MalformedSize)?;
    let s = s.strip_suffix('\n').ok_or(WitnessError::MalformedSize)?;
    parse_canonical_u64(s).ok_or(WitnessError::MalformedSize)
}

/// The monitoring path of a log at a witness: `<hex sha256(origin)>/checkpoint`.
pub fn monitoring_path(origin: &str) -> String {
    format!(
        "{}/checkpoint",
        hex::encode(Sha256::digest(origin.as_bytes()))
    )
}

/// Keeps the cosignatures in `sigs` made by `witness` that verify over the
/// note's text, and returns the note with them appended (signatures it
/// already carries are kept; duplicates are not added twice).
pub fn attach_cosignatures(
    note: &Note,
    sigs: &[NoteSignature],
    witness: &VerifierKey,
) -> Result<Note, WitnessError> {
    let mut good = Vec::new();
    for sig in sigs {
        if sig.name != witness.name() || sig.key_id != witness.key_id() {
            continue;
        }
        let probe = Note {
            text: note.text.clone(),
            signatures: vec![sig.clone()],
        };
        if probe.verify(std::slice::from_ref(witness)).is_ok() {
            good.push(sig.clone());
        }
    }
    if good.is_empty() {
        return Err(WitnessError::NoValidCosignature(witness.to_vkey()));
    }
    let mut out = note.clone();
    for sig in good {
        if !out.signatures.contains(&sig) {
            out.signatures.push(sig);
        }
    }
    Ok(out)
}

/// [`attach_cosignatures`] for a witness known by several keys (its
/// cosignature/v1 key `0x04` and its ML-DSA-44 key `0x06`, under one name):
/// keeps every line in `sigs` that verifies under one of `keys` over the
/// note (subtree/v1 lines over its checkpoint fields), and returns the note
/// with them appended. An error if none does.
pub fn attach_cosignatures_any(
    note: &Note,
    sigs: &[NoteSignature],
    keys: &[VerifierKey],
) -> Result<Note, WitnessError> {
    let mut out = note.clone();
    let mut any = false;
    for key in keys {
        if let Ok(n) = attach_cosignatures(&out, sigs, key) {
            out = n;
            any = true;
        }
    }
    if any {
        Ok(out)
    } else {
        Err(WitnessError::NoValidCosignature(
            keys.iter()
                .map(VerifierKey::to_vkey)
                .collect::<Vec<_>>()
                .join(", "),
        ))
    }
}

/// What a witness said to an add-checkpoint request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// 200: the cosignature lines (unverified).
    Cosigned(Vec<NoteSignature>),
    /// 409: the witness's latest cosigned size (retry from it).
    Conflict(u64),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::note::NoteSigner;

    const SPEC_EXAMPLE: &str = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

    #[test]
    fn spec_example_round_trips_byte_exactly() {
        let req = AddCheckpointRequest::parse(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(req.old_size, 20_852_014);
        assert_eq!(req.proof.len(), 4);
        assert!(req.checkpoint.starts_with(b"example.com/behind-the-sofa\n"));
        assert_eq!(req.to_bytes(), SPEC_EXAMPLE.as_bytes());
    }

    #[test]
    fn malformed_requests_are_rejected() {
        let bad: &[&[u8]] = &[
            b"",
            b"old 01\n\nx\n\n",
            b"old -1\n\n",
            b"new 1\n\n",
            b"old 1\nnot base64!\n\n",
            b"old 1\nAAAA\n\n",
            b"old 1\n",
            b"old 1\n\nno signature block\n",
        ];
        for b in bad {
            assert!(AddCheckpointRequest::parse(b).is_err(), "{b:?}");
        }
        let mut many = b"old 1\n".to_vec();
        for _ in 0..64 {
            many.extend_from_slice(format!("{}\n", B64.encode([0u8; 32])).as_bytes());
        }
        many.extend_from_slice(b"\n");
        many.extend_from_slice(
            &SPEC_EXAMPLE.as_bytes()[SPEC_EXAMPLE.find("example.com").unwrap()..],
        );
        assert!(matches!(
            AddCheckpointRequest::parse(&many),
            Err(WitnessError::MalformedRequest(_))
        ));
        let big = vec![b'a'; MAX_REQUEST_SIZE + 1];
        assert!(matches!(
            AddCheckpointRequest::parse(&big),
            Err(WitnessError::RequestTooLarge(_))
        ));
    }

    #[test]
    fn size_bodies() {
        assert_eq!(parse_size_body(&size_body(42)).unwrap(), 42);
        assert_eq!(size_body(0), b"0\n");
        for bad in [&b"42"[..], b"042\n", b"\n", b"4 2\n", b"42\n\n"] {
            assert!(parse_size_body(bad).is_err());
        }
    }

    #[test]
    fn cosignatures_attach_only_when_valid() {
        let w = NoteSigner::generate_cosigner("witness.example/w1").unwrap();
        let other = NoteSigner::generate_cosigner("witness.example/w1").unwrap();
        let text = "log.example\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let log = NoteSigner::generate("log.example").unwrap();
        let note = Note::parse(&Note::sign_text(text, &[&log], 0).unwrap()).unwrap();
        let sig = Note::sign(text, &w, 1_700_000_000).unwrap();
        let body = cosignature_response(std::slice::from_ref(&sig));
        let parsed = parse_cosignature_response(&body).unwrap();
        assert_eq!(parsed, vec![sig.clone()]);
        let with = attach_cosignatures(&note, &parsed, &w.verifier_key()).unwrap();
        assert_eq!(with.signatures.len(), 2);
        with.verify(&[w.verifier_key()]).unwrap();
        // A signature by a different key with the same name does not attach.
        let forged = Note::sign(text, &other, 1_700_000_000).unwrap();
        assert!(attach_cosignatures(&note, &[forged], &w.verifier_key()).is_err());
        assert!(parse_cosignature_response(b"").is_err());
        assert!(parse_cosignature_response(b"not a line\n").is_err());
    }

    #[test]
    fn monitoring_path_is_hex_sha256_of_origin() {
        assert_eq!(
            monitoring_path("example.com/log"),
            format!(
                "{}/checkpoint",
                hex::encode(Sha256::digest(b"example.com/log"))
            )
        );
    }
}
