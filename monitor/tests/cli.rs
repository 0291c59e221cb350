//! The `provlog-monitor` binary's command line.
//!
//! Being an integration test of this package also makes `cargo test
//! --workspace` build the `provlog-monitor` binary that the end-to-end tests
//! in `tests/` start.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use provlog_core::note::NoteSigner;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_provlog-monitor")
}

fn run(args: &[&str]) -> Output {
    Command::new(exe())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run provlog-monitor")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_the_interface_flags_and_related_commands_and_a_bad_config_is_refused() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for flag in ["--data", "--listen", "--config"] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
    for related in [
        "provlog-monitor init",
        "provlog-monitor vkey",
        "provlog-monitor evidence",
        "provlog verify-evidence",
        "provlog-server --witness",
    ] {
        assert!(help.contains(related), "--help mentions {related}");
    }
    for sub in ["init", "vkey", "evidence"] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "no_such_setting = 1\n").expect("write");
    let out = Command::new(exe())
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(!out.status.success(), "unknown config keys are refused");
}

fn init(data: &Path, name: &str, log: &str, extra: &[&str]) -> Output {
    let mut args = vec!["init", "--name", name, "--log", log, "--data"];
    let d = data.display().to_string();
    args.push(&d);
    args.extend_from_slice(extra);
    run(&args)
}

/// Starts the monitor on `data` (its config found in `data/config.toml`),
/// reads stdout until it serves and stderr until its start-up lines are
/// out, then kills it. Returns (stdout lines, stderr lines).
fn start_and_read(data: &Path) -> (Vec<String>, Vec<String>) {
    let mut child = Command::new(exe())
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("line");
        let done = line.starts_with("witness-vkey ");
        out.push(line);
        if done {
            break;
        }
    }
    let mut err = Vec::new();
    for line in BufReader::new(child.stderr.take().expect("stderr")).lines() {
        let line = line.expect("line");
        let done = line.starts_with("try: ");
        err.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    (out, err)
}

#[test]
fn init_writes_config_and_key_and_the_monitor_starts_from_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("ma");
    let log = NoteSigner::generate("localhost/provlog")
        .expect("key")
        .verifier_key();
    let log_spec = format!("http://127.0.0.1:7300={log}");
    let out = init(&data, "monitor-a.example", &log_spec, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vkey = text(&out.stdout).trim().to_owned();
    assert!(
        vkey.starts_with("monitor-a.example+"),
        "stdout is the witness vkey: {vkey}"
    );
    assert!(
        text(&out.stderr).contains("provlog-monitor --data"),
        "says what to run next"
    );
    let config = std::fs::read_to_string(data.join("config.toml")).expect("config written");
    assert!(
        config.contains("witness_name = \"monitor-a.example\""),
        "{config}"
    );
    assert!(config.contains(&log.to_vkey()), "{config}");

    // `vkey` prints the same key; init again keeps it, and needs --force
    // to rewrite the config.
    let v = run(&["vkey", "--data", &data.display().to_string()]);
    assert!(v.status.success());
    assert_eq!(text(&v.stdout).trim(), vkey);
    let again = init(&data, "monitor-a.example", &log_spec, &[]);
    assert!(
        !again.status.success(),
        "an existing config is not overwritten"
    );
    assert!(text(&again.stderr).contains("--force"));
    let peer = NoteSigner::generate_cosigner("monitor-b.example")
        .expect("peer")
        .verifier_key();
    let peer_spec = format!("http://127.0.0.1:7402={peer}");
    let forced = init(
        &data,
        "monitor-a.example",
        &log_spec,
        &["--peer", &peer_spec, "--force"],
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_eq!(text(&forced.stdout).trim(), vkey, "the key is kept");
    let config = std::fs::read_to_string(data.join("config.toml")).expect("config");
    assert!(config.contains(&peer.to_vkey()), "{config}");
    // Another name for an existing key is refused.
    let renamed = init(&data, "monitor-z.example", &log_spec, &["--force"]);
    assert!(!renamed.status.success());
    assert!(text(&renamed.stderr).contains("monitor-a.example"));
    // A bad log spec is refused before anything is written.
    let bad = init(
        &dir.path().join("mb"),
        "monitor-b.example",
        "http://127.0.0.1:7300",
        &[],
    );
    assert!(!bad.status.success());
    assert!(!dir.path().join("mb").join("witness.key").exists());

    // Serving from the data directory alone: the machine lines on stdout;
    // two or three plain lines on stderr saying what runs, where, its key
    // and what to try; no colour codes (not a terminal) and no storage
    // engine chatter.
    let (out, err) = start_and_read(&data);
    assert!(
        out[0].starts_with("listening on http://127.0.0.1:"),
        "{out:?}"
    );
    assert_eq!(out[1], format!("witness-vkey {vkey}"));
    let all = err.join("\n");
    assert!(err.len() <= 3, "at most three start-up lines: {all}");
    assert!(
        all.contains("auditing and witnessing 1 log (localhost/provlog at http://127.0.0.1:7300)"),
        "{all}"
    );
    assert!(all.contains(&vkey) && all.contains("--witness"), "{all}");
    assert!(all.contains("curl -s http://127.0.0.1:"), "{all}");
    assert!(
        !all.contains('\u{1b}'),
        "no ANSI colour codes when stderr is not a terminal: {all:?}"
    );
    for chatter in ["Creating database", "Recovering", "fjall", "lsm_tree"] {
        assert!(
            !all.contains(chatter),
            "storage engine chatter ({chatter}) at start: {all}"
        );
    }
}

#[test]
fn a_witness_name_that_differs_from_the_stored_key_is_an_error_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("m");
    // A first start without a config creates a key named provlog-monitor.
    std::fs::create_dir_all(&data).expect("mkdir");
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "[alerts]\nstdout = false\n").expect("write");
    let (_, _) = {
        let mut child = Command::new(exe())
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&empty)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next();
        let _ = child.kill();
        let _ = child.wait();
        (first, ())
    };
    let v = run(&["vkey", "--data", &data.display().to_string()]);
    assert!(
        text(&v.stdout).starts_with("provlog-monitor+"),
        "{}",
        text(&v.stdout)
    );
    // The README's witness_name now does not match: refused, not ignored.
    let named = dir.path().join("named.toml");
    std::fs::write(&named, "witness_name = \"monitor-a.example\"\n").expect("write");
    let out = Command::new(exe())
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&named)
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "a mismatched witness_name is an error"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("monitor-a.example") && err.contains("provlog-monitor"),
        "{err}"
    );
}

