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
    // The log's time of that (legacy-form) checkpoint is reported.
    assert_eq!(v.log_time_ms, v.checkpoint.timestamp_ms());
    assert!(v.log_time_ms.is_some());

    // The split-view evidence convicts the log's key and nobody else's.
    let evidence = read("evidence-split-view.json");
    provlog_core::evidence::verify_evidence(&evidence, &log_key).expect("evidence verifies");
    // The bundle id spec/evidence.md gives for this vector.
    assert_eq!(
        provlog_core::evidence::Evidence::from_json(&evidence)
            .expect("evidence parses")
            .id(),
        "a23dd96707cf529966080201f2863312048e319cccd3c6fdafbfe5ab52bb4dda"
    );
    let vendor_key = VerifierKey::parse(text("keys/vendor.vkey").trim()).expect("vendor vkey");
    assert!(provlog_core::evidence::verify_evidence(&evidence, &vendor_key).is_err());

    // The old checkpoints carry their time in the legacy extension line.
    let old = verify_checkpoint(&read("checkpoint"), &log_key).expect("checkpoint");
    assert!(old.log_time.expect("time").legacy_extension_line);
}

/// The 2026 vectors: ML-DSA-44 keys, checkpoint, cosignature, policy,
/// signed claim, COSE receipts, transparent statement, COSE_KeySet.
#[test]
fn vectors_2026_verify() {
    use provlog_core::checkpoint::verify_checkpoint_keys;
    use provlog_core::cose::Algorithm;
    use provlog_core::scitt::{CoseReceipt, TransparentStatement};
    let key = |name: &str| VerifierKey::parse(text(name).trim()).expect(name);
    let log_key = key("keys/log.vkey");
    let log_pq = key("keys/log-mldsa.vkey");
    let witness_pq = key("keys/witness-mldsa.vkey");
    let vendor_pq = key("keys/vendor-mldsa.vkey");
    provlog_core::note::MlDsa44NoteSigner::parse_skey(text("keys/log-mldsa.skey").trim())
        .expect("skey");

    // Checkpoint: Ed25519 + timestamp cosignature + ML-DSA-44, no extension line.
    let cp = verify_checkpoint_keys(
        &read("checkpoint.mldsa"),
        &[log_key.clone(), log_pq.clone()],
    )
    .expect("checkpoint.mldsa");
    assert!(cp.checkpoint.extensions.is_empty());
    let t = cp.log_time.expect("log time");
    assert!(!t.legacy_extension_line);
    assert_eq!(t.unix_ms, gen_vectors::LOG_SECS * 1000);
    assert_eq!(cp.note.signatures.len(), 3);
    // Same tree as the old size-7 checkpoint.
    let old = verify_checkpoint(&read("checkpoint"), &log_key).expect("checkpoint");
    assert_eq!(old.checkpoint.root, cp.checkpoint.root);
    // Old verifiers (the Ed25519 key only) accept it too.
    verify_checkpoint(&read("checkpoint.mldsa"), &log_key).expect("ed25519 only");

    // The ML-DSA-44 witness cosignature, and the policy demanding both.
    let cosigned = read("checkpoint.mldsa-cosigned");
    let note = provlog_core::note::Note::parse(&cosigned).expect("note");
    let v = note.verify(&[witness_pq]).expect("witness cosignature");
    assert_eq!(v[0].timestamp, Some(gen_vectors::COSIGN_SECS));
    let policy = Policy::parse(&text("policy-mldsa.txt")).expect("policy");
    policy.verify_checkpoint(&cosigned).expect("quorum met");
    assert!(policy.verify_checkpoint(&read("checkpoint.mldsa")).is_err());
    assert!(
        policy
            .verify_checkpoint(&read("checkpoint.cosigned"))
            .is_err()
    );

    // Statements: statement form, statement 1 signed with ML-DSA-44.
    let s1 = SignedClaim::from_bytes(&read("scitt/statement-1.mldsa.cose")).expect("statement");
    s1.verify_signature().expect("ML-DSA-44 signature");
    assert_eq!(s1.algorithm(), Algorithm::MlDsa44);
    assert_eq!(s1.vendor_key(), &vendor_pq);
    assert_eq!(s1.statement_claims().expect("cwt").iss, "vendor-pq.example");
    for i in [0, 2] {
        let s = SignedClaim::from_bytes(&read(&format!("scitt/statement-{i}.cose")))
            .expect("statement");
        s.verify_signature().expect("signature");
        assert!(s.statement_claims().is_some());
    }

    // Receipts for statement 1, by each log key, and the transparent statement.
    let keys = [log_key, log_pq];
    for name in ["scitt/receipt-1.cose", "scitt/receipt-1.mldsa.cose"] {
        let r = CoseReceipt::from_bytes(&read(name)).expect(name);
        let v = r.verify(s1.to_bytes(), &keys).expect(name);
        assert_eq!((v.leaf_index, v.tree_size), (1, 3));
        assert_eq!(v.iat, Some(gen_vectors::LOG_SECS));
    }
    let ts = TransparentStatement::from_bytes(&read("scitt/transparent-statement-1.cose"))
        .expect("transparent statement");
    assert_eq!(ts.statement().to_bytes(), s1.to_bytes());
    assert_eq!(ts.verify(&keys).expect("verifies").receipts.len(), 2);
    let set = read("scitt/scitt-keys.cbor");
    assert_eq!(set[0], 0x82, "a COSE_KeySet of two keys");
}

