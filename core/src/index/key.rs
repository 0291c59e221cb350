//! What the index is keyed by, and the map function from a log entry to
//! its keys (spec/lookup.md §2).
//!
//! A key is written as its **key material**, a deterministic CBOR array
//! whose first element is the kind, and indexed under its **key hash**
//! `SHA-256("provlog/index/v1/key" ‖ material)`. Hashing makes keys
//! uniformly distributed (so prefix-tree depth is logarithmic whatever the
//! keys are) and of one size.
//!
//! | kind | material | from |
//! |---|---|---|
//! | 1 asset | `[1, bstr .size 32]` | `asset.sha256` of a claim |
//! | 2 hard binding | `[2, alg, hash]` | `c2pa.hard` of a claim |
//! | 3 soft binding | `[3, alg, value]` | each `soft` binding of a claim |
//! | 4 vendor | `[4, vkey]` | the claim's kid |
//! | 5 vendor sequence bucket | `[5, vkey, seq >> 8]` | kid and `seq` |
//! | 6 vendor-key status | `[6, vkey]` | each key a vendor-key entry names |

use crate::cbor::{Cbor, Item, decode};
use crate::claim::{HashAlg, MAX_ALG_NAME_LEN, MAX_SOFT_BINDING_VALUE};
use crate::hash::Hash;
use crate::signed_claim::{MAX_ML_DSA_KID_LEN, SignedClaim};

use super::hashing::KEY_DOMAIN;

/// A key hash: the position of a key in the prefix tree.
pub type KeyHash = Hash;

/// Bits of `seq` below the bucket number: a bucket holds 256 sequence numbers.
pub const SEQ_BUCKET_BITS: u32 = 8;
/// Longest vkey in a key (kinds 4, 5, 6): the longest kid of any admissible
/// signed claim (an ML-DSA-44 kid, spec/signed-claim.md §7), so every claim's
/// keys are representable.
pub const MAX_KEY_VKEY: usize = MAX_ML_DSA_KID_LEN;
/// Largest key material accepted, in bytes: kind 5 with a
/// [`MAX_KEY_VKEY`]-byte vkey and a 9-byte bucket (1 array head + 1 kind +
/// 3 text head + 2,048 + 9), spec/lookup.md §2.1.
pub const MAX_KEY_MATERIAL: usize = 2062;

/// Key kinds (the first element of the material).
pub mod kind {
    /// Asset SHA-256.
    pub const ASSET: u64 = 1;
    /// C2PA hard-binding hash (alg + hash).
    pub const HARD_BINDING: u64 = 2;
    /// Exact soft-binding value (alg + value).
    pub const SOFT_BINDING: u64 = 3;
    /// Vendor key (the claim's kid vkey).
    pub const VENDOR: u64 = 4;
    /// Vendor key + sequence bucket.
    pub const VENDOR_SEQ: u64 = 5;
    /// Vendor-key status events for a vkey.
    pub const VENDOR_KEY_STATUS: u64 = 6;
}

/// One index key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndexKey {
    /// Claims whose `asset.sha256` is this.
    Asset([u8; 32]),
    /// Claims whose C2PA hard binding is `alg` / `hash`.
    HardBinding {
        /// Hash algorithm.
        alg: HashAlg,
        /// The hash (its algorithm's length).
        hash: Vec<u8>,
    },
    /// Claims carrying a soft binding with exactly this algorithm and value.
    SoftBinding {
        /// Algorithm name.
        alg: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Claims signed by this vendor key (vkey string, as in the kid).
    Vendor(String),
    /// Claims by this vendor key whose `seq >> 8` is `bucket`.
    VendorSeq {
        /// Vendor vkey.
        vendor: String,
        /// `seq >> SEQ_BUCKET_BITS`.
        bucket: u64,
    },
    /// Vendor-key entries (add, rotate, revoke) that name this vkey.
    VendorKeyStatus(String),
}

/// Why some bytes are not valid key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Over [`MAX_KEY_MATERIAL`].
    #[error("key material is {0} bytes, over the limit")]
    TooLarge(usize),
    /// Not deterministic CBOR, or not the shape of any kind.
    #[error("key material is malformed: {0}")]
    Malformed(String),
    /// An unknown kind.
    #[error("unknown key kind {0}")]
    UnknownKind(u64),
}

fn malformed(s: impl Into<String>) -> KeyError {
    KeyError::Malformed(s.into())
}

/// Soft-binding algorithm names: 1–128 bytes of `[A-Za-z0-9._:/+-]` (claim.md).
fn valid_alg_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ALG_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/+-".contains(&b))
}

fn valid_vkey_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_KEY_VKEY && !s.bytes().any(|b| b <= 0x20 || b == 0x7f)
}

