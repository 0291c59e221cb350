//! Stateless frontends (spec/log-server.md "Frontends", spec/http-api.md
//! "Frontend channel"): a sequencer started with `--frontend-keys FILE`
//! and two `provlog-server frontend` processes in front of it. Claims sent
//! through either frontend get receipts that verify under the log key, and
//! the tree holds each claim once; a frontend refuses a badly signed claim
//! itself (nothing is forwarded); the sequencer refuses a forward that is
//! unsigned, signed by a key not in its file, tampered with or replayed,
//! with a problem document and the tree unchanged; a frontend whose
//! "sequencer" answers with an endless or hugely declared body fails with a
//! 502 after reading a bounded amount.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use provlog_client::http::{HttpError, LogClient};
use provlog_client::limits;
use provlog_core::hash::sha256;
use provlog_core::note::{NoteSigner, VerifierKey};
use provlog_core::policy::Policy;
use provlog_core::receipt::Receipt;
use provlog_e2e::{
    HOSTILE_CAP, HonestAnswer, HostileServer, Hostility, LogProcess, Vendor, peak_rss_kib, rt,
    wait_for,
};
use provlog_server::frontend::{
    FORWARD_MEDIA_TYPE, FORWARD_PATH, ForwardBody, ForwardItem, KEY_HEADER, KIND_BATCH,
    KIND_SINGLE, NONCE_HEADER, SIGNATURE_HEADER, TIME_HEADER, load_or_create_frontend_key,
    signed_message,
};

/// What the kernel's loopback buffers and the HTTP stack may hold beyond a
/// limit before the reader stops (as in hostile_responses.rs).
const IN_FLIGHT_SLACK: u64 = 24 << 20;

fn client(url: &str) -> LogClient {
    LogClient::with_timeout(url, Duration::from_secs(60)).expect("client")
}

/// The tree size of the sequencer's published checkpoint, verified.
fn tree_size(seq: &LogProcess) -> u64 {
    let key = VerifierKey::parse(&seq.vkey).expect("log vkey");
    rt().block_on(client(&seq.url).verified_checkpoint(&key))
        .expect("checkpoint")
        .checkpoint
        .size
}

/// Waits (bounded) until the published tree has `size` entries.
fn wait_size(seq: &LogProcess, size: u64) {
    wait_for(200, || (tree_size(seq) == size).then_some(()))
        .unwrap_or_else(|| panic!("the tree never reached {size}: {}", tree_size(seq)));
}

/// The `provlog_forward*` metric lines of a server, by name.
fn forward_metrics(url: &str) -> BTreeMap<String, String> {
    let text = rt()
        .block_on(async { reqwest::get(format!("{url}/metrics")).await?.text().await })
        .expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("provlog_forward"))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The status code and problem type of a refused submission.
fn refusal(e: HttpError) -> (u16, String) {
    match e {
        HttpError::Status { status, kind, .. } => (status, kind.unwrap_or_default()),
        other => panic!("expected a problem answer, got {other}"),
    }
}

/// A forward of `claims` (kind single for one claim), its asset hashes
/// and kids taken from the claims.
fn forward_body(vendor: &Vendor, claims: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    ForwardBody {
        kind: KIND_SINGLE,
        items: claims
            .iter()
            .map(|(asset, entry)| ForwardItem {
                entry: entry.clone(),
                asset: sha256(asset),
                kid: vendor.vkey.clone(),
                index_keys: vec![],
                bindings: None,
            })
            .collect(),
    }
    .encode()
}

/// This machine's clock in milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

/// The four channel headers for `body`, signed by `signer` with `key`
/// named in the key header.
fn signed_headers(
    signer: &NoteSigner,
    key: &str,
    origin: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    signed_headers_at(signer, key, origin, now_ms(), nonce, body)
}

/// [`signed_headers`] with the time `time` (signed and sent).
fn signed_headers_at(
    signer: &NoteSigner,
    key: &str,
    origin: &str,
    time: u64,
    nonce: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let sig = signer
        .signing_key()
        .sign(&signed_message(origin, time, nonce, body));
    vec![
        (KEY_HEADER.into(), key.into()),
        (TIME_HEADER.into(), time.to_string()),
        (NONCE_HEADER.into(), nonce.into()),
        (SIGNATURE_HEADER.into(), B64.encode(sig.to_bytes())),
    ]
}

