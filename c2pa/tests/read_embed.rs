//! Reading real manifest stores (made by the Rust SDK's builder and by
//! c2pa-python), refusing altered ones with the SDK's reasons, and embedding
//! a receipt in an update manifest that both SDKs still validate.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use provlog_c2pa::embed::{C2paSigner, embed_receipt};
use provlog_c2pa::read::read_manifest;
use provlog_c2pa::{C2paOptions, RECEIPT_ASSERTION};
use provlog_core::asset_match::{AssetMatch, ObservedAsset, match_asset};
use provlog_core::claim::{
    Asset, C2paValidationState, Claim, DigitalSourceType, Disclosure, Generator, HardBindingKind,
    HashAlg, SoftBindingKind,
};
use provlog_core::hash::sha256;

fn opts() -> C2paOptions {
    C2paOptions::default()
}

fn claim_for(path: &std::path::Path, facts: &provlog_c2pa::read::ManifestFacts) -> Claim {
    let bytes = std::fs::read(path).unwrap();
    let mut c = Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(&bytes),
            media_type: mime(path).into(),
            size: bytes.len() as u64,
        },
        c2pa: Some(facts.binding()),
        soft_bindings: facts.soft_bindings.clone(),
        generator: Generator {
            vendor: "Example AI".into(),
            tool: "imagegen".into(),
            version: "2.1".into(),
        },
        created: 1,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure::default(),
        consent: None,
        sequence: None,
    };
    c.version = c.required_version();
    c.validate().unwrap();
    c
}

fn observe(path: &std::path::Path) -> ObservedAsset {
    let bytes = std::fs::read(path).unwrap();
    ObservedAsset {
        sha256: sha256(&bytes),
        c2pa: read_manifest(path, mime(path), &opts())
            .unwrap()
            .map(|f| f.observed()),
    }
}

#[test]
fn reads_sdk_signed_jpeg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path(), "Example AI");
    for name in ["photo.jpg", "photo.png"] {
        let plain = write_image(dir.path(), &format!("plain-{name}"), 3);
        let signed = dir.path().join(name);
        sign_with_sdk(
            &pki,
            &plain,
            &signed,
            &[("com.example.wm.1", b"\x01\x02\x03")],
        );
        let f = read_manifest(&signed, mime(&signed), &opts())
            .unwrap()
            .expect("has a manifest");
        assert!(f.embedded);
        assert_eq!(f.active_manifest, f.binding_manifest);
        assert!(
            f.binding_manifest.starts_with("urn:c2pa:"),
            "{}",
            f.binding_manifest
        );
        assert_eq!(f.hard_binding.kind, HardBindingKind::Data);
        assert_eq!(f.hard_binding.alg, HashAlg::Sha256);
        assert_eq!(f.hard_binding.hash.len(), 32);
        assert!(
            !f.hard_binding.exclusions.is_empty(),
            "the store is excluded"
        );
        assert_eq!(f.claim_hash.len(), 32);
        assert!(f.hard_binding_verified, "{name}: {:?}", f.validation);
        // No trust anchors given: valid, signer untrusted (recorded).
        assert_eq!(
            f.validation.state,
            C2paValidationState::Valid,
            "{:?}",
            f.validation
        );
        assert_eq!(
            f.validation.codes,
            vec!["signingCredential.untrusted".to_string()]
        );
        assert_eq!(
            f.source_type,
            Some(Ok(DigitalSourceType::TrainedAlgorithmicMedia))
        );
        let g = f.generator.clone().expect("generator");
        assert_eq!(g.tool, "imagegen");
        assert_eq!(g.version.as_deref(), Some("2.1"));
        assert_eq!(f.soft_bindings.len(), 1);
        assert_eq!(f.soft_bindings[0].kind, SoftBindingKind::C2pa);
        assert_eq!(f.soft_bindings[0].alg, "com.example.wm.1");
        assert_eq!(f.soft_bindings[0].value, vec![1, 2, 3]);
        assert!(f.receipts.is_empty());
        // The exclusion covers the manifest store: hashing the file with it
        // left out reproduces the hard-binding hash.
        let bytes = std::fs::read(&signed).unwrap();
        let mut kept = Vec::new();
        let mut at = 0usize;
        for r in &f.hard_binding.exclusions {
            kept.extend_from_slice(&bytes[at..r.start as usize]);
            at = (r.start + r.length) as usize;
        }
        kept.extend_from_slice(&bytes[at..]);
        assert_eq!(sha256(&kept).to_vec(), f.hard_binding.hash, "{name}");
        // A plain file has no manifest.
        assert!(
            read_manifest(&plain, mime(&plain), &opts())
                .unwrap()
                .is_none()
        );
    }
}

