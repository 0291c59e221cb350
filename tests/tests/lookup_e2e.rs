//! End-to-end tests of verifiable lookup (spec/lookup.md): a real
//! `provlog-server --verifiable-index`, the `provlog lookup` CLI, and a
//! `provlog-monitor` that recomputes the index.
//!
//! - presence, absence and completeness, online and from a saved bundle,
//!   and the same answers after a restart (the index is rebuilt from the
//!   entries);
//! - every proof the server serves, for random keys present and absent,
//!   verifies and lists exactly the entries that carry the key;
//! - a lying log (the test-only `--unsafe-test-index-omit N` leaves entry
//!   N's asset key out of its index) answers a lookup that verifies yet hides
//!   the claim; a monitor catches it with `index-omission` evidence that
//!   `provlog verify-evidence` accepts with the log's key alone, while the
//!   honest log beside it shows no mismatch.

use std::collections::BTreeMap;

use provlog_client::http::LogClient;
use provlog_core::hash::sha256;
use provlog_core::index::IndexKey;
use provlog_core::index::proof::{LookupOutcome, verify_lookup};
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_e2e::{
    LogProcess, MonitorProcess, Rng, Vendor, free_port, provlog, wait_for, write_log_key,
};
use serde_json::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Submits each claim and waits for its receipt (one batch each, in order);
/// returns the indexes.
fn submit_all(url: &str, claims: &[Vec<u8>]) -> Vec<u64> {
    let client = LogClient::new(url).expect("client");
    rt().block_on(async {
        let mut out = Vec::new();
        for c in claims {
            out.push(client.submit(c).await.expect("submit").index);
        }
        out
    })
}

fn tree_size(url: &str, vkey: &str) -> u64 {
    let client = LogClient::new(url).expect("client");
    let key = VerifierKey::parse(vkey).expect("vkey");
    rt().block_on(client.verified_checkpoint(&key))
        .expect("checkpoint")
        .checkpoint
        .size
}

fn lookup(args: &[&str]) -> provlog_e2e::CliRun {
    provlog(args)
}

#[test]
fn verified_presence_absence_and_completeness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("log");
    let log = LogProcess::start(&data, &["--verifiable-index", "--batch-interval-ms", "10"]);
    let vendor = Vendor::new("vendor.example");
    // Asset A twice (two claims), B once, then ten more distinct assets.
    let mut claims = vec![
        vendor.claim_for(b"asset A", 1),
        vendor.claim_for(b"asset B", 2),
        vendor.claim_for(b"asset A", 3),
    ];
    for i in 0..10 {
        claims.push(vendor.claim_for(format!("more {i}").as_bytes(), 10 + i));
    }
    let idx = submit_all(&log.url, &claims);
    // Every batch ends with an index-commit: indexes skip one per batch.
    assert_eq!(&idx[..3], &[0, 2, 4]);
    let size = tree_size(&log.url, &log.vkey);
    let a = hex::encode(sha256(b"asset A"));

    // Presence, complete: the earlier lines, then the verdict.
    let r = lookup(&[
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--sha256",
        &a,
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("2 claim(s) for sha256:"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "VERIFIED: 2 claims (complete as of checkpoint {size})"
        )),
        "{}",
        r.stdout
    );

    // Absence.
    let none = hex::encode(sha256(b"never logged"));
    let r = lookup(&[
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--sha256",
        &none,
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("VERIFIED ABSENT as of checkpoint {size}")),
        "{}",
        r.stdout
    );

    // Any key by its CLI form; JSON.
    let vkey_form = format!("vendor:{}", vendor.vkey);
    let r = lookup(&[
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--key",
        &vkey_form,
        "--json",
    ]);
    assert!(r.ok(), "{r:?}");
    let v: Value = serde_json::from_str(r.stdout.trim()).expect("json");
    assert_eq!(v["verified"], true);
    assert_eq!(v["outcome"], "found");
    assert_eq!(v["count"], 13);
    assert_eq!(v["covered_size"], size);
    assert_eq!(v["indexes"].as_array().map(Vec::len), Some(13));

    // Saved, then verified offline; a bundle for another key is refused.
    let saved = dir.path().join("a.lookup");
    let r = lookup(&[
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--key",
        &format!("asset:{a}"),
        "--save",
        saved.to_str().expect("path"),
    ]);
    assert!(r.ok(), "{r:?}");
    let r = lookup(&[
        "lookup",
        "--bundle",
        saved.to_str().expect("path"),
        "--log-key",
        &log.vkey,
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("VERIFIED: 2 claims"), "{}", r.stdout);
    let r = lookup(&[
        "lookup",
        "--bundle",
        saved.to_str().expect("path"),
        "--log-key",
        &log.vkey,
        "--key",
        &format!("asset:{none}"),
    ]);
    assert!(!r.ok(), "a bundle for another key must not verify: {r:?}");
    // Under another log's key it does not verify either.
    let other = Vendor::new("other.example");
    let r = lookup(&[
        "lookup",
        "--bundle",
        saved.to_str().expect("path"),
        "--log-key",
        &other.vkey,
    ]);
    assert!(!r.ok(), "{r:?}");
    // A flipped bit fails anywhere in what the log's key authenticates:
    // every byte up to the end of the checkpoint's first signature line
    // (the Ed25519 one --log-key pins). Only the lines after it may change
    // unnoticed: signatures by keys the policy does not name (the log's
    // ML-DSA-44 key, and lines whose name or key hash a flip changed),
    // which signed notes ignore (C2SP signed-note).
    let bytes = std::fs::read(&saved).expect("read");
    let pinned = VerifierKey::parse(&log.vkey).expect("vkey");
    let policy = Policy::single_log(pinned);
    assert!(
        verify_lookup(&bytes, &policy, None).is_ok(),
        "the saved bundle verifies"
    );
    let sigs = find(&bytes, "\n\n\u{2014} ".as_bytes()).expect("the checkpoint's signatures");
    let first_sig_end = sigs
        + 2
        + bytes[sigs + 2..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("line end");
    for at in 0..first_sig_end {
        let mut t = bytes.clone();
        t[at] ^= 1;
        assert!(
            verify_lookup(&t, &policy, None).is_err(),
            "a flipped bit at byte {at} of {} still verifies",
            bytes.len()
        );
    }
    // And the CLI says so for one of them.
    let mut t = bytes.clone();
    t[first_sig_end / 2] ^= 1;
    std::fs::write(&saved, &t).expect("write");
    let r = lookup(&[
        "lookup",
        "--bundle",
        saved.to_str().expect("path"),
        "--log-key",
        &log.vkey,
    ]);
    assert!(!r.ok(), "{r:?}");

    // Bad requests are problems, not crashes.
    let client = get_status(&format!("{}/v1/lookup?key=asset:00", log.url));
    assert_eq!(client.0, 400, "{}", client.1);
    assert!(client.1.contains("bad-key"), "{}", client.1);

    // Every served proof verifies and lists exactly the claims with the key.
    let expected = expected_lists(&claims, &idx, &vendor);
    check_random_keys(&log, &expected, 0xC0FFEE);

    // After a restart the index is rebuilt from the entries: same answers.
    assert!(log.stop(), "clean stop");
    let log = LogProcess::start(&data, &["--verifiable-index"]);
    let r = lookup(&[
        "lookup",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--sha256",
        &a,
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "VERIFIED: 2 claims (complete as of checkpoint {size})"
        )),
        "{}",
        r.stdout
    );
    check_random_keys(&log, &expected, 7);
}

