//! Cross-checks of tree roots, audit paths, consistency proofs and hash
//! tiles against independent implementations:
//!
//! - the published Certificate Transparency reference vectors (RFC 6962
//!   test tree of 8 leaves);
//! - the `tlog_tiles` crate (a port of Go's sumdb/tlog): its hash functions,
//!   proof generation and checking, and its tile-authenticating reader;
//! - the `rs_merkle` crate with an RFC 6962 hasher.
#![allow(clippy::unwrap_used)]

mod merkle_common;

use merkle_common::{BIG, SparseTree, big_roots, big_tree, entry};
use provlog_core::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::tiles::{self as ptiles, MemoryTiles, TileNodeReader, TileReader as _};
use provlog_core::tree::{
    MemoryTree, NodeId, NodeReader, consistency_proof, inclusion_proof, tree_root,
};
use tlog_tiles::tlog;

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

// ---- CT reference vectors ----------------------------------------------------

const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn ct_reference_vectors() {
    let t = MemoryTree::from_entries(CT_LEAVES.iter().map(|l| hex::decode(l).unwrap()));
    for (n, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(
            tree_root(&t, n as u64).unwrap(),
            h(want),
            "root of size {n}"
        );
    }
    assert_eq!(h(CT_ROOTS[0]), EMPTY_ROOT);
    let root8 = h(CT_ROOTS[8]);
    let inclusion: [(u64, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (i, want) in inclusion {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(inclusion_proof(&t, i, 8).unwrap(), want, "inclusion of {i}");
        let leaf = leaf_hash(&hex::decode(CT_LEAVES[i as usize]).unwrap());
        verify_inclusion(&leaf, i, 8, &want, &root8).unwrap();
    }
    let consistency: [(u64, &[&str]); 2] = [
        (
            2,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (m, want) in consistency {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(
            consistency_proof(&t, m, 8).unwrap(),
            want,
            "consistency {m}->8"
        );
        verify_consistency(m, 8, &h(CT_ROOTS[m as usize]), &root8, &want).unwrap();
    }
}

// ---- tlog_tiles ----------------------------------------------------------------

/// Serves tlog_tiles' stored-hash indexes from one of our node readers.
struct Stored<'a, R: NodeReader>(&'a R);

impl<R: NodeReader> tlog::HashReader for Stored<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        let ids: Vec<NodeId> = indexes
            .iter()
            .map(|&x| {
                let (level, n) = tlog::split_stored_hash_index(x);
                NodeId::new(level, n)
            })
            .collect();
        let hashes = self
            .0
            .read_nodes(&ids)
            .map_err(|_| tlog::Error::IndexesNotInTree)?;
        Ok(hashes.into_iter().map(tlog::Hash).collect())
    }
}

fn th(v: &[tlog::Hash]) -> Vec<Hash> {
    v.iter().map(|x| x.0).collect()
}

/// Compares everything for one tree size against tlog_tiles.
fn compare_with_tlog(r: &impl NodeReader, n: u64, indexes: &[u64], olds: &[u64]) {
    let s = Stored(r);
    let root = tree_root(r, n).unwrap();
    assert_eq!(tlog::tree_hash(n, &s).unwrap().0, root, "root of {n}");
    for &i in indexes.iter().filter(|&&i| i < n) {
        let ours = inclusion_proof(r, i, n).unwrap();
        let theirs = tlog::prove_record(n, i, &s).unwrap();
        assert_eq!(ours, th(&theirs), "inclusion {i} in {n}");
        let leaf = r.read_nodes(&[NodeId::new(0, i)]).unwrap()[0];
        let ours_t: Vec<tlog::Hash> = ours.iter().copied().map(tlog::Hash).collect();
        tlog::check_record(&ours_t, n, tlog::Hash(root), i, tlog::Hash(leaf)).unwrap();
    }
    for &m in olds.iter().filter(|&&m| m >= 1 && m <= n) {
        let old_root = tree_root(r, m).unwrap();
        let ours = consistency_proof(r, m, n).unwrap();
        let theirs = tlog::prove_tree(n, m, &s).unwrap();
        assert_eq!(ours, th(&theirs), "consistency {m}->{n}");
        let ours_t: Vec<tlog::Hash> = ours.iter().copied().map(tlog::Hash).collect();
        tlog::check_tree(&ours_t, n, tlog::Hash(root), m, tlog::Hash(old_root)).unwrap();
        verify_consistency(m, n, &old_root, &root, &th(&theirs)).unwrap();
    }
}

#[test]
fn hashing_matches_tlog_tiles() {
    for i in 0..50u64 {
        let e = entry(i);
        assert_eq!(leaf_hash(&e), tlog::record_hash(&e).0);
        let (a, b) = (leaf_hash(&e), leaf_hash(&entry(i + 1)));
        assert_eq!(
            node_hash(&a, &b),
            tlog::node_hash(tlog::Hash(a), tlog::Hash(b)).0
        );
    }
    assert_eq!(EMPTY_ROOT, tlog::EMPTY_HASH.0);
}

#[test]
fn small_trees_match_tlog_tiles_exhaustively() {
    let t = big_tree();
    for n in 1..=130u64 {
        let all: Vec<u64> = (0..=n).collect();
        compare_with_tlog(&t.at_size(n).unwrap(), n, &all, &all);
    }
}

#[test]
fn larger_trees_match_tlog_tiles() {
    let t = big_tree();
    for n in [
        255u64, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 3000, 4095, 4096, 4097, BIG,
    ] {
        let picks = [0, 1, n / 3, n / 2, n - 2, n - 1, n];
        compare_with_tlog(&t.at_size(n).unwrap(), n, &picks, &picks);
        assert_eq!(tree_root(t, n).unwrap(), big_roots()[n as usize]);
    }
}

#[test]
fn huge_sparse_trees_match_tlog_tiles() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        // xorshift: deterministic spread of sizes up to 2^62.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 2 + x % (1u64 << 62);
        let (i, m) = (x.rotate_left(17) % n, 1 + x.rotate_left(31) % (n - 1));
        let t = SparseTree::new([0, i, m - 1, m, n - 1]);
        compare_with_tlog(&t, n, &[0, i, n - 1], &[1, m, n - 1, n]);
    }
    // Power-of-two boundaries.
    for k in [8u32, 16, 20, 30, 32, 40, 61] {
        let n = 1u64 << k;
        let t = SparseTree::new([0, n / 2 - 1, n / 2, n - 1]);
        compare_with_tlog(&t, n, &[0, n / 2, n - 1], &[n / 2, n / 2 + 1, n - 1]);
        compare_with_tlog(&t, n + 1, &[n], &[n]);
    }
}

