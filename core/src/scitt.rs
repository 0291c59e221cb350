//! SCITT formats: RFC 9942 COSE receipts for the verifiable data structure
//! RFC9162_SHA256 (`vds` = 1) and transparent statements (a signed claim
//! with its receipts in unprotected header 394). `spec/scitt.md` gives the
//! bytes; this module encodes, decodes strictly and verifies them.
//!
//! A receipt proves that one entry is in the log's tree of a given size:
//!
//! ```text
//! 18([
//!   << {1: alg, 4: kid, 15: {1: iss, 2: sub[, 6: iat]}, 395: 1} >>,
//!   {396: {-1: [ << [tree_size, leaf_index, [* hash]] >> ]}},
//!   nil,                                  ; detached payload: the tree root
//!   signature                             ; over Sig_structure(protected, root)
//! ])
//! ```
//!
//! `alg` is EdDSA (-8) or ML-DSA-44 (-48); `kid` is the RFC 9679 thumbprint
//! of the log key; `iss` is the log's origin and `sub` names the tree head
//! (`<origin>/<tree_size>`); `iat`, when present, is the log's signed time
//! (seconds) of that tree head. Nothing in the protected header depends on
//! the entry, so **one signature per tree head** serves every receipt of
//! that tree ([`SignedTreeHead::receipt`] only adds the proof).
//!
//! The leaf of a statement is `SHA-256(0x00 || statement)` with
//! `statement` the signed claim bytes exactly as registered (unprotected
//! header empty), which is also the provlog log entry.

use crate::cbor::{Cbor, CborError, Item, decode as read_cbor, write_bytes, write_head};
use crate::cose::{
    self, Algorithm, COSE_SIGN1_TAG, CWT_IAT, CWT_ISS, CWT_SUB, CoseSigner, LABEL_ALG,
    LABEL_CWT_CLAIMS, LABEL_KID, LABEL_RECEIPTS, LABEL_VDP, LABEL_VDS, VDP_INCLUSION,
    VDS_RFC9162_SHA256, key_thumbprint,
};
use crate::hash::{HASH_SIZE, Hash, leaf_hash};
use crate::note::{SIG_ED25519, SIG_ML_DSA_44, VerifierKey};
use crate::proof::{ProofError, root_from_inclusion};
use crate::signed_claim::{MAX_ENTRY_SIZE, SignedClaim, SignedClaimError};

/// Largest COSE receipt accepted, in bytes (an ML-DSA-44 receipt with a
/// 64-hash path is under 5 KiB).
pub const MAX_COSE_RECEIPT_SIZE: usize = 8 * 1024;
/// Most receipts a transparent statement may carry.
pub const MAX_RECEIPTS: usize = 8;
/// Largest transparent statement accepted, in bytes.
pub const MAX_TRANSPARENT_STATEMENT_SIZE: usize =
    MAX_ENTRY_SIZE + MAX_RECEIPTS * (MAX_COSE_RECEIPT_SIZE + 3) + 16;
/// Longest inclusion path (a tree of 2^64 leaves needs at most 64).
pub const MAX_PATH: usize = 64;
/// Longest `iss` (log origin) in a receipt; note key names are at most this.
const MAX_ISS_LEN: usize = 1024;

