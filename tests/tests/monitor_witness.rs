//! The monitor as a C2SP tlog-witness (every status code, atomic size
//! check), and as an auditor of a log whose tiles contradict its checkpoint
//! (a fake log served from this process).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
use provlog_core::hash::leaf_hash;
use provlog_core::note::{Note, NoteSigner, VerifierKey};
use provlog_core::tiles::encode_bundle;
use provlog_core::tree::{MemoryTree, consistency_proof, tree_root};
use provlog_core::witness::{
    AddCheckpointRequest, SIZE_CONTENT_TYPE, attach_cosignatures, monitoring_path,
    parse_cosignature_response,
};
use provlog_e2e::{MonitorProcess, Vendor, wait_for};
use serde_json::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn tree(seed: u32, n: u32) -> MemoryTree {
    MemoryTree::from_entries((0..n).map(|i| (seed, i)).map(|(s, i)| format!("{s}/{i}")))
}

fn signed(log: &NoteSigner, t: &MemoryTree, size: u64) -> Vec<u8> {
    let root = tree_root(&t.at_size(size).expect("size"), size).expect("root");
    let cp = Checkpoint::new(log.name(), size, root).with_timestamp(1_790_000_000_000);
    sign_checkpoint(&cp, log).expect("sign")
}

fn proof(t: &MemoryTree, old: u64, new: u64) -> Vec<[u8; 32]> {
    consistency_proof(&t.at_size(new).expect("size"), old, new).expect("proof")
}

async fn post(url: &str, body: Vec<u8>) -> (u16, Option<String>, Vec<u8>) {
    let r = reqwest::Client::new()
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, ct, r.bytes().await.expect("body").to_vec())
}

fn req(old: u64, proof: Vec<[u8; 32]>, note: Vec<u8>) -> Vec<u8> {
    AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint: note,
    }
    .to_bytes()
}

