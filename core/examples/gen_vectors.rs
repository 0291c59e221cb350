//! Generates the test vectors in `spec/vectors/`.
//!
//! Run `cargo run -p provlog-core --example gen_vectors` from the
//! repository root to (re)write them; `cargo test` (test `spec_vectors`)
//! regenerates them in memory and checks the committed files byte for byte,
//! then verifies each one. Everything is deterministic: fixed key seeds,
//! fixed timestamps, and Ed25519 signatures are deterministic.

use std::collections::BTreeMap;

use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
use provlog_core::claim::{
    Asset, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
    IndirectDisclosure,
};
use provlog_core::evidence::{EVIDENCE_FORMAT, Evidence, EvidenceKind};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::note::{Note, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519};
use provlog_core::policy::Policy;
use provlog_core::receipt::Receipt;
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tiles::{Tile, encode_bundle};
use provlog_core::tree::{MemoryTree, consistency_proof, inclusion_proof, tree_root};

/// Origin of the vector log (and its key name).
pub const ORIGIN: &str = "example.com/provlog/vectors";
/// Number of entries in the vector log.
pub const SIZE: u64 = 7;
/// Timestamp (unix ms) on the vector checkpoints.
pub const CHECKPOINT_MS: u64 = 1_790_000_000_000;
/// Cosignature timestamp (unix seconds).
pub const COSIGN_SECS: u64 = 1_790_000_001;
/// The entry whose receipt is in the vectors.
pub const RECEIPT_INDEX: u64 = 5;

fn signer(name: &str, key_type: u8, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, key_type, [seed; 32]).expect("vector key")
}

/// The log, vendor and witness keys (test-only seeds 1, 2, 3).
pub fn keys() -> (NoteSigner, NoteSigner, NoteSigner) {
    (
        signer(ORIGIN, SIG_ED25519, 1),
        signer("vendor.example", SIG_ED25519, 2),
        signer("witness.example", SIG_COSIGNATURE_V1, 3),
    )
}

/// Claim number `i` of the vector log.
pub fn claim(i: u64) -> Claim {
    let asset = format!("example asset {i}");
    Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(asset.as_bytes()),
            media_type: "image/png".into(),
            size: asset.len() as u64,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "Example AI".into(),
            tool: "ImageGen".into(),
            version: "2.1.0".into(),
        },
        created: 1_789_999_000 + i,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa, IndirectDisclosure::Metadata],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(i),
    }
}

fn hexes(hs: &[[u8; 32]]) -> Vec<String> {
    hs.iter().map(hex::encode).collect()
}

