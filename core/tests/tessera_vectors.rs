//! Interop: a C2SP tlog-tiles log written by another implementation
//! (transparency-dev/tessera, in `../shared/vectors/tessera-testdata`) parses
//! and verifies byte for byte with this crate.

use std::path::PathBuf;

use provlog_core::checkpoint::{Checkpoint, verify_checkpoint};
use provlog_core::hash::{HASH_SIZE, leaf_hash};
use provlog_core::note::VerifierKey;
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::tiles::{Tile, TileError, TileLevel, TileNodeReader, TileReader, decode_bundle};
use provlog_core::tree::{consistency_proof, inclusion_proof, tree_root};

const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const WORDS: [&str; 15] = [
    "one", "two", "three", "four", "five", "six", "seven", "eit", "nain", "ten", "ileven", "twelf",
    "threeten", "fourten", "fivten",
];

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/tessera-testdata"
    ))
}

/// Reads tiles from the directory, exactly as a static file server would serve them.
struct DirTiles(PathBuf);

impl TileReader for DirTiles {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        std::fs::read(self.0.join(tile.path())).map_err(|e| TileError::Read {
            path: tile.path(),
            message: e.to_string(),
        })
    }
}

#[test]
fn tessera_checkpoints_tiles_and_bundles_verify() {
    let key = VerifierKey::parse(VKEY).expect("vkey parses");
    assert_eq!(key.to_vkey(), VKEY, "vkey round-trips byte for byte");
    assert_eq!(key.key_id(), 0x33d7_b496);

    let note15 = std::fs::read(dir().join("checkpoint")).expect("checkpoint");
    let note7 = std::fs::read(dir().join("checkpoint.7")).expect("checkpoint.7");
    let cp15 = verify_checkpoint(&note15, &key)
        .expect("checkpoint verifies")
        .checkpoint;
    let cp7 = verify_checkpoint(&note7, &key)
        .expect("checkpoint.7 verifies")
        .checkpoint;
    assert_eq!(
        (cp15.origin.as_str(), cp15.size),
        ("example.com/log/testdata", 15)
    );
    assert_eq!(cp7.size, 7);
    // Re-formatting the body gives back the signed bytes.
    let body15 = String::from_utf8(note15.clone()).expect("utf8");
    let text = body15.split_once("\n\n").expect("note").0.to_string() + "\n";
    assert_eq!(Checkpoint::parse(&text).expect("parses").to_text(), text);

    // A flipped byte anywhere in the signed text breaks the signature.
    let mut tampered = note15.clone();
    tampered[30] ^= 1;
    assert!(verify_checkpoint(&tampered, &key).is_err());

    // Paths parse back to the tiles they name.
    let tile = Tile::parse_path("tile/entries/000.p/15").expect("path");
    assert_eq!(
        (tile.level, tile.index, tile.width),
        (TileLevel::Entries, 0, 15)
    );
    let hash_tile = Tile::parse_path("tile/0/000.p/15").expect("path");
    assert_eq!(hash_tile.path(), "tile/0/000.p/15");

    // The bundle holds the 15 words; their leaf hashes are the level-0 tile.
    let reader = DirTiles(dir());
    let bundle = reader.read_tile(&tile).expect("bundle");
    let entries = decode_bundle(&bundle).expect("bundle decodes");
    let words: Vec<&[u8]> = WORDS.iter().map(|w| w.as_bytes()).collect();
    assert_eq!(entries, words);
    let level0 = reader.read_tile(&hash_tile).expect("tile");
    assert_eq!(level0.len(), 15 * HASH_SIZE);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(
            &level0[i * HASH_SIZE..(i + 1) * HASH_SIZE],
            &leaf_hash(e)[..],
            "leaf {i}"
        );
    }
    assert_eq!(hex::encode(&leaf_hash(b"one")[..4]), "d0d7360a");

    // Roots recomputed from the tiles match both signed checkpoints.
    let nodes15 = TileNodeReader::new(DirTiles(dir()), 15);
    assert_eq!(tree_root(&nodes15, 15).expect("root"), cp15.root);
    assert_eq!(tree_root(&nodes15, 7).expect("root at 7"), cp7.root);

    // Proofs computed from the tiles verify against the checkpoints.
    let proof = consistency_proof(&nodes15, 7, 15).expect("consistency proof");
    verify_consistency(7, 15, &cp7.root, &cp15.root, &proof).expect("7 -> 15 consistent");
    assert!(verify_consistency(7, 15, &cp15.root, &cp7.root, &proof).is_err());
    for (i, e) in entries.iter().enumerate() {
        let p = inclusion_proof(&nodes15, i as u64, 15).expect("inclusion proof");
        verify_inclusion(&leaf_hash(e), i as u64, 15, &p, &cp15.root).expect("included");
    }
}
