//! End-to-end test of temporal shards (spec/log-list.md): two real
//! `provlog-server --verifiable-index` processes as the two shards of a log
//! list, and a third log that is not in it.
//!
//! - `provlog submit --log-list` sends a claim to the shard whose period
//!   covers its creation time (`--created`, else now) and refuses a time no
//!   shard covers, sending nothing;
//! - `provlog lookup --log-list` proves a claim present in shard 2 and
//!   absent in shard 1, each under its own key, and absence in all shards;
//!   a shard answering with another log's proof fails the whole lookup;
//! - `provlog verify --log-list` accepts receipts from both shards and
//!   rejects one from the unlisted log.

use std::path::{Path, PathBuf};

use provlog_core::log_list::parse_time;
use provlog_e2e::{CliRun, LogProcess, provlog, write_log_key};
use serde_json::Value;

fn start_log(dir: &Path, origin: &str) -> LogProcess {
    let data = dir.join(origin);
    write_log_key(&data, origin);
    LogProcess::start(&data, &["--verifiable-index", "--batch-interval-ms", "10"])
}

fn shard(log: &LogProcess, origin: &str, start: &str, end: &str) -> Value {
    serde_json::json!({
        "origin": origin,
        "vkey": log.vkey,
        "url": log.url,
        "period": {"start": start, "end": end},
    })
}

fn write_list(path: &Path, shards: Vec<Value>) {
    let list = serde_json::json!({"version": "provlog-log-list/v1", "shards": shards});
    std::fs::write(path, serde_json::to_vec_pretty(&list).expect("json")).expect("write list");
}

fn keygen(dir: &Path) -> PathBuf {
    let key = dir.join("vendor.key");
    let r = provlog([
        "keygen".as_ref(),
        "--out".as_ref(),
        key.as_os_str(),
        "--name".as_ref(),
        "vendor.example".as_ref(),
    ]);
    assert!(r.ok(), "{r:?}");
    key
}

fn file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("asset {name}")).expect("write asset");
    p
}