impl IndexKey {
    /// The key's kind number.
    pub fn kind(&self) -> u64 {
        match self {
            IndexKey::Asset(_) => kind::ASSET,
            IndexKey::HardBinding { .. } => kind::HARD_BINDING,
            IndexKey::SoftBinding { .. } => kind::SOFT_BINDING,
            IndexKey::Vendor(_) => kind::VENDOR,
            IndexKey::VendorSeq { .. } => kind::VENDOR_SEQ,
            IndexKey::VendorKeyStatus(_) => kind::VENDOR_KEY_STATUS,
        }
    }

    /// The bucket key that holds `seq` of vendor `vendor`.
    pub fn vendor_seq(vendor: &str, seq: u64) -> Self {
        IndexKey::VendorSeq {
            vendor: vendor.to_owned(),
            bucket: seq >> SEQ_BUCKET_BITS,
        }
    }

    /// The key material: deterministic CBOR `[kind, ...]`.
    pub fn material(&self) -> Vec<u8> {
        let k = Item::Uint(self.kind());
        let item = match self {
            IndexKey::Asset(h) => Item::Array(vec![k, Item::Bytes(h)]),
            IndexKey::HardBinding { alg, hash } => {
                Item::Array(vec![k, Item::Text(alg.as_str()), Item::Bytes(hash)])
            }
            IndexKey::SoftBinding { alg, value } => {
                Item::Array(vec![k, Item::Text(alg), Item::Bytes(value)])
            }
            IndexKey::Vendor(v) | IndexKey::VendorKeyStatus(v) => {
                Item::Array(vec![k, Item::Text(v)])
            }
            IndexKey::VendorSeq { vendor, bucket } => {
                Item::Array(vec![k, Item::Text(vendor), Item::Uint(*bucket)])
            }
        };
        item.to_vec()
    }

    /// The key hash: `SHA-256("provlog/index/v1/key" ‖ material)`.
    pub fn hash(&self) -> KeyHash {
        material_hash(&self.material())
    }

    /// Parses key material strictly: deterministic CBOR of one of the
    /// kinds, with the field limits of the claim schema.
    pub fn from_material(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() > MAX_KEY_MATERIAL {
            return Err(KeyError::TooLarge(bytes.len()));
        }
        let item = decode(bytes, 1).map_err(|e| malformed(e.to_string()))?;
        let Cbor::Array(items) = item else {
            return Err(malformed("not an array"));
        };
        let Some(Cbor::Uint(k)) = items.first() else {
            return Err(malformed("the first element must be the kind (uint)"));
        };
        let rest = &items[1..];
        let key = match (*k, rest) {
            (kind::ASSET, [Cbor::Bytes(h)]) => IndexKey::Asset(
                <[u8; 32]>::try_from(*h).map_err(|_| malformed("asset hash is not 32 bytes"))?,
            ),
            (kind::HARD_BINDING, [Cbor::Text(alg), Cbor::Bytes(h)]) => {
                let alg = HashAlg::from_term(alg).ok_or_else(|| malformed("unknown hash alg"))?;
                if h.len() != alg.digest_len() {
                    return Err(malformed("hash length does not match its algorithm"));
                }
                IndexKey::HardBinding {
                    alg,
                    hash: h.to_vec(),
                }
            }
            (kind::SOFT_BINDING, [Cbor::Text(alg), Cbor::Bytes(v)]) => {
                if !valid_alg_name(alg) || v.is_empty() || v.len() > MAX_SOFT_BINDING_VALUE {
                    return Err(malformed("soft binding alg or value out of range"));
                }
                IndexKey::SoftBinding {
                    alg: (*alg).to_owned(),
                    value: v.to_vec(),
                }
            }
            (kind::VENDOR, [Cbor::Text(v)]) | (kind::VENDOR_KEY_STATUS, [Cbor::Text(v)]) => {
                if !valid_vkey_text(v) {
                    return Err(malformed("vkey text out of range"));
                }
                if *k == kind::VENDOR {
                    IndexKey::Vendor((*v).to_owned())
                } else {
                    IndexKey::VendorKeyStatus((*v).to_owned())
                }
            }
            (kind::VENDOR_SEQ, [Cbor::Text(v), Cbor::Uint(b)]) => {
                if !valid_vkey_text(v) {
                    return Err(malformed("vkey text out of range"));
                }
                IndexKey::VendorSeq {
                    vendor: (*v).to_owned(),
                    bucket: *b,
                }
            }
            (1..=6, _) => return Err(malformed("wrong fields for the kind")),
            (k, _) => return Err(KeyError::UnknownKind(k)),
        };
        if key.material() != bytes {
            return Err(malformed("not in deterministic encoding"));
        }
        Ok(key)
    }

