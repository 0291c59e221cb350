//! End to end: the log's witnessing runs off the sequencer, and says when
//! a checkpoint does not meet the quorum.
//! - A witness (a real `provlog-monitor`) is down when a receipt is
//!   issued: the receipt carries the log's signature only and the response
//!   says `not-met`; `/healthz` is degraded. The witness comes back at the
//!   same address; `provlog receipt refresh` then moves the receipt onto the
//!   cosigned checkpoint (consistency and inclusion verified), and it
//!   verifies under the witness policy.
//! - A witness that accepts connections and never answers, at quorum 0:
//!   receipts are issued (and say `met; quorum=0`), the log reports the
//!   witness as failing in `/healthz` and `/metrics`.
//! - A monitor set up with `provlog-monitor init --ml-dsa-44`, configured
//!   in the log with both its keys: its cosignature/v1 and its ML-DSA-44
//!   subtree/v1 lines are both on the log's checkpoint and in receipts,
//!   both count toward the quorum, and `provlog verify` accepts policies
//!   demanding both or only the ML-DSA-44 one.

use std::net::TcpListener;
use std::path::Path;

use provlog_core::receipt::Receipt;
use provlog_e2e::{
    LogProcess, MonitorProcess, Vendor, free_port, provlog, wait_for, write_log_key,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// POSTs one signed claim; returns (status, witness-quorum header, body).
fn post_claim(url: &str, claim: &[u8]) -> (u16, String, Vec<u8>) {
    rt().block_on(async {
        let resp = reqwest::Client::new()
            .post(format!("{url}/v1/claims"))
            .header("content-type", "application/cose")
            .body(claim.to_vec())
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        let header = resp
            .headers()
            .get("provlog-witness-quorum")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, header, resp.bytes().await.expect("body").to_vec())
    })
}

fn get_text(url: &str) -> String {
    rt().block_on(async {
        reqwest::get(url)
            .await
            .expect("get")
            .text()
            .await
            .expect("text")
    })
}

fn healthz(url: &str) -> serde_json::Value {
    serde_json::from_str(&get_text(&format!("{url}/healthz"))).expect("healthz json")
}

