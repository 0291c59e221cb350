//! End-to-end tests of `provlog-server`: real process, ephemeral port, temp dir.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use provlog_client::http::{HttpError, LogClient};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{Hash, leaf_hash, sha256};
use provlog_core::note::VerifierKey;
use provlog_core::policy::Policy;
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::receipt::Receipt;
use provlog_core::tiles::{Tile, TileLevel, decode_bundle};
use provlog_e2e::{LogProcess, Vendor};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

fn policy(log: &LogProcess) -> Policy {
    Policy::single_log(VerifierKey::parse(&log.vkey).expect("log vkey"))
}

/// Downloads every tile and bundle of a tree of `size`, keyed by (level, index)
/// (`None` level = entry bundle), each at the width the tree implies.
async fn download_tiles(client: &LogClient, size: u64) -> HashMap<(Option<u8>, u64), Vec<u8>> {
    let mut out = HashMap::new();
    let mut level = 0u8;
    loop {
        let nodes = size >> (8 * u32::from(level));
        if nodes == 0 {
            break;
        }
        for index in 0..nodes.div_ceil(256) {
            let width = (nodes - index * 256).min(256) as u16;
            let tile = Tile {
                level: TileLevel::Hash(level),
                index,
                width,
            };
            out.insert(
                (Some(level), index),
                client.tile(&tile).await.expect("hash tile"),
            );
        }
        level += 1;
    }
    for index in 0..size.div_ceil(256) {
        let width = (size - index * 256).min(256) as u16;
        let tile = Tile {
            level: TileLevel::Entries,
            index,
            width,
        };
        out.insert((None, index), client.tile(&tile).await.expect("bundle"));
    }
    out
}

/// tlog_tiles (an independent implementation) reading our served tiles.
struct OracleTiles(HashMap<(Option<u8>, u64), Vec<u8>>);

impl tlog_tiles::TileReader for OracleTiles {
    fn height(&self) -> u8 {
        8
    }
    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let data = self
                    .0
                    .get(&(Some(t.level()), t.level_index()))
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                // The oracle asks for the width it needs; a prefix of ours.
                Ok(data[..t.width() as usize * 32].to_vec())
            })
            .collect()
    }
    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

