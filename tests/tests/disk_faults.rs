//! Storage faults under a running log (issue 11, items 6 and 7): a full
//! disk, a read-only file system and a data directory removed while the
//! server runs. Each is refused with a clear answer (503 + Retry-After for
//! the write that met it), ends the process with an error and a message
//! that names the cause (fjall cannot write again in-process), and loses
//! nothing acknowledged: after the cause is fixed, a restart serves every
//! receipt's entry at its index.
//!
//! The full disk and the read-only file system are real: a small tmpfs
//! mounted for the test (this needs root; under `CI=true` a machine that
//! cannot mount one fails the test instead of skipping it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use provlog_client::http::LogClient;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::note::VerifierKey;
use provlog_core::receipt::Receipt;
use provlog_e2e::{LogProcess, Vendor, download_tree};

/// A tmpfs mounted at a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after saying why) where this machine cannot mount one.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs { dir });
        }
        let why = "cannot mount a tmpfs (the disk-fault tests need root)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, mode: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {mode}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// What one `POST /v1/claims` got.
enum Answer {
    Receipt(Box<Receipt>),
    /// Status, `Retry-After`, content type, body.
    Refused(u16, Option<String>, String, String),
    /// The connection failed (the server is gone).
    Gone,
}

async fn post(http: &reqwest::Client, url: &str, claim: Vec<u8>) -> Answer {
    let sent = http
        .post(format!("{url}/v1/claims"))
        .header("content-type", "application/cose")
        .body(claim)
        .send()
        .await;
    let Ok(r) = sent else {
        return Answer::Gone;
    };
    let status = r.status().as_u16();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry = header("retry-after");
    let ctype = header("content-type").unwrap_or_default();
    let Ok(body) = r.bytes().await else {
        return Answer::Gone;
    };
    if status == 200 {
        return Answer::Receipt(Box::new(Receipt::from_cbor(&body).expect("receipt")));
    }
    Answer::Refused(status, retry, ctype, String::from_utf8_lossy(&body).into())
}

/// Restarts the log on `data` and checks that every acknowledged receipt's
/// entry is served at its index, then that the log accepts a new claim.
fn restart_and_check(data: &Path, acked: &[Receipt], vendor: &Vendor, next: u64) {
    let log = LogProcess::start(data, &[]);
    let rt = rt();
    let client = LogClient::new(&log.url).expect("client");
    let key = VerifierKey::parse(&log.vkey).expect("vkey");
    let note = rt.block_on(client.checkpoint()).expect("checkpoint");
    let size = verify_checkpoint(&note, &key)
        .expect("the restarted log's checkpoint verifies")
        .checkpoint
        .size;
    let tree = rt.block_on(download_tree(&client, size)).expect("tree");
    for r in acked {
        let at = usize::try_from(r.index).expect("index");
        assert_eq!(
            tree.entries.get(at),
            Some(&r.entry),
            "acknowledged entry {} is served after the restart",
            r.index
        );
    }
    let health = rt
        .block_on(reqwest::get(format!("{}/healthz", log.url)))
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    rt.block_on(client.submit(&vendor.claim(next)))
        .expect("the restarted log accepts claims");
    assert!(log.stop(), "clean stop");
}

/// Fills the file system holding `dir` with one file, to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 1 << 16];
    // Bounded by the tmpfs size; stops at ENOSPC.
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_refuses_the_write_exits_with_the_cause_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("48m") else {
        return;
    };
    let data = fs.path().join("data");
    let mut log = LogProcess::start(&data, &[]);
    let vendor = Vendor::new("vendor.example");
    let http = reqwest::Client::new();
    let rt = rt();
    let mut acked = Vec::new();
    for i in 0..20 {
        match rt.block_on(post(&http, &log.url, vendor.claim(i))) {
            Answer::Receipt(r) => acked.push(*r),
            _ => panic!("claim {i} is logged while there is space"),
        }
    }
    let filler = fill(fs.path());
    // Every write now fails. Bounded: the first batch that meets the full
    // disk is refused and the server stops.
    let mut refused = None;
    for i in 20..220 {
        match rt.block_on(post(&http, &log.url, vendor.claim(i))) {
            Answer::Receipt(r) => acked.push(*r),
            Answer::Refused(status, retry, ctype, body) => {
                refused = Some((status, retry, ctype, body));
                break;
            }
            Answer::Gone => break,
        }
    }
    let (status, retry, ctype, body) = refused.expect("a write on a full disk is refused");
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some(), "503 carries Retry-After");
    assert_eq!(ctype, "application/problem+json");
    let exit = log
        .wait_exit(Duration::from_secs(60))
        .expect("the server exits by itself when its storage cannot write");
    assert!(!exit.success(), "it exits with an error: {exit}");
    let said = log.stderr_text();
    assert!(said.contains("stopping with a storage fault"), "{said}");
    assert!(said.contains("No space left on device"), "{said}");
    assert!(said.contains("nothing acknowledged is lost"), "{said}");
    drop(log);
    std::fs::remove_file(filler).expect("free the space");
    restart_and_check(&data, &acked, &vendor, 1000);
}