/// `headers` with `name` set to `value`.
fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            if k == name {
                (k.clone(), value.to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Posts a forward straight to the sequencer: (status, content type, body).
fn post_forward(url: &str, headers: &[(String, String)], body: Vec<u8>) -> (u16, String, Vec<u8>) {
    rt().block_on(async {
        let mut req = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?
            .post(format!("{url}{FORWARD_PATH}"))
            .header("content-type", FORWARD_MEDIA_TYPE)
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok::<_, reqwest::Error>((status, ctype, resp.bytes().await?.to_vec()))
    })
    .expect("the sequencer answers")
}

/// Asserts a problem answer with `status` and `slug`.
fn assert_problem(answer: &(u16, String, Vec<u8>), status: u16, slug: &str) {
    let (got, ctype, body) = answer;
    let text = String::from_utf8_lossy(body);
    assert_eq!(*got, status, "{text}");
    assert_eq!(ctype, "application/problem+json", "{text}");
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON problem");
    assert_eq!(v["type"], format!("urn:provlog:problem:{slug}"), "{text}");
    assert_eq!(v["status"], status);
    assert!(
        v["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{text}"
    );
}

/// `provlog-server frontend --data DIR --print-vkey`: the frontend's vkey
/// (its key made on first use).
fn print_vkey(dir: &Path) -> String {
    let out = std::process::Command::new(provlog_e2e::bin("provlog-server"))
        .args(["frontend", "--print-vkey", "--data"])
        .arg(dir)
        .output()
        .expect("run provlog-server frontend --print-vkey");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one vkey line: {text:?}");
    VerifierKey::parse(lines[0]).expect("a vkey");
    lines[0].to_string()
}

fn write_frontend_keys(path: &Path, vkeys: &[&str]) {
    std::fs::write(
        path,
        format!("# trusted frontends\n\n{}\n", vkeys.join("\n")),
    )
    .expect("write the frontend keys file");
}

#[test]
fn two_frontends_forward_verified_claims_and_the_channel_refuses_forgeries() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The frontends' keys first, so the sequencer's file can list them.
    let (fa_dir, fb_dir) = (dir.path().join("fe-a"), dir.path().join("fe-b"));
    let (fa_signer, created) = load_or_create_frontend_key(&fa_dir, "fe-a").expect("key a");
    assert!(created);
    let fa_vkey = fa_signer.verifier_key().to_vkey();
    // B's key made as an operator makes it, by `--print-vkey`.
    let fb_vkey = print_vkey(&fb_dir);
    let (fb_signer, created) = load_or_create_frontend_key(&fb_dir, "fe-b").expect("key b");
    assert!(!created, "--print-vkey made the key file");
    assert_eq!(fb_signer.verifier_key().to_vkey(), fb_vkey);
    assert_eq!(
        print_vkey(&fb_dir),
        fb_vkey,
        "and prints the same key again"
    );
    let keys = dir.path().join("frontend-keys");
    write_frontend_keys(&keys, &[&fa_vkey, &fb_vkey]);
    let seq = LogProcess::start(
        &dir.path().join("log"),
        &[
            "--frontend-keys",
            keys.to_str().expect("utf-8 path"),
            "--batch-interval-ms",
            "10",
        ],
    );
    let fa = LogProcess::start_frontend(&fa_dir, &seq.url, &[]);
    let fb = LogProcess::start_frontend(&fb_dir, &seq.url, &[]);
    assert_eq!(fa.vkey, fa_vkey, "the frontend kept the key it found");
    assert_eq!(fb.vkey, fb_vkey);
    let log_key = VerifierKey::parse(&seq.vkey).expect("log vkey");
    let policy = Policy::single_log(log_key);
    let origin = String::from_utf8(rt().block_on(client(&seq.url).checkpoint()).expect("cp"))
        .expect("utf-8")
        .lines()
        .next()
        .expect("origin line")
        .to_string();

    // A frontend relays the sequencer's checkpoint (clients check the
    // log key before submitting).
    let relayed = rt()
        .block_on(client(&fa.url).checkpoint())
        .expect("relayed");
    assert_eq!(
        String::from_utf8_lossy(&relayed).lines().next(),
        Some(origin.as_str())
    );
    policy
        .verify_checkpoint(&relayed)
        .expect("the relayed checkpoint verifies under the log key");

    // Through A one by one, through B as a batch; one claim through both.
    let vendor = Vendor::new("vendor.example");
    let claims: Vec<Vec<u8>> = (0..6).map(|i| vendor.claim(i)).collect();
    let mut receipts: Vec<Receipt> = Vec::new();
    for c in &claims[..3] {
        receipts.push(
            rt().block_on(client(&fa.url).submit(c))
                .expect("A forwards"),
        );
    }
    let batch = rt()
        .block_on(client(&fb.url).submit_batch(&claims[2..]))
        .expect("B forwards");
    assert_eq!(batch.len(), 4);
    assert_eq!(
        batch[0].index, receipts[2].index,
        "a claim sent through both frontends is logged once"
    );
    receipts.extend(batch.into_iter().skip(1));
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.entry, claims[i], "receipt {i} is for its claim");
        r.verify(&policy)
            .unwrap_or_else(|e| panic!("receipt {i} verifies under the log key: {e}"));
    }
    wait_size(&seq, 6);
    let logged: Vec<Vec<u8>> = rt().block_on(async {
        let c = client(&seq.url);
        let mut out = Vec::new();
        for i in 0..6 {
            out.push(c.entry(i).await.expect("entry"));
        }
        out
    });
    let mut want = claims.clone();
    want.sort();
    let mut got = logged.clone();
    got.sort();
    assert_eq!(got, want, "the tree holds each claim exactly once");

    // A badly signed claim: the frontend refuses it, nothing is forwarded.
    let seq_before = forward_metrics(&seq.url);
    let fa_before = forward_metrics(&fa.url);
    let mut forged = vendor.claim(100);
    let n = forged.len();
    forged[n - 10] ^= 1;
    let (status, kind) = refusal(
        rt().block_on(client(&fa.url).submit(&forged))
            .expect_err("a bad signature is refused"),
    );
    assert_eq!(
        (status, kind.as_str()),
        (400, "urn:provlog:problem:bad-signature")
    );
    let (status, kind) = refusal(
        rt().block_on(client(&fb.url).submit_batch(&[vendor.claim(101), forged.clone()]))
            .expect_err("a batch with a bad signature is refused"),
    );
    assert_eq!(
        (status, kind.as_str()),
        (400, "urn:provlog:problem:bad-signature")
    );
    assert_eq!(
        forward_metrics(&seq.url),
        seq_before,
        "nothing reached the sequencer"
    );
    assert_eq!(forward_metrics(&fa.url), fa_before, "A forwarded nothing");
    // Garbage and a wrong media type are the frontend's 400 and 415 too.
    let (status, kind) = refusal(
        rt().block_on(client(&fa.url).submit(b"not a claim"))
            .expect_err("garbage is refused"),
    );
    assert_eq!(
        (status, kind.as_str()),
        (400, "urn:provlog:problem:invalid-claim")
    );

    // Straight at the sequencer: a forward of a claim never logged.
    let fresh = vendor.claim_for(b"fresh asset", 7);
    let body = forward_body(&vendor, &[(b"fresh asset".to_vec(), fresh.clone())]);
    let nonce1 = "0123456789abcdef0123456789abcdef";
    // Unsigned.
    let answer = post_forward(&seq.url, &[], body.clone());
    assert_problem(&answer, 401, "unsigned-forward");
    // Signed by a key not in the file (it names itself in the key header).
    let stranger = NoteSigner::generate("fe-stranger").expect("key");
    let h = signed_headers(
        &stranger,
        &stranger.verifier_key().to_vkey(),
        &origin,
        nonce1,
        &body,
    );
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        403,
        "unknown-frontend",
    );
    // Signed by a stranger but naming A's key: the signature fails.
    let h = signed_headers(&stranger, &fa_vkey, &origin, nonce1, &body);
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        401,
        "bad-forward-signature",
    );
    // Signed by A, then tampered with: one bit of the claim flipped, and
    // separately a byte of the derived asset hash.
    let h = signed_headers(&fa_signer, &fa_vkey, &origin, nonce1, &body);
    let asset_at = body.len() - 4 - vendor.vkey.len() - 2 - 16;
    for at in [20, asset_at] {
        let mut tampered = body.clone();
        tampered[at] ^= 1;
        assert_problem(
            &post_forward(&seq.url, &h, tampered),
            401,
            "bad-forward-signature",
        );
    }
    // Signed for another log's origin.
    let h_other = signed_headers(&fa_signer, &fa_vkey, "other.example", nonce1, &body);
    assert_problem(
        &post_forward(&seq.url, &h_other, body.clone()),
        401,
        "bad-forward-signature",
    );
    // Garbage, signed: authenticated, then refused as undecodable.
    let junk = b"\x09\x00\x00\x00\x00\x01".to_vec();
    let hj = signed_headers(
        &fa_signer,
        &fa_vkey,
        &origin,
        "ffffffffffffffffffffffffffffffff",
        &junk,
    );
    assert_problem(&post_forward(&seq.url, &hj, junk), 400, "invalid-forward");
    wait_size(&seq, 6);
    assert_eq!(tree_size(&seq), 6, "no refused forward changed the tree");

    // The genuine forward (signed again now, with the nonce the refused
    // ones carried) is taken once; its replay is refused (409), and the
    // same claim under a fresh nonce is answered from the dedup index.
    let h = signed_headers(&fa_signer, &fa_vkey, &origin, nonce1, &body);
    let ok = post_forward(&seq.url, &h, body.clone());
    assert_eq!(ok.0, 200, "{}", String::from_utf8_lossy(&ok.2));
    let r = Receipt::from_cbor(&ok.2).expect("a receipt");
    assert_eq!(r.index, 6);
    r.verify(&policy).expect("the forwarded receipt verifies");
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        409,
        "replayed-forward",
    );
    let h2 = signed_headers(
        &fb_signer,
        &fb_vkey,
        &origin,
        "00000000000000000000000000000001",
        &body,
    );
    let again = post_forward(&seq.url, &h2, body);
    assert_eq!(again.0, 200);
    assert_eq!(Receipt::from_cbor(&again.2).expect("receipt").index, 6);
    wait_size(&seq, 7);

    // A frontend whose key the sequencer does not trust answers 502, not
    // the client's fault.
    let fc = LogProcess::start_frontend(&dir.path().join("fe-c"), &seq.url, &[]);
    let (status, kind) = refusal(
        rt().block_on(client(&fc.url).submit(&vendor.claim(200)))
            .expect_err("an untrusted frontend is refused"),
    );
    assert_eq!(
        (status, kind.as_str()),
        (502, "urn:provlog:problem:frontend-refused")
    );
    assert_eq!(tree_size(&seq), 7);
    assert!(
        fa.stop() && fb.stop() && fc.stop(),
        "frontends stop cleanly"
    );
    assert!(seq.stop(), "the sequencer stops cleanly");
}

