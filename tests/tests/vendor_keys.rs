//! Vendor keys in the log (spec/lookup.md §4.2, §5, §9.1): a log with
//! `--verifiable-index --accept-keys FILE` issues the file as vendor-key
//! entries signed with its key, before it takes claims; a changed file at
//! the next start adds, revokes and (`NEW replaces OLD`) rotates; a verifier proves from a complete
//! `[6, vkey]` lookup whether a claim's key was accepted at the claim's
//! index; a monitor alerts every change; `provlog-server check` accepts the
//! log's own entries.

use std::path::Path;

use provlog_client::http::LogClient;
use provlog_core::index::IndexKey;
use provlog_core::index::acceptance::{KeyStatus, key_status_at};
use provlog_core::index::entry::{KeyOp, LogEntry};
use provlog_core::index::proof::verify_lookup;
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_e2e::{LogProcess, MonitorProcess, Vendor, bin, free_port, rt, wait_for};

/// Submits one claim: `Ok(index)` or the HTTP status of the refusal.
fn submit(url: &str, claim: &[u8]) -> Result<u64, String> {
    let client = LogClient::new(url).expect("client");
    rt().block_on(client.submit(claim))
        .map(|r| r.index)
        .map_err(|e| e.to_string())
}

/// The status of `vkey` at `index`, proved by the log's `[6, vkey]` lookup
/// (verified under the log key alone).
fn status_at(log: &LogProcess, vkey: &str, index: u64) -> KeyStatus {
    let log_key = VerifierKey::parse(&log.vkey).expect("log vkey");
    let policy = Policy::single_log(log_key.clone());
    let key = IndexKey::VendorKeyStatus(vkey.to_owned());
    let client = LogClient::new(&log.url).expect("client");
    let bytes = rt()
        .block_on(client.lookup_proof(&key, 0, true))
        .expect("lookup");
    let v = verify_lookup(&bytes, &policy, Some(&key)).expect("the lookup verifies");
    key_status_at(&v, vkey, index, &log_key).expect("status")
}

/// The vendor-key entries of the log, in order: (index, op, key).
fn key_entries(log: &LogProcess) -> Vec<(u64, KeyOp, String)> {
    let client = LogClient::new(&log.url).expect("client");
    let key = VerifierKey::parse(&log.vkey).expect("vkey");
    rt().block_on(async {
        let size = client
            .verified_checkpoint(&key)
            .await
            .expect("checkpoint")
            .checkpoint
            .size;
        let mut out = Vec::new();
        for i in 0..size {
            let e = client.entry(i).await.expect("entry");
            if let LogEntry::VendorKey(ev) = LogEntry::classify(&e) {
                ev.verify(&key).expect("signed by the log key");
                out.push((i, ev.op, ev.key));
            }
        }
        out
    })
}

fn write_keys(path: &Path, keys: &[&str]) {
    std::fs::write(path, format!("# accepted vendors\n{}\n", keys.join("\n"))).expect("write");
}

