//! The log server's HTTP surface, walked as a client sees it:
//!
//! - every log route with malformed paths, queries, bodies and methods
//!   answers an RFC 9457 `application/problem+json` document whose
//!   `status` is the response's (no text/plain rejections, no empty 405);
//! - one canonical form per path: percent-encoded or signed numbers in
//!   tile and entry paths are refused, not decoded into an alias;
//! - entry bundles are gzip-compressed when the client accepts gzip (full
//!   bundles; `Vary: Accept-Encoding` on every bundle), and never without
//!   `Accept-Encoding`; the decompressed bytes are the raw bundle;
//! - the 2026 checkpoint form (Ed25519, the log's timestamp cosignature,
//!   ML-DSA-44; no extension lines) verifies with either log key and its
//!   log time never decreases across a restart.

use std::io::Read as _;

use provlog_client::http::LogClient;
use provlog_core::checkpoint::{verify_checkpoint, verify_checkpoint_keys};
use provlog_core::note::VerifierKey;
use provlog_core::tiles::decode_bundle;
use provlog_e2e::{LogProcess, Vendor, bin};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use reqwest::{Method, StatusCode};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// reqwest here has no decompression feature: bodies arrive as sent.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn header(r: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Starts a log and logs `n` claims.
fn log_with(n: u64, dir: &std::path::Path) -> (LogProcess, Vec<Vec<u8>>) {
    let log = LogProcess::start(dir, &["--batch-interval-ms", "20"]);
    let vendor = Vendor::new("vendor.example");
    let claims: Vec<Vec<u8>> = (0..n).map(|i| vendor.claim(i)).collect();
    rt().block_on(async {
        let client = LogClient::new(&log.url).expect("client");
        for chunk in claims.chunks(200) {
            client.submit_batch(chunk).await.expect("submit");
        }
    });
    (log, claims)
}

