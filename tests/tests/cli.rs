//! End-to-end tests of the `provlog` CLI against real `provlog-server`
//! processes on ephemeral ports.
//!
//! The binaries must be built first (`cargo test --workspace` does; for this
//! test alone: `cargo build -p provlog-cli -p provlog-server`).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use provlog_core::receipt::Receipt;
use provlog_e2e::{CliRun, LogProcess, provlog, write_media_tree};

/// Makes a vendor key with `provlog keygen`; returns its path and vkey.
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let run = provlog([
        OsString::from("keygen"),
        "--out".into(),
        key.clone().into(),
        "--name".into(),
        name.into(),
    ]);
    assert!(run.ok(), "keygen failed: {run:?}");
    let vkey = run.stdout.trim().to_string();
    assert!(
        vkey.starts_with(&format!("{name}+")),
        "keygen printed {vkey:?}"
    );
    (key, vkey)
}

/// Arguments as `OsString`s, so paths and strings mix.
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

/// `provlog submit` of `dir` to `log`, with extra flags; prints the rate.
fn submit(log: &LogProcess, key: &Path, paths: &[&Path], extra: &[&str]) -> CliRun {
    let mut a = args![
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
    ];
    a.extend(extra.iter().map(OsString::from));
    a.extend(paths.iter().map(OsString::from));
    provlog(a)
}

fn verify(file: &Path, receipt: Option<&Path>, log_key: &str, json: bool) -> CliRun {
    let mut a = args!["verify", file, "--log-key", log_key];
    if let Some(r) = receipt {
        a.extend(args!["--receipt", r]);
    }
    if json {
        a.push("--json".into());
    }
    provlog(a)
}

fn assert_fails_naming(run: &CliRun, check: &str, what: &str) {
    assert!(!run.ok(), "{what}: expected a non-zero exit, got {run:?}");
    assert!(
        run.stderr.contains(check),
        "{what}: expected the message to name {check:?}, got stderr {:?}",
        run.stderr
    );
}

#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode");
    let before = std::fs::read(&key).expect("read key");
    let again = provlog(args!["keygen", "--out", &key]);
    assert!(!again.ok(), "second keygen to the same file must fail");
    assert_eq!(std::fs::read(&key).expect("read key"), before);

    // A key others can read is refused, with the fix in the message.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let file = dir.path().join("x.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nx").expect("write");
    let run = provlog(args!["claim", &file, "--key", &key]);
    assert_fails_naming(&run, "chmod 600", "claim with a world-readable key");
}

