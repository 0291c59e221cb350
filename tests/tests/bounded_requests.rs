//! Every parser of a request body is bounded before allocation, as a
//! class: one table over EVERY POST endpoint of the log
//! (`/v1/claims`, `/v1/claims/batch`) and the monitor (`/add-checkpoint`,
//! `/v1/gossip`), each sent an oversized declared length, an endless
//! chunked body, deeply nested or huge-count input, and many tiny items.
//! Each gets the right status (and, from the log, problem type) within a
//! bounded time, and the server's peak RSS (`VmHWM` in /proc) stays within
//! a bound. Then the connection limits on the real binaries: slow-header
//! connections do not lock a normal client out, even at a low fd limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use provlog_client::http::LogClient;
use provlog_e2e::{LogProcess, MonitorProcess, peak_rss_kib};

/// Most a server's peak RSS may grow over the whole table. The largest
/// body any endpoint accepts is 8 MiB (a batch, a gossip push); decoding
/// one may cost a small multiple of it, never hundreds of MiB.
const GROWTH_KIB: u64 = 64 * 1024;

/// Most bytes an endless body sends before giving up (the server must
/// have answered long before).
const ENDLESS_CAP: usize = 64 << 20;

/// Bound on one answer. A body declared over the limit is refused from its
/// header, at once; the servers' body timeout (5 s here) ends anything else
/// that waits for a body, well within this.
const PATIENCE: Duration = Duration::from_secs(15);

/// What a case sends.
enum Send {
    /// Headers declaring this `Content-Length`, and no body.
    Declared(u64),
    /// A chunked body of 64 KiB chunks that never ends.
    Endless,
    /// This body, with its length.
    Body(Vec<u8>),
}

/// The answer expected: status and, for the log, the problem slug.
struct Expect {
    status: &'static [u16],
    problem: Option<&'static str>,
}

const fn expect(status: &'static [u16], problem: Option<&'static str>) -> Expect {
    Expect { status, problem }
}

/// Sends one request over a fresh connection; returns (status, body).
fn send(addr: &str, path: &str, content_type: &str, what: &Send) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).ok();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
    );
    let mut body = Vec::new();
    let endless = match what {
        Send::Declared(n) => {
            head.push_str(&format!("Content-Length: {n}\r\n"));
            false
        }
        Send::Endless => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            true
        }
        Send::Body(b) => {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
            body = b.clone();
            false
        }
    };
    head.push_str("\r\n");
    let mut w = s.try_clone().expect("clone");
    // Write from another thread: the server answers (e.g. 413) before the
    // body is done, and the answer must still be read.
    let writer = std::thread::spawn(move || {
        if w.write_all(head.as_bytes()).is_err() || w.write_all(&body).is_err() {
            return;
        }
        if endless {
            let chunk = vec![b'['; 64 * 1024];
            let mut sent = 0;
            while sent < ENDLESS_CAP {
                let ok = w
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .and_then(|()| w.write_all(&chunk))
                    .and_then(|()| w.write_all(b"\r\n"));
                if ok.is_err() {
                    return;
                }
                sent += chunk.len();
            }
        }
    });
    let mut out = Vec::new();
    let _ = Read::by_ref(&mut s).take(1 << 20).read_to_end(&mut out);
    drop(s);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Runs `cases` against the server at `addr` with process `pid`; fails
