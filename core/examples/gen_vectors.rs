//! Generates the test vectors in `spec/vectors/`.
//!
//! Run `cargo run -p provlog-core --example gen_vectors` from the
//! repository root to (re)write them; `cargo test` (test `spec_vectors`)
//! regenerates them in memory and checks the committed files byte for byte,
//! then verifies each one. Everything is deterministic: fixed key seeds,
//! fixed timestamps, Ed25519 signatures are deterministic, and ML-DSA-44
//! uses its deterministic variant here (FIPS 204 §3.4; production signing
//! is hedged). The vectors added by the 2026 revision (ML-DSA-44, log
//! timestamp cosignatures, SCITT) are new files; the earlier ones are
//! unchanged byte for byte.

use std::collections::BTreeMap;

use provlog_core::checkpoint::{Checkpoint, LogSigner, sign_checkpoint};
use provlog_core::claim::{
    Asset, C2paBinding, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure,
    ExclusionRange, Generator, HardBinding, HardBindingKind, HashAlg, IndirectDisclosure,
    SoftBinding, SoftBindingKind,
};
use provlog_core::cose::{CoseSigner, cose_key_set};
use provlog_core::evidence::{EVIDENCE_FORMAT, Evidence, EvidenceKind};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::index::entry::{IndexCommit, KeyOp, VendorKeyEvent};
use provlog_core::index::evidence::{IndexEvidence, IndexEvidenceKind};
use provlog_core::index::hashing as ihash;
use provlog_core::index::key::{IndexKey, claim_keys, entry_key_hashes};
use provlog_core::index::list::ListState;
use provlog_core::index::proof::{LookupProof, ProvenEntry};
use provlog_core::index::store::MemoryStore;
use provlog_core::index::tree::{Batch, Index, Terminal};
use provlog_core::note::MlDsa44NoteSigner;
use provlog_core::note::{Note, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519};
use provlog_core::policy::Policy;
use provlog_core::receipt::Receipt;
use provlog_core::scitt::{SignedTreeHead, TransparentStatement};
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
/// Log time (unix seconds) of the 2026-form vector checkpoints and receipts.
pub const LOG_SECS: u64 = 1_790_000_002;
/// Number of statements in the SCITT vector log (same origin and log keys).
pub const SCITT_SIZE: u64 = 3;
/// The SCITT statement with a transparent statement in the vectors.
pub const SCITT_INDEX: u64 = 1;