/// Every vector file: (path relative to `spec/vectors/`, bytes).
pub fn generate() -> BTreeMap<String, Vec<u8>> {
    let (log, vendor, witness) = keys();
    let mut out = BTreeMap::new();
    let mut put = |name: &str, bytes: Vec<u8>| {
        out.insert(name.to_string(), bytes);
    };
    let line = |s: String| format!("{s}\n").into_bytes();
    put("keys/log.vkey", line(log.verifier_key().to_vkey()));
    put("keys/log.skey", line(log.to_skey()));
    put("keys/vendor.vkey", line(vendor.verifier_key().to_vkey()));
    put("keys/vendor.skey", line(vendor.to_skey()));
    put("keys/witness.vkey", line(witness.verifier_key().to_vkey()));
    put("keys/witness.skey", line(witness.to_skey()));

    // Entries: signed claims 0..SIZE.
    let vendor_vkey = vendor.verifier_key().to_vkey();
    let entries: Vec<Vec<u8>> = (0..SIZE)
        .map(|i| {
            SignedClaim::sign(&claim(i), vendor.signing_key(), &vendor_vkey)
                .expect("sign")
                .to_bytes()
                .to_vec()
        })
        .collect();
    put("claim-0.cbor", claim(0).to_cbor());
    put(
        "claim-0.json",
        line(serde_json::to_string_pretty(&claim(0)).expect("json")),
    );
    put("signed-claim-0.cose", entries[0].clone());

    // The tree, its roots at every size, and every proof.
    let tree = MemoryTree::from_entries(entries.iter().map(Vec::as_slice));
    let mut roots = serde_json::Map::new();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for n in 0..=SIZE {
        let view = tree.at_size(n).expect("view");
        roots.insert(
            n.to_string(),
            hex::encode(tree_root(&view, n).expect("root")).into(),
        );
        for i in 0..n {
            let p = inclusion_proof(&view, i, n).expect("inclusion");
            inclusion.push(serde_json::json!({"index": i, "size": n, "proof": hexes(&p)}));
        }
        for m in 0..=n {
            let p = consistency_proof(&view, m, n).expect("consistency");
            consistency.push(serde_json::json!({"old": m, "new": n, "proof": hexes(&p)}));
        }
    }
    let tree_json = serde_json::json!({
        "entries": entries.iter().map(hex::encode).collect::<Vec<_>>(),
        "leaf_hashes": entries.iter().map(|e| hex::encode(leaf_hash(e))).collect::<Vec<_>>(),
        "roots": roots,
        "inclusion": inclusion,
        "consistency": consistency,
    });
    put(
        "tree.json",
        line(serde_json::to_string_pretty(&sort_keys(tree_json)).expect("json")),
    );

    // The same tree as C2SP tlog-tiles (one partial tile of each kind).
    let level0: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e)).collect();
    let hash_tile = Tile::hash(0, 0, SIZE as u16).expect("tile");
    let bundle_tile = Tile::entries(0, SIZE as u16).expect("tile");
    put(&format!("tiles/{}", hash_tile.path()), level0);
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    put(
        &format!("tiles/{}", bundle_tile.path()),
        encode_bundle(&refs).expect("bundle"),
    );

    // Checkpoints at sizes 3 and 7, and size 7 cosigned by the witness.
    let cp = |n: u64| {
        Checkpoint::new(
            ORIGIN,
            n,
            tree_root(&tree.at_size(n).expect("view"), n).expect("root"),
        )
        .with_timestamp(CHECKPOINT_MS + n)
    };
    let cp7 = sign_checkpoint(&cp(SIZE), &log).expect("sign");
    put("checkpoint.3", sign_checkpoint(&cp(3), &log).expect("sign"));
    put("checkpoint", cp7.clone());
    let mut note = Note::parse(&cp7).expect("note");
    let cosig = Note::sign(&note.text, &witness, COSIGN_SECS).expect("cosign");
    note.signatures.push(cosig);
    let cosigned = note.to_bytes();
    put("checkpoint.cosigned", cosigned.clone());

    // A policy that demands the log and the witness.
    let policy = format!(
        "log {}\nwitness witness.example {}\nquorum witness.example\n",
        log.verifier_key().to_vkey(),
        witness.verifier_key().to_vkey()
    );
    Policy::parse(&policy).expect("vector policy parses");
    put("policy.txt", policy.into_bytes());

    // The receipt for entry RECEIPT_INDEX, in both encodings.
    let view = tree.at_size(SIZE).expect("view");
    let receipt = Receipt {
        entry: entries[RECEIPT_INDEX as usize].clone(),
        index: RECEIPT_INDEX,
        proof: inclusion_proof(&view, RECEIPT_INDEX, SIZE).expect("proof"),
        checkpoint: cosigned,
    };
    put("receipt-5.provlog", receipt.to_cbor());
    put("receipt-5.tlog-proof", receipt.to_tlog_proof().into_bytes());

    // Equivocation evidence: the log also signed a size-7 checkpoint of a
    // tree whose last entry differs (a split view).
    let mut forked = entries[..SIZE as usize - 1].to_vec();
    forked.push(
        SignedClaim::sign(&claim(100), vendor.signing_key(), &vendor_vkey)
            .expect("sign")
            .to_bytes()
            .to_vec(),
    );
    let forked_tree = MemoryTree::from_entries(forked.iter().map(Vec::as_slice));
    let forked_root = tree_root(&forked_tree.at_size(SIZE).expect("view"), SIZE).expect("root");
    let forked_cp = sign_checkpoint(
        &Checkpoint::new(ORIGIN, SIZE, forked_root).with_timestamp(CHECKPOINT_MS + 100),
        &log,
    )
    .expect("sign");
    let evidence = Evidence {
        format: EVIDENCE_FORMAT.to_string(),
        kind: EvidenceKind::SameSizeDifferentRoots,
        signer: log.verifier_key().to_vkey(),
        origin: ORIGIN.to_string(),
        smaller: String::from_utf8(cp7).expect("utf8"),
        larger: String::from_utf8(forked_cp).expect("utf8"),
        proof: vec![],
    };
    put("evidence-split-view.json", evidence.to_json());
    out
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    for (name, bytes) in generate() {
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, bytes).expect("write");
        println!("wrote spec/vectors/{name}");
    }
}

/// Object keys in sorted order whatever serde_json's map type: another
/// crate in the build (the C2PA SDK) turns on serde_json's
/// `preserve_order`, which would otherwise change the vector files.
fn sort_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<(String, serde_json::Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(sort_keys).collect())
        }
        other => other,
    }
}
