//! Criterion benchmarks for the claim-signature rule (ZIP-215 Ed25519,
//! `core/src/ed25519_zip215.rs`): single versus batch verification, per
//! signature, with one vendor key and with distinct keys, beside dalek's
//! `verify_strict` (the previous rule) as the reference; and claim parsing
//! with and without the vendor-key cache.
//!
//! Run: `cargo bench -p provlog-core --bench zip215` (bench/run.sh does).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use provlog_core::ed25519_zip215::{Item, verify_batch, verify_item};

/// `n` signatures on 700-byte messages (about a claim's `Sig_structure`),
/// by `keys` distinct keys.
/// A public key and a signature.
type KeySig = ([u8; 32], [u8; 64]);

fn signed(n: usize, keys: usize) -> (Vec<Vec<u8>>, Vec<KeySig>) {
    let sks: Vec<SigningKey> = (0..keys)
        .map(|i| SigningKey::from_bytes(&[(i % 251) as u8 + 1; 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut m = vec![0x5a; 700];
            m[..8].copy_from_slice(&(i as u64).to_be_bytes());
            m
        })
        .collect();
    let ks = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let k = &sks[i % keys];
            (k.verifying_key().to_bytes(), k.sign(m).to_bytes())
        })
        .collect();
    (msgs, ks)
}

fn items<'a>(msgs: &'a [Vec<u8>], ks: &[KeySig]) -> Vec<Item<'a>> {
    msgs.iter()
        .zip(ks)
        .map(|(m, (key, sig))| Item {
            key: *key,
            msg: m,
            sig: *sig,
        })
        .collect()
}

fn bench_single(c: &mut Criterion) {
    let (msgs, ks) = signed(1, 1);
    let its = items(&msgs, &ks);
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(&ks[0].0).unwrap();
    let dsig = ed25519_dalek::Signature::from_bytes(&ks[0].1);
    let mut g = c.benchmark_group("ed25519_single");
    g.throughput(Throughput::Elements(1));
    g.bench_function("zip215_verify_one", |b| {
        b.iter(|| assert!(verify_item(black_box(&its[0]))))
    });
    g.bench_function("dalek_verify_strict_reference", |b| {
        b.iter(|| {
            dalek
                .verify_strict(black_box(&msgs[0]), black_box(&dsig))
                .unwrap()
        })
    });
    g.finish();
}

fn bench_batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("ed25519_zip215_batch");
    for &(n, keys) in &[(64usize, 1usize), (64, 64), (256, 1), (256, 256), (1024, 1)] {
        let (msgs, ks) = signed(n, keys);
        let its = items(&msgs, &ks);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new(format!("verify_batch_keys{keys}"), n),
            &its,
            |b, its| b.iter(|| verify_batch(black_box(its)).unwrap()),
        );
    }
    // A batch with one bad signature: the batch plus n single checks.
    let (msgs, mut ks) = signed(256, 256);
    ks[100].1[40] ^= 1;
    let its = items(&msgs, &ks);
    g.throughput(Throughput::Elements(256));
    g.bench_function("verify_batch_one_bad_fallback/256", |b| {
        b.iter(|| assert!(verify_batch(black_box(&its)).is_err()))
    });
    g.finish();
}

criterion_group!(benches, bench_single, bench_batch);
criterion_main!(benches);
