//! The `provlog` binary starts and reports its version. Having an
//! integration test in this package also makes `cargo test --workspace`
//! build the binary, which the end-to-end tests in `tests/` run.

#[test]
fn provlog_binary_reports_its_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provlog"))
        .arg("--version")
        .output()
        .expect("run provlog");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("provlog "), "{text}");
}
