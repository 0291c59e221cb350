//! Property tests of the verifiable index: for random logs and keys every
//! lookup proof verifies and tells the truth; every tampering fails (or, at
//! worst, still tells the truth); a lying index is caught by recomputation
//! and becomes evidence that verifies with the log key alone.
#![allow(clippy::unwrap_used)]

mod index_common;

use index_common::{ClaimSpec, TestLog};
use proptest::prelude::*;
use provlog_core::hash::sha256;
use provlog_core::index::acceptance::{KeyStatus, key_status_at};
use provlog_core::index::entry::{IndexCommit, KeyOp};
use provlog_core::index::evidence::{IndexEvidence, IndexEvidenceKind, verify_index_evidence};
use provlog_core::index::key::{IndexKey, SEQ_BUCKET_BITS, entry_keys};
use provlog_core::index::proof::{
    LookupError, LookupOutcome, LookupProof, LookupResult, verify_lookup,
};
use provlog_core::index::recompute::{CommitCheck, Recomputer};
use provlog_core::policy::Policy;
use provlog_core::signed_claim::SignedClaim;

#[derive(Clone, Debug)]
enum Op {
    Claim(ClaimSpec),
    Commit,
}

fn claim_spec() -> impl Strategy<Value = ClaimSpec> {
    (
        0u8..10,
        proptest::option::of(0u8..4),
        proptest::collection::vec(0u8..4, 0..3),
        0u8..2,
        proptest::option::of(0u64..700),
    )
        .prop_map(|(asset, hard, soft, vendor, seq)| ClaimSpec {
            asset,
            hard,
            soft,
            vendor,
            seq,
        })
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![4 => claim_spec().prop_map(Op::Claim), 1 => Just(Op::Commit)],
        1..40,
    )
}

fn build(ops: &[Op], log: &mut TestLog) {
    for op in ops {
        match op {
            Op::Claim(s) => {
                log.add_claim(s);
            }
            Op::Commit => {
                log.commit();
            }
        }
    }
    log.commit();
}

/// Every key the pools can produce, plus some that never occur.
fn query_keys(log: &TestLog) -> Vec<IndexKey> {
    let mut keys = Vec::new();
    for a in 0..12u8 {
        keys.push(IndexKey::Asset(sha256(format!("asset {a}").as_bytes())));
    }
    for h in 0..5u8 {
        keys.push(IndexKey::HardBinding {
            alg: provlog_core::claim::HashAlg::Sha256,
            hash: sha256(&[h]).to_vec(),
        });
        keys.push(IndexKey::SoftBinding {
            alg: "com.example.wm".into(),
            value: vec![h, 1, 2],
        });
    }
    for v in 0..2u8 {
        keys.push(IndexKey::Vendor(log.vendor_vkey(v)));
        for b in 0..4 {
            keys.push(IndexKey::VendorSeq {
                vendor: log.vendor_vkey(v),
                bucket: b,
            });
        }
        keys.push(IndexKey::VendorKeyStatus(log.vendor_vkey(v)));
    }
    keys
}

fn policy(log: &TestLog) -> Policy {
    Policy::single_log(log.log.verifier_key())
}

