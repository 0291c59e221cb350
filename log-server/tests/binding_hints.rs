//! The binding index takes the records admission derived (handed on by
//! the sequencer once a batch is durable, `BindingHints`) instead of
//! reading the entries back and parsing them, with the same result as
//! parsing; and the hints it holds stay within their budget.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use provlog_core::claim::{
    C2paBinding, HardBinding, HardBindingKind, HashAlg, SoftBinding, SoftBindingKind,
};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::signed_claim::SignedClaim;
use provlog_media::{PHASH_ALG, phash_value};
use provlog_server::binding_index::{BindingHints, BindingIndex, EntryBindings, MAX_HINT_BYTES};
use provlog_server::memory::MemoryStorage;
use provlog_server::sequencer::Claim;

fn hard(i: u64) -> HardBinding {
    HardBinding {
        kind: HardBindingKind::Data,
        alg: HashAlg::Sha256,
        hash: sha256(format!("hard binding {i}").as_bytes()).to_vec(),
        exclusions: vec![],
    }
}

fn watermark(i: u64) -> Vec<u8> {
    format!("watermark {i}").into_bytes()
}

fn phash(i: u64) -> u64 {
    0x0123_4567_89ab_cdef ^ (i << 20)
}

/// Claim `i` with a hard binding, a watermark and a perceptual hash; with
/// its records derived as admission derives them if `hinted`.
fn bound_claim(i: u64, hinted: bool) -> Claim {
    let mut body = SignedClaim::from_bytes(&common::signed_claim(i))
        .unwrap()
        .claim()
        .clone();
    body.c2pa = Some(C2paBinding {
        manifest_label: format!("urn:uuid:00000000-0000-4000-8000-{i:012}"),
        claim_alg: HashAlg::Sha256,
        claim_hash: sha256(format!("c2pa claim {i}").as_bytes()).to_vec(),
        hard_binding: hard(i),
        validation: None,
    });
    body.soft_bindings = vec![
        SoftBinding {
            kind: SoftBindingKind::Watermark,
            alg: "com.example.watermark.v1".into(),
            value: watermark(i),
        },
        SoftBinding {
            kind: SoftBindingKind::Perceptual,
            alg: PHASH_ALG.into(),
            value: phash_value(phash(i)).to_vec(),
        },
    ];
    let v = common::vendor();
    let signed = SignedClaim::sign(&body, v.signing_key(), &v.verifier_key().to_vkey()).unwrap();
    let entry = signed.to_bytes().to_vec();
    Claim {
        leaf: leaf_hash(&entry),
        asset: body.asset.sha256,
        bindings: hinted.then(|| EntryBindings::of_claim(signed.claim())),
        entry,
        index_keys: None,
    }
}

fn open_index(dir: &tempfile::TempDir) -> BindingIndex {
    let idx = BindingIndex::open(dir.path()).unwrap();
    idx.load_near().unwrap();
    idx
}