fn monitor_config(origin: &str, log_url: &str, vkey: &str) -> String {
    format!(
        "witness_name = \"w.example\"\n[[log]]\nurl = \"{log_url}\"\nvkey = \"{vkey}\"\norigin = \"{origin}\"\npoll_interval_ms = 200\nfreshness_secs = 30\n"
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

#[test]
fn a_receipt_issued_while_the_witness_is_down_is_refreshed_once_it_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = "refresh.example/log";
    let log_dir = dir.path().join("log");
    let vkey = write_log_key(&log_dir, origin).verifier_key().to_vkey();
    let log_port = free_port();
    let log_url = format!("http://127.0.0.1:{log_port}");
    let config = monitor_config(origin, &log_url, &vkey);
    // The witness's key and address, then it goes down.
    let mon_dir = dir.path().join("mon");
    let mon = MonitorProcess::start(&mon_dir, &config);
    let (witness_vkey, witness_url) = (mon.witness_vkey.clone(), mon.url.clone());
    let witness_listen = witness_url.trim_start_matches("http://").to_string();
    mon.kill9();

    let log = LogProcess::try_start_on(
        &log_dir,
        &format!("127.0.0.1:{log_port}"),
        &[
            "--batch-interval-ms",
            "20",
            "--checkpoint-refresh-secs",
            "1",
            "--witness",
            &format!("{witness_vkey}={witness_url}"),
            "--witness-quorum",
            "1",
            "--witness-timeout-ms",
            "500",
        ],
    )
    .expect("log starts");
    let vendor = Vendor::new("vendor.example");
    let asset = dir.path().join("asset.png");
    std::fs::write(&asset, b"asset number 7").expect("asset");
    let (status, header, body) = post_claim(&log.url, &vendor.claim(7));
    assert_eq!(status, 200);
    assert_eq!(header, "not-met; cosignatures=0; quorum=1");
    let receipt_path = dir.path().join("asset.png.provlog");
    std::fs::write(&receipt_path, &body).expect("receipt");
    let h = healthz(&log.url);
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["reasons"].to_string().contains("w.example"), "{h}");

    let policy = dir.path().join("witnessed.policy");
    write(
        &policy,
        &format!("log {vkey} {log_url}\nwitness w {witness_vkey}\nquorum w\n"),
    );
    let lenient = dir.path().join("log-only.policy");
    write(&lenient, &format!("log {vkey}\nquorum none\n"));
    let asset_s = asset.to_str().expect("path");
    let receipt_s = receipt_path.to_str().expect("path");
    let policy_s = policy.to_str().expect("path");
    // The receipt is the log's word alone: it verifies without witnesses,
    // not under the witness quorum.
    let run = provlog(
        ["verify", asset_s, "--receipt", receipt_s, "--policy"]
            .into_iter()
            .chain([lenient.to_str().expect("path")]),
    );
    assert!(run.ok(), "{run:?}");
    let run = provlog([
        "verify",
        asset_s,
        "--receipt",
        receipt_s,
        "--policy",
        policy_s,
    ]);
    assert!(!run.ok(), "the quorum is not met yet: {run:?}");
    // Refreshing now fails, and leaves the file as it was.
    let run = provlog(["receipt", "refresh", receipt_s, "--policy", policy_s]);
    assert!(!run.ok(), "{run:?}");
    assert!(run.stderr.contains("policy"), "{run:?}");
    assert_eq!(std::fs::read(&receipt_path).expect("read"), body);

    // More entries while the witness is down.
    for i in 8..12 {
        assert_eq!(post_claim(&log.url, &vendor.claim(i)).0, 200);
    }
    // The witness comes back at the same address, with the same key.
    let mon = MonitorProcess::start_on(&mon_dir, &witness_listen, &config);
    assert_eq!(mon.witness_vkey, witness_vkey);
    // The idle log re-signs its checkpoint every second; the publisher
    // asks the witness again and the log is healthy once it cosigns.
    let healthy = wait_for(300, || (healthz(&log.url)["status"] == "ok").then_some(()));
    assert!(healthy.is_some(), "{}", healthz(&log.url));
    let run = provlog(["receipt", "refresh", receipt_s, "--policy", policy_s]);
    assert!(run.ok(), "{run:?}");
    assert!(run.stdout.contains("REFRESHED"), "{run:?}");
    assert!(run.stdout.contains("cosigned by w"), "{run:?}");
    let refreshed = Receipt::from_cbor(&std::fs::read(&receipt_path).expect("read"))
        .expect("refreshed receipt");
    let old = Receipt::from_cbor(&body).expect("old receipt");
    assert_eq!((refreshed.index, &refreshed.entry), (old.index, &old.entry));
    let run = provlog([
        "verify",
        asset_s,
        "--receipt",
        receipt_s,
        "--policy",
        policy_s,
    ]);
    assert!(run.ok(), "the refreshed receipt meets the quorum: {run:?}");
    // New receipts carry the cosignature again.
    let (_, header, _) = post_claim(&log.url, &vendor.claim(20));
    assert_eq!(header, "met; cosignatures=1; quorum=1");
    drop(mon);
    assert!(log.stop());
}

#[test]
fn a_silent_witness_at_quorum_zero_holds_no_receipt() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Accepts connections, reads nothing, answers nothing.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().map_while(Result::ok) {
            held.push(conn);
        }
    });
    let witness = provlog_core::note::NoteSigner::generate_cosigner("silent.example")
        .expect("key")
        .verifier_key()
        .to_vkey();
    let log = LogProcess::start(
        dir.path(),
        &[
            "--batch-interval-ms",
            "5",
            "--witness",
            &format!("{witness}=http://{addr}"),
            "--witness-quorum",
            "0",
            "--witness-timeout-ms",
            "400",
        ],
    );
    let vendor = Vendor::new("vendor.example");
    for i in 0..10 {
        let (status, header, body) = post_claim(&log.url, &vendor.claim(i));
        assert_eq!(status, 200);
        assert_eq!(header, "met; cosignatures=0; quorum=0");
        assert_eq!(Receipt::from_cbor(&body).expect("receipt").index, i);
    }
    let h = healthz(&log.url);
    assert_eq!(h["tree_size"], 10, "published at once: {h}");
    // The witness's timeout passes: the log says which witness fails.
    let degraded = wait_for(100, || {
        let h = healthz(&log.url);
        (h["status"] == "degraded").then_some(h)
    })
    .expect("degraded");
    assert!(
        degraded["reasons"].to_string().contains("silent.example"),
        "{degraded}"
    );
    let metrics = get_text(&format!("{}/metrics", log.url));
    assert!(
        metrics.contains("provlog_witness_failures_total{witness=\"silent.example\"}"),
        "{metrics}"
    );
    assert!(log.stop());
}