#[test]
fn a_read_only_file_system_is_refused_at_start_with_the_cause() {
    let Some(fs) = Tmpfs::mount("48m") else {
        return;
    };
    let data = fs.path().join("data");
    let vendor = Vendor::new("vendor.example");
    let acked = {
        let log = LogProcess::start(&data, &[]);
        let rt = rt();
        let client = LogClient::new(&log.url).expect("client");
        let r = rt
            .block_on(client.submit(&vendor.claim(1)))
            .expect("logged");
        assert!(log.stop(), "clean stop");
        vec![r]
    };
    fs.remount("ro");
    let err = match LogProcess::try_start(&data, &[]) {
        Ok(_) => panic!("a log on a read-only file system must not start"),
        Err(e) => e,
    };
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(!err.contains("Error {"), "no debug text: {err}");
    fs.remount("rw");
    restart_and_check(&data, &acked, &vendor, 2);
}

#[test]
fn a_data_directory_removed_under_the_server_stops_it_with_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut log = LogProcess::start(&data, &[]);
    let vendor = Vendor::new("vendor.example");
    let http = reqwest::Client::new();
    let rt = rt();
    assert!(matches!(
        rt.block_on(post(&http, &log.url, vendor.claim(1))),
        Answer::Receipt(_)
    ));
    // Move it away first (atomic; the server keeps writing into it), then
    // delete it: the path the server opened no longer exists.
    let gone = dir.path().join("gone");
    std::fs::rename(&data, &gone).expect("move the data directory away");
    let _ = std::fs::remove_dir_all(&gone);
    match rt.block_on(post(&http, &log.url, vendor.claim(2))) {
        Answer::Refused(status, retry, _, body) => {
            assert_eq!(status, 503, "{body}");
            assert!(retry.is_some());
        }
        Answer::Receipt(_) => panic!("a claim is acknowledged into a removed directory"),
        Answer::Gone => panic!("the server answers the write that met the fault"),
    }
    let exit = log
        .wait_exit(Duration::from_secs(60))
        .expect("the server exits by itself");
    assert!(!exit.success(), "it exits with an error: {exit}");
    let said = log.stderr_text();
    assert!(
        said.contains("was removed while the log was running"),
        "{said}"
    );
}

/// SIGKILL at random points of the very first start (creating the log key
/// and the database, writing the empty tree's checkpoint) never leaves a
/// data directory that cannot start, and the key made then stays the key.
///
/// Runs: `PROVLOG_SERVER_FIRST_START_RUNS` (default 20); seed:
/// `PROVLOG_SERVER_FIRST_START_SEED`.
#[test]
fn sigkill_during_the_first_start_never_leaves_a_dir_that_cannot_start() {
    use provlog_e2e::{Rng, env_u64};
    let runs = env_u64("PROVLOG_SERVER_FIRST_START_RUNS", 20);
    let (mut rng, seed) = Rng::from_env("PROVLOG_SERVER_FIRST_START_SEED");
    println!(
        "first-start kill test: {runs} runs, seed {seed} (PROVLOG_SERVER_FIRST_START_SEED to replay)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    // How long a first start takes here, so the kill points cover all of it.
    let started = std::time::Instant::now();
    let probe = LogProcess::start(&dir.path().join("probe"), &[]);
    let span_us = (started.elapsed().as_micros() as u64 * 3 / 2).max(1000);
    drop(probe);
    for run in 0..runs {
        let data = dir.path().join(format!("d{run}"));
        let mut first = Command::new(provlog_e2e::bin("provlog-server"))
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Half the kills early, where the key and the database are made.
        let window = if rng.below(2) == 0 {
            span_us / 8
        } else {
            span_us
        };
        std::thread::sleep(Duration::from_micros(rng.below(window)));
        let _ = first.kill();
        let _ = first.wait();
        let second = LogProcess::try_start(&data, &[]).unwrap_or_else(|e| {
            panic!("run {run} (seed {seed}): the data directory left by a kill during the first start cannot start: {e}")
        });
        let vkey = second.vkey.clone();
        let said = second.stderr.clone();
        assert!(
            second.stop(),
            "run {run}: clean stop: {:?}",
            said.lock().map(|v| v.join("\n"))
        );
        let third = LogProcess::start(&data, &[]);
        assert_eq!(
            third.vkey, vkey,
            "run {run}: the key made at first start stays"
        );
        let said = third.stderr.clone();
        assert!(
            third.stop(),
            "run {run}: clean stop: {:?}",
            said.lock().map(|v| v.join("\n"))
        );
    }
}

#[test]
fn a_data_directory_in_use_is_reported_with_the_pid_not_as_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let first = LogProcess::start(&data, &[]);
    let pid = first.pid().expect("pid");
    let err = match LogProcess::try_start(&data, &[]) {
        Ok(_) => panic!("two servers on one data directory"),
        Err(e) => e,
    };
    assert!(
        err.contains(&format!("in use by another process (pid {pid})")),
        "{err}"
    );
    assert!(
        !err.contains("is damaged") && !err.contains("backup"),
        "{err}"
    );
    // The offline check says the same while the server runs.
    let out = Command::new(provlog_e2e::bin("provlog-server"))
        .args(["check", "--data"])
        .arg(&data)
        .output()
        .expect("check");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(text.contains("in use by another process"), "{text}");
    assert!(first.stop(), "clean stop");
}
