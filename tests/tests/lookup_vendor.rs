//! The vendor's side of verifiable lookup (spec/lookup.md §2.3, §5, §9.3),
//! through the `provlog` CLI against real `provlog-server` processes:
//!
//! - `provlog lookup --vendor VKEY --seq A..B` proves which claims a vendor
//!   logged with `seq` in a range, names every gap and repeat, and refuses a
//!   log that answers one bucket with another bucket's (valid) proof;
//! - `provlog verify --check-key-status` proves the claim's vendor key was
//!   accepted at the claim's index, and fails a key the log never added.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use provlog_client::http::LogClient;
use provlog_e2e::{CliRun, LogProcess, Vendor, free_port, provlog, rt};

macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(OsString::from($a)),*]
    };
}

fn lookup_seq(url: &str, log_vkey: &str, vendor: &str, range: &str, json: bool) -> CliRun {
    let mut a = args![
        "lookup",
        "--log",
        url,
        "--log-key",
        log_vkey,
        "--vendor",
        vendor,
        "--seq",
        range
    ];
    if json {
        a.push("--json".into());
    }
    provlog(a)
}

/// Submits `(asset, seq)` claims by `v` in one batch.
fn submit_all(url: &str, v: &Vendor, claims: &[(String, u64)]) {
    let bytes: Vec<Vec<u8>> = claims
        .iter()
        .map(|(asset, seq)| v.claim_for(asset.as_bytes(), *seq))
        .collect();
    let client = LogClient::new(url).expect("client");
    for chunk in bytes.chunks(100) {
        rt().block_on(client.submit_batch(chunk))
            .expect("batch accepted");
    }
}

/// A one-connection-at-a-time HTTP proxy to `upstream` that rewrites each
/// request line with `rewrite` (a hostile log front). Runs until the test
/// process ends.
fn rewriting_proxy(upstream: String, rewrite: fn(&str) -> String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                match client.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let mut lines = text.split("\r\n");
            let first = rewrite(lines.next().unwrap_or(""));
            let mut req = format!("{first}\r\nconnection: close\r\n");
            for l in lines.filter(|l| !l.is_empty()) {
                if !l.to_ascii_lowercase().starts_with("connection:") {
                    req.push_str(l);
                    req.push_str("\r\n");
                }
            }
            req.push_str("\r\n");
            let Ok(mut up) = TcpStream::connect(&upstream) else {
                continue;
            };
            if up.write_all(req.as_bytes()).is_err() {
                continue;
            }
            let mut resp = Vec::new();
            let _ = up.take(64 << 20).read_to_end(&mut resp);
            let _ = client.write_all(&resp);
        }
    });
    format!("http://{addr}")
}

/// Bucket 1 of any vendor-seq lookup is answered with bucket 0's proof.
fn bucket_one_gets_zero(line: &str) -> String {
    if line.contains("vendor-seq") {
        line.replace("%3A1&from=", "%3A0&from=")
    } else {
        line.to_owned()
    }
}

