//! Fills a data directory with N entries through the real sequencer, stepped
//! directly in 4096-entry batches (one fsync'd commit each: tiles, indexes,
//! signed checkpoint),
//! without HTTP or signatures, so restart time can be measured on a large
//! log: `cargo run --release -p provlog-server --example fill_log -- DIR N`,
//! then time `provlog-server --data DIR` to its first `/healthz` answer.
//! Entries are 439 bytes (the size of a typical signed claim) and are not
//! valid claims: this builds a storage-shaped log, not an auditable one.
//!
//! `fill_log DIR N claims` instead appends N signed claims (10 vendors,
//! each claim a distinct asset with the vendor's next `seq`, as `provlog
//! load` makes them; signed on every core before each batch) with the
//! verifiable index on, so each batch ends with its index-commit entry: the
//! log an index rebuild (`provlog-server --data DIR --verifiable-index`)
//! is measured on.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use provlog_core::claim::{
    Asset, Claim as ClaimBody, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
    IndirectDisclosure,
};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::note::NoteSigner;
use provlog_core::signed_claim::SignedClaim;
use provlog_server::keys::load_or_create_log_signer;
use provlog_server::metrics::Metrics;
use provlog_server::sequencer::{Claim, Sequencer, now_ms};
use provlog_server::store::Store;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: fill_log DIR N"));
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: fill_log DIR N [claims]");
    let claims = args.next().as_deref() == Some("claims");
    let (signer, _, _) = load_or_create_log_signer(&dir, "localhost/provlog").expect("key");
    let store = Store::open(&dir).expect("store");
    let mut seq = Sequencer::open(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        signer,
        Arc::new(Metrics::new()),
        now_ms(),
    )
    .expect("sequencer");
    let vendors: Vec<(NoteSigner, String)> = (0..10)
        .map(|v| {
            let s = NoteSigner::generate(&format!("vendor{v}.example")).expect("vendor key");
            let vkey = s.verifier_key().to_vkey();
            (s, vkey)
        })
        .collect();
    if claims {
        seq.set_vindex(Arc::new(provlog_server::vindex::VIndex::new(None)))
            .expect("verifiable index");
    }
    let start_size = seq.committed().map(|c| c.checkpoint.size).unwrap_or(0);
    let t0 = Instant::now();
    let mut i = start_size;
    let end = start_size + n;
    while i < end {
        // One less than a batch: the sequencer adds the index-commit entry.
        let batch: Vec<Claim> = if claims {
            signed_claims(&vendors, i, end.min(i + 4095))
        } else {
            (i..end.min(i + 4096))
                .map(|i| {
                    let mut e = vec![0x5au8; 439];
                    e[..8].copy_from_slice(&i.to_be_bytes());
                    Claim {
                        leaf: leaf_hash(&e),
                        asset: sha256(&e),
                        entry: e,
                        index_keys: None,
                        bindings: None,
                    }
                })
                .collect()
        };
        let before = i;
        i += batch.len() as u64 + u64::from(claims);
        for r in seq.commit(batch, now_ms()) {
            r.expect("receipt");
        }
        if i / 1_000_000 != before / 1_000_000 {
            eprintln!(
                "{i} entries, {:.0}/s",
                (i - start_size) as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    // No flush: the next start replays the journal, as after a crash.
    drop(seq);
    println!(
        "appended {n} entries in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Signed claims `from..to` (claim `i` by vendor `i % 10`, with that
/// vendor's `seq` `i / 10`), signed on every core.
fn signed_claims(vendors: &[(NoteSigner, String)], from: u64, to: u64) -> Vec<Claim> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per = (to - from).div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let (a, b) = (from + t * per, (from + (t + 1) * per).min(to));
                s.spawn(move || (a..b).map(|i| signed_claim(vendors, i)).collect::<Vec<_>>())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("signing thread"))
            .collect()
    })
}

fn signed_claim(vendors: &[(NoteSigner, String)], i: u64) -> Claim {
    let (signer, vkey) = &vendors[(i % vendors.len() as u64) as usize];
    let seq = i / vendors.len() as u64;
    let asset = format!("asset number {i}");
    let body = ClaimBody {
        version: 1,
        asset: Asset {
            sha256: sha256(asset.as_bytes()),
            media_type: "image/png".into(),
            size: asset.len() as u64,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "Example AI".into(),
            tool: "imagegen".into(),
            version: "2.1".into(),
        },
        created: 1_790_000_000 + seq,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa, IndirectDisclosure::Metadata],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(seq),
    };
    let entry = SignedClaim::sign(&body, signer.signing_key(), vkey)
        .expect("sign claim")
        .to_bytes()
        .to_vec();
    Claim {
        leaf: leaf_hash(&entry),
        asset: body.asset.sha256,
        entry,
        index_keys: None,
        bindings: None,
    }
}
