//! Signed claims: the COSE_Sign1 envelope, its strict decoder and signatures.
#![allow(clippy::unwrap_used)]

mod claim_common;

use ciborium::value::{Integer, Value};
use claim_common::*;
use coset::{CborSerializable, TaggedCborSerializable};
use ed25519_dalek::{Signature, Signer, SigningKey};
use provlog_core::claim::{CborError, Claim, ClaimError};
use provlog_core::signed_claim::*;

const SPEC: &str = include_str!("../../spec/signed-claim.md");
const NAME: &str = "vendor.example/imagegen";
const NON_SHORTEST: &str = "integer or length not in shortest form";

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

/// A protected header map with the given entries, in the given order.
fn header(entries: Vec<(Value, Value)>) -> Vec<u8> {
    from_value(&Value::Map(entries))
}

/// The canonical protected header for `kid`, built independently of the crate.
fn std_header(kid: &str) -> Vec<u8> {
    header(vec![
        (int(1), int(-8)),
        (int(3), Value::Text(CONTENT_TYPE.into())),
        (int(4), Value::Bytes(kid.as_bytes().to_vec())),
    ])
}

/// RFC 9052 Sig_structure, built with ciborium.
fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    from_value(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(vec![]),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// A COSE_Sign1 from raw parts.
fn envelope(
    tag: Option<u64>,
    protected: &[u8],
    unprotected: Value,
    payload: Value,
    sig: Vec<u8>,
) -> Vec<u8> {
    let arr = Value::Array(vec![
        Value::Bytes(protected.to_vec()),
        unprotected,
        payload,
        Value::Bytes(sig),
    ]);
    from_value(&match tag {
        Some(t) => Value::Tag(t, Box::new(arr)),
        None => arr,
    })
}

/// A tagged COSE_Sign1 with a valid signature by `k` over `protected`/`payload`.
fn signed(k: &SigningKey, protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let sig = k
        .sign(&sig_structure(protected, payload))
        .to_bytes()
        .to_vec();
    envelope(
        Some(18),
        protected,
        Value::Map(vec![]),
        Value::Bytes(payload.to_vec()),
        sig,
    )
}

fn sample() -> (SigningKey, String, SignedClaim) {
    let k = key(7);
    let kid = vkey(NAME, &k);
    let s = SignedClaim::sign(&full_claim(), &k, &kid).unwrap();
    (k, kid, s)
}

fn reject(b: &[u8]) -> SignedClaimError {
    match SignedClaim::from_bytes(b) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

#[test]
fn sign_parse_verify_round_trip() {
    let (k, kid, s) = sample();
    s.verify_signature().unwrap();
    assert_eq!(s.claim(), &full_claim());
    assert_eq!(s.kid(), kid);
    assert_eq!(s.public_key(), k.verifying_key());
    assert_eq!(s.payload(), full_claim().to_cbor());
    let back = SignedClaim::from_bytes(s.to_bytes()).unwrap();
    assert_eq!(back, s);
    back.verify_signature().unwrap();
    // Minimal claim too.
    let m = SignedClaim::sign(&minimal_claim(), &k, &kid).unwrap();
    assert_eq!(
        SignedClaim::from_bytes(m.to_bytes()).unwrap().claim(),
        &minimal_claim()
    );
    // A key whose base64 contains '+' (key 8) parses and verifies too.
    let k8 = key(8);
    let s8 = SignedClaim::sign(&minimal_claim(), &k8, &vkey("k8", &k8)).unwrap();
    assert_eq!(s8.public_key(), k8.verifying_key());
    SignedClaim::from_bytes(s8.to_bytes())
        .unwrap()
        .verify_signature()
        .unwrap();
}

#[test]
fn spec_vector_signed_claim() {
    let expected = spec_hex(SPEC, "<!-- test-vector: signed-claim -->");
    let (_, kid, s) = sample();
    assert!(SPEC.contains(&kid), "spec kid differs from {kid}");
    assert_eq!(hex::encode(s.to_bytes()), hex::encode(&expected));
    let parsed = SignedClaim::from_bytes(&expected).unwrap();
    parsed.verify_signature().unwrap();
    // The payload is the claim spec's vector.
    let claim_spec = include_str!("../../spec/claim.md");
    assert_eq!(
        parsed.payload(),
        spec_hex(claim_spec, "<!-- test-vector: full-claim -->")
    );
}

#[test]
fn layout_matches_independent_encoding() {
    let (k, kid, s) = sample();
    // The exact bytes an independent ciborium-based builder produces.
    let expected = signed(&k, &std_header(&kid), &full_claim().to_cbor());
    assert_eq!(s.to_bytes(), expected);
    assert_eq!(&s.to_bytes()[..2], &[0xd2, 0x84]);
    // Sig_structure agrees with ciborium and with coset's tbs_data.
    assert_eq!(
        s.signed_message(),
        sig_structure(&std_header(&kid), s.payload())
    );
    let c = coset::CoseSign1::from_tagged_slice(s.to_bytes()).unwrap();
    assert_eq!(c.tbs_data(b""), s.signed_message());
    assert_eq!(c.protected.header.key_id, kid.as_bytes());
    assert_eq!(c.signature, s.signature().to_bytes());
    // And an independent verification with the raw key.
    k.verifying_key()
        .verify_strict(
            &c.tbs_data(b""),
            &Signature::from_slice(&c.signature).unwrap(),
        )
        .unwrap();
}

#[test]
fn sign_refuses_bad_inputs() {
    let k = key(7);
    let other = key(8);
    // key(8)'s base64 contains '+', which must not confuse the vkey parser.
    assert!(
        vkey(NAME, &other)
            .splitn(3, '+')
            .nth(2)
            .unwrap()
            .contains('+')
    );
    assert_eq!(
        SignedClaim::sign(&full_claim(), &k, &vkey(NAME, &other)),
        Err(SignedClaimError::KeyMismatch)
    );
    assert!(matches!(
        SignedClaim::sign(&full_claim(), &k, "not a vkey"),
        Err(SignedClaimError::InvalidKid(_))
    ));
    let mut bad = full_claim();
    bad.asset.media_type = "png".into();
    assert!(matches!(
        SignedClaim::sign(&bad, &k, &vkey(NAME, &k)),
        Err(SignedClaimError::Claim(ClaimError::InvalidMediaType(_)))
    ));
}

#[test]
fn wrong_key_fails_verification() {
    // Signed by key 8, kid names key 7: parses, but the signature fails.
    let kid = vkey(NAME, &key(7));
    let b = signed(&key(8), &std_header(&kid), &full_claim().to_cbor());
    let s = SignedClaim::from_bytes(&b).unwrap();
    assert_eq!(s.verify_signature(), Err(SignedClaimError::BadSignature));
}

#[test]
fn kid_must_be_a_consistent_vkey() {
    let k = key(7);
    let payload = full_claim().to_cbor();
    let good = vkey(NAME, &k);
    let (name, rest) = good.split_once('+').unwrap();
    let (id, b64) = rest.split_once('+').unwrap();
    let other_key_b64 = vkey(NAME, &key(8))
        .splitn(3, '+')
        .nth(2)
        .unwrap()
        .to_string();
    let cases = [
        // key ID does not match name and key
        format!("{name}+00000000+{b64}"),
        // another name with the original key ID
        format!("other.example+{id}+{b64}"),
        // another key with the original key ID
        format!("{name}+{id}+{other_key_b64}"),
        // uppercase hex ID
        format!("{name}+{}+{b64}", id.to_uppercase()),
        // missing part / extra part
        format!("{name}+{id}"),
        format!("{name}+{id}+{b64}+x"),
        // not base64, wrong key type, short key
        format!("{name}+{id}+!!!!"),
        format!("{name}+{id}+Ag{}", &b64[2..]),
        format!("{name}+{id}+AQID"),
        // whitespace in name
        format!("bad name+{id}+{b64}"),
    ];
    for kid in &cases {
        let b = signed(&k, &std_header(kid), &payload);
        let e = reject(&b);
        assert!(matches!(e, SignedClaimError::InvalidKid(_)), "{kid}: {e:?}");
    }
    // Non-UTF-8 kid.
    let h = header(vec![
        (int(1), int(-8)),
        (int(3), Value::Text(CONTENT_TYPE.into())),
        (int(4), Value::Bytes(vec![0xff, 0xfe])),
    ]);
    assert!(matches!(
        reject(&signed(&k, &h, &payload)),
        SignedClaimError::InvalidKid(_)
    ));
    // Too long (a consistent vkey with a huge name).
    let long = vkey(&"n".repeat(600), &k);
    assert!(matches!(
        reject(&signed(&k, &std_header(&long), &payload)),
        SignedClaimError::InvalidKid(_)
    ));
}

#[test]
fn weak_key_is_rejected() {
    // The identity point (small order) with a correctly computed key ID.
    let mut pk = [0u8; 32];
    pk[0] = 1;
    let kid = vkey_for(NAME, &pk);
    let b = signed(&key(7), &std_header(&kid), &full_claim().to_cbor());
    assert_eq!(reject(&b), SignedClaimError::WeakKey);
}

#[test]
fn header_must_be_exactly_eddsa_ct_kid() {
    let k = key(7);
    let kid = vkey(NAME, &k);
    let payload = full_claim().to_cbor();
    let ct = || (int(3), Value::Text(CONTENT_TYPE.into()));
    let kidv = || (int(4), Value::Bytes(kid.as_bytes().to_vec()));
    // ES256 instead of EdDSA.
    let e = reject(&signed(
        &k,
        &header(vec![(int(1), int(-7)), ct(), kidv()]),
        &payload,
    ));
    assert!(matches!(e, SignedClaimError::WrongAlgorithm(_)), "{e:?}");
    // No alg.
    let e = reject(&signed(&k, &header(vec![ct(), kidv()]), &payload));
    assert_eq!(e, SignedClaimError::MissingAlgorithm);
    // Text alg.
    let e = reject(&signed(
        &k,
        &header(vec![(int(1), Value::Text("EdDSA".into())), ct(), kidv()]),
        &payload,
    ));
    assert!(matches!(e, SignedClaimError::WrongAlgorithm(_)), "{e:?}");
    // Wrong / missing content type, CoAP content format instead of text.
    let e = reject(&signed(
        &k,
        &header(vec![
            (int(1), int(-8)),
            (int(3), Value::Text("application/cbor".into())),
            kidv(),
        ]),
        &payload,
    ));
    assert!(matches!(e, SignedClaimError::WrongContentType(_)), "{e:?}");
    let e = reject(&signed(
        &k,
        &header(vec![(int(1), int(-8)), kidv()]),
        &payload,
    ));
    assert_eq!(e, SignedClaimError::MissingContentType);
    let e = reject(&signed(
        &k,
        &header(vec![(int(1), int(-8)), (int(3), int(60)), kidv()]),
        &payload,
    ));
    assert!(matches!(e, SignedClaimError::WrongContentType(_)), "{e:?}");
    // No kid.
    let e = reject(&signed(
        &k,
        &header(vec![(int(1), int(-8)), ct()]),
        &payload,
    ));
    assert_eq!(e, SignedClaimError::MissingKid);
    // Extra parameters: crit, a private label, a text label.
    for extra in [
        (int(2), Value::Array(vec![int(4)])),
        (int(-65537), int(1)),
        (Value::Text("x".into()), int(1)),
        (int(5), Value::Bytes(vec![1; 16])),
    ] {
        let mut entries = vec![(int(1), int(-8)), ct(), kidv()];
        entries.push(extra.clone());
        let e = reject(&signed(&k, &header(entries), &payload));
        assert!(
            matches!(e, SignedClaimError::UnexpectedHeaderParameter(_)),
            "{extra:?}: {e:?}"
        );
    }
    // Duplicate label in the protected header.
    let e = reject(&signed(
        &k,
        &header(vec![(int(1), int(-8)), (int(1), int(-8)), ct(), kidv()]),
        &payload,
    ));
    assert!(matches!(e, SignedClaimError::ProtectedHeader(_)), "{e:?}");
    // Protected header that is not a map / is empty.
    let e = reject(&signed(&k, &from_value(&Value::Array(vec![])), &payload));
    assert!(matches!(e, SignedClaimError::ProtectedHeader(_)), "{e:?}");
    let e = reject(&signed(&k, &[], &payload));
    assert!(
        matches!(
            e,
            SignedClaimError::ProtectedHeaderCbor(CborError::Truncated)
        ),
        "{e:?}"
    );
}

#[test]
fn envelope_shape_is_enforced() {
    let (k, kid, s) = sample();
    let h = std_header(&kid);
    let payload = full_claim().to_cbor();
    let sig = s.signature().to_bytes().to_vec();
    // Untagged COSE_Sign1 (RFC 9052 allows it; provlog does not).
    let untagged = envelope(
        None,
        &h,
        Value::Map(vec![]),
        Value::Bytes(payload.clone()),
        sig.clone(),
    );
    assert_eq!(reject(&untagged), SignedClaimError::NotTagged);
    // COSE_Sign (98) tag.
    let b = envelope(
        Some(98),
        &h,
        Value::Map(vec![]),
        Value::Bytes(payload.clone()),
        sig.clone(),
    );
    assert_eq!(reject(&b), SignedClaimError::WrongTag(98));
    // Detached payload.
    let b = envelope(Some(18), &h, Value::Map(vec![]), Value::Null, sig.clone());
    assert_eq!(reject(&b), SignedClaimError::DetachedPayload);
    // Unprotected header with an entry (even a kid).
    let unprot = Value::Map(vec![(int(4), Value::Bytes(b"x".to_vec()))]);
    let b = envelope(
        Some(18),
        &h,
        unprot,
        Value::Bytes(payload.clone()),
        sig.clone(),
    );
    assert_eq!(reject(&b), SignedClaimError::UnprotectedNotEmpty(1));
    // Signature of the wrong length.
    let b = envelope(
        Some(18),
        &h,
        Value::Map(vec![]),
        Value::Bytes(payload.clone()),
        sig[..63].to_vec(),
    );
    assert_eq!(reject(&b), SignedClaimError::BadSignatureLength(63));
    // Wrong array sizes and types.
    let b = from_value(&Value::Tag(
        18,
        Box::new(Value::Array(vec![Value::Bytes(h.clone())])),
    ));
    assert!(matches!(reject(&b), SignedClaimError::Structure(_)));
    let b = from_value(&Value::Tag(18, Box::new(Value::Map(vec![]))));
    assert!(matches!(reject(&b), SignedClaimError::Structure(_)));
    let b = envelope(
        Some(18),
        &h,
        Value::Array(vec![]),
        Value::Bytes(payload.clone()),
        sig.clone(),
    );
    assert!(matches!(reject(&b), SignedClaimError::Structure(_)));
    let b = envelope(
        Some(18),
        &h,
        Value::Map(vec![]),
        Value::Text("x".into()),
        sig.clone(),
    );
    assert!(matches!(reject(&b), SignedClaimError::Structure(_)));
    // The payload must be a valid claim.
    let mut bad = full_claim();
    bad.generator.vendor.clear();
    let b = signed(&k, &h, &bad.to_cbor());
    assert!(matches!(
        reject(&b),
        SignedClaimError::Claim(ClaimError::EmptyText { .. })
    ));
    let b = signed(&k, &h, b"\xa0");
    assert!(matches!(
        reject(&b),
        SignedClaimError::Claim(ClaimError::MissingKey { .. })
    ));
}

#[test]
fn non_canonical_envelopes_are_rejected() {
    let (k, kid, s) = sample();
    let payload = full_claim().to_cbor();
    // Protected header keys in another order (still a valid COSE header, and
    // validly signed over those bytes).
    let h = header(vec![
        (int(4), Value::Bytes(kid.as_bytes().to_vec())),
        (int(3), Value::Text(CONTENT_TYPE.into())),
        (int(1), int(-8)),
    ]);
    let b = signed(&k, &h, &payload);
    assert_eq!(reject(&b), SignedClaimError::NotCanonical);
    // The 64-byte signature with a two-byte length head (0x59 0x0040).
    let mut b = s.to_bytes().to_vec();
    let at = b.len() - 66;
    assert_eq!(&b[at..at + 2], &[0x58, 0x40]);
    b.splice(at..at + 2, [0x59, 0x00, 0x40]);
    assert_eq!(
        reject(&b),
        SignedClaimError::Cbor(CborError::NotDeterministic {
            offset: at,
            reason: NON_SHORTEST
        })
    );
    // Indefinite-length outer array.
    let mut b = s.to_bytes().to_vec();
    b[1] = 0x9f;
    b.push(0xff);
    assert_eq!(
        reject(&b),
        SignedClaimError::Cbor(CborError::NotDeterministic {
            offset: 1,
            reason: "indefinite-length item"
        })
    );
    // Tag 18 with a one-byte argument head (0xd8 0x12).
    let mut b = vec![0xd8, 0x12];
    b.extend_from_slice(&s.to_bytes()[1..]);
    assert_eq!(
        reject(&b),
        SignedClaimError::Cbor(CborError::NotDeterministic {
            offset: 0,
            reason: NON_SHORTEST
        })
    );
    // alg -8 written with a one-byte argument (0x38 0x07) in the protected header.
    let mut h = vec![0xa3, 0x01, 0x38, 0x07];
    h.extend_from_slice(&std_header(&kid)[3..]);
    assert_eq!(
        reject(&signed(&k, &h, &payload)),
        SignedClaimError::ProtectedHeaderCbor(CborError::NotDeterministic {
            offset: 2,
            reason: NON_SHORTEST
        })
    );
    // Trailing bytes.
    let mut b = s.to_bytes().to_vec();
    b.push(0);
    assert_eq!(
        reject(&b),
        SignedClaimError::Cbor(CborError::TrailingBytes { count: 1 })
    );
    // A non-canonical claim inside a canonical envelope.
    let mut p = vec![0xbf];
    p.extend_from_slice(&payload[1..]);
    p.push(0xff);
    let b = signed(&k, &std_header(&kid), &p);
    assert_eq!(
        reject(&b),
        SignedClaimError::Claim(ClaimError::Cbor(CborError::NotDeterministic {
            offset: 0,
            reason: "indefinite-length item"
        }))
    );
    // A claim with unsorted keys inside a canonical envelope.
    let mut v = to_value(&payload);
    map_mut(&mut v).reverse();
    let b = signed(&k, &std_header(&kid), &from_value(&v));
    assert_eq!(
        reject(&b),
        SignedClaimError::Claim(ClaimError::NotCanonical)
    );
}

#[test]
fn every_single_bit_flip_is_caught() {
    let (_, _, s) = sample();
    let b = s.to_bytes();
    let mut parse_errors = 0;
    let mut sig_errors = 0;
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut m = b.to_vec();
            m[i] ^= 1 << bit;
            match SignedClaim::from_bytes(&m) {
                Err(_) => parse_errors += 1,
                Ok(p) => {
                    assert_eq!(
                        p.verify_signature(),
                        Err(SignedClaimError::BadSignature),
                        "byte {i} bit {bit}"
                    );
                    sig_errors += 1;
                }
            }
        }
    }
    // Both layers do work: many flips break the structure, many only the signature.
    assert!(
        parse_errors > 100 && sig_errors > 100,
        "{parse_errors} {sig_errors}"
    );
}