/// What is wrong with a COSE receipt or a transparent statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScittError {
    /// Larger than the limit.
    #[error("{what} is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not well-formed CBOR within the limits.
    #[error("{0}")]
    Cbor(#[from] CborError),
    /// Well-formed but not the structure this profile defines.
    #[error("malformed {what}: {reason}")]
    Structure {
        /// Receipt or transparent statement.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Valid structure, but not the one canonical encoding.
    #[error("{0} is not in its canonical encoding")]
    NotCanonical(&'static str),
    /// The statement inside a transparent statement is not a valid signed claim.
    #[error("statement: {0}")]
    Statement(#[from] SignedClaimError),
    /// The inclusion proof does not lead from the entry to a root.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    /// No given key has the receipt's `kid` (and the receipt's `iss` as name).
    #[error("receipt kid {0} is not the thumbprint of any trusted log key named by its iss")]
    UnknownKey(String),
    /// The receipt's signature does not verify over the computed root.
    #[error("receipt signature does not verify")]
    BadSignature,
    /// A transparent statement none of whose receipts is by a trusted key.
    #[error("no receipt of the transparent statement is by a trusted log key")]
    NoTrustedReceipt,
    /// The signing key cannot sign receipts (wrong type or mismatched signer).
    #[error("receipt signing key: {0}")]
    Signer(String),
}

fn malformed(what: &'static str, reason: impl Into<String>) -> ScittError {
    ScittError::Structure {
        what,
        reason: reason.into(),
    }
}

/// The protected header fields of a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptHeader {
    /// Signature algorithm.
    pub alg: Algorithm,
    /// RFC 9679 thumbprint of the log key.
    pub kid: Hash,
    /// CWT `iss`: the log's origin.
    pub iss: String,
    /// CWT `sub`: `<origin>/<tree_size>`.
    pub sub: String,
    /// CWT `iat`: the log's signed time of the tree head, POSIX seconds.
    pub iat: Option<u64>,
}

impl ReceiptHeader {
    /// Deterministic encoding `{1: alg, 4: kid, 15: {1: iss, 2: sub[, 6:
    /// iat]}, 395: 1}` (keys in that order).
    fn encode(&self) -> Vec<u8> {
        let mut cwt = vec![
            (Item::Int(CWT_ISS), Item::Text(&self.iss)),
            (Item::Int(CWT_SUB), Item::Text(&self.sub)),
        ];
        if let Some(t) = self.iat {
            cwt.push((Item::Int(CWT_IAT), Item::Uint(t)));
        }
        Item::Map(vec![
            (Item::Int(LABEL_ALG), Item::Int(self.alg.cose_value())),
            (Item::Int(LABEL_KID), Item::Bytes(&self.kid)),
            (Item::Int(LABEL_CWT_CLAIMS), Item::Map(cwt)),
            (Item::Int(LABEL_VDS), Item::Int(VDS_RFC9162_SHA256)),
        ])
        .to_vec()
    }
}

/// The subject of a receipt: the tree head it is signed over.
pub fn tree_head_subject(origin: &str, tree_size: u64) -> String {
    format!("{origin}/{tree_size}")
}

/// A log's signature over one tree head (origin, size, root, time), from
/// which a receipt for any entry of that tree is made without signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTreeHead {
    header: ReceiptHeader,
    protected: Vec<u8>,
    tree_size: u64,
    root: Hash,
    signature: Vec<u8>,
}

impl SignedTreeHead {
    /// Signs the tree head `(origin, tree_size, root)` with the log key
    /// `key` (its name must be `origin`; type 0x01 with an Ed25519 signer
    /// or 0x06 with an ML-DSA-44 signer). `iat` is the log's time for it.
    /// Cost: one signature.
    pub fn sign(
        key: &VerifierKey,
        signer: CoseSigner<'_>,
        tree_size: u64,
        root: &Hash,
        iat: Option<u64>,
    ) -> Result<Self, ScittError> {
        if !matches!(key.key_type(), SIG_ED25519 | SIG_ML_DSA_44) {
            return Err(ScittError::Signer(format!(
                "type 0x{:02x} is not a log key",
                key.key_type()
            )));
        }
        if !signer.matches(key) {
            return Err(ScittError::Signer(
                "the signer is not the key's private key".into(),
            ));
        }
        let header = ReceiptHeader {
            alg: signer.algorithm(),
            kid: key_thumbprint(key),
            iss: key.name().to_owned(),
            sub: tree_head_subject(key.name(), tree_size),
            iat,
        };
        let protected = header.encode();
        let signature = signer
            .sign(&cose::sig_structure(&protected, root))
            .map_err(|e| ScittError::Signer(e.to_string()))?;
        Ok(Self {
            header,
            protected,
            tree_size,
            root: *root,
            signature,
        })
    }

    /// The receipt for the entry at `leaf_index`, with its RFC 9162
    /// inclusion path to this tree's root (leaf sibling first).
    pub fn receipt(&self, leaf_index: u64, path: &[Hash]) -> Result<CoseReceipt, ScittError> {
        if leaf_index >= self.tree_size {
            return Err(ProofError::IndexOutOfRange {
                index: leaf_index,
                size: self.tree_size,
            }
            .into());
        }
        if path.len() > MAX_PATH {
            return Err(malformed("receipt", "inclusion path longer than 64"));
        }
        let bytes = encode_receipt(
            &self.protected,
            self.tree_size,
            leaf_index,
            path,
            &self.signature,
        );
        CoseReceipt::from_bytes(&bytes)
    }

    /// The root that was signed.
    pub fn root(&self) -> &Hash {
        &self.root
    }
}

/// The inclusion proof bytes `[tree_size, leaf_index, [* hash]]`.
fn encode_inclusion(tree_size: u64, leaf_index: u64, path: &[Hash]) -> Vec<u8> {
    Item::Array(vec![
        Item::Uint(tree_size),
        Item::Uint(leaf_index),
        Item::Array(path.iter().map(|h| Item::Bytes(h)).collect()),
    ])
    .to_vec()
}

fn encode_receipt(
    protected: &[u8],
    tree_size: u64,
    leaf_index: u64,
    path: &[Hash],
    signature: &[u8],
) -> Vec<u8> {
    let proof = encode_inclusion(tree_size, leaf_index, path);
    let unprotected = Item::Map(vec![(
        Item::Int(LABEL_VDP),
        Item::Map(vec![(
            Item::Int(VDP_INCLUSION),
            Item::Array(vec![Item::Bytes(&proof)]),
        )]),
    )]);
    let mut out = Vec::with_capacity(protected.len() + proof.len() + signature.len() + 24);
    write_head(&mut out, 6, COSE_SIGN1_TAG);
    write_head(&mut out, 4, 4);
    write_bytes(&mut out, protected);
    unprotected.encode(&mut out);
    out.push(0xf6); // nil: detached payload
    write_bytes(&mut out, signature);
    out
}

/// An RFC 9942 receipt of inclusion for RFC9162_SHA256, as provlog issues
/// it: one inclusion proof, detached root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseReceipt {
    bytes: Vec<u8>,
    header: ReceiptHeader,
    protected: Vec<u8>,
    tree_size: u64,
    leaf_index: u64,
    path: Vec<Hash>,
    signature: Vec<u8>,
}