/// ML-DSA-44 keys (test-only seeds 4, 5, 6): the log's second key, an
/// ML-DSA-44 witness, and an ML-DSA-44 vendor.
pub fn ml_dsa_keys() -> (MlDsa44NoteSigner, MlDsa44NoteSigner, MlDsa44NoteSigner) {
    let k = |name: &str, seed: u8| MlDsa44NoteSigner::from_seed(name, [seed; 32]).expect("key");
    (
        k(ORIGIN, 4),
        k("witness-pq.example", 5),
        k("vendor-pq.example", 6),
    )
}

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

    // 2026: ML-DSA-44 keys; the size-7 checkpoint signed by the log with
    // Ed25519, its cosignature/v1 timestamp and ML-DSA-44 (no extension
    // line); the same cosigned by an ML-DSA-44 witness; a policy that
    // demands both log algorithms and the ML-DSA-44 witness.
    let (log_pq, witness_pq, vendor_pq) = ml_dsa_keys();
    put("keys/log-mldsa.vkey", line(log_pq.verifier_key().to_vkey()));
    put("keys/log-mldsa.skey", line(log_pq.to_skey()));
    put(
        "keys/witness-mldsa.vkey",
        line(witness_pq.verifier_key().to_vkey()),
    );
    put("keys/witness-mldsa.skey", line(witness_pq.to_skey()));
    put(
        "keys/vendor-mldsa.vkey",
        line(vendor_pq.verifier_key().to_vkey()),
    );
    put("keys/vendor-mldsa.skey", line(vendor_pq.to_skey()));
    let log_signer = LogSigner::new(log.clone(), Some(log_pq.clone())).expect("log signer");
    let bare7 = Checkpoint::new(
        ORIGIN,
        SIZE,
        tree_root(&tree.at_size(SIZE).expect("view"), SIZE).expect("root"),
    );
    let cp_pq = log_signer
        .sign_deterministic(&bare7, LOG_SECS)
        .expect("sign");
    put("checkpoint.mldsa", cp_pq.clone());
    let mut note = Note::parse(&cp_pq).expect("note");
    note.signatures.push(
        witness_pq
            .cosign_deterministic(&bare7, COSIGN_SECS)
            .expect("cosign"),
    );
    put("checkpoint.mldsa-cosigned", note.to_bytes());
    let pq_policy = format!(
        "log {}
witness log-mldsa {}
witness witness-pq.example {}
group all-pq all log-mldsa witness-pq.example
quorum all-pq
",
        log.verifier_key().to_vkey(),
        log_pq.verifier_key().to_vkey(),
        witness_pq.verifier_key().to_vkey()
    );
    Policy::parse(&pq_policy).expect("vector policy parses");
    put("policy-mldsa.txt", pq_policy.into_bytes());

    // SCITT: a 3-statement log (statement form; statement 1 signed by the
    // ML-DSA-44 vendor), COSE receipts for statement 1 by the log's
    // Ed25519 and ML-DSA-44 keys, the transparent statement carrying both,
    // and the log's COSE_KeySet.
    let vendor_statement = |i: u64| {
        if i == SCITT_INDEX {
            SignedClaim::sign_statement(
                &claim(200 + i),
                CoseSigner::MlDsa44Deterministic(vendor_pq.signing_key()),
                &vendor_pq.verifier_key().to_vkey(),
            )
        } else {
            SignedClaim::sign_statement(
                &claim(200 + i),
                CoseSigner::Ed25519(vendor.signing_key()),
                &vendor_vkey,
            )
        }
        .expect("sign statement")
    };
    let statements: Vec<SignedClaim> = (0..SCITT_SIZE).map(vendor_statement).collect();
    for (i, st) in statements.iter().enumerate() {
        let name = if i as u64 == SCITT_INDEX {
            format!("scitt/statement-{i}.mldsa.cose")
        } else {
            format!("scitt/statement-{i}.cose")
        };
        put(&name, st.to_bytes().to_vec());
    }
    let scitt_tree = MemoryTree::from_entries(statements.iter().map(SignedClaim::to_bytes));
    let view = scitt_tree.at_size(SCITT_SIZE).expect("view");
    let root = tree_root(&view, SCITT_SIZE).expect("root");
    let path = inclusion_proof(&view, SCITT_INDEX, SCITT_SIZE).expect("proof");
    let sth_ed = SignedTreeHead::sign(
        &log.verifier_key(),
        CoseSigner::Ed25519(log.signing_key()),
        SCITT_SIZE,
        &root,
        Some(LOG_SECS),
    )
    .expect("sign tree head");
    let sth_pq = SignedTreeHead::sign(
        &log_pq.verifier_key(),
        CoseSigner::MlDsa44Deterministic(log_pq.signing_key()),
        SCITT_SIZE,
        &root,
        Some(LOG_SECS),
    )
    .expect("sign tree head");
    let r_ed = sth_ed.receipt(SCITT_INDEX, &path).expect("receipt");
    let r_pq = sth_pq.receipt(SCITT_INDEX, &path).expect("receipt");
    put("scitt/receipt-1.cose", r_ed.to_bytes().to_vec());
    put("scitt/receipt-1.mldsa.cose", r_pq.to_bytes().to_vec());
    let ts = TransparentStatement::new(&statements[SCITT_INDEX as usize], &[r_ed, r_pq])
        .expect("transparent statement");
    put("scitt/transparent-statement-1.cose", ts.to_bytes().to_vec());
    put(
        "scitt/scitt-keys.cbor",
        cose_key_set(&[log.verifier_key(), log_pq.verifier_key()]),
    );
    for (name, bytes) in index_vectors() {
        out.insert(name, bytes);
    }
    out
}

/// Cosignature-free timestamp of the index vector checkpoint (unix ms).
pub const INDEX_CHECKPOINT_MS: u64 = 1_790_000_500_000;
/// Time stated in the index vector log's vendor-key entry (unix ms).
pub const KEY_EVENT_MS: u64 = 1_789_990_000_000;