#[test]
fn ingest_concurrently_and_verify_everything_independently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "20"]);
    let policy = Arc::new(policy(&log));
    let rt = rt();
    let vendors = Arc::new([
        Vendor::new("vendor-a.example"),
        Vendor::new("vendor-b.example"),
    ]);
    let client = LogClient::new(&log.url).expect("client");

    let singles_tasks = 48u64;
    let singles_per_task = 25u64;
    let batches = 10u64;
    let per_batch = 120u64;
    let total = singles_tasks * singles_per_task + batches * per_batch;

    let started = Instant::now();
    let (receipts, mut latencies) = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..singles_tasks {
            let (client, vendors) = (client.clone(), vendors.clone());
            set.spawn(async move {
                let mut out = Vec::new();
                for j in 0..singles_per_task {
                    let n = t * singles_per_task + j;
                    let entry = vendors[(n % 2) as usize].claim(n);
                    let t0 = Instant::now();
                    let r = client.submit(&entry).await.expect("submit");
                    out.push((entry, r, t0.elapsed()));
                }
                out
            });
        }
        for b in 0..batches {
            let (client, vendors) = (client.clone(), vendors.clone());
            set.spawn(async move {
                let base = 1_000_000 + b * per_batch;
                let entries: Vec<Vec<u8>> = (base..base + per_batch)
                    .map(|n| vendors[0].claim(n))
                    .collect();
                let t0 = Instant::now();
                let rs = client.submit_batch(&entries).await.expect("batch");
                let dt = t0.elapsed();
                entries
                    .into_iter()
                    .zip(rs)
                    .map(|(e, r)| (e, r, dt))
                    .collect::<Vec<_>>()
            });
        }
        let mut receipts = Vec::new();
        let mut lat = Vec::new();
        while let Some(r) = set.join_next().await {
            for (entry, receipt, dt) in r.expect("task") {
                receipts.push((entry, receipt));
                lat.push(dt);
            }
        }
        (receipts, lat)
    });
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "ingest: {total} claims in {:.2} s = {:.0} claims/s; receipt latency p50 {:?} p99 {:?} max {:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
    assert_eq!(receipts.len() as u64, total);

    // Every receipt verifies offline, for its own entry; indexes are distinct.
    let mut indexes = BTreeSet::new();
    for (entry, r) in &receipts {
        assert_eq!(&r.entry, entry, "receipt carries the submitted entry");
        r.verify(&policy).expect("receipt verifies");
        assert!(indexes.insert(r.index), "index {} issued twice", r.index);
    }
    assert_eq!(indexes.len() as u64, total);
    assert_eq!(indexes.iter().next_back().copied(), Some(total - 1));

    // The served checkpoint covers everything.
    let note = rt.block_on(client.checkpoint()).expect("checkpoint");
    let cp = verify_checkpoint(&note, &VerifierKey::parse(&log.vkey).expect("vkey"))
        .expect("checkpoint verifies")
        .checkpoint;
    assert_eq!(cp.size, total);

    // tlog_tiles recomputes the root from the served tiles and proves sampled entries.
    let tiles = rt.block_on(download_tiles(&client, cp.size));
    let oracle = OracleTiles(tiles.clone());
    let root = tlog_tiles::Hash(cp.root);
    let reader = tlog_tiles::TileHashReader::new(cp.size, root, &oracle);
    let oracle_root = tlog_tiles::tree_hash(cp.size, &reader).expect("oracle root");
    assert_eq!(
        oracle_root.0, cp.root,
        "tlog_tiles recomputes our root from our tiles"
    );
    let mut bundles: Vec<Vec<u8>> = Vec::new();
    for i in 0..cp.size.div_ceil(256) {
        let data = &tiles[&(None, i)];
        bundles.extend(
            decode_bundle(data)
                .expect("bundle")
                .into_iter()
                .map(<[u8]>::to_vec),
        );
    }
    assert_eq!(bundles.len() as u64, cp.size);
    for idx in (0..cp.size).step_by(97).chain([cp.size - 1]) {
        let entry = &bundles[idx as usize];
        let proof = tlog_tiles::prove_record(cp.size, idx, &reader).expect("oracle proof");
        tlog_tiles::check_record(&proof, cp.size, root, idx, tlog_tiles::record_hash(entry))
            .expect("oracle checks inclusion");
        assert_eq!(tlog_tiles::record_hash(entry).0, leaf_hash(entry));
    }

    // Consistency between an early checkpoint and the final one.
    let early = receipts
        .iter()
        .map(|(_, r)| {
            verify_checkpoint(&r.checkpoint, &VerifierKey::parse(&log.vkey).expect("vkey"))
                .expect("cp")
        })
        .min_by_key(|c| c.checkpoint.size)
        .expect("some receipt")
        .checkpoint;
    let proof = rt
        .block_on(client.consistency_proof(early.size, cp.size))
        .expect("consistency proof");
    verify_consistency(early.size, cp.size, &early.root, &cp.root, &proof).expect("consistent");
    let oracle_proof =
        tlog_tiles::prove_tree(cp.size, early.size, &reader).expect("oracle tree proof");
    tlog_tiles::check_tree(
        &oracle_proof,
        cp.size,
        root,
        early.size,
        tlog_tiles::Hash(early.root),
    )
    .expect("oracle checks consistency");
    assert!(log.stop(), "clean shutdown");
}