/// (method, path and query, content type, body, expected status)
type Case = (Method, String, Option<&'static str>, Vec<u8>, u16);

#[test]
fn every_error_is_a_problem_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = log_with(3, dir.path());
    let c = http();
    let big = "x".repeat(20_000);
    // (method, path and query, content type, body, expected status)
    let cases: Vec<Case> = vec![
        // Unknown paths.
        (Method::GET, "/nope".into(), None, vec![], 404),
        (Method::GET, "/v1/entries/".into(), None, vec![], 404),
        (Method::GET, "/v1/entries/0/x".into(), None, vec![], 404),
        // Tile paths: strict, not percent-decoded.
        (
            Method::GET,
            "/tile/0/%30%30%30.p/3".into(),
            None,
            vec![],
            404,
        ),
        (Method::GET, "/tile/0/000.p/%33".into(), None, vec![], 404),
        (
            Method::GET,
            "/tile/entries/%30%30%30.p/3".into(),
            None,
            vec![],
            404,
        ),
        (Method::GET, "/tile/0/0.p/3".into(), None, vec![], 404),
        (Method::GET, "/tile/0/000.p/4".into(), None, vec![], 404),
        (Method::GET, "/tile/0/000.p/03".into(), None, vec![], 404),
        (Method::GET, "/tile/01/000.p/3".into(), None, vec![], 404),
        (Method::GET, "/tile/0/x001/000".into(), None, vec![], 404),
        (Method::GET, "/tile/%2e%2e/000".into(), None, vec![], 404),
        // Entry indexes: canonical decimal only.
        (Method::GET, "/v1/entries/+0".into(), None, vec![], 400),
        (Method::GET, "/v1/entries/00".into(), None, vec![], 400),
        (Method::GET, "/v1/entries/%30".into(), None, vec![], 400),
        (Method::GET, "/v1/entries/-1".into(), None, vec![], 400),
        (Method::GET, "/v1/entries/0x1".into(), None, vec![], 400),
        (
            Method::GET,
            "/v1/entries/18446744073709551616".into(),
            None,
            vec![],
            400,
        ),
        (Method::GET, "/v1/entries/3".into(), None, vec![], 404),
        (Method::GET, "/entry/%30".into(), None, vec![], 404),
        (Method::GET, "/entry/+1".into(), None, vec![], 404),
        // Queries.
        (
            Method::GET,
            "/v1/proof/inclusion?index=+0".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/proof/inclusion?index=0&size=03".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/proof/inclusion?index=0&index=1".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/proof/inclusion?index=9".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/proof/inclusion?hash=zz".into(),
            None,
            vec![],
            400,
        ),
        (Method::GET, "/v1/proof/inclusion".into(), None, vec![], 400),
        (
            Method::GET,
            "/v1/proof/consistency?old=1&new=%2B2".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/proof/consistency?old=1&old=2".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/proof/consistency".into(),
            None,
            vec![],
            400,
        ),
        (Method::GET, "/v1/lookup?asset=zz".into(), None, vec![], 400),
        (
            Method::GET,
            "/v1/lookup?asset=a&asset=b".into(),
            None,
            vec![],
            400,
        ),
        (Method::GET, "/v1/lookup".into(), None, vec![], 400),
        (
            Method::GET,
            "/v1/lookup/hard-binding?hash=zz".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/v1/lookup/hard-binding?hash=a&hash=b".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/matches/byBinding?alg=a&value=b&maxResults=x".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::GET,
            "/matches/byBinding?alg=a&alg=b".into(),
            None,
            vec![],
            400,
        ),
        (
            Method::POST,
            "/matches/byBinding".into(),
            Some("application/json"),
            b"{not json".to_vec(),
            400,
        ),
        // Bodies: size is checked before the content type.
        (
            Method::POST,
            "/v1/claims".into(),
            Some("text/plain"),
            b"x".to_vec(),
            415,
        ),
        (
            Method::POST,
            "/v1/claims".into(),
            Some("text/plain"),
            big.clone().into_bytes(),
            413,
        ),
        (
            Method::POST,
            "/v1/claims".into(),
            Some("application/cose"),
            b"x".to_vec(),
            400,
        ),
        (
            Method::POST,
            "/v1/claims/batch".into(),
            Some("application/cose"),
            b"x".to_vec(),
            415,
        ),
        (
            Method::POST,
            "/v1/claims/batch".into(),
            Some("application/cbor"),
            b"\x80".to_vec(),
            400,
        ),
        // Methods.
        (Method::DELETE, "/checkpoint".into(), None, vec![], 405),
        (Method::POST, "/checkpoint".into(), None, vec![], 405),
        (Method::POST, "/tile/0/000.p/3".into(), None, vec![], 405),
        (Method::GET, "/v1/claims".into(), None, vec![], 405),
        (Method::PUT, "/v1/claims/batch".into(), None, vec![], 405),
        (Method::POST, "/v1/entries/0".into(), None, vec![], 405),
        (Method::POST, "/v1/lookup".into(), None, vec![], 405),
        (
            Method::POST,
            "/v1/proof/inclusion".into(),
            None,
            vec![],
            405,
        ),
        (
            Method::PATCH,
            "/v1/proof/consistency".into(),
            None,
            vec![],
            405,
        ),
        (Method::POST, "/healthz".into(), None, vec![], 405),
        (Method::POST, "/metrics".into(), None, vec![], 405),
        (Method::POST, "/v1/log".into(), None, vec![], 405),
        (Method::POST, "/".into(), None, vec![], 405),
        (
            Method::DELETE,
            "/services/supportedAlgorithms".into(),
            None,
            vec![],
            405,
        ),
        (Method::PUT, "/matches/byContent".into(), None, vec![], 405),
    ];
    rt().block_on(async {
        for (method, path, ctype, body, want) in cases {
            let mut req = c.request(method.clone(), format!("{}{path}", log.url));
            if let Some(t) = ctype {
                req = req.header(CONTENT_TYPE, t);
            }
            let r = req.body(body).send().await.expect("send");
            let what = format!("{method} {path}");
            assert_eq!(r.status().as_u16(), want, "{what}");
            let allow = header(&r, reqwest::header::ALLOW);
            assert_eq!(
                header(&r, CONTENT_TYPE),
                "application/problem+json",
                "{what}"
            );
            let v: serde_json::Value = r.json().await.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(v["status"], want, "{what}: {v}");
            assert!(
                v["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("urn:provlog:problem:")),
                "{what}: {v}"
            );
            assert!(v["title"].is_string(), "{what}: {v}");
            assert!(
                v["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: {v}"
            );
            if want == 405 {
                assert!(!allow.is_empty(), "{what}: 405 keeps Allow");
                assert_eq!(v["type"], "urn:provlog:problem:method-not-allowed");
            }
        }
        // The canonical forms of the aliases above are served.
        for ok in [
            "/tile/0/000.p/3",
            "/tile/entries/000.p/3",
            "/v1/entries/0",
            "/entry/0",
        ] {
            let r = c
                .get(format!("{}{ok}", log.url))
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), StatusCode::OK, "{ok}");
        }
    });
    assert!(log.stop());
}

