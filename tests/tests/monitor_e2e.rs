//! End-to-end tests of `provlog-monitor` with real `provlog-server`
//! processes: log-side witnessing with a 2-of-2 quorum, a split view caught
//! by gossip, a log whose tiles contradict its checkpoint, a log that goes
//! down, and resuming after kill -9.

use std::process::Command;

use provlog_client::http::LogClient;
use provlog_core::evidence::Evidence;
use provlog_core::hash::sha256;
use provlog_core::note::{NoteSigner, VerifierKey};
use provlog_core::policy::{Policy, Quorum, Threshold};
use provlog_e2e::{LogProcess, MonitorProcess, Vendor, bin, free_port, wait_for, write_log_key};
use serde_json::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn get_json(url: &str) -> Option<Value> {
    rt().block_on(async {
        let r = reqwest::get(url).await.ok()?;
        r.json::<Value>().await.ok()
    })
}

fn get_text(url: &str) -> Option<String> {
    rt().block_on(async { reqwest::get(url).await.ok()?.text().await.ok() })
}

fn log_section(origin: &str, url: &str, vkey: &str) -> String {
    format!(
        "[[log]]\nurl = \"{url}\"\nvkey = \"{vkey}\"\norigin = \"{origin}\"\npoll_interval_ms = 200\nfreshness_secs = 30\n"
    )
}

/// The monitor's status of `origin` from /healthz.
fn status(mon: &MonitorProcess, origin: &str) -> Option<Value> {
    get_json(&format!("{}/healthz", mon.url)).map(|h| h["logs"][origin].clone())
}

fn audited(mon: &MonitorProcess, origin: &str) -> u64 {
    status(mon, origin)
        .and_then(|s| s["audited_size"].as_u64())
        .unwrap_or(0)
}

fn evidence(mon: &MonitorProcess) -> Vec<Evidence> {
    rt().block_on(provlog_e2e::monitor_evidence(
        &reqwest::Client::new(),
        &mon.url,
    ))
    .map(|v| v.into_iter().map(|(_, e)| e).collect())
    .unwrap_or_default()
}

/// The value of the metric line starting with `prefix`.
fn metric(mon: &MonitorProcess, prefix: &str) -> Option<u64> {
    get_text(&format!("{}/metrics", mon.url))?
        .lines()
        .find(|l| l.starts_with(prefix))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

#[test]
fn honest_log_with_two_witnessing_monitors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = "honest.example/log";
    let log_key = write_log_key(&dir.path().join("log"), origin);
    let vkey = log_key.verifier_key().to_vkey();
    let port = free_port();
    let log_url = format!("http://127.0.0.1:{port}");
    let a = MonitorProcess::start(
        &dir.path().join("ma"),
        &format!(
            "witness_name = \"ma.example\"\ngossip_interval_ms = 300\n{}",
            log_section(origin, &log_url, &vkey)
        ),
    );
    let b = MonitorProcess::start(
        &dir.path().join("mb"),
        &format!(
            "witness_name = \"mb.example\"\ngossip_interval_ms = 300\n{}[[peer]]\nurl = \"{}\"\nvkey = \"{}\"\n",
            log_section(origin, &log_url, &vkey),
            a.url,
            a.witness_vkey
        ),
    );
    let wa = format!("{}={}", a.witness_vkey, a.url);
    let wb = format!("{}={}", b.witness_vkey, b.url);
    let log = LogProcess::try_start_on(
        &dir.path().join("log"),
        &format!("127.0.0.1:{port}"),
        &[
            "--batch-interval-ms",
            "20",
            "--witness",
            &wa,
            "--witness",
            &wb,
            "--witness-quorum",
            "2",
        ],
    )
    .expect("log starts");

    let mut policy = Policy::single_log(VerifierKey::parse(&vkey).expect("vkey"));
    policy
        .add_witness("ma", VerifierKey::parse(&a.witness_vkey).expect("a"), None)
        .expect("add a");
    policy
        .add_witness("mb", VerifierKey::parse(&b.witness_vkey).expect("b"), None)
        .expect("add b");
    policy
        .add_group("both", Threshold::All, vec!["ma".into(), "mb".into()])
        .expect("group");
    policy
        .set_quorum(Quorum::Named("both".into()))
        .expect("quorum");

    let vendor = Vendor::new("vendor.example");
    let client = LogClient::new(&log.url).expect("client");
    let rt = rt();
    let mut total = 0u64;
    for round in 0..6u64 {
        let claims: Vec<Vec<u8>> = (0..40).map(|i| vendor.claim(round * 1000 + i)).collect();
        let receipts = rt.block_on(client.submit_batch(&claims)).expect("submit");
        total += receipts.len() as u64;
        for r in &receipts {
            let v = r
                .verify(&policy)
                .expect("receipt verifies under the 2-of-2 policy");
            assert_eq!(v.witnesses.len(), 2, "both witnesses cosigned");
        }
    }
    assert_eq!(total, 240);
    for m in [&a, &b] {
        let caught_up = wait_for(200, || (audited(m, origin) == total).then_some(()));
        assert!(
            caught_up.is_some(),
            "monitor audited {} of {total}",
            audited(m, origin)
        );
        assert_eq!(status(m, origin).expect("status")["state"], "ok");
        assert!(evidence(m).is_empty(), "no false alarm");
        assert!(m.alerts_of("misbehaviour").is_empty());
        assert!(m.alerts_of("evidence").is_empty());
        assert_eq!(
            metric(
                m,
                &format!("provlog_monitor_entries_audited_total{{log=\"{origin}\"}}")
            ),
            Some(total)
        );
        // The witness's monitoring endpoint serves a cosigned checkpoint.
        let path = provlog_core::witness::monitoring_path(origin);
        let note = get_text(&format!("{}/{path}", m.url)).expect("witnessed checkpoint");
        assert!(note.starts_with(origin));
    }
    drop(log);
}