fn run(args: &[&str]) -> CliRun {
    provlog(args)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn submit(list: &Path, key: &Path, f: &Path, created: Option<u64>) -> CliRun {
    let created = created.map(|t| t.to_string());
    let mut a = vec![
        "submit",
        "--log-list",
        s(list),
        "--key",
        s(key),
        "--no-seq",
        "--generator",
        "Example AI/imagegen/2.1",
    ];
    if let Some(t) = &created {
        a.extend(["--created", t]);
    }
    a.push(s(f));
    run(&a)
}

/// The origin `provlog verify --json` reports for `f`'s receipt.
fn verified_origin(list: &Path, f: &Path) -> String {
    let r = run(&["verify", "--log-list", s(list), "--json", s(f)]);
    assert!(r.ok(), "{r:?}");
    let j: Value = serde_json::from_str(r.stdout.trim()).expect("verify json");
    assert_eq!(j["verified"], true, "{j}");
    j["log"].as_str().expect("log").to_string()
}

#[test]
fn submit_lookup_and_verify_across_two_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let a = start_log(d, "shard-a.test");
    let b = start_log(d, "shard-b.test");
    let other = start_log(d, "unlisted.test");
    let list = d.join("loglist.json");
    write_list(
        &list,
        vec![
            shard(
                &a,
                "shard-a.test",
                "2026-01-01T00:00:00Z",
                "2026-07-01T00:00:00Z",
            ),
            shard(
                &b,
                "shard-b.test",
                "2026-07-01T00:00:00Z",
                "2100-01-01T00:00:00Z",
            ),
        ],
    );
    let key = keygen(d);
    let t = |x| parse_time(x).expect("time");

    // Submit lands in the shard whose period covers the creation time.
    let f1 = file(d, "one.bin");
    let r = submit(&list, &key, &f1, Some(t("2026-03-01T12:00:00Z")));
    assert!(r.ok(), "{r:?}");
    assert!(
        r.stderr.contains("submitting to shard shard-a.test"),
        "{}",
        r.stderr
    );
    assert_eq!(verified_origin(&list, &f1), "shard-a.test");

    let f2 = file(d, "two.bin");
    // The boundary second belongs to the later shard (end exclusive).
    let r = submit(&list, &key, &f2, Some(t("2026-07-01T00:00:00Z")));
    assert!(r.ok(), "{r:?}");
    assert_eq!(verified_origin(&list, &f2), "shard-b.test");

    // Without --created: now, which is in shard b's period.
    let f4 = file(d, "four.bin");
    let r = submit(&list, &key, &f4, None);
    assert!(r.ok(), "{r:?}");
    assert_eq!(verified_origin(&list, &f4), "shard-b.test");

    // A time no shard covers is refused and nothing is sent.
    let f3 = file(d, "three.bin");
    let r = submit(&list, &key, &f3, Some(t("2025-06-01T00:00:00Z")));
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("no shard of the log list covers"),
        "{}",
        r.stderr
    );
    assert!(!d.join("three.bin.provlog").exists());
    assert!(!d.join("three.bin.provlog.pending").exists());

    // Lookup: present in shard b, proven absent in shard a.
    let sha2 = hex::encode(provlog_core::hash::sha256(b"asset two.bin"));
    let r = run(&["lookup", "--log-list", s(&list), "--sha256", &sha2]);
    assert!(r.ok(), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("shard shard-a.test [2026-01-01T00:00:00Z, 2026-07-01T00:00:00Z): VERIFIED ABSENT as of checkpoint "),
        "{}",
        r.stdout
    );
    assert!(
        lines[1].starts_with("shard shard-b.test [2026-07-01T00:00:00Z, 2100-01-01T00:00:00Z): VERIFIED: 1 claims (complete as of checkpoint "),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some("VERIFIED: 1 claims in 1 of 2 shards (complete as of each shard's checkpoint)"),
        "{}",
        r.stdout
    );
    let r = run(&[
        "lookup",
        "--log-list",
        s(&list),
        "--sha256",
        &sha2,
        "--json",
    ]);
    assert!(r.ok(), "{r:?}");
    let j: Value = serde_json::from_str(r.stdout.trim()).expect("json");
    assert_eq!(j["outcome"], "found", "{j}");
    assert_eq!(j["count"], 1, "{j}");
    assert_eq!(j["shards"][0]["origin"], "shard-a.test");
    assert_eq!(j["shards"][0]["outcome"], "absent");
    assert_eq!(j["shards"][1]["origin"], "shard-b.test");
    assert_eq!(j["shards"][1]["outcome"], "found");
    assert_eq!(
        j["shards"][1]["entries"][0]["claim"]["created"],
        t("2026-07-01T00:00:00Z")
    );

    // Absent everywhere.
    let none = hex::encode(provlog_core::hash::sha256(b"never logged"));
    let r = run(&["lookup", "--log-list", s(&list), "--sha256", &none]);
    assert!(r.ok(), "{r:?}");
    assert_eq!(
        r.stdout.lines().last(),
        Some("VERIFIED ABSENT in all 2 shards (as of each shard's checkpoint)"),
        "{}",
        r.stdout
    );

    // The unlisted log gets a claim (and so an index commit).
    let r = run(&[
        "submit",
        "--log",
        &other.url,
        "--log-key",
        &other.vkey,
        "--key",
        s(&key),
        "--no-seq",
        s(&f3),
    ]);
    assert!(r.ok(), "{r:?}");

    // A shard whose URL serves another log: its answer does not verify
    // under the shard's key, and the lookup fails instead of skipping it.
    let wrong = d.join("wrong.json");
    let mut bad_b = shard(
        &b,
        "shard-b.test",
        "2026-07-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
    );
    bad_b["url"] = other.url.clone().into();
    write_list(
        &wrong,
        vec![
            shard(
                &a,
                "shard-a.test",
                "2026-01-01T00:00:00Z",
                "2026-07-01T00:00:00Z",
            ),
            bad_b,
        ],
    );
    let r = run(&["lookup", "--log-list", s(&wrong), "--sha256", &none]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stdout
            .contains("NOT VERIFIED: 1 of 2 shards did not answer with a verified proof"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("VERIFIED ABSENT in all"), "{}", r.stdout);

    // Verify accepts receipts from both shards (one folder, one summary).
    let r = run(&["verify", "--log-list", s(&list), s(&f1), s(&f2)]);
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("VERIFIED "), "{}", r.stdout);
    assert!(r.stdout.contains("shard-a.test entry #"), "{}", r.stdout);
    assert!(r.stdout.contains("shard-b.test entry #"), "{}", r.stdout);

    // ... and rejects a receipt from a log that is not in the list.
    let r = run(&["verify", "--log-key", &other.vkey, s(&f3)]);
    assert!(r.ok(), "{r:?}");
    let r = run(&["verify", "--log-list", s(&list), s(&f3)]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("\"unlisted.test\", which is not among the trusted logs"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_log_list_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let list = d.join("bad.json");
    std::fs::write(
        &list,
        br#"{"version": "provlog-log-list/v1", "shards": []}"#,
    )
    .expect("write");
    let f = file(d, "x.bin");
    let r = run(&["verify", "--log-list", s(&list), s(&f)]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("log list has no shards"), "{}", r.stderr);
    // --log-list and --log-key do not mix.
    let r = run(&["verify", "--log-list", s(&list), "--log-key", "x", s(&f)]);
    assert_eq!(r.code, Some(2), "{r:?}");
}
