//! Hostile HTTP input against the real server: oversized and lying bodies,
//! slow bodies, deep CBOR nesting, huge declared lengths, invalid UTF-8,
//! unknown keys, replays, path traversal, floods, and admin routes. Each
//! gets the right status and problem type, the server's memory stays
//! bounded, no key material reaches its logs, and the tree never changes
//! because of a rejected request.

use std::io::Write;
use std::time::Duration;

use ed25519_dalek::Signer;
use provlog_client::http::{HttpError, LogClient};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::note::VerifierKey;
use provlog_e2e::{LogProcess, Vendor, raw_http, rss_kib};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

/// (size, root) of the served checkpoint.
fn tree(rt: &tokio::runtime::Runtime, log: &LogProcess) -> (u64, [u8; 32]) {
    let client = LogClient::new(&log.url).expect("client");
    let note = rt.block_on(client.checkpoint()).expect("checkpoint");
    let cp = verify_checkpoint(&note, &VerifierKey::parse(&log.vkey).expect("vkey"))
        .expect("verifies")
        .checkpoint;
    (cp.size, cp.root)
}

fn addr(log: &LogProcess) -> String {
    log.url.trim_start_matches("http://").to_string()
}

/// POSTs `body` with a content type; returns (status, problem JSON).
fn post(log: &LogProcess, path: &str, content_type: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", log.url);
    let body = body.to_vec();
    let content_type = content_type.to_string();
    std::thread::spawn(move || {
        rt().block_on(async {
            let resp = reqwest::Client::new()
                .post(url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("send");
            let status = resp.status().as_u16();
            let json = resp.json().await.unwrap_or(serde_json::Value::Null);
            (status, json)
        })
    })
    .join()
    .expect("post thread")
}

fn parse_response(resp: &str) -> (u16, serde_json::Value) {
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    // Chunked or plain: the JSON object is the part between the braces.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if b > a => serde_json::from_str(&body[a..=b]).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    (status, json)
}

fn assert_problem(got: &(u16, serde_json::Value), status: u16, slug: &str, case: &str) {
    assert_eq!(got.0, status, "{case}: status ({:?})", got.1);
    assert_eq!(
        got.1["type"],
        format!("urn:provlog:problem:{slug}"),
        "{case}: problem type ({:?})",
        got.1
    );
}

fn cbor(v: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("encode");
    out
}

/// Re-signs `entry` (a valid signed claim) with its payload replaced.
fn resign(vendor: &Vendor, entry: &[u8], payload: Vec<u8>) -> Vec<u8> {
    use coset::{CborSerializable, TaggedCborSerializable};
    let mut s = coset::CoseSign1::from_tagged_slice(entry).expect("parse cose");
    s.payload = Some(payload);
    let tbs = s.tbs_data(b"");
    s.signature = vendor.signer.signing_key().sign(&tbs).to_bytes().to_vec();
    let _ = s.clone().to_vec();
    s.to_tagged_vec().expect("encode cose")
}

#[test]
fn hostile_requests_get_the_right_problem_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(
        dir.path(),
        &[
            "--batch-interval-ms",
            "5",
            "--max-batch-body",
            "65536",
            "--rate-limit",
            "0.01",
            "--rate-burst",
            "40",
        ],
    );
    let rt = rt();
    let vendor = Vendor::new("hostile.example");
    let client = LogClient::new(&log.url).expect("client");
    let first = vendor.claim(0);
    let receipt = rt.block_on(client.submit(&first)).expect("a good claim");
    let before = tree(&rt, &log);
    let pid = log.pid().expect("pid");
    let rss_start = rss_kib(pid).expect("rss");
    let cose = "application/cose";
    let cbor_ct = "application/cbor";

    // Oversized bodies, and bodies that lie about their size.
    let big = vec![0u8; 20 * 1024];
    assert_problem(
        &post(&log, "/v1/claims", cose, &big),
        413,
        "too-large",
        "oversized claim",
    );
    let big_batch = vec![0u8; 70 * 1024];
    assert_problem(
        &post(&log, "/v1/claims/batch", cbor_ct, &big_batch),
        413,
        "too-large",
        "oversized batch",
    );
    for declared in ["17000", "1000000000000", "18446744073709551615"] {
        // Declares a huge body and sends none: refused from the header alone.
        let req = format!(
            "POST /v1/claims HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {cose}\r\nContent-Length: {declared}\r\n\r\n"
        );
        let got = parse_response(&raw_http(&addr(&log), req.as_bytes(), 1 << 16));
        // 413 from the limit; hyper itself refuses an unparseable length
        // (u64::MAX) before the router, with 400 or 431.
        assert!(
            [413, 400, 431].contains(&got.0),
            "declared length {declared}: {got:?}"
        );
    }

    // Deep CBOR nesting: as a batch body, and as a claim.
    let deep: Vec<u8> = std::iter::repeat_n(0x81u8, 60_000).chain([0x00]).collect();
    assert_problem(
        &post(&log, "/v1/claims/batch", cbor_ct, &deep),
        400,
        "invalid-batch",
        "deep batch",
    );
    let deep_claim: Vec<u8> = std::iter::repeat_n(0x81u8, 16_000).chain([0x00]).collect();
    assert_problem(
        &post(&log, "/v1/claims", cose, &deep_claim),
        400,
        "invalid-claim",
        "deep claim",
    );
    let deep_maps: Vec<u8> = std::iter::repeat_n([0xa1u8, 0x00], 8_000)
        .flatten()
        .chain([0x00])
        .collect();
    assert_problem(
        &post(&log, "/v1/claims", cose, &deep_maps),
        400,
        "invalid-claim",
        "deep maps",
    );

    // Huge declared lengths inside CBOR: byte strings, arrays, maps, text.
    for (case, body) in [
        (
            "bstr 2^63",
            vec![0x81, 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        ("array 2^32", vec![0x9b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ("map 2^60", vec![0xbb, 0x10, 0, 0, 0, 0, 0, 0, 0]),
        ("text 4 GiB", vec![0x81, 0x7a, 0xff, 0xff, 0xff, 0xff]),
        ("indefinite", vec![0x9f, 0x9f, 0x9f, 0x9f]),
    ] {
        assert_problem(
            &post(&log, "/v1/claims/batch", cbor_ct, &body),
            400,
            "invalid-batch",
            case,
        );
        let mut claim = vec![0xd2, 0x84];
        claim.extend_from_slice(&body);
        assert_problem(
            &post(&log, "/v1/claims", cose, &claim),
            400,
            "invalid-claim",
            case,
        );
    }

    // Invalid UTF-8 inside the claim's text (signature re-made, so only the
    // schema check can refuse it), and an unknown key in the claim map.
    let entry = vendor.claim(1);
    let sc = provlog_core::signed_claim::SignedClaim::from_bytes(&entry).expect("parse");
    let mut payload = sc.payload().to_vec();
    let at = payload
        .windows(8)
        .position(|w| w == b"imagegen")
        .expect("tool name in payload");
    payload[at] = 0xff;
    let bad_utf8 = resign(&vendor, &entry, payload);
    let got = post(&log, "/v1/claims", cose, &bad_utf8);
    assert_problem(&got, 400, "invalid-claim", "invalid UTF-8");
    let mut map: ciborium::Value = ciborium::from_reader(sc.payload()).expect("payload map");
    if let ciborium::Value::Map(m) = &mut map {
        m.push(("zzzzzzzzzzzz".into(), 1.into()));
    }
    let unknown = resign(&vendor, &entry, cbor(&map));
    let got = post(&log, "/v1/claims", cose, &unknown);
    assert_problem(&got, 400, "invalid-claim", "unknown key");
    assert!(
        got.1["detail"]
            .as_str()
            .unwrap_or("")
            .contains("zzzzzzzzzzzz"),
        "the detail names the unknown key: {:?}",
        got.1
    );
    // The same payload with its original bytes verifies: the test really
    // only changed what it meant to.
    let same = resign(&vendor, &entry, sc.payload().to_vec());
    assert_eq!(same, entry, "re-signing is deterministic");

    // Path traversal and non-canonical tile paths, sent raw (no client-side
    // normalisation), and odd entry paths.
    for path in [
        "/tile/../../../../etc/passwd",
        "/tile/0/../../log.key",
        "/tile/%2e%2e/%2e%2e/log.key",
        "/tile/0/..%2f..%2flog.key",
        "/tile/entries/..%2F000",
        "/tile/0/000/../../../tree-head",
        "/tile//0/000",
        "/tile/0/000.p/255/..",
        "/tile/0/x000/000",
        "/tile/64/000",
        "/tile/0/-01",
        "/v1/entries/..%2f..%2flog.key",
        "/log.key",
        "/db/0.jnl",
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let resp = raw_http(&addr(&log), req.as_bytes(), 1 << 20);
        let got = parse_response(&resp);
        assert!(
            got.0 == 404 || got.0 == 400,
            "{path}: expected 404/400, got {}",
            got.0
        );
        assert!(
            !resp.contains("PRIVATE") && !resp.contains("PLHW"),
            "{path}: leaked a file"
        );
    }

    // Admin-only settings are not reachable over HTTP: no route changes them.
    for (method, path) in [
        ("PUT", "/config"),
        ("POST", "/admin"),
        ("POST", "/v1/config"),
        ("POST", "/v1/accept-keys"),
        ("DELETE", "/v1/entries/0"),
        ("PUT", "/checkpoint"),
        ("POST", "/tile/0/000.p/1"),
        ("POST", "/metrics"),
        ("POST", "/healthz"),
    ] {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{{}}"
        );
        let got = parse_response(&raw_http(&addr(&log), req.as_bytes(), 1 << 16));
        assert!(
            got.0 == 404 || got.0 == 405,
            "{method} {path}: expected 404/405, got {}",
            got.0
        );
    }

    // A slow body: headers, then a trickle. The server keeps serving others
    // meanwhile, and the slow request is judged when it completes.
    let mut slow = std::net::TcpStream::connect(addr(&log)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let slow_claim = vendor.claim(2);
    write!(
        slow,
        "POST /v1/claims HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {cose}\r\nContent-Length: {}\r\n\r\n",
        slow_claim.len()
    )
    .expect("headers");
    slow.write_all(&slow_claim[..10]).expect("first bytes");
    assert_eq!(
        tree(&rt, &log),
        before,
        "reads are served during a slow body"
    );
    for chunk in slow_claim[10..].chunks(64) {
        slow.write_all(chunk).expect("trickle");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut resp = Vec::new();
    let _ = std::io::Read::read_to_end(&mut slow, &mut resp);
    assert!(
        String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 200"),
        "a slow but complete claim is logged"
    );
    let after_slow = tree(&rt, &log);
    assert_eq!(after_slow.0, before.0 + 1);
    // A body that stops short is never logged.
    let mut req = format!(
        "POST /v1/claims HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {cose}\r\nContent-Length: {}\r\n\r\n",
        slow_claim.len() + 100
    )
    .into_bytes();
    req.extend_from_slice(&vendor.claim(3));
    let got = parse_response(&raw_http(&addr(&log), &req, 1 << 16));
    assert_problem(&got, 408, "request-timeout", "stalled body");

    // Replays: the same claim again is the same entry, whichever endpoint.
    let again = rt.block_on(client.submit(&first)).expect("replay");
    assert_eq!(again.index, receipt.index);
    let batch = rt
        .block_on(client.submit_batch(&[first.clone(), first.clone()]))
        .expect("replayed batch");
    assert!(batch.iter().all(|r| r.index == receipt.index));
    assert_eq!(tree(&rt, &log), after_slow, "replays changed the tree");

    // A flood beyond the rate limit (burst 40): every answer is a 200 or a
    // 429 problem with Retry-After; the tree grows by the 200s only.
    let flood: Vec<Vec<u8>> = (100..200).map(|i| vendor.claim(i)).collect();
    let results = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for c in flood {
            let client = client.clone();
            set.spawn(async move { client.submit(&c).await });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.expect("task"));
        }
        out
    });
    let mut accepted = 0u64;
    let mut limited = 0u64;
    for r in &results {
        match r {
            Ok(_) => accepted += 1,
            Err(HttpError::Status {
                status: 429,
                retry_after,
                kind,
                ..
            }) => {
                assert!(retry_after.is_some_and(|s| s >= 1));
                assert_eq!(kind.as_deref(), Some("urn:provlog:problem:rate-limited"));
                limited += 1;
            }
            Err(e) => panic!("flood: unexpected answer {e}"),
        }
    }
    assert_eq!(accepted + limited, 100);
    assert!(limited > 0, "the flood went beyond the limit");
    assert!(accepted <= 40, "no more than the burst was accepted");
    assert_eq!(tree(&rt, &log).0, after_slow.0 + accepted);

    // Memory stayed bounded through all of it (the huge declared lengths
    // above would each have needed gigabytes).
    let rss_end = rss_kib(pid).expect("rss");
    println!("server RSS: {rss_start} KiB at start, {rss_end} KiB after the hostile requests");
    assert!(
        rss_end < rss_start + 256 * 1024,
        "server memory grew from {rss_start} KiB to {rss_end} KiB"
    );

    // No key material in the server's output.
    let key_file = std::fs::read_to_string(dir.path().join("log.key")).expect("log key");
    // PRIVATE+KEY+<name>+<hex id>+<base64 key>
    let secret = key_file
        .trim()
        .splitn(5, '+')
        .nth(4)
        .expect("skey")
        .to_string();
    assert!(secret.len() > 20);
    let stderr = log.stderr.clone();
    assert!(log.stop(), "clean stop");
    let logged = stderr.lock().map(|v| v.join("\n")).unwrap_or_default();
    assert!(!logged.is_empty());
    assert!(
        !logged.contains(&secret),
        "the log's private key appears in the server's output"
    );
}