#[test]
fn restart_keeps_tree_and_key_and_continues_consistently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vendor = Vendor::new("vendor.example");
    let rt = rt();
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "10"]);
    let vkey = log.vkey.clone();
    let client = LogClient::new(&log.url).expect("client");
    let first: Vec<Vec<u8>> = (0..300).map(|i| vendor.claim(i)).collect();
    rt.block_on(client.submit_batch(&first[..150]))
        .expect("batch");
    rt.block_on(client.submit_batch(&first[150..]))
        .expect("batch");
    let before = rt.block_on(client.checkpoint()).expect("checkpoint");
    assert!(log.stop(), "clean shutdown");

    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "10"]);
    assert_eq!(log.vkey, vkey, "same key after restart");
    let key = VerifierKey::parse(&vkey).expect("vkey");
    let client = LogClient::new(&log.url).expect("client");
    let old = verify_checkpoint(&before, &key)
        .expect("verifies")
        .checkpoint;
    let now = verify_checkpoint(&rt.block_on(client.checkpoint()).expect("cp"), &key)
        .expect("verifies")
        .checkpoint;
    assert_eq!(
        (now.size, now.root),
        (old.size, old.root),
        "same tree after restart"
    );

    // A resubmission after restart is still deduplicated.
    let again = rt.block_on(client.submit(&first[7])).expect("resubmit");
    assert_eq!(again.index, 7);
    let more: Vec<Vec<u8>> = (300..600).map(|i| vendor.claim(i)).collect();
    let receipts = rt.block_on(client.submit_batch(&more)).expect("batch");
    let p = Policy::single_log(key.clone());
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.index, 300 + i as u64);
        r.verify(&p).expect("receipt verifies");
    }
    let newer = verify_checkpoint(&rt.block_on(client.checkpoint()).expect("cp"), &key)
        .expect("verifies")
        .checkpoint;
    assert_eq!(newer.size, 600);
    let proof = rt
        .block_on(client.consistency_proof(old.size, newer.size))
        .expect("proof");
    verify_consistency(old.size, newer.size, &old.root, &newer.root, &proof)
        .expect("consistent across restart");
    assert!(log.stop());
}

#[test]
fn dedup_lookup_entries_and_proof_endpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "5"]);
    let rt = rt();
    let client = LogClient::new(&log.url).expect("client");
    let (a, b) = (Vendor::new("a.example"), Vendor::new("b.example"));
    let asset = b"one shared picture".to_vec();
    let claims = [
        a.claim_for(&asset, 1),
        a.claim_for(&asset, 2),
        b.claim_for(&asset, 1),
    ];
    let mut indexes = Vec::new();
    for c in &claims {
        indexes.push(rt.block_on(client.submit(c)).expect("submit").index);
    }
    for i in 0..10 {
        rt.block_on(client.submit(&b.claim(100 + i)))
            .expect("filler");
    }
    // Same claim again: same index, tree unchanged.
    let size_before = tree_size(&rt, &client, &log);
    let again = rt.block_on(client.submit(&claims[1])).expect("resubmit");
    assert_eq!(again.index, indexes[1]);
    again.verify(&policy(&log)).expect("dup receipt verifies");
    // Duplicates inside one batch are logged once.
    let dup_batch = vec![b.claim(500), b.claim(500), claims[0].clone()];
    let rs = rt.block_on(client.submit_batch(&dup_batch)).expect("batch");
    assert_eq!(rs[0].index, rs[1].index);
    assert_eq!(rs[2].index, indexes[0]);
    assert_eq!(tree_size(&rt, &client, &log), size_before + 1);

    // Lookup finds all three claims for the asset, each proven.
    let found = rt.block_on(client.lookup(&sha256(&asset))).expect("lookup");
    let key = VerifierKey::parse(&log.vkey).expect("vkey");
    let cp = verify_checkpoint(&found.checkpoint, &key)
        .expect("cp")
        .checkpoint;
    let mut got: Vec<u64> = found.entries.iter().map(|e| e.index).collect();
    got.sort();
    assert_eq!(got, indexes);
    for e in &found.entries {
        verify_inclusion(&leaf_hash(&e.entry), e.index, cp.size, &e.proof, &cp.root)
            .expect("lookup proof");
    }
    let none = rt
        .block_on(client.lookup(&sha256(b"never logged")))
        .expect("lookup");
    assert!(none.entries.is_empty());

    // Entries by index; inclusion proofs by index and by hash agree.
    let entry = rt.block_on(client.entry(indexes[2])).expect("entry");
    assert_eq!(entry, claims[2]);
    let by_index = rt
        .block_on(client.inclusion_proof(indexes[2], cp.size))
        .expect("proof");
    verify_inclusion(&leaf_hash(&entry), indexes[2], cp.size, &by_index, &cp.root)
        .expect("proof verifies");
    let by_hash: serde_json::Value = rt.block_on(async {
        reqwest::get(format!(
            "{}/v1/proof/inclusion?hash={}&size={}",
            log.url,
            hex::encode(leaf_hash(&entry)),
            cp.size
        ))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
    });
    assert_eq!(by_hash["index"], indexes[2]);
    assert!(log.stop());
}

