//! `provlog verify` of several files or a folder (with witnesses and C2PA
//! bindings shown), the config file, shell completions, `keygen --show`,
//! and `audit` state keyed by the log's key (issue 18, CLI).
//!
//! Needs the binaries: `cargo build -p provlog-cli -p provlog-server`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ed25519_dalek::Signer as _;
use provlog_core::note::{Note, NoteSignature, NoteSigner, cosignature_message};
use provlog_core::receipt::Receipt;
use provlog_e2e::{CliRun, LogProcess, bin, provlog, write_media_tree};

macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(OsString::from($a)),*]
    };
}

fn sidecar(file: &Path, ext: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Runs `provlog` with exactly the `PROVLOG_*`/XDG variables given.
fn provlog_env(args: Vec<OsString>, env: &[(&str, &OsString)]) -> CliRun {
    let mut cmd = Command::new(bin("provlog"));
    cmd.args(args)
        .env_remove("PROVLOG_LOG")
        .env_remove("PROVLOG_LOG_KEY")
        .env_remove("PROVLOG_STATE_DIR")
        .env_remove("PROVLOG_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run provlog");
    CliRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn verify_takes_several_files_or_a_folder_and_shows_who_cosigned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = LogProcess::start(&d.join("log"), &["--batch-interval-ms", "20"]);
    let key = d.join("vendor.key");
    assert!(provlog(args!["keygen", "--out", &key]).ok());
    let media = d.join("media");
    let files = write_media_tree(&media, 5, "many");
    assert!(
        provlog(args![
            "submit",
            "--log",
            &log.url,
            "--key",
            &key,
            "--log-key",
            &log.vkey,
            &media
        ])
        .ok()
    );
    // Two more in the folder: a changed file, and one without a receipt.
    let changed = &files[1];
    let mut bytes = std::fs::read(changed).expect("read");
    bytes.push(9);
    std::fs::write(changed, bytes).expect("write");
    let alone = media.join("alone.png");
    std::fs::write(&alone, b"\x89PNG\r\n\x1a\nalone").expect("write");

    let run = provlog(args!["verify", &media, "--log-key", &log.vkey]);
    assert_eq!(run.code, Some(1), "one file does not verify: {run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        7,
        "one line per file and a summary: {}",
        run.stdout
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("VERIFIED ")).count(),
        4,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!(
        "NOT VERIFIED {}: asset hash mismatch",
        changed.display()
    )));
    assert!(
        run.stdout
            .contains(&format!("NOT CHECKED {}: no receipt for", alone.display()))
    );
    assert_eq!(
        lines.last().copied(),
        Some("4 of 6 files verified, 1 did not verify, 1 could not be checked")
    );
    let run = provlog(args!["verify", &media, "--log-key", &log.vkey, "--json"]);
    let objs: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(objs.len(), 7);
    assert_eq!(objs[6]["summary"]["verified"], 4);
    assert_eq!(objs[6]["summary"]["not_verified"], 1);
    // Several files named: all verify, exit 0.
    let run = provlog(args![
        "verify",
        &files[0],
        &files[2],
        "--log-key",
        &log.vkey
    ]);
    assert!(run.ok(), "{run:?}");
    assert!(
        run.stdout.contains("2 of 2 files verified"),
        "{}",
        run.stdout
    );

    // A receipt cosigned by a witness the policy names: the verdict says who.
    let witness = NoteSigner::generate_cosigner("witness.example").expect("witness");
    let receipt_path = sidecar(&files[0], "provlog");
    let mut receipt =
        Receipt::from_cbor(&std::fs::read(&receipt_path).expect("read")).expect("receipt");
    let note = Note::parse(&receipt.checkpoint).expect("note");
    let ts = 1_800_000_000u64;
    let sig = witness
        .signing_key()
        .sign(&cosignature_message(&note.text, ts));
    let mut raw = ts.to_be_bytes().to_vec();
    raw.extend_from_slice(&sig.to_bytes());
    let line = NoteSignature {
        name: "witness.example".into(),
        key_id: witness.key_id(),
        signature: raw,
    }
    .to_line();
    receipt.checkpoint.extend_from_slice(line.as_bytes());
    std::fs::write(&receipt_path, receipt.to_cbor()).expect("write");
    let policy = d.join("witnessed.policy");
    std::fs::write(
        &policy,
        format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            log.vkey,
            witness.verifier_key().to_vkey()
        ),
    )
    .expect("write");
    let run = provlog(args!["verify", &files[0], "--policy", &policy]);
    assert!(run.ok(), "{run:?}");
    assert!(
        run.stdout
            .contains("witnesses   w1 (cosigned 2027-01-15T08:00:00Z)"),
        "{}",
        run.stdout
    );
    let run = provlog(args!["verify", &files[0], &files[2], "--policy", &policy]);
    assert!(run.stdout.contains("cosigned by w1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("NOT VERIFIED"),
        "files[2] has no cosignature: {}",
        run.stdout
    );
}

