//! `provlog load`: a load generator for the submission path.
//!
//! Claims are signed before the clock starts (signing is the vendor's cost,
//! not the log's). Closed-loop mode keeps `--concurrency` batch requests in
//! flight; open-loop mode (`--rate`) sends each batch at its scheduled time
//! whether or not earlier ones have answered, and measures latency from that
//! scheduled time, so a slow server cannot hide its queueing delay
//! (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use provlog_client::http::{HttpError, LogClient};
use provlog_core::note::NoteSigner;
use provlog_core::receipt::Receipt;
use provlog_core::signed_claim::SignedClaim;

use crate::trust::TrustArgs;
use provlog_core::claim::{
    Asset, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
    IndirectDisclosure,
};

/// Options of `provlog load`.
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Base URL of the log.
    #[arg(long, env = "PROVLOG_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Number of distinct claims to send.
    #[arg(long, default_value_t = 100_000)]
    pub claims: usize,
    /// Batch requests in flight (closed loop), or the cap on them (open loop).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Claims per request (1 uses `POST /v1/claims`, more uses the batch endpoint).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Open loop: offered load in claims per second.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Receipts to verify after the run (spread over the run).
    #[arg(long, default_value_t = 1000)]
    pub verify_sample: usize,
    /// Print the result as one JSON object.
    #[arg(skip)]
    pub json: bool,
    /// Instead of submitting, request this many inclusion proofs
    /// (`GET /v1/proof/inclusion`) for random indexes of the current tree,
    /// `--concurrency` at a time, and verify a sample of them.
    #[arg(long)]
    pub proofs: Option<usize>,
}

/// Signs `n` distinct claims with a fresh vendor key, on every core.
fn presign(n: usize) -> Result<Vec<Vec<u8>>, String> {
    let signer = NoteSigner::generate("load.provlog.example").map_err(|e| e.to_string())?;
    let vkey = signer.verifier_key().to_vkey();
    let nonce = {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| e.to_string())?;
        hex::encode(b)
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let chunk = n.div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Vec<u8>>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let (signer, vkey, nonce) = (&signer, &vkey, &nonce);
                s.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|i| {
                            let asset = format!("load {nonce} asset {i}");
                            SignedClaim::sign(
                                &load_claim(&asset, i as u64),
                                signer.signing_key(),
                                vkey,
                            )
                            .map(|s| s.to_bytes().to_vec())
                            .map_err(|e| e.to_string())
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("signing thread panicked".into()))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(n);
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// A typical claim (about 400 bytes signed) for a synthetic asset.
fn load_claim(asset: &str, seq: u64) -> Claim {
    Claim {
        version: 1,
        asset: Asset {
            sha256: provlog_core::hash::sha256(asset.as_bytes()),
            media_type: "image/png".into(),
            size: 1_048_576 + seq,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "Load Test AI".into(),
            tool: "imagegen-xl".into(),
            version: "3.2.1".into(),
        },
        created: 1_790_000_000 + seq,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa, IndirectDisclosure::Watermark],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(seq),
    }
}

/// Result of one request.
struct Sample {
    claims: usize,
    latency: Duration,
    result: Result<Vec<Receipt>, HttpError>,
}

async fn send(client: &LogClient, batch: &[Vec<u8>]) -> Result<Vec<Receipt>, HttpError> {
    if batch.len() == 1 {
        Ok(vec![client.submit(&batch[0]).await?])
    } else {
        client.submit_batch(batch).await
    }
}

/// `provlog load`.
pub async fn load(args: LoadArgs) -> Result<(), String> {
    let policy = args.trust.policy()?;
    let client = LogClient::new(&args.log).map_err(|e| e.to_string())?;
    if let Some(n) = args.proofs {
        return load_proofs(&args, &client, n).await;
    }
    let batch = args.batch.clamp(1, 1024);
    eprintln!("pre-signing {} claims...", args.claims);
    let sign_start = Instant::now();
    let claims = Arc::new(presign(args.claims)?);
    eprintln!(
        "signed in {:.1} s; sending",
        sign_start.elapsed().as_secs_f64()
    );
    let batches: Vec<(usize, usize)> = (0..claims.len())
        .step_by(batch)
        .map(|s| (s, (s + batch).min(claims.len())))
        .collect();
    let started = Instant::now();
    let samples: Vec<Sample> = match args.rate {
        None => closed_loop(&client, &claims, &batches, args.concurrency.max(1)).await,
        Some(rate) => open_loop(&client, &claims, &batches, rate, args.concurrency.max(1)).await,
    };
    let elapsed = started.elapsed();
    report(&args, &policy, &claims, &batches, &samples, elapsed)
}

