//! tlog-tiles: path round trips, the rejection table for untrusted paths,
//! entry bundles, and the tile-backed node reader agreeing with the
//! in-memory tree at many sizes (around the 256 and 65,536 boundaries).
#![allow(clippy::unwrap_used)]

mod merkle_common;

use std::cell::RefCell;
use std::collections::HashSet;

use merkle_common::entry;
use proptest::prelude::*;
use provlog_core::hash::leaf_hash;
use provlog_core::tiles::{
    MemoryTiles, Tile, TileError, TileLevel, TileNodeReader, TileReader, bundle_entry,
    decode_bundle, encode_bundle, entry_bundle, hash_tile, hash_tiles_for_size, tile_at_size,
};
use provlog_core::tree::{
    MemoryTree, NodeId, NodeReader, TreeError, consistency_proof, inclusion_proof, tree_root,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn paths_round_trip(level in 0u8..=63, index in any::<u64>(), small in 0u64..5000, width in 1u16..=256, entries in any::<bool>()) {
        for index in [index, small] {
            let tile = if entries { Tile::entries(index, width) } else { Tile::hash(level, index, width) }.unwrap();
            let path = tile.path();
            prop_assert_eq!(Tile::parse_path(&path).unwrap(), tile);
            prop_assert_eq!(path.ends_with(&format!(".p/{width}")), width < 256);
            // Every path segment but the level is a 3-digit group (maybe x-prefixed).
            let groups: Vec<&str> = path.trim_end_matches(&format!(".p/{width}")).split('/').skip(2).collect();
            prop_assert!(groups.iter().all(|g| g.trim_start_matches('x').len() == 3));
        }
    }

    #[test]
    fn parse_never_panics_and_accepts_only_canonical(s in "[tile/entrisx0-9.p]{0,40}") {
        if let Ok(t) = Tile::parse_path(&s) {
            prop_assert_eq!(t.path(), s);
        }
    }

    #[test]
    fn one_entry_agrees_with_the_whole_decode(data in proptest::collection::vec(any::<u8>(), 0..2_000), seed in any::<u64>()) {
        // Any bytes, well-formed or not (often well-formed: short prefixes
        // of random data), and every k: entry k is what decode_bundle gives,
        // or the first error at or before k is the same error.
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let mut x = seed;
        for _ in 0..(seed % 40) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            entries.push(vec![(x >> 56) as u8; (x >> 40) as usize % 70]);
        }
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let good = encode_bundle(&refs).unwrap();
        for input in [&data[..], &good[..], &good[..good.len().saturating_sub(1)]] {
            let all = provlog_core::tiles::BundleEntries::new(input).collect::<Vec<_>>();
            for k in 0..all.len() + 2 {
                let one = bundle_entry(input, k);
                match all.get(k) {
                    Some(Ok(e)) => prop_assert_eq!(one.unwrap(), Some(*e)),
                    Some(Err(e)) => prop_assert_eq!(one.unwrap_err(), e.clone()),
                    None => {
                        // Past the end: no entry, or the error that ended it.
                        match all.last() {
                            Some(Err(e)) => prop_assert_eq!(one.unwrap_err(), e.clone()),
                            _ => prop_assert_eq!(one.unwrap(), None),
                        }
                    }
                }
            }
            match decode_bundle(input) {
                Ok(v) => prop_assert_eq!(v.len(), all.len()),
                Err(e) => prop_assert_eq!(all.last().cloned().unwrap().unwrap_err(), e),
            }
        }
    }

    #[test]
    fn bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..=256), cut in any::<usize>()) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let enc = encode_bundle(&refs).unwrap();
        prop_assert_eq!(decode_bundle(&enc).unwrap(), refs.clone());
        if !refs.is_empty() {
            let tile = Tile::entries(0, refs.len() as u16).unwrap();
            prop_assert_eq!(tile.parse_bundle(&enc).unwrap().len(), refs.len());
            // Any strict prefix that does not end on an entry boundary is refused.
            let cut = cut % enc.len();
            let decoded = decode_bundle(&enc[..cut]);
            let mut boundaries = vec![0usize];
            for e in &refs {
                let last = *boundaries.last().unwrap();
                boundaries.push(last + 2 + e.len());
            }
            if boundaries.contains(&cut) {
                // A clean prefix decodes, but to fewer entries than the tile's width.
                prop_assert!(decoded.is_ok());
                let short = matches!(tile.parse_bundle(&enc[..cut]), Err(TileError::BundleCount { .. }));
                prop_assert!(short);
            } else {
                let truncated = matches!(decoded, Err(TileError::TruncatedBundle { .. }));
                prop_assert!(truncated, "prefix of {} bytes accepted", cut);
            }
        }
    }
}

