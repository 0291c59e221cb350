//! Receipt verification benchmarks: a receipt from the spec vectors, with and
//! without a witness cosignature in the policy.
#![allow(missing_docs)]

#[path = "../examples/gen_vectors.rs"]
#[allow(dead_code)]
mod gen_vectors;

use criterion::{Criterion, criterion_group, criterion_main};
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_core::receipt::Receipt;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let files = gen_vectors::generate();
    let receipt_bytes = files["receipt-5.provlog"].clone();
    let with_witness =
        Policy::parse(std::str::from_utf8(&files["policy.txt"]).expect("utf8")).expect("policy");
    let log_key = VerifierKey::parse(
        std::str::from_utf8(&files["keys/log.vkey"])
            .expect("utf8")
            .trim(),
    )
    .expect("vkey");
    let log_only = Policy::single_log(log_key);
    let receipt = Receipt::from_cbor(&receipt_bytes).expect("receipt");
    receipt.verify(&with_witness).expect("verifies");

    c.bench_function("receipt decode (CBOR)", |b| {
        b.iter(|| Receipt::from_cbor(black_box(&receipt_bytes)).expect("decode"))
    });
    c.bench_function("receipt verify, log key only", |b| {
        b.iter(|| black_box(&receipt).verify(&log_only).expect("verify"))
    });
    c.bench_function("receipt verify, log + 1 witness quorum", |b| {
        b.iter(|| black_box(&receipt).verify(&with_witness).expect("verify"))
    });
    c.bench_function("receipt decode + verify, log key only", |b| {
        b.iter(|| {
            Receipt::from_cbor(black_box(&receipt_bytes))
                .expect("decode")
                .verify(&log_only)
                .expect("verify")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
