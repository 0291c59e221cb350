//! Every `provlog` failure exits with the status of its kind (1 does not
//! verify, 2 bad arguments, 3 could not check, 4 refused by the log), names
//! its cause in words (no Rust debug text), and with `--json` is also a
//! JSON object `{"error", "kind", "exit"}` on stdout (issue 11, item 15).
//!
//! Needs the binaries: `cargo build -p provlog-cli -p provlog-server`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use provlog_e2e::{CliRun, LogProcess, free_port, provlog, write_media_tree};

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

/// One failure: the command, its exit status, its kind, and words the
/// message must contain.
struct Case {
    what: &'static str,
    args: Vec<OsString>,
    code: i32,
    kind: &'static str,
    says: &'static str,
}

/// Debug renderings that must never reach a user.
const DEBUG_TEXT: &[&str] = &[
    "Error {",
    "kind:",
    "Os {",
    "builder error",
    "Custom {",
    "code: ",
];

fn check(case: &Case) {
    let run: CliRun = provlog(&case.args);
    assert_eq!(run.code, Some(case.code), "{}: {run:?}", case.what);
    assert!(
        run.stderr.contains(case.says),
        "{}: expected {:?} in stderr {:?}",
        case.what,
        case.says,
        run.stderr
    );
    for d in DEBUG_TEXT {
        assert!(
            !run.stderr.contains(d),
            "{}: debug text {d:?} in {:?}",
            case.what,
            run.stderr
        );
    }
    // The same with --json: the error as the last JSON line on stdout.
    let mut a = case.args.clone();
    a.push("--json".into());
    let run = provlog(&a);
    assert_eq!(run.code, Some(case.code), "{} --json: {run:?}", case.what);
    let last = run.stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{} --json: stdout {:?} is not JSON: {e}",
            case.what, run.stdout
        )
    });
    let (kind, msg) = match v.get("summary") {
        // submit/fetch print per-file lines: the failed one carries the kind.
        Some(_) => {
            let failed = run
                .stdout
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l.get("kind").is_some())
                .unwrap_or_else(|| panic!("{}: no failed line in {:?}", case.what, run.stdout));
            (failed["kind"].clone(), failed["error"].clone())
        }
        None => (v["kind"].clone(), v["error"].clone()),
    };
    assert_eq!(kind, case.kind, "{} --json: {v}", case.what);
    let msg = msg.as_str().unwrap_or_default().to_string();
    assert!(
        !msg.is_empty(),
        "{} --json: no error text in {v}",
        case.what
    );
    if v.get("exit").is_some() {
        assert_eq!(v["exit"], case.code, "{} --json: {v}", case.what);
    }
}