#[test]
fn entry_bundles_are_gzipped_when_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, claims) = log_with(300, dir.path());
    let c = http();
    rt().block_on(async {
        let get = |path: &'static str, accept: Option<&'static str>| {
            let mut req = c.get(format!("{}{path}", log.url));
            if let Some(a) = accept {
                req = req.header(ACCEPT_ENCODING, a);
            }
            req.send()
        };
        // Full bundle, no Accept-Encoding: raw, and says it varies.
        let r = get("/tile/entries/000", None).await.expect("raw");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, CONTENT_ENCODING), "");
        assert!(header(&r, VARY).eq_ignore_ascii_case("accept-encoding"));
        let raw = r.bytes().await.expect("body").to_vec();
        let entries = decode_bundle(&raw).expect("a full bundle");
        assert_eq!(entries.len(), 256);
        assert!(
            entries
                .iter()
                .zip(&claims[..256])
                .all(|(a, b)| *a == &b[..])
        );
        // Identity only, or gzip refused: raw.
        for a in ["identity", "gzip;q=0", "br"] {
            let r = get("/tile/entries/000", Some(a)).await.expect("raw");
            assert_eq!(header(&r, CONTENT_ENCODING), "", "{a}");
            assert_eq!(r.bytes().await.expect("body").to_vec(), raw, "{a}");
        }
        // Accepting gzip: compressed, decompresses to the raw bytes, and the
        // same compressed bytes each time (compressed once, cached).
        let mut first = None;
        for a in ["gzip", "br, gzip;q=0.8", "*"] {
            let r = get("/tile/entries/000", Some(a)).await.expect("gzip");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(header(&r, CONTENT_ENCODING), "gzip", "{a}");
            assert!(header(&r, VARY).eq_ignore_ascii_case("accept-encoding"));
            let gz = r.bytes().await.expect("body").to_vec();
            assert!(gz.len() < raw.len(), "compressed");
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .expect("valid gzip");
            assert_eq!(out, raw, "{a}");
            assert_eq!(first.get_or_insert(gz.clone()), &gz);
        }
        // A partial bundle: raw even when gzip is accepted, still Vary.
        let r = get("/tile/entries/001.p/44", Some("gzip"))
            .await
            .expect("partial");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, CONTENT_ENCODING), "");
        assert!(header(&r, VARY).eq_ignore_ascii_case("accept-encoding"));
        let part = r.bytes().await.expect("body").to_vec();
        let part = decode_bundle(&part).expect("partial");
        assert_eq!(part.len(), 44);
        assert!(part.iter().zip(&claims[256..]).all(|(a, b)| *a == &b[..]));
        // Hash tiles are never compressed.
        let r = get("/tile/0/000", Some("gzip")).await.expect("tile");
        assert_eq!(header(&r, CONTENT_ENCODING), "");
        assert_eq!(r.bytes().await.expect("body").len(), 256 * 32);
    });
    assert!(log.stop());
}

#[test]
fn checkpoints_carry_log_time_and_ml_dsa_and_time_never_decreases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = log_with(2, dir.path());
    let out = std::process::Command::new(bin("provlog-server"))
        .args(["vkey", "--all", "--data"])
        .arg(dir.path())
        .output()
        .expect("vkey");
    let keys: Vec<VerifierKey> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| VerifierKey::parse(l).expect("vkey"))
        .collect();
    assert_eq!(keys.len(), 2);
    // Without --all: the Ed25519 key alone (what `--log-key` takes);
    // --ml-dsa: the ML-DSA-44 key alone.
    for (flag, want) in [(None, &keys[0]), (Some("--ml-dsa"), &keys[1])] {
        let out = std::process::Command::new(bin("provlog-server"))
            .arg("vkey")
            .args(flag)
            .arg("--data")
            .arg(dir.path())
            .output()
            .expect("vkey");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}\n", want.to_vkey())
        );
    }
    let fetch = |url: &str| {
        rt().block_on(async {
            LogClient::new(url)
                .expect("client")
                .checkpoint()
                .await
                .expect("checkpoint")
        })
    };
    let note = fetch(&log.url);
    let both = verify_checkpoint_keys(&note, &keys).expect("both log keys sign");
    assert!(both.checkpoint.extensions.is_empty(), "no extension lines");
    let t1 = both.log_time_ms().expect("log time");
    assert_eq!(t1 % 1000, 0, "whole seconds");
    assert!(!both.log_time.expect("time").legacy_extension_line);
    // Ed25519 alone (what every existing verifier and witness knows), and
    // ML-DSA-44 alone, each verify and give the same time.
    for k in &keys {
        let v = verify_checkpoint(&note, k).expect("one key verifies");
        assert_eq!(v.log_time_ms(), Some(t1));
    }
    // The key files are private.
    for f in ["log.key", "log-mldsa.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(f))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    assert!(log.stop());
    // Restart: same keys, and the time does not go back.
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "20"]);
    assert_eq!(log.vkey, keys[0].to_vkey());
    let vendor = Vendor::new("vendor.example");
    rt().block_on(async {
        LogClient::new(&log.url)
            .expect("client")
            .submit(&vendor.claim(99))
            .await
            .expect("submit");
    });
    let note = fetch(&log.url);
    let v = verify_checkpoint_keys(&note, &keys).expect("both keys after restart");
    assert_eq!(v.checkpoint.size, 3);
    assert!(v.log_time_ms().expect("time") >= t1);
    assert!(log.stop());
}