#[test]
fn the_config_file_supplies_defaults_and_flags_and_env_win() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = LogProcess::start(&d.join("log"), &["--batch-interval-ms", "20"]);
    let key = d.join("vendor.key");
    assert!(provlog(args!["keygen", "--out", &key]).ok());
    let (_, wrong) = {
        let k = d.join("wrong.key");
        let r = provlog(args!["keygen", "--out", &k, "--name", "not-the-log"]);
        (k, r.stdout.trim().to_string())
    };
    let xdg = d.join("xdg");
    std::fs::create_dir_all(xdg.join("provlog")).expect("mkdir");
    let write_config = |log_key: &str| {
        std::fs::write(
            xdg.join("provlog/config.toml"),
            format!(
                "log = \"{}\"\nlog_key = \"{log_key}\"\nkey = \"{}\"\n",
                log.url,
                key.display()
            ),
        )
        .expect("write config");
    };
    let xdg_os = OsString::from(&xdg);
    let media = d.join("media");
    let files = write_media_tree(&media, 3, "cfg");

    // Everything from the config file.
    write_config(&log.vkey);
    let run = provlog_env(args!["submit", &media], &[("XDG_CONFIG_HOME", &xdg_os)]);
    assert!(run.ok(), "submit from config: {run:?}");
    let run = provlog_env(args!["verify", &files[0]], &[("XDG_CONFIG_HOME", &xdg_os)]);
    assert!(run.ok(), "verify from config: {run:?}");

    // A flag wins over the config.
    let run = provlog_env(
        args!["verify", &files[0], "--log-key", &wrong],
        &[("XDG_CONFIG_HOME", &xdg_os)],
    );
    assert_eq!(run.code, Some(1), "the flag's (wrong) key is used: {run:?}");
    // The environment wins over the config.
    write_config(&wrong);
    let good = OsString::from(&log.vkey);
    let run = provlog_env(
        args!["verify", &files[0]],
        &[("XDG_CONFIG_HOME", &xdg_os), ("PROVLOG_LOG_KEY", &good)],
    );
    assert!(run.ok(), "the environment's key is used: {run:?}");
    let run = provlog_env(args!["verify", &files[0]], &[("XDG_CONFIG_HOME", &xdg_os)]);
    assert_eq!(
        run.code,
        Some(1),
        "the config's (wrong) key is used: {run:?}"
    );
    // A flag wins over the environment.
    let run = provlog_env(
        args!["verify", &files[0], "--log-key", &log.vkey],
        &[("PROVLOG_LOG_KEY", &OsString::from(&wrong))],
    );
    assert!(run.ok(), "{run:?}");
    // PROVLOG_CONFIG names another file; an unknown key is a usage error.
    let other = d.join("other.toml");
    std::fs::write(&other, "lgo = \"typo\"\n").expect("write");
    let run = provlog_env(
        args!["verify", &files[0]],
        &[("PROVLOG_CONFIG", &OsString::from(&other))],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("lgo"), "{}", run.stderr);
}

#[test]
fn completions_keygen_show_and_help() {
    for shell in ["bash", "zsh", "fish"] {
        let run = provlog(args!["completions", shell]);
        assert!(run.ok(), "{shell}: {run:?}");
        for word in ["provlog", "submit", "verify", "log-key"] {
            assert!(run.stdout.contains(word), "{shell} script lacks {word:?}");
        }
    }
    let run = provlog(args!["completions", "tcsh"]);
    assert_eq!(run.code, Some(2), "{run:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("vendor.key");
    let made = provlog(args!["keygen", "--out", &key, "--name", "imagegen.example"]);
    assert!(made.ok());
    let shown = provlog(args!["keygen", "--show", &key]);
    assert!(shown.ok(), "{shown:?}");
    assert_eq!(shown.stdout, made.stdout, "the same vkey");
    let json = provlog(args!["keygen", "--show", &key, "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.stdout.trim()).expect("JSON");
    assert_eq!(v["vkey"], made.stdout.trim());
    let missing = provlog(args!["keygen", "--show", dir.path().join("nope.key")]);
    assert_eq!(missing.code, Some(3), "{missing:?}");

    let help = provlog(args!["--help"]);
    for needle in [
        "provlog-server",
        "provlog-monitor",
        "config.toml",
        "Exit status",
    ] {
        assert!(help.stdout.contains(needle), "--help lacks {needle:?}");
    }
}

#[test]
fn audit_state_of_two_logs_with_the_same_origin_does_not_collide() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let a = LogProcess::start(&d.join("a"), &["--batch-interval-ms", "20"]);
    let b = LogProcess::start(&d.join("b"), &["--batch-interval-ms", "20"]);
    let origin = |v: &str| v.split('+').next().unwrap_or_default().to_string();
    assert_eq!(
        origin(&a.vkey),
        origin(&b.vkey),
        "both use the default origin"
    );
    assert_ne!(a.vkey, b.vkey);
    let state = d.join("state");
    let cp = |log: &LogProcess, cmd: &str| {
        provlog(args![
            cmd,
            "--log",
            &log.url,
            "--log-key",
            &log.vkey,
            "--state-dir",
            &state
        ])
    };
    assert!(cp(&a, "checkpoint").ok());
    let run = cp(&b, "checkpoint");
    assert!(run.ok(), "B's state is its own: {run:?}");
    let run = cp(&a, "audit");
    assert!(run.ok(), "A still audits against A's checkpoint: {run:?}");
    let run = cp(&b, "audit");
    assert!(run.ok(), "and B against B's: {run:?}");
    let files: Vec<_> = std::fs::read_dir(&state).expect("state").collect();
    assert_eq!(files.len(), 2, "one file per log key and origin");
}
