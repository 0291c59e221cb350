//! SCITT SCRAPI against a running `provlog-server`, as an unmodified
//! SCRAPI client uses it: register a signed statement (`POST /entries`),
//! fetch its receipt (`GET /entries/<id>`), get the log's keys
//! (`/.well-known/scitt-keys`) and verify the receipt, with provlog's code
//! and independently with pycose (`tests/scrapi/verify_receipt.py`; needs
//! `pip install pycose 'cbor2<6' dilithium-py`, which `.ci/run` installs).
//! Also every receipt of an entry (`GET /entries/<id>/receipts`: Ed25519
//! and ML-DSA-44, the latter verified by dilithium-py), the pending flow
//! (303 / 302 + Retry-After) and concise-problem errors.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use provlog_core::cose::{CoseSigner, cose_key, cose_key_set, key_thumbprint};
use provlog_core::hash::leaf_hash;
use provlog_core::note::VerifierKey;
use provlog_core::scitt::{CoseReceipt, TransparentStatement};
use provlog_core::signed_claim::SignedClaim;
use provlog_e2e::{LogProcess, Vendor, bin, sample_claim};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};

const CONCISE: &str = "application/concise-problem-details+cbor";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A client that follows no redirects (SCRAPI's 303/302 are checked).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The log's keys as `provlog-server vkey` prints them: Ed25519, ML-DSA-44.
fn log_keys(log: &LogProcess) -> Vec<VerifierKey> {
    let out = Command::new(bin("provlog-server"))
        .args(["vkey", "--all", "--data"])
        .arg(&log.data)
        .output()
        .expect("run provlog-server vkey");
    assert!(out.status.success(), "vkey failed");
    let keys: Vec<VerifierKey> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| VerifierKey::parse(l).expect("vkey line"))
        .collect();
    assert_eq!(keys.len(), 2, "Ed25519 and ML-DSA-44 vkeys");
    assert_eq!(keys[0].to_vkey(), log.vkey);
    assert_eq!(keys[0].key_type(), 0x01);
    assert_eq!(keys[1].key_type(), 0x06);
    keys
}

/// A statement-form signed claim (CWT claims iss/sub) by `v`.
fn statement(v: &Vendor, i: u64) -> Vec<u8> {
    let claim = sample_claim(format!("scrapi asset {i}").as_bytes(), i);
    SignedClaim::sign_statement(&claim, CoseSigner::Ed25519(v.signer.signing_key()), &v.vkey)
        .expect("sign statement")
        .to_bytes()
        .to_vec()
}