#[test]
fn flipped_payload_byte_breaks_signature() {
    let (_, _, s) = sample();
    let b = s.to_bytes().to_vec();
    // "Example AI" -> "Fxample AI": still a valid claim, but not what was signed.
    let m = replace_once(&b, b"Example AI", b"Fxample AI");
    let p = SignedClaim::from_bytes(&m).unwrap();
    assert_eq!(p.claim().generator.vendor, "Fxample AI");
    assert_eq!(p.verify_signature(), Err(SignedClaimError::BadSignature));
    // Flipping a signature byte.
    let mut m = b.clone();
    let last = m.len() - 1;
    m[last] ^= 0x01;
    let p = SignedClaim::from_bytes(&m).unwrap();
    assert_eq!(p.verify_signature(), Err(SignedClaimError::BadSignature));
}

#[test]
fn non_canonical_signature_scalar_is_rejected() {
    // S + L verifies under lax Ed25519 but not under verify_strict.
    let (_, kid, s) = sample();
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut sig = s.signature().to_bytes();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    let b = envelope(
        Some(18),
        &std_header(&kid),
        Value::Map(vec![]),
        Value::Bytes(full_claim().to_cbor()),
        sig.to_vec(),
    );
    let p = SignedClaim::from_bytes(&b).unwrap();
    assert_eq!(p.verify_signature(), Err(SignedClaimError::BadSignature));
}