#[test]
fn each_failure_kind_has_its_exit_status_and_a_plain_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = LogProcess::start(&d.join("log"), &["--batch-interval-ms", "20"]);
    let key = d.join("vendor.key");
    assert!(provlog(args!["keygen", "--out", &key, "--name", "imagegen.example"]).ok());
    let other_key = d.join("other.key");
    let other = provlog(args![
        "keygen",
        "--out",
        &other_key,
        "--name",
        "not-the-log"
    ]);
    let wrong_vkey = other.stdout.trim().to_string();
    let media = d.join("media");
    let files = write_media_tree(&media, 3, "err");
    let run = provlog(args![
        "submit",
        "--log",
        &log.url,
        "--key",
        &key,
        "--log-key",
        &log.vkey,
        &media
    ]);
    assert!(run.ok(), "{run:?}");
    let good = &files[0];

    let tampered = d.join("tampered.png");
    let mut bytes = std::fs::read(good).expect("read");
    bytes.push(1);
    std::fs::write(&tampered, &bytes).expect("write");
    let no_receipt = d.join("alone.png");
    std::fs::write(&no_receipt, b"\x89PNG\r\n\x1a\nalone").expect("write");
    let garbage_receipt = d.join("garbage.provlog");
    std::fs::write(&garbage_receipt, b"\xa1\x00\x01not a receipt").expect("write");
    let not_evidence = d.join("ev.json");
    std::fs::write(&not_evidence, b"{\"kind\":\"nope\"}").expect("write");
    let closed = format!("http://127.0.0.1:{}", free_port());
    let zeros = "00".repeat(32);
    let accept = d.join("accepted");
    std::fs::write(&accept, format!("{wrong_vkey}\n")).expect("write");
    let picky = LogProcess::start(
        &d.join("picky"),
        &["--accept-keys", &accept.to_string_lossy()],
    );

    let cases = vec![
        Case {
            what: "an unknown flag",
            args: args!["verify", good, "--no-such-flag"],
            code: 2,
            kind: "usage",
            says: "--no-such-flag",
        },
        Case {
            what: "a URL without a scheme",
            args: args![
                "submit",
                "--log",
                "127.0.0.1:7300",
                "--key",
                &key,
                "--log-key",
                &log.vkey,
                &media
            ],
            code: 2,
            kind: "usage",
            says: "no scheme in URL",
        },
        Case {
            what: "a malformed --log-key",
            args: args!["verify", good, "--log-key", "not a vkey"],
            code: 2,
            kind: "usage",
            says: "--log-key",
        },
        Case {
            what: "a malformed --sha256",
            args: args![
                "lookup",
                "--log",
                &log.url,
                "--log-key",
                &log.vkey,
                "--sha256",
                "zz"
            ],
            code: 2,
            kind: "usage",
            says: "not 64 hex digits",
        },
        Case {
            what: "a malformed --generator",
            args: args![
                "submit",
                "--log",
                &log.url,
                "--key",
                &key,
                "--log-key",
                &log.vkey,
                "--generator",
                "no-slashes",
                &media
            ],
            code: 2,
            kind: "usage",
            says: "--generator",
        },
        Case {
            what: "a log that is not running (lookup)",
            args: args![
                "lookup",
                "--log",
                &closed,
                "--log-key",
                &log.vkey,
                "--sha256",
                &zeros
            ],
            code: 3,
            kind: "could-not-check",
            says: "connection refused",
        },
        Case {
            what: "a log that is not running (submit, no retries before the key check)",
            args: args![
                "submit",
                "--log",
                &closed,
                "--key",
                &key,
                "--log-key",
                &log.vkey,
                &media
            ],
            code: 3,
            kind: "could-not-check",
            says: "connection refused",
        },
        Case {
            what: "a missing receipt",
            args: args!["verify", &no_receipt, "--log-key", &log.vkey],
            code: 3,
            kind: "could-not-check",
            says: "no receipt for",
        },
        Case {
            what: "a missing file",
            args: args!["verify", d.join("nope.png"), "--log-key", &log.vkey],
            code: 3,
            kind: "could-not-check",
            says: "nope.png",
        },
        Case {
            what: "a missing key file",
            args: args!["claim", good, "--key", d.join("missing.key")],
            code: 3,
            kind: "could-not-check",
            says: "missing.key",
        },
        Case {
            what: "a key file that exists already",
            args: args!["keygen", "--out", &key],
            code: 3,
            kind: "could-not-check",
            says: "never overwritten",
        },
        Case {
            what: "audit with nothing remembered",
            args: args![
                "audit",
                "--log",
                &log.url,
                "--log-key",
                &log.vkey,
                "--state-dir",
                d.join("st")
            ],
            code: 3,
            kind: "could-not-check",
            says: "provlog checkpoint",
        },
        Case {
            what: "a tampered file",
            args: args![
                "verify",
                &tampered,
                "--receipt",
                sidecar(good, "provlog"),
                "--log-key",
                &log.vkey
            ],
            code: 1,
            kind: "not-verified",
            says: "asset hash mismatch",
        },
        Case {
            what: "the wrong log key (verify)",
            args: args!["verify", good, "--log-key", &wrong_vkey],
            code: 1,
            kind: "not-verified",
            says: "NOT VERIFIED",
        },
        Case {
            what: "the wrong log key (checkpoint)",
            args: args![
                "checkpoint",
                "--log",
                &log.url,
                "--log-key",
                &wrong_vkey,
                "--state-dir",
                d.join("st2")
            ],
            code: 1,
            kind: "not-verified",
            says: "does not verify",
        },
        Case {
            what: "the wrong log key (submit)",
            args: args![
                "submit",
                "--log",
                &log.url,
                "--key",
                &key,
                "--log-key",
                &wrong_vkey,
                &media
            ],
            code: 1,
            kind: "not-verified",
            says: "does not sign with the key you gave",
        },
        Case {
            what: "a receipt that does not decode",
            args: args![
                "verify",
                good,
                "--receipt",
                &garbage_receipt,
                "--log-key",
                &log.vkey
            ],
            code: 1,
            kind: "not-verified",
            says: "garbage.provlog",
        },
        Case {
            what: "an asset the log does not have",
            args: args![
                "lookup",
                "--log",
                &log.url,
                "--log-key",
                &log.vkey,
                "--sha256",
                &zeros
            ],
            code: 1,
            kind: "not-verified",
            says: "no claims found",
        },
        Case {
            what: "a receipt to fetch for an asset never logged",
            args: args![
                "receipt",
                "fetch",
                "--log",
                &log.url,
                "--log-key",
                &log.vkey,
                &no_receipt
            ],
            code: 1,
            kind: "not-verified",
            says: "has no claim for",
        },
        Case {
            what: "evidence that is not evidence",
            args: args!["verify-evidence", &not_evidence, "--key", &log.vkey],
            code: 1,
            kind: "not-verified",
            says: "NOT valid evidence",
        },
        Case {
            what: "a vendor key the log does not accept",
            args: args![
                "submit",
                "--log",
                &picky.url,
                "--key",
                &key,
                "--log-key",
                &picky.vkey,
                &media
            ],
            code: 4,
            kind: "refused",
            says: "accepted-keys",
        },
    ];
    for case in &cases {
        check(case);
    }
    // Help and version are not failures.
    for a in [
        args!["--help"],
        args!["--version"],
        args!["verify", "--help"],
    ] {
        let run = provlog(&a);
        assert_eq!(run.code, Some(0), "{a:?}: {run:?}");
    }
    let help = provlog(args!["--help"]);
    for needle in [
        "Exit status",
        "could not check",
        "provlog-server",
        "provlog-monitor",
    ] {
        assert!(
            help.stdout.contains(needle),
            "--help lacks {needle:?}: {}",
            help.stdout
        );
    }
}