/// A receipt that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCoseReceipt {
    /// The log key that signed it.
    pub key: VerifierKey,
    /// The tree size of the signed root.
    pub tree_size: u64,
    /// The entry's index.
    pub leaf_index: u64,
    /// The signed root (recomputed from the entry and the path).
    pub root: Hash,
    /// The log's signed time of the tree head, if present.
    pub iat: Option<u64>,
}

fn int_label(c: &Cbor<'_>) -> Option<i64> {
    c.as_i64()
}

/// Reads a strictly-shaped map: every key an integer, each at most once.
fn int_map<'a, 'b>(
    v: &'b Cbor<'a>,
    what: &'static str,
) -> Result<Vec<(i64, &'b Cbor<'a>)>, ScittError> {
    let Cbor::Map(entries) = v else {
        return Err(malformed(what, "expected a map"));
    };
    let mut out: Vec<(i64, &Cbor<'_>)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let k = int_label(k).ok_or_else(|| malformed(what, "map keys must be integers"))?;
        if out.iter().any(|(e, _)| *e == k) {
            return Err(malformed(what, format!("duplicate label {k}")));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn parse_receipt_header(protected: &[u8]) -> Result<ReceiptHeader, ScittError> {
    const W: &str = "receipt protected header";
    let v = read_cbor(protected, 2)?;
    let mut alg = None;
    let mut kid = None;
    let mut cwt = None;
    let mut vds = None;
    for (k, v) in int_map(&v, W)? {
        match (k, v) {
            (LABEL_ALG, v) => {
                alg = Some(
                    v.as_i64()
                        .and_then(Algorithm::from_cose)
                        .ok_or_else(|| malformed(W, "alg must be EdDSA (-8) or ML-DSA-44 (-48)"))?,
                )
            }
            (LABEL_KID, Cbor::Bytes(b)) => {
                kid = Some(
                    <Hash>::try_from(*b)
                        .map_err(|_| malformed(W, "kid must be a 32-byte thumbprint"))?,
                )
            }
            (LABEL_CWT_CLAIMS, v) => cwt = Some(parse_receipt_cwt(v)?),
            (LABEL_VDS, v) => {
                if v.as_i64() != Some(VDS_RFC9162_SHA256) {
                    return Err(malformed(W, "vds must be RFC9162_SHA256 (1)"));
                }
                vds = Some(());
            }
            (k, _) => return Err(malformed(W, format!("unexpected or mistyped label {k}"))),
        }
    }
    let (Some(alg), Some(kid), Some((iss, sub, iat)), Some(())) = (alg, kid, cwt, vds) else {
        return Err(malformed(
            W,
            "alg (1), kid (4), CWT claims (15) and vds (395) are required",
        ));
    };
    Ok(ReceiptHeader {
        alg,
        kid,
        iss,
        sub,
        iat,
    })
}

fn parse_receipt_cwt(v: &Cbor<'_>) -> Result<(String, String, Option<u64>), ScittError> {
    const W: &str = "receipt CWT claims";
    let (mut iss, mut sub, mut iat) = (None, None, None);
    for (k, v) in int_map(v, W)? {
        match (k, v) {
            (CWT_ISS, Cbor::Text(t)) if !t.is_empty() && t.len() <= MAX_ISS_LEN => {
                iss = Some((*t).to_owned())
            }
            (CWT_SUB, Cbor::Text(t)) => sub = Some((*t).to_owned()),
            (CWT_IAT, Cbor::Uint(n)) => iat = Some(*n),
            _ => return Err(malformed(W, "only iss (text), sub (text), iat (uint)")),
        }
    }
    match (iss, sub) {
        (Some(i), Some(s)) => Ok((i, s, iat)),
        _ => Err(malformed(W, "iss (1) and sub (2) are required")),
    }
}

/// Reads `[tree_size, leaf_index, [* bstr .size 32]]`.
fn parse_inclusion(bytes: &[u8]) -> Result<(u64, u64, Vec<Hash>), ScittError> {
    const W: &str = "inclusion proof";
    let v = read_cbor(bytes, 2)?;
    let Cbor::Array(items) = v else {
        return Err(malformed(W, "expected an array"));
    };
    let [Cbor::Uint(size), Cbor::Uint(index), Cbor::Array(path)] = items.as_slice() else {
        return Err(malformed(W, "expected [tree_size, leaf_index, [path]]"));
    };
    if path.len() > MAX_PATH {
        return Err(malformed(W, "inclusion path longer than 64"));
    }
    let path = path
        .iter()
        .map(|h| match h {
            Cbor::Bytes(b) if b.len() == HASH_SIZE => Ok(<Hash>::try_from(*b).unwrap_or([0; 32])),
            _ => Err(malformed(W, "path items must be 32-byte strings")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((*size, *index, path))
}

impl CoseReceipt {
    /// Decodes a receipt strictly: size limit, tag 18, the protected header
    /// above (exactly those labels), unprotected header exactly `{396:
    /// {-1: [one proof]}}`, nil payload, a signature of the algorithm's
    /// length, and the canonical encoding of all of it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ScittError> {
        const W: &str = "receipt";
        if bytes.len() > MAX_COSE_RECEIPT_SIZE {
            return Err(ScittError::TooLarge {
                what: W,
                size: bytes.len(),
                max: MAX_COSE_RECEIPT_SIZE,
            });
        }
        let v = read_cbor(bytes, 5)?;
        let Cbor::Tag(COSE_SIGN1_TAG, inner) = v else {
            return Err(malformed(W, "expected a COSE_Sign1 with tag 18"));
        };
        let Cbor::Array(items) = *inner else {
            return Err(malformed(W, "expected an array"));
        };
        let [
            Cbor::Bytes(protected),
            unprotected,
            Cbor::Simple(22),
            Cbor::Bytes(signature),
        ] = items.as_slice()
        else {
            return Err(malformed(
                W,
                "expected [protected bstr, unprotected map, nil, signature bstr]",
            ));
        };
        let header = parse_receipt_header(protected)?;
        let vdp = match int_map(unprotected, W)?.as_slice() {
            [(LABEL_VDP, vdp)] => *vdp,
            _ => {
                return Err(malformed(
                    W,
                    "unprotected header must be exactly {396: vdp}",
                ));
            }
        };
        let proofs = match int_map(vdp, W)?.as_slice() {
            [(VDP_INCLUSION, Cbor::Array(p))] => p.clone(),
            _ => return Err(malformed(W, "vdp must be exactly {-1: [inclusion proof]}")),
        };
        let [Cbor::Bytes(proof)] = proofs.as_slice() else {
            return Err(malformed(W, "exactly one inclusion proof (a byte string)"));
        };
        let (tree_size, leaf_index, path) = parse_inclusion(proof)?;
        if signature.len() != header.alg.signature_len() {
            return Err(malformed(W, "signature length does not match alg"));
        }
        let canonical_protected = header.encode();
        let canonical = encode_receipt(
            &canonical_protected,
            tree_size,
            leaf_index,
            &path,
            signature,
        );
        if canonical != bytes {
            return Err(ScittError::NotCanonical(W));
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            header,
            protected: canonical_protected,
            tree_size,
            leaf_index,
            path,
            signature: signature.to_vec(),
        })
    }

    /// The receipt bytes.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The protected header fields.
    pub fn header(&self) -> &ReceiptHeader {
        &self.header
    }

    /// Tree size of the signed root.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// Index of the entry.
    pub fn leaf_index(&self) -> u64 {
        self.leaf_index
    }

    /// Inclusion path, leaf sibling first.
    pub fn path(&self) -> &[Hash] {
        &self.path
    }

    /// Verifies that `entry` (the statement bytes, unprotected header
    /// empty) is in the tree: the key is the one of `log_keys` whose RFC
    /// 9679 thumbprint is the receipt's `kid` and whose name is its `iss`;
    /// `sub` must name the tree head; the root is recomputed from
    /// `SHA-256(0x00 || entry)`, the index and the path (RFC 9162
    /// §2.1.3.2), and the signature must verify over it (RFC 9942 §5.2).
    pub fn verify(
        &self,
        entry: &[u8],
        log_keys: &[VerifierKey],
    ) -> Result<VerifiedCoseReceipt, ScittError> {
        let key = self
            .key_in(log_keys)
            .ok_or_else(|| ScittError::UnknownKey(hex::encode(self.header.kid)))?;
        if self.header.sub != tree_head_subject(&self.header.iss, self.tree_size) {
            return Err(malformed("receipt", "sub does not name the tree head"));
        }
        let root = root_from_inclusion(
            &leaf_hash(entry),
            self.leaf_index,
            self.tree_size,
            &self.path,
        )?;
        let msg = cose::sig_structure(&self.protected, &root);
        if !cose::verify_signature(key, self.header.alg, &msg, &self.signature) {
            return Err(ScittError::BadSignature);
        }
        Ok(VerifiedCoseReceipt {
            key: key.clone(),
            tree_size: self.tree_size,
            leaf_index: self.leaf_index,
            root,
            iat: self.header.iat,
        })
    }

    /// The trusted key this receipt names (by thumbprint, name and algorithm).
    fn key_in<'k>(&self, log_keys: &'k [VerifierKey]) -> Option<&'k VerifierKey> {
        log_keys.iter().find(|k| {
            matches!(k.key_type(), SIG_ED25519 | SIG_ML_DSA_44)
                && k.name() == self.header.iss
                && Algorithm::for_key(k) == self.header.alg
                && key_thumbprint(k) == self.header.kid
        })
    }
}

/// A SCITT transparent statement: a signed claim (the signed statement)
/// with one or more COSE receipts in its unprotected header (label 394).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentStatement {
    bytes: Vec<u8>,
    statement: SignedClaim,
    receipts: Vec<CoseReceipt>,
}

/// A transparent statement that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTransparentStatement {
    /// The statement (its signature verified).
    pub statement: SignedClaim,
    /// The receipts by trusted keys, all verified, in order.
    pub receipts: Vec<VerifiedCoseReceipt>,
}