fn write_skey(dir: &Path, v: &Vendor) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("vendor.key");
    std::fs::write(&path, format!("{}\n", v.signer.to_skey())).expect("write key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

#[test]
fn a_vendor_proves_a_sequence_range_with_its_gaps_and_repeats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(
        &dir.path().join("log"),
        &["--verifiable-index", "--batch-interval-ms", "10"],
    );
    let (a, b) = (Vendor::new("a.example"), Vendor::new("b.example"));
    // A: seq 0..=299 without 7 and 100..=104, seq 42 twice (two assets),
    // and seq 600 (bucket 2). B uses the same numbers: not A's.
    let mut claims: Vec<(String, u64)> = (0..300u64)
        .filter(|s| *s != 7 && !(100..=104).contains(s))
        .map(|s| (format!("a asset {s}"), s))
        .collect();
    claims.push(("a asset 42, again".into(), 42));
    claims.push(("a asset 600".into(), 600));
    submit_all(&log.url, &a, &claims);
    let others: Vec<(String, u64)> = (0..10u64).map(|s| (format!("b asset {s}"), s)).collect();
    submit_all(&log.url, &b, &others);

    let run = lookup_seq(&log.url, &log.vkey, &a.vkey, "0..299", false);
    assert!(run.ok(), "{run:?}");
    let first = run.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("VERIFIED: 295 claims with seq in [0, 299] (complete as of checkpoint "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  gap: seq 7 (no claim)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  gap: seq 100..104 (5 sequence numbers, no claim)\n"),
        "{}",
        run.stdout
    );
    let repeats: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("repeat:"))
        .collect();
    assert_eq!(repeats.len(), 1, "{}", run.stdout);
    assert!(
        repeats[0].starts_with("  repeat: seq 42 at entries #"),
        "{}",
        repeats[0]
    );
    assert_eq!(run.stdout.lines().filter(|l| l.contains("gap:")).count(), 2);

    // --json, a range over three buckets, and the key file instead of the vkey.
    let key_file = write_skey(dir.path(), &a);
    let run = lookup_seq(
        &log.url,
        &log.vkey,
        key_file.to_str().expect("utf-8"),
        "250..700",
        true,
    );
    assert!(run.ok(), "{run:?}");
    let j: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(j["verified"], true);
    assert_eq!(j["vendor"], a.vkey.as_str());
    assert_eq!(j["count"], 51, "250..=299 and 600");
    assert_eq!(j["gaps"], serde_json::json!([[300, 599], [601, 700]]));
    assert_eq!(j["repeats"], serde_json::json!([]));
    let seqs: Vec<u64> = j["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .map(|c| c["seq"].as_u64().expect("seq"))
        .collect();
    let mut want: Vec<u64> = (250..300).collect();
    want.push(600);
    assert_eq!(seqs, want);
    // The log is quiet: the answer covers it all (its last entry is the
    // last batch's index-commit).
    assert_eq!(j["covered_size"], j["checkpoint_size"]);

    // A vendor with no claims: every number is a gap, still verified.
    let c = Vendor::new("c.example");
    let run = lookup_seq(&log.url, &log.vkey, &c.vkey, "0..9", false);
    assert!(run.ok(), "{run:?}");
    assert!(
        run.stdout
            .starts_with("VERIFIED: 0 claims with seq in [0, 9]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  gap: seq 0..9 (10 sequence numbers, no claim)")
    );

    // A log that answers bucket 1 with bucket 0's valid proof is caught.
    let hostile = rewriting_proxy(
        log.url.trim_start_matches("http://").to_owned(),
        bucket_one_gets_zero,
    );
    let run = lookup_seq(&hostile, &log.vkey, &a.vkey, "0..299", false);
    assert_eq!(run.code, Some(1), "NOT VERIFIED exits 1: {run:?}");
    assert!(run.stderr.contains("NOT VERIFIED"), "{}", run.stderr);
    // The same proxy changes nothing for a range within bucket 0.
    let run = lookup_seq(&hostile, &log.vkey, &a.vkey, "0..10", false);
    assert!(run.ok(), "{run:?}");

    // Bounded: a range over 4,096 buckets is refused before any request.
    let run = lookup_seq(&log.url, &log.vkey, &a.vkey, "0..2000000", false);
    assert_eq!(run.code, Some(2), "usage: {run:?}");
    assert!(run.stderr.contains("split the range"), "{}", run.stderr);
    assert!(log.stop(), "clean stop");

    // A log without the verifiable index cannot prove a range.
    let plain = LogProcess::start(&dir.path().join("plain"), &[]);
    let run = lookup_seq(&plain.url, &plain.vkey, &a.vkey, "0..9", false);
    assert_eq!(run.code, Some(3), "could not check: {run:?}");
    assert!(run.stderr.contains("cannot prove"), "{}", run.stderr);
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let run = provlog(args!["keygen", "--out", &key, "--name", name]);
    assert!(run.ok(), "keygen: {run:?}");
    (key, run.stdout.trim().to_owned())
}

