//! Property tests: random valid claims round-trip, and the decoder accepts
//! only canonical encodings (whatever bytes it is given).
#![allow(clippy::unwrap_used)]

mod claim_common;

use claim_common::*;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use provlog_core::claim::*;
use provlog_core::signed_claim::SignedClaim;

fn text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,40}"
}

fn hash_of(alg: HashAlg) -> impl Strategy<Value = (HashAlg, Vec<u8>)> {
    proptest::collection::vec(any::<u8>(), alg.digest_len()).prop_map(move |h| (alg, h))
}

fn hashed() -> impl Strategy<Value = (HashAlg, Vec<u8>)> {
    select(HashAlg::ALL.to_vec()).prop_flat_map(hash_of)
}

fn asset_and_c2pa() -> impl Strategy<Value = (Asset, Option<C2paBinding>)> {
    (
        any::<[u8; 32]>(),
        "[a-z0-9][a-z0-9.+-]{0,20}/[a-z0-9][a-z0-9.+-]{0,20}",
        prop_oneof![0u64..100_000, any::<u64>()],
    )
        .prop_flat_map(|(sha256, media_type, size)| {
            let range = (0..=size).prop_flat_map(move |start| {
                (0..=size - start).prop_map(move |length| ExclusionRange { start, length })
            });
            let c2pa = proptest::option::of((
                text(),
                hashed(),
                hashed(),
                proptest::collection::vec(range, 0..5),
                (select(HardBindingKind::ALL.to_vec()), validation()),
            ));
            (
                Just(Asset {
                    sha256,
                    media_type,
                    size,
                }),
                c2pa,
            )
        })
        .prop_map(|(asset, c2pa)| {
            let c2pa = c2pa.map(
                |(
                    manifest_label,
                    (claim_alg, claim_hash),
                    (alg, hash),
                    exclusions,
                    (kind, validation),
                )| C2paBinding {
                    manifest_label,
                    claim_alg,
                    claim_hash,
                    hard_binding: HardBinding {
                        kind,
                        alg,
                        hash,
                        // Byte ranges belong to data hashes only.
                        exclusions: if kind == HardBindingKind::Data {
                            exclusions
                        } else {
                            vec![]
                        },
                    },
                    validation,
                },
            );
            (asset, c2pa)
        })
}

/// An optional (v2) validation record, consistent with its state.
fn validation() -> impl Strategy<Value = Option<C2paValidation>> {
    proptest::option::of(
        (
            select(C2paValidationState::ALL.to_vec()),
            subsequence(
                vec![
                    "assertion.dataHash.mismatch".to_string(),
                    "claimSignature.mismatch".to_string(),
                    "signingCredential.untrusted".to_string(),
                ],
                0..=3,
            ),
        )
            .prop_map(|(state, mut codes)| {
                match state {
                    C2paValidationState::Trusted => codes.clear(),
                    C2paValidationState::Invalid if codes.is_empty() => {
                        codes.push("assertion.dataHash.mismatch".to_string());
                    }
                    _ => {}
                }
                C2paValidation { state, codes }
            }),
    )
}

fn soft_bindings() -> impl Strategy<Value = Vec<SoftBinding>> {
    proptest::collection::vec(
        (
            select(SoftBindingKind::ALL.to_vec()),
            "[A-Za-z0-9._:/+-]{1,30}",
            proptest::collection::vec(any::<u8>(), 1..48),
        )
            .prop_map(|(kind, alg, value)| SoftBinding { kind, alg, value }),
        0..4,
    )
    .prop_map(|mut v| {
        // Keep the first of any duplicates (duplicates are invalid).
        let mut seen = Vec::new();
        v.retain(|s| {
            let fresh = !seen.contains(s);
            seen.push(s.clone());
            fresh
        });
        v
    })
}