/// with every case that went wrong, not only the first.
fn run_table(server: &str, addr: &str, pid: u32, cases: Vec<(&str, &str, &str, Send, Expect)>) {
    let start_peak = peak_rss_kib(pid).expect("rss");
    let mut wrong = Vec::new();
    for (path, content_type, case, what, want) in cases {
        let name = format!("{server} POST {path}: {case}");
        let started = Instant::now();
        let (status, body) = send(addr, path, content_type, &what);
        let took = started.elapsed();
        let peak = peak_rss_kib(pid).expect("rss");
        println!("{name}: {status} in {took:?}, peak RSS {peak} KiB");
        if !want.status.contains(&status) {
            wrong.push(format!(
                "{name}: status {status}, expected one of {:?}; body {body:?}",
                want.status
            ));
        }
        if let Some(slug) = want.problem {
            let json = body
                .find('{')
                .zip(body.rfind('}'))
                .and_then(|(a, b)| serde_json::from_str::<serde_json::Value>(&body[a..=b]).ok())
                .unwrap_or_default();
            if json["type"] != format!("urn:provlog:problem:{slug}") {
                wrong.push(format!("{name}: problem type is not {slug}: {body:?}"));
            }
        }
        if took >= PATIENCE {
            wrong.push(format!("{name}: took {took:?}"));
        }
        if peak >= start_peak + GROWTH_KIB {
            wrong.push(format!(
                "{name}: peak RSS grew from {start_peak} KiB to {peak} KiB"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases went wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// CBOR nested `depth` arrays deep.
fn nested_cbor(depth: usize) -> Vec<u8> {
    std::iter::repeat_n(0x81u8, depth).chain([0x00]).collect()
}

/// A CBOR array of `n` empty byte strings (one byte each).
fn tiny_items(n: usize) -> Vec<u8> {
    let mut v = vec![0x9a];
    v.extend_from_slice(&(n as u32).to_be_bytes());
    v.extend(std::iter::repeat_n(0x40u8, n));
    v
}

#[test]
fn every_log_post_endpoint_bounds_its_body_before_allocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Default body and count limits: 16 KiB per claim, 8 MiB and 1024
    // claims per batch.
    let log = LogProcess::start(
        dir.path(),
        &["--batch-interval-ms", "5", "--body-timeout-ms", "5000"],
    );
    let addr = log.url.trim_start_matches("http://").to_string();
    let cose = "application/cose";
    let cbor = "application/cbor";
    let too_large = || expect(&[413], Some("too-large"));
    let bad_claim = || expect(&[400], Some("invalid-claim"));
    let bad_batch = || expect(&[400], Some("invalid-batch"));
    // A COSE_Sign1 head followed by `inner`.
    let claim_with = |inner: &[u8]| [&[0xd2u8, 0x84][..], inner].concat();
    let cases = vec![
        (
            "/v1/claims",
            cose,
            "declared 17 KiB",
            Send::Declared(17 * 1024),
            too_large(),
        ),
        (
            "/v1/claims",
            cose,
            "declared 1 TB",
            Send::Declared(1 << 40),
            too_large(),
        ),
        (
            "/v1/claims",
            cose,
            "endless chunked body",
            Send::Endless,
            too_large(),
        ),
        (
            "/v1/claims",
            cose,
            "nested 16000 deep",
            Send::Body(nested_cbor(16_000)),
            bad_claim(),
        ),
        (
            "/v1/claims",
            cose,
            "map declaring 2^60 pairs",
            Send::Body(claim_with(&[0xbb, 0x10, 0, 0, 0, 0, 0, 0, 0])),
            bad_claim(),
        ),
        (
            "/v1/claims",
            cose,
            "16000 tiny items",
            Send::Body(claim_with(&tiny_items(16_000))),
            bad_claim(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "declared 9 MiB",
            Send::Declared(9 << 20),
            too_large(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "declared 2^63",
            Send::Declared(1 << 63),
            too_large(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "endless chunked body",
            Send::Endless,
            too_large(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "nested 60000 deep",
            Send::Body(nested_cbor(60_000)),
            bad_batch(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "array declaring 2^32 items",
            Send::Body(vec![0x9b, 0, 0, 0, 1, 0, 0, 0, 0]),
            bad_batch(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "8 MiB of tiny items",
            Send::Body(tiny_items((8 << 20) - 16)),
            // Over the 1024-claim limit, said before decoding them.
            too_large(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "1024 tiny items",
            Send::Body(tiny_items(1024)),
            bad_batch(),
        ),
        (
            "/v1/claims/batch",
            cbor,
            "trailing bytes after the array",
            Send::Body([&tiny_items(1)[..], &[0x00][..]].concat()),
            bad_batch(),
        ),
    ];
    let client = LogClient::new(&log.url).expect("client");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let before = rt.block_on(client.checkpoint()).expect("checkpoint");
    run_table("log", &addr, log.pid().expect("pid"), cases);
    assert_eq!(
        rt.block_on(client.checkpoint()).expect("checkpoint"),
        before,
        "no rejected request changed the log"
    );
}

#[test]
fn every_monitor_post_endpoint_bounds_its_body_before_allocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_key = provlog_core::note::NoteSigner::generate("m.example/log").expect("key");
    let mon = MonitorProcess::start(
        &dir.path().join("m"),
        &format!(
            "[connections]\nbody_timeout_ms = 5000\n[[log]]\nurl = \"http://127.0.0.1:9\"\nvkey = \"{}\"\npoll_interval_ms = 3600000\n",
            log_key.verifier_key()
        ),
    );
    let addr = mon.url.trim_start_matches("http://").to_string();
    let text = "text/plain";
    let json = "application/json";
    let too_large = || expect(&[413], None);
    let bad = || expect(&[400], None);
    let proof_line = format!("{}\n", "A".repeat(43) + "=");
    let many_proof_lines = format!("old 1\n{}\n", proof_line.repeat(1500));
    let deep_json = format!(
        "{{\"checkpoints\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let tiny_strings = {
        let n = (8 << 20) / 3 - 16;
        let mut s = String::with_capacity(8 << 20);
        s.push_str("{\"checkpoints\":[\"\"");
        for _ in 1..n {
            s.push_str(",\"\"");
        }
        s.push_str("]}");
        s
    };
    let cases = vec![
        (
            "/add-checkpoint",
            text,
            "declared 1 MiB",
            Send::Declared(1 << 20),
            too_large(),
        ),
        (
            "/add-checkpoint",
            text,
            "declared 2^63",
            Send::Declared(1 << 63),
            too_large(),
        ),
        (
            "/add-checkpoint",
            text,
            "endless chunked body",
            Send::Endless,
            too_large(),
        ),
        (
            "/add-checkpoint",
            text,
            "1500 proof lines",
            Send::Body(many_proof_lines.into_bytes()),
            bad(),
        ),
        (
            "/add-checkpoint",
            text,
            "60000 empty lines",
            Send::Body(format!("old 0\n{}", "\n".repeat(60_000)).into_bytes()),
            bad(),
        ),
        (
            "/v1/gossip",
            json,
            "declared 9 MiB",
            Send::Declared(9 << 20),
            too_large(),
        ),
        (
            "/v1/gossip",
            json,
            "declared 2^63",
            Send::Declared(1 << 63),
            too_large(),
        ),
        (
            "/v1/gossip",
            json,
            "endless chunked body",
            Send::Endless,
            too_large(),
        ),
        (
            "/v1/gossip",
            json,
            "nested 100000 deep",
            Send::Body(deep_json.into_bytes()),
            expect(&[400, 422], None),
        ),
        (
            "/v1/gossip",
            json,
            "8 MiB of tiny strings",
            Send::Body(tiny_strings.into_bytes()),
            // Refused (too many checkpoints), or answered: bounded either way.
            expect(&[200, 400, 413, 422, 429], None),
        ),
    ];
    run_table("monitor", &addr, mon.pid().expect("pid"), cases);
}

/// Opens `n` connections to `addr` that each start a request and never
/// finish its headers.
fn slow_headers(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| {
            let mut s = TcpStream::connect(addr).ok()?;
            s.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .ok()?;
            Some(s)
        })
        .collect()
}

#[test]
fn slow_header_connections_do_not_lock_out_normal_clients() {
    // The review's setup: 371 slow-header connections against a server
    // whose open-files limit is 256. With the cap below the fd limit, the
    // server closes the oldest idle connections to make room, and a normal
    // client is answered on its first try.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start_with_fd_limit(
        dir.path(),
        &[
            "--max-connections",
            "64",
            "--header-read-timeout-ms",
            "5000",
        ],
        256,
    );
    let addr = log.url.trim_start_matches("http://").to_string();
    let held = slow_headers(&addr, 371);
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let client = LogClient::with_timeout(&log.url, Duration::from_secs(10)).expect("client");
    let started = Instant::now();
    let got = rt.block_on(client.checkpoint());
    assert!(got.is_ok(), "a normal client was locked out: {got:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(held);

    // The monitor, through the same plumbing, with its limits from the
    // config file's [connections] table.
    let mdir = tempfile::tempdir().expect("tempdir");
    let mon = MonitorProcess::start(
        &mdir.path().join("m"),
        "[connections]\nmax_connections = 16\nheader_read_timeout_ms = 5000\n",
    );
    let maddr = mon.url.trim_start_matches("http://").to_string();
    let held = slow_headers(&maddr, 100);
    let health = rt.block_on(async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
            .get(format!("{}/healthz", mon.url))
            .send()
            .await
    });
    assert!(
        health.as_ref().is_ok_and(|r| r.status().is_success()),
        "the monitor answered a normal client: {health:?}"
    );
    drop(held);
}