fn submit_file(log: &LogProcess, key: &Path, file: &Path) {
    let run = provlog(args![
        "submit",
        "--log",
        &log.url,
        "--key",
        key,
        "--log-key",
        &log.vkey,
        "--generator",
        "Example AI/imagegen/2.1",
        "--disclosure",
        "label,c2pa",
        file
    ]);
    assert!(run.ok(), "submit: {run:?}");
}

fn verify_status(log: &LogProcess, file: &Path, json: bool) -> CliRun {
    let mut a = args![
        "verify",
        file,
        "--log-key",
        &log.vkey,
        "--check-key-status",
        "--log",
        &log.url
    ];
    if json {
        a.push("--json".into());
    }
    provlog(a)
}

#[test]
fn verify_checks_the_vendor_key_status_at_the_claims_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, vkey) = keygen(dir.path(), "a.example");
    let accepted = dir.path().join("accepted-keys");
    std::fs::write(&accepted, format!("{vkey}\n")).expect("write");
    let data = dir.path().join("log");
    let listen = format!("127.0.0.1:{}", free_port());
    let accept_arg = accepted.to_str().expect("utf-8").to_owned();
    let flags = [
        "--verifiable-index",
        "--batch-interval-ms",
        "10",
        "--accept-keys",
        accept_arg.as_str(),
    ];
    let log = LogProcess::try_start_on(&data, &listen, &flags).expect("log starts");
    let file = dir.path().join("a.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\n an image by a.example").expect("write");
    submit_file(&log, &key, &file);

    let run = verify_status(&log, &file, false);
    assert!(run.ok(), "{run:?}");
    assert!(run.stdout.starts_with("VERIFIED"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("  key status  accepted (added at entry #0; complete as of checkpoint "),
        "{}",
        run.stdout
    );

    // The operator revokes the key: the claim was made while it was
    // accepted, and still verifies (the status is at the claim's index).
    assert!(log.stop(), "clean stop");
    let (_, other) = keygen(dir.path(), "b.example");
    std::fs::write(&accepted, format!("{other}\n")).expect("write");
    let log = LogProcess::try_start_on(&data, &listen, &flags).expect("log restarts");
    let run = verify_status(&log, &file, true);
    assert!(run.ok(), "{run:?}");
    let j: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("JSON");
    assert_eq!(j["key_status"]["status"], "accepted");
    assert_eq!(j["key_status"]["entry"], 0);
    // Without the flag, verify stays offline and says nothing about it.
    let offline = provlog(args!["verify", &file, "--log-key", &log.vkey]);
    assert!(
        offline.ok() && !offline.stdout.contains("key status"),
        "{offline:?}"
    );
    assert!(log.stop(), "clean stop");

    // An open log (no accepted-keys file) never adds a key: the check fails.
    let open = LogProcess::start(&dir.path().join("open"), &["--verifiable-index"]);
    let file2 = dir.path().join("b.png");
    std::fs::write(&file2, b"\x89PNG\r\n\x1a\n another image").expect("write");
    submit_file(&open, &key, &file2);
    let run = verify_status(&open, &file2, false);
    assert_eq!(run.code, Some(1), "NOT VERIFIED: {run:?}");
    assert!(run.stderr.contains("NEVER ADDED"), "{}", run.stderr);
    assert!(open.stop(), "clean stop");

    // A log without the index cannot answer: could not check (3).
    let plain = LogProcess::start(&dir.path().join("plain"), &[]);
    let file3 = dir.path().join("c.png");
    std::fs::write(&file3, b"\x89PNG\r\n\x1a\n a third image").expect("write");
    submit_file(&plain, &key, &file3);
    let run = verify_status(&plain, &file3, false);
    assert_eq!(run.code, Some(3), "could not check: {run:?}");
}