/// For every key of every submitted claim: its entry indexes.
fn expected_lists(claims: &[Vec<u8>], idx: &[u64], _v: &Vendor) -> BTreeMap<IndexKey, Vec<u64>> {
    let mut m: BTreeMap<IndexKey, Vec<u64>> = BTreeMap::new();
    for (c, i) in claims.iter().zip(idx) {
        for k in provlog_core::index::key::entry_keys(c) {
            m.entry(k).or_default().push(*i);
        }
    }
    m
}

/// Asks for every present key and as many random absent ones; each bundle
/// must verify under the log key and say exactly what was logged.
fn check_random_keys(log: &LogProcess, expected: &BTreeMap<IndexKey, Vec<u64>>, seed: u64) {
    let policy = Policy::single_log(VerifierKey::parse(&log.vkey).expect("vkey"));
    let client = LogClient::new(&log.url).expect("client");
    let mut rng = Rng::new(seed);
    let mut keys: Vec<IndexKey> = expected.keys().cloned().collect();
    for _ in 0..expected.len() {
        let mut h = [0u8; 32];
        for b in h.iter_mut() {
            *b = rng.below(256) as u8;
        }
        keys.push(IndexKey::Asset(h));
    }
    rt().block_on(async {
        for k in &keys {
            let bytes = client.lookup_proof(k, 0, true).await.expect("lookup");
            let v = verify_lookup(&bytes, &policy, Some(k))
                .unwrap_or_else(|e| panic!("{}: {e}", k.describe()));
            match (expected.get(k), &v.outcome) {
                (
                    Some(want),
                    LookupOutcome::Found {
                        indexes,
                        from: 0,
                        entries_checked: true,
                        ..
                    },
                ) => {
                    assert_eq!(indexes, want, "{}", k.describe());
                }
                (None, LookupOutcome::Absent) => {}
                (w, o) => panic!("{}: expected {w:?}, got {o:?}", k.describe()),
            }
        }
    });
}

/// A one-shot GET: (status, body).
fn get_status(url: &str) -> (u16, String) {
    rt().block_on(async {
        let r = reqwest::get(url).await.expect("get");
        let s = r.status().as_u16();
        (s, r.text().await.unwrap_or_default())
    })
}

fn log_section(origin: &str, url: &str, vkey: &str) -> String {
    format!(
        "[[log]]\nurl = \"{url}\"\nvkey = \"{vkey}\"\norigin = \"{origin}\"\npoll_interval_ms = 200\nfreshness_secs = 30\n"
    )
}

fn get_json(url: &str) -> Option<Value> {
    rt().block_on(async { reqwest::get(url).await.ok()?.json::<Value>().await.ok() })
}

