//! The cost of post-quantum signatures and SCITT receipts: ML-DSA-44 next
//! to Ed25519 for checkpoint signing and verification, vendor claims, and
//! COSE receipts; sizes are printed first (they do not vary between runs).
#![allow(missing_docs)]

#[path = "../examples/gen_vectors.rs"]
#[allow(dead_code)]
mod gen_vectors;

use criterion::{Criterion, criterion_group, criterion_main};
use provlog_core::checkpoint::{Checkpoint, LogSigner, verify_checkpoint, verify_checkpoint_keys};
use provlog_core::cose::CoseSigner;
use provlog_core::note::{MlDsa44NoteSigner, NoteSigner, SIG_ED25519};
use provlog_core::scitt::{CoseReceipt, SignedTreeHead, TransparentStatement};
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tree::{MemoryTree, inclusion_proof, tree_root};
use std::hint::black_box;

const ORIGIN: &str = "example.com/provlog/bench";
const T: u64 = 1_790_000_000;
/// A realistic tree size for receipts: 2^30 entries need 30 path hashes.
const BIG: u64 = 1 << 20;

fn bench(c: &mut Criterion) {
    let ed = NoteSigner::from_seed(ORIGIN, SIG_ED25519, [1; 32]).expect("key");
    let pq = MlDsa44NoteSigner::from_seed(ORIGIN, [2; 32]).expect("key");
    let ed_only = LogSigner::new(ed.clone(), None).expect("signer");
    let both = LogSigner::new(ed.clone(), Some(pq.clone())).expect("signer");
    let cp = Checkpoint::new(ORIGIN, BIG, [7; 32]);
    let note_ed = ed_only.sign(&cp, T).expect("sign");
    let note_both = both.sign(&cp, T).expect("sign");
    let keys = both.verifier_keys();

    // A small tree of statements and, for size figures, a receipt whose
    // path has the length a 2^20-entry log gives (20 hashes).
    let vendor = NoteSigner::from_seed("vendor.example", SIG_ED25519, [3; 32]).expect("key");
    let vendor_pq = MlDsa44NoteSigner::from_seed("vendor-pq.example", [4; 32]).expect("key");
    let claim = gen_vectors::claim(1);
    let st_ed = SignedClaim::sign_statement(
        &claim,
        CoseSigner::Ed25519(vendor.signing_key()),
        &vendor.verifier_key().to_vkey(),
    )
    .expect("statement");
    let st_pq = SignedClaim::sign_statement(
        &claim,
        CoseSigner::MlDsa44(vendor_pq.signing_key()),
        &vendor_pq.verifier_key().to_vkey(),
    )
    .expect("statement");
    let entries: Vec<Vec<u8>> = (0..16u64)
        .map(|i| {
            SignedClaim::sign_statement(
                &gen_vectors::claim(i),
                CoseSigner::Ed25519(vendor.signing_key()),
                &vendor.verifier_key().to_vkey(),
            )
            .expect("statement")
            .to_bytes()
            .to_vec()
        })
        .collect();
    let tree = MemoryTree::from_entries(entries.iter().map(Vec::as_slice));
    let view = tree.at_size(16).expect("view");
    let root = tree_root(&view, 16).expect("root");
    let path = inclusion_proof(&view, 5, 16).expect("proof");
    let sth_ed = SignedTreeHead::sign(
        &keys[0],
        CoseSigner::Ed25519(ed.signing_key()),
        16,
        &root,
        Some(T),
    )
    .expect("sth");
    let sth_pq = SignedTreeHead::sign(
        &keys[1],
        CoseSigner::MlDsa44(pq.signing_key()),
        16,
        &root,
        Some(T),
    )
    .expect("sth");
    let r_ed = sth_ed.receipt(5, &path).expect("receipt");
    let r_pq = sth_pq.receipt(5, &path).expect("receipt");
    let entry5 = SignedClaim::from_bytes(&entries[5]).expect("entry");
    let ts = TransparentStatement::new(&entry5, &[r_ed.clone(), r_pq.clone()]).expect("ts");
    let big_path = vec![[9u8; 32]; 20];
    let big_ed = SignedTreeHead::sign(
        &keys[0],
        CoseSigner::Ed25519(ed.signing_key()),
        BIG,
        &[1; 32],
        Some(T),
    )
    .expect("sth")
    .receipt(BIG - 1, &big_path)
    .expect("receipt");
    let big_pq = SignedTreeHead::sign(
        &keys[1],
        CoseSigner::MlDsa44(pq.signing_key()),
        BIG,
        &[1; 32],
        Some(T),
    )
    .expect("sth")
    .receipt(BIG - 1, &big_path)
    .expect("receipt");

    println!("sizes (bytes):");
    println!("  checkpoint note, Ed25519 only (legacy form):      {}", {
        provlog_core::checkpoint::sign_checkpoint(&cp.clone().with_timestamp(T * 1000), &ed)
            .expect("sign")
            .len()
    });
    println!(
        "  checkpoint note, Ed25519 + timestamp cosig:       {}",
        note_ed.len()
    );
    println!(
        "  checkpoint note, + ML-DSA-44 log signature:       {}",
        note_both.len()
    );
    println!(
        "  signed statement, Ed25519 vendor:                 {}",
        st_ed.to_bytes().len()
    );
    println!(
        "  signed statement, ML-DSA-44 vendor:               {}",
        st_pq.to_bytes().len()
    );
    println!(
        "  COSE receipt, Ed25519, 20-hash path:              {}",
        big_ed.to_bytes().len()
    );
    println!(
        "  COSE receipt, ML-DSA-44, 20-hash path:            {}",
        big_pq.to_bytes().len()
    );
    println!(
        "  transparent statement (Ed25519 stmt, 2 receipts, 4-hash path): {}",
        ts.to_bytes().len()
    );

    let msg = [0x5au8; 200];
    let pq_key = pq.signing_key();
    let pq_pub = pq_key.public_key();
    let pq_sig = pq_key.sign(&msg).expect("sign");
    c.bench_function("ML-DSA-44 sign (hedged), 200 B", |b| {
        b.iter(|| pq_key.sign(black_box(&msg)).expect("sign"))
    });
    c.bench_function("ML-DSA-44 verify, 200 B", |b| {
        b.iter(|| assert!(pq_pub.verify(black_box(&msg), &pq_sig)))
    });
    let ed_key = ed.signing_key();
    let ed_sig = ed25519_dalek::Signer::sign(ed_key, &msg);
    let ed_pub = ed_key.verifying_key();
    c.bench_function("Ed25519 sign, 200 B", |b| {
        b.iter(|| ed25519_dalek::Signer::sign(ed_key, black_box(&msg)))
    });
    c.bench_function("Ed25519 verify_strict, 200 B", |b| {
        b.iter(|| {
            ed_pub
                .verify_strict(black_box(&msg), &ed_sig)
                .expect("verify")
        })
    });
    c.bench_function("checkpoint sign: Ed25519 + timestamp cosig", |b| {
        b.iter(|| ed_only.sign(black_box(&cp), T).expect("sign"))
    });
    c.bench_function("checkpoint sign: Ed25519 + timestamp + ML-DSA-44", |b| {
        b.iter(|| both.sign(black_box(&cp), T).expect("sign"))
    });
    c.bench_function("checkpoint verify: Ed25519 key (+ timestamp cosig)", |b| {
        b.iter(|| verify_checkpoint(black_box(&note_both), &keys[0]).expect("verify"))
    });
    c.bench_function("checkpoint verify: Ed25519 and ML-DSA-44 keys", |b| {
        b.iter(|| verify_checkpoint_keys(black_box(&note_both), &keys).expect("verify"))
    });
    c.bench_function("statement verify: Ed25519 vendor", |b| {
        b.iter(|| black_box(&st_ed).verify_signature().expect("verify"))
    });
    c.bench_function("statement verify: ML-DSA-44 vendor", |b| {
        b.iter(|| black_box(&st_pq).verify_signature().expect("verify"))
    });
    c.bench_function("COSE receipt sign tree head: Ed25519", |b| {
        b.iter(|| {
            SignedTreeHead::sign(
                &keys[0],
                CoseSigner::Ed25519(ed.signing_key()),
                16,
                black_box(&root),
                Some(T),
            )
            .expect("sth")
        })
    });
    c.bench_function("COSE receipt sign tree head: ML-DSA-44", |b| {
        b.iter(|| {
            SignedTreeHead::sign(
                &keys[1],
                CoseSigner::MlDsa44(pq.signing_key()),
                16,
                black_box(&root),
                Some(T),
            )
            .expect("sth")
        })
    });
    c.bench_function("COSE receipt from signed tree head (no signing)", |b| {
        b.iter(|| sth_ed.receipt(5, black_box(&path)).expect("receipt"))
    });
    c.bench_function("COSE receipt decode + verify: Ed25519", |b| {
        b.iter(|| {
            CoseReceipt::from_bytes(black_box(r_ed.to_bytes()))
                .expect("decode")
                .verify(&entries[5], &keys)
                .expect("verify")
        })
    });
    c.bench_function("COSE receipt decode + verify: ML-DSA-44", |b| {
        b.iter(|| {
            CoseReceipt::from_bytes(black_box(r_pq.to_bytes()))
                .expect("decode")
                .verify(&entries[5], &keys)
                .expect("verify")
        })
    });
    c.bench_function("transparent statement decode + verify (2 receipts)", |b| {
        b.iter(|| {
            TransparentStatement::from_bytes(black_box(ts.to_bytes()))
                .expect("decode")
                .verify(&keys)
                .expect("verify")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