#[test]
fn rejects_every_truncation() {
    let (_, _, s) = sample();
    let b = s.to_bytes();
    for len in 0..b.len() {
        let e = reject(&b[..len]);
        assert!(
            matches!(e, SignedClaimError::Cbor(_) | SignedClaimError::NotTagged),
            "prefix {len}: {e:?}"
        );
    }
}

#[test]
fn rejects_oversize_deep_and_huge_lengths() {
    let mut big = vec![0xd2, 0x84];
    big.resize(MAX_ENTRY_SIZE + 1, 0);
    assert_eq!(
        reject(&big),
        SignedClaimError::TooLarge {
            size: MAX_ENTRY_SIZE + 1,
            max: MAX_ENTRY_SIZE
        }
    );
    let mut deep = vec![0x81u8; 100_000];
    deep.push(0);
    assert!(matches!(reject(&deep), SignedClaimError::TooLarge { .. }));
    let mut deep = vec![0xd2, 0x84];
    deep.extend(std::iter::repeat_n(0x81u8, MAX_ENTRY_SIZE - 3));
    deep.push(0);
    assert!(matches!(
        reject(&deep),
        SignedClaimError::Cbor(CborError::TooDeep { .. })
    ));
    // Deep nesting inside the protected header bytes.
    let mut h = vec![0xa1, 0x01];
    h.extend(std::iter::repeat_n(0x81u8, 10_000));
    h.push(0);
    let b = envelope(
        Some(18),
        &h,
        Value::Map(vec![]),
        Value::Bytes(vec![0xa0]),
        vec![0; 64],
    );
    assert!(matches!(
        reject(&b),
        SignedClaimError::ProtectedHeaderCbor(CborError::TooDeep { .. })
    ));
    // A payload byte string declaring 2^60 bytes.
    let mut b = vec![0xd2, 0x84, 0x40, 0xa0, 0x5b];
    b.extend_from_slice(&(1u64 << 60).to_be_bytes());
    b.extend_from_slice(&[0; 100]);
    assert_eq!(reject(&b), SignedClaimError::Cbor(CborError::Truncated));
    // An array declaring 2^60 items.
    let mut b = vec![0xd2, 0x9b];
    b.extend_from_slice(&(1u64 << 60).to_be_bytes());
    assert_eq!(reject(&b), SignedClaimError::Cbor(CborError::Truncated));
}