/// Our hash tiles, served to tlog_tiles' tile-authenticating reader, which
/// recomputes the tree hash from them and checks every tile it uses.
struct TlogTiles<'a>(&'a MemoryTiles);

impl tlog_tiles::TileReader for TlogTiles<'_> {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog::Error> {
        tiles
            .iter()
            .map(|t| {
                let ours =
                    ptiles::Tile::hash(t.level(), t.level_index(), t.width() as u16).unwrap();
                self.0
                    .read_tile(&ours)
                    .map_err(|_| tlog::Error::InvalidTile)
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

#[test]
fn our_tiles_satisfy_tlog_tiles_reader() {
    let mut t = MemoryTree::new();
    let sizes = [
        1u64, 2, 255, 256, 257, 511, 512, 4096, 65_535, 65_536, 65_537, 70_000,
    ];
    for n in sizes {
        while t.size() < n {
            t.push_entry(&entry(t.size()));
        }
        let tiles = MemoryTiles::from_nodes(&t, n).unwrap();
        let root = tree_root(&t, n).unwrap();
        let tr = TlogTiles(&tiles);
        let thr = tlog_tiles::TileHashReader::new(n, tlog::Hash(root), &tr);
        assert_eq!(
            tlog::tree_hash(n, &thr).unwrap().0,
            root,
            "tiled root of {n}"
        );
        let ours = TileNodeReader::new(&tiles, n);
        for i in [0, n / 2, n - 1] {
            let theirs = tlog::prove_record(n, i, &thr).unwrap();
            assert_eq!(
                inclusion_proof(&ours, i, n).unwrap(),
                th(&theirs),
                "inclusion {i} of {n}"
            );
        }
        for m in [1, n / 2, n - 1] {
            if m == 0 {
                continue;
            }
            let theirs = tlog::prove_tree(n, m, &thr).unwrap();
            assert_eq!(
                consistency_proof(&ours, m, n).unwrap(),
                th(&theirs),
                "consistency {m}->{n}"
            );
        }
    }
}

// ---- rs_merkle -----------------------------------------------------------------

/// RFC 6962 node hashing for rs_merkle. rs_merkle builds its tree bottom-up,
/// pairing neighbours at each layer and promoting an unpaired last node
/// unchanged (`concat_and_hash(left, None) = left`). Pairing from the left
/// on every layer puts every split on the largest power of two below the
/// range size, which is exactly RFC 6962's MTH, so roots and single-leaf
/// audit paths (bottom-up, promoted levels contribute no hash) match for
/// every size >= 1. Its tree of 0 leaves has no root (RFC 6962: SHA-256("")),
/// so size 0 is not compared. Leaves are given as our leaf hashes, so
/// `hash` is only used by rs_merkle internals we do not call.
#[derive(Clone)]
struct Rfc6962;

impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        provlog_core::hash::sha256(data)
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => node_hash(left, r),
            None => *left,
        }
    }
}

#[test]
fn roots_and_audit_paths_match_rs_merkle() {
    let leaves: Vec<Hash> = (0..600).map(|i| leaf_hash(&entry(i))).collect();
    let t = big_tree();
    let mut sizes: Vec<u64> = (1..=70).collect();
    sizes.extend([127, 128, 129, 255, 256, 257, 300, 511, 512, 513, 600]);
    for n in sizes {
        let rs = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&leaves[..n as usize]);
        assert_eq!(rs.root(), Some(tree_root(t, n).unwrap()), "root of {n}");
        let picks: Vec<u64> = if n <= 70 {
            (0..n).collect()
        } else {
            vec![0, 1, n / 2, n - 2, n - 1]
        };
        for i in picks {
            let theirs = rs.proof(&[i as usize]).proof_hashes().to_vec();
            assert_eq!(
                inclusion_proof(t, i, n).unwrap(),
                theirs,
                "audit path {i} of {n}"
            );
        }
    }
}
