//! Claim schema v1: deterministic CBOR encoding, strict decoding, validation.
#![allow(clippy::unwrap_used)]

mod claim_common;

use ciborium::value::{Integer, Value};
use claim_common::*;
use provlog_core::claim::*;

const SPEC: &str = include_str!("../../spec/claim.md");

fn enc(c: &Claim) -> Vec<u8> {
    c.to_cbor()
}

/// Decodes with the crate and returns the error (the input must be rejected).
fn reject(b: &[u8]) -> ClaimError {
    match Claim::from_cbor(b) {
        Ok(c) => panic!("accepted {} bytes as {c:?}", b.len()),
        Err(e) => e,
    }
}

/// Takes the full claim's CBOR, edits its generic value, re-encodes with
/// plain ciborium (which keeps the edited map order).
fn edited(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = to_value(&enc(&full_claim()));
    f(&mut v);
    from_value(&v)
}

#[test]
fn full_claim_round_trips() {
    let c = full_claim();
    let b = enc(&c);
    assert_eq!(Claim::from_cbor(&b).unwrap(), c);
    // Encoding is a function of the claim.
    assert_eq!(enc(&Claim::from_cbor(&b).unwrap()), b);
}

#[test]
fn minimal_claim_round_trips() {
    let c = minimal_claim();
    let b = enc(&c);
    assert_eq!(Claim::from_cbor(&b).unwrap(), c);
    // Optional fields and the empty soft-binding list are left out entirely.
    let v = to_value(&b);
    let keys: Vec<_> = match &v {
        Value::Map(m) => m
            .iter()
            .map(|(k, _)| k.as_text().unwrap().to_string())
            .collect(),
        _ => panic!(),
    };
    assert_eq!(keys, ["v", "gen", "src", "disc", "asset", "created"]);
}

#[test]
fn spec_vector_matches_encoding() {
    let expected = spec_hex(SPEC, "<!-- test-vector: full-claim -->");
    assert_eq!(hex::encode(enc(&full_claim())), hex::encode(&expected));
    assert_eq!(Claim::from_cbor(&expected).unwrap(), full_claim());
}

/// Checks RFC 8949 §4.2.1 properties on a generic value re-encoded item by
/// item with ciborium (an independent encoder).
fn assert_core_deterministic(v: &Value) {
    match v {
        Value::Map(m) => {
            let keys: Vec<Vec<u8>> = m.iter().map(|(k, _)| from_value(k)).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "map keys not sorted bytewise");
            for (k, v) in m {
                assert!(matches!(k, Value::Text(_)), "non-text key {k:?}");
                assert_core_deterministic(v);
            }
        }
        Value::Array(a) => a.iter().for_each(assert_core_deterministic),
        Value::Float(_) | Value::Tag(..) | Value::Null | Value::Bool(_) => {
            panic!("unexpected item {v:?}")
        }
        _ => {}
    }
}

#[test]
fn encoding_is_core_deterministic() {
    for c in [full_claim(), minimal_claim()] {
        let b = enc(&c);
        let v = to_value(&b);
        assert_core_deterministic(&v);
        // ciborium writes shortest-form heads and definite lengths, so its
        // encoding of the same (sorted) value must be byte-identical.
        assert_eq!(from_value(&v), b);
    }
}

fn assert_non_shortest(e: &ClaimError, offset: Option<usize>) {
    match e {
        ClaimError::Cbor(CborError::NotDeterministic { offset: o, reason }) => {
            assert_eq!(*reason, "integer or length not in shortest form");
            if let Some(offset) = offset {
                assert_eq!(*o, offset);
            }
        }
        other => panic!("expected a non-shortest-form error, got {other:?}"),
    }
}