#[test]
fn index_vectors_verify() {
    use provlog_core::index::acceptance::{KeyStatus, key_status_at};
    use provlog_core::index::entry::{IndexCommit, LogEntry, VendorKeyEvent};
    use provlog_core::index::evidence::verify_index_evidence;
    use provlog_core::index::key::IndexKey;
    use provlog_core::index::proof::{LookupOutcome, verify_lookup};
    use provlog_core::index::recompute::Recomputer;

    let log_key = VerifierKey::parse(text("keys/log.vkey").trim()).expect("log vkey");
    let vendor = text("keys/vendor.vkey").trim().to_string();
    let policy = Policy::single_log(log_key.clone());

    // Recomputing the vector log reproduces both commits.
    let log: serde_json::Value = serde_json::from_slice(&read("index/log.json")).expect("json");
    let entries: Vec<Vec<u8>> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| hex::decode(e.as_str().expect("hex")).expect("hex"))
        .collect();
    let mut r = Recomputer::default();
    let mut checked = 0;
    for e in &entries {
        if let Some(c) = r.push_entry(e).expect("recompute") {
            assert!(c.is_ok(), "{c:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2);
    assert_eq!(entries[6], read("index/index-commit.cbor"));
    assert_eq!(
        IndexCommit::from_bytes(&entries[6]).expect("commit").size,
        6
    );
    let ev = VendorKeyEvent::from_bytes(&read("index/vendor-key.cbor")).expect("event");
    ev.verify(&log_key).expect("signed by the log");
    assert!(matches!(
        LogEntry::classify(&entries[0]),
        LogEntry::VendorKey(_)
    ));

    // Lookups.
    let found =
        verify_lookup(&read("index/lookup-asset-found.cbor"), &policy, None).expect("found");
    assert!(matches!(
        &found.outcome,
        LookupOutcome::Found { count: 2, from: 0, indexes, entries_checked: true } if indexes == &[1, 4]
    ));
    assert_eq!(
        found.summary(),
        "VERIFIED: 2 claims (complete as of checkpoint 7)"
    );
    let tail = verify_lookup(
        &read("index/lookup-vendor-tail.cbor"),
        &policy,
        Some(&IndexKey::Vendor(vendor.clone())),
    )
    .expect("tail");
    assert!(matches!(
        &tail.outcome,
        LookupOutcome::Found { count: 4, from: 2, indexes, .. } if indexes == &[4, 5]
    ));
    for name in [
        "index/lookup-absent-other.cbor",
        "index/lookup-absent-empty.cbor",
    ] {
        let v = verify_lookup(&read(name), &policy, None).expect("absent");
        assert_eq!(v.outcome, LookupOutcome::Absent);
        assert_eq!(v.summary(), "VERIFIED ABSENT as of checkpoint 7");
    }
    let status = verify_lookup(
        &read("index/lookup-vendor-key-status.cbor"),
        &policy,
        Some(&IndexKey::VendorKeyStatus(vendor.clone())),
    )
    .expect("status");
    assert_eq!(
        key_status_at(&status, &vendor, 1, &log_key).expect("status"),
        KeyStatus::Accepted { since: 0 }
    );

    // The lying log's omission is evidence against the log key only.
    let evidence = read("index/evidence-omission.json");
    let v = verify_index_evidence(&evidence, &log_key).expect("evidence verifies");
    assert_eq!(v.index, 4);
    provlog_core::evidence::verify_any_evidence(&evidence, &log_key).expect("either kind");
    let vendor_key = VerifierKey::parse(&vendor).expect("vendor vkey");
    assert!(verify_index_evidence(&evidence, &vendor_key).is_err());
}