async fn closed_loop(
    client: &LogClient,
    claims: &Arc<Vec<Vec<u8>>>,
    batches: &[(usize, usize)],
    concurrency: usize,
) -> Vec<Sample> {
    let next = Arc::new(AtomicUsize::new(0));
    let batches = Arc::new(batches.to_vec());
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, claims, next, batches) = (
            client.clone(),
            claims.clone(),
            next.clone(),
            batches.clone(),
        );
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(s, e)) = batches.get(k) else { break };
                let t0 = Instant::now();
                let result = send(&client, &claims[s..e]).await;
                out.push((
                    k,
                    Sample {
                        claims: e - s,
                        latency: t0.elapsed(),
                        result,
                    },
                ));
            }
            out
        });
    }
    collect(set).await
}

async fn open_loop(
    client: &LogClient,
    claims: &Arc<Vec<Vec<u8>>>,
    batches: &[(usize, usize)],
    rate: f64,
    max_in_flight: usize,
) -> Vec<Sample> {
    let start = tokio::time::Instant::now();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for (k, &(s, e)) in batches.iter().enumerate() {
        // Batch k is due when k*batch claims have been offered at `rate`.
        let due = start + Duration::from_secs_f64(s as f64 / rate.max(1e-9));
        tokio::time::sleep_until(due).await;
        let (client, claims, in_flight) = (client.clone(), claims.clone(), in_flight.clone());
        set.spawn(async move {
            // Over the in-flight cap the request is not sent: it counts as
            // an error rather than silently slowing the offered load.
            if in_flight.fetch_add(1, Ordering::AcqRel) >= max_in_flight {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                let err = HttpError::BadResponse {
                    url: String::new(),
                    detail: "load generator: too many requests in flight".into(),
                };
                return vec![(
                    k,
                    Sample {
                        claims: e - s,
                        latency: due.elapsed(),
                        result: Err(err),
                    },
                )];
            }
            let result = send(&client, &claims[s..e]).await;
            in_flight.fetch_sub(1, Ordering::AcqRel);
            // Latency from the scheduled send time, not the actual one.
            vec![(
                k,
                Sample {
                    claims: e - s,
                    latency: due.elapsed(),
                    result,
                },
            )]
        });
    }
    collect(set).await
}

async fn collect(mut set: tokio::task::JoinSet<Vec<(usize, Sample)>>) -> Vec<Sample> {
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(v) = r {
            all.extend(v);
        }
    }
    all.sort_by_key(|(k, _)| *k);
    all.into_iter().map(|(_, s)| s).collect()
}