fn header(r: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Decodes a concise problem details body: (title, detail).
fn concise(body: &[u8]) -> (String, String) {
    let v: ciborium::Value = ciborium::from_reader(body).expect("concise problem is CBOR");
    let map = v.as_map().expect("a map");
    let get = |k: i64| {
        map.iter()
            .find(|(key, _)| key.as_integer() == Some(k.into()))
            .and_then(|(_, v)| v.as_text())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    (get(-1), get(-2))
}

/// Runs the independent checker; `by` is what it must say verified the
/// signature ("pycose" for EdDSA, "dilithium-py" for ML-DSA-44).
fn independently_verifies(statement: &[u8], receipt: &[u8], keyset: &[u8], origin: &str, by: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: Vec<PathBuf> = [
        ("s.cose", statement),
        ("r.cose", receipt),
        ("k.cbor", keyset),
    ]
    .iter()
    .map(|(n, b)| {
        let p = dir.path().join(n);
        std::fs::write(&p, b).expect("write");
        p
    })
    .collect();
    let script = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scrapi/verify_receipt.py"
    ));
    let out = Command::new("python3")
        .arg(&script)
        .args(&files)
        .arg(origin)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); pip install pycose 'cbor2<6' dilithium-py")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("receipt verified by {by}")),
        "{by} did not verify the receipt (pip install pycose 'cbor2<6' dilithium-py):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scrapi_register_fetch_receipt_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "20"]);
    let keys = log_keys(&log);
    let origin = keys[0].name().to_owned();
    let vendor = Vendor::new("vendor.example");
    let c = http();
    rt().block_on(async {
        // The key set and each key by its kid.
        let r = c
            .get(format!("{}/.well-known/scitt-keys", log.url))
            .send()
            .await
            .expect("keys");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, CONTENT_TYPE), "application/cbor");
        let keyset = r.bytes().await.expect("body").to_vec();
        assert_eq!(keyset, cose_key_set(&keys));
        for k in &keys {
            use base64::Engine as _;
            let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key_thumbprint(k));
            let r = c
                .get(format!("{}/.well-known/scitt-keys/{kid}", log.url))
                .send()
                .await
                .expect("key");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.bytes().await.expect("body").to_vec(), cose_key(k));
        }

        // Both signed-claim forms register; each receipt verifies.
        let forms = [
            statement(&vendor, 1),
            vendor.claim(2),
            statement(&vendor, 3),
        ];
        for (i, s) in forms.iter().enumerate() {
            let r = c
                .post(format!("{}/entries", log.url))
                .header(CONTENT_TYPE, "application/cose")
                .body(s.clone())
                .send()
                .await
                .expect("register");
            assert_eq!(r.status(), StatusCode::CREATED, "statement {i}");
            assert_eq!(header(&r, CONTENT_TYPE), "application/cose");
            let location = header(&r, LOCATION).to_owned();
            assert_eq!(location, format!("/entries/{}", hex::encode(leaf_hash(s))));
            let body = r.bytes().await.expect("receipt").to_vec();
            let receipt = CoseReceipt::from_bytes(&body).expect("RFC 9942 receipt");
            let v = receipt.verify(s, &keys).expect("receipt verifies");
            assert_eq!(v.leaf_index, i as u64);
            assert_eq!(v.key, keys[0]);
            assert!(v.iat.is_some_and(|t| t > 1_700_000_000), "iat = log time");
            // Tampered statement: the receipt no longer verifies.
            let mut bad = s.clone();
            let n = bad.len();
            bad[n - 1] ^= 1;
            assert!(receipt.verify(&bad, &keys).is_err());

            // Fetch it again by its id.
            let r = c
                .get(format!("{}{location}", log.url))
                .send()
                .await
                .expect("get entry");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(header(&r, CONTENT_TYPE), "application/cose");
            let again = r.bytes().await.expect("receipt").to_vec();
            let receipt = CoseReceipt::from_bytes(&again).expect("receipt");
            receipt.verify(s, &keys).expect("fetched receipt verifies");
            // A transparent statement made of it verifies too.
            let claim = SignedClaim::from_bytes(s).expect("claim");
            TransparentStatement::new(&claim, std::slice::from_ref(&receipt))
                .expect("transparent statement")
                .verify(&keys)
                .expect("transparent statement verifies");
            independently_verifies(s, &again, &keyset, &origin, "pycose");

            // Every receipt: one per log key, Ed25519 first (the array a
            // transparent statement carries in header 394).
            let r = c
                .get(format!("{}{location}/receipts", log.url))
                .send()
                .await
                .expect("get receipts");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(header(&r, CONTENT_TYPE), "application/cbor");
            let all = r.bytes().await.expect("receipts").to_vec();
            let list: Vec<Vec<u8>> = match ciborium::from_reader(&all[..]).expect("CBOR") {
                ciborium::Value::Array(items) => items
                    .into_iter()
                    .map(|v| v.into_bytes().expect("a bstr receipt"))
                    .collect(),
                other => panic!("not an array: {other:?}"),
            };
            assert_eq!(list.len(), 2, "one receipt per log key");
            assert_eq!(list[0], again, "the Ed25519 one first, as SCRAPI answers");
            let pq = CoseReceipt::from_bytes(&list[1]).expect("ML-DSA-44 receipt");
            let v = pq.verify(s, &keys).expect("ML-DSA-44 receipt verifies");
            assert_eq!((v.key.key_type(), v.leaf_index), (0x06, i as u64));
            assert!(pq.verify(&bad, &keys).is_err());
            independently_verifies(s, &list[1], &keyset, &origin, "dilithium-py");
            let both = TransparentStatement::new(&claim, &[receipt.clone(), pq])
                .expect("transparent statement with both receipts");
            assert_eq!(both.verify(&keys).expect("verifies").receipts.len(), 2);
            // With only the ML-DSA-44 key trusted, its receipt alone counts.
            let v = both.verify(&keys[1..]).expect("verifies with the PQ key");
            assert_eq!(v.receipts.len(), 1);
        }

        // Registering the same statement again: same entry, a receipt.
        let r = c
            .post(format!("{}/entries", log.url))
            .header(CONTENT_TYPE, "application/cose")
            .body(forms[0].clone())
            .send()
            .await
            .expect("register again");
        assert_eq!(r.status(), StatusCode::CREATED);
        let receipt = CoseReceipt::from_bytes(&r.bytes().await.expect("body")).expect("receipt");
        assert_eq!(receipt.leaf_index(), 0);
        let cp: serde_json::Value = c
            .get(format!("{}/healthz", log.url))
            .send()
            .await
            .expect("healthz")
            .json()
            .await
            .expect("json");
        assert_eq!(cp["tree_size"], 3);
    });
    assert!(log.stop());
}