#[test]
fn split_view_is_caught_by_gossip_and_evidence_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = "split.example/log";
    let key = write_log_key(&dir.path().join("s1"), origin);
    let vkey = key.verifier_key().to_vkey();
    std::fs::create_dir_all(dir.path().join("s2")).expect("s2");
    std::fs::copy(dir.path().join("s1/log.key"), dir.path().join("s2/log.key")).expect("copy key");
    let s1 = LogProcess::start(&dir.path().join("s1"), &["--batch-interval-ms", "20"]);
    let s2 = LogProcess::start(&dir.path().join("s2"), &["--batch-interval-ms", "20"]);
    assert_eq!(s1.vkey, s2.vkey);
    let vendor = Vendor::new("vendor.example");
    let rt = rt();
    let c1 = LogClient::new(&s1.url).expect("c1");
    let c2 = LogClient::new(&s2.url).expect("c2");
    rt.block_on(c1.submit_batch(&(0..5).map(|i| vendor.claim(i)).collect::<Vec<_>>()))
        .expect("s1");
    rt.block_on(c2.submit_batch(&(100..109).map(|i| vendor.claim(i)).collect::<Vec<_>>()))
        .expect("s2");

    let a = MonitorProcess::start(
        &dir.path().join("ma"),
        &format!(
            "gossip_interval_ms = 300\n{}",
            log_section(origin, &s1.url, &vkey)
        ),
    );
    let b = MonitorProcess::start(
        &dir.path().join("mb"),
        &format!(
            "gossip_interval_ms = 300\n{}[[peer]]\nurl = \"{}\"\nvkey = \"{}\"\n",
            log_section(origin, &s2.url, &vkey),
            a.url,
            a.witness_vkey
        ),
    );
    for (m, n) in [(&a, 5), (&b, 9)] {
        assert!(wait_for(200, || (audited(m, origin) == n).then_some(())).is_some());
    }
    let got = wait_for(200, || {
        let (ea, eb) = (evidence(&a), evidence(&b));
        (!ea.is_empty() && !eb.is_empty()).then_some(ea)
    })
    .expect("both monitors hold evidence");
    let ev = &got[0];
    assert_eq!(ev.origin, origin);
    assert_eq!(ev.signer, vkey);
    assert!(!a.alerts_of("evidence").is_empty(), "evidence alert on A");
    assert_eq!(status(&a, origin).expect("status")["state"], "misbehaving");

    let file = dir.path().join("evidence.json");
    std::fs::write(&file, ev.to_json()).expect("write");
    let verify = |path: &std::path::Path, key: &str| {
        Command::new(bin("provlog"))
            .arg("verify-evidence")
            .arg(path)
            .args(["--key", key])
            .output()
            .expect("run provlog")
    };
    let ok = verify(&file, &vkey);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("VALID evidence"));
    // Another key, and a tampered bundle, are rejected.
    let other = NoteSigner::generate(origin)
        .expect("key")
        .verifier_key()
        .to_vkey();
    assert!(!verify(&file, &other).status.success());
    let mut bad = ev.clone();
    bad.smaller = bad
        .smaller
        .replacen(&format!("{origin}\n"), &format!("{origin}\n1"), 1);
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, bad.to_json()).expect("write");
    assert!(!verify(&tampered, &vkey).status.success());
    let mut bad = ev.clone();
    bad.larger = bad.smaller.clone();
    std::fs::write(&tampered, bad.to_json()).expect("write");
    assert!(!verify(&tampered, &vkey).status.success());

    // The monitor's own evidence commands: list (id, kind, log, sizes,
    // time), show (the bundle), verify (by id or file; 1 when invalid).
    let monitor = |args: &[&str]| {
        Command::new(bin("provlog-monitor"))
            .arg("evidence")
            .args(args)
            .output()
            .expect("run provlog-monitor")
    };
    let id = ev.id();
    let list = monitor(&["list", "--monitor", &a.url]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    let line = listed
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not in the listing:\n{listed}"));
    assert!(
        line.contains(ev.kind.as_str()) && line.contains(origin),
        "{line}"
    );
    let json = monitor(&["list", "--monitor", &a.url, "--json"]);
    let first: Value = serde_json::from_slice(
        json.stdout
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or_default(),
    )
    .expect("a JSON line");
    assert!(first["time_ms"].as_u64().is_some() && first["kind"].is_string());
    let show = monitor(&["show", &id, "--monitor", &a.url]);
    assert!(show.status.success());
    let shown = Evidence::from_json(&show.stdout).expect("show prints the bundle");
    assert_eq!(shown.id(), id);
    let ok = monitor(&["verify", &id, "--monitor", &a.url, "--key", &vkey]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("VALID evidence"));
    let wrong = monitor(&["verify", &file.display().to_string(), "--key", &other]);
    assert_eq!(
        wrong.status.code(),
        Some(1),
        "a bundle that does not verify exits 1"
    );
    let tampered_run = monitor(&["verify", &tampered.display().to_string(), "--key", &vkey]);
    assert_eq!(tampered_run.status.code(), Some(1));
    let unreachable = monitor(&["list", "--monitor", "http://127.0.0.1:9"]);
    assert_eq!(
        unreachable.status.code(),
        Some(2),
        "could not check exits 2"
    );
}

