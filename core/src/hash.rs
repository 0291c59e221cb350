//! RFC 6962 / RFC 9162 Merkle tree hashing.
//!
//! leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right),
//! and the empty tree hashes to SHA-256("").

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Size of a [`Hash`] in bytes.
pub const HASH_SIZE: usize = 32;

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The RFC 6962 leaf hash of an entry: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Plain SHA-256 of some bytes (asset hashes, dedup keys).
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, sha256(b""));
    }

    #[test]
    fn leaf_and_node_use_domain_separation() {
        // RFC 6962 §2.1: leaf and node hashes differ from plain SHA-256.
        assert_ne!(leaf_hash(b"x"), sha256(b"x"));
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concat = vec![0x01];
        concat.extend_from_slice(&a);
        concat.extend_from_slice(&b);
        assert_eq!(node_hash(&a, &b), sha256(&concat));
        // Known value: leaf hash of "one" from the Tessera test log.
        assert_eq!(hex::encode(&leaf_hash(b"one")[..4]), "d0d7360a",);
    }
}