/// A "sequencer" that serves an honest checkpoint (the frontend reads its
/// origin at start) and answers every forward with a hostile body.
fn hostile_sequencer(mode: Hostility, status: u16) -> HostileServer {
    HostileServer::start_with(mode, status, |path| {
        (path == "/checkpoint").then(|| -> HonestAnswer {
            (
                200,
                "text/plain; charset=utf-8",
                b"hostile.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n".to_vec(),
            )
        })
    })
}

#[test]
fn a_frontend_bounds_a_hostile_sequencer_answer() {
    let vendor = Vendor::new("vendor.example");
    for (mode, status, limit) in [
        (Hostility::Endless, 200, limits::RECEIPT),
        (Hostility::HugeLength, 200, limits::RECEIPT),
        (Hostility::Endless, 400, limits::ERROR_BODY),
    ] {
        let peer = hostile_sequencer(mode, status);
        let dir = tempfile::tempdir().expect("tempdir");
        let fe = LogProcess::start_frontend(dir.path(), &peer.url, &[]);
        let pid = fe.pid().expect("pid");
        let start_peak = peak_rss_kib(pid).expect("rss");
        for i in 0..3 {
            let before = peer.sent();
            let (status, kind) = refusal(
                rt().block_on(client(&fe.url).submit(&vendor.claim(i)))
                    .expect_err("the hostile answer is refused"),
            );
            assert_eq!(
                (status, kind.as_str()),
                (502, "urn:provlog:problem:bad-sequencer-answer"),
                "{mode:?}"
            );
            let sent = peer.sent() - before;
            assert!(
                sent < limit as u64 + IN_FLIGHT_SLACK && sent < HOSTILE_CAP,
                "{mode:?}: the frontend let the peer send {sent} bytes"
            );
        }
        assert!(
            peer.requests()
                .iter()
                .any(|r| r.starts_with(&format!("POST {FORWARD_PATH} "))),
            "the claims were forwarded to the peer"
        );
        let grown = peak_rss_kib(pid).expect("rss").saturating_sub(start_peak);
        assert!(
            grown < 64 << 10,
            "{mode:?}: the frontend's peak memory grew by {grown} KiB"
        );
        // Still serving: a garbage claim is its own 400, as before.
        let (status, _) = refusal(
            rt().block_on(client(&fe.url).submit(b"junk"))
                .expect_err("refused"),
        );
        assert_eq!(status, 400);
        assert!(fe.stop(), "{mode:?}: the frontend stops cleanly");
    }
}