fn claim() -> impl Strategy<Value = Claim> {
    (
        asset_and_c2pa(),
        soft_bindings(),
        (text(), text(), text()),
        any::<u64>(),
        select(DigitalSourceType::ALL.to_vec()),
        subsequence(
            DirectDisclosure::ALL.to_vec(),
            0..=DirectDisclosure::ALL.len(),
        ),
        subsequence(
            IndirectDisclosure::ALL.to_vec(),
            0..=IndirectDisclosure::ALL.len(),
        ),
        proptest::option::of(select(Consent::ALL.to_vec())),
        proptest::option::of(any::<u64>()),
        any::<bool>(),
    )
        .prop_map(
            |(
                (asset, c2pa),
                soft_bindings,
                (vendor, tool, version),
                created,
                source_type,
                direct,
                indirect,
                consent,
                sequence,
                force_v2,
            )| {
                let mut c = Claim {
                    version: 1,
                    asset,
                    c2pa,
                    soft_bindings,
                    generator: Generator {
                        vendor,
                        tool,
                        version,
                    },
                    created,
                    source_type,
                    disclosure: Disclosure { direct, indirect },
                    consent,
                    sequence,
                };
                // The lowest version that holds it, or version 2 regardless.
                c.version = if force_v2 {
                    CLAIM_VERSION_2
                } else {
                    c.required_version()
                };
                c
            },
        )
}

proptest! {
    #[test]
    fn valid_claims_round_trip(c in claim()) {
        prop_assert_eq!(c.validate(), Ok(()));
        let b = c.to_cbor();
        prop_assert!(b.len() <= MAX_CLAIM_SIZE);
        prop_assert_eq!(Claim::from_cbor(&b), Ok(c.clone()));
        // An independent encoder (ciborium) produces the same bytes from the
        // decoded generic value: our output is already deterministic.
        prop_assert_eq!(from_value(&to_value(&b)), b);
    }

    #[test]
    fn accepted_bytes_are_always_canonical(
        c in claim(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut b = c.to_cbor();
        for (at, byte, kind) in edits {
            let i = at.index(b.len() + 1);
            match kind {
                0 if i < b.len() => b[i] = byte,
                1 => b.insert(i, byte),
                _ if i < b.len() => { b.remove(i); }
                _ => b.push(byte),
            }
        }
        // Whatever the decoder accepts re-encodes to exactly the input.
        if let Ok(d) = Claim::from_cbor(&b) {
            prop_assert_eq!(d.to_cbor(), b);
        }
    }

    /// A claim that uses a version-2 field is refused as version 1, both
    /// by `validate` and by the decoder given the bytes a v1 encoder would
    /// write; a claim that needs nothing new is the same claim in either
    /// version except for `v` and the hard binding's `kind` key.
    #[test]
    fn version_1_cannot_carry_version_2_fields(c in claim()) {
        let mut v1 = c.clone();
        v1.version = CLAIM_VERSION;
        if c.needs_version_2().is_some() {
            let needs_v2 = matches!(v1.validate(), Err(ClaimError::NeedsVersion2 { .. }));
            prop_assert!(needs_v2, "a v2 field in a v1 claim must be refused");
            // Whatever a v1 encoding of it decodes to, it is not this claim.
            prop_assert_ne!(Claim::from_cbor(&v1.to_cbor()), Ok(v1));
        } else {
            prop_assert_eq!(Claim::from_cbor(&v1.to_cbor()), Ok(v1));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Claim::from_cbor(&b);
        let _ = SignedClaim::from_bytes(&b);
        let mut tagged = vec![0xd2, 0x84];
        tagged.extend_from_slice(&b);
        let _ = SignedClaim::from_bytes(&tagged);
    }

    #[test]
    fn signed_claims_round_trip(c in claim(), seed in any::<u8>()) {
        let k = key(seed);
        let s = SignedClaim::sign(&c, &k, &vkey("prop.example", &k)).unwrap();
        let p = SignedClaim::from_bytes(s.to_bytes()).unwrap();
        prop_assert_eq!(p.claim(), &c);
        prop_assert_eq!(p.verify_signature(), Ok(()));
    }
}