#[test]
fn witness_status_codes_and_atomic_size_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = NoteSigner::generate("witnessed.example/log").expect("key");
    // The log's URL is unreachable: the witness works without the follower.
    let m = MonitorProcess::start(
        &dir.path().join("m"),
        &format!(
            "[[log]]\nurl = \"http://127.0.0.1:9\"\nvkey = \"{}\"\npoll_interval_ms = 5000\n",
            log.verifier_key()
        ),
    );
    let wkey = VerifierKey::parse(&m.witness_vkey).expect("witness vkey");
    let t = tree(1, 40);
    let rt = rt();
    rt.block_on(async {
        // 404: unknown origin.
        let stranger = NoteSigner::generate("stranger.example").expect("key");
        assert_eq!(
            post(&m.url, req(0, vec![], signed(&stranger, &t, 5)))
                .await
                .0,
            404
        );
        // 403: right origin, wrong key.
        let impostor = NoteSigner::generate("witnessed.example/log").expect("key");
        assert_eq!(
            post(&m.url, req(0, vec![], signed(&impostor, &t, 5)))
                .await
                .0,
            403
        );
        // 400: malformed, and old size above the checkpoint size.
        assert_eq!(post(&m.url, b"old 0\nnot a note".to_vec()).await.0, 400);
        assert_eq!(
            post(&m.url, req(6, vec![], signed(&log, &t, 5))).await.0,
            400
        );
        // 200 from zero; the cosignature verifies with the witness vkey.
        let note5 = signed(&log, &t, 5);
        let (status, ct, body) = post(&m.url, req(0, vec![], note5.clone())).await;
        assert_eq!(status, 200);
        assert!(ct.unwrap_or_default().starts_with("text/plain"));
        let sigs = parse_cosignature_response(&body).expect("cosignature lines");
        let parsed = Note::parse(&note5).expect("note");
        let with = attach_cosignatures(&parsed, &sigs, &wkey).expect("valid cosignature");
        let v = with.verify(std::slice::from_ref(&wkey)).expect("verifies");
        assert!(
            v[0].timestamp.is_some(),
            "cosignature/v1 carries a timestamp"
        );
        // 409 with text/x.tlog.size when the old size is stale.
        let (status, ct, body) = post(&m.url, req(0, vec![], signed(&log, &t, 9))).await;
        assert_eq!(
            (status, ct.as_deref(), body.as_slice()),
            (409, Some(SIZE_CONTENT_TYPE), &b"5\n"[..])
        );
        // 422: a wrong consistency proof.
        let mut bad = proof(&t, 5, 9);
        bad[0][0] ^= 1;
        assert_eq!(post(&m.url, req(5, bad, signed(&log, &t, 9))).await.0, 422);
        // 200 with the right one.
        assert_eq!(
            post(&m.url, req(5, proof(&t, 5, 9), signed(&log, &t, 9)))
                .await
                .0,
            200
        );
        // 422 (tlog-witness main; 409 in v1.0.0): same size, different root
        // (and that is evidence of a split view). A problem document.
        let fork = tree(2, 40);
        let (status, ct, body) = post(&m.url, req(9, vec![], signed(&log, &fork, 9))).await;
        assert_eq!(
            (status, ct.as_deref()),
            (422, Some("application/problem+json"))
        );
        let problem: Value = serde_json::from_slice(&body).expect("problem json");
        assert_eq!(problem["status"], 422);
        // Same size, same root: cosigned again (fresh timestamp).
        assert_eq!(
            post(&m.url, req(9, vec![], signed(&log, &t, 9))).await.0,
            200
        );

        // Concurrent requests from the same old size: exactly one succeeds.
        let mut tasks = Vec::new();
        for new in 10..18u64 {
            let body = req(9, proof(&t, 9, new), signed(&log, &t, new));
            let url = m.url.clone();
            tasks.push(tokio::spawn(async move { post(&url, body).await.0 }));
        }
        let mut codes = Vec::new();
        for task in tasks {
            codes.push(task.await.expect("task"));
        }
        codes.sort_unstable();
        assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 1, "{codes:?}");
        assert_eq!(codes.iter().filter(|&&c| c == 409).count(), 7, "{codes:?}");

        // The monitoring endpoint serves the latest cosigned checkpoint.
        let url = format!("{}/{}", m.url, monitoring_path(log.name()));
        let latest = reqwest::get(&url)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body");
        let latest = Note::parse(&latest).expect("note");
        latest
            .verify(std::slice::from_ref(&wkey))
            .expect("cosigned by the witness");
        let size: u64 = latest
            .text
            .lines()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("size");
        assert!((10..18).contains(&size));
    });
    // The two size-9 checkpoints became evidence against the log.
    let ev = wait_for(50, || {
        rt.block_on(provlog_e2e::monitor_evidence(
            &reqwest::Client::new(),
            &m.url,
        ))
        .ok()
        .filter(|a| !a.is_empty())
    })
    .expect("evidence");
    let bundle = ev[0].1.to_json();
    provlog_core::evidence::verify_evidence(&bundle, &log.verifier_key()).expect("valid evidence");
}

/// A fake log whose entry bundle does not hash to its signed checkpoint.
struct FakeLog {
    checkpoint: Vec<u8>,
    bundle: Vec<u8>,
}

async fn fake_checkpoint(State(f): State<Arc<FakeLog>>) -> Vec<u8> {
    f.checkpoint.clone()
}

async fn fake_tile(State(f): State<Arc<FakeLog>>, Path(p): Path<String>) -> (StatusCode, Vec<u8>) {
    if p == "entries/000.p/8" {
        (StatusCode::OK, f.bundle.clone())
    } else {
        (StatusCode::NOT_FOUND, Vec::new())
    }
}