#[test]
fn rejection_table() {
    let max_plus_one = "tile/0/x018/x446/x744/x073/x709/x551/616";
    let bad = [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "tile/0/000/",
        "tile//000",
        "tile/0//000",
        "tiles/0/000",
        "Tile/0/000",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/255/000",
        "tile/256/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/ 1/000",
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/+00",
        "tile/0/-01",
        "tile/0/x000/001",
        "tile/0/x000/x001/002",
        "tile/0/001/002",
        "tile/0/x001/x002",
        "tile/0/X001/002",
        "tile/0/x01/002",
        "tile/0/xx001/002",
        "tile/0/x001/02",
        "tile/0/000.p/0",
        "tile/0/000.p/00",
        "tile/0/000.p/01",
        "tile/0/000.p/256",
        "tile/0/000.p/300",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.p/1/",
        "tile/0/000.p/1/2",
        "tile/0/000.p/+1",
        "tile/0/000.P/5",
        "tile/0/000.q/5",
        "tile/0/.p/5",
        "tile/0/x001.p/5",
        "tile/0/x001/000.p/5.p/5",
        "tile/0/../000",
        "tile/0/./000",
        "tile/0/x001/../000",
        "tile/../0/000",
        "tile/entries/../0/000",
        "tile/0/000/..",
        "tile/entries/000.p/256",
        "tile/entries/0",
        "tile/entries",
        "tile/entries/",
        "tile/Entries/000",
        "tile/data/000",
        "tile/0/000 ",
        " tile/0/000",
        "tile/0/000\n",
        "tile/0/0a0",
        "tile/0/\u{661}\u{662}\u{663}",
        "tile\\0\\000",
        "tile/0/000?x=1",
        "tile/0/000#x",
        "tile/0/00%30",
        max_plus_one,
        "tile/0/x001/x001/x001/x001/x001/x001/x001/001",
    ];
    for p in bad {
        let r = Tile::parse_path(p);
        assert!(
            matches!(r, Err(TileError::BadPath { .. })),
            "{p:?} was accepted as {r:?}"
        );
    }
    let good = [
        ("tile/0/000", Tile::hash(0, 0, 256).unwrap()),
        ("tile/0/000.p/1", Tile::hash(0, 0, 1).unwrap()),
        ("tile/0/000.p/255", Tile::hash(0, 0, 255).unwrap()),
        ("tile/63/999", Tile::hash(63, 999, 256).unwrap()),
        ("tile/1/x001/000", Tile::hash(1, 1000, 256).unwrap()),
        (
            "tile/0/x001/x234/067",
            Tile::hash(0, 1_234_067, 256).unwrap(),
        ),
        (
            "tile/0/x001/x234/067.p/8",
            Tile::hash(0, 1_234_067, 8).unwrap(),
        ),
        ("tile/entries/000.p/7", Tile::entries(0, 7).unwrap()),
        (
            "tile/entries/x123/456",
            Tile::entries(123_456, 256).unwrap(),
        ),
        (
            "tile/0/x018/x446/x744/x073/x709/x551/615",
            Tile::hash(0, u64::MAX, 256).unwrap(),
        ),
    ];
    for (p, want) in good {
        assert_eq!(Tile::parse_path(p).unwrap(), want, "{p}");
        assert_eq!(want.path(), p);
    }
    assert!(Tile::hash(64, 0, 1).is_err());
    assert!(Tile::hash(0, 0, 0).is_err());
    assert!(Tile::entries(0, 257).is_err());
}

