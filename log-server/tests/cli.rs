//! The `provlog-server` binary's own command line: key creation and `vkey`.
//!
//! Being an integration test of this package also makes `cargo test
//! --workspace` build the `provlog-server` binary that the end-to-end tests
//! in `tests/` start.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn first_start_makes_a_0600_key_that_vkey_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = env!("CARGO_BIN_EXE_provlog-server");
    // No key yet: `vkey` fails and says why.
    let out = Command::new(exe)
        .args(["vkey", "--data"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("log.key"));
    // Start once on an address this machine does not have (TEST-NET-1):
    // binding comes first (a new log's origin may be derived from the bound
    // address), so it fails and creates nothing.
    let out = Command::new(exe)
        .args([
            "--listen",
            "192.0.2.1:7300",
            "--origin",
            "test.example/log",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "an address it cannot bind is an error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
    assert!(!dir.path().join("log.key").exists(), "nothing created");
    // `init` makes the key (and prints its vkey) without serving.
    let out = Command::new(exe)
        .args(["init", "--origin", "test.example/log", "--data"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(printed.starts_with("test.example/log+"), "{printed}");
    let key = dir.path().join("log.key");
    assert_eq!(
        std::fs::metadata(&key)
            .expect("key created")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let out = Command::new(exe)
        .args(["vkey", "--data"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(out.status.success());
    let vkey = String::from_utf8_lossy(&out.stdout);
    assert!(vkey.starts_with("test.example/log+"), "{vkey}");
    let out = Command::new(exe).arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--data",
        "--listen",
        "--accept-keys",
        "--batch-interval-ms",
        "--witness",
    ] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
}