#[test]
fn tiles_inconsistent_with_the_checkpoint_are_misbehaviour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = NoteSigner::generate("lying.example/log").expect("key");
    let vendor = Vendor::new("vendor.example");
    let signed_entries: Vec<Vec<u8>> = (0..8).map(|i| vendor.claim(i)).collect();
    let served: Vec<Vec<u8>> = (100..108).map(|i| vendor.claim(i)).collect();
    let honest = MemoryTree::from_entries(&signed_entries);
    assert_ne!(leaf_hash(&signed_entries[0]), leaf_hash(&served[0]));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let cp = Checkpoint::new(log.name(), 8, honest.root()).with_timestamp(now_ms);
    let fake = Arc::new(FakeLog {
        checkpoint: sign_checkpoint(&cp, &log).expect("sign"),
        bundle: encode_bundle(&served.iter().map(Vec::as_slice).collect::<Vec<_>>())
            .expect("bundle"),
    });
    let rt = rt();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/checkpoint", get(fake_checkpoint))
        .route("/tile/{*path}", get(fake_tile))
        .with_state(fake);
    rt.spawn(async move { axum::serve(listener, app).await });
    let m = MonitorProcess::start(
        &dir.path().join("m"),
        &format!(
            "[[log]]\nurl = \"{url}\"\nvkey = \"{}\"\npoll_interval_ms = 200\n",
            log.verifier_key()
        ),
    );
    let origin = log.name().to_owned();
    let state = wait_for(100, || {
        let h: Value = rt.block_on(async {
            reqwest::get(format!("{}/healthz", m.url))
                .await
                .ok()?
                .json()
                .await
                .ok()
        })?;
        let s = h["logs"][&origin].clone();
        (s["state"] == "misbehaving").then_some(s)
    })
    .expect("reported as misbehaving");
    assert!(
        state["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("tiles-inconsistent")
    );
    assert_eq!(
        state["audited_size"], 0,
        "nothing from the bad bundle is accepted"
    );
    let alerts = m.alerts_of("misbehaviour");
    assert_eq!(alerts[0]["reason"], "tiles-inconsistent");
    assert!(m.alerts_of("unreachable").is_empty());
}

/// A fake log serving one fixed checkpoint, or 503 once it is "down".
struct FrozenLog {
    checkpoint: Vec<u8>,
    down: std::sync::atomic::AtomicBool,
}

async fn frozen_checkpoint(State(f): State<Arc<FrozenLog>>) -> (StatusCode, Vec<u8>) {
    if f.down.load(std::sync::atomic::Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, b"down".to_vec())
    } else {
        (StatusCode::OK, f.checkpoint.clone())
    }
}

/// A log frozen on a checkpoint dated a year ahead: the timestamp is
/// misbehaviour at once (`future-timestamp`), and the log still turns
/// `frozen` once the freshness bound has passed since the monitor first saw
/// it (the age no longer saturates at zero). When it then goes down, both
/// are reported: the misbehaviour stays, the condition becomes unreachable.
#[test]
fn a_far_future_timestamp_is_misbehaviour_and_the_frozen_log_still_turns_frozen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = NoteSigner::generate("future.example/log").expect("key");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let year_ms = 365 * 86_400 * 1000;
    let cp = Checkpoint::new(log.name(), 0, provlog_core::hash::EMPTY_ROOT)
        .with_timestamp(now_ms + year_ms);
    let fake = Arc::new(FrozenLog {
        checkpoint: sign_checkpoint(&cp, &log).expect("sign"),
        down: std::sync::atomic::AtomicBool::new(false),
    });
    let rt = rt();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/checkpoint", get(frozen_checkpoint))
        .with_state(fake.clone());
    rt.spawn(async move { axum::serve(listener, app).await });
    let m = MonitorProcess::start(
        &dir.path().join("m"),
        &format!(
            "[[log]]\nurl = \"{url}\"\nvkey = \"{}\"\npoll_interval_ms = 100\nfreshness_secs = 1\n",
            log.verifier_key()
        ),
    );
    let origin = log.name().to_owned();
    let health = |rt: &tokio::runtime::Runtime| -> Option<Value> {
        let h: Value = rt.block_on(async {
            reqwest::get(format!("{}/healthz", m.url))
                .await
                .ok()?
                .json()
                .await
                .ok()
        })?;
        Some(h["logs"][&origin].clone())
    };
    let s = wait_for(100, || health(&rt).filter(|s| s["condition"] == "frozen"))
        .expect("a frozen log with a future timestamp turns frozen");
    assert_eq!(s["state"], "misbehaving", "{s}");
    assert_eq!(s["misbehaviour"][0]["reason"], "future-timestamp", "{s}");
    assert_eq!(m.alerts_of("frozen").len(), 1);
    assert_eq!(m.alerts_of("misbehaviour")[0]["reason"], "future-timestamp");

    fake.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let s = wait_for(100, || {
        health(&rt).filter(|s| s["condition"] == "unreachable")
    })
    .expect("reported unreachable");
    assert_eq!(s["state"], "misbehaving", "misbehaviour is sticky: {s}");
    assert_eq!(s["misbehaviour"][0]["reason"], "future-timestamp");
    assert_eq!(m.alerts_of("unreachable").len(), 1);
}