#[test]
fn tile_existence_and_widths() {
    assert_eq!(hash_tile(0, 0, 0), None);
    assert_eq!(hash_tile(0, 0, 1), Some(Tile::hash(0, 0, 1).unwrap()));
    assert_eq!(hash_tile(0, 0, 256).unwrap().width, 256);
    assert_eq!(hash_tile(0, 1, 256), None);
    assert_eq!(hash_tile(1, 0, 255), None);
    assert_eq!(hash_tile(1, 0, 256).unwrap().width, 1);
    assert_eq!(hash_tile(1, 0, 65_535).unwrap().width, 255);
    assert_eq!(hash_tile(1, 0, 65_536).unwrap().width, 256);
    assert_eq!(hash_tile(2, 0, 65_536).unwrap().width, 1);
    assert_eq!(hash_tile(7, 0, u64::MAX).unwrap().width, 255);
    assert_eq!(hash_tile(8, 0, u64::MAX), None);
    assert_eq!(hash_tile(0, u64::MAX, u64::MAX), None);
    assert_eq!(entry_bundle(1, 300).unwrap().width, 44);
    assert_eq!(
        tile_at_size(TileLevel::Entries, 1, 300),
        entry_bundle(1, 300)
    );
    // For every size the widths at each level add up to floor(size / 256^L).
    for size in [
        1u64, 255, 256, 257, 65_535, 65_536, 65_537, 70_000, 16_777_217,
    ] {
        for l in 0..4u8 {
            let sum: u64 = hash_tiles_for_size(size)
                .filter(|t| t.level == TileLevel::Hash(l))
                .map(|t| u64::from(t.width))
                .sum();
            assert_eq!(sum, size >> (8 * u32::from(l)), "size {size} level {l}");
        }
    }
}

#[test]
fn hash_tile_length_is_checked() {
    let t = Tile::hash(0, 0, 3).unwrap();
    assert_eq!(t.parse_hashes(&[7u8; 96]).unwrap(), vec![[7u8; 32]; 3]);
    for len in [0, 31, 64, 95, 97, 128] {
        assert!(matches!(
            t.parse_hashes(&vec![0u8; len]),
            Err(TileError::WrongTileLength { expected: 96, .. })
        ));
    }
}

/// A tile reader that insists on being asked only for tiles, at the exact
/// widths, that exist at its tree size, and counts reads per tile.
struct Strict<'a> {
    tiles: &'a MemoryTiles,
    size: u64,
    reads: RefCell<Vec<Tile>>,
}

impl TileReader for Strict<'_> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let TileLevel::Hash(l) = tile.level else {
            panic!("asked for entries {tile}");
        };
        assert_eq!(
            Some(*tile),
            hash_tile(l, tile.index, self.size),
            "{tile} at size {}",
            self.size
        );
        self.reads.borrow_mut().push(*tile);
        self.tiles.read_tile(tile)
    }
}