/// A verified outcome agrees with what the entries say.
fn assert_truthful(log: &TestLog, bytes: &[u8]) -> Result<(), LookupError> {
    let v = verify_lookup(bytes, &policy(log), None)?;
    let truth = log.truth(&v.key, v.commit.size);
    match &v.outcome {
        LookupOutcome::Absent => assert!(truth.is_empty(), "a lie: absent, but {truth:?}"),
        LookupOutcome::Found {
            count,
            from,
            indexes,
            ..
        } => {
            assert_eq!(*count, truth.len() as u64, "a lie about the count");
            assert_eq!(
                indexes.as_slice(),
                &truth[*from as usize..],
                "a lie about the list"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_lookup_verifies_and_tells_the_truth(ops in ops()) {
        let mut log = TestLog::new();
        build(&ops, &mut log);
        let size = log.size();
        for key in query_keys(&log) {
            let truth = log.truth(&key, size - 1);
            for with_entries in [false, true] {
                let p = log.lookup(&key, 0, with_entries);
                let bytes = p.to_cbor();
                prop_assert_eq!(&LookupProof::from_cbor(&bytes).unwrap(), &p);
                let v = verify_lookup(&bytes, &policy(&log), Some(&key)).unwrap();
                prop_assert_eq!(v.covered_size(), size);
                match &v.outcome {
                    LookupOutcome::Absent => {
                        prop_assert!(truth.is_empty());
                        prop_assert!(v.summary().starts_with("VERIFIED ABSENT as of checkpoint"));
                    }
                    LookupOutcome::Found { count, indexes, entries_checked, .. } => {
                        prop_assert_eq!(indexes, &truth);
                        prop_assert_eq!(*count, truth.len() as u64);
                        prop_assert_eq!(*entries_checked, with_entries);
                        prop_assert_eq!(
                            v.summary(),
                            format!("VERIFIED: {} claims (complete as of checkpoint {size})", truth.len())
                        );
                    }
                }
            }
            // Tails: every start position verifies and carries the rest; a
            // start past the end is served as the last index (a tail is
            // never empty, spec/lookup.md §3.2).
            for from in 0..=truth.len() as u64 {
                let p = log.lookup(&key, from, true);
                if !truth.is_empty() {
                    let v = p.verify(&policy(&log), Some(&key)).unwrap();
                    let LookupOutcome::Found { from: f, indexes, .. } = v.outcome else { panic!("absent") };
                    let want = from.min(truth.len() as u64 - 1);
                    prop_assert_eq!(f, want);
                    prop_assert_eq!(indexes.as_slice(), &truth[want as usize..]);
                }
            }
        }
    }

    #[test]
    fn every_tampering_fails(ops in ops(), pick in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>()) {
        let mut log = TestLog::new();
        build(&ops, &mut log);
        let keys = query_keys(&log);
        let key = pick.get(&keys).clone();
        let good = log.lookup(&key, 0, true);
        let pol = policy(&log);
        let fails = |p: &LookupProof| p.verify(&pol, Some(&key)).is_err();
        prop_assert!(!fails(&good));

        // A proof for another key is refused for the key asked about.
        let other = keys.iter().find(|k| **k != key).unwrap();
        let wrong = matches!(good.verify(&pol, Some(other)), Err(LookupError::WrongKey { .. }));
        prop_assert!(wrong);
        // Relabelled as another key it either fails or tells that key's truth.
        let mut relabel = good.clone();
        relabel.key = other.material();
        relabel.entries.clear();
        let _ = assert_truthful(&log, &relabel.to_cbor());

        if let LookupResult::Found(f) = &good.result {
            // Dropped entry.
            let mut t = good.clone();
            let LookupResult::Found(tf) = &mut t.result else { unreachable!() };
            tf.indexes.remove(flip.index(f.indexes.len()));
            t.entries.clear();
            prop_assert!(fails(&t));
            // Wrong list: an extra index, and a changed one.
            let mut t = good.clone();
            let LookupResult::Found(tf) = &mut t.result else { unreachable!() };
            let last = *tf.indexes.last().unwrap();
            tf.indexes.push(last + 1);
            t.entries.clear();
            prop_assert!(fails(&t));
            let mut t = good.clone();
            let LookupResult::Found(tf) = &mut t.result else { unreachable!() };
            let i = flip.index(tf.indexes.len());
            tf.indexes[i] ^= 1;
            t.entries.clear();
            prop_assert!(fails(&t));
            // Claiming absence for a present key.
            let mut t = good.clone();
            t.result = LookupResult::Empty;
            t.entries.clear();
            prop_assert!(fails(&t));
            // An entry swapped for another one.
            let mut t = good.clone();
            let j = flip.index(t.entries.len());
            let k = (t.entries[j].index + 1) % (log.size() - 1);
            t.entries[j].entry = log.entries[k as usize].clone();
            if !entry_keys(&t.entries[j].entry).contains(&key) || k != t.entries[j].index {
                prop_assert!(fails(&t));
            }
        }
        // Wrong root, wrong size (the commit no longer matches its inclusion proof).
        let c = IndexCommit::from_bytes(&good.commit).unwrap();
        for bad in [
            IndexCommit { root: sha256(b"x"), ..c.clone() },
            IndexCommit { size: c.size.saturating_sub(1), ..c.clone() },
            IndexCommit { keys: c.keys + 1, ..c.clone() },
        ] {
            let mut t = good.clone();
            t.commit = bad.to_bytes();
            prop_assert!(fails(&t));
        }
        // Truncated and extended paths.
        let mut t = good.clone();
        t.path.push(Some(sha256(b"extra")));
        prop_assert!(fails(&t));
        let mut t = good.clone();
        t.path.insert(0, Some(sha256(b"extra")));
        prop_assert!(fails(&t));
        if !good.path.is_empty() {
            let mut t = good.clone();
            t.path.pop();
            prop_assert!(fails(&t));
            let mut t = good.clone();
            t.path.remove(0);
            prop_assert!(fails(&t));
            let mut t = good.clone();
            let i = flip.index(t.path.len());
            t.path[i] = match t.path[i] { Some(_) => None, None => Some(sha256(b"y")) };
            prop_assert!(fails(&t));
        }
        // A checkpoint of another size (an older one) or another log key.
        let mut t = good.clone();
        t.checkpoint = log.checkpoint_at(log.size() - 1);
        prop_assert!(fails(&t));
        let other_log = Policy::single_log(index_common::signer(index_common::ORIGIN, 9).verifier_key());
        prop_assert!(good.verify(&other_log, Some(&key)).is_err());
        // Truncated and extended bytes.
        let bytes = good.to_cbor();
        prop_assert!(LookupProof::from_cbor(&bytes[..bytes.len() - 1]).is_err());
        let mut ext = bytes.clone();
        ext.push(0);
        prop_assert!(LookupProof::from_cbor(&ext).is_err());
        // Any one flipped bit: refused, or (harmless bits) still the truth.
        let mut f = bytes.clone();
        let at = flip.index(f.len());
        f[at] ^= 1 << (at % 8);
        let _ = assert_truthful(&log, &f);
    }

    #[test]
    fn recomputation_checks_every_commit_and_a_hidden_claim_is_evidence(
        ops in ops(), pick in any::<prop::sample::Index>(), which in any::<prop::sample::Index>()
    ) {
        // Honest log: every commit checks out.
        let mut honest = TestLog::new();
        build(&ops, &mut honest);
        let mut r = Recomputer::default();
        for e in &honest.entries {
            if let Some(check) = r.push_entry(e).unwrap() {
                prop_assert!(check.is_ok(), "{check:?}");
            }
        }
        // A lying log hides one (claim, key) pair from its index.
        let claims: Vec<u64> = (0..honest.size())
            .filter(|&i| SignedClaim::from_bytes(&honest.entries[i as usize]).is_ok())
            .collect();
        prop_assume!(!claims.is_empty());
        let victim = *pick.get(&claims);
        let vkeys = entry_keys(&honest.entries[victim as usize]);
        let hidden_key = which.get(&vkeys).clone();
        let mut liar = TestLog::new();
        liar.hide = Some((victim, hidden_key.clone()));
        build(&ops, &mut liar);
        prop_assert_eq!(&liar.entries[..victim as usize], &honest.entries[..victim as usize]);

        let mut r = Recomputer::default();
        let mut mismatch = None;
        for e in &liar.entries {
            if let Some(check) = r.push_entry(e).unwrap()
                && let CommitCheck::Mismatch { at, .. } = check
            {
                mismatch.get_or_insert(at);
            }
        }
        let first_bad = mismatch.expect("the lie is caught");
        prop_assert!(first_bad > victim);

        // The liar's lookup verifies (it matches its commit) but omits the victim.
        let lie = liar.lookup(&hidden_key, 0, false);
        let v = lie.verify(&policy(&liar), Some(&hidden_key)).unwrap();
        if let LookupOutcome::Found { indexes, .. } = &v.outcome {
            prop_assert!(!indexes.contains(&victim));
        }
        let size = liar.size();
        let ev = IndexEvidence::from_lookup(
            IndexEvidenceKind::IndexOmission,
            &liar.log.verifier_key(),
            &lie,
            victim,
            &liar.entries[victim as usize],
            &liar.inclusion(victim, size),
        );
        let json = ev.to_json();
        let ok = verify_index_evidence(&json, &liar.log.verifier_key()).unwrap();
        prop_assert_eq!(ok.index, victim);
        prop_assert!(provlog_core::evidence::verify_any_evidence(&json, &liar.log.verifier_key()).is_ok());
        // Not against another key, not as false-entry, and not for the honest log.
        prop_assert!(verify_index_evidence(&json, &index_common::signer("x.example", 9).verifier_key()).is_err());
        let mut wrong_kind = ev.clone();
        wrong_kind.kind = IndexEvidenceKind::IndexFalseEntry;
        prop_assert!(wrong_kind.verify(&liar.log.verifier_key()).is_err());
        let truthful = honest.lookup(&hidden_key, 0, false);
        let not_ev = IndexEvidence::from_lookup(
            IndexEvidenceKind::IndexOmission,
            &honest.log.verifier_key(),
            &truthful,
            victim,
            &honest.entries[victim as usize],
            &honest.inclusion(victim, honest.size()),
        );
        prop_assert!(not_ev.verify(&honest.log.verifier_key()).is_err());
    }
}

#[test]
fn false_entry_and_misplaced_commit_are_evidence() {
    let mut log = TestLog::new();
    let spec = |asset| ClaimSpec {
        asset,
        hard: None,
        soft: vec![],
        vendor: 0,
        seq: None,
    };
    log.add_claim(&spec(1));
    log.add_claim(&spec(2));
    // The log lists entry 1 (asset 2) under asset 1 as well.
    let key = IndexKey::Asset(sha256(b"asset 1"));
    log.pending.add(1, &[key.hash()]);
    log.commit();
    let lie = log.lookup(&key, 0, false);
    assert_eq!(lie.indexes(), &[0, 1]);
    // With entries attached the verifier itself catches it.
    let with = log.lookup(&key, 0, true);
    assert!(matches!(
        with.verify(&policy(&log), Some(&key)),
        Err(LookupError::EntryLacksKey { index: 1 })
    ));
    let size = log.size();
    let ev = IndexEvidence::from_lookup(
        IndexEvidenceKind::IndexFalseEntry,
        &log.log.verifier_key(),
        &lie,
        1,
        &log.entries[1],
        &log.inclusion(1, size),
    );
    verify_index_evidence(&ev.to_json(), &log.log.verifier_key()).unwrap();
    // Entry 0 does carry the key: not evidence.
    let not = IndexEvidence::from_lookup(
        IndexEvidenceKind::IndexFalseEntry,
        &log.log.verifier_key(),
        &lie,
        0,
        &log.entries[0],
        &log.inclusion(0, size),
    );
    assert!(not.verify(&log.log.verifier_key()).is_err());

    // A commit whose size is not its index.
    let mut log = TestLog::new();
    log.add_claim(&spec(1));
    let bad = IndexCommit {
        size: 0,
        root: [0; 32],
        keys: 0,
    }
    .to_bytes();
    log.tree.push_entry(&bad);
    log.entries.push(bad.clone());
    let cp = log.checkpoint_at(2);
    let ev =
        IndexEvidence::commit_size(&log.log.verifier_key(), &cp, 1, &bad, &log.inclusion(1, 2));
    verify_index_evidence(&ev.to_json(), &log.log.verifier_key()).unwrap();
    let mut r = Recomputer::default();
    assert!(r.push_entry(&log.entries[0]).unwrap().is_none());
    assert!(matches!(
        r.push_entry(&bad).unwrap(),
        Some(CommitCheck::SizeNotIndex { at: 1, .. })
    ));
}

#[test]
fn vendor_sequence_ranges_and_key_acceptance() {
    let mut log = TestLog::new();
    let vk = log.vendor_vkey(0);
    let added = log.add_key_event(KeyOp::Add, 0, None);
    let mut seqs = Vec::new();
    for s in (0u64..900).step_by(7) {
        let i = log.add_claim(&ClaimSpec {
            asset: (s % 200) as u8,
            hard: None,
            soft: vec![],
            vendor: 0,
            seq: Some(s),
        });
        seqs.push((s, i));
        if s % 100 == 0 {
            log.commit();
        }
    }
    let revoked = log.add_key_event(KeyOp::Rotate, 1, Some(0));
    let late = log.add_claim(&ClaimSpec {
        asset: 1,
        hard: None,
        soft: vec![],
        vendor: 0,
        seq: Some(5000),
    });
    log.commit();
    // "All my claims with seq in [a, b]": the buckets covering the range.
    let (a, b) = (250u64, 610u64);
    let mut got = Vec::new();
    for bucket in (a >> SEQ_BUCKET_BITS)..=(b >> SEQ_BUCKET_BITS) {
        let key = IndexKey::VendorSeq {
            vendor: vk.clone(),
            bucket,
        };
        let v = log
            .lookup(&key, 0, true)
            .verify(&policy(&log), Some(&key))
            .unwrap();
        for (i, e) in &v.entries {
            let c = SignedClaim::from_bytes(e).unwrap();
            let s = c.claim().sequence.unwrap();
            if (a..=b).contains(&s) {
                got.push((s, *i));
            }
        }
    }
    let want: Vec<(u64, u64)> = seqs
        .iter()
        .copied()
        .filter(|(s, _)| (a..=b).contains(s))
        .collect();
    got.sort_unstable();
    assert_eq!(got, want);

    // Key status: accepted for the claims after the add, revoked for the late one.
    let key = IndexKey::VendorKeyStatus(vk.clone());
    let v = log
        .lookup(&key, 0, true)
        .verify(&policy(&log), Some(&key))
        .unwrap();
    let lk = log.log.verifier_key();
    assert_eq!(
        key_status_at(&v, &vk, added, &lk).unwrap(),
        KeyStatus::NeverAdded
    );
    assert_eq!(
        key_status_at(&v, &vk, seqs[0].1, &lk).unwrap(),
        KeyStatus::Accepted { since: added }
    );
    assert_eq!(
        key_status_at(&v, &vk, late, &lk).unwrap(),
        KeyStatus::Revoked { at: revoked }
    );
    let new = log.vendor_vkey(1);
    let nk = IndexKey::VendorKeyStatus(new.clone());
    let v2 = log
        .lookup(&nk, 0, true)
        .verify(&policy(&log), Some(&nk))
        .unwrap();
    assert_eq!(
        key_status_at(&v2, &new, late, &lk).unwrap(),
        KeyStatus::Accepted { since: revoked }
    );
    // A lookup without entries cannot decide.
    let bare = log
        .lookup(&key, 0, false)
        .verify(&policy(&log), Some(&key))
        .unwrap();
    assert!(key_status_at(&bare, &vk, late, &lk).is_err());
}