#[test]
fn batch_verification_of_256() {
    let keys: Vec<SigningKey> = (0..8).map(key).collect();
    let entries: Vec<SignedClaim> = (0..256u64)
        .map(|i| {
            let k = &keys[(i % 8) as usize];
            let mut c = full_claim();
            c.sequence = Some(i);
            SignedClaim::sign(&c, k, &vkey(&format!("vendor{}", i % 8), k)).unwrap()
        })
        .collect();
    let refs: Vec<&SignedClaim> = entries.iter().collect();
    verify_claims(&refs).unwrap();
    // One forged entry (valid structure, signature by the wrong key) fails the
    // batch, and the fallback names it (and only it).
    let forged = signed(
        &key(9),
        &std_header(entries[100].kid()),
        entries[100].payload(),
    );
    let forged = SignedClaim::from_bytes(&forged).unwrap();
    let mut refs2 = refs.clone();
    refs2[100] = &forged;
    refs2[7] = &forged;
    assert_eq!(verify_claims(&refs2).unwrap_err().bad, vec![7, 100]);
    assert_eq!(
        forged.verify_signature(),
        Err(SignedClaimError::BadSignature)
    );
}

#[test]
fn error_messages_name_the_problem() {
    assert_eq!(
        SignedClaimError::NotTagged.to_string(),
        "signed claim must be a tagged COSE_Sign1 (CBOR tag 18)"
    );
    let e = SignedClaimError::Claim(ClaimError::UnknownKey {
        map: "claim".into(),
        key: "x".into(),
    });
    assert_eq!(e.to_string(), "payload: unknown key \"x\" in map claim");
    let k = key(7);
    let b = signed(&k, &header(vec![(int(1), int(-7))]), b"");
    let e = reject(&b);
    assert!(
        e.to_string()
            .contains("only EdDSA (-8) and ML-DSA-44 (-48) are accepted"),
        "{e}"
    );
}

#[test]
fn claim_decoder_matches_standalone() {
    // The payload of a parsed entry decodes to the same claim standalone.
    let (_, _, s) = sample();
    assert_eq!(&Claim::from_cbor(s.payload()).unwrap(), s.claim());
    // coset accepts what we produce (interop), both tagged and via to_vec.
    let c = coset::CoseSign1::from_tagged_slice(s.to_bytes()).unwrap();
    let untagged = c.clone().to_vec().unwrap();
    assert_eq!(&s.to_bytes()[1..], untagged.as_slice());
}