    /// A one-line human form, e.g. `asset:<hex>` (for CLI output).
    pub fn describe(&self) -> String {
        match self {
            IndexKey::Asset(h) => format!("asset:{}", hex::encode(h)),
            IndexKey::HardBinding { alg, hash } => format!("hard:{alg}:{}", hex::encode(hash)),
            IndexKey::SoftBinding { alg, value } => format!("soft:{alg}:{}", hex::encode(value)),
            IndexKey::Vendor(v) => format!("vendor:{v}"),
            IndexKey::VendorSeq { vendor, bucket } => format!("vendor-seq:{vendor}:{bucket}"),
            IndexKey::VendorKeyStatus(v) => format!("vendor-key:{v}"),
        }
    }
}

impl IndexKey {
    /// Parses the CLI form of spec/lookup.md §2.1 (`asset:<hex>`,
    /// `hard:<alg>:<hex>`, `soft:<alg>:<hex>`, `vendor:<vkey>`,
    /// `vendor-seq:<vkey>:<bucket>`, `vendor-key:<vkey>`), the inverse of
    /// [`IndexKey::describe`]. Hex is lowercase; the value of `hard:`/`soft:`
    /// and the bucket of `vendor-seq:` are what follows the **last** `:`.
    /// The result is checked like key material ([`IndexKey::from_material`]),
    /// so every limit applies. Cost: linear in the input, which the caller
    /// bounds.
    pub fn parse_cli(s: &str) -> Result<Self, KeyError> {
        if s.len() > 2 * MAX_KEY_MATERIAL + 32 {
            return Err(KeyError::TooLarge(s.len()));
        }
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| malformed("expected <kind>:<value>"))?;
        let hex_value = |h: &str| -> Result<Vec<u8>, KeyError> {
            if h.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(malformed("hex must be lowercase"));
            }
            hex::decode(h).map_err(|_| malformed("bad hex"))
        };
        let last = |r: &'_ str| -> Result<(String, String), KeyError> {
            r.rsplit_once(':')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| malformed(format!("expected {kind}:<name>:<value>")))
        };
        let key = match kind {
            "asset" => IndexKey::Asset(
                <[u8; 32]>::try_from(hex_value(rest)?)
                    .map_err(|_| malformed("asset hash is not 32 bytes"))?,
            ),
            "hard" => {
                let (alg, h) = last(rest)?;
                IndexKey::HardBinding {
                    alg: HashAlg::from_term(&alg).ok_or_else(|| malformed("unknown hash alg"))?,
                    hash: hex_value(&h)?,
                }
            }
            "soft" => {
                let (alg, v) = last(rest)?;
                IndexKey::SoftBinding {
                    alg,
                    value: hex_value(&v)?,
                }
            }
            "vendor" => IndexKey::Vendor(rest.to_owned()),
            "vendor-key" => IndexKey::VendorKeyStatus(rest.to_owned()),
            "vendor-seq" => {
                let (vendor, b) = last(rest)?;
                let bucket: u64 = b
                    .parse()
                    .map_err(|_| malformed("bucket must be a decimal integer"))?;
                if bucket.to_string() != b {
                    return Err(malformed("bucket must be canonical decimal"));
                }
                IndexKey::VendorSeq { vendor, bucket }
            }
            other => return Err(malformed(format!("unknown key kind {other:?}"))),
        };
        // The material parser holds every field limit.
        IndexKey::from_material(&key.material())
    }
}

/// `SHA-256("provlog/index/v1/key" ‖ material)`.
pub fn material_hash(material: &[u8]) -> KeyHash {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(KEY_DOMAIN);
    h.update(material);
    h.finalize().into()
}

