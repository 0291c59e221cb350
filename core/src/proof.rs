//! Inclusion and consistency proof *verification* (RFC 9162 §2.1.3.2 and
//! §2.1.4.2), with the edge cases RFC 9162 leaves open pinned down in
//! spec/tree.md §5:
//!
//! - an inclusion proof needs `index < size` (so never in the empty tree);
//! - a consistency proof with `old == new` must be empty and the roots equal;
//! - a consistency proof from the empty tree (`old == 0`) must be empty and
//!   the old root must be the empty-tree hash; it proves nothing about the new tree;
//! - every proof must have exactly the length its sizes imply: a proof with
//!   extra or missing hashes is rejected before any hashing.

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// Old tree size.
        old: u64,
        /// New tree size.
        new: u64,
    },
    /// The proof does not have the number of hashes its sizes require.
    #[error("proof has {got} hashes, but these tree sizes require exactly {expected}")]
    WrongProofLength {
        /// Required number of hashes.
        expected: usize,
        /// Number of hashes supplied.
        got: usize,
    },
    /// The inclusion proof leads to a different root.
    #[error("inclusion proof does not lead to the given root")]
    InclusionRootMismatch,
    /// The consistency proof does not reproduce the old root.
    #[error("consistency proof does not reproduce the old tree's root")]
    OldRootMismatch,
    /// The consistency proof does not reproduce the new root.
    #[error("consistency proof does not reproduce the new tree's root")]
    NewRootMismatch,
    /// Two trees of the same size with different roots.
    #[error("trees of equal size {size} have different roots")]
    EqualSizeRootMismatch {
        /// The common tree size.
        size: u64,
    },
    /// A tree of size 0 whose root is not SHA-256("").
    #[error("the root given for the empty tree is not SHA-256(\"\")")]
    EmptyRootMismatch,
}

/// Bit length of `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Number of hashes in the audit path of leaf `index` in a tree of `size`
/// leaves (`index < size`): one per level where the path's sibling is a
/// complete subtree inside the tree (the "inner" part, where `index` and
/// `size - 1` differ), plus one per left sibling on the right border.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Recomputes the root implied by an inclusion proof (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        // The exact-length check above guarantees s > 0 here; keep the RFC's
        // guard anyway so a future change cannot silently accept junk.
        if s == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // On the right border a node without a right sibling is promoted:
            // skip the levels where it has none.
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if root_from_inclusion(leaf, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::InclusionRootMismatch)
    }
}

/// Number of hashes in a consistency proof for `0 < old < new`.
fn consistency_len(old: u64, new: u64) -> usize {
    // Below the lowest set bit of `old` the old tree's last peak is a complete
    // subtree of both trees, so verification starts at that level.
    let shift = old.trailing_zeros();
    let f = (old - 1) >> shift;
    let s = (new - 1) >> shift;
    let inner = bit_len(f ^ s);
    let border = (f >> inner).count_ones();
    // When `old` is a power of two the old root is itself the starting node
    // and is not sent; otherwise the proof starts with that node.
    let seed = usize::from(old != 1u64 << shift);
    seed + (inner + border) as usize
}

/// Verifies that the tree of `new` leaves with `new_root` extends the tree of
/// `old` leaves with `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if old == 0 {
            // Every tree extends the empty tree, whose root is fixed.
            return if *old_root == EMPTY_ROOT {
                Ok(())
            } else {
                Err(ProofError::EmptyRootMismatch)
            };
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::EqualSizeRootMismatch { size: old })
        };
    }
    let expected = consistency_len(old, new);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (seed, rest) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => {
                return Err(ProofError::WrongProofLength { expected, got: 0 });
            }
        }
    };
    let (fr, sr) = consistency_walk(old, new, seed, rest, expected, proof.len())?;
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// The RFC 9162 §2.1.4.2 walk: from the seed (the old tree's last complete
/// subtree) and the remaining proof hashes, the (old root, new root) they
/// imply. `expected`/`got` only label a length error.
fn consistency_walk(
    old: u64,
    new: u64,
    seed: &Hash,
    rest: &[Hash],
    expected: usize,
    got: usize,
) -> Result<(Hash, Hash), ProofError> {
    let mut f = old - 1;
    let mut s = new - 1;
    // Skip the levels where the old tree's last node is a right child whose
    // sibling is inside the seed subtree.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = *seed;
    let mut sr = *seed;
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongProofLength { expected, got });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength { expected, got });
    }
    Ok((fr, sr))
}

