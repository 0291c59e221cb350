//! Criterion benchmarks for claims: encoding, strict decoding, signed-claim
//! parsing with signature verification, and Ed25519 batch verification.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey, verify_batch};
use provlog_core::claim::*;
use provlog_core::hash::sha256;
use provlog_core::note::{SIG_ED25519, VerifierKey};
use provlog_core::signed_claim::SignedClaim;

/// A typical AI-output claim: C2PA binding, one watermark, disclosures.
fn claim(seq: u64) -> Claim {
    Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(&seq.to_be_bytes()),
            media_type: "image/png".to_string(),
            size: 1_234_567,
        },
        c2pa: Some(C2paBinding {
            manifest_label: "urn:c2pa:3fa85f64-5717-4562-b3fc-2c963f66afa6".to_string(),
            claim_alg: HashAlg::Sha256,
            claim_hash: sha256(b"c2pa claim").to_vec(),
            hard_binding: HardBinding {
                kind: HardBindingKind::Data,
                alg: HashAlg::Sha256,
                hash: sha256(b"hard binding").to_vec(),
                exclusions: vec![ExclusionRange {
                    start: 33,
                    length: 40_000,
                }],
            },
            validation: None,
        }),
        soft_bindings: vec![SoftBinding {
            kind: SoftBindingKind::Watermark,
            alg: "com.example.watermark.v1".to_string(),
            value: vec![0xab; 16],
        }],
        generator: Generator {
            vendor: "Example AI".to_string(),
            tool: "ImageGen".to_string(),
            version: "2.1.0".to_string(),
        },
        created: 1_750_000_000,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa, IndirectDisclosure::Watermark],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(seq),
    }
}

/// The C2SP vkey of a key (the signed claim's `kid`).
fn vkey(name: &str, k: &SigningKey) -> String {
    VerifierKey::new(name, SIG_ED25519, k.verifying_key())
        .unwrap()
        .to_vkey()
}

fn benches(c: &mut Criterion) {
    let k = SigningKey::from_bytes(&[7; 32]);
    let kid = vkey("vendor.example/imagegen", &k);
    let cl = claim(42);
    let cbor = cl.to_cbor();
    let signed = SignedClaim::sign(&cl, &k, &kid).unwrap();
    let entry = signed.to_bytes().to_vec();

    let mut g = c.benchmark_group("claim");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| b.iter(|| black_box(&cl).to_cbor()));
    g.bench_function("decode", |b| {
        b.iter(|| Claim::from_cbor(black_box(&cbor)).unwrap())
    });
    g.bench_function("signed_decode_verify_strict", |b| {
        b.iter(|| {
            let s = SignedClaim::from_bytes(black_box(&entry)).unwrap();
            s.verify_signature().unwrap();
            s
        })
    });
    g.bench_function("signed_decode_only", |b| {
        b.iter(|| SignedClaim::from_bytes(black_box(&entry)).unwrap())
    });
    g.finish();

    // 256 entries (one entry bundle) from 8 vendors.
    let keys: Vec<SigningKey> = (0..8u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
    let entries: Vec<SignedClaim> = (0..256u64)
        .map(|i| {
            let k = &keys[(i % 8) as usize];
            SignedClaim::sign(&claim(i), k, &vkey(&format!("vendor{}", i % 8), k)).unwrap()
        })
        .collect();
    let msgs: Vec<Vec<u8>> = entries.iter().map(|e| e.signed_message()).collect();
    let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let sigs: Vec<Signature> = entries.iter().map(|e| e.signature()).collect();
    let pks: Vec<VerifyingKey> = entries.iter().map(|e| e.public_key()).collect();

    let mut g = c.benchmark_group("claims256");
    g.throughput(Throughput::Elements(256));
    g.bench_function("verify_batch", |b| {
        b.iter(|| verify_batch(black_box(&msg_refs), &sigs, &pks).unwrap())
    });
    g.bench_function("verify_strict_each", |b| {
        b.iter(|| {
            for e in black_box(&entries) {
                e.verify_signature().unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(claims, benches);
criterion_main!(claims);