fn encode_transparent(statement: &SignedClaim, receipts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        statement.to_bytes().len() + receipts.iter().map(|r| r.len() + 3).sum::<usize>() + 8,
    );
    write_head(&mut out, 6, COSE_SIGN1_TAG);
    write_head(&mut out, 4, 4);
    write_bytes(&mut out, statement.protected_header());
    write_head(&mut out, 5, 1);
    Item::Int(LABEL_RECEIPTS).encode(&mut out);
    write_head(&mut out, 4, receipts.len() as u64);
    for r in receipts {
        write_bytes(&mut out, r);
    }
    write_bytes(&mut out, statement.payload());
    write_bytes(&mut out, statement.signature_bytes());
    out
}

impl TransparentStatement {
    /// Attaches `receipts` (1 to [`MAX_RECEIPTS`]) to `statement`.
    pub fn new(statement: &SignedClaim, receipts: &[CoseReceipt]) -> Result<Self, ScittError> {
        let raw: Vec<&[u8]> = receipts.iter().map(CoseReceipt::to_bytes).collect();
        if raw.is_empty() || raw.len() > MAX_RECEIPTS {
            return Err(malformed("transparent statement", "1 to 8 receipts"));
        }
        Self::from_bytes(&encode_transparent(statement, &raw))
    }