fn report(
    args: &LoadArgs,
    policy: &provlog_core::policy::Policy,
    claims: &[Vec<u8>],
    batches: &[(usize, usize)],
    samples: &[Sample],
    elapsed: Duration,
) -> Result<(), String> {
    let ok_claims: usize = samples
        .iter()
        .filter(|s| s.result.is_ok())
        .map(|s| s.claims)
        .sum();
    let mut errors: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for s in samples {
        if let Err(e) = &s.result {
            let key = match e {
                HttpError::Status { status, .. } => format!("HTTP {status}"),
                HttpError::Transport { .. } => "transport".into(),
                other => other.to_string(),
            };
            *errors.entry(key).or_default() += s.claims;
        }
    }
    // Every claim in a request waits for the same response.
    let mut lat: Vec<Duration> = samples
        .iter()
        .filter(|s| s.result.is_ok())
        .flat_map(|s| std::iter::repeat_n(s.latency, s.claims))
        .collect();
    lat.sort();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        lat[((lat.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    };
    // Verify a sample of receipts, spread over the run.
    let receipts: Vec<(usize, &Receipt)> = samples
        .iter()
        .zip(batches)
        .filter_map(|(s, &(start, _))| s.result.as_ref().ok().map(|rs| (start, rs)))
        .flat_map(|(start, rs)| rs.iter().enumerate().map(move |(i, r)| (start + i, r)))
        .collect();
    let step = (receipts.len() / args.verify_sample.max(1)).max(1);
    let mut verified = 0usize;
    for (i, r) in receipts.iter().step_by(step).take(args.verify_sample) {
        if r.entry != claims[*i] {
            return Err(format!("receipt for claim {i} carries a different entry"));
        }
        r.verify(policy)
            .map_err(|e| format!("receipt for claim {i} does not verify: {e}"))?;
        verified += 1;
    }
    let rate = ok_claims as f64 / elapsed.as_secs_f64().max(1e-9);
    let mode = match args.rate {
        Some(r) => format!("open loop at {r} claims/s"),
        None => format!("closed loop, {} requests in flight", args.concurrency),
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "claims": claims.len(), "ok": ok_claims, "seconds": elapsed.as_secs_f64(),
                "claims_per_sec": rate, "batch": args.batch, "concurrency": args.concurrency,
                "offered_rate": args.rate,
                "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
                "errors": errors, "receipts_verified": verified,
            })
        );
    } else {
        println!(
            "{ok_claims} of {} claims logged in {:.2} s: {rate:.0} claims/s ({mode}, batch {})",
            claims.len(),
            elapsed.as_secs_f64(),
            args.batch
        );
        println!(
            "receipt latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
        println!("receipts verified: {verified}; errors: {errors:?}");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} claims failed", errors.values().sum::<usize>()))
    }
}

/// `provlog load --proofs N`: inclusion proofs served per second.
async fn load_proofs(args: &LoadArgs, client: &LogClient, n: usize) -> Result<(), String> {
    let log_key = args.trust.log_key()?;
    let cp = client
        .verified_checkpoint(&log_key)
        .await
        .map_err(|e| e.to_string())?
        .checkpoint;
    if cp.size == 0 {
        return Err("the log is empty: nothing to prove".into());
    }
    // Random indexes from a seeded xorshift, so runs are repeatable.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let indexes: Arc<Vec<u64>> = Arc::new(
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % cp.size
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, indexes, next, size) =
            (client.clone(), indexes.clone(), next.clone(), cp.size);
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = indexes.get(k) else { break };
                let t0 = Instant::now();
                let r = client.inclusion_proof(i, size).await;
                out.push((i, t0.elapsed(), r));
            }
            out
        });
    }
    let mut results = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        results.extend(r.map_err(|e| format!("internal: {e}"))?);
    }
    let elapsed = started.elapsed();
    let errors = results.iter().filter(|r| r.2.is_err()).count();
    let mut lat: Vec<Duration> = results.iter().map(|r| r.1).collect();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len().max(1) - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    // Verify a sample: fetch the entry, check the proof against the checkpoint.
    let step = (results.len() / args.verify_sample.max(1)).max(1);
    let mut verified = 0;
    for (i, _, r) in results
        .iter()
        .step_by(step)
        .take(args.verify_sample.min(200))
    {
        let Ok(proof) = r else { continue };
        let entry = client.entry(*i).await.map_err(|e| e.to_string())?;
        provlog_core::proof::verify_inclusion(
            &provlog_core::hash::leaf_hash(&entry),
            *i,
            cp.size,
            proof,
            &cp.root,
        )
        .map_err(|e| format!("proof for index {i} does not verify: {e}"))?;
        verified += 1;
    }
    let rate = (n - errors) as f64 / elapsed.as_secs_f64().max(1e-9);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "proofs": n, "errors": errors, "seconds": elapsed.as_secs_f64(),
                "proofs_per_sec": rate, "tree_size": cp.size, "concurrency": args.concurrency,
                "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
                "verified": verified,
            })
        );
    } else {
        println!(
            "{} inclusion proofs in {:.2} s: {rate:.0} proofs/s (tree size {}, {} in flight)",
            n - errors,
            elapsed.as_secs_f64(),
            cp.size,
            args.concurrency
        );
        println!(
            "latency ms: p50 {:.2}  p99 {:.2}  max {:.2}; verified {verified}; errors {errors}",
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
    }
    if errors == 0 {
        Ok(())
    } else {
        Err(format!("{errors} requests failed"))
    }
}
