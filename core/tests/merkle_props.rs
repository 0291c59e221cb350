//! Property tests for tree.rs and proof.rs: every generated proof verifies
//! and every mangled one fails, over all sizes 0..=5000 of a real tree and
//! over sizes up to 2^62 of a sparse (but fully consistent) tree.
#![allow(clippy::unwrap_used)]

mod merkle_common;

use std::collections::BTreeMap;

use merkle_common::{BIG, SparseTree, big_roots, big_tree, entry};
use proptest::prelude::*;
use provlog_core::hash::{EMPTY_ROOT, Hash, leaf_hash};
use provlog_core::proof::{ProofError, root_from_inclusion, verify_consistency, verify_inclusion};
use provlog_core::tree::{
    CompactRange, NodeId, TreeError, consistency_nodes, consistency_proof, inclusion_nodes,
    inclusion_proof, root_nodes, tree_root,
};

fn flip(proof: &[Hash], pos: usize, bit: usize) -> Vec<Hash> {
    let mut p = proof.to_vec();
    p[pos][bit / 8] ^= 1 << (bit % 8);
    p
}

/// Asserts every mutation of a valid inclusion proof is rejected.
fn check_inclusion_mutations(
    leaf: &Hash,
    i: u64,
    n: u64,
    proof: &[Hash],
    root: &Hash,
    sel: (usize, usize),
) {
    if !proof.is_empty() {
        let pos = sel.0 % proof.len();
        assert_eq!(
            verify_inclusion(leaf, i, n, &flip(proof, pos, sel.1 % 256), root),
            Err(ProofError::InclusionRootMismatch),
            "flipped bit in hash {pos}"
        );
        assert!(matches!(
            verify_inclusion(leaf, i, n, &proof[..proof.len() - 1], root),
            Err(ProofError::WrongProofLength { .. })
        ));
    }
    let mut longer = proof.to_vec();
    longer.push([0xab; 32]);
    assert!(matches!(
        verify_inclusion(leaf, i, n, &longer, root),
        Err(ProofError::WrongProofLength { .. })
    ));
    let mut other_leaf = *leaf;
    other_leaf[sel.1 % 32] ^= 0x40;
    assert!(verify_inclusion(&other_leaf, i, n, proof, root).is_err());
    assert!(verify_inclusion(leaf, i, n, proof, &other_leaf).is_err());
}