fn tree_size(rt: &tokio::runtime::Runtime, client: &LogClient, log: &LogProcess) -> u64 {
    let note = rt.block_on(client.checkpoint()).expect("checkpoint");
    verify_checkpoint(&note, &VerifierKey::parse(&log.vkey).expect("vkey"))
        .expect("cp")
        .checkpoint
        .size
}

/// Sends a raw request; returns status, content type, Retry-After and the body as JSON.
async fn raw(
    method: reqwest::Method,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Option<String>, serde_json::Value) {
    let resp = reqwest::Client::new()
        .request(method, url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let bytes = resp.bytes().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, ct, retry, json)
}

fn assert_problem(
    got: &(u16, String, Option<String>, serde_json::Value),
    status: u16,
    slug: &str,
    mentions: &str,
) {
    assert_eq!(got.0, status, "status for {slug}: {:?}", got.3);
    assert_eq!(
        got.1, "application/problem+json",
        "problem content type for {slug}"
    );
    assert_eq!(got.3["type"], format!("urn:provlog:problem:{slug}"));
    assert_eq!(got.3["status"], status);
    let detail = got.3["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains(mentions),
        "detail {detail:?} should mention {mentions:?}"
    );
}

#[test]
fn every_rejection_is_a_problem_and_leaves_the_tree_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accepted = Vendor::new("accepted.example");
    let stranger = Vendor::new("stranger.example");
    let keys_file = dir.path().join("accepted-keys");
    std::fs::write(&keys_file, format!("# vendors\n{}\n", accepted.vkey)).expect("write");
    let data = dir.path().join("data");
    let log = LogProcess::start(
        &data,
        &[
            "--batch-interval-ms",
            "5",
            "--accept-keys",
            keys_file.to_str().expect("utf8"),
            "--rate-limit",
            // Slow enough that no token refills while the test runs.
            "0.01",
            "--rate-burst",
            "8",
            "--max-batch-claims",
            "4",
        ],
    );
    let rt = rt();
    let client = LogClient::new(&log.url).expect("client");
    let url = |p: &str| format!("{}{}", log.url, p);
    rt.block_on(client.submit(&accepted.claim(0)))
        .expect("accepted vendor is logged");
    let size = tree_size(&rt, &client, &log);
    let post = reqwest::Method::POST;

    rt.block_on(async {
        // Not on the accepted-keys list: 403 naming the key.
        let r = raw(
            post.clone(),
            &url("/v1/claims"),
            "application/cose",
            stranger.claim(1),
        )
        .await;
        assert_problem(&r, 403, "key-not-accepted", &stranger.vkey);
        // Wrong content type.
        let r = raw(
            post.clone(),
            &url("/v1/claims"),
            "application/json",
            accepted.claim(1),
        )
        .await;
        assert_problem(&r, 415, "unsupported-media-type", "application/cose");
        // Oversized body.
        let r = raw(
            post.clone(),
            &url("/v1/claims"),
            "application/cose",
            vec![0u8; 64 * 1024],
        )
        .await;
        assert_problem(&r, 413, "too-large", "limit");
        // Garbage, truncated, and tampered claims.
        let r = raw(
            post.clone(),
            &url("/v1/claims"),
            "application/cose",
            b"not cbor at all".to_vec(),
        )
        .await;
        assert_problem(&r, 400, "invalid-claim", "");
        let good = accepted.claim(2);
        let r = raw(
            post.clone(),
            &url("/v1/claims"),
            "application/cose",
            good[..good.len() / 2].to_vec(),
        )
        .await;
        assert_problem(&r, 400, "invalid-claim", "");
        let mut bad_sig = good.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        let r = raw(
            post.clone(),
            &url("/v1/claims"),
            "application/cose",
            bad_sig,
        )
        .await;
        assert_problem(&r, 400, "bad-signature", "");
        // Batch: not an array; one bad item named by position; too many claims.
        let r = raw(
            post.clone(),
            &url("/v1/claims/batch"),
            "application/cbor",
            vec![0x01],
        )
        .await;
        assert_problem(&r, 400, "invalid-batch", "array");
        let mut items = vec![accepted.claim(3), b"junk".to_vec()];
        let r = raw(
            post.clone(),
            &url("/v1/claims/batch"),
            "application/cbor",
            cbor_array(&items),
        )
        .await;
        assert_problem(&r, 400, "invalid-claim", "claim 1");
        items = (10..15).map(|i| accepted.claim(i)).collect();
        let r = raw(
            post.clone(),
            &url("/v1/claims/batch"),
            "application/cbor",
            cbor_array(&items),
        )
        .await;
        assert_problem(&r, 413, "too-large", "limit is 4");
        // Bad query parameters and paths.
        let r = raw(
            reqwest::Method::GET,
            &url("/v1/lookup?asset=xyz"),
            "",
            vec![],
        )
        .await;
        assert_problem(&r, 400, "bad-parameter", "64 hex");
        let r = raw(
            reqwest::Method::GET,
            &url("/v1/proof/inclusion?index=5&size=999999"),
            "",
            vec![],
        )
        .await;
        assert_problem(&r, 400, "bad-parameter", "larger than the current tree");
        let r = raw(reqwest::Method::GET, &url("/v1/entries/999"), "", vec![]).await;
        assert_problem(&r, 404, "not-found", "beyond the tree");
    });
    assert_eq!(
        tree_size(&rt, &client, &log),
        size,
        "rejections changed the tree"
    );

    // Rate limit: burst of 8 per key (one used above), then 429 with Retry-After.
    rt.block_on(async {
        let mut limited = None;
        for i in 0..20 {
            let r = raw(
                post.clone(),
                &url("/v1/claims"),
                "application/cose",
                accepted.claim(100 + i),
            )
            .await;
            if r.0 == 429 {
                limited = Some(r);
                break;
            }
            assert_eq!(r.0, 200);
        }
        let r = limited.expect("rate limit reached");
        assert_problem(&r, 429, "rate-limited", "rate limit");
        assert!(
            r.2.as_deref()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|s| s >= 1)
        );
    });
    let size_after_burst = tree_size(&rt, &client, &log);
    assert_eq!(size_after_burst, size + 7, "exactly the burst was logged");

    // Metrics count rejections by reason.
    let metrics = rt.block_on(async {
        reqwest::get(url("/metrics"))
            .await
            .expect("get")
            .text()
            .await
            .expect("text")
    });
    assert!(
        metrics.contains("provlog_rejections_total{reason=\"key-not-accepted\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("provlog_rejections_total{reason=\"rate-limited\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("provlog_tree_size {size_after_burst}")),
        "{metrics}"
    );
    assert!(log.stop());
}

fn cbor_array(items: &[Vec<u8>]) -> Vec<u8> {
    let v = ciborium::Value::Array(
        items
            .iter()
            .map(|b| ciborium::Value::Bytes(b.clone()))
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).expect("encode");
    out
}

/// `pool_pending` from `/healthz`.
async fn pool_pending(url: &str) -> u64 {
    let h: serde_json::Value = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    h["pool_pending"].as_u64().expect("pool_pending")
}

#[test]
fn full_pool_gives_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A pool of 4 claims and a sequencer that will not commit on its own
    // during the test (a 60 s batch interval, a larger max batch): the pool
    // stays full until the ordered shutdown commits it. Nothing here
    // depends on timing: the test waits for the state it needs.
    let log = LogProcess::start(
        dir.path(),
        &[
            "--batch-interval-ms",
            "60000",
            "--max-batch",
            "8",
            "--pool-size",
            "4",
            "--max-batch-claims",
            "4",
        ],
    );
    let rt = rt();
    let vendor = Vendor::new("v.example");
    let client = LogClient::new(&log.url).expect("client");
    let filler: Vec<Vec<u8>> = (0..4).map(|i| vendor.claim(i)).collect();
    let c2 = client.clone();
    let waiting = rt.spawn(async move { c2.submit_batch(&filler).await });
    rt.block_on(async {
        let url = log.url.clone();
        let mut tries = 0;
        while pool_pending(&url).await < 4 {
            tries += 1;
            assert!(tries < 2000, "the filler never reached the pool");
            tokio::task::yield_now().await;
        }
        match client.submit(&vendor.claim(99)).await {
            Err(HttpError::Status {
                status,
                retry_after,
                detail,
                ..
            }) => {
                assert_eq!(status, 503);
                assert!(retry_after.is_some_and(|s| s >= 1));
                assert!(detail.contains("pool"), "{detail}");
            }
            other => panic!("expected 503, got {other:?}"),
        }
    });
    // Ordered shutdown: admission stops, the pooled batch is committed and
    // answered, then the server exits cleanly.
    let data = log.data.clone();
    let stopping = std::thread::spawn(move || log.stop());
    let rs = rt
        .block_on(waiting)
        .expect("join")
        .expect("the pooled batch is logged at shutdown");
    assert_eq!(rs.len(), 4);
    assert!(stopping.join().expect("stop thread"), "clean exit");
    let log = LogProcess::start(&data, &[]);
    let client = LogClient::new(&log.url).expect("client");
    assert_eq!(tree_size(&rt, &client, &log), 4);
    assert!(log.stop());
}

