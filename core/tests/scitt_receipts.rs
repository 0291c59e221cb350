//! RFC 9942 COSE receipts (RFC9162_SHA256) and SCITT transparent
//! statements: round trips, strict decoding, verification over many tree
//! sizes, and tampering of every part, which must fail.
#![allow(clippy::unwrap_used)]

#[path = "../examples/gen_vectors.rs"]
#[allow(dead_code)]
mod gen_vectors;

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use provlog_core::cose::{CoseSigner, cose_key, cose_key_set, key_thumbprint};
use provlog_core::hash::Hash;
use provlog_core::note::{MlDsa44NoteSigner, NoteSigner, SIG_ED25519, VerifierKey};
use provlog_core::scitt::{
    CoseReceipt, ScittError, SignedTreeHead, TransparentStatement, tree_head_subject,
};
use provlog_core::signed_claim::{SignedClaim, asset_subject};
use provlog_core::tree::{MemoryTree, inclusion_proof, tree_root};

const ORIGIN: &str = "example.com/provlog";

fn log_ed() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, SIG_ED25519, [1; 32]).unwrap()
}
fn log_pq() -> MlDsa44NoteSigner {
    MlDsa44NoteSigner::from_seed(ORIGIN, [4; 32]).unwrap()
}
fn vendor() -> NoteSigner {
    NoteSigner::from_seed("vendor.example", SIG_ED25519, [2; 32]).unwrap()
}

fn statements(n: u64) -> Vec<SignedClaim> {
    let v = vendor();
    let kid = v.verifier_key().to_vkey();
    (0..n)
        .map(|i| {
            SignedClaim::sign_statement(
                &gen_vectors::claim(i),
                CoseSigner::Ed25519(v.signing_key()),
                &kid,
            )
            .unwrap()
        })
        .collect()
}

fn tree_of(entries: &[SignedClaim]) -> MemoryTree {
    MemoryTree::from_entries(entries.iter().map(SignedClaim::to_bytes))
}

fn receipt_for(
    tree: &MemoryTree,
    size: u64,
    index: u64,
    signer: CoseSigner<'_>,
    key: &VerifierKey,
) -> CoseReceipt {
    let view = tree.at_size(size).unwrap();
    let root = tree_root(&view, size).unwrap();
    let sth = SignedTreeHead::sign(key, signer, size, &root, Some(1_767_225_600)).unwrap();
    sth.receipt(index, &inclusion_proof(&view, index, size).unwrap())
        .unwrap()
}

#[test]
fn statement_form_carries_iss_and_sub() {
    let s = &statements(1)[0];
    let c = s.statement_claims().unwrap();
    assert_eq!(c.iss, "vendor.example");
    assert_eq!(c.sub, asset_subject(&s.claim().asset.sha256));
    assert!(c.sub.starts_with("ni:///sha-256;"));
    assert_eq!(c.sub.len(), 14 + 43);
    s.verify_signature().unwrap();
    // The legacy form is still accepted and has no claims.
    let v = vendor();
    let old = SignedClaim::sign(
        &gen_vectors::claim(0),
        v.signing_key(),
        &v.verifier_key().to_vkey(),
    )
    .unwrap();
    assert!(old.statement_claims().is_none());
    assert_ne!(old.to_bytes(), s.to_bytes());
}

#[test]
fn ml_dsa_vendor_claims_sign_parse_and_verify() {
    let pq = MlDsa44NoteSigner::from_seed("pq-vendor.example", [9; 32]).unwrap();
    let kid = pq.verifier_key().to_vkey();
    for signer in [
        CoseSigner::MlDsa44(pq.signing_key()),
        CoseSigner::MlDsa44Deterministic(pq.signing_key()),
    ] {
        let s = SignedClaim::sign_statement(&gen_vectors::claim(3), signer, &kid).unwrap();
        let back = SignedClaim::from_bytes(s.to_bytes()).unwrap();
        assert_eq!(back.algorithm(), provlog_core::cose::Algorithm::MlDsa44);
        back.verify_signature().unwrap();
        assert_eq!(back.signature_bytes().len(), 2420);
        // Ed25519-only accessors never verify for ML-DSA claims.
        assert!(
            ed25519_dalek::Verifier::verify(
                &back.public_key(),
                &back.signed_message(),
                &back.signature()
            )
            .is_err()
        );
        let mut bad = s.to_bytes().to_vec();
        let n = bad.len();
        bad[n - 5] ^= 1;
        assert!(
            SignedClaim::from_bytes(&bad)
                .unwrap()
                .verify_signature()
                .is_err()
        );
    }
    // An ML-DSA kid with EdDSA, or an Ed25519 kid with ML-DSA, is refused.
    let ed = vendor();
    assert!(
        SignedClaim::sign_statement(
            &gen_vectors::claim(3),
            CoseSigner::MlDsa44(pq.signing_key()),
            &ed.verifier_key().to_vkey()
        )
        .is_err()
    );
    assert!(
        SignedClaim::sign_statement(
            &gen_vectors::claim(3),
            CoseSigner::Ed25519(ed.signing_key()),
            &kid
        )
        .is_err()
    );
}