#[test]
fn trust_anchors_make_the_signer_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path(), "Example AI");
    let plain = write_image(dir.path(), "plain.jpg", 4);
    let signed = dir.path().join("a.jpg");
    sign_with_sdk(&pki, &plain, &signed, &[]);
    let o = C2paOptions {
        trust_anchors: Some(pki.ca_pem.clone()),
    };
    let f = read_manifest(&signed, "image/jpeg", &o).unwrap().unwrap();
    assert_eq!(
        f.validation.state,
        C2paValidationState::Trusted,
        "{:?}",
        f.validation
    );
    assert!(f.validation.codes.is_empty());
    // Another CA's anchors do not.
    let other = TestPki::new(&dir.path().join(".."), "Other");
    let o = C2paOptions {
        trust_anchors: Some(other.ca_pem.clone()),
    };
    let f = read_manifest(&signed, "image/jpeg", &o).unwrap().unwrap();
    assert_eq!(f.validation.state, C2paValidationState::Valid);
}

/// Changing pixels (bytes outside the manifest store) breaks the hard
/// binding: the SDK says `assertion.dataHash.mismatch`, the store is
/// invalid, and the file no longer matches a claim made for the original.
#[test]
fn altered_pixels_fail_with_the_sdk_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path(), "Example AI");
    for name in ["x.jpg", "x.png"] {
        let plain = write_image(dir.path(), &format!("plain-{name}"), 5);
        let signed = dir.path().join(name);
        sign_with_sdk(&pki, &plain, &signed, &[]);
        let f = read_manifest(&signed, mime(&signed), &opts())
            .unwrap()
            .unwrap();
        let claim = claim_for(&signed, &f);
        let mut bytes = std::fs::read(&signed).unwrap();
        // The last byte before the end marker is image data in both formats.
        let n = bytes.len();
        bytes[n - 20] ^= 0x55;
        std::fs::write(&signed, &bytes).unwrap();
        let g = read_manifest(&signed, mime(&signed), &opts())
            .unwrap()
            .unwrap();
        assert_eq!(g.validation.state, C2paValidationState::Invalid, "{name}");
        assert!(!g.hard_binding_verified);
        assert!(
            g.validation
                .codes
                .iter()
                .any(|c| c == "assertion.dataHash.mismatch"),
            "{name}: {:?}",
            g.validation.codes
        );
        let e = match_asset(&claim, &observe(&signed)).expect_err("must not match");
        assert!(e.to_string().contains("assertion.dataHash.mismatch"), "{e}");
    }
}

