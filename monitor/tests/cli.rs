//! The `provlog-monitor` binary's command line.
//!
//! Being an integration test of this package also makes `cargo test
//! --workspace` build the `provlog-monitor` binary that the end-to-end tests
//! in `tests/` start.

use std::process::Command;

#[test]
fn help_lists_the_interface_flags_and_a_bad_config_is_refused() {
    let exe = env!("CARGO_BIN_EXE_provlog-monitor");
    let out = Command::new(exe).arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--data", "--listen", "--config"] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
    let dir = std::env::temp_dir().join(format!("provlog-monitor-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("bad.toml");
    std::fs::write(&config, "no_such_setting = 1\n").expect("write");
    let out = Command::new(exe)
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(!out.status.success(), "unknown config keys are refused");
    let _ = std::fs::remove_dir_all(&dir);
}
