//! Criterion benchmarks for the Merkle primitives: hashing, proof
//! verification at 2^30 leaves, proof generation from tiles, and appends.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use provlog_core::hash::{Hash, leaf_hash, node_hash};
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::tiles::{MemoryTiles, TileNodeReader};
use provlog_core::tree::{
    CompactRange, MemoryTree, NodeId, NodeReader, TreeError, consistency_proof, inclusion_proof,
    tree_root,
};

/// A real RFC 6962 tree of any size in which every leaf is the same entry:
/// each complete node at level `l` then has the same hash `u[l]`, so a tree
/// of 2^30 leaves costs 31 hashes to "build", and its proofs verify for
/// real while doing exactly the hashing work of any other tree that size.
struct Uniform {
    u: Vec<Hash>,
}

impl Uniform {
    fn new() -> Self {
        let mut u = vec![leaf_hash(&[0x5a; 400])];
        for l in 0..63 {
            let h = u[l];
            u.push(node_hash(&h, &h));
        }
        Uniform { u }
    }
}

impl NodeReader for Uniform {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        Ok(ids.iter().map(|id| self.u[usize::from(id.level)]).collect())
    }
}

fn hashing(c: &mut Criterion) {
    let entry = vec![0x5au8; 400];
    c.bench_function("leaf_hash_400B", |b| {
        b.iter(|| leaf_hash(black_box(&entry)))
    });
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    c.bench_function("node_hash", |b| {
        b.iter(|| node_hash(black_box(&l), black_box(&r)))
    });
}

fn verification(c: &mut Criterion) {
    let size = 1u64 << 30;
    let index = 123_456_789u64;
    let t = Uniform::new();
    let proof = inclusion_proof(&t, index, size).unwrap();
    assert_eq!(proof.len(), 30);
    let leaf = t.u[0];
    let root = tree_root(&t, size).unwrap();
    c.bench_function("verify_inclusion_2^30", |b| {
        b.iter(|| {
            verify_inclusion(black_box(&leaf), index, size, black_box(&proof), &root).unwrap()
        })
    });

    // Consistency between two ragged sizes near 2^30.
    let (old, new) = (1_000_000_007u64, (1u64 << 30) - 3);
    let cproof = consistency_proof(&t, old, new).unwrap();
    let (r1, r2) = (tree_root(&t, old).unwrap(), tree_root(&t, new).unwrap());
    c.bench_function("verify_consistency_1000000007_to_2^30-3", |b| {
        b.iter(|| verify_consistency(old, new, &r1, &r2, black_box(&cproof)).unwrap())
    });

    // A real consistency proof between two valid trees of 70,000 leaves.
    let t = MemoryTree::from_entries((0u32..70_000).map(|i| i.to_be_bytes()));
    let (m, n) = (40_001u64, 70_000u64);
    let p = consistency_proof(&t, m, n).unwrap();
    let (rm, rn) = (tree_root(&t, m).unwrap(), tree_root(&t, n).unwrap());
    c.bench_function("verify_consistency_40001_to_70000", |b| {
        b.iter(|| verify_consistency(m, n, &rm, &rn, black_box(&p)).unwrap())
    });

    // Proof generation from tiles (what a server or tile client does).
    let tiles = MemoryTiles::from_nodes(&t, n).unwrap();
    let reader = TileNodeReader::new(&tiles, n);
    c.bench_function("inclusion_proof_from_tiles_70000", |b| {
        b.iter(|| inclusion_proof(&reader, black_box(31_337), n).unwrap())
    });
}

fn appending(c: &mut Criterion) {
    let leaf = leaf_hash(b"entry");
    c.bench_function("compact_range_append", |b| {
        let mut cr = CompactRange::new();
        let mut sunk = 0u64;
        b.iter(|| {
            cr.append(black_box(leaf), |_, _| sunk += 1).unwrap();
        });
        black_box(sunk);
    });
}

criterion_group!(benches, hashing, verification, appending);
criterion_main!(benches);