fn audited(mon: &MonitorProcess, origin: &str) -> u64 {
    get_json(&format!("{}/healthz", mon.url))
        .and_then(|h| h["logs"][origin]["audited_size"].as_u64())
        .unwrap_or(0)
}

/// The monitor's stored bundles of `kind`, raw JSON.
fn evidence_of(mon: &MonitorProcess, kind: &str) -> Vec<Vec<u8>> {
    rt().block_on(async {
        let Ok(r) = reqwest::get(format!("{}/v1/evidence", mon.url)).await else {
            return vec![];
        };
        let Ok(v) = r.json::<Value>().await else {
            return vec![];
        };
        let mut out = vec![];
        for item in v["evidence"].as_array().cloned().unwrap_or_default() {
            if item["kind"] != kind {
                continue;
            }
            let id = item["id"].as_str().unwrap_or_default();
            if let Ok(r) = reqwest::get(format!("{}/v1/evidence/{id}", mon.url)).await
                && let Ok(b) = r.bytes().await
            {
                out.push(b.to_vec());
            }
        }
        out
    })
}

#[test]
fn a_log_hiding_one_claim_is_caught_by_a_monitor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (liar_origin, honest_origin) = ("liar.example/log", "honest.example/log");
    let liar_key = write_log_key(&dir.path().join("liar"), liar_origin);
    let honest_key = write_log_key(&dir.path().join("honest"), honest_origin);
    let (liar_vkey, honest_vkey) = (
        liar_key.verifier_key().to_vkey(),
        honest_key.verifier_key().to_vkey(),
    );
    let (lp, hp) = (free_port(), free_port());
    let liar_url = format!("http://127.0.0.1:{lp}");
    let honest_url = format!("http://127.0.0.1:{hp}");
    let mon = MonitorProcess::start(
        &dir.path().join("mon"),
        &format!(
            "witness_name = \"mon.example\"\n{}{}",
            log_section(liar_origin, &liar_url, &liar_vkey),
            log_section(honest_origin, &honest_url, &honest_vkey)
        ),
    );
    // Batch 1 is entries 0 (claim) and 1 (commit); batch 2 puts the second
    // claim of asset A at entry 2, whose asset key the liar leaves out.
    let liar = LogProcess::try_start_on(
        &dir.path().join("liar"),
        &format!("127.0.0.1:{lp}"),
        &["--verifiable-index", "--unsafe-test-index-omit", "2"],
    )
    .expect("liar starts");
    let honest = LogProcess::try_start_on(
        &dir.path().join("honest"),
        &format!("127.0.0.1:{hp}"),
        &["--verifiable-index"],
    )
    .expect("honest starts");
    let vendor = Vendor::new("vendor.example");
    let claims = vec![
        vendor.claim_for(b"asset A", 1),
        vendor.claim_for(b"asset A", 2),
        vendor.claim_for(b"asset C", 3),
    ];
    assert_eq!(submit_all(&liar.url, &claims), vec![0, 2, 4]);
    assert_eq!(submit_all(&honest.url, &claims), vec![0, 2, 4]);
    let a = hex::encode(sha256(b"asset A"));

    // The lie verifies on its own: one claim, "complete".
    let r = lookup(&[
        "lookup",
        "--log",
        &liar.url,
        "--log-key",
        &liar_vkey,
        "--key",
        &format!("asset:{a}"),
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("VERIFIED: 1 claims"), "{}", r.stdout);
    let r = lookup(&[
        "lookup",
        "--log",
        &honest.url,
        "--log-key",
        &honest_vkey,
        "--key",
        &format!("asset:{a}"),
    ]);
    assert!(r.stdout.contains("VERIFIED: 2 claims"), "{r:?}");

    // The monitor recomputes the index, sees the wrong commit, probes the
    // keys of that batch and stores offline evidence.
    let ev = wait_for(300, || {
        let e = evidence_of(&mon, "index-omission");
        (!e.is_empty()).then_some(e)
    })
    .expect("the monitor records index-omission evidence");
    assert!(
        mon.alerts_of("index-mismatch")
            .iter()
            .any(|a| a["log"] == liar_origin),
        "an index-mismatch alert names the liar"
    );
    let file = dir.path().join("omission.json");
    std::fs::write(&file, &ev[0]).expect("write evidence");
    let r = provlog([
        "verify-evidence",
        file.to_str().expect("path"),
        "--key",
        &liar_vkey,
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(
        r.stdout.contains("VALID evidence (index-omission)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("entry 2"), "{}", r.stdout);
    // Not evidence against anyone else.
    let r = provlog([
        "verify-evidence",
        file.to_str().expect("path"),
        "--key",
        &honest_vkey,
    ]);
    assert!(!r.ok(), "{r:?}");

    // The honest log, audited as far, shows no mismatch.
    let size = tree_size(&honest.url, &honest_vkey);
    wait_for(300, || (audited(&mon, honest_origin) >= size).then_some(()))
        .expect("the honest log is audited");
    assert!(
        !mon.alerts_of("index-mismatch")
            .iter()
            .any(|a| a["log"] == honest_origin),
        "no index mismatch on the honest log"
    );
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