#[test]
fn claim_hashes_sniffs_and_signs_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, vkey) = keygen(dir.path(), "imagegen.example");
    let files = write_media_tree(&dir.path().join("media"), 2, "claim");
    let out = dir.path().join("claim.cose");
    let run = provlog(args![
        "claim",
        &files[0],
        "--key",
        &key,
        "--generator",
        "Example AI/imagegen/2.1",
        "--source-type",
        "compositeWithTrainedAlgorithmicMedia",
        "--disclosure",
        "caption,watermark",
        "--out",
        &out,
    ]);
    assert!(run.ok(), "claim failed: {run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("claim JSON");
    let bytes = std::fs::read(&files[0]).expect("read");
    let sha = hex::encode(provlog_core::hash::sha256(&bytes));
    let claim = &json["claim"];
    assert_eq!(claim["asset"]["sha256"], sha.as_str());
    assert_eq!(claim["asset"]["size"], bytes.len() as u64);
    let expected_type = if files[0].extension().is_some_and(|e| e == "png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    assert_eq!(claim["asset"]["media_type"], expected_type);
    assert_eq!(claim["source_type"], "compositeWithTrainedAlgorithmicMedia");
    assert_eq!(claim["generator"]["vendor"], "Example AI");
    assert_eq!(json["vendor_key"], vkey.as_str());
    let signed = provlog_core::signed_claim::SignedClaim::from_bytes(
        &std::fs::read(&out).expect("signed claim written"),
    )
    .expect("a signed claim");
    signed.verify_signature().expect("signature verifies");
    assert_eq!(
        signed.claim().asset.sha256.to_vec(),
        hex::decode(&sha).expect("hex")
    );

    let bad = provlog(args![
        "claim",
        &files[0],
        "--key",
        &key,
        "--generator",
        "no-slashes"
    ]);
    assert_fails_naming(&bad, "--generator", "a malformed --generator");
}

#[test]
fn submit_a_folder_then_verify_lookup_and_reject_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "20"]);
    let (key, vkey) = keygen(dir.path(), "imagegen.example");
    let media = dir.path().join("media");
    let n = 300;
    let files = write_media_tree(&media, n, "asset");

    // Without the log's key, submit refuses and says where to get it.
    let no_key = provlog(args!["submit", "--log", &log.url, "--key", &key, &media]);
    assert_fails_naming(&no_key, "provlog-server vkey", "submit without --log-key");
    assert!(!sidecar(&files[0], "provlog").exists());

    let started = Instant::now();
    let run = submit(&log, &key, &[&media], &["--tlog-proof"]);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "submit of {n} files: {secs:.2} s, {:.0} files/s (debug build, including process start)",
        n as f64 / secs
    );
    assert!(run.ok(), "submit failed: {run:?}");
    assert!(
        run.stderr
            .contains(&format!("{n} logged with verified receipts, 0 failed")),
        "summary: {}",
        run.stderr
    );

    // Every file got both receipt forms, and each verifies offline.
    let mut indexes = std::collections::BTreeSet::new();
    for f in &files {
        let cbor = sidecar(f, "provlog");
        let text = sidecar(f, "tlog-proof");
        assert!(
            cbor.exists() && text.exists(),
            "receipts for {}",
            f.display()
        );
        let v = verify(f, None, &log.vkey, true);
        assert!(v.ok(), "verify {}: {v:?}", f.display());
        let json: serde_json::Value = serde_json::from_str(&v.stdout).expect("verdict JSON");
        assert_eq!(json["verified"], true);
        assert_eq!(json["vendor_key"], vkey.as_str());
        let want = if f.extension().is_some_and(|e| e == "png") {
            "image/png"
        } else {
            "image/jpeg"
        };
        assert_eq!(
            json["claim"]["asset"]["media_type"],
            want,
            "{}",
            f.display()
        );
        assert_eq!(json["claim"]["generator"]["tool"], "imagegen");
        indexes.insert(json["index"].as_u64().expect("index"));
    }
    assert_eq!(indexes.len(), n, "every file has its own log entry");
    assert!(indexes.iter().all(|&i| i < n as u64));

    // The text form verifies too, and the human verdict says who and what.
    let v = verify(
        &files[1],
        Some(&sidecar(&files[1], "tlog-proof")),
        &log.vkey,
        false,
    );
    assert!(v.ok(), "verify with the tlog-proof form: {v:?}");
    for needle in [
        "VERIFIED",
        "Example AI / imagegen 2.1",
        "trainedAlgorithmicMedia",
        "label (direct), c2pa (indirect)",
        "entry #",
    ] {
        assert!(
            v.stdout.contains(needle),
            "verdict lacks {needle:?}: {}",
            v.stdout
        );
    }

    // A modified file fails on the asset hash.
    let modified = dir.path().join("modified.png");
    let mut bytes = std::fs::read(&files[0]).expect("read");
    bytes.push(0);
    std::fs::write(&modified, &bytes).expect("write");
    let run = verify(
        &modified,
        Some(&sidecar(&files[0], "provlog")),
        &log.vkey,
        false,
    );
    assert_fails_naming(&run, "asset hash mismatch", "a modified file");
    assert!(run.stderr.contains("NOT VERIFIED"));

    // Another file's receipt fails on the asset hash.
    let run = verify(
        &files[0],
        Some(&sidecar(&files[1], "provlog")),
        &log.vkey,
        false,
    );
    assert_fails_naming(&run, "asset hash mismatch", "a swapped receipt");

    // The right receipt under the wrong log key fails on the checkpoint.
    let (_, other_vkey) = keygen(dir.path(), "not-the-log");
    let run = verify(&files[0], None, &other_vkey, false);
    assert_fails_naming(&run, "checkpoint not trusted", "a wrong log key");
    let run = verify(&files[0], None, &other_vkey, true);
    assert!(!run.ok());
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("failure JSON");
    assert_eq!(json["verified"], false);

    // A receipt whose proof was altered fails on the inclusion proof, and one
    // whose entry was altered fails on the signed claim.
    let (victim, receipt) = files
        .iter()
        .map(|f| {
            let r = Receipt::from_cbor(&std::fs::read(sidecar(f, "provlog")).expect("read"))
                .expect("receipt");
            (f, r)
        })
        .find(|(_, r)| !r.proof.is_empty())
        .expect("some receipt has a non-empty proof");
    let mut bad_proof = receipt.clone();
    bad_proof.proof[0][0] ^= 1;
    let bad_proof_path = dir.path().join("bad-proof.provlog");
    std::fs::write(&bad_proof_path, bad_proof.to_cbor()).expect("write");
    let run = verify(victim, Some(&bad_proof_path), &log.vkey, false);
    assert_fails_naming(&run, "inclusion proof failed", "an altered proof");
    let mut bad_entry = receipt.clone();
    let last = bad_entry.entry.len() - 1;
    bad_entry.entry[last] ^= 1;
    let bad_entry_path = dir.path().join("bad-entry.provlog");
    std::fs::write(&bad_entry_path, bad_entry.to_cbor()).expect("write");
    let run = verify(victim, Some(&bad_entry_path), &log.vkey, false);
    assert_fails_naming(&run, "signed claim invalid", "an altered entry");

    // Under a policy: the log alone (quorum none) verifies; a witness quorum
    // the receipt cannot meet fails, naming the quorum.
    let witness = provlog_core::note::NoteSigner::generate_cosigner("witness.example")
        .expect("witness key")
        .verifier_key()
        .to_vkey();
    let lenient = dir.path().join("lenient.policy");
    std::fs::write(&lenient, format!("log {}\nquorum none\n", log.vkey)).expect("write");
    let run = provlog(args!["verify", &files[0], "--policy", &lenient]);
    assert!(run.ok(), "verify under a log-only policy: {run:?}");
    let strict = dir.path().join("strict.policy");
    std::fs::write(
        &strict,
        format!("log {}\nwitness w1 {witness}\nquorum w1\n", log.vkey),
    )
    .expect("write");
    let run = provlog(args!["verify", &files[0], "--policy", &strict]);
    assert_fails_naming(&run, "quorum", "a witness quorum that is not met");

    // No receipt at all names the paths it looked for.
    let run = verify(&modified, None, &log.vkey, false);
    assert_fails_naming(&run, "no receipt for", "a file without a receipt");

    // Lookup finds each asset at the index its receipt names.
    for f in files.iter().step_by(37) {
        let r = Receipt::from_cbor(&std::fs::read(sidecar(f, "provlog")).expect("read"))
            .expect("receipt");
        let run = provlog(args![
            "lookup",
            "--log",
            &log.url,
            "--log-key",
            &log.vkey,
            f,
            "--json"
        ]);
        assert!(run.ok(), "lookup {}: {run:?}", f.display());
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("lookup JSON");
        let found: Vec<u64> = json["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["index"].as_u64())
            .collect();
        assert_eq!(found, vec![r.index], "lookup of {}", f.display());
    }
    let run = provlog(args![
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        &files[2]
    ]);
    assert!(run.ok() && run.stdout.contains("1 claim(s)"), "{run:?}");
    let unknown = "00".repeat(32);
    let run = provlog(args![
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--sha256",
        &unknown
    ]);
    assert_fails_naming(&run, "no claims found", "lookup of an unlogged asset");
    let run = provlog(args![
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &other_vkey,
        &files[2]
    ]);
    assert_fails_naming(
        &run,
        "checkpoint does not verify",
        "lookup under a wrong log key",
    );
}