/// Asserts every mutation of a valid consistency proof is rejected.
fn check_consistency_mutations(
    m: u64,
    n: u64,
    rm: &Hash,
    rn: &Hash,
    proof: &[Hash],
    sel: (usize, usize),
) {
    if !proof.is_empty() {
        let pos = sel.0 % proof.len();
        assert!(
            verify_consistency(m, n, rm, rn, &flip(proof, pos, sel.1 % 256)).is_err(),
            "flipped bit in hash {pos} of {m}->{n}"
        );
        assert!(matches!(
            verify_consistency(m, n, rm, rn, &proof[..proof.len() - 1]),
            Err(ProofError::WrongProofLength { .. })
        ));
    }
    let mut longer = proof.to_vec();
    longer.push([0xcd; 32]);
    assert!(matches!(
        verify_consistency(m, n, rm, rn, &longer),
        Err(ProofError::WrongProofLength { .. })
    ));
    if rm != rn {
        assert!(
            verify_consistency(m, n, rn, rm, proof).is_err(),
            "swapped roots {m}->{n}"
        );
    }
    if m > 0 {
        // (From the empty tree nothing about the new root is proved, so only
        // a non-empty old tree binds the new root.)
        let mut other = *rn;
        other[sel.1 % 32] ^= 1;
        assert!(verify_consistency(m, n, rm, &other, proof).is_err());
        let mut other = *rm;
        other[sel.1 % 32] ^= 1;
        assert!(verify_consistency(m, n, &other, rn, proof).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_proofs_verify_and_mutations_fail(
        n in 1..=BIG, i_seed in any::<u64>(), j_seed in any::<u64>(), m_seed in any::<u64>(),
        sel in (any::<usize>(), any::<usize>()),
    ) {
        let i = i_seed % n;
        let view = big_tree().at_size(n).unwrap();
        let roots = big_roots();
        let root = roots[n as usize];
        let leaf = leaf_hash(&entry(i));
        let proof = inclusion_proof(&view, i, n).unwrap();
        prop_assert!(inclusion_nodes(i, n).unwrap().len() >= proof.len());
        verify_inclusion(&leaf, i, n, &proof, &root).unwrap();
        prop_assert_eq!(root_from_inclusion(&leaf, i, n, &proof).unwrap(), root);
        check_inclusion_mutations(&leaf, i, n, &proof, &root, sel);
        // Another index in the same tree, with the same leaf and proof.
        let j = j_seed % n;
        if j != i {
            prop_assert!(verify_inclusion(&leaf, j, n, &proof, &root).is_err());
        }
        // Another tree size, checked against that size's real root.
        let m = 1 + m_seed % BIG;
        if m != n && i < m {
            prop_assert!(verify_inclusion(&leaf, i, m, &proof, &roots[m as usize]).is_err());
        }
        // Indexes at or past the size are refused by both sides.
        let out_of_range = matches!(inclusion_proof(&view, n, n), Err(TreeError::IndexOutOfRange { .. }));
        prop_assert!(out_of_range);
        prop_assert_eq!(
            verify_inclusion(&leaf, n, n, &proof, &root),
            Err(ProofError::IndexOutOfRange { index: n, size: n })
        );
    }

    #[test]
    fn consistency_proofs_verify_and_mutations_fail(
        n in 0..=BIG, m_seed in any::<u64>(), k_seed in any::<u64>(),
        sel in (any::<usize>(), any::<usize>()),
    ) {
        let m = m_seed % (n + 1);
        let view = big_tree().at_size(n).unwrap();
        let roots = big_roots();
        let (rm, rn) = (roots[m as usize], roots[n as usize]);
        let proof = consistency_proof(&view, m, n).unwrap();
        verify_consistency(m, n, &rm, &rn, &proof).unwrap();
        if m == 0 || m == n {
            prop_assert!(proof.is_empty());
        }
        check_consistency_mutations(m, n, &rm, &rn, &proof, sel);
        // A proof for (m, n) does not prove (k, n) or (m, k) for other sizes k.
        let k = k_seed % (n + 1);
        // (k = n with an empty proof is the valid equal-size case.)
        if k != m && k > 0 && !(k == n && proof.is_empty()) {
            prop_assert!(verify_consistency(k, n, &roots[k as usize], &rn, &proof).is_err(), "old {} as {}", m, k);
        }
        let k2 = m + k_seed % (BIG - m + 1);
        if k2 != n && m > 0 && m < k2 {
            prop_assert!(verify_consistency(m, k2, &rm, &roots[k2 as usize], &proof).is_err());
        }
        if m > 0 {
            prop_assert_eq!(
                verify_consistency(n + 1, n, &rm, &rn, &proof),
                Err(ProofError::OldLargerThanNew { old: n + 1, new: n })
            );
        }
    }

    #[test]
    fn sparse_huge_trees(
        n in 2u64..(1u64 << 62), i_seed in any::<u64>(), m_seed in any::<u64>(),
        sel in (any::<usize>(), any::<usize>()),
    ) {
        let i = i_seed % n;
        let m = 1 + m_seed % (n - 1);
        // Special leaves around every position the checks care about.
        let t = SparseTree::new([0, i, i.saturating_sub(1), m - 1, m, n - 1, n / 2]);
        let (root_n, root_m) = (t.root(n), t.root(m));
        let leaf = t.leaf(i);
        let proof = inclusion_proof(&t, i, n).unwrap();
        verify_inclusion(&leaf, i, n, &proof, &root_n).unwrap();
        check_inclusion_mutations(&leaf, i, n, &proof, &root_n, sel);
        let cproof = consistency_proof(&t, m, n).unwrap();
        verify_consistency(m, n, &root_m, &root_n, &cproof).unwrap();
        check_consistency_mutations(m, n, &root_m, &root_n, &cproof, sel);
        // Compact range restored at size m, then extended by one leaf.
        let mut cr = CompactRange::from_reader(&t, m).unwrap();
        prop_assert_eq!(cr.root(), root_m);
        let mut emitted = Vec::new();
        cr.append(t.leaf(m), |id, h| emitted.push((id, h))).unwrap();
        prop_assert_eq!(cr.root(), t.root(m + 1));
        prop_assert_eq!(emitted.len() as u32, 1 + m.trailing_ones());
        for (id, h) in emitted {
            prop_assert_eq!(h, t.node(id));
        }
    }
}

#[test]
fn compact_range_matches_every_size_and_emits_exactly_the_stored_nodes() {
    let tree = big_tree();
    let roots = big_roots();
    let mut cr = CompactRange::new();
    let mut emitted: BTreeMap<NodeId, Hash> = BTreeMap::new();
    assert_eq!(cr.root(), EMPTY_ROOT);
    for i in 0..BIG {
        assert_eq!(cr.root(), roots[i as usize], "size {i}");
        assert_eq!(
            tree_root(&tree.at_size(i).unwrap(), i).unwrap(),
            roots[i as usize]
        );
        cr.append(leaf_hash(&entry(i)), |id, h| {
            assert!(emitted.insert(id, h).is_none(), "node {id:?} emitted twice");
        })
        .unwrap();
        // Restoring from the stored peaks gives the same state.
        let restored = CompactRange::from_reader(tree, i + 1).unwrap();
        assert_eq!(restored, cr);
    }
    assert_eq!(cr.root(), roots[BIG as usize]);
    let stored: BTreeMap<NodeId, Hash> = tree.nodes().collect();
    assert_eq!(emitted.len(), stored.len());
    assert!(
        emitted == stored,
        "sink output differs from the memory tree's nodes"
    );
}

#[test]
fn node_lists_cover_exactly_the_reads() {
    // The *_nodes functions must name every node the proof functions read,
    // and only nodes complete at the tree size (a view enforces the latter).
    for n in [
        1u64, 2, 3, 7, 8, 9, 255, 256, 257, 1000, 4095, 4096, 4097, BIG,
    ] {
        let view = big_tree().at_size(n).unwrap();
        assert_eq!(root_nodes(n).len(), n.count_ones() as usize);
        for id in root_nodes(n) {
            assert!(id.is_complete_in(n));
        }
        for i in [0, n / 3, n / 2, n - 1] {
            for id in inclusion_nodes(i, n).unwrap() {
                assert!(id.is_complete_in(n), "{id:?} not in {n}");
            }
            assert!(inclusion_proof(&view, i, n).is_ok());
        }
        for m in [1, n / 3, n / 2, n - 1, n] {
            if m == 0 {
                continue;
            }
            for id in consistency_nodes(m, n).unwrap() {
                assert!(id.is_complete_in(n));
            }
            assert!(consistency_proof(&view, m, n).is_ok());
        }
    }
    assert!(matches!(
        consistency_nodes(5, 4),
        Err(TreeError::OldLargerThanNew { old: 5, new: 4 })
    ));
    assert!(matches!(
        inclusion_nodes(0, 0),
        Err(TreeError::IndexOutOfRange { .. })
    ));
}

#[test]
fn exhaustive_small_mutations() {
    // Every (index, size) and (old, new) pair up to 64, every proof position.
    let roots = big_roots();
    for n in 1..=64u64 {
        let view = big_tree().at_size(n).unwrap();
        for i in 0..n {
            let leaf = leaf_hash(&entry(i));
            let proof = inclusion_proof(&view, i, n).unwrap();
            for pos in 0..proof.len() {
                check_inclusion_mutations(
                    &leaf,
                    i,
                    n,
                    &proof,
                    &roots[n as usize],
                    (pos, pos * 37 + 5),
                );
            }
        }
        for m in 0..=n {
            let proof = consistency_proof(&view, m, n).unwrap();
            for pos in 0..proof.len().max(1) {
                check_consistency_mutations(
                    m,
                    n,
                    &roots[m as usize],
                    &roots[n as usize],
                    &proof,
                    (pos, pos * 11 + 3),
                );
            }
        }
    }
}