/// The root of the `old`-leaf tree implied by a consistency proof that
/// reproduces `new_root`: what the first `old` leaves of the tree with
/// `new_root` must hash to. Used for evidence that a log signed a smaller
/// checkpoint whose root is not a prefix of a larger one (spec/evidence.md).
///
/// Requires `0 < old < new`. `proof` is the RFC 9162 consistency proof,
/// except that when `old` is a power of two it must start with the old
/// root itself (the RFC form leaves it out, because a verifier that already
/// knows the old root uses it as the seed). The function fails unless the
/// proof has exactly the implied length and reproduces `new_root`; only
/// then does the returned hash bind the log (under collision resistance).
pub fn implied_old_root(
    old: u64,
    new: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if old >= new || old == 0 {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    let expected = consistency_len(old, new) + usize::from(old.is_power_of_two());
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let Some((seed, rest)) = proof.split_first() else {
        return Err(ProofError::WrongProofLength { expected, got: 0 });
    };
    let (fr, sr) = consistency_walk(old, new, seed, rest, expected, proof.len())?;
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(fr)
}

#[cfg(test)]
mod implied_root_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tree::{MemoryTree, consistency_proof, tree_root};

    #[test]
    fn implied_root_is_the_prefix_root_and_binds_the_new_root() {
        let tree = MemoryTree::from_entries((0..70u32).map(|i| i.to_be_bytes()));
        let view = tree.at_size(70).unwrap();
        for old in 1..70u64 {
            let mut proof = consistency_proof(&view, old, 70).unwrap();
            let old_root = tree_root(&view, old).unwrap();
            if old.is_power_of_two() {
                proof.insert(0, old_root);
            }
            assert_eq!(
                implied_old_root(old, 70, &tree.root(), &proof).unwrap(),
                old_root
            );
            let mut wrong = tree.root();
            wrong[0] ^= 1;
            assert_eq!(
                implied_old_root(old, 70, &wrong, &proof),
                Err(ProofError::NewRootMismatch)
            );
            let short = &proof[1..];
            assert!(matches!(
                implied_old_root(old, 70, &tree.root(), short),
                Err(ProofError::WrongProofLength { .. })
            ));
        }
        assert!(implied_old_root(70, 70, &tree.root(), &[]).is_err());
        assert!(implied_old_root(0, 70, &tree.root(), &[]).is_err());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::{MemoryTree, consistency_proof, inclusion_proof, tree_root};

    #[test]
    fn all_small_proofs_verify_and_lengths_match() {
        let t = MemoryTree::from_entries((0u16..70).map(|i| i.to_be_bytes()));
        let roots: Vec<Hash> = (0..=70).map(|n| tree_root(&t, n).unwrap()).collect();
        for n in 1..=70u64 {
            for i in 0..n {
                let p = inclusion_proof(&t, i, n).unwrap();
                assert_eq!(p.len(), inclusion_len(i, n), "i={i} n={n}");
                let leaf = leaf_hash(&(i as u16).to_be_bytes());
                verify_inclusion(&leaf, i, n, &p, &roots[n as usize]).unwrap();
            }
        }
        for new in 0..=70u64 {
            for old in 0..=new {
                let p = consistency_proof(&t, old, new).unwrap();
                if old > 0 && old < new {
                    assert_eq!(p.len(), consistency_len(old, new), "{old}->{new}");
                }
                verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &p)
                    .unwrap();
            }
        }
    }

    #[test]
    fn edge_cases() {
        let r = [7u8; 32];
        assert_eq!(
            root_from_inclusion(&r, 0, 0, &[]),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(root_from_inclusion(&r, 0, 1, &[]), Ok(r));
        assert!(matches!(
            root_from_inclusion(&r, 0, 1, &[r]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        ));
        assert_eq!(
            verify_consistency(3, 2, &r, &r, &[]),
            Err(ProofError::OldLargerThanNew { old: 3, new: 2 })
        );
        assert_eq!(verify_consistency(5, 5, &r, &r, &[]), Ok(()));
        assert_eq!(
            verify_consistency(5, 5, &r, &[8; 32], &[]),
            Err(ProofError::EqualSizeRootMismatch { size: 5 })
        );
        assert!(verify_consistency(5, 5, &r, &r, &[r]).is_err());
        assert_eq!(verify_consistency(0, 9, &EMPTY_ROOT, &r, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency(0, 9, &r, &r, &[]),
            Err(ProofError::EmptyRootMismatch)
        );
        assert!(verify_consistency(0, 9, &EMPTY_ROOT, &r, &[r]).is_err());
        // Extreme sizes must not overflow.
        assert!(root_from_inclusion(&r, u64::MAX - 1, u64::MAX, &[]).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &r, &r, &[]).is_err());
    }
}