#[test]
fn accepted_keys_are_logged_changed_and_proved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("log");
    let file = dir.path().join("accepted-keys");
    let (a, b) = (Vendor::new("a.example"), Vendor::new("b.example"));
    write_keys(&file, &[&a.vkey]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let file_arg = file.to_str().expect("utf-8 path");
    let args = [
        "--verifiable-index",
        "--batch-interval-ms",
        "10",
        "--accept-keys",
        file_arg,
    ];
    let log = LogProcess::try_start_on(&data, &listen, &args).expect("log starts");
    // First start: one batch with A's add (entry 0) and its index-commit.
    assert_eq!(key_entries(&log), vec![(0, KeyOp::Add, a.vkey.clone())]);
    let a1 = submit(&log.url, &a.claim(1)).expect("A is accepted");
    assert_eq!(a1, 2);
    let refused = submit(&log.url, &b.claim(2)).expect_err("B is not listed");
    assert!(
        refused.contains("403") || refused.contains("not accepted"),
        "{refused}"
    );
    assert_eq!(
        status_at(&log, &a.vkey, a1),
        KeyStatus::Accepted { since: 0 }
    );
    // Before its add, no key was accepted: the claim could not have been.
    assert_eq!(status_at(&log, &b.vkey, a1), KeyStatus::NeverAdded);

    // The monitor sees the change (and, below, the next ones).
    let mon = MonitorProcess::start(
        &dir.path().join("mon"),
        &format!(
            "witness_name = \"mon.example\"\n[[log]]\nurl = \"{}\"\nvkey = \"{}\"\npoll_interval_ms = 200\nfreshness_secs = 30\n[[watch]]\nname = \"vendor-a\"\nvendor_key = \"{}\"\n",
            log.url, log.vkey, a.vkey
        ),
    );
    let first = wait_for(300, || {
        let v = mon.alerts_of("vendor-key-change");
        (!v.is_empty()).then_some(v)
    })
    .expect("the monitor alerts the first vendor-key entry");
    assert_eq!(first[0]["op"], "add");
    assert_eq!(first[0]["vendor_key"], a.vkey.as_str());
    assert_eq!(first[0]["index"], 0);

    // The operator replaces A by B: the next start revokes A and adds B.
    assert!(log.stop(), "clean stop");
    write_keys(&file, &[&b.vkey]);
    let log = LogProcess::try_start_on(&data, &listen, &args).expect("log restarts");
    let entries = key_entries(&log);
    assert_eq!(entries.len(), 3, "{entries:?}");
    let (add_b, revoke_a) = (&entries[1], &entries[2]);
    assert_eq!((add_b.1, &add_b.2), (KeyOp::Add, &b.vkey));
    assert_eq!((revoke_a.1, &revoke_a.2), (KeyOp::Revoke, &a.vkey));
    let b1 = submit(&log.url, &b.claim(3)).expect("B is accepted now");
    submit(&log.url, &a.claim(4)).expect_err("A is revoked");
    // A's old claim was made while A was accepted; a claim at B's index
    // would not have been.
    assert_eq!(
        status_at(&log, &a.vkey, a1),
        KeyStatus::Accepted { since: 0 }
    );
    assert_eq!(
        status_at(&log, &a.vkey, b1),
        KeyStatus::Revoked { at: revoke_a.0 }
    );
    assert_eq!(
        status_at(&log, &b.vkey, b1),
        KeyStatus::Accepted { since: add_b.0 }
    );
    let changes = wait_for(300, || {
        let v = mon.alerts_of("vendor-key-change");
        (v.len() >= 3).then_some(v)
    })
    .expect("the monitor alerts every vendor-key entry");
    let ops: Vec<_> = changes.iter().map(|v| v["op"].clone()).collect();
    assert_eq!(ops, ["add", "add", "revoke"]);
    // The watch rule on A fired for A's add and A's revoke (and for A's
    // claim), not for B's add.
    let watched = wait_for(300, || {
        let v: Vec<_> = mon
            .alerts_of("watch")
            .into_iter()
            .filter(|w| !w["vendor_key_change"].is_null())
            .collect();
        (v.len() >= 2).then_some(v)
    })
    .expect("the watch rule on A sees A's key changes");
    let watched: Vec<_> = watched
        .iter()
        .map(|w| {
            assert_eq!(w["rule"], "vendor-a");
            assert_eq!(w["vendor_key_change"]["vendor_key"], a.vkey.as_str());
            (w["index"].clone(), w["vendor_key_change"]["op"].clone())
        })
        .collect();
    assert_eq!(
        watched,
        [
            (serde_json::json!(0), serde_json::json!("add")),
            (serde_json::json!(revoke_a.0), serde_json::json!("revoke"))
        ]
    );
    assert!(
        mon.alerts_of("watch")
            .iter()
            .any(|w| w["vendor_key_change"].is_null() && w["index"] == a1),
        "A's claim matched the same rule"
    );
    assert!(
        mon.alerts_of("invalid-entry").is_empty() && mon.alerts_of("index-mismatch").is_empty(),
        "vendor-key entries are neither invalid claims nor index faults"
    );

    // The same file again: nothing new is logged.
    assert!(log.stop(), "clean stop");
    let log = LogProcess::try_start_on(&data, &listen, &args).expect("log restarts");
    assert_eq!(key_entries(&log).len(), 3);

    // B's key is rotated to C ("C replaces B"): one rotate entry.
    assert!(log.stop(), "clean stop");
    let c = Vendor::new("b.example");
    std::fs::write(&file, format!("{} replaces {}\n", c.vkey, b.vkey)).expect("write");
    let log = LogProcess::try_start_on(&data, &listen, &args).expect("log restarts");
    let entries = key_entries(&log);
    assert_eq!(entries.len(), 4, "{entries:?}");
    let rotate = &entries[3];
    assert_eq!((rotate.1, &rotate.2), (KeyOp::Rotate, &c.vkey));
    let c1 = submit(&log.url, &c.claim(5)).expect("C is accepted");
    submit(&log.url, &b.claim(6)).expect_err("B is rotated away");
    assert_eq!(
        status_at(&log, &b.vkey, b1),
        KeyStatus::Accepted { since: add_b.0 }
    );
    assert_eq!(
        status_at(&log, &b.vkey, c1),
        KeyStatus::Revoked { at: rotate.0 }
    );
    assert_eq!(
        status_at(&log, &c.vkey, c1),
        KeyStatus::Accepted { since: rotate.0 }
    );
    let last = wait_for(300, || {
        let v = mon.alerts_of("vendor-key-change");
        (v.len() >= 4).then_some(v)
    })
    .expect("the monitor alerts the rotation");
    assert_eq!(last[3]["op"], "rotate");
    assert_eq!(last[3]["old"], b.vkey.as_str());
    assert_eq!(last[3]["vendor_key"], c.vkey.as_str());
    assert!(log.stop(), "clean stop");

    // The offline audit accepts the log's own entries.
    let out = std::process::Command::new(bin("provlog-server"))
        .args(["check", "--data"])
        .arg(&data)
        .output()
        .expect("check runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_ml_dsa_vendor_key_cannot_be_listed_with_the_index() {
    // Vendor-key entries name Ed25519 keys only (spec/lookup.md §5): the
    // server refuses at start rather than accept a key it cannot record.
    let dir = tempfile::tempdir().expect("tempdir");
    let key = provlog_core::note::MlDsa44NoteSigner::generate("pq.example")
        .expect("keygen")
        .verifier_key()
        .to_vkey();
    let file = dir.path().join("accepted-keys");
    write_keys(&file, &[&key]);
    let err = LogProcess::try_start(
        &dir.path().join("log"),
        &[
            "--verifiable-index",
            "--accept-keys",
            file.to_str().expect("utf-8 path"),
        ],
    )
    .err()
    .expect("the server refuses to start");
    assert!(err.contains("Ed25519 keys only"), "{err}");
}
