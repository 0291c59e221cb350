//! Verifiable-index benchmarks (figures in BENCHMARKS.md):
//! `cargo bench -p provlog-core --bench index`.
//!
//! - `index/commit_batch_4096`: one batch of 4,096 load-generator-shaped
//!   entries (asset + vendor + seq bucket; keys pre-derived) into an index
//!   of ~10^6 keys: the sequencer's per-batch cost and a monitor's
//!   recomputation cost (per entry: time / 4096).
//! - `index/keys_from_entry`: the map function on a signed claim's bytes
//!   (parse + derive + hash its keys), and on a parsed claim.
//! - `index/prove` and `index/verify_path` at ~10^6 keys; `index/verify_lookup`:
//!   a whole bundle (checkpoint signature included).
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
use provlog_core::claim::{Asset, Claim, DigitalSourceType, Disclosure, Generator};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::index::entry::IndexCommit;
use provlog_core::index::key::{IndexKey, KeyHash, claim_keys, entry_key_hashes};
use provlog_core::index::proof::{LookupProof, verify_lookup};
use provlog_core::index::store::MemoryStore;
use provlog_core::index::tree::{Batch, Index, path_root};
use provlog_core::note::{NoteSigner, SIG_ED25519};
use provlog_core::policy::Policy;
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tree::CompactRange;

const PREFILL: u64 = 1 << 20;
const BATCH: u64 = 4096;

fn vendor(v: u64) -> String {
    format!("vendor{v}.example+0000000{v}+AQ{}", "A".repeat(42))
}

fn keys_of(i: u64) -> Vec<KeyHash> {
    let v = vendor(i % 100);
    vec![
        IndexKey::Asset(sha256(&i.to_be_bytes())).hash(),
        IndexKey::Vendor(v.clone()).hash(),
        IndexKey::vendor_seq(&v, i / 100).hash(),
    ]
}

fn prefilled() -> Index<MemoryStore> {
    let mut idx = Index::new(MemoryStore::with_lists());
    let mut next = 0;
    while next < PREFILL {
        let mut b = Batch::new();
        for i in next..next + BATCH {
            b.add(i, &keys_of(i));
        }
        next += BATCH;
        idx.commit_batch(b, next).unwrap();
    }
    idx
}

fn index(c: &mut Criterion) {
    let mut idx = prefilled();
    let mut g = c.benchmark_group("index");
    g.sample_size(20);
    // Pre-derived key batches so the measurement is the tree alone.
    g.bench_function("commit_batch_4096", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let from = idx.size();
                let mut batch = Batch::new();
                for i in from..from + BATCH {
                    batch.add(i, &keys_of(i));
                }
                let t = Instant::now();
                idx.commit_batch(batch, from + BATCH).unwrap();
                total += t.elapsed();
            }
            total
        })
    });

    let vendor_key = NoteSigner::from_seed("vendor.example", SIG_ED25519, [2; 32]).unwrap();
    let claim = Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(b"asset"),
            media_type: "image/png".into(),
            size: 100,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "V".into(),
            tool: "T".into(),
            version: "1".into(),
        },
        created: 1_700_000_000,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure::default(),
        consent: None,
        sequence: Some(7),
    };
    let signed = SignedClaim::sign(
        &claim,
        vendor_key.signing_key(),
        &vendor_key.verifier_key().to_vkey(),
    )
    .unwrap();
    let bytes = signed.to_bytes().to_vec();
    g.bench_function("keys_from_entry_bytes", |b| {
        b.iter(|| entry_key_hashes(&bytes))
    });
    g.bench_function("keys_from_parsed_claim", |b| {
        b.iter(|| {
            claim_keys(&signed)
                .iter()
                .map(IndexKey::hash)
                .collect::<Vec<_>>()
        })
    });

    let key = IndexKey::Asset(sha256(&12345u64.to_be_bytes()));
    let kh = key.hash();
    g.bench_function("prove", |b| b.iter(|| idx.prove(&kh).unwrap()));
    let p = idx.prove(&kh).unwrap();
    let term = p.terminal.to_path_terminal();
    g.bench_function("verify_path", |b| {
        b.iter(|| path_root(&kh, &p.siblings, &term).unwrap())
    });

    // A whole bundle: the commit is the last entry of a log of
    // idx.size() + 1 entries whose first entries are stood in for by
    // random peaks (the commit's inclusion proof is those peaks, reversed).
    let log = NoteSigner::from_seed("log.example", SIG_ED25519, [1; 32]).unwrap();
    let n = idx.size();
    let commit = IndexCommit {
        size: n,
        root: idx.root(),
        keys: idx.key_count(),
    }
    .to_bytes();
    let peaks: Vec<[u8; 32]> = (0..n.count_ones()).map(|i| sha256(&[i as u8])).collect();
    let mut range = CompactRange::from_parts(n, peaks.clone()).unwrap();
    range.append(leaf_hash(&commit), |_, _| {}).unwrap();
    let proof: Vec<[u8; 32]> = peaks.iter().rev().copied().collect();
    let cp = sign_checkpoint(&Checkpoint::new("log.example", n + 1, range.root()), &log).unwrap();
    let bundle = LookupProof::build(&idx, &key, 0, commit, proof, cp).unwrap();
    let bundle_bytes = bundle.to_cbor();
    let policy = Policy::single_log(log.verifier_key());
    verify_lookup(&bundle_bytes, &policy, None).unwrap();
    g.bench_function("verify_lookup", |b| {
        b.iter(|| verify_lookup(&bundle_bytes, &policy, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, index);
criterion_main!(benches);
