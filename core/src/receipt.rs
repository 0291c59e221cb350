//! The provlog receipt: proof that a signed claim is in the log.
//!
//! A receipt bundles the logged entry (the signed claim), its index, an
//! RFC 6962 inclusion proof and the signed checkpoint (with any witness
//! cosignatures) the proof leads to. It has two encodings:
//!
//! - **CBOR** (the `.provlog` file): a deterministic CBOR map
//!   `{"checkpoint": bstr, "entry": bstr, "index": uint, "proof": [* bstr .size 32], "v": 1}`
//!   (keys in bytewise order of their encoding, as RFC 8949 §4.2.1 demands).
//! - **C2SP tlog-proof** text, with the entry carried in the `extra` line.
//!
//! Verification is offline: a [`Policy`] says which log keys and witness
//! quorum to trust, and nothing else is fetched.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::cbor::{Cbor, decode as read_cbor, write_bytes, write_head, write_text};
use crate::checkpoint::Checkpoint;
use crate::claim::Claim;
use crate::hash::{Hash, leaf_hash};
use crate::policy::{Policy, PolicyError};
use crate::proof::{ProofError, verify_inclusion};
use crate::signed_claim::{MAX_ENTRY_SIZE, SignedClaim, SignedClaimError};

/// Receipt format version written in the `v` field.
pub const RECEIPT_VERSION: u64 = 1;
/// First line of the C2SP tlog-proof text form.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Upper bound on an encoded receipt (entry + proof + checkpoint with cosignatures).
pub const MAX_RECEIPT_SIZE: usize = 128 * 1024;
/// Upper bound on the checkpoint note carried in a receipt.
pub const MAX_CHECKPOINT_NOTE_SIZE: usize = 64 * 1024;
/// An inclusion proof in a tree of at most 2^64 leaves has at most 64 hashes.
pub const MAX_PROOF_HASHES: usize = 64;