#[test]
fn receipts_round_trip_and_verify_ed25519_and_ml_dsa() {
    let entries = statements(13);
    let tree = tree_of(&entries);
    let ed = log_ed();
    let pq = log_pq();
    let keys = [ed.verifier_key(), pq.verifier_key()];
    for (signer, key) in [
        (CoseSigner::Ed25519(ed.signing_key()), &keys[0]),
        (CoseSigner::MlDsa44Deterministic(pq.signing_key()), &keys[1]),
    ] {
        for size in [1u64, 2, 7, 13] {
            for index in 0..size {
                let r = receipt_for(&tree, size, index, signer, key);
                let back = CoseReceipt::from_bytes(r.to_bytes()).unwrap();
                assert_eq!(back, r);
                let v = r.verify(entries[index as usize].to_bytes(), &keys).unwrap();
                assert_eq!(v.tree_size, size);
                assert_eq!(v.leaf_index, index);
                assert_eq!(&v.key, key);
                assert_eq!(r.header().iss, ORIGIN);
                assert_eq!(r.header().sub, tree_head_subject(ORIGIN, size));
                // Another entry does not verify with this receipt.
                let other = &entries[((index + 1) % 13) as usize];
                assert!(r.verify(other.to_bytes(), &keys).is_err());
                // Nor under a key set that lacks the signer.
                let others: Vec<VerifierKey> = keys.iter().filter(|k| *k != key).cloned().collect();
                assert!(matches!(
                    r.verify(entries[index as usize].to_bytes(), &others),
                    Err(ScittError::UnknownKey(_))
                ));
            }
        }
    }
}

#[test]
fn one_tree_head_signature_serves_every_receipt() {
    let entries = statements(5);
    let tree = tree_of(&entries);
    let ed = log_ed();
    let view = tree.at_size(5).unwrap();
    let root = tree_root(&view, 5).unwrap();
    let sth = SignedTreeHead::sign(
        &ed.verifier_key(),
        CoseSigner::Ed25519(ed.signing_key()),
        5,
        &root,
        None,
    )
    .unwrap();
    for i in 0..5 {
        let r = sth
            .receipt(i, &inclusion_proof(&view, i, 5).unwrap())
            .unwrap();
        r.verify(entries[i as usize].to_bytes(), &[ed.verifier_key()])
            .unwrap();
    }
    assert!(sth.receipt(5, &[]).is_err());
    // A signer for another key is refused.
    let other = SigningKey::from_bytes(&[8; 32]);
    assert!(
        SignedTreeHead::sign(
            &ed.verifier_key(),
            CoseSigner::Ed25519(&other),
            5,
            &root,
            None
        )
        .is_err()
    );
}

#[test]
fn transparent_statements_round_trip_and_verify() {
    let entries = statements(6);
    let tree = tree_of(&entries);
    let ed = log_ed();
    let pq = log_pq();
    let r1 = receipt_for(
        &tree,
        6,
        4,
        CoseSigner::Ed25519(ed.signing_key()),
        &ed.verifier_key(),
    );
    let r2 = receipt_for(
        &tree,
        5,
        4,
        CoseSigner::MlDsa44(pq.signing_key()),
        &pq.verifier_key(),
    );
    let ts = TransparentStatement::new(&entries[4], &[r1.clone(), r2.clone()]).unwrap();
    let back = TransparentStatement::from_bytes(ts.to_bytes()).unwrap();
    assert_eq!(back, ts);
    assert_eq!(back.statement().to_bytes(), entries[4].to_bytes());
    let v = ts.verify(&[ed.verifier_key(), pq.verifier_key()]).unwrap();
    assert_eq!(v.receipts.len(), 2);
    // Only one key known: the other receipt is ignored.
    assert_eq!(ts.verify(&[pq.verifier_key()]).unwrap().receipts.len(), 1);
    assert!(matches!(
        ts.verify(&[vendor().verifier_key()]),
        Err(ScittError::NoTrustedReceipt)
    ));
    // A receipt for another entry, by a trusted key, rejects the whole thing.
    let wrong = receipt_for(
        &tree,
        6,
        3,
        CoseSigner::Ed25519(ed.signing_key()),
        &ed.verifier_key(),
    );
    let bad = TransparentStatement::new(&entries[4], &[r2, wrong]).unwrap();
    assert!(bad.verify(&[ed.verifier_key(), pq.verifier_key()]).is_err());
    // The statement with an empty unprotected header is not a transparent statement.
    assert!(TransparentStatement::from_bytes(entries[4].to_bytes()).is_err());
    assert!(TransparentStatement::new(&entries[4], &[]).is_err());
}

