//! The files in `spec/vectors/` are exactly what the committed generator
//! (`core/examples/gen_vectors.rs`) produces, and each one verifies.

#[path = "../examples/gen_vectors.rs"]
mod gen_vectors;

use std::path::PathBuf;

use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::claim::Claim;
use provlog_core::hash::leaf_hash;
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::receipt::Receipt;
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tiles::{Tile, TileError, TileNodeReader, TileReader, decode_bundle};
use provlog_core::tree::tree_root;

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors"))
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("spec/vectors/{name}: {e}"))
}

fn text(name: &str) -> String {
    String::from_utf8(read(name)).expect("utf8")
}

#[test]
fn committed_vectors_match_the_generator_byte_for_byte() {
    let generated = gen_vectors::generate();
    for (name, bytes) in &generated {
        assert_eq!(
            &read(name),
            bytes,
            "spec/vectors/{name} differs from the generator: run `cargo run -p provlog-core --example gen_vectors`"
        );
    }
    assert!(generated.len() >= 18, "the vector set shrank");
}

struct DirTiles;

impl TileReader for DirTiles {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        std::fs::read(dir().join("tiles").join(tile.path())).map_err(|e| TileError::Read {
            path: tile.path(),
            message: e.to_string(),
        })
    }
}

#[test]
fn vectors_verify() {
    let log_key = VerifierKey::parse(text("keys/log.vkey").trim()).expect("log vkey");
    let policy = Policy::parse(&text("policy.txt")).expect("policy");

    // Claim and signed claim.
    let claim = Claim::from_cbor(&read("claim-0.cbor")).expect("claim decodes");
    let signed =
        SignedClaim::from_bytes(&read("signed-claim-0.cose")).expect("signed claim decodes");
    signed.verify_signature().expect("signature verifies");
    assert_eq!(signed.claim(), &claim);
    assert_eq!(signed.kid(), text("keys/vendor.vkey").trim());

    // Tree: every listed root and proof verifies.
    let tree: serde_json::Value = serde_json::from_slice(&read("tree.json")).expect("json");
    let h = |v: &serde_json::Value| -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(v.as_str().expect("hex"), &mut out).expect("hex");
        out
    };
    let hs = |v: &serde_json::Value| -> Vec<[u8; 32]> {
        v.as_array().expect("array").iter().map(h).collect()
    };
    let root = |n: u64| h(&tree["roots"][n.to_string()]);
    let entries: Vec<Vec<u8>> = tree["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| hex::decode(e.as_str().expect("hex")).expect("hex"))
        .collect();
    for p in tree["inclusion"].as_array().expect("inclusion") {
        let (i, n) = (
            p["index"].as_u64().expect("i"),
            p["size"].as_u64().expect("n"),
        );
        verify_inclusion(
            &leaf_hash(&entries[i as usize]),
            i,
            n,
            &hs(&p["proof"]),
            &root(n),
        )
        .expect("inclusion");
    }
    for p in tree["consistency"].as_array().expect("consistency") {
        let (m, n) = (p["old"].as_u64().expect("m"), p["new"].as_u64().expect("n"));
        verify_consistency(m, n, &root(m), &root(n), &hs(&p["proof"])).expect("consistency");
    }

    // Tiles reproduce the checkpoint roots.
    let cp7 = verify_checkpoint(&read("checkpoint"), &log_key)
        .expect("checkpoint")
        .checkpoint;
    let cp3 = verify_checkpoint(&read("checkpoint.3"), &log_key)
        .expect("checkpoint.3")
        .checkpoint;
    let nodes = TileNodeReader::new(DirTiles, 7);
    assert_eq!(tree_root(&nodes, 7).expect("root"), cp7.root);
    assert_eq!(tree_root(&nodes, 3).expect("root"), cp3.root);
    let bundle = DirTiles
        .read_tile(&Tile::entries(0, 7).expect("tile"))
        .expect("bundle");
    assert_eq!(
        decode_bundle(&bundle).expect("bundle"),
        entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );

    // The cosigned checkpoint meets the policy's quorum; the bare one does not.
    policy
        .verify_checkpoint(&read("checkpoint.cosigned"))
        .expect("quorum met");
    assert!(policy.verify_checkpoint(&read("checkpoint")).is_err());

    // Both receipt encodings carry the same receipt, and it verifies.
    let r = Receipt::from_cbor(&read("receipt-5.provlog")).expect("receipt");
    let t = Receipt::from_tlog_proof(&text("receipt-5.tlog-proof")).expect("tlog-proof");
    assert_eq!(r, t);
    let v = r.verify(&policy).expect("receipt verifies");
    assert_eq!((v.index, v.checkpoint.size), (5, 7));
    assert_eq!(v.witnesses, vec!["witness.example".to_string()]);

    // The split-view evidence convicts the log's key and nobody else's.
    let evidence = read("evidence-split-view.json");
    provlog_core::evidence::verify_evidence(&evidence, &log_key).expect("evidence verifies");
    // The bundle id spec/evidence.md gives for this vector.
    assert_eq!(
        provlog_core::evidence::Evidence::from_json(&evidence)
            .expect("evidence parses")
            .id(),
        "aebdd452dd244144cd2e13950144b8f1662e58c60bc04ae78831fc4b04d784c4"
    );
    let vendor_key = VerifierKey::parse(text("keys/vendor.vkey").trim()).expect("vendor vkey");
    assert!(provlog_core::evidence::verify_evidence(&evidence, &vendor_key).is_err());
}
