//! Hashes of the verifiable index (spec/lookup.md §3). All are SHA-256 with
//! a one-byte domain prefix that no other provlog hash uses as its first
//! byte, so no index hash can be mistaken for a log leaf (0x00) or node
//! (0x01) hash, or for another kind of index hash:
//!
//! | hash | preimage |
//! |---|---|
//! | key hash | `"provlog/index/v1/key"` ‖ key material (CBOR) |
//! | prefix-tree leaf | `0x10` ‖ key hash ‖ count (u64 BE) ‖ list root |
//! | prefix-tree interior | `0x11` ‖ left ‖ right |
//! | list leaf | `0x12` ‖ entry index (u64 BE) |
//! | list interior | `0x01` ‖ left ‖ right (RFC 6962 node) |
//!
//! An empty subtree of the prefix tree is [`EMPTY`] (32 zero bytes, which
//! is nobody's hash), and so is the root of the empty index. The list
//! interior reuses the RFC 6962 node hash so the list tree is an RFC 6962
//! tree over list leaves and the crate's proof code applies to it; its
//! leaves are domain-separated, so no list subtree equals a log subtree.

use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// Domain separation string prefixed to key material.
pub const KEY_DOMAIN: &[u8] = b"provlog/index/v1/key";
/// Prefix byte of a prefix-tree leaf hash.
pub const LEAF_PREFIX: u8 = 0x10;
/// Prefix byte of a prefix-tree interior hash.
pub const INTERIOR_PREFIX: u8 = 0x11;
/// Prefix byte of a list leaf hash.
pub const LIST_LEAF_PREFIX: u8 = 0x12;
/// The hash of an empty prefix subtree and the root of the empty index.
pub const EMPTY: Hash = [0u8; 32];

/// The prefix-tree leaf hash of a key with `count` indexes whose list tree
/// has root `list_root`.
pub fn leaf_hash(key: &Hash, count: u64, list_root: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(key);
    h.update(count.to_be_bytes());
    h.update(list_root);
    h.finalize().into()
}

/// The prefix-tree interior hash of two children ([`EMPTY`] for none).
pub fn interior_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([INTERIOR_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The list leaf hash of one entry index.
pub fn list_leaf_hash(index: u64) -> Hash {
    let mut h = Sha256::new();
    h.update([LIST_LEAF_PREFIX]);
    h.update(index.to_be_bytes());
    h.finalize().into()
}

/// Bit `i` (0 = most significant bit of byte 0) of a key hash: 0 goes left.
/// `i` must be below 256.
#[inline]
pub fn bit(key: &Hash, i: usize) -> u8 {
    (key[i / 8] >> (7 - i % 8)) & 1
}

/// Length of the common prefix of two key hashes, in bits (256 if equal).
pub fn common_prefix_bits(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let d = x ^ y;
        if d != 0 {
            return i * 8 + d.leading_zeros() as usize;
        }
    }
    256
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_prefixes() {
        let mut a = [0u8; 32];
        a[0] = 0b1010_0000;
        assert_eq!((bit(&a, 0), bit(&a, 1), bit(&a, 2)), (1, 0, 1));
        let mut b = a;
        assert_eq!(common_prefix_bits(&a, &b), 256);
        b[31] ^= 1;
        assert_eq!(common_prefix_bits(&a, &b), 255);
        b[0] ^= 0x80;
        assert_eq!(common_prefix_bits(&a, &b), 0);
    }

    #[test]
    fn domains_differ() {
        let z = [0u8; 32];
        assert_ne!(interior_hash(&z, &z), crate::hash::node_hash(&z, &z));
        assert_ne!(
            list_leaf_hash(0),
            crate::hash::leaf_hash(&0u64.to_be_bytes())
        );
    }
}
