//! Shared fixtures for the claim tests.
#![allow(dead_code, clippy::unwrap_used)]

use base64::Engine;
use ciborium::value::Value;
use ed25519_dalek::SigningKey;
use provlog_core::claim::*;
use provlog_core::hash::sha256;
use sha2::{Digest, Sha256};

/// A claim that uses every field.
pub fn full_claim() -> Claim {
    Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(b"example asset bytes"),
            media_type: "image/png".to_string(),
            size: 1_234_567,
        },
        c2pa: Some(C2paBinding {
            manifest_label: "urn:c2pa:3fa85f64-5717-4562-b3fc-2c963f66afa6".to_string(),
            claim_alg: HashAlg::Sha256,
            claim_hash: sha256(b"example c2pa claim").to_vec(),
            hard_binding: HardBinding {
                kind: HardBindingKind::Data,
                alg: HashAlg::Sha256,
                hash: sha256(b"example hard binding").to_vec(),
                exclusions: vec![ExclusionRange {
                    start: 33,
                    length: 40_000,
                }],
            },
            validation: None,
        }),
        soft_bindings: vec![
            SoftBinding {
                kind: SoftBindingKind::Watermark,
                alg: "com.example.watermark.v1".to_string(),
                value: vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03],
            },
            SoftBinding {
                kind: SoftBindingKind::Perceptual,
                alg: "org.example.phash".to_string(),
                value: vec![0x5a; 8],
            },
        ],
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
        sequence: Some(42),
    }
}

/// A claim with only the required fields.
pub fn minimal_claim() -> Claim {
    Claim {
        version: 1,
        asset: Asset {
            sha256: [0x11; 32],
            media_type: "video/mp4".to_string(),
            size: 0,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "v".to_string(),
            tool: "t".to_string(),
            version: "1".to_string(),
        },
        created: 0,
        source_type: DigitalSourceType::DigitalCapture,
        disclosure: Disclosure::default(),
        consent: None,
        sequence: None,
    }
}

/// Deterministic test key from a one-byte seed.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The C2SP key ID of an Ed25519 key, computed independently of the crate.
pub fn key_id(name: &str, pk: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(pk);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The C2SP vkey string `name+hexid+base64(0x01||pk)` for a raw public key.
pub fn vkey_for(name: &str, pk: &[u8; 32]) -> String {
    let mut raw = vec![0x01];
    raw.extend_from_slice(pk);
    format!(
        "{name}+{:08x}+{}",
        key_id(name, pk),
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The vkey string of a signing key.
pub fn vkey(name: &str, k: &SigningKey) -> String {
    vkey_for(name, k.verifying_key().as_bytes())
}

/// Decodes CBOR into a generic value (test side, plain ciborium).
pub fn to_value(b: &[u8]) -> Value {
    ciborium::de::from_reader(b).unwrap()
}

/// Encodes a generic value with plain ciborium (keeps map order as given).
pub fn from_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).unwrap();
    out
}

/// Mutable access to the entries of a map value.
pub fn map_mut(v: &mut Value) -> &mut Vec<(Value, Value)> {
    match v {
        Value::Map(m) => m,
        _ => panic!("not a map"),
    }
}

/// Mutable access to the value under text key `k` of a map value.
pub fn get_mut<'a>(v: &'a mut Value, k: &str) -> &'a mut Value {
    map_mut(v)
        .iter_mut()
        .find(|(key, _)| key.as_text() == Some(k))
        .map(|(_, v)| v)
        .unwrap()
}

/// Replaces the first occurrence of `from` by `to` in `b` (panics if absent).
pub fn replace_once(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let pos = b
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = b[..pos].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&b[pos + from.len()..]);
    out
}

/// Extracts the hex of the first fenced block that follows `marker` in a spec file.
pub fn spec_hex(spec: &str, marker: &str) -> Vec<u8> {
    let after = &spec[spec.find(marker).expect("marker in spec") + marker.len()..];
    let start = after.find("```").unwrap();
    let body = &after[start + 3..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let end = body.find("```").unwrap();
    let hex: String = body[..end]
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    hex::decode(hex).unwrap()
}