    /// Decodes strictly: a tagged COSE_Sign1 whose unprotected header is
    /// exactly `{394: [+ bstr]}` (1 to 8 receipts, each a valid
    /// [`CoseReceipt`]) and which, with the unprotected header emptied, is
    /// a valid signed claim; canonical encoding throughout.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ScittError> {
        const W: &str = "transparent statement";
        if bytes.len() > MAX_TRANSPARENT_STATEMENT_SIZE {
            return Err(ScittError::TooLarge {
                what: W,
                size: bytes.len(),
                max: MAX_TRANSPARENT_STATEMENT_SIZE,
            });
        }
        let v = read_cbor(bytes, 4)?;
        let Cbor::Tag(COSE_SIGN1_TAG, inner) = v else {
            return Err(malformed(W, "expected a COSE_Sign1 with tag 18"));
        };
        let Cbor::Array(items) = *inner else {
            return Err(malformed(W, "expected an array"));
        };
        let [
            Cbor::Bytes(protected),
            unprotected,
            Cbor::Bytes(payload),
            Cbor::Bytes(signature),
        ] = items.as_slice()
        else {
            return Err(malformed(
                W,
                "expected [protected bstr, unprotected map, payload bstr, signature bstr]",
            ));
        };
        let list = match int_map(unprotected, W)?.as_slice() {
            [(LABEL_RECEIPTS, Cbor::Array(list))] => list.clone(),
            _ => {
                return Err(malformed(
                    W,
                    "unprotected header must be exactly {394: [receipts]}",
                ));
            }
        };
        if list.is_empty() || list.len() > MAX_RECEIPTS {
            return Err(malformed(W, "1 to 8 receipts"));
        }
        let receipts = list
            .iter()
            .map(|r| match r {
                Cbor::Bytes(b) => CoseReceipt::from_bytes(b),
                _ => Err(malformed(W, "each receipt is a byte string")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The signed statement is these parts with an empty unprotected map.
        let mut statement = Vec::with_capacity(bytes.len());
        write_head(&mut statement, 6, COSE_SIGN1_TAG);
        write_head(&mut statement, 4, 4);
        write_bytes(&mut statement, protected);
        write_head(&mut statement, 5, 0);
        write_bytes(&mut statement, payload);
        write_bytes(&mut statement, signature);
        let statement = SignedClaim::from_bytes(&statement)?;
        let raw: Vec<&[u8]> = receipts.iter().map(CoseReceipt::to_bytes).collect();
        if encode_transparent(&statement, &raw) != bytes {
            return Err(ScittError::NotCanonical(W));
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            statement,
            receipts,
        })
    }

    /// The transparent statement bytes.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signed statement; its bytes are the log entry (the leaf).
    pub fn statement(&self) -> &SignedClaim {
        &self.statement
    }

    /// The receipts, in order.
    pub fn receipts(&self) -> &[CoseReceipt] {
        &self.receipts
    }

    /// Verifies the statement's signature and its receipts against
    /// `log_keys`: every receipt whose `kid` is a trusted key must verify
    /// (a bad one rejects the whole statement, as a bad known signature
    /// rejects a note), receipts by unknown keys are ignored, and at least
    /// one must be by a trusted key.
    pub fn verify(
        &self,
        log_keys: &[VerifierKey],
    ) -> Result<VerifiedTransparentStatement, ScittError> {
        self.statement.verify_signature()?;
        let entry = self.statement.to_bytes();
        let mut verified = Vec::new();
        for r in &self.receipts {
            match r.verify(entry, log_keys) {
                Ok(v) => verified.push(v),
                Err(ScittError::UnknownKey(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if verified.is_empty() {
            return Err(ScittError::NoTrustedReceipt);
        }
        Ok(VerifiedTransparentStatement {
            statement: self.statement.clone(),
            receipts: verified,
        })
    }
}