/// A batch forward (kind batch) of `claims`, their asset hashes taken
/// from the synthetic assets `Vendor::claim` signs.
fn batch_body(vendor: &Vendor, range: std::ops::Range<u64>) -> Vec<u8> {
    ForwardBody {
        kind: KIND_BATCH,
        items: range
            .map(|i| ForwardItem {
                entry: vendor.claim(i),
                asset: sha256(format!("asset number {i}").as_bytes()),
                kid: vendor.vkey.clone(),
                index_keys: vec![],
                bindings: None,
            })
            .collect(),
    }
    .encode()
}

/// Sends a forward over one raw connection (the server may answer before
/// the body is sent, as for an oversized one): (status, problem JSON).
fn raw_forward(url: &str, head: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let addr = url.trim_start_matches("http://");
    let mut req =
        format!("POST {FORWARD_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{head}\r\n")
            .into_bytes();
    req.extend_from_slice(body);
    let answer = provlog_e2e::raw_http(addr, &req, 1 << 20);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| {
            // The body may come chunked: the JSON object inside it.
            let (start, end) = (b.find('{')?, b.rfind('}')?);
            serde_json::from_str(&b[start..=end]).ok()
        })
        .unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Header lines for [`raw_forward`].
fn head_lines(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect()
}

/// A metric's value on `url` (0 when absent).
fn metric(url: &str, name: &str) -> u64 {
    let text = rt()
        .block_on(async { reqwest::get(format!("{url}/metrics")).await?.text().await })
        .expect("metrics");
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_sequencer_refuses_hostile_forwards_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fe_dir = dir.path().join("fe");
    let fe_vkey = print_vkey(&fe_dir);
    let (fe, _) = load_or_create_frontend_key(&fe_dir, "fe").expect("the key --print-vkey made");
    let keys = dir.path().join("frontend-keys");
    write_frontend_keys(&keys, &[&fe_vkey]);
    // A small body limit, so an oversized forward is cheap to send.
    let seq = LogProcess::start(
        &dir.path().join("log"),
        &[
            "--frontend-keys",
            keys.to_str().expect("utf-8 path"),
            "--batch-interval-ms",
            "10",
            "--max-batch-body",
            "65536",
            "--max-batch-claims",
            "16",
        ],
    );
    let policy = Policy::single_log(VerifierKey::parse(&seq.vkey).expect("log vkey"));
    let origin = String::from_utf8(rt().block_on(client(&seq.url).checkpoint()).expect("cp"))
        .expect("utf-8")
        .lines()
        .next()
        .expect("origin line")
        .to_string();
    let vendor = Vendor::new("vendor.example");

    // One genuine batch forward: three receipts in request order.
    let first = batch_body(&vendor, 0..3);
    let h = signed_headers(&fe, &fe_vkey, &origin, &"0".repeat(32), &first);
    let ok = post_forward(&seq.url, &h, first);
    assert_eq!(ok.0, 200, "{}", String::from_utf8_lossy(&ok.2));
    let receipts = provlog_core::cbor::decode_bytes_array(&ok.2, 16).expect("a receipt array");
    assert_eq!(receipts.len(), 3);
    for (i, r) in receipts.iter().enumerate() {
        let r = Receipt::from_cbor(r).expect("a receipt");
        assert_eq!(r.entry, vendor.claim(i as u64));
        r.verify(&policy).expect("the receipt verifies");
    }
    wait_size(&seq, 3);
    let claims_before = metric(&seq.url, "provlog_forwarded_claims_total");
    assert_eq!(claims_before, 3);

    // Each hostile forward below is refused with a problem document and
    // changes nothing: not the tree, not the nonces (the genuine forward
    // sent last reuses the nonce `n` they carried).
    let body = batch_body(&vendor, 10..13);
    let n = "00112233445566778899aabbccddeeff";
    let now = now_ms();
    let good = signed_headers_at(&fe, &fe_vkey, &origin, now, n, &body);
    let unchanged = |what: &str| {
        assert_eq!(tree_size(&seq), 3, "{what} changed the tree");
        assert_eq!(
            metric(&seq.url, "provlog_forwarded_claims_total"),
            claims_before,
            "{what} was taken"
        );
    };

    // A batch signed by a key not in the file.
    let stranger = NoteSigner::generate("fe-stranger").expect("key");
    let sv = stranger.verifier_key().to_vkey();
    let h = signed_headers_at(&stranger, &sv, &origin, now, n, &body);
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        403,
        "unknown-frontend",
    );
    unchanged("an unknown frontend");
    // Tampered: a bit of the second claim, the derived asset hash of the
    // third, the claim count; truncated; one byte appended.
    let second_entry =
        2 + 4 + (4 + vendor.claim(10).len() + 32 + 2 + vendor.vkey.len() + 4) + 4 + 30;
    for (what, tampered) in [
        ("a flipped claim bit", {
            let mut b = body.clone();
            b[second_entry] ^= 0x10;
            b
        }),
        ("a flipped asset hash", {
            let mut b = body.clone();
            let at = b.len() - 4 - vendor.vkey.len() - 2 - 5;
            b[at] ^= 1;
            b
        }),
        ("a changed count", {
            let mut b = body.clone();
            b[5] = 2;
            b
        }),
        ("a truncated body", body[..body.len() - 1].to_vec()),
        ("a longer body", [body.as_slice(), &[0u8][..]].concat()),
    ] {
        assert_problem(
            &post_forward(&seq.url, &good, tampered),
            401,
            "bad-forward-signature",
        );
        unchanged(what);
    }
    // Stale and future times (ten minutes out, far past the 30 s window),
    // each validly signed.
    for time in [now - 600_000, now + 600_000] {
        let h = signed_headers_at(&fe, &fe_vkey, &origin, time, n, &body);
        assert_problem(
            &post_forward(&seq.url, &h, body.clone()),
            401,
            "stale-forward",
        );
        unchanged("a stale forward");
    }
    // Malformed headers: a time with a leading zero, an upper-case nonce,
    // a signature of the wrong length, a missing header.
    let h = with_header(&good, TIME_HEADER, &format!("0{now}"));
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        401,
        "bad-forward-signature",
    );
    let h = signed_headers_at(&fe, &fe_vkey, &origin, now, &n.to_uppercase(), &body);
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        401,
        "bad-forward-signature",
    );
    let h = with_header(&good, SIGNATURE_HEADER, &B64.encode([7u8; 63]));
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        401,
        "bad-forward-signature",
    );
    let h: Vec<_> = good
        .iter()
        .filter(|(k, _)| k != NONCE_HEADER)
        .cloned()
        .collect();
    assert_problem(
        &post_forward(&seq.url, &h, body.clone()),
        401,
        "unsigned-forward",
    );
    unchanged("a malformed header");
    // Oversized: over the limit (2 x 64 KiB + 1 MiB) declared, and sent
    // chunked with no length; both 413 before any signature is checked.
    let limit = 2 * 65536 + (1 << 20);
    let big = vec![0u8; limit + 1];
    let hb = signed_headers(
        &fe,
        &fe_vkey,
        &origin,
        "11111111111111111111111111111111",
        &big,
    );
    let (status, json) = raw_forward(
        &seq.url,
        &format!(
            "{}content-type: {FORWARD_MEDIA_TYPE}\r\ncontent-length: {}\r\n",
            head_lines(&hb),
            big.len()
        ),
        &big,
    );
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["type"], "urn:provlog:problem:too-large", "{json}");
    let mut chunked = Vec::new();
    for c in big.chunks(64 << 10) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, json) = raw_forward(
        &seq.url,
        &format!(
            "{}content-type: {FORWARD_MEDIA_TYPE}\r\ntransfer-encoding: chunked\r\n",
            head_lines(&hb)
        ),
        &chunked,
    );
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["type"], "urn:provlog:problem:too-large", "{json}");
    unchanged("an oversized forward");
    // Authentic but unacceptable: more claims than --max-batch-claims, the
    // wrong media type.
    let many = batch_body(&vendor, 100..117);
    let h = signed_headers(
        &fe,
        &fe_vkey,
        &origin,
        "22222222222222222222222222222222",
        &many,
    );
    assert_problem(&post_forward(&seq.url, &h, many), 413, "too-large");
    let h = signed_headers(
        &fe,
        &fe_vkey,
        &origin,
        "33333333333333333333333333333333",
        &body,
    );
    let answer = rt()
        .block_on(async {
            let mut req = reqwest::Client::new()
                .post(format!("{}{FORWARD_PATH}", seq.url))
                .header("content-type", "application/cbor")
                .body(body.clone());
            for (k, v) in &h {
                req = req.header(k, v);
            }
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            Ok::<_, reqwest::Error>((status, resp.text().await?))
        })
        .expect("answer");
    assert_eq!(answer.0, 415, "{}", answer.1);
    unchanged("an unacceptable forward");

    // The genuine forward, with the nonce every refused one carried (signed
    // again now, so no test step can have aged it), is taken; replaying
    // it, or its nonce on another body, is 409.
    let good = signed_headers(&fe, &fe_vkey, &origin, n, &body);
    let ok = post_forward(&seq.url, &good, body.clone());
    assert_eq!(ok.0, 200, "{}", String::from_utf8_lossy(&ok.2));
    wait_size(&seq, 6);
    assert_problem(
        &post_forward(&seq.url, &good, body),
        409,
        "replayed-forward",
    );
    let other = batch_body(&vendor, 20..22);
    let h = signed_headers(&fe, &fe_vkey, &origin, n, &other);
    assert_problem(&post_forward(&seq.url, &h, other), 409, "replayed-forward");
    assert_eq!(tree_size(&seq), 6, "a replay changed the tree");
    assert_eq!(metric(&seq.url, "provlog_forwarded_claims_total"), 6);
    // Each refusal is counted by reason.
    for (reason, at_least) in [
        ("unknown-frontend", 1),
        ("bad-forward-signature", 8),
        ("stale-forward", 2),
        ("unsigned-forward", 1),
        ("too-large", 1),
        ("unsupported-media-type", 1),
        ("replayed-forward", 2),
    ] {
        let got = metric(
            &seq.url,
            &format!("provlog_forward_refusals_total{{reason=\"{reason}\"}}"),
        );
        assert!(got >= at_least, "{reason}: {got} refusals counted");
    }
    assert!(seq.stop(), "the sequencer stops cleanly");
}