#[test]
fn cose_keys_and_thumbprints() {
    let ed = log_ed().verifier_key();
    let pq = log_pq().verifier_key();
    let k = cose_key(&ed);
    // {1: 1, 2: kid, 3: -8, -1: 6, -2: x}
    assert_eq!(&k[..4], &[0xa5, 0x01, 0x01, 0x02]);
    assert_eq!(
        key_thumbprint(&ed),
        key_thumbprint(&ed.timestamp_key().unwrap())
    );
    assert_ne!(key_thumbprint(&ed), key_thumbprint(&pq));
    let set = cose_key_set(&[ed.clone(), pq.clone()]);
    assert_eq!(set[0], 0x82);
    // draft-ietf-cose-dilithium's example ML-DSA-44 key (all-zero seed)
    // has the AKP thumbprint b8969ab4…8059a (its `kid`).
    let zero = MlDsa44NoteSigner::from_seed("x", [0; 32])
        .unwrap()
        .verifier_key();
    assert_eq!(
        hex::encode(key_thumbprint(&zero)),
        "b8969ab4b37da9f0684e42647eb8a0be8b5b661ebf5d76f0583bf5b8d3a8059a"
    );
}

#[test]
fn receipt_decoding_is_strict() {
    let entries = statements(3);
    let tree = tree_of(&entries);
    let ed = log_ed();
    let r = receipt_for(
        &tree,
        3,
        1,
        CoseSigner::Ed25519(ed.signing_key()),
        &ed.verifier_key(),
    );
    let b = r.to_bytes();
    // Every truncation and trailing byte fails.
    for n in 0..b.len() {
        assert!(CoseReceipt::from_bytes(&b[..n]).is_err());
    }
    let mut long = b.to_vec();
    long.push(0);
    assert!(CoseReceipt::from_bytes(&long).is_err());
    // Untagged.
    assert!(CoseReceipt::from_bytes(&b[1..]).is_err());
    // An attached payload (nil -> empty bstr) is not this profile.
    let nil = b.iter().rposition(|&x| x == 0xf6).unwrap();
    let mut attached = b.to_vec();
    attached[nil] = 0x40;
    assert!(CoseReceipt::from_bytes(&attached).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any single flipped bit in a receipt makes it fail to decode or to
    /// verify; so does any flipped bit in the entry.
    #[test]
    fn tampered_receipts_never_verify(size in 1u64..40, seed in any::<u64>(), bit in any::<usize>()) {
        let entries = statements(size);
        let tree = tree_of(&entries);
        let ed = log_ed();
        let index = seed % size;
        let r = receipt_for(&tree, size, index, CoseSigner::Ed25519(ed.signing_key()), &ed.verifier_key());
        let keys = [ed.verifier_key()];
        let entry = entries[index as usize].to_bytes();
        prop_assert!(r.verify(entry, &keys).is_ok());
        let mut bad = r.to_bytes().to_vec();
        let i = bit % (bad.len() * 8);
        bad[i / 8] ^= 1 << (i % 8);
        if let Ok(t) = CoseReceipt::from_bytes(&bad) {
            prop_assert!(t.verify(entry, &keys).is_err(), "bit {} accepted", i);
        }
        let mut e = entry.to_vec();
        let j = bit % (e.len() * 8);
        e[j / 8] ^= 1 << (j % 8);
        prop_assert!(r.verify(&e, &keys).is_err());
    }

    /// Decoding never panics on arbitrary bytes, nor on mutated transparent
    /// statements.
    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), pos in any::<usize>(), byte in any::<u8>()) {
        let _ = CoseReceipt::from_bytes(&data);
        let _ = TransparentStatement::from_bytes(&data);
        let entries = statements(2);
        let tree = tree_of(&entries);
        let ed = log_ed();
        let r = receipt_for(&tree, 2, 0, CoseSigner::Ed25519(ed.signing_key()), &ed.verifier_key());
        let ts = TransparentStatement::new(&entries[0], &[r]).unwrap();
        let mut m = ts.to_bytes().to_vec();
        let p = pos % m.len();
        m[p] = byte;
        if let Ok(t) = TransparentStatement::from_bytes(&m)
            && m != ts.to_bytes()
        {
            prop_assert!(t.verify(&[ed.verifier_key()]).is_err());
        }
    }
}

#[test]
fn roots_match_the_tree() {
    // The root a receipt verifies to is the tree root at its size.
    let entries = statements(9);
    let tree = tree_of(&entries);
    let ed = log_ed();
    let r = receipt_for(
        &tree,
        9,
        8,
        CoseSigner::Ed25519(ed.signing_key()),
        &ed.verifier_key(),
    );
    let v = r
        .verify(entries[8].to_bytes(), &[ed.verifier_key()])
        .unwrap();
    let root: Hash = tree_root(&tree.at_size(9).unwrap(), 9).unwrap();
    assert_eq!(v.root, root);
}
