//! Test fixtures made at test time: a throw-away CA and C2PA signer
//! (rcgen), images (the `image` crate), C2PA-signed assets (the SDK's
//! builder, or c2pa-python as an independent producer). Nothing is fetched.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use c2pa::{Builder, BuilderIntent, Context, DigitalSourceType};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// A test CA and an end-entity C2PA signing certificate issued by it.
pub struct TestPki {
    /// CA certificate (PEM): the trust anchor.
    pub ca_pem: String,
    /// Signer certificate chain (leaf then CA, PEM).
    pub chain_pem: String,
    /// Signer private key (PKCS#8 PEM).
    pub key_pem: String,
    pub chain_path: PathBuf,
    pub key_path: PathBuf,
    pub ca_path: PathBuf,
}

impl TestPki {
    pub fn new(dir: &Path, org: &str) -> TestPki {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "provlog test root CA");
        dn.push(DnType::OrganizationName, "provlog test CA");
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ee = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "provlog test signer");
        dn.push(DnType::OrganizationName, org);
        ee.distinguished_name = dn;
        ee.is_ca = IsCa::ExplicitNoCa;
        ee.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        ee.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        ee.use_authority_key_identifier_extension = true;
        let ee_cert = ee.signed_by(&key, &issuer).unwrap();

        let ca_pem = ca_cert.pem();
        let chain_pem = format!("{}{}", ee_cert.pem(), ca_pem);
        let key_pem = key.serialize_pem();
        let chain_path = dir.join("signer-chain.pem");
        let key_path = dir.join("signer-key.pem");
        let ca_path = dir.join("ca.pem");
        std::fs::write(&chain_path, &chain_pem).unwrap();
        std::fs::write(&key_path, &key_pem).unwrap();
        std::fs::write(&ca_path, &ca_pem).unwrap();
        TestPki {
            ca_pem,
            chain_pem,
            key_pem,
            chain_path,
            key_path,
            ca_path,
        }
    }

    pub fn signer(&self) -> Box<dyn c2pa::Signer> {
        c2pa::create_signer::from_keys(
            self.chain_pem.as_bytes(),
            self.key_pem.as_bytes(),
            c2pa::SigningAlg::Es256,
            None,
        )
        .unwrap()
    }
}

/// A deterministic test picture (smooth gradients plus a few shapes, so
/// perceptual hashes are meaningful).
pub fn picture(width: u32, height: u32, seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        let fx = x as f32 / width as f32;
        let fy = y as f32 / height as f32;
        let s = seed as f32;
        let r = (128.0 + 127.0 * (6.0 * fx + s).sin()) as u8;
        let g = (128.0 + 127.0 * (5.0 * fy + 2.0 * s).cos()) as u8;
        let cx = fx - 0.5 - 0.2 * (s).sin();
        let cy = fy - 0.5;
        let b = if cx * cx + cy * cy < 0.05 {
            240
        } else {
            (fx * fy * 255.0) as u8
        };
        image::Rgb([r, g, b])
    })
}

pub fn encode(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut Cursor::new(&mut out), format)
        .unwrap();
    out
}

pub fn write_image(dir: &Path, name: &str, seed: u32) -> PathBuf {
    let format = if name.ends_with(".png") {
        image::ImageFormat::Png
    } else {
        image::ImageFormat::Jpeg
    };
    let path = dir.join(name);
    std::fs::write(&path, encode(&picture(320, 240, seed), format)).unwrap();
    path
}

pub fn mime(path: &Path) -> &'static str {
    if path.extension().is_some_and(|e| e == "png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// Signs `input` into `output` with the Rust SDK's builder: a new manifest
/// with a c2pa.created action (trainedAlgorithmicMedia), claim generator
/// info, and the given soft bindings.
pub fn sign_with_sdk(pki: &TestPki, input: &Path, output: &Path, soft: &[(&str, &[u8])]) {
    let ctx = Context::new()
        .with_settings(serde_json::json!({"verify": {"verify_after_sign": false}}))
        .unwrap();
    let mut b = Builder::from_context(ctx);
    b.set_intent(BuilderIntent::Create(
        DigitalSourceType::TrainedAlgorithmicMedia,
    ));
    let mut info = c2pa::ClaimGeneratorInfo::new("imagegen");
    info.set_version("2.1");
    b.set_claim_generator_info(info);
    if !soft.is_empty() {
        use base64::Engine as _;
        let alg = soft[0].0;
        let blocks: Vec<_> = soft
            .iter()
            .map(|(_, v)| {
                serde_json::json!({"scope": {}, "value": base64::engine::general_purpose::STANDARD.encode(v)})
            })
            .collect();
        b.add_assertion(
            "c2pa.soft-binding",
            &serde_json::json!({"alg": alg, "blocks": blocks}),
        )
        .unwrap();
    }
    let mut src = std::fs::File::open(input).unwrap();
    let mut dst = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(output)
        .unwrap();
    b.sign(pki.signer().as_ref(), mime(input), &mut src, &mut dst)
        .unwrap();
}

/// The python interpreter with c2pa-python importable, or `None` (the
/// caller skips with a message; CI installs it, see .ci/run).
pub fn c2pa_python() -> Option<String> {
    let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import c2pa"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some(py)
    } else {
        if std::env::var_os("CI").is_some() {
            panic!("CI must have c2pa-python installed (pip install c2pa-python); see .ci/run");
        }
        eprintln!(
            "SKIPPED: c2pa-python is not installed (`pip install c2pa-python`); the \
             independent-producer checks did not run"
        );
        None
    }
}

pub fn python_tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/c2pa_tool.py")
}

/// Signs with c2pa-python.
pub fn sign_with_python(py: &str, pki: &TestPki, input: &Path, output: &Path, soft: &[&str]) {
    let mut cmd = Command::new(py);
    cmd.arg(python_tool())
        .arg("sign")
        .arg(input)
        .arg(output)
        .arg("--cert")
        .arg(&pki.chain_path)
        .arg("--key")
        .arg(&pki.key_path);
    for s in soft {
        cmd.arg("--soft").arg(s);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "c2pa-python sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Validates with c2pa-python; returns its JSON report.
pub fn read_with_python(py: &str, file: &Path) -> serde_json::Value {
    let out = Command::new(py)
        .arg(python_tool())
        .arg("read")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "c2pa-python read failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