/// A PNG of 48 x 48 pixels, different for each `seed`.
fn png(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 48, |x, y| {
        let v = (x * (seed + 3) + y * (seed ^ 0x55) + x * y * (seed + 1)) % 256;
        image::Rgb([v as u8, (v * 3 % 256) as u8, ((x + y) * seed % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// Claims with a C2PA hard binding, a watermark and a perceptual hash,
/// sent through a frontend (whose forward carries their binding-index
/// records, spec/frontend.md §4) and straight to the sequencer (whose
/// admission derives them): the sequencer's binding index finds each one,
/// at its index, by hard binding, by soft binding and by content, as it
/// did when it parsed every entry itself.
#[test]
fn forwarded_binding_records_index_the_claims() {
    use provlog_core::claim::{
        C2paBinding, HardBinding, HardBindingKind, HashAlg, SoftBinding, SoftBindingKind,
    };
    use provlog_core::signed_claim::SignedClaim;
    let dir = tempfile::tempdir().expect("tempdir");
    let fe_dir = dir.path().join("fe");
    let (fe_signer, _) = load_or_create_frontend_key(&fe_dir, "fe").expect("key");
    let keys = dir.path().join("frontend-keys");
    write_frontend_keys(&keys, &[&fe_signer.verifier_key().to_vkey()]);
    let seq = LogProcess::start(
        &dir.path().join("log"),
        &[
            "--frontend-keys",
            keys.to_str().expect("utf-8 path"),
            "--batch-interval-ms",
            "10",
        ],
    );
    let fe = LogProcess::start_frontend(&fe_dir, &seq.url, &[]);
    let vendor = Vendor::new("vendor.example");
    /// Claim bytes, hard binding, watermark value, image.
    type Made = (Vec<u8>, HardBinding, Vec<u8>, Vec<u8>);
    let made: Vec<Made> = (0..4u32)
        .map(|i| {
            let image = png(i + 1);
            let phash = provlog_media::perceptual_hash_of(&image).expect("phash");
            let hard = HardBinding {
                kind: HardBindingKind::Data,
                alg: HashAlg::Sha256,
                hash: sha256(format!("hard binding {i}").as_bytes()).to_vec(),
                exclusions: vec![],
            };
            let watermark = format!("watermark {i}").into_bytes();
            let mut claim = provlog_e2e::sample_claim(&image, u64::from(i));
            claim.c2pa = Some(C2paBinding {
                manifest_label: format!("urn:uuid:00000000-0000-4000-8000-00000000000{i}"),
                claim_alg: HashAlg::Sha256,
                claim_hash: sha256(format!("c2pa claim {i}").as_bytes()).to_vec(),
                hard_binding: hard.clone(),
                validation: None,
            });
            claim.soft_bindings = vec![
                SoftBinding {
                    kind: SoftBindingKind::Watermark,
                    alg: "com.example.watermark.v1".into(),
                    value: watermark.clone(),
                },
                SoftBinding {
                    kind: SoftBindingKind::Perceptual,
                    alg: provlog_media::PHASH_ALG.into(),
                    value: provlog_media::phash_value(phash).to_vec(),
                },
            ];
            let bytes = SignedClaim::sign(&claim, vendor.signer.signing_key(), &vendor.vkey)
                .expect("sign")
                .to_bytes()
                .to_vec();
            (bytes, hard, watermark, image)
        })
        .collect();
    let entries: Vec<Vec<u8>> = made.iter().map(|m| m.0.clone()).collect();
    // 0 and 1 as a batch and 2 alone through the frontend, 3 directly.
    let mut indexes: Vec<u64> = rt()
        .block_on(client(&fe.url).submit_batch(&entries[..2]))
        .expect("batch through the frontend")
        .iter()
        .map(|r| r.index)
        .collect();
    indexes.push(
        rt().block_on(client(&fe.url).submit(&entries[2]))
            .expect("one through the frontend")
            .index,
    );
    indexes.push(
        rt().block_on(client(&seq.url).submit(&entries[3]))
            .expect("one directly")
            .index,
    );
    wait_size(&seq, 4);
    let c = client(&seq.url);
    for (i, (entry, hard, watermark, image)) in made.iter().enumerate() {
        let at = indexes[i];
        // The binding index opens in the background after start (503 until
        // then).
        let found = wait_for(100, || rt().block_on(c.lookup_hard_binding(hard)).ok())
            .expect("hard-binding lookup");
        let got: Vec<(u64, &[u8])> = found
            .entries
            .iter()
            .map(|e| (e.index, e.entry.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![(at, entry.as_slice())],
            "claim {i} by hard binding"
        );
        let soft = wait_for(100, || {
            rt().block_on(c.matches_by_binding("com.example.watermark.v1", watermark, 10))
                .ok()
        })
        .expect("soft-binding lookup");
        let got: Vec<u64> = soft.matches.iter().map(|m| m.entry.index).collect();
        assert_eq!(got, vec![at], "claim {i} by watermark");
        // The near-match index loads in the background after start.
        let near = wait_for(100, || {
            rt().block_on(c.matches_by_content(image.clone(), "image/png", 10, Some(0)))
                .ok()
        })
        .expect("content lookup");
        assert!(
            near.matches
                .iter()
                .any(|m| m.entry.index == at && m.distance == Some(0)),
            "claim {i} by content: {:?}",
            near.matches
                .iter()
                .map(|m| (m.entry.index, m.distance))
                .collect::<Vec<_>>()
        );
    }
}