fn assert_indefinite(e: &ClaimError) {
    assert!(
        matches!(
            e,
            ClaimError::Cbor(CborError::NotDeterministic {
                reason: "indefinite-length item",
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_non_shortest_integers() {
    let b = enc(&full_claim());
    // "v": 1 written as a one-byte-argument integer (0x18 0x01).
    let e = reject(&replace_once(
        &b,
        &[0x61, b'v', 0x01],
        &[0x61, b'v', 0x18, 0x01],
    ));
    assert_non_shortest(
        &e,
        Some(b.windows(3).position(|w| w == [0x61, b'v', 0x01]).unwrap() + 2),
    );
    // "created" (a 4-byte integer) written with an 8-byte argument.
    let created = 1_750_000_000u32.to_be_bytes();
    let mut from = vec![0x67];
    from.extend_from_slice(b"created");
    from.push(0x1a);
    from.extend_from_slice(&created);
    let mut to = vec![0x67];
    to.extend_from_slice(b"created");
    to.extend_from_slice(&[0x1b, 0, 0, 0, 0]);
    to.extend_from_slice(&created);
    assert_non_shortest(&reject(&replace_once(&b, &from, &to)), None);
    // A map header with a non-shortest length.
    let mut long_head = vec![0xb8, b[0] & 0x1f];
    long_head.extend_from_slice(&b[1..]);
    assert_non_shortest(&reject(&long_head), Some(0));
    // A bignum tag (2) for a small integer is a tag, not an integer.
    let bignum = replace_once(&b, &[0x61, b'v', 0x01], &[0x61, b'v', 0xc2, 0x41, 0x01]);
    assert_eq!(
        reject(&bignum),
        ClaimError::WrongType {
            field: "v".into(),
            expected: "an unsigned integer"
        }
    );
}

#[test]
fn rejects_unsorted_keys() {
    let b = edited(|v| map_mut(v).reverse());
    assert_eq!(reject(&b), ClaimError::NotCanonical);
    // Sorted alphabetically instead of length-first.
    let b = edited(|v| map_mut(v).sort_by(|a, b| a.0.as_text().cmp(&b.0.as_text())));
    assert_eq!(reject(&b), ClaimError::NotCanonical);
    // Unsorted keys in a nested map.
    let b = edited(|v| map_mut(get_mut(v, "gen")).reverse());
    assert_eq!(reject(&b), ClaimError::NotCanonical);
}

#[test]
fn rejects_indefinite_lengths() {
    let b = enc(&full_claim());
    // Top-level map as an indefinite-length map.
    let mut indef = vec![0xbf];
    indef.extend_from_slice(&b[1..]);
    indef.push(0xff);
    assert_eq!(
        reject(&indef),
        ClaimError::Cbor(CborError::NotDeterministic {
            offset: 0,
            reason: "indefinite-length item"
        })
    );
    // A text key as an indefinite-length (chunked) string.
    let e = reject(&replace_once(&b, &[0x61, b'v'], &[0x7f, 0x61, b'v', 0xff]));
    assert_indefinite(&e);
    // The sha256 byte string split into two chunks.
    let sha = full_claim().asset.sha256;
    let mut from = vec![0x58, 32];
    from.extend_from_slice(&sha);
    let mut to = vec![0x5f, 0x50];
    to.extend_from_slice(&sha[..16]);
    to.push(0x50);
    to.extend_from_slice(&sha[16..]);
    to.push(0xff);
    assert_indefinite(&reject(&replace_once(&b, &from, &to)));
    // An indefinite-length array.
    let e = reject(&replace_once(
        &b,
        b"\x66direct\x81",
        b"\x66direct\x9f\x65label\xff\x00",
    ));
    assert_indefinite(&e);
    let e = reject(&replace_once(
        &b,
        b"\x66direct\x81\x65label",
        b"\x66direct\x9f\x65label\xff",
    ));
    assert_indefinite(&e);
}

#[test]
fn rejects_duplicate_keys() {
    let b = edited(|v| {
        map_mut(v).push((Value::Text("seq".into()), Value::Integer(42.into())));
    });
    let e = reject(&b);
    assert_eq!(
        e,
        ClaimError::DuplicateKey {
            map: "claim".into(),
            key: "seq".into()
        }
    );
    assert_eq!(e.to_string(), "duplicate key \"seq\" in map claim");
    // Duplicate in a nested map, even with a different value.
    let b = edited(|v| {
        map_mut(get_mut(v, "gen")).push((Value::Text("tool".into()), Value::Text("other".into())));
    });
    assert_eq!(
        reject(&b),
        ClaimError::DuplicateKey {
            map: "gen".into(),
            key: "tool".into()
        }
    );
}

#[test]
fn rejects_unknown_keys() {
    let b = edited(|v| map_mut(v).push((Value::Text("extra".into()), Value::Integer(1.into()))));
    assert_eq!(
        reject(&b),
        ClaimError::UnknownKey {
            map: "claim".into(),
            key: "extra".into()
        }
    );
    let b = edited(|v| map_mut(v).push((Value::Integer(1.into()), Value::Integer(1.into()))));
    assert!(matches!(reject(&b), ClaimError::UnknownKey { .. }));
    let b = edited(|v| {
        let soft = get_mut(v, "soft");
        let Value::Array(a) = soft else { panic!() };
        map_mut(&mut a[1]).push((Value::Text("scope".into()), Value::Text("x".into())));
    });
    assert_eq!(
        reject(&b),
        ClaimError::UnknownKey {
            map: "soft[1]".into(),
            key: "scope".into()
        }
    );
}

#[test]
fn rejects_missing_keys() {
    let b = edited(|v| map_mut(v).retain(|(k, _)| k.as_text() != Some("gen")));
    assert_eq!(
        reject(&b),
        ClaimError::MissingKey {
            map: "claim".into(),
            key: "gen"
        }
    );
    let b = edited(|v| map_mut(get_mut(v, "asset")).retain(|(k, _)| k.as_text() != Some("size")));
    assert_eq!(
        reject(&b),
        ClaimError::MissingKey {
            map: "asset".into(),
            key: "size"
        }
    );
}

/// An edit of a claim's generic value.
type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn rejects_wrong_types() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| *get_mut(v, "created") = Value::Text("2025".into())),
            "created",
        ),
        (
            Box::new(|v| *get_mut(v, "created") = Value::Float(1.5)),
            "created",
        ),
        (
            Box::new(|v| {
                *get_mut(v, "created") = Value::Tag(1, Box::new(Value::Integer(5.into())))
            }),
            "created",
        ),
        (
            Box::new(|v| *get_mut(v, "created") = Value::Bool(true)),
            "created",
        ),
        (
            Box::new(|v| *get_mut(v, "created") = Value::Null),
            "created",
        ),
        (
            Box::new(|v| *get_mut(get_mut(v, "asset"), "sha256") = Value::Text("ab".into())),
            "asset.sha256",
        ),
        (
            Box::new(|v| *get_mut(v, "src") = Value::Integer(3.into())),
            "src",
        ),
        (
            Box::new(|v| *get_mut(v, "asset") = Value::Array(vec![])),
            "asset",
        ),
        (
            Box::new(|v| *get_mut(v, "soft") = Value::Map(vec![])),
            "soft",
        ),
        (
            Box::new(|v| *get_mut(get_mut(v, "disc"), "direct") = Value::Text("label".into())),
            "disc.direct",
        ),
    ];
    for (edit, field) in cases {
        let e = reject(&edited(edit));
        match &e {
            ClaimError::WrongType { field: f, .. } => assert_eq!(f, field, "{e}"),
            other => panic!("expected WrongType for {field}, got {other:?}"),
        }
    }
    // The whole claim is not a map.
    assert!(matches!(
        reject(&from_value(&Value::Array(vec![]))),
        ClaimError::WrongType { .. }
    ));
    // Negative integer for an unsigned field.
    let e = reject(&edited(|v| {
        *get_mut(get_mut(v, "asset"), "size") = Value::Integer(Integer::from(-1))
    }));
    assert!(
        matches!(e, ClaimError::OutOfRange { ref field, .. } if field == "asset.size"),
        "{e:?}"
    );
    // Wrong sha256 length.
    let e = reject(&edited(|v| {
        *get_mut(get_mut(v, "asset"), "sha256") = Value::Bytes(vec![1; 31])
    }));
    assert!(
        matches!(
            e,
            ClaimError::BadHashLength {
                len: 31,
                expected: 32,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_unknown_terms_and_versions() {
    let e = reject(&edited(|v| {
        *get_mut(v, "src") = Value::Text("futureMedia".into())
    }));
    assert_eq!(
        e,
        ClaimError::UnknownValue {
            field: "src".into(),
            value: "futureMedia".into()
        }
    );
    // The URI form is not the encoding: the term is.
    let uri = DigitalSourceType::TrainedAlgorithmicMedia.uri();
    let e = reject(&edited(|v| *get_mut(v, "src") = Value::Text(uri)));
    assert!(matches!(e, ClaimError::UnknownValue { .. }));
    let e = reject(&edited(|v| {
        *get_mut(v, "consent") = Value::Text("yes".into())
    }));
    assert!(matches!(e, ClaimError::UnknownValue { ref field, .. } if field == "consent"));
    let e = reject(&edited(|v| {
        *get_mut(get_mut(get_mut(v, "c2pa"), "hard"), "alg") = Value::Text("md5".into())
    }));
    assert!(matches!(e, ClaimError::UnknownValue { ref field, .. } if field == "c2pa.hard.alg"));
    // A future version is reported as such even with keys we do not know.
    let e = reject(&edited(|v| {
        *get_mut(v, "v") = Value::Integer(3.into());
        map_mut(v).push((Value::Text("new_field".into()), Value::Integer(0.into())));
    }));
    assert_eq!(e, ClaimError::UnsupportedVersion(3));
    // A version-2 key is unknown in a version-1 claim.
    let e = reject(&edited(|v| {
        map_mut(get_mut(get_mut(v, "c2pa"), "hard"))
            .push((Value::Text("kind".into()), Value::Text("data".into())));
    }));
    assert!(
        matches!(e, ClaimError::UnknownKey { ref key, .. } if key == "kind"),
        "{e:?}"
    );
    let e = reject(&edited(|v| *get_mut(v, "v") = Value::Integer(0.into())));
    assert_eq!(e, ClaimError::UnsupportedVersion(0));
}

#[test]
fn rejects_every_truncation() {
    let b = enc(&full_claim());
    for len in 0..b.len() {
        let e = reject(&b[..len]);
        assert!(matches!(e, ClaimError::Cbor(_)), "prefix {len}: {e:?}");
    }
    let mut trailing = b.clone();
    trailing.push(0x00);
    assert_eq!(
        reject(&trailing),
        ClaimError::Cbor(CborError::TrailingBytes { count: 1 })
    );
}

#[test]
fn rejects_deep_nesting_without_overflow() {
    // 100k nested arrays: over the size limit, rejected before parsing.
    let mut deep = vec![0x81u8; 100_000];
    deep.push(0x00);
    assert!(matches!(
        reject(&deep),
        ClaimError::TooLarge { size: 100_001, .. }
    ));
    // Within the size limit: the nesting limit stops the reader.
    let mut deep = vec![0x81u8; MAX_CLAIM_SIZE - 1];
    deep.push(0x00);
    assert_eq!(
        reject(&deep),
        ClaimError::Cbor(CborError::TooDeep {
            max: MAX_CLAIM_DEPTH
        })
    );
    // Nested maps and tags too.
    let mut deep = vec![0xa1u8, 0x00];
    for _ in 0..3000 {
        deep.extend_from_slice(&[0xa1, 0x00]);
    }
    deep.push(0x00);
    assert!(matches!(
        reject(&deep),
        ClaimError::Cbor(CborError::TooDeep { .. })
    ));
    let mut deep = vec![0xd8u8, 0x20];
    deep.extend(std::iter::repeat_n([0xd8, 0x20], 3000).flatten());
    deep.push(0x00);
    assert!(matches!(
        reject(&deep),
        ClaimError::Cbor(CborError::TooDeep { .. })
    ));
    // Deep nesting inside a real claim field.
    let mut b = enc(&full_claim());
    let soft_at = b.windows(5).position(|w| w == b"\x64soft").unwrap() + 5;
    let mut inner = vec![0x81u8; 50];
    inner.push(0x00);
    b.splice(soft_at..soft_at + 1, inner.iter().copied().chain([0x82]));
    assert!(
        matches!(reject(&b), ClaimError::Cbor(CborError::TooDeep { .. })),
        "{:?}",
        reject(&b)
    );
    // The deepest legitimate claim (with exclusions) is within the limit.
    assert!(Claim::from_cbor(&enc(&full_claim())).is_ok());
}

#[test]
fn rejects_huge_declared_lengths() {
    let n: u64 = 1 << 60;
    for major in [2u8, 3, 4, 5] {
        let mut b = vec![(major << 5) | 27];
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(&[0x00; 16]);
        let e = reject(&b);
        assert!(matches!(e, ClaimError::Cbor(_)), "major {major}: {e:?}");
    }
    // A u64::MAX-length byte string inside the claim map.
    let b = enc(&full_claim());
    let mut sha_head = vec![0x66];
    sha_head.extend_from_slice(b"sha256");
    sha_head.extend_from_slice(&[0x58, 32]);
    let mut huge = sha_head[..7].to_vec();
    huge.push(0x5b);
    huge.extend_from_slice(&u64::MAX.to_be_bytes());
    let e = reject(&replace_once(&b, &sha_head, &huge));
    assert_eq!(e, ClaimError::Cbor(CborError::Truncated));
}

#[test]
fn rejects_invalid_utf8_and_oversize() {
    let b = enc(&full_claim());
    let e = reject(&replace_once(&b, b"ImageGen", b"Image\xffen"));
    assert!(matches!(e, ClaimError::Cbor(_)), "{e:?}");
    // A claim that validates per field but encodes to more than 8 KiB.
    let mut c = full_claim();
    c.soft_bindings = (0..MAX_SOFT_BINDINGS)
        .map(|i| SoftBinding {
            kind: SoftBindingKind::Perceptual,
            alg: format!("alg{i}"),
            value: vec![i as u8; MAX_SOFT_BINDING_VALUE],
        })
        .collect();
    assert!(c.validate().is_ok());
    let b = enc(&c);
    assert!(matches!(
        reject(&b),
        ClaimError::TooLarge {
            max: MAX_CLAIM_SIZE,
            ..
        }
    ));
}

#[test]
fn validates_media_types() {
    for ok in [
        "image/png",
        "image/svg+xml",
        "video/mp4",
        "application/vnd.example.x+json",
        "audio/l16",
        "model/3mf",
    ] {
        assert!(validate_media_type(ok).is_ok(), "{ok}");
    }
    let long = format!("image/{}", "a".repeat(128));
    for bad in [
        "",
        "image",
        "image/",
        "/png",
        "Image/PNG",
        "image/png; charset=x",
        "image/p ng",
        "ímage/png",
        "image/png/x",
        "image/.png",
        long.as_str(),
    ] {
        assert_eq!(
            validate_media_type(bad),
            Err(ClaimError::InvalidMediaType(bad.to_string())),
            "{bad}"
        );
    }
    let mut c = full_claim();
    c.asset.media_type = "IMAGE/png".into();
    assert!(matches!(c.validate(), Err(ClaimError::InvalidMediaType(_))));
    // A decoded claim is validated too.
    assert!(matches!(reject(&enc(&c)), ClaimError::InvalidMediaType(_)));
}

#[test]
fn validates_text_fields() {
    let mut c = full_claim();
    c.generator.vendor = String::new();
    assert_eq!(
        c.validate(),
        Err(ClaimError::EmptyText {
            field: "gen.vendor".into()
        })
    );
    c.generator.vendor = "x".repeat(MAX_TEXT_LEN + 1);
    assert!(matches!(
        c.validate(),
        Err(ClaimError::TooLong {
            len: 257,
            max: 256,
            ..
        })
    ));
    c.generator.vendor = "x".repeat(MAX_TEXT_LEN);
    assert!(c.validate().is_ok());
    c.generator.tool = "Image\nGen".into();
    assert_eq!(
        c.validate(),
        Err(ClaimError::ControlCharacter {
            field: "gen.tool".into()
        })
    );
    c.generator.tool = "Image\u{9b}Gen".into();
    assert!(matches!(
        c.validate(),
        Err(ClaimError::ControlCharacter { .. })
    ));
    c.generator.tool = "Bildgenerator für Übersee 🎨".into();
    assert!(c.validate().is_ok());
    assert!(Claim::from_cbor(&enc(&c)).is_ok());
    let mut c = full_claim();
    c.version = 3;
    assert_eq!(c.validate(), Err(ClaimError::UnsupportedVersion(3)));
    // The same claim as version 2 is valid, and encodes the hard binding's kind.
    c.version = 2;
    assert!(c.validate().is_ok());
    let b = enc(&c);
    assert_eq!(Claim::from_cbor(&b), Ok(c.clone()));
    assert!(b.windows(4).any(|w| w == b"kind"));
}

#[test]
fn validates_c2pa_binding() {
    let mut c = full_claim();
    c.c2pa.as_mut().unwrap().claim_alg = HashAlg::Sha384;
    assert_eq!(
        c.validate(),
        Err(ClaimError::BadHashLength {
            field: "c2pa.claim_hash".into(),
            alg: "sha384",
            len: 32,
            expected: 48
        })
    );
    let mut c = full_claim();
    c.c2pa.as_mut().unwrap().hard_binding.hash = vec![0; 64];
    c.c2pa.as_mut().unwrap().hard_binding.alg = HashAlg::Sha512;
    assert!(c.validate().is_ok());
    // Exclusions are copied verbatim (order kept) but must lie within the asset.
    let mut c = full_claim();
    let ex = &mut c.c2pa.as_mut().unwrap().hard_binding.exclusions;
    *ex = vec![
        ExclusionRange {
            start: 1000,
            length: 10,
        },
        ExclusionRange {
            start: 10,
            length: 10,
        },
        ExclusionRange {
            start: 1_234_560,
            length: 7,
        },
    ];
    assert!(c.validate().is_ok());
    let back = Claim::from_cbor(&enc(&c)).unwrap();
    assert_eq!(back.c2pa.unwrap().hard_binding.exclusions[0].start, 1000);
    c.c2pa.as_mut().unwrap().hard_binding.exclusions[2].length = 8;
    assert!(matches!(
        c.validate(),
        Err(ClaimError::ExclusionOutOfRange { index: 2, .. })
    ));
    c.c2pa.as_mut().unwrap().hard_binding.exclusions[2] = ExclusionRange {
        start: u64::MAX,
        length: 1,
    };
    assert!(matches!(
        c.validate(),
        Err(ClaimError::ExclusionOutOfRange { index: 2, .. })
    ));
    c.c2pa.as_mut().unwrap().hard_binding.exclusions = vec![
        ExclusionRange {
            start: 0,
            length: 1
        };
        MAX_EXCLUSIONS + 1
    ];
    assert!(matches!(c.validate(), Err(ClaimError::TooManyItems { .. })));
    let mut c = full_claim();
    c.c2pa.as_mut().unwrap().manifest_label = String::new();
    assert!(matches!(c.validate(), Err(ClaimError::EmptyText { .. })));
}

#[test]
fn validates_soft_bindings() {
    let mut c = full_claim();
    c.soft_bindings[1] = c.soft_bindings[0].clone();
    assert!(
        matches!(c.validate(), Err(ClaimError::DuplicateItem { ref field, .. }) if field == "soft")
    );
    let mut c = full_claim();
    c.soft_bindings[0].alg = "has space".into();
    assert!(matches!(
        c.validate(),
        Err(ClaimError::InvalidAlgName { .. })
    ));
    c.soft_bindings[0].alg = "io.iscc.v0:meta/x+y-z_1".into();
    assert!(c.validate().is_ok());
    c.soft_bindings[0].value.clear();
    assert!(matches!(c.validate(), Err(ClaimError::EmptyText { .. })));
    c.soft_bindings[0].value = vec![1; MAX_SOFT_BINDING_VALUE + 1];
    assert!(matches!(c.validate(), Err(ClaimError::TooLong { .. })));
    let mut c = full_claim();
    c.soft_bindings = (0..=MAX_SOFT_BINDINGS)
        .map(|i| SoftBinding {
            kind: SoftBindingKind::Watermark,
            alg: "a".into(),
            value: vec![i as u8],
        })
        .collect();
    assert!(matches!(
        c.validate(),
        Err(ClaimError::TooManyItems {
            len: 17,
            max: 16,
            ..
        })
    ));
}

#[test]
fn validates_disclosure_lists() {
    let mut c = full_claim();
    c.disclosure.direct = vec![DirectDisclosure::Label, DirectDisclosure::Label];
    assert_eq!(
        c.validate(),
        Err(ClaimError::DuplicateItem {
            field: "disc.direct".into(),
            value: "label".into()
        })
    );
    c.disclosure.direct = vec![DirectDisclosure::Label, DirectDisclosure::Caption];
    assert_eq!(
        c.validate(),
        Err(ClaimError::Unsorted {
            field: "disc.direct".into()
        })
    );
    c.disclosure.direct = vec![DirectDisclosure::Caption, DirectDisclosure::Label];
    c.disclosure.indirect = vec![
        IndirectDisclosure::C2pa,
        IndirectDisclosure::Metadata,
        IndirectDisclosure::Watermark,
    ];
    assert!(c.validate().is_ok());
    c.disclosure.indirect.swap(1, 2);
    assert!(matches!(c.validate(), Err(ClaimError::Unsorted { .. })));
    // The declaration order of the enums (which validation relies on) is
    // the bytewise order of their texts.
    let d: Vec<_> = DirectDisclosure::ALL.iter().map(|d| d.as_str()).collect();
    let mut ds = d.clone();
    ds.sort();
    assert_eq!(d, ds);
    let i: Vec<_> = IndirectDisclosure::ALL.iter().map(|d| d.as_str()).collect();
    let mut is = i.clone();
    is.sort();
    assert_eq!(i, is);
}

#[test]
fn digital_source_type_vocabulary() {
    assert_eq!(DigitalSourceType::ALL.len(), 20);
    for t in DigitalSourceType::ALL {
        assert_eq!(DigitalSourceType::from_uri(&t.uri()), Some(*t));
        assert_eq!(t.as_str().parse::<DigitalSourceType>().unwrap(), *t);
        let mut c = minimal_claim();
        c.source_type = *t;
        assert_eq!(Claim::from_cbor(&enc(&c)).unwrap().source_type, *t);
    }
    assert_eq!(
        DigitalSourceType::CompositeWithTrainedAlgorithmicMedia.uri(),
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
    );
    assert_eq!(
        DigitalSourceType::from_uri(
            "https://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
        ),
        None
    );
    assert!(DigitalSourceType::SoftwareImage.is_retired());
    assert!(!DigitalSourceType::TrainedAlgorithmicMedia.is_retired());
    let e = "trainedalgorithmicmedia"
        .parse::<DigitalSourceType>()
        .unwrap_err();
    assert!(e.to_string().contains("trainedalgorithmicmedia"));
}

#[test]
fn json_display_uses_hex_and_terms() {
    let j = serde_json::to_value(full_claim()).unwrap();
    assert_eq!(j["asset"]["sha256"], hex::encode(full_claim().asset.sha256));
    assert_eq!(j["source_type"], "trainedAlgorithmicMedia");
    assert_eq!(j["consent"], "not_applicable");
    assert_eq!(
        j["disclosure"]["indirect"],
        serde_json::json!(["c2pa", "watermark"])
    );
    assert_eq!(j["soft_bindings"][0]["value"], "deadbeef00010203");
    assert_eq!(j["c2pa"]["hard_binding"]["exclusions"][0]["length"], 40_000);
    let j = serde_json::to_value(minimal_claim()).unwrap();
    assert!(
        j.get("c2pa").is_none() && j.get("sequence").is_none() && j.get("soft_bindings").is_none()
    );
}

#[test]
fn error_messages_name_the_problem() {
    let e = reject(&edited(|v| {
        *get_mut(get_mut(v, "asset"), "size") = Value::Text("1".into())
    }));
    assert_eq!(
        e.to_string(),
        "field asset.size must be an unsigned integer"
    );
    let e = reject(&[0xff]);
    assert_eq!(
        e.to_string(),
        "claim: CBOR is not well-formed at byte offset 0"
    );
    assert_eq!(
        ClaimError::NotCanonical.to_string(),
        "claim CBOR is not in deterministic encoding (RFC 8949 §4.2.1: shortest-form integers, \
         definite lengths, map keys sorted bytewise)"
    );
}
