//! Per-vendor sequence numbers end to end (issue 14, "per-vendor
//! completeness"): `provlog submit` numbers claims from the key's counter
//! file, and a monitor alerts repeated and missing numbers per vendor key.

use provlog_client::http::LogClient;
use provlog_e2e::{LogProcess, MonitorProcess, Vendor, provlog, wait_for};
use serde_json::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The `seq` of the claim in `file`'s receipt (`verify --json`).
fn seq_of(file: &std::path::Path, vkey: &str) -> Option<u64> {
    let r = provlog([
        "verify",
        "--json",
        "--log-key",
        vkey,
        file.to_str().expect("path"),
    ]);
    assert!(r.ok(), "{r:?}");
    let v: Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    let claim = &v["claim"];
    claim
        .get("sequence")
        .or_else(|| claim.get("seq"))
        .and_then(Value::as_u64)
}

#[test]
fn submit_numbers_claims_from_the_key_counter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = LogProcess::start(&d.join("log"), &["--batch-interval-ms", "10"]);
    let key = d.join("vendor.key");
    assert!(
        provlog([
            "keygen",
            "--out",
            key.to_str().expect("path"),
            "--name",
            "v.example"
        ])
        .ok()
    );
    let file = |name: &str| {
        let p = d.join("files").join(name);
        std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
        std::fs::write(&p, format!("the file {name}")).expect("write");
        p
    };
    let submit = |files: &[&std::path::Path], extra: &[&str]| {
        let mut args = vec![
            "submit".to_string(),
            "--log".into(),
            log.url.clone(),
            "--log-key".into(),
            log.vkey.clone(),
            "--key".into(),
            key.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(files.iter().map(|f| f.display().to_string()));
        let r = provlog(args);
        assert!(r.ok(), "{r:?}");
    };
    let counter = d.join("vendor.key.seq");
    let (a, b, c) = (file("a"), file("b"), file("c"));
    submit(&[&a, &b, &c], &[]);
    let mut first: Vec<u64> = [&a, &b, &c]
        .iter()
        .map(|f| seq_of(f, &log.vkey).expect("a seq"))
        .collect();
    first.sort();
    assert_eq!(first, vec![0, 1, 2]);
    // The reservation not used went back at the end of the run.
    assert_eq!(std::fs::read_to_string(&counter).expect("counter"), "3\n");
    // The next run goes on from there; re-running on registered files
    // takes no number (their receipts verify).
    let a_seq = seq_of(&a, &log.vkey);
    let (e, f) = (file("e"), file("f"));
    submit(&[&a, &e, &f], &[]);
    let mut next: Vec<u64> = [&e, &f]
        .iter()
        .map(|f| seq_of(f, &log.vkey).expect("seq"))
        .collect();
    next.sort();
    assert_eq!(next, vec![3, 4]);
    assert_eq!(
        seq_of(&a, &log.vkey),
        a_seq,
        "a kept its receipt and number"
    );
    assert_eq!(std::fs::read_to_string(&counter).expect("counter"), "5\n");
    // --no-seq: no number; --sequence N: numbered by hand, counter untouched.
    let g = file("g");
    submit(&[&g], &["--no-seq"]);
    assert_eq!(seq_of(&g, &log.vkey), None);
    let h = file("h");
    submit(&[&h], &["--sequence", "100"]);
    assert_eq!(seq_of(&h, &log.vkey), Some(100));
    assert_eq!(std::fs::read_to_string(&counter).expect("counter"), "5\n");
    // A damaged counter stops the run before anything is sent.
    std::fs::write(&counter, "five").expect("write");
    let i = file("i");
    let r = provlog([
        "submit",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--key",
        key.to_str().expect("path"),
        i.to_str().expect("path"),
    ]);
    assert!(!r.ok(), "{r:?}");
    assert!(
        r.stderr.contains("does not hold a sequence number"),
        "{r:?}"
    );
    assert!(!d.join("files/i.provlog").exists());

    // A folder holding the key itself: the key, its counter and its lock
    // are not registered, the picture is.
    let kd = d.join("kd");
    std::fs::create_dir_all(&kd).expect("mkdir");
    let k2 = kd.join("v.key");
    assert!(
        provlog([
            "keygen",
            "--out",
            k2.to_str().expect("path"),
            "--name",
            "w.example"
        ])
        .ok()
    );
    std::fs::write(kd.join("v.key.seq"), "7\n").expect("counter");
    std::fs::write(kd.join("pic"), "a picture").expect("write");
    let r = provlog([
        "submit",
        "--log",
        &log.url,
        "--log-key",
        &log.vkey,
        "--key",
        k2.to_str().expect("path"),
        kd.to_str().expect("path"),
    ]);
    assert!(r.ok(), "{r:?}");
    assert!(
        r.stderr.contains("1 logged with verified receipts"),
        "{r:?}"
    );
    for own in ["v.key", "v.key.seq", "v.key.seq.lock"] {
        assert!(
            !kd.join(format!("{own}.provlog")).exists(),
            "{own} registered"
        );
    }
    // (The lock is empty, so it is skipped as an empty file first.)
    for own in ["v.key", "v.key.seq"] {
        assert!(
            r.stderr
                .contains(&format!("{own}: the vendor key or its seq counter")),
            "{r:?}"
        );
    }
    assert_eq!(seq_of(&kd.join("pic"), &log.vkey), Some(7));
}

#[test]
fn a_monitor_alerts_repeated_and_missing_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "10"]);
    let origin = log.vkey.split('+').next().expect("origin").to_string();
    let mon = MonitorProcess::start(
        &dir.path().join("mon"),
        &format!(
            "witness_name = \"mon.example\"\nseq_gap_grace = 2\n[[log]]\nurl = \"{}\"\nvkey = \"{}\"\npoll_interval_ms = 100\n",
            log.url, log.vkey
        ),
    );
    let v = Vendor::new("vendor.example");
    let other = Vendor::new("other.example");
    // v: 0, 1, 1 again (another asset), then 5 (2..5 missing), then 2;
    // other: 7 only (numbers below a key's first are no gap); then
    // enough entries for the gap's grace to pass.
    let claims = [
        v.claim_for(b"a", 0),
        v.claim_for(b"b", 1),
        v.claim_for(b"c", 1),
        other.claim_for(b"x", 7),
        v.claim_for(b"d", 5),
        v.claim_for(b"e", 2),
        other.claim_for(b"y", 8),
        other.claim_for(b"z", 9),
    ];
    let client = LogClient::new(&log.url).expect("client");
    rt().block_on(async {
        for c in &claims {
            client.submit(c).await.expect("submit");
        }
    });
    let gaps = wait_for(300, || {
        let g = mon.alerts_of("seq-gap");
        (!g.is_empty()).then_some(g)
    })
    .expect("a seq-gap alert");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["vendor_key"], v.vkey.as_str());
    assert_eq!(
        gaps[0]["missing"],
        serde_json::json!([[3, 5]]),
        "2 came later: {gaps:?}"
    );
    assert_eq!(gaps[0]["log"], origin.as_str());
    let repeats = mon.alerts_of("seq-repeat");
    assert_eq!(repeats.len(), 1, "{repeats:?}");
    assert_eq!(repeats[0]["seq"], 1);
    assert_eq!(repeats[0]["index"], 2);
    assert_eq!(repeats[0]["vendor_key"], v.vkey.as_str());
}