/// Everything that can be wrong with a receipt.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The bytes are not a well-formed receipt.
    #[error("malformed receipt: {0}")]
    Malformed(String),
    /// The receipt is larger than [`MAX_RECEIPT_SIZE`].
    #[error("receipt is {0} bytes, more than the limit of {MAX_RECEIPT_SIZE}")]
    TooLarge(usize),
    /// The receipt's format version is not one this library knows.
    #[error("unsupported receipt version {0} (this library reads version {RECEIPT_VERSION})")]
    Version(u64),
    /// The checkpoint did not verify under the trust policy.
    #[error("checkpoint not trusted: {0}")]
    Checkpoint(#[from] PolicyError),
    /// The logged entry is not a valid signed claim, or its signature fails.
    #[error("signed claim invalid: {0}")]
    Claim(#[from] SignedClaimError),
    /// The inclusion proof does not lead from the entry to the checkpoint root.
    #[error("inclusion proof failed: {0}")]
    Inclusion(#[from] ProofError),
    /// The receipt is for a different asset than the file being checked.
    #[error("asset hash mismatch: the file hashes to {actual}, the claim is for {claimed}")]
    AssetMismatch {
        /// Hex SHA-256 the claim names.
        claimed: String,
        /// Hex SHA-256 of the file at hand.
        actual: String,
    },
}

/// A receipt as issued by the log: entry, index, inclusion proof, checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The logged entry: the signed claim (COSE_Sign1) bytes exactly as hashed.
    pub entry: Vec<u8>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// RFC 6962 inclusion proof from the entry to the checkpoint's root.
    pub proof: Vec<Hash>,
    /// The checkpoint as a signed note, with any witness cosignatures.
    pub checkpoint: Vec<u8>,
}

/// What a successful [`Receipt::verify`] established.
#[derive(Clone, Debug)]
pub struct VerifiedReceipt {
    /// The signed claim, signature checked.
    pub signed_claim: SignedClaim,
    /// Index of the entry in the log.
    pub index: u64,
    /// The checkpoint the inclusion proof was checked against.
    pub checkpoint: Checkpoint,
    /// Names of the witnesses whose cosignatures counted towards the quorum.
    pub witnesses: Vec<String>,
    /// Witness cosignature timestamps (unix seconds), parallel to `witnesses`.
    pub witness_times: Vec<u64>,
    /// The log's signed time of the checkpoint, Unix milliseconds, from
    /// either checkpoint form (its timestamped cosignature, or the legacy
    /// `timestamp` line): `SignedCheckpoint::log_time_ms`. `None` if the
    /// checkpoint carries none.
    pub log_time_ms: Option<u64>,
}

impl VerifiedReceipt {
    /// The verified claim.
    pub fn claim(&self) -> &Claim {
        self.signed_claim.claim()
    }
}

impl Receipt {
    /// Encodes the receipt as deterministic CBOR.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entry.len() + self.checkpoint.len() + 64 * 33);
        self.encode_into(&mut out);
        out
    }

    /// Appends [`Receipt::to_cbor`]'s bytes to `out`, written field by
    /// field (a sequencer encodes hundreds per batch answer; no item tree,
    /// no intermediate buffer).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // A map of five; keys in deterministic order (shorter first, then
        // bytewise): v, entry, index, proof, checkpoint.
        write_head(out, 5, 5);
        write_text(out, "v");
        write_head(out, 0, RECEIPT_VERSION);
        write_text(out, "entry");
        write_bytes(out, &self.entry);
        write_text(out, "index");
        write_head(out, 0, self.index);
        write_text(out, "proof");
        write_head(out, 4, self.proof.len() as u64);
        for h in &self.proof {
            write_bytes(out, h);
        }
        write_text(out, "checkpoint");
        write_bytes(out, &self.checkpoint);
    }

    /// Decodes a CBOR receipt. Checks structure and limits only; use
    /// [`Receipt::verify`] to check what it proves.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, ReceiptError> {
        if bytes.len() > MAX_RECEIPT_SIZE {
            return Err(ReceiptError::TooLarge(bytes.len()));
        }
        let value = read_cbor(bytes, MAX_RECEIPT_DEPTH)
            .map_err(|e| ReceiptError::Malformed(format!("not CBOR: {e}")))?;
        let Cbor::Map(entries) = value else {
            return Err(ReceiptError::Malformed("top level is not a map".into()));
        };
        let mut fields: Vec<(&str, Cbor<'_>)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Cbor::Text(k) = k else {
                return Err(ReceiptError::Malformed(
                    "map key is not a text string".into(),
                ));
            };
            if fields.iter().any(|(f, _)| *f == k) {
                return Err(ReceiptError::Malformed(format!("duplicate key {k:?}")));
            }
            fields.push((k, v));
        }
        let version = take_uint(&mut fields, "v")?;
        if version != RECEIPT_VERSION {
            return Err(ReceiptError::Version(version));
        }
        let entry = take_bytes(&mut fields, "entry")?;
        if entry.len() > MAX_ENTRY_SIZE {
            return Err(ReceiptError::Malformed(format!(
                "entry is {} bytes, more than {MAX_ENTRY_SIZE}",
                entry.len()
            )));
        }
        let index = take_uint(&mut fields, "index")?;
        let proof = match take(&mut fields, "proof") {
            Some(Cbor::Array(items)) => {
                if items.len() > MAX_PROOF_HASHES {
                    return Err(ReceiptError::Malformed(format!(
                        "proof has {} hashes, more than {MAX_PROOF_HASHES}",
                        items.len()
                    )));
                }
                items
                    .into_iter()
                    .map(|item| match item {
                        Cbor::Bytes(b) => hash_from_slice(b),
                        _ => Err(ReceiptError::Malformed(
                            "proof item is not a byte string".into(),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => return Err(ReceiptError::Malformed("\"proof\" is not an array".into())),
            None => return Err(ReceiptError::Malformed("missing \"proof\"".into())),
        };
        let checkpoint = take_bytes(&mut fields, "checkpoint")?;
        if checkpoint.len() > MAX_CHECKPOINT_NOTE_SIZE {
            return Err(ReceiptError::Malformed("checkpoint note too large".into()));
        }
        if let Some((k, _)) = fields.first() {
            return Err(ReceiptError::Malformed(format!("unknown key {k:?}")));
        }
        let receipt = Receipt {
            entry,
            index,
            proof,
            checkpoint,
        };
        // One encoding only: anything else is a different file claiming to be
        // the same receipt.
        if receipt.to_cbor() != bytes {
            return Err(ReceiptError::Malformed(
                "not in deterministic CBOR encoding".into(),
            ));
        }
        Ok(receipt)
    }

    /// Formats the receipt as C2SP tlog-proof text; the entry goes in `extra`.
    pub fn to_tlog_proof(&self) -> String {
        let mut out = String::new();
        out.push_str(TLOG_PROOF_HEADER);
        out.push('\n');
        out.push_str("extra ");
        out.push_str(&B64.encode(&self.entry));
        out.push('\n');
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(&self.checkpoint));
        out
    }

    /// Parses C2SP tlog-proof text. The `extra` line must carry the entry.
    pub fn from_tlog_proof(text: &str) -> Result<Self, ReceiptError> {
        if text.len() > MAX_RECEIPT_SIZE * 2 {
            return Err(ReceiptError::TooLarge(text.len()));
        }
        let bad = |m: &str| ReceiptError::Malformed(format!("tlog-proof: {m}"));
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("missing index line"))?;
        let mut entry = None;
        if let Some(extra) = line.strip_prefix("extra ") {
            entry = Some(
                B64.decode(extra)
                    .map_err(|_| bad("extra is not valid base64"))?,
            );
            line = lines.next().ok_or_else(|| bad("missing index line"))?;
        }
        let entry = entry
            .ok_or_else(|| bad("no extra line: a provlog proof carries the signed claim there"))?;
        let index_text = line
            .strip_prefix("index ")
            .ok_or_else(|| bad("expected an index line"))?;
        let index =
            parse_decimal(index_text).ok_or_else(|| bad("index is not a canonical decimal"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() >= MAX_PROOF_HASHES {
                return Err(bad("too many proof hashes"));
            }
            let raw = B64.decode(l).map_err(|_| bad("proof line is not base64"))?;
            proof.push(hash_from_slice(&raw)?);
        }
        if checkpoint.len() > MAX_CHECKPOINT_NOTE_SIZE {
            return Err(bad("checkpoint note too large"));
        }
        Ok(Receipt {
            entry,
            index,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// Verifies the receipt offline under `policy`: the checkpoint is signed
    /// by a trusted log and meets the witness quorum, the entry is a valid
    /// signed claim whose signature verifies, and the inclusion proof leads
    /// from the entry to the checkpoint's root.
    pub fn verify(&self, policy: &Policy) -> Result<VerifiedReceipt, ReceiptError> {
        let verified = policy.verify_checkpoint(&self.checkpoint)?;
        let signed_claim = SignedClaim::from_bytes(&self.entry)?;
        signed_claim.verify_signature()?;
        let checkpoint = verified.checkpoint;
        verify_inclusion(
            &leaf_hash(&self.entry),
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )?;
        Ok(VerifiedReceipt {
            signed_claim,
            index: self.index,
            checkpoint,
            witnesses: verified
                .cosignatures
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            witness_times: verified.cosignatures.iter().map(|c| c.timestamp).collect(),
            log_time_ms: verified.log_time.map(|t| t.unix_ms),
        })
    }

    /// Like [`Receipt::verify`], and also checks that the claim is for the
    /// asset whose SHA-256 is `asset_sha256`.
    pub fn verify_for_asset(
        &self,
        policy: &Policy,
        asset_sha256: &Hash,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        let verified = self.verify(policy)?;
        let claimed = verified.claim().asset.sha256;
        if &claimed != asset_sha256 {
            return Err(ReceiptError::AssetMismatch {
                claimed: hex::encode(claimed),
                actual: hex::encode(asset_sha256),
            });
        }
        Ok(verified)
    }
}

/// Nesting of a receipt: the map and the proof array inside it.
const MAX_RECEIPT_DEPTH: usize = 2;

fn take<'a>(fields: &mut Vec<(&str, Cbor<'a>)>, key: &str) -> Option<Cbor<'a>> {
    let pos = fields.iter().position(|(k, _)| *k == key)?;
    Some(fields.swap_remove(pos).1)
}

fn take_uint(fields: &mut Vec<(&str, Cbor<'_>)>, key: &str) -> Result<u64, ReceiptError> {
    match take(fields, key) {
        Some(Cbor::Uint(n)) => Ok(n),
        Some(Cbor::Nint(_)) => Err(ReceiptError::Malformed(format!(
            "{key:?} is not an unsigned 64-bit integer"
        ))),
        Some(_) => Err(ReceiptError::Malformed(format!(
            "{key:?} is not an integer"
        ))),
        None => Err(ReceiptError::Malformed(format!("missing {key:?}"))),
    }
}

fn take_bytes(fields: &mut Vec<(&str, Cbor<'_>)>, key: &str) -> Result<Vec<u8>, ReceiptError> {
    match take(fields, key) {
        Some(Cbor::Bytes(b)) => Ok(b.to_vec()),
        Some(_) => Err(ReceiptError::Malformed(format!(
            "{key:?} is not a byte string"
        ))),
        None => Err(ReceiptError::Malformed(format!("missing {key:?}"))),
    }
}

fn hash_from_slice(b: &[u8]) -> Result<Hash, ReceiptError> {
    Hash::try_from(b)
        .map_err(|_| ReceiptError::Malformed(format!("proof hash is {} bytes, not 32", b.len())))
}

/// Parses an ASCII decimal with no sign and no leading zeros (except "0").
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A CBOR array of byte strings, each one receipt's [`Receipt::to_cbor`]
/// bytes: the body of a batch answer (spec/http-api.md), the same bytes as
/// `encode_bytes_array` over each receipt's `to_cbor`, with each receipt
/// written once, straight into the array.
pub fn encode_receipt_array(receipts: &[Receipt]) -> Vec<u8> {
    let total: usize = receipts
        .iter()
        .map(|r| r.entry.len() + r.checkpoint.len() + 33 * r.proof.len() + 64)
        .sum();
    let mut out = Vec::with_capacity(total + 9);
    write_head(&mut out, 4, receipts.len() as u64);
    for r in receipts {
        // A receipt is almost always 256 ..= 65,535 bytes: its byte-string
        // head is then 3 bytes, written after the receipt is (its length is
        // known only then). Otherwise its bytes move to a shorter or longer
        // head.
        let at = out.len();
        out.extend_from_slice(&[0x59, 0, 0]);
        r.encode_into(&mut out);
        let len = out.len() - at - 3;
        match u16::try_from(len) {
            Ok(n) if n >= 256 => out[at + 1..at + 3].copy_from_slice(&n.to_be_bytes()),
            _ => {
                let bytes = out.split_off(at + 3);
                out.truncate(at);
                write_bytes(&mut out, &bytes);
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod encode_tests {
    use super::*;
    use crate::cbor::{Item, encode_bytes_array};

    /// The receipt as a generic CBOR map (the encoding before
    /// [`Receipt::encode_into`]).
    fn by_items(r: &Receipt) -> Vec<u8> {
        let proof = r.proof.iter().map(|h| Item::Bytes(h)).collect();
        Item::Map(vec![
            (Item::Text("v"), Item::Uint(RECEIPT_VERSION)),
            (Item::Text("entry"), Item::Bytes(&r.entry)),
            (Item::Text("index"), Item::Uint(r.index)),
            (Item::Text("proof"), Item::Array(proof)),
            (Item::Text("checkpoint"), Item::Bytes(&r.checkpoint)),
        ])
        .to_vec()
    }

    #[test]
    fn direct_encodings_are_the_item_encodings() {
        // Sizes on both sides of every head width, the array's included.
        let receipts: Vec<Receipt> = [
            (0usize, 0usize, 0u64),
            (10, 20, 3),
            (300, 200, 1 << 20),
            (70_000, 10, u64::MAX),
            (2, 1, 24),
        ]
        .iter()
        .enumerate()
        .map(|(n, &(entry, cp, index))| Receipt {
            entry: vec![n as u8; entry],
            index,
            proof: (0..n * 5).map(|i| [i as u8; 32]).collect(),
            checkpoint: vec![b'c'; cp],
        })
        .collect();
        for r in &receipts {
            assert_eq!(r.to_cbor(), by_items(r));
        }
        for n in 0..=receipts.len() {
            let each: Vec<Vec<u8>> = receipts[..n].iter().map(Receipt::to_cbor).collect();
            assert_eq!(
                encode_receipt_array(&receipts[..n]),
                encode_bytes_array(&each),
                "{n}"
            );
        }
        let many: Vec<Receipt> = (0..30).map(|_| receipts[2].clone()).collect();
        let each: Vec<Vec<u8>> = many.iter().map(Receipt::to_cbor).collect();
        assert_eq!(encode_receipt_array(&many), encode_bytes_array(&each));
    }
}
