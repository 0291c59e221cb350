//! `provlog submit` is resumable and idempotent, checks the log's key
//! before sending anything, and never leaves a torn receipt; `provlog
//! receipt fetch` rebuilds a lost receipt (issue 11, items 10, 14, 16).
//!
//! Needs the binaries: `cargo build -p provlog-cli -p provlog-server`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let run = provlog(args!["keygen", "--out", &key, "--name", name]);
    assert!(run.ok(), "keygen: {run:?}");
    (key, run.stdout.trim().to_string())
}

fn submit_args(
    log: &LogProcess,
    key: &Path,
    log_key: &str,
    extra: &[&str],
    path: &Path,
) -> Vec<OsString> {
    let mut a = args![
        "submit",
        "--log",
        &log.url,
        "--key",
        key,
        "--log-key",
        log_key,
        "--generator",
        "Example AI/imagegen/2.1",
    ];
    a.extend(extra.iter().map(OsString::from));
    a.push(path.into());
    a
}

/// Starts `provlog` without waiting (no `PROVLOG_*` variables leak in).
fn spawn_provlog(args: &[OsString]) -> Child {
    Command::new(bin("provlog"))
        .args(args)
        .env_remove("PROVLOG_LOG")
        .env_remove("PROVLOG_LOG_KEY")
        .env_remove("PROVLOG_STATE_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn provlog")
}