#[test]
fn tile_reader_matches_memory_tree() {
    let mut sizes: Vec<u64> = (1..=20).collect();
    sizes.extend([
        127, 128, 129, 255, 256, 257, 511, 512, 513, 32_768, 65_535, 65_536, 65_537, 66_000, 70_000,
    ]);
    let max = *sizes.iter().max().unwrap();
    let t = MemoryTree::from_entries((0..max).map(entry));
    // Tiles written at the largest size; readers at smaller sizes must use
    // the (prefix) widths of their own size.
    let all = MemoryTiles::from_nodes(&t, max).unwrap();
    for &n in &sizes {
        let exact = MemoryTiles::from_nodes(&t, n).unwrap();
        for tiles in [&all, &exact] {
            let strict = Strict {
                tiles,
                size: n,
                reads: RefCell::new(Vec::new()),
            };
            let r = TileNodeReader::new(&strict, n);
            assert_eq!(
                tree_root(&r, n).unwrap(),
                tree_root(&t, n).unwrap(),
                "root {n}"
            );
            let picks = [0, 1, n / 3, n / 2, n.saturating_sub(2), n - 1];
            for i in picks.into_iter().filter(|&i| i < n) {
                strict.reads.borrow_mut().clear();
                assert_eq!(
                    inclusion_proof(&r, i, n).unwrap(),
                    inclusion_proof(&t, i, n).unwrap()
                );
                let reads = strict.reads.borrow();
                let unique: HashSet<&Tile> = reads.iter().collect();
                assert_eq!(
                    unique.len(),
                    reads.len(),
                    "a tile was read twice in one call"
                );
            }
            for m in picks.into_iter().chain([n]) {
                assert_eq!(
                    consistency_proof(&r, m, n).unwrap(),
                    consistency_proof(&t, m, n).unwrap(),
                    "consistency {m}->{n}"
                );
            }
        }
    }
    // Every complete node at level 0..=17 of the 70,000 tree, read in one call.
    let r = TileNodeReader::new(&all, max);
    let ids: Vec<NodeId> = t.nodes().map(|(id, _)| id).collect();
    let want: Vec<_> = t.nodes().map(|(_, h)| h).collect();
    assert_eq!(r.read_nodes(&ids).unwrap(), want);
    // A node not complete at the reader's size is refused, not guessed.
    assert!(matches!(
        TileNodeReader::new(&all, 1000).read_nodes(&[NodeId::new(3, 125)]),
        Err(TreeError::NodeBeyondSize { .. })
    ));
    assert_eq!(
        leaf_hash(&entry(0)),
        r.read_nodes(&[NodeId::new(0, 0)]).unwrap()[0]
    );
}

/// Serves the same bytes for every tile.
struct Fixed(Vec<u8>);

impl TileReader for Fixed {
    fn read_tile(&self, _tile: &Tile) -> Result<Vec<u8>, TileError> {
        Ok(self.0.clone())
    }
}

#[test]
fn corrupt_or_missing_tiles_are_errors() {
    // Tree of 600: the level-0 tile 2 has width 88 (2816 bytes); one byte short.
    let r = TileNodeReader::new(Fixed(vec![0u8; 88 * 32 - 1]), 600);
    fn tile_error<T>(r: Result<T, TreeError>) -> Option<TileError> {
        match r {
            Err(TreeError::Read(e)) => e.downcast::<TileError>().ok().map(|e| *e),
            _ => None,
        }
    }
    assert!(matches!(
        tile_error(r.read_nodes(&[NodeId::new(0, 520)])),
        Some(TileError::WrongTileLength {
            expected: 2816,
            got: 2815,
            ..
        })
    ));
    let empty = MemoryTiles::new();
    assert!(matches!(
        tile_error(tree_root(&TileNodeReader::new(&empty, 10), 10)),
        Some(TileError::NotFound(_))
    ));
    // Well-formed but wrong tile contents give a different root, which a
    // verifier then rejects against the signed checkpoint.
    let t = MemoryTree::from_entries((0..600u64).map(entry));
    let mut tiles = MemoryTiles::from_nodes(&t, 600).unwrap();
    tiles.insert(&Tile::hash(0, 1, 256).unwrap(), vec![0u8; 8192]);
    let r = TileNodeReader::new(&tiles, 600);
    // The root comes from the level-1 tile and is unaffected...
    assert_eq!(tree_root(&r, 600).unwrap(), tree_root(&t, 600).unwrap());
    // ...but the audit path of a leaf under the bad tile is not, and fails.
    let proof = inclusion_proof(&r, 300, 600).unwrap();
    assert_ne!(proof, inclusion_proof(&t, 300, 600).unwrap());
    let root = tree_root(&t, 600).unwrap();
    assert!(
        provlog_core::proof::verify_inclusion(&leaf_hash(&entry(300)), 300, 600, &proof, &root)
            .is_err()
    );
}
