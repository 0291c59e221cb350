//! Every outbound HTTP read is bounded, as a class: a hostile peer that
//! streams an endless chunked body, declares a huge `Content-Length`, or
//! trickles bytes forever is sent to EACH client call (every `LogClient`
//! method and `WitnessClient::add_checkpoint`, in process) and, black-box
//! through the binaries, to the log server's witness calls, the monitor
//! following a log, and the `provlog` CLI. Each call must fail with a
//! size or time error that says so, quickly, and memory (peak RSS from
//! `/proc/<pid>/status`) must stay bounded.

use std::process::Command;
use std::time::{Duration, Instant};

use provlog_client::http::{HttpError, LogClient};
use provlog_client::limits;
use provlog_client::witness::{WitnessCallError, WitnessClient};
use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
use provlog_core::note::NoteSigner;
use provlog_core::tiles::Tile;
use provlog_core::witness::AddCheckpointRequest;
use provlog_e2e::{
    HOSTILE_CAP, HonestAnswer, HostileServer, Hostility, LogProcess, MonitorProcess, Vendor, bin,
    peak_rss_kib, run_measuring_rss, wait_for,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Bytes a call may have caused the peer to send beyond its limit: what
/// the kernel's socket buffers and the HTTP stack hold before the client
/// has read it (loopback buffers reach a few MiB each way).
const IN_FLIGHT_SLACK: u64 = 24 << 20;

/// Rust debug text that must never reach an operator.
fn assert_plain_words(msg: &str) {
    for leak in ["builder error", "Io(", "Error {", "kind:", "client error ("] {
        assert!(!msg.contains(leak), "{msg:?} leaks {leak:?}");
    }
}

/// One client call, boxed so a table can hold them all.
type Call = Box<
    dyn Fn(
        LogClient,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>>,
>;

/// Every `LogClient` method, with the limit it must enforce on a success body.
fn every_log_call() -> Vec<(&'static str, usize, Call)> {
    let log_key = NoteSigner::generate("hostile.example/log")
        .expect("key")
        .verifier_key();
    let claim = Vendor::new("vendor.example").claim(1);
    let claims: Vec<Vec<u8>> = (0..3).map(|i| Vendor::new("v.example").claim(i)).collect();
    let hash_tile = Tile::hash(0, 0, 256).expect("tile");
    let bundle = Tile::entries(0, 256).expect("bundle");
    let partial = Tile::entries(7, 5).expect("partial bundle");
    vec![
        (
            "checkpoint",
            limits::CHECKPOINT,
            Box::new(|c: LogClient| Box::pin(async move { c.checkpoint().await.map(drop) })),
        ),
        (
            "verified_checkpoint",
            limits::CHECKPOINT,
            Box::new(move |c: LogClient| {
                let k = log_key.clone();
                Box::pin(async move { c.verified_checkpoint(&k).await.map(drop) })
            }),
        ),
        (
            "tile (hash)",
            limits::HASH_TILE,
            Box::new(move |c: LogClient| {
                let t = hash_tile;
                Box::pin(async move { c.tile(&t).await.map(drop) })
            }),
        ),
        (
            "tile (full bundle)",
            limits::BUNDLE,
            Box::new(move |c: LogClient| {
                let t = bundle;
                Box::pin(async move { c.tile(&t).await.map(drop) })
            }),
        ),
        (
            "tile (partial bundle)",
            limits::tile(&partial),
            Box::new(move |c: LogClient| {
                let t = partial;
                Box::pin(async move { c.tile(&t).await.map(drop) })
            }),
        ),
        (
            "submit",
            limits::RECEIPT,
            Box::new(move |c: LogClient| {
                let b = claim.clone();
                Box::pin(async move { c.submit(&b).await.map(drop) })
            }),
        ),
        (
            "submit_batch",
            limits::batch_receipts(3),
            Box::new(move |c: LogClient| {
                let b = claims.clone();
                Box::pin(async move { c.submit_batch(&b).await.map(drop) })
            }),
        ),
        (
            "entry",
            limits::ENTRY,
            Box::new(|c: LogClient| Box::pin(async move { c.entry(3).await.map(drop) })),
        ),
        (
            "lookup",
            limits::LOOKUP,
            Box::new(|c: LogClient| Box::pin(async move { c.lookup(&[7; 32]).await.map(drop) })),
        ),
        (
            "inclusion_proof",
            limits::PROOF,
            Box::new(|c: LogClient| {
                Box::pin(async move { c.inclusion_proof(3, 9).await.map(drop) })
            }),
        ),
        (
            "consistency_proof",
            limits::PROOF,
            Box::new(|c: LogClient| {
                Box::pin(async move { c.consistency_proof(3, 9).await.map(drop) })
            }),
        ),
    ]
}

fn witness_request() -> AddCheckpointRequest {
    let log = NoteSigner::generate("hostile.example/log").expect("key");
    let note = sign_checkpoint(&Checkpoint::new(log.name(), 1, [1; 32]), &log).expect("sign");
    AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: note,
    }
}

#[test]
fn every_client_call_stops_reading_at_its_limit() {
    let rt = rt();
    for mode in [Hostility::Endless, Hostility::HugeLength] {
        for status in [200u16, 503] {
            let peer = HostileServer::start(mode, status);
            for (name, limit, call) in every_log_call() {
                let case = format!("{name}, {mode:?} body, HTTP {status}");
                let before = peer.sent();
                let started = Instant::now();
                let client = LogClient::new(&peer.url).expect("client");
                let err = rt.block_on(call(client)).expect_err(&case);
                let msg = err.to_string();
                match (&err, status) {
                    (HttpError::TooLarge { limit: got, .. }, 200) => {
                        assert_eq!(*got, limit, "{case}: the endpoint's own limit");
                        assert!(msg.contains("larger than the"), "{case}: {msg}");
                        assert!(!err.is_transient(), "{case}: retrying cannot help");
                    }
                    (
                        HttpError::Status {
                            status: 503,
                            detail,
                            ..
                        },
                        503,
                    ) => {
                        assert!(detail.contains("not read"), "{case}: {detail}");
                    }
                    _ => panic!("{case}: expected a size error, got {msg}"),
                }
                assert_plain_words(&msg);
                let sent = peer.sent() - before;
                assert!(
                    sent < limit as u64 + IN_FLIGHT_SLACK && sent < HOSTILE_CAP,
                    "{case}: the peer got to send {sent} bytes for a {limit}-byte limit"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{case}: took {:?}",
                    started.elapsed()
                );
            }
            // The witness client, on 200 (cosignatures), 409 (size) and others.
            for wstatus in [200u16, 409, 500] {
                let wpeer = HostileServer::start(mode, wstatus);
                let case = format!("add_checkpoint, {mode:?} body, HTTP {wstatus}");
                let w = WitnessClient::new(&wpeer.url, Duration::from_secs(30)).expect("client");
                let err = rt
                    .block_on(w.add_checkpoint(&witness_request()))
                    .expect_err(&case);
                match &err {
                    WitnessCallError::TooLarge { limit, .. } => {
                        assert_eq!(*limit, limits::COSIGNATURE, "{case}")
                    }
                    other => panic!("{case}: expected a size error, got {other}"),
                }
                assert_plain_words(&err.to_string());
                assert!(
                    wpeer.sent() < limits::COSIGNATURE as u64 + IN_FLIGHT_SLACK,
                    "{case}: {} bytes sent",
                    wpeer.sent()
                );
            }
        }
    }
}

#[test]
fn every_client_call_ends_at_its_timeout_when_the_peer_trickles() {
    let rt = rt();
    let peer = HostileServer::start(Hostility::Trickle, 200);
    let timeout = Duration::from_millis(400);
    for (name, _, call) in every_log_call() {
        let started = Instant::now();
        let client = LogClient::with_timeout(&peer.url, timeout).expect("client");
        let err = rt.block_on(call(client)).expect_err(name);
        let msg = err.to_string();
        assert!(msg.contains("timed out"), "{name}: {msg}");
        assert_plain_words(&msg);
        assert!(
            started.elapsed() < timeout * 10,
            "{name}: took {:?}",
            started.elapsed()
        );
    }
    let w = WitnessClient::new(&peer.url, timeout).expect("client");
    let msg = rt
        .block_on(w.add_checkpoint(&witness_request()))
        .expect_err("trickling witness")
        .to_string();
    assert!(msg.contains("timed out"), "{msg}");
    assert!(
        peer.requests().len() >= 12,
        "every call reached the peer: {:?}",
        peer.requests()
    );
}

/// Peak RSS growth bound for a server that meets a hostile peer: the
/// largest limit involved is 64 KiB (a witness answer) or a few hundred KiB
/// (a partial bundle), so anything near the 256 MiB the peer offers is a
/// read that was not bounded.
const SERVER_GROWTH_KIB: u64 = 64 * 1024;

#[test]
fn the_log_servers_witness_calls_are_bounded() {
    // Three witnesses, one per kind of hostility, asked at every commit.
    let peers: Vec<(Hostility, HostileServer, NoteSigner)> = [
        Hostility::Endless,
        Hostility::HugeLength,
        Hostility::Trickle,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, mode)| {
        let key = NoteSigner::generate_cosigner(&format!("w{i}.example")).expect("witness key");
        (mode, HostileServer::start(mode, 200), key)
    })
    .collect();
    let flags: Vec<String> = peers
        .iter()
        .flat_map(|(_, p, k)| {
            [
                "--witness".to_string(),
                format!("{}={}", k.verifier_key(), p.url),
            ]
        })
        .collect();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["--witness-timeout-ms", "1500", "--batch-interval-ms", "5"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(dir.path(), &args);
    let pid = log.pid().expect("pid");
    let rt = rt();
    let client = LogClient::new(&log.url).expect("client");
    let vendor = Vendor::new("vendor.example");
    // The first commit (the empty tree's checkpoint at start) already asked them.
    let start_peak = peak_rss_kib(pid).expect("rss");
    let asked_before: Vec<usize> = peers.iter().map(|(_, p, _)| p.requests().len()).collect();
    for i in 0..4 {
        let started = Instant::now();
        let receipt = rt.block_on(client.submit(&vendor.claim(i)));
        assert!(receipt.is_ok(), "claim {i} is still logged: {receipt:?}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a hostile witness holds a commit for at most its timeout: {:?}",
            started.elapsed()
        );
        // Witness rounds run off the sequencer, one at a time: wait (bounded)
        // until every witness has been asked about this commit's checkpoint,
        // so each hostile answer is read once per commit.
        let deadline = Instant::now() + Duration::from_secs(60);
        let asked_all = || {
            peers
                .iter()
                .zip(&asked_before)
                .all(|((_, p, _), before)| p.requests().len() > before + i as usize)
        };
        while !asked_all() {
            assert!(
                Instant::now() < deadline,
                "every witness is asked about commit {i}: {:?}",
                peers
                    .iter()
                    .map(|(m, p, _)| (m, p.requests().len()))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let end_peak = peak_rss_kib(pid).expect("rss");
    println!("log server peak RSS: {start_peak} KiB before, {end_peak} KiB after 4 commits");
    for (mode, p, _) in &peers {
        assert!(
            p.requests().len() >= 4,
            "{mode:?} witness was asked at every commit: {:?}",
            p.requests()
        );
    }
    assert!(
        end_peak < start_peak + SERVER_GROWTH_KIB,
        "log server peak RSS grew from {start_peak} KiB to {end_peak} KiB"
    );
    let stderr = log.stderr.clone();
    assert!(log.stop(), "clean stop");
    let logged = stderr.lock().map(|v| v.join("\n")).unwrap_or_default();
    assert!(
        logged.contains("larger than the 65536-byte limit"),
        "the log says why the endless and huge witnesses failed:\n{logged}"
    );
    assert!(
        logged.contains("timed out"),
        "the log says the trickling witness timed out:\n{logged}"
    );
    assert_plain_words(&logged);
}

/// An honest `/checkpoint` for a log of `size` leaves signed by `key`.
fn honest_checkpoint(key: &NoteSigner, size: u64) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let cp = Checkpoint::new(key.name(), size, [9; 32]).with_timestamp(now);
    sign_checkpoint(&cp, key).expect("sign")
}

fn monitor_config(logs: &[(&NoteSigner, &str)]) -> String {
    let mut cfg = String::from("witness_name = \"m.example\"\ngossip_interval_ms = 600000\n");
    for (key, url) in logs {
        cfg.push_str(&format!(
            "[[log]]\nurl = \"{url}\"\nvkey = \"{}\"\npoll_interval_ms = 100\n",
            key.verifier_key()
        ));
    }
    cfg
}

#[test]
fn a_monitor_following_hostile_logs_stays_bounded() {
    // Log A: endless checkpoint. Log B: huge declared checkpoint. Log C: an
    // honest checkpoint of size 5, then an endless entry bundle.
    let keys: Vec<NoteSigner> = ["a.example/log", "b.example/log", "c.example/log"]
        .iter()
        .map(|n| NoteSigner::generate(n).expect("key"))
        .collect();
    let a = HostileServer::start(Hostility::Endless, 200);
    let b = HostileServer::start(Hostility::HugeLength, 200);
    let note = honest_checkpoint(&keys[2], 5);
    let c = HostileServer::start_with(
        Hostility::Endless,
        200,
        move |path| -> Option<HonestAnswer> {
            (path == "/checkpoint").then(|| (200, "text/plain; charset=utf-8", note.clone()))
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mon = MonitorProcess::start(
        &dir.path().join("m"),
        &monitor_config(&[(&keys[0], &a.url), (&keys[1], &b.url), (&keys[2], &c.url)]),
    );
    let pid = mon.pid().expect("pid");
    let start_peak = peak_rss_kib(pid).expect("rss");
    // Several polls of each (poll interval 100 ms).
    let seen = wait_for(300, || {
        (a.requests().len() >= 5
            && b.requests().len() >= 5
            && c.requests()
                .iter()
                .filter(|r| r.contains("/tile/entries/"))
                .count()
                >= 3)
            .then_some(())
    });
    assert!(
        seen.is_some(),
        "the monitor kept polling: A {:?} B {:?} C {:?}",
        a.requests().len(),
        b.requests().len(),
        c.requests()
    );
    let end_peak = peak_rss_kib(pid).expect("rss");
    println!("monitor peak RSS: {start_peak} KiB at start, {end_peak} KiB after the hostile logs");
    assert!(
        end_peak < start_peak + SERVER_GROWTH_KIB,
        "monitor peak RSS grew from {start_peak} KiB to {end_peak} KiB"
    );
    for (origin, what) in [
        ("a.example/log", "checkpoint"),
        ("b.example/log", "checkpoint"),
        ("c.example/log", "/tile/entries/000.p/5"),
    ] {
        let alert = wait_for(100, || {
            mon.alerts_of("misbehaviour")
                .into_iter()
                .find(|a| a["log"] == origin)
        })
        .unwrap_or_else(|| {
            panic!(
                "{origin}: no misbehaviour alert: {:?}",
                mon.alerts_of("misbehaviour")
            )
        });
        let detail = alert["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            detail.contains(what) && detail.contains("larger than the"),
            "{origin}: the alert names the call and the limit: {alert}"
        );
        assert_plain_words(&detail);
    }
}

/// Runs the `provlog` CLI with `args`, measuring its peak RSS.
fn provlog_measured(args: &[&str]) -> (Option<i32>, String, u64, Duration) {
    let mut cmd = Command::new(bin("provlog"));
    cmd.args(args)
        .env_remove("PROVLOG_LOG")
        .env_remove("PROVLOG_LOG_KEY")
        .env_remove("PROVLOG_STATE_DIR");
    let started = Instant::now();
    let (code, _out, err, peak) = run_measuring_rss(cmd);
    (code, err, peak, started.elapsed())
}

/// Peak RSS bound for one CLI run against a hostile log: the largest limit
/// a CLI call uses is a lookup's (about 25 MiB).
const CLI_PEAK_KIB: u64 = 96 * 1024;

#[test]
fn the_cli_against_a_hostile_log_fails_fast_and_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_key = NoteSigner::generate("hostile.example/log")
        .expect("key")
        .verifier_key()
        .to_vkey();
    let keyfile = dir.path().join("vendor.key");
    let run = provlog_e2e::provlog([
        "keygen".as_ref(),
        "--out".as_ref(),
        keyfile.as_os_str(),
        "--name".as_ref(),
        "vendor.example".as_ref(),
    ]);
    assert!(run.ok(), "keygen: {run:?}");
    let media = provlog_e2e::write_media_tree(&dir.path().join("media"), 3, "h");
    let state = dir.path().join("state");
    for mode in [Hostility::Endless, Hostility::HugeLength] {
        let peer = HostileServer::start(mode, 200);
        let key = keyfile.to_string_lossy().into_owned();
        let state = state.to_string_lossy().into_owned();
        let mut submit = vec![
            "submit",
            "--log",
            &peer.url,
            "--key",
            &key,
            "--log-key",
            &log_key,
            "--generator",
            "Example AI/imagegen/2.1",
            "--disclosure",
            "label",
            "--out-dir",
        ];
        let out_dir = dir.path().join(format!("receipts-{mode:?}"));
        let out_dir = out_dir.to_string_lossy().into_owned();
        submit.push(&out_dir);
        let media: Vec<String> = media
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        submit.extend(media.iter().map(String::as_str));
        let commands: Vec<Vec<&str>> = vec![
            vec![
                "checkpoint",
                "--log",
                &peer.url,
                "--log-key",
                &log_key,
                "--state-dir",
                &state,
            ],
            vec![
                "lookup",
                "--log",
                &peer.url,
                "--log-key",
                &log_key,
                "--sha256",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ],
            submit,
        ];
        for args in commands {
            let case = format!("provlog {} ({mode:?})", args[0]);
            let (code, stderr, peak, took) = provlog_measured(&args);
            println!("{case}: exit {code:?} in {took:?}, peak RSS {peak} KiB");
            assert_ne!(code, Some(0), "{case} cannot succeed: {stderr}");
            assert!(stderr.contains("larger than the"), "{case}: {stderr}");
            assert_plain_words(&stderr);
            assert!(peak < CLI_PEAK_KIB, "{case}: peak RSS {peak} KiB");
            assert!(
                took < Duration::from_secs(30),
                "{case}: a size error is not retried ({took:?})"
            );
        }
    }
    // A URL without a scheme fails at once with the reason; a port nobody
    // listens on says "connection refused".
    let (code, stderr, _, took) = provlog_measured(&[
        "checkpoint",
        "--log",
        "localhost:7300",
        "--log-key",
        &log_key,
    ]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("no scheme in URL"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_plain_words(&stderr);
    let port = provlog_e2e::free_port();
    let (code, stderr, _, _) = provlog_measured(&[
        "checkpoint",
        "--log",
        &format!("http://127.0.0.1:{port}"),
        "--log-key",
        &log_key,
    ]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert_plain_words(&stderr);
}

/// The monitor and the CLI bound a trickling log by their client timeout
/// (60 s, `provlog_client::http::DEFAULT_TIMEOUT`): this test waits for it,
/// once, with both running at the same time.
#[test]
fn trickling_logs_are_cut_off_by_the_client_timeout() {
    let key = NoteSigner::generate("trickle.example/log").expect("key");
    let peer = HostileServer::start(Hostility::Trickle, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let mon = MonitorProcess::start(&dir.path().join("m"), &monitor_config(&[(&key, &peer.url)]));
    let url = peer.url.clone();
    let vkey = key.verifier_key().to_vkey();
    let cli = std::thread::spawn(move || {
        provlog_measured(&["checkpoint", "--log", &url, "--log-key", &vkey])
    });
    let limit = provlog_client::http::DEFAULT_TIMEOUT + Duration::from_secs(30);
    let (code, stderr, peak, took) = cli.join().expect("cli thread");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("timed out"), "{stderr}");
    assert_plain_words(&stderr);
    assert!(took < limit, "{took:?}");
    assert!(peak < CLI_PEAK_KIB, "peak RSS {peak} KiB");
    let alert = wait_for(300, || mon.alerts_of("unreachable").into_iter().next())
        .expect("the monitor reports the trickling log unreachable");
    let detail = alert["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("timed out"), "{alert}");
    assert_plain_words(detail);
}