#[test]
fn submit_with_out_dir_mirrors_the_tree_and_dedups_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "20"]);
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let media = dir.path().join("media");
    let files = write_media_tree(&media, 12, "out");
    let receipts = dir.path().join("receipts");
    let out_dir = receipts.to_string_lossy().into_owned();
    // The directory and one of its files named again: submitted once.
    let run = submit(&log, &key, &[&media, &files[3]], &["--out-dir", &out_dir]);
    assert!(run.ok(), "submit: {run:?}");
    assert!(run.stderr.contains("submitted 12 files"), "{}", run.stderr);
    for f in &files {
        assert!(
            !sidecar(f, "provlog").exists(),
            "nothing written next to the file"
        );
        let rel = f.strip_prefix(&media).expect("under media");
        let r = sidecar(&receipts.join(rel), "provlog");
        let v = verify(f, Some(&r), &log.vkey, false);
        assert!(v.ok(), "verify {}: {v:?}", f.display());
    }

    // Two files whose receipts would collide in --out-dir are refused up front.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let clash = other.join(files[0].file_name().expect("name"));
    std::fs::write(&clash, b"\x89PNG\r\n\x1a\nclash").expect("write");
    let before = provlog(args![
        "checkpoint",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--state-dir",
        dir.path().join("s1")
    ]);
    assert!(before.ok());
    let run = submit(&log, &key, &[&files[0], &clash], &["--out-dir", &out_dir]);
    assert_fails_naming(&run, "would both write the receipt", "colliding receipts");
    let after = provlog(args![
        "audit",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--state-dir",
        dir.path().join("s1")
    ]);
    assert!(
        after.ok() && after.stdout.contains("(0 new entries)"),
        "nothing was submitted: {after:?}"
    );
}