fn finish(child: Child) -> CliRun {
    let out = child.wait_with_output().expect("wait provlog");
    CliRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The log's current size, from a verified checkpoint.
fn log_size(log: &LogProcess, state: &Path) -> u64 {
    let run = provlog(args![
        "checkpoint",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--state-dir",
        state
    ]);
    assert!(run.ok(), "checkpoint: {run:?}");
    run.stdout
        .lines()
        .find(|l| l.starts_with("checkpoint "))
        .unwrap_or_default()
        .split_whitespace()
        .skip_while(|w| *w != "size")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {:?}", run.stdout))
}

/// Receipt files (`*.provlog`) under `dir`.
fn receipts_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("read dir")
            .map_while(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "provlog") {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

/// Waits (bounded) until the first receipt file exists under `dir`.
fn wait_for_first_receipt(dir: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while receipts_under(dir).is_empty() {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "submit exited before writing any receipt"
        );
        assert!(Instant::now() < deadline, "no receipt within 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// A log slow enough (20 claims/s) that a 200-file submit takes ~10 s, so
/// a signal sent when the first receipt appears always lands mid-run.
fn slow_log(dir: &Path) -> LogProcess {
    LogProcess::start(
        &dir.join("log"),
        &[
            "--batch-interval-ms",
            "20",
            "--rate-limit",
            "20",
            "--rate-burst",
            "20",
        ],
    )
}

const SLOW: &[&str] = &["--batch", "10", "--retries", "1000"];

/// Every receipt under `media` parses and verifies for its file.
fn assert_receipts_whole(media: &Path, log_key: &str) -> usize {
    let receipts = receipts_under(media);
    for r in &receipts {
        let bytes = std::fs::read(r).expect("read receipt");
        Receipt::from_cbor(&bytes)
            .unwrap_or_else(|e| panic!("{} is torn ({} bytes): {e}", r.display(), bytes.len()));
        let file = r.with_extension("");
        let v = provlog(args!["verify", &file, "--log-key", log_key]);
        assert!(v.ok(), "verify {}: {v:?}", file.display());
    }
    receipts.len()
}

#[test]
fn submit_checks_the_log_key_before_sending_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "20"]);
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let (_, wrong) = keygen(dir.path(), "not-the-log");
    let media = dir.path().join("media");
    let files = write_media_tree(&media, 5, "wk");
    let state = dir.path().join("state");

    let run = provlog(submit_args(&log, &key, &wrong, &[], &media));
    assert!(!run.ok(), "a wrong --log-key must fail: {run:?}");
    for needle in ["does not sign with the key you gave", "nothing was sent"] {
        assert!(run.stderr.contains(needle), "{needle:?} in {}", run.stderr);
    }
    // The message names who does sign the log's checkpoints.
    let origin = log.vkey.split('+').next().expect("origin");
    assert!(run.stderr.contains(origin), "{}", run.stderr);
    assert_eq!(log_size(&log, &state), 0, "nothing was logged");
    assert!(files.iter().all(|f| !sidecar(f, "provlog").exists()));
    assert!(
        files
            .iter()
            .all(|f| !sidecar(f, "provlog.pending").exists())
    );

    // The same through a policy that trusts another log.
    let policy = dir.path().join("other.policy");
    std::fs::write(&policy, format!("log {wrong}\nquorum none\n")).expect("write");
    let mut a = args![
        "submit", "--log", &log.url, "--key", &key, "--policy", &policy,
    ];
    a.push(media.clone().into());
    let run = provlog(a);
    assert!(
        !run.ok() && run.stderr.contains("nothing was sent"),
        "{run:?}"
    );
    assert_eq!(log_size(&log, &state), 0, "nothing was logged");

    // The right key passes the check and logs.
    let run = provlog(submit_args(&log, &key, &log.vkey, &[], &media));
    assert!(run.ok(), "{run:?}");
    assert_eq!(log_size(&log, &state), 5);
}

#[test]
fn rerunning_a_submit_skips_verified_receipts_and_logs_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "20"]);
    let (key, vkey) = keygen(dir.path(), "imagegen.example");
    let media = dir.path().join("media");
    let files = write_media_tree(&media, 20, "again");
    let state = dir.path().join("state");

    let first = provlog(submit_args(&log, &key, &log.vkey, &[], &media));
    assert!(first.ok(), "{first:?}");
    assert_eq!(log_size(&log, &state), 20);
    let index_of = |f: &Path| {
        Receipt::from_cbor(&std::fs::read(sidecar(f, "provlog")).expect("read"))
            .expect("receipt")
            .index
    };
    let before: Vec<u64> = files.iter().map(|f| index_of(f)).collect();

    // The same command again: every file is skipped, nothing is logged.
    let again = provlog(submit_args(
        &log,
        &key,
        &log.vkey,
        &["--tlog-proof"],
        &media,
    ));
    assert!(again.ok(), "{again:?}");
    for (f, i) in files.iter().zip(&before) {
        let line = format!("skipped {}: receipt verifies (entry {i})", f.display());
        assert!(again.stderr.contains(&line), "{line:?} in {}", again.stderr);
        // --tlog-proof on the re-run writes the missing text form.
        assert!(sidecar(f, "tlog-proof").exists());
    }
    assert!(
        again
            .stderr
            .contains("0 logged with verified receipts, 0 failed, 20 skipped"),
        "{}",
        again.stderr
    );
    assert_eq!(log_size(&log, &state), 20, "a re-run logs nothing");

    // A file changed since: its receipt no longer verifies, so it is logged again.
    let mut bytes = std::fs::read(&files[3]).expect("read");
    bytes.extend_from_slice(b"edited");
    std::fs::write(&files[3], bytes).expect("write");
    let run = provlog(submit_args(&log, &key, &log.vkey, &[], &media));
    assert!(run.ok(), "{run:?}");
    assert!(
        run.stderr
            .contains("1 logged with verified receipts, 0 failed, 19 skipped"),
        "{}",
        run.stderr
    );
    assert_eq!(log_size(&log, &state), 21);

    // A lost receipt is rebuilt from the log: the same entry, nothing logged.
    let lost = &files[7];
    std::fs::remove_file(sidecar(lost, "provlog")).expect("rm");
    let run = provlog(args![
        "receipt",
        "fetch",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--key",
        &key,
        lost
    ]);
    assert!(run.ok(), "receipt fetch: {run:?}");
    assert!(
        run.stdout.contains("rebuilt from the log"),
        "{}",
        run.stdout
    );
    assert_eq!(index_of(lost), before[7], "the original entry");
    let v = provlog(args!["verify", lost, "--log-key", &log.vkey]);
    assert!(v.ok(), "{v:?}");
    assert_eq!(log_size(&log, &state), 21);
    // Fetching again: the receipt verifies, nothing to do.
    let run = provlog(args![
        "receipt",
        "fetch",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--vendor-key",
        &vkey,
        lost
    ]);
    assert!(
        run.ok() && run.stdout.contains("already verifies"),
        "{run:?}"
    );
    // Another vendor's key finds no claim of its own, and says so.
    let (_, other) = keygen(dir.path(), "other.example");
    std::fs::remove_file(sidecar(lost, "provlog")).expect("rm");
    let run = provlog(args![
        "receipt",
        "fetch",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--vendor-key",
        &other,
        lost
    ]);
    assert!(
        !run.ok() && run.stderr.contains("has no claim for"),
        "{run:?}"
    );
    // A file never logged.
    let never = dir.path().join("never.png");
    std::fs::write(&never, b"\x89PNG\r\n\x1a\nnever").expect("write");
    let run = provlog(args![
        "receipt",
        "fetch",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        &never
    ]);
    assert!(
        !run.ok() && run.stderr.contains("has no claim for"),
        "{run:?}"
    );
}