/// The entries of the index vector log (spec/lookup.md §10), honest or
/// with entry 4 left out of the asset key's list (the lying variant).
fn index_log(lying: bool) -> (Vec<Vec<u8>>, Vec<IndexCommit>, Index<MemoryStore>) {
    let (log, vendor, _) = keys();
    let vkey = vendor.verifier_key().to_vkey();
    let sign = |c: &Claim| {
        SignedClaim::sign(c, vendor.signing_key(), &vkey)
            .expect("sign")
            .to_bytes()
            .to_vec()
    };
    // Entry 4 re-claims asset 0 with a C2PA hard binding and a soft binding.
    let mut rich = claim(3);
    rich.asset = claim(0).asset;
    rich.c2pa = Some(C2paBinding {
        manifest_label: "urn:uuid:6f1c4a52-0d3e-4f5a-9b8c-1d2e3f4a5b6c".into(),
        claim_alg: HashAlg::Sha256,
        claim_hash: sha256(b"example c2pa claim 3").to_vec(),
        hard_binding: HardBinding {
            kind: HardBindingKind::Data,
            alg: HashAlg::Sha256,
            hash: sha256(b"example hard binding 3").to_vec(),
            exclusions: vec![ExclusionRange {
                start: 3,
                length: 4,
            }],
        },
        validation: None,
    });
    rich.soft_bindings = vec![SoftBinding {
        kind: SoftBindingKind::Watermark,
        alg: "com.example.watermark.v1".into(),
        value: vec![0xde, 0xad, 0xbe, 0xef],
    }];
    let event = VendorKeyEvent::sign(KeyOp::Add, &vkey, None, KEY_EVENT_MS, &log)
        .expect("event")
        .to_bytes();
    let mut entries = vec![event, sign(&claim(0)), sign(&claim(1))];
    let mut commits = Vec::new();
    let mut index = Index::new(MemoryStore::with_lists());
    let asset0 = IndexKey::Asset(claim(0).asset.sha256).hash();
    let mut commit = |entries: &mut Vec<Vec<u8>>, from: usize, index: &mut Index<MemoryStore>| {
        let mut batch = Batch::new();
        for (i, e) in entries.iter().enumerate().skip(from) {
            let keys: Vec<_> = entry_key_hashes(e)
                .into_iter()
                .filter(|k| !(lying && i == 4 && *k == asset0))
                .collect();
            batch.add(i as u64, &keys);
        }
        let size = entries.len() as u64;
        let root = index.commit_batch(batch, size).expect("commit");
        let c = IndexCommit {
            size,
            root,
            keys: index.key_count(),
        };
        entries.push(c.to_bytes());
        commits.push(c);
    };
    commit(&mut entries, 0, &mut index);
    entries.push(sign(&rich));
    entries.push(sign(&claim(2)));
    commit(&mut entries, 4, &mut index);
    (entries, commits, index)
}