/// Serves `fake` (its checkpoint and one full entry bundle) on a new port.
fn serve_fake(rt: &tokio::runtime::Runtime, fake: Arc<FakeLog>) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/checkpoint", get(fake_checkpoint))
        .route("/tile/{*path}", get(fake_tile))
        .with_state(fake);
    rt.spawn(async move { axum::serve(listener, app).await });
    url
}

/// Logs whose checkpoints carry no `timestamp` line (the current form: the
/// log time in the log's timestamp cosignature, or in its ML-DSA-44
/// signature) are followed, audited and fresh: one with an Ed25519 log key,
/// one known to the monitor by its ML-DSA-44 log key alone (type 0x06).
#[test]
fn checkpoints_without_a_timestamp_line_are_followed_by_their_log_time() {
    use provlog_core::checkpoint::LogSigner;
    use provlog_core::note::MlDsa44NoteSigner;
    let dir = tempfile::tempdir().expect("tempdir");
    let vendor = Vendor::new("vendor.example");
    let entries: Vec<Vec<u8>> = (0..8).map(|i| vendor.claim(i)).collect();
    let tree = MemoryTree::from_entries(&entries);
    let bundle =
        encode_bundle(&entries.iter().map(Vec::as_slice).collect::<Vec<_>>()).expect("bundle");
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let ed = NoteSigner::generate("current.example/log").expect("key");
    let pq_ed = NoteSigner::generate("pq.example/log").expect("key");
    let pq = MlDsa44NoteSigner::generate("pq.example/log").expect("key");
    let rt = rt();
    let mut config = String::new();
    for (signer, vkey) in [
        (
            LogSigner::new(ed.clone(), None).expect("signer"),
            ed.verifier_key(),
        ),
        (
            LogSigner::new(pq_ed, Some(pq.clone())).expect("signer"),
            pq.verifier_key(),
        ),
    ] {
        let origin = vkey.name().to_owned();
        let note = signer
            .sign(&Checkpoint::new(&origin, 8, tree.root()), now_secs)
            .expect("sign");
        assert!(!String::from_utf8_lossy(&note).contains("timestamp "));
        let url = serve_fake(
            &rt,
            Arc::new(FakeLog {
                checkpoint: note,
                bundle: bundle.clone(),
            }),
        );
        config.push_str(&format!(
            "[[log]]\nurl = \"{url}\"\nvkey = \"{vkey}\"\npoll_interval_ms = 200\nfreshness_secs = 3600\n"
        ));
    }
    let m = MonitorProcess::start(&dir.path().join("m"), &config);
    let health = wait_for(100, || {
        let h: Value = rt.block_on(async {
            reqwest::get(format!("{}/healthz", m.url))
                .await
                .ok()?
                .json()
                .await
                .ok()
        })?;
        let logs = &h["logs"];
        ["current.example/log", "pq.example/log"]
            .iter()
            .all(|o| logs[o]["audited_size"] == 8 && logs[o]["state"] == "ok")
            .then_some(h)
    })
    .expect("both logs audited and fresh");
    for origin in ["current.example/log", "pq.example/log"] {
        let s = &health["logs"][origin];
        assert_eq!(s["misbehaviour"], serde_json::json!([]), "{origin}: {s}");
    }
    assert!(m.alerts_of("misbehaviour").is_empty());
}
