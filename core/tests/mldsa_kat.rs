//! FIPS 204 known-answer tests for ML-DSA-44, from NIST's ACVP vectors
//! (`tests/vectors/fips204-ml-dsa-44-acvp.json`, whose `source` field
//! names the release and files). They exercise the FIPS 204 *internal*
//! functions (KeyGen_internal, Sign_internal, Verify_internal) that
//! `provlog_core::mldsa` is built on, and then check that provlog's
//! external `ML-DSA.Sign`/`ML-DSA.Verify` with the empty context are
//! exactly the internal functions applied to `M' = 0x00 || 0x00 || M`
//! (FIPS 204 Algorithms 2 and 3), which is what C2SP and COSE specify.
#![allow(clippy::unwrap_used)]

use ml_dsa::{ExpandedSigningKey, MlDsa44, Signature};
use provlog_core::mldsa::{ML_DSA_44_SIGNATURE_LEN, MlDsa44PublicKey, MlDsa44SigningKey};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("vectors/fips204-ml-dsa-44-acvp.json");
    serde_json::from_str(text).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn expanded(sk: &[u8]) -> ExpandedSigningKey<MlDsa44> {
    #[allow(deprecated)]
    ExpandedSigningKey::<MlDsa44>::from_expanded(sk.try_into().unwrap())
}

#[test]
fn keygen_known_answers() {
    let v = vectors();
    let cases = v["keyGen"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let seed: [u8; 32] = hex(&case["seed"]).try_into().unwrap();
        let key = MlDsa44SigningKey::from_seed(seed);
        assert_eq!(
            key.public_key().as_bytes(),
            hex(&case["pk"]).as_slice(),
            "tcId {}",
            case["tcId"]
        );
        #[allow(deprecated)]
        let sk = ExpandedSigningKey::<MlDsa44>::from_seed(&seed.into()).to_expanded();
        assert_eq!(sk.as_slice(), hex(&case["sk"]).as_slice());
        assert_eq!(key.seed(), seed);
    }
}

#[test]
fn siggen_known_answers() {
    let v = vectors();
    let det = v["sigGenDeterministic"].as_array().unwrap();
    let hedged = v["sigGenHedged"].as_array().unwrap();
    assert!(!det.is_empty() && !hedged.is_empty());
    for case in det.iter().chain(hedged) {
        let sk = expanded(&hex(&case["sk"]));
        let msg = hex(&case["message"]);
        let rnd: [u8; 32] = case
            .get("rnd")
            .map(|r| hex(r).try_into().unwrap())
            .unwrap_or([0; 32]);
        let sig = sk.sign_internal(&[&msg], &rnd.into());
        assert_eq!(
            sig.encode().as_slice(),
            hex(&case["signature"]).as_slice(),
            "tcId {}",
            case["tcId"]
        );
    }
}

#[test]
fn sigver_known_answers() {
    let v = vectors();
    let group = &v["sigVer"];
    let pk = MlDsa44PublicKey::from_bytes(&hex(&group["pk"])).unwrap();
    let vk = ml_dsa::VerifyingKey::<MlDsa44>::decode(pk.as_bytes().try_into().unwrap());
    let cases = group["tests"].as_array().unwrap();
    assert!(cases.iter().any(|c| c["testPassed"] == true));
    assert!(cases.iter().any(|c| c["testPassed"] == false));
    for case in cases {
        let msg = hex(&case["message"]);
        let sig = hex(&case["signature"]);
        let expected = case["testPassed"].as_bool().unwrap();
        let ok = Signature::<MlDsa44>::try_from(sig.as_slice())
            .map(|s| vk.verify_internal(&msg, &s))
            .unwrap_or(false);
        assert_eq!(ok, expected, "tcId {} ({})", case["tcId"], case["reason"]);
        // provlog's verifier, on the external message whose M' this would
        // be, must agree whenever M' has the empty-context prefix (it
        // never does in these vectors), and must never accept otherwise.
        if msg.starts_with(&[0, 0]) {
            assert_eq!(pk.verify(&msg[2..], &sig), expected);
        }
    }
}

/// provlog's `sign_deterministic(M)` = Sign_internal(sk, 0x00||0x00||M,
/// 0^32) and `verify(M, σ)` = Verify_internal(pk, 0x00||0x00||M, σ): the
/// FIPS 204 external interface with the empty context string.
#[test]
fn external_interface_is_internal_with_empty_context() {
    let v = vectors();
    let seed: [u8; 32] = hex(&v["keyGen"][0]["seed"]).try_into().unwrap();
    let key = MlDsa44SigningKey::from_seed(seed);
    let pk = key.public_key();
    #[allow(deprecated)]
    let sk = ExpandedSigningKey::<MlDsa44>::from_seed(&seed.into());
    for msg in [&b""[..], b"provlog", &[0u8; 300]] {
        let ours = key.sign_deterministic(msg).unwrap();
        let internal = sk.sign_internal(&[&[0, 0], msg], &[0u8; 32].into());
        assert_eq!(ours.as_slice(), internal.encode().as_slice());
        assert!(pk.verify(msg, &ours));
        // Hedged signatures differ but verify.
        let hedged = key.sign(msg).unwrap();
        assert_eq!(hedged.len(), ML_DSA_44_SIGNATURE_LEN);
        assert!(pk.verify(msg, &hedged));
        // A signature with a non-empty context (or pre-hash) is not ours.
        let with_ctx = sk.sign_deterministic(msg, b"x").unwrap();
        assert!(!pk.verify(msg, with_ctx.encode().as_slice()));
        let mut bad = ours;
        bad[100] ^= 1;
        assert!(!pk.verify(msg, &bad));
        assert!(!pk.verify(msg, &ours[..ML_DSA_44_SIGNATURE_LEN - 1]));
    }
}

/// draft-ietf-cose-dilithium's ML-DSA-44 example key is the all-zero seed;
/// its public key starts `ba71f9f6 4e11baeb` and ends `3830546b 9dd8db0d`.
#[test]
fn cose_dilithium_example_key_from_zero_seed() {
    let pk = MlDsa44SigningKey::from_seed([0; 32]).public_key();
    let b = pk.as_bytes();
    assert_eq!(hex::encode(&b[..8]), "ba71f9f64e11baeb");
    assert_eq!(hex::encode(&b[b.len() - 8..]), "3830546b9dd8db0d");
}