/// The receipt goes into an update manifest: the file's SHA-256 changes,
/// its content and hard binding do not; the SDK reads the receipt back and
/// the claim made before still matches by hard binding.
#[test]
fn embedded_receipt_keeps_the_hard_binding() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path(), "Example AI");
    let signer = C2paSigner::from_files(&pki.chain_path, &pki.key_path, "es256").unwrap();
    for name in ["e.jpg", "e.png"] {
        let plain = write_image(dir.path(), &format!("plain-{name}"), 6);
        let signed = dir.path().join(name);
        sign_with_sdk(&pki, &plain, &signed, &[]);
        let before = read_manifest(&signed, mime(&signed), &opts())
            .unwrap()
            .unwrap();
        let claim = claim_for(&signed, &before);
        let receipt =
            b"\xa1\x61\x76\x01 not a real receipt, opaque bytes to the C2PA layer".to_vec();
        let after = embed_receipt(&signed, mime(&signed), &receipt, &signer, &opts()).unwrap();
        assert_ne!(
            after.active_manifest, before.active_manifest,
            "a new (update) manifest"
        );
        assert_eq!(after.binding_manifest, before.binding_manifest);
        assert_eq!(after.hard_binding, before.hard_binding);
        assert!(after.hard_binding_verified, "{:?}", after.validation);
        assert_eq!(
            after.validation.state,
            C2paValidationState::Valid,
            "{:?}",
            after.validation
        );
        assert_eq!(after.receipts, vec![receipt.clone()]);
        let reread = read_manifest(&signed, mime(&signed), &opts())
            .unwrap()
            .unwrap();
        assert_eq!(reread.receipts, vec![receipt]);
        let o = observe(&signed);
        assert_ne!(o.sha256, claim.asset.sha256);
        assert_eq!(match_asset(&claim, &o), Ok(AssetMatch::HardBinding));
        // No temporary file left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("provlog-embed"))
            .collect();
        assert!(left.is_empty());
    }
}

#[test]
fn embed_refuses_a_file_without_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path(), "Example AI");
    let signer = C2paSigner::from_files(&pki.chain_path, &pki.key_path, "es256").unwrap();
    let plain = write_image(dir.path(), "plain.jpg", 7);
    let before = std::fs::read(&plain).unwrap();
    let e = embed_receipt(&plain, "image/jpeg", b"r", &signer, &opts()).unwrap_err();
    assert!(e.to_string().contains("no C2PA manifest"), "{e}");
    assert_eq!(std::fs::read(&plain).unwrap(), before, "untouched");
}

/// Files signed by an independent producer (c2pa-python) are read the same
/// way; after `embed_receipt`, c2pa-python still validates them and sees
/// the receipt assertion.
#[test]
fn c2pa_python_interop() {
    let Some(py) = c2pa_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path(), "Example AI");
    let signer = C2paSigner::from_files(&pki.chain_path, &pki.key_path, "es256").unwrap();
    for name in ["py.jpg", "py.png"] {
        let plain = write_image(dir.path(), &format!("plain-{name}"), 8);
        let signed = dir.path().join(name);
        sign_with_python(&py, &pki, &plain, &signed, &["com.example.fp.1=AAEC"]);
        let report = read_with_python(&py, &signed);
        assert_eq!(report["validation_state"], "Valid", "{report}");
        let f = read_manifest(&signed, mime(&signed), &opts())
            .unwrap()
            .unwrap();
        assert_eq!(report["active_manifest"], f.active_manifest.as_str());
        assert_eq!(f.binding_manifest, f.active_manifest);
        assert!(f.hard_binding_verified, "{:?}", f.validation);
        assert_eq!(f.hard_binding.kind, HardBindingKind::Data);
        assert_eq!(
            f.source_type,
            Some(Ok(DigitalSourceType::TrainedAlgorithmicMedia))
        );
        assert_eq!(
            f.generator.as_ref().unwrap().tool,
            "c2pa-python-test-producer"
        );
        assert_eq!(f.soft_bindings[0].alg, "com.example.fp.1");
        assert_eq!(f.soft_bindings[0].value, vec![0, 1, 2]);
        let claim = claim_for(&signed, &f);
        embed_receipt(&signed, mime(&signed), b"receipt bytes", &signer, &opts()).unwrap();
        let report = read_with_python(&py, &signed);
        assert_eq!(report["validation_state"], "Valid", "{report}");
        assert!(
            report["assertions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == RECEIPT_ASSERTION),
            "{report}"
        );
        assert_eq!(
            match_asset(&claim, &observe(&signed)),
            Ok(AssetMatch::HardBinding)
        );
        // Altered pixels: c2pa-python and our reader agree it is broken.
        let mut bytes = std::fs::read(&signed).unwrap();
        let n = bytes.len();
        bytes[n - 20] ^= 0x55;
        std::fs::write(&signed, &bytes).unwrap();
        let report = read_with_python(&py, &signed);
        assert_eq!(report["validation_state"], "Invalid", "{report}");
        assert!(match_asset(&claim, &observe(&signed)).is_err());
    }
}