/// The keys of a signed claim (spec/lookup.md §2.2), without duplicates,
/// in a fixed order (asset, hard binding, soft bindings in claim order,
/// vendor, sequence bucket). The signature is not part of the map
/// function: the log only admits valid signatures and monitors check them
/// separately, so the index of an entry depends on its bytes alone.
pub fn claim_keys(claim: &SignedClaim) -> Vec<IndexKey> {
    let c = claim.claim();
    let mut keys = Vec::with_capacity(4 + c.soft_bindings.len());
    keys.push(IndexKey::Asset(c.asset.sha256));
    if let Some(c2pa) = &c.c2pa {
        keys.push(IndexKey::HardBinding {
            alg: c2pa.hard_binding.alg,
            hash: c2pa.hard_binding.hash.clone(),
        });
    }
    for s in &c.soft_bindings {
        let k = IndexKey::SoftBinding {
            alg: s.alg.clone(),
            value: s.value.clone(),
        };
        // Two bindings of different kinds may share alg and value.
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.push(IndexKey::Vendor(claim.kid().to_owned()));
    if let Some(seq) = c.sequence {
        keys.push(IndexKey::vendor_seq(claim.kid(), seq));
    }
    keys
}

/// The keys of any log entry: a signed claim's [`claim_keys`], the
/// vendor-key status keys of a vendor-key entry, and none for an
/// index-commit or an entry of no known kind.
pub fn entry_keys(entry: &[u8]) -> Vec<IndexKey> {
    log_entry_keys(&super::entry::LogEntry::classify(entry))
}

/// [`entry_keys`] of an entry already classified.
pub fn log_entry_keys(entry: &super::entry::LogEntry) -> Vec<IndexKey> {
    match entry {
        super::entry::LogEntry::Claim(c) => claim_keys(c),
        super::entry::LogEntry::VendorKey(v) => v.keys(),
        super::entry::LogEntry::IndexCommit(_) | super::entry::LogEntry::Other => Vec::new(),
    }
}

/// The key hashes of any log entry ([`entry_keys`], hashed).
pub fn entry_key_hashes(entry: &[u8]) -> Vec<KeyHash> {
    entry_keys(entry).iter().map(IndexKey::hash).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn material_round_trips_and_is_strict() {
        let keys = [
            IndexKey::Asset([7; 32]),
            IndexKey::HardBinding {
                alg: HashAlg::Sha384,
                hash: vec![1; 48],
            },
            IndexKey::SoftBinding {
                alg: "com.example.wm".into(),
                value: vec![0xde, 0xad],
            },
            IndexKey::Vendor("v+12345678+AAAA".into()),
            IndexKey::vendor_seq("v+12345678+AAAA", 1000),
            IndexKey::VendorKeyStatus("v+12345678+AAAA".into()),
        ];
        for k in &keys {
            assert_eq!(&IndexKey::from_material(&k.material()).unwrap(), k);
        }
        // Asset material: 82 01 58 20 <32 bytes>.
        assert_eq!(&keys[0].material()[..4], &[0x82, 0x01, 0x58, 0x20]);
        assert_eq!(
            keys[4],
            IndexKey::VendorSeq {
                vendor: "v+12345678+AAAA".into(),
                bucket: 3
            }
        );
        // Non-shortest head, wrong lengths, unknown kinds are refused.
        assert!(IndexKey::from_material(&[0x82, 0x18, 0x01, 0x40]).is_err());
        assert!(IndexKey::from_material(&[0x82, 0x01, 0x41, 0x00]).is_err());
        assert_eq!(
            IndexKey::from_material(&[0x82, 0x07, 0x40]),
            Err(KeyError::UnknownKind(7))
        );
        // The limits are the spec's (§2.1): a 2,048-byte vkey fits, in
        // every kind that names one, and the longest kind-5 material is
        // exactly MAX_KEY_MATERIAL bytes; one more byte of vkey is refused.
        let long = "v".repeat(MAX_KEY_VKEY);
        let longest = IndexKey::VendorSeq {
            vendor: long.clone(),
            bucket: u64::MAX,
        };
        assert_eq!(longest.material().len(), MAX_KEY_MATERIAL);
        assert_eq!(
            IndexKey::from_material(&longest.material()).unwrap(),
            longest
        );
        for k in [
            IndexKey::Vendor(long.clone()),
            IndexKey::VendorKeyStatus(long.clone()),
        ] {
            assert_eq!(IndexKey::from_material(&k.material()).unwrap(), k);
        }
        let over = IndexKey::Vendor("v".repeat(MAX_KEY_VKEY + 1));
        assert!(matches!(
            IndexKey::from_material(&over.material()),
            Err(KeyError::Malformed(_))
        ));
        let mut too_big = longest.material();
        too_big.push(0);
        assert_eq!(
            IndexKey::from_material(&too_big),
            Err(KeyError::TooLarge(MAX_KEY_MATERIAL + 1))
        );
        // CLI forms round-trip through describe / parse_cli.
        for k in &keys {
            assert_eq!(&IndexKey::parse_cli(&k.describe()).unwrap(), k);
        }
        let soft = IndexKey::SoftBinding {
            alg: "a:b".into(),
            value: vec![1],
        };
        assert_eq!(IndexKey::parse_cli("soft:a:b:01").unwrap(), soft);
        for bad in [
            "asset:00",
            "asset:ZZ",
            &format!("asset:{}", "AB".repeat(32)),
            "hard:md5:00",
            "soft:x:",
            "vendor-seq:v:01",
            "vendor:",
            "nope:1",
            "asset",
        ] {
            assert!(IndexKey::parse_cli(bad).is_err(), "{bad}");
        }
        let bad_hard = Item::Array(vec![
            Item::Uint(2),
            Item::Text("sha256"),
            Item::Bytes(&[0; 31]),
        ])
        .to_vec();
        assert!(IndexKey::from_material(&bad_hard).is_err());
    }
}