#[test]
fn a_submit_killed_mid_run_leaves_whole_receipts_and_resumes_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = slow_log(dir.path());
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let media = dir.path().join("media");
    let n = 200;
    write_media_tree(&media, n, "kill");
    let state = dir.path().join("state");

    let mut child = spawn_provlog(&submit_args(&log, &key, &log.vkey, SLOW, &media));
    wait_for_first_receipt(&media, &mut child);
    signal(&child, "-KILL");
    let killed = finish(child);
    assert_eq!(killed.code, None, "killed by the signal: {killed:?}");

    // Every receipt on disk is whole and verifies (never a torn file).
    let had = assert_receipts_whole(&media, &log.vkey);
    assert!(had > 0 && had < n, "{had} receipts");

    // The same command again finishes the job; claims that were in flight
    // are sent again byte for byte, and the log deduplicates them.
    let run = provlog(submit_args(&log, &key, &log.vkey, SLOW, &media));
    assert!(run.ok(), "resume: {run:?}");
    assert!(
        run.stderr.contains(&format!("{had} skipped")),
        "{}",
        run.stderr
    );
    assert_eq!(assert_receipts_whole(&media, &log.vkey), n);
    assert_eq!(log_size(&log, &state), n as u64, "no claim logged twice");
    // No claim is left pending. (A `.NAME.tmp-PID-N` file the kill cut
    // short may remain; it is never read as a receipt nor registered, as
    // the log size above shows.)
    let pending: Vec<_> = walk_names(&media)
        .into_iter()
        .filter(|n| n.ends_with(".pending"))
        .collect();
    assert!(pending.is_empty(), "left behind: {pending:?}");
}

fn walk_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("read dir")
            .map_while(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    names
}

#[test]
fn sigint_mid_submit_says_how_far_it_got_and_the_rerun_resumes() {
    for sig in ["-INT", "-TERM"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = slow_log(dir.path());
        let (key, _) = keygen(dir.path(), "imagegen.example");
        let media = dir.path().join("media");
        let n = 200;
        write_media_tree(&media, n, "int");
        let state = dir.path().join("state");

        let mut child = spawn_provlog(&submit_args(&log, &key, &log.vkey, SLOW, &media));
        wait_for_first_receipt(&media, &mut child);
        signal(&child, sig);
        let run = finish(child);
        // 128 + the signal: 130 for SIGINT, 143 for SIGTERM.
        let want = if sig == "-INT" { 130 } else { 143 };
        assert_eq!(run.code, Some(want), "{sig}: {run:?}");
        let have = assert_receipts_whole(&media, &log.vkey);
        let line = format!(
            "interrupted: {have} of {n} files have receipts; re-run the same command to resume"
        );
        assert!(
            run.stderr.contains(&line),
            "{sig}: {line:?} in {}",
            run.stderr
        );
        assert!(have < n, "{sig}: stopped early");

        let rerun = provlog(submit_args(&log, &key, &log.vkey, SLOW, &media));
        assert!(rerun.ok(), "{sig}: resume: {rerun:?}");
        assert!(
            rerun.stderr.contains(&format!("{have} skipped")),
            "{}",
            rerun.stderr
        );
        assert_eq!(assert_receipts_whole(&media, &log.vkey), n);
        assert_eq!(
            log_size(&log, &state),
            n as u64,
            "{sig}: no claim logged twice"
        );
    }
}
