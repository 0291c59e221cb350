//! The SCITT vectors (COSE receipts, signed statements, the transparent
//! statement, the COSE_KeySet) verified by independent implementations:
//! `core/tests/pycose/verify.py` uses pycose and cbor2 (COSE/CBOR), its own
//! RFC 9162 code, and dilithium-py for ML-DSA-44 (pycose has none).
//!
//! Needs `python3` with `pip install pycose 'cbor2<6' dilithium-py` (the
//! `.ci/run` script installs them; pycose 1.1 does not work with cbor2 6,
//! which decodes arrays as tuples). This test installs nothing: without
//! them it fails and says what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

const INSTALL: &str = "pip install pycose 'cbor2<6' dilithium-py";

fn run(vectors: &Path) -> std::process::Output {
    let script = root().join("core/tests/pycose/verify.py");
    match Command::new("python3").arg(&script).arg(vectors).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run python3 ({e}); install Python 3, then: {INSTALL}"),
    }
}

fn require_modules() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import pycose, cbor2, dilithium_py; from pycose.messages import Sign1Message; \
             import sys; v = cbor2.loads(bytes([0xd2, 0x80])); \
             sys.exit(0 if isinstance(v.value, list) else 3)",
        ])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) if o.status.code() == Some(3) => {
            panic!("cbor2 6 decodes arrays as tuples, which pycose 1.1 cannot read: {INSTALL}")
        }
        Ok(o) => panic!(
            "python3 lacks pycose/cbor2/dilithium-py ({}); run: {INSTALL}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("cannot run python3 ({e}); install Python 3, then: {INSTALL}"),
    }
}

#[test]
fn pycose_verifies_the_scitt_vectors() {
    require_modules();
    let out = run(&root().join("spec/vectors"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "independent verification failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all SCITT vectors verified independently"));
    assert!(stdout.contains("EdDSA signature verified by pycose"));
    assert!(stdout.contains("ML-DSA-44 signature verified by dilithium-py"));
}

/// The script is not a rubber stamp: a copy of the vectors with one
/// signature byte flipped in each receipt, or in the statement, fails.
#[test]
fn pycose_rejects_tampered_vectors() {
    require_modules();
    let src = root().join("spec/vectors");
    for (file, from_end) in [
        ("scitt/receipt-1.cose", 1usize),
        ("scitt/receipt-1.mldsa.cose", 1),
        ("scitt/statement-1.mldsa.cose", 1),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["keys", "scitt"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
            for e in std::fs::read_dir(src.join(sub)).expect("read_dir") {
                let e = e.expect("entry");
                std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).expect("copy");
            }
        }
        let path = dir.path().join(file);
        let mut bytes = std::fs::read(&path).expect("read");
        let n = bytes.len();
        bytes[n - from_end] ^= 0x01;
        std::fs::write(&path, bytes).expect("write");
        let out = run(dir.path());
        assert!(!out.status.success(), "tampered {file} was accepted");
    }
}