#[test]
fn scrapi_pending_then_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A batch waits 5 s, longer than POST /entries waits (2 s): pending.
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "5000"]);
    let keys = log_keys(&log);
    let vendor = Vendor::new("vendor.example");
    let s = statement(&vendor, 7);
    let c = http();
    rt().block_on(async {
        let r = c
            .post(format!("{}/entries", log.url))
            .header(CONTENT_TYPE, "application/cose")
            .body(s.clone())
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = header(&r, LOCATION).to_owned();
        assert_eq!(location, format!("/entries/{}", hex::encode(leaf_hash(&s))));
        assert_eq!(header(&r, RETRY_AFTER), "1");
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut saw_pending = false;
        let receipt = loop {
            let r = c
                .get(format!("{}{location}", log.url))
                .send()
                .await
                .expect("poll");
            match r.status() {
                StatusCode::FOUND => {
                    saw_pending = true;
                    assert_eq!(header(&r, LOCATION), location);
                    assert_eq!(header(&r, RETRY_AFTER), "1");
                }
                StatusCode::OK => break r.bytes().await.expect("receipt").to_vec(),
                other => panic!("unexpected {other} while pending"),
            }
            assert!(Instant::now() < deadline, "never committed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(saw_pending, "the first poll comes before the 5 s batch");
        CoseReceipt::from_bytes(&receipt)
            .expect("receipt")
            .verify(&s, &keys)
            .expect("verifies");
    });
    assert!(log.stop());
}

#[test]
fn scrapi_errors_are_concise_problem_details() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(dir.path(), &[]);
    let vendor = Vendor::new("vendor.example");
    let c = http();
    rt().block_on(async {
        let url = |p: &str| format!("{}{p}", log.url);
        let big = vec![0u8; 17 * 1024];
        let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
            (
                c.post(url("/entries"))
                    .header(CONTENT_TYPE, "application/cbor")
                    .body(statement(&vendor, 1)),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
            ),
            (
                c.post(url("/entries"))
                    .header(CONTENT_TYPE, "application/cose")
                    .body(b"not cose".to_vec()),
                StatusCode::BAD_REQUEST,
                "Invalid Statement",
            ),
            (
                c.post(url("/entries"))
                    .header(CONTENT_TYPE, "application/cose"),
                StatusCode::BAD_REQUEST,
                "Payload Missing",
            ),
            (
                // Body size is checked before the content type.
                c.post(url("/entries"))
                    .header(CONTENT_TYPE, "text/plain")
                    .body(big),
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
            ),
            (
                c.get(url(&format!("/entries/{}", "00".repeat(32)))),
                StatusCode::NOT_FOUND,
                "Not Found",
            ),
            (
                c.get(url(&format!("/entries/{}", "AB".repeat(32)))),
                StatusCode::NOT_FOUND,
                "Not Found",
            ),
            (
                c.get(url("/entries/%30")),
                StatusCode::NOT_FOUND,
                "Not Found",
            ),
            (
                c.get(url("/entries/a/b")),
                StatusCode::NOT_FOUND,
                "Not Found",
            ),
            (
                c.get(url("/.well-known/scitt-keys/AAAA")),
                StatusCode::NOT_FOUND,
                "Not Found",
            ),
            (
                c.get(url("/entries")),
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
            ),
            (
                c.delete(url("/.well-known/scitt-keys")),
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
            ),
        ];
        for (i, (req, status, title)) in cases.into_iter().enumerate() {
            let r = req.send().await.expect("send");
            assert_eq!(r.status(), status, "case {i}");
            assert_eq!(header(&r, CONTENT_TYPE), CONCISE, "case {i}");
            let (t, detail) = concise(&r.bytes().await.expect("body"));
            assert_eq!(t, title, "case {i}");
            assert!(!detail.is_empty(), "case {i}: a detail");
        }
        // A bad signature: a valid statement with a flipped signature byte.
        let mut s = statement(&vendor, 9);
        let n = s.len();
        s[n - 1] ^= 1;
        let r = c
            .post(url("/entries"))
            .header(CONTENT_TYPE, "application/cose")
            .body(s)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(concise(&r.bytes().await.expect("body")).0, "Bad Signature");
    });
    assert!(log.stop());
}