#[test]
fn submit_retries_rate_limits_and_splits_batches_over_the_burst() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 40 claims/s with a burst of 40: the default batch of 64 is over the
    // burst (the log says "split it"), and 120 files outrun the rate (429
    // with Retry-After).
    let log = LogProcess::start(
        &dir.path().join("log"),
        &[
            "--batch-interval-ms",
            "20",
            "--rate-limit",
            "40",
            "--rate-burst",
            "40",
        ],
    );
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let media = dir.path().join("media");
    let files = write_media_tree(&media, 120, "rl");
    let run = submit(&log, &key, &[&media], &["--retries", "60"]);
    assert!(run.ok(), "submit under rate limits: {run:?}");
    assert!(
        run.stderr
            .contains("120 logged with verified receipts, 0 failed")
    );
    for f in &files {
        assert!(
            sidecar(f, "provlog").exists(),
            "receipt for {}",
            f.display()
        );
    }
}

#[test]
fn submit_reports_refused_files_and_exits_nonzero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let (_, accepted) = keygen(dir.path(), "someone-else.example");
    let accept = dir.path().join("accepted-keys");
    std::fs::write(&accept, format!("{accepted}\n")).expect("write");
    let log = LogProcess::start(
        &dir.path().join("log"),
        &["--accept-keys", &accept.to_string_lossy()],
    );
    let media = dir.path().join("media");
    let files = write_media_tree(&media, 5, "refused");
    let run = submit(&log, &key, &[&media], &[]);
    assert!(!run.ok(), "a refused key must fail: {run:?}");
    assert_eq!(run.code, Some(4), "refused by the log: {run:?}");
    assert!(run.stderr.contains("5 failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("FAILED") && run.stderr.contains("accepted-keys"),
        "each failure gives the log's reason: {}",
        run.stderr
    );
    assert!(files.iter().all(|f| !sidecar(f, "provlog").exists()));

    // Under a wrong log key nothing is sent (the key is checked against the
    // log's checkpoint first), and no receipt is written.
    let open = LogProcess::start(&dir.path().join("open"), &[]);
    let (_, wrong) = keygen(dir.path(), "not-the-log");
    let run = provlog(args![
        "submit",
        "--log",
        &open.url,
        "--key",
        &key,
        "--log-key",
        &wrong,
        &media
    ]);
    assert_fails_naming(
        &run,
        "does not sign with the key you gave",
        "submit under a wrong log key",
    );
    assert_eq!(run.code, Some(1), "a wrong key does not verify: {run:?}");
    assert!(files.iter().all(|f| !sidecar(f, "provlog").exists()));
}