/// The index vectors (spec/vectors/index/).
fn index_vectors() -> BTreeMap<String, Vec<u8>> {
    let (log, vendor, _) = keys();
    let vkey = vendor.verifier_key().to_vkey();
    let mut out = BTreeMap::new();
    let line = |s: String| format!("{s}\n").into_bytes();

    // Key material and key hashes, one per kind.
    let c4 = {
        let (e, _, _) = index_log(false);
        SignedClaim::from_bytes(&e[4]).expect("claim")
    };
    let mut kinds = claim_keys(&c4);
    kinds.push(IndexKey::VendorKeyStatus(vkey.clone()));
    let keys_json: Vec<serde_json::Value> = kinds
        .iter()
        .map(|k| {
            serde_json::json!({
                "key": k.describe(),
                "material": hex::encode(k.material()),
                "hash": hex::encode(k.hash()),
            })
        })
        .collect();
    let z = [0u8; 32];
    let one = [1u8; 32];
    let hashes = serde_json::json!({
        "leaf_hash(key=00..00, count=1, list_root=01..01)": hex::encode(ihash::leaf_hash(&z, 1, &one)),
        "interior_hash(00..00, 01..01)": hex::encode(ihash::interior_hash(&z, &one)),
        "list_leaf_hash(5)": hex::encode(ihash::list_leaf_hash(5)),
        "list_root([1, 4])": hex::encode(ListState::new(&[1, 4]).root()),
        "list_root([1, 2, 4])": hex::encode(ListState::new(&[1, 2, 4]).root()),
    });
    out.insert(
        "index/keys.json".into(),
        line(
            serde_json::to_string_pretty(&sort_keys(
                serde_json::json!({"keys": keys_json, "hashes": hashes}),
            ))
            .expect("json"),
        ),
    );

    // The log, its commits, and a checkpoint whose last entry is the last commit.
    let (entries, commits, index) = index_log(false);
    let size = entries.len() as u64;
    let tree = MemoryTree::from_entries(entries.iter().map(Vec::as_slice));
    let view = tree.at_size(size).expect("view");
    let root = tree_root(&view, size).expect("root");
    let checkpoint = sign_checkpoint(
        &Checkpoint::new(ORIGIN, size, root).with_timestamp(INDEX_CHECKPOINT_MS),
        &log,
    )
    .expect("sign");
    let log_json = serde_json::json!({
        "entries": entries.iter().map(hex::encode).collect::<Vec<_>>(),
        "commits": commits.iter().map(|c| serde_json::json!({
            "size": c.size, "root": hex::encode(c.root), "keys": c.keys,
        })).collect::<Vec<_>>(),
        "tree_size": size,
        "tree_root": hex::encode(root),
    });
    out.insert(
        "index/log.json".into(),
        line(serde_json::to_string_pretty(&sort_keys(log_json)).expect("json")),
    );
    out.insert("index/checkpoint".into(), checkpoint.clone());
    out.insert("index/index-commit.cbor".into(), entries[6].clone());
    out.insert("index/vendor-key.cbor".into(), entries[0].clone());

    let commit_index = size - 1;
    let lookup = |key: &IndexKey, from: u64, with_entries: bool| {
        let mut p = LookupProof::build(
            &index,
            key,
            from,
            entries[commit_index as usize].clone(),
            inclusion_proof(&view, commit_index, size).expect("proof"),
            checkpoint.clone(),
        )
        .expect("lookup");
        if with_entries {
            p.entries = p
                .indexes()
                .iter()
                .map(|&i| ProvenEntry {
                    index: i,
                    entry: entries[i as usize].clone(),
                    proof: inclusion_proof(&view, i, size).expect("proof"),
                })
                .collect();
        }
        p
    };
    let asset0 = IndexKey::Asset(claim(0).asset.sha256);
    out.insert(
        "index/lookup-asset-found.cbor".into(),
        lookup(&asset0, 0, true).to_cbor(),
    );
    out.insert(
        "index/lookup-vendor-tail.cbor".into(),
        lookup(&IndexKey::Vendor(vkey.clone()), 2, false).to_cbor(),
    );
    out.insert(
        "index/lookup-vendor-key-status.cbor".into(),
        lookup(&IndexKey::VendorKeyStatus(vkey.clone()), 0, true).to_cbor(),
    );
    // Absent keys: the first asset hashes (of "absent N") whose walks end at
    // another leaf, and at an empty subtree.
    let mut other = None;
    let mut empty = None;
    for n in 0u32.. {
        let k = IndexKey::Asset(sha256(format!("absent {n}").as_bytes()));
        match index.prove(&k.hash()).expect("prove").terminal {
            Terminal::Other(_) if other.is_none() => other = Some(k),
            Terminal::Empty if empty.is_none() => empty = Some(k),
            _ => {}
        }
        if other.is_some() && empty.is_some() {
            break;
        }
    }
    let (other, empty) = (other.expect("other"), empty.expect("empty"));
    out.insert(
        "index/lookup-absent-other.cbor".into(),
        lookup(&other, 0, false).to_cbor(),
    );
    out.insert(
        "index/lookup-absent-empty.cbor".into(),
        lookup(&empty, 0, false).to_cbor(),
    );

    // The lying variant: entry 4 left out of asset 0's list; its own lookup
    // verifies against its commit, and with entry 4 it is evidence.
    let (lentries, _, lindex) = index_log(true);
    let ltree = MemoryTree::from_entries(lentries.iter().map(Vec::as_slice));
    let lview = ltree.at_size(size).expect("view");
    let lroot = tree_root(&lview, size).expect("root");
    let lcheckpoint = sign_checkpoint(
        &Checkpoint::new(ORIGIN, size, lroot).with_timestamp(INDEX_CHECKPOINT_MS),
        &log,
    )
    .expect("sign");
    let lie = LookupProof::build(
        &lindex,
        &asset0,
        0,
        lentries[commit_index as usize].clone(),
        inclusion_proof(&lview, commit_index, size).expect("proof"),
        lcheckpoint,
    )
    .expect("lookup");
    let ev = IndexEvidence::from_lookup(
        IndexEvidenceKind::IndexOmission,
        &log.verifier_key(),
        &lie,
        4,
        &lentries[4],
        &inclusion_proof(&lview, 4, size).expect("proof"),
    );
    out.insert("index/evidence-omission.json".into(), ev.to_json());
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