#[test]
fn resumes_after_kill9_and_reports_a_dead_log_as_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "20"]);
    let origin = VerifierKey::parse(&log.vkey)
        .expect("vkey")
        .name()
        .to_owned();
    let vendor = Vendor::new("vendor.example");
    let rt = rt();
    let client = LogClient::new(&log.url).expect("client");
    rt.block_on(client.submit_batch(&(0..30).map(|i| vendor.claim(i)).collect::<Vec<_>>()))
        .expect("submit");
    let watched = hex::encode(sha256(b"asset number 3"));
    let config = format!(
        "{}[[watch]]\nname = \"asset-3\"\nasset = \"{watched}\"\n[[watch]]\nname = \"other-vendor\"\nvendor_key = \"{}\"\n",
        log_section(&origin, &log.url, &log.vkey),
        Vendor::new("nobody").vkey
    );
    let mdir = dir.path().join("m");
    let m = MonitorProcess::start(&mdir, &config);
    assert!(wait_for(200, || (audited(&m, &origin) == 30).then_some(())).is_some());
    let hit = wait_for(50, || m.alerts_of("watch").into_iter().next()).expect("watch alert");
    assert_eq!(hit["rule"], "asset-3");
    assert_eq!(hit["matched"], "asset");
    assert_eq!(hit["index"], 3);
    assert_eq!(hit["entry_url"], format!("{}/v1/entries/3", log.url));
    assert_eq!(
        m.alerts_of("watch").len(),
        1,
        "only the matching entry alerts"
    );
    m.kill9();

    rt.block_on(client.submit_batch(&(30..40).map(|i| vendor.claim(i)).collect::<Vec<_>>()))
        .expect("submit more");
    let m = MonitorProcess::start(&mdir, &config);
    assert!(wait_for(200, || (audited(&m, &origin) == 40).then_some(())).is_some());
    assert_eq!(
        metric(
            &m,
            &format!("provlog_monitor_entries_audited_total{{log=\"{origin}\"}}")
        ),
        Some(10),
        "after a restart only the new entries are audited"
    );
    assert!(
        m.alerts_of("watch").is_empty(),
        "no re-audit, no repeated alert"
    );

    log.kill9();
    let down = wait_for(100, || {
        status(&m, &origin).filter(|s| s["state"] == "unreachable")
    });
    assert!(
        down.is_some(),
        "a dead log is unreachable: {:?}",
        status(&m, &origin)
    );
    assert!(m.alerts_of("misbehaviour").is_empty(), "not misbehaving");
    assert!(evidence(&m).is_empty());
    assert_eq!(m.alerts_of("unreachable").len(), 1);
}