/// `provlog submit --scitt` registers over SCRAPI and writes FILE.scitt (a
/// transparent statement with both receipts); `provlog verify` accepts it,
/// prints the log time, and agrees with `--json`; a tampered file, a wrong
/// log key, and a policy demanding real witnesses do not verify.
#[test]
fn provlog_submit_scitt_writes_a_transparent_statement_that_verify_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(&dir.path().join("log"), &["--batch-interval-ms", "20"]);
    let keys = log_keys(&log);
    let key = dir.path().join("vendor.key");
    let run = provlog_e2e::provlog([
        "keygen",
        "--out",
        key.to_str().expect("path"),
        "--name",
        "vendor.example",
    ]);
    assert!(run.ok(), "{run:?}");
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).expect("mkdir");
    let files: Vec<PathBuf> = (0..2)
        .map(|i| {
            let p = media.join(format!("picture-{i}.bin"));
            std::fs::write(&p, format!("scitt picture {i}")).expect("write");
            p
        })
        .collect();
    let s = |p: &std::path::Path| p.to_str().expect("path").to_owned();
    let run = provlog_e2e::provlog([
        "submit".to_owned(),
        "--scitt".into(),
        "--log".into(),
        log.url.clone(),
        "--key".into(),
        s(&key),
        "--log-key".into(),
        log.vkey.clone(),
        "--generator".into(),
        "Example AI/imagegen/2.1".into(),
        "--disclosure".into(),
        "label".into(),
        s(&media),
    ]);
    assert!(run.ok(), "{run:?}");
    assert_eq!(run.stdout.matches("(2 receipts)").count(), 2, "{run:?}");
    for f in &files {
        let ts_path = PathBuf::from(format!("{}.scitt", f.display()));
        assert!(!PathBuf::from(format!("{}.provlog", f.display())).exists());
        let ts = TransparentStatement::from_bytes(&std::fs::read(&ts_path).expect("read"))
            .expect("a transparent statement");
        assert_eq!(ts.receipts().len(), 2);
        let v = ts.verify(&keys).expect("verifies with both log keys");
        let algs: Vec<u8> = v.receipts.iter().map(|r| r.key.key_type()).collect();
        assert_eq!(algs, vec![0x01, 0x06]);
        assert!(
            v.statement.statement_claims().is_some(),
            "registered in the statement form (CWT claims)"
        );
        // The human verdict names the format and the log time.
        let run = provlog_e2e::provlog(["verify", &s(f), "--log-key", &log.vkey]);
        assert!(run.ok(), "{run:?}");
        assert!(
            run.stdout.contains(&format!("VERIFIED {}", f.display())),
            "{run:?}"
        );
        assert!(
            run.stdout
                .contains("SCITT transparent statement, COSE receipts verified: Ed25519"),
            "{run:?}"
        );
        assert!(
            run.stdout.contains(" signed at 20"),
            "the log time: {run:?}"
        );
        // --json says the same.
        let run = provlog_e2e::provlog(["verify", &s(f), "--log-key", &log.vkey, "--json"]);
        assert!(run.ok(), "{run:?}");
        let j: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
        assert_eq!(j["verified"], true);
        assert_eq!(j["receipt_format"], "scitt-transparent-statement");
        assert_eq!(j["index"], v.receipts[0].leaf_index);
        assert_eq!(j["checkpoint"]["size"], v.receipts[0].tree_size);
        let iat = v.receipts[0].iat.expect("iat");
        assert_eq!(j["checkpoint"]["timestamp_ms"], iat * 1000);
    }
    // Only the ML-DSA-44 key trusted: its receipt alone suffices.
    let pq_policy = dir.path().join("pq.policy");
    std::fs::write(&pq_policy, format!("log {}\nquorum none\n", keys[1])).expect("policy");
    let run = provlog_e2e::provlog(["verify", &s(&files[0]), "--policy", &s(&pq_policy)]);
    assert!(run.ok(), "{run:?}");
    assert!(
        run.stdout.contains("COSE receipts verified: ML-DSA-44"),
        "{run:?}"
    );
    // Both algorithms demanded (policy.md §6): met by the two receipts.
    let both = dir.path().join("both.policy");
    std::fs::write(
        &both,
        format!(
            "log {}\nwitness log-pq {}\nquorum log-pq\n",
            keys[0], keys[1]
        ),
    )
    .expect("policy");
    let run = provlog_e2e::provlog(["verify", &s(&files[0]), "--policy", &s(&both)]);
    assert!(run.ok(), "{run:?}");
    // A real witness demanded: COSE receipts carry no cosignatures.
    let witness = provlog_core::note::NoteSigner::generate_cosigner("w.example")
        .expect("key")
        .verifier_key();
    let witnessed = dir.path().join("witnessed.policy");
    std::fs::write(
        &witnessed,
        format!("log {}\nwitness w {witness}\nquorum w\n", keys[0]),
    )
    .expect("policy");
    let run = provlog_e2e::provlog(["verify", &s(&files[0]), "--policy", &s(&witnessed)]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("no witness cosignatures"), "{run:?}");
    // A changed file does not match its statement.
    std::fs::write(&files[1], "scitt picture 1, edited").expect("write");
    let run = provlog_e2e::provlog(["verify", &s(&files[1]), "--log-key", &log.vkey]);
    assert_eq!(run.code, Some(1), "{run:?}");
    // Another log's key: the receipts are not by a trusted key.
    let other = provlog_core::note::NoteSigner::generate(keys[0].name())
        .expect("key")
        .verifier_key()
        .to_vkey();
    let run = provlog_e2e::provlog(["verify", &s(&files[0]), "--log-key", &other]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("transparent statement"), "{run:?}");
    // A .provlog receipt of this log (checkpoints without a legacy
    // `timestamp` line) also shows the log's time, from its signature.
    let plain = dir.path().join("plain.bin");
    std::fs::write(&plain, "a picture submitted the usual way").expect("write");
    let run = provlog_e2e::provlog([
        "submit".to_owned(),
        "--log".into(),
        log.url.clone(),
        "--key".into(),
        s(&key),
        "--log-key".into(),
        log.vkey.clone(),
        "--generator".into(),
        "Example AI/imagegen/2.1".into(),
        s(&plain),
    ]);
    assert!(run.ok(), "{run:?}");
    let run = provlog_e2e::provlog(["verify", &s(&plain), "--log-key", &log.vkey]);
    assert!(run.ok(), "{run:?}");
    assert!(
        run.stdout.contains(" signed at 20"),
        "the log time: {run:?}"
    );
    let run = provlog_e2e::provlog(["verify", &s(&plain), "--log-key", &log.vkey, "--json"]);
    let j: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    assert!(
        j["checkpoint"]["timestamp_ms"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000_000),
        "{j}"
    );
    assert_eq!(j["receipt_format"], "provlog");
    assert!(log.stop());
}