#[test]
fn hinted_records_index_exactly_what_parsing_does() {
    let store = Arc::new(MemoryStorage::new());
    let mut seq = common::open(&store, 1_000).unwrap();
    let hints = Arc::new(BindingHints::new());
    seq.set_binding_hints(hints.clone());
    // Two batches across a bundle boundary (256); every fifth claim
    // without records (as from a version-1 forward), one duplicate.
    let first: Vec<Claim> = (0..200).map(|i| bound_claim(i, i % 5 != 0)).collect();
    let mut second: Vec<Claim> = (200..300).map(|i| bound_claim(i, i % 5 != 0)).collect();
    second.push(bound_claim(7, true));
    for r in seq.commit(first, 2_000) {
        r.unwrap();
    }
    let answers = seq.commit(second, 3_000);
    let dup = answers.last().unwrap().as_ref().unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.receipt.index, 7);
    assert_eq!(hints.runs(), 2, "one run per durable batch");

    let (dh, dp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let hinted = open_index(&dh).with_hints(hints.clone());
    let parsed = open_index(&dp);
    assert_eq!(hinted.catch_up(&*store, 300).unwrap(), 300);
    assert_eq!(parsed.catch_up(&*store, 300).unwrap(), 300);
    assert_eq!(hints.runs(), 0, "everything indexed was taken");
    for i in 0..300u64 {
        let h = hinted.lookup_hard(&hard(i), 10).unwrap();
        assert_eq!(h, vec![i], "entry {i} by hard binding");
        assert_eq!(h, parsed.lookup_hard(&hard(i), 10).unwrap());
        let s = hinted
            .lookup_soft("com.example.watermark.v1", &watermark(i), 10)
            .unwrap();
        assert_eq!(s, vec![i], "entry {i} by watermark");
        assert_eq!(
            s,
            parsed
                .lookup_soft("com.example.watermark.v1", &watermark(i), 10)
                .unwrap()
        );
        let n = hinted.near(phash(i), 0, 10).unwrap();
        assert_eq!(
            n.iter().map(|m| m.entry).collect::<Vec<_>>(),
            vec![i],
            "entry {i} by perceptual hash"
        );
        assert_eq!(n, parsed.near(phash(i), 0, 10).unwrap());
    }
}

#[test]
fn a_hint_is_taken_instead_of_the_parse() {
    let store = Arc::new(MemoryStorage::new());
    let mut seq = common::open(&store, 1_000).unwrap();
    for r in seq.commit(vec![bound_claim(0, false)], 2_000) {
        r.unwrap();
    }
    // A record that is not the entry's: only taking the hint indexes it.
    let hints = Arc::new(BindingHints::new());
    let other = hard(99);
    hints.push(
        0,
        vec![Some(EntryBindings {
            hard: Some(provlog_core::asset_match::hard_binding_key(&other)),
            soft: vec![],
            phash: vec![],
        })],
    );
    let d = tempfile::tempdir().unwrap();
    let idx = open_index(&d).with_hints(hints);
    idx.catch_up(&*store, 1).unwrap();
    assert_eq!(idx.lookup_hard(&other, 10).unwrap(), vec![0]);
    assert_eq!(idx.lookup_hard(&hard(0), 10).unwrap(), Vec::<u64>::new());
}

#[test]
fn hints_are_taken_by_range_and_bounded() {
    let rec = |n: u8| EntryBindings {
        hard: Some([n; 32]),
        soft: vec![],
        phash: vec![],
    };
    let hints = BindingHints::new();
    hints.push(10, (0..5).map(|n| Some(rec(n))).collect());
    // A run that does not start past the last one is dropped.
    hints.push(12, vec![Some(rec(9))]);
    // A run with no record is not kept.
    hints.push(15, vec![None, None]);
    assert_eq!(hints.runs(), 1);
    assert_eq!(
        hints.take(8, 12),
        vec![None, None, Some(rec(0)), Some(rec(1))]
    );
    assert_eq!(hints.runs(), 1, "the run reaches past 12");
    assert_eq!(
        hints.take(12, 16),
        vec![Some(rec(2)), Some(rec(3)), Some(rec(4)), None]
    );
    assert_eq!(hints.runs(), 0);

    // Far over the budget: the oldest runs go, the newest stay.
    let full = EntryBindings {
        hard: Some([1; 32]),
        soft: vec![[2; 32]; 16],
        phash: vec![3; 16],
    };
    let run = 1000u64;
    let runs = (2 * MAX_HINT_BYTES as u64) / (run * 600) + 1;
    for r in 0..runs {
        hints.push(r * run, (0..run).map(|_| Some(full.clone())).collect());
    }
    assert!(hints.runs() < runs as usize);
    assert!(hints.take(0, run).iter().all(Option::is_none), "dropped");
    let last = (runs - 1) * run;
    assert!(
        hints.take(last, last + run).iter().all(Option::is_some),
        "kept"
    );
}