#[test]
fn an_ml_dsa_44_witness_key_from_init_cosigns_with_both_keys() {
    use provlog_core::checkpoint::{Checkpoint, LogSigner};
    use provlog_core::hash::EMPTY_ROOT;
    use provlog_core::note::{Note, SIG_COSIGNATURE_V1, SIG_ML_DSA_44, VerifierKey};
    use provlog_core::witness::{AddCheckpointRequest, parse_cosignature_response};

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("pq");
    let log = NoteSigner::generate("localhost/pq").expect("key");
    let log_spec = format!("http://127.0.0.1:9={}", log.verifier_key());
    let out = init(&data, "monitor-pq.example", &log_spec, &["--ml-dsa-44"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: Vec<VerifierKey> = text(&out.stdout)
        .lines()
        .map(|l| VerifierKey::parse(l).expect("a vkey per line"))
        .collect();
    let types: Vec<u8> = printed.iter().map(VerifierKey::key_type).collect();
    assert_eq!(types, [SIG_COSIGNATURE_V1, SIG_ML_DSA_44]);
    assert!(printed.iter().all(|k| k.name() == "monitor-pq.example"));
    let v = run(&["vkey", "--data", &data.display().to_string()]);
    assert_eq!(text(&v.stdout), text(&out.stdout), "vkey prints both");

    let mut child = Command::new(exe())
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let lines: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .take(3)
        .map(|l| l.expect("line"))
        .collect();
    let url = lines[0]
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    assert_eq!(lines[1], format!("witness-vkey {}", printed[0]));
    assert_eq!(lines[2], format!("witness-vkey-ml-dsa-44 {}", printed[1]));
    let note = LogSigner::new(log, None)
        .expect("signer")
        .sign(
            &Checkpoint::new("localhost/pq", 0, EMPTY_ROOT),
            1_790_000_000,
        )
        .expect("sign");
    let body = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: note.clone(),
    }
    .to_bytes();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (status, answer) = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}/add-checkpoint"))
            .body(body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.bytes().await.expect("body"))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{}", text(&answer));
    let mut n = Note::parse(&note).expect("note");
    n.signatures
        .extend(parse_cosignature_response(&answer).expect("lines"));
    let verified = n.verify(&printed).expect("both cosignatures verify");
    assert_eq!(verified.len(), 2);
}