#[test]
fn audit_passes_across_growth_and_catches_a_forked_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "imagegen.example");
    let state = dir.path().join("state");
    let data_a = dir.path().join("log-a");
    let log_a = LogProcess::start(&data_a, &["--batch-interval-ms", "20"]);
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

    let run = cp(&log_a, "audit");
    assert_fails_naming(&run, "provlog checkpoint", "audit with nothing remembered");

    let first = dir.path().join("first");
    write_media_tree(&first, 5, "a1");
    assert!(submit(&log_a, &key, &[&first], &[]).ok());
    let run = cp(&log_a, "checkpoint");
    assert!(
        run.ok() && run.stdout.contains("size 5"),
        "checkpoint: {run:?}"
    );

    let second = dir.path().join("second");
    write_media_tree(&second, 10, "a2");
    assert!(submit(&log_a, &key, &[&second], &[]).ok());
    let run = cp(&log_a, "audit");
    assert!(run.ok(), "audit across growth: {run:?}");
    assert!(
        run.stdout.contains("consistent: size 5 -> 15"),
        "{}",
        run.stdout
    );

    // Log B: the same key, a different (longer) history.
    let data_b = dir.path().join("log-b");
    std::fs::create_dir_all(&data_b).expect("mkdir");
    std::fs::copy(data_a.join("log.key"), data_b.join("log.key")).expect("copy key");
    std::fs::set_permissions(
        data_b.join("log.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let log_b = LogProcess::start(&data_b, &["--batch-interval-ms", "20"]);
    assert_eq!(log_b.vkey, log_a.vkey, "B signs with A's key");
    let fork = dir.path().join("fork");
    write_media_tree(&fork, 30, "b");
    assert!(submit(&log_b, &key, &[&fork], &[]).ok());
    let run = cp(&log_b, "audit");
    assert_fails_naming(&run, "INCONSISTENT", "audit against a forked log");
    let run = cp(&log_b, "checkpoint");
    assert_fails_naming(&run, "INCONSISTENT", "checkpoint against a forked log");

    // The fork was not remembered: A still audits cleanly from size 15.
    let run = cp(&log_a, "audit");
    assert!(run.ok(), "audit of A after the fork was seen: {run:?}");
    assert!(
        run.stdout.contains("consistent: size 15 -> 15"),
        "{}",
        run.stdout
    );

    // A log that shrank is caught too (B remembered at 30+, A is at 15).
    let state_b = dir.path().join("state-b");
    let remember_b = provlog(args![
        "checkpoint",
        "--log",
        &log_b.url,
        "--log-key",
        &log_b.vkey,
        "--state-dir",
        &state_b
    ]);
    assert!(remember_b.ok(), "{remember_b:?}");
    let run = provlog(args![
        "audit",
        "--log",
        &log_a.url,
        "--log-key",
        &log_a.vkey,
        "--state-dir",
        &state_b
    ]);
    assert_fails_naming(&run, "INCONSISTENT", "audit of a log that shrank");
}