#[test]
fn a_monitor_with_an_ml_dsa_44_key_from_init_cosigns_receipts_with_both_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = "pq-witness.example/log";
    let log_dir = dir.path().join("log");
    let vkey = write_log_key(&log_dir, origin).verifier_key().to_vkey();
    let log_port = free_port();
    let log_url = format!("http://127.0.0.1:{log_port}");
    // The witness operator's setup, as the README gives it.
    let mon_dir = dir.path().join("mon");
    let init = std::process::Command::new(provlog_e2e::bin("provlog-monitor"))
        .args(["init", "--name", "w.example", "--ml-dsa-44", "--log"])
        .arg(format!("{log_url}={vkey}"))
        .arg("--data")
        .arg(&mon_dir)
        .output()
        .expect("run provlog-monitor init");
    assert!(init.status.success(), "{init:?}");
    let printed: Vec<String> = String::from_utf8_lossy(&init.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(printed.len(), 2, "both vkeys: {printed:?}");
    let (w_ed, w_pq) = (printed[0].clone(), printed[1].clone());
    let keys: Vec<_> = [&w_ed, &w_pq]
        .iter()
        .map(|k| provlog_core::note::VerifierKey::parse(k).expect("vkey"))
        .collect();
    assert_eq!((keys[0].key_type(), keys[1].key_type()), (0x04, 0x06));
    let config = std::fs::read_to_string(mon_dir.join("config.toml")).expect("config");
    assert!(config.contains("witness_ml_dsa_44 = true"), "{config}");
    let mon = MonitorProcess::start(&mon_dir, &config);
    assert_eq!(mon.witness_vkey, w_ed);

    // Both keys at the one URL: one witness, asked once, two cosignatures
    // (the default quorum is every configured key).
    let log = LogProcess::try_start_on(
        &log_dir,
        &format!("127.0.0.1:{log_port}"),
        &[
            "--batch-interval-ms",
            "20",
            "--witness",
            &format!("{w_ed}={}", mon.url),
            "--witness",
            &format!("{w_pq}={}", mon.url),
            "--witness-timeout-ms",
            "5000",
        ],
    )
    .expect("log starts");
    let vendor = Vendor::new("vendor.example");
    let asset = dir.path().join("asset.png");
    std::fs::write(&asset, b"asset number 3").expect("asset");
    let (status, header, body) = post_claim(&log.url, &vendor.claim(3));
    assert_eq!(status, 200);
    assert_eq!(header, "met; cosignatures=2; quorum=2");
    let receipt = Receipt::from_cbor(&body).expect("receipt");
    let note = provlog_core::note::Note::parse(&receipt.checkpoint).expect("note");
    for k in &keys {
        assert!(
            note.signatures
                .iter()
                .any(|s| s.name == "w.example" && s.key_id == k.key_id()),
            "a line by {k}"
        );
    }
    // The served checkpoint carries them too.
    let served = get_text(&format!("{}/checkpoint", log.url));
    assert!(
        served
            .lines()
            .filter(|l| l.starts_with("— w.example "))
            .count()
            == 2,
        "{served}"
    );
    let receipt_path = dir.path().join("asset.png.provlog");
    std::fs::write(&receipt_path, &body).expect("receipt");
    let both = dir.path().join("both.policy");
    write(
        &both,
        &format!(
            "log {vkey}\nwitness w-ed {w_ed}\nwitness w-pq {w_pq}\ngroup w all w-ed w-pq\nquorum w\n"
        ),
    );
    let pq_only = dir.path().join("pq.policy");
    write(
        &pq_only,
        &format!("log {vkey}\nwitness w-pq {w_pq}\nquorum w-pq\n"),
    );
    for policy in [&both, &pq_only] {
        let run = provlog([
            "verify",
            asset.to_str().expect("path"),
            "--receipt",
            receipt_path.to_str().expect("path"),
            "--policy",
            policy.to_str().expect("path"),
        ]);
        assert!(run.ok(), "{run:?}");
        assert!(run.stdout.contains("w-pq (cosigned "), "{run:?}");
    }
    let h = healthz(&log.url);
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["witnesses"].as_array().map(Vec::len), Some(1), "{h}");
    drop(mon);
    assert!(log.stop());
}