#[test]
fn tile_reads_404_beyond_the_tree_and_cache_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogProcess::start(dir.path(), &["--batch-interval-ms", "5"]);
    let rt = rt();
    let vendor = Vendor::new("v.example");
    let client = LogClient::new(&log.url).expect("client");
    let entries: Vec<Vec<u8>> = (0..300).map(|i| vendor.claim(i)).collect();
    rt.block_on(client.submit_batch(&entries[..200]))
        .expect("batch");
    rt.block_on(client.submit_batch(&entries[200..]))
        .expect("batch");
    let get = |p: &str| {
        rt.block_on(async {
            let r = reqwest::get(format!("{}{}", log.url, p))
                .await
                .expect("get");
            let cc = r
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default();
            (
                r.status().as_u16(),
                cc,
                r.bytes().await.expect("body").to_vec(),
            )
        })
    };
    // Size 300: level-0 tile 0 is full, tile 1 is partial with 44 hashes.
    let (s, cc, body) = get("/tile/0/000");
    assert_eq!((s, body.len()), (200, 256 * 32));
    assert!(cc.contains("immutable"), "{cc}");
    let (s, cc, body) = get("/tile/0/001.p/44");
    assert_eq!((s, body.len()), (200, 44 * 32));
    assert!(!cc.contains("immutable"), "{cc}");
    assert_eq!(
        get("/tile/0/001.p/10").0,
        200,
        "a narrower partial width is a prefix"
    );
    assert_eq!(get("/tile/0/001.p/45").0, 404, "wider than the tree");
    assert_eq!(get("/tile/0/001").0, 404, "not full yet");
    assert_eq!(get("/tile/0/002.p/1").0, 404, "beyond the tree");
    assert_eq!(get("/tile/1/000.p/1").0, 200);
    assert_eq!(get("/tile/1/000.p/2").0, 404);
    assert_eq!(get("/tile/2/000.p/1").0, 404, "no level-2 tile at size 300");
    let (s, _, bundle) = get("/tile/entries/000");
    assert_eq!(s, 200);
    let decoded = decode_bundle(&bundle).expect("bundle");
    assert_eq!(decoded.len(), 256);
    assert_eq!(decoded[5], entries[5].as_slice());
    assert_eq!(get("/tile/entries/001.p/44").0, 200);
    assert_eq!(get("/tile/entries/001.p/45").0, 404);
    for bad in [
        "/tile/0/../../etc/passwd",
        "/tile/0/0",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/x/000",
        "/tile/0/x000/001",
    ] {
        assert_eq!(get(bad).0, 404, "{bad}");
    }
    // The empty log never serves a tile.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let empty = LogProcess::start(dir2.path(), &[]);
    let r = rt.block_on(async {
        reqwest::get(format!("{}/tile/0/000.p/1", empty.url))
            .await
            .expect("get")
            .status()
    });
    assert_eq!(r.as_u16(), 404);
    let h: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{}/healthz", empty.url))
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    });
    assert_eq!(h["tree_size"], 0);
    drop(empty);
    // The receipt type round-trips through both encodings.
    let r: Receipt = rt.block_on(client.submit(&entries[0])).expect("dup");
    assert_eq!(Receipt::from_cbor(&r.to_cbor()).expect("cbor"), r);
    assert_eq!(
        Receipt::from_tlog_proof(&r.to_tlog_proof()).expect("text"),
        r
    );
    let _: Hash = leaf_hash(&r.entry);
    assert!(log.stop());
}
